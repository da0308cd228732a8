"""Likely-empty clips in the CLI: scan and keyframes report the score, --skip-empty leaves them out and says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaia._cli import main
from gaia.folder import Folder
from gaia.settings import EMPTY_THRESHOLD, RunSettings
from tests.media.empty_clips import write


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "trap"
    write(folder / "wind.mp4", "sway", seconds=4.0, seed=1)
    write(folder / "fox.mp4", "sway", seconds=4.0, seed=1, objects=((1.5, 2.5),))
    Folder.of(folder).save_settings(RunSettings().with_keyframes(count=2))
    return folder


def _videos(doc: dict) -> dict[str, dict]:
    return {v["rel_path"]: v for v in doc["videos"]}


def test_scan_reports_cached_scores_and_checks_when_asked(folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["scan", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["empty_threshold"] == EMPTY_THRESHOLD
    assert {v["empty_score"] for v in doc["videos"]} == {None}  # never checked: nothing decoded
    assert main(["scan", str(folder), "--json", "--check-empty"]) == 0
    videos = _videos(json.loads(capsys.readouterr().out))
    assert videos["wind.mp4"]["likely_empty"] is True and videos["wind.mp4"]["empty_score"] >= EMPTY_THRESHOLD
    assert videos["fox.mp4"]["likely_empty"] is False and videos["fox.mp4"]["empty_score"] < EMPTY_THRESHOLD
    assert videos["fox.mp4"]["empty_reason"].startswith("local change at")
    assert main(["scan", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "wind.mp4" in out and "[likely empty: " in out.split("wind.mp4")[1].splitlines()[0]


def test_keyframes_json_carries_the_score(folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["keyframes", str(folder), "--json"]) == 0
    assert {v["likely_empty"] for v in json.loads(capsys.readouterr().out)["videos"]} == {None}  # not checked
    assert main(["keyframes", str(folder)]) == 0
    assert "add --check-empty" in capsys.readouterr().out
    assert main(["keyframes", str(folder), "--json", "--check-empty"]) == 0
    videos = _videos(json.loads(capsys.readouterr().out))
    assert videos["wind.mp4"]["likely_empty"] is True and videos["fox.mp4"]["likely_empty"] is False
    assert videos["wind.mp4"]["frames"]  # the frames are still extracted: flagging excludes nothing by itself
    assert main(["keyframes", str(folder)]) == 0
    assert "1 clip(s) likely empty" in capsys.readouterr().out


def test_a_threshold_the_user_set_is_used(folder: Path, capsys: pytest.CaptureFixture) -> None:
    Folder.of(folder).save_settings(RunSettings(empty_threshold=1.0))
    assert Folder.of(folder).settings().empty_threshold == 1.0
    main(["keyframes", str(folder), "--json", "--check-empty"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["empty_threshold"] == 1.0


def test_estimate_skip_empty_says_which_and_what_it_saves(folder: Path, capsys: pytest.CaptureFixture) -> None:
    main(["keyframes", str(folder), "--json"])
    capsys.readouterr()
    assert main(["estimate", str(folder), "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["estimate", str(folder), "--json", "--skip-empty"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "leaves out 1 likely-empty clip(s)" in captured.err and "wind.mp4" in captured.err
    assert doc["skip_empty"]["count"] == 1 and doc["skip_empty"]["videos"][0]["rel_path"] == "wind.mp4"
    assert [v["rel_path"] for v in doc["per_video"]] == ["fox.mp4"]
    saving = doc["skip_empty"]["saving"]
    assert saving["clips"] == 1 and 0 < saving["saving_usd"] < saving["with_usd"]
    head = next(s for s in full["scenarios"] if s["key"] == "batch_caching")["total_usd"]
    assert saving["with_usd"] == pytest.approx(head, abs=1e-6)
    assert main(["estimate", str(folder), "--skip-empty"]) == 0
    assert "Leaving out 1 likely-empty clip(s) saves" in capsys.readouterr().out


def test_run_skip_empty_sends_only_the_clip_with_a_subject(folder: Path, api_env, capsys: pytest.CaptureFixture
                                                           ) -> None:
    assert main(["run", str(folder), "--yes", "--skip-empty", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert "leaves out 1 likely-empty clip(s)" in captured.err and "wind.mp4" in captured.err
    assert doc["plan"]["videos"] == 1
    skipped = {s["rel_path"]: s for s in doc["plan"]["skipped"]}
    assert skipped["wind.mp4"]["kind"] == "likely_empty" and "Likely empty" in skipped["wind.mp4"]["reason"]
    assert (folder / "fox.gaia.json").exists() and not (folder / "wind.gaia.json").exists()


def test_submit_skip_empty_lists_them(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "requests.jsonl"
    assert main(["submit", str(folder), "--skip-empty", "--dry-run", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Skipped, likely empty (--skip-empty): 1" in captured.out and "wind.mp4" in captured.err
    assert len(out.read_text().splitlines()) == 1
