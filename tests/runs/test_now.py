"""Run now (``gaia.runs.now``) through the real SDK against the emulator: the same sidecars as a batch,
retry-after honoured on 429/529, concurrency adapted, failures recorded and retried, interruption
and restart sending nothing twice, the spend cap, and the prompt trial feeding the history."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import pytest

import gaia
from gaia.api.retry import DEFAULT_RETRY
from gaia.emulator import HttpFault
from gaia.folder import LOCK_SEND, Folder
from gaia.pricing.bill import history
from gaia.pricing.models import usage_cost
from gaia.runs import now as O
from gaia.runs import trial as T
from gaia.runs.batch import submit
from gaia.runs.failures import failures, retry_failed, retry_now
from gaia.runs.recorder import Recorder
from gaia.runs.recovery import plan_run_now, plan_submission, recover_interrupted
from gaia.runs.retrieve import watch
from gaia.runs.spool import ANSWERS_DIR
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, sidecar_path
from tests.runs._hooks import Hook

NAMES = ["a.mp4", "sub/b c.MOV", "ü d.mkv", "e.mp4"]


class FakeClock:
    """A clock that only moves when slept on; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def _plan(folder: Path, ksets, **kw) -> gaia.SubmissionPlan:
    return plan_run_now(folder, RunSettings(), keyframe_sets=ksets, **kw)


def _answered(emulator, faults: int = 0) -> int:
    """Messages the emulator answered (its call count less the calls answered with a fault)."""
    return emulator.calls.get("messages.create", 0) - faults


def _shape(value):
    """The keys of a JSON value, recursively (values left out)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


# --- the same requests, sidecars and ledger as a batch -----------------------------------------------

def test_run_writes_the_sidecars_a_batch_would(tmp_path, fake_ksets, anthropic_client, emulator):
    batch_dir, now_dir = tmp_path / "batch", tmp_path / "now"
    batch_sets, now_sets = fake_ksets(batch_dir, NAMES), fake_ksets(now_dir, NAMES)
    plan = plan_submission(batch_dir, RunSettings(), keyframe_sets=batch_sets)
    assert submit(batch_dir, plan, anthropic_client).ok
    watch(batch_dir, anthropic_client, poll_s=0.1)

    now_plan = _plan(now_dir, now_sets)
    seen: list[tuple[int, int]] = []
    res = O.run_now(now_dir, now_plan, anthropic_client, on_progress=lambda d, t: seen.append((d, t)))
    assert res.ok and res.succeeded == len(NAMES), res.to_dict()
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)

    for rel in NAMES:
        b, n = read_sidecar(batch_dir / rel), read_sidecar(now_dir / rel)
        assert set(b) == set(n) and set(b["run"]) == set(n["run"])
        assert _shape(b["analysis"]) == _shape(n["analysis"])
        assert n["run"]["mode"] == "standard" and n["run"]["batch_id"] is None
        assert b["run"]["mode"] == "batch"
        for key in ("fingerprint", "prompt_hash", "keyframe_set", "keyframe_timestamps", "model"):
            assert n["run"][key] == b["run"][key], key
        assert len(n["run"]["custom_id"]) == len(b["run"]["custom_id"])  # a batch's id is also its folder's and run's
        # Priced at standard rates, cache writes and reads included.
        usage = n["run"]["usage"]
        assert n["run"]["cost_usd"] == pytest.approx(usage_cost(usage, now_plan.model, batch=False).total_usd)
    with Folder.of(now_dir).ledger() as ledger:
        rows = ledger.requests()
        run = ledger.run(rows[0].run_id)
    assert {r.mode for r in rows} == {"standard"} and {r.status for r in rows} == {"succeeded"}
    assert run is not None and run.mode == "standard" and run.n_requests == len(NAMES)
    assert any((r.usage or {}).get("cache_read_input_tokens") for r in rows)  # the cached prefix is read back
    assert res.spent_usd == pytest.approx(sum(r.cost_usd or 0 for r in rows))
    # The request sent is the batch request's params, byte for byte.
    assert _answered(emulator) == len(NAMES)
    # Running again sends nothing: every video is analysed.
    again = O.run_now(now_dir, _plan(now_dir, now_sets), anthropic_client)
    assert again.blocked and "Nothing to send" in again.blocked
    assert _answered(emulator) == len(NAMES)


def test_sdk_retries_are_off(tmp_path, fake_ksets, emulator):
    """GAIA's own logic decides: even a client made with SDK retries gets max_retries=0."""
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:1])
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=500, count=None,
                                                  retry_after=None)])
    clock = FakeClock()
    res = O.run_now(folder, _plan(folder, ksets), emulator.client(max_retries=5), max_attempts=2,
                    sleep=clock.sleep, clock=clock)
    assert emulator.calls["messages.create"] == 2  # exactly GAIA's two attempts, no SDK retries in between
    assert res.failed == 1 and "gave up after 2 attempts" in (res.failures[0].error or "")
    assert len(clock.sleeps) == 1  # GAIA's one backoff between its two attempts


# --- rate limits and faults ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 529])
def test_pushback_with_retry_after_is_honoured(tmp_path, fake_ksets, emulator, anthropic_client, status):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=status, count=2, retry_after=7)])
    clock = FakeClock()
    res = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1, sleep=clock.sleep, clock=clock,
                    rng=random.Random(1))
    assert res.ok and res.succeeded == 4
    assert res.throttled == 2 and res.retries == 2 and res.calls == 6
    # Each pushback paused for at least the 7 s the API asked for (plus a little jitter, under a second).
    long_waits = [s for s in clock.sleeps if s >= 7.0]
    assert len(long_waits) == 2 and all(s < 8.0 for s in long_waits), clock.sleeps
    assert _answered(emulator, faults=2) == 4


def test_concurrency_halves_under_pushback_and_grows_back(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, [f"c{i:02d}.mp4" for i in range(24)], frames=1)
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=429, count=3, retry_after=0)])
    res = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=8, rng=random.Random(3))
    assert res.ok and res.succeeded == 24 and res.throttled == 3
    limits = [c.limit for c in res.concurrency]
    assert limits[0] == 8 and res.lowest_concurrency < 8
    assert any(c.reason == "HTTP 429" for c in res.concurrency)
    assert any(c.reason == "calls succeed" for c in res.concurrency)
    assert res.peak_in_flight <= 8


def test_adaptive_concurrency_is_aimd():
    clock = FakeClock()
    lim = O.AdaptiveConcurrency(8, clock=clock, sleep=clock.sleep)
    tokens = [lim.acquire() for _ in range(8)]
    assert lim.in_flight == 8 and lim.limit == 8
    for t in tokens:  # eight answers of one wave of overload cut the limit once, not eight times
        lim.release()
        lim.pushback(t, 2.0, "HTTP 429")
    assert lim.limit == 4
    token = lim.acquire()  # waits out the pause
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(2.0)
    lim.pushback(token, 0.0, "HTTP 529")  # a new wave cuts again
    lim.release()
    assert lim.limit == 2
    for _ in range(2 + 3 + 4 + 5 + 6 + 7):  # one step up per window of successes
        lim.success()
    assert lim.limit == 8
    assert [c.limit for c in lim.changes] == [8, 4, 2, 3, 4, 5, 6, 7, 8]


def test_a_request_that_keeps_failing_is_recorded_then_retried_now_or_in_a_batch(
        tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2])
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=529, count=None, retry_after=0)])
    clock = FakeClock()
    res = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1, max_attempts=2,
                    sleep=clock.sleep, clock=clock)
    # Pushback (429/529) has a larger budget than other failures: 2 x PUSHBACK_BUDGET_FACTOR calls each.
    budget = 2 * DEFAULT_RETRY.pushback_factor
    assert res.failed == 2 and res.calls == 2 * budget
    assert {o.error_kind for o in res.failures} == {"errored:overloaded_error"}
    assert all(f"gave up after {budget} attempts" in (o.error or "") for o in res.failures)
    fails = failures(folder)
    assert [f.mode for f in fails] == ["standard", "standard"] and all(f.cost_usd is None for f in fails)
    emulator.update_config(http_faults=[])
    # Retry one now ...
    again = retry_now(folder, anthropic_client, request_ids=[fails[0].request_id], keyframe_sets=ksets)
    assert len(again) == 1 and again[0].ok and again[0].succeeded == 1
    with Folder.of(folder).ledger() as ledger:
        retried = ledger.request(again[0].outcomes[0].request_id)
    assert retried is not None and retried.retry_of == fails[0].request_id and retried.attempt == 2
    # ... and move the other into a batch.
    moved = retry_failed(folder, anthropic_client, request_ids=[fails[1].request_id], keyframe_sets=ksets)
    assert moved.ok and moved.sent == 1
    watch(folder, anthropic_client, poll_s=0.1)
    assert failures(folder) == []
    for rel in NAMES[:2]:
        assert read_sidecar(folder / rel)["analysis"]


def test_running_again_retries_failures_linked(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2])
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=400, count=1)])
    first = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1)
    assert first.failed == 1 and first.failures[0].error_kind == "errored:invalid_request_error"
    failed_id = first.failures[0].request_id
    second = O.run_now(folder, _plan(folder, ksets), anthropic_client)
    assert second.ok and second.succeeded == 1
    with Folder.of(folder).ledger() as ledger:
        row = ledger.request(second.outcomes[0].request_id)
    assert row is not None and row.retry_of == failed_id
    assert failures(folder) == []


def test_a_refused_key_stops_the_run(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=401, count=None,
                                                  retry_after=None)])
    res = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1)
    assert res.stopped and "refused the key" in res.stopped
    assert res.failed == 1 and len(res.not_sent) == 3 and emulator.calls["messages.create"] == 1


# --- spend cap -----------------------------------------------------------------------------------------

def test_spend_cap(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    plan = _plan(folder, ksets)
    now = O.estimate_now_usd(plan)
    assert now is not None and plan.estimate_usd is not None and now > plan.estimate_usd  # standard vs batch
    blocked = O.run_now(folder, plan, anthropic_client, max_cost_usd=now / 2)
    assert blocked.blocked and "above your cap" in blocked.blocked
    assert "messages.create" not in emulator.calls
    # Under the cap it runs; the cap holds the expected cost of requests in flight, so a tight cap
    # sends them one after another and still never passes.
    res = O.run_now(folder, plan, anthropic_client, max_cost_usd=now * 1.0001)
    assert res.ok and res.spent_usd <= now * 1.0001


def test_spend_cap_stops_a_run_whose_answers_cost_more_than_estimated(tmp_path, fake_ksets, emulator,
                                                                      anthropic_client, monkeypatch):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    plan = _plan(folder, ksets)
    monkeypatch.setattr(O, "estimate_now_usd", lambda p: 1e-6)  # a wildly low estimate
    res = O.run_now(folder, plan, anthropic_client, concurrency=1, max_cost_usd=1e-5)
    assert res.stopped and "spend cap" in res.stopped
    assert res.succeeded == 1 and len(res.not_sent) == 3 and emulator.calls["messages.create"] == 1


# --- interruption and crashes --------------------------------------------------------------------------

class Killed(BaseException):
    """Stands for the process dying (not an Exception, so nothing in GAIA handles it)."""


POINTS = ["online_row_written", "online_answer_received", "online_answer_spooled", "sidecar_written",
          "online_recorded"]


@pytest.mark.parametrize("point", POINTS)
def test_crash_and_restart_sends_nothing_twice(tmp_path, fake_ksets, emulator, anthropic_client, monkeypatch,
                                               point):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    seen: Counter[str] = Counter()

    def hook(name: str) -> None:
        seen[name] += 1
        if name == point and seen[name] == 2:
            raise Killed(point)

    with pytest.raises(Killed):
        O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1, checkpoints=Hook(hook))
    sent_before = emulator.calls["messages.create"]
    assert sent_before == (1 if point == "online_row_written" else 2)

    res = O.run_now(folder, _plan(folder, ksets), anthropic_client)
    assert not res.blocked and res.failed == 0
    # Only what had no answer was sent again; the answer lost between its arrival and its spool write
    # (the one unavoidable repeat) is the only video sent twice.
    lost = 1 if point == "online_answer_received" else 0
    assert emulator.calls["messages.create"] == len(NAMES) + lost
    with Folder.of(folder).ledger() as ledger:
        rows = ledger.requests()
    done = Counter(r.rel_path for r in rows if r.status == "succeeded")
    assert done == Counter(NAMES)  # every video answered and recorded exactly once
    assert all(r.status in ("succeeded", "failed") for r in rows)
    interrupted = [r for r in rows if r.error_kind == O.INTERRUPTED_KIND]
    assert len(interrupted) == (1 if point in ("online_row_written", "online_answer_received") else 0)
    # An interrupted request may have been billed: counted at its estimate, said so, and shown.
    assert all(r.cost_usd == r.estimate_usd and r.cost_usd > 0 and "possibly billed" in r.error
               for r in interrupted)
    assert res.possibly_billed_usd == pytest.approx(sum(r.cost_usd for r in interrupted))
    assert failures(folder) == []  # the interrupted request's retry is linked to it
    for rel in NAMES:
        assert read_sidecar(folder / rel)["analysis"]
    assert not any((folder / ".gaia" / ANSWERS_DIR).glob("*.json"))


def test_interrupt_lets_requests_in_flight_finish_and_restart_sends_the_rest(tmp_path, fake_ksets, emulator,
                                                                            anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)

    def progress(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    res = O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1, on_progress=progress)
    assert res.stopped and res.stopped.startswith("Interrupted")
    assert res.succeeded >= 1 and res.not_sent and res.succeeded + len(res.not_sent) == len(NAMES)
    first = emulator.calls["messages.create"]
    assert first == res.succeeded
    rest = _plan(folder, ksets)
    assert sorted(p.rel_path for p in rest.requests) == sorted(res.not_sent)
    again = O.run_now(folder, rest, anthropic_client)
    assert again.ok and emulator.calls["messages.create"] == len(NAMES)


def test_a_stale_plan_does_not_resend_an_answer_recovered_from_the_spool(tmp_path, fake_ksets, emulator,
                                                                         anthropic_client, monkeypatch):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2])
    plan = _plan(folder, ksets)

    def hook(name: str) -> None:
        if name == "online_answer_spooled":
            raise Killed(name)

    with pytest.raises(Killed):
        O.run_now(folder, plan, anthropic_client, concurrency=1, checkpoints=Hook(hook))
    res = O.run_now(folder, plan, anthropic_client)  # the plan made before the crash, reused
    assert len(res.recovered) == 1 and res.recovered[0].status == "succeeded"
    assert any("not sent again" in p for p in res.problems)
    assert emulator.calls["messages.create"] == 2


def test_two_runs_do_not_overlap(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:1])
    plan = _plan(folder, ksets)
    with Folder(folder).lock(LOCK_SEND):
        res = O.run_now(folder, plan, anthropic_client)
    assert res.blocked and "Another GAIA process" in res.blocked


# --- the choice, and the trial ---------------------------------------------------------------------------

def test_run_choice_states_cost_and_wait(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    plan = _plan(folder, ksets)
    choice = T.run_choice(plan, concurrency=2)
    assert choice.now_usd == pytest.approx(plan.estimate.scenario("caching").total_usd)
    assert choice.batch_usd == plan.estimate_usd and choice.extra_usd > 0
    assert choice.batch_wait_text == "usually under an hour, at most 24 h" and choice.batch_wait_source == "default"
    assert choice.answer_s_source == "assumed" and choice.now_wait_s == 2 * T.ASSUMED_ANSWER_S
    # After a batch and a run now, both waits come from the folder's own history.
    batch_plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets[:2])
    assert submit(folder, batch_plan, anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1)
    assert O.run_now(folder, _plan(folder, ksets), anthropic_client).ok
    choice = T.run_choice(plan_submission(folder, RunSettings(), keyframe_sets=ksets, force=True))
    assert choice.batch_wait_source == "history" and "median of 1 past batch" in choice.batch_wait_text
    assert choice.answer_s_source == "history" and choice.answer_s < T.ASSUMED_ANSWER_S
    if choice.now_wait_s is not None and choice.now_wait_s < 1:  # the emulator answers in milliseconds
        assert choice.now_wait_text.startswith("under a second")  # never "about 0 s" (issue 26, item 9)
    assert "0 s" not in choice.now_wait_text.replace("10 s", "")


def test_pick_trial_videos_spreads_and_prefers_unanalysed():
    paths = [f"v{i:02d}" for i in range(10)]
    assert T.pick_trial_videos(paths, 3, {}) == ["v01", "v05", "v08"]
    states = {p: "analysed" for p in paths} | {"v07": "none", "v02": "stale"}
    assert T.pick_trial_videos(paths, 3, states) == ["v02", "v05", "v07"]
    assert T.pick_trial_videos(paths[:2], 5, {}) == paths[:2]


def test_trial_usage_reaches_the_history_and_the_estimate(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    names = [f"c{i}.mp4" for i in range(6)]
    ksets = fake_ksets(folder, names)
    profile = Folder(folder).profile("default")
    before = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert before.estimate.output.source == "schema"  # no answers yet: from the schema's shape
    trial = T.run_trial(folder, anthropic_client, n=2, keyframe_sets=ksets, settings=RunSettings())
    assert trial.blocked is None and trial.run.succeeded == 2 and len(trial.videos) == 2
    for v in trial.videos:
        assert v.status == "succeeded" and v.analysis and len(v.frames) == 3 and v.usage
        assert sidecar_path(folder / v.rel_path).is_file()
    hist = history(folder, profile.hash, RunSettings().model)
    assert sorted(hist.output_tokens) == sorted(v.usage["output_tokens"] for v in trial.videos)
    assert hist.cache_read_shares  # the trial's cache behaviour too
    after = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert after.estimate.output.source == "history" and after.estimate.output.samples == 2
    assert len(after.requests) == 4 and len(after.skipped_by("analysed")) == 2  # the trial's answers count
    with Folder.of(folder).ledger() as ledger:
        assert ledger.run(trial.run.run_id).note == "trial"
    assert emulator.calls["messages.create"] == 2


def test_one_bad_request_never_stops_the_others(tmp_path, fake_ksets, emulator, anthropic_client, monkeypatch):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    plan = _plan(folder, ksets)
    ksets[1].frames[0].path.unlink()  # a frame gone from the cache after planning
    real = Recorder.record
    calls = Counter()

    def flaky(self, row, message):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        return real(self, row, message)

    monkeypatch.setattr(Recorder, "record", flaky)
    res = O.run_now(folder, plan, anthropic_client, concurrency=1)
    assert res.succeeded == 2 and res.failed == 1 and res.not_sent == (NAMES[1],)
    assert res.failures[0].error_kind == "unexpected" and "disk on fire" in res.failures[0].error
    assert any("could not be read" in p for p in res.problems)
    # The failure is listed for a retry, and no spooled answer is left behind after the next start.
    assert [f.error_kind for f in failures(folder)] == ["unexpected"]
    monkeypatch.setattr(Recorder, "record", real)
    recover_interrupted(folder)
    assert not any((folder / ".gaia" / ANSWERS_DIR).glob("*.json"))


def test_a_batch_plan_counts_an_answer_a_crashed_run_spooled(tmp_path, fake_ksets, emulator, anthropic_client,
                                                             monkeypatch):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2])

    def hook(name: str) -> None:
        if name == "online_answer_spooled":
            raise Killed(name)

    with pytest.raises(Killed):
        O.run_now(folder, _plan(folder, ksets), anthropic_client, concurrency=1, checkpoints=Hook(hook))
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)  # a batch, not a run now
    assert [s.kind for s in plan.skipped] == ["analysed"] and len(plan.requests) == 1
    assert read_sidecar(folder / plan.skipped[0].rel_path)["run"]["mode"] == "standard"


def test_frames_by_file_id_are_uploaded_once_and_referenced(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2])
    plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets, image_source="file")
    res = O.run_now(folder, plan, anthropic_client)
    assert res.ok and res.succeeded == 2
    assert emulator.calls["files.upload"] == 6  # 2 videos x 3 frames, each once
    for rel in NAMES[:2]:
        assert read_sidecar(folder / rel)["analysis"]
