"""With a key configured, in a real browser: the API is used (here the emulator stands in for it through
``ANTHROPIC_BASE_URL``), no demo banner, and the key never reaches the page or the server's log.
The sidebar's demo switch brings the banner (and the local emulator) back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from gaia.emulator import EmulatorHandle
from gaia.sidecar import read_sidecar
from tests.e2e.conftest import DESKTOP, AppServer, start_app, stop_app
from tests.e2e.helpers import LONG, fresh_text, go, wait_idle

pytestmark = pytest.mark.e2e

FAKE_KEY = "sk-ant-api03-E2E-FAKE-KEY-0123456789-never-in-the-browser"
SECRET_PART = "never-in-the-browser"
BANNER = "Demo mode: answers come from GAIA's local emulator, not from Claude."


@pytest.fixture
def keyed_server(tmp_path: Path, emulator: EmulatorHandle, chromium: str) -> Iterator[AppServer]:
    """The app with a key in its environment and the test's emulator as 'the API'."""
    server = start_app(tmp_path, {"ANTHROPIC_API_KEY": FAKE_KEY, "ANTHROPIC_BASE_URL": emulator.base_url})
    try:
        yield server
    finally:
        stop_app(server)


def assert_key_absent(page: Page) -> None:
    html = page.content()
    assert SECRET_PART not in html and FAKE_KEY not in html


def test_with_a_key_the_api_is_used_and_the_key_never_shows(browser, keyed_server: AppServer,
                                                             emulator: EmulatorHandle) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(keyed_server.url)
        wait_idle(page)
        expect(fresh_text(page, "API key configured")).to_be_visible()
        expect(fresh_text(page, BANNER)).to_have_count(0)
        assert_key_absent(page)

        page.get_by_role("button", name="Use the demo folder").click()
        expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=LONG)
        go(page, re.compile(r"Next: preview the keyframes"))
        page.get_by_role("button", name=re.compile(r"Extract keyframes for")).click()
        expect(fresh_text(page, re.compile(r"Extracted keyframes for \d+ video")).first).to_be_visible(timeout=LONG)
        go(page, "Next: estimate what the run will cost")
        expect(fresh_text(page, "Four ways to send the same run")).to_be_visible(timeout=LONG)
        fresh_text(page, "The prompt every request shares").click()  # folded below the decision
        expect(fresh_text(page, re.compile(r"Token counts are exact"))).to_be_visible()  # count_tokens with the key
        assert_key_absent(page)
        go(page, "Next: submit the batch")
        page.get_by_role("button", name=re.compile(r"^Submit \d+ video")).click()
        expect(page.get_by_role("heading", name="Progress", exact=True)).to_be_visible(timeout=LONG)
        # With the real API the page checks every half minute; coming back to it checks at once.
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name="Results").click()
        expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible(timeout=LONG)
        nav.get_by_role("link", name="Progress").click()
        expect(fresh_text(page, "results in sidecars")).to_be_visible(timeout=LONG)
        assert_key_absent(page)
        go(page, "Next: explore the results")
        expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
        assert_key_absent(page)
        assert emulator.calls.get("batches.create") == 1  # the configured API got the batch, not the demo emulator

        # The switch in the sidebar: demo mode with a key.
        fresh_text(page, "Demo mode (local emulator)").click()
        wait_idle(page)
        expect(fresh_text(page, BANNER)).to_be_visible()
        expect(fresh_text(page, "Turn off “Demo mode” in the sidebar to use Claude.")).to_be_visible()
        assert_key_absent(page)
    finally:
        context.close()

    videos = sorted(keyed_server.demo_folder.glob("*.mp4"))
    assert videos and all(read_sidecar(v) for v in videos)
    log = keyed_server.log.read_text(errors="replace")
    assert SECRET_PART not in log


def test_run_now_failures_are_listed_and_sent_again_now(browser, keyed_server: AppServer, emulator: EmulatorHandle,
                                                        demo: Path) -> None:
    """Run now where the API refuses every request: the tab lists the requests without an answer and offers to
    send them again now; once the API answers, one click does, each video is answered once more and nothing else
    is sent."""
    import gaia

    gaia.Folder(demo).keyframes()
    emulator.update_config(refusal_rate=1.0)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{keyed_server.url}/?folder={quote(str(demo))}")
        wait_idle(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Submit").click()
        wait_idle(page)
        page.get_by_role("tab", name="Run now").click()
        page.get_by_role("button", name=re.compile(r"^Analyse 5 video\(s\) now")).click()
        expect(fresh_text(page, "Requests without an answer")).to_be_visible(timeout=LONG)
        again = page.get_by_role("button", name="Send the 5 again now")
        expect(again).to_be_visible()
        assert emulator.calls.get("messages.create") == 5
        emulator.update_config(refusal_rate=0.0)
        again.click()
        wait_idle(page)
        expect(fresh_text(page, "Requests without an answer")).to_have_count(0, timeout=LONG)
        expect(page.get_by_role("button", name=re.compile(r"again now$"))).to_have_count(0)
        assert_key_absent(page)
    finally:
        context.close()
    assert emulator.calls.get("messages.create") == 10  # each video once refused, once answered; nothing more
    assert all(read_sidecar(v)["analysis"] for v in sorted(demo.glob("*.mp4")))
    assert gaia.Folder(demo).failures() == []
