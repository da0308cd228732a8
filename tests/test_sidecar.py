"""Sidecars: one path function, a round trip for every odd name, merging, atomicity, collisions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import gaia
from gaia.media.scan import scan_folder
from gaia.sidecar import (
    SCHEMA_VERSION,
    SidecarCollision,
    SidecarError,
    read_sidecar,
    sidecar_path,
    sidecar_state,
    write_sidecar,
)

ODD_NAMES = [
    "clip.mp4",
    "my clip.mp4",
    "chien_été 🐶.mp4",
    "a.b.c.v2.mp4",
    "UPPER.MP4",
    "Mixed.MoV",
    "sub/deeper/nested clip.mkv",
    "dots.in.folder.name/x.webm",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_sidecar_path_is_the_stem_plus_gaia_json(name):
    video = Path("/videos") / name
    expected = video.parent / (video.name.rsplit(".", 1)[0] + ".gaia.json")
    assert sidecar_path(video) == expected
    assert sidecar_path(str(video)) == expected


def test_the_production_bug_cannot_happen():
    # Saving built clip.gaia.json, reading built clip.mp4.gaia.json: one function now builds both.
    assert sidecar_path("clip.mp4").name == "clip.gaia.json"
    assert sidecar_path("clip.mp4").name != "clip.mp4.gaia.json"


@pytest.mark.parametrize("name", ODD_NAMES)
def test_round_trip_through_the_public_api(make_folder, name):
    kind = {"mkv": "mkv", "webm": "webm"}.get(name.rsplit(".", 1)[1].lower(), "testsrc")
    folder = make_folder({name: kind})
    video = folder / name
    written = write_sidecar(video, {"analysis": {"summary": f"about {name}"}})
    assert written == video.parent / (video.name.rsplit(".", 1)[0] + ".gaia.json")
    assert written.is_file()
    # Found again by the scan, read back by the public reader.
    rec = scan_folder(folder).records[0]
    assert rec.sidecar == written and rec.sidecar_state == "analysed"
    data = read_sidecar(rec.path)
    assert data["analysis"] == {"summary": f"about {name}"}
    assert data["video"] == video.name
    assert data["gaia_schema_version"] == SCHEMA_VERSION


def test_merge_keeps_keys_gaia_does_not_know(tmp_path):
    video = tmp_path / "clip.mp4"
    sidecar_path(video).write_text(json.dumps({"video": "clip.mp4", "my_notes": "keep me", "rating": 5}))
    write_sidecar(video, {"analysis": {"summary": "cat"}})
    write_sidecar(video, {"run": {"model": "m"}})
    data = json.loads(sidecar_path(video).read_text())
    assert data["my_notes"] == "keep me" and data["rating"] == 5
    assert data["analysis"] == {"summary": "cat"} and data["run"] == {"model": "m"}


def test_a_failed_write_leaves_the_previous_sidecar_intact(tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    write_sidecar(video, {"analysis": {"summary": "first"}})
    before = sidecar_path(video).read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(SidecarError, match="No space left"):
        write_sidecar(video, {"analysis": {"summary": "second"}})
    assert sidecar_path(video).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gaia.json"]  # no temporary file left


def test_a_crash_while_writing_the_data_leaves_the_previous_sidecar(tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    write_sidecar(video, {"analysis": {"summary": "first"}})

    def crash(fd):
        raise KeyboardInterrupt  # e.g. the user pressed Ctrl-C in the middle of the write

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        write_sidecar(video, {"analysis": {"summary": "second"}})
    monkeypatch.undo()
    assert read_sidecar(video)["analysis"] == {"summary": "first"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gaia.json"]


def test_one_videos_result_never_overwrites_anothers(tmp_path):
    write_sidecar(tmp_path / "clip.mp4", {"analysis": {"summary": "mp4"}})
    with pytest.raises(SidecarCollision, match=r"clip\.gaia\.json already holds the analysis of clip\.mp4"):
        write_sidecar(tmp_path / "clip.MOV", {"analysis": {"summary": "mov"}})
    assert read_sidecar(tmp_path / "clip.mp4")["analysis"] == {"summary": "mp4"}
    assert read_sidecar(tmp_path / "clip.MOV") is None  # not mistaken for the MOV's


def test_a_damaged_sidecar_is_reported_and_not_overwritten(tmp_path):
    video = tmp_path / "clip.mp4"
    sidecar_path(video).write_text("{not json")
    with pytest.raises(SidecarError, match="not valid JSON"):
        read_sidecar(video)
    with pytest.raises(SidecarError, match="not overwriting"):
        write_sidecar(video, {"analysis": {}})
    assert sidecar_path(video).read_text() == "{not json"
    assert sidecar_state(video) == "unreadable"


def test_states(tmp_path):
    video = tmp_path / "clip.mp4"
    assert sidecar_state(video) == "none"
    write_sidecar(video, {"notes": "no analysis yet"})
    assert sidecar_state(video) == "none"
    write_sidecar(video, {"analysis": {"x": 1}, "run": {"fingerprint": {"model": "a"}}})
    assert sidecar_state(video) == "analysed"
    assert sidecar_state(video, {"model": "a"}) == "analysed"
    assert sidecar_state(video, {"model": "b"}) == "stale"


def test_sidecar_text_is_utf8_json_with_the_version_first(tmp_path):
    video = tmp_path / "été.mp4"
    path = write_sidecar(video, {"analysis": {"summary": "un chat sur le canapé"}})
    text = path.read_text(encoding="utf-8")
    assert "canapé" in text  # not escaped
    assert list(json.loads(text))[:2] == ["gaia_schema_version", "video"]


def test_sidecar_state_follows_every_rewrite(tmp_path):
    # The state is remembered for pages that plan a folder again and again, but never past a change.
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    fp = {"model": "m", "prompt": "p1"}
    assert gaia.sidecar.sidecar_state(video, fp) == "none"
    gaia.sidecar.write_sidecar(video, {"analysis": {"summary": "x"}, "run": {"fingerprint": fp}})
    assert gaia.sidecar.sidecar_state(video, fp) == "analysed"
    assert gaia.sidecar.sidecar_state(video, {"model": "m", "prompt": "p2"}) == "stale"
    gaia.sidecar.write_sidecar(video, {"run": {"fingerprint": {"model": "m", "prompt": "p2"}}})
    assert gaia.sidecar.sidecar_state(video, fp) == "stale"
    gaia.sidecar.sidecar_path(video).unlink()
    assert gaia.sidecar.sidecar_state(video, fp) == "none"


def test_the_run_block_has_one_reader_that_takes_odd_values_as_missing():
    from gaia.sidecar import RunBlock

    assert RunBlock.of(None) == RunBlock() and RunBlock.of({"analysis": {}}) == RunBlock()
    assert RunBlock.of({"run": "not a block"}) == RunBlock()
    run = {"model": "claude-haiku-4-5", "request_id": 7, "cost_usd": 0.0123, "keyframe_timestamps": [1.5, "x", 3],
           "usage": {"output_tokens": 40}, "fingerprint": {"frames": 4}, "batch_id": None, "mine": "kept"}
    block = RunBlock.of({"run": run})
    assert (block.model, block.request_id, block.cost_usd) == ("claude-haiku-4-5", 7, 0.0123)
    assert block.keyframe_timestamps == (1.5, 3.0) and block.batch_id is None
    assert block.usage == {"output_tokens": 40} and block.fingerprint == {"frames": 4}
    assert block.raw["mine"] == "kept"  # exports copy the block whole
    odd = RunBlock.of({"run": {"request_id": True, "cost_usd": "1.0", "model": 3, "keyframe_timestamps": "1,2"}})
    assert (odd.request_id, odd.cost_usd, odd.model, odd.keyframe_timestamps) == (None, None, None, ())
