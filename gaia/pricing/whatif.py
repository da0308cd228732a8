"""What-if and budget: the same run re-priced over frames per video × longest frame edge.

``what_if`` prices a grid of settings (the steps a user may change, ``gaia.settings.FRAME_COUNT_STEPS``
and ``MAX_EDGE_STEPS``, the model's own tier limit added); everything else (prompt, output, cache)
is as in the estimate. ``budget`` picks the richest setting (most visual tokens per video) whose
cost stays under a limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gaia.facts import ModelFacts, model_facts
from gaia.format import usd
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.estimate import Estimate, run_terms
from gaia.pricing.run import price_run, requests_from_sets, video_tokens
from gaia.pricing.scenarios import HEADLINE_SCENARIO, SCENARIO_LABELS, SCENARIOS
from gaia.settings import FRAME_COUNT_STEPS, MAX_EDGE_STEPS, Selection


@dataclass(frozen=True)
class WhatIfPoint:
    """The run's cost with a given number of frames per video and longest frame edge."""

    frames: int
    max_edge: int
    tokens_per_frame: float
    usd: dict[str, float]  # scenario → total

    @property
    def image_tokens_per_video(self) -> float:
        """Visual tokens per video: the "richness" budget() maximises."""
        return self.frames * self.tokens_per_frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"frames": self.frames, "max_edge": self.max_edge, "tokens_per_frame": self.tokens_per_frame,
                "image_tokens_per_video": self.image_tokens_per_video, "usd": self.usd}


def edge_steps(f: ModelFacts, max_edges: Sequence[int] | None = None) -> list[int]:
    """The longest-edge steps for ``f`` up to its tier: ``max_edges``, default ``MAX_EDGE_STEPS`` and the tier limit."""
    top = f.image_tier.max_edge
    return sorted({e for e in (max_edges or MAX_EDGE_STEPS) if e <= top} | ({top} if max_edges is None else set()))


def what_if(
    estimate: Estimate,
    keyframe_sets: Iterable[KeyframeSet],
    *,
    selection: Selection | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[WhatIfPoint]:
    """The run's cost over a grid of frames per video × longest frame edge, for ``estimate``'s model.

    Frame sizes follow the extracted frames' aspect; an edge above the extracted size is reachable
    only when ``source_sizes`` gives the videos' own resolution (otherwise frames are not enlarged).
    """
    f = model_facts(estimate.model)
    videos, _ = requests_from_sets(keyframe_sets, selection, source_sizes)
    points: list[WhatIfPoint] = []
    if not videos:
        return points
    terms = run_terms(estimate)
    previous: list[tuple[float, int]] | None = None
    for edge in edge_steps(f, max_edges):
        sigs = [video_tokens(v, f.image_tier, edge) for v in videos]
        if sigs == previous:  # the videos are no larger than the last edge: nothing changes
            continue
        previous = sigs
        n_frames = sum(n for _, n in sigs)
        tpf = sum(t for t, _ in sigs) / n_frames if n_frames else 0.0
        for k in frame_counts:
            priced = price_run(videos, f, terms, max_edge=edge, frames=k, per_video=False)
            points.append(WhatIfPoint(k, edge, tpf, {s: priced.costs[s].total_usd for s in SCENARIOS}))
    return points


@dataclass(frozen=True)
class BudgetResult:
    """The richest settings (most visual tokens per video) whose cost stays under the budget."""

    limit_usd: float
    scenario: str
    best: WhatIfPoint | None
    current_usd: float
    fits_now: bool
    options: tuple[WhatIfPoint, ...]  # every setting under the limit, richest first
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"limit_usd": self.limit_usd, "scenario": self.scenario, "current_usd": self.current_usd,
                "fits_now": self.fits_now, "best": self.best.to_dict() if self.best else None,
                "options": [o.to_dict() for o in self.options[:10]], "message": self.message}


def _budget_message(limit_usd: float, scenario: str, best: WhatIfPoint | None, current: float,
                    points: Sequence[WhatIfPoint]) -> str:
    label = SCENARIO_LABELS[scenario]
    if best is None:
        cheapest = min(points, key=lambda p: p.usd[scenario]) if points else None
        if cheapest is None:
            return "No videos with frames to estimate."
        return (f"Nothing fits under {usd(limit_usd)} with {label}: even {cheapest.frames} frame(s) of "
                f"{cheapest.max_edge} px cost {usd(cheapest.usd[scenario])}. Try a cheaper model or fewer videos.")
    return (f"Under {usd(limit_usd)} ({label}): {best.frames} frames per video at up to {best.max_edge} px "
            f"(about {best.tokens_per_frame:,.0f} tokens per frame) for {usd(best.usd[scenario])}. "
            f"Current settings cost {usd(current)}{' and fit' if current <= limit_usd else ', over the budget'}.")


def budget(
    limit_usd: float,
    estimate: Estimate,
    keyframe_sets: Iterable[KeyframeSet],
    *,
    scenario: str = HEADLINE_SCENARIO,
    selection: Selection | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    points: Sequence[WhatIfPoint] | None = None,
) -> BudgetResult:
    """The richest frames-per-video × max-edge setting under ``limit_usd`` (ties: more frames wins)."""
    pts = list(points) if points is not None else what_if(
        estimate, keyframe_sets, selection=selection, frame_counts=frame_counts, max_edges=max_edges,
        source_sizes=source_sizes)
    under = [p for p in pts if p.usd[scenario] <= limit_usd]
    under.sort(key=lambda p: (-p.image_tokens_per_video, -p.frames, p.usd[scenario]))
    current = estimate.scenario(scenario).total_usd
    best = under[0] if under else None
    return BudgetResult(limit_usd, scenario, best, current, current <= limit_usd, tuple(under),
                        _budget_message(limit_usd, scenario, best, current, pts))
