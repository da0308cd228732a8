"""GAIA's Streamlit entry point: the page router and the frame around every page (sidebar status).

Run with ``streamlit run app.py``. Each page lives in ``pages/`` and is registered here with
``st.navigation``; the sidebar shows the selected folder and whether an API key is configured
(never the key itself).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages._ui import api_key, md, selected_folder

HERE = Path(__file__).parent

PAGES = [
    ("pages/1_Select_folder.py", "Select folder", ":material/folder_open:"),
    ("pages/2_Keyframes.py", "Keyframes", ":material/photo_library:"),
    ("pages/3_Estimate_cost.py", "Estimate cost", ":material/calculate:"),
    ("pages/4_Submit.py", "Submit", ":material/send:"),
    ("pages/5_Progress.py", "Progress", ":material/monitoring:"),
    ("pages/6_Results.py", "Results", ":material/table_view:"),
]

pages = [
    st.Page(path, title=title, icon=icon, default=(i == 0))
    for i, (path, title, icon) in enumerate(PAGES)
    if (HERE / path).is_file()
]
page = st.navigation(pages)
st.set_page_config(page_title="GAIA · video analysis at batch prices", page_icon=":material/movie:", layout="wide")

with st.sidebar:
    st.markdown("### GAIA")
    st.caption("Videos in, one structured analysis per video out, at the lowest price the API allows.")
    folder = selected_folder()
    st.markdown(f"**Folder**  \n{md(folder)}" if folder else "**Folder**  \nnone selected")
    if api_key():
        st.success("API key configured", icon=":material/key:")
    else:
        st.warning("No API key configured", icon=":material/key_off:")

page.run()
