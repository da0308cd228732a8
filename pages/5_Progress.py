"""Progress: every batch of the folder as a card, refreshed while any runs; results, failures, retry, history.

All state lives in the folder's ledger, so closing the browser loses nothing: reopening the page
(or ``gaia status`` in a terminal) picks up where things are. Statuses come from
``gaia.refresh_status``, results from ``gaia.retrieve``, failures from ``gaia.failures``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import gaia
from gaia import COUNTS_NOTE
from gaia.facts import BATCH_EXPIRY_HOURS, RESULTS_RETENTION_DAYS
from gaia.views.results import batch_costs, batch_timings, refresh_interval
from pages._ui import (
    PAGE_RESULTS,
    PAGE_SUBMIT,
    StreamlitProgress,
    client,
    fmt_bytes,
    fmt_duration,
    md,
    page_link,
    require_folder,
    using_emulator,
)

CARDS_SHOWN = 12  # finished batches beyond this go into one table
ENDPOINT_NOTE_DEMO = ("Demo mode is on: the local emulator cannot see batches sent to the real API. Turn demo "
                      "mode off in the sidebar to follow them; nothing is lost.")
ENDPOINT_NOTE_REAL = ("Batches made in demo mode live in the local emulator, and the API cannot see them; "
                      "a batch made with another key or workspace cannot be seen with this one either.")
STATUS_BADGE = {
    "pending": ("checking creation", "gray", ":material/pending:"),
    "in_progress": ("in progress", "blue", ":material/progress_activity:"),
    "canceling": ("canceling", "orange", ":material/cancel:"),
    "ended": ("ended", "green", ":material/check_circle:"),
    "abandoned": ("not created", "red", ":material/error:"),
}

ss = st.session_state
folder = require_folder()
st.title("Progress")
st.caption(f"{md(folder)}: your batches, live. Everything is recorded in the folder's ledger, so you can close the "
           "browser and come back, or follow along with `gaia status` in a terminal.")

for key in ("progress_flash", "retrieve_flash"):
    msg = ss.pop(key, None)
    if msg:
        st.success(msg, icon=":material/check_circle:")
for msg in ss.pop("progress_problems", []):
    st.warning(md(msg), icon=":material/warning:")

initial = gaia.batch_statuses(folder)
if not initial:
    st.info("No batches for this folder yet. Submit the videos first.", icon=":material/send:")
    page_link(PAGE_SUBMIT, "Go to Submit", ":material/send:")
    st.stop()

ss["progress_auto"] = ss.get("progress_auto", True)  # keep the choice across pages
st.toggle("Retrieve results automatically when a batch ends", key="progress_auto",
          help="Off: a button appears instead, and you choose when to download the results into sidecars.")
interval = refresh_interval(initial, emulator=using_emulator())
running_before = frozenset(s.local_id for s in initial if s.running)


def _when(d: datetime | None) -> str:
    if d is None:
        return "–"
    ago = (datetime.now(UTC) - d).total_seconds()
    rel = f"{fmt_duration(ago)} ago" if ago < 86_400 else f"{ago / 86_400:.0f} days ago"
    return f"{d:%Y-%m-%d %H:%M} UTC ({rel})"


def _span(seconds: float | None) -> str:
    """``5400`` → ``"1 h 30 min"``; minutes and seconds below an hour."""
    if seconds is None:
        return "–"
    h, rest = divmod(int(seconds), 3600)
    m, sec = divmod(rest, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {sec:02d} s"


def _money(x: float | None) -> str:
    if x is None:
        return "–"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:,.4f}"


def _status_key(s: gaia.BatchStatus) -> str:
    return "abandoned" if s.state == "abandoned" else "pending" if s.state == "pending" else (
        s.processing_status or "in_progress")


def _cancel(batch_id: str) -> None:
    try:
        gaia.cancel_batch(folder, client(), batch_id)
        ss["progress_flash"] = (f"Asked the API to cancel batch {batch_id}. Requests already being processed may "
                                "still finish; the rest come back as canceled (not billed) and can be retried.")
    except Exception as exc:  # the API refused or could not be reached: say so, keep the page
        from gaia import describe_error

        ss["progress_problems"] = [f"Batch {batch_id} could not be canceled: {describe_error(exc)}"]
    ss.pop("cancel_confirm", None)


def _card(s: gaia.BatchStatus, number: int) -> None:
    label, colour, icon = STATUS_BADGE.get(_status_key(s), (s.processing_status or s.state, "gray", None))
    if s.ended and s.results_state == "done":
        label, colour, icon = "results in sidecars", "green", ":material/task_alt:"
    elif s.needs_retrieval:
        label, colour, icon = "ended · results ready", "violet", ":material/download:"
    with st.container(border=True):
        head = st.columns([5, 2])
        head[0].markdown(f"**Batch {number}** · `{s.batch_id or 'not created'}`  \n"
                         f"{s.n_requests:,} requests · {fmt_bytes(s.nbytes or 0)} · run `{s.run_id}`")
        with head[1]:
            st.badge(label, color=colour, icon=icon)
        m = st.columns(5)
        m[0].metric("Created (UTC)", f"{s.created_at:%H:%M:%S}" if s.created_at else "–", help=_when(s.created_at))
        m[1].metric("Elapsed" if s.running else "Took", fmt_duration(s.elapsed_s))
        done = s.outcomes.get("succeeded", 0)
        failed = s.outcomes.get("failed", 0)
        m[2].metric("Written / failed", f"{done:,} / {failed:,}" if s.ended else "–",
                    help="GAIA's own tally: sidecars written and requests recorded as failed.")
        m[3].metric("Estimated", _money(s.estimate_usd), help="The estimate made at submission (batch prices).")
        m[4].metric("Actual", _money(s.actual_usd), help="From the usage of the results recorded so far.")
        if s.running and s.expiry_fraction is not None:
            left = s.expires_in_s
            st.progress(s.expiry_fraction, text=f"{_span(left)} left of the API's {BATCH_EXPIRY_HOURS}-hour "
                        "window (requests not processed by then expire, unbilled)")
        counts = " · ".join(f"{k} {v:,}" for k, v in s.counts.items() if v) or "none yet"
        st.caption(f"API request counts: {counts}." + (f" {COUNTS_NOTE}" if s.running else ""))
        if s.error:
            st.warning(md(s.error), icon=":material/warning:")
            if "404" in s.error or "not found" in s.error:
                st.caption(ENDPOINT_NOTE_DEMO if using_emulator() else ENDPOINT_NOTE_REAL)
        if s.retention_warning:
            st.warning(md(s.retention_warning), icon=":material/schedule:")
        if s.running and s.state == "submitted" and s.processing_status == "in_progress" and s.batch_id:
            if ss.get("cancel_confirm") == s.batch_id:
                st.warning(f"Cancel batch {number}? Requests not processed yet will not run (and are not billed); "
                           "you can retry them later.", icon=":material/help:")
                c = st.columns([2, 2, 5])
                c[0].button("Yes, cancel it", key=f"cancel_yes_{s.local_id}", type="primary",
                            on_click=_cancel, args=(s.batch_id,))
                c[1].button("Keep it running", key=f"cancel_no_{s.local_id}",
                            on_click=lambda: ss.pop("cancel_confirm", None))
            else:
                st.button("Cancel batch…", key=f"cancel_{s.local_id}", icon=":material/cancel:",
                          on_click=lambda b=s.batch_id: ss.__setitem__("cancel_confirm", b))


def _retrieve(batch_ids: list[str]) -> None:
    with st.status("Downloading results into sidecars…", expanded=True) as status:
        progress = StreamlitProgress("Results recorded")
        res = gaia.retrieve(folder, client(), batch_ids=batch_ids, on_progress=progress)
        status.update(label=f"Retrieved: {res.written} written, {res.failed} failed",
                      state="complete" if res.complete else "error")
    ss.setdefault("progress_attempted", set()).update(batch_ids)
    ss["retrieve_flash"] = (f"Results retrieved: {res.written} sidecar(s) written"
                            + (f", {res.failed} request(s) failed (listed below, with “retry failed”)"
                               if res.failed else "") + ".")
    problems = list(res.problems) + [b.error for b in res.batches if b.error]
    if res.unknown:
        problems.append(f"{res.unknown} result(s) had an id that is none of the batch's requests; they were not "
                        "written anywhere (see the ledger's events).")
    ss["progress_problems"] = problems


@st.fragment(run_every=interval)
def live() -> None:
    """Batch cards and retrieval; reruns on its own every ``interval`` seconds while a batch runs."""
    statuses = gaia.refresh_status(folder, client())
    running = [s for s in statuses if s.running]
    ended = [s for s in statuses if s.ended]
    m = st.columns(4)
    m[0].metric("Batches", len(statuses))
    m[1].metric("Running", len(running))
    m[2].metric("Requests", f"{sum(s.n_requests for s in statuses if s.state != 'abandoned'):,}")
    m[3].metric("Results retrieved", f"{sum(1 for s in ended if s.results_state == 'done')} of {len(ended)} "
                "ended")
    if running:
        st.caption(f"Checking the API every {interval:g} s while a batch runs; this stops once all have ended. "
                   f"Last check {datetime.now(UTC):%H:%M:%S} UTC.")

    ready = [s for s in statuses if s.needs_retrieval and s.batch_id]
    if ready:
        ids = [s.batch_id for s in ready if s.batch_id]
        attempted = ss.get("progress_attempted", set())
        if ss.get("progress_auto") and not set(ids) <= attempted:
            _retrieve(ids)
            st.rerun()
        n = sum(s.n_requests for s in ready)
        if st.button(f"Retrieve the results of {len(ready)} ended batch(es) ({n:,} requests)", type="primary",
                     icon=":material/download:", key="retrieve_now"):
            _retrieve(ids)
            st.rerun()

    numbered = list(enumerate(statuses, start=1))
    def needs_eyes(s: gaia.BatchStatus) -> bool:
        return s.running or s.needs_retrieval or bool(s.error and s.state != "abandoned")

    active = [(i, s) for i, s in reversed(numbered) if needs_eyes(s)]
    finished = [(i, s) for i, s in reversed(numbered) if not needs_eyes(s)]
    room = max(0, CARDS_SHOWN - len(active))
    for i, s in active + finished[:room]:
        _card(s, i)
    older = finished[room:]
    if older:
        with st.expander(f"{len(older)} older batch(es)"):
            st.dataframe(pd.DataFrame([{"batch": i, "id": s.batch_id, "status": _status_key(s),
                                        "requests": s.n_requests, "created": s.created_at,
                                        "took": fmt_duration(s.elapsed_s), "actual (USD)": s.actual_usd}
                                       for i, s in older]), hide_index=True, width="stretch")

    if frozenset(s.local_id for s in running) != running_before:
        st.rerun()  # a batch started or ended: the full page (failures, charts, timer) follows


live()

# --- Failures and retry (full reruns only) ---------------------------------------------------------------
fails = gaia.failures(folder)
st.subheader("Failures" + (f" ({len(fails)})" if fails else ""))
if not fails:
    st.caption("No failed request waits for a retry.")
else:
    st.dataframe(pd.DataFrame([{"video": f.rel_path, "what happened": f.error_kind, "reason": f.reason,
                                "what to do": f.hint, "attempt": f.attempt, "batch": f.batch_id}
                               for f in fails]), hide_index=True, width="stretch", key="failures_table")
    if st.button(f"Retry the {len(fails)} failed request(s) in a new batch", icon=":material/replay:",
                 key="retry_failed"):
        with st.status("Sending the failed requests again…", expanded=True) as status:
            progress = StreamlitProgress("Requests built")
            res = gaia.retry_failed(folder, client(), on_progress=progress)
            status.update(label="Retry sent" if res.sent else "Nothing sent", state="complete" if res.ok else "error")
        if res.blocked:
            st.error(md(res.blocked), icon=":material/block:")
        else:
            ss["progress_flash"] = f"Retry submitted: {res.sent} request(s) in {len(res.batches)} new batch(es)."
            ss["progress_problems"] = list(res.problems)
            st.rerun()

# --- Charts from the ledger's history --------------------------------------------------------------------
st.subheader("What your batches teach")
number = {s.batch_id: i for i, s in enumerate(gaia.batch_statuses(folder), start=1) if s.batch_id}
timings = batch_timings(folder)
costs = [c for c in batch_costs(folder) if c.actual_usd > 0]
left, right = st.columns(2)
with left:
    st.markdown("**Batch size against processing time**")
    if timings:
        longest = max(t.seconds for t in timings)
        unit, scale = ("seconds", 1.0) if longest < 180 else ("minutes", 60.0) if longest < 3 * 3600 else (
            "hours", 3600.0)
        fig = go.Figure(go.Scatter(
            x=[t.requests for t in timings], y=[t.seconds / scale for t in timings], mode="markers",
            marker={"size": 12, "color": "#1e88e5"}, text=[f"Batch {number.get(t.batch_id, '?')}" for t in timings],
            hovertemplate=f"%{{text}}<br>%{{x}} requests: %{{y:.1f}} {unit}<extra></extra>"))
        fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="requests in batch",
                          yaxis_title=f"{unit} from creation to end")
        fig.update_xaxes(range=[0, max(t.requests for t in timings) * 1.1 + 1], tickformat="d")
        fig.update_yaxes(range=[0, longest / scale * 1.15 or 1])
        st.plotly_chart(fig, width="stretch", key="timing_chart")
        st.caption("Every ended batch of this folder. With more points you can see whether, for your account, "
                   "bigger batches take longer.")
    else:
        st.caption("Appears once a batch has ended.")
with right:
    st.markdown("**Estimated against actual cost per batch**")
    if costs:
        names = [f"Batch {number.get(c.batch_id, '?')}" for c in costs]
        fig = go.Figure()
        fig.add_bar(name="estimate", x=names, y=[c.estimate_usd or 0 for c in costs], marker_color="#90caf9")
        fig.add_bar(name="actual", x=names, y=[c.actual_usd for c in costs], marker_color="#2e7d32")
        fig.update_layout(barmode="group", height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                          yaxis_title="USD",
                          legend={"orientation": "h", "y": 1.1})
        st.plotly_chart(fig, width="stretch", key="cost_chart")
        st.caption("Actual cost is what the results' usage says, at batch prices; later estimates learn from it.")
    else:
        st.caption("Appears once results are retrieved.")

st.caption(f"The API keeps a batch's results for {RESULTS_RETENTION_DAYS} days after it was created; GAIA warns "
           "here when un-retrieved results get close to that.")
c = st.columns(2)
with c[0]:
    page_link(PAGE_SUBMIT, "Back: submit more", ":material/arrow_back:")
with c[1]:
    page_link(PAGE_RESULTS, "Next: explore the results", ":material/arrow_forward:")
