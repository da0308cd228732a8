"""The Submit, Progress and Results pages, each run from its own file (AppTest) against the emulator.

The pages' ``client()`` uses the real API when a key is configured; the tests configure the
emulator as that API through the environment (``ANTHROPIC_API_KEY`` + ``ANTHROPIC_BASE_URL``, as
the SDK reads them), so every call goes through the real SDK to the test's own emulator.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = str(ROOT / "pages" / "4_Submit.py")
PROGRESS = str(ROOT / "pages" / "5_Progress.py")
RESULTS = str(ROOT / "pages" / "6_Results.py")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> EmulatorHandle:
    """Pages talk to the test emulator as if it were the real API."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture
def ready_folder(make_folder):
    """``ready_folder({"a.mp4": "testsrc"})``: a folder whose keyframes are extracted with its settings."""

    def _make(layout: dict[str, str]) -> Path:
        folder = make_folder(layout)
        settings = gaia.load_settings(folder)
        gaia.save_settings(folder, settings.with_keyframes(count=2))
        settings = gaia.load_settings(folder)
        sets = gaia.extract_keyframes(folder, settings=settings.keyframes, model=settings.model)
        assert all(k.frames for k in sets if k.rel_path in layout and layout[k.rel_path] != "text")
        return folder

    return _make


def _app(path: str, folder: Path) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.session_state["folder"] = str(folder)
    return at


def _all_text(at: AppTest) -> str:
    """Every markdown, caption, text, success, info, warning and error body on the page."""
    parts = []
    for kind in ("markdown", "caption", "text", "success", "info", "warning", "error", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            if kind == "metric":
                parts.append(str(el.label))
    return "\n".join(parts)


def _table(at: AppTest, column: str):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _wait_ended(folder: Path, timeout: float = 20.0) -> None:
    client = gaia.make_client()
    deadline = time.monotonic() + timeout
    while any(s.running for s in gaia.refresh_status(folder, client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- Submit ------------------------------------------------------------------------------------------


def test_submit_page_shows_the_plan_and_creates_the_batches(api, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "bad.mp4": "text"})
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos to send"] == "2" and metrics["Batches"] == "1" and metrics["Skipped"] == "1"
    assert any("unusable" in e.label for e in at.expander)
    assert _table(at, "why it ends here")["requests"].tolist() == [2]
    go = at.button(key="submit_go")
    assert go.label.startswith("Submit 2 video(s) in 1 batch(es) · about $") and not go.disabled
    go.click().run()
    assert not at.exception, at.exception
    statuses = gaia.batch_statuses(folder)
    assert len(statuses) == 1 and statuses[0].state == "submitted" and statuses[0].n_requests == 2
    assert any("Submitted 2 request(s) in 1 batch(es)" in s.value for s in at.success)
    assert at.session_state["progress_flash"].startswith("Submitted 2 request(s)")

    # Submitted videos are now in flight: the next plan skips them and nothing can be sent twice.
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos to send"] == "0"
    assert at.button(key="submit_go").disabled
    assert any("awaiting results" in e.label for e in at.expander)


def test_submit_page_spend_cap_blocks(api, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    at = _app(SUBMIT, folder).run()
    assert not at.button(key="submit_go").disabled
    at.toggle(key="submit_cap_on").set_value(True).run()
    at.number_input(key="submit_cap").set_value(0.0).run()
    assert not at.exception, at.exception
    assert at.button(key="submit_go").disabled
    assert any("above your cap of $0.00" in e.value for e in at.error)
    at.number_input(key="submit_cap").set_value(100.0).run()
    assert not at.button(key="submit_go").disabled and not at.error
    assert gaia.batch_statuses(folder) == []


def test_submit_page_skips_analysed_videos_unless_forced(api, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    client = gaia.make_client()
    gaia.submit(folder, gaia.plan_submission(folder), client)
    _wait_ended(folder)
    assert gaia.retrieve(folder, client).written == 2
    at = _app(SUBMIT, folder).run()
    assert {m.label: m.value for m in at.metric}["Videos to send"] == "0"
    assert any("already analysed" in e.label for e in at.expander)
    at.toggle(key="submit_force").set_value(True).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Videos to send"] == "2"
