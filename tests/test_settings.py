"""Run settings and selections: saved in the folder's .gaia/, shared by the app and the CLI."""

from __future__ import annotations

import json

import pytest

import gaia
from gaia.settings import SETTINGS_FILE, KeyframeSettings, RunSettings, run_fingerprint


def test_settings_round_trip_and_defaults(tmp_path):
    assert gaia.Folder(tmp_path).settings() == RunSettings()
    s = RunSettings(model="claude-haiku-4-5", cache_ttl="5m").with_keyframes(count=9, strategy="scene", max_edge=800)
    path = gaia.Folder(tmp_path).save_settings(s)
    assert path == tmp_path / ".gaia" / SETTINGS_FILE
    assert gaia.Folder(tmp_path).settings() == s


def test_unknown_keys_are_ignored_and_a_damaged_file_gives_defaults(tmp_path):
    gaia.Folder(tmp_path).save_settings(RunSettings())
    path = tmp_path / ".gaia" / SETTINGS_FILE
    data = json.loads(path.read_text())
    data["future_option"] = 1
    data["keyframes"]["future_knob"] = 2
    path.write_text(json.dumps(data))
    assert gaia.Folder(tmp_path).settings() == RunSettings()
    path.write_text("{broken")
    assert gaia.Folder(tmp_path).settings() == RunSettings()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"strategy": "random"}, "strategy must be one of"), ({"count": 0}, "frame count"),
     ({"max_edge": 10}, "max edge"), ({"jpeg_quality": 100}, "JPEG quality")],
)
def test_bad_keyframe_settings_are_refused_plainly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KeyframeSettings(**kwargs)


def test_bad_ttl_is_refused():
    with pytest.raises(ValueError, match="cache TTL"):
        RunSettings(cache_ttl="2h")


def test_fingerprint_changes_with_what_changes_the_answer():
    base = RunSettings()
    fp = run_fingerprint(base, "abc")
    assert run_fingerprint(base, "abc") == fp
    assert run_fingerprint(base, "abd") != fp
    assert run_fingerprint(base.with_keyframes(count=3), "abc") != fp
    assert run_fingerprint(RunSettings(model="claude-haiku-4-5"), "abc") != fp


def test_selection_round_trip(tmp_path):
    gaia.Folder(tmp_path).set_video_excluded("a.mp4", True)
    gaia.Folder(tmp_path).set_frame_excluded("b.mp4", 1.23456, True)
    sel = gaia.Folder(tmp_path).selection()
    assert sel.video_excluded("a.mp4") and not sel.video_excluded("b.mp4")
    assert sel.frame_excluded("b.mp4", 1.2346) and not sel.frame_excluded("b.mp4", 2.0)
    gaia.Folder(tmp_path).set_video_excluded("a.mp4", False)
    assert not gaia.Folder(tmp_path).selection().video_excluded("a.mp4")


def test_the_answer_length_limit_is_a_saved_setting_the_plan_uses(tmp_path, fake_ksets):
    from gaia import plan_submission

    with pytest.raises(ValueError, match="answer length limit"):
        RunSettings(max_tokens=10)
    gaia.Folder(tmp_path).save_settings(RunSettings(max_tokens=2048))
    ksets = fake_ksets(tmp_path, ["a.mp4"])
    plan = plan_submission(tmp_path, keyframe_sets=ksets)
    assert plan.max_tokens == 2048
    assert plan_submission(tmp_path, keyframe_sets=ksets, max_tokens=1000).max_tokens == 1000
