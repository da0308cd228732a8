"""What was spent: the actual cost of returned results beside the estimate, and what the estimate learns."""

from __future__ import annotations

import pytest

from gaia.pricing.estimate import estimate_run
from gaia.pricing.history import History
from gaia.pricing.spent import actual_cost, compare_to_estimate
from tests.pricing.helpers import TEXT, kset, profile


def test_estimate_against_actual_on_synthetic_usage() -> None:
    sets = [kset(f"v{i}.mp4", [(784, 448)] * 2) for i in range(4)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT,
                       output_tokens_default=1000)
    static = 2 * 448 + 50 + 20
    # What came back: the first request wrote the 1h cache, the others read it; answers 10% longer.
    usages = []
    for i in range(4):
        u = {"input_tokens": static, "output_tokens": 1100, "cache_read_input_tokens": 1500 if i else 0,
             "cache_creation_input_tokens": 0 if i else 1500,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0 if i else 1500}}
        usages.append((f"v{i}.mp4", u))
    act = actual_cost(usages, "claude-sonnet-4-5", batch=True)
    expected_actual = 4 * (static * 1.5e-6 + 1100 * 7.5e-6) + 1500 * 3e-6 + 3 * 1500 * 0.15e-6
    assert act.total.total_usd == pytest.approx(expected_actual)
    check = compare_to_estimate(est, act)
    assert check.actual_usd == pytest.approx(expected_actual)
    assert check.estimated_usd == pytest.approx(est.total_usd["batch_caching"])
    assert check.error_pct == pytest.approx(100 * (check.estimated_usd - expected_actual) / expected_actual)
    assert check.by_type["output"]["error_pct"] == pytest.approx(100 * (1000 - 1100) / 1100)
    assert set(check.per_video) == {f"v{i}.mp4" for i in range(4)}
    # The estimate learns: the history of these results gives the next estimate's output tokens.
    h = History.from_usages([u for _, u in usages])
    est2 = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT, history=h)
    assert est2.output.median == 1100
    # Of the 3 requests after the first writer, 3 read: pooled with 4 requests' worth of the default 0.80.
    assert est2.assumptions.cache_read_share.point == pytest.approx((3 + 4 * 0.8) / (3 + 4))
    assert est2.assumptions.cache_read_share.source == "history"
