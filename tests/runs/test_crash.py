"""Killing GAIA at any point of a submission or a retrieval loses nothing, writes nothing twice and
never submits a video twice: checked in-process (an exception at every checkpoint) and with real
``gaia`` processes killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anthropic
import pytest

from gaia.folder import Folder
from gaia.runs import recorder
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve, watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, sidecar_path
from tests.runs._hooks import Killed, kill_at

KILLER = Path(__file__).with_name("_killer.py")


def sent_custom_ids(client: anthropic.Anthropic) -> Counter[str]:
    """Every custom_id the emulator received, over all batches (waits for them to end)."""
    deadline = time.monotonic() + 20
    ids: Counter[str] = Counter()
    for batch in client.messages.batches.list(limit=100):
        while client.messages.batches.retrieve(batch.id).processing_status != "ended":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        ids.update(r.custom_id for r in client.messages.batches.results(batch.id))
    return ids


def sent_videos(folder: Path, sent: Counter[str]) -> Counter[str]:
    """How many times each of ``folder``'s videos was sent, from the custom_ids the API received
    (ids this folder's ledger does not hold are not its own and are left out)."""
    with Folder.of(folder).ledger() as ledger:
        by_id = {r.custom_id: r.rel_path for r in ledger.requests()}
    out: Counter[str] = Counter()
    for cid, n in sent.items():
        if cid in by_id:
            out[by_id[cid]] += n
    return out


def settle(folder: Path, client: anthropic.Anthropic, ksets, **plan_kw) -> None:
    """What a user does after a crash: submit again until nothing is left, then watch to the end."""
    for _ in range(4):
        plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, client=client, **plan_kw)
        if not plan.requests:
            break
        assert submit(folder, plan, client).ok
    watch(folder, client, poll_s=0.1)


SUBMIT_POINTS = ["spool_written", "intent_written", "batch_created", "batch_recorded"]


@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("point", SUBMIT_POINTS)
def test_submit_killed_at_every_point(tmp_path, fake_ksets, anthropic_client, monkeypatch, point, nth):
    folder = tmp_path / "v"
    names = [f"c{i}.mp4" for i in range(6)]
    ksets = fake_ksets(folder, names, frames=1)
    one = plan_submission(folder, RunSettings(), keyframe_sets=ksets[:1]).requests[0].nbytes
    small = {"max_batch_bytes": int(one * 2.5 / 0.98)}  # three batches of two
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, **small)
    assert len(plan.batches) == 3
    with pytest.raises(Killed):
        submit(folder, plan, anthropic_client, checkpoints=kill_at(point, nth))
    settle(folder, anthropic_client, ksets, **small)
    sent = sent_custom_ids(anthropic_client)
    videos = sent_videos(folder, sent)
    assert sum(sent.values()) == len(names) and sorted(videos) == sorted(names)
    assert set(videos.values()) == {1}, sent  # no video sent twice
    assert all(read_sidecar(folder / n) for n in names)  # none lost
    with Folder.of(folder).ledger() as ledger:
        assert not ledger.batches(states=["pending"])
        assert {r.status for r in ledger.requests()} <= {"succeeded", "unsent"}
        assert not list((folder / ".gaia" / "spool").glob("*"))


RETRIEVE_POINTS = ["result_received", "sidecar_written", "result_recorded"]


@pytest.mark.parametrize("nth", [1, 4])
@pytest.mark.parametrize("point", RETRIEVE_POINTS)
def test_retrieve_killed_at_every_point(tmp_path, fake_ksets, anthropic_client, emulator, monkeypatch, point, nth):
    emulator.update_config(errored_rate=0.2, seed=5)
    folder = tmp_path / "v"
    names = [f"c{i}.mp4" for i in range(8)]
    ksets = fake_ksets(folder, names, frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1, retrieve_results=False)
    writes: Counter[str] = Counter()
    real_write = recorder.write_sidecar

    def counting_write(video, updates):
        writes[Path(video).name] += 1
        return real_write(video, updates)

    monkeypatch.setattr(recorder, "write_sidecar", counting_write)
    with pytest.raises(Killed):
        retrieve(folder, anthropic_client, checkpoints=kill_at(point, nth))
    before = {n: sidecar_path(folder / n).stat().st_mtime_ns for n in names if sidecar_path(folder / n).exists()}
    again = retrieve(folder, anthropic_client)
    assert again.complete
    assert retrieve(folder, anthropic_client).batches == ()  # nothing left to do
    for n, mtime in before.items():
        assert sidecar_path(folder / n).stat().st_mtime_ns == mtime, f"{n} was written again"
    assert set(writes.values()) == {1}, writes  # every sidecar written exactly once
    fails = {f.rel_path for f in failures(folder)}
    assert len(writes) + len(fails) == len(names)  # every result: a sidecar or a stated reason
    assert fails.isdisjoint(writes)
    with Folder.of(folder).ledger() as ledger:
        assert {r.status for r in ledger.requests()} == {"succeeded", "failed"} or \
            {r.status for r in ledger.requests()} == {"succeeded"}


# --- real processes, SIGKILL ----------------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str], kill_at: str | None = None) -> subprocess.CompletedProcess:
    """Run ``gaia ARGS`` in a real process; with ``kill_at`` (``POINT:N``) it is SIGKILLed at that checkpoint."""
    cmd = [sys.executable, str(KILLER), kill_at, *args] if kill_at else [sys.executable, "-m", "gaia", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def cli_env(emulator) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=emulator.base_url)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("point", SUBMIT_POINTS)
def test_cli_submit_sigkill(make_folder, anthropic_client, cli_env, point):
    folder = make_folder({"a.mp4": "testsrc", "sub dir/b é.MOV": "mov", "c.mkv": "mkv"})
    killed = run_cli(["submit", str(folder), "--yes"], cli_env, kill_at=f"{point}:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = run_cli(["submit", str(folder), "--yes"], cli_env)
    assert again.returncode == 0, again.stdout + again.stderr
    watched = run_cli(["watch", str(folder), "--poll", "0.2"], cli_env)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    sent = sent_custom_ids(anthropic_client)
    rels = ["a.mp4", "sub dir/b é.MOV", "c.mkv"]
    videos = sent_videos(folder, sent)
    assert sum(sent.values()) == len(rels) and sorted(videos) == sorted(rels) and set(videos.values()) == {1}
    assert all(read_sidecar(folder / r) for r in rels)


@pytest.mark.slow
def test_cli_retrieve_sigkill(make_folder, anthropic_client, cli_env):
    rels = ["a.mp4", "b.mp4", "c.mov", "d.mkv"]
    folder = make_folder(dict(zip(rels, ["testsrc", "cuts", "mov", "mkv"], strict=True)))
    assert run_cli(["submit", str(folder), "--yes"], cli_env).returncode == 0
    time.sleep(0.5)
    assert run_cli(["status", str(folder)], cli_env).returncode == 0
    killed = run_cli(["retrieve", str(folder)], cli_env, kill_at="sidecar_written:2")
    assert killed.returncode == -signal.SIGKILL
    written = {r: sidecar_path(folder / r).stat().st_mtime_ns for r in rels if sidecar_path(folder / r).exists()}
    # Killed as the second result was about to be marked done: at least two sidecars are on disk
    # (sidecar writes run slightly ahead of the ledger), none of them recorded in the ledger yet.
    assert len(written) >= 2
    done = run_cli(["retrieve", str(folder)], cli_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Wrote {len(rels) - len(written)} sidecar(s)" in done.stdout
    for r, mtime in written.items():
        assert sidecar_path(folder / r).stat().st_mtime_ns == mtime
    assert all(read_sidecar(folder / r) for r in rels)


def test_unreachable_list_after_a_crash_blocks_instead_of_guessing(tmp_path, fake_ksets, anthropic_client, emulator,
                                                                   monkeypatch):
    from gaia.emulator import HttpFault

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    with pytest.raises(Killed):  # the batch exists, the ledger does not know its id
        submit(folder, plan, anthropic_client, checkpoints=kill_at("batch_created", 1))
    emulator.update_config(http_faults=[HttpFault(route="batches.list", status=500, count=None)])
    res = submit(folder, plan, anthropic_client)
    assert res.blocked and "interrupted" in res.blocked and res.sent == 0
    emulator.update_config(http_faults=[])
    assert len(list(anthropic_client.messages.batches.list())) == 1
    again = plan_submission(folder, RunSettings(), keyframe_sets=ksets, client=anthropic_client)
    assert not again.requests and len(again.skipped_by("in_flight")) == 2  # adopted, not sent again
