"""``gaia tune DIR`` on the demo folder against the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import gaia
from gaia._cli import build_parser, main
from gaia.quality.ladder import TuneConfig
from gaia.quality.tune import adopt_config, quality_for, run_tune


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


def test_tune_json_contract_and_adopt_with_the_default_tolerance_never_raises_the_estimate(demo, api_env, capsys):
    settings_before = gaia.Folder(demo).settings()
    code = main(["tune", str(demo), "--budget", "1", "--yes", "--adopt", "--json"])  # the default tolerance
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["tolerance"] == gaia.limits.DEFAULT_TOLERANCE and out["simulated"] is True
    for key in ("configs", "reference", "recommended", "spent_usd", "verdict", "current", "negative_control",
                "ceiling", "adopted"):
        assert key in out
    ids = {c["id"] for c in out["configs"]}
    assert out["current"] in ids and out["negative_control"] in ids
    assert out["verdict"] in ("recommend", "keep", "undetermined") and out["verdict_text"]
    assert 0 < out["spent_usd"] <= 1
    for c in out["configs"]:
        assert {"model", "frames", "max_edge", "schema", "usd_per_video", "score", "diff", "ci_low", "ci_high",
                "measured_usd_per_video"} <= set(c)
    ctrl = next(c for c in out["configs"] if c["id"] == out["negative_control"])
    assert ctrl["ci_high"] < 0  # the negative control is clearly below the ceiling on the demo
    assert not list(demo.glob("*.gaia.json"))  # a tune never writes the folder's results
    if out["verdict"] != "recommend":
        assert out["recommended"] is None and out["adopted"] is None and code == 1
        assert "nothing adopted" in captured.err and gaia.Folder(demo).settings() == settings_before
        return
    gaia.Folder(demo).save_settings(settings_before)  # the estimate of the settings before adopting...
    before = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))
    adopt_config(demo, out["adopted"] and TuneConfig.from_dict(out["recommended"]))
    after = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))  # ...and after
    rec = out["recommended"]
    cur = next(c for c in out["configs"] if c["id"] == out["current"])
    assert code == 0 and out["adopted"]["model"] == rec["model"]
    assert rec["usd_per_video"] < cur["usd_per_video"]
    total = {json.dumps(s["key"]): s["total_usd"] for s in after["scenarios"]}
    assert all(total[json.dumps(s["key"])] <= s["total_usd"] for s in before["scenarios"])  # never raised
    settings = gaia.Folder(demo).settings()
    assert (settings.keyframes.count, settings.keyframes.max_edge) == (rec["frames"], rec["max_edge"])
    assert quality_for(demo)["id"] == rec["id"]  # the Estimate page finds its score


def test_adopt_writes_only_a_recommendation(demo, api_env, capsys, monkeypatch):
    """Whatever the tune finds, --adopt never adopts a verdict other than recommend (forced here: keep)."""
    from gaia.quality import verdict as verdict_module

    real = verdict_module.decide

    def keep(*args, **kwargs):
        d = real(*args, **kwargs)
        return verdict_module.Decision(verdict_module.Verdict.KEEP, "Keep the current settings (forced).",
                                       tolerance_abs=d.tolerance_abs, discriminates=True)

    monkeypatch.setattr("gaia.quality.tune.decide", keep)
    before = gaia.Folder(demo).settings()
    assert main(["tune", str(demo), "--sample", "2", "--yes", "--adopt"]) == 1
    captured = capsys.readouterr()
    assert "Keep the current settings (forced)." in captured.out.splitlines()[1]  # the verdict first
    assert "nothing adopted" in captured.err
    assert gaia.Folder(demo).settings() == before


def _run(capsys, argv: list[str]) -> str:
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_adopting_a_recommendation_lowers_the_estimate(demo, capsys):
    """The recommend path, forced with answers set per configuration: the estimate after --adopt is lower."""
    from tests.quality.test_tune import LADDER, FakeRunner

    _run(capsys, ["keyframes", str(demo), "--json", "--no-save"])  # the estimate prices extracted frames
    before = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))
    result = run_tune(demo, runner=FakeRunner(wrong=set()), configs=LADDER, n=5)
    assert result.verdict is gaia.Verdict.RECOMMEND and result.recommended is not None
    adopt_config(demo, result.recommended.config)
    _run(capsys, ["keyframes", str(demo), "--json", "--no-save"])
    after = json.loads(_run(capsys, ["estimate", str(demo), "--json"]))
    total = {s["key"]: s["total_usd"] for s in after["scenarios"]}
    assert all(total[s["key"]] < s["total_usd"] for s in before["scenarios"])


def test_a_cascade_is_one_configuration_and_the_empty_sample_is_reported(demo, api_env, capsys):
    assert main(["tune", str(demo), "--cascade", "claude-haiku-5-5:tiny", "--yes"]) == 2
    assert "frame preset must be one of" in capsys.readouterr().err
    main(["tune", str(demo), "--sample", "2", "--cascade", "claude-haiku-5-5:balanced", "--budget", "1", "--yes",
          "--json"])
    out = json.loads(capsys.readouterr().out)
    [row] = [c for c in out["configs"] if c.get("cascade")]
    assert row["cascade"] == "claude-haiku-5-5:balanced" and row["role"] == "candidate"
    passes = row["cascade_passes"]
    assert passes["videos"] == 2 and passes["second_pass"] == out["current"]
    assert row["measured_usd_per_video"] == pytest.approx(passes["first_usd_per_video"]
                                                          + passes["second_usd_per_video"])
    assert out["misses"] is None  # not asked for
    calls = api_env.calls.get("messages.create", 0)
    main(["tune", str(demo), "--sample", "2", "--cascade", "claude-haiku-5-5:balanced", "--budget", "1", "--yes",
          "--empty-sample", "3"])
    printed = capsys.readouterr().out
    assert api_env.calls.get("messages.create", 0) == calls  # every answer reused, nothing sent for the cascade
    assert f"Cascade: {len(passes['escalated'])} of 2 first answer(s) sent again" in printed
    assert "Likely-empty sample: nothing measured. No clip is likely empty at the threshold 0.75" in printed
    main(["tune", str(demo), "--sample", "2", "--cascade", "off", "--budget", "1", "--yes", "--json"])
    assert not [c for c in json.loads(capsys.readouterr().out)["configs"] if c.get("cascade")]
