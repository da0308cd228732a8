"""Browsing never loads the Anthropic SDK (with pydantic and httpx, some 60 MB a server keeps for good): planning,
pricing and every page visit answer from the folder, and only sending asks the API (its Models endpoint
included, ``gaia.runs.guard.model_problem``). Each check runs in a fresh process, where ``sys.modules`` tells."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gaia

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("1_Select_folder.py", "2_Keyframes.py", "3_Estimate_cost.py", "4_Submit.py", "5_Progress.py",
         "6_Results.py", "7_Tune.py")

VISIT = r"""
import sys
from streamlit.testing.v1 import AppTest

folder, pages = sys.argv[1], sys.argv[2:]
state = {"folder": folder}
for page in pages:
    at = AppTest.from_file(page, default_timeout=240)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, (page, [e.message for e in at.exception])
    if "scan" in at.session_state:
        state["scan"] = at.session_state["scan"]
    if "anthropic" in sys.modules:
        sys.exit(f"the Anthropic SDK was loaded by {page}")
print("no SDK")
"""

PLAN = r"""
import sys
import gaia

folder, base_url = sys.argv[1], sys.argv[2]
plan = gaia.Folder(folder, gaia.make_client(api_key="test-key", base_url=base_url)).plan()
assert plan.ok and len(plan.requests) == 2, plan.problems
assert "anthropic" not in sys.modules, "planning loaded the Anthropic SDK"
print("no SDK")
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}  # demo mode: no key
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_visiting_every_page_in_demo_mode_loads_no_sdk(ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    done = _run(VISIT, str(folder), *(str(ROOT / "pages" / p) for p in PAGES))
    assert done.returncode == 0 and "no SDK" in done.stdout, done.stderr[-3000:]


def test_planning_with_a_client_asks_nothing_of_the_models_endpoint_and_loads_no_sdk(ready_folder, emulator,
                                                                                      anthropic_client):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    gaia.Folder(folder, anthropic_client).plan()  # the prompt's exact count, made once and kept for the folder
    calls = dict(emulator.calls)
    done = _run(PLAN, str(folder), emulator.base_url)
    assert done.returncode == 0 and "no SDK" in done.stdout, done.stderr[-3000:]
    assert "models.retrieve" not in emulator.calls and dict(emulator.calls) == calls  # the plan asked nothing
