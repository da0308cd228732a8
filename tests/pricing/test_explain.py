"""Explanations: what a bill and an estimate mean, in words whose figures match the numbers."""

from __future__ import annotations

import pytest

from gaia.pricing.bill import bill
from tests.pricing.helpers import PRODUCTION


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
