"""The four ways to send the same requests, and one priced scenario with its saving against standard.

*standard* (Messages API, no caching), *caching* (Messages API with the shared prefix cached),
*batch* (Message Batches API, 50% off every token type) and *batch_caching* (both; the cache
multipliers stack with the batch discount). A bill and an estimate are both four ``Scenario``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gaia.pricing.usage import UsageCost

SCENARIOS = ("standard", "caching", "batch", "batch_caching")
SCENARIO_LABELS = {
    "standard": "Standard",
    "caching": "Prompt caching",
    "batch": "Batch API",
    "batch_caching": "Batch API + caching",
}
# The scenario GAIA recommends and leads with: the cheapest way when waiting is fine.
HEADLINE_SCENARIO = "batch_caching"


def is_batch(scenario: str) -> bool:
    """Whether ``scenario`` sends through the Message Batches API."""
    return "batch" in scenario


def is_caching(scenario: str) -> bool:
    """Whether ``scenario`` caches the shared prefix."""
    return "caching" in scenario


@dataclass(frozen=True)
class Scenario:
    """One of the four ways to send the same run, with its breakdown and saving against standard.

    ``low_usd`` / ``high_usd`` bound the total when it is an estimate (``None`` for a bill).
    """

    key: str
    label: str
    batch: bool
    caching: bool
    cost: UsageCost
    saving_usd: float
    saving_pct: float  # per cent of the standard total
    per_video_usd: float | None = None
    low_usd: float | None = None
    high_usd: float | None = None

    @property
    def total_usd(self) -> float:
        """The scenario's total in USD."""
        return self.cost.total_usd

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"key": self.key, "label": self.label, "batch": self.batch, "caching": self.caching,
                "total_usd": self.total_usd, "per_video_usd": self.per_video_usd, "saving_usd": self.saving_usd,
                "saving_pct": self.saving_pct, "low_usd": self.low_usd, "high_usd": self.high_usd,
                "breakdown": self.cost.to_dict()}


def scenarios_of(costs: Mapping[str, UsageCost], *, videos: int | None = None,
                 ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[Scenario, ...]:
    """The four scenarios from their costs (in ``SCENARIOS`` order), savings against standard, per-video totals."""
    std = costs["standard"].total_usd
    out = []
    for key in SCENARIOS:
        c = costs[key]
        saving = std - c.total_usd
        lo, hi = (ranges or {}).get(key, (None, None))
        out.append(Scenario(key, SCENARIO_LABELS[key], is_batch(key), is_caching(key), c, saving,
                            100.0 * saving / std if std else 0.0,
                            c.total_usd / videos if videos else None, lo, hi))
    return tuple(out)


def scenario(scenarios: tuple[Scenario, ...], key: str) -> Scenario:
    """The scenario named ``key`` (one of ``SCENARIOS``)."""
    return next(s for s in scenarios if s.key == key)
