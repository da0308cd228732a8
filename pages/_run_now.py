"""Run now and the prompt trial: UI pieces rendered inside the Submit page's tabs.

``render_run_now(folder)`` sends the folder's requests through the Messages API at standard prices
(``gaia.runs.now.run_now``), after stating what that costs against a batch and how long each takes
(``gaia.runs.now.run_choice``). ``render_prompt_trial(folder)`` lets the user edit the prompt and
schema, try them on a few videos now (``gaia.runs.now.run_trial``), see the answers beside the
keyframes, and keep the prompt for the batch. Model answers are only ever shown as text
(``st.json``, ``st.code``, tables), never as Markdown or HTML.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

import gaia
from gaia import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TRIAL_VIDEOS,
    MAX_CONCURRENCY,
    MAX_TRIAL_VIDEOS,
    OnlineResult,
    TrialResult,
    estimate_now_usd,
    plan_run_now,
    retry_now,
    run_choice,
    run_now,
    run_trial,
)
from gaia.views.results import folder_token
from pages._ui import StreamlitProgress, client, md

ss = st.session_state
SHOW_ANSWERS = 25  # answers shown after a run (the Results page has them all)


def _money(x: float | None) -> str:
    if x is None:
        return "–"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}"


def _plan(folder: Path, limit: int | None, force: bool) -> gaia.SubmissionPlan:
    """The run-now plan, kept in the session until the folder's state changes."""
    key = (str(folder), limit, force, folder_token(folder))
    cached = ss.get("run_now_plan")
    if cached is not None and cached[0] == key:
        return cached[1]
    with st.spinner("Checking the videos and pricing the run…"):
        plan = plan_run_now(folder, limit=limit, force=force)
    ss["run_now_plan"] = ((str(folder), limit, force, folder_token(folder)), plan)
    return plan


def _forget_plans() -> None:
    for name in ("run_now_plan", "submit_plan"):
        ss.pop(name, None)


# --- Run now ----------------------------------------------------------------------------------------

def render_run_now(folder: Path) -> None:
    """The "Run now" tab: what sending now costs against a batch, then send at standard prices."""
    st.caption("The same requests as the batch (prompt, schema, cached prefix, frames), sent now through the "
               "Messages API: answers in seconds, at standard prices (twice the batch price).")
    c = st.columns([2, 2, 3])
    force = c[2].toggle("Send again videos already analysed", key="run_now_force",
                        help="Pay for a fresh analysis of videos whose sidecar already matches these settings.")
    everything = _plan(folder, None, force)
    available = len(everything.requests)
    if not available:
        for p in everything.blocking_problems:
            st.error(p.problem, icon=":material/block:")
        if not everything.blocking_problems:
            st.info("Nothing to send now: every video is analysed, excluded, in a batch or has a problem.",
                    icon=":material/task_alt:")
        _render_last_run(folder)
        return
    if int(ss.get("run_now_limit") or 0) not in range(1, available + 1):
        ss["run_now_limit"] = available
    ss.setdefault("run_now_concurrency", DEFAULT_CONCURRENCY)
    limit = int(c[0].number_input("Videos to send now", min_value=1, max_value=available, step=1,
                                  key="run_now_limit",
                                  help=f"{available} video(s) can be sent; the first ones in folder order go."))
    concurrency = int(c[1].number_input("At most in flight", min_value=1, max_value=MAX_CONCURRENCY,
                                        step=1, key="run_now_concurrency",
                                        help="Requests sent at once. GAIA lowers this by itself while the API "
                                             "asks it to slow down (429/529) and raises it again as calls succeed."))
    plan = everything if limit >= available else _plan(folder, limit, force)
    choice = run_choice(plan, concurrency=concurrency)

    m = st.columns(3)
    m[0].metric("Now (standard prices)", _money(choice.now_usd), help=choice.now_wait_text)
    m[1].metric("As a batch", _money(choice.batch_usd), help=choice.batch_wait_text)
    m[2].metric("Extra for not waiting", _money(choice.extra_usd))
    st.caption(f"**Wait now:** {choice.now_wait_text}.  \n**Wait as a batch:** {choice.batch_wait_text}.")
    for p in plan.blocking_problems:
        st.error(p.problem, icon=":material/block:")
    others = [p for p in plan.problems if not p.blocking]
    if others:
        with st.expander(f"{len(others)} video(s) left out, and how to fix each", icon=":material/rule:"):
            st.dataframe(pd.DataFrame([{"video": p.rel_path or "(whole run)", "problem": p.problem, "fix": p.fix}
                                       for p in others]), hide_index=True, width="stretch", key="run_now_problems")

    cap = None
    if st.toggle("Set a spend cap", key="run_now_cap_on", help="Nothing is sent while the estimate is above the "
                 "cap, and the run stops before the money spent would pass it."):
        ss.setdefault("run_now_cap", float(max(0.01, round((choice.now_usd or 0.01) * 1.5, 2))))
        cap = float(st.number_input("Spend cap (USD)", min_value=0.0, step=0.5, format="%.2f", key="run_now_cap"))
    over = cap is not None and (choice.now_usd is None or choice.now_usd > cap)
    if over:
        st.error(f"The estimate {_money(choice.now_usd)} is above your cap of {_money(cap)}.",
                 icon=":material/money_off:")
    label = f"Analyse {len(plan.requests)} video(s) now · about {_money(choice.now_usd)}"
    if st.button(label, type="primary", icon=":material/bolt:", disabled=not plan.ok or over, key="run_now_go"):
        with st.status(f"Sending {len(plan.requests)} request(s)…", expanded=True) as status:
            progress = StreamlitProgress("Answers")
            result = run_now(folder, plan, client(), concurrency=concurrency, max_cost_usd=cap, on_progress=progress)
            state = "complete" if result.ok else "error"
            status.update(label=("Not sent" if result.blocked else
                                 f"{result.succeeded} answered, {result.failed} failed in {result.elapsed_s:.1f} s"),
                          state=state)
        ss["run_now_result"] = result
        _forget_plans()
        st.rerun()  # plan again: what was just answered is no longer to send
    _render_last_run(folder)


def _render_last_run(folder: Path) -> None:
    result: OnlineResult | None = ss.get("run_now_result")
    if result is None:
        return
    st.divider()
    st.subheader("Last run now")
    if result.blocked:
        st.error(result.blocked, icon=":material/block:")
        return
    m = st.columns(4)
    m[0].metric("Answered", result.succeeded)
    m[1].metric("Failed", result.failed)
    m[2].metric("Spent", _money(result.spent_usd), help=f"Estimated beforehand: {_money(result.estimate_usd)}")
    m[3].metric("Time", f"{result.elapsed_s:.1f} s",
                help=f"{result.per_minute:.0f} answers per minute" if result.per_minute else None)
    if result.throttled:
        st.info(f"The API asked GAIA to slow down {result.throttled} time(s) (429/529). GAIA waited as asked and "
                f"lowered the requests in flight from {result.max_concurrency} to {result.lowest_concurrency}, then "
                "raised it again as calls succeeded.", icon=":material/speed:")
    if result.stopped:
        st.warning(result.stopped, icon=":material/pause_circle:")
    for text in result.problems:
        st.text(text)
    if result.failures:
        st.markdown("**Requests without an answer**")
        st.dataframe(pd.DataFrame([{"video": o.rel_path, "kind": o.error_kind, "why": o.error}
                                   for o in result.failures]), hide_index=True, width="stretch",
                     key="run_now_failures")
        ids = [o.request_id for o in result.failures]
        b = st.columns(2)
        if b[0].button(f"Send the {len(ids)} again now", icon=":material/replay:", key="run_now_retry"):
            with st.spinner("Sending again…"):
                again = retry_now(folder, client(), request_ids=ids)
            if again:
                ss["run_now_result"] = again[0]
            _forget_plans()
            st.rerun()
        if b[1].button(f"Move the {len(ids)} into a batch (half price)", icon=":material/inventory_2:",
                       key="run_now_to_batch"):
            res = gaia.retry_failed(folder, client(), request_ids=ids)
            _forget_plans()
            if res.blocked:
                st.error(res.blocked)
            else:
                st.success(f"Sent {res.sent} request(s) as a batch; follow it on the Progress page.",
                           icon=":material/check_circle:")
    answered = [o for o in result.outcomes if o.status == "succeeded"]
    for o in answered[:SHOW_ANSWERS]:
        with st.expander(md(o.rel_path) + (f" · {_money(o.cost_usd)}" if o.cost_usd is not None else "")):
            try:
                data = gaia.read_sidecar(folder / o.rel_path) or {}
            except gaia.SidecarError as exc:
                st.text(str(exc))
                continue
            st.json(data.get("analysis") or {}, expanded=False)
    if len(answered) > SHOW_ANSWERS:
        st.caption(f"{len(answered) - SHOW_ANSWERS} more answer(s) on the Results page.")


# --- Prompt trial -----------------------------------------------------------------------------------

def _edited_profile(folder: Path) -> gaia.PromptProfile | None:
    """The prompt editor; returns the edited profile, or ``None`` while the schema is unusable."""
    settings = gaia.Folder(folder).settings()
    try:
        saved = gaia.Folder(folder).profile(settings.prompt_profile)
    except gaia.ProfileNotFound:
        saved = gaia.default_profile()
    if ss.get("trial_base") != (str(folder), saved.hash):  # a new folder or a saved change: start from it
        ss["trial_base"] = (str(folder), saved.hash)
        ss["trial_name"] = saved.name
        ss["trial_system"] = saved.system
        ss["trial_instruction"] = saved.instruction
        ss["trial_schema"] = json.dumps(saved.schema, indent=2, ensure_ascii=False)
    with st.expander(f"Prompt and schema (now “{saved.name}”, {saved.hash})", expanded=True,
                     icon=":material/edit_note:"):
        name = st.text_input("Profile name", key="trial_name")
        system = st.text_area("System prompt", key="trial_system", height=180)
        instruction = st.text_area("Instruction (after the frames)", key="trial_instruction", height=80)
        schema_text = st.text_area("Output schema (JSON Schema)", key="trial_schema", height=260)
    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        st.error(f"The schema is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
                 icon=":material/data_object:")
        return None
    problems = gaia.schema_problems(schema)
    if problems:
        st.error("The schema cannot be used with structured outputs yet:", icon=":material/data_object:")
        st.code("\n".join(problems), language=None, wrap_lines=True)
        return None
    profile = gaia.PromptProfile(name=(name or "").strip() or "edited", system=system, schema=schema,
                                 instruction=instruction)
    if profile.hash != saved.hash:
        st.caption(f"Edited: this prompt is {profile.hash}; the batch uses {saved.hash} until you keep it.")
    return profile


def _trial_cost_per_video(folder: Path) -> float | None:
    """The average cost of one video sent now (standard prices), from the folder's plan; ``None`` if unknown."""
    try:
        plan = _plan(folder, None, True)
    except Exception:  # an estimate must never take the tab down
        return None
    now = estimate_now_usd(plan)
    return now / len(plan.requests) if now is not None and plan.requests else None


def render_prompt_trial(folder: Path) -> None:
    """The "Try the prompt" tab: edit the prompt or schema, try it on a few videos now, keep it."""
    st.caption("Try the prompt on a few videos now, at standard prices, and read the answers beside the frames "
               "before sending the whole folder as a batch. Edit and try again as often as you like; the trial's "
               "real usage makes the next cost estimate more accurate.")
    profile = _edited_profile(folder)
    ss.setdefault("trial_n", DEFAULT_TRIAL_VIDEOS)
    b = st.columns([1, 1, 1], vertical_alignment="bottom")
    n = int(b[0].number_input("Videos to try", min_value=1, max_value=MAX_TRIAL_VIDEOS, step=1, key="trial_n",
                              help="Spread over the folder, preferring videos without an "
                              "analysis (a trial writes its answers to the videos' sidecars)."))
    per_video = _trial_cost_per_video(folder)
    cost = f" · about {_money(per_video * n)}" if per_video is not None else ""
    go = b[1].button(f"Try on {n} video(s) now{cost}", type="primary", icon=":material/science:",
                     disabled=profile is None, key="trial_go")
    keep = b[2].button("Keep this prompt for the batch", icon=":material/save:", disabled=profile is None,
                       key="trial_keep")
    if keep and profile is not None:
        gaia.Folder(folder).save_profile(profile)
        gaia.Folder(folder).save_settings(replace(gaia.Folder(folder).settings(), prompt_profile=profile.hash))
        _forget_plans()
        st.success(f"The batch now uses “{profile.name}” ({profile.hash}). Videos this trial answered with it are "
                   "skipped by the batch.", icon=":material/check_circle:")
    if go and profile is not None:
        with st.status(f"Trying the prompt on {n} video(s)…", expanded=True) as status:
            progress = StreamlitProgress("Keyframes")
            trial = run_trial(folder, client(), n=n, profile=profile, on_progress=progress)
            ok = trial.blocked is None and trial.run.failed == 0
            status.update(label=("Not sent" if trial.blocked else
                                 f"{trial.run.succeeded} answer(s) in {trial.run.elapsed_s:.1f} s, "
                                 f"{_money(trial.spent_usd)}"), state="complete" if ok else "error")
        ss["trial_result"] = trial
        _forget_plans()
    _render_trial(ss.get("trial_result"))


def _render_trial(trial: TrialResult | None) -> None:
    if trial is None:
        return
    st.divider()
    st.subheader(f"Answers with “{md(trial.profile.name)}” ({trial.profile.hash})")
    if trial.blocked:
        st.error("Nothing was sent.", icon=":material/block:")
        st.text(trial.blocked)
        return
    m = st.columns(3)
    m[0].metric("Answered", trial.run.succeeded)
    m[1].metric("Cost", _money(trial.spent_usd))
    tokens = [int((v.usage or {}).get("output_tokens") or 0) for v in trial.videos if v.usage]
    m[2].metric("Output tokens per answer", f"{sum(tokens) / len(tokens):,.0f}" if tokens else "–")
    for text in trial.problems:
        st.text(text)
    for v in trial.videos:
        st.markdown(f"**{md(v.rel_path)}**")
        left, right = st.columns([2, 3])
        with left:
            frames = [f for f in v.frames if f.path.is_file()]
            if frames:
                st.image([str(f.path) for f in frames], caption=[f"{f.timestamp:.1f} s" for f in frames],
                         width=150)
        with right:
            if v.status == "succeeded" and v.analysis is not None:
                st.json(v.analysis, expanded=True)
            else:
                st.warning("No usable answer for this video.", icon=":material/error:")
                st.code(v.error or v.status, language=None, wrap_lines=True)
