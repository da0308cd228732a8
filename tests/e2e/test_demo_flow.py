"""The whole demo in a real browser: demo folder → keyframes → estimate → submit → progress → results → sidecars.

Drives the app the way a newcomer does (no key, demo mode, the local emulator), locating
everything by its visible label or role and waiting with ``expect()``; saves a screenshot of
every page under ``docs/screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gaia.sidecar import read_sidecar, write_sidecar
from tests.e2e.conftest import NARROW, AppServer
from tests.e2e.helpers import LONG, fresh_text, go, shot, wait_idle, watch_outside_requests

pytestmark = pytest.mark.e2e

def test_demo_end_to_end_without_a_key(page: Page, app_server: AppServer) -> None:
    outside = watch_outside_requests(page)  # the whole run: nothing may leave the machine (no key: no API either)
    page.goto(app_server.url)
    wait_idle(page)
    # Demo mode is announced on every page; the key status never shows a key.
    banner = fresh_text(page, "Demo mode: answers come from GAIA's local emulator, not from Claude.")
    expect(banner).to_be_visible()
    expect(fresh_text(page, "No API key: demo mode")).to_be_visible()
    expect(fresh_text(page, "may open any folder")).to_have_count(0)  # a local browser is not warned

    # --- Select folder: the demo folder is made on first use and scanned ----------------------------
    page.get_by_role("button", name="Use the demo folder").click()
    expect(page.get_by_label("Folder", exact=True)).to_have_value(str(app_server.demo_folder), timeout=LONG)
    wait_idle(page)
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Usable")).to_contain_text("5")
    expect(page.get_by_test_id("stMetric").filter(has_text="Problems")).to_contain_text("0")
    expect(fresh_text(page, "Demo videos ready")).to_have_count(0)  # the status is gone after the rerun
    shot(page, "select.png")

    # --- Keyframes: extract with live progress, then the gallery ------------------------------------
    go(page, re.compile(r"Next: preview the keyframes of 5 video"))
    expect(banner).to_be_visible()
    page.get_by_role("button", name=re.compile(r"Extract keyframes for 5 video")).click()
    expect(fresh_text(page, "Extracted keyframes for 5 video(s).")).to_be_visible(timeout=LONG)
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Videos in the run")).to_contain_text("5")
    expect(page.get_by_role("button", name=re.compile(r"Extract keyframes for"))).to_have_count(0)
    expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=LONG)
    shot(page, "keyframes.png")

    # --- Estimate cost ----------------------------------------------------------------------------------
    go(page, "Next: estimate what the run will cost")
    expect(page.get_by_test_id("stMetric").filter(has_text="Batch API + caching")).to_contain_text("$", timeout=LONG)
    expect(fresh_text(page, re.compile(r"^Likely between \$"))).to_be_visible()  # the decision leads
    expect(fresh_text(page, "Four ways to send the same run")).to_be_visible()  # the rest is folded
    expect(banner).to_be_visible()
    shot(page, "estimate.png")

    # --- Submit: the plan, then send; the app moves on to Progress ----------------------------------
    go(page, "Next: submit the batch")
    submit = page.get_by_role("button", name=re.compile(r"^Submit 5 video\(s\) in 1 batch"))
    expect(submit).to_be_enabled(timeout=LONG)
    expect(fresh_text(page, re.compile(r"All 5 request\(s\) pass validation"))).to_be_visible()
    shot(page, "submit.png")
    submit.click()

    # --- Progress: live until the batch ends, then results are retrieved automatically --------------
    expect(page.get_by_role("heading", name="Progress", exact=True)).to_be_visible(timeout=LONG)
    expect(fresh_text(page, re.compile(r"\bin progress$"))).to_be_visible()  # the batch runs for a few seconds...
    expect(fresh_text(page, "results in sidecars")).to_be_visible(timeout=LONG)  # ...and the page follows it
    expect(fresh_text(page, re.compile(r"Results retrieved: 5 sidecar\(s\) written"))).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("button", name=re.compile("Retry the"))).to_have_count(0)  # nothing failed
    shot(page, "progress.png")

    # --- Results -------------------------------------------------------------------------------------
    go(page, "Next: explore the results")
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    shot(page, "results.png")

    # --- On disk: one valid sidecar beside each video -------------------------------------------------
    videos = sorted(app_server.demo_folder.glob("*.mp4"))
    sidecars = sorted(app_server.demo_folder.glob("*.gaia.json"))
    assert len(videos) == 5
    assert [s.name for s in sidecars] == [v.with_suffix(".gaia.json").name for v in videos]
    for v in videos:
        data = read_sidecar(v)
        assert data is not None and data["video"] == v.name
        assert data["analysis"]["summary"].startswith("[GAIA emulator]")  # demo answers say where they come from
        assert data["run"]["custom_id"] and data["run"]["batch_id"]

    # --- An answer holding HTML shows as text: no markup or script from an answer reaches the page ------
    hostile = ('<img src="x" onerror="window.__gaia_xss=1"><script>window.__gaia_xss=2</script>'
               '<b>bold?</b> [link](javascript:alert(1))')
    first = videos[0]
    analysis = read_sidecar(first)["analysis"]
    write_sidecar(first, {"analysis": {**analysis, "summary": hostile}})
    page.get_by_role("button", name="Reload the sidecars").click()
    wait_idle(page)
    # The table keeps a hidden accessibility copy of each cell: look for the text a person can see.
    expect(fresh_text(page, hostile, exact=True).filter(visible=True).first).to_be_visible()
    assert page.evaluate("window.__gaia_xss") is None
    expect(page.locator('img[src="x"]')).to_have_count(0)
    expect(page.locator("b", has_text="bold?")).to_have_count(0)
    expect(page.locator('a[href^="javascript"]')).to_have_count(0)

    # --- A narrow window still works --------------------------------------------------------------------
    page.set_viewport_size(NARROW)
    page.get_by_test_id("stExpandSidebarButton").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Select folder").click()
    wait_idle(page)
    if page.get_by_test_id("stSidebarCollapseButton").is_visible():  # the overlay stays open on phones
        page.get_by_test_id("stSidebarCollapseButton").get_by_role("button").click()
    expect(page.get_by_test_id("stSidebarNav")).not_to_be_in_viewport()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Next: preview the keyframes"))).to_be_visible()
    shot(page, "select-narrow.png")
    wait_idle(page)
    assert outside == [], outside  # icons, fonts and charts all come from this machine
