"""``gaia run`` and ``gaia submit`` on one folder at once never send a video twice (issue 14, item 3):
one send lock, and one view of what is in flight or answered, checked under the lock at send time
whichever transport planned first."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

import gaia
from gaia.runs import now as O
from gaia.settings import RunSettings
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
    batch_plan = gaia.plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    now_plan = gaia.plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    assert len(batch_plan.requests) == len(now_plan.requests) == len(NAMES)  # both would send everything
    if first == "submit":
        assert gaia.submit(folder, batch_plan, anthropic_client).ok
        res = O.run_now(folder, now_plan, anthropic_client)
        assert res.blocked and not res.outcomes
    else:
        assert O.run_now(folder, now_plan, anthropic_client).succeeded == len(NAMES)
        res = gaia.submit(folder, batch_plan, anthropic_client)
        assert res.sent == 0 and sorted(res.dropped) == NAMES
    gaia.watch(folder, anthropic_client, poll_s=0.1)
    assert _sent(folder, anthropic_client, emulator) == Counter(NAMES)


def test_run_and_submit_at_the_same_time(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    batch_plan = gaia.plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    now_plan = gaia.plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    go = threading.Barrier(2)
    out: dict[str, object] = {}

    def submit() -> None:
        go.wait()
        out["submit"] = gaia.submit(folder, batch_plan, anthropic_client)

    def run() -> None:
        go.wait()
        out["run"] = O.run_now(folder, now_plan, anthropic_client, concurrency=2)

    threads = [threading.Thread(target=submit), threading.Thread(target=run)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gaia.watch(folder, anthropic_client, poll_s=0.1)
    # Whichever took the send lock first sent everything; the other was refused or sent nothing new.
    assert _sent(folder, anthropic_client, emulator) == Counter(NAMES)
    assert all(gaia.read_sidecar(folder / n) for n in NAMES)
