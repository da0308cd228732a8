"""Output tokens per video: what an estimate assumes each answer will cost, and where that comes from.

Output is most of a typical bill, and the hardest part to know before sending. Today the estimate
takes the median and p10–p90 of past answers for the same prompt and model when there is history
(``History.output_tokens``), else the data file's default with its range. This module is the one
place that turns what drives output (history now; the schema's shape, ``max_tokens``, the model's
thinking and a pilot later) into an ``OutputEstimate``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gaia.facts import estimate_defaults


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` with linear interpolation; ``values`` must not be empty."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class OutputEstimate:
    """Expected output tokens per video: a point (median) and a p10–p90 range, and where they come from."""

    median: float
    low: float
    high: float
    source: str  # "history" or "default"
    samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"median": self.median, "p10": self.low, "p90": self.high, "source": self.source,
                "samples": self.samples}


def output_estimate(output_tokens: Sequence[int] = (), *, default: int | None = None) -> OutputEstimate:
    """Output tokens per video from past answers (median, p10, p90), else ``default`` with the data file's range."""
    if output_tokens:
        return OutputEstimate(percentile(output_tokens, 0.5), percentile(output_tokens, 0.1),
                              percentile(output_tokens, 0.9), "history", len(output_tokens))
    d = estimate_defaults()
    point = d.output_tokens if default is None else default
    return OutputEstimate(float(point), point * d.output_low, point * d.output_high, "default", 0)
