"""Answers paid for are delivered (issue 14, item 2): a read-only folder is refused before anything
is sent, answers parked because a sidecar could not be written are applied by ``gaia retrieve``,
and the ledger follows the folder out of the user cache once the folder is writable."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaia.folder import Folder, fallback_workdir
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.now import run_now
from gaia.runs.recorder import UNWRITTEN_DIR
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve, watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` read-only for this process: a read-only bind mount as root (mode bits do not stop
    root), else its mode bits; the test is skipped when neither can be done."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {bind.stderr.decode().strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_read_only_folder_is_refused_before_anything_is_sent(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    with read_only(folder):
        res = submit(folder, plan, anthropic_client)
        now = run_now(folder, plan, anthropic_client)
    assert res.blocked and "read-only" in res.blocked and str(folder) in res.blocked and res.sent == 0
    assert now.blocked and "read-only" in now.blocked
    assert list(anthropic_client.messages.batches.list()) == []  # nothing was sent, nothing paid


def test_parked_answers_are_delivered_by_retrieve_once_writable(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    names = ["a.mp4", "sub/b.mp4"]
    ksets = fake_ksets(folder, names, frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1, retrieve_results=False)
    with read_only(folder / "sub"):  # the sidecar of sub/b.mp4 cannot be written
        first = retrieve(folder, anthropic_client)
    assert first.written == 1 and first.failed == 1
    (fail,) = failures(folder)
    assert fail.rel_path == "sub/b.mp4" and fail.error_kind == "sidecar_error" and "gaia retrieve" in fail.hint
    parked = folder / ".gaia" / UNWRITTEN_DIR
    assert str(parked) in fail.reason and len(list(parked.glob("*.json"))) == 1  # the hint names the real path
    again = retrieve(folder, anthropic_client)  # writable again: delivered, nothing sent or paid again
    assert again.delivered == 1 and read_sidecar(folder / "sub/b.mp4")["analysis"]
    assert not failures(folder) and not list(parked.glob("*.json"))
    assert not plan_submission(folder, RunSettings(), keyframe_sets=ksets).requests
    assert len(list(anthropic_client.messages.batches.list())) == 1


def test_a_video_gone_after_submit_is_parked_not_written_under_its_old_name(tmp_path, fake_ksets,
                                                                            anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    (folder / "b.mp4").rename(tmp_path / "b-moved-out.mp4")  # (a rename within the folder is followed)
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / "a.mp4") and not (folder / "b.gaia.json").exists()
    (fail,) = failures(folder)
    assert "no longer in the folder" in fail.reason
    (tmp_path / "b-moved-out.mp4").rename(folder / "b.mp4")  # put back: the kept answer is written
    assert retrieve(folder, anthropic_client).delivered == 1 and read_sidecar(folder / "b.mp4")


def test_the_ledger_follows_the_folder_out_of_the_user_cache(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    with read_only(folder):
        f = Folder(folder)
        assert f.workdir == fallback_workdir(f.path)  # read-only: the working folder is in the user cache
        with f.ledger() as ledger:
            run = ledger.new_run(mode="batch", model="m", prompt_hash="p", settings={})
        (f.workdir / UNWRITTEN_DIR).mkdir()
        (f.workdir / UNWRITTEN_DIR / "x-1.json").write_text("{}")
    again = Folder(folder)
    assert again.has_ledger and again.workdir == folder / ".gaia"  # moved in on first use
    with again.ledger() as ledger:
        assert ledger.run(run) is not None
    assert (folder / ".gaia" / UNWRITTEN_DIR / "x-1.json").is_file()
    assert not fallback_workdir(again.path).exists()
