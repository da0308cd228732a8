"""The folder scan: one ``VideoRecord`` per video file below a folder, with its problem if any.

Recursive; videos are recognised by extension in any case; GAIA's own working folder is skipped,
hidden files and folders are skipped and counted, linked folders are named but not followed, and a
link named like a video that leads nowhere (broken, or a loop) is a record with that problem.
Probing is in-process (PyAV, milliseconds a file, on a thread pool) and its results are cached by
(relative path, size, mtime) in ``probe-cache.json`` under ``Folder.preview_cache_dir`` (the user
cache until the folder has a ``.gaia/`` working folder: scanning writes nothing into the folder), so
rescanning an unchanged folder touches no video. The walk is guarded: system folders (``/proc``,
``/sys``, ``/dev``…) are never entered nor accepted, and it stops at ``SCAN_MAX_DEPTH`` levels,
``SCAN_MAX_FOLDERS`` folders or ``SCAN_MAX_VIDEOS`` videos, saying so in ``ScanResult.limited``. Two
videos that would share a sidecar are found here: the one that already owns the sidecar (or else the
first by name) stays usable, the others get a problem telling the user to rename them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gaia.facts import SCAN_FOLDER_LIMIT, SCAN_VIDEO_LIMIT
from gaia.folder import WORKDIR_NAME, Folder
from gaia.fsutil import atomic_write_json
from gaia.media.probe import ProbeInfo, probe_file
from gaia.sidecar import SidecarState, sidecar_owner, sidecar_path, sidecar_state

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg"})
PROBE_CACHE_FILE = "probe-cache.json"
PROBE_CACHE_VERSION = 1
PROBE_CACHE_DIR = "probe"

# The scan's guard: typing "/" must not walk the whole disk. Pseudo and system folders are never entered.
SCAN_MAX_DEPTH = 12  # folder levels below the chosen folder
SCAN_MAX_FOLDERS = SCAN_FOLDER_LIMIT  # guards against walking a whole disk by mistake (``gaia.facts``)
SCAN_MAX_VIDEOS = SCAN_VIDEO_LIMIT
SYSTEM_FOLDERS = frozenset(Path(p) for p in ("/proc", "/sys", "/dev", "/run", "/boot", "/lost+found", "/snap",
                                             "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/var/lib",
                                             "/var/cache", "/var/log"))

Progress = Callable[[int, int], None]


class FolderError(Exception):
    """The folder itself cannot be scanned (missing, not a folder, no permission)."""


# Shared values of the records' and frames' small fields (sizes, codecs, frame rates, file names, sources): a folder's
# videos mostly repeat them (one camera, one clip length), so 100,000 records need not hold 100,000 copies of each.
# Bounded: a folder where they do not repeat stops adding once the table is full.
COMMON_VALUES = 65_536
_common_values: dict[tuple[type, Any], Any] = {}


def common_value(value: Any) -> Any:
    """``value``, or an equal one of the same type already held (ints, floats but NaN, and strings; never a
    ``-0.0`` for a ``0.0`` nor a ``1.0`` for a ``1``)."""
    kind = type(value)
    if kind is not int and kind is not str and (kind is not float or value != value):
        return value
    key: tuple[Any, ...] = (kind, value)
    if kind is float and not value:  # 0.0 and -0.0 are equal, but not the same value: one key each
        key = (kind, value, math.copysign(1.0, value))
    hit = _common_values.get(key)
    if hit is not None:
        return hit
    if len(_common_values) < COMMON_VALUES:
        _common_values[key] = value
    return value


@dataclass(frozen=True, slots=True)  # slots, and its paths made when asked for: 100,000 of them are held
class VideoRecord:
    """One video file and what GAIA knows about it (``sidecar``: the path of its sidecar, ``gaia.sidecar``'s rule).

    A record keeps the scanned folder (``root``: one ``Path`` that every record of a scan shares) and the video's
    path inside it as text, not a ``Path`` of its own (some 300 bytes each, 100,000 of them in a large folder):
    ``path`` is made from the two when asked for.
    """

    root: Path  # the scanned folder (shared by the scan's records)
    rel_path: str  # the video's path below ``root``, with "/" between folders
    size: int
    mtime_ns: int
    duration: float | None
    width: int | None
    height: int | None
    rotation: int
    fps: float | None
    codec: str | None
    start_time: float
    has_audio: bool
    sidecar_state: SidecarState
    problem: str | None = None

    @property
    def path(self) -> Path:
        """The video file (``root / rel_path``)."""
        return Path(self.root, self.rel_path)

    @property
    def sidecar(self) -> Path:
        """The video's sidecar (``gaia.sidecar.sidecar_path``)."""
        return sidecar_path(self.path)

    @property
    def usable(self) -> bool:
        """Whether the video can go into a run."""
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings)."""
        d = {"path": str(self.path), **asdict(self)}
        del d["root"]
        state = d.pop("sidecar_state")
        problem = d.pop("problem")
        d.update(sidecar=str(self.sidecar), sidecar_state=state, problem=problem, usable=self.usable)
        return d


@dataclass(frozen=True)
class ScanResult:
    """Every record of a scan, with totals the pages and the CLI show."""

    folder: Path
    records: tuple[VideoRecord, ...]
    unreadable_dirs: tuple[str, ...] = field(default_factory=tuple)
    probed: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)  # entries not taken (linked folders, hidden names)
    limited: str | None = None  # why the walk stopped early (too deep, too many folders or videos), if it did

    @property
    def usable(self) -> tuple[VideoRecord, ...]:
        """Records without a problem."""
        return tuple(r for r in self.records if r.usable)

    @property
    def problems(self) -> tuple[VideoRecord, ...]:
        """Records with a problem."""
        return tuple(r for r in self.records if not r.usable)

    @property
    def total_duration(self) -> float:
        """Seconds of usable video."""
        return sum(r.duration or 0.0 for r in self.records if r.usable)

    @property
    def total_size(self) -> int:
        """Bytes of every video file found."""
        return sum(r.size for r in self.records)

    def summary(self) -> dict[str, Any]:
        """Totals: videos, usable, problems, duration, size, analysed, unreadable folders."""
        return {
            "videos": len(self.records),
            "usable": len(self.usable),
            "problems": len(self.problems),
            "total_duration_s": round(self.total_duration, 3),
            "total_size_bytes": self.total_size,
            "analysed": sum(1 for r in self.records if r.sidecar_state == "analysed"),
            "stale": sum(1 for r in self.records if r.sidecar_state == "stale"),
            "unreadable_folders": list(self.unreadable_dirs),
            "notes": list(self.notes),
            "limited": self.limited,
        }


def is_video_name(name: str) -> bool:
    """Whether a file name has a video extension (any case)."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_allowed(folder: Path | str, allowed_roots: Sequence[Path] | None) -> bool:
    """Whether ``folder`` (symlinks resolved) lies inside one of ``allowed_roots``; any folder when none."""
    if not allowed_roots:
        return True
    try:
        path = Path(folder).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(path.is_relative_to(Path(root)) for root in allowed_roots)


def check_folder(folder: Path | str, *, allowed_roots: Sequence[Path] | None = None) -> Path:
    """The folder as an absolute path, or ``FolderError`` saying plainly why it cannot be used.

    With ``allowed_roots`` (see ``gaia.settings.allowed_roots``) a folder outside all of them is
    refused before anything about it is looked up, so the refusal reveals nothing about it.
    """
    text = str(folder).strip()
    if not text:
        raise FolderError("Enter a folder path.")
    if "\x00" in text:
        raise FolderError("The folder path contains a NUL character.")
    outside = FolderError(f"{text}: outside the folders this GAIA server may open. Choose a folder inside "
                          f"{', '.join(str(r) for r in allowed_roots or ())}.")
    try:
        path = Path(text).expanduser()
    except RuntimeError as exc:  # "~someone/..." for a user this machine does not know
        if allowed_roots:
            raise outside from exc
        raise FolderError(f"{text}: no such user's home folder; write the full path instead.") from exc
    if not is_allowed(path, allowed_roots):
        raise outside
    try:
        exists = path.exists()
    except OSError as exc:
        raise FolderError(f"{text}: {exc.strerror or exc}") from exc
    if not exists:
        raise FolderError(f"{text}: no such folder.")
    if not path.is_dir():
        raise FolderError(f"{text}: this is a file, not a folder.")
    if is_system_folder(path.resolve()):
        raise FolderError(f"{text}: a system folder, not a folder of videos; GAIA does not look inside it.")
    if not os.access(path, os.R_OK | os.X_OK):
        raise FolderError(f"{text}: permission denied (GAIA cannot list this folder).")
    return path.resolve()


@dataclass
class _Walk:
    """What a walk met besides videos: folders it could not read and entries it did not take, said plainly."""

    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)  # why the walk stopped early, if it did
    hidden: int = 0


def is_system_folder(path: Path) -> bool:
    """Whether ``path`` is (inside) a system or pseudo folder (``/proc``, ``/sys``, ``/dev``…) GAIA never scans."""
    return any(path == s or s in path.parents for s in SYSTEM_FOLDERS)


def _link_problem(path: Path) -> str | None:
    """Why a symlink leads nowhere usable (``None`` when it leads to a file or a folder)."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        path.stat()
    except FileNotFoundError:
        return f"broken link: it points to {target}, which does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "link loop: this link leads back to itself and never reaches a file"
        return f"unreadable link: {exc.strerror or exc}"
    from gaia.settings import allowed_roots

    roots = allowed_roots()
    if roots and not is_allowed(path, roots):  # refused like a path outside them, revealing nothing of it
        return "link to a file outside the folders this GAIA may open; it is not read or sent"
    return None if path.is_file() or path.is_dir() else f"link to something that is not a video file ({target})"


def _walk(folder: Path, walk: _Walk) -> Iterator[tuple[str, os.stat_result, str | None]]:
    """Every video below ``folder`` (its path as text) with its ``stat`` and, for a link that leads nowhere, its
    problem. A file's ``Path`` is never made here: at 100,000 videos the scan would hold 100,000 of them at once.

    Hidden entries (names starting with a dot) are skipped and counted; linked folders are not
    followed (they may lead outside the folder, or back into it) and are named in ``walk.notes``;
    system folders are never entered; past a guard (depth, folders, videos) the walk stops and says
    why in ``walk.limits``.
    """
    stack = [(folder, 0)]
    listed = found = 0
    notes = walk.limits
    while stack:
        current, depth = stack.pop()
        listed += 1
        if listed > SCAN_MAX_FOLDERS:
            notes.append(f"stopped after listing {SCAN_MAX_FOLDERS:,} folders")
            return
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            walk.unreadable.append(str(current.relative_to(folder)) or ".")
            continue
        subdirs = []
        for entry in entries:
            if entry.name == WORKDIR_NAME:
                continue
            if entry.name.startswith("."):
                walk.hidden += 1
                continue
            try:
                if entry.is_symlink():
                    path = Path(entry.path)
                    problem = _link_problem(path)
                    if problem is None and path.is_dir():
                        rel = path.relative_to(folder).as_posix()
                        walk.notes.append(f"{rel}: a linked folder, not followed (link loops and folders "
                                          "outside this one are never scanned); add its videos here directly")
                    elif is_video_name(entry.name):
                        yield entry.path, entry.stat(follow_symlinks=problem is None), problem
                elif entry.is_dir(follow_symlinks=False):
                    path = Path(entry.path)
                    if is_system_folder(path):
                        continue
                    if depth >= SCAN_MAX_DEPTH:
                        if not any(n.startswith("did not go deeper") for n in notes):
                            notes.append(f"did not go deeper than {SCAN_MAX_DEPTH} folder levels")
                        continue
                    subdirs.append((path, depth + 1))
                elif entry.is_file(follow_symlinks=False) and is_video_name(entry.name):
                    found += 1
                    if found > SCAN_MAX_VIDEOS:
                        notes.append(f"stopped after {SCAN_MAX_VIDEOS:,} videos")
                        return
                    yield entry.path, entry.stat(follow_symlinks=False), None
            except OSError as exc:
                walk.notes.append(f"{Path(entry.path).relative_to(folder).as_posix()}: skipped, {exc.strerror or exc}")
        stack.extend(reversed(subdirs))


def list_videos(folder: Path | str) -> list[tuple[Path, os.stat_result]]:
    """Every video file below ``folder`` (sorted by relative path) with its ``stat``."""
    root = check_folder(folder)
    found = [(Path(path), st) for path, st, problem in _walk(root, _Walk()) if problem is None]
    return sorted(found, key=lambda item: str(item[0].relative_to(root)))


Stamp = tuple[int, int]  # what the scan keeps of a file's ``stat``: size and mtime (ns), the probe cache's key


def scan_folder(
    folder: Path | str,
    *,
    fingerprint: dict[str, Any] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
) -> ScanResult:
    """Scan ``folder`` recursively and return one record per video file.

    ``fingerprint`` (from the run settings) decides whether an existing sidecar counts as
    analysed with the current settings or with other ones. Raises ``FolderError`` only when the
    folder itself cannot be used; every per-file problem is a record's ``problem``.
    """
    root = check_folder(folder)
    walk = _Walk()
    base = str(root)
    cut = len(os.path.join(base, ""))  # every path the walk yields starts with the root and a separator
    # Of each file only its relative path and its stat's size and mtime are kept while the scan runs (a full stat is
    # some 600 bytes, a path 100 as text and 500 as a ``Path``: at 100,000 videos, what a scan's peak holds at once
    # stays in a server's memory); a file's full path is made when needed, one at a time.
    found = sorted(((path[cut:].replace(os.sep, "/"), (st.st_size, st.st_mtime_ns), problem)
                    for path, st, problem in _walk(root, walk)),
                   key=lambda item: item[0])
    link_problems = {rel: problem for rel, _, problem in found if problem}
    rels = [rel for rel, _, _ in found]
    stamps: list[Stamp] = [stamp for _, stamp, _ in found]
    del found
    owners = _sidecar_owners(root, rels)  # before the probe cache is read: the two never in memory at once
    infos, probed = _probe_all(root, rels, stamps, link_problems, on_progress, workers)
    records = []
    for rel, (size, mtime_ns) in zip(rels, stamps, strict=True):
        path = os.path.join(base, rel)
        info = infos[rel]
        problem = info.problem
        car = sidecar_path(path) if owners else None
        owner = owners.get(str(car)) if car is not None else None
        name = os.path.basename(path)
        if problem is None and car is not None and owner is not None and owner != name:
            problem = (
                f"shares its sidecar {car.name} with {owner} in the same folder; "
                "rename one of them to analyse both"
            )
        records.append(
            VideoRecord(
                root=root,
                rel_path=rel,
                size=size,
                mtime_ns=mtime_ns,
                duration=info.duration,
                width=common_value(info.width),
                height=common_value(info.height),
                rotation=common_value(info.rotation),
                fps=common_value(info.fps),
                codec=common_value(info.codec),
                start_time=common_value(info.start_time),
                has_audio=info.has_audio,
                sidecar_state=sidecar_state(path, fingerprint) if owner in (None, name) else "none",
                problem=problem,
            )
        )
    notes = list(walk.notes)
    if walk.hidden:
        notes.append(f"{walk.hidden} hidden file(s) or folder(s) (names starting with a dot) skipped")
    limited = (("The scan " + " and ".join(walk.limits) + ": choose the folder that holds the videos.")
               if walk.limits else None)
    return _shared(ScanResult(root, tuple(records), tuple(walk.unreadable), probed=probed, notes=tuple(notes),
                              limited=limited))


# The last scan of each folder, in this process: a new scan that finds a record exactly as before (every field
# equal) hands back the record already held (and a scan finding them all, the very same tuple), so every
# session of the app that scans the folder shares one copy (at 100,000 videos a scan is some 80 MB) instead of
# holding its own. Records are frozen, so sharing them is safe.
LAST_SCANS = 4
_last_scans: dict[str, ScanResult] = {}
_last_scans_lock = threading.Lock()


def _shared(scan: ScanResult) -> ScanResult:
    key = str(scan.folder)
    with _last_scans_lock:
        last = _last_scans.get(key)
    if last is not None:
        before = {r.rel_path: r for r in last.records}
        records = tuple(_same(before.get(r.rel_path), r) for r in scan.records)
        if len(records) == len(last.records) and all(a is b for a, b in zip(records, last.records, strict=True)):
            records = last.records  # the one tuple too
        scan = replace(scan, records=records)
    with _last_scans_lock:
        _last_scans.pop(key, None)
        _last_scans[key] = scan
        while len(_last_scans) > LAST_SCANS:
            _last_scans.pop(next(iter(_last_scans)))
    return scan


def _same(old: VideoRecord | None, new: VideoRecord) -> VideoRecord:
    return old if old is not None and old == new else new


def _probe_all(root: Path, rels: Sequence[str], stamps: Sequence[Stamp], link_problems: dict[str, str],
               on_progress: Progress | None, workers: int | None) -> tuple[dict[str, ProbeInfo], int]:
    """Facts for every file (by relative path, with its size and mtime): from the probe cache when size and mtime
    match, else probed (and cached). Returns the facts by relative path and how many files were probed."""
    cache_path = Folder.of(root).preview_cache_dir(PROBE_CACHE_DIR) / PROBE_CACHE_FILE
    cache = _read_probe_cache(cache_path)
    if not isinstance(cache, dict) or cache.get("version") != PROBE_CACHE_VERSION:
        cache = {"version": PROBE_CACHE_VERSION, "entries": {}}
    entries: dict[str, Any] = cache["entries"]
    infos: dict[str, ProbeInfo] = {}
    todo: list[tuple[str, str]] = []
    for rel, stamp in zip(rels, stamps, strict=True):
        hit: Any = entries.get(rel)
        if isinstance(hit, dict):  # an entry not made compact as it was read (see _probe_entry)
            key = hit.get("key")
            hit = (tuple(key) if isinstance(key, list) else key, hit.get("info"))
        if rel in link_problems:
            infos[rel] = ProbeInfo(problem=link_problems[rel])
        elif hit and hit[0] == stamp:  # the cache's key, [size, mtime], read back as a tuple (_probe_entry)
            infos[rel] = hit[1] if isinstance(hit[1], ProbeInfo) else ProbeInfo(**hit[1])
        else:
            todo.append((rel, os.path.join(root, rel)))
    total = len(rels)
    done = total - len(todo)
    if on_progress:
        on_progress(done, total)
    if todo:
        n = workers or min(32, (os.cpu_count() or 1) * 2)
        with ThreadPoolExecutor(max_workers=n) as pool:
            for (rel, _path), info in zip(todo, pool.map(lambda item: probe_file(item[1]), todo), strict=True):
                infos[rel] = info
                done += 1
                if on_progress:
                    on_progress(done, total)
        stats = dict(zip(rels, stamps, strict=True))
        live = {rel: _entry_json(entries[rel]) for rel in stats if rel in entries}
        for rel, _ in todo:
            if rel in link_problems:
                continue
            live[rel] = {"key": list(stats[rel]), "info": asdict(infos[rel])}
        # A read-only working folder only costs a re-probe next time.
        with contextlib.suppress(OSError):
            atomic_write_json(cache_path, {"version": PROBE_CACHE_VERSION, "entries": live})

    return infos, len(todo)


_PROBE_FIELDS = frozenset(f.name for f in fields(ProbeInfo))


def _probe_entry(obj: dict[str, Any]) -> Any:
    """The probe cache's JSON objects made compact as they are read (``json``'s ``object_hook``, innermost first):
    a file's facts become a ``ProbeInfo`` and its entry ``(key, info)``. Read as plain dicts, the cache of 100,000
    videos (34 MB of text) peaks at some 150 MB, which a server then keeps; anything else stays as it is."""
    if obj.keys() == _PROBE_FIELDS:
        try:
            return ProbeInfo(**{k: common_value(v) for k, v in obj.items()})
        except TypeError:
            return obj
    if obj.keys() == {"key", "info"} and isinstance(obj["info"], ProbeInfo):
        key = obj["key"]
        return (tuple(key) if isinstance(key, list) else key, obj["info"])
    return obj


def _read_probe_cache(path: Path) -> Any:
    """The probe cache file (``{"version", "entries": {rel: {"key", "info"}}}``), its entries read compactly;
    ``{}`` when it is missing or damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_hook=_probe_entry)
    except (OSError, ValueError):
        return {}


def _entry_json(entry: Any) -> Any:
    """A probe cache entry as the file holds it."""
    if isinstance(entry, tuple):
        key, info = entry
        return {"key": list(key) if isinstance(key, tuple) else key,
                "info": asdict(info) if isinstance(info, ProbeInfo) else info}
    return entry


def _sidecar_owners(root: Path, rels: Sequence[str]) -> dict[str, str]:
    """For each sidecar path two or more of the videos at ``rels`` map to, the video name allowed to use it."""
    # By the hash of each sidecar's path first (an int held per video, not the path's text), then, for the few
    # videos whose hashes meet, by the path itself.
    first: dict[int, str] = {}
    meet: dict[int, list[str]] = {}
    for rel in rels:
        h = hash(str(sidecar_path(os.path.join(root, rel))))
        other = first.setdefault(h, rel)
        if other is not rel:
            meet.setdefault(h, [other]).append(rel)
    del first
    groups: dict[str, list[str]] = {}  # only the sidecars that two or more videos map to
    for shared in meet.values():
        by_key: dict[str, list[str]] = {}
        for rel in shared:
            path = os.path.join(root, rel)
            by_key.setdefault(str(sidecar_path(path)), []).append(path)
        groups.update((key, paths) for key, paths in by_key.items() if len(paths) > 1)
    owners: dict[str, str] = {}
    for key, paths in groups.items():
        names = sorted(os.path.basename(p) for p in paths)
        recorded = sidecar_owner(paths[0])
        owners[key] = recorded if recorded in names else names[0]
    return owners


def subfolders(folder: Path | str) -> list[str]:
    """Names of the visible subfolders of ``folder`` (sorted, case-insensitively), for browsing."""
    root = check_folder(folder)
    try:
        entries = list(os.scandir(root))
    except OSError as exc:
        raise FolderError(f"{root}: {exc.strerror or exc}") from exc
    names = []
    for entry in entries:
        if entry.name.startswith(".") or entry.name == WORKDIR_NAME:
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir():
                names.append(entry.name)
    return sorted(names, key=str.lower)
