"""``gaia tune DIR`` on the demo folder against the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import gaia
from gaia._cli import build_parser, main


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("demo-cache")))
        return gaia.ensure_demo_folder()


@pytest.fixture
def demo(tmp_path: Path, demo_source: Path) -> Path:
    dest = tmp_path / "demo"
    shutil.copytree(demo_source, dest)
    return dest


def test_help_has_an_example_and_the_command_is_registered(capsys):
    assert "tune" in build_parser().format_help()
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and "--budget" in out and "--adopt" in out and "--models" in out


def test_asks_and_refuses_without_a_terminal(demo, api_env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(["tune", str(demo), "--sample", "2"]) == 1
    captured = capsys.readouterr()
    assert "--yes" in captured.err and "configurations on 2 video(s)" in captured.out
    assert "messages.create" not in api_env.calls


def test_unknown_model_is_a_plain_error(demo, capsys):
    assert main(["tune", str(demo), "--models", "claude-nonsense", "--yes"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_tune_json_recommends_cheaper_within_tolerance_and_adopt_changes_the_estimate(demo, api_env, capsys):
    before = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))
    # The user sets the tolerance (0.15 of the reference's score); the recommendation honours it.
    out = json.loads(_run(capsys, ["tune", str(demo), "--budget", "1", "--tolerance", "0.15", "--yes", "--adopt",
                                   "--json"]))
    assert out["tolerance"] == 0.15
    assert len([c for c in out["configs"] if c["score"] is not None]) >= 6
    assert 0 < out["spent_usd"] <= 1
    for c in out["configs"]:
        assert {"model", "frames", "max_edge", "schema", "usd_per_video", "score"} <= set(c)
    ref, rec = out["reference"], out["recommended"]
    assert rec["usd_per_video"] < ref["usd_per_video"] and rec["score"] >= ref["score"] - out["tolerance"]
    assert out["adopted"]["model"] == rec["model"]
    assert not list(demo.glob("*.gaia.json"))  # a tune never writes the folder's results
    after = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))
    assert after["model"] == rec["model"]
    assert after != before
    settings = gaia.Folder(demo).settings()
    assert (settings.keyframes.count, settings.keyframes.max_edge) == (rec["frames"], rec["max_edge"])
    assert gaia.quality_for(demo)["id"] == rec["id"]  # the Estimate page finds its score
    plan = gaia.plan_submission(demo)
    assert plan.settings == settings and plan.profile.hash == gaia.Folder(demo).profile().hash


def _run(capsys, argv: list[str]) -> str:
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out
