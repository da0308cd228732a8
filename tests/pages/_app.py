"""The one way page tests open a page in Streamlit's AppTest, optionally on a folder already chosen."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "pages"


def page_app(path: str, folder: Path | None = None, *, timeout: float = 90) -> AppTest:
    """An AppTest of the page at ``path``, with ``folder`` as the session's chosen folder when given."""
    at = AppTest.from_file(path, default_timeout=timeout)
    if folder is not None:
        at.session_state["folder"] = str(folder)
    return at
