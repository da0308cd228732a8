"""A damaged, locked or newer ledger gives sentences, never a traceback or ``DatabaseError:``, in every
command that reads it (issue 22, item 9); parked answers are shown by ``status`` and ``retrieve``."""

from __future__ import annotations

import sqlite3

import pytest

from gaia._cli import main
from gaia.ledger import Ledger

COMMANDS = [["status"], ["status", "--offline"], ["watch", "--poll", "0.1"], ["retrieve"], ["spent"],
            ["submit", "--yes"], ["run", "--yes"]]


def _newer(folder):
    path = folder / ".gaia" / "ledger.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_a_newer_ledger_is_refused_in_words(cmd, make_folder, api_env, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    _newer(folder)
    code = main([cmd[0], str(folder), *cmd[1:]])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code != 0 and "newer GAIA" in text, text
    assert "Traceback" not in text and "DatabaseError" not in text


@pytest.mark.parametrize("cmd", [["status", "--offline"], ["spent"], ["retrieve"]], ids=" ".join)
def test_a_damaged_ledger_is_set_aside_and_the_command_goes_on(cmd, make_folder, api_env, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    (folder / ".gaia").mkdir()
    (folder / ".gaia" / "ledger.sqlite3").write_bytes(b"garbage " * 1000)
    code = main([cmd[0], str(folder), *cmd[1:]])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 0, text
    assert "Traceback" not in text and "DatabaseError" not in text
    assert [p for p in (folder / ".gaia").iterdir() if "damaged" in p.name]
