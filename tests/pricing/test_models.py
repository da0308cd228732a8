"""A model's prices applied (``gaia.pricing.models``): the SDK usage shapes, cache writes by TTL, length
tiers, cache-read multipliers.
"""

from __future__ import annotations

import pytest

from gaia.facts import model_facts
from gaia.pricing.models import TokenCounts, cache_read_share, usage_cost


def test_usage_cost_reads_sdk_shape_with_ttl_split() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 500, "cache_creation_input_tokens": 3000,
             "cache_read_input_tokens": 10_000,
             "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}
    c = usage_cost(usage, "claude-sonnet-4-5", batch=False)
    assert (c.cache_write_5m_tokens, c.cache_write_1h_tokens) == (1000, 2000)
    assert c.total_usd == pytest.approx(1000 * 3e-6 + 1000 * 3.75e-6 + 2000 * 6e-6 + 10_000 * 0.3e-6 + 500 * 15e-6)
    cb = usage_cost(usage, "claude-sonnet-4-5", batch=True)
    assert cb.total_usd == pytest.approx(c.total_usd / 2)


def test_usage_cost_without_split_counts_writes_as_5m_and_accepts_objects() -> None:
    class U:
        input_tokens = 10
        output_tokens = 20
        cache_creation_input_tokens = 4000
        cache_read_input_tokens = 0
        cache_creation = None

    c = usage_cost(U(), "claude-haiku-4-5", batch=False)
    assert (c.cache_write_5m_tokens, c.cache_write_1h_tokens) == (4000, 0)
    assert c.cache_write_5m_usd == pytest.approx(4000 * 1.25e-6)


def test_haiku_5_5_length_tiers() -> None:
    f = model_facts("claude-haiku-5-5")
    assert f.long_context_threshold == 100_000
    short = usage_cost({"input_tokens": 60_000, "cache_read_input_tokens": 40_000, "output_tokens": 1000},
                       "claude-haiku-5-5", batch=False)
    assert short.long_context_requests == 0
    assert short.total_usd == pytest.approx(60_000 * 0.10e-6 + 40_000 * 0.01e-6 + 1000 * 0.50e-6)
    long = usage_cost({"input_tokens": 60_000, "cache_read_input_tokens": 40_001, "output_tokens": 1000},
                      "claude-haiku-5-5", batch=False)
    assert long.long_context_requests == 1
    assert long.total_usd == pytest.approx(60_000 * 0.50e-6 + 40_001 * 0.05e-6 + 1000 * 2.50e-6)
    # Cache writes count toward the prompt too, and the 1h write is 2x of the long-tier input.
    w = usage_cost({"input_tokens": 1, "cache_creation_input_tokens": 100_000, "output_tokens": 0,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 100_000}},
                   "claude-haiku-5-5", batch=True)
    assert w.cache_write_1h_usd == pytest.approx(100_000 * 1.00e-6 * 0.5)


def test_opus_5_5_reads_at_0_05x_and_fable_5_1_at_0_025x() -> None:
    opus = usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-opus-5-5", batch=False)
    assert opus.total_usd == pytest.approx(0.20)
    assert usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-opus-5-5", batch=True).total_usd == \
        pytest.approx(0.10)
    fable = usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-fable-5-1", batch=False)
    assert fable.total_usd == pytest.approx(0.25)


def test_cache_read_share_is_reads_over_reads_and_writes() -> None:
    one_batch = [TokenCounts(cache_write_1h=1500), TokenCounts(cache_read=1500), TokenCounts(cache_read=1500)]
    assert cache_read_share(one_batch) == pytest.approx(2 / 3)
    assert cache_read_share([TokenCounts(cache_write_5m=100, cache_write_1h=100, cache_read=200)]) == 0.5
    assert cache_read_share([TokenCounts(input=1000, output=50)]) is None  # no cache traffic: nothing learnt
    assert cache_read_share([]) is None


def test_token_counts_from_a_mapping() -> None:
    assert TokenCounts.of({"input": 10, "output": 5}) == TokenCounts(input=10, output=5)
    t = TokenCounts(1, 2, 3, 4, 5)
    assert TokenCounts.of(t) is t and t.prompt == 10 and t.total == 15 and t.cache_writes == 5
