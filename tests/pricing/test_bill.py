"""The bill check: the production bill under the four scenarios to the cent, tiers, CSV bills."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gaia.pricing.bill import BillCsvError, bill, read_bill_csv
from gaia.pricing.usage import TokenCounts
from tests.pricing.helpers import PRODUCTION, cents


def test_production_bill_batch_and_caching_exact_cents() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    bc = b.scenario("batch_caching").cost
    assert [cents(bc.input_usd), cents(bc.cache_write_1h_usd), cents(bc.cache_read_usd), cents(bc.output_usd),
            cents(bc.total_usd)] == [0.55, 0.32, 0.06, 4.59, 5.52]
    assert bc.total_usd == pytest.approx(0.548436 + 0.32076 + 0.0625482 + 4.58559)
    assert bc.total_tokens == 1_500_944


def test_production_bill_other_scenarios() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    prompt = 365_624 + 106_920 + 416_988
    assert b.scenario("standard").total_usd == pytest.approx(prompt * 3e-6 + 611_412 * 15e-6)  # 11.84
    assert cents(b.scenario("standard").total_usd) == 11.84
    assert cents(b.scenario("caching").total_usd) == 11.03
    assert cents(b.scenario("batch").total_usd) == 5.92
    assert b.scenario("batch_caching").saving_pct == pytest.approx(100 * (1 - 5.5173342 / 11.839776), rel=1e-6)
    # Output is 83% of the cost, as the issue says.
    assert b.scenario("batch_caching").cost.shares()["output"] == pytest.approx(0.831, abs=0.001)
    assert b.prices_as_of


def test_bill_long_context_flag_prices_the_long_tier() -> None:
    b = bill({"input": 1_000_000, "output": 1_000_000}, "claude-haiku-5-5", long_context=True)
    assert b.scenario("standard").total_usd == pytest.approx(0.50 + 2.50)
    assert b.scenario("batch").total_usd == pytest.approx((0.50 + 2.50) / 2)
    plain = bill({"input": 1_000_000, "output": 1_000_000}, "claude-haiku-5-5")
    assert plain.scenario("standard").total_usd == pytest.approx(0.60)
    assert any("100,000" in n for n in plain.notes)


def test_csv_bill_import_sums_rows_per_model() -> None:
    text = ("date,model,input_tokens,cache_write_5m_tokens,cache_write_1h_tokens,cache_read_tokens,output_tokens\n"
            "2026-10-01,claude-sonnet-4-5,\"300,000\",0,100000,400000,600000\n"
            "2026-10-02,claude-sonnet-4-5,65624,0,6920,16988,11412\n"
            "2026-10-02,claude-haiku-4-5,1000,0,0,0,1000\n")
    bills = read_bill_csv(io.StringIO(text))
    by_model = {b.model: b for b in bills}
    son = by_model["claude-sonnet-4-5"]
    assert son.tokens == TokenCounts(365_624, 0, 106_920, 416_988, 611_412)
    assert cents(son.scenario("batch_caching").total_usd) == 5.52
    assert son.label == "2026-10-01 to 2026-10-02"
    per_row = read_bill_csv(io.StringIO(text), per_row=True)
    assert len(per_row) == 3


def test_csv_bill_admin_api_column_names_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "usage.csv"
    p.write_text("model,uncached_input_tokens,cache_creation.ephemeral_1h_input_tokens,cache_read_input_tokens,"
                 "output_tokens\nclaude-sonnet-4-5,365624,106920,416988,611412\n")
    (b,) = read_bill_csv(p)
    assert cents(b.scenario("batch_caching").total_usd) == 5.52
    bad = tmp_path / "bad.csv"
    bad.write_text("model,output_tokens\nclaude-unknown-9,5\n")
    with pytest.raises(BillCsvError, match="unknown model"):
        read_bill_csv(bad)
    with pytest.raises(BillCsvError, match="no token columns"):
        read_bill_csv(io.StringIO("model,foo\nclaude-sonnet-4-5,1\n"))
    with pytest.raises(BillCsvError, match="not a token count"):
        read_bill_csv(io.StringIO("model,output_tokens\nclaude-sonnet-4-5,lots\n"))
