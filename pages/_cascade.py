"""The Submit page's cascade (in the Run now tab): a cheap first pass, then only the uncertain answers again.

Both passes are ordinary runs now (``gaia.Folder.cascade``); the status box shows each pass as it starts
and what each sent. Sentences come from ``gaia.views``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import gaia
from pages._ui import StreamlitProgress, client, md

V = gaia.views


def render_cascade(folder: Path) -> None:
    """The cascade's choices and its button; runs both passes with live progress."""
    settings = gaia.Folder(folder).settings()
    with st.expander("Cascade: a cheap first pass, then only the uncertain answers", icon=":material/call_split:"):
        st.caption(V.CASCADE_HELP.format(model=V.model_name(settings.model)))
        c = st.columns(2)
        models = V.models_in_order()
        cheap = c[0].selectbox("First pass model", models, index=models.index(V.cascade_default_model(models)),
                               format_func=V.model_name, key="cascade_model")
        presets = [p.name for p in gaia.limits.FRAME_PRESETS]
        preset = c[1].selectbox("First pass frame size", presets, index=0, key="cascade_preset")
        if not st.button("Run the cascade now", icon=":material/call_split:", key="cascade_run"):
            return
        with st.status("Cascade: pass 1 of 2…", expanded=True) as status:
            progress = StreamlitProgress("Answers")

            def on_pass(n: int, videos: int) -> None:
                status.update(label=f"Cascade: pass {n} of 2…")
                st.write(V.cascade_pass_line(n, videos, cheap if n == 1 else settings.model, preset))

            res = gaia.Folder(folder, client()).cascade(cheap, preset, settings=settings, on_progress=progress,
                                   on_pass=on_pass)
            for rel, why in res.escalated.items():
                st.write(f"{md(rel)}: sent again ({md(why)})")
            status.update(label=V.cascade_summary(res), state="complete" if res.ok else "error", expanded=True)
