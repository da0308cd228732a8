"""Issue 26 in a real browser: a folder with every kind of problem file, page by page, and no Python on screen.

The folder holds a good clip, a name that is not UTF-8, a zero-byte file, a truncated video and a symlink
loop. Every page must render without a traceback (whatever escapes a page becomes one sentence and a way on,
``pages/_ui.run_page``), and once names that are not UTF-8 are stored losslessly (issue 21, faults21) every
page renders in full with the problem files listed. The server log over the whole browser suite is checked
for tracebacks and "missing ScriptRunContext" warnings by the ``app_server`` fixture.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests import videos as media
from tests.e2e.conftest import NARROW, AppServer
from tests.e2e.helpers import LONG, fresh_text, wait_idle

pytestmark = pytest.mark.e2e

PAGES = ("Select folder", "Keyframes", "Estimate cost", "Tune", "Submit", "Progress", "Results")
NOT_UTF8 = b"caf\xe9 at night.mp4"  # Latin-1 bytes: no valid UTF-8 decoding


@pytest.fixture(scope="module")
def problem_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("careful") / "problems"
    folder.mkdir()
    media.make("testsrc", folder / "good.mp4")
    (folder / "zero.mp4").write_bytes(b"")
    media.make("truncated", folder / "truncated.mp4")
    os.symlink(folder, folder / "loop")  # a folder that contains itself
    with open(os.fsencode(folder) + b"/" + NOT_UTF8, "wb") as out:
        out.write((folder / "good.mp4").read_bytes())
    return folder


def _no_python(page: Page) -> None:
    """Nothing Python on the page: no traceback element, no traceback text, no class name of an error."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    body = page.get_by_test_id("stMain")
    expect(body).not_to_contain_text("Traceback")
    expect(body).not_to_contain_text(re.compile(r"\b\w+(Error|Exception):"))


def _visit_every_page(page: Page, server: AppServer, folder: Path) -> list[str]:
    """Open the folder and every page; the pages that stopped on something they did not expect."""
    page.goto(f"{server.url}/?folder={quote(str(folder))}")
    wait_idle(page)
    stopped = []
    for name in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
        wait_idle(page)
        expect(page.get_by_role("heading", name=name, exact=True).or_(fresh_text(page, "This page stopped"))
               .first).to_be_visible(timeout=LONG)
        _no_python(page)
        if fresh_text(page, "This page stopped").count():
            expect(page.get_by_role("button", name="Try again")).to_be_visible()  # and a way on
            stopped.append(name)
    return stopped


def test_every_page_renders_without_a_traceback_on_a_folder_of_problem_files(
        page: Page, app_server: AppServer, problem_folder: Path) -> None:
    """Item 1: whatever a page meets, no traceback reaches the screen: at worst one sentence and a way on."""
    stopped = _visit_every_page(page, app_server, problem_folder)
    assert not stopped, stopped


def test_the_problem_files_are_listed_on_every_page(page: Page, app_server: AppServer, problem_folder: Path) -> None:
    """Every page renders in full and the Select page lists each problem file with its reason."""
    assert not _visit_every_page(page, app_server, problem_folder)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Select folder").click()
    wait_idle(page)
    fresh_text(page, re.compile(r"video\(s\) cannot be used, and why")).click()
    for name in ("zero.mp4", "truncated.mp4"):
        expect(page.get_by_test_id("stExpander").get_by_text(name)).to_be_visible()
    page.set_viewport_size(NARROW)
    wait_idle(page)
    _no_python(page)
