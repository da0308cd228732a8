"""The Submit page's cascade (in the Run now tab): a cheap first pass, then only the uncertain answers again.

The choice can be saved as the folder's ``cascade`` setting, which ``gaia run``, ``gaia submit``,
``gaia estimate`` and the Batch tab then use (the Batch tab sends the first pass, and retrieving its
results on the Progress page sends the second). Run now, both passes are ordinary runs
(``gaia.Folder.cascade``); the status box shows each pass as it starts and what each sent, and the tab
is planned again afterwards, so its words say what the cascade left to send. Its failed requests can be
sent again now (``gaia.Folder.retry_now``): a first-pass failure goes as the cascade's first pass and its
uncertain answer to the second pass right after. Sentences come from ``gaia.views``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

import gaia
from pages._ui import StreamlitProgress, client, forget_folder_state, md

V = gaia.views
ss = st.session_state


def _save_default(folder: Path, on: bool, cheap: str, preset: str) -> None:
    f = gaia.Folder(folder)
    f.save_settings(replace(f.settings(), cascade=f"{cheap}:{preset}" if on else ""))
    forget_folder_state()


def _render_failed(folder: Path, last: Any) -> None:
    """The last cascade's failed requests, what becomes of them when sent again, and the button that does."""
    failed = V.cascade_failed_text(last)
    ids = [o.request_id for r in (last.first, *last.seconds) for o in r.failures if o.request_id is not None]
    if failed is None or not ids or ss.get("cascade_retried_ids") == ids:
        return
    st.warning(md(failed), icon=":material/error:")
    if st.button(f"Send the {len(ids)} again now", icon=":material/replay:", key="cascade_retry"):
        with st.spinner("Sending again…"):
            again = gaia.Folder(folder, client()).retry_now(request_ids=ids)
        ss["cascade_retried"] = [f"{V.cascade_retry_line(r) or 'Sent again now.'} {V.run_status(r)}"
                                 + (f": {r.blocked}" if r.blocked else ".") for r in again]
        ss["cascade_retried_ids"] = ids
        forget_folder_state()
        st.rerun()


def render_cascade(folder: Path) -> None:
    """The cascade's choices, its default setting and its button; runs both passes with live progress."""
    settings = gaia.Folder(folder).settings()
    saved = settings.cascade_pair
    last = ss.get("cascade_result")
    with st.expander("Cascade: a cheap first pass, then only the uncertain answers", icon=":material/call_split:",
                     expanded=last is not None or saved is not None):
        if last is not None:  # the last cascade run here, kept across the rerun that plans the tab again
            st.success(md(V.cascade_summary(last)), icon=":material/call_split:")
            for line in ss.get("cascade_passes", []):
                st.write(md(line))
            for rel, why in last.escalated.items():
                st.write(f"{md(rel)}: sent again ({md(why)})")
            _render_failed(folder, last)
        for line in ss.get("cascade_retried", []):
            st.info(md(line), icon=":material/replay:")
        st.caption(V.CASCADE_HELP.format(model=V.model_name(settings.model)))
        c = st.columns(2)
        models = V.models_in_order()
        default = saved[0] if saved and saved[0] in models else V.cascade_default_model(models)
        cheap = c[0].selectbox("First pass model", models, index=models.index(default),
                               format_func=V.model_name, key="cascade_model")
        presets = [p.name for p in gaia.limits.FRAME_PRESETS]
        preset = c[1].selectbox("First pass frame size", presets,
                                index=presets.index(saved[1]) if saved and saved[1] in presets else 0,
                                key="cascade_preset")
        on = st.toggle("Use this cascade by default (the Batch tab, gaia run, gaia submit and gaia estimate)",
                       value=saved is not None, key="cascade_default",
                       help="Saved in the folder's settings. In the Batch tab the first pass goes as a batch; "
                            "retrieving its results (Progress page) sends the uncertain answers as a second batch.")
        if on != (saved is not None) or (on and saved != (cheap, preset)):
            _save_default(folder, on, cheap, preset)
            st.rerun()
        if not st.button("Run the cascade now", icon=":material/call_split:", key="cascade_run"):
            return
        with st.status("Cascade: pass 1 of 2…", expanded=True) as status:
            progress = StreamlitProgress("Answers")

            passes: list[str] = []

            def on_pass(n: int, videos: int, model: str) -> None:
                status.update(label=f"Cascade: pass {n} of 2…")
                passes.append(V.cascade_pass_line(n, videos, model, preset))
                st.write(passes[-1])

            res = gaia.Folder(folder, client()).cascade(cheap, preset, settings=settings, on_progress=progress,
                                                        on_pass=on_pass)
            status.update(label=V.cascade_summary(res), state="complete" if res.ok else "error", expanded=True)
        ss["cascade_result"], ss["cascade_passes"], ss["cascade_retried"] = res, passes, []
        ss.pop("cascade_retried_ids", None)
        forget_folder_state()  # plan the tab again: what the cascade answered is no longer to send
        st.rerun()
