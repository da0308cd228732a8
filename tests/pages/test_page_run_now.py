"""The Run now and Try the prompt tabs of the Submit page (``pages/_run_now.py``), driven by AppTest
against the emulator, which the pages reach through the environment as if it were the real API."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

import gaia
from gaia.emulator import HttpFault
from gaia.pricing.bill import history
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.sidecar import read_sidecar, write_sidecar

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "pages" / "4_Submit.py")






def _submit(folder: Path) -> AppTest:
    at = AppTest.from_file(SUBMIT, default_timeout=60)
    at.session_state["folder"] = str(folder)
    return at.run()


def _component(fn_name: str, folder: Path) -> AppTest:
    """The component alone, through a tiny script that calls it with the seeded folder."""
    def script(folder_text: str, fn_name: str) -> None:
        from pathlib import Path

        import pages._run_now as ui

        getattr(ui, fn_name)(Path(folder_text))

    return AppTest.from_function(script, args=(str(folder), fn_name), default_timeout=60).run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


LAYOUT = {"a.mp4": "testsrc", "b.mp4": "cuts", "sub/c [x].mkv": "mkv"}


def test_run_now_tab_states_the_choice_and_analyses_three_videos(api_env, ready_folder):
    folder = ready_folder(LAYOUT)
    at = _submit(folder)
    assert not at.exception, at.exception
    m = _metrics(at)
    assert m["Now (standard prices)"].startswith("$") and m["As a batch"].startswith("$")
    now = float(m["Now (standard prices)"].lstrip("$").replace(",", ""))
    batch = float(m["As a batch"].lstrip("$").replace(",", ""))
    assert now > batch > 0
    captions = " ".join(c.value for c in at.caption)
    assert "usually under an hour, at most 24 h" in captions
    # Issue 26 item 9: no claim the figures beside it contradict, and no "about 0 s".
    assert "(twice the batch price)" not in captions and "about 0 s" not in captions
    go = at.button(key="run_now_go")
    assert "3 video(s)" in go.label and not go.disabled
    go.click().run()
    assert not at.exception, at.exception
    m = _metrics(at)
    assert m["Answered"] == "3" and m["Failed"] == "0"
    for rel in LAYOUT:
        data = read_sidecar(folder / rel)
        assert data["run"]["mode"] == "standard" and data["analysis"]
    assert api_env.calls["messages.create"] == 3
    assert "messages.create" in api_env.calls and "batches.create" not in api_env.calls
    # The answers are shown as JSON, never as markup; nothing is left to send now.
    assert len(at.json) >= 3
    assert any("Nothing to send now" in i.value for i in at.info)


def test_run_now_refuses_a_model_the_key_cannot_use_when_sending(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    api_env.update_config(http_faults=[HttpFault(route="models.retrieve", status=404, count=None)])  # not offered
    at = _submit(folder)
    assert not at.exception, at.exception
    assert "models.retrieve" not in api_env.calls  # opening the tab asks nothing of the Models endpoint
    at.button(key="run_now_go").click().run()
    assert not at.exception, at.exception
    assert any("does not offer" in e.value and "nothing was sent" in e.value for e in at.error), at.error
    assert "messages.create" not in api_env.calls and read_sidecar(folder / "a.mp4") is None
    with gaia.Folder(folder).ledger() as ledger:
        assert ledger.runs() == [] and ledger.requests() == []  # nothing half-written
    api_env.update_config(http_faults=[])
    at.button(key="run_now_go").click().run()
    assert _metrics(at)["Answered"] == "1"


def test_run_now_spend_cap_blocks_and_a_failure_can_move_into_a_batch(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    at = _component("render_run_now", folder)
    at.toggle(key="run_now_cap_on").set_value(True).run()
    at.number_input(key="run_now_cap").set_value(0.0).run()
    assert at.button(key="run_now_go").disabled
    assert any("above your cap" in e.value for e in at.error)
    at.toggle(key="run_now_cap_on").set_value(False).run()
    api_env.update_config(http_faults=[{"route": "messages.create", "status": 400, "count": 1}])
    at.number_input(key="run_now_concurrency").set_value(1).run()
    at.button(key="run_now_go").click().run()
    assert not at.exception, at.exception
    assert _metrics(at)["Failed"] == "1" and _metrics(at)["Answered"] == "1"
    table = at.dataframe[-1].value  # the failures table (AppTest does not expose dataframe keys)
    assert list(table["kind"]) == ["errored:invalid_request_error"]
    at.button(key="run_now_to_batch").click().run()
    assert not at.exception, at.exception
    assert any("as a batch" in s.value for s in at.success)
    assert api_env.calls.get("batches.create") == 1
    assert failures(folder) == []


def test_prompt_trial_shows_answers_beside_frames_and_keeps_the_prompt(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "c.mkv": "mkv"})
    at = _component("render_prompt_trial", folder)
    assert not at.exception, at.exception
    # A broken schema is explained and cannot be tried.
    at.text_area(key="trial_schema").set_value("{not json").run()
    assert any("not valid JSON" in e.value for e in at.error)
    assert at.button(key="trial_go").disabled
    schema = gaia.default_profile().schema
    schema["properties"]["summary"]["description"] = "One sentence <b>only</b>."
    at.text_area(key="trial_schema").set_value(json.dumps(schema)).run()
    at.text_input(key="trial_name").set_value("short summary").run()
    at.number_input(key="trial_n").set_value(2).run()
    assert "Try on 2 video(s) now · about $" in at.button(key="trial_go").label
    at.button(key="trial_go").click().run()
    assert not at.exception, at.exception
    assert _metrics(at)["Answered"] == "2"
    assert not at.json  # answers field by field (not raw JSON), frames beside each answer
    assert sum(1 for m in at.markdown if m.value == "**Summary**") == 2
    assert any("written to the videos' `.gaia.json` sidecars" in i.value for i in at.info)  # said before trying
    assert len(at.image) == 4  # two keyframes each, one image per frame (in a grid, like Results)
    edited = gaia.PromptProfile("short summary", gaia.default_profile().system, schema,
                                gaia.default_profile().instruction)
    assert len(history(folder, edited.hash, gaia.Folder(folder).settings().model).output_tokens) == 2
    assert api_env.calls["messages.create"] == 2
    # Keep it: the batch now uses the edited profile, and skips the two videos the trial answered.
    at.button(key="trial_keep").click().run()
    assert not at.exception, at.exception
    assert gaia.Folder(folder).settings().prompt_profile == edited.hash
    plan = plan_submission(folder)
    assert plan.profile.hash == edited.hash
    assert len(plan.requests) == 1 and len(plan.skipped_by("analysed")) == 2


def _away_and_back(folder: Path) -> AppTest:
    """The prompt trial inside a script that can leave it (``away``), as leaving the Submit page does."""
    def script(folder_text: str) -> None:
        from pathlib import Path

        import streamlit as st

        import pages._run_now as ui

        if not st.session_state.get("away"):
            ui.render_prompt_trial(Path(folder_text))

    return AppTest.from_function(script, args=(str(folder),), default_timeout=60).run()


def test_prompt_editor_keeps_its_text_after_leaving_and_coming_back(api_env, ready_folder):
    """Issue 15 item 1: Submit → Results → Submit left the editor blank with "The schema is not valid JSON"."""
    folder = ready_folder({"a.mp4": "testsrc"})
    at = _away_and_back(folder)
    at.text_input(key="trial_name").set_value("my edit").run()
    at.session_state["away"] = True
    at.run()
    assert not at.text_area  # the editor is gone, and Streamlit drops its widgets' values
    at.session_state["away"] = False
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.text_input(key="trial_name").value == "my edit"
    assert json.loads(at.text_area(key="trial_schema").value) == gaia.default_profile().schema
    assert at.text_area(key="trial_system").value == gaia.default_profile().system


def test_prompt_trial_answers_can_be_discarded(api_env, ready_folder):
    """Issue 15 item 7: a trial's answers are a choice; discarding puts the sidecars back as they were."""
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    at = _component("render_prompt_trial", folder)
    at.number_input(key="trial_n").set_value(2).run()
    at.button(key="trial_go").click().run()
    assert not at.exception, at.exception
    assert len(list(folder.glob("*.gaia.json"))) == 2
    assert len(plan_submission(folder).requests) == 0  # the batch would skip both
    at.button(key="trial_discard_answers").click().run()
    assert not at.exception, at.exception
    assert any("2 sidecar(s) put back" in s.value for s in at.success)
    assert list(folder.glob("*.gaia.json")) == []
    assert len(plan_submission(folder).requests) == 2
    assert "trial_discard_answers" not in [b.key for b in at.button]


def test_prompt_trial_answers_can_be_kept(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    write_sidecar(folder / "a.mp4", {"analysis": {"summary": "mine"}})
    at = _component("render_prompt_trial", folder)
    at.number_input(key="trial_n").set_value(2).run()
    at.button(key="trial_go").click().run()
    at.button(key="trial_keep_answers").click().run()
    assert not at.exception, at.exception
    assert any("Kept the 2 answer(s)" in s.value for s in at.success)
    assert "trial_keep_answers" not in [b.key for b in at.button]
    assert read_sidecar(folder / "a.mp4")["analysis"]["summary"] != "mine"


def test_run_now_tab_shares_the_batch_plans_requests(api_env, ready_folder):
    from pages._ui import _folder_latest

    folder = ready_folder(LAYOUT)
    at = _submit(folder)
    assert not at.exception, at.exception
    latest = {name: value for (name, where), (_token, value) in _folder_latest().items() if Path(where) == folder}
    batch, now = latest["Folder.plan"], latest["Folder.plan_now"]
    assert len(now.requests) == 3 and now.requests is batch.requests and now.estimate is batch.estimate
    fresh = gaia.Folder(folder).plan_now()  # what the tab showed before it shared them
    assert now.requests == fresh.requests and now.problems == fresh.problems and now.estimate == fresh.estimate
