"""Select folder: choose the folder of videos, browse into subfolders, see what GAIA found in it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import gaia
from pages._ui import (
    FOLDER_KEY,
    KEEP,
    PAGE_KEYFRAMES,
    StreamlitProgress,
    folder_roots,
    md,
    metrics,
    page_link,
    rows_page,
    show_folder_in_url,
)

V = gaia.views

ss = st.session_state
st.title("Select folder")
st.caption("Point GAIA at a folder of videos. Subfolders are included; nothing is sent anywhere yet, and nothing is "
           "written into the folder until you extract keyframes or send.")


def _set_folder(value: str) -> None:
    ss[FOLDER_KEY] = value
    ss["folder_input"] = value
    ss.pop("scan", None)


def _open_sub(parent: str) -> None:
    choice = ss.get("subfolder_choice")
    ss["subfolder_choice"] = "—"
    if choice and choice != "—":
        _set_folder(str(Path(parent) / choice))


def _on_input() -> None:
    """A typed path becomes the folder only once it opens: a mistyped one is refused in words and the folder
    chosen before stays selected (in the sidebar and the address)."""
    typed = ss.get("folder_input", "").strip()
    ss.pop("folder_typed_problem", None)
    if not typed:
        return
    try:
        gaia.check_folder(typed, allowed_roots=folder_roots())
    except gaia.FolderError as exc:
        ss["folder_typed_problem"] = (typed, str(exc))
        return
    _set_folder(typed)


# The demo folder: five short clips GAIA makes on this machine (first use only), for a try without videos.
use_demo = ss.pop("demo_requested", False)  # asked for from the Browse panel below
demo_again = ss.pop("demo_again", False)  # "make the demo videos again", also from the Browse panel
if not ss.get(FOLDER_KEY):
    demo_cols = st.columns([1, 3], vertical_alignment="center")
    use_demo = demo_cols[0].button("Use the demo folder", icon=":material/pets:", key="use_demo_folder")
    demo_cols[1].caption("No videos at hand? Try GAIA on five short animal clips it makes on this machine.")
if use_demo or demo_again:
    try:
        if gaia.demo_ready() and not demo_again:
            _set_folder(str(gaia.demo_folder_path()))
        else:
            with st.status("Making the demo videos (first time only)…", expanded=True) as demo_status:
                demo_progress = StreamlitProgress("Clips made")
                _set_folder(str(gaia.ensure_demo_folder(on_progress=demo_progress, force=demo_again)))
                demo_status.update(label="Demo videos ready", state="complete")
            st.rerun()
    except OSError as exc:
        st.error(f"The demo videos could not be made in {md(gaia.demo_folder_path())}: {md(exc)}. Point "
                 "`XDG_CACHE_HOME` at a folder GAIA may write to, then try again.", icon=":material/error:")
    except Exception as exc:  # moviepy or ffmpeg failed: say so, keep the page usable
        st.error(f"The demo videos could not be made ({md(type(exc).__name__)}: {md(exc)}). Run `gaia demo` in "
                 "a terminal to see the full error; your own folders work regardless.", icon=":material/error:")

roots = folder_roots()
ss.setdefault("folder_input", ss.get(FOLDER_KEY, ""))
st.text_input(
    "Folder",
    key="folder_input",
    persist_state=KEEP,
    on_change=_on_input,
    placeholder="/path/to/videos",
    help="A folder on the machine running GAIA. Its videos get a .gaia.json analysis beside them.",
)

raw = ss.get(FOLDER_KEY, "")
typed_problem = ss.get("folder_typed_problem")
if typed_problem:
    st.error(md(typed_problem[1]), icon=":material/error:")
    st.caption("Check the spelling, or that the folder exists and you may read it. "
               + (f"Still showing {md(raw)}." if raw else ""))
if roots:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption("This GAIA server opens folders inside:", width="content")
        for root in roots[:-1]:  # the last one is the demo folder, offered above
            st.button(str(root), key=f"root_{root}", icon=":material/folder:", on_click=_set_folder, args=(str(root),),
                      type="tertiary")
if not raw:
    st.info("Type or paste the path of a folder of videos above, then press Enter.", icon=":material/folder_open:")
    st.stop()

try:
    folder = gaia.check_folder(raw, allowed_roots=roots)
except gaia.FolderError as exc:
    st.error(md(exc), icon=":material/error:")
    if not roots or gaia.is_allowed(raw, roots):
        st.caption("Check the spelling, or that the folder exists and you may read it.")
    st.stop()
show_folder_in_url(raw)  # chosen in this run (e.g. the demo folder): the frame ran before it was

# Browse: up one level, or into a subfolder.
try:
    subs = gaia.subfolders(folder)
except gaia.FolderError:
    subs = []
with st.expander(f"Browse  ·  {folder}", expanded=False, icon=":material/account_tree:"):
    cols = st.columns([1, 4])
    if folder.parent != folder and gaia.is_allowed(folder.parent, roots):
        cols[0].button("Up one level", icon=":material/arrow_upward:", on_click=_set_folder, args=(str(folder.parent),))
    if subs:
        cols[1].selectbox("Open a subfolder", ["—", *subs], key="subfolder_choice", on_change=_open_sub,
                          args=(str(folder),))
    else:
        cols[1].caption("No subfolders.")
    if folder != gaia.demo_folder_path().resolve():
        st.button("Use the demo folder instead", icon=":material/pets:", key="use_demo_folder_browse",
                  on_click=lambda: ss.__setitem__("demo_requested", True))
    elif not ss.get("demo_again_asking"):  # it deletes analyses and verified labels: ask first
        st.button("Start the demo afresh…", icon=":material/restart_alt:", key="demo_again_button",
                  help="Makes the demo videos again, forgetting their keyframes, analyses and batches, so the "
                       "demo can be shown from the start. Asks before it deletes anything.",
                  on_click=lambda: ss.__setitem__("demo_again_asking", True))
    else:
        st.warning(V.demo_afresh_question(folder), icon=":material/help:")
        a = st.columns([2, 2, 4])
        a[0].button("Yes, start afresh", type="primary", key="demo_again_yes",
                    on_click=lambda: (ss.__setitem__("demo_again", True), ss.pop("demo_again_asking", None)))
        a[1].button("Keep them", key="demo_again_no", on_click=lambda: ss.pop("demo_again_asking", None))

# Scan (cached on disk, so rescanning an unchanged folder is instant).
scan: gaia.ScanResult | None = ss.get("scan")
if scan is None or scan.folder != folder:
    progress = StreamlitProgress("Probing videos")
    scan = gaia.Folder(folder).scan(on_progress=progress)
    progress.empty()
    ss["scan"] = scan

metrics(V.scan_metrics(scan))
if scan.limited:
    st.warning(md(scan.limited), icon=":material/warning:")
st.caption(V.where_files_go(folder))

if not scan.records:
    st.warning("No videos here. GAIA looks for .mp4 .mov .m4v .mkv .webm .avi .mpg .mpeg files, "
               "in subfolders too.", icon=":material/videocam_off:")
    st.stop()

show_thumbs = len(scan.records) <= V.THUMBNAILS_AUTO_LIMIT or st.toggle("Show thumbnails", value=False)
start, stop = rows_page(len(scan.records), "scan_page")  # a page of the table at a time: 100,000 rows would not load
shown = scan.records[start:stop]
thumbs: dict[str, Path | None] = {}
if show_thumbs:
    progress = StreamlitProgress("Making thumbnails")
    thumbs = gaia.Folder(folder).thumbnails([r for r in shown if r.usable], on_progress=progress)
    progress.empty()

table = pd.DataFrame([V.scan_record(r, V.image_data_url(thumbs.get(r.rel_path))) for r in shown])
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "thumbnail": st.column_config.ImageColumn("", width="small"),
        "problem": st.column_config.TextColumn("problem", width="large"),
    },
)
if scan.problems:
    with st.expander(f"{len(scan.problems)} video(s) cannot be used, and why", icon=":material/warning:"):
        for r in scan.problems:
            st.markdown(f"- **{md(r.rel_path)}**: {md(r.problem)}")
for d in scan.unreadable_dirs:
    st.warning(f"Folder **{md(d)}** could not be read (permission denied) and was skipped.")

c = st.columns([1, 3])
c[0].button("Rescan", icon=":material/refresh:", on_click=lambda: ss.pop("scan", None))
if scan.usable:
    with c[1]:
        page_link(PAGE_KEYFRAMES, f"Next: preview the keyframes of {len(scan.usable)} video(s)",
                  ":material/arrow_forward:")
