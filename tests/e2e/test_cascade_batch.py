"""A cascade in batches, in a real browser: saved as the folder's setting on the Submit page, its first pass sent
from the Batch tab, and the Progress page showing both passes as retrieving the first sends the second."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import gaia
from gaia.sidecar import read_sidecar
from tests.e2e.conftest import NARROW, AppServer
from tests.e2e.helpers import LONG, fresh_text, open_cascade, shot, wait_idle

pytestmark = pytest.mark.e2e


def test_batch_cascade_shows_both_passes_on_the_progress_page(page: Page, app_server: AppServer, demo: Path) -> None:
    # A copy of the demo clips of its own (the `demo` fixture): the session's demo folder stays unanalysed.
    # Save the cascade as the folder's setting (Run now tab → Cascade), then send its first pass as a batch.
    open_cascade(page, app_server.url, demo)
    fresh_text(page, "Use this cascade by default").click()
    page.get_by_role("tab", name=re.compile("^Batch")).click()
    expect(fresh_text(page, re.compile(r"^Cascade on \(the folder's settings\): this batch is its first pass"))
           ).to_be_visible(timeout=LONG)  # shown once the setting is saved and the page planned again
    assert gaia.Folder(demo).settings().cascade == "claude-haiku-5-5:economy"
    wait_idle(page)
    page.get_by_role("button", name=re.compile(r"^Submit the cascade's first pass, 5 video\(s\)")).click()
    wait_idle(page)

    # Progress: pass 1 runs, its retrieval sends pass 2, which ends in turn.
    expect(page.get_by_role("heading", name="Progress")).to_be_visible(timeout=LONG)
    card = fresh_text(page, re.compile(r"^Cascade Claude Haiku 5\.5 → Claude Sonnet 5\.5: "))
    expect(card).to_be_visible(timeout=LONG)
    expect(fresh_text(page, re.compile(r"^Pass 2 of 2, Claude Sonnet 5\.5: \d of 5 uncertain video\(s\) answered"))
           ).to_be_visible(timeout=2 * LONG)
    wait_idle(page)  # between two of the page's 2-s refreshes: its charts drawn, not their placeholders
    shot(page, "cascade_batch_progress.png")
    expect(fresh_text(page, "Cascade Claude Haiku 5.5 → Claude Sonnet 5.5: done")).to_be_visible(timeout=2 * LONG)
    expect(fresh_text(page, "Pass 2 of 2, Claude Sonnet 5.5: 5 of 5 uncertain video(s) answered again")
           ).to_be_visible()
    expect(fresh_text(page, "Pass 1 of 2, Claude Haiku 5.5: 5 of 5 answer(s) back; 5 uncertain")).to_be_visible()
    wait_idle(page)
    shot(page, "cascade_batch_done.png")
    # On a phone: the same page (its address keeps the folder) opened in a narrow window, sidebar folded away.
    narrow = page.context.browser.new_context(viewport=NARROW)  # type: ignore[union-attr]
    try:
        phone = narrow.new_page()
        phone.goto(page.url)
        wait_idle(phone)
        expect(fresh_text(phone, "Cascade Claude Haiku 5.5 → Claude Sonnet 5.5: done")).to_be_in_viewport(
            timeout=LONG)
        expect(fresh_text(phone, "Pass 2 of 2, Claude Sonnet 5.5: 5 of 5 uncertain video(s) answered again")
               ).to_be_visible()
        shot(phone, "cascade_batch_done_narrow.png")
    finally:
        narrow.close()

    sides = [read_sidecar(p) for p in sorted(demo.glob("*.mp4"))]
    assert all(s["cascade"]["first"]["run"]["fingerprint"]["model"] == "claude-haiku-5-5" for s in sides)
    assert {s["run"]["fingerprint"]["model"] for s in sides} == {"claude-sonnet-5-5"}


def test_after_a_run_now_cascade_the_profile_picker_shows_the_fresh_count(page: Page, app_server: AppServer,
                                                                          demo: Path) -> None:
    """The browser keeps a selectbox's choice by its label: the picker's label once held the answer count, and after
    a run-now cascade it still said "no answers yet" beside a caption counting 5. Its labels are now only names."""
    open_cascade(page, app_server.url, demo)
    picker = page.get_by_role("combobox", name="Prompt profile")
    expect(picker).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Run the cascade now").click()
    expect(fresh_text(page, re.compile(r"^Cascade done: "))).to_be_visible(timeout=4 * LONG)
    wait_idle(page)
    expect(fresh_text(page, re.compile(r"output tokens an answer \(median of 5\), on Claude Sonnet"))
           ).to_be_visible(timeout=LONG)
    shown = picker.evaluate("e => e.value || e.innerText")
    assert shown.startswith("default") and "no answers yet" not in shown, shown
