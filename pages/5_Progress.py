"""Progress: every batch of the folder as a card, refreshed while any runs; results, failures, retry, history.

All state lives in the folder's ledger, so closing the browser loses nothing: reopening the page
(or ``gaia status`` in a terminal) picks up where things are. Statuses come from
``gaia.Folder.status``, results from ``gaia.Folder.retrieve``, failures from ``gaia.Folder.failures``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go
import streamlit as st

import gaia
from pages._ui import (
    CHART_CONFIG,
    PAGE_RESULTS,
    PAGE_SUBMIT,
    StreamlitProgress,
    client,
    md,
    metrics,
    page_link,
    require_folder,
    retry_failed_asking,
    table,
    using_emulator,
)

V = gaia.views

ss = st.session_state
folder = require_folder()
st.title("Progress")
st.caption(f"{md(folder)}: your batches, live. Everything is recorded in the folder's ledger, so you can close the "
           "browser and come back, or follow along with `gaia status` in a terminal.")

# Messages from the last action; forgotten only once a run reaches the end of the page, so a rerun the
# live view asks for (a batch just ended) cannot swallow them.
FLASH_KEYS = ("progress_flash", "retrieve_flash", "progress_problems")
for key in FLASH_KEYS[:2]:
    msg = ss.get(key)
    if msg:
        st.success(msg, icon=":material/check_circle:")
for msg in ss.get("progress_problems", []):
    st.warning(md(msg), icon=":material/warning:")

parked = V.parked_view(folder)
if parked.summary:  # paid answers whose sidecars could not be written: kept, never lost
    with st.container(border=True):
        st.warning(md(parked.summary), icon=":material/inventory_2:")
        table(parked.records)
        if st.button(f"Write the {parked.count} kept answer(s) into their sidecars now", key="deliver_parked",
                     icon=":material/download:"):
            res = gaia.Folder(folder, client()).retrieve()
            ss["retrieve_flash"], ss["progress_problems"] = V.retrieve_report(res)
            st.rerun()

initial = gaia.Folder(folder).status(refresh=False)
if not initial:
    st.info("No batches for this folder yet. Submit the videos first.", icon=":material/send:")
    page_link(PAGE_SUBMIT, "Go to Submit", ":material/send:")
    st.stop()

ss["progress_auto"] = ss.get("progress_auto", True)  # keep the choice across pages
st.toggle("Retrieve results automatically when a batch ends", key="progress_auto",
          help="Off: a button appears instead, and you choose when to download the results into sidecars.")
interval = V.refresh_interval(initial, emulator=using_emulator())
running_before = frozenset(s.local_id for s in initial if s.running)


def _cancel(batch_id: str) -> None:
    try:
        gaia.Folder(folder, client()).cancel(batch_id)
        ss["progress_flash"] = (f"Asked the API to cancel batch {batch_id}. Requests already being processed may "
                                "still finish; the rest come back as canceled (not billed) and can be retried.")
    except Exception as exc:  # the API refused or could not be reached: say so, keep the page
        ss["progress_problems"] = [f"Batch {batch_id} could not be canceled: {gaia.describe_error(exc)}"]
    ss.pop("cancel_confirm", None)


def _card(s: gaia.BatchStatus, number: int) -> None:
    b = V.badge(s)
    with st.container(border=True):
        head = st.columns([5, 2])
        head[0].markdown(V.card_heading(s, number))
        with head[1]:
            st.badge(b.label, color=b.colour, icon=b.icon)
        metrics(V.card_metrics(s))
        if s.running and s.expiry_fraction is not None:
            st.progress(s.expiry_fraction, text=V.expiry_text(s))
        st.caption(V.counts_text(s))
        if s.error:
            st.warning(md(s.error), icon=":material/warning:")
            note = V.endpoint_note(s, emulator=using_emulator())
            if note:
                st.caption(note)
        if s.retention_warning:
            st.warning(md(s.retention_warning), icon=":material/schedule:")
        if V.can_cancel(s):
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
        res = gaia.Folder(folder, client()).retrieve(batch_ids=batch_ids or None, on_progress=progress)
        status.update(label=f"Retrieved: {res.written} written, {res.failed} failed",
                      state="complete" if res.complete else "error")
    ss.setdefault("progress_attempted", set()).update(batch_ids)
    ss["retrieve_flash"], ss["progress_problems"] = V.retrieve_report(res)


def _cascades(statuses: list[gaia.BatchStatus]) -> None:
    """Each batch cascade's two passes; a cascade left between them (the browser closed, a process stopped) is
    continued by a retrieval, automatically when results are retrieved automatically."""
    cards = V.cascade_cards(folder)
    for c in cards:
        with st.container(border=True):
            st.markdown(f"**{md(c.heading)}**")
            st.progress(c.first_fraction, text=md(c.first_text))
            st.progress(c.second_fraction, text=md(c.second_text))
    between = [c for c in cards if c.between_passes]
    if between and not any(s.running or s.needs_retrieval for s in statuses):
        if ss.get("progress_auto") and not ss.get("cascade_continued"):
            ss["cascade_continued"] = True
            _retrieve([])
            st.rerun()
        if st.button("Send the cascade's second pass now", icon=":material/call_split:", key="cascade_continue"):
            _retrieve([])
            st.rerun()


@st.fragment(run_every=interval)
def live() -> None:
    """Batch cards and retrieval; reruns on its own every ``interval`` seconds while a batch runs."""
    statuses = gaia.Folder(folder, client()).status()
    running = [s for s in statuses if s.running]
    metrics([*V.batch_metrics(statuses), V.spent_metric(folder)])
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

    _cascades(statuses)
    cards, older = V.arrange(statuses)
    for i, s in cards:
        _card(s, i)
    if older:
        with st.expander(f"{len(older)} older batch(es)"):
            table(V.older_records(older))

    if frozenset(s.local_id for s in running) != running_before:
        st.rerun()  # a batch started or ended: the full page (failures, charts, timer) follows


live()

# --- Failures and retry (full reruns only) ---------------------------------------------------------------
fails = gaia.Folder(folder).failures()
st.subheader("Failures" + (f" ({len(fails)})" if fails else ""))
if not fails:
    st.caption("No failed request waits for a retry.")
else:
    table(V.failure_records(fails), key="failures_table")
    res = retry_failed_asking(folder, len(fails), key="retry_failed")  # states its amount, asks once
    if res is not None:
        if res.blocked:
            st.error(md(res.blocked), icon=":material/block:")
        else:
            ss["progress_flash"] = V.retry_sent_text(res)
            ss["progress_problems"] = list(res.problems)
            st.rerun()

# --- Charts from the ledger's history --------------------------------------------------------------------
st.subheader("What your batches teach")
number = {s.batch_id: i for i, s in enumerate(gaia.Folder(folder).status(refresh=False), start=1) if s.batch_id}
timing = V.timing_chart(V.batch_timings(folder), number)
cost = V.cost_chart(V.batch_costs(folder), number)
left, right = st.columns(2)
with left:
    st.markdown("**Batch size against processing time**")
    if timing is not None:
        fig = go.Figure(go.Scatter(
            x=timing.requests, y=timing.values, mode="markers", marker={"size": 12, "color": "#1e88e5"},
            text=timing.labels, hovertemplate=f"%{{text}}<br>%{{x}} requests: %{{y:.1f}} {timing.unit}<extra></extra>"))
        fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="requests in batch",
                          yaxis_title=f"{timing.unit} from creation to end")
        fig.update_xaxes(range=[0, timing.x_max], tickformat="d")
        fig.update_yaxes(range=[0, timing.y_max])
        st.plotly_chart(fig, width="stretch", key="timing_chart", config=CHART_CONFIG)
        st.caption("Every ended batch of this folder. With more points you can see whether, for your account, "
                   "bigger batches take longer.")
    else:
        st.caption("Appears once a batch has ended.")
with right:
    st.markdown("**Estimated against actual cost per batch**")
    if cost is not None:
        fig = go.Figure()
        fig.add_bar(name="estimate", x=cost.names, y=cost.estimate_usd, marker_color="#90caf9")
        fig.add_bar(name="actual", x=cost.names, y=cost.actual_usd, marker_color="#2e7d32")
        fig.update_layout(barmode="group", height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                          yaxis_title="USD", yaxis_tickprefix="$", legend={"orientation": "h", "y": -0.15})
        st.plotly_chart(fig, width="stretch", key="cost_chart", config=CHART_CONFIG)
        st.caption("Actual cost is what the results' usage says, at batch prices; later estimates learn from it.")
    else:
        st.caption("Appears once results are retrieved.")

st.caption(f"The API keeps a batch's results for {gaia.limits.RESULTS_RETENTION_DAYS} days after it was created; "
           "GAIA warns here when un-retrieved results get close to that.")
c = st.columns(2)
with c[0]:
    page_link(PAGE_SUBMIT, "Back: submit more", ":material/arrow_back:")
with c[1]:
    page_link(PAGE_RESULTS, "Next: explore the results", ":material/arrow_forward:")

for key in FLASH_KEYS:
    ss.pop(key, None)
