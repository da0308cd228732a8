"""A folder only ever writes answers to requests it sent: two folders with the same file names, one
killed at every submission checkpoint, never take each other's batch (issue 14, item 1)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gaia.api.requests import build_request, custom_id_for
from gaia.folder import Folder
from gaia.ledger import RequestIntent
from gaia.runs.batch import reconcile, submit
from gaia.runs.failures import failures, plan_retry
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import watch
from gaia.runs.status import refresh_status
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar
from tests.runs._hooks import Killed, kill_at
from tests.runs.test_crash import SUBMIT_POINTS, sent_custom_ids, sent_videos

NAMES = [f"clip{i:02d}.mp4" for i in range(1, 5)]


def ledger_ids(folder: Path) -> dict[str, str]:
    with Folder.of(folder).ledger() as ledger:
        return {r.custom_id: r.rel_path for r in ledger.requests()}


def settle(folder: Path, client, ksets) -> None:
    """Submit until nothing is left to send and watch to the end (a disowned batch needs one more round)."""
    for _ in range(4):
        plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, client=client)
        if plan.requests:
            assert submit(folder, plan, client).ok
        elif not any(s.running for s in refresh_status(folder, client)):
            watch(folder, client, poll_s=0.1)  # an adopted batch may have ended unretrieved
            return
        watch(folder, client, poll_s=0.1)


def own_answers(folder: Path) -> None:
    """Every sidecar holds an answer to a request this folder's ledger sent for that very video."""
    mine = ledger_ids(folder)
    with Folder.of(folder).ledger() as ledger:
        done = {r.custom_id: r for r in ledger.requests(status="succeeded")}
    for rel in NAMES:
        run = read_sidecar(folder / rel)["run"]
        assert mine.get(run["custom_id"]) == rel, (rel, run)
        assert done[run["custom_id"]].batch_id == run["batch_id"]


@pytest.mark.parametrize("other_running", [False, True], ids=["other-ended", "other-running"])
@pytest.mark.parametrize("point", SUBMIT_POINTS)
def test_two_folders_same_names_killed_at_every_point(tmp_path, fake_ksets, anthropic_client, emulator, point,
                                                      other_running):
    a, b = tmp_path / "A", tmp_path / "B"
    ksets_b = fake_ksets(b, NAMES, frames=1)
    ksets_a = fake_ksets(a, NAMES, frames=2)
    if other_running:  # B's batch is still running when A reconciles: adopted only provisionally
        emulator.update_config(batch_delay_s=1.0)
    assert submit(b, plan_submission(b, RunSettings(), keyframe_sets=ksets_b), anthropic_client).ok
    emulator.update_config(batch_delay_s=0.3)
    if not other_running:
        watch(b, anthropic_client, poll_s=0.1)
    with pytest.raises(Killed):
        submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets_a), anthropic_client,
                 checkpoints=kill_at(point))
    settle(a, anthropic_client, ksets_a)
    watch(b, anthropic_client, poll_s=0.1)
    assert not set(ledger_ids(a)) & set(ledger_ids(b))  # ids are the folder's and the run's own
    own_answers(a)
    own_answers(b)
    sent = sent_custom_ids(anthropic_client)
    for folder in (a, b):  # every video sent, none twice
        videos = sent_videos(folder, sent)
        assert sorted(videos) == NAMES and set(videos.values()) == {1}, (folder.name, videos)
    assert sum(sent.values()) == 2 * len(NAMES)


def test_a_running_foreign_batch_is_adopted_then_disowned_unread(tmp_path, fake_ksets, anthropic_client, emulator):
    a, b = tmp_path / "A", tmp_path / "B"
    ksets_b, ksets_a = fake_ksets(b, NAMES, frames=1), fake_ksets(a, NAMES, frames=2)
    emulator.update_config(batch_delay_s=1.0)
    with pytest.raises(Killed):  # A's intent is written, its batch never created
        submit(a, plan_submission(a, RunSettings(), keyframe_sets=ksets_a), anthropic_client,
                 checkpoints=kill_at("intent_written"))
    assert submit(b, plan_submission(b, RunSettings(), keyframe_sets=ksets_b), anthropic_client).ok
    (adopted,) = reconcile(a, anthropic_client)  # B's batch, still running, is all it can see
    assert adopted.batch_id is not None
    watch(a, anthropic_client, poll_s=0.1)
    assert all(read_sidecar(a / n) is None for n in NAMES)  # none of B's answers written into A
    with Folder.of(a).ledger() as ledger:
        assert {r.status for r in ledger.requests()} == {"unsent"}
        assert ledger.events(kind="disowned_batch")
        assert adopted.batch_id in ledger.known_batch_ids()  # never adopted again
    plan = plan_submission(a, RunSettings(), keyframe_sets=ksets_a, client=anthropic_client)
    assert len(plan.requests) == len(NAMES)  # A's videos go out now
    assert submit(a, plan, anthropic_client).ok
    watch(a, anthropic_client, poll_s=0.1)
    own_answers(a)


def test_an_old_style_ledger_still_retrieves_and_retries(tmp_path, fake_ksets, anthropic_client, emulator):
    """A batch sent before ids were scoped (custom_id = hash of the path alone) is retrieved and retried."""
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:2], frames=1)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert [r.custom_id for r in plan.requests] == [custom_id_for(n) for n in NAMES[:2]]  # the unscoped form
    requests = [build_request(k, plan.profile, model=plan.model, cache_ttl=plan.settings.cache_ttl) for k in ksets]
    batch = anthropic_client.messages.batches.create(requests=requests)
    with Folder.of(folder).ledger() as ledger:  # the ledger as the old code wrote it
        settings = {**plan.settings.to_dict(), "max_tokens": plan.max_tokens,
                    "prompt_profile_name": plan.profile.name, "image_source": "base64"}
        run = ledger.new_run(mode="batch", model=plan.model, prompt_hash=plan.profile.hash, settings=settings)
        intents = [RequestIntent(custom_id=custom_id_for(k.rel_path), rel_path=k.rel_path, set_id=k.set_id,
                                 timestamps=tuple(f.timestamp for f in k.frames), prompt_hash=plan.profile.hash,
                                 model=plan.model, fingerprint=plan.fingerprint) for k in ksets]
        local = ledger.add_batch_intent(run, intents)
        ledger.mark_batch_submitted(local, batch.model_dump(mode="json"))
        second = ledger.requests(rel_path=NAMES[1])[0]  # as if it had expired: to be retried
        ledger.finish_request(second.id, "failed", error_kind="expired", error="expired")
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / NAMES[0]) is not None
    assert [f.rel_path for f in failures(folder)] == [NAMES[1]]
    Folder.of(folder).save_profile(plan.profile)
    (retry,) = plan_retry(folder, keyframe_sets=ksets)
    assert [r.rel_path for r in retry.requests] == [NAMES[1]]
    assert submit(folder, retry, anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / NAMES[1]) is not None and not failures(folder)
    assert sent_videos(folder, sent_custom_ids(anthropic_client)) == Counter({NAMES[0]: 1, NAMES[1]: 2})

