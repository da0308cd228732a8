"""The likely-empty contact sheet in a real browser: check, see the sheet and the saving, exclude in one click."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

import gaia
from gaia.sidecar import read_sidecar
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import LONG, fresh_text, open_cascade, shot, wait_idle
from tests.media.empty_clips import trap_folder

pytestmark = pytest.mark.e2e


def test_contact_sheet_and_one_click_exclusion(page: Page, app_server: AppServer, tmp_path: Path) -> None:
    folder = trap_folder(tmp_path / "trap")

    page.goto(f"{app_server.url}/?folder={quote(str(folder))}")
    wait_idle(page)
    expect(page.get_by_label("Folder", exact=True)).to_have_value(str(folder), timeout=LONG)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Keyframes").click()
    wait_idle(page)
    sheet = page.locator(".st-key-empty_sheet")
    expect(sheet.get_by_role("heading", name="Likely empty clips")).to_be_visible(timeout=LONG)
    sheet.get_by_role("button", name="Check 3 clip(s) for emptiness").click()
    wait_idle(page)
    expect(fresh_text(sheet, "wind.mp4 · ")).to_be_visible(timeout=LONG)
    expect(fresh_text(sheet, "light.mp4 · ")).to_be_visible()
    expect(fresh_text(sheet, "fox.mp4 · ")).to_have_count(0)  # the clip with a visitor is not on the sheet
    expect(sheet.locator('[data-testid="stImage"]')).to_have_count(2)
    expect(fresh_text(sheet, "leaving out 2 likely-empty clip(s) saves")).to_be_visible()
    shot(page, "empty_sheet.png")

    sheet.get_by_role("button", name="Exclude these 2 clip(s)").click()
    wait_idle(page)
    expect(fresh_text(sheet, " · excluded")).to_have_count(2, timeout=LONG)
    assert gaia.Folder(folder).selection().excluded_videos == {"wind.mp4", "light.mp4"}
    expect(page.get_by_test_id("stMetric").filter(has_text="Videos in the run")).to_contain_text("1")


def test_cascade_shows_its_two_passes(page: Page, app_server: AppServer, demo: Path) -> None:
    # A copy of the demo clips of its own (the `demo` fixture): the session's demo folder stays unanalysed.
    open_cascade(page, app_server.url, demo)
    page.get_by_role("button", name="Run the cascade now").click()
    expect(fresh_text(page, re.compile(r"^Cascade done: \d first answer\(s\) kept, \d sent again"))).to_be_visible(
        timeout=4 * LONG)
    expect(fresh_text(page, re.compile(r"^Pass 1 of 2: 5 video\(s\) with Claude Haiku"))).to_be_visible()
    expect(fresh_text(page, re.compile(r"^Pass 2 of 2: \d video\(s\) with Claude Sonnet 5\.5"))).to_be_visible()
    shot(page, "cascade.png")
    sides = [read_sidecar(p) for p in sorted(demo.glob("*.mp4"))]
    assert len(sides) == 5 and all(s and s.get("cascade") for s in sides)  # each first answer kept
