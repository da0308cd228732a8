"""The folder: GAIA's core object for one folder of videos and everything it keeps about it.

A ``Folder`` knows its working folder (``.gaia/`` inside it, or a per-folder directory under the
user's cache when the folder is read-only), its run settings and exclusions, its prompt profiles,
its ledger, its locks and where each video's sidecar lives. The CLI, the pages and every part of
the library ask a ``Folder`` for these instead of re-deriving them from a path, the way
sqlite-utils code asks a ``Database``. The modules underneath (``settings``, ``prompts``,
``ledger``, ``sidecar``) know nothing of folders: they read and write the paths this object gives
them, which keeps the import graph one-way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from gaia import prompts, settings
from gaia.ledger import LEDGER_FILE, Ledger
from gaia.prompts import PromptProfile
from gaia.settings import RunSettings, Selection
from gaia.sidecar import analysed_fingerprints, sidecar_path

WORKDIR_NAME = ".gaia"
LOCK_SEND = "send.lock"  # one lock for every way of sending (batch submit, run now, retry, trial)
LOCK_RETRIEVE = "retrieve.lock"  # one retrieval (results into sidecars) at a time
LOCK_WATCH = "watch.lock"  # one `gaia watch` at a time (a second one waits for it)


class FolderBusy(RuntimeError):
    """Another GAIA process is sending from (or retrieving into) this folder right now."""


def user_cache_root() -> Path:
    """Where GAIA keeps working folders for folders it cannot write to (``$XDG_CACHE_HOME/gaia``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gaia"


def fallback_workdir(folder: Path) -> Path:
    """The user-cache working folder used while ``folder`` is read-only."""
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:16]
    return user_cache_root() / f"{folder.name or 'root'}-{digest}"


def _adopt_fallback(folder: Path, primary: Path) -> None:
    """Move the state a read-only spell left in the user-cache working folder into ``primary``.

    So the ledger (and the answers parked while the folder was read-only) follow the folder once
    it is writable. Entries ``primary`` already has are left where they are (never overwritten);
    nothing moves while another process holds one of the fallback's locks (its ledger may be open).
    """
    fallback = fallback_workdir(folder)
    if not fallback.is_dir():
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no cross-process lock, so nothing is moved
        return

    with contextlib.ExitStack() as stack:
        for name in (LOCK_SEND, LOCK_RETRIEVE):
            fh = stack.enter_context((fallback / name).open("a+"))
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return
        for entry in sorted(fallback.iterdir()):
            target = primary / entry.name
            if entry.name in (LOCK_SEND, LOCK_RETRIEVE):
                continue
            if entry.is_dir() and target.is_dir():
                for inner in entry.iterdir():
                    if not (target / inner.name).exists():
                        shutil.move(str(inner), str(target / inner.name))
            elif not target.exists():
                shutil.move(str(entry), str(target))
    with contextlib.suppress(OSError):
        leftovers = {p.name for p in fallback.rglob("*") if p.is_file()}
        if leftovers <= {LOCK_SEND, LOCK_RETRIEVE}:
            shutil.rmtree(fallback)


def preview_dir(folder: Path) -> Path:
    """Where a folder that is only being looked at keeps its caches (probe results, thumbnails), in the user cache."""
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:16]
    return user_cache_root() / "preview" / f"{folder.name or 'root'}-{digest}"


def resolve_workdir(folder: Path, *, create: bool = True) -> Path:
    """``folder/.gaia`` when it exists and is writable (or can be made), else the user-cache fallback.

    When ``.gaia/`` is writable and a fallback from a read-only spell holds state, it is moved in
    first (``_adopt_fallback``), so the ledger follows the folder.
    """
    primary = folder / WORKDIR_NAME
    if primary.is_dir() and os.access(primary, os.W_OK):
        with contextlib.suppress(OSError):
            _adopt_fallback(folder, primary)
        return primary
    if create:
        try:
            primary.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                _adopt_fallback(folder, primary)
            return primary
        except OSError:
            pass
    elif primary.is_dir():
        return primary
    fallback = fallback_workdir(folder)
    if create:
        fallback.mkdir(parents=True, exist_ok=True)
    return fallback


class Folder:
    """One folder of videos and GAIA's state about it: working folder, settings, ledger, sidecars.

    Cheap to make (nothing is read or created until asked). ``Folder.of`` accepts a ``Folder``, a
    ``Path`` or a string, so public functions can take any of them.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()

    @classmethod
    def of(cls, folder: Folder | Path | str) -> Folder:
        """``folder`` itself when it is a ``Folder``, else a new one for the path."""
        return folder if isinstance(folder, Folder) else cls(folder)

    def __repr__(self) -> str:
        return f"Folder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Folder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def writable(self) -> bool:
        """Whether answers can be written next to the videos (the folder itself is writable)."""
        return os.access(self.path, os.W_OK)

    # --- the working folder -----------------------------------------------------------------------

    @cached_property
    def workdir(self) -> Path:
        """The working folder, created on first use."""
        return resolve_workdir(self.path, create=True)

    def existing_workdir(self) -> Path:
        """The working folder without creating it (it may not exist yet)."""
        return resolve_workdir(self.path, create=False)

    def work_path(self, *parts: str, create_parent: bool = False) -> Path:
        """A path inside the working folder (created lazily); ``create_parent`` makes its folder."""
        path = self.workdir.joinpath(*parts)
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def preview_cache_dir(self, name: str) -> Path:
        """A named cache folder for looking at the folder (scan, thumbnails), created; never creates ``.gaia/``.

        Inside the working folder once the folder has one (after extracting keyframes or sending);
        until then in the user cache (``preview_dir``), so a folder merely selected is left untouched.
        """
        existing = self.existing_workdir()
        preview = preview_dir(self.path) / name
        if not existing.is_dir():
            preview.mkdir(parents=True, exist_ok=True)
            return preview
        path = existing / name
        if preview.is_dir() and not path.exists():  # the folder got a working folder: bring the caches along
            with contextlib.suppress(OSError):
                shutil.move(preview, path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cache_dir(self, name: str) -> Path:
        """A named cache folder inside the working folder (frames, thumbnails, spools), created."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- settings, exclusions, prompt profiles ---------------------------------------------------

    def settings(self) -> RunSettings:
        """The saved run settings; when none are saved (or the file is damaged), the settings that made
        the folder's answers, and the defaults only for a folder without answers.

        So a folder analysed by an earlier version, which saved no settings (its CLI never did),
        stays analysed after an upgrade instead of every answer reading "analysed with other
        settings" under today's defaults. A settings file from before frame presets keeps full-size
        frames when the folder has answers or a ledger (they were made at that size), else gets the
        default preset.
        """
        data = settings.read_settings_data(self.existing_workdir())
        if data is not None and not settings.predates_presets(data):
            return RunSettings.from_dict(data)
        made = self.answered_settings()
        if data is None:
            return made or RunSettings()
        return RunSettings.from_dict(data, sent_before=made is not None or self.has_ledger)

    def answered_settings(self) -> RunSettings | None:
        """The settings that made the folder's existing answers, or ``None`` when it has none.

        The model, keyframe settings and prompt profile are those of the fingerprint most of the
        answers hold (read from the ledger's answered requests, or from the sidecars themselves when
        there is no ledger); the rest (cache TTL, answer length limit) are those of the latest run
        the ledger recorded. Nothing is written.
        """
        base: RunSettings | None = None
        fingerprints: list[Any] = []
        if self.has_ledger:
            base, fingerprints = self._ledger_answers()
        if not fingerprints:
            fingerprints = analysed_fingerprints(self.path, skip=WORKDIR_NAME)
        counts: dict[str, tuple[int, Any]] = {}
        for fp in fingerprints:
            key = json.dumps(fp, sort_keys=True, default=str)
            n, _ = counts.get(key, (0, fp))
            counts[key] = (n + 1, fp)
        for _, fp in sorted(counts.values(), key=lambda item: -item[0]):
            made = settings.settings_from_fingerprint(fp, base or RunSettings(), self._profile_for_hash(fp))
            if made is not None:
                return made
        return base

    def _ledger_answers(self) -> tuple[RunSettings | None, list[Any]]:
        """The latest sending run's settings and the fingerprint of each video's latest answer, from the ledger."""
        try:
            with self.ledger() as ledger:
                runs = [r for r in ledger.runs() if r.mode in ("batch", "standard")]
                sending = {r.run_id for r in runs}
                latest: dict[str, Any] = {}
                for run_id, rel_path, fingerprint in ledger.answered_fingerprints():
                    if run_id in sending and fingerprint:
                        latest[rel_path] = fingerprint
        except Exception:  # a ledger this version cannot read: the sidecars still tell
            return None, []
        base = None
        for run in runs:  # newest first
            try:
                base = RunSettings.from_dict(run.settings, sent_before=True)
                break
            except (TypeError, ValueError):
                continue
        return base, list(latest.values())

    def _profile_for_hash(self, fingerprint: Any) -> str | None:
        """The name of the built-in profile with the fingerprint's prompt hash, else the hash of a saved one."""
        prompt_hash = fingerprint.get("prompt_hash") if isinstance(fingerprint, dict) else None
        if not isinstance(prompt_hash, str):
            return None
        for profile in prompts.builtin_profiles():
            if profile.hash == prompt_hash:
                return profile.name
        try:
            return prompts.load_profile(self.existing_workdir() / prompts.PROMPTS_DIR, prompt_hash).hash
        except prompts.ProfileNotFound:
            return None

    def save_settings(self, run_settings: RunSettings) -> Path:
        """Save the run settings for the app and the CLI alike; returns the file."""
        return settings.write_settings(self.workdir, run_settings)

    def selection(self) -> Selection:
        """The user's exclusions (whole videos and single frames)."""
        return settings.read_selection(self.existing_workdir())

    def save_selection(self, selection: Selection) -> None:
        """Persist the exclusions so they survive page changes and restarts."""
        settings.write_selection(self.workdir, selection)

    def set_video_excluded(self, rel_path: str, excluded: bool) -> Selection:
        """Exclude or include a whole video; returns the new selection."""
        new = self.selection().with_video(rel_path, excluded)
        self.save_selection(new)
        return new

    def set_frame_excluded(self, rel_path: str, timestamp: float, excluded: bool) -> Selection:
        """Exclude or include one frame of a video; returns the new selection."""
        new = self.selection().with_frame(rel_path, timestamp, excluded)
        self.save_selection(new)
        return new

    def profiles(self) -> list[PromptProfile]:
        """The built-in default first, then the folder's saved profiles, oldest saved first."""
        return prompts.list_profiles(self.existing_workdir() / prompts.PROMPTS_DIR)

    def profile(self, name: str | None = None) -> PromptProfile:
        """A saved profile by hash or name (default: the settings' profile); ``ProfileNotFound`` if none."""
        if name is None:
            name = self.settings().prompt_profile
        return prompts.load_profile(self.existing_workdir() / prompts.PROMPTS_DIR, name)

    def save_profile(self, profile: PromptProfile) -> Path:
        """Save ``profile`` under ``.gaia/prompts/<hash>.json``; ``ValueError`` for an unusable schema."""
        return prompts.save_profile(self.workdir / prompts.PROMPTS_DIR, profile)

    def fingerprint(self, run_settings: RunSettings | None = None) -> dict[str, Any] | None:
        """What the sidecars of a run with these settings hold as ``run.fingerprint`` (``None`` if the
        settings name a profile that does not exist)."""
        run_settings = run_settings or self.settings()
        try:
            profile = self.profile(run_settings.prompt_profile)
        except prompts.ProfileNotFound:
            return None
        return settings.run_fingerprint(run_settings, profile.hash)

    # --- the ledger and the locks -----------------------------------------------------------------

    @property
    def ledger_path(self) -> Path:
        """Where the ledger is (or will be)."""
        return self.existing_workdir() / LEDGER_FILE

    @property
    def has_ledger(self) -> bool:
        """Whether anything was ever sent from this folder (without creating a ledger)."""
        return self.ledger_path.is_file()

    def ledger(self) -> Ledger:
        """Open (creating if needed) the folder's ledger; use it as a context manager."""
        return Ledger(self.workdir / LEDGER_FILE)

    @contextlib.contextmanager
    def lock(self, name: str = LOCK_SEND, *, what: str = "sending from") -> Iterator[None]:
        """Hold one of the folder's cross-process locks, or raise ``FolderBusy`` at once.

        Every way of sending (batch submit, run now, retries, trials) takes ``LOCK_SEND``, so no
        video is ever sent by two of them at the same time; retrieval takes ``LOCK_RETRIEVE``.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        fh = (self.workdir / name).open("a+")
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise FolderBusy(f"Another GAIA process is {what} this folder right now; try again when it "
                                 "has finished.") from None
            yield
        finally:
            fh.close()

    # --- videos and sidecars -----------------------------------------------------------------------

    def video(self, rel_path: str) -> Path:
        """The video at ``rel_path`` (relative to the folder)."""
        return self.path / rel_path

    def sidecar(self, rel_path: str) -> Path:
        """The sidecar of the video at ``rel_path`` (``gaia.sidecar.sidecar_path`` is the one rule)."""
        return sidecar_path(self.video(rel_path))

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the folder, with forward slashes."""
        return Path(path).resolve().relative_to(self.path).as_posix()
