"""Tune: what cheaper settings lose on a sample of the folder's own videos, measured against a ceiling and controls.

The ladder of configurations (model, frames, frame size, schema), with the current settings, the
reference asked twice (the ceiling) and a negative control, is priced before anything is sent
(``gaia.Folder.tune(dry_run=True)``), then sent under the budget the user sets and stored
(``gaia.Folder.stored_tune``). The verdict in one sentence comes first; the chart (differences to the
ceiling with their intervals, in cost order), the table, the per-field losses and the verdict at
the user's tolerance come from ``gaia.views``; one click adopts a recommendation (``gaia.Folder.adopt``).
A cascade (a cheap first pass, the current settings for its uncertain answers) is weighed as one more
row, and a few likely-empty clips can be sent to measure the miss rate the Estimate page shows.
"""

from __future__ import annotations

import streamlit as st

import gaia
from pages._charts import loss_heatmap, pareto_chart
from pages._ui import (
    KEEP,
    PAGE_ESTIMATE,
    PAGE_KEYFRAMES,
    StreamlitProgress,
    client,
    md,
    metrics,
    page_link,
    plain,
    require_folder,
    table,
    using_emulator,
)

V = gaia.views
ss = st.session_state
# Widths (px) that fit the eight columns of the tune's table in the page's width at 1400 px; a long configuration
# label ends in "…" and shows whole on hover.
USD_COLUMNS = {
    "configuration": st.column_config.TextColumn("configuration", width=230),
    "": st.column_config.TextColumn("", width=160),
    "cost from": st.column_config.TextColumn("cost from", width=80),
    "score": st.column_config.TextColumn("score", width=60),
    "not sent": st.column_config.TextColumn("not sent", width=100),
    "$ per video": st.column_config.TextColumn(
        "$ per video", width=80,
        help="A run of the folder with these settings (Batch API + caching): measured from the tune's usage, or "
             "estimated."),
    "tune cost": st.column_config.TextColumn(
        "tune cost", width=75,
        help="What sending it on the sample costs (or cost): the tune is sent now, at standard prices, so it is not "
             "$ per video times the sample, which is at Batch API + caching prices."),
    "vs ceiling (interval)": st.column_config.TextColumn(
        "vs ceiling (interval)", width=150,
        help="The per-video score minus the ceiling's (the reference asked again), averaged, with its bootstrap "
             "interval."),
}
VERDICT_BOX = {"recommend": st.success, "keep": st.info, "undetermined": st.warning}

folder = require_folder()
st.title("Tune")
stored = gaia.Folder(folder).stored_tune(ss.get("tune_hash")) or gaia.Folder(folder).stored_tune()
tolerance = float(ss.get("tune_tolerance", gaia.limits.DEFAULT_TOLERANCE))
verdict = V.verdict_at(stored, tolerance)
if verdict is not None:  # the verdict in one sentence, first
    VERDICT_BOX[verdict](f"**{verdict.capitalize()}.** {plain(V.verdict_sentence(stored, tolerance) or '')}",
                         icon=":material/recommend:")
st.caption(f"{md(folder)}: run a ladder of cheaper settings on a few of your videos, see what each one loses "
           "against the reference asked twice (the ceiling), and adopt a cheaper one only when the measurement "
           "says it stays within your tolerance.")

for msg in (ss.pop("tune_flash", None),):
    if msg:
        st.success(msg, icon=":material/check_circle:")

# --- Before sending: the sample, the models, the tolerance; the ladder priced ----------------------------
with st.container(border=True):
    c = st.columns([1, 2, 2])
    n = int(c[0].number_input("Sample (videos)", min_value=1, max_value=200, value=gaia.limits.DEFAULT_SAMPLE, step=1,
                              key="tune_sample", persist_state=KEEP,
                              help="Spread over the folder's lengths and subfolders."))
    models = c[1].multiselect("Models", V.models_in_order(), key="tune_models", persist_state=KEEP,
                              format_func=V.model_name,
                              placeholder="The folder's model and the cheapest current one",
                              help="The strongest one chosen makes the reference configuration.")
    tolerance = c[2].slider("Tolerance (share of the control-to-ceiling distance)", min_value=0.0,
                            max_value=V.TOLERANCE_MAX, value=gaia.limits.DEFAULT_TOLERANCE, step=0.01,
                            key="tune_tolerance", persist_state=KEEP,
                            help=V.tolerance_sentence(stored, gaia.limits.DEFAULT_TOLERANCE))
c = st.columns([2, 1, 2])
cascade_default = V.cascade_default(folder)
cascade_models = ["", *V.models_in_order()]
cheap_default, _, preset_default = cascade_default.rpartition(":")
cheap = c[0].selectbox("Also weigh a cascade, first pass with", cascade_models, key="tune_cascade_model",
                       persist_state=KEEP,
                       index=cascade_models.index(cheap_default) if cheap_default in cascade_models else 0,
                       format_func=lambda m: V.model_name(m) if m else "no cascade",
                       help="A cascade sends every video with this model first, then only the uncertain answers "
                            "again with the current settings (as Run now's cascade does). The tune makes it of two "
                            "rows it sends anyway, so it adds at most the first pass's row.")
presets = list(V.CASCADE_PRESETS)
preset = c[1].selectbox("at the frame size", presets, key="tune_cascade_preset", persist_state=KEEP, disabled=not cheap,
                        index=presets.index(preset_default) if preset_default in presets else 0)
empty_n = int(c[2].number_input("Likely-empty clips to send (measures misses)", min_value=0, max_value=200, value=0,
                                step=1, key="tune_empty_sample", persist_state=KEEP,
                                help="After the configurations, send this many of the clips the local check finds "
                                     "likely empty, with the current settings, within what is left of the budget, "
                                     "and count how many had a subject. Their answers are those clips' results."))
cascades = [f"{cheap}:{preset}"] if cheap else []
use_labels = st.toggle("Score against the labels people verified, where the sample has them", key="tune_labels",
                       persist_state=KEEP,
                       help="Fields confirmed or corrected in the Results page's review queue. Without any, the "
                            "richest configuration's answers are the reference.")
plan_key = (str(folder), n, tuple(models), tuple(cascades))
plan = ss["tune_plan"][1] if ss.get("tune_plan") and ss["tune_plan"][0] == plan_key else None

if plan is None:
    st.caption("Nothing is sent to price the ladder: GAIA extracts each configuration's frames for the sample "
               "(local work) and prices them.")
    if st.button("Price the ladder", icon=":material/calculate:", key="tune_price", type="primary"):
        pricing = StreamlitProgress("Configurations priced (frames extracted for the sample)")
        planned = gaia.Folder(folder).tune(n=n, models=models or None, cascades=cascades, tolerance=tolerance,
                                           dry_run=True, on_pricing=pricing)
        pricing.empty()
        if planned.blocked:
            st.error(plain(planned.blocked), icon=":material/block:")
        else:
            ss["tune_plan"] = (plan_key, planned.to_dict())
            st.rerun()
else:
    st.subheader("The ladder, priced before sending")
    budget = float(st.number_input("Budget: spend at most (USD)", min_value=0.0, step=0.05, format="%.2f",
                                   value=V.default_budget(plan.get("planned_usd")), key="tune_budget",
                                   persist_state=KEEP,
                                   help="Configurations whose estimate would pass what is left are not sent."))
    metrics(V.tune_plan_metrics(plan, budget))
    table(V.config_records(plan, tolerance), key="tune_plan_table", column_config=USD_COLUMNS,
          column_order=["configuration", "", "$ per video", "tune cost"])
    st.caption(V.PRICES_NOTE)
    for problem in (plan.get("sample") or {}).get("problems") or []:
        st.warning(plain(problem), icon=":material/warning:")
    go = st.columns([2, 1])
    if go[0].button(f"Run the tune (spend at most {gaia.format.usd(budget)})", icon=":material/play_arrow:",
                    key="tune_run", type="primary"):
        with st.status("Running the tune…", expanded=True) as status:
            result = gaia.Folder(folder, client()).tune(
                n=n, models=models or None, cascades=cascades, empty_sample=empty_n, budget_usd=budget,
                tolerance=tolerance, labels=V.verified_labels(folder) if use_labels else None,
                simulated=True if using_emulator() else None, on_pricing=StreamlitProgress("Configurations priced"),
                on_progress=StreamlitProgress("Configurations sent"))
            status.update(label=f"Tune done: {result.ran} configuration(s) sent, "
                                f"{gaia.format.usd(result.spent_usd)} spent",
                          state="error" if result.blocked else "complete")
        if result.blocked:
            st.error(plain(result.blocked), icon=":material/block:")
        else:
            ss["tune_hash"] = result.profile.hash
            ss.pop("tune_plan", None)
            st.rerun()
    if go[1].button("Change the sample or models", icon=":material/edit:", key="tune_replan"):
        ss.pop("tune_plan", None)
        st.rerun()

# --- After the tune: chart, table, losses, verdict, adopt ----------------------------------------------
if stored is None:
    if plan is None:  # once the ladder is priced, the next step is the run button above, not this
        st.info("No tune for this folder's prompt yet. Price the ladder, then run it.", icon=":material/tune:")
    st.stop()

st.subheader("Quality against cost")
st.caption(plain(V.spend_text(stored)))
st.caption(plain(V.tolerance_sentence(stored, tolerance)))
rec = V.recommended_at(stored, tolerance)
points = V.tune_points(stored, tolerance)
st.plotly_chart(pareto_chart(points, V.tolerance_floor(stored, tolerance)), width="stretch", key="tune_chart")
table(V.config_records(stored, tolerance), key="tune_table", column_config=USD_COLUMNS,
      column_order=["configuration", "", "vs ceiling (interval)", "$ per video", "cost from", "score", "tune cost",
                    "not sent"])
st.caption(V.PRICES_NOTE)
for line in V.cascade_texts(stored):
    st.caption(":material/call_split: " + plain(line))
if misses := V.misses_text(stored):
    st.caption(":material/visibility_off: " + plain(misses))

if rec is not None:
    if rec.get("id") == (gaia.Folder(folder).quality() or {}).get("id"):
        st.caption("The folder already runs the recommended settings.")
    elif st.button(f"Adopt {rec.get('label')} for this folder's run", icon=":material/done_all:", key="tune_adopt",
                   type="primary"):
        try:
            saved = gaia.Folder(folder).adopt(rec)
        except ValueError as exc:  # settings that cannot be saved, said in words
            st.error(plain(str(exc)), icon=":material/block:")
        else:
            ss["tune_flash"] = (f"Adopted: the folder now runs {V.model_name(saved.model)} with "
                                f"{saved.keyframes.count} frames per video"
                                + (f", after a first pass with {rec['cascade']}" if rec.get("cascade") else "")
                                + ". Extract the frames again on the Keyframes page; the Estimate and Submit pages "
                                "use these settings.")
            st.rerun()

labels, fields, grid = V.loss_matrix(stored)
if fields:
    st.subheader("What each configuration loses, field by field")
    st.plotly_chart(loss_heatmap(labels, fields, grid), width="stretch", key="tune_losses_chart")
    ids = [c.get("id") for c in V.configs_of(stored) if c.get("score") is not None]
    names = {c.get("id"): c.get("label") for c in V.configs_of(stored)}
    pick = st.selectbox("Configuration", ids, index=ids.index(rec["id"]) if rec and rec.get("id") in ids else 0,
                        format_func=lambda i: names.get(i) or i, key="tune_losses_pick", persist_state=KEEP)
    table(V.field_loss_records(stored, pick), key="tune_losses_table")
if stored.get("texts"):
    with st.expander("Free text, side by side (not scored)"):
        table(V.text_records(stored), key="tune_texts")

c = st.columns(2)
with c[0]:
    page_link(PAGE_KEYFRAMES, "Keyframes: extract the adopted frames", ":material/photo_library:")
with c[1]:
    page_link(PAGE_ESTIMATE, "Estimate: the cost of the current settings", ":material/calculate:")
