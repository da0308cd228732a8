"""Every page the router registers renders without an exception, with and without a folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.media.keyframes import extract_keyframes
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve

ROOT = Path(__file__).resolve().parents[2]


def _registered_pages() -> list[str]:
    """The page files listed in app.py's PAGES (read from the source, so the router cannot drift)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            return [elt.elts[0].value for elt in node.value.elts]
    raise AssertionError("app.py has no PAGES list")


PAGES = _registered_pages()


def test_every_page_file_is_registered_and_exists():
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("[0-9]_*.py"))
    assert sorted(PAGES) == on_disk
    assert len(PAGES) == 7


@pytest.fixture
def analysed_folder(make_folder, emulator, monkeypatch):
    """A folder with a bad file, extracted keyframes, and one batch through the emulator."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    folder = make_folder({"cat.mp4": "testsrc", "dog.mov": "mov", "broken.mp4": "text"})
    settings = gaia.Folder(folder).settings().with_keyframes(count=2)
    gaia.Folder(folder).save_settings(settings)
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model)
    client = emulator.client(max_retries=0)
    plan = plan_submission(folder)
    assert plan.ok and len(plan.requests) == 2
    assert submit(folder, plan, client).ok
    emulator.advance_clock(3600)
    retrieve(folder, client)
    return folder


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_a_folder(page, monkeypatch, emulator):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, page


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_an_analysed_folder(page, analysed_folder):
    at = AppTest.from_file(str(ROOT / page), default_timeout=90)
    at.session_state["folder"] = str(analysed_folder)
    at.run()
    assert not at.exception, page
    assert not at.error, [e.value for e in at.error]
