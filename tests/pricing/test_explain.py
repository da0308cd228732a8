"""Explanations: what a bill and an estimate mean, in words whose figures match the numbers."""

from __future__ import annotations

import pytest

from gaia.format import pct, usd
from gaia.pricing.bill import bill
from gaia.pricing.estimate import estimate_run
from tests.pricing.helpers import PRODUCTION, TEXT, kset, profile


def test_production_bill_explains_itself() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    text = {e.key: e.text for e in b.explanations}
    assert "output 83% ($4.59)" in text["money"]
    # The cached system prompt is over half of the input tokens, and 80% of it was read back.
    assert "59% of the input tokens (523,908 of 889,532)" in text["caching"]
    assert "80% of it was read back" in text["caching"]
    saving = next(e for e in b.explanations if e.key == "caching").usd
    assert saving == pytest.approx(b.scenario("batch").total_usd - b.scenario("batch_caching").total_usd)
    assert next(e for e in b.explanations if e.key == "lever").usd == pytest.approx(4.58559 / 2)


def test_estimate_explanations_state_the_figures_as_gaia_format_writes_them() -> None:
    sets = [kset(f"v{i}.mp4", [(1568, 882)] * 6) for i in range(3)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT,
                       output_tokens_default=1000)
    text = {e.key: e.text for e in est.explanations}
    assert f"the run costs {usd(est.total_usd['batch_caching'])}:" in text["money"]
    batch_saving = est.total_usd["standard"] - est.total_usd["batch"]
    assert f"halves every token type: {usd(batch_saving)} less" in text["batch"]
    assert f"about {pct(est.cache.read_share_batch)} of requests read the cache" in text["caching"]
    lever = next(e for e in est.explanations if e.key == "lever")
    assert lever.usd is not None and lever.usd > 0 and f"would save {usd(lever.usd)}" in lever.text
