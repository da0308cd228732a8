"""Submit: review exactly what will be sent, what it costs and how it splits, then send it as batches.

The plan comes from ``gaia.plan_submission`` (validation, skips, split, estimate); the send from
``gaia.submit``. "Run now" and the prompt trial live in ``pages/_run_now.py`` when it exists.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import gaia
from gaia import write_dry_run
from gaia.pricing.cost import SCENARIO_LABELS
from gaia.views.results import cap_problem, folder_token
from pages._ui import (
    PAGE_ESTIMATE,
    PAGE_KEYFRAMES,
    PAGE_PROGRESS,
    PAGE_SELECT,
    StreamlitProgress,
    client,
    fmt_bytes,
    md,
    page_link,
    require_folder,
)

DRY_RUN_DOWNLOAD_LIMIT = 200_000_000  # above this, the dry run is written to disk only (browsers choke)
NOT_EXTRACTED = "not extracted yet"

ss = st.session_state
folder = require_folder()
st.title("Submit")
st.caption(f"{md(folder)}: check what will be sent and what it will cost, then send it. Nothing leaves this "
           "machine until you press the submit button.")


def money(x: float | None) -> str:
    """Dollars: cents from $1 up, four decimals below."""
    if x is None:
        return "–"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}"


def _plan(force: bool, extract: bool = False) -> gaia.SubmissionPlan:
    """The plan for the current settings, kept in the session until the folder's state changes."""
    key = (str(folder), force, folder_token(folder))
    cached = ss.get("submit_plan")
    if not extract and cached is not None and cached[0] == key:
        return cached[1]
    progress = StreamlitProgress("Extracting keyframes") if extract else None
    with st.spinner("Checking every video against the API's limits and pricing the run…"):
        plan = gaia.plan_submission(folder, force=force, extract=extract, client=client(), on_progress=progress)
    if progress:
        progress.empty()
    ss["submit_plan"] = ((str(folder), force, folder_token(folder)), plan)
    return plan


def _render_batch_tab() -> None:
    force = st.toggle("Send again videos already analysed with these settings", key="submit_force",
                      help="Normally a video whose sidecar already holds an analysis with the same keyframes, prompt "
                           "and model is skipped. Turn this on to pay for a fresh analysis anyway.")
    plan = _plan(force)
    s = plan.settings
    cat = gaia.catalogue()
    model_name = cat.models[s.model].display_name if s.model in cat.models else s.model
    st.caption(f"Model **{model_name}** · prompt profile “{md(plan.profile.name)}” ({plan.profile.hash}) · "
               f"{s.keyframes.count} frames per video ({s.keyframes.strategy}) · cache TTL {s.cache_ttl} · "
               f"answers up to {plan.max_tokens:,} tokens.")

    not_extracted = [p for p in plan.problems if p.problem == NOT_EXTRACTED]
    if not_extracted:
        st.warning(f"{len(not_extracted)} video(s) have no keyframes with these settings yet, so they are not in "
                   "this run.", icon=":material/photo_library:")
        if st.button(f"Extract keyframes for {len(not_extracted)} video(s)", icon=":material/play_arrow:",
                     key="submit_extract"):
            _plan(force, extract=True)
            st.rerun()

    # --- What will be sent ---------------------------------------------------------------------------
    m = st.columns(5)
    m[0].metric("Videos to send", len(plan.requests))
    m[1].metric("Frames", f"{plan.n_frames:,}", help=f"{plan.image_tokens:,} image tokens")
    m[2].metric("Upload size", fmt_bytes(plan.total_bytes), help="The requests as sent, images base64-encoded.")
    m[3].metric("Batches", len(plan.batches))
    m[4].metric("Skipped", len(plan.skipped), help="Already analysed, already sent, excluded, or unusable.")

    blocking = plan.blocking_problems
    for p in blocking:
        st.error(f"{md(p.problem)}  \n**How to fix:** {p.fix}", icon=":material/block:")
    others = [p for p in plan.problems if not p.blocking and p.problem != NOT_EXTRACTED]
    if others:
        with st.expander(f"{len(others)} video(s) left out by validation, and how to fix each", expanded=True,
                         icon=":material/rule:"):
            st.dataframe(pd.DataFrame([{"video": p.rel_path or "(whole run)", "problem": p.problem, "fix": p.fix}
                                       for p in others]), hide_index=True, width="stretch", key="problems_table")
    elif not blocking and plan.requests:
        st.success(f"All {len(plan.requests)} request(s) pass validation: image count and size, request and batch "
                   f"size, and {model_name} accepts images in batches.", icon=":material/verified:")

    if plan.requests:
        batch_of = {i: b.index + 1 for b in plan.batches for i in range(b.start, b.stop)}
        with st.expander(f"The {len(plan.requests)} request(s) that will be sent", icon=":material/list_alt:"):
            st.dataframe(pd.DataFrame([{
                "video": r.rel_path, "frames": len(r.frames),
                "at (s)": ", ".join(f"{t:g}" for t in r.timestamps), "image tokens": r.image_tokens,
                "size": fmt_bytes(r.nbytes), "batch": batch_of.get(i), "custom_id": r.custom_id,
            } for i, r in enumerate(plan.requests)]), hide_index=True, width="stretch", key="requests_table")

    kinds = {"analysed": ("already analysed with these settings", ":material/task_alt:"),
             "in_flight": ("already in a batch awaiting results", ":material/hourglass_top:"),
             "excluded": ("excluded by you on the Keyframes page", ":material/visibility_off:"),
             "problem": ("unusable files", ":material/warning:")}
    for kind, (label, icon) in kinds.items():
        items = plan.skipped_by(kind)
        if items:
            with st.expander(f"{len(items)} video(s) skipped: {label}", icon=icon):
                st.dataframe(pd.DataFrame([{"video": x.rel_path, "why": x.reason} for x in items]),
                             hide_index=True, width="stretch", key=f"skipped_{kind}")
                if kind == "analysed":
                    st.caption("Turn on “Send again videos already analysed” above to include them.")

    # --- How it splits ------------------------------------------------------------------------------
    if plan.batches:
        st.subheader("How the run splits into batches")
        st.caption(plan.split_explanation + " Each batch is processed (and priced) on its own; results come back "
                   "per batch, usually within an hour and always within 24 hours.")
        st.dataframe(pd.DataFrame([{
            "batch": b.index + 1, "requests": b.n_requests, "size": fmt_bytes(b.nbytes),
            "share of the size limit": b.nbytes / plan.max_batch_bytes, "why it ends here": b.reason_text,
        } for b in plan.batches]), hide_index=True, width="stretch", key="batches_table", column_config={
            "share of the size limit": st.column_config.ProgressColumn(
                f"share of the {fmt_bytes(plan.max_batch_bytes)} limit", format="percent", min_value=0.0,
                max_value=1.0)})

    # --- Cost ---------------------------------------------------------------------------------------
    st.subheader("Estimated cost")
    est = plan.estimate
    cost_cols = st.columns([2, 2, 3])
    if est is not None:
        bc = est.scenario("batch_caching")
        cost_cols[0].metric(f"{SCENARIO_LABELS['batch_caching']} (this run)", money(plan.estimate_usd),
                            help=md(f"Likely range {money(bc.low_usd)} to {money(bc.high_usd)}: answer length and "
                                    "cache hits vary."))
        cost_cols[1].metric("Saving vs standard", f"{bc.saving_pct:.0f}%", f"{money(bc.saving_usd)} less",
                            delta_color="off", delta_arrow="off")
        with cost_cols[2].popover("Compare the four ways to send it", icon=":material/compare_arrows:"):
            st.dataframe(pd.DataFrame([{
                "scenario": sc.label, "total (USD)": sc.total_usd, "per video (USD)": sc.per_video_usd,
                "range": f"{money(sc.low_usd)} – {money(sc.high_usd)}",
                "this run": "✓" if sc.key == "batch_caching" else "",
            } for sc in est.scenarios]), hide_index=True, key="scenario_table", column_config={
                "total (USD)": st.column_config.NumberColumn(format="$%.4f"),
                "per video (USD)": st.column_config.NumberColumn(format="$%.5f")})
            st.caption("GAIA always sends batches with the shared prompt cached. Details and other models: ")
            page_link(PAGE_ESTIMATE, "Estimate cost page", ":material/calculate:")
    else:
        cost_cols[0].metric("Estimated cost", "–")
        if plan.estimate_note:
            st.caption(plan.estimate_note)

    cap_on = st.toggle("Set a spend cap", key="submit_cap_on",
                       help="Submitting is blocked while the estimate is above the cap.")
    cap = None
    if cap_on:
        ss.setdefault("submit_cap", float(max(1.0, round((plan.estimate_usd or 1.0) * 1.2, 2))))
        cap = float(st.number_input("Spend cap (USD)", min_value=0.0, step=1.0, format="%.2f", key="submit_cap"))
    cap_block = cap_problem(plan.estimate_usd, cap)
    if cap_block:
        st.error(md(cap_block), icon=":material/money_off:")

    # --- Dry run and submit -------------------------------------------------------------------------
    st.divider()
    can_send = plan.ok and cap_block is None
    left, right = st.columns([3, 2])
    label = (f"Submit {len(plan.requests)} video(s) in {len(plan.batches)} batch(es) · about "
             f"{money(plan.estimate_usd)}") if plan.requests else "Nothing to submit"
    clicked = left.button(label, type="primary", disabled=not can_send, icon=":material/send:", key="submit_go")
    with right:
        _dry_run(plan)
    if not plan.requests and not blocking:
        if not plan.skipped:
            st.info("This folder has no videos to send.", icon=":material/videocam_off:")
            page_link(PAGE_SELECT, "Choose another folder", ":material/folder_open:")
        else:
            st.info("Every video is analysed, excluded, already in a batch or has a problem listed above.",
                    icon=":material/task_alt:")
            page_link(PAGE_PROGRESS, "See the batches on the Progress page", ":material/monitoring:")
    if clicked:
        with st.status("Sending the batches…", expanded=True) as status:
            progress = StreamlitProgress("Requests built")
            result = gaia.submit(folder, plan, client(), max_cost_usd=cap, on_progress=progress)
            if result.blocked:
                status.update(label="Not submitted", state="error")
            else:
                status.update(label=f"Submitted {result.sent} request(s) in {len(result.batches)} batch(es)",
                              state="complete" if result.ok else "error")
        ss.pop("submit_plan", None)
        if result.blocked:
            st.error(md(result.blocked), icon=":material/block:")
            return
        for p in result.problems:
            st.warning(md(p), icon=":material/warning:")
        ss["progress_flash"] = (f"Submitted {result.sent} request(s) in "
                                f"{sum(1 for b in result.batches if b.state == 'submitted')} batch(es).")
        if result.ok:
            # Not registered when the page runs on its own (tests): then stay and link instead.
            with contextlib.suppress(StreamlitAPIException):
                st.switch_page(PAGE_PROGRESS)
        st.success(ss["progress_flash"], icon=":material/check_circle:")
        page_link(PAGE_PROGRESS, "Watch them on the Progress page", ":material/monitoring:")


def _dry_run(plan: gaia.SubmissionPlan) -> None:
    """A download of the requests as JSONL (written on click), or a file on disk when it is huge."""
    if not plan.requests:
        return
    if plan.total_bytes <= DRY_RUN_DOWNLOAD_LIMIT:
        def _build() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "requests.jsonl"
                write_dry_run(plan, path)
                return path.read_bytes()

        st.download_button("Dry run: download the requests (JSONL)", _build, file_name="gaia-requests.jsonl",
                           mime="application/jsonl", icon=":material/download:", key="dry_run_download",
                           on_click="ignore",
                           help="Exactly the requests that would be sent, one per line; nothing is sent.")
        return
    if st.button("Dry run: write the requests to disk (JSONL)", icon=":material/save:", key="dry_run_write"):
        path = gaia.Folder(folder).workdir / "dry-run" / "requests.jsonl"
        progress = StreamlitProgress("Requests written")
        n = write_dry_run(plan, path, on_progress=progress)
        progress.empty()
        st.success(f"Wrote {n} request(s) to {md(path)} ({fmt_bytes(path.stat().st_size)}); nothing was sent.")


flash = ss.pop("submit_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

tabs = st.tabs(["Batch · 50% off", "Run now", "Try the prompt"])
with tabs[0]:
    _render_batch_tab()

run_now: Any = None
if importlib.util.find_spec("pages._run_now") is not None:
    try:
        import pages._run_now as run_now
    except Exception as exc:  # a broken optional module must not take the batch tab down
        run_now = exc
with tabs[1]:
    if isinstance(run_now, Exception):
        st.error(f"“Run now” could not be loaded: {md(run_now)}", icon=":material/error:")
    elif run_now is not None:
        run_now.render_run_now(folder)
    else:
        st.info("“Run now” (a few videos through the Messages API at standard prices, answers in seconds) is not "
                "available in this version.", icon=":material/bolt:")
with tabs[2]:
    if isinstance(run_now, Exception):
        st.error(f"The prompt trial could not be loaded: {md(run_now)}", icon=":material/error:")
    elif run_now is not None:
        run_now.render_prompt_trial(folder)
    else:
        st.info("Trying the prompt on a single video is not available in this version.", icon=":material/science:")

c = st.columns(2)
with c[0]:
    page_link(PAGE_KEYFRAMES, "Back: change frames or exclude videos", ":material/arrow_back:")
with c[1]:
    page_link(PAGE_PROGRESS, "Next: watch the batches", ":material/arrow_forward:")
