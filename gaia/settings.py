"""A folder's run settings and working folder, shared by the app and the CLI.

Everything GAIA keeps about a folder lives in its working folder ``.gaia/`` inside it (probe and
frame caches, run settings, the user's exclusions, the ledger). When the video folder itself is
read-only, the working folder falls back to a per-folder directory under the user's cache. Run
settings (model, keyframe settings, cache TTL, prompt profile) are saved in ``settings.json`` so a
run prepared in the browser can be submitted or watched from a terminal, and the other way round.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gaia.facts import CACHE_TTLS, DEFAULT_MODEL
from gaia.fsutil import atomic_write_json, read_json

SETTINGS_FILE = "settings.json"
SELECTION_FILE = "selection.json"

STRATEGIES = ("keyframes", "uniform", "scene")
DEFAULT_STRATEGY = "keyframes"
DEFAULT_FRAME_COUNT = 6
DEFAULT_JPEG_QUALITY = 85
MIN_JPEG_QUALITY = 30
MAX_JPEG_QUALITY = 95
DEFAULT_CACHE_TTL = "1h"
# The answer length limit per video. Answers to the default schema average about 2,000 tokens; 5.x
# models may think first, and thinking counts towards this limit, hence the headroom.
DEFAULT_MAX_TOKENS = 8192
MAX_MAX_TOKENS = 64_000
MAX_FRAME_COUNT = 50
# Steps a user is offered for the longest frame edge (px) and for frames per video: the Keyframes
# page, what-if and budget. A model's own tier limit is added where it is not a step, and steps
# above it are dropped.
MAX_EDGE_STEPS = (384, 512, 768, 1024, 1280, 1568, 2048, 2576)
FRAME_COUNT_STEPS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32)
# Run now (Messages API): requests in flight at once by default, and the most a user may choose.
# GAIA lowers it by itself while the API pushes back (429/529) and raises it again as calls succeed.
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
# XMP sidecars for photo managers (gaia.exports.xmp): "video" names them like digiKam and darktable
# (clip.mp4.xmp), "stem" like Lightroom (clip.xmp). Off by default on retrieval; always on demand.
XMP_NAMINGS = ("video", "stem")
DEFAULT_XMP_NAMING = "video"


ALLOWED_ROOTS_ENV = "GAIA_ALLOWED_ROOTS"


def allowed_roots(configured: str | list[str] | tuple[str, ...] | None = None) -> tuple[Path, ...]:
    """The root folders the app may open, or ``()`` for no limit (the default, for local use).

    Read from the environment variable ``GAIA_ALLOWED_ROOTS`` (folders separated by
    ``os.pathsep``, ``:`` on Linux and macOS) plus ``configured`` (the app passes
    ``[gaia] allowed_roots`` from ``.streamlit/secrets.toml``: a list of folders or one string in
    the environment variable's format). Folders are made absolute with ``~`` expanded and
    symlinks resolved; duplicates are dropped, order kept.
    """
    texts = (os.environ.get(ALLOWED_ROOTS_ENV) or "").split(os.pathsep)
    if isinstance(configured, str):
        texts += configured.split(os.pathsep)
    elif configured:
        texts += [str(c) for c in configured]
    roots: list[Path] = []
    for text in texts:
        text = text.strip()
        if not text or "\x00" in text:
            continue
        try:
            root = Path(text).expanduser().resolve()
        except (OSError, RuntimeError):  # a symlink loop: keep the path as written
            root = Path(text).expanduser().absolute()
        if root not in roots:
            roots.append(root)
    return tuple(roots)


@dataclass(frozen=True)
class KeyframeSettings:
    """How frames are chosen and encoded. ``max_edge`` of ``None`` means the model's own limit."""

    strategy: str = DEFAULT_STRATEGY
    count: int = DEFAULT_FRAME_COUNT
    max_edge: int | None = None
    jpeg_quality: int = DEFAULT_JPEG_QUALITY

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        if not 1 <= self.count <= MAX_FRAME_COUNT:
            raise ValueError(f"frame count must be between 1 and {MAX_FRAME_COUNT}, not {self.count}")
        if self.max_edge is not None and not 64 <= self.max_edge <= 8000:
            raise ValueError(f"max edge must be between 64 and 8000 px, not {self.max_edge}")
        if not MIN_JPEG_QUALITY <= self.jpeg_quality <= MAX_JPEG_QUALITY:
            raise ValueError(f"JPEG quality must be between {MIN_JPEG_QUALITY} and {MAX_JPEG_QUALITY}, "
                             f"not {self.jpeg_quality}")


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides what a run sends (model, frames, cache TTL, prompt profile), and
    whether retrieving its answers also writes XMP sidecars (``xmp_on_retrieve``, ``xmp_naming``)."""

    model: str = DEFAULT_MODEL
    keyframes: KeyframeSettings = field(default_factory=KeyframeSettings)
    cache_ttl: str = DEFAULT_CACHE_TTL
    prompt_profile: str = "default"
    max_tokens: int = DEFAULT_MAX_TOKENS
    xmp_on_retrieve: bool = False
    xmp_naming: str = DEFAULT_XMP_NAMING

    def __post_init__(self) -> None:
        if self.xmp_naming not in XMP_NAMINGS:
            raise ValueError(f"XMP naming must be one of {', '.join(XMP_NAMINGS)}, not {self.xmp_naming!r}")
        if self.cache_ttl not in CACHE_TTLS:
            raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {self.cache_ttl!r}")
        if not 256 <= self.max_tokens <= MAX_MAX_TOKENS:
            raise ValueError(f"the answer length limit must be between 256 and {MAX_MAX_TOKENS:,} tokens, "
                             f"not {self.max_tokens}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """Build from a dict, ignoring unknown keys and keeping defaults for missing ones."""
        kf_names = {f.name for f in fields(KeyframeSettings)}
        kf = KeyframeSettings(**{k: v for k, v in (data.get("keyframes") or {}).items() if k in kf_names})
        names = {f.name for f in fields(cls)} - {"keyframes"}
        return cls(keyframes=kf, **{k: v for k, v in data.items() if k in names})

    def with_keyframes(self, **changes: Any) -> RunSettings:
        """A copy with some keyframe settings changed."""
        return replace(self, keyframes=replace(self.keyframes, **changes))


def read_settings(workdir: Path) -> RunSettings:
    """The run settings saved in ``workdir``, or the defaults when none are saved or the file is damaged."""
    data = read_json(workdir / SETTINGS_FILE)
    if not isinstance(data, dict):
        return RunSettings()
    try:
        return RunSettings.from_dict(data)
    except (TypeError, ValueError):
        return RunSettings()


def write_settings(workdir: Path, settings: RunSettings) -> Path:
    """Save run settings in ``workdir``; returns the file."""
    path = workdir / SETTINGS_FILE
    atomic_write_json(path, settings.to_dict())
    return path


@dataclass(frozen=True)
class Selection:
    """What the user excluded from the run: whole videos and single frames (by timestamp)."""

    excluded_videos: frozenset[str] = frozenset()
    excluded_frames: dict[str, frozenset[float]] = field(default_factory=dict)

    def video_excluded(self, rel_path: str) -> bool:
        """Whether the video is left out of the run."""
        return rel_path in self.excluded_videos

    def frame_excluded(self, rel_path: str, timestamp: float) -> bool:
        """Whether the frame at ``timestamp`` (seconds, 3 decimals) is left out."""
        return round(timestamp, 3) in self.excluded_frames.get(rel_path, frozenset())

    def with_video(self, rel_path: str, excluded: bool) -> Selection:
        """A copy with the whole video excluded or included."""
        videos = set(self.excluded_videos)
        (videos.add if excluded else videos.discard)(rel_path)
        return Selection(frozenset(videos), self.excluded_frames)

    def with_frame(self, rel_path: str, timestamp: float, excluded: bool) -> Selection:
        """A copy with one frame of a video excluded or included."""
        frames = dict(self.excluded_frames)
        current = set(frames.get(rel_path, frozenset()))
        (current.add if excluded else current.discard)(round(timestamp, 3))
        frames[rel_path] = frozenset(current)
        return Selection(self.excluded_videos, frames)


def read_selection(workdir: Path) -> Selection:
    """The exclusions saved in ``workdir`` (none when nothing is saved)."""
    data = read_json(workdir / SELECTION_FILE, {})
    if not isinstance(data, dict):
        return Selection()
    frames = {
        str(k): frozenset(round(float(t), 3) for t in v)
        for k, v in (data.get("excluded_frames") or {}).items()
        if isinstance(v, list)
    }
    return Selection(frozenset(map(str, data.get("excluded_videos") or [])), frames)


def write_selection(workdir: Path, selection: Selection) -> None:
    """Persist the exclusions in ``workdir``."""
    atomic_write_json(
        workdir / SELECTION_FILE,
        {
            "excluded_videos": sorted(selection.excluded_videos),
            "excluded_frames": {k: sorted(v) for k, v in sorted(selection.excluded_frames.items()) if v},
        },
    )


def run_fingerprint(settings: RunSettings, prompt_hash: str) -> dict[str, Any]:
    """What makes two analyses comparable: model, prompt profile hash and keyframe settings.

    Stored in each sidecar as ``run.fingerprint``; ``gaia.sidecar.sidecar_state`` compares it to
    tell "analysed" from "analysed with other settings".
    """
    return {"model": settings.model, "prompt_hash": prompt_hash, "keyframes": asdict(settings.keyframes)}
