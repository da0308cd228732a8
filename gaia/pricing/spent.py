"""What was spent: the actual cost of returned results, and how far the estimate was from it.

``actual_cost`` prices the ``usage`` of returned answers (each request at its own length tier);
``compare_to_estimate`` sets it beside the estimate made before submitting, in total, by token type
and per video. This is the home for what a folder has spent (totals by kind, run and day, from
the ledger's billed requests) as it grows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gaia.pricing.estimate import Estimate
from gaia.pricing.scenarios import HEADLINE_SCENARIO, SCENARIOS
from gaia.pricing.usage import TOKEN_TYPES, TokenCounts, UsageCost, price_tokens, usage_cost

if TYPE_CHECKING:
    from gaia.pricing.usage import UsageLike


@dataclass(frozen=True)
class ActualCost:
    """What returned results cost, per video (by id) and for the batch."""

    model: str
    per_video: tuple[tuple[str, UsageCost], ...]
    total: UsageCost

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "total": self.total.to_dict(),
                "per_video": {k: v.to_dict() for k, v in self.per_video}}


def actual_cost(results: Iterable[tuple[str, UsageLike]], model: str, *, batch: bool = True) -> ActualCost:
    """Price ``(video id, usage)`` pairs of returned results (each request at its own length tier)."""
    per = []
    total: UsageCost | None = None
    for key, usage in results:
        c = usage_cost(usage, model, batch=batch)
        per.append((key, c))
        total = c if total is None else total + c
    if total is None:
        total = price_tokens(TokenCounts(), model, batch=batch, requests=0)
    return ActualCost(model, tuple(per), total)


@dataclass(frozen=True)
class EstimateCheck:
    """The estimate made before submitting beside the actual cost; errors in per cent of actual."""

    scenario: str
    estimated_usd: float
    actual_usd: float
    error_pct: float  # (estimated - actual) / actual * 100
    by_type: dict[str, dict[str, float]]  # token type → estimated, actual USD, error_pct
    per_video: dict[str, dict[str, float]]  # video id → estimated, actual, error_pct

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def error_pct(estimated: float, actual: float) -> float:
    """How far ``estimated`` is from ``actual``, in per cent of actual (``inf`` when nothing was spent)."""
    if actual == 0:
        return 0.0 if estimated == 0 else math.inf
    return 100.0 * (estimated - actual) / actual


def compare_to_estimate(estimate: Estimate, actual: ActualCost, *,
                        scenario: str = HEADLINE_SCENARIO) -> EstimateCheck:
    """How far the estimate was from what the results cost, in total, by token type and per video.

    Per-video rows match ``actual.per_video`` ids to the estimate's ``rel_path``; only videos present in
    both are compared, and the total compares the estimate scaled to the videos that came back.
    """
    idx = SCENARIOS.index(scenario)
    est_by_video = {v.rel_path: v.usd[idx] for v in estimate.per_video}
    per_video = {}
    for key, c in actual.per_video:
        if key in est_by_video:
            e = est_by_video[key]
            per_video[key] = {"estimated_usd": e, "actual_usd": c.total_usd, "error_pct": error_pct(e, c.total_usd)}
    sc = estimate.scenario(scenario)
    scale = (len(actual.per_video) / estimate.videos) if estimate.videos and actual.per_video else 1.0
    if per_video and len(per_video) == len(actual.per_video):
        est_total = sum(v["estimated_usd"] for v in per_video.values())
        scale = est_total / sc.total_usd if sc.total_usd else scale
    else:
        est_total = sc.total_usd * scale
    by_type = {}
    for t in TOKEN_TYPES:
        e = sc.cost.usd.get(t) * scale
        a = actual.total.usd.get(t)
        by_type[t] = {"estimated_usd": e, "actual_usd": a, "error_pct": error_pct(e, a)}
    return EstimateCheck(scenario, est_total, actual.total.total_usd, error_pct(est_total, actual.total.total_usd),
                         by_type, per_video)
