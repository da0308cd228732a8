"""Sidecars: the only code that builds, reads or writes a video's ``<stem>.gaia.json``.

``sidecar_path`` is the single place the path is made (``clip.mp4`` → ``clip.gaia.json`` beside
it); every read and write in GAIA calls it, so saving and reading back can never disagree. Writes
are atomic (temporary file in the same folder, fsync, rename) and merge into the existing file,
keeping top-level keys GAIA does not know. Each sidecar names the video it belongs to, so when two
videos share a stem (``clip.mp4`` and ``clip.MOV``) one video's result never overwrites another's.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gaia.fsutil import atomic_write_bytes, atomic_write_text, dumps_json, fit_name

SIDECAR_SUFFIX = ".gaia.json"
SCHEMA_VERSION = 1
VERSION_KEY = "gaia_schema_version"
VIDEO_KEY = "video"
# A cascade's record of its cheap first pass (``gaia.runs.levers``): its answer, whether it was escalated and,
# for a first answer that was kept, the fingerprint of the settings it stands for (the cascade's strong pass).
CASCADE_KEY = "cascade"
STANDS_FOR_KEY = "stands_for"

SidecarState = Literal["none", "analysed", "stale", "unreadable"]


class SidecarError(Exception):
    """A sidecar could not be read or written; the message says which file and why."""


class SidecarCollision(SidecarError):
    """The sidecar path already belongs to another video with the same stem."""


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(frozen=True)
class RunBlock:
    """A sidecar's ``run`` block: how its answer was made (written by ``gaia.runs.recorder``).

    ``RunBlock.of(sidecar)`` is the one reader: every field is checked for its type and is ``None``
    (or empty) when missing or odd, so a sidecar an older version wrote, or one a person edited,
    reads the same way everywhere. ``raw`` is the block as stored, for exports that copy it whole.
    """

    model: str | None = None
    prompt_hash: str | None = None
    fingerprint: dict[str, Any] | None = None
    keyframe_set: str | None = None
    keyframe_timestamps: tuple[float, ...] = ()
    mode: str | None = None
    batch_id: str | None = None
    custom_id: str | None = None
    request_id: int | None = None
    run_id: str | None = None
    message_id: str | None = None
    attempt: int | None = None
    usage: dict[str, Any] | None = None
    cost_usd: float | None = None
    analysed_at: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, sidecar: Mapping[str, Any] | None) -> RunBlock:
        """The ``run`` block of a sidecar's data (an empty block when there is none)."""
        run = (sidecar or {}).get("run") if isinstance(sidecar, Mapping) else None
        if not isinstance(run, Mapping):
            return cls()
        ts = run.get("keyframe_timestamps")
        fp, usage = run.get("fingerprint"), run.get("usage")
        return cls(
            model=_str(run.get("model")), prompt_hash=_str(run.get("prompt_hash")),
            fingerprint=dict(fp) if isinstance(fp, Mapping) else None, keyframe_set=_str(run.get("keyframe_set")),
            keyframe_timestamps=tuple(float(t) for t in ts if _num(t) is not None) if isinstance(ts, list) else (),
            mode=_str(run.get("mode")), batch_id=_str(run.get("batch_id")), custom_id=_str(run.get("custom_id")),
            request_id=_int(run.get("request_id")), run_id=_str(run.get("run_id")),
            message_id=_str(run.get("message_id")), attempt=_int(run.get("attempt")),
            usage=dict(usage) if isinstance(usage, Mapping) else None, cost_usd=_num(run.get("cost_usd")),
            analysed_at=_str(run.get("analysed_at")), raw=dict(run))


def sidecar_path(video: Path | str) -> Path:
    """The sidecar of ``video``: same folder, the stem plus ``.gaia.json`` (``a.b.MP4`` → ``a.b.gaia.json``).

    A stem too long for that (a sidecar name over ``gaia.fsutil.WRITABLE_NAME_BYTES``) is cut short
    and tagged with its hash (``gaia.fsutil.fit_name``); the sidecar names its video either way.
    """
    video = video if isinstance(video, Path) else Path(video)  # Path(a Path) parses it all again
    return video.with_name(fit_name(video.stem, SIDECAR_SUFFIX))


def read_sidecar(video: Path | str) -> dict[str, Any] | None:
    """The sidecar of ``video`` as a dict, or ``None`` when there is none or it is another video's.

    Raises ``SidecarError`` when the file exists but is not valid JSON.
    """
    video = Path(video)
    path = sidecar_path(video)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SidecarError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SidecarError(f"{path} is not UTF-8 text (byte {exc.start}), so GAIA cannot read it; it is kept "
                           "as it is") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SidecarError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise SidecarError(f"{path} does not hold a JSON object")
    owner = data.get(VIDEO_KEY)
    if owner is not None and owner != video.name:
        return None
    return data


def sidecar_owner(video: Path | str) -> str | None:
    """The file name recorded in the sidecar at ``video``'s sidecar path, if any (whoever owns it)."""
    path = sidecar_path(video)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return None
    return data.get(VIDEO_KEY) if isinstance(data, dict) else None


def write_sidecar(video: Path | str, updates: dict[str, Any]) -> Path:
    """Merge ``updates`` into ``video``'s sidecar atomically and return its path.

    Top-level keys in ``updates`` replace the old values; every other key already in the file,
    including ones GAIA does not know, is kept. Raises ``SidecarCollision`` when the sidecar
    belongs to another video with the same stem, ``SidecarError`` when it cannot be written.
    """
    video = Path(video)
    path = sidecar_path(video)
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise SidecarError(f"{path} exists but is not UTF-8 text (byte {exc.start}); not overwriting "
                               "it") from exc
        except (OSError, ValueError) as exc:
            raise SidecarError(f"{path} exists but cannot be read ({exc}); not overwriting it") from exc
        if not isinstance(current, dict):
            raise SidecarError(f"{path} does not hold a JSON object; not overwriting it")
        owner = current.get(VIDEO_KEY)
        if owner is not None and owner != video.name:
            raise SidecarCollision(
                f"{path.name} already holds the analysis of {owner}; {video.name} shares its stem. "
                "Rename one of the two videos."
            )
    merged = {**current, **updates, VERSION_KEY: SCHEMA_VERSION, VIDEO_KEY: video.name}
    ordered = {VERSION_KEY: merged.pop(VERSION_KEY), VIDEO_KEY: merged.pop(VIDEO_KEY), **merged}
    try:
        atomic_write_text(path, dumps_json(ordered, indent=2) + "\n", sync_dir=True)
    except OSError as exc:
        raise SidecarError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def sidecar_bytes(video: Path | str) -> bytes | None:
    """``video``'s sidecar exactly as stored (``None`` when it has none), to be put back with ``restore_sidecar``."""
    try:
        return sidecar_path(video).read_bytes()
    except FileNotFoundError:
        return None


def restore_sidecar(video: Path | str, data: bytes | None) -> bool:
    """Put ``video``'s sidecar back to ``data`` exactly (atomically), or remove it when ``data`` is ``None``.

    Whether anything changed (removing a sidecar that is not there changes nothing).
    """
    car = sidecar_path(video)
    if data is None:
        try:
            car.unlink()
        except FileNotFoundError:
            return False
        return True
    atomic_write_bytes(car, data)
    return True


def sidecar_state(video: Path | str, fingerprint: dict[str, Any] | None = None) -> SidecarState:
    """Whether ``video`` has been analysed, and with the settings in ``fingerprint``.

    ``"none"``: no analysis; ``"analysed"``: an analysis made with the same fingerprint (or no
    fingerprint given); ``"stale"``: an analysis made with other settings; ``"unreadable"``: the
    sidecar exists but is not valid JSON.
    """
    # Pages plan the whole folder on every change; the answer is kept while the sidecar keeps its
    # identity (written atomically: a new one is a new inode and mtime).
    try:
        st = os.stat(sidecar_path(video))
        stamp: tuple[Any, ...] | None = (str(video), st.st_mtime_ns, st.st_ino, st.st_size,  # one copy of each
                                         sys.intern(json.dumps(fingerprint, sort_keys=True, default=str)))  # fp
    except OSError:
        stamp = None
    if stamp is not None and stamp in _state_memo:
        return _state_memo[stamp]
    try:
        data = read_sidecar(video)
    except SidecarError:
        return "unreadable"
    if not data or "analysis" not in data:
        state: SidecarState = "none"
    elif fingerprint is None:
        state = "analysed"
    else:
        # A cheap first answer a cascade kept stands for the strong settings: sending it again would pay twice.
        cascade = data.get(CASCADE_KEY)
        stands_for = cascade.get(STANDS_FOR_KEY) if isinstance(cascade, dict) else None
        state = "analysed" if fingerprint in (RunBlock.of(data).fingerprint, stands_for) else "stale"
    if stamp is not None:
        if len(_state_memo) >= STATE_MEMO_ENTRIES:
            _state_memo.clear()
        _state_memo[stamp] = state
    return state


STATE_MEMO_ENTRIES = 200_000
_state_memo: dict[tuple[Any, ...], SidecarState] = {}


def analysed_fingerprints(root: Path | str, *, skip: str) -> list[Any]:
    """The ``run.fingerprint`` of every sidecar under ``root`` that holds an analysis (folders named
    ``skip`` and hidden folders left out; unreadable sidecars too)."""
    out: list[Any] = []
    for where, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != skip and not d.startswith(".")]
        for name in files:
            if not name.endswith(SIDECAR_SUFFIX):
                continue
            try:
                with open(os.path.join(where, name), encoding="utf-8") as fh:
                    data = json.load(fh)
            except (OSError, ValueError):
                continue
            fingerprint = RunBlock.of(data).fingerprint if isinstance(data, dict) and "analysis" in data else None
            if fingerprint:
                out.append(fingerprint)
    return out
