"""Run now and the prompt trial: UI pieces rendered inside the Submit page's tabs.

Minimal placeholder while ``gaia.online`` is being written; the full versions follow.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def render_run_now(folder: Path) -> None:
    """The "Run now" tab: send the folder's requests through the Messages API at standard prices."""
    st.info("“Run now” is being finished: soon a few videos will go through the Messages API at standard "
            "prices, with answers in seconds.", icon=":material/bolt:")


def render_prompt_trial(folder: Path) -> None:
    """The "Try the prompt" tab: send a small sample now and show the answers beside the keyframes."""
    st.info("The prompt trial is being finished: soon you can try the prompt on a few videos before batching.",
            icon=":material/science:")
