"""History: what past answers teach the next estimate (output tokens, one cache-read share per group)."""

from __future__ import annotations

import pytest

from gaia.pricing.history import History


def test_history_from_usages() -> None:
    usages = [{"output_tokens": 10, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 0},
              {"output_tokens": 30, "cache_read_input_tokens": 1500},
              {"output_tokens": 20, "cache_read_input_tokens": 1500}]
    h = History.from_usages(usages, model="claude-sonnet-4-5")
    assert h.output_tokens == (10, 30, 20)
    assert h.cache_read_shares == (pytest.approx(2 / 3),)
