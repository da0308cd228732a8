"""The batch lifecycle against the emulator through the real SDK: plan, submit, status, retrieve, retry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anthropic
import jsonschema
import pytest

import gaia
from gaia.api.client import MissingApiKey, make_client
from gaia.emulator import HttpFault
from gaia.folder import Folder
from gaia.prompts import default_profile
from gaia.runs import batch as batch_module
from gaia.runs.batch import reconcile, submit
from gaia.runs.failures import failures, retry_failed
from gaia.runs.plan import plan_intents
from gaia.runs.recorder import record_message
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve, watch
from gaia.runs.status import batch_statuses, cancel_batch, ledger_events, refresh_status
from gaia.settings import RunSettings, run_fingerprint
from gaia.sidecar import read_sidecar, sidecar_path, sidecar_state
from tests.runs._hooks import Hook

ODD_NAMES = ["plain.mp4", "with space.mp4", "ünïcödé 猫.mov", "dots.in.name.MP4", "UPPER.MOV",
             "nested/deeper/clip.mkv", "nested/with space/ä b.webm"]


def wait_ended(client: anthropic.Anthropic, folder: Path, timeout: float = 15.0) -> list[gaia.BatchStatus]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = refresh_status(folder, client)
        if not any(s.running for s in statuses):
            return statuses
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)


def sidecars(folder: Path, names: list[str]) -> dict[str, dict | None]:
    return {n: read_sidecar(folder / n) for n in names}


def test_whole_cycle_odd_names(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ODD_NAMES)
    settings = RunSettings()
    plan = plan_submission(folder, settings, keyframe_sets=ksets)
    assert plan.ok, plan.problems
    assert len(plan.requests) == len(ODD_NAMES) and len(plan.batches) == 1
    assert all(r.custom_id.startswith("v") and len(r.custom_id) <= 64 for r in plan.requests)
    progress: list[tuple[int, int]] = []
    result = submit(folder, plan, anthropic_client, on_progress=lambda d, t: progress.append((d, t)))
    assert result.ok and result.sent == len(ODD_NAMES), result
    assert progress[-1] == (len(ODD_NAMES), len(ODD_NAMES))
    statuses = wait_ended(anthropic_client, folder)
    assert [s.processing_status for s in statuses] == ["ended"]
    order = [r.custom_id for r in anthropic_client.messages.batches.results(result.batches[0].batch_id)]
    with gaia.Folder.of(folder).ledger() as ledger:
        sent = [r.custom_id for r in ledger.requests()]
    assert sorted(order) == sorted(sent)
    assert order != sent  # results come back out of order
    assert statuses[0].needs_retrieval and statuses[0].elapsed_s is not None
    got = retrieve(folder, anthropic_client)
    assert got.complete and got.written == len(ODD_NAMES) and got.failed == 0
    fingerprint = run_fingerprint(settings, plan.profile.hash)
    schema = default_profile().schema
    for name in ODD_NAMES:
        path = sidecar_path(folder / name)
        assert path.parent == (folder / name).parent and path.name.endswith(".gaia.json")
        data = read_sidecar(folder / name)
        assert data is not None, name
        jsonschema.validate(data["analysis"], schema)
        run = data["run"]
        assert run["fingerprint"] == fingerprint
        assert run["keyframe_timestamps"] == [1.5, 3.5, 5.5]
        assert run["batch_id"] == result.batches[0].batch_id and run["mode"] == "batch"
        assert run["usage"]["output_tokens"] > 0
        assert sidecar_state(folder / name, fingerprint) == "analysed"
    # Re-planning skips what is analysed; force sends them again.
    again = plan_submission(folder, settings, keyframe_sets=ksets)
    assert not again.requests and len(again.skipped_by("analysed")) == len(ODD_NAMES)
    assert len(plan_submission(folder, settings, keyframe_sets=ksets, force=True).requests) == len(ODD_NAMES)
    # A second retrieve writes nothing and changes nothing.
    before = {n: sidecar_path(folder / n).read_text() for n in ODD_NAMES}
    assert retrieve(folder, anthropic_client).written == 0
    assert before == {n: sidecar_path(folder / n).read_text() for n in ODD_NAMES}


def test_request_shape_sent_is_structured_output_not_forced_tool(tmp_path, fake_ksets):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"], frames=2)
    plan = plan_submission(folder, RunSettings(model="claude-opus-5-5"), keyframe_sets=ksets)
    out = tmp_path / "dry.jsonl"
    res = submit(folder, plan, client=None, dry_run_to=out)
    assert res.dry_run_requests == 1 and res.sent == 0
    lines = out.read_text().splitlines()
    req = json.loads(lines[0])
    params = req["params"]
    assert "tool_choice" not in params and "tools" not in params
    assert params["output_config"]["format"]["type"] == "json_schema"
    for key in ("temperature", "top_p", "top_k"):
        assert key not in params
    assert not (folder / ".gaia" / "ledger.sqlite3").exists()  # a dry run records nothing


def test_excluded_and_problem_videos_are_listed_not_sent(tmp_path, fake_ksets):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4", "c.mp4"])
    Folder.of(folder).set_video_excluded("b.mp4", True)
    from dataclasses import replace

    ksets[2] = replace(ksets[2], frames=(), problem="not extracted yet")
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert [r.rel_path for r in plan.requests] == ["a.mp4"]
    assert [s.rel_path for s in plan.skipped_by("excluded")] == ["b.mp4"]
    assert [p.rel_path for p in plan.problems] == ["c.mp4"] and plan.problems[0].fix


def test_split_by_bytes_and_by_count(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, [f"v{i}.mp4" for i in range(9)], frames=2)
    one = plan_submission(folder, RunSettings(), keyframe_sets=ksets[:1]).requests[0].nbytes
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, max_batch_bytes=int(one * 3.5 / 0.98))
    assert [b.n_requests for b in plan.batches] == [3, 3, 3]
    assert plan.batches[0].reason == "bytes" and "size limit" in plan.split_explanation
    by_count = plan_submission(folder, RunSettings(), keyframe_sets=ksets, max_batch_requests=4)
    assert [b.n_requests for b in by_count.batches] == [4, 4, 1] and by_count.batches[0].reason == "count"
    res = submit(folder, plan, anthropic_client)
    assert res.ok and len(res.batches) == 3 and res.sent == 9
    listed = list(anthropic_client.messages.batches.list())
    assert len(listed) == 3


def test_spend_cap_blocks(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    plan = plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4", "b.mp4"]))
    assert plan.estimate_usd is not None and plan.estimate_usd > 0
    res = submit(folder, plan, anthropic_client, max_cost_usd=plan.estimate_usd / 2)
    assert res.blocked and "cap" in res.blocked and res.sent == 0
    assert list(anthropic_client.messages.batches.list()) == []
    ok = submit(folder, plan, anthropic_client, max_cost_usd=plan.estimate_usd * 2)
    assert ok.ok and ok.sent == 2


def test_in_flight_videos_are_not_sent_twice(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=30)
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    again = plan_submission(folder, RunSettings(), keyframe_sets=ksets, force=True)
    assert not again.requests and len(again.skipped_by("in_flight")) == 2
    statuses = refresh_status(folder, anthropic_client)
    assert statuses[0].running and statuses[0].counts.get("processing") == 2
    assert statuses[0].expires_in_s and statuses[0].expires_in_s > 23 * 3600
    assert retrieve(folder, anthropic_client).written == 0  # not ended: nothing to fetch yet


def test_out_of_order_and_faulty_results_are_all_recorded(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(errored_rate=0.2, expired_rate=0.1, canceled_rate=0.1, refusal_rate=0.1,
                           max_tokens_rate=0.1, malformed_rate=0.1, seed=7)
    folder = tmp_path / "v"
    names = [f"clip{i:02d}.mp4" for i in range(40)]
    ksets = fake_ksets(folder, names, frames=1)
    res = submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    assert res.ok
    wait_ended(anthropic_client, folder)
    got = retrieve(folder, anthropic_client)
    assert got.complete and got.written + got.failed == 40
    fails = failures(folder)
    assert len(fails) == got.failed > 0
    kinds = {f.error_kind.split(":")[0] for f in fails}
    assert {"errored", "expired", "canceled"} <= kinds
    assert kinds & {"refusal", "max_tokens", "invalid_answer"}
    assert all(f.reason for f in fails)
    written = {n for n, d in sidecars(folder, names).items() if d is not None}
    assert written.isdisjoint({f.rel_path for f in fails}) and len(written) == got.written
    # Retry sends exactly the failed ones, as new attempts linked to the original run.
    emulator.update_config(errored_rate=0, expired_rate=0, canceled_rate=0, refusal_rate=0, max_tokens_rate=0,
                           malformed_rate=0)
    retry = retry_failed(folder, anthropic_client, keyframe_sets=ksets)
    assert retry.ok and retry.sent == len(fails)
    with Folder.of(folder).ledger() as ledger:
        run = ledger.run(retry.run_id)
        assert run.retry_of == res.run_id
        new_rows = ledger.requests(run_id=retry.run_id)
    assert {r.rel_path for r in new_rows} == {f.rel_path for f in fails}
    assert {r.retry_of for r in new_rows} == {f.request_id for f in fails}
    assert all(r.attempt == 2 and r.custom_id.endswith("-a2") for r in new_rows)
    assert failures(folder) == []  # retried ones are no longer listed while in flight
    wait_ended(anthropic_client, folder)
    assert retrieve(folder, anthropic_client).written == len(fails)
    assert all(d is not None for d in sidecars(folder, names).values())
    assert failures(folder) == []


def test_unknown_custom_id_is_recorded(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    res = submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    wait_ended(anthropic_client, folder)
    with Folder.of(folder).ledger() as ledger:  # forget one request: its result becomes "unknown"
        row = ledger.requests(rel_path="b.mp4")[0]
        ledger._conn.execute("UPDATE requests SET custom_id='zzz' WHERE id=?", (row.id,))
    got = retrieve(folder, anthropic_client)
    assert got.unknown == 1 and got.written == 1 and got.batches[0].missing == 1
    events = ledger_events(folder)
    assert events[0]["kind"] == "unknown_custom_id" and res.batches[0].batch_id in events[0]["message"]
    assert [f.error_kind for f in failures(folder)] == ["missing"]


def test_dropped_results_stream_then_rerun(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    names = [f"c{i}.mp4" for i in range(12)]
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, names, frames=1)),
             anthropic_client)
    wait_ended(anthropic_client, folder)
    emulator.update_config(drop_results_stream_after=5)
    first = retrieve(folder, anthropic_client)
    assert not first.complete and first.batches[0].error and "again" in first.batches[0].error
    assert 0 < first.written < 12
    assert batch_statuses(folder)[0].results_state == "partial"
    emulator.update_config(drop_results_stream_after=None)
    second = retrieve(folder, anthropic_client)
    assert second.complete and second.written == 12 - first.written
    assert second.batches[0].already_done == first.written
    assert all(d is not None for d in sidecars(folder, names).values())


@pytest.mark.parametrize("status", [429, 529, 500])
def test_transient_errors_on_create_are_retried_once_only(tmp_path, fake_ksets, anthropic_client, emulator, status):
    emulator.update_config(http_faults=[HttpFault(route="batches.create", status=status, count=2, retry_after=0)])
    folder = tmp_path / "v"
    plan = plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4", "b.mp4"]))
    res = submit(folder, plan, anthropic_client, sleep=lambda s: None)
    assert res.ok and res.sent == 2
    assert len(list(anthropic_client.messages.batches.list())) == 1


def test_permanent_error_on_create_abandons_and_resends_next_time(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(http_faults=[HttpFault(route="batches.create", status=400, count=1)])
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    res = submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    assert not res.ok and res.batches[0].state == "abandoned" and "400" in res.problems[0]
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert [r.rel_path for r in plan.requests] == ["a.mp4"]
    assert submit(folder, plan, anthropic_client).ok


@pytest.mark.parametrize(("status", "stops"), [(401, True), (403, True), (400, False)])
def test_a_refused_key_stops_the_submission_by_status_not_by_text(tmp_path, fake_ksets, anthropic_client, emulator,
                                                                     status, stops):
    emulator.update_config(http_faults=[HttpFault(route="batches.create", status=status, count=None)])
    folder = tmp_path / "v"
    plan = plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4", "b.mp4"]),
                             max_batch_requests=1)
    assert len(plan.batches) == 2
    res = submit(folder, plan, anthropic_client, sleep=lambda s: None)
    assert not res.ok and res.batches[0].fatal is stops
    # a key every request would be refused with stops the run at the first batch; a bad request does not
    assert emulator.calls.get("batches.create", 0) == (1 if stops else 2)


@pytest.mark.parametrize("status", [429, 529, 500])
def test_faults_on_status_and_results_calls(tmp_path, fake_ksets, anthropic_client, emulator, status):
    folder = tmp_path / "v"
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
             anthropic_client)
    time.sleep(0.4)
    emulator.update_config(http_faults=[HttpFault(route="batches.list", status=status, count=1),  # the one list
                                        HttpFault(route="batches.retrieve", status=status, count=1)])  # its fallback
    statuses = refresh_status(folder, anthropic_client)
    assert statuses[0].error and str(status) in statuses[0].error
    emulator.update_config(http_faults=[HttpFault(route="batches.results", status=status, count=1)])
    first = retrieve(folder, anthropic_client)
    assert not first.complete and first.written == 0
    assert retrieve(folder, anthropic_client).written == 1


def test_cancel(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=60)
    folder = tmp_path / "v"
    res = submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
                   anthropic_client)
    status = cancel_batch(folder, anthropic_client, res.batches[0].batch_id)
    assert status.processing_status in ("canceling", "ended")
    wait_ended(anthropic_client, folder)
    got = retrieve(folder, anthropic_client)
    assert got.complete
    assert [f.error_kind for f in failures(folder)] in (["canceled"], [])
    with pytest.raises(KeyError):
        cancel_batch(folder, anthropic_client, "msgbatch_nope")


def test_retention_warning(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
             anthropic_client)
    wait_ended(anthropic_client, folder)
    with Folder.of(folder).ledger() as ledger:
        ledger._conn.execute("UPDATE batches SET created_at='2020-01-01T00:00:00.000+00:00'")
    st = batch_statuses(folder)[0]
    assert st.results_expired and "no longer" in st.retention_warning
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) - timedelta(days=26)).isoformat()
    with Folder.of(folder).ledger() as ledger:
        ledger._conn.execute("UPDATE batches SET created_at=?", (soon,))
    st = batch_statuses(folder)[0]
    assert not st.results_expired and "retrieve them now" in st.retention_warning


def test_make_client(monkeypatch):
    with pytest.raises(MissingApiKey):
        make_client()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    client = make_client()
    assert str(client.base_url).startswith("http://127.0.0.1:9")
    assert str(make_client(base_url="http://127.0.0.1:8").base_url).startswith("http://127.0.0.1:8")


@pytest.mark.parametrize("fault", ["refusal_rate", "max_tokens_rate", "malformed_rate"])
def test_refusals_and_cut_off_answers_are_failures_that_retry_sends(tmp_path, fake_ksets, anthropic_client, emulator,
                                                                     fault):
    emulator.update_config(**{fault: 1.0})
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    wait_ended(anthropic_client, folder)
    got = retrieve(folder, anthropic_client)
    assert got.written == 0 and got.failed == 2
    fails = failures(folder)
    expected = {"refusal_rate": "refusal", "max_tokens_rate": "max_tokens", "malformed_rate": "invalid_answer"}[fault]
    assert {f.error_kind for f in fails} == {expected}
    assert all(f.cost_usd and f.cost_usd > 0 for f in fails)  # answered, so billed and priced
    assert read_sidecar(folder / "a.mp4") is None
    emulator.update_config(**{fault: 0.0})
    assert retry_failed(folder, anthropic_client, keyframe_sets=ksets).sent == 2
    wait_ended(anthropic_client, folder)
    assert retrieve(folder, anthropic_client).written == 2 and failures(folder) == []


def test_reconcile_leaves_a_live_submission_alone(tmp_path, fake_ksets, anthropic_client, monkeypatch):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    seen = {}

    def during_submit(name):
        if name == "intent_written":  # another process (the app) refreshes while this one submits
            seen["reconciled"] = reconcile(folder, anthropic_client)
            seen["statuses"] = refresh_status(folder, anthropic_client)

    res = submit(folder, plan, anthropic_client, checkpoints=Hook(during_submit))
    assert res.ok and seen["reconciled"] == [] and seen["statuses"][0].state == "pending"
    wait_ended(anthropic_client, folder)
    assert retrieve(folder, anthropic_client).written == 1


def test_watch_polls_until_ended_and_retrieves(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=0.6)
    folder = tmp_path / "v"
    names = ["a.mp4", "b.mp4", "c.mp4"]
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, names)),
             anthropic_client)
    seen: list[list[gaia.BatchStatus]] = []
    progress: list[tuple[int, int]] = []
    got = watch(folder, anthropic_client, poll_s=0.1, on_status=seen.append,
                  on_progress=lambda d, t: progress.append((d, t)))
    assert got.complete and got.written == 3
    assert seen[0][0].running and not seen[-1][0].running
    assert progress[-1] == (3, 3)
    assert len(batch_statuses(folder)) == 1
    with Folder.of(folder).ledger() as ledger:
        assert len(ledger.snapshots()) >= 2  # one per poll, for the charts


def test_real_folder_plan_lists_unusable_videos(make_folder):
    folder = make_folder({"good.mp4": "testsrc", "bad.mp4": "zero", "sub/also good.MOV": "mov"})
    plan = plan_submission(folder, RunSettings(), extract=True)
    assert sorted(r.rel_path for r in plan.requests) == ["good.mp4", "sub/also good.MOV"]
    assert [s.rel_path for s in plan.skipped_by("problem")] == ["bad.mp4"]
    assert all(len(r.frames) == RunSettings().keyframes.count for r in plan.requests)


def test_run_now_path_writes_the_same_sidecar_at_standard_prices(tmp_path, fake_ksets, anthropic_client):
    """What "run now" builds on: the same request through the Messages API, recorded by the same code."""
    from gaia.api.requests import build_request_for

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"])
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, limit=1)
    assert len(plan.requests) == 1
    with Folder.of(folder).ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model=plan.model, prompt_hash=plan.profile.hash,
                                settings=plan.settings.to_dict())
        [request_id] = ledger.add_standard_requests(run_id, plan_intents(plan))
        p = plan.requests[0]
        params = build_request_for(p.rel_path, p.frames, plan.profile, model=plan.model,
                                   cache_ttl=plan.settings.cache_ttl, max_tokens=plan.max_tokens)["params"]
        message = anthropic_client.messages.create(**params)
        outcome = record_message(folder, ledger, ledger.request(request_id), message)
    assert outcome.status == "succeeded" and outcome.sidecar == sidecar_path(folder / "a.mp4")
    run = read_sidecar(folder / "a.mp4")["run"]
    assert run["mode"] == "standard" and run["batch_id"] is None
    assert run["fingerprint"] == plan.fingerprint
    from gaia.pricing.models import usage_cost

    assert run["cost_usd"] == pytest.approx(usage_cost(run["usage"], plan.model, batch=False).total_usd)
    again = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert again.skipped_by("analysed")[0].rel_path == "a.mp4"


def test_frames_uploaded_once_through_the_files_api(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b c.mp4"], frames=3)
    inline = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets, image_source="file")
    assert plan.image_source == "file" and plan.notes and "file_id" in plan.image_source_advice
    assert plan.total_bytes < inline.total_bytes  # references instead of base64 (upper bound for ids)
    assert "Inline images" in inline.image_source_advice
    res = submit(folder, plan, anthropic_client)
    assert res.ok
    assert len(anthropic_client.files.list().data) == 6
    with Folder.of(folder).ledger() as ledger:
        assert ledger.batch(res.batches[0].batch_id).nbytes < inline.total_bytes
        assert ledger.run(res.run_id).settings["image_source"] == "file"
    wait_ended(anthropic_client, folder)
    assert retrieve(folder, anthropic_client).written == 2
    # Sending the same frames again (another prompt, forced) uploads nothing new.
    again = plan_submission(folder, RunSettings(), keyframe_sets=ksets, image_source="file", force=True)
    assert submit(folder, again, anthropic_client).ok
    assert len(anthropic_client.files.list().data) == 6
    with pytest.raises(ValueError):
        plan_submission(folder, RunSettings(), keyframe_sets=ksets, image_source="url")


def test_file_references_in_requests(tmp_path, fake_ksets):
    from gaia.api.requests import build_request_for, request_size_for

    ks = fake_ksets(tmp_path, ["a.mp4"], frames=2)[0]
    ids = {str(ks.frames[0].path): "file_abc"}
    req = build_request_for("a.mp4", ks.frames, default_profile(), model="claude-sonnet-5-5", cache_ttl="1h",
                            file_ids=ids)
    sources = [b["source"] for b in req["params"]["messages"][0]["content"] if b["type"] == "image"]
    assert sources[0] == {"type": "file", "file_id": "file_abc"} and sources[1]["type"] == "base64"
    all_ids = {str(f.path): "file_x" for f in ks.frames}
    full = build_request_for("a.mp4", ks.frames, default_profile(), model="claude-sonnet-5-5", cache_ttl="1h",
                             file_ids=all_ids)
    bound = request_size_for("a.mp4", ks.frames, default_profile(), model="claude-sonnet-5-5", cache_ttl="1h",
                             by_file=True)
    assert len(json.dumps(full, ensure_ascii=False, separators=(",", ":")).encode()) <= bound


def test_results_past_retention_become_failures(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    wait_ended(anthropic_client, folder)
    with Folder.of(folder).ledger() as ledger:  # the local record alone decides nothing (issue 22)
        ledger._conn.execute("UPDATE batches SET created_at='2020-01-01T00:00:00.000+00:00'")
    emulator.update_config(clock_offset_s=30 * 86400)  # the API says the results are gone
    got = retrieve(folder, anthropic_client)
    assert got.written == 0 and "no longer available" in got.problems[0]
    assert [f.error_kind for f in failures(folder)] == ["results_expired"]
    assert [r.rel_path for r in plan_submission(folder, RunSettings(), keyframe_sets=ksets).requests] == ["a.mp4"]


def test_lost_create_response_adopts_the_batch_instead_of_sending_twice(tmp_path, fake_ksets, anthropic_client,
                                                                        monkeypatch):
    import httpx2

    real = batch_module._create_batch

    def created_but_answer_lost(client, body):
        real(client, body)
        raise anthropic.APIConnectionError(request=httpx2.Request("POST", "http://x/v1/messages/batches"))

    monkeypatch.setattr(batch_module, "_create_batch", created_but_answer_lost)
    folder = tmp_path / "v"
    res = submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
                   anthropic_client, sleep=lambda s: None)
    assert res.ok and res.sent == 1
    assert len(list(anthropic_client.messages.batches.list())) == 1
    with Folder.of(folder).ledger() as ledger:
        assert ledger.batches()[0].matched_by == "list"


def test_watch_polls_soon_then_backs_off_to_the_interval(tmp_path, fake_ksets, anthropic_client, emulator):
    emulator.update_config(batch_delay_s=3600)
    folder = tmp_path / "v"
    submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
             anthropic_client)
    waits: list[float] = []
    watch(folder, anthropic_client, poll_s=60, max_polls=6, sleep=waits.append)
    assert waits == [5, 10, 20, 40, 60]
