"""Shared stand-ins for the pricing tests: keyframe sets of given frame sizes, a prompt, exact text tokens."""

from __future__ import annotations

from pathlib import Path

from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.pricing.tokens import PromptTokens
from gaia.prompts import PromptProfile
from gaia.settings import KeyframeSettings

# The production run GAIA is built from: 294 videos on Sonnet 4.5, Batch API + 1 h cache.
PRODUCTION = {"input": 365_624, "cache_write_1h": 106_920, "cache_read": 416_988, "output": 611_412}

TEXT = PromptTokens(model="claude-sonnet-4-5", system=1000, schema=500, instruction=50, label=10, exact=True,
                    source="count_tokens")


def cents(x: float) -> float:
    return round(x + 1e-12, 2)


def profile(system: str = "You describe videos. " * 100, schema: dict | None = None,
            instruction: str = "Describe this video.") -> PromptProfile:
    """A prompt profile (the estimate reads its text; tests mostly pass exact ``TEXT`` counts instead)."""
    return PromptProfile("test", system, schema or {"type": "object", "properties": {"summary": {"type": "string"}}},
                         instruction)


def kset(rel: str, sizes: list[tuple[int, int]], model: str = "claude-sonnet-4-5") -> KeyframeSet:
    frames = tuple(Keyframe(float(i), Path(f"/x/{rel}-{i}.jpg"), w, h, 10_000, 0) for i, (w, h) in enumerate(sizes))
    return KeyframeSet(Path(f"/x/{rel}"), rel, KeyframeSettings(), model, "id-" + rel, frames)
