"""Every way of paying (submit, run now, trial, retry in a batch, retry now, tune) goes through the one
guard: a spend cap that is not a number, negative, or below the estimate is refused before anything
is sent, counted at the emulator; so is a model the API's Models endpoint does not offer to the key, asked
when sending (submit, run now, trial, retries, both kinds of cascade, the tune) and never while planning."""

from __future__ import annotations

import math

import pytest

from gaia.emulator import HttpFault
from gaia.folder import Folder
from gaia.quality.tune import run_tune
from gaia.runs.batch import submit
from gaia.runs.cascade import plan_first_pass
from gaia.runs.failures import failures, retry_failed, retry_now
from gaia.runs.levers import run_cascade
from gaia.runs.now import run_now
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.trial import run_trial
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar

PAID = ("messages.create", "batches.create", "files.upload")
BAD_CAPS = [math.nan, -1.0, 1e-9]  # not a number, negative, far below any estimate
NAMES = ["a.mp4", "b.mp4"]
# How a test makes a model unknown to the key: the emulator's Models endpoint answers 404 (not_found_error), as
# the API does for a model it does not offer to that key.
NOT_OFFERED = HttpFault(route="models.retrieve", status=404, count=None)


def _paid(emulator) -> int:
    calls = emulator.calls
    return sum(calls.get(route, 0) for route in PAID)


def _refused(why: str | None, cap: float) -> None:
    assert why, f"a cap of {cap!r} was not refused"
    assert ("not a usable amount" if not cap >= 0 else "above") in why


@pytest.fixture
def failed_folder(tmp_path, fake_ksets, emulator, anthropic_client):
    """A folder whose two videos failed once (the API kept pushing back), so there is something to retry."""
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=529, count=None, retry_after=0)])
    plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    res = run_now(folder, plan, anthropic_client, concurrency=1, max_attempts=1, sleep=lambda s: None)
    assert res.failed == 2 and len(failures(folder)) == 2
    emulator.update_config(http_faults=[])
    return folder, ksets


@pytest.mark.parametrize("cap", BAD_CAPS)
def test_submit_and_run_now_refuse_a_bad_cap(tmp_path, fake_ksets, emulator, anthropic_client, cap):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    before = _paid(emulator)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    res = submit(folder, plan, anthropic_client, max_cost_usd=cap)
    _refused(res.blocked, cap)
    now_plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    now = run_now(folder, now_plan, anthropic_client, max_cost_usd=cap)
    _refused(now.blocked, cap)
    trial = run_trial(folder, anthropic_client, n=2, keyframe_sets=ksets, settings=RunSettings(),
                           max_cost_usd=cap)
    _refused(trial.blocked, cap)
    assert _paid(emulator) == before
    assert all(read_sidecar(folder / rel) is None for rel in NAMES)


@pytest.mark.parametrize("cap", BAD_CAPS)
def test_retries_refuse_a_bad_cap(failed_folder, emulator, anthropic_client, cap):
    folder, ksets = failed_folder
    before = _paid(emulator)
    moved = retry_failed(folder, anthropic_client, keyframe_sets=ksets, max_cost_usd=cap)
    _refused(moved.blocked, cap)
    again = retry_now(folder, anthropic_client, keyframe_sets=ksets, max_cost_usd=cap)
    assert again
    for r in again:
        _refused(r.blocked, cap)
    assert _paid(emulator) == before
    assert len(failures(folder)) == 2


@pytest.mark.parametrize("cap", BAD_CAPS)
def test_tune_refuses_a_bad_budget(make_folder, emulator, anthropic_client, cap):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    before = _paid(emulator)
    result = run_tune(folder, client=anthropic_client, n=2, budget_usd=cap)
    _refused(result.blocked, cap)
    assert _paid(emulator) == before


def _ledger_rows(folder) -> tuple[int, int]:
    """Runs and requests the folder's ledger holds (none when it has no ledger)."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return 0, 0
    with f.ledger() as ledger:
        return len(ledger.runs()), len(ledger.requests())


def _not_offered(why: str | None) -> None:
    assert why and "does not offer" in why and "to this key" in why and "nothing was sent" in why, why


def test_a_model_the_key_cannot_use_is_refused_when_sending_and_nothing_is_lost(tmp_path, fake_ksets, emulator,
                                                                                anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(http_faults=[NOT_OFFERED])
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, client=anthropic_client)
    assert plan.ok and "models.retrieve" not in emulator.calls  # planning does not ask the Models endpoint
    before, rows = _paid(emulator), _ledger_rows(folder)
    _not_offered(submit(folder, plan, anthropic_client).blocked)
    _not_offered(run_now(folder, plan_run_now(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).blocked)
    _not_offered(run_trial(folder, anthropic_client, n=2, keyframe_sets=ksets, settings=RunSettings()).blocked)
    assert emulator.calls["models.retrieve"] == 3  # asked once per send
    assert _paid(emulator) == before and not emulator.billed
    assert _ledger_rows(folder) == rows  # no run, no request written: nothing half-done to recover
    assert all(read_sidecar(folder / rel) is None for rel in NAMES)
    emulator.update_config(http_faults=[])  # the key may use the model now: the same plan goes, once
    assert submit(folder, plan, anthropic_client).sent == len(NAMES)


def test_when_the_models_endpoint_cannot_be_reached_the_send_goes(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(http_faults=[HttpFault(route="models.retrieve", status=500, count=None)])
    now = run_now(folder, plan_run_now(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    assert now.blocked is None and now.succeeded == len(NAMES)  # nothing concluded from an unreachable endpoint
    assert emulator.calls["models.retrieve"] == 1


def test_retries_ask_the_models_endpoint_when_sending(failed_folder, emulator, anthropic_client):
    folder, ksets = failed_folder
    emulator.update_config(http_faults=[NOT_OFFERED])
    before, rows = _paid(emulator), _ledger_rows(folder)
    _not_offered(retry_failed(folder, anthropic_client, keyframe_sets=ksets).blocked)
    again = retry_now(folder, anthropic_client, keyframe_sets=ksets)
    assert again
    for r in again:
        _not_offered(r.blocked)
    assert _paid(emulator) == before and _ledger_rows(folder) == rows
    assert len(failures(folder)) == 2  # still there to retry


def test_both_kinds_of_cascade_ask_the_models_endpoint_when_sending(make_folder, emulator, anthropic_client):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    emulator.update_config(http_faults=[NOT_OFFERED])
    first = plan_first_pass(folder, RunSettings(), "claude-haiku-4-5", "economy", client=anthropic_client)
    assert first.ok and "models.retrieve" not in emulator.calls
    rows = _ledger_rows(folder)
    _not_offered(submit(folder, first, anthropic_client).blocked)  # a batch cascade's first pass
    now = run_cascade(folder, anthropic_client, "claude-haiku-4-5", "economy")  # a run-now cascade
    _not_offered(now.first.blocked)
    assert _paid(emulator) == 0 and _ledger_rows(folder) == rows


def test_the_tune_asks_the_models_endpoint_when_sending(make_folder, emulator, anthropic_client):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    emulator.update_config(http_faults=[NOT_OFFERED])
    result = run_tune(folder, client=anthropic_client, n=2, budget_usd=1.0)
    sent = [r for r in result.results if r.output is not None]
    assert sent and all(any("does not offer" in p for p in r.output.problems) for r in sent)
    assert _paid(emulator) == 0 and _ledger_rows(folder)[0] == 0  # no tune run written


class _RefusesModel:
    """The SDK client, but the key may not use ``model``: its Models endpoint answers for an id it does not offer
    (the emulator's real 404), for that model only."""

    def __init__(self, client, model: str) -> None:
        self._client, self._model = client, model

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    @property
    def models(self):
        real, refused = self._client.models, self._model

        class _Models:
            def retrieve(self, model: str, **kwargs):
                return real.retrieve("claude-not-offered-to-this-key" if model == refused else model, **kwargs)
        return _Models()


def test_a_cascade_whose_second_pass_model_the_key_cannot_use_sends_no_first_pass(make_folder, emulator,
                                                                                   anthropic_client):
    """Both kinds of cascade ask for the strong model too before the first pass goes: a first pass whose second
    pass could never be sent would be paid for nothing."""
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    strong = RunSettings()
    client = _RefusesModel(anthropic_client, strong.model)
    first = plan_first_pass(folder, strong, "claude-haiku-4-5", "economy", client=client)
    rows = _ledger_rows(folder)
    why = submit(folder, first, client).blocked
    assert why and why.startswith("The cascade's second pass: ") and strong.model in why, why
    now = run_cascade(folder, client, "claude-haiku-4-5", "economy")
    assert now.first.blocked and now.first.blocked.startswith("The cascade's second pass: "), now.first.blocked
    assert _paid(emulator) == 0 and not emulator.billed and _ledger_rows(folder) == rows
    assert submit(folder, first, anthropic_client).sent == 2  # the key may use both: the same plan goes
