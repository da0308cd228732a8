"""Keyframe extraction: which frames of each video are sent, as JPEGs sized for the chosen model.

The public face of ``gaia.media``'s frame pipeline. Each video is opened once, in-process (PyAV,
``gaia.media.decode``); a strategy (``gaia.media.strategies``) plans the frames: ``keyframes`` (the
default, and the cheapest) takes the codec's own I-frames nearest N evenly spread times, one packet
decoded each; ``uniform`` takes exact frames at N evenly spread times, moving off black lead-in and
tail; ``scene`` keeps the frames after scene changes and tops up so the whole video is covered.
Frames that come back black or near-duplicates (judged on small thumbnails, ``gaia.media.dedupe``)
are replaced in one extra pass at most, from candidates in the widest gaps; in a long GOP, the frames there that
the plan's own sweep decoded on its way are judged from signatures it kept, not decoded again (``_Memo``).
Frames come back in time order with their true presentation times in seconds from the start of playback, scaled so
that the model uses them without downscaling (``gaia.facts.fit_to_tier``), and saved as JPEG.
Results are cached in the folder's ``.gaia/frames/`` keyed by the file's identity and the settings,
so a second run decodes nothing. Videos are processed on every core (a process pool); each video
has a deadline, so one broken file never holds up a run.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import multiprocessing
import os
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.folder import Folder
from gaia.format import error_text
from gaia.fsutil import atomic_write, atomic_write_json, read_json
from gaia.media.decode import LONG_GOP_FRAMES, Deadline, Decoded, DecodeTimeout, VideoDecoder
from gaia.media.dedupe import Signature
from gaia.media.scan import VideoRecord, common_value, scan_folder
from gaia.media.strategies import Slot, gap_spots, plan_keyframes, plan_scene, plan_uniform
from gaia.settings import KeyframeSettings, Selection

Progress = Callable[[int, int], None]

# 2: in-process decoding, true presentation times of I-frames, new replacement rules. Folders
# extracted by version 1 keep their old frames (sidecars point at them) and are re-extracted.
ALGORITHM_VERSION = 2
FRAMES_DIR = "frames"
THUMBS_DIR = "thumbs"
MANIFEST = "manifest.json"
THUMB_EDGE = 192
SCENE_THRESHOLD = 0.3  # FFmpeg's scene score that counts as a cut
# Replacing black or repeated frames is bounded per video: at most this many frames decoded beyond
# the plan's own (a 3 s clip at 30 fps has 90), or as many as the plan itself decoded when that is
# more (replacing never more than doubles a video's work); and a spot that would decode more than
# the next number of frames (deep in a long GOP) is moved to an I-frame or a cheaper spot in its gap.
EXTRA_DECODE_BUDGET = 120
LONG_GOP_REPLACEMENT_FRAMES = 30
# The plan's sweep through a long GOP (more than ``LONG_GOP_FRAMES`` frames) keeps the signatures of the frames
# on its way where a replacement search may look later, at most this many a video (some 3 KB each), so the search
# does not decode that stretch again (``_Memo``).
MEMO_PEEKS = 64
# ... in videos of at least this many pixels a frame: in smaller ones a frame decodes about as fast as it is scaled
# and judged, and the plan's sweep would pay for signatures the search mostly never asks for (measured on the 20
# short 640x360 clips of bench/keyframes.py: +13% CPU with keyframes, +35% with uniform).
MEMO_MIN_PIXELS = 1280 * 720
REFINE_STEPS = 2  # halvings between a repeated spot and a black one after it (where a fade or cut to black is)
DEFAULT_TIMEOUT_S = 120.0  # per video, plus 1 s per minute of duration


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Keyframe:
    """One extracted frame: its time in the video, its JPEG in the frame cache, its size and tokens.

    Made as ``Keyframe(timestamp, path, width, height, nbytes, tokens, source, rule)``. A folder of 100,000 videos
    holds 600,000 of them, so a frame keeps its JPEG's folder (as text, one string its set's frames share) and file
    name, not a ``Path`` of its own (some 400 bytes each); ``path`` is made from them when asked for.
    """

    timestamp: float
    dir: str  # the folder of the JPEG, as text (one string shared by the frames of a set, and by the memo's key)
    name: str  # the JPEG's file name
    width: int
    height: int
    nbytes: int
    tokens: int
    source: str  # "keyframe" (codec I-frame), "seek" (exact seek) or "scene" (scene change)
    rule: str | None  # why a replacement frame stands here (e.g. "replaces a black frame"); None if planned

    def __init__(self, timestamp: float, path: Path | str | None = None, width: int = 0, height: int = 0,
                 nbytes: int = 0, tokens: int = 0, source: str = "keyframe", rule: str | None = None, *,
                 dir: Path | str | None = None, name: str | None = None) -> None:
        if path is not None:  # given a path (``dataclasses.replace(frame, path=...)`` gives one too): it wins
            path = Path(path)
            dir, name = str(path.parent), path.name
        if dir is None or name is None:
            raise TypeError("Keyframe needs a path (or its dir and name)")
        _fill(self, timestamp, dir if isinstance(dir, str) else str(dir), common_value(name), common_value(width),
              common_value(height), nbytes, common_value(tokens), common_value(source), common_value(rule))

    @classmethod
    def _made(cls, timestamp: float, dir: str, name: str, width: int, height: int, nbytes: int, tokens: int,
              source: str, rule: str | None) -> Keyframe:
        """A frame from values already checked and shared (``PackedFrames.unpack``: made on every read)."""
        self = object.__new__(cls)
        _fill(self, timestamp, dir, name, width, height, nbytes, tokens, source, rule)
        return self

    @property
    def path(self) -> Path:
        """The JPEG in the frame cache."""
        return Path(self.dir, self.name)

    def __repr__(self) -> str:
        return (f"Keyframe(timestamp={self.timestamp!r}, path={self.path!r}, width={self.width!r}, "
                f"height={self.height!r}, nbytes={self.nbytes!r}, tokens={self.tokens!r}, source={self.source!r}, "
                f"rule={self.rule!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Keyframe, (self.timestamp, self.path, self.width, self.height, self.nbytes, self.tokens, self.source,
                           self.rule))

    def read_bytes(self) -> bytes:
        """The JPEG bytes."""
        return self.path.read_bytes()

    def present(self) -> bool:
        """Whether the JPEG is in the frame cache (``path.is_file()``, without making the ``Path``)."""
        return os.path.isfile(os.path.join(self.dir, self.name))


def _fill(frame: Keyframe, timestamp: float, dir: str, name: str, width: int, height: int, nbytes: int, tokens: int,
          source: str, rule: str | None) -> None:
    """Set a (frozen) frame's fields (written out: ``PackedFrames.unpack`` fills 600,000 of them at 100,000 videos)."""
    put = object.__setattr__
    put(frame, "timestamp", timestamp)
    put(frame, "dir", dir)
    put(frame, "name", name)
    put(frame, "width", width)
    put(frame, "height", height)
    put(frame, "nbytes", nbytes)
    put(frame, "tokens", tokens)
    put(frame, "source", source)
    put(frame, "rule", rule)


def frame_name(i: int, timestamp: float) -> str:
    """The file name extraction gives the ``i``-th kept frame (from 0) at ``timestamp`` seconds."""
    return f"frame_{i:02d}_{timestamp:09.3f}.jpg"


# The (source, rule) pairs of packed frames, numbered: a folder's frames have a handful of them (bounded: past the
# table's size a set keeps its frames as ``Keyframe`` objects).
_FRAME = struct.Struct("<dIIQIH")  # timestamp, width, height, bytes, tokens, number of its (source, rule)
_KINDS: list[tuple[str, str | None]] = []
_KIND_NUMBERS: dict[tuple[str, str | None], int] = {}
_KINDS_MAX = 1 << 16
_kinds_lock = threading.Lock()


def _kind(source: str, rule: str | None) -> int | None:
    key = (source, rule)
    number = _KIND_NUMBERS.get(key)
    if number is None:
        with _kinds_lock:
            number = _KIND_NUMBERS.get(key)
            if number is None:
                if len(_KINDS) >= _KINDS_MAX:
                    return None
                number = len(_KINDS)
                _KINDS.append((common_value(source), common_value(rule)))
                _KIND_NUMBERS[key] = number
    return number


class PackedFrames:
    """A set's frames held compactly: their folder (text shared with the memo's key), every frame's fields packed
    into one ``bytes`` (30 bytes a frame), and their file names (``None`` when every name is the one extraction
    gives, ``frame_name``). A folder of 100,000 videos holds 600,000 frames; as ``Keyframe`` objects that is some
    100 bytes each and their sizes' ints. ``unpack`` makes the ``Keyframe``s, equal to the ones packed."""

    __slots__ = ("data", "dir", "names")

    def __init__(self, dir: str, names: str | None, data: bytes) -> None:
        self.dir, self.names, self.data = dir, names, data

    @classmethod
    def of(cls, dir: str, frames: Sequence[tuple[float, str, int, int, int, int, str, str | None]]
           ) -> PackedFrames | None:
        """``frames`` (timestamp, file name, width, height, bytes, tokens, source, rule) packed, or ``None`` when
        one does not fit (a name with a "/", a number out of range, a value of another type)."""
        parts = []
        for t, name, w, h, nbytes, tokens, source, rule in frames:
            if type(t) is not float or not isinstance(name, str) or not name or "/" in name or \
                    not isinstance(source, str) or not (rule is None or isinstance(rule, str)):
                return None
            if not all(type(x) is int for x in (w, h, nbytes, tokens)):
                return None
            kind = _kind(source, rule)
            if kind is None:
                return None
            try:
                parts.append(_FRAME.pack(t, w, h, nbytes, tokens, kind))
            except struct.error:
                return None
        names = [f[1] for f in frames]
        own = all(name == frame_name(i, f[0]) for i, (name, f) in enumerate(zip(names, frames, strict=True)))
        return cls(dir, None if own else "/".join(names), b"".join(parts))

    def __len__(self) -> int:
        return len(self.data) // _FRAME.size

    def unpack(self) -> tuple[Keyframe, ...]:
        """The frames, as ``Keyframe``s."""
        names = self.names.split("/") if self.names is not None else None
        made = Keyframe._made
        out = []
        for i, (t, w, h, nbytes, tokens, kind) in enumerate(_FRAME.iter_unpack(self.data)):
            source, rule = _KINDS[kind]
            out.append(made(t, self.dir, names[i] if names is not None else frame_name(i, t), w, h, nbytes, tokens,
                            source, rule))
        return tuple(out)

    def tokens(self) -> int:
        """Image tokens of all frames."""
        return sum(row[4] for row in _FRAME.iter_unpack(self.data))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedFrames):
            return (self.dir, self.names, self.data) == (other.dir, other.names, other.data) or \
                self.unpack() == other.unpack()
        if isinstance(other, tuple):
            return self.unpack() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.unpack())

    def __repr__(self) -> str:
        return f"PackedFrames({self.unpack()!r})"


def frames_of(frames: tuple[Keyframe, ...] | PackedFrames) -> tuple[Keyframe, ...]:
    """Frames as ``Keyframe``s, whether held as made or packed."""
    return frames if isinstance(frames, tuple) else frames.unpack()


@dataclass(frozen=True, slots=True, init=False)
class KeyframeSet:
    """The frames of one video for one set of settings, in time order, or the reason there are none.

    Made as ``KeyframeSet(video, rel_path, settings, model, set_id, frames=(), problem=None, cached=False,
    note=None)``, ``video`` being the video's path or its scan record. A set made from a record keeps the record
    (shared with the scan, holding no ``Path`` of its own), so 100,000 sets hold no path each; ``video`` is made
    from it when asked for.
    """

    origin: Path | VideoRecord  # the video: its scan record, or the path it was made with
    rel_path: str
    settings: KeyframeSettings
    model: str
    set_id: str
    frame_data: tuple[Keyframe, ...] | PackedFrames  # the frames, as made or as the cache holds them (``frames``)
    problem: str | None
    cached: bool
    note: str | None  # e.g. "3 near-duplicate frames dropped"

    def __init__(self, video: Path | str | VideoRecord | None = None, rel_path: str | None = None,
                 settings: KeyframeSettings | None = None, model: str | None = None, set_id: str | None = None,
                 frames: Sequence[Keyframe] | PackedFrames | None = None, problem: str | None = None,
                 cached: bool = False, note: str | None = None, *, origin: Path | VideoRecord | None = None,
                 frame_data: tuple[Keyframe, ...] | PackedFrames | None = None) -> None:
        if video is not None:  # given a video or frames (``dataclasses.replace`` gives ``origin``, ``frame_data``):
            origin = video if isinstance(video, VideoRecord) else Path(video)  # they win
        if frames is not None:
            frame_data = frames if isinstance(frames, PackedFrames | tuple) else tuple(frames)
        if origin is None or rel_path is None or settings is None or model is None or set_id is None:
            raise TypeError("KeyframeSet needs a video, rel_path, settings, model and set_id")
        put = object.__setattr__
        put(self, "origin", origin)
        put(self, "rel_path", rel_path)
        put(self, "settings", settings)
        put(self, "model", model)
        put(self, "set_id", set_id)
        put(self, "frame_data", () if frame_data is None else frame_data)
        put(self, "problem", problem)
        put(self, "cached", cached)
        put(self, "note", note)

    @property
    def video(self) -> Path:
        """The video file."""
        return self.origin.path if isinstance(self.origin, VideoRecord) else self.origin

    @property
    def n_frames(self) -> int:
        """How many frames (``len(frames)``, without making them)."""
        return len(self.frame_data)

    @property
    def frames(self) -> tuple[Keyframe, ...]:
        """The frames in time order (made from the cache's compact form when it holds them so)."""
        return frames_of(self.frame_data)

    def included_frames(self, selection: Selection | None = None) -> tuple[Keyframe, ...]:
        """The frames the user did not exclude."""
        if selection is None or self.rel_path not in selection.excluded_frames:  # (then none is: the set's own tuple)
            return self.frames
        return tuple(f for f in self.frames if not selection.frame_excluded(self.rel_path, f.timestamp))

    @property
    def tokens(self) -> int:
        """Image tokens of all frames."""
        data = self.frame_data
        return data.tokens() if isinstance(data, PackedFrames) else sum(f.tokens for f in data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "video": str(self.video),
            "rel_path": self.rel_path,
            "set_id": self.set_id,
            "model": self.model,
            "settings": asdict(self.settings),
            "problem": self.problem,
            "note": self.note,
            "cached": self.cached,
            "frames": [
                {"timestamp": f.timestamp, "path": str(f.path), "width": f.width, "height": f.height,
                 "bytes": f.nbytes, "tokens": f.tokens, "source": f.source, "rule": f.rule}
                for f in self.frames
            ],
        }


# --------------------------------------------------------------------------------------------
# Identity and cache
# --------------------------------------------------------------------------------------------


def target_size(record: VideoRecord, settings: KeyframeSettings, model: str) -> tuple[int, int]:
    """Frame size (displayed orientation) for this video, settings and model's image tier."""
    tier = model_facts(model).image_tier
    if not record.width or not record.height:
        raise ValueError(f"{record.rel_path} has no known frame size")
    w, h = fit_to_tier(record.width, record.height, tier, max_edge=settings.max_edge)
    # Even dimensions keep every scaler and encoder happy; never below 2 px.
    return max(2, w - w % 2), max(2, h - h % 2)


def keyframe_set_id(record: VideoRecord, settings: KeyframeSettings, model: str) -> str:
    """Stable id of one video's frames for given settings: changes when the file or settings change."""
    # Remembered by everything the id depends on (the model's image tier included, not its name: a price file
    # may change the tier), since pages ask for every video's id on every rerun: by settings and the tier's two
    # figures (all ``target_size`` reads of it: models of one tier share their ids), then by the record itself
    # (records are frozen, and one scan's records are shared: no key of their own to hold).
    return _set_id(record, settings, model, remember=True)


def _set_id(record: VideoRecord, settings: KeyframeSettings, model: str, *, remember: bool) -> str:
    tier = model_facts(model).image_tier
    memo = (ALGORITHM_VERSION, settings, tier.max_edge, tier.max_tokens)
    per_record = _set_id_memo.get(memo)
    hit = per_record.get(record) if per_record is not None else None
    if hit is not None:
        return hit
    set_id = _new_set_id(record, settings, model)
    if not remember:
        return set_id
    if sum(len(d) for d in _set_id_memo.values()) >= SET_ID_MEMO_ENTRIES:
        _set_id_memo.clear()
    _set_id_memo.setdefault(memo, {})[record] = set_id
    return set_id


def _new_set_id(record: VideoRecord, settings: KeyframeSettings, model: str) -> str:
    w, h = target_size(record, settings, model)
    key = json.dumps(
        [ALGORITHM_VERSION, record.rel_path, record.size, record.mtime_ns, asdict(settings), w, h],
        separators=(",", ":"),
    )
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]


SET_ID_MEMO_ENTRIES = 400_000
_set_id_memo: dict[tuple[Any, ...], dict[VideoRecord, str]] = {}


def _frames_root(folder: Path) -> Path:
    return Folder.of(folder).workdir / FRAMES_DIR


# Manifests already read, by directory, as the frames they describe: what the folder's pages read on every rerun,
# built once and shared by every caller (the frames are frozen). An entry holds while the directory and the manifest
# keep their identity (a frame deleted or added changes the directory's mtime; a new manifest is written
# atomically, so a new inode and mtime).
MANIFEST_MEMO_ENTRIES = 200_000


@dataclass(frozen=True, slots=True)
class _Manifest:
    set_id: Any
    frames: tuple[Keyframe, ...] | PackedFrames  # packed whenever they fit
    problem: Any
    note: Any
    flat: bool = True  # every frame file directly in the set's directory (only such manifests are indexed)
    # The last two sets made from it (for two models, say): handed out again to the next caller asking for the same
    # record, settings and model, so the pages, the plans and the estimate hold one set per video between them, not
    # one each (100 bytes a video each).
    last: Any = field(default=(), compare=False)  # the set alone while there is one (no tuple for it), then a pair
    stamp: Any = field(default=None, compare=False)  # its directory's and file's identity when read, packed (_packed)


# Each entry: the manifest (with its stamp packed into 40 bytes), by the set's directory as text (the frames' own
# ``dir``).
_manifest_memo: dict[str, _Manifest] = {}
_STAMP = struct.Struct("<qQqQQ")  # directory mtime, inode; manifest mtime, inode, size


def _packed(stamp: tuple[int, ...]) -> Any:
    """``stamp`` as 40 bytes (what the memo holds for each of 100,000 sets), or as it is if it does not fit."""
    try:
        return _STAMP.pack(*stamp)
    except struct.error:
        return stamp


def _unpacked(packed: Any) -> tuple[int, ...]:
    return _STAMP.unpack(packed) if isinstance(packed, bytes) else tuple(packed)


def _stamp(out_dir: Path | str) -> tuple[int, ...] | None:
    try:
        d, m = os.stat(out_dir), os.stat(os.path.join(out_dir, MANIFEST))
    except OSError:
        return None
    return (d.st_mtime_ns, d.st_ino, m.st_mtime_ns, m.st_ino, m.st_size)


def _read_manifest(out_dir: Path | str) -> _Manifest | None:
    """The manifest in ``out_dir`` with every frame file present, or ``None``; remembered until either changes.
    (Pages ask for every video's on every rerun: a memo hit makes no ``Path``.)"""
    stamp = _stamp(out_dir)
    if stamp is None:
        return None
    key = str(out_dir)
    hit = _manifest_memo.get(key)
    if hit is not None and hit.stamp == _packed(stamp):
        return hit
    out_dir = Path(out_dir)
    global _manifest_reads
    _manifest_reads += 1
    data = read_json(out_dir / MANIFEST)
    if not isinstance(data, dict):
        return None
    try:  # one listing of the directory, not one stat per frame
        present = {e.name for e in os.scandir(out_dir) if e.is_file()}
    except OSError:
        return None
    if not all(f["file"] in present or ("/" in f["file"] and (out_dir / f["file"]).is_file())
               for f in data.get("frames", [])):
        return None
    rows = [(float(f["timestamp"]), f["file"], int(f["width"]), int(f["height"]), int(f["bytes"]), int(f["tokens"]),
             f.get("source", "keyframe"), f.get("rule")) for f in data.get("frames", [])]
    flat = all("/" not in row[1] for row in rows)
    frames = (PackedFrames.of(key, rows) if flat else None) or tuple(
        Keyframe(t, out_dir / file, w, h, b, tok, src, rule) if "/" in file else
        Keyframe(common_value(t), None, w, h, b, tok, src, rule, dir=key, name=file)
        for t, file, w, h, b, tok, src, rule in rows)
    manifest = _Manifest(data.get("set_id"), frames, data.get("problem"), data.get("note"), flat,
                         stamp=_packed(stamp))
    if len(_manifest_memo) >= MANIFEST_MEMO_ENTRIES:
        _manifest_memo.clear()
    _manifest_memo[key] = manifest
    return manifest


# The folder's index of manifests (``.gaia/frames/index.jsonl``): every manifest read or written, recorded in one file
# beside them, so a fresh process reads one file instead of one manifest (and one directory listing) per video. Never
# trusted blindly: an entry stands for its manifest only while the set's directory and its manifest keep exactly the
# identity recorded with it (``_stamp``: mtimes, inodes, size; a frame deleted or added changes the directory's
# mtime, a manifest rewritten is a new inode), and every line carries a checksum of itself; anything else (a manifest
# changed or deleted, a damaged line, an index another version wrote) falls back to reading the manifest, exactly as
# a folder without the index always did. Written atomically after extraction and whenever manifests had to be read;
# two processes writing at once: the last one wins, and whatever it lacks is read from the manifests again.
MANIFEST_INDEX = "index.jsonl"
INDEX_HEADER = '{"gaia_manifest_index":1}'
_index_loaded: dict[str, tuple[int, int, int]] = {}  # frames root -> the index file's identity when last loaded
_index_lock = threading.Lock()
_manifest_reads = 0  # manifests parsed from disk in this process (a change means the index is worth writing)


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        s = os.stat(path)
    except OSError:
        return None
    return (s.st_mtime_ns, s.st_ino, s.st_size)


def _index_line(name: str, stamp: tuple[int, ...], m: _Manifest) -> str:
    payload = json.dumps([name, list(stamp), m.set_id, m.problem, m.note,
                          [[f.timestamp, f.name, f.width, f.height, f.nbytes, f.tokens, f.source, f.rule]
                           for f in frames_of(m.frames)]], separators=(",", ":"))
    return f"{zlib.crc32(payload.encode()):08x} {payload}\n"


def _index_entry(root: Path, line: str) -> tuple[str, _Manifest] | None:
    """One index line as (set directory, manifest with its stamp), or ``None`` when it is damaged in any way."""
    crc, _, payload = line.rstrip("\n").partition(" ")
    try:
        if int(crc, 16) != zlib.crc32(payload.encode()):
            return None
        name, stamp, set_id, problem, note, frames = json.loads(payload)
        if not isinstance(name, str) or "/" in name or name in ("", ".", "..") or len(stamp) != 5:
            return None
        if any(not isinstance(f[1], str) or "/" in f[1] or f[1] in ("", ".", "..") for f in frames):
            return None
        out_dir = os.path.join(str(root), name)  # str(root / name), without a Path for each of 100,000 sets
        rows = [(float(t), file, int(w), int(h), int(b), int(tok), str(src), None if rule is None else str(rule))
                for t, file, w, h, b, tok, src, rule in frames]
        kfs = PackedFrames.of(out_dir, rows) or tuple(
            Keyframe(common_value(t), None, w, h, b, tok, src, rule, dir=out_dir, name=file)
            for t, file, w, h, b, tok, src, rule in rows)
        return out_dir, _Manifest(set_id, kfs, problem, note, stamp=_packed(tuple(int(x) for x in stamp)))
    except (ValueError, TypeError, UnicodeError, IndexError, KeyError):
        return None


def _load_index(root: Path) -> None:
    """Bring ``root``'s manifest index into the memo (once per version of the file; a missing or damaged one adds
    nothing). Entries are only candidates: ``_read_manifest`` uses one only while its stamp still holds."""
    path = root / MANIFEST_INDEX
    ident = _file_stamp(path)
    if ident is None or _index_loaded.get(str(root)) == ident:
        return
    _index_loaded[str(root)] = ident
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.readline().strip() != INDEX_HEADER:
                return
            for line in fh:
                entry = _index_entry(root, line)
                if entry is not None and entry[0] not in _manifest_memo and len(_manifest_memo) < MANIFEST_MEMO_ENTRIES:
                    _manifest_memo[entry[0]] = entry[1]
    except (OSError, UnicodeError):
        return


def _save_index(root: Path) -> None:
    """Write ``root``'s index from the manifests this process knows under it (atomically; a cache: best effort)."""
    if not root.is_dir():
        return
    prefix = str(root) + os.sep
    with _index_lock:
        entries = [(k[len(prefix):], _unpacked(m.stamp), m) for k, m in list(_manifest_memo.items())
                   if m.flat and k.startswith(prefix) and os.sep not in k[len(prefix):]]

        def write(fh: Any) -> None:
            fh.write(INDEX_HEADER + "\n")
            for name, stamp, m in entries:
                fh.write(_index_line(name, stamp, m))

        try:
            atomic_write(root / MANIFEST_INDEX, write)
        except OSError:
            return
        ident = _file_stamp(root / MANIFEST_INDEX)
        if ident is not None:
            _index_loaded[str(root)] = ident


def _load_manifest(record: VideoRecord, out_dir: Path | str, settings: KeyframeSettings, model: str,
                   set_id: str) -> KeyframeSet | None:
    data = _read_manifest(out_dir)
    if data is None or data.set_id != set_id:
        return None
    if data.set_id is not set_id:  # one copy of the id (the memo's) for the manifest and its sets, not one each
        object.__setattr__(data, "set_id", set_id)
    remembered = data.last if isinstance(data.last, tuple) else (data.last,)
    for last in remembered:
        if (last.origin is record and last.rel_path == record.rel_path and last.settings == settings
                and last.model == model and last.set_id == set_id):
            return last  # type: ignore[no-any-return]
    kset = KeyframeSet(record, record.rel_path, settings, model, set_id, data.frames,
                       data.problem, cached=True, note=data.note)
    # Frozen for everything but these remembered answers (and the id's one copy above).
    object.__setattr__(data, "last", (kset, remembered[0]) if remembered else kset)
    return kset


# --------------------------------------------------------------------------------------------
# One video's extraction (runs inside a worker)
# --------------------------------------------------------------------------------------------


def index_keyframes(path: Path | str, deadline: Deadline | None = None) -> list[float]:
    """Times (s from playback start) of the video stream's I-frames, from the packet index (no decoding)."""
    with VideoDecoder(path, size=(2, 2), deadline=deadline) as dec:
        return list(dec.index().key_times)


def _grab(dec: VideoDecoder, slots: Sequence[Slot], memo: _Memo | None = None) -> list[Decoded | None]:
    """Decode every slot: I-frames one packet each, then all exact frames in one forward sweep.

    An I-frame that will not decode alone is taken by an exact seek to its time instead. With a ``memo``, every
    frame decoded is remembered there, and the sweep tells it of the frames on its way (``_Memo.peek``).
    """
    out: list[Decoded | None] = [dec.keyframe(s.key) if s.key is not None else None for s in slots]
    if memo is not None:
        for frame in out:
            if frame is not None:
                memo.add(frame)
    exact = [i for i, s in enumerate(slots) if out[i] is None]
    for i, frame in zip(exact, dec.exact([slots[i].time for i in exact], memo.peek if memo else None), strict=True):
        out[i] = frame
    return out


class _Known(NamedTuple):
    """A frame decoded before, as a replacement search judges it: its time, whether an I-frame, its signature."""

    time: float
    keyframe: bool
    sig: Signature


class _Memo:
    """Signatures of the frames decoded for one video, keyed by their time in the packet index.

    A replacement search looks for frames between the planned ones; in a long GOP the plan's exact sweep has
    already decoded that stretch (frames are decoded from the I-frame before them), and the search would decode it
    again. So while the sweep runs, the planned frames are judged as they come (as ``_sort_out`` judges them, in
    time order), and once one was not kept (a search will come), each frame on its way that the search could ask
    for, given what was judged so far and whatever comes next (``gap_spots`` from the last kept frame to any later
    planned one), is scaled and its signature kept: the search then judges it without decoding. Scaling costs about
    half a decode at 1080p, and more than one in small videos (``MEMO_MIN_PIXELS``), so it is done only where it
    pays. Only a guess of where to look: the search decides as if it had decoded every frame (``_Walk``), and
    decodes any frame it keeps.
    """

    def __init__(self, dec: VideoDecoder, slots: Sequence[Slot], still: dict[int, int], duration: float, *,
                 skip_black: bool, peeking: bool) -> None:
        self.dec = dec
        self.index = dec.index()
        self.duration = duration
        self.skip_black = skip_black
        cc = dec.stream.codec_context
        self.peeking = peeking and (cc.width or 0) * (cc.height or 0) >= MEMO_MIN_PIXELS
        self.frames: dict[float, _Known] = {}  # index time -> the frame as judged
        self.peeks = 0  # frames remembered on the sweep's way
        snap = self.index.snap
        # The planned frames in time order: (index time, whether decoded; still slots are judged repeats).
        self.planned = sorted((snap(s.key.time if s.key is not None else s.time), i not in still)
                              for i, s in enumerate(slots))
        self._spots: tuple[int, set[float]] | None = None  # for how many planned frames passed: where to look
        self._kept: list[float] = []  # and the planned frames kept among those
        self._rejected = False  # and whether a decoded one among those was not kept

    def add(self, frame: Decoded, sig: Signature | None = None) -> Signature:
        """Remember a decoded frame (and its signature, made here when not given); its signature."""
        t = self.index.snap(frame.time)
        known = self.frames.get(t)
        if known is not None and known.time == frame.time:
            return known.sig
        sig = sig or Signature.of(frame.image)
        self.frames[t] = _Known(frame.time, frame.keyframe, sig)
        return sig

    def get(self, t: float) -> _Known | None:
        """The remembered frame the exact frame nearest ``t`` is."""
        return self.frames.get(self.index.snap(t))

    def peek(self, t: float, make: Callable[[], Decoded], target: bool) -> list[float] | None:
        """A frame the plan's sweep decodes (``Peek``): remembered when planned, or where a search may look.

        After a planned frame that is not kept (black or a repeat), last of the sweep in its long GOP, the search
        will look after it, in that GOP, which the sweep is about to leave: where it may look, up to
        ``LONG_GOP_FRAMES`` frames on, is answered, so the sweep goes on there first.
        """
        if target:
            self.add(make())
            at = self.index.snap(t)
            if not self.peeking or not self._long_gop(at):
                return None
            where = self._where(at + 1e-3)
            if self._kept and self._kept[-1] == at:
                return None
            return sorted(x for x in where if at < x and self.index.frames_between(at, x) < LONG_GOP_FRAMES)
        at = self.index.snap(t)
        if (not self.peeking or self.peeks >= MEMO_PEEKS or at in self.frames or not self._long_gop(at)
                or at not in self._where(at) or not self._rejected):
            return None
        self.add(make())
        self.peeks += 1
        return None

    def _long_gop(self, t: float) -> bool:
        keys = self.index.keys
        i = bisect.bisect_right(keys, t + 1e-6, key=lambda k: k.time)
        start = keys[i - 1].time if i else 0.0
        end = keys[i].time if i < len(keys) else float("inf")
        return self.index.frames_between(start, end) > LONG_GOP_FRAMES

    def _where(self, t: float) -> set[float]:
        """The index times a replacement search may ask for, judged from the planned frames before ``t``."""
        passed = bisect.bisect_left(self.planned, (t - 1e-6, False))
        if self._spots is not None and self._spots[0] == passed:
            return self._spots[1]
        self._kept, self._rejected = [], False
        kept: list[tuple[float, Signature]] = []
        black: list[float] = []
        for p, decoded in self.planned[:passed]:
            known = self.frames.get(p) if decoded else None
            if known is None:
                continue
            sig = known.sig
            if self.skip_black and sig.black:
                black.append(p)
                self._rejected = True
            elif not any(k == p or sig.near(other) for k, other in kept):
                kept.append((p, sig))
                self._kept.append(p)
            else:
                self._rejected = True
        a = kept[-1][0] if kept else max([0.0, *black])
        spots: set[float] = set()
        ends = [p for p, _ in self.planned[passed:]] + [self.duration]
        for b in ends:
            lost = sum(1 for p, _ in self.planned if a - 1e-6 <= p < b - 1e-6 and all(p != k for k, _ in kept))
            if lost and b > a:
                spots.update(self._walked(a, b, gap_spots(a, b, lost)))
        self._spots = (passed, spots)
        return spots

    def _walked(self, a: float, b: float, spots: list[float]) -> list[float]:
        """The index times a search of the gap ``a``..``b`` would decode, every spot rejected: each spot, or where
        ``_spot`` moves it in a long GOP (from the I-frame before it: the search comes from elsewhere), and each
        spot too as reached from the one before it."""
        snap = self.index.snap
        if any(a + 1e-3 < k.time < b - 1e-3 for k in self.index.keys):  # ``_spot`` takes an I-frame in the gap
            return [snap(t) for t in spots if self.dec.cost(t, None) <= LONG_GOP_REPLACEMENT_FRAMES]  # (one packet)
        out = []
        at: float | None = None
        for t in spots:
            out.append(snap(t))
            if self.dec.cost(t, at) > LONG_GOP_REPLACEMENT_FRAMES:
                t = next((f for f in reversed([f for f in self.index.frames if a + 1e-3 < f < t])
                          if self.dec.cost(f, at) <= LONG_GOP_REPLACEMENT_FRAMES), t)
            at = snap(t)
            out.append(at)
        return out


@dataclass
class _Pick:
    slot: Slot
    frame: Decoded
    sig: Signature


@dataclass
class _Seen:
    """A planned frame as judged: its time, its signature and the verdict."""

    time: float
    sig: Signature
    verdict: str  # "kept", "black" or "repeat"


def _sort_out(slots: Sequence[Slot], frames: Sequence[Decoded | None], kept: list[_Pick], *, skip_black: bool,
              limit: int, memo: _Memo | None = None) -> tuple[list[_Seen], int]:
    """Add the usable frames to ``kept`` (at most ``limit``); return every frame as judged, and how many
    slots gave no frame."""
    seen: list[_Seen] = []
    failed = 0
    for slot, frame in zip(slots, frames, strict=True):
        if frame is None:
            failed += 1
            continue
        if limit <= 0:
            break
        sig = memo.add(frame) if memo is not None else Signature.of(frame.image)
        if skip_black and sig.black:
            seen.append(_Seen(frame.time, sig, "black"))
        elif any(p.frame.time == frame.time for p in kept) or (
                not slot.coverage and any(sig.near(p.sig) for p in kept)):
            seen.append(_Seen(frame.time, sig, "repeat"))
        else:
            kept.append(_Pick(slot, frame, sig))
            seen.append(_Seen(frame.time, sig, "kept"))
            limit -= 1
    return seen, failed


def _plan(dec: VideoDecoder, settings: KeyframeSettings, duration: float) -> list[Slot]:
    index = dec.index()
    if settings.strategy == "keyframes":
        return plan_keyframes(duration, settings.count, index.keys)
    if settings.strategy == "scene":
        cuts = [t for t, score in dec.scene_scores() if score > SCENE_THRESHOLD]
        return plan_scene(duration, settings.count, cuts)
    return plan_uniform(duration, settings.count)


@dataclass
class _Outcome:
    picks: list[_Pick]
    dupes: int  # near-duplicates dropped
    black: bool  # black frames met
    failed: int  # planned frames that could not be decoded
    still: bool = False  # some repeats were left unreplaced because the video holds still there


def _select(dec: VideoDecoder, settings: KeyframeSettings, duration: float) -> _Outcome:
    """The frames to keep: the plan, then, for black or repeated frames, a search that stops early (``_replace``)."""
    n = settings.count
    slots = _plan(dec, settings, duration)
    skip_black = settings.strategy != "scene"
    kept: list[_Pick] = []
    # Scene changes first, so a repeated cut is the one dropped and not the coverage frame.
    order = sorted(range(len(slots)), key=lambda i: slots[i].coverage)
    still = _still_slots(dec, slots)
    wanted = [i for i in range(len(slots)) if i not in still]
    frames: list[Decoded | None] = [None] * len(slots)
    memo = _Memo(dec, slots, still, duration, skip_black=skip_black, peeking=settings.strategy != "scene")
    for i, frame in zip(wanted, _grab(dec, [slots[i] for i in wanted], memo), strict=True):
        frames[i] = frame
    order = [i for i in order if i not in still]
    seen, failed = _sort_out([slots[i] for i in order], [frames[i] for i in order], kept, skip_black=skip_black,
                             limit=n, memo=memo)
    judged = {s.time: s for s in seen}
    for i, j in still.items():  # a still stretch shows its I-frame's picture: judged as that frame, never decoded
        key_frame = frames[j]
        own = judged.get(key_frame.time) if key_frame is not None else None
        if own is not None:
            verdict = "black" if own.verdict == "black" else "repeat"
            seen.append(_Seen(dec.index().snap(slots[i].time), own.sig, verdict))
    outcome = _Outcome(kept, sum(s.verdict == "repeat" for s in seen), any(s.verdict == "black" for s in seen), failed)
    if len(kept) < n and kept and any(s.verdict != "kept" for s in seen):
        outcome.still = _replace(dec, seen, kept, duration, skip_black=skip_black, limit=n - len(kept), memo=memo)
    kept.sort(key=lambda p: p.frame.time)
    return outcome


def _still_slots(dec: VideoDecoder, slots: Sequence[Slot]) -> dict[int, int]:
    """Exact slots whose picture is that of a planned I-frame before them (no frame between them changes
    anything, judged from packet sizes: ``PacketIndex.unchanged``): slot index -> the I-frame slot's index."""
    index = dec.index()
    planned = {s.key.ts: j for j, s in enumerate(slots) if s.key is not None}
    out = {}
    for i, s in enumerate(slots):
        key = index.key_before(s.time) if s.key is None else None
        if key is not None and key.ts in planned and index.unchanged(key.time, s.time):
            out[i] = planned[key.ts]
    return out


def _still(seen: Sequence[_Seen], lo: float, hi: float) -> bool:
    """Whether every planned frame from ``lo`` to ``hi`` (ends included) looks alike: the video holds still there."""
    inside = [s.sig for s in seen if lo - 1e-6 <= s.time <= hi + 1e-6]
    return all(sig.near(inside[0]) for sig in inside[1:])


def _spot(dec: VideoDecoder | _Walk, t: float, lo: float, hi: float, used: set[int], rule: str) -> Slot:
    """The slot to decode for a replacement wanted near ``t`` inside the gap ``lo``..``hi``.

    Where reaching ``t`` would decode more than ``LONG_GOP_REPLACEMENT_FRAMES`` frames (long GOPs),
    the nearest unused I-frame inside the gap is taken instead (one packet), else the spot nearest
    ``t`` that the decoder reaches within that many frames (never on the gap's ends).
    """
    if dec.cost(t) <= LONG_GOP_REPLACEMENT_FRAMES:
        return Slot(t, None, "seek", rule=rule)
    index = dec.index()
    keys = [k for k in index.keys if lo + 1e-3 < k.time < hi - 1e-3 and k.ts not in used]
    if keys:
        key = min(keys, key=lambda k: abs(k.time - t))
        return Slot(key.time, key, "keyframe", rule=f"{rule}: the nearest keyframe in the gap (long GOP)")
    frames = [f for f in index.frames if lo + 1e-3 < f < t]
    cheap = next((f for f in reversed(frames) if dec.cost(f) <= LONG_GOP_REPLACEMENT_FRAMES), None)
    if cheap is None:
        return Slot(t, None, "seek", rule=rule)
    return Slot(cheap, None, "seek", rule=f"{rule}: a cheaper spot in the gap (long GOP)")


class _Walk:
    """Where a replacement search's decoder would stand, and what it would have decoded, had it decoded every frame
    it judges: a frame the ``_Memo`` remembers is judged without decoding, while the search's choices (the cost of
    a spot, its budget) are made from here, as they were before anything was remembered."""

    def __init__(self, dec: VideoDecoder) -> None:
        self.dec = dec
        self.at: float | None = dec.position  # the position the decoder would have (``VideoDecoder.position``)
        self.spent = 0  # frames it would have decoded since the search began
        self.index = dec.index

    def cost(self, t: float) -> int:
        """``VideoDecoder.cost`` from where the decoder would stand."""
        return self.dec.cost(t, self.at)

    def decoded(self, slot: Slot, cost: int) -> Decoded | None:
        """``slot``'s frame, decoded: counted as the decoder counts it when it stands where it would, else as
        ``cost`` (at most what it would have decoded from there)."""
        before, synced = self.dec.decoded, self.dec.position == self.at
        (frame,) = _grab(self.dec, [slot])
        self.spent += self.dec.decoded - before if synced else cost
        self.at = self.dec.position
        return frame

    def remembered(self, at: float, cost: int, key: bool) -> None:
        """A frame (at ``at``) judged from the memo: the decoder would now stand on it (after an exact frame) or
        nowhere (after a single I-frame), having decoded ``cost`` frames."""
        self.spent += cost
        self.at = None if key else at


def _replace(dec: VideoDecoder, seen: list[_Seen], kept: list[_Pick], duration: float, *, skip_black: bool,
             limit: int, memo: _Memo | None = None) -> bool:
    """Replace black and repeated frames, adding to ``kept``; return whether some repeats were left as they are.

    Judged first on the planned frames already decoded, before any seek: a gap whose planned frames
    all look alike (the video holds still there) is not searched at all. Every other gap is searched
    in display order, one spot at a time (``gap_spots``), stopping at the first acceptable frame;
    the decoder goes on from where it stands, so spots in one gap cost the frames between them.
    Bounded: at most ``EXTRA_DECODE_BUDGET`` frames (or the plan's own count, when more) are decoded
    per video beyond the plan's own.
    """
    black = [s.time for s in seen if s.verdict == "black"]
    times = [p.frame.time for p in kept]
    lo = max([0.0, *(t for t in black if t < min(times))])
    hi = min([duration, *(t for t in black if t > max(times))])
    edges = sorted({lo, hi, *(t for t in times if lo < t < hi)})
    lost: dict[int, list[_Seen]] = {}
    for s in seen:
        if s.verdict != "kept":
            j = min(max(bisect.bisect_right(edges, s.time) - 1, 0), len(edges) - 2)
            lost.setdefault(j, []).append(s)
    used = {p.slot.key.ts for p in kept if p.slot.key is not None}
    walk = _Walk(dec)
    budget = max(EXTRA_DECODE_BUDGET, dec.decoded - dec.ahead)  # everything decoded so far was the plan's (or
    # decoded ahead for this search: not counted, as the search counts what it would decode, ``_Walk``)
    still = False
    for j in sorted(lost):
        a, b = edges[j], edges[j + 1]
        rejected = lost[j]
        if all(s.verdict == "repeat" for s in rejected) and _still(seen, a, b):
            still = True
            continue
        rule = ("replaces a black frame" if any(s.verdict == "black" for s in rejected)
                else "replaces a near-duplicate")
        found = 0
        spots = gap_spots(a, b, len(rejected))
        repeat_at: float | None = None  # the last spot that showed a repeat
        refine = REFINE_STEPS
        while spots and found < len(rejected) and limit > 0:
            t = spots.pop(0)
            slot = _spot(walk, t, a, b, used, rule)
            key = dec.index().key_before(slot.time)
            if slot.key is None and key is not None and key.ts in used and dec.index().unchanged(key.time, slot.time):
                repeat_at = t
                continue  # the kept I-frame's picture still: a repeat, known without decoding
            cost = 1 if slot.key is not None else walk.cost(slot.time)
            if walk.spent + cost > budget:
                return still  # the budget is spent: keep what exists
            known = memo.get(slot.key.time if slot.key is not None else slot.time) if memo is not None else None
            frame: Decoded | None = None
            if known is not None and (slot.key is None or known.keyframe) and (
                    any(p.frame.time == known.time for p in kept)
                    or (skip_black and known.sig.black) or any(known.sig.near(p.sig) for p in kept)):
                at, sig = known.time, known.sig  # decoded before and not to be kept: judged without decoding it
                walk.remembered(at, cost, slot.key is not None)
            else:
                frame = walk.decoded(slot, cost)
                if frame is None:
                    continue
                at, sig = frame.time, memo.add(frame) if memo is not None else Signature.of(frame.image)
            if any(p.frame.time == at for p in kept):
                continue
            if skip_black and sig.black:
                # Black right after a repeat: the picture ends (a cut or fade to black) between the two
                # spots; look once more halfway, where the last moment before the black is.
                if repeat_at is not None and refine:
                    spots.insert(0, (repeat_at + t) / 2)
                    refine -= 1
                continue
            if any(sig.near(p.sig) for p in kept) or frame is None:  # (a remembered frame is never kept)
                repeat_at = t
                continue
            if slot.key is not None:
                used.add(slot.key.ts)
            kept.append(_Pick(slot, frame, sig))
            found += 1
            limit -= 1
    return still


@dataclass
class _Job:
    path: str
    rel_path: str
    duration: float
    size: tuple[int, int]
    settings: dict[str, Any]
    out_dir: str
    set_id: str
    timeout_s: float


def _extract_job(job: _Job) -> dict[str, Any]:
    """Worker: extract one video's frames into ``job.out_dir`` and return the manifest."""
    import av  # in the worker only: a server that only reads the frame cache never loads PyAV

    settings = KeyframeSettings(**job.settings)
    manifest: dict[str, Any] = {"set_id": job.set_id, "version": ALGORITHM_VERSION, "frames": [], "problem": None}
    if not Path(job.path).exists():
        manifest["problem"] = "missing: the file was moved or deleted after the folder was scanned"
        manifest["transient"] = True
        return manifest
    try:
        with VideoDecoder(job.path, size=job.size, deadline=Deadline(job.timeout_s)) as dec:
            outcome = _select(dec, settings, job.duration)
        kept = outcome.picks
        if not kept:
            manifest["problem"] = ("every frame tried was black" if outcome.black
                                   else "no frame could be decoded (the file may be damaged or truncated)")
            return manifest
        out_dir = Path(job.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, pick in enumerate(kept):
            name = frame_name(i, pick.frame.time)
            img = pick.frame.image
            target = out_dir / name
            img.save(target, format="JPEG", quality=settings.jpeg_quality)
            manifest["frames"].append({
                "timestamp": round(pick.frame.time, 3), "file": name, "width": img.width, "height": img.height,
                "bytes": target.stat().st_size, "tokens": image_tokens(img.width, img.height),
                "source": pick.slot.source, "rule": pick.slot.rule,
            })
        notes = []
        # Counted in frames asked for, never in candidates tried: a note once said "10 near-duplicate frame(s)
        # dropped; 3 of 6 frames kept", more dropped than asked for, because each replacement tried counts too.
        if len(kept) < settings.count:
            notes.append(f"{len(kept)} of {settings.count} frames kept: the video has fewer distinct moments than "
                         "frames asked for (near-duplicates of a kept frame are left out)")
        elif outcome.dupes:
            notes.append("near-duplicate frames were replaced by other moments of the video")
        if outcome.failed:
            notes.append(f"{outcome.failed} frame(s) could not be decoded (the file may be damaged or truncated)")
        if dec.errors:
            notes.append("the decoder reported damage in this file; check the frames for artefacts")
        manifest["note"] = "; ".join(notes) or None
        return manifest
    except DecodeTimeout:
        manifest["problem"] = f"extraction took longer than {job.timeout_s:.0f} s and was stopped"
        manifest["transient"] = True
        return manifest
    except FileNotFoundError:
        manifest["problem"] = "missing: the file was moved or deleted after the folder was scanned"
        manifest["transient"] = True
        return manifest
    except (av.error.FFmpegError, ValueError) as exc:
        manifest["problem"] = f"cannot be decoded (the file may be damaged or truncated): {exc}"
        return manifest
    except Exception as exc:  # a worker must never take the run down
        manifest["problem"] = f"frame extraction failed: {error_text(exc)}"
        manifest["transient"] = True
        return manifest



# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _pool(n: int) -> Executor:
    """A process pool when this is a normal program (the CLI, a script, pytest), else threads.

    Workers (started by ``WORKER_START``) re-import the main module. Under Streamlit (and AppTest) ``__main__`` is the
    page being run, which must not run again in a worker, and in an interactive session there is
    no main file at all: there a thread pool is used. The work is mostly in ffmpeg processes and
    in Pillow and numpy calls that release the GIL, so threads keep every core busy too.
    """
    main = sys.modules.get("__main__")
    if "streamlit" in sys.modules and getattr(main, "__loader__", None) is None:
        # A page: Streamlit runs it as a module it made itself (no loader), and makes it (app.py) both __main__
        # and sys.argv[0], so the check below would spawn workers that run the whole app again, bare.
        return ThreadPoolExecutor(max_workers=n)
    main_file = getattr(main, "__file__", None)
    started = sys.argv[0] if sys.argv else ""
    if main_file and started and Path(main_file).is_file() and Path(main_file).resolve() == Path(started).resolve():
        return ProcessPoolExecutor(max_workers=n, mp_context=_process_context())
    return ThreadPoolExecutor(max_workers=n)


# How worker processes start: "forkserver" where the platform has it (Linux): one server process imports
# this module (and so the whole gaia package, numpy, Pillow) and PyAV once, and each worker is a fork of it, ready
# at once; a spawned worker imports all of that again (~0.4 s each). Elsewhere (macOS, Windows) "spawn".
WORKER_START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _process_context() -> Any:
    """The multiprocessing context the worker pool uses (``WORKER_START``), with this module preloaded."""
    ctx = multiprocessing.get_context(WORKER_START)
    if WORKER_START == "forkserver":
        # takes effect when the server starts (once per process); PyAV too, which this module imports only in a worker
        ctx.set_forkserver_preload([__name__, "av"])
    return ctx


def _resolve_records(folder: Path, records: Sequence[VideoRecord] | None) -> list[VideoRecord]:
    if records is None:
        records = scan_folder(folder).records
    return list(records)


def cached_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
) -> list[KeyframeSet]:
    """The keyframe sets already in the cache, decoding nothing.

    Videos not extracted yet come back with no frames and the problem ``"not extracted yet"``;
    videos with a scan problem carry that problem.
    """
    folder = Path(folder)
    root = _frames_root(folder)
    _load_index(root)
    reads = _manifest_reads
    out = []
    for rec in _resolve_records(folder, records):
        if not rec.usable:
            out.append(KeyframeSet(rec, rec.rel_path, settings, model, "", problem=rec.problem))
            continue
        set_id = keyframe_set_id(rec, settings, model)
        hit = _load_manifest(rec, os.path.join(root, set_id), settings, model, set_id)
        out.append(hit or KeyframeSet(rec, rec.rel_path, settings, model, set_id, problem="not extracted yet"))
    if _manifest_reads != reads:  # manifests had to be read: the index is missing, stale or short of them
        _save_index(root)
    return out


def count_cached(folder: Path | str, *, settings: KeyframeSettings, model: str,
                 records: Sequence[VideoRecord] | None = None) -> int:
    """How many of the videos ``cached_keyframes`` would give frames (the same count: ``sum(1 for k in
    cached_keyframes(...) if k.frames)``), making no set and remembering nothing for an image tier the pages have
    not asked for: the estimate asks it of every other tier to find the frames a folder has (100,000 sets and
    ids each)."""
    folder = Path(folder)
    root = _frames_root(folder)
    _load_index(root)
    n = 0
    for rec in _resolve_records(folder, records):
        if not rec.usable:
            continue
        set_id = _set_id(rec, settings, model, remember=False)
        data = _read_manifest(os.path.join(root, set_id))
        n += data is not None and data.set_id == set_id and len(data.frames) > 0
    return n


def extract_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
    timeout_s: float | None = None,
) -> list[KeyframeSet]:
    """Extract (or load from the cache) the keyframes of every video, in the order of ``records``.

    ``records`` defaults to a scan of ``folder``. Videos with a scan problem come back with that
    problem; a video that fails to decode gets a plain-language problem, never an exception.
    ``on_progress(done, total)`` is called as videos finish. ``workers`` defaults to every core.
    """
    folder = Path(folder)
    recs = _resolve_records(folder, records)
    root = _frames_root(folder)
    _load_index(root)
    reads = _manifest_reads
    results: dict[int, KeyframeSet] = {}
    jobs: dict[int, tuple[VideoRecord, _Job]] = {}
    for i, rec in enumerate(recs):
        if not rec.usable or not rec.duration:
            results[i] = KeyframeSet(rec, rec.rel_path, settings, model, "", problem=rec.problem or "no duration")
            continue
        set_id = keyframe_set_id(rec, settings, model)
        hit = _load_manifest(rec, os.path.join(root, set_id), settings, model, set_id)
        if hit is not None:
            results[i] = hit
            continue
        limit = timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S + rec.duration / 60
        jobs[i] = (rec, _Job(str(rec.path), rec.rel_path, rec.duration,
                             target_size(rec, settings, model), asdict(settings), str(root / set_id), set_id, limit))
    total = len(recs)
    done = len(results)
    if on_progress:
        on_progress(done, total)

    def finish(i: int, manifest: dict[str, Any]) -> None:
        rec, job = jobs[i]
        out_dir = Path(job.out_dir)
        if not manifest.get("transient"):
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out_dir / MANIFEST, manifest)
        loaded = _load_manifest(rec, out_dir, settings, model, job.set_id) if not manifest.get("transient") else None
        results[i] = replace(loaded, cached=False) if loaded else KeyframeSet(
            rec, rec.rel_path, settings, model, job.set_id, problem=manifest.get("problem") or "extraction failed"
        )

    n_workers = max(1, workers or os.cpu_count() or 1)
    if len(jobs) <= 1 or n_workers == 1:
        for i, (_, job) in jobs.items():
            finish(i, _extract_job(job))
            done += 1
            if on_progress:
                on_progress(done, total)
    else:
        with _pool(min(n_workers, len(jobs))) as pool:
            futures = {pool.submit(_extract_job, job): i for i, (_, job) in jobs.items()}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    manifest = fut.result()
                except Exception:  # a crashed worker process
                    manifest = {"problem": "frame extraction crashed: the process decoding it stopped",
                                "transient": True}
                finish(i, manifest)
                done += 1
                if on_progress:
                    on_progress(done, total)
    if _manifest_reads != reads:  # manifests written or read: the index follows
        _save_index(root)
    return [results[i] for i in range(total)]


def thumbnail(folder: Path | str, record: VideoRecord) -> Path | None:
    """A small JPEG of the video, or ``None`` when it cannot be made.

    Cached in ``Folder.preview_cache_dir`` (``.gaia/thumbs/`` once the folder has a working folder,
    else the user cache: looking at a folder writes nothing into it).
    """
    if not record.usable or not record.duration:
        return None
    key = f"{record.rel_path}|{record.size}|{record.mtime_ns}"
    key = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    out = Folder.of(folder).preview_cache_dir(THUMBS_DIR) / f"{key}.jpg"
    if out.is_file():
        return out
    w, h = record.width or 16, record.height or 9
    long_edge = max(w, h)
    size = (max(2, round(THUMB_EDGE * w / long_edge)), max(2, round(THUMB_EDGE * h / long_edge)))
    t = min(record.duration * 0.3, 30.0)  # past any black lead-in, near the start
    import av

    try:
        with VideoDecoder(record.path, size=size, deadline=Deadline(20)) as dec:
            near = dec.index().key_before(t)
            frame = (dec.keyframe(near) if near is not None else None) or dec.exact([t])[0]
        if frame is None:
            return None
        _save_jpeg(frame.image, out, quality=80)
    except (DecodeTimeout, av.error.FFmpegError, ValueError, OSError):
        return None
    return out


def _save_jpeg(image: Any, out: Path, *, quality: int) -> None:
    """The one write of a thumbnail: to a temporary name beside ``out``, then renamed over it (a cache: no fsync)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp.jpg")
    try:
        image.save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def frame_thumbnail(folder: Path | str, frame: Path, key: str) -> Path | None:
    """A small JPEG of one extracted keyframe (``frame``), cached beside the video thumbnails under ``key``.

    ``None`` when the frame is gone from the frame cache or cannot be read.
    """
    from PIL import Image

    out = Folder.of(folder).preview_cache_dir(THUMBS_DIR) / f"frame-{key}.jpg"
    if out.is_file():
        return out
    try:
        with Image.open(frame) as im:
            im.thumbnail((THUMB_EDGE, THUMB_EDGE))
            _save_jpeg(im.convert("RGB"), out, quality=70)
    except OSError:
        return None
    return out


def thumbnails(
    folder: Path | str,
    records: Sequence[VideoRecord],
    *,
    on_progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, Path | None]:
    """Thumbnails for many videos (relative path → JPEG path or ``None``), made on every core."""
    out: dict[str, Path | None] = {}
    total = len(records)
    if on_progress:
        on_progress(0, total)
    n = workers or max(1, (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=n) as pool:
        for done, (rec, path) in enumerate(zip(records, pool.map(lambda r: thumbnail(folder, r), records),
                                               strict=True), start=1):
            out[rec.rel_path] = path
            if on_progress:
                on_progress(done, total)
    return out
