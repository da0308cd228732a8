"""Estimate cost: what the run will cost on each model, with and without caching and the Batch API.

The page leads with the decision (one figure, its likely range, the one lever that matters most)
and folds the rest (the four ways to send, where the money goes, the prompt, other models, what-if, budget).

Reads the selected folder's settings, keyframes (with the exclusions made on the Keyframes page)
and prompt; every number comes from ``gaia`` (pricing and the price data), tables and sentences from ``gaia.views``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pandas as pd
import streamlit as st

import gaia
from pages._charts import model_chart, money_chart, scenario_bars, what_if_chart
from pages._ui import (
    CHART_CONFIG,
    PAGE_KEYFRAMES,
    PAGE_RESULTS,
    PAGE_SUBMIT,
    StreamlitProgress,
    digest,
    md,
    model_picker,
    page_link,
    per_folder_state,
    planning_client,
    require_folder,
)

V = gaia.views
money = gaia.format.usd
ss = st.session_state


folder = require_folder()
st.title("Estimate cost")
st.caption(f"`{folder}`: what analysing these videos will cost, before anything is sent.")

cat = gaia.catalogue()
settings = gaia.Folder(folder).settings()
with st.container(border=True):
    c = st.columns([3, 2, 2])
    with c[0]:
        model = model_picker(settings.model, key="estimate_model", format_func=V.model_label,
                             help="⚠ marks a model with a price or rule that has no primary source yet. Your choice "
                                  "is saved for the folder.")
    ttl = c[1].radio("Cache TTL", gaia.limits.CACHE_TTLS, index=gaia.limits.CACHE_TTLS.index(settings.cache_ttl),
                     horizontal=True, key="estimate_ttl", help="How long the cached prompt prefix lives. 1-hour "
                     "writes cost more but survive batches that take longer than 5 minutes.")
if (model, ttl) != (settings.model, settings.cache_ttl):
    settings = replace(settings, model=model, cache_ttl=ttl)
    gaia.Folder(folder).save_settings(settings)

scan = ss.get("scan")
records = scan.records if scan is not None and getattr(scan, "folder", None) == folder else None
scan_key = digest((r.rel_path, r.size, r.mtime_ns) for r in records) if records is not None else None
inp = per_folder_state(folder, gaia.Folder(folder).inputs, model=model, cache_ttl=ttl, records=records,
                       key=(model, ttl, scan_key))
hist = inp.history
mean_output = V.mean_output(hist)
with c[2]:
    if mean_output is not None and hist is not None:
        st.metric("Output per video (history)", gaia.format.tokens(mean_output),
                  help=f"Mean of {len(hist.output_tokens)} past answers for this prompt and model. Where the "
                       "videos to send show more or fewer frames than those answers were sent, the estimate "
                       "moves with them (its notes say by how much).")
        output_default = None
    else:
        from_schema = round(gaia.output_estimate(schema=inp.profile.schema, model=model,
                                                 max_tokens=settings.max_tokens).median)
        chosen = int(st.number_input(
            "Output tokens per video", min_value=50, max_value=gaia.limits.MAX_MAX_TOKENS, step=100,
            value=int(ss.get("estimate_output_tokens", from_schema)), key="estimate_output_tokens",
            help="No answers yet for this prompt and model: predicted from the schema's shape and the model's "
                 "thinking. Change it to assume another length; the first results teach the real value."))
        output_default = None if chosen == from_schema else chosen

# Exact text counts come from the real API's free count_tokens; in demo mode (the local emulator)
# the counts are GAIA's own approximation, and labelled so.
client = planning_client()
text = gaia.Folder(folder, client).prompt_tokens(inp.profile, model)

state = json.dumps([model, ttl, output_default, str(cat.override_file), cat.as_of,
                    inp.extracted_for, inp.profile.hash, text.to_dict(),
                    digest((s.rel_path, s.set_id, s.n_frames) for s in inp.sets),
                    sorted(inp.selection.excluded_videos),
                    {k: sorted(v) for k, v in inp.selection.excluded_frames.items()},
                    hist.output_tokens if hist else None, hist.cache_groups if hist else None,
                    digest(sorted(inp.done)), settings.max_tokens], default=str)
state_key = hashlib.sha256(state.encode()).hexdigest()


# One result per state for every session (a resource, not data: data would be pickled, and every session and rerun
# would get a copy of its own; at 100,000 videos that is some 20 MB each). Read-only, like per_folder_state's.
@st.cache_resource(max_entries=8, show_spinner="Pricing the run…")
def _compute(state_key: str, _inp, _text, _output_default, _client):
    est = gaia.Folder(_inp.folder).estimate(inputs=_inp, text_tokens=_text, output_tokens=_output_default)
    rows = gaia.Folder(_inp.folder, _client).compare_models(_inp, output_tokens=_output_default)
    points = (gaia.what_if(est, _inp.sets, selection=_inp.selection, source_sizes=_inp.source_sizes)
              if est.videos else [])
    return est, rows, points


est, rows, points = _compute(state_key, inp, text, output_default, client)

if not est.videos:
    if est.done:  # everything is analysed: say so (as `gaia cost` does), and point at the answers
        st.success(V.nothing_to_estimate(est), icon=":material/task_alt:")
        page_link(PAGE_RESULTS, "See the results", ":material/table_view:")
    else:
        st.info(V.nothing_to_estimate(est), icon=":material/photo_library:")
        page_link(PAGE_KEYFRAMES, "Go to Keyframes", ":material/photo_library:")
    st.stop()

f = cat.models[model]
bc = est.scenario("batch_caching")

# --- The decision: one figure, its range, the one lever that matters most; the rest is folded below ---------
with st.container(border=True):
    st.metric("Batch API + caching", money(bc.total_usd),
              help="What GAIA sends: batches at half price, with the shared prompt cached.")
    st.markdown(f"Likely between **{money(bc.low_usd)}** and **{money(bc.high_usd)}** (answer length and cache hits "
                f"vary): {money(bc.per_video_usd)} per video, {gaia.format.pct(bc.saving_pct / 100)} less than "
                "sending the same requests one by one at standard prices.")
    st.caption("  \n".join(est.assumptions.lines()))
    for w in est.warnings:
        st.warning(w.message, icon=":material/content_cut:")
    lever = next((e for e in est.explanations if e.key == "lever"), None)
    if lever is not None:
        st.markdown(f"**{lever.title}.** {lever.text}")
st.caption(f"{est.videos} video(s), {est.frames} frame(s), {gaia.format.tokens(est.image_tokens)} image tokens on "
           f"{est.display_name}. Prices as of {est.prices_as_of}: [{est.source}]({est.source})"
           + (f". Frames were extracted for {cat.models[inp.extracted_for].display_name} and are priced with "
              f"{f.display_name}'s own resize rule." if inp.extracted_for != model else "."))
# Likely-empty clips (checked on the Keyframes page): the saving at the folder's threshold, the measured misses.
empty_text = V.empty_lever_text(folder, inp, est, text_tokens=text, output_tokens_default=output_default)
if empty_text:
    st.caption(":material/visibility_off: " + empty_text.replace("$", "\\$"))
quality = V.quality_text(gaia.Folder(folder).quality(settings))  # the Tune page's stored score of these settings
st.caption(":material/tune: " + (quality.replace("$", "\\$") if quality else
           "Quality of these settings: not measured yet (the Tune page measures it on a sample)."))
# The folder's cascade (its 'cascade' setting, saved on the Submit page): priced on request, because the first
# pass may first need keyframes of its own size.
if (pair := settings.cascade_pair) is not None:
    with st.expander(f"The folder's cascade: {V.model_name(pair[0])} at the {pair[1]} size first, then the uncertain "
                     "answers again", icon=":material/call_split:"):
        cascade_key = json.dumps([state_key, pair])
        priced = ss.get("estimate_cascade")
        if st.button("Price the cascade", icon=":material/calculate:", key="estimate_cascade_go"):
            casc = gaia.Folder(folder, client).cascade_estimate(
                *pair, inputs=inp, output_tokens=output_default,
                on_progress=StreamlitProgress("Keyframes for the first pass"),
                on_second_progress=StreamlitProgress("Keyframes for the second pass"))
            priced = ss["estimate_cascade"] = (cascade_key, casc)
        if priced is not None and priced[0] == cascade_key:
            casc = priced[1]
            if casc.spent_videos:  # after a pilot: the rest, what the pilot cost, and the whole cascade
                usd = gaia.format.usd
                whole = casc.whole
                m = st.columns(3)
                m[0].metric(f"The rest ({casc.videos} video(s))", usd(casc.total_usd),
                            help=md(f"Range {usd(casc.low_usd)} to {usd(casc.high_usd)}, run now."))
                m[1].metric(f"Already spent on it ({casc.spent_videos} video(s))", usd(casc.spent_usd),
                            help="Its runs' bills, as the money spent counts them.")
                m[2].metric("The whole cascade", usd(whole[0]), help=md(f"Range {usd(whole[1])} to {usd(whole[2])}."))
            st.markdown(casc.describe())
        else:
            st.caption("Prices both passes: every video with the cheap configuration, and the share expected to be "
                       "sent again (learnt from a pilot when there was one) with the folder's own settings.")
if cat.override_file is not None:
    changed = sorted(m.display_name for m in cat.models.values() if m.overridden)
    st.caption(f"Prices include your override file `{cat.override_file}`"
               + (f" ({', '.join(changed)})" if changed else "") + ".")
if f.uncertain:
    st.warning(f"Uncertain for {f.display_name}: {', '.join(f.uncertain)}."
               + (f" {f.cache_read_note}" if f.cache_read_note else "")
               + (f" {f.note}" if f.note and not f.confirmed else ""), icon=":material/warning:")
if f.status != "current":
    st.caption(f"{f.display_name} is {f.status}.")
excluded = [r for r, why in est.skipped if why == "excluded"]
if est.skipped:
    st.caption(f"Not in this estimate: {len(est.skipped)} video(s)"
               + (f" ({len(excluded)} excluded on the Keyframes page)" if excluded else "") + ".")
page_link(PAGE_SUBMIT, "Next: submit the batch", ":material/send:")

# --- The four scenarios --------------------------------------------------------------------------------
with st.expander("Four ways to send the same run", icon=":material/compare_arrows:"):
    m = st.columns(3)
    m[0].metric("Per video", money(bc.per_video_usd))
    m[1].metric("Saving vs standard", gaia.format.pct(bc.saving_pct / 100), money(bc.saving_usd), delta_color="off")
    m[2].metric("Prices as of", est.prices_as_of)
    table = V.scenario_table(est)
    usd_format = "$%.4f" if bc.total_usd < 100 else "$%.2f"
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="scenarios_table", column_config={
        **{c: st.column_config.NumberColumn(c, format=usd_format) for c in table[0] if c.endswith("(USD)")
           and c != "range (USD)"},
        "per video (USD)": st.column_config.NumberColumn("per video (USD)", format="$%.5f"),
        "saving (%)": st.column_config.NumberColumn("saving (%)", format="%.1f%%"),
    })
    st.caption(V.token_counts_text(est))
    st.plotly_chart(scenario_bars(est), width="stretch", key="scenario_chart", config=CHART_CONFIG)
    st.caption(V.ttl_text(est, ttl))

# --- Where the money goes and explanations -------------------------------------------------------
with st.expander("Where the money goes, and what the numbers say", icon=":material/pie_chart:"):
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(money_chart(est, "batch_caching"), width="stretch", key="money_chart", config=CHART_CONFIG)
        st.dataframe(pd.DataFrame(V.money_records(est)), hide_index=True, width="stretch", key="money_table")
    with right:
        for e in est.explanations:
            st.markdown(f"**{e.title}.** {e.text}")
        if not est.cache.caches:
            st.warning(est.cache.message, icon=":material/block:")

# --- Prompt, schema, caching ------------------------------------------------------------------------
with st.expander("The prompt every request shares", icon=":material/edit_note:"):
    st.caption("Token counts are exact (count_tokens, cached per prompt)." if text.exact else
               f"Token counts are {text.note}.")
    c = st.columns(5)
    c[0].metric("System prompt", gaia.format.tokens(text.system))
    c[1].metric("Schema", gaia.format.tokens(text.schema))
    c[2].metric("Cacheable prefix", gaia.format.tokens(text.prefix),
                help=f"{f.display_name} caches prefixes of at least {gaia.format.tokens(f.min_cacheable_tokens)} "
                "tokens" + ("" if f.min_cacheable_confirmed else " (unconfirmed)") + ".")
    c[3].metric("Instruction", gaia.format.tokens(text.instruction))
    c[4].metric("Label per frame", gaia.format.tokens(text.label))
    pct = gaia.format.pct
    share_source = (" (from your history)." if est.cache.read_share_source == "history" else
                    f" (assumed; range {pct(est.cache.read_share_low)}–{pct(est.cache.read_share_high)}).")
    st.caption(f"{est.cache.message} In a batch, {pct(est.cache.read_share_batch)} of requests are expected to read "
               f"the cache{share_source}" if est.cache.caches else est.cache.message)
    st.markdown(f"**Prompt profile “{inp.profile.name}”** (hash {inp.profile.hash})  \n**System prompt**")
    st.code(inp.profile.system, language=None, wrap_lines=True)
    st.markdown("**Output schema**")
    st.json(inp.profile.schema, expanded=False)
    st.markdown("**Instruction** (after the frames)")
    st.code(inp.profile.instruction, language=None, wrap_lines=True)

# --- Model comparison -------------------------------------------------------------------------------------
with st.expander("The same run on every model", icon=":material/leaderboard:"):
    ref = next(r for r in rows if r.model == model)
    cheapest = rows[0]
    if cheapest.model != model:
        st.caption(f"At list prices the run costs {cheapest.relative:.3f}× as much on {cheapest.display_name} "
                   f"(about 1/{1 / cheapest.relative:.0f}) as on {ref.display_name}, with the Batch API + caching.")
    mt = pd.DataFrame(V.model_records(rows, ref))
    st.dataframe(mt, hide_index=True, width="stretch", key="models_table", column_config={
        "batch + caching (USD)": st.column_config.NumberColumn("batch + caching (USD)", format=usd_format),
        "standard (USD)": st.column_config.NumberColumn("standard (USD)", format=usd_format),
        "image tokens": st.column_config.NumberColumn("image tokens", format="localized"),
    })
    st.plotly_chart(model_chart(rows, model), width="stretch", key="models_chart", config=CHART_CONFIG)

# --- What-if and budget -----------------------------------------------------------------------------
with st.expander("What if: frames per video and frame size", icon=":material/tune:"):
    cur = (round(est.frames / est.videos), bc.total_usd)
    st.plotly_chart(what_if_chart(points, "batch_caching", cur), width="stretch", key="what_if_chart",
                    config=CHART_CONFIG)
    st.caption("Frame sizes above the extracted ones assume the videos' own resolution; nothing is re-extracted "
               "until you do so on the Keyframes page.")

budget_box = st.expander("Fit a budget", icon=":material/savings:")
limit = budget_box.number_input("The richest settings under (USD)", min_value=0.0, step=1.0, format="%.2f",
                        value=float(ss.get("estimate_budget", max(1.0, round(bc.total_usd, 0)))),
                        key="estimate_budget")
res = gaia.budget(limit, est, inp.sets, selection=inp.selection, points=points)
(budget_box.success if res.best else budget_box.error)(res.message)
best_is_new = res.best and (res.best.frames, res.best.max_edge) != (settings.keyframes.count,
                                                                   settings.keyframes.max_edge)
if best_is_new and budget_box.button(f"Use {res.best.frames} frames at up to {res.best.max_edge} px", key="use_budget",
                             icon=":material/tune:"):
    tier_edge = f.image_tier.max_edge
    new = settings.with_keyframes(count=min(res.best.frames, gaia.limits.MAX_FRAME_COUNT),
                                  max_edge=None if res.best.max_edge >= tier_edge else res.best.max_edge)
    gaia.Folder(folder).save_settings(new)
    budget_box.success("Saved. Extract the frames again on the Keyframes page.")
    with budget_box:
        page_link(PAGE_KEYFRAMES, "Go to Keyframes", ":material/photo_library:")

if est.notes:
    with st.expander("Assumptions and notes"):
        for n in est.notes:
            st.markdown(f"- {n}")
