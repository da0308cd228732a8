"""Atomic writes keep file modes (issue 14: sidecars shared by colleagues stay readable) and the
one disk-full test recognises SQLite's and the OS's words for it; file names of any bytes round-trip
through every store and are shown escaped."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat

from gaia.fsutil import (
    WRITABLE_NAME_BYTES,
    atomic_write_json,
    disk_full,
    display_name,
    dumps_json,
    fit_name,
    name_as_uri,
    name_to_text,
    read_json,
    text_to_name,
)


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


# --- file names of any bytes (issue 21) -------------------------------------------------------------

ODD_NAMES = [os.fsdecode(b"caf\xe9.mp4"), "x" * 246 + ".mp4", "new\nline.mp4", "-leading.mp4", "plain ü.mp4",
             os.fsdecode(b"sub/\xff\xfe/clip.MOV"), "back\\slash.mp4"]


def test_every_name_round_trips_through_text_and_json(tmp_path):
    for name in ODD_NAMES:
        text = name_to_text(name)
        text.encode("utf-8")  # any store takes it
        assert text_to_name(text) == name
        assert os.fsencode(text_to_name(text)) == os.fsencode(name)
        assert json.loads(dumps_json({"video": name, name: 1})) == {"video": name, name: 1}
    atomic_write_json(tmp_path / "cache.json", {"entries": {n: n for n in ODD_NAMES}})
    assert read_json(tmp_path / "cache.json") == {"entries": {n: n for n in ODD_NAMES}}
    assert name_to_text("plain ü.mp4") == "plain ü.mp4"  # UTF-8 names are stored as they are
    assert json.loads(dumps_json({"a": "ü"})) == {"a": "ü"} and "ü" in dumps_json({"a": "ü"})


def test_names_are_shown_escaped_on_one_line():
    assert display_name(os.fsdecode(b"caf\xe9.mp4")) == "caf\\xe9.mp4"
    assert display_name("new\nline.mp4") == "new\\nline.mp4"
    assert display_name("plain ü.mp4") == "plain ü.mp4" and display_name("-leading.mp4") == "-leading.mp4"
    for name in ODD_NAMES:
        shown = display_name(name)
        shown.encode("utf-8")
        assert "\n" not in shown
    assert name_as_uri(os.fsdecode(b"caf\xe9.mp4")) == "caf%E9.mp4" and name_as_uri("b ü.mp4") == "b ü.mp4"


def test_a_long_name_is_cut_short_only_when_it_could_not_be_written(tmp_path):
    assert fit_name("clip", ".gaia.json") == "clip.gaia.json"
    short = "y" * (WRITABLE_NAME_BYTES - len(".gaia.json"))
    assert fit_name(short, ".gaia.json") == short + ".gaia.json"  # names written before stay the same
    long_a, long_b = "x" * 246, "x" * 245 + "z"
    fa, fb = fit_name(long_a, ".gaia.json"), fit_name(long_b, ".gaia.json")
    assert fa != fb and fa.endswith(".gaia.json") and len(os.fsencode(fa)) <= WRITABLE_NAME_BYTES
    accented = fit_name("é" * 200, ".xmp")  # whole characters only
    assert accented.encode("utf-8") and len(os.fsencode(accented)) <= WRITABLE_NAME_BYTES
    atomic_write_json(tmp_path / fa, {"ok": True})  # the file and its temporary file fit
    assert read_json(tmp_path / fa) == {"ok": True}
