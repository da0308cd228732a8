"""Results: every video's analysis in one table, with filters, search, exports, a per-video view and failures.

Rows, filters, exports and the per-video detail come from ``gaia.views.results``; failures and retry
from ``gaia.failures`` / ``gaia.retry_failed``. Text from model answers is always shown as text
(``st.text``, tables, ``st.json``, or Markdown-escaped), never as Markdown or HTML.
"""

from __future__ import annotations

import contextlib
import html
import re
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import gaia
from gaia.views.results import (
    analyses_jsonl,
    facets,
    filter_rows,
    folder_token,
    load_results,
    rows_csv,
    thumbnail_url,
    totals,
    video_detail,
)
from pages._ui import (
    PAGE_PROGRESS,
    PAGE_SUBMIT,
    StreamlitProgress,
    client,
    fmt_duration,
    md,
    page_link,
    require_folder,
)

THUMBNAILS_AUTO_LIMIT = 300  # above this many rows, thumbnails wait for the user to ask
TABLE_ROWS = 10  # rows visible before the table scrolls
NO_PREVIEW = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='64' height='40'>"
              "<rect width='64' height='40' rx='4' fill='%23eeeeee'/><path d='M26 14h12v12H26z' fill='none' "
              "stroke='%23bbbbbb' stroke-width='2'/></svg>")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$])")

ss = st.session_state


def plain(text: Any) -> str:
    """``text`` escaped so that ``st.markdown`` (and alert boxes) show it literally: no HTML, no Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False)).replace("\n", "  \n")


def money(x: float | None) -> str:
    """Dollars: cents from $1 up, four decimals below."""
    if x is None:
        return "–"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}"


folder = require_folder()
st.title("Results")
st.caption(f"{md(folder)}: every video's analysis, read from the `.gaia.json` sidecars beside the videos. Filter, "
           "search, open one, or export them all.")

for msg in (ss.pop("results_flash", None),):
    if msg:
        st.success(msg, icon=":material/check_circle:")

scan = ss.get("scan")
records = scan.records if scan is not None and getattr(scan, "folder", None) == folder else None
token = (str(folder), folder_token(folder), ss.get("results_reload", 0))
if ss.get("results_rows_key") != token:
    with st.spinner("Reading the sidecars…"):
        ss["results_rows"] = load_results(folder, records)
    ss["results_rows_key"] = token
rows = ss["results_rows"]
t = totals(rows)

m = st.columns(5)
m[0].metric("Analysed", f"{t['analysed']:,} of {t['videos']:,}")
m[1].metric("Failed", f"{t['failed']:,}")
m[2].metric("In flight", f"{t['in flight']:,}")
m[3].metric("Not analysed", f"{t['not analysed']:,}")
m[4].metric("Cost of the analyses", money(t["cost_usd"]) if t["analysed"] else "–",
            help=md(f"Mean per video {money(t['mean_cost_usd'])}, from each answer's usage at the prices it was "
                   "sent at."))

fails = gaia.failures(folder)
tab_videos, tab_failures = st.tabs(["Videos", f"Failures ({len(fails)})" if fails else "Failures"])

# --- Failures ------------------------------------------------------------------------------------------
with tab_failures:
    if not fails:
        st.caption("No failed request waits for a retry.")
    else:
        st.caption("Requests that came back without a usable answer, why, and what to do. Retrying sends exactly "
                   "these in a new batch (at batch prices).")
        st.dataframe(pd.DataFrame([{"video": f.rel_path, "what happened": f.error_kind, "reason": f.reason,
                                    "what to do": f.hint, "attempt": f.attempt, "batch": f.batch_id,
                                    "cost (USD)": f.cost_usd} for f in fails]),
                     hide_index=True, width="stretch", key="results_failures")
        if st.button(f"Retry the {len(fails)} failed request(s)", icon=":material/replay:", key="results_retry"):
            with st.status("Sending the failed requests again…", expanded=True) as status:
                res = gaia.retry_failed(folder, client(), on_progress=StreamlitProgress("Requests built"))
                status.update(label="Retry sent" if res.sent else "Nothing sent",
                              state="complete" if res.ok else "error")
            if res.blocked:
                st.error(plain(res.blocked), icon=":material/block:")
            else:
                ss["progress_flash"] = f"Retry submitted: {res.sent} request(s) in {len(res.batches)} new batch(es)."
                with contextlib.suppress(StreamlitAPIException):  # not registered when run on its own
                    st.switch_page(PAGE_PROGRESS)
                st.success(ss["progress_flash"], icon=":material/check_circle:")
                page_link(PAGE_PROGRESS, "Watch it on the Progress page", ":material/monitoring:")

# --- Videos --------------------------------------------------------------------------------------------
with tab_videos:
    if not any(r.status in ("analysed", "failed", "in flight") for r in rows):
        st.info("No video has been analysed yet. Submit a batch, then come back when it has ended.",
                icon=":material/hourglass_empty:")
        page_link(PAGE_SUBMIT, "Go to Submit", ":material/send:")
        st.stop()

    cat = gaia.catalogue()
    f = facets(rows)
    counts = {k: dict(v) for k, v in f.items()}
    c = st.columns([1.3, 2, 2, 1.7])
    statuses = c[0].multiselect("Status", list(counts["status"]), key="results_status",
                                format_func=lambda s: f"{s} ({counts['status'][s]})")
    tags = c[1].multiselect("Tags (all of)", list(counts["tag"]), key="results_tags",
                            format_func=lambda s: f"{s} ({counts['tag'][s]})")
    species = c[2].multiselect("Species (any of)", list(counts["species"]), key="results_species",
                               format_func=lambda s: f"{s} ({counts['species'][s]})")
    models = c[3].multiselect("Model", list(counts["model"]), key="results_models",
                              format_func=lambda s: cat.models[s].display_name if s in cat.models else s)
    text = st.text_input("Search", key="results_search", placeholder="Words anywhere in the path or the analysis, "
                         "e.g. “cat sofa” or “fox night”", icon=":material/search:")
    shown = filter_rows(rows, statuses=statuses, tags=tags, species=species, models=models, text=text)

    thumbs: dict[str, str] = ss.setdefault("results_thumbs", {})
    want_thumbs = len(shown) <= THUMBNAILS_AUTO_LIMIT or st.toggle("Show thumbnails", key="results_show_thumbs")
    if want_thumbs:
        todo = [r for r in shown if r.set_id and r.set_id not in thumbs]
        progress = StreamlitProgress("Making thumbnails") if len(todo) > 20 else None
        for i, r in enumerate(todo, start=1):
            thumbs[r.set_id or ""] = thumbnail_url(folder, r) or NO_PREVIEW
            if progress:
                progress(i, len(todo))
        if progress:
            progress.empty()

    table = pd.DataFrame([{
        "thumbnail": thumbs.get(r.set_id or "", NO_PREVIEW) if want_thumbs else None,
        "video": r.rel_path,
        "status": r.status,
        "summary": r.summary or (r.error or ""),
        "subjects": r.subjects,
        "tags": list(r.tags),
        "cost (USD)": r.cost_usd,
        "model": cat.models[r.model].display_name if r.model in cat.models else (r.model or ""),
        "analysed": pd.to_datetime(r.analysed_at, utc=True, errors="coerce") if r.analysed_at else pd.NaT,
    } for r in shown], columns=["thumbnail", "video", "status", "summary", "tags", "cost (USD)", "model", "analysed",
                                "subjects"])
    st.caption(f"{len(shown):,} of {len(rows):,} video(s)" + (" match." if len(shown) != len(rows) else ".")
               + " Select a row to open it below.")
    row_height = 56 if want_thumbs else 35
    event = st.dataframe(
        table, hide_index=True, width="stretch", key="results_table", on_select="rerun",
        selection_mode="single-row", row_height=row_height, placeholder="–",
        height=min(max(len(table), 1), TABLE_ROWS) * row_height + 38,
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
        column_order=None if want_thumbs else [c for c in table.columns if c != "thumbnail"],
    )

    e = st.columns([1.2, 1.4, 2.4])
    e[0].download_button("Export table (CSV)", rows_csv(shown), file_name="gaia-results.csv", mime="text/csv",
                         icon=":material/table:", key="export_csv", on_click="ignore",
                         help="The rows shown, with the columns above.")
    e[1].download_button("Export analyses (JSONL)", lambda: analyses_jsonl(folder, shown),
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
        st.info("No video matches these filters.", icon=":material/filter_alt_off:")
        st.stop()
    if ss.get("results_video") not in options:
        ss["results_video"] = next((r.rel_path for r in shown if r.status == "analysed"), options[0])
    st.subheader("One video")
    rel = st.selectbox("Video", options, key="results_video", label_visibility="collapsed")
    d = video_detail(folder, rel)
    run = d.run
    with st.container(border=True):
        if d.error:
            st.error(plain(d.error), icon=":material/error:")
        row = next((r for r in shown if r.rel_path == rel), None)
        if row is not None and row.status != "analysed":
            st.info(f"Status: {row.status}." + (f" {plain(row.error)}" if row.error else ""), icon=":material/info:")
        elif row is not None and row.error:
            st.warning("A later attempt failed (this analysis is from an earlier one): " + plain(row.error),
                       icon=":material/warning:")
        left, right = st.columns([2, 3])
        with left:
            if d.frames:
                st.caption(f"The {len(d.frames)} frame(s) sent, at their time in the video:")
                grid = st.columns(2 if len(d.frames) > 1 else 1)
                for i, fr in enumerate(d.frames):
                    grid[i % len(grid)].image(str(fr.path), caption=f"{fmt_duration(fr.timestamp)} "
                                              f"({fr.timestamp:.2f} s)", width="stretch")
            else:
                st.caption(d.frames_note or "No frames were sent for this video yet.")
            facts = []
            if run:
                model_id = run.get("model")
                facts.append(("model", cat.models[model_id].display_name if model_id in cat.models else model_id))
                facts.append(("cost", money(run.get("cost_usd"))))
                usage = run.get("usage") or {}
                for label, key in (("input tokens", "input_tokens"), ("cache read", "cache_read_input_tokens"),
                                   ("cache written", "cache_creation_input_tokens"),
                                   ("output tokens", "output_tokens")):
                    if isinstance(usage.get(key), int):
                        facts.append((label, f"{usage[key]:,}"))
                facts.append(("batch", run.get("batch_id") or run.get("mode")))
                when = pd.to_datetime(run.get("analysed_at"), utc=True, errors="coerce")
                facts.append(("analysed", f"{when:%Y-%m-%d %H:%M} UTC" if not pd.isna(when) else "–"))
            facts.append(("sidecar", str(d.sidecar)))
            st.dataframe(pd.DataFrame(facts, columns=["", "value"]), hide_index=True, width="stretch",
                         key="results_facts")
        with right:
            ta, tj, th = st.tabs(["Analysis", "Raw JSON", f"Attempts ({len(d.attempts)})"])
            with ta:
                if d.analysis is None:
                    st.caption("No analysis for this video yet.")
                else:
                    for key, value in d.analysis.items():
                        st.markdown(f"**{plain(key.replace('_', ' ').capitalize())}**")
                        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                            st.dataframe(pd.DataFrame(value), hide_index=True, width="stretch")
                        elif isinstance(value, list):
                            st.text(" · ".join(str(v) for v in value) if value else "none")
                        elif isinstance(value, dict):
                            st.dataframe(pd.DataFrame([{k: (v if isinstance(v, (str, int, float, bool)) else str(v))
                                                        for k, v in value.items()}]),
                                         hide_index=True, width="stretch")
                        elif isinstance(value, bool):
                            st.text("yes" if value else "no")
                        else:
                            st.text(str(value))
            with tj:
                if d.data is not None:
                    st.json(d.data, expanded=2)
                else:
                    st.caption("No sidecar yet.")
            with th:
                if d.attempts:
                    st.dataframe(pd.DataFrame(d.attempts).drop(columns=["set_id", "timestamps"]), hide_index=True,
                                 width="stretch")
                else:
                    st.caption("GAIA's ledger has no request for this video (its sidecar may come from elsewhere).")

c = st.columns(2)
with c[0]:
    page_link(PAGE_PROGRESS, "Back: batches and failures", ":material/arrow_back:")
with c[1]:
    if st.button("Reload the sidecars", icon=":material/refresh:", key="results_reload_btn"):
        ss["results_reload"] = ss.get("results_reload", 0) + 1
        st.rerun()
