"""The Tune page: price the ladder, run it under a budget against the emulator, see the result, adopt it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.media.empty import empty_scores
from gaia.media.scan import scan_folder
from gaia.pricing.levers import measured_misses
from gaia.quality.tune import quality_for, stored_quality

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "7_Tune.py")


@pytest.fixture
def folder(make_folder, emulator, monkeypatch) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    folder = make_folder({"cat.mp4": "testsrc", "dog.mov": "mov"})
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(count=2))
    return folder


def test_price_run_see_and_adopt(folder):
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["folder"] = str(folder)
    at.run()
    assert not at.exception
    assert any("No tune for this folder" in i.value for i in at.info)
    assert [b.key for b in at.button if b.key == "tune_run"] == []

    at.number_input(key="tune_sample").set_value(2).run()
    at.button(key="tune_price").click().run()
    assert not at.exception
    plan = at.session_state["tune_plan"][1]
    assert len(plan["configs"]) >= 6 and plan["planned_usd"] > 0
    assert stored_quality(folder) is None  # pricing sends nothing and stores nothing
    budget = at.number_input(key="tune_budget").value
    assert budget == gaia.views.default_budget(plan["planned_usd"])  # the ladder's own prices, not a literal
    assert f"spend at most {gaia.format.usd(budget)}" in at.button(key="tune_run").label
    assert not any("No tune for this folder" in i.value for i in at.info)  # priced: the next step is the run
    assert any(c.value == gaia.views.PRICES_NOTE for c in at.caption)  # the two price bases said apart
    assert at.selectbox(key="tune_cascade_model").value == "claude-haiku-5-5"  # the default tune weighs a cascade
    planned = next(d.value for d in at.dataframe if "tune cost" in d.value.columns)
    [cascade] = [r for _, r in planned.iterrows() if r["configuration"].startswith("Cascade: Claude Haiku 5.5")]
    assert cascade["tune cost"] == gaia.views.CASCADE_TUNE_COST and cascade[""].endswith("cascade")

    at.button(key="tune_run").click().run()
    assert not at.exception, at.exception
    stored = stored_quality(folder)
    assert stored is not None and stored["spent_usd"] <= budget
    assert stored["reference"]["score"] is not None
    assert at.get("plotly_chart"), "the quality-against-cost chart"
    table = next(d.value for d in at.dataframe if "score" in d.value.columns and "$ per video" in d.value.columns)
    assert len(table) == len(stored["configs"]) and "reference" in set(table[""])
    assert "current settings" in set(table[""]) and not table.isna().any().any()
    [row] = [c for c in stored["configs"] if c.get("cascade")]  # the cascade, a row like any other
    n = len(row["cascade_passes"]["escalated"])
    assert f"cascade: {n} of 2 sent again" in set(table[""])
    captions = [c.value.replace("\\", "") for c in at.caption]  # Markdown-escaped
    assert any(c.startswith(":material/call_split: Cascade: Claude Haiku 5.5") and f"{n} of 2 first" in c
               for c in captions)
    assert "None" not in table.to_string()
    words = {"recommend": "Recommend.", "keep": "Keep.", "undetermined": "Undetermined."}[stored["verdict"]]
    shown = [*at.success, *at.info, *at.warning]
    assert any(b.value.startswith(f"**{words}**") and "Simulated" in b.value for b in shown)  # the verdict first

    rec = gaia.views.recommended_at(stored, at.slider(key="tune_tolerance").value)
    if rec is None:  # keep or undetermined: nothing to adopt
        assert [b.key for b in at.button if b.key == "tune_adopt"] == []
        return
    at.button(key="tune_adopt").click().run()
    assert not at.exception
    settings = gaia.Folder(folder).settings()
    assert (settings.model, settings.keyframes.count, settings.keyframes.max_edge) == (
        rec["model"], rec["frames"], rec["max_edge"])
    assert any("Adopted" in s.value for s in at.success)
    assert [b.key for b in at.button if b.key == "tune_adopt"] == []  # already the folder's settings
    assert quality_for(folder)["id"] == rec["id"]  # the Estimate page's quality line finds it


def test_no_cascade_and_a_likely_empty_sample_from_the_page(tmp_path, emulator, monkeypatch):
    from tests.media.empty_clips import trap_folder

    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    folder = trap_folder(tmp_path / "trap")
    empty_scores(folder, scan_folder(folder).records)
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["folder"] = str(folder)
    at.run()
    at.number_input(key="tune_sample").set_value(1).run()
    at.selectbox(key="tune_cascade_model").set_value("").run()
    at.number_input(key="tune_empty_sample").set_value(2).run()
    at.button(key="tune_price").click().run()
    assert not at.exception
    assert not [c for c in at.session_state["tune_plan"][1]["configs"] if c.get("cascade")]
    at.button(key="tune_run").click().run()
    assert not at.exception, at.exception
    stored = stored_quality(folder)
    assert stored["misses"]["sampled"] == 2 and not [c for c in stored["configs"] if c.get("cascade")]
    captions = [c.value.replace("\\", "") for c in at.caption]  # Markdown-escaped
    line = next(c for c in captions if c.startswith(":material/visibility_off: Likely-empty clips at the threshold"))
    assert f"{stored['misses']['with_subject']} of 2 sampled likely-empty clips had a subject" in line
    assert measured_misses(folder).sampled == 2  # what the Estimate page shows
