"""Run now and the prompt trial: UI pieces rendered inside the Submit page's tabs.

``render_run_now(folder)`` sends the folder's requests through the Messages API at standard prices
(``gaia.Folder.run_now``), after stating what that costs against a batch and how long each takes
(``gaia.run_choice``). ``render_prompt_trial(folder)`` lets the user edit the prompt and
schema, try them on a few videos now (``gaia.Folder.trial``), see the answers beside the
keyframes (field by field, as Results shows them), keep or discard the trial's answers
(``gaia.TrialUndo``), and keep the prompt for the batch. The editor's text is held outside
its widgets, so leaving the page and coming back keeps it. Model answers are only ever shown as
text (``st.text``, ``st.code``, tables), never as Markdown or HTML.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

import gaia
from pages._ui import (
    KEEP,
    StreamlitProgress,
    analysis_view,
    batch_plan_key,
    client,
    forget_folder_state,
    limit_confirmed,
    md,
    metrics,
    per_folder_state,
    per_folder_state_known,
    table,
)

ss = st.session_state


def _plan(folder: Path, limit: int | None, force: bool) -> gaia.SubmissionPlan:
    """The run-now plan, kept in the session until the folder's state changes: the same requests as the Submit
    page's batch plan for this state and ``force`` when that one is made already (shared, not planned again)."""
    like = None if limit is not None else per_folder_state_known(folder, gaia.Folder.plan, key=batch_plan_key(force))
    with st.spinner("Checking the videos and pricing the run…"):
        return per_folder_state(folder, gaia.Folder(folder).plan_now, limit=limit, force=force, like=like,
                                key=(limit, force))


def _forget_plans() -> None:
    forget_folder_state()


# --- Run now ----------------------------------------------------------------------------------------

def render_run_now(folder: Path) -> None:
    """The "Run now" tab: what sending now costs against a batch, then send at standard prices."""
    st.caption("The same requests as the batch (prompt, schema, cached prefix, frames), sent now through the "
               "Messages API: answers in seconds, at standard prices (each token twice its batch price). The two "
               "totals below are each priced as it would be sent, caching included, so they need not differ by "
               "twice.")
    c = st.columns([2, 2, 3])
    force = c[2].toggle("Send again videos already analysed", key="run_now_force",
                        help="Pay for a fresh analysis of videos whose sidecar already matches these settings.")
    everything = _plan(folder, None, force)
    available = len(everything.requests)
    if not available:
        for p in everything.blocking_problems:
            st.error(p.problem, icon=":material/block:")
        if gaia.views.not_extracted(everything.problems):
            st.info("Nothing to send yet with these settings: their keyframes are not extracted (the Batch tab "
                    "extracts them). A cascade, below, extracts its own frames.", icon=":material/photo_library:")
        elif not everything.blocking_problems:
            st.info("Nothing to send now: every video is analysed, excluded, in a batch or has a problem.",
                    icon=":material/task_alt:")
        _render_last_run(folder)
        return
    if int(ss.get("run_now_limit") or 0) not in range(1, available + 1):
        ss["run_now_limit"] = available
    ss.setdefault("run_now_concurrency", gaia.limits.DEFAULT_CONCURRENCY)
    limit = int(c[0].number_input("Videos to send now", min_value=1, max_value=available, step=1,
                                  key="run_now_limit", persist_state=KEEP,
                                  help=f"{available} video(s) can be sent; the first ones in folder order go."))
    concurrency = int(c[1].number_input("At most in flight", min_value=1, max_value=gaia.limits.MAX_CONCURRENCY,
                                        step=1, key="run_now_concurrency", persist_state=KEEP,
                                        help="Requests sent at once. GAIA lowers this by itself while the API "
                                             "asks it to slow down (429/529) and raises it again as calls succeed."))
    plan = everything if limit >= available else _plan(folder, limit, force)
    choice = gaia.run_choice(plan, concurrency=concurrency)

    m = st.columns(3)
    m[0].metric("Now (standard prices)", gaia.format.usd(choice.now_usd), help=choice.now_wait_text)
    m[1].metric("As a batch", gaia.format.usd(choice.batch_usd), help=choice.batch_wait_text)
    m[2].metric("Extra for not waiting", gaia.format.usd(choice.extra_usd))
    st.caption(f"**Wait now:** {choice.now_wait_text}.  \n**Wait as a batch:** {choice.batch_wait_text}.")
    for p in plan.blocking_problems:
        st.error(p.problem, icon=":material/block:")
    others = [p for p in plan.problems if not p.blocking]
    if others:
        with st.expander(f"{len(others)} video(s) left out, and how to fix each", icon=":material/rule:"):
            table(gaia.views.problem_records(others), key="run_now_problems")

    cap = None
    if st.toggle("Set a spend cap", key="run_now_cap_on", persist_state=KEEP,
                 help="Nothing is sent while the estimate is above the cap, and the run stops before the money spent "
                      "would pass it."):
        ss.setdefault("run_now_cap", float(max(0.01, round((choice.now_usd or 0.01) * 1.5, 2))))
        cap = float(st.number_input("Spend cap (USD)", min_value=0.0, step=0.5, format="%.2f", key="run_now_cap",
                                    persist_state=KEEP))
    over = gaia.cap_problem(choice.now_usd, cap, what="The estimate {usd}")
    if over:
        st.error(md(over), icon=":material/money_off:")
    label = f"Analyse {len(plan.requests)} video(s) now · about {gaia.format.usd(choice.now_usd)}"
    confirmed = limit_confirmed(plan, "run_now")
    if st.button(label, type="primary", icon=":material/bolt:", disabled=not plan.ok or bool(over) or not confirmed,
                 key="run_now_go"):
        with st.status(f"Sending {len(plan.requests)} request(s)…", expanded=True) as status:
            progress = StreamlitProgress("Answers")
            result = gaia.Folder(folder, client()).run_now(plan, concurrency=concurrency, max_cost_usd=cap,
                                  on_progress=progress)
            status.update(label=gaia.views.run_status(result), state="complete" if result.ok else "error")
        ss["run_now_result"] = result
        _forget_plans()
        st.rerun()  # plan again: what was just answered is no longer to send
    _render_last_run(folder)


def _render_last_run(folder: Path) -> None:
    result: gaia.OnlineResult | None = ss.get("run_now_result")
    if result is None:
        return
    st.divider()
    st.subheader("Last run now")
    if result.blocked:
        st.error(result.blocked, icon=":material/block:")
        return
    metrics(gaia.views.last_run_metrics(result))
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
                again = gaia.Folder(folder, client()).retry_now(request_ids=ids)
            if again:
                ss["run_now_result"] = again[0]
            _forget_plans()
            st.rerun()
        if b[1].button(f"Move the {len(ids)} into a batch (half price)", icon=":material/inventory_2:",
                       key="run_now_to_batch"):
            res = gaia.Folder(folder, client()).retry(request_ids=ids)
            _forget_plans()
            if res.blocked:
                st.error(res.blocked)
            else:
                st.success(f"Sent {res.sent} request(s) as a batch; follow it on the Progress page.",
                           icon=":material/check_circle:")
    answered = [o for o in result.outcomes if o.status == "succeeded"]
    for o in answered[:gaia.views.SHOW_ANSWERS]:
        with st.expander(md(o.rel_path) + (f" · {gaia.format.usd(o.cost_usd)}" if o.cost_usd is not None else "")):
            try:
                data = gaia.Folder(folder).answer(o.rel_path) or {}
            except gaia.SidecarError as exc:
                st.text(str(exc))
                continue
            st.json(data.get("analysis") or {}, expanded=False)
    if len(answered) > gaia.views.SHOW_ANSWERS:
        st.caption(f"{len(answered) - gaia.views.SHOW_ANSWERS} more answer(s) on the Results page.")


# --- Prompt trial -----------------------------------------------------------------------------------

TRIAL_FIELDS = ("trial_name", "trial_system", "trial_instruction", "trial_schema")


def _give_saved_text(folder: Path, saved: gaia.PromptProfile) -> None:
    """Give the editor's widgets the saved profile's text until the editor has been drawn with it.

    That is when the folder or its saved profile changes; after it the widgets keep the user's edits themselves
    (``persist_state=KEEP``), also while another page is shown. The text is given again on each run until the
    editor has been drawn: a run stopped between the two (a click elsewhere) would leave the server holding text
    the browser never received, and the browser showing empty fields.
    """
    base = (str(folder), saved.hash)
    if ss.get("trial_shown") != base:
        texts = (saved.name, saved.system, saved.instruction, json.dumps(saved.schema, indent=2, ensure_ascii=False))
        for k, text in zip(TRIAL_FIELDS, texts, strict=True):
            ss[k] = text


def _edited_profile(folder: Path) -> gaia.PromptProfile | None:
    """The prompt editor; returns the edited profile, or ``None`` while the schema is unusable."""
    settings = gaia.Folder(folder).settings()
    try:
        saved = gaia.Folder(folder).profile(settings.prompt_profile)
    except gaia.ProfileNotFound:
        saved = gaia.default_profile()
    _give_saved_text(folder, saved)
    with st.expander(f"Prompt and schema (now “{saved.name}”, {saved.hash})", expanded=True,
                     icon=":material/edit_note:"):
        name = st.text_input("Profile name", key="trial_name", persist_state=KEEP)
        system = st.text_area("System prompt", key="trial_system", height=180, persist_state=KEEP)
        instruction = st.text_area("Instruction (after the frames)", key="trial_instruction", height=80,
                                   persist_state=KEEP)
        schema_text = st.text_area("Output schema (JSON Schema)", key="trial_schema", height=260, persist_state=KEEP)
    ss["trial_shown"] = (str(folder), saved.hash)
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
    try:  # the Run now tab's plan when it has videos to send (computed already), else every video's
        plan = _plan(folder, None, False)
        if not plan.requests:
            plan = _plan(folder, None, True)
    except Exception:  # an estimate must never take the tab down
        return None
    now = gaia.estimate_now_usd(plan)
    return now / len(plan.requests) if now is not None and plan.requests else None


def render_prompt_trial(folder: Path) -> None:
    """The "Try the prompt" tab: edit the prompt or schema, try it on a few videos now, keep it."""
    st.caption("Try the prompt on a few videos now, at standard prices, and read the answers beside the frames "
               "before sending the whole folder as a batch. Edit and try again as often as you like; the trial's "
               "real usage makes the next cost estimate more accurate.")
    profile = _edited_profile(folder)
    st.info(gaia.views.TRIAL_NOTICE, icon=":material/info:")
    ss.setdefault("trial_n", gaia.limits.DEFAULT_TRIAL_VIDEOS)
    b = st.columns([1, 1, 1], vertical_alignment="bottom")
    n = int(b[0].number_input("Videos to try", min_value=1, max_value=gaia.limits.MAX_TRIAL_VIDEOS, step=1,
                              key="trial_n", persist_state=KEEP,
                              help="Spread over the folder, preferring videos without an analysis."))
    per_video = _trial_cost_per_video(folder)
    cost = f" · about {gaia.format.usd(per_video * n)}" if per_video is not None else ""
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
        _settle_trial(keep=True)  # a new trial keeps the previous one's answers (the notice said so)
        with st.status(f"Trying the prompt on {n} video(s)…", expanded=True) as status:
            undo = gaia.Folder(folder).before_trial()
            progress = StreamlitProgress("Keyframes")
            trial = gaia.Folder(folder, client()).trial(n=n, profile=profile, on_progress=progress)
            ok = trial.blocked is None and trial.run.failed == 0
            status.update(label=gaia.views.trial_status(trial), state="complete" if ok else "error")
        ss["trial_result"] = trial
        ss["trial_undo"] = undo
        _forget_plans()
    _render_trial_choice(ss.get("trial_result"))
    _render_trial(ss.get("trial_result"))


def _settle_trial(*, keep: bool) -> str | None:
    """Keep or discard the last trial's answers; the message to show, ``None`` when nothing was pending."""
    undo: gaia.TrialUndo | None = ss.pop("trial_undo", None)
    trial: gaia.TrialResult | None = ss.get("trial_result")
    if undo is None:
        return None
    answered = [v.rel_path for v in trial.videos if v.status == "succeeded"] if trial is not None else []
    if keep:
        undo.keep()
        return f"Kept the {len(answered)} answer(s) in their sidecars."
    changed = undo.discard(answered)
    ss.pop("trial_result", None)
    _forget_plans()
    return f"Discarded the trial's answers: {changed} sidecar(s) put back as they were."


def _render_trial_choice(trial: gaia.TrialResult | None) -> None:
    """After a trial that wrote answers: keep them, or discard them (the sidecars go back as they were)."""
    flash = ss.pop("trial_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if trial is None or ss.get("trial_undo") is None or not trial.run.succeeded:
        return
    with st.container(border=True):
        st.markdown(f"**The trial wrote {trial.run.succeeded} answer(s) into the videos' sidecars.** Keep them, "
                    "or discard them to put those sidecars back as they were.")
        k = st.columns(2)
        if k[0].button("Keep the trial's answers", icon=":material/done_all:", key="trial_keep_answers"):
            ss["trial_flash"] = _settle_trial(keep=True)
            st.rerun()
        if k[1].button("Discard the trial's answers", icon=":material/undo:", key="trial_discard_answers"):
            ss["trial_flash"] = _settle_trial(keep=False)
            st.rerun()


def _render_trial(trial: gaia.TrialResult | None) -> None:
    if trial is None:
        return
    st.divider()
    st.subheader(f"Answers with “{md(trial.profile.name)}” ({trial.profile.hash})")
    if trial.blocked:
        st.error("Nothing was sent.", icon=":material/block:")
        st.text(trial.blocked)
        return
    metrics(gaia.views.trial_metrics(trial))
    for text in trial.problems:
        st.text(text)
    for v in trial.videos:
        st.markdown(f"**{md(v.rel_path)}**")
        left, right = st.columns([2, 3])
        with left:
            frames = [f for f in v.frames if f.path.is_file()]
            if frames:  # as on Results: a row-first grid keeps the frames in time order on a phone
                grid = st.grid(2 if len(frames) > 1 else 1, min_column_width=120)
                for f in frames:
                    with grid.cell():
                        st.image(str(f.path), caption=gaia.views.frame_caption(f.timestamp), width="stretch")
        with right:
            if v.status == "succeeded" and v.analysis is not None:
                analysis_view(v.analysis)
            else:
                st.warning("No usable answer for this video.", icon=":material/error:")
                st.code(v.error or v.status, language=None, wrap_lines=True)
