"""Serving GAIA to others safely, and the demo mode, checked on the pages themselves (AppTest).

- The API key never appears in any page (rendered element tree), log output or file GAIA writes,
  through a whole submit → progress → results cycle and when every API call fails.
- The banner says when answers come from the local emulator; the sidebar switch chooses it.
- Allowed root folders limit the Select page and every page after it.
- The Select page's demo button makes the demo folder and opens it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.emulator import EmulatorHandle, HttpFault
from gaia.media.keyframes import extract_keyframes
from gaia.sidecar import read_sidecar, write_sidecar

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE_FILES = sorted(str(p) for p in (ROOT / "pages").glob("[0-9]_*.py"))
SELECT, KEYFRAMES, ESTIMATE, SUBMIT, PROGRESS, RESULTS, TUNE = PAGE_FILES
FAKE_KEY = "sk-ant-api03-GAIA-TEST-KEY-0123456789-must-never-be-shown-XyZ"
KEY_FRAGMENT = "must-never-be-shown"  # also catches a key that was cut short or masked at the end


def tree_text(at: AppTest) -> str:
    """Every element of the rendered page (all of its protobuf fields), as one string."""
    parts: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        children = getattr(node, "children", None) or {}
        for child in children.values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def assert_no_key(at: AppTest) -> None:
    text = tree_text(at)
    assert text, "the page rendered nothing"
    assert FAKE_KEY not in text and KEY_FRAGMENT not in text


def _page(path: str, folder: Path | None = None, *, secrets: bool = True) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    if secrets:
        at.secrets["ANTHROPIC_API_KEY"] = FAKE_KEY
    if folder is not None:
        at.session_state["folder"] = str(folder)
    return at


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> EmulatorHandle:
    """A key configured in the environment (and in secrets, per page); the 'real API' is the emulator."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture
def ready(make_folder) -> Path:
    folder = make_folder({"cat.mp4": "testsrc", "dog.mp4": "cuts", "broken.mp4": "text"})
    settings = gaia.Folder(folder).settings()
    gaia.Folder(folder).save_settings(settings.with_keyframes(count=2))
    settings = gaia.Folder(folder).settings()
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model)
    return folder


def _files_mention_key(*roots: Path) -> list[Path]:
    hits = []
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                try:
                    data = p.read_bytes()
                except OSError:
                    continue
                if KEY_FRAGMENT.encode() in data:
                    hits.append(p)
    return hits


def test_the_key_never_shows_in_any_page_log_or_file(keyed, ready, caplog, capfd, tmp_path):
    caplog.set_level(logging.DEBUG)
    at = _page(APP, ready).run()
    assert not at.exception
    assert_no_key(at)
    assert any("API key configured" in s.value for s in at.sidebar.success)
    assert "API key configured" in tree_text(at)  # the walk sees the sidebar too, where a key would show
    for page in (SELECT, KEYFRAMES, ESTIMATE, SUBMIT):
        at = _page(page, ready).run()
        assert not at.exception, (page, at.exception)
        assert_no_key(at)

    # Submit for real (to the emulator standing in for the API), then watch and read the results.
    at.button(key="submit_go").click().run()
    assert not at.exception
    assert_no_key(at)
    deadline = time.monotonic() + 30
    while True:
        at = _page(PROGRESS, ready).run()
        assert not at.exception
        assert_no_key(at)
        if any(read_sidecar(ready / n) for n in ("cat.mp4", "dog.mp4")) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    at = _page(RESULTS, ready).run()
    assert not at.exception
    assert_no_key(at)
    assert read_sidecar(ready / "cat.mp4") is not None  # the cycle really ran

    logs = caplog.text + "".join(capfd.readouterr())
    assert KEY_FRAGMENT not in logs
    assert _files_mention_key(ready, tmp_path) == []  # sidecars, ledger, caches, emulator state


def test_the_key_never_shows_when_every_api_call_fails(keyed, ready):
    keyed.update_config(http_faults=[HttpFault(route="*", status=401, count=None),
                                     HttpFault(route="batches.", status=500, count=None)])
    for page in (ESTIMATE, SUBMIT, PROGRESS, RESULTS, TUNE):
        at = _page(page, ready).run()
        assert not at.exception, (page, at.exception)
        assert_no_key(at)
    at = _page(SUBMIT, ready).run()
    at.button(key="submit_go").click().run()
    assert_no_key(at)
    assert at.error or at.warning  # the failure is reported, not swallowed


def test_banner_without_a_key_says_answers_come_from_the_emulator():
    at = _page(APP, secrets=False).run()
    assert not at.exception
    assert any("not from Claude" in i.value for i in at.info)
    assert any("No API key: demo mode" in i.value for i in at.sidebar.info)
    assert not at.sidebar.toggle  # nothing to switch: without a key only the emulator can answer


def test_with_a_key_the_banner_is_gone_and_the_sidebar_offers_the_demo(monkeypatch):
    at = _page(APP).run()
    assert not at.exception
    assert not any("not from Claude" in i.value for i in at.info)
    assert at.sidebar.toggle(key="use_emulator").label == "Demo mode (local emulator)"
    assert at.sidebar.toggle(key="use_emulator").value is False

    at = _page(APP)
    at.session_state["use_emulator"] = True  # the user switched to the demo
    at.run()
    assert not at.exception
    assert any("not from Claude" in i.value and "Turn off" in i.value for i in at.info)


def test_using_emulator_follows_the_switch():
    from pages import _ui

    at = AppTest.from_function(_probe_using_emulator)
    at.secrets["ANTHROPIC_API_KEY"] = FAKE_KEY
    at.run()
    assert at.text[0].value == "False"
    at.session_state["use_emulator"] = True
    at.run()
    assert at.text[0].value == "True"
    assert _ui.DEMO_BATCH_SECONDS > 0


def _probe_using_emulator() -> None:
    import streamlit as st

    from pages._ui import using_emulator

    st.text(str(using_emulator()))


def test_demo_batch_seconds_can_be_set_by_the_environment(monkeypatch):
    import importlib

    from pages import _ui

    monkeypatch.setenv("GAIA_DEMO_BATCH_SECONDS", "1.5")
    try:
        assert importlib.reload(_ui).DEMO_BATCH_SECONDS == 1.5
        monkeypatch.setenv("GAIA_DEMO_BATCH_SECONDS", "soon")
        assert importlib.reload(_ui).DEMO_BATCH_SECONDS == 8.0  # nonsense falls back to the default
    finally:
        monkeypatch.delenv("GAIA_DEMO_BATCH_SECONDS")
        importlib.reload(_ui)


# --- allowed roots -------------------------------------------------------------------------------


def test_select_page_refuses_folders_outside_the_allowed_roots(monkeypatch, make_folder, tmp_path):
    inside = make_folder({"a.mp4": "testsrc"}, name="shared")
    outside = make_folder({"b.mp4": "testsrc"}, name="private")
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(inside))
    at = _page(SELECT, outside, secrets=False).run()
    assert not at.exception
    assert "outside the folders this GAIA server may open" in at.error[0].value
    assert not at.dataframe  # nothing about the folder is shown
    # The allowed roots are offered as buttons, and one click opens one.
    root_button = next(b for b in at.button if b.label == str(inside))
    root_button.click().run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["video"]) == ["a.mp4"]
    # At a root, "Up one level" would leave it: not offered.
    assert not any(b.label == "Up one level" for b in at.button)


def test_allowed_roots_from_secrets_and_the_pages_after_select(monkeypatch, make_folder):
    inside = make_folder({"a.mp4": "testsrc"}, name="shared")
    outside = make_folder({"b.mp4": "testsrc"}, name="private")
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    for page in (KEYFRAMES, ESTIMATE, SUBMIT, PROGRESS, RESULTS):
        at = AppTest.from_file(page, default_timeout=60)
        at.secrets["gaia"] = {"allowed_roots": [str(inside)]}
        at.session_state["folder"] = str(outside)
        at.run()
        assert not at.exception
        assert "Choose a folder of videos first." in at.info[0].value, page  # stopped before touching it
    at = AppTest.from_file(KEYFRAMES, default_timeout=60)
    at.secrets["gaia"] = {"allowed_roots": [str(inside)]}
    at.session_state["folder"] = str(inside)
    at.run()
    assert not at.exception
    assert not any("Choose a folder" in i.value for i in at.info)


def test_the_demo_folder_stays_open_when_roots_are_set(monkeypatch, make_folder):
    inside = make_folder({"a.mp4": "testsrc"}, name="shared")
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(inside))
    monkeypatch.setattr(gaia.media.demo, "DEMO_CLIPS", gaia.media.demo.DEMO_CLIPS[:2])
    at = _page(SELECT, secrets=False).run()
    at.button(key="use_demo_folder").click().run()
    assert not at.exception and not at.error
    assert at.session_state["folder"] == str(gaia.demo_folder_path())


# --- the demo button -------------------------------------------------------------------------------


def test_demo_button_makes_the_demo_folder_and_opens_it(monkeypatch):
    monkeypatch.setattr(gaia.media.demo, "DEMO_CLIPS", gaia.media.demo.DEMO_CLIPS[:2])  # quicker; same code path
    at = _page(SELECT, secrets=False).run()
    assert not at.exception
    assert "Type or paste the path" in at.info[0].value
    at.button(key="use_demo_folder").click().run()
    assert not at.exception
    assert gaia.demo_ready()
    assert at.session_state["folder"] == str(gaia.demo_folder_path())
    assert at.text_input(key="folder_input").value == str(gaia.demo_folder_path())
    assert len(at.dataframe[0].value) == 2
    # Once a folder is open the big button makes room; the Browse panel still offers the demo.
    assert not any(b.key == "use_demo_folder" for b in at.button)


def test_demo_button_reports_a_cache_that_cannot_be_written(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    at = _page(SELECT, secrets=False).run()
    at.button(key="use_demo_folder").click().run()
    assert not at.exception
    assert "could not be made" in at.error[0].value and "`XDG_CACHE_HOME`" in at.error[0].value


def test_the_demo_can_be_started_afresh(monkeypatch):
    monkeypatch.setattr(gaia.media.demo, "DEMO_CLIPS", gaia.media.demo.DEMO_CLIPS[:1])
    folder = gaia.ensure_demo_folder()
    video = folder / gaia.media.demo.DEMO_CLIPS[0].file_name
    write_sidecar(video, {"analysis": {"summary": "old"}})
    at = _page(SELECT, folder, secrets=False).run()
    assert not any(b.key == "use_demo_folder_browse" for b in at.button)  # already in the demo
    at.button(key="demo_again_button").click().run()  # it deletes analyses: it asks first (issue 26, item 8)
    assert not at.exception
    assert read_sidecar(video)["analysis"]["summary"] == "old"  # nothing deleted yet
    assert any("deletes its 1 analysis(es)" in w.value for w in at.warning)
    at.button(key="demo_again_no").click().run()  # "Keep them": nothing happens
    assert read_sidecar(video)["analysis"]["summary"] == "old"
    at.button(key="demo_again_button").click().run()
    at.button(key="demo_again_yes").click().run()
    assert not at.exception
    assert read_sidecar(video) is None  # the old analysis is gone
    assert gaia.demo_ready() and at.session_state["folder"] == str(folder)
    assert at.dataframe[0].value["analysis"].tolist() == ["not analysed"]


def test_a_remote_browser_is_warned_when_any_folder_can_be_opened(monkeypatch, tmp_path):
    from pages import _ui

    monkeypatch.setattr(_ui, "served_remotely", lambda: True)
    at = _page(APP, secrets=False).run()
    assert any("may open any folder" in w.value for w in at.sidebar.warning)
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(tmp_path))
    at = _page(APP, secrets=False).run()
    assert not any("may open any folder" in w.value for w in at.sidebar.warning)
    monkeypatch.setattr(_ui, "served_remotely", lambda: False)
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS")
    at = _page(APP, secrets=False).run()
    assert not any("may open any folder" in w.value for w in at.sidebar.warning)


def test_served_remotely_is_false_without_a_browser():
    from pages._ui import served_remotely

    assert served_remotely() is False


def test_demo_button_reports_a_failed_generation(monkeypatch):
    def boom(*_a, **_k):
        raise ValueError("ffmpeg said no")

    monkeypatch.setattr(gaia.media.demo, "_render_clip", boom)
    at = _page(SELECT, secrets=False).run()
    at.button(key="use_demo_folder").click().run()
    assert not at.exception
    assert "could not be made" in at.error[0].value and "ffmpeg said no" in at.error[0].value
    assert not at.session_state["folder"] if "folder" in at.session_state else True


@pytest.mark.parametrize(("ip", "remote"), [(None, False), ("127.0.0.1", False), ("::1", False),
                                            ("::ffff:127.0.0.1", False), ("192.168.1.20", True),
                                            ("2001:db8::5", True), ("fe80::1%eth0", True), ("garbage", True)])
def test_served_remotely_reads_the_browser_address(monkeypatch, ip, remote):
    import streamlit as st

    from pages._ui import served_remotely

    class FakeContext:
        ip_address = ip

    monkeypatch.setattr(st, "context", FakeContext())
    assert served_remotely() is remote
