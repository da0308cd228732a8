"""What was billed (``gaia.pricing.bill``): the production bill under the four scenarios to the cent, tiers,
CSV bills and what they mean; what was spent beside the estimate, the spend ledger, and what past
answers teach.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from gaia._cli import main
from gaia.folder import Folder
from gaia.ledger import Event, Mode, RequestRow, RequestStatus, RunRow
from gaia.pricing.bill import (
    BillCsvError,
    History,
    Outcome,
    SpendKind,
    actual_cost,
    bill,
    charges_of,
    compare_to_estimate,
    folder_spend,
    read_bill_csv,
    spend_of,
)
from gaia.pricing.estimate import estimate_run
from gaia.pricing.models import TokenCounts, price_tokens, usage_cost, usage_tokens
from gaia.runs.now import run_now
from gaia.runs.recovery import plan_run_now
from gaia.runs.trial import run_trial
from tests.pricing.helpers import PRODUCTION, TEXT, cents, kset, profile


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


MODEL = "claude-sonnet-4-5"


def _usage(inp: int, out: int, read: int = 0, write: int = 0) -> dict[str, Any]:
    return {"input_tokens": inp, "output_tokens": out, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": write}}


def _row(i: int, rel: str, status: RequestStatus, usage: dict | None, *, run: str = "run_b", mode: Mode = Mode.BATCH,
         cost: float | None = None, day: str = "2025-03-01") -> RequestRow:
    return RequestRow(id=i, run_id=run, local_batch=None, batch_id=None, custom_id=f"c{i}", rel_path=rel, set_id=None,
                      timestamps=(), prompt_hash="p", model=MODEL, mode=mode, status=status, error_kind=None,
                      error=None, usage=usage, cost_usd=cost, estimate_usd=None, attempt=1, retry_of=None,
                      nbytes=None, fingerprint=None, created_at=f"{day}T10:00:00.000+00:00", updated_at=None,
                      done_at=f"{day}T10:05:00.000+00:00")


def _run(run_id: str, mode: str, note: str | None = None, estimate: float | None = None,
         settings: dict | None = None) -> RunRow:
    return RunRow(run_id, "2025-03-01T09:00:00+00:00", mode, MODEL, "p", settings or {}, None, 0, estimate, note)


def test_charges_cover_every_billed_kind_and_outcome() -> None:
    u = _usage(1000, 500, read=1500)
    runs = {"run_b": _run("run_b", "batch", estimate=0.01), "run_n": _run("run_n", "standard"),
            "run_t": _run("run_t", "standard", note="trial"), "run_u": _run("run_u", "tune")}
    rows = [
        _row(1, "a.mp4", RequestStatus.SUCCEEDED, u),  # superseded by row 4
        _row(2, "b.mp4", RequestStatus.FAILED, u),  # invalid answer, billed
        _row(3, "c.mp4", RequestStatus.FAILED, None),  # never answered: not billed
        _row(4, "a.mp4", RequestStatus.SUCCEEDED, u, run="run_n", mode=Mode.STANDARD, cost=0.5, day="2025-03-02"),
        _row(5, "d.mp4", RequestStatus.SUCCEEDED, u, run="run_t", mode=Mode.STANDARD),
        _row(6, "e.mp4", RequestStatus.SUBMITTED, None),
    ]
    tune = [Event("2025-03-03T08:00:00+00:00", "tune_request", None, None,
                  json.dumps({"run_id": "run_u", "rel_path": "a.mp4", "model": MODEL, "usage": u, "cost_usd": 0.25})),
            Event("2025-03-03T08:00:00+00:00", "tune_request", None, None, "not json")]
    charges = charges_of(rows, runs, tune)
    assert [(c.kind, c.outcome) for c in charges] == [
        (SpendKind.BATCH, Outcome.SUPERSEDED), (SpendKind.BATCH, Outcome.FAILED), (SpendKind.NOW, Outcome.CURRENT),
        (SpendKind.TRIAL, Outcome.CURRENT), (SpendKind.TUNE, Outcome.KEPT_APART)]
    batch_cost = usage_cost(u, MODEL, batch=True).total_usd
    std_cost = usage_cost(u, MODEL, batch=False).total_usd
    assert charges[0].cost_usd == pytest.approx(batch_cost)  # priced from usage when no cost was recorded
    assert charges[2].cost_usd == 0.5  # the cost recorded when it was billed wins
    spend = spend_of(charges, runs)
    assert spend.total_usd == pytest.approx(2 * batch_cost + 0.5 + std_cost + 0.25)
    assert spend.by_kind == pytest.approx({"batch": 2 * batch_cost, "now": 0.5, "trial": std_cost, "tune": 0.25})
    assert spend.by_outcome["superseded"] == pytest.approx(batch_cost)
    assert spend.by_outcome["failed"] == pytest.approx(batch_cost)
    assert spend.by_day == pytest.approx({"2025-03-01": 2 * batch_cost + std_cost, "2025-03-02": 0.5,
                                          "2025-03-03": 0.25})
    assert spend.by_run["run_b"] == pytest.approx(2 * batch_cost)
    b = next(r for r in spend.runs if r.run_id == "run_b")
    assert b.gap_usd == pytest.approx(0.01 - 2 * batch_cost)
    d = spend.to_dict()
    assert d["total_usd"] == pytest.approx(spend.total_usd) and set(d) >= {"by_kind", "by_run", "by_day"}


def test_a_run_gap_is_split_by_token_type_when_its_estimate_was_recorded() -> None:
    actual = _usage(1000, 800, read=1500)
    est_cost = price_tokens(usage_tokens(_usage(1000, 500, read=1500)), MODEL, batch=True)
    runs = {"run_b": _run("run_b", "batch", estimate=est_cost.total_usd,
                          settings={"estimate": {"total_usd": est_cost.total_usd, "usd": est_cost.usd.as_dict()}})}
    spend = spend_of(charges_of([_row(1, "a.mp4", RequestStatus.SUCCEEDED, actual)], runs), runs)
    (r,) = spend.runs
    assert r.gap_by_type["output"] == pytest.approx(-300 * 7.5e-6)
    assert r.gap_by_type["input"] == pytest.approx(0.0)
    assert "output" in r.gap_text() and "under" in r.gap_text()


def test_runs_record_their_estimate_and_spent_splits_the_gap(ready_folder, api_env) -> None:
    folder = ready_folder({"a.mp4": "testsrc", "b.mov": "mov"})
    assert main(["submit", str(folder), "--yes"]) == 0
    assert main(["watch", str(folder), "--poll", "0.1"]) == 0
    (r,) = folder_spend(folder).runs
    assert r.estimate_usd is not None and r.gap_by_type
    assert sum(r.gap_by_type.values()) == pytest.approx(r.estimate_usd - r.actual_usd)


class _Recording:
    """An Anthropic client whose ``messages.create`` keeps every response's usage (what was billed)."""

    def __init__(self, client: Any, usages: list[dict[str, Any]] | None = None) -> None:
        self._client = client
        self.usages: list[dict[str, Any]] = [] if usages is None else usages
        outer = self

        class _Messages:
            def __getattr__(self, name: str) -> Any:
                return getattr(client.messages, name)

            def create(self, **params: Any) -> Any:
                message = client.messages.create(**params)
                outer.usages.append(message.usage.model_dump())
                return message

        self.messages = _Messages()

    def with_options(self, **options: Any) -> _Recording:
        return _Recording(self._client.with_options(**options), self.usages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _emulator_batch_usages(state_dir: Path) -> list[dict[str, Any]]:
    out = []
    for path in state_dir.rglob("results.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                res = json.loads(line)["result"]
                if res.get("type") == "succeeded":
                    out.append(res["message"]["usage"])
    return out


def test_gaia_spent_equals_what_was_billed(ready_folder, api_env, anthropic_client, tmp_path, capsys) -> None:
    folder = ready_folder({"a.mp4": "testsrc", "b.mov": "mov", "c.mkv": "mkv"})
    model = Folder.of(folder).settings().model
    assert main(["submit", str(folder), "--yes"]) == 0
    assert main(["watch", str(folder), "--poll", "0.1"]) == 0
    client = _Recording(anthropic_client)
    again = run_now(folder, plan_run_now(folder, Folder.of(folder).settings(), force=True), client)
    assert again.succeeded
    trial = run_trial(folder, client, n=2)
    assert trial is not None
    billed = (sum(usage_cost(u, model, batch=True).total_usd for u in _emulator_batch_usages(tmp_path))
              + sum(usage_cost(u, model, batch=False).total_usd for u in client.usages))
    capsys.readouterr()
    assert main(["spent", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_usd"] == pytest.approx(billed, rel=0.01)
    assert data["by_kind"]["batch"] > 0 and data["by_kind"]["now"] > 0 and data["by_kind"]["trial"] > 0
    assert data["by_outcome"]["superseded"] > 0
    assert sum(data["by_run"].values()) == pytest.approx(data["total_usd"])
    assert folder_spend(folder).total_usd == pytest.approx(data["total_usd"])
    assert main(["spent", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "Spent:" in text and "Prompt trials" in text


def test_a_folder_without_a_ledger_has_spent_nothing(tmp_path, capsys) -> None:
    assert folder_spend(tmp_path).total_usd == 0
    assert main(["spent", str(tmp_path)]) == 0
    assert "Nothing billed yet" in capsys.readouterr().out
    assert not (tmp_path / ".gaia").exists()


def test_history_from_usages() -> None:
    usages = [{"output_tokens": 10, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 0},
              {"output_tokens": 30, "cache_read_input_tokens": 1500},
              {"output_tokens": 20, "cache_read_input_tokens": 1500}]
    h = History.from_usages(usages, model="claude-sonnet-4-5")
    assert h.output_tokens == (10, 30, 20)
    assert h.cache_read_shares == (pytest.approx(2 / 3),)
