"""Refreshing the status of a folder's batches asks the API's batch list once (paging only as far back as
the unfinished batches go), not once per batch; a batch the list does not show is still asked about by id."""

from __future__ import annotations

from pathlib import Path

from gaia.emulator import HttpFault
from gaia.runs import status
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.status import batch_statuses, refresh_status
from gaia.settings import RunSettings

NAMES = [f"clip{i:02d}.mp4" for i in range(6)]


def three_batches(folder: Path, fake_ksets, client) -> None:
    """Three batches sent one after the other (two videos each), all still running."""
    ksets = fake_ksets(folder, NAMES, frames=1)
    for i in range(3):
        plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets[2 * i: 2 * i + 2])
        assert submit(folder, plan, client).ok


def calls_during(emulator, fn) -> dict[str, int]:
    before = emulator.calls
    fn()
    after = emulator.calls
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def test_one_list_call_answers_for_every_running_batch(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=3600)
    folder = tmp_path / "v"
    three_batches(folder, fake_ksets, anthropic_client)
    foreign = tmp_path / "other"  # another folder's batches, newer, in the same list
    other = fake_ksets(foreign, NAMES[:1], frames=1)
    assert submit(foreign, plan_submission(foreign, RunSettings(), keyframe_sets=other),
                       anthropic_client).ok
    out: list = []
    calls = calls_during(emulator, lambda: out.extend(refresh_status(folder, anthropic_client)))
    assert calls == {"batches.list": 1}
    assert len(out) == 3 and all(s.processing_status == "in_progress" and s.error is None for s in out)
    emulator.advance_clock(3601)  # every batch ends: one list call sees it for all three
    calls = calls_during(emulator, lambda: out.__setitem__(slice(None), refresh_status(folder, anthropic_client)))
    assert calls == {"batches.list": 1}
    assert all(s.ended for s in out)
    calls = calls_during(emulator, lambda: refresh_status(folder, anthropic_client))
    assert calls == {}  # nothing unfinished: no call at all


def test_the_list_pages_back_only_as_far_as_needed(tmp_path, fake_ksets, anthropic_client, emulator, monkeypatch):
    monkeypatch.setattr(status, "LIST_PAGE_SIZE", 2)
    emulator.update_config(batch_delay_s=3600)
    folder = tmp_path / "v"
    three_batches(folder, fake_ksets, anthropic_client)  # three batches: two pages of two
    calls = calls_during(emulator, lambda: refresh_status(folder, anthropic_client))
    assert calls == {"batches.list": 2}


def test_a_batch_the_list_does_not_show_is_asked_about_by_id(tmp_path, fake_ksets, anthropic_client, emulator,
                                                             monkeypatch):
    emulator.update_config(batch_delay_s=3600)
    folder = tmp_path / "v"
    three_batches(folder, fake_ksets, anthropic_client)
    monkeypatch.setattr(status, "LIST_PAGE_SIZE", 1)
    monkeypatch.setattr(status, "LIST_PAGES", 1)  # the list shows only the newest batch
    emulator.advance_clock(3601)
    calls = calls_during(emulator, lambda: refresh_status(folder, anthropic_client))
    assert calls == {"batches.list": 1, "batches.retrieve": 2}
    assert all(s.ended and s.error is None for s in batch_statuses(folder))


def test_a_failed_list_falls_back_to_one_call_per_batch(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=3600)
    folder = tmp_path / "v"
    three_batches(folder, fake_ksets, anthropic_client)
    emulator.advance_clock(3601)
    emulator.update_config(http_faults=[HttpFault(route="batches.list", status=529, count=1, retry_after=0)])
    calls = calls_during(emulator, lambda: refresh_status(folder, anthropic_client))
    assert calls == {"batches.list": 1, "batches.retrieve": 3}
    assert all(s.ended and s.error is None for s in batch_statuses(folder))
