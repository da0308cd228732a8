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
    from gaia.runs.recovery import plan_submission

    with pytest.raises(ValueError, match="answer length limit"):
        RunSettings(max_tokens=10)
    gaia.Folder(tmp_path).save_settings(RunSettings(max_tokens=2048))
    ksets = fake_ksets(tmp_path, ["a.mp4"])
    plan = plan_submission(tmp_path, keyframe_sets=ksets)
    assert plan.max_tokens == 2048
    assert plan_submission(tmp_path, keyframe_sets=ksets, max_tokens=1000).max_tokens == 1000


# --- frame-size presets ---------------------------------------------------------------------------------

def test_the_default_frame_size_is_the_balanced_preset_not_the_models_maximum():
    s = RunSettings()
    assert s.frame_preset == gaia.limits.DEFAULT_FRAME_PRESET == "balanced"
    assert s.keyframes.max_edge == gaia.frame_preset("balanced").max_edge == 1024
    assert [p.name for p in gaia.limits.FRAME_PRESETS] == ["economy", "balanced", "detailed"]
    assert [p.max_edge for p in gaia.limits.FRAME_PRESETS] == sorted(p.max_edge for p in gaia.limits.FRAME_PRESETS)


def test_presets_are_recorded_and_any_other_edge_is_custom(tmp_path):
    f = gaia.Folder(tmp_path)
    f.save_settings(RunSettings().with_preset("economy"))
    saved = json.loads((tmp_path / ".gaia" / SETTINGS_FILE).read_text())
    assert saved["frame_preset"] == "economy" and saved["keyframes"]["max_edge"] == 512
    assert f.settings().frame_preset == "economy"
    f.save_settings(RunSettings().with_keyframes(max_edge=800))
    assert json.loads((tmp_path / ".gaia" / SETTINGS_FILE).read_text())["frame_preset"] == "custom"
    assert f.settings().keyframes.max_edge == 800
    f.save_settings(RunSettings().with_keyframes(max_edge=None))  # the model's full size, chosen
    assert f.settings().keyframes.max_edge is None and f.settings().frame_preset == "custom"
    with pytest.raises(ValueError, match="economy, balanced, detailed"):
        RunSettings().with_preset("huge")


def _legacy(tmp_path, max_edge):
    """A settings file as GAIA wrote it before presets: no ``frame_preset``, ``max_edge`` as given."""
    wd = tmp_path / ".gaia"
    wd.mkdir(parents=True, exist_ok=True)
    data = RunSettings().to_dict()
    del data["frame_preset"]
    data["keyframes"]["max_edge"] = max_edge
    (wd / SETTINGS_FILE).write_text(json.dumps(data))
    return gaia.Folder(tmp_path)


def test_an_old_folder_with_no_saved_edge_gets_the_new_default(tmp_path):
    assert _legacy(tmp_path, None).settings().keyframes.max_edge == 1024


def test_an_old_folder_keeps_its_explicit_edge(tmp_path):
    f = _legacy(tmp_path, 768)
    assert f.settings().keyframes.max_edge == 768 and f.settings().frame_preset == "custom"


def test_an_old_folder_that_sent_at_full_size_keeps_full_size_so_its_answers_stay_current(tmp_path):
    f = _legacy(tmp_path, None)
    old_fingerprint = run_fingerprint(RunSettings().with_keyframes(max_edge=None), f.profile().hash)
    with f.ledger():
        pass  # the folder has sent before: its ledger exists
    assert f.settings().keyframes.max_edge is None
    assert f.fingerprint() == old_fingerprint  # its sidecars still count as analysed, nothing is resent
    f.save_settings(f.settings().with_preset("balanced"))  # until the user picks a preset
    assert f.settings().keyframes.max_edge == 1024


def test_a_run_recorded_before_presets_is_retried_with_the_frames_it_sent(tmp_path):
    from types import SimpleNamespace

    from gaia.runs.failures import _run_settings

    recorded = RunSettings().to_dict()
    del recorded["frame_preset"]
    recorded["keyframes"]["max_edge"] = None  # the old default: the model's full size
    first = SimpleNamespace(model=None)
    settings, _, _ = _run_settings(gaia.Folder(tmp_path), SimpleNamespace(settings=recorded), first, 8192)
    assert settings.keyframes.max_edge is None
    current = SimpleNamespace(settings=RunSettings().to_dict())
    settings, limit, _ = _run_settings(gaia.Folder(tmp_path), current, first, 8192)
    assert limit == 8192  # a retry sends the limit given (today's), whatever the run was sent with
    assert settings.keyframes.max_edge == 1024


def test_a_runs_sent_settings_keep_the_format_the_ledger_always_stored():
    from gaia.settings import DEFAULT_MAX_TOKENS, RunSettings, SentSettings

    s = RunSettings(max_tokens=2048)
    sent = SentSettings(s, 2048, "compact", "file", concurrency=4, estimate={"total_usd": 1.0})
    stored = sent.to_dict()
    assert stored == {**s.to_dict(), "max_tokens": 2048, "prompt_profile_name": "compact", "image_source": "file",
                      "estimate": {"total_usd": 1.0}, "concurrency": 4}
    assert SentSettings.of(stored) == sent
    assert "concurrency" not in SentSettings(s).to_dict()  # a batch has none
    old = SentSettings.of({"model": s.model, "keyframes": {"count": 6, "max_edge": None}})  # before presets
    assert old.settings.keyframes.max_edge is None and old.settings.keyframes.count == 6  # sent at full size
    assert (old.max_tokens, old.image_source, old.estimate) == (DEFAULT_MAX_TOKENS, "base64", None)
    odd = SentSettings.of({"keyframes": "broken"}, fallback=s.with_keyframes(count=3))
    assert odd.settings.keyframes.count == 3


def test_empty_threshold_defaults_for_old_settings_files_and_is_checked() -> None:
    from gaia.settings import EMPTY_THRESHOLD, RunSettings

    assert RunSettings.from_dict({"model": RunSettings().model}).empty_threshold == EMPTY_THRESHOLD
    assert RunSettings.from_dict(RunSettings(empty_threshold=0.9).to_dict()).empty_threshold == 0.9
    with pytest.raises(ValueError, match="empty-clip threshold"):
        RunSettings(empty_threshold=1.5)


def test_the_cascade_entry_defaults_to_one_pass_and_an_odd_one_loses_nothing_else() -> None:
    from gaia.settings import RunSettings, SentSettings

    old = {"model": "claude-sonnet-5-5", "frame_preset": "economy"}  # written before the entry existed
    assert RunSettings.from_dict(old).cascade == "" and RunSettings.from_dict(old).cascade_pair is None
    on = RunSettings.from_dict({**old, "cascade": "claude-haiku-5-5:economy"})
    assert on.cascade_pair == ("claude-haiku-5-5", "economy")
    assert RunSettings.from_dict(on.to_dict()) == on
    odd = RunSettings.from_dict({**old, "cascade": "haiku please", "max_tokens": 1024})
    assert odd.cascade == "" and odd.max_tokens == 1024 and odd.model == "claude-sonnet-5-5"
    import pytest

    with pytest.raises(ValueError, match="CHEAP_MODEL:PRESET"):
        RunSettings(cascade="haiku")
    # A run row: the cascade pass is kept beside the settings, and rows written before it read as no pass.
    stored = SentSettings(on, cascade_pass={"pass": 1}).to_dict()
    assert SentSettings.of(stored).cascade_pass == {"pass": 1}
    assert SentSettings.of(SentSettings(on).to_dict()).cascade_pass is None
