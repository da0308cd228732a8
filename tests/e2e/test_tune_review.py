"""In a real browser: the Tune page (chart, table, adopt) and the Results review queue (correct, save, export).

A folder of three clips, with answers written as sidecars (one made uncertain: low confidence, an
"unknown" place) so the review queue has work; the tune runs against the app's own emulator.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import gaia
from gaia.labels import read_verified
from gaia.quality.tune import stored_quality
from gaia.sidecar import write_sidecar
from tests import videos as media
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import LONG, fresh_text, shot, table_texts, wait_idle, watch_table_text

pytestmark = pytest.mark.e2e

ANSWER = {"summary": "A test pattern moves.", "subjects": [{"species": "cat", "scientific_name": "", "count": 1,
                                                            "description": ""}],
          "behaviours": [], "notable_moments": [], "people_present": False, "welfare_concerns": [],
          "setting": {"environment": "indoor", "place": "studio", "lighting": "artificial", "description": ""},
          "frame_quality": "good", "confidence": "high", "tags": ["cat"]}


@pytest.fixture
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder per test (the tune adopts settings; the review must not depend on that)."""
    folder = tmp_path_factory.mktemp("tune-review") / "videos"
    folder.mkdir()
    run = {"model": gaia.limits.DEFAULT_MODEL, "prompt_hash": gaia.default_profile().hash}
    for name, kind in (("a.mp4", "testsrc"), ("b.mov", "mov"), ("c.mp4", "testsrc")):
        media.make(kind, folder / name)
        write_sidecar(folder / name, {"analysis": ANSWER, "run": run})
    unsure = {**ANSWER, "confidence": "low", "setting": {**ANSWER["setting"], "environment": "unknown"}}
    write_sidecar(folder / "a.mp4", {"analysis": unsure})
    return folder


def open_folder(page: Page, server: AppServer, folder: Path) -> None:
    page.goto(server.url)
    wait_idle(page)
    field = page.get_by_label("Folder", exact=True)
    field.fill(str(folder))
    field.press("Enter")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=LONG)
    wait_idle(page)


def nav(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=LONG)
    wait_idle(page)


def test_tune_chart_table_and_adopt(page: Page, app_server: AppServer, clips: Path) -> None:
    watch_table_text(page)  # the tables' cells, as drawn
    open_folder(page, app_server, clips)
    nav(page, "Tune")
    expect(fresh_text(page, "No tune for this folder's prompt yet")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Run the tune"))).to_have_count(0)  # priced first
    page.get_by_role("button", name="Price the ladder").click()
    expect(page.get_by_role("heading", name="The ladder, priced before sending")).to_be_visible(timeout=LONG)
    run = page.get_by_role("button", name=re.compile(r"^Run the tune \(spend at most \$"))
    expect(run).to_be_visible()
    run.click()
    # The tune sends about ten configurations for 3 videos through the demo emulator: minutes on a loaded machine.
    verdict = fresh_text(page, re.compile(r"^(Recommend|Keep|Undetermined)\. "))
    expect(verdict.first).to_be_visible(timeout=3 * LONG)  # the verdict in one sentence, at the top
    wait_idle(page)
    stored = stored_quality(clips)
    assert stored is not None and len(stored["configs"]) >= 8 and stored["spent_usd"] <= stored["budget_usd"]
    assert stored["verdict"] in ("recommend", "keep", "undetermined") and stored["simulated"]
    expect(fresh_text(page, "Simulated (scores from the local emulator").first).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=LONG)  # plotly loads lazily
    expect(chart.locator("g.errorbar").first).to_be_attached(timeout=LONG)  # intervals drawn as error bars
    expect(fresh_text(chart, "current settings").first).to_be_attached()  # marked in the legend
    expect(fresh_text(chart, "negative control (frames that show nothing)").first).to_be_attached()
    expect(fresh_text(chart, "ceiling (reference asked twice)").first).to_be_attached()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    shot(page, "tune.png")  # (waits for the page to settle: every table drawn)
    drawn = [t for table in table_texts(page) for row in table for t in row]
    assert "score" in drawn and "None" not in drawn, drawn  # a field the tune cannot score reads "–" (issue 26, 10)
    adopt = page.get_by_role("button", name=re.compile("^Adopt "))
    rec = gaia.views.recommended_at(stored, gaia.limits.DEFAULT_TOLERANCE)
    if rec is None:  # keep or undetermined: nothing is offered, nothing changes
        expect(adopt).to_have_count(0)
        return
    before = gaia.Folder(clips).settings()
    expect(adopt).to_be_visible()
    adopt.click()
    expect(fresh_text(page, "Adopted: the folder now runs")).to_be_visible(timeout=LONG)
    wait_idle(page)
    expect(page.get_by_role("button", name=re.compile("^Adopt "))).to_have_count(0)  # nothing left to adopt
    settings = gaia.Folder(clips).settings()
    assert (settings.model, settings.keyframes.count) == (rec["model"], rec["frames"]) and settings != before


def section(page: Page, name: str | re.Pattern[str]):
    """One of the Results page's sections (a segmented control held in the session, not st.tabs)."""
    return page.get_by_test_id("stButtonGroup").get_by_role("radio", name=name)


def selected(page: Page, name: str | re.Pattern[str]) -> None:
    """The section ``name`` is the one shown."""
    expect(section(page, name)).to_have_attribute("aria-checked", "true")


def test_review_queue_correct_save_and_export(page: Page, app_server: AppServer, clips: Path) -> None:
    open_folder(page, app_server, clips)
    nav(page, "Results")
    section(page, re.compile(r"^Review")).click()  # the queue is built when its section is first shown...
    wait_idle(page)
    expect(section(page, re.compile(r"^Review \(1\)"))).to_be_visible(timeout=LONG)  # ...and counted from then on
    reason = fresh_text(page, "The model's confidence is low.").filter(visible=True).first
    expect(reason).to_be_visible(timeout=LONG)
    env = page.get_by_test_id("stSelectbox").filter(has_text="setting.environment")
    wait_idle(page)  # a rerun after the page settles would close an open list
    env.click()
    option = page.get_by_role("option", name="outdoor", exact=True)
    if not option.is_visible():  # the list closed under a late rerun: open it again
        wait_idle(page)
        env.click()
    option.click()  # (docs/screenshots/review.png is taken by test_careful_items, on answers with their frames)
    # The form fits the schema: tags are a multiselect, moments a table editor, the frames beside it.
    expect(page.get_by_test_id("stMultiSelect").filter(has_text="tags")).to_be_visible()
    # (these answers were written by hand, so no frames were sent; tests/pages/test_page_review.py has frames)
    expect(fresh_text(page, re.compile(r"frame\(s\) the model saw|No frames were sent"))).to_be_visible()
    page.get_by_role("button", name="Save as verified").click()
    # Issue 26 item 4: saving keeps you on Review, and says so there (not on a tab you cannot see).
    expect(fresh_text(page, "Saved").filter(has_text="a.mp4 as verified")).to_be_visible(timeout=LONG)
    wait_idle(page)
    selected(page, re.compile(r"^Review"))
    expect(fresh_text(page, "Nothing waits for a person")).to_be_visible()
    expect(section(page, re.compile(r"^Review \(1\)"))).to_have_count(0)  # a.mp4 is settled
    verified = read_verified(clips / "a.mp4")
    assert verified is not None and verified.fields["setting.environment"] == "outdoor"

    section(page, "Export").click()
    wait_idle(page)
    page.get_by_role("button", name="Write the XMP sidecars now").click()
    wait_idle(page)
    selected(page, "Export")  # still on Export, with the confirmation where the button is
    expect(fresh_text(page, re.compile(r"XMP sidecar\(s\) written"))).to_be_visible(timeout=LONG)
    with page.expect_download() as info:
        page.get_by_role("button", name="All analyses (JSONL)").click()
    text = Path(info.value.path()).read_text()
    line = next(x for x in text.splitlines() if '"video": "a.mp4"' in x)
    assert '"environment": "outdoor"' in line and '"verified": {' in line
