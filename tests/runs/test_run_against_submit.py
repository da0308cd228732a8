"""``gaia run`` and ``gaia submit`` on one folder at once never send a video twice (issue 14, item 3):
one send lock, and one view of what is in flight or answered, checked under the lock at send time
whichever transport planned first."""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

import gaia
from gaia.runs import now as O
from gaia.runs.batch import submit as submit_batch
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.retrieve import watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar
from tests.runs.test_crash import sent_custom_ids, sent_videos

NAMES = [f"clip{i:02d}.mp4" for i in range(6)]


def _sent(folder, client, emulator) -> Counter[str]:
    """Every video sent by either transport: batch requests from the emulator, run-now calls from the ledger."""
    videos = sent_videos(folder, sent_custom_ids(client))
    with gaia.Folder.of(folder).ledger() as ledger:
        videos.update(r.rel_path for r in ledger.requests() if r.mode == "standard")
    assert sum(videos.values()) == sum(sent_custom_ids(client).values()) + emulator.calls.get("messages.create", 0)
    return videos


@pytest.mark.parametrize("first", ["submit", "run"])
def test_plans_made_together_send_each_video_once(tmp_path, fake_ksets, anthropic_client, emulator, first):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    batch_plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    now_plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    assert len(batch_plan.requests) == len(now_plan.requests) == len(NAMES)  # both would send everything
    if first == "submit":
        assert submit_batch(folder, batch_plan, anthropic_client).ok
        res = O.run_now(folder, now_plan, anthropic_client)
        assert res.blocked and not res.outcomes
    else:
        assert O.run_now(folder, now_plan, anthropic_client).succeeded == len(NAMES)
        res = submit_batch(folder, batch_plan, anthropic_client)
        assert res.sent == 0 and sorted(res.dropped) == NAMES
    watch(folder, anthropic_client, poll_s=0.1)
    assert _sent(folder, anthropic_client, emulator) == Counter(NAMES)


def test_run_and_submit_at_the_same_time(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    batch_plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    now_plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    go = threading.Barrier(2)
    out: dict[str, object] = {}

    def submit() -> None:
        go.wait()
        out["submit"] = submit_batch(folder, batch_plan, anthropic_client)

    def run() -> None:
        go.wait()
        out["run"] = O.run_now(folder, now_plan, anthropic_client, concurrency=2)

    threads = [threading.Thread(target=submit), threading.Thread(target=run)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    watch(folder, anthropic_client, poll_s=0.1)
    # Whichever took the send lock first sent everything; the other was refused or sent nothing new.
    assert _sent(folder, anthropic_client, emulator) == Counter(NAMES)
    assert all(read_sidecar(folder / n) for n in NAMES)


def test_a_send_right_after_the_plans_in_flight_check_is_never_paid_twice(tmp_path, fake_ksets, anthropic_client,
                                                                          emulator, monkeypatch):
    """Session 1 starts running now right after session 2's plan read what is in flight, and is answered
    after that plan is made: the plan's mark is taken with its view, so session 2's submit sends none of
    those videos (issue 22, item 6)."""
    import time

    from gaia.ledger import Ledger

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    gaia.Folder.of(folder).ledger().close()
    now_plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    emulator.update_config(messages_latency_s=1.5)
    real = Ledger.in_flight
    other: list[threading.Thread] = []
    got: list[object] = []

    def in_flight_then_other_session_runs(self):
        view = real(self)
        if not other and sys._getframe(1).f_code.co_name in ("build_plan", "in_flight_snapshot"):
            other.append(threading.Thread(target=lambda: got.append(O.run_now(folder, now_plan, anthropic_client))))
            other[0].start()
            deadline = time.monotonic() + 10
            while not real(Ledger(self.path)):  # its first requests are recorded (and sent)
                assert time.monotonic() < deadline, got
                time.sleep(0.02)
        return view

    monkeypatch.setattr(Ledger, "in_flight", in_flight_then_other_session_runs)
    batch_plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    monkeypatch.setattr(Ledger, "in_flight", real)
    other[0].join()
    assert batch_plan.requests  # the plan was made before they were answered
    res = submit_batch(folder, batch_plan, anthropic_client)
    assert res.sent == 0
    assert _sent(folder, anthropic_client, emulator) == Counter(NAMES)


class _NoBatches:
    """The emulator's client, whose Models endpoint says the model takes no batches."""

    def __init__(self, client):
        self._client = client
        info = type("Info", (), {"capabilities": type("Caps", (), {"batch": type("S", (), {"supported": False})()})()})
        self.models = type("Models", (), {"retrieve": staticmethod(lambda model: info())})()

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.mark.parametrize("no_batches", [False, True])
def test_run_now_plan_shares_the_batch_plans_requests(tmp_path, fake_ksets, anthropic_client, emulator, no_batches):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    client = _NoBatches(anthropic_client) if no_batches else anthropic_client
    batch = plan_submission(folder, RunSettings(), keyframe_sets=ksets, client=client)
    assert batch.ok  # planning does not ask the Models endpoint: sending does (below)
    alone = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    shared = plan_run_now(folder, RunSettings(), like=batch)
    assert shared.requests is batch.requests and shared.estimate is batch.estimate  # shared, not planned again
    assert shared.problems == alone.problems and shared.ok
    for name in ("requests", "batches", "skipped", "estimate", "estimate_usd", "notes", "max_tokens", "profile"):
        assert getattr(shared, name) == getattr(alone, name), name
    other = plan_run_now(folder, RunSettings(model="claude-haiku-4-5"), like=batch)  # other settings: planned anew
    assert other.requests is not batch.requests and other.model == "claude-haiku-4-5"
    assert plan_run_now(folder, RunSettings(), limit=2, like=batch).requests is not batch.requests  # a limit: anew
    if no_batches:  # the Models endpoint says no batches when the batch is sent; a run now takes no batch
        refused = submit_batch(folder, batch, client)
        assert "does not support the Message Batches API" in (refused.blocked or "") and not refused.batches
        assert "batches.create" not in emulator.calls
        assert O.run_now(folder, shared, client).succeeded == len(NAMES)
