"""Results: every video's analysis in one table, with filters, search, exports, a per-video view and failures,
the review queue (confirm or correct fields as human-verified) and every export format (``pages/_review.py``).

Rows, filters, exports and the per-video detail come from ``gaia.views``; failures and retry
from ``gaia.Folder.failures`` / ``gaia.Folder.retry``. Text from model answers is always shown as text
(``st.text``, tables, ``st.json``, or Markdown-escaped), never as Markdown or HTML.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import gaia
from pages._review import exports_tab, known_review_queue, review_queue, review_tab
from pages._ui import (
    KEEP,
    PAGE_PROGRESS,
    PAGE_SUBMIT,
    StreamlitProgress,
    analysis_view,
    md,
    metrics,
    page_link,
    per_folder_state,
    plain,
    require_folder,
    retry_failed_asking,
    sidecars_changed,
    sidecars_generation,
    table,
)

V = gaia.views
THUMBNAILS_AUTO_LIMIT = 300  # above this many rows, thumbnails wait for the user to ask
TABLE_ROWS = 10  # rows visible before the table scrolls
ss = st.session_state


def _full_frame(rows: list[gaia.views.ResultRow]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The table of every row (no thumbnails) and each video's position in it."""
    frame = pd.DataFrame(V.table_records(rows, None), columns=V.TABLE_COLUMNS)
    frame["analysed"] = pd.to_datetime(frame["analysed"], utc=True)
    return frame, {r.rel_path: i for i, r in enumerate(rows)}


def table_frame(folder: object, rows: list[gaia.views.ResultRow], shown: list[gaia.views.ResultRow],
                sidecars: tuple) -> pd.DataFrame:
    """The table of the rows shown: cut from the whole table, built once per folder state for every session."""
    full, where = per_folder_state(folder, _full_frame, rows, key=sidecars)
    return full if len(shown) == len(rows) else full.iloc[[where[r.rel_path] for r in shown]].reset_index(drop=True)


folder = require_folder()
st.title("Results")
st.caption(f"{md(folder)}: every video's analysis, read from the `.gaia.json` sidecars beside the videos. Filter, "
           "search, open one, or export them all.")


scan = ss.get("scan")
records = scan.records if scan is not None and getattr(scan, "folder", None) == folder else None
# Everything read from the whole folder is computed once per state of the folder and its sidecars and shared by
# every session (``per_folder_state``): a session holds no row of its own, and a second visit reads nothing again.
# Each section computes only what it shows: the review queue, the exports and the facets wait for their section.
sidecars = ("sidecars", sidecars_generation(folder))
with st.spinner("Reading the sidecars…"):
    rows = per_folder_state(folder, V.load_results, folder, records, key=sidecars)
metrics([*per_folder_state(folder, V.results_metrics, rows, key=sidecars),
         per_folder_state(folder, V.spent_metric, folder)])

fails = per_folder_state(folder, gaia.Folder(folder).failures)
# The section shown is held in the session (not st.tabs, which a rerun puts back on its first tab): an action
# such as "Save as verified" or "Write the XMP sidecars now" keeps the user where they acted, and its
# confirmation shows there.
if ss.get("results_section") not in ("videos", "review", "export", "failures"):
    ss["results_section"] = "videos"
queue = review_queue(folder, records) if ss["results_section"] == "review" else known_review_queue(folder)
SECTIONS = {"videos": "Videos", "review": f"Review ({len(queue)})" if queue else "Review", "export": "Export",
            "failures": f"Failures ({len(fails)})" if fails else "Failures"}
section = st.segmented_control("Show", list(SECTIONS), format_func=SECTIONS.__getitem__, key="results_section",
                               required=True, label_visibility="collapsed", width="stretch")

# --- Review queue and exports (pages/_review.py) ----------------------------------------------------------
if section == "review":
    review_tab(folder, queue or [])
elif section == "export":
    exports_tab(folder, rows, records)

# --- Failures ------------------------------------------------------------------------------------------
elif section == "failures":
    if not fails:
        st.caption("No failed request waits for a retry.")
    else:
        st.caption("Requests that came back without a usable answer, why, and what to do. Retrying sends exactly "
                   "these in a new batch (at batch prices).")
        table(V.failure_records(fails, cost=True), key="results_failures")
        res = retry_failed_asking(folder, len(fails), key="results_retry")  # states its amount, asks once
        if res is not None:
            if res.blocked:
                st.error(plain(res.blocked), icon=":material/block:")
            else:
                ss["progress_flash"] = V.retry_sent_text(res)
                with contextlib.suppress(StreamlitAPIException):  # not registered when run on its own
                    st.switch_page(PAGE_PROGRESS)
                st.success(ss["progress_flash"], icon=":material/check_circle:")
                page_link(PAGE_PROGRESS, "Watch it on the Progress page", ":material/monitoring:")

# --- Videos --------------------------------------------------------------------------------------------
else:
    if not V.any_attempted(rows):
        st.info("No video has been analysed yet. Submit a batch, then come back when it has ended.",
                icon=":material/hourglass_empty:")
        page_link(PAGE_SUBMIT, "Go to Submit", ":material/send:")
        st.stop()

    fields = per_folder_state(folder, V.results_facets, folder)  # the answer schema's lists and categories
    counts = {k: dict(v) for k, v in per_folder_state(folder, V.facets, rows, fields, key=sidecars).items()}
    c = st.columns(4)
    statuses = c[0].multiselect("Status", list(counts["status"]), key="results_status",
                                format_func=lambda s: f"{s} ({counts['status'][s]})")
    models = c[1].multiselect("Model", list(counts["model"]), key="results_models",
                              format_func=V.model_name)
    chosen = {}
    for i, fc in enumerate((fc for fc in fields if counts[fc.path]), start=2):
        chosen[fc] = c[i % 4].multiselect(
            f"{fc.label.capitalize()} ({'all' if fc.every else 'any'} of)", list(counts[fc.path]),
            key=f"results_{fc.label.replace(' ', '_')}",
            format_func=lambda s, p=fc.path: f"{s} ({counts[p][s]})")
    text = st.text_input("Search", key="results_search", persist_state=KEEP,
                         placeholder="Words anywhere in the path or the analysis, "
                         "e.g. “cat sofa” or “fox night”", icon=":material/search:")
    shown = gaia.views.filter_rows(rows, statuses=statuses, models=models, text=text, chosen=chosen)

    # Thumbnails by keyframe set (its frames' content): the same for every session, so kept once for all.
    thumbs: dict[str, str] = per_folder_state(folder, dict, key=("thumbnails",))
    want_thumbs = len(shown) <= THUMBNAILS_AUTO_LIMIT or st.toggle("Show thumbnails", key="results_show_thumbs")
    if want_thumbs:
        todo = [r for r in shown if r.set_id and r.set_id not in thumbs]
        progress = StreamlitProgress("Making thumbnails") if len(todo) > 20 else None
        for i, r in enumerate(todo, start=1):
            thumbs[r.set_id or ""] = V.thumbnail_url(folder, r) or V.NO_PREVIEW
            if progress:
                progress(i, len(todo))
        if progress:
            progress.empty()

    frame = table_frame(folder, rows, shown, sidecars)
    if want_thumbs:
        frame = frame.assign(thumbnail=[thumbs.get(r.set_id or "", V.NO_PREVIEW) for r in shown])
    if shown:  # (none shown: the page says so below, and there is no row to select)
        st.caption(f"{len(shown):,} of {len(rows):,} video(s)" + (" match." if len(shown) != len(rows) else ".")
                   + " Select a row to open it below.")
    row_height = 56 if want_thumbs else 35
    event = st.dataframe(
        frame, hide_index=True, width="stretch", key="results_table", on_select="rerun",
        selection_mode="single-row", row_height=row_height, placeholder="–",
        height=min(max(len(frame), 1), TABLE_ROWS) * row_height + 38,
        column_config={
            "thumbnail": st.column_config.ImageColumn("", width="small"),
            "video": st.column_config.TextColumn("video", width=190),
            "status": st.column_config.TextColumn("status", width=80),
            "summary": st.column_config.TextColumn("summary", width=300),
            "tags": st.column_config.ListColumn("tags", width=170),
            "model": st.column_config.TextColumn("model", width=110),
            "subjects": st.column_config.TextColumn("subjects", width="medium"),
            "cost (USD)": st.column_config.NumberColumn("cost", format="$%.4f"),
            "analysed": st.column_config.DatetimeColumn("analysed", format="YYYY-MM-DD HH:mm", width=125),
        },
        column_order=None if want_thumbs else [c for c in frame.columns if c != "thumbnail"],
    )

    e = st.columns([1.2, 1.4, 2.4])
    e[0].download_button("Export table (CSV)", lambda: V.rows_csv(shown).encode("utf-8", "surrogateescape"),
                         file_name="gaia-results.csv", mime="text/csv",
                         icon=":material/table:", key="export_csv", on_click="ignore",
                         help="The rows shown, with the columns above.")
    e[1].download_button("Export analyses (JSONL)", lambda: V.analyses_jsonl(folder, shown),
                         file_name="gaia-analyses.jsonl", mime="application/jsonl", icon=":material/data_object:",
                         key="export_jsonl", on_click="ignore",
                         help="One line per analysed video shown: the full analysis and how it was made.")

    # --- One video -----------------------------------------------------------------------------------
    options = [r.rel_path for r in shown]
    selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected and selected[0] < len(options) and ss.get("results_picked") != options[selected[0]]:
        ss["results_picked"] = options[selected[0]]
        ss["results_video"] = options[selected[0]]
    if not options:
        st.info(f"None of the {len(rows):,} video(s) matches these filters and words. Remove a filter or change "
                "the search.", icon=":material/filter_alt_off:")
        st.stop()
    if ss.get("results_video") not in options:
        ss["results_video"] = next((r.rel_path for r in shown if r.status == V.ResultStatus.ANALYSED), options[0])
    st.subheader("One video")
    rel = st.selectbox("Video", options, key="results_video", persist_state=KEEP, label_visibility="collapsed",
                       format_func=gaia.views.display_name)
    d = gaia.views.video_detail(folder, rel)
    with st.container(border=True):
        if d.error:
            st.error(plain(d.error), icon=":material/error:")
        note = V.status_note(next((r for r in shown if r.rel_path == rel), None))
        if note is not None:
            kind, text = note
            (st.info if kind == "info" else st.warning)(plain(text), icon=f":material/{kind}:")
        left, right = st.columns([2, 3])
        with left:
            if d.frames:
                st.caption(f"The {len(d.frames)} frame(s) sent, at their time in the video:")
                # A grid fills row by row, so the frames stay in time order when a phone stacks them.
                grid = st.grid(2 if len(d.frames) > 1 else 1, min_column_width=120)
                for fr in d.frames:
                    with grid.cell():
                        st.image(str(fr.path), caption=V.frame_caption(fr.timestamp), width="stretch")
            else:
                st.caption(d.frames_note or "No frames were sent for this video yet.")
            st.dataframe(pd.DataFrame(V.detail_facts(d), columns=["", "value"]), hide_index=True, width="stretch",
                         key="results_facts")
        with right:
            ta, tj, th = st.tabs(["Analysis", "Raw JSON", f"Attempts ({len(d.attempts)})"])
            with ta:
                if d.analysis is None:
                    st.caption("No analysis for this video yet.")
                else:
                    analysis_view(d.analysis)
            with tj:
                if d.data is not None:
                    st.json(d.data, expanded=2)
                else:
                    st.caption("No sidecar yet.")
            with th:
                if d.attempts:
                    table(V.attempt_records(d), key="results_attempts")
                else:
                    st.caption("GAIA's ledger has no request for this video (its sidecar may come from elsewhere).")

c = st.columns(2)
with c[0]:
    page_link(PAGE_PROGRESS, "Back: batches and failures", ":material/arrow_back:")
with c[1]:
    if st.button("Reload the sidecars", icon=":material/refresh:", key="results_reload_btn"):
        sidecars_changed(folder)  # every session reads them again
        st.rerun()
