"""Ledger versions (issues 22 and 23): the schema version is read; an older ledger is migrated in
place, atomically, one test per version; a newer one is refused in words; a damaged one is set aside
(renamed, never deleted); a locked one stops in words."""

from __future__ import annotations

import sqlite3

import pytest

from gaia.ledger import (
    _SCHEMA_V1,
    MIGRATIONS,
    SCHEMA_VERSION,
    EventKind,
    Ledger,
    LedgerError,
    RequestIntent,
    schema_version,
)


def _v1_ledger(path):
    """A ledger exactly as GAIA wrote it before versions were read (version 1), with one request."""
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_V1)
    conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO runs(run_id, created_at, mode) VALUES ('run_old', '2026-01-01T00:00:00+00:00', 'batch')")
    conn.execute("INSERT INTO requests(run_id, custom_id, rel_path, mode, status, created_at, usage_json, cost_usd)"
                 " VALUES ('run_old', 'v1', 'a.mp4', 'batch', 'succeeded', '2026-01-01T00:00:00+00:00',"
                 " '{\"input_tokens\": 10}', 0.5)")
    conn.commit()
    conn.close()


def test_versions_are_an_ordered_list_of_migrations():
    assert SCHEMA_VERSION == len(MIGRATIONS) == 2


def test_a_new_ledger_is_at_the_current_version(tmp_path):
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        assert schema_version(ledger._conn) == SCHEMA_VERSION


def test_version_1_is_migrated_in_place_keeping_its_rows(tmp_path):
    path = tmp_path / "l.sqlite3"
    _v1_ledger(path)
    with Ledger(path) as ledger:
        assert schema_version(ledger._conn) == 2
        (row,) = ledger.requests()
        assert row.rel_path == "a.mp4" and row.cost_usd == 0.5 and row.content is None
        run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        ledger.add_batch_intent(run, [RequestIntent("c2", "b.mp4", "s", (1.0,), "p", "m",
                                                    content={"size": 3, "blocks": "x"})])
        assert ledger.requests(rel_path="b.mp4")[0].content == {"size": 3, "blocks": "x"}
    assert [p.name for p in tmp_path.iterdir() if "damaged" in p.name] == []


def test_a_version_1_ledger_without_its_version_written_is_read_as_version_1(tmp_path):
    path = tmp_path / "l.sqlite3"
    _v1_ledger(path)
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM meta")
    conn.commit()
    conn.close()
    with Ledger(path) as ledger:
        assert schema_version(ledger._conn) == 2 and len(ledger.requests()) == 1


def test_a_failed_migration_changes_nothing(tmp_path, monkeypatch):
    import gaia.ledger as L

    path = tmp_path / "l.sqlite3"
    _v1_ledger(path)

    def broken(conn):
        conn.execute("ALTER TABLE requests ADD COLUMN content_json TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(L, "MIGRATIONS", (L._to_v1, broken))
    with pytest.raises(sqlite3.OperationalError):
        Ledger(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    assert "content_json" not in {r[1] for r in conn.execute("PRAGMA table_info(requests)")}
    conn.close()


def test_a_newer_ledger_is_refused_in_words_and_left_alone(tmp_path):
    path = tmp_path / "l.sqlite3"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"newer GAIA.*version 99.*Upgrade GAIA"):
        Ledger(path)
    assert path.read_bytes() == before


def test_a_damaged_ledger_is_set_aside_never_deleted(tmp_path):
    path = tmp_path / "l.sqlite3"
    junk = b"this is not a database at all" * 200
    path.write_bytes(junk)
    with Ledger(path) as ledger:
        assert ledger.notices and "set aside" in ledger.notices[0]
        assert [e.kind for e in ledger.events()] == [EventKind.LEDGER_SET_ASIDE]
        assert ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
    (aside,) = [p for p in tmp_path.iterdir() if "damaged" in p.name]
    assert aside.read_bytes() == junk


def test_an_empty_ledger_file_becomes_a_new_ledger(tmp_path):
    path = tmp_path / "l.sqlite3"
    path.write_bytes(b"")
    with Ledger(path) as ledger:
        assert schema_version(ledger._conn) == SCHEMA_VERSION and ledger.requests() == []


def test_a_locked_ledger_waits_with_a_message_then_stops_in_words(tmp_path, capsys):
    path = tmp_path / "l.sqlite3"
    Ledger(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Ledger(path, wait_s=1.5) as ledger, pytest.raises(LedgerError, match=r"stayed locked.*try again"):
            ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        assert "is busy" in capsys.readouterr().err
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_ledger_freed_while_waiting_goes_on(tmp_path):
    import threading

    path = tmp_path / "l.sqlite3"
    Ledger(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(1.3, lambda: other.execute("ROLLBACK")).start()
    with Ledger(path, wait_s=10) as ledger:
        assert ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
    other.close()
