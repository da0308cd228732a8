"""The Results page's Review and Export tabs: the review queue with its form, and every export format.

UI layer only. The queue and the form come from ``gaia.views.review_queue`` / ``gaia.views.review_form``, saving
goes through ``gaia.Folder.save_review`` (human-verified fields, never overwritten by a later run); the
exports are ``gaia.views.rows_csv``, ``gaia.views.iter_analyses_jsonl``, ``gaia.Folder.export_xmp`` and the Camtrap
DP package (``gaia.views.camtrap_zip`` / ``camtrap_package``). Text from answers is shown as text.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import gaia
from pages._ui import (
    KEEP,
    MISSING,
    md,
    per_folder_state,
    per_folder_state_known,
    plain,
    sidecars_changed,
    sidecars_generation,
    table,
)

V = gaia.views
ss = st.session_state


def review_queue(folder: Path, records: Any) -> list[gaia.views.ReviewItem]:
    """The folder's review queue, built once per state of the folder and its sidecars and shared by every
    session (``per_folder_state``); read-only."""
    return per_folder_state(folder, gaia.views.review_queue, folder, records=records,
                            key=("sidecars", sidecars_generation(folder)))


def known_review_queue(folder: Path) -> list[gaia.views.ReviewItem] | None:
    """The review queue if some session built it for the folder's current state, else ``None`` (not built here)."""
    return per_folder_state_known(folder, gaia.views.review_queue, key=("sidecars", sidecars_generation(folder)))


def _column(c: Any) -> Any:
    """A table field's column as the editor shows it: numbers, whole numbers, choices, yes/no or text."""
    if c.kind == "enum":
        return st.column_config.SelectboxColumn(c.name, options=list(c.options), help=c.description or None)
    if c.kind in ("integer", "number"):
        return st.column_config.NumberColumn(c.name, step=1 if c.kind == "integer" else 0.1, min_value=0,
                                             format="%d" if c.kind == "integer" else "%.1f",
                                             help=c.description or None)
    if c.kind == "boolean":
        return st.column_config.CheckboxColumn(c.name, help=c.description or None)
    return st.column_config.TextColumn(c.name, help=c.description or None)


def _widget(f: gaia.views.FieldView, key: str) -> Any:
    """One field's widget, fitted to its type in the schema; returns what it holds."""
    label = f"{f.name} ✓" if f.verified else f.name
    helptext = " ".join(x for x in (f.description, f"The model answered: {_said(f.machine_value)}.") if x)
    start = V.form_input(f)
    if f.kind == "enum":
        options = list(f.options) + ([start] if start and start not in f.options else [])
        return st.selectbox(label, options, index=options.index(start) if start in options else None, key=key,
                            help=helptext)
    if f.kind == "boolean":
        return st.selectbox(label, [True, False], index=None if start is None else [True, False].index(bool(start)),
                            format_func=lambda b: "yes" if b else "no", key=key, help=helptext)
    if f.kind in ("integer", "number"):
        return st.number_input(label, value=start, step=1 if f.kind == "integer" else 0.1, key=key, help=helptext)
    if f.kind == "list":  # the schema's choices, the values it holds, and free entry
        return st.multiselect(label, V.list_choices(f), default=start, key=key, help=helptext,
                              accept_new_options=True, placeholder="Choose or type, then Enter")
    if f.kind == "table":  # subjects, behaviours, moments: one row each, times in seconds, in time order
        st.markdown(f"**{plain(label)}**", help=helptext)
        frame = pd.DataFrame(start, columns=[c.name for c in f.columns])
        return st.data_editor(frame, key=key, num_rows="dynamic", hide_index=True, width="stretch",
                              column_config={c.name: _column(c) for c in f.columns}, placeholder=MISSING)
    if f.kind == "json":
        return st.text_area(label, value=start, key=key, help=helptext, height=120)
    return st.text_input(label, value=start, key=key, help=helptext)


def _said(value: Any) -> str:
    """The model's value in words for a help text (never Python's repr)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return f"{len(value)} item(s)" if value and isinstance(value[0], dict) else (", ".join(map(str, value))
                                                                                   or "none")
    return str(value)


def _frames(folder: Path, rel: str) -> None:
    """The frames the model saw, with their times, beside the form."""
    d = gaia.views.video_detail(folder, rel)
    if not d.frames:
        st.caption(d.frames_note or "No frames were sent for this video yet.")
        return
    st.caption(f"The {len(d.frames)} frame(s) the model saw, at their time in the video:")
    grid = st.grid(2 if len(d.frames) > 1 else 1, min_column_width=110)
    for fr in d.frames:
        with grid.cell():
            st.image(str(fr.path), caption=V.frame_caption(fr.timestamp), width="stretch")


def review_form(folder: Path, rel: str, reasons: tuple[gaia.views.Reason, ...]) -> None:
    """One video's fields, prefilled from its answer, beside its frames; saving marks them verified by a person."""
    form = gaia.views.review_form(folder, rel)
    for r in reasons:
        st.caption(f"• {plain(r.text)}")
    if form.verified_at:
        st.caption(f"A person verified {sum(f.verified for f in form.fields)} field(s) on {form.verified_at[:16]} "
                   "(marked ✓).")
    keys = {f.name: f"review::{rel}::{f.name}" for f in form.fields}
    left, right = st.columns([2, 3])
    with left:
        _frames(folder, rel)
    with right, st.form(key="review_form", border=True):
        raw: dict[str, Any] = {}
        simple = [f for f in form.fields if f.kind != "table"]
        cols = st.columns(2)
        for i, f in enumerate(simple):
            with cols[i % 2]:
                raw[f.name] = _widget(f, keys[f.name])
        for f in form.fields:
            if f.kind == "table":
                raw[f.name] = _widget(f, keys[f.name])
        note = st.text_input("Note (optional)", value=form.note or "", key=f"review::{rel}::__note")
        saved = st.form_submit_button("Save as verified", icon=":material/verified:", type="primary")
    st.caption("Saving marks every field above as checked by a person: later runs never overwrite them, and every "
               "export carries them.")
    if not saved:
        return
    values, problems = V.form_values(form, raw)
    if not problems:
        try:
            gaia.Folder(folder).save_review(rel, values, note=note or None)
        except gaia.LabelError as exc:
            problems = [str(exc)]
    if problems:
        st.error("Not saved. " + " ".join(plain(p) for p in problems), icon=":material/error:")
        return
    for k in keys.values():  # the widgets start again from what is saved now (an editor keeps edits, not values)
        ss.pop(k, None)
    ss["review_flash"] = f"Saved {len(values)} field(s) of {rel} as verified."  # shown here, where you saved
    sidecars_changed(folder)  # every session reads the sidecars again
    st.rerun()


def review_tab(folder: Path, queue: list[gaia.views.ReviewItem]) -> None:
    """The queue (most uncertain first, with reasons) and the form for the video picked."""
    flash = ss.pop("review_flash", None)
    if flash:
        st.success(plain(flash), icon=":material/verified:")
    if not queue:
        st.caption("Nothing waits for a person: no answer is unknown, low in confidence, disputed or retried.")
        return
    st.caption("The videos a person should look at first, most uncertain first. Pick one, correct what is wrong and "
               "save it as verified.")
    table(V.queue_records(queue), key="review_queue_table", column_order=["#", "video", "why", "verified", "details"],
          column_config={"details": st.column_config.TextColumn("details", width="large")})
    items = {it.rel_path: it for it in queue}
    rel = st.selectbox("Video to review", list(items), key="review_video", persist_state=KEEP,
                       format_func=V.display_name)
    if rel:
        review_form(folder, rel, items[rel].reasons)


def _xmp(folder: Path) -> None:
    settings = gaia.Folder(folder).settings()
    st.markdown("**XMP sidecars** for digiKam, darktable, Lightroom and exiftool: the summary, tags and species, "
                "beside each video (what a person or another tool wrote there is kept).")
    c = st.columns([2, 2])
    naming = c[0].radio("Name them", V.XMP_NAMINGS, index=V.XMP_NAMINGS.index(settings.xmp_naming),
                        format_func=lambda n: V.XMP_NAMING_LABELS.get(n, n), key="export_xmp_naming")
    on_retrieve = c[1].toggle("Also write them whenever results are retrieved", value=settings.xmp_on_retrieve,
                              key="export_xmp_on_retrieve")
    root = c[1].text_input("Keyword root (optional)", value=settings.xmp_root, key="export_xmp_root",
                           help="Empty: Species|Red fox, as camtrapR and digiKam read it. "
                                "GAIA: GAIA|Species|Red fox. Levels are separated by |; / is not allowed.")
    if "/" in root:
        st.warning("A keyword root cannot hold '/' (digiKam's own separator); separate levels with '|'.")
        root = settings.xmp_root
    if (naming, on_retrieve, root) != (settings.xmp_naming, settings.xmp_on_retrieve, settings.xmp_root):
        gaia.Folder(folder).save_settings(replace(settings, xmp_naming=naming, xmp_on_retrieve=on_retrieve,
                                                  xmp_root=root))
    if st.button("Write the XMP sidecars now", icon=":material/sell:", key="export_xmp"):
        ss["export_xmp_result"] = (str(folder), gaia.Folder(folder).export_xmp(naming=naming))
    written = ss.get("export_xmp_result")  # shown under the button, where it was asked for
    if written is not None and written[0] == str(folder):
        result = written[1]
        (st.warning if result.problems else st.success)(V.xmp_text(result), icon=":material/sell:")
        for rel, why in result.problems[:20]:
            st.caption(f"{md(rel)}: {plain(why)}")


def _camtrap(folder: Path, records: Any) -> None:
    st.markdown("**Camtrap DP** for camtrapR, Agouti, Wildlife Insights and GBIF: deployments, media and "
                "observations. GAIA cannot know where the camera stood: give its place.")
    c = st.columns(3)
    lat = c[0].number_input("Latitude", min_value=-90.0, max_value=90.0, value=None, format="%.5f",
                            key="export_lat", placeholder="e.g. 51.05")
    lon = c[1].number_input("Longitude", min_value=-180.0, max_value=180.0, value=None, format="%.5f",
                            key="export_lon", placeholder="e.g. 3.72")
    place = c[2].text_input("Place name (optional)", key="export_place")
    ready = lat is not None and lon is not None
    if not ready:
        st.caption("Enter the latitude and longitude to export: Camtrap DP requires them.")
    where = gaia.Folder(folder).workdir / "exports" / "camtrap-dp"
    deployment = gaia.CamtrapDeployment(lat, lon, place or None)
    out = st.text_input("Folder to write the package to (the second button)", value=str(where),
                        key="export_camtrap_dir")
    b = st.columns(2)
    if b[0].button("Build the package (zip)", icon=":material/folder_zip:", key="export_camtrap_zip",
                   disabled=not ready):
        ss["export_camtrap"] = V.camtrap_zip(folder, deployment, records=records)
    if b[1].button("Write the package to that folder", icon=":material/save:", key="export_camtrap_write",
                   disabled=not ready):
        written = V.camtrap_package(folder, Path(out).expanduser(), deployment, records=records)
        (st.success if written.validated and not written.problems else st.warning)(
            f"{md(out)}: {plain(V.camtrap_text(written))}", icon=":material/save:")
    built = ss.get("export_camtrap")
    if built is not None:
        (st.success if built.validated and not built.problems else st.warning)(plain(V.camtrap_text(built)),
                                                                               icon=":material/folder_zip:")
        for p in built.problems[:10]:
            st.caption(plain(p))
        st.download_button("Download the Camtrap DP zip", built.zip_bytes, file_name=V.CAMTRAP_ZIP_NAME,
                           mime="application/zip", icon=":material/download:", key="export_camtrap_download",
                           on_click="ignore")


def exports_tab(folder: Path, rows: list[gaia.views.ResultRow], records: Any) -> None:
    """CSV and JSONL of every video, XMP sidecars, and a Camtrap DP package; all carry the verified values."""
    st.caption("Every export carries the values a person verified (over the model's).")
    e = st.columns(2)
    e[0].download_button("All videos (CSV)", lambda: V.rows_csv(rows).encode("utf-8", "surrogateescape"),
                         file_name="gaia-results.csv", mime="text/csv",
                         icon=":material/table:", key="export_all_csv", on_click="ignore")
    e[1].download_button("All analyses (JSONL)", lambda: V.analyses_jsonl(folder, rows),
                         file_name="gaia-analyses.jsonl", mime="application/jsonl", icon=":material/data_object:",
                         key="export_all_jsonl", on_click="ignore")
    st.divider()
    _xmp(folder)
    st.divider()
    _camtrap(folder, records)
