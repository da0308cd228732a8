"""What each frame-size preset costs on a model: tokens per frame and image dollars per video.

The presets themselves live in ``gaia.settings`` (``FRAME_PRESETS``). A frame's tokens depend on the
video's own size (a small video is never enlarged) and on the model's image tier, so they are
computed for a given source size, by default a full-HD 1920x1080 video: the frame is fitted to the
preset's edge and the model's tier (``gaia.facts.fit_to_tier``) and counted with the pixel rule
(``gaia.facts.image_tokens``). Dollars per video are the image tokens of ``frames`` frames billed as
uncached input at the model's Batch API price (``gaia.pricing.usage.price_tokens``): the images
only, since they are never cached (each request sends other frames); the shared prefix and the
answer come on top and do not depend on the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.pricing.usage import TokenCounts, price_tokens
from gaia.settings import CUSTOM_PRESET, DEFAULT_MAX_EDGE, FRAME_PRESETS, preset_for_edge

REFERENCE_SIZE = (1920, 1080)
PRESET_SCENARIO = "Batch API, images as uncached input (the prompt prefix and the answer come on top)"


@dataclass(frozen=True)
class PresetCost:
    """One frame size on one model: what a frame becomes, its tokens, and the images' cost per video.

    ``max_edge`` ``None`` is the model's full size (a ``custom`` choice). ``width`` x ``height`` is
    what the model sees of a ``source`` video frame.
    """

    preset: str
    max_edge: int | None
    shows: str
    model: str
    source: tuple[int, int]
    width: int
    height: int
    tokens_per_frame: int
    frames: int
    usd_per_video: float

    @property
    def tokens_per_video(self) -> int:
        """Image tokens of one video's frames."""
        return self.tokens_per_frame * self.frames

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"preset": self.preset, "max_edge": self.max_edge, "shows": self.shows, "model": self.model,
                "source": list(self.source), "size": [self.width, self.height],
                "tokens_per_frame": self.tokens_per_frame, "frames": self.frames,
                "tokens_per_video": self.tokens_per_video, "usd_per_video": self.usd_per_video,
                "scenario": PRESET_SCENARIO}


def frame_cost(model: str, max_edge: int | None, *, frames: int,
               source: tuple[int, int] = REFERENCE_SIZE, shows: str = "") -> PresetCost:
    """The cost of ``frames`` frames of a ``source``-sized video at ``max_edge`` on ``model``."""
    f = model_facts(model)
    w, h = fit_to_tier(*source, f.image_tier, max_edge=max_edge)
    tokens = image_tokens(w, h)
    usd = price_tokens(TokenCounts(input=tokens * frames), f, batch=True).total_usd
    return PresetCost(preset_for_edge(max_edge), max_edge, shows, model, source, w, h, tokens, frames, usd)


def preset_costs(model: str, *, frames: int, source: tuple[int, int] = REFERENCE_SIZE,
                 current_edge: int | None = DEFAULT_MAX_EDGE) -> list[PresetCost]:
    """Every preset on ``model``, economy first, and a last ``custom`` row when ``current_edge`` (the
    folder's edge; ``None``: the model's full size) is no preset's edge."""
    rows = [frame_cost(model, p.max_edge, frames=frames, source=source, shows=p.shows) for p in FRAME_PRESETS]
    if preset_for_edge(current_edge) == CUSTOM_PRESET:
        shows = "everything the model can see (its full size)" if current_edge is None else "your own edge"
        rows.append(frame_cost(model, current_edge, frames=frames, source=source, shows=shows))
    return rows
