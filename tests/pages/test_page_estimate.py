"""The Estimate cost page, run from its own file with a seeded folder (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.media.keyframes import extract_keyframes
from gaia.pricing.estimate import estimate_run, load_run_inputs
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "3_Estimate_cost.py")


def _app(folder: Path | None = None) -> AppTest:
    return page_app(PAGE, folder)


def table(at: AppTest, column: str):
    """The first dataframe with ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


money = gaia.format.usd


@pytest.fixture
def extracted(make_folder) -> Path:
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "hd"})
    settings = gaia.Folder(folder).settings().with_keyframes(count=3)
    gaia.Folder(folder).save_settings(settings)
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model, workers=1)
    return folder


def test_without_a_folder_points_to_select_page() -> None:
    at = _app().run()
    assert not at.exception
    assert "Choose a folder" in at.info[0].value


def test_without_keyframes_points_to_keyframes_page(make_folder) -> None:
    at = _app(make_folder({"a.mp4": "testsrc"})).run()
    assert not at.exception
    assert any("No video has keyframes" in i.value for i in at.info)


def test_shows_the_four_scenarios_with_real_values(extracted: Path) -> None:
    at = _app(extracted).run()
    assert not at.exception
    inp = load_run_inputs(extracted)
    est = estimate_run(inp.sets, model=inp.model, profile=inp.profile, cache_ttl=inp.cache_ttl,
                       selection=inp.selection, source_sizes=inp.source_sizes)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batch API + caching"] == money(est.total_usd["batch_caching"])
    assert metrics["Prices as of"] == gaia.model_facts(inp.model).as_of
    assert metrics["Cacheable prefix"] == f"{est.text.prefix:,}"
    df = table(at, "scenario")
    assert list(df["scenario"]) == ["Standard", "Prompt caching", "Batch API", "Batch API + caching"]
    for label, key in (("Standard", "standard"), ("Batch API", "batch"), ("Batch API + caching", "batch_caching")):
        assert df.loc[df.scenario == label, "total (USD)"].item() == pytest.approx(est.total_usd[key], abs=1e-4)
    # The approximate counts are labelled; explanations are computed; charts are drawn.
    assert any("approximate" in c.value for c in at.caption)
    text = " ".join(md.value for md in at.markdown)
    assert "Where the money goes" in text and "The biggest lever left" in text
    assert len(at.get("plotly_chart")) == 4
    models = table(at, "model")
    assert len(models) >= 10 and "Claude Haiku 5.5 ⚠" in set(models["model"])


def test_model_choice_is_saved_and_caching_minimum_is_explained(extracted: Path) -> None:
    at = _app(extracted).run()
    at.selectbox(key="estimate_model").set_value("claude-haiku-4-5").run()
    assert not at.exception
    assert gaia.Folder(extracted).settings().model == "claude-haiku-4-5"
    # Haiku 4.5 needs a 4,096-token prefix; the default prompt is shorter.
    assert any("Caching will do nothing" in w.value for w in at.warning)
    df = table(at, "scenario")
    totals = dict(zip(df["scenario"], df["total (USD)"], strict=True))
    assert totals["Prompt caching"] == pytest.approx(totals["Standard"])
    # The frames extracted for the previous model still give the estimate (re-priced for Haiku 4.5).
    assert any(c.value.startswith("2 video(s), 6 frame(s)") for c in at.caption)


def test_uncertain_prices_are_marked(extracted: Path) -> None:
    at = _app(extracted).run()
    at.selectbox(key="estimate_model").set_value("claude-fable-5-2").run()
    assert not at.exception
    assert any("Uncertain for Claude Fable 5.2" in w.value and "prices" in w.value for w in at.warning)


def test_follows_exclusions_ttl_and_budget(extracted: Path) -> None:
    at = _app(extracted).run()
    before = table(at, "scenario")["total (USD)"].tolist()
    gaia.Folder(extracted).set_video_excluded("b.mp4", True)
    at.run()
    assert not at.exception
    after = table(at, "scenario")["total (USD)"].tolist()
    assert all(a < b for a, b in zip(after, before, strict=True))
    assert any("1 excluded on the Keyframes page" in c.value for c in at.caption)
    at.radio(key="estimate_ttl").set_value("5m").run()
    assert gaia.Folder(extracted).settings().cache_ttl == "5m"
    at.number_input(key="estimate_budget").set_value(0.0001).run()
    assert any("Nothing fits" in e.value for e in at.error)
    at.number_input(key="estimate_budget").set_value(50.0).run()
    assert any("Under $50.00" in s.value for s in at.success)


def test_text_counts_are_exact_with_the_api_and_approximate_in_demo_mode(extracted: Path, api_env) -> None:
    at = _app(extracted).run()
    assert not at.exception
    assert any("exact (count_tokens" in c.value for c in at.caption)
    assert api_env.calls.get("messages.count_tokens", 0) >= 1
    calls = dict(api_env.calls)
    demo = _app(extracted)
    demo.session_state["use_emulator"] = True  # the sidebar's demo switch: never ask the real API
    demo.run()
    assert not demo.exception
    # The count the API made is kept for the folder (folder_prompt_tokens), so the demo shows the same
    # figure every other page uses, without asking the API again.
    assert any("exact (count_tokens" in c.value for c in demo.caption)
    assert dict(api_env.calls) == calls


def test_leads_with_the_decision_and_folds_the_rest(extracted: Path) -> None:
    """Issue 15 item 11: one figure, its range and the biggest lever first; tables and charts folded."""
    at = _app(extracted).run()
    assert not at.exception
    assert at.metric[0].label == "Batch API + caching"  # the first figure on the page
    first = [md.value for md in at.markdown][:2]
    assert first[0].startswith("Likely between **$") and " per video" in first[0]
    assert first[1].startswith("**The biggest lever left.**") or first[1].startswith("**Output.**")
    folded = [e.label for e in at.expander]
    assert folded[:6] == ["Four ways to send the same run", "Where the money goes, and what the numbers say",
                          "The prompt every request shares", "The same run on every model",
                          "What if: frames per video and frame size", "Fit a budget"]
    assert not any(e.proto.expanded for e in at.expander)
    assert not at.subheader  # no wall of sections
