"""The ledger: intents before batches, outcomes recorded once, failures and retries, snapshots, history."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from gaia.folder import Folder
from gaia.ledger import RequestIntent, ids_fingerprint
from gaia.pricing.bill import History, history


def intents(n: int, *, model: str = "claude-sonnet-5-5", prompt_hash: str = "p1") -> list[RequestIntent]:
    return [RequestIntent(custom_id=f"v{i}", rel_path=f"dir/ü {i}.mp4", set_id=f"s{i}", timestamps=(1.0, 2.5),
                          prompt_hash=prompt_hash, model=model,
                          fingerprint={"model": model, "prompt_hash": prompt_hash})
            for i in range(n)]


def batch_api(batch_id: str, n: int, *, status: str = "in_progress", ended: str | None = None,
              created: str = "2026-11-24T10:00:00Z") -> dict:
    counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if status == "ended":
        counts = {"processing": 0, "succeeded": n, "errored": 0, "canceled": 0, "expired": 0}
    return {"id": batch_id, "processing_status": status, "request_counts": counts, "created_at": created,
            "expires_at": "2026-11-25T10:00:00Z", "ended_at": ended}


def test_created_in_workdir_with_wal(tmp_path):
    assert not Folder.of(tmp_path).has_ledger
    with Folder.of(tmp_path).ledger() as ledger:
        assert ledger.path == tmp_path / ".gaia" / "ledger.sqlite3"
    assert Folder.of(tmp_path).has_ledger
    conn = sqlite3.connect(tmp_path / ".gaia" / "ledger.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "batches", "requests", "snapshots", "events"} <= tables


def test_intent_then_submitted_then_outcomes(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p1", settings={"model": "m"}, estimate_usd=1.5)
        local = ledger.add_batch_intent(run, intents(3), nbytes=1234, split_reason="end", estimate_usd=1.5)
        b = ledger.batch_by_local_id(local)
        assert b.state == "pending" and b.batch_id is None and b.fingerprint == ids_fingerprint(["v2", "v0", "v1"])
        assert {r.status for r in ledger.requests(local_batch=local)} == {"pending"}
        assert set(ledger.in_flight()) == {"dir/ü 0.mp4", "dir/ü 1.mp4", "dir/ü 2.mp4"}
        ledger.mark_batch_submitted(local, batch_api("msgbatch_1", 3))
        b = ledger.batch("msgbatch_1")
        assert b.state == "submitted" and b.created_at.startswith("2026-11-24T10:00:00")
        row = ledger.request_in_batch("msgbatch_1", "v1")
        assert row.status == "submitted" and row.timestamps == (1.0, 2.5) and row.fingerprint["prompt_hash"] == "p1"
        assert ledger.finish_request(row.id, "succeeded", usage={"output_tokens": 10}, cost_usd=0.01)
        assert not ledger.finish_request(row.id, "failed", error="late")  # recorded once only
        assert ledger.request(row.id).status == "succeeded"
        assert ledger.run(run).n_requests == 3 and ledger.run(run).estimate_usd == 1.5
        with pytest.raises(ValueError):
            ledger.finish_request(row.id, "submitted")


def test_abandoned_intent_frees_its_videos(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(2))
        ledger.mark_batch_abandoned(local, "never created")
        assert ledger.in_flight() == {}
        assert {r.status for r in ledger.requests(local_batch=local)} == {"unsent"}
        assert ledger.batch_by_local_id(local).error == "never created"


def test_failures_exclude_retried(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(3))
        ledger.mark_batch_submitted(local, batch_api("b1", 3))
        rows = ledger.requests(batch_id="b1")
        ledger.finish_request(rows[0].id, "failed", error_kind="expired", error="late")
        ledger.finish_request(rows[1].id, "failed", error_kind="refusal", error="no", usage={"output_tokens": 3},
                              cost_usd=0.001)
        ledger.finish_request(rows[2].id, "succeeded")
        assert [f.error_kind for f in ledger.failures()] == ["expired", "refusal"]
        retry_run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={}, retry_of=run)
        retry = RequestIntent("v0-a2", rows[0].rel_path, "s0", (1.0,), "p", "m", attempt=2, retry_of=rows[0].id)
        local2 = ledger.add_batch_intent(retry_run, [retry])
        assert [f.error_kind for f in ledger.failures()] == ["refusal"]
        ledger.mark_batch_abandoned(local2, "x")  # an unsent retry does not hide the failure
        assert [f.error_kind for f in ledger.failures()] == ["expired", "refusal"]
        assert ledger.run(retry_run).retry_of == run


def test_failures_leave_out_videos_a_later_request_took(tmp_path):
    """A failed request whose video a later submission answered (or holds, or failed again) no longer waits for a
    retry: retrying it would pay for the video twice. A tune's requests neither take a failure nor are taken."""
    def failed_run(mode: str, n: int, *, ok: tuple[int, ...] = ()) -> list[int]:
        run = ledger.new_run(mode=mode, model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(n))
        ledger.mark_batch_submitted(local, batch_api(f"b{run}", n))
        rows = sorted(ledger.requests(local_batch=local), key=lambda r: r.custom_id)
        for i, r in enumerate(rows):
            ledger.finish_request(r.id, "succeeded" if i in ok else "failed", error_kind="api_error", error="x")
        return [r.id for r in rows]

    with Folder.of(tmp_path).ledger() as ledger:
        first = failed_run("batch", 3)  # v0, v1, v2 fail
        assert [f.id for f in ledger.failures()] == first
        second = failed_run("batch", 2, ok=(0,))  # a plain submission later: v0 answered, v1 failed again
        assert [f.id for f in ledger.failures()] == [first[2], second[1]]  # v1 listed once, by its latest failure
        tune = failed_run("tune", 3, ok=(2,))  # the tune answers v2, fails v0 and v1: its own business
        assert [f.id for f in ledger.failures()] == [first[2], second[1], tune[0], tune[1]]
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(3)[2:])  # v2 submitted again, in flight
        assert [f.id for f in ledger.failures()] == [second[1], tune[0], tune[1]]
        ledger.mark_batch_abandoned(local, "never created")  # a batch never created takes nothing
        assert [f.id for f in ledger.failures()] == [first[2], second[1], tune[0], tune[1]]


def test_status_snapshots_and_durations(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(4, model="m"))
        ledger.mark_batch_submitted(local, batch_api("b1", 4))
        ledger.update_batch_status(batch_api("b1", 4))
        ledger.update_batch_status(batch_api("b1", 4, status="ended", ended="2026-11-24T10:30:00Z"))
        snaps = ledger.snapshots("b1")
        assert [s.processing_status for s in snaps] == ["in_progress", "ended"]
        assert snaps[-1].elapsed_s == 1800 and snaps[-1].counts["succeeded"] == 4
        assert ledger.batch_durations() == [(4, 1800.0, "b1")]
        assert ledger.batch_durations(model="other") == []
        assert ledger.update_batch_status(batch_api("unknown", 1)) is None


def test_history_returns_cost_history(tmp_path):
    assert history(tmp_path, "p1", "m") == History(model="m", prompt_hash="p1")
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p1", settings={})
        local = ledger.add_batch_intent(run, intents(3, model="m"))
        ledger.mark_batch_submitted(local, batch_api("b1", 3))
        ledger.update_batch_status(batch_api("b1", 3, status="ended", ended="2026-11-24T11:00:00Z"))
        rows = ledger.requests(batch_id="b1")
        usages = [{"input_tokens": 100, "cache_creation_input_tokens": 2000, "output_tokens": 500},
                  {"input_tokens": 100, "cache_read_input_tokens": 2000, "output_tokens": 700},
                  {"input_tokens": 100, "cache_read_input_tokens": 2000, "output_tokens": 900}]
        for row, usage in zip(rows, usages, strict=True):
            ledger.finish_request(row.id, "succeeded", usage=usage)
        other = ledger.new_run(mode="batch", model="m", prompt_hash="p2", settings={})
        local2 = ledger.add_batch_intent(other, intents(1, model="m", prompt_hash="p2"))
        ledger.mark_batch_submitted(local2, batch_api("b2", 1))
        ledger.finish_request(ledger.requests(batch_id="b2")[0].id, "succeeded", usage={"output_tokens": 5})
    got = history(tmp_path, "p1", "m")
    assert isinstance(got, History)
    assert got.output_tokens == (500, 700, 900)
    assert got.cache_read_shares == pytest.approx((4000 / 6000,))
    assert got.batch_durations_s == (3600.0,)
    assert history(tmp_path, "p2", "m").output_tokens == (5,)


def test_standard_mode_rows_and_events(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="standard", model="m", prompt_hash="p", settings={})
        ids = ledger.add_standard_requests(run, intents(2))
        assert [ledger.request(i).mode for i in ids] == ["standard", "standard"]
        assert ledger.request_in_run(run, "v1").id == ids[1]
        ledger.record_event("unknown_custom_id", "odd", batch_id="b9", custom_id="zz")
        assert ledger.events(batch_id="b9")[0].custom_id == "zz"


def test_two_connections_and_threads(tmp_path):
    a, b = Folder.of(tmp_path).ledger(), Folder.of(tmp_path).ledger()
    run = a.new_run(mode="batch", model="m", prompt_hash="p", settings={})
    local = a.add_batch_intent(run, intents(50))
    a.mark_batch_submitted(local, batch_api("b1", 50))
    rows = b.requests(batch_id="b1")
    errors: list[BaseException] = []

    def finish(chunk):
        try:
            for r in chunk:
                (a if r.id % 2 else b).finish_request(r.id, "succeeded")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(rows[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert a.status_counts("b1") == {"succeeded": 50}
    a.close()
    b.close()


def test_grouped_commits_and_rolls_back_like_a_crash(tmp_path):
    with Folder.of(tmp_path).ledger() as ledger:
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        local = ledger.add_batch_intent(run, intents(6))
        ledger.mark_batch_submitted(local, batch_api("b1", 6))
        rows = ledger.requests(batch_id="b1")
        other = Folder.of(tmp_path).ledger()
        with ledger.grouped(every=3, max_s=60):
            for r in rows[:2]:
                ledger.finish_request(r.id, "succeeded")
            assert ledger.status_counts("b1") == {"succeeded": 2, "submitted": 4}  # visible to itself
            assert other.status_counts("b1") == {"submitted": 6}  # not committed yet
            ledger.finish_request(rows[2].id, "succeeded")  # third write: committed
            assert other.status_counts("b1") == {"succeeded": 3, "submitted": 3}
        with pytest.raises(KeyboardInterrupt), ledger.grouped(every=100, max_s=60):
            ledger.finish_request(rows[3].id, "succeeded")
            raise KeyboardInterrupt
        assert other.status_counts("b1") == {"succeeded": 3, "submitted": 3}  # lost, as in a crash
        with ledger.grouped(every=100, max_s=60):
            ledger.finish_request(rows[4].id, "succeeded")
        assert other.status_counts("b1") == {"succeeded": 4, "submitted": 2}  # committed on exit
        other.close()
