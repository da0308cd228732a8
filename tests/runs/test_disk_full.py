"""A full disk is a clear message and a stop, never a loop or a traceback, and nothing is lost
(issue 14, item 6): on a small tmpfs filled up where the machine allows it, and by injecting
SQLite's error everywhere else."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gaia._cli import main
from gaia.ledger import Ledger
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar

NAMES = ["a.mp4", "b.mp4", "c.mp4"]


def _fill(where: Path) -> Path:
    filler = where / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def small_disk(tmp_path) -> Path:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.slow
def test_watch_on_a_full_disk_stops_with_one_message_and_loses_nothing(small_disk, fake_ksets, anthropic_client,
                                                                        emulator):
    folder = small_disk / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    filler = _fill(small_disk)
    env = dict(os.environ, ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=emulator.base_url)
    for args in (["watch", str(folder), "--poll", "0.2"], ["status", str(folder), "--offline"]):
        done = subprocess.run([sys.executable, "-m", "gaia", *args], env=env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode == 0:  # this command found room enough (SQLite reuses freed pages)
            continue
        assert "disk is full" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.count("disk is full") == 1
    filler.unlink()
    done = subprocess.run([sys.executable, "-m", "gaia", "watch", str(folder), "--poll", "0.2"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(read_sidecar(folder / n) for n in NAMES)  # nothing lost once there is room


@pytest.mark.parametrize("command", ["watch", "status", "retrieve"])
def test_a_full_disk_anywhere_is_one_message_and_a_non_zero_exit(tmp_path, fake_ksets, anthropic_client, emulator,
                                                                 monkeypatch, capsys, command):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)

    def full(self, batch, **kw):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Ledger, "update_batch_status", full)
    args = {"watch": ["watch", str(folder), "--poll", "0.1"], "status": ["status", str(folder)],
            "retrieve": ["retrieve", str(folder)]}[command]
    assert main(args) == 1  # and it returned: no loop
    err = capsys.readouterr().err
    assert "disk is full" in err and "free some space" in err and str(folder) in err
