"""The spend ledger: every billed response of a folder, and ``gaia spent`` equal to what was billed.

What was billed is observed independently of GAIA's ledger: batch results from the emulator's own
result files, run-now and trial answers from a client wrapper that keeps every response's usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gaia._cli import main
from gaia.folder import Folder
from gaia.ledger import Event, Mode, RequestRow, RequestStatus, RunRow
from gaia.pricing.spent import Outcome, SpendKind, charges_of, folder_spend, spend_of
from gaia.pricing.usage import price_tokens, usage_cost, usage_tokens
from gaia.runs.now import run_now
from gaia.runs.recovery import plan_run_now
from gaia.runs.trial import run_trial

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
