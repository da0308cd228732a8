"""Usability checks on the pages: every dead end says what happened and links to the way on (AppTest)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")


def test_keyframes_page_on_a_folder_without_usable_videos_points_back(make_folder):
    folder = make_folder({"notes.mp4": "text"})
    at = AppTest.from_file(KEYFRAMES, default_timeout=60)
    at.session_state["folder"] = str(folder)
    at.run()
    assert not at.exception
    assert "no video GAIA can use" in at.info[0].value
    assert not at.button  # nothing to extract
