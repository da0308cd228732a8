"""Output tokens per video: the median and p10-p90 of past answers, else the data file's default and range."""

from __future__ import annotations

import pytest

from gaia.pricing.output import output_estimate, percentile


def test_output_estimate_from_history_and_default() -> None:
    h = output_estimate([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000])
    assert h.source == "history" and h.samples == 10
    assert h.median == 550 and h.low == pytest.approx(190) and h.high == pytest.approx(910)
    d = output_estimate([], default=1000)
    assert (d.source, d.median, d.low, d.high) == ("default", 1000, 500, 1500)
    assert output_estimate().median == 2000  # the data file's default
    assert percentile([5], 0.9) == 5
