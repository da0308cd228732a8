"""The pure plan: one in-flight view across both transports, and planning writes nothing."""

from __future__ import annotations

from gaia.folder import Folder
from gaia.prompts import default_profile
from gaia.runs.plan import SkipKind, build_plan, plan_intents
from gaia.settings import RunSettings


def test_a_video_in_a_run_now_request_is_never_planned_again(tmp_path, fake_ksets):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    first = build_plan(folder, ksets, RunSettings(), default_profile())
    assert [p.rel_path for p in first.requests] == ["a.mp4", "b.mp4"]
    with Folder.of(folder).ledger() as ledger:  # another process is sending a.mp4 now
        run_id = ledger.new_run(mode="standard", model=first.model, prompt_hash=first.profile.hash, settings={})
        ledger.add_standard_requests(run_id, plan_intents(first, first.requests[:1]))
    again = build_plan(folder, ksets, RunSettings(), default_profile())
    assert [p.rel_path for p in again.requests] == ["b.mp4"]
    (skip,) = again.skipped_by(SkipKind.IN_FLIGHT)
    assert skip.rel_path == "a.mp4" and "run now" in skip.reason


def test_planning_writes_nothing(tmp_path, fake_ksets):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    plan = build_plan(folder, ksets, RunSettings(), default_profile())
    assert plan.ok
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
