"""Issue 26 in a real browser, one test per numbered item: what a careful user sees on the page.

Item 1 (no traceback on a folder of problem files) is ``tests/e2e/test_careful_user.py``; items 2–13 are here.
Every test runs on the session's one app server (demo mode) and asserts what the page shows: its words, its
widgets, where it stays after an action, a question with an amount before money is spent, progress with counts,
no ``None``, times in order, the model list's order, the terminal left clean. The folders are made once per module
in this process: keyframes extracted with ``gaia.Folder.keyframes``, answers sent to an emulator of this test's
own and retrieved (so the app's pages read a folder in the state a real run leaves it). The tests only use names
GAIA had when the issue was filed (add9a13), so each can be run against that version to show it failing there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

import gaia
from gaia.labels import read_verified
from gaia.sidecar import read_sidecar, write_sidecar
from tests import videos as media
from tests.e2e.conftest import DESKTOP, NARROW, AppServer, log_problems, start_app, stop_app
from tests.e2e.helpers import LONG, fresh_text, shot, table_texts, wait_idle, watch_table_text

pytestmark = pytest.mark.e2e

MOMENTS = [{"time_s": 2.0, "description": "b"}, {"time_s": 3.0, "description": "c"},
           {"time_s": 2.3, "description": "a"}]  # as a model may list them: not in time order
SENT_WITHIN_S = 120  # how long the module's folders may take to come back from this test's emulator


# --- Folders, made once per module ------------------------------------------------------------------------

def _extracted(folder: Path, layout: dict[str, str], **keyframes: object) -> Path:
    """A folder of synthetic clips with its keyframes extracted (2 per video unless told)."""
    folder.mkdir(parents=True)
    for name, kind in layout.items():
        media.make(kind, folder / name)
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(**{"count": 2, **keyframes}))
    s = f.settings()
    sets = f.keyframes(settings=s.keyframes, model=s.model)
    assert all(k.frames for k in sets if k.problem is None)
    return folder


def _send(folder: Path, *, cancel: bool = False, **config: object) -> None:
    """Plan, submit and retrieve the folder's batch through an emulator of this test's own (so the app finds
    the folder as a real run leaves it: answers in sidecars, the batch ended in the ledger)."""
    emu = gaia.emulator.start_emulator(
        state_dir=folder.parent / "emulator",
        config=gaia.emulator.EmulatorConfig(batch_delay_s=3600 if cancel else 0.2, **config))
    try:
        client = gaia.make_client(api_key="gaia-e2e-no-real-key", base_url=emu.base_url)
        face = gaia.Folder(folder, client)
        sent = face.submit(face.plan())
        assert sent.batches and not sent.blocked, sent
        if cancel:
            for b in sent.batches:
                face.cancel(b.batch_id)
        n, back = sent.sent, 0
        deadline = time.monotonic() + SENT_WITHIN_S
        while back < n and time.monotonic() < deadline:
            time.sleep(0.2)  # polling an emulator's batch, not waiting in a test
            got = face.retrieve()
            back += got.written + got.failed
        assert back == n, f"{back} of {n} came back"
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``made(name)``: a fresh empty folder path under this module's temporary folder."""
    base = tmp_path_factory.mktemp("careful-items")
    return lambda name: base / name / "videos"


@pytest.fixture(scope="module")
def analysed(made: Callable[[str], Path]) -> Path:
    """Two clips analysed with the folder's settings; a.mp4's answer is unsure (so it waits for review) and lists
    its notable moments out of time order."""
    folder = _extracted(made("analysed"), {"a.mp4": "testsrc", "b.mp4": "cuts"})
    _send(folder)
    data = read_sidecar(folder / "a.mp4")
    unsure = {**data["analysis"], "confidence": "low", "notable_moments": MOMENTS}
    write_sidecar(folder / "a.mp4", {"analysis": unsure})
    return folder


@pytest.fixture(scope="module")
def fresh(made: Callable[[str], Path]) -> Path:
    """Two clips with keyframes extracted, nothing sent."""
    return _extracted(made("fresh"), {"a.mp4": "testsrc", "b.mp4": "cuts"})


# --- Helpers -------------------------------------------------------------------------------------------------

def open_page(page: Page, server: AppServer, folder: Path, name: str = "") -> None:
    """Open the app on ``folder`` (in the address, as a bookmark would), then go to the page ``name``."""
    page.goto(f"{server.url}/?folder={quote(str(folder))}")
    wait_idle(page)
    if name:
        nav(page, name)


def nav(page: Page, name: str) -> None:
    """Follow the sidebar's link to a page (keeps the session) and wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=LONG)
    wait_idle(page)


def section(page: Page, name: str | re.Pattern[str]) -> Locator:
    """A part of the Results page by its name: a section of the segmented control (today) or a tab (before)."""
    return (page.get_by_test_id("stButtonGroup").get_by_role("radio", name=name)
            .or_(page.get_by_role("tab", name=name))).first


def main_text(page: Page) -> str:
    """Every word the page's main area shows (not the sidebar)."""
    return page.get_by_test_id("stMain").inner_text()


def record_progress(page: Page) -> None:
    """From now on, keep every text any progress bar or status label on the page shows (``progress_seen``)."""
    page.evaluate("""() => {
      window.__seen = [];
      const keep = () => document.querySelectorAll('[data-testid="stProgress"]')
        .forEach(e => { const t = e.innerText.trim(); if (t && window.__seen.at(-1) !== t) window.__seen.push(t); });
      window.__watch && window.__watch.disconnect();
      window.__watch = new MutationObserver(keep);
      window.__watch.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
    }""")


def progress_seen(page: Page) -> list[str]:
    return list(page.evaluate("() => window.__seen || []"))


def no_python(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    body = page.get_by_test_id("stMain")
    expect(body).not_to_contain_text("Traceback")
    expect(body).not_to_contain_text(re.compile(r"\b\w+(Error|Exception):"))


# --- Item 2: Estimate once everything is analysed ------------------------------------------------------

def test_item02_estimate_says_everything_is_analysed(page: Page, app_server: AppServer, analysed: Path) -> None:
    """Every video analysed with these settings: the Estimate says so, as the CLI does, not "extract them"."""
    open_page(page, app_server, analysed, "Estimate cost")
    expect(page.get_by_role("heading", name="Estimate cost", exact=True)).to_be_visible(timeout=LONG)
    said = fresh_text(page, re.compile(r"already analysed with these settings \(2\); nothing is left to estimate"))
    expect(said).to_be_visible(timeout=LONG)
    expect(fresh_text(page, "No video has keyframes yet")).to_have_count(0)
    expect(page.get_by_role("link", name="See the results")).to_be_visible()  # and the way on
    no_python(page)


# --- Item 3: a model that cannot cache the prompt ---------------------------------------------------------

def test_item03_estimate_on_a_model_that_cannot_cache_promises_no_cache_reads(
        page: Page, app_server: AppServer, made: Callable[[str], Path]) -> None:
    """Haiku 4.5 caches prefixes of 4,096 tokens; the default prompt is shorter, so the headline and the details
    both say no request reads the cache (the headline promised 60 % before)."""
    folder = _extracted(made("haiku"), {"a.mp4": "testsrc", "b.mp4": "cuts"})
    f = gaia.Folder(folder)
    f.save_settings(replace(f.settings(), model="claude-haiku-4-5"))
    assert gaia.Folder(folder).settings().model == "claude-haiku-4-5"
    open_page(page, app_server, folder, "Estimate cost")
    headline = page.get_by_test_id("stMetric").filter(has_text="Batch API + caching")
    expect(headline).to_be_visible(timeout=LONG)
    expect(fresh_text(page, re.compile(r"Cache: none; the shared prefix"))).to_be_visible()
    expect(fresh_text(page, re.compile(r"requests? (are )?expected to read"))).to_have_count(0)
    fresh_text(page, "The prompt every request shares").click()  # the details agree with the headline
    expect(fresh_text(page, re.compile("Caching will do nothing")).filter(visible=True).first).to_be_visible()
    expect(fresh_text(page, re.compile(r"of requests are expected to read the cache"))).to_have_count(0)


# --- Item 4: actions keep you where you acted ------------------------------------------------------------

@pytest.fixture(scope="module")
def reviewable(made: Callable[[str], Path]) -> Path:
    """Two clips with answers written by hand, a.mp4's unsure (low confidence, an "unknown" place)."""
    folder = made("reviewable")
    folder.mkdir(parents=True)
    answer = {"summary": "A test pattern moves.", "subjects": [{"species": "cat", "scientific_name": "", "count": 1,
                                                                "description": ""}],
              "behaviours": [], "notable_moments": [], "people_present": False, "welfare_concerns": [],
              "setting": {"environment": "indoor", "place": "studio", "lighting": "artificial", "description": ""},
              "frame_quality": "good", "confidence": "high", "tags": ["cat"]}
    run = {"model": gaia.limits.DEFAULT_MODEL, "prompt_hash": gaia.default_profile().hash}
    for name in ("a.mp4", "b.mp4"):
        media.make("testsrc", folder / name)
        write_sidecar(folder / name, {"analysis": answer, "run": run})
    unsure = {**answer, "confidence": "low", "setting": {**answer["setting"], "environment": "unknown"}}
    write_sidecar(folder / "a.mp4", {"analysis": unsure})
    return folder


def is_shown(part: Locator) -> bool:
    """Whether a Results section (a checked radio) or tab (a selected tab) is the one shown."""
    return "true" in (part.get_attribute("aria-checked"), part.get_attribute("aria-selected"))


def test_item04_save_as_verified_and_write_xmp_keep_you_where_you_acted(
        page: Page, app_server: AppServer, reviewable: Path) -> None:
    """"Save as verified" stays on Review and "Write the XMP sidecars now" on Export, each with its confirmation
    in view (before, both landed on the Videos tab with the confirmation hidden in the tab left). The export is
    done at 420 px, where the sections wrap."""
    open_page(page, app_server, reviewable, "Results")
    section(page, re.compile(r"^Review")).click()
    wait_idle(page)
    save = page.get_by_role("button", name="Save as verified")
    expect(save).to_be_visible(timeout=LONG)
    save.click()
    wait_idle(page)
    expect(fresh_text(page, re.compile(r"Saved.*a\.mp4.*as verified")).first).to_be_visible(timeout=LONG)
    assert is_shown(section(page, re.compile(r"^Review")))
    assert read_verified(reviewable / "a.mp4") is not None

    page.set_viewport_size(NARROW)
    wait_idle(page)
    section(page, "Export").click()
    wait_idle(page)
    page.get_by_role("button", name="Write the XMP sidecars now").click()
    wait_idle(page)
    expect(fresh_text(page, re.compile(r"XMP sidecar\(s\) written")).first).to_be_visible(timeout=LONG)
    assert is_shown(section(page, "Export"))
    expect(page.get_by_role("button", name="Write the XMP sidecars now")).to_be_visible()
    assert list(reviewable.glob("*.xmp"))
    shot(page, "export-narrow.png")


# --- Item 5: the Review form fits the schema, beside the frames --------------------------------------------

def test_item05_review_form_is_typed_and_shows_the_frames(page: Page, app_server: AppServer, analysed: Path) -> None:
    """Lists are multiselects, counts are numbers, moments a table with times; the frames the model saw are
    shown beside the form with their times. No JSON text area, no parser message."""
    open_page(page, app_server, analysed, "Results")
    section(page, re.compile(r"^Review")).click()
    wait_idle(page)
    form = page.get_by_test_id("stForm")
    expect(form).to_be_visible(timeout=LONG)
    expect(form.get_by_test_id("stMultiSelect").filter(has_text="tags")).to_be_visible()
    expect(form.get_by_test_id("stSelectbox").filter(has_text="confidence")).to_be_visible()
    expect(fresh_text(form, "notable_moments", exact=True)).to_be_visible()
    expect(form.get_by_test_id("stTextArea")).to_have_count(0)  # no field typed as raw JSON
    expect(fresh_text(page, re.compile(r"The 2 frame\(s\) the model saw, at their time in the video"))).to_be_visible()
    frames = page.get_by_test_id("stImage")
    expect(frames).to_have_count(2)
    captions = [c.strip() for c in frames.all_inner_texts()]
    assert all(re.fullmatch(r"\d+:\d\d(\.\d)?", c) for c in captions), captions
    left, right = page.get_by_test_id("stImage").first.bounding_box(), form.bounding_box()
    assert left and right and left["x"] + left["width"] <= right["x"]  # beside the form on a wide screen
    expect(fresh_text(page, "Expecting value")).to_have_count(0)
    shot(page, "review.png")  # the README's review queue: the form beside the frames
    page.set_viewport_size(NARROW)
    wait_idle(page)
    expect(frames.first).to_be_visible()
    no_python(page)


# --- Item 6: long actions show progress with counts --------------------------------------------------------

def test_item06_extraction_and_tune_pricing_show_progress_with_counts(
        page: Page, app_server: AppServer, made: Callable[[str], Path]) -> None:
    """Extraction counts videos to extract (not the unusable zero-byte file) and moves per video; pricing the
    tune's ladder shows a bar with counts, not only a spinner. Once priced, the page no longer says "No tune"
    (item 7) and says which prices its two money columns use (item 9)."""
    folder = made("progress")
    folder.mkdir(parents=True)
    # More videos than workers, each of its own content (no frame cache shared with another test's folder) and
    # slow to extract (about a second each): the bar's steps are far apart in time, so the browser draws them
    # whatever the machine's speed. With small clips the whole extraction took about 0.1 s, and on a busy machine
    # the server sent nothing before the page's rerun cleared its queue (seen in CI: no bar at all).
    for i, name in enumerate(("a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4")):
        media.slow_to_extract(folder / name, hue=70 * i)
    (folder / "zero.mp4").write_bytes(b"")
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(count=6))
    open_page(page, app_server, folder, "Keyframes")
    go = page.get_by_role("button", name=re.compile(r"^Extract keyframes for 5 video"))
    expect(go).to_be_visible(timeout=LONG)
    record_progress(page)
    go.click()
    expect(go).to_have_count(0, timeout=LONG)
    wait_idle(page)
    seen = progress_seen(page)
    counts = [m for t in seen for m in re.findall(r"(\d+) of (\d+)", t)]
    assert counts, seen
    assert {total for _, total in counts} == {"5"}, seen  # the five usable videos, not the zero-byte file
    assert any(int(done) < 5 for done, _ in counts), seen  # it moved per video, not from nothing to all at once

    nav(page, "Tune")
    expect(fresh_text(page, "No tune for this folder's prompt yet")).to_be_visible()
    record_progress(page)
    page.get_by_role("button", name="Price the ladder").click()
    expect(page.get_by_role("heading", name="The ladder, priced before sending")).to_be_visible(timeout=3 * LONG)
    wait_idle(page)
    seen = progress_seen(page)
    priced = [(int(d), int(n)) for t in seen for d, n in re.findall(r"(\d+) of (\d+)", t)]
    assert priced and any(d < n for d, n in priced), seen  # a bar that counted up, seen before the end
    expect(fresh_text(page, "No tune for this folder's prompt yet")).to_have_count(0)  # item 7
    said = page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"\$ per video.*tune cost"))
    expect(said).to_be_visible()  # item 9: the two money columns say which prices they use


# --- Item 7: states that read right --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def canceled(made: Callable[[str], Path]) -> Path:
    """Two clips sent in a batch that was canceled before any answer."""
    folder = _extracted(made("canceled"), {"a.mp4": "testsrc", "b.mp4": "cuts"})
    _send(folder, cancel=True)
    return folder


def test_item07_states_read_right(page: Page, app_server: AppServer, analysed: Path, canceled: Path) -> None:
    """A canceled batch is not shown as done; a mistyped path is refused and the folder chosen before stays
    selected; a search that matches nothing says so instead of "0 of 2 video(s) match. Select a row"."""
    open_page(page, app_server, canceled, "Progress")
    expect(page.get_by_role("heading", name="Progress", exact=True)).to_be_visible(timeout=LONG)
    expect(fresh_text(page, re.compile(r"canceled · 0 of 2 answered")).first).to_be_visible(timeout=LONG)
    expect(fresh_text(page, "results in sidecars", exact=True)).to_have_count(0)

    open_page(page, app_server, analysed)
    field = page.get_by_label("Folder", exact=True)
    expect(field).to_have_value(str(analysed))
    typo = str(analysed) + "-typo"
    field.fill(typo)
    field.press("Enter")
    wait_idle(page)
    expect(fresh_text(page, re.compile("Check the spelling")).first).to_be_visible()  # refused in words
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(str(analysed))  # the folder chosen before stays selected...
    expect(sidebar).not_to_contain_text("-typo")
    assert parse_qs(urlsplit(page.url).query).get("folder") == [str(analysed)]  # ...and in the address

    nav(page, "Results")
    search = page.get_by_role("textbox", name="Search")
    search.fill("zebra-crossing-at-midnight")
    search.press("Enter")
    wait_idle(page)
    expect(fresh_text(page, re.compile(r"None of the 2 video\(s\) matches"))).to_be_visible()
    expect(fresh_text(page, re.compile(r"^0 of \d+ video"))).to_have_count(0)
    expect(fresh_text(page, re.compile("Select a row"))).to_have_count(0)


def test_a_page_address_opened_first_after_a_restart_runs_through_the_frame(
        browser, tmp_path: Path, fresh: Path) -> None:
    """A bookmark to a page, opened before anyone opened the app's first page (right after the server started):
    the page runs inside the app (its navigation, the folder from the address, the demo banner), not the page file
    alone with GAIA's helper modules listed as pages (found by these tests; ``pages/_ui._through_the_frame``)."""
    server = start_app(tmp_path)
    try:
        for _ in range(2):  # the first session after the start, and the next one
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            page.set_default_timeout(LONG)
            page.goto(f"{server.url}/Estimate_cost?folder={quote(str(fresh))}")
            wait_idle(page)
            expect(page.get_by_role("heading", name="Estimate cost", exact=True)).to_be_visible(timeout=LONG)
            expect(page.get_by_test_id("stSidebarNav").get_by_role("link")).to_have_text(
                ["Select folder", "Keyframes", "Estimate cost", "Tune", "Submit", "Progress", "Results"])
            expect(page.get_by_test_id("stSidebar")).to_contain_text(str(fresh))  # the folder from the address
            expect(fresh_text(page, "Choose a folder of videos first.")).to_have_count(0)
            expect(page.get_by_test_id("stMetric").filter(has_text="Batch API + caching")).to_be_visible()
            context.close()
        assert not log_problems(server), log_problems(server)
    finally:
        stop_app(server)


# --- Item 8: money and deletion ask first, with the amount ------------------------------------------------

@pytest.fixture(scope="module")
def failed(made: Callable[[str], Path]) -> Path:
    """One clip whose request came back errored."""
    folder = _extracted(made("failed"), {"a.mp4": "testsrc"})
    _send(folder, errored_rate=1.0)
    assert gaia.Folder(folder).failures()
    return folder


def test_item08_retry_and_start_afresh_ask_first(page: Page, app_server: AppServer, failed: Path) -> None:
    """Retry states its amount and asks once before sending; "Start the demo afresh" says what it deletes and
    asks before deleting anything."""
    open_page(page, app_server, failed, "Results")
    section(page, re.compile(r"^Failures")).click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile(r"^Retry the 1 failed request")).click()
    wait_idle(page)
    question = page.get_by_test_id("stAlert").filter(has_text=re.compile(r"\$\d"))
    expect(question.first).to_be_visible(timeout=LONG)  # the amount, asked before anything is sent
    expect(page.get_by_role("button", name="Not now")).to_be_visible()
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()  # nothing sent, still here
    expect(fresh_text(page, re.compile("Retry submitted"))).to_have_count(0)
    assert len(gaia.Folder(failed).failures()) == 1
    page.get_by_role("button", name="Not now").click()
    wait_idle(page)
    expect(page.get_by_role("button", name=re.compile(r"^Retry the 1 failed request"))).to_be_visible()

    page.goto(app_server.url)
    wait_idle(page)
    page.get_by_role("button", name="Use the demo folder").click()
    expect(page.get_by_label("Folder", exact=True)).to_have_value(str(app_server.demo_folder), timeout=LONG)
    wait_idle(page)
    clips = sorted(app_server.demo_folder.glob("*.mp4"))
    before = {p.name: p.stat().st_mtime_ns for p in clips}
    page.get_by_test_id("stExpander").filter(has_text="Browse").locator("summary").click()
    page.get_by_role("button", name=re.compile(r"^Start the demo afresh")).click()
    wait_idle(page)
    expect(fresh_text(page, re.compile(r"Start the demo afresh\? .*deletes")).first).to_be_visible(timeout=LONG)
    expect(page.get_by_role("button", name="Yes, start afresh")).to_be_visible()
    page.get_by_role("button", name="Keep them").click()
    wait_idle(page)
    assert {p.name: p.stat().st_mtime_ns for p in sorted(app_server.demo_folder.glob("*.mp4"))} == before


# --- Item 9: numbers on one screen agree -----------------------------------------------------------------------

def _usd(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


def test_item09_numbers_on_one_screen_agree(page: Page, app_server: AppServer, fresh: Path) -> None:
    """The Estimate's headline total is its per-video price times the videos; Run now's two totals are what its
    words say they are (not "twice the batch price" above figures that are not), and no wait reads "about 0 s"."""
    open_page(page, app_server, fresh, "Estimate cost")
    headline = page.get_by_test_id("stMetric").filter(has_text="Batch API + caching")
    expect(headline).to_be_visible(timeout=LONG)
    total = _usd(headline.get_by_test_id("stMetricValue").inner_text())
    line = fresh_text(page, re.compile(r"^Likely between")).inner_text()
    per_video = _usd(re.search(r"\$[\d.]+ per video", line).group(0))
    assert abs(per_video * 2 - total) <= 0.011 * total + 1e-4, (total, per_video, line)

    nav(page, "Submit")
    page.get_by_role("tab", name="Run now").click()
    now = page.get_by_test_id("stMetric").filter(has_text="Now (standard prices)")
    expect(now).to_be_visible(timeout=LONG)
    now_usd = _usd(now.get_by_test_id("stMetricValue").inner_text())
    batch_usd = _usd(page.get_by_test_id("stMetric").filter(has_text="As a batch")
                     .get_by_test_id("stMetricValue").inner_text())
    words = main_text(page)
    if "(twice the batch price)" in words:  # said of the totals: then the totals must show it
        assert abs(now_usd - 2 * batch_usd) <= 0.01 * now_usd, (now_usd, batch_usd)
    wait = fresh_text(page, re.compile(r"^Wait now:")).inner_text()
    assert "about 0 s" not in wait, wait
    no_python(page)


# --- Item 10: no Python on screen; moments in time order ----------------------------------------------------

def test_item10_no_none_on_screen_and_moments_in_time_order(page: Page, app_server: AppServer, analysed: Path) -> None:
    """Submit's output-token table (a profile without answers) and the Attempts table show "–" for a missing
    value, never "None"; an answer's notable moments read in time order (2, 2.3, 3), not as the model listed them
    (2, 3, 2.3). Tables are drawn on a canvas: the test reads what was drawn."""
    watch_table_text(page)
    open_page(page, app_server, analysed, "Submit")
    opener = fresh_text(page, "Output tokens of each prompt profile on this model")
    opener.click()
    profiles = page.get_by_test_id("stExpander").filter(has=opener).get_by_test_id("stDataFrame")
    expect(profiles).to_be_visible(timeout=LONG)
    page.wait_for_function("() => (window.__draws || []).some(d => d[1] === 'compact')", timeout=LONG)
    drawn = [t for table in table_texts(page) for row in table for t in row]
    assert "compact" in drawn and "None" not in drawn, drawn  # a profile with no answers: its figures missing...
    assert "–" in drawn, drawn  # ...and shown as missing

    nav(page, "Results")
    picker = page.get_by_role("combobox", name="Video", exact=True)
    expect(picker).to_be_visible(timeout=LONG)
    if "a.mp4" not in picker.evaluate("e => e.value || e.innerText"):
        picker.click()
        page.get_by_role("option", name="a.mp4").click()
        wait_idle(page)
    expect(fresh_text(page, "Notable moments", exact=True).or_(fresh_text(page, "notable_moments", exact=True))
           .first).to_be_visible(timeout=LONG)
    page.wait_for_function("() => ['time_s', 'a', 'b', 'c'].every(t => (window.__draws || []).some(d => d[1] === t))",
                           timeout=LONG)
    tables = table_texts(page)
    head = next(i for i, t in enumerate(tables) if t and t[0] == ["time_s", "description"])
    moments = tables[head + 1]  # a grid draws its header and its rows on two canvases, in that order
    assert [row[1] for row in moments] == ["b", "a", "c"], moments  # 2 s, 2.3 s, 3 s
    assert [float(row[0]) for row in moments] == [2.0, 2.3, 3.0], moments
    page.get_by_role("tab", name=re.compile(r"^Attempts")).click()
    wait_idle(page)
    page.wait_for_function("() => (window.__draws || []).some(d => d[1] === 'batch_id')", timeout=LONG)
    drawn = [t for table in table_texts(page) for row in table for t in row]
    assert "None" not in drawn, drawn
    no_python(page)


# --- Item 11: the model list ------------------------------------------------------------------------------------

def _options(page: Page, select: Locator) -> list[str]:
    """Every option of an open ``st.selectbox`` list, scrolling it when it is taller than its box."""
    select.click()
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    seen: list[str] = []

    def read() -> int:
        new = [t.strip() for t in listbox.get_by_role("option").all_inner_texts() if t.strip() not in seen]
        seen.extend(new)
        return len(new)

    for _ in range(10):
        read()
        before = listbox.evaluate("e => e.scrollTop")
        listbox.evaluate("e => { (e.querySelector('ul') || e).scrollBy(0, 200); e.scrollBy(0, 200); }")
        if listbox.evaluate("e => e.scrollTop") == before:
            break
    # The list draws the rows a scroll brought into view a moment later (on a loaded machine, after the loop has
    # read): read until a read finds nothing new.
    for _ in range(20):
        page.wait_for_timeout(100)
        if not read():
            break
    page.keyboard.press("Escape")
    return seen


def test_item11_model_list_current_first_by_price_legacy_folded_retired_absent(
        page: Page, app_server: AppServer, fresh: Path) -> None:
    models = gaia.catalogue().models
    name = {m: f.display_name for m, f in models.items()}

    def order(ids: list[str]) -> list[str]:
        return [name[m] for m in sorted(ids, key=lambda m: (models[m].status != "current", models[m].input, m))]

    offered = order([m for m, f in models.items() if f.status in ("current", "limited")])
    legacy = order([m for m, f in models.items() if f.status == "legacy"])
    retired = [name[m] for m, f in models.items() if f.status == "retired"]
    open_page(page, app_server, fresh, "Keyframes")
    picker = page.get_by_test_id("stSelectbox").filter(has=fresh_text(page, "Model", exact=True))
    expect(picker).to_be_visible(timeout=LONG)
    shown = _options(page, picker)
    assert shown == offered, shown  # current models first, by price; no legacy, no retired
    fresh_text(page, "Show legacy models").click()
    wait_idle(page)
    shown = _options(page, picker)
    assert shown == offered + legacy, shown  # unfolded: after the current ones
    assert not set(retired) & set(shown)
    fresh_text(page, "Show legacy models").click()
    wait_idle(page)


# --- Item 12: the terminal stays quiet --------------------------------------------------------------------------

def test_item12_extraction_leaves_the_terminal_clean(page: Page, app_server: AppServer,
                                                     made: Callable[[str], Path]) -> None:
    """An extraction and the pages that show its tables print no "missing ScriptRunContext" warning, no pyarrow
    error and no traceback to the terminal that runs the app."""
    folder = made("terminal")
    folder.mkdir(parents=True)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        media.make("testsrc", folder / name)
    already = len(log_problems(app_server))
    open_page(page, app_server, folder, "Keyframes")
    fresh_text(page, "What each frame size costs and shows").click()  # a column of numbers and words
    go = page.get_by_role("button", name=re.compile(r"^Extract keyframes for 3 video"))
    go.click()
    expect(go).to_have_count(0, timeout=LONG)
    wait_idle(page)
    expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=LONG)
    nav(page, "Estimate cost")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=LONG)
    nav(page, "Submit")
    problems = log_problems(app_server)[already:]
    assert not problems, "the terminal shows:\n" + "\n---\n".join(problems[:5])


# --- Item 13: damaged frames unticked; the scene strategy covers to the end ------------------------------------

def test_item13_grey_frames_start_unticked_and_scenes_cover_to_the_end(
        page: Page, app_server: AppServer, made: Callable[[str], Path]) -> None:
    """A truncated file's flat grey frames are not ticked "Send"; with cuts every 2 s in a 16 s clip and 6 frames,
    the scene strategy puts its last frame no further from the end than an even plan would (it stopped at the last
    cut it framed before: vtest.avi's last 10 s had no frame)."""
    from tests.videos import X264, _ff

    folder = made("damaged")
    folder.mkdir(parents=True)
    # What a decoder shows past a truncated file's end: picture, then flat mid-grey (concealment).
    _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", "-f", "lavfi", "-i",
        "color=c=0x808080:size=320x240:rate=25:duration=4", "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]",
        "-map", "[v]", *X264, str(folder / "cut_short.mp4"))
    colours = ["red", "green", "blue", "yellow", "white", "purple", "orange", "black"]
    inputs = [a for c in colours for a in ("-f", "lavfi", "-i", f"color=c={c}:size=320x240:rate=25:duration=2")]
    _ff(*inputs, "-filter_complex", "".join(f"[{i}:v]" for i in range(8)) + "concat=n=8:v=1:a=0[v]", "-map", "[v]",
        *X264, "-g", "1000", "-sc_threshold", "0", str(folder / "shots.mp4"))
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(strategy="scene", count=6))
    open_page(page, app_server, folder, "Keyframes")
    page.get_by_role("button", name=re.compile(r"^Extract keyframes for 2 video")).click()
    expect(fresh_text(page, re.compile("look damaged")).first).to_be_visible(timeout=LONG)
    wait_idle(page)
    cards = {}
    for name in ("cut_short.mp4", "shots.mp4"):
        card = page.get_by_test_id("stVerticalBlock").filter(has=fresh_text(page, name, exact=True)).filter(
            has=page.get_by_role("checkbox", name="Send")).last  # the innermost block holding both: the card
        captions = [t for t in card.get_by_test_id("stCaptionContainer").all_inner_texts() if "tokens" in t]
        ticks = [c.is_checked() for c in card.get_by_role("checkbox", name="Send").all()]
        cards[name] = (captions, ticks)

    def secs(caption: str) -> float:
        m, s = caption.split(" · ")[0].split(":")
        return int(m) * 60 + float(s)

    captions, ticks = cards["cut_short.mp4"]
    assert len(captions) == len(ticks) >= 2, cards
    for caption, ticked in zip(captions, ticks, strict=True):
        assert ticked == (secs(caption) < 4), (caption, ticked)  # grey from 4 s: not sent unless ticked
    assert not all(ticks) and any(ticks)
    captions, _ = cards["shots.mp4"]
    # No further from the end than an even plan puts its last frame (16 s / 12), as README promises ("covers to the
    # end"); captions show tenths, cut short (0:14.6 for 14.68).
    assert captions and secs(captions[-1]) >= 16 - 16 / (2 * 6) - 0.1, captions
    shot(page, "keyframes-damaged.png")
