"""Everyday use (issue 15): the folder in the address, local-only icons, the prompt editor across pages,
trial answers kept or discarded, and Results' figures and frames (AppTest)."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _frame(folder: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if folder is not None:
        at.session_state["folder"] = folder
    return at


def test_the_folder_in_the_address_opens_it(make_folder, monkeypatch):
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    folder = make_folder({"a.mp4": "testsrc"})
    at2 = _frame(query={"folder": str(folder)}).run()  # a reload: a new session, only the address
    assert not at2.exception
    assert at2.session_state["folder"] == str(folder)
    assert at2.query_params["folder"] == [str(folder)] or at2.query_params["folder"] == str(folder)
    assert any(m.label == "Usable" and m.value == "1" for m in at2.metric)


def test_a_session_folder_is_written_into_the_address(make_folder, monkeypatch):
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    folder = make_folder({"a.mp4": "testsrc"})
    at = _frame(folder=str(folder)).run()
    assert not at.exception
    assert str(folder) in str(at.query_params["folder"])


def test_an_address_outside_the_allowed_roots_is_refused_like_a_typed_path(make_folder, tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(allowed))
    outside = make_folder({"a.mp4": "testsrc"})
    at = _frame(query={"folder": str(outside)}).run()
    assert not at.exception
    assert "folder" not in at.session_state
    assert any("cannot be opened" in w.value and "outside the folders" in w.value for w in at.warning)


def test_no_icon_is_fetched_from_another_host():
    """Streamlit loads ``:material/…:`` tab icons (a page's icon, the app's icon) from fonts.gstatic.com."""
    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in
             ("Page", "set_page_config")]
    assert len(calls) == 2
    for call in calls:
        for kw in call.keywords:
            if kw.arg in ("icon", "page_icon"):
                assert not (isinstance(kw.value, ast.Constant) and str(kw.value.value).startswith(":material/"))
                assert isinstance(kw.value, ast.Name) and kw.value.id == "APP_ICON", ast.dump(kw)


def test_the_select_page_puts_a_folder_chosen_in_its_body_into_the_address(make_folder, monkeypatch):
    """The frame runs before the page: a folder chosen in the page body (the demo button) must reach the URL too."""
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    folder = make_folder({"a.mp4": "testsrc"})
    at = AppTest.from_file(str(ROOT / "pages" / "1_Select_folder.py"), default_timeout=60)
    at.session_state["folder"] = str(folder)
    at.run()
    assert not at.exception
    assert str(folder) in str(at.query_params["folder"])
