"""GAIA's Streamlit entry point: the page router and the frame around every page (sidebar status).

The selected folder lives in the session and in the page's address (``?folder=…``), so a reload, a
bookmark or a page's URL opens the same folder, checked against the allowed roots like a typed path.

Run with ``streamlit run app.py``. Each page lives in ``pages/`` and is registered here with
``st.navigation``; the sidebar shows the selected folder and whether an API key is configured
(never the key itself), and a banner on every page while answers come from the local emulator (no key,
or "Demo mode" switched on in the sidebar).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gaia.views import log_failure
from pages._ui import (
    api_key,
    folder_from_url,
    folder_roots,
    md,
    run_page,
    selected_folder,
    served_remotely,
    using_emulator,
)

HERE = Path(__file__).parent

# No page icons: a page's icon becomes the browser tab's icon, and Streamlit fetches ":material/…:" tab icons from
# fonts.gstatic.com (emoji would stay local but show as empty boxes where no emoji font is installed). Everything
# the app shows comes from this machine; icons inside pages use the Material font Streamlit bundles.
PAGES = [
    ("pages/1_Select_folder.py", "Select folder"),
    ("pages/2_Keyframes.py", "Keyframes"),
    ("pages/3_Estimate_cost.py", "Estimate cost"),
    ("pages/7_Tune.py", "Tune"),
    ("pages/4_Submit.py", "Submit"),
    ("pages/5_Progress.py", "Progress"),
    ("pages/6_Results.py", "Results"),
]
APP_ICON = "🎬"  # drawn by the browser as a data: URL, never fetched

pages = [
    st.Page(path, title=title, default=(i == 0))
    for i, (path, title) in enumerate(PAGES)
    if (HERE / path).is_file()
]
page = st.navigation(pages)
st.set_page_config(page_title="GAIA · video analysis at batch prices", page_icon=APP_ICON, layout="wide")

try:
    url_problem = folder_from_url()  # a reload, a bookmark or a page's URL brings its folder back
except Exception as exc:  # the frame, like every page, never shows a traceback
    log_failure(exc, "the address")
    url_problem = "its name could not be read"

with st.sidebar:
    st.markdown("### GAIA")
    st.caption("Videos in, one structured analysis per video out, at the lowest price the API allows.")
    folder = selected_folder()
    st.markdown(f"**Folder**  \n{md(folder)}" if folder else "**Folder**  \nnone selected")
    if api_key():
        st.success("API key configured", icon=":material/key:")
        st.toggle("Demo mode (local emulator)", key="use_emulator",
                  help="Send batches to GAIA's local emulator instead of Claude: free, answers in seconds, "
                       "made up from simple image facts. Batches sent one way are not seen the other way.")
    else:
        st.info("No API key: demo mode", icon=":material/key_off:")
        st.caption("To use Claude, put `ANTHROPIC_API_KEY = \"sk-ant-…\"` in `.streamlit/secrets.toml` (or set the "
                   "environment variable) and restart the app.")
    if served_remotely() and not folder_roots():
        st.warning("This GAIA is used over the network and may open any folder on its server. Whoever runs it "
                   "should limit it to the video folders (`GAIA_ALLOWED_ROOTS`; see the README).",
                   icon=":material/shield:")

if url_problem:
    st.warning(f"The folder in this page's address cannot be opened: {md(url_problem)}", icon=":material/link_off:")

if using_emulator():
    st.info("**Demo mode: answers come from GAIA's local emulator, not from Claude.** They are made up from "
            "simple image facts (brightness, colours, motion), free and back in seconds. "
            + ("Turn off “Demo mode” in the sidebar to use Claude." if api_key() else
               "Add an API key to use Claude (see the sidebar)."),
            icon=":material/science:")

run_page(page)  # whatever a page lets escape becomes one sentence and a way on, never a traceback
