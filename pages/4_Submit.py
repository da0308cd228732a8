"""Submit: review exactly what will be sent, what it costs and how it splits, then send it as batches.

The plan comes from ``gaia.Folder.plan`` (validation, skips, split, estimate); the send from
``gaia.Folder.submit``. "Run now" and the prompt trial live in ``pages/_run_now.py``.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import gaia
from pages._cascade import render_cascade
from pages._run_now import render_prompt_trial, render_run_now
from pages._ui import (
    KEEP,
    PAGE_ESTIMATE,
    PAGE_KEYFRAMES,
    PAGE_PROGRESS,
    PAGE_SELECT,
    StreamlitProgress,
    batch_plan_key,
    client,
    forget_folder_state,
    limit_confirmed,
    md,
    metrics,
    page_link,
    per_folder_state,
    planning_client,
    require_folder,
    rows_page,
    table,
    using_emulator,
)

V = gaia.views

ss = st.session_state
folder = require_folder()
st.title("Submit")
st.caption(f"{md(folder)}: check what will be sent and what it will cost, then send it. Nothing leaves this "
           "machine until you press the submit button.")


def _plan(force: bool, extract: bool = False) -> gaia.SubmissionPlan:
    """The plan for the current settings, kept in the session until the folder's state changes (with a cascade
    saved in the settings and no force: its first pass, which extracts its own frames)."""
    settings = gaia.Folder(folder).settings()
    if settings.cascade_pair and not force:
        with st.spinner("Planning the cascade's first pass (its frames are extracted when missing)…"):
            return per_folder_state(folder, gaia.Folder(folder, planning_client()).plan_cascade, *settings.cascade_pair,
                                    settings, key=("cascade", settings.cascade, using_emulator()))
    if not extract:
        with st.spinner("Checking every video against the API's limits and pricing the run…"):
            return per_folder_state(folder, gaia.Folder(folder, planning_client()).plan, force=force,
                                    key=batch_plan_key(force))
    progress = StreamlitProgress("Extracting keyframes")
    with st.spinner("Checking every video against the API's limits and pricing the run…"):
        plan = gaia.Folder(folder, planning_client()).plan(force=force, extract=extract, on_progress=progress)
    progress.empty()
    return plan


def _cascade_cost(plan: gaia.SubmissionPlan) -> gaia.CascadeEstimate | None:
    """Both passes of the saved cascade priced (``gaia.Folder.cascade_estimate``, what ``gaia submit --cascade``
    shows and caps with), kept while the folder's state stays; ``None`` for a plain run or nothing to send."""
    pair = gaia.Folder(folder).settings().cascade_pair
    if plan.cascade_pass is None or not plan.requests or pair is None:
        return None
    with st.spinner("Pricing both passes of the cascade (the second pass's frames are extracted when missing)…"):
        return per_folder_state(folder, gaia.Folder(folder, planning_client()).cascade_estimate, *pair,
                                key=("cascade_cost", using_emulator()))


def _cap_problem(plan: gaia.SubmissionPlan, cascade: gaia.CascadeEstimate | None, cap: float | None) -> str | None:
    """Why the cap blocks sending: a cascade is checked against both passes, as ``gaia submit --cascade`` does."""
    if cascade is not None:
        return gaia.cap_problem(cascade.submit_usd, cap, what=cascade.CAP_WHAT, digits=4)
    return gaia.cap_problem(plan.estimate_usd, cap)


def _render_batch_tab() -> None:
    force = st.toggle("Send again videos already analysed with these settings", key="submit_force",
                      help="Normally a video whose sidecar already holds an analysis with the same keyframes, prompt "
                           "and model is skipped. Turn this on to pay for a fresh analysis anyway.")
    plan = _plan(force)
    model_name = V.model_name(plan.settings.model)
    st.caption(V.plan_caption(plan))
    if plan.cascade_pass is not None:
        st.info(V.cascade_batch_text(plan), icon=":material/call_split:")

    not_extracted = V.not_extracted(plan.problems)
    if not_extracted:
        st.warning(f"{len(not_extracted)} video(s) have no keyframes with these settings yet, so they are not in "
                   "this run.", icon=":material/photo_library:")
        if st.button(f"Extract keyframes for {len(not_extracted)} video(s)", icon=":material/play_arrow:",
                     key="submit_extract"):
            _plan(force, extract=True)
            st.rerun()

    _render_contents(plan, model_name)
    cascade = _cascade_cost(plan)
    cap = _render_cost(plan, cascade)
    _render_send(plan, cap, cascade)


def _render_contents(plan: gaia.SubmissionPlan, model_name: str) -> None:
    """What will be sent, what is left out and why, and how the run splits into batches."""
    metrics(V.plan_metrics(plan))

    blocking = plan.blocking_problems
    for p in blocking:
        st.error(f"{md(p.problem)}  \n**How to fix:** {p.fix}", icon=":material/block:")
    others = [p for p in V.with_problems(plan.problems) if not p.blocking]
    if others:
        with st.expander(f"{len(others)} video(s) left out by validation, and how to fix each", expanded=True,
                         icon=":material/rule:"):
            table(V.problem_records(others), key="problems_table")
    elif not blocking and plan.requests:
        st.success(f"All {len(plan.requests)} request(s) pass validation: image count and size, request and batch "
                   f"size, and {model_name} accepts images in batches. Whether your API key may use it is asked "
                   "when you submit.", icon=":material/verified:")

    if plan.requests:
        with st.expander(f"The {len(plan.requests)} request(s) that will be sent", icon=":material/list_alt:"):
            start, stop = rows_page(len(plan.requests), "requests_page")
            table(V.request_records(plan, start, stop), key="requests_table")

    for kind, (label, icon) in V.SKIP_KINDS.items():
        items = plan.skipped_by(kind)
        if items:
            with st.expander(f"{len(items)} video(s) skipped: {label}", icon=icon):
                start, stop = rows_page(len(items), f"skipped_{kind}_page")
                table([{"video": x.rel_path, "why": x.reason} for x in items[start:stop]], key=f"skipped_{kind}")
                if kind == "analysed":
                    st.caption("Turn on “Send again videos already analysed” above to include them.")

    if plan.batches:
        st.subheader("How the run splits into batches")
        st.caption(plan.split_explanation + " Each batch is processed (and priced) on its own; results come back "
                   "per batch, usually within an hour and always within 24 hours.")
        table(V.batch_records(plan), key="batches_table", column_config={
            "share of the size limit": st.column_config.ProgressColumn(
                f"share of the {gaia.format.size(plan.max_batch_bytes)} limit", format="percent", min_value=0.0,
                max_value=1.0)})



def _render_cost(plan: gaia.SubmissionPlan, cascade: gaia.CascadeEstimate | None) -> float | None:
    """The estimate, the four ways to send the run, both passes of a cascade, and the spend cap (returned;
    ``None``: no cap)."""
    st.subheader("Estimated cost")
    if cascade is not None:
        st.info(cascade.submit_text(), icon=":material/call_split:")
    est = plan.estimate
    cost_cols = st.columns([2, 2, 3])
    if est is not None:
        bc = est.scenario("batch_caching")
        usd = gaia.format.usd
        cost_cols[0].metric(f"{gaia.limits.SCENARIO_LABELS['batch_caching']} (this run)", usd(plan.estimate_usd),
                            help=md(f"Likely range {usd(bc.low_usd)} to {usd(bc.high_usd)}: answer length and "
                                    "cache hits vary."))
        cost_cols[1].metric("Saving vs standard", gaia.format.pct(bc.saving_pct / 100), f"{usd(bc.saving_usd)} less",
                            delta_color="off", delta_arrow="off")
        with cost_cols[2].popover("Compare the four ways to send it", icon=":material/compare_arrows:"):
            st.dataframe(pd.DataFrame(V.scenario_records(est)), hide_index=True, key="scenario_table", column_config={
                "total (USD)": st.column_config.NumberColumn(format="$%.4f"),
                "per video (USD)": st.column_config.NumberColumn(format="$%.5f")})
            st.caption("GAIA always sends batches with the shared prompt cached. Details and other models: ")
            page_link(PAGE_ESTIMATE, "Estimate cost page", ":material/calculate:")
    else:
        cost_cols[0].metric("This run", "–")
        if plan.estimate_note:
            st.caption(plan.estimate_note)

    cap_on = st.toggle("Set a spend cap", key="submit_cap_on", persist_state=KEEP,
                       help="Submitting is blocked while the estimate is above the cap.")
    cap = None
    if cap_on:
        ss.setdefault("submit_cap", V.default_cap(cascade.submit_usd if cascade is not None else plan.estimate_usd))
        cap = float(st.number_input("Spend cap (USD)", min_value=0.0, step=1.0, format="%.2f", key="submit_cap",
                                    persist_state=KEEP))
    cap_block = _cap_problem(plan, cascade, cap)
    if cap_block:
        st.error(md(cap_block), icon=":material/money_off:")

    return cap


def _render_send(plan: gaia.SubmissionPlan, cap: float | None, cascade: gaia.CascadeEstimate | None) -> None:
    """The submit button and the dry run; on submit, the batches are sent and the page moves to Progress."""
    blocking = plan.blocking_problems
    st.divider()
    can_send = plan.ok and _cap_problem(plan, cascade, cap) is None and limit_confirmed(plan, "submit")
    left, right = st.columns([3, 2])
    clicked = left.button(V.submit_label(plan, cascade), type="primary", disabled=not can_send, icon=":material/send:",
                          key="submit_go")
    with right:
        _dry_run(plan)
    if not plan.requests and not blocking:
        if V.not_extracted(plan.problems):
            st.info("Nothing to send yet: extract the keyframes for these settings first (the button above).",
                    icon=":material/photo_library:")
        elif not plan.skipped:
            st.info("This folder has no videos to send.", icon=":material/videocam_off:")
            page_link(PAGE_SELECT, "Choose another folder", ":material/folder_open:")
        else:
            st.info("Every video is analysed, excluded, already in a batch or has a problem listed above.",
                    icon=":material/task_alt:")
            page_link(PAGE_PROGRESS, "See the batches on the Progress page", ":material/monitoring:")
    if clicked:
        with st.status("Sending the batches…", expanded=True) as status:
            progress = StreamlitProgress("Requests built")
            result = gaia.Folder(folder, client()).submit(plan, max_cost_usd=cap, on_progress=progress)
            if result.blocked:
                status.update(label="Not submitted", state="error")
            else:
                status.update(label=f"Submitted {result.sent} request(s) in {len(result.batches)} batch(es)",
                              state="complete" if result.ok else "error")
        forget_folder_state()
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
    if plan.total_bytes <= V.DRY_RUN_DOWNLOAD_LIMIT:
        def _build() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "requests.jsonl"
                gaia.Folder(folder).write_dry_run(plan, path)
                return path.read_bytes()

        st.download_button("Dry run: download the requests (JSONL)", _build, file_name="gaia-requests.jsonl",
                           mime="application/jsonl", icon=":material/download:", key="dry_run_download",
                           on_click="ignore",
                           help="Exactly the requests that would be sent, one per line; nothing is sent.")
        return
    if st.button("Dry run: write the requests to disk (JSONL)", icon=":material/save:", key="dry_run_write"):
        path = gaia.Folder(folder).workdir / "dry-run" / "requests.jsonl"
        progress = StreamlitProgress("Requests written")
        n = gaia.Folder(folder).write_dry_run(plan, path, on_progress=progress)
        progress.empty()
        st.success(f"Wrote {n} request(s) to {md(path)} ({gaia.format.size(path.stat().st_size)}); nothing was sent.")


def _seed(key: str, value: object) -> None:
    """Give a widget the saved setting, again whenever the setting changed elsewhere (CLI, another page)
    and whenever Streamlit dropped the widget's value (it does when the page is left): a widget back at
    its default would otherwise overwrite the setting."""
    if key not in ss or ss.get(f"{key}_seed") != value:
        ss[key] = ss[f"{key}_seed"] = value


def _use_max_tokens(n: int) -> None:
    ss["submit_max_tokens"] = n


def _render_answers() -> None:
    """The prompt profile (with the output tokens each costs) and the answer length limit, with advice."""
    settings = gaia.Folder(folder).settings()
    rows = V.profile_outputs(folder, settings.model)
    keys = [r.key for r in rows]
    current = next((r.key for r in rows if r.current), keys[0])
    _seed("submit_profile", current)
    _seed("submit_max_tokens", settings.max_tokens)
    with st.container(border=True):
        c = st.columns([3, 2])
        labels = V.profile_names(rows)  # names only: the answer count is in the caption below
        key = c[0].selectbox("Prompt profile", keys, key="submit_profile", persist_state=KEEP,
                             format_func=lambda k: labels[k],
                             help="The schema drives how long answers are, and output is most of a bill. “compact” "
                                  "keeps every scored field and leaves out the prose ones.")
        limit = int(c[1].number_input("Answer length limit (max_tokens)", min_value=256,
                                      max_value=gaia.limits.MAX_MAX_TOKENS, step=256, key="submit_max_tokens",
                                      persist_state=KEEP,
                                      help="The most output tokens (thinking included) one answer may use."))
        chosen = replace(settings, prompt_profile=key if key != current else settings.prompt_profile,
                         max_tokens=limit)
        if chosen != settings:
            gaia.Folder(folder).save_settings(chosen)
            ss["submit_profile_seed"], ss["submit_max_tokens_seed"] = key, limit
        profile = next(r for r in rows if r.key == key)
        c[0].caption(f"{md(V.profile_label(profile))}, on {V.model_name(settings.model)}")
        advice = gaia.Folder(folder).max_tokens_advice(profile.hash, settings.model, limit)
        level = V.advice_level(advice)
        if level == "caption":
            st.caption(advice.message)
        else:
            (st.warning if level == "warning" else st.info)(advice.message, icon=":material/short_text:")
        if advice.suggested and advice.suggested != limit:
            st.button(f"Use {gaia.format.tokens(advice.suggested)} tokens", key="submit_use_max_tokens",
                      on_click=_use_max_tokens, args=(advice.suggested,))
        with st.expander("Output tokens of each prompt profile on this model", icon=":material/bar_chart:"):
            table(V.profile_records(rows), key="profiles_table", column_config={
                "output per video (USD, Batch)": st.column_config.NumberColumn(format="$%.5f")})


flash = ss.pop("submit_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

_render_answers()

tabs = st.tabs(["Batch · 50% off", "Run now", "Try the prompt"])
with tabs[0]:
    _render_batch_tab()

with tabs[1]:
    render_run_now(folder)
    render_cascade(folder)
with tabs[2]:
    render_prompt_trial(folder)

c = st.columns(2)
with c[0]:
    page_link(PAGE_KEYFRAMES, "Back: change frames or exclude videos", ":material/arrow_back:")
with c[1]:
    page_link(PAGE_PROGRESS, "Next: watch the batches", ":material/arrow_forward:")
