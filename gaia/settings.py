"""A folder's run settings and working folder, shared by the app and the CLI.

Everything GAIA keeps about a folder lives in its working folder ``.gaia/`` inside it (probe and
frame caches, run settings, the user's exclusions, the ledger). When the video folder itself is
read-only, the working folder falls back to a per-folder directory under the user's cache. Run
settings (model, keyframe settings, cache TTL, prompt profile) are saved in ``settings.json`` so a
run prepared in the browser can be submitted or watched from a terminal, and the other way round.

Frame-size presets (``FRAME_PRESETS``: economy, balanced, detailed) are defined here and nowhere
else; the default frame size is the balanced preset, not the model's largest image.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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
MIN_MAX_TOKENS = 256
MAX_MAX_TOKENS = 64_000
MAX_FRAME_COUNT = 50
# Steps a user is offered for the longest frame edge (px) and for frames per video: the Keyframes
# page, what-if and budget. A model's own tier limit is added where it is not a step, and steps
# above it are dropped.
MAX_EDGE_STEPS = (384, 512, 768, 1024, 1280, 1568, 2048, 2576)
# Answer length guidance (gaia.pricing.output): suggest the p99 of past answers' output tokens times this
# headroom, rounded up to a multiple of MAX_TOKENS_STEP, once at least MAX_TOKENS_MIN_ANSWERS answers exist;
# a limit more than MAX_TOKENS_FAR_ABOVE times the suggestion is called far above need.
MAX_TOKENS_QUANTILE = 0.99
MAX_TOKENS_HEADROOM = 1.25
MAX_TOKENS_STEP = 256
MAX_TOKENS_MIN_ANSWERS = 10
MAX_TOKENS_FAR_ABOVE = 2.0
FRAME_COUNT_STEPS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32)
# Run now (Messages API): requests in flight at once by default, and the most a user may choose.
# GAIA lowers it by itself while the API pushes back (429/529) and raises it again as calls succeed.
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
# XMP sidecars for photo managers (gaia.exports.xmp): "video" names them like digiKam and darktable
# (clip.mp4.xmp), "stem" like Lightroom (clip.xmp). Off by default on retrieval; always on demand.
XMP_NAMINGS = ("video", "stem")
DEFAULT_XMP_NAMING = "video"
# Likely-empty clips (gaia.media.empty): a clip is flagged when its empty score (1 = no local change at
# all, falling as a local change grows) reaches this. Conservative: at 0.75 a blob of a single pixel
# (at the measure's 128 px frames) in two sampled frames is already enough to keep a clip.
EMPTY_THRESHOLD = 0.75
# A cascade (gaia.runs.levers): the share of first answers assumed to need the stronger configuration
# before a pilot has measured it, and the range assumed around it.
CASCADE_ASSUMED_SHARE = 0.3
CASCADE_SHARE_RANGE = (0.1, 0.6)
# The hierarchical keywords GAIA writes are "Category|Value" (Species|Red fox), as camtrapR and digiKam
# read them. A root puts them under one more level ("GAIA" gives GAIA|Species|Red fox) for those who
# keep every tool's keywords apart; empty by default. Levels are separated by "|"; "/" is not allowed
# (digiKam's own separator).
DEFAULT_XMP_ROOT = ""



@dataclass(frozen=True)
class FramePreset:
    """A named frame size: the longest edge sent (px) and, in words, what a frame that size still shows.

    The edge is an upper bound: a smaller video is never enlarged, and a model's own image tier may
    shrink a frame further (``gaia.facts.fit_to_tier``). Tokens per frame follow from the API's pixel
    rule, ``ceil(w/28) * ceil(h/28)``; for a 16:9 video: economy 512x288 = 209 tokens, balanced
    1024x576 = 777, detailed 1568x882 = 1,792, against 2,691 for a full 1920x1080 frame.
    """

    name: str
    max_edge: int
    shows: str


# Why these edges: economy's 6 frames (about 1,250 image tokens per 16:9 video) match the whole
# per-video input of the production run GAIA is built from; balanced keeps half of full HD's width
# (a third of its tokens), enough for animals at mid-distance and large text; detailed is the
# largest image any standard-tier model sees (1568 px), for small or distant subjects. The model's
# full size (up to 2576 px on the high-resolution tier) stays available as a custom edge.
FRAME_PRESETS: tuple[FramePreset, ...] = (
    FramePreset("economy", 512, "the scene, and subjects that fill a good part of the frame; no small text"),
    FramePreset("balanced", 1024, "subjects at mid-distance, markings and large text"),
    FramePreset("detailed", 1568, "small or distant subjects, fine markings and small text"),
)
CUSTOM_PRESET = "custom"
DEFAULT_FRAME_PRESET = "balanced"
FRAME_PRESET_NAMES = (*(p.name for p in FRAME_PRESETS), CUSTOM_PRESET)


def frame_preset(name: str) -> FramePreset:
    """The preset called ``name``; ``ValueError`` naming the presets for any other name (``custom`` too)."""
    for preset in FRAME_PRESETS:
        if preset.name == name:
            return preset
    raise ValueError(f"frame preset must be one of {', '.join(p.name for p in FRAME_PRESETS)}, not {name!r}")


def preset_for_edge(max_edge: int | None) -> str:
    """The name of the preset whose edge is ``max_edge``, else ``custom`` (``None``: the model's full size)."""
    return next((p.name for p in FRAME_PRESETS if p.max_edge == max_edge), CUSTOM_PRESET)


DEFAULT_MAX_EDGE = frame_preset(DEFAULT_FRAME_PRESET).max_edge

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
    """How frames are chosen and encoded. ``max_edge`` of ``None`` means the model's own limit; the
    default is the balanced preset's edge."""

    strategy: str = DEFAULT_STRATEGY
    count: int = DEFAULT_FRAME_COUNT
    max_edge: int | None = DEFAULT_MAX_EDGE
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
    """Everything that decides what a run sends (model, frames, cache TTL, prompt profile), whether
    retrieving its answers also writes XMP sidecars (``xmp_on_retrieve``, ``xmp_naming``, ``xmp_root``
    the optional root of the hierarchical keywords, e.g. ``GAIA``), and the score at which a clip counts
    as likely empty (``empty_threshold``)."""

    model: str = DEFAULT_MODEL
    keyframes: KeyframeSettings = field(default_factory=KeyframeSettings)
    cache_ttl: str = DEFAULT_CACHE_TTL
    prompt_profile: str = "default"
    max_tokens: int = DEFAULT_MAX_TOKENS
    xmp_on_retrieve: bool = False
    xmp_naming: str = DEFAULT_XMP_NAMING
    xmp_root: str = DEFAULT_XMP_ROOT
    empty_threshold: float = EMPTY_THRESHOLD  # the user's: a clip is likely empty at or above this score
    # A cascade's cheap first pass, ``"MODEL:PRESET"`` (``parse_cascade``); empty for one pass. Files written
    # before the entry existed have none, and mean one pass, as they did.
    cascade: str = ""

    def __post_init__(self) -> None:
        if self.cascade:
            parse_cascade(self.cascade)
        if not 0.0 < self.empty_threshold <= 1.0:
            raise ValueError(f"the empty-clip threshold must be above 0 and at most 1, not {self.empty_threshold}")
        if not isinstance(self.xmp_root, str) or "/" in self.xmp_root:
            raise ValueError(f"the XMP keyword root must be text without '/' (levels are separated by '|'), "
                             f"not {self.xmp_root!r}")
        if self.xmp_naming not in XMP_NAMINGS:
            raise ValueError(f"XMP naming must be one of {', '.join(XMP_NAMINGS)}, not {self.xmp_naming!r}")
        if self.cache_ttl not in CACHE_TTLS:
            raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {self.cache_ttl!r}")
        if not MIN_MAX_TOKENS <= self.max_tokens <= MAX_MAX_TOKENS:
            raise ValueError(f"the answer length limit must be between {MIN_MAX_TOKENS} and {MAX_MAX_TOKENS:,} tokens, "
                             f"not {self.max_tokens}")

    @property
    def frame_preset(self) -> str:
        """Which frame-size preset these settings use (``custom`` for any other edge or the model's full size)."""
        return preset_for_edge(self.keyframes.max_edge)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, recording the frame preset beside the edge it stands for."""
        return {**asdict(self), "frame_preset": self.frame_preset}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, sent_before: bool = False) -> RunSettings:
        """Build from a dict, ignoring unknown keys and keeping defaults for missing ones.

        The frame edge: a saved number stays. A named preset without an edge gets the preset's edge.
        A file that records no preset was written before presets existed, when ``max_edge: null``
        was the default (the model's full size): it gets the balanced default, unless the folder has
        ``sent_before`` (its answers were made at full size, and a new size would make every one of
        them "analysed with other settings" and send it again), in which case full size is kept.
        """
        kf_data = dict(data.get("keyframes") or {})
        preset = data.get("frame_preset")
        if kf_data.get("max_edge") is None:
            if preset in {p.name for p in FRAME_PRESETS}:
                kf_data["max_edge"] = frame_preset(preset).max_edge
            elif preset is None:  # written before presets: null meant "the default", which was full size
                kf_data["max_edge"] = None if sent_before else DEFAULT_MAX_EDGE
        kf_names = {f.name for f in fields(KeyframeSettings)}
        kf = KeyframeSettings(**{k: v for k, v in kf_data.items() if k in kf_names})
        names = {f.name for f in fields(cls)} - {"keyframes"}
        values = {k: v for k, v in data.items() if k in names}
        if "cascade" in values and not _cascade_text(values["cascade"]):
            values.pop("cascade")  # an entry edited into something unreadable is no cascade, not a damaged file
        return cls(keyframes=kf, **values)

    @property
    def cascade_pair(self) -> tuple[str, str] | None:
        """The cascade's ``(cheap model, preset)``, or ``None`` for one pass."""
        return parse_cascade(self.cascade) if self.cascade else None

    def with_preset(self, name: str) -> RunSettings:
        """A copy using the frame preset ``name`` (``ValueError`` for an unknown one)."""
        return self.with_keyframes(max_edge=frame_preset(name).max_edge)

    def with_keyframes(self, **changes: Any) -> RunSettings:
        """A copy with some keyframe settings changed."""
        return replace(self, keyframes=replace(self.keyframes, **changes))


def read_settings_data(workdir: Path) -> dict[str, Any] | None:
    """The saved settings file of ``workdir`` as a dict that makes valid settings, or ``None`` (missing or damaged)."""
    data = read_json(workdir / SETTINGS_FILE)
    if not isinstance(data, dict):
        return None
    try:
        RunSettings.from_dict(data, sent_before=True)
    except (TypeError, ValueError):
        return None
    return data


def predates_presets(data: dict[str, Any]) -> bool:
    """Whether a saved settings dict was written before frame presets existed (it names no preset)."""
    return "frame_preset" not in data


def read_settings(workdir: Path, *, sent_before: bool = False) -> RunSettings:
    """The run settings saved in ``workdir``, or the defaults when none are saved or the file is damaged.

    ``sent_before``: the folder has sent requests already (see ``RunSettings.from_dict``). A folder
    with answers should be read through ``gaia.Folder.settings``, which reads a missing file as the
    settings that made those answers.
    """
    data = read_settings_data(workdir)
    return RunSettings() if data is None else RunSettings.from_dict(data, sent_before=sent_before)


def settings_from_fingerprint(fingerprint: Any, base: RunSettings, prompt_profile: str | None) -> RunSettings | None:
    """``base`` with the model, keyframe settings and prompt profile a sidecar's ``run.fingerprint`` records.

    ``prompt_profile``: the name or hash of the profile whose hash the fingerprint holds (``None``
    keeps ``base``'s). ``None`` when the fingerprint is not one GAIA wrote (not a dict, unknown keys,
    values out of range).
    """
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("keyframes"), dict):
        return None
    model = fingerprint.get("model")
    try:
        keyframes = KeyframeSettings(**fingerprint["keyframes"])
    except (TypeError, ValueError):
        return None
    return replace(base, model=model if isinstance(model, str) and model else base.model, keyframes=keyframes,
                   prompt_profile=prompt_profile or base.prompt_profile)


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

    def without(self, rel_paths: Iterable[str]) -> Selection:
        """A copy with each of ``rel_paths`` excluded as a whole video too."""
        return Selection(self.excluded_videos | frozenset(rel_paths), self.excluded_frames)

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


@dataclass(frozen=True)
class SentSettings:
    """What a run was sent with, as the ledger keeps it for the run (``runs.settings_json``).

    The run settings, the answer length limit, the prompt profile's name, how images were sent,
    the concurrency of a run now, and the estimate at send time (``Estimate.record``). ``to_dict``
    is what the ledger stores (the run settings' keys with these beside them, the format every
    earlier version wrote); ``SentSettings.of`` is the one reader, tolerant of old and odd rows.
    """

    settings: RunSettings
    max_tokens: int = DEFAULT_MAX_TOKENS
    prompt_profile_name: str | None = None
    image_source: str = "base64"
    concurrency: int | None = None
    estimate: dict[str, Any] | None = None
    cascade_pass: dict[str, Any] | None = None  # a batch cascade's pass (``gaia.runs.escalation.CascadePass``)

    def to_dict(self) -> dict[str, Any]:
        """The dict the ledger stores."""
        out = {**self.settings.to_dict(), "max_tokens": self.max_tokens,
               "prompt_profile_name": self.prompt_profile_name, "image_source": self.image_source,
               "estimate": self.estimate}
        if self.concurrency is not None:
            out["concurrency"] = self.concurrency
        if self.cascade_pass is not None:
            out["cascade_pass"] = self.cascade_pass
        return out

    @classmethod
    def of(cls, stored: dict[str, Any] | None, *, fallback: RunSettings | None = None) -> SentSettings:
        """Read a run's stored settings; ``fallback`` (default: the defaults) when they cannot be read.

        A run recorded before frame presets sent full-size frames for a null edge, and is read so.
        """
        stored = dict(stored) if isinstance(stored, dict) else {}
        try:
            settings = RunSettings.from_dict(stored, sent_before=bool(stored))
        except (TypeError, ValueError):
            settings = fallback or RunSettings()
        max_tokens = stored.get("max_tokens")
        concurrency = stored.get("concurrency")
        estimate = stored.get("estimate")
        name = stored.get("prompt_profile_name")
        return cls(settings,
                   max_tokens=int(max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else DEFAULT_MAX_TOKENS,
                   prompt_profile_name=name if isinstance(name, str) else None,
                   image_source=str(stored.get("image_source") or "base64"),
                   concurrency=concurrency if isinstance(concurrency, int) else None,
                   estimate=estimate if isinstance(estimate, dict) else None,
                   cascade_pass=stored["cascade_pass"] if isinstance(stored.get("cascade_pass"), dict) else None)


def run_fingerprint(settings: RunSettings, prompt_hash: str) -> dict[str, Any]:
    """What makes two analyses comparable: model, prompt profile hash and keyframe settings.

    Stored in each sidecar as ``run.fingerprint``; ``gaia.sidecar.sidecar_state`` compares it to
    tell "analysed" from "analysed with other settings".
    """
    return {"model": settings.model, "prompt_hash": prompt_hash, "keyframes": asdict(settings.keyframes)}


def parse_cascade(text: str) -> tuple[str, str]:
    """``"claude-haiku-5-5:economy"`` → ``(model, preset)``; ``ValueError`` in words for anything else.

    The model is checked by the caller against the price data; the preset must be a frame-size preset.
    """
    model, sep, preset = (text or "").strip().rpartition(":")
    if not sep or not model or not preset:
        raise ValueError(f"a cascade is CHEAP_MODEL:PRESET (for example claude-haiku-5-5:economy), not {text!r}")
    frame_preset(preset)
    return model, preset


def _cascade_text(value: Any) -> bool:
    """Whether ``value`` is a cascade entry ``parse_cascade`` reads."""
    if not isinstance(value, str):
        return False
    try:
        parse_cascade(value)
    except ValueError:
        return False
    return True
