"""Reconciliation trusts neither size, time nor the local ledger alone (issue 22, items 2-4): a foreign
batch of the same size created between one's intent and one's own batch is never adopted; a local
clock off by +1 h, -1 day or +30 days changes nothing; results are declared gone only by the API."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

import gaia.ledger as L
from gaia.folder import Folder
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar
from tests.runs._hooks import Hook, Killed
from tests.runs.test_crash import sent_custom_ids, sent_videos
from tests.runs.test_two_folders import NAMES, own_answers, settle


class ShiftedClock(L.Clock):
    """GAIA's local clock, off by ``offset`` (injected as an object, never through the environment)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self):
        return super().now() + self.offset


def foreign_in_between(b, ksets_b, client):
    """Checkpoints for A: when its intent is written, folder B creates a batch of the same size; when A's
    own batch is created, A dies before recording it."""

    def hook(point: str) -> None:
        if point == "intent_written":
            assert submit(b, plan_submission(b, RunSettings(), keyframe_sets=ksets_b), client).ok
        if point == "batch_created":
            raise Killed(point)

    return Hook(hook)


@pytest.mark.parametrize("b_running", [True, False], ids=["foreign-running", "foreign-ended"])
def test_a_foreign_batch_created_in_between_is_never_adopted(tmp_path, fake_ksets, anthropic_client, emulator,
                                                             b_running):
    a, b = tmp_path / "A", tmp_path / "B"
    ksets_a, ksets_b = fake_ksets(a, NAMES, frames=2), fake_ksets(b, NAMES, frames=1)
    emulator.update_config(batch_delay_s=1.5 if b_running else 0.3)
    with pytest.raises(Killed):
        submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets_a), anthropic_client,
                 checkpoints=foreign_in_between(b, ksets_b, anthropic_client))
    if not b_running:
        watch(b, anthropic_client, poll_s=0.1)
    settle(a, anthropic_client, ksets_a)
    watch(a, anthropic_client, poll_s=0.1)
    watch(b, anthropic_client, poll_s=0.1)
    own_answers(a)
    sent = sent_custom_ids(anthropic_client)
    assert sent_videos(a, sent) == Counter(dict.fromkeys(NAMES, 1))  # A's own batch found: nothing paid twice
    with Folder.of(a).ledger() as ledger:
        assert len([x for x in ledger.batches() if x.state == "submitted"]) == 1


@pytest.mark.parametrize("offset", [timedelta(hours=1), timedelta(days=-1), timedelta(days=30)],
                         ids=["+1h", "-1day", "+30days"])
def test_the_local_clock_decides_nothing(tmp_path, fake_ksets, anthropic_client, emulator, monkeypatch, offset):
    monkeypatch.setattr(L, "CLOCK", ShiftedClock(offset))
    a = tmp_path / "A"
    ksets = fake_ksets(a, NAMES, frames=1)
    with pytest.raises(Killed):  # the batch is created, GAIA dies before recording it
        submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets), anthropic_client,
                 checkpoints=Hook(lambda p: (_ for _ in ()).throw(Killed(p)) if p == "batch_created" else None))
    settle(a, anthropic_client, ksets)
    watch(a, anthropic_client, poll_s=0.1)
    assert all(read_sidecar(a / n)["analysis"] for n in NAMES)
    assert sent_videos(a, sent_custom_ids(anthropic_client)) == Counter(dict.fromkeys(NAMES, 1))
    assert failures(a) == []  # +30 days: results are not declared expired without asking the API


def _lose(folder, how):
    path = folder / ".gaia" / "ledger.sqlite3"
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    if how == "deleted":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"not a database " * 300)


@pytest.mark.parametrize("killed", [False, True], ids=["recorded", "killed-before-recording"])
@pytest.mark.parametrize("how", ["deleted", "empty", "damaged"])
def test_a_lost_ledger_with_a_batch_in_flight_is_rebuilt_before_anything_is_sent(tmp_path, fake_ksets,
                                                                                  anthropic_client, emulator,
                                                                                  how, killed):
    a = tmp_path / "A"
    ksets = fake_ksets(a, NAMES, frames=1)
    emulator.update_config(batch_delay_s=1.0)
    plan = plan_submission(a, RunSettings(), keyframe_sets=ksets)
    if killed:
        with pytest.raises(Killed):
            submit(a, plan, anthropic_client,
                     checkpoints=Hook(lambda p: (_ for _ in ()).throw(Killed(p)) if p == "batch_created" else None))
    else:
        assert submit(a, plan, anthropic_client).ok
    _lose(a, how)
    again = plan_submission(a, RunSettings(), keyframe_sets=ksets, client=anthropic_client)
    assert not again.requests  # in flight: nothing to send
    res = submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets), anthropic_client)
    assert res.sent == 0
    watch(a, anthropic_client, poll_s=0.1)
    assert all(read_sidecar(a / n)["analysis"] for n in NAMES)
    assert sent_videos(a, sent_custom_ids(anthropic_client)) == Counter(dict.fromkeys(NAMES, 1))
    if how == "damaged":
        assert [p for p in (a / ".gaia").iterdir() if "damaged" in p.name]
    assert not plan_submission(a, RunSettings(), keyframe_sets=ksets, client=anthropic_client).requests
    assert not list((a / ".gaia" / "manifests").glob("*.json"))  # settled batches leave no manifest


@pytest.mark.parametrize("how", ["deleted", "damaged"])
def test_a_lost_ledger_keeps_what_was_spent_from_the_sidecars(tmp_path, fake_ksets, anthropic_client, how):
    from gaia.pricing.bill import folder_spend

    a = tmp_path / "A"
    ksets = fake_ksets(a, NAMES, frames=1)
    assert submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(a, anthropic_client, poll_s=0.1)
    before = folder_spend(a).total_usd
    assert before > 0
    _lose(a, how)
    assert not plan_submission(a, RunSettings(), keyframe_sets=ksets, client=anthropic_client).requests
    assert folder_spend(a).total_usd == pytest.approx(before)
    plan_submission(a, RunSettings(), keyframe_sets=ksets, client=anthropic_client)  # restored once, not twice
    assert folder_spend(a).total_usd == pytest.approx(before)
