"""Keyframes: choose how frames are taken, extract them with live progress, review and exclude them."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

import gaia
from pages._ui import (
    PAGE_ESTIMATE,
    PAGE_SELECT,
    StreamlitProgress,
    md,
    metrics,
    model_picker,
    page_link,
    require_folder,
)

V = gaia.views

ss = st.session_state
folder = require_folder()
st.title("Keyframes")
st.caption(f"{md(folder)}: the frames below are exactly what will be sent to Claude, one request per video.")

settings = gaia.Folder(folder).settings()
cat = gaia.catalogue()
if settings.model not in cat.models:
    settings = replace(settings, model=gaia.limits.DEFAULT_MODEL)

scan = ss.get("scan")
if scan is None or scan.folder != folder:
    scan = gaia.Folder(folder).scan()
    ss["scan"] = scan
records = scan.records

with st.container(border=True):
    c = st.columns([2, 2, 1.2, 2.4, 1.4])
    with c[0]:
        model = model_picker(settings.model, key="keyframes_model",
                             help="The model decides the largest frame it sees without downscaling.")
    strategy = c[1].selectbox("Strategy", gaia.limits.STRATEGIES,
                              index=gaia.limits.STRATEGIES.index(settings.keyframes.strategy),
                              help="\n\n".join(f"**{k}**: {v}" for k, v in V.STRATEGY_HELP.items()))
    count = c[2].number_input("Frames per video", 1, gaia.limits.MAX_FRAME_COUNT, settings.keyframes.count)
    tier = cat.models[model].image_tier
    rows, _ = V.preset_rows(model, frames=int(count), current_edge=settings.keyframes.max_edge, records=records)
    names, at = V.preset_choice(settings.keyframes.max_edge)
    preset = c[3].selectbox("Frame size", names, index=at, key="frame_preset",
                            format_func=lambda n: V.preset_label(n, rows),
                            help="Presets named by what they cost and show; custom keeps any longest edge, up to "
                                 "the model's full size. The table below compares them.")
    quality = c[4].slider("JPEG quality", gaia.limits.MIN_JPEG_QUALITY, gaia.limits.MAX_JPEG_QUALITY,
                          settings.keyframes.jpeg_quality, step=5)
    custom_edge = settings.keyframes.max_edge
    if preset == "custom":
        edge_options = V.edge_choices(tier, custom_edge)
        custom_edge = st.selectbox("Max edge (px)", edge_options, index=edge_options.index(custom_edge or 0),
                                   format_func=lambda e: V.edge_label(e, tier)) or None
    max_edge = V.edge_for(preset, custom_edge)
    rows, rows_caption = V.preset_rows(model, frames=int(count), current_edge=max_edge, records=records)
    with st.expander("What each frame size costs and shows", icon=":material/aspect_ratio:"):
        st.dataframe(V.preset_records(rows), hide_index=True, width="stretch", key="preset_table", column_config={
            "images per video (USD)": st.column_config.NumberColumn(format="$%.5f")})
        st.caption(rows_caption)
    st.caption(f"{cat.models[model].display_name} sees frames up to {tier.max_edge} px and "
               f"{gaia.format.tokens(tier.max_tokens)} image tokens each without downscaling; GAIA never sends "
               "pixels the model would throw away.")

new_settings = replace(settings, model=model).with_keyframes(
    strategy=strategy, count=int(count), max_edge=max_edge, jpeg_quality=int(quality))
if new_settings != gaia.Folder(folder).settings():
    gaia.Folder(folder).save_settings(new_settings)
settings = new_settings
kf = settings.keyframes

sets = gaia.Folder(folder).keyframes(extract=False, settings=kf, model=model, records=records)
missing = V.not_extracted(sets)

done_message = ss.pop("keyframes_done", None)
if done_message:
    st.success(done_message, icon=":material/check_circle:")
if missing:
    st.info(f"{len(missing)} of {len(scan.usable)} usable video(s) need their keyframes extracted with these "
            "settings.", icon=":material/photo_library:")
    if st.button(f"Extract keyframes for {len(missing)} video(s)", type="primary", icon=":material/play_arrow:"):
        with st.status("Extracting keyframes…", expanded=True) as status:
            # N counts the videos to extract (not unusable files, nor those already done); the bar moves per video.
            todo = {m.rel_path for m in missing}
            progress = StreamlitProgress("Videos extracted")
            sets = gaia.Folder(folder).keyframes(settings=kf, model=model, on_progress=progress,
                                                 records=[r for r in records if r.rel_path in todo])
            label, failed = V.extraction_label(sets, {m.rel_path for m in missing})
            # Frames a damaged or truncated file decodes as flat grey start unticked (not sent).
            damaged = V.damaged_frames(sets)
            for rel, t in damaged:
                gaia.Folder(folder).set_frame_excluded(rel, t, True)
            status.update(label=label, state="error" if failed else "complete")
        ss["keyframes_done"] = label + "." + (f" {V.damaged_text(len(damaged))}" if damaged else "")
        st.rerun()

selection = gaia.Folder(folder).selection()
ready = [k for k in sets if k.n_frames]
metrics(V.run_metrics(sets, selection))

problems = V.with_problems(sets)
if problems:
    with st.expander(f"{len(problems)} video(s) without frames, and why", icon=":material/warning:"):
        shown = problems[:V.PROBLEMS_SHOWN]  # a list, not 100,000 lines: the rest are named on the Select page
        st.markdown("\n".join(f"- **{md(k.rel_path)}**: {md(k.problem)}" for k in shown))
        if len(problems) > len(shown):
            st.caption(f"… and {len(problems) - len(shown):,} more (the Select folder page lists every file).")

if not ready:
    if not scan.usable:
        st.info("This folder has no video GAIA can use, so there are no keyframes to extract. Choose another "
                "folder, or fix the files listed on the Select folder page.", icon=":material/videocam_off:")
        page_link(PAGE_SELECT, "Back: select a folder", ":material/arrow_back:")
    st.stop()


def _empty_sheet() -> None:
    """Likely-empty clips: the threshold and its saving, the contact sheet, one click to leave them out."""
    scores = gaia.Folder(folder).empty_scores(records, measure_missing=False)
    unchecked = [k for k in ready if k.rel_path not in scores]
    with st.container(border=True, key="empty_sheet"):
        st.subheader("Likely empty clips", anchor=False)
        st.caption("A local check (no model, nothing sent) looks for something moving into the scene, as opposed to "
                   "light, noise, shake or swaying leaves. It decodes every frame, small, so it takes several times "
                   "as long as extracting keyframes; results are kept. Nothing is left out until you say so.")
        if unchecked and st.button(f"Check {len(unchecked)} clip(s) for emptiness", icon=":material/search:"):
            with st.status("Checking for empty clips…", expanded=True) as status:
                gaia.Folder(folder).empty_scores(records, on_progress=StreamlitProgress("Clips checked"))
                status.update(label="Checked", state="complete")
            st.rerun()
        current = settings.empty_threshold
        threshold = st.select_slider("Threshold (empty score at or above it counts as likely empty)",
                                     options=V.threshold_steps(current), value=current, key="empty_threshold",
                                     help="1 means no local change at all. Higher is more conservative: fewer clips "
                                          "flagged, fewer misses.")
        if threshold != current:
            gaia.Folder(folder).save_settings(replace(settings, empty_threshold=float(threshold)))
        cards = V.empty_cards(ready, scores, selection, threshold)
        todo = V.to_exclude(cards)
        saving = gaia.EmptySaving(0, 0.0, 0.0)  # nothing left to leave out: nothing to price
        if todo:
            saving = gaia.Folder(folder).empty_saving(todo, inputs=gaia.Folder(folder).inputs(model=model,
                                                                                             records=records))
        st.markdown(V.saving_text(saving, threshold, gaia.Folder(folder).measured_misses()))
        if not cards:
            st.caption("No likely-empty clip at this threshold." if scores else "No clip checked yet.")
            return
        c = st.columns([2, 2, 3])
        if todo and c[0].button(f"Exclude these {len(todo)} clip(s)", type="primary", icon=":material/block:",
                                key="exclude_empty"):
            V.exclude_videos(folder, todo)
            st.rerun()
        back = [x.rel_path for x in cards if x.excluded]
        if back and c[1].button(f"Put {len(back)} back in the run", icon=":material/undo:", key="include_empty"):
            V.exclude_videos(folder, back, excluded=False)
            st.rerun()
        grid = st.grid(6, min_column_width=120)
        for card in cards[:V.EMPTY_CARDS_SHOWN]:  # the most likely empty first; never a sheet of 100,000
            with grid.cell():
                if card.image is not None:
                    st.image(str(card.image), width="stretch")
                st.caption(md(card.caption))
        if len(cards) > V.EMPTY_CARDS_SHOWN:
            st.caption(f"The first {V.EMPTY_CARDS_SHOWN} of {len(cards):,} clips are shown; the buttons act on all.")


_empty_sheet()


def _toggle_video(rel: str, key: str) -> None:
    gaia.Folder(folder).set_video_excluded(rel, not ss[key])


def _toggle_frame(rel: str, t: float, key: str) -> None:
    gaia.Folder(folder).set_frame_excluded(rel, t, not ss[key])


paging = V.paging(len(ready))
page = 1
if paging.pages > 1:
    page = st.number_input(f"Page (of {paging.pages}, {paging.per_page} videos each)", 1, paging.pages, 1)
shown = paging.slice(ready, page)
on_page = {k.rel_path for k in shown}
records_shown = {r.rel_path: r for r in records if r.rel_path in on_page}
for k in shown:
    in_run = not selection.video_excluded(k.rel_path)
    with st.container(border=True):
        head = st.columns([5, 1])
        rec = records_shown.get(k.rel_path)
        head[0].markdown(f"**{md(k.rel_path)}**  \n{V.video_heading(k, rec)}")
        vkey = f"video_{k.set_id}"
        ss[vkey] = in_run
        head[1].toggle("In the run", key=vkey, on_change=_toggle_video, args=(k.rel_path, vkey))
        # A responsive grid: six frames a row on a wide screen, two on a phone.
        grid = st.grid(6, min_column_width=120)
        for i, f in enumerate(k.frames):
            with grid.cell():
                excluded = selection.frame_excluded(k.rel_path, f.timestamp)
                st.image(str(f.path), width="stretch")
                st.caption(V.keyframe_caption(f, excluded=excluded))
                fkey = f"frame_{k.set_id}_{i}"
                ss[fkey] = not excluded
                st.checkbox("Send", key=fkey, on_change=_toggle_frame, args=(k.rel_path, f.timestamp, fkey),
                            disabled=not in_run)

page_link(PAGE_ESTIMATE, "Next: estimate what the run will cost", ":material/arrow_forward:")
