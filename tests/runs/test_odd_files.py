"""Long names, odd files, links (issue 22, items 10-12): temporary names that always fit, links out of
the allowed roots refused like paths, stale temporary sidecars cleaned at the next start, and a folder
that turns read-only after submit gives sentences, not tracebacks."""

from __future__ import annotations

import os
import time

from gaia._cli import main
from gaia.fsutil import atomic_write_text
from gaia.media.scan import scan_folder
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, write_sidecar
from tests.runs.test_read_only import read_only

LONG = "v" * 236 + ".mp4"  # 240 bytes: its sidecar name (246 bytes) fits, a naive temporary name did not


def test_a_240_byte_name_gets_its_sidecar(tmp_path):
    video = tmp_path / LONG
    video.write_bytes(b"x")
    write_sidecar(video, {"analysis": {"ok": 1}})
    assert read_sidecar(video)["analysis"] == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_240_byte_name_gets_its_answer_through_a_batch(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, [LONG], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / LONG)["analysis"] and not failures(folder)


def test_a_link_out_of_the_allowed_roots_is_refused_like_a_path(tmp_path, make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"}, name="inside")
    outside = make_folder({"secret.mp4": "testsrc"}, name="outside")
    (folder / "linked.mp4").symlink_to(outside / "secret.mp4")
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(folder))
    records = {r.rel_path: r for r in scan_folder(folder).records}
    assert records["a.mp4"].usable
    linked = records["linked.mp4"]
    assert not linked.usable and "outside the folders" in (linked.problem or "")
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS")
    assert scan_folder(folder).records[1].usable  # without roots any folder is allowed, links too


def test_stale_temporary_sidecars_are_cleaned_at_the_next_start(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "sub/b.mp4"], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1)
    stale = [folder / ".a.gaia.json.k3j4h5g6.tmp", folder / "sub" / ".b.gaia.json.abcd_123.tmp"]
    fresh = folder / ".a.gaia.json.zzzzzzzz.tmp"
    for p in [*stale, fresh]:
        p.write_text("{")
    old = time.time() - 3600
    for p in stale:
        os.utime(p, (old, old))
    plan_submission(folder, RunSettings(), keyframe_sets=ksets)  # the next start
    assert not any(p.exists() for p in stale) and fresh.exists()  # a write in progress is left alone
    atomic_write_text(folder / "keep.txt", "x")
    assert (folder / "keep.txt").read_text() == "x"


def test_a_folder_turned_read_only_after_submit_gives_sentences(tmp_path, fake_ksets, anthropic_client, api_env,
                                                                  capsys):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    with read_only(folder):
        for cmd in (["status", str(folder), "--offline"], ["watch", str(folder), "--poll", "0.1"]):
            main(cmd)
            out = capsys.readouterr()
            text = out.out + out.err
            assert "Traceback" not in text and "Error:" not in text, text
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / "a.mp4")["analysis"]
