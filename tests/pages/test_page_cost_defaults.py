"""Cost-honest defaults on the pages: frame-size presets on Keyframes,
the prompt profile and the answer length limit on Submit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import gaia
from gaia.media.scan import scan_folder
from gaia.prompts import compact_profile
from gaia.runs.recovery import plan_submission
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")
SUBMIT = str(ROOT / "pages" / "4_Submit.py")


_app = page_app


def test_keyframes_offers_presets_priced_for_the_folders_videos_and_saves_the_choice(make_folder):
    folder = make_folder({"hd.mp4": "hd"})  # 1280x720
    at = _app(KEYFRAMES, folder).run()
    assert not at.exception
    choice = at.selectbox(key="frame_preset")
    assert choice.value == "balanced" and choice.options[:3] == [
        gaia.views.preset_label(n, gaia.views.preset_rows(gaia.limits.DEFAULT_MODEL, frames=6, current_edge=1024,
                                                          records=scan_folder(folder).records)[0])
        for n in ("economy", "balanced", "detailed")]
    table = at.dataframe[0].value
    assert list(table["preset"]) == ["economy", "balanced", "detailed"]
    assert list(table["frame"]) == ["512×288", "1024×576", "1280×720"]  # a 720p video is never enlarged
    assert list(table["tokens per frame"]) == [209, 777, 1196]
    assert any("for a 1280×720 video (the folder's most common size)" in c.value for c in at.caption)

    choice.set_value("economy").run()
    assert not at.exception
    saved = json.loads((folder / ".gaia" / "settings.json").read_text())
    assert saved["frame_preset"] == "economy" and saved["keyframes"]["max_edge"] == 512

    at.selectbox(key="frame_preset").set_value("custom").run()
    edge = next(s for s in at.selectbox if s.label == "Max edge (px)")
    edge.set_value(0).run()  # the model's own limit: today's full size, still on offer
    assert not at.exception
    assert gaia.Folder(folder).settings().keyframes.max_edge is None
    table = at.dataframe[0].value
    assert list(table["preset"]) == ["economy", "balanced", "detailed", "custom"]
    assert table["longest edge"].iloc[-1] == "model's full size"


def _answers(folder: Path, outputs: list[int], *, profile_hash: str, status: str = "succeeded",
             error_kind: str | None = None) -> None:
    from gaia.ledger import RequestIntent

    f = gaia.Folder(folder)
    model = f.settings().model
    with f.ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model=model, prompt_hash=profile_hash, settings={})
        ids = ledger.add_standard_requests(run_id, [
            RequestIntent(custom_id=f"{status}{profile_hash}{i}", rel_path=f"v{i}.mp4", set_id="s", timestamps=(),
                          prompt_hash=profile_hash, model=model) for i in range(len(outputs))])
        for rid, out in zip(ids, outputs, strict=True):
            ledger.finish_request(rid, status, usage={"input_tokens": 100, "output_tokens": out}, cost_usd=0.01,
                                  error_kind=error_kind)


def test_submit_shows_each_profiles_output_tokens_and_switches_to_compact(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    full = gaia.default_profile()
    _answers(folder, [2000, 2200, 2400], profile_hash=full.hash)
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    compact = compact_profile(full)
    settings = gaia.Folder(folder).settings()
    # No compact answers yet: the figure is the estimate's prediction from compact's own schema.
    guess = gaia.output_estimate(schema=compact.schema, model=settings.model, max_tokens=settings.max_tokens)
    predicted = gaia.format.tokens(guess.median)
    pick = at.selectbox(key="submit_profile")  # names only: the browser keeps a choice by its label
    assert pick.value == "default" and pick.options[:2] == ["default", "compact"]
    captions = " ".join(c.value for c in at.caption)
    assert "default · 2,200 output tokens an answer \\(median of 3\\)" in captions, captions
    table = next(d.value for d in at.dataframe if "output tokens (median)" in d.value.columns)
    assert table.set_index("profile").loc["default", "answers"] == 3
    pick.set_value("compact").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert f"compact · no answers yet \\(the estimate assumes {predicted}\\)" in captions, captions
    settings = gaia.Folder(folder).settings()
    assert settings.prompt_profile == "compact"
    assert gaia.Folder(folder).profile().hash == compact_profile(full).hash
    plan = plan_submission(folder)
    assert plan.profile.hash == compact_profile(full).hash  # what the batch will send


def test_submit_warns_of_cut_off_answers_and_one_click_sets_the_suggested_limit(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    full = gaia.default_profile()
    gaia.Folder(folder).save_settings(gaia.RunSettings(max_tokens=1024).with_keyframes(count=2))
    _answers(folder, [600] * 12, profile_hash=full.hash)
    _answers(folder, [1024], profile_hash=full.hash, status="failed", error_kind="max_tokens")
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    assert any("1 answer(s) were cut off at the limit (1,024 tokens)" in w.value for w in at.warning)
    at.button(key="submit_use_max_tokens").click().run()
    assert not at.exception, at.exception
    assert gaia.Folder(folder).settings().max_tokens == 2048
    assert at.number_input(key="submit_max_tokens").value == 2048


def test_leaving_submit_and_coming_back_keeps_the_answer_limit_and_the_profile(api_env, ready_folder):
    # Streamlit drops a widget's value when its page is left; a widget back at its default (256 tokens,
    # the first profile) must not overwrite the folder's settings (a trial was once cut off at 256).
    folder = ready_folder({"a.mp4": "testsrc"})
    f = gaia.Folder(folder)
    f.save_settings(replace(f.settings(), max_tokens=3072, prompt_profile="compact"))
    first = _app(SUBMIT, folder).run()
    assert not first.exception, first.exception
    # Back on the page: the seeds (plain session state) survive, the widgets' own values do not.
    at = _app(SUBMIT, folder)
    for key in ("submit_max_tokens_seed", "submit_profile_seed"):
        at.session_state[key] = first.session_state[key]
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key="submit_max_tokens").value == 3072
    assert at.selectbox(key="submit_profile").value == "compact"
    settings = gaia.Folder(folder).settings()
    assert (settings.max_tokens, settings.prompt_profile) == (3072, "compact")
