"""Every way of paying (submit, run now, trial, retry in a batch, retry now, tune) goes through the one
guard: a spend cap that is not a number, negative, or below the estimate is refused before anything
is sent, counted at the emulator."""

from __future__ import annotations

import math

import pytest

from gaia.emulator import HttpFault
from gaia.quality.tune import run_tune
from gaia.runs.batch import submit
from gaia.runs.failures import failures, retry_failed, retry_now
from gaia.runs.now import run_now
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.trial import run_trial
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar

PAID = ("messages.create", "batches.create", "files.upload")
BAD_CAPS = [math.nan, -1.0, 1e-9]  # not a number, negative, far below any estimate
NAMES = ["a.mp4", "b.mp4"]


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
