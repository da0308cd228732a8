"""The same run priced on every model: what each costs, whether it still caches, what it sees of a frame.

Frames are priced with each model's own resize rule, and text tokens are counted per model (the
newer tokenizer makes ~30% more of the same text), so a cheaper model's real saving shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gaia.facts import catalogue, fit_to_tier, model_facts
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.estimate import estimate_requests
from gaia.pricing.history import History
from gaia.pricing.output import output_estimate
from gaia.pricing.run import VideoRequest, requests_from_sets
from gaia.pricing.scenarios import HEADLINE_SCENARIO
from gaia.pricing.tokens import prompt_tokens
from gaia.prompts import PromptProfile
from gaia.settings import Selection

if TYPE_CHECKING:
    from anthropic import Anthropic


@dataclass(frozen=True)
class ModelRow:
    """The same run priced on one model, with whether it still caches and what resolution it sees."""

    model: str
    display_name: str
    status: str
    usd: dict[str, float]  # scenario → total
    per_video_usd: float
    relative: float  # batch + caching total / the reference model's
    caches: bool
    prefix_tokens: int
    min_cacheable: int
    image_tier: str
    max_edge: int
    frame_size: tuple[int, int] | None  # what the model sees of a typical frame
    downscaled: bool  # frames are larger than the model's tier
    image_tokens: int
    confirmed: bool
    uncertain: tuple[str, ...]
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _seen(videos: Sequence[VideoRequest], model: str) -> tuple[tuple[int, int] | None, bool]:
    """What ``model`` sees of the first frame, and whether any frame is larger than its tier."""
    if not videos:
        return None, False
    tier = model_facts(model).image_tier
    downscaled = any(fit_to_tier(w, h, tier) != (w, h) for v in videos for w, h in v.sizes)
    return fit_to_tier(*videos[0].sizes[0], tier), downscaled


def compare_models(
    keyframe_sets: Iterable[KeyframeSet],
    *,
    profile: PromptProfile,
    reference_model: str,
    cache_ttl: str = "1h",
    selection: Selection | None = None,
    history: History | None = None,
    output_tokens_default: int | None = None,
    client: Anthropic | None = None,
    models: Sequence[str] | None = None,
    statuses: Sequence[str] = ("current", "legacy", "limited"),
) -> list[ModelRow]:
    """The same run priced on every model (cheapest first), frames priced with each model's resize rule.

    ``relative`` compares each model's batch + caching total with ``reference_model``'s.
    """
    cat = catalogue()
    ids = list(models) if models is not None else [m.id for m in cat.models.values() if m.status in statuses]
    if reference_model not in ids and reference_model in cat.models:
        ids.append(reference_model)
    videos, skipped = requests_from_sets(keyframe_sets, selection, None)
    rows = []
    for mid in ids:
        f = model_facts(mid)
        out_est = output_estimate(history.output_tokens if history else (), default=output_tokens_default,
                                  schema=profile.schema, model=mid, remaining=len(videos))
        text = prompt_tokens(profile, mid, client=client)
        est = estimate_requests(videos, skipped, f, text, out_est, cache_ttl, history, explain=False, full=False)
        size, downscaled = _seen(videos, mid)
        rows.append(ModelRow(f.id, f.display_name, f.status, est.total_usd,
                             est.scenario(HEADLINE_SCENARIO).per_video_usd or 0.0, 0.0, est.cache.caches,
                             text.prefix, f.min_cacheable_tokens, f.image_tier.name, f.image_tier.max_edge, size,
                             downscaled, est.image_tokens, f.confirmed, tuple(f.uncertain), f.as_of))
    ref = next((r for r in rows if r.model == reference_model), None)
    ref_total = ref.usd[HEADLINE_SCENARIO] if ref else 0.0
    rows = [replace(r, relative=(r.usd[HEADLINE_SCENARIO] / ref_total) if ref_total else math.nan) for r in rows]
    rows.sort(key=lambda r: r.usd[HEADLINE_SCENARIO])
    return rows
