"""The ladder: candidate configurations for a tune, each priced before anything is sent.

A configuration (``TuneConfig``) is one choice of the four levers that drive cost: the model, how
many frames per video, their largest edge in pixels (``None``: the model's own limit) and the
schema profile (``full``: the folder's prompt profile; ``compact``: the same scored fields with the
free-text prose fields dropped, see ``gaia.prompts.compact_profile``), and optionally a JPEG quality.
``default_ladder`` starts with the richest (the strongest model, most frames, full size, full schema:
the reference the others are scored against), then the folder's current settings, each frame-size
preset of ``gaia.settings`` at the current model and frames, fewer frames, the compact schema and the
other models. ``gaia.quality.tune`` adds the reference's replicate (``replicate``: the same request
asked again, for the ceiling) and the negative control (``control_config``: content-free frames,
``content_free``).

``price_ladder`` extracts each configuration's keyframes for the sample (local work, cached) and
prices them with ``gaia.pricing.estimate.estimate_run``, so every
figure comes from the price data file: ``usd_per_video`` is what a run of the folder with these
settings costs per video (Batch API with caching, as GAIA sends runs), ``tune_usd`` what sending
this configuration on the sample now costs (standard prices with caching).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image

from gaia.facts import catalogue, model_facts, model_name
from gaia.folder import Folder
from gaia.fsutil import atomic_write_bytes
from gaia.media.keyframes import KeyframeSet, extract_keyframes
from gaia.media.scan import VideoRecord
from gaia.pricing.bill import history
from gaia.pricing.estimate import estimate_run
from gaia.pricing.tokens import folder_prompt_tokens
from gaia.prompts import PromptProfile, compact_profile
from gaia.runs.cascade import cheap_settings
from gaia.settings import FRAME_PRESETS, MAX_FRAME_COUNT, RunSettings, parse_cascade

Progress = Callable[[int, int], None]

# The levers' levels in the default ladder. Frames: twice the default, the default, half of it.
# Sizes: the model's own limit (the reference) and the frame-size presets (``gaia.settings``), the
# sizes a user picks from. These are tuning choices, not prices.
REFERENCE_FRAMES = 12
FRAME_LEVELS = (12, 6, 3)
EDGE_LEVELS: tuple[int | None, ...] = (None, *(p.max_edge for p in FRAME_PRESETS))
CONTROL_FRAMES = 3  # the negative control's frames (content-free, the same size as the current ones)
CONTROL_GREY = (128, 128, 128)
MIN_LADDER = 6


class SchemaProfile(StrEnum):
    """Which output schema a configuration asks for."""

    FULL = "full"
    COMPACT = "compact"


class Role(StrEnum):
    """What a configuration is in the tune: a candidate, or one of the fixed rungs."""

    CANDIDATE = "candidate"
    REFERENCE = "reference"
    REPLICATE = "replicate"  # the reference asked again: reference-vs-replicate agreement is the ceiling
    CURRENT = "current"  # the folder's current settings
    CONTROL = "negative control"  # content-free frames: what the scorer gives an answer that saw nothing


@dataclass(frozen=True)
class TuneConfig:
    """One candidate configuration: model, frames per video, largest frame edge, schema profile; optionally
    a JPEG quality (``None``: the folder's), a replicate number (the same request asked again) and
    ``control`` (frames replaced by flat grey ones of the same size: the negative control)."""

    model: str
    frames: int
    max_edge: int | None = None
    schema: SchemaProfile = SchemaProfile.FULL
    jpeg_quality: int | None = None
    replicate: int = 0
    control: bool = False
    cascade: str | None = None  # "CHEAP_MODEL:PRESET": a first pass, this configuration for its uncertain answers

    def first_pass(self, base: RunSettings) -> TuneConfig | None:
        """A cascade's first pass: what ``gaia run --cascade`` sends first (``gaia.runs.levers.cheap_settings``
        of this configuration's settings), as a configuration; ``None`` for a single configuration."""
        if not self.cascade:
            return None
        model, preset = parse_cascade(self.cascade)
        cheap = cheap_settings(replace(self, cascade=None).run_settings(base), model, preset)
        return TuneConfig(cheap.model, cheap.keyframes.count, cheap.keyframes.max_edge, self.schema,
                          self.jpeg_quality)

    @property
    def id(self) -> str:
        """A short id safe as a folder name (``claude-haiku-5-5.6f.384px.compact``; a cascade
        ``cascade.claude-haiku-5-5.economy.then.claude-sonnet-5-5.6f.1024px.full``)."""
        if self.cascade:
            single = replace(self, cascade=None).id
            return re.sub(r"[^A-Za-z0-9._-]", "_", f"cascade.{self.cascade.replace(':', '.')}.then.{single}")
        edge = f"{self.max_edge}px" if self.max_edge else "fullpx"
        extra = (f".q{self.jpeg_quality}" if self.jpeg_quality else "") + (f".r{self.replicate}" if self.replicate
                                                                           else "") + (".control" if self.control
                                                                                       else "")
        return re.sub(r"[^A-Za-z0-9._-]", "_", f"{self.model}.{self.frames}f.{edge}.{self.schema.value}{extra}")

    def label(self) -> str:
        """The configuration in words (``Claude Haiku 5.5, 6 frames at 384 px, compact schema``)."""
        if self.cascade:
            model, preset = parse_cascade(self.cascade)
            return (f"Cascade: {model_name(model)} at the {preset} frame size first, the uncertain answers again "
                    f"with {replace(self, cascade=None).label()}")
        name = model_name(self.model)
        edge = f"at {self.max_edge} px" if self.max_edge else "full size"
        text = f"{name}, {self.frames} frames {edge}, {self.schema.value} schema"
        if self.jpeg_quality:
            text += f", JPEG quality {self.jpeg_quality}"
        if self.control:
            text += ", content-free frames"
        return text + (", asked again" if self.replicate else "")

    def run_settings(self, base: RunSettings, profile_name: str | None = None) -> RunSettings:
        """``base`` with this configuration's model, frames and edge (and prompt profile, if named)."""
        kf = replace(base.keyframes, count=self.frames, max_edge=self.max_edge,
                     jpeg_quality=self.jpeg_quality or base.keyframes.jpeg_quality)
        out = replace(base, model=self.model, keyframes=kf)
        return replace(out, prompt_profile=profile_name) if profile_name else out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"id": self.id, "model": self.model, "frames": self.frames, "max_edge": self.max_edge,
                "schema": self.schema.value, "jpeg_quality": self.jpeg_quality, "replicate": self.replicate,
                "control": self.control, "cascade": self.cascade, "label": self.label()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuneConfig:
        """Build from ``to_dict`` output (earlier tunes' dicts, without the newer keys, too)."""
        edge = data.get("max_edge")
        q = data.get("jpeg_quality")
        return cls(str(data["model"]), int(data["frames"]), int(edge) if edge else None,
                   SchemaProfile(str(data.get("schema") or "full")), int(q) if q else None,
                   int(data.get("replicate") or 0), bool(data.get("control")), data.get("cascade") or None)


def current_config(base: RunSettings) -> TuneConfig:
    """The folder's current settings as a configuration."""
    return TuneConfig(base.model, base.keyframes.count, base.keyframes.max_edge)


def control_config(base: RunSettings) -> TuneConfig:
    """The negative control: the current model and frame size, ``CONTROL_FRAMES`` content-free frames."""
    return TuneConfig(base.model, min(CONTROL_FRAMES, base.keyframes.count), base.keyframes.max_edge, control=True)


def profile_for(config: TuneConfig, base: PromptProfile) -> PromptProfile:
    """The prompt profile a configuration sends."""
    return compact_profile(base) if config.schema is SchemaProfile.COMPACT else base


def strongest(models: Sequence[str]) -> str:
    """The strongest of ``models``, taken as the one with the highest output price."""
    return max(models, key=lambda m: (model_facts(m).output, model_facts(m).input, m))


def default_models(base: RunSettings) -> list[str]:
    """The folder's model and the cheapest current model (by output price)."""
    cheapest = min((m for m in catalogue().models.values() if m.status == "current"),
                   key=lambda m: (m.output, m.input, m.id))
    return list(dict.fromkeys([base.model, cheapest.id]))


def default_ladder(base: RunSettings, models: Sequence[str] | None = None) -> list[TuneConfig]:
    """The reference first (strongest model, most frames, full size, full schema), then the folder's
    current settings, each frame-size preset at the current model and frames, fewer frames, the compact
    schema, and each other model at the current frames and size. ``run_tune`` adds the reference's
    replicate and the negative control."""
    models = list(dict.fromkeys([*(models or default_models(base)), base.model]))
    for m in models:
        model_facts(m)  # KeyError with a clear message for an unknown model
    ref_frames = min(MAX_FRAME_COUNT, max(REFERENCE_FRAMES, base.keyframes.count))
    top = strongest(models)
    current = current_config(base)
    count, edge = current.frames, current.max_edge
    fewer = max((f for f in FRAME_LEVELS if f < count), default=max(1, count // 2))
    out = [TuneConfig(top, ref_frames), current]
    out += [TuneConfig(m, count, edge) for m in models if m != base.model]
    out += [TuneConfig(base.model, count, p.max_edge) for p in FRAME_PRESETS]
    out += [TuneConfig(base.model, fewer, edge), TuneConfig(base.model, count, edge, SchemaProfile.COMPACT)]
    return list(dict.fromkeys(out))


def default_cascades(base: RunSettings) -> list[str]:
    """The cascade every default tune weighs beside the single configurations: the cheapest current model at
    the smallest frame preset first, the current settings for its uncertain answers (none when the folder
    already runs the cheapest model, or runs a cascade of its own: that one is the current rung)."""
    if base.cascade:  # the folder's own cascade (the settings' entry): it is the current rung
        return []
    cheapest = default_models(base)[-1]
    return [] if cheapest == base.model else [f"{cheapest}:{FRAME_PRESETS[0].name}"]


@dataclass(frozen=True)
class PricedConfig:
    """A configuration with its price, computed before anything is sent, and its sample keyframes."""

    config: TuneConfig
    profile: PromptProfile
    usd_per_video: float | None
    tune_usd: float | None
    videos: int
    frames: int
    image_tokens: int
    keyframe_sets: tuple[KeyframeSet, ...] = field(default=(), compare=False, repr=False)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the keyframes are left out)."""
        return {**self.config.to_dict(), "prompt_profile": self.profile.name, "prompt_hash": self.profile.hash,
                "usd_per_video_estimate": self.usd_per_video, "tune_usd_estimate": self.tune_usd,
                "videos": self.videos, "frames_sent": self.frames, "image_tokens": self.image_tokens,
                "problems": list(self.problems)}


def content_free(folder: Path, kset: KeyframeSet) -> KeyframeSet:
    """``kset`` with every frame replaced by a flat grey JPEG of the same size and time (the negative
    control's frames, kept under ``.gaia/tune/control/``): an answer to them can only come from the prompt."""
    if not kset.frames:
        return kset
    where = Folder.of(folder).workdir / "tune" / "control"
    frames = []
    for f in kset.frames:
        path = where / f"{f.width}x{f.height}.jpg"
        if not path.is_file():
            buf = io.BytesIO()
            Image.new("RGB", (f.width, f.height), CONTROL_GREY).save(buf, "JPEG", quality=kset.settings.jpeg_quality)
            atomic_write_bytes(path, buf.getvalue())
        frames.append(replace(f, path=path, nbytes=path.stat().st_size))
    return replace(kset, frames=tuple(frames), set_id=f"{kset.set_id}-control")


def price_config(folder: Path, config: TuneConfig, base: RunSettings, profile: PromptProfile,
                 records: Sequence[VideoRecord]) -> PricedConfig:
    """Extract ``config``'s keyframes for the sample ``records`` (cached) and price them."""
    kf = config.run_settings(base).keyframes
    sets = extract_keyframes(folder, settings=kf, model=config.model, records=list(records))
    if config.control:
        sets = [content_free(folder, k) for k in sets]
    problems = tuple(f"{k.rel_path}: {k.problem}" for k in sets if k.problem)
    usable = tuple(k for k in sets if k.frames and not k.problem)
    send = profile_for(config, profile)
    if not usable:
        return PricedConfig(config, send, None, None, 0, 0, 0, usable, problems)
    est = estimate_run(usable, model=config.model, profile=send, cache_ttl=base.cache_ttl,
                       history=history(folder, send.hash, config.model), explain=False,
                       max_tokens=base.max_tokens, text_tokens=folder_prompt_tokens(folder, send, config.model))
    per_video = est.scenario("batch_caching").per_video_usd
    if per_video is None:
        per_video = est.scenario("batch_caching").total_usd / max(1, est.videos)
    return PricedConfig(config, send, float(per_video), float(est.scenario("caching").total_usd), est.videos,
                        est.frames, est.image_tokens, usable, problems)


def price_ladder(folder: Path, configs: Sequence[TuneConfig], base: RunSettings, profile: PromptProfile,
                 records: Sequence[VideoRecord], *, on_progress: Progress | None = None) -> list[PricedConfig]:
    """Every configuration priced on the sample, in the order given; ``on_progress(done, total)``."""
    out = []
    for i, config in enumerate(configs):
        if on_progress:
            on_progress(i, len(configs))
        out.append(price_config(folder, config, base, profile, records))
    if on_progress:
        on_progress(len(configs), len(configs))
    return out
