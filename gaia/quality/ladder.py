"""The ladder: candidate configurations for a tune, each priced before anything is sent.

A configuration (``TuneConfig``) is one choice of the four levers that drive cost: the model, how
many frames per video, their largest edge in pixels (``None``: the model's own limit) and the
schema profile (``full``: the folder's prompt profile; ``compact``: the same scored fields with the
free-text prose fields dropped, see ``gaia.prompts.compact_profile``). ``default_ladder`` builds at least six,
strongest first; the richest (the strongest model, most frames, full size, full schema) is the
reference the others are scored against.

``price_ladder`` extracts each configuration's keyframes for the sample (local work, cached) and
prices them with ``gaia.pricing.estimate.estimate_run`` (the public ``gaia.estimate_run``), so every
figure comes from the price data file: ``usd_per_video`` is what a run of the folder with these
settings costs per video (Batch API with caching, as GAIA sends runs), ``tune_usd`` what sending
this configuration on the sample now costs (standard prices with caching).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.facts import catalogue, model_facts
from gaia.media.keyframes import KeyframeSet, extract_keyframes
from gaia.media.scan import VideoRecord
from gaia.pricing.estimate import estimate_run
from gaia.pricing.history import history
from gaia.pricing.inputs import folder_prompt_tokens
from gaia.prompts import PromptProfile, compact_profile
from gaia.settings import MAX_FRAME_COUNT, KeyframeSettings, RunSettings

Progress = Callable[[int, int], None]

# The levers' levels in the default ladder. Frames: twice the default, the default, half of it.
# Edges: the model's own limit, then two reduced sizes. These are tuning choices, not prices.
REFERENCE_FRAMES = 12
FRAME_LEVELS = (12, 6, 3)
EDGE_LEVELS: tuple[int | None, ...] = (None, 384, 192)
MIN_LADDER = 6


class SchemaProfile(StrEnum):
    """Which output schema a configuration asks for."""

    FULL = "full"
    COMPACT = "compact"


@dataclass(frozen=True)
class TuneConfig:
    """One candidate configuration: model, frames per video, largest frame edge, schema profile."""

    model: str
    frames: int
    max_edge: int | None = None
    schema: SchemaProfile = SchemaProfile.FULL

    @property
    def id(self) -> str:
        """A short id safe as a folder name (``claude-haiku-5-5.6f.384px.compact``)."""
        edge = f"{self.max_edge}px" if self.max_edge else "fullpx"
        return re.sub(r"[^A-Za-z0-9._-]", "_", f"{self.model}.{self.frames}f.{edge}.{self.schema.value}")

    def label(self) -> str:
        """The configuration in words (``Claude Haiku 5.5, 6 frames at 384 px, compact schema``)."""
        name = model_facts(self.model).display_name if self.model in catalogue().models else self.model
        edge = f"at {self.max_edge} px" if self.max_edge else "full size"
        return f"{name}, {self.frames} frames {edge}, {self.schema.value} schema"

    def run_settings(self, base: RunSettings, profile_name: str | None = None) -> RunSettings:
        """``base`` with this configuration's model, frames and edge (and prompt profile, if named)."""
        out = replace(base, model=self.model,
                      keyframes=replace(base.keyframes, count=self.frames, max_edge=self.max_edge))
        return replace(out, prompt_profile=profile_name) if profile_name else out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"id": self.id, "model": self.model, "frames": self.frames, "max_edge": self.max_edge,
                "schema": self.schema.value, "label": self.label()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuneConfig:
        """Build from ``to_dict`` output."""
        edge = data.get("max_edge")
        return cls(str(data["model"]), int(data["frames"]), int(edge) if edge else None,
                   SchemaProfile(str(data.get("schema") or "full")))


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
    """At least ``MIN_LADDER`` configurations, the reference (strongest model, most frames, full
    size, full schema) first. One model gets six shapes; several get four each."""
    models = list(dict.fromkeys(models or default_models(base)))
    for m in models:
        model_facts(m)  # KeyError with a clear message for an unknown model
    ref_frames = min(MAX_FRAME_COUNT, max(REFERENCE_FRAMES, base.keyframes.count))
    full, compact = SchemaProfile.FULL, SchemaProfile.COMPACT
    f_mid, f_low = FRAME_LEVELS[1], FRAME_LEVELS[2]
    e_mid, e_low = EDGE_LEVELS[1], EDGE_LEVELS[2]
    shapes = [(ref_frames, None, full), (f_mid, None, full), (f_mid, e_mid, full), (f_mid, e_mid, compact),
              (f_low, e_mid, compact), (f_low, e_low, compact)]
    if len(models) > 1:
        shapes = [shapes[0], shapes[1], shapes[3], shapes[5]]
    ordered = sorted(models, key=lambda m: m != strongest(models))
    return [TuneConfig(m, f, e, s) for m in ordered for f, e, s in shapes]


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


def price_config(folder: Path, config: TuneConfig, base: RunSettings, profile: PromptProfile,
                 records: Sequence[VideoRecord]) -> PricedConfig:
    """Extract ``config``'s keyframes for the sample ``records`` (cached) and price them."""
    kf = KeyframeSettings(strategy=base.keyframes.strategy, count=config.frames, max_edge=config.max_edge,
                          jpeg_quality=base.keyframes.jpeg_quality)
    sets = extract_keyframes(folder, settings=kf, model=config.model, records=list(records))
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
