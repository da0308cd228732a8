"""Atomic writes keep file modes (issue 14: sidecars shared by colleagues stay readable) and the
one disk-full test recognises SQLite's and the OS's words for it."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat

from gaia.fsutil import atomic_write_json, disk_full


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
        os.umask(0o002)
        atomic_write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.json") == 0o644 and _mode(tmp_path / "b.json") == 0o664


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}")
    path.chmod(0o640)
    atomic_write_json(path, {"merged": True})
    assert _mode(path) == 0o640 and "merged" in path.read_text()


def test_disk_full_is_recognised():
    assert disk_full(sqlite3.OperationalError("database or disk is full"))
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not disk_full(sqlite3.OperationalError("database is locked"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))
