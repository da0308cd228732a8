"""The Submit, Progress and Results pages, each run from its own file (AppTest) against the emulator.

The pages' ``client()`` uses the real API when a key is configured; the tests configure the
emulator as that API through the environment (``ANTHROPIC_API_KEY`` + ``ANTHROPIC_BASE_URL``, as
the SDK reads them), so every call goes through the real SDK to the test's own emulator.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.emulator import HttpFault
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve, watch
from gaia.runs.status import batch_statuses, refresh_status
from gaia.sidecar import read_sidecar, write_sidecar
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "pages" / "4_Submit.py")
PROGRESS = str(ROOT / "pages" / "5_Progress.py")
RESULTS = str(ROOT / "pages" / "6_Results.py")






_app = page_app


def _all_text(at: AppTest) -> str:
    """Every markdown, caption, text, success, info, warning and error body on the page."""
    parts = []
    for kind in ("markdown", "caption", "text", "success", "info", "warning", "error", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            if kind == "metric":
                parts.append(str(el.label))
    return "\n".join(parts)


def _table(at: AppTest, column: str):
    """The first dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _wait_ended(folder: Path, timeout: float = 20.0) -> None:
    client = gaia.make_client()
    deadline = time.monotonic() + timeout
    while any(s.running for s in refresh_status(folder, client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- Submit ------------------------------------------------------------------------------------------


def test_submit_page_shows_the_plan_and_creates_the_batches(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "bad.mp4": "text"})
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos to send"] == "2" and metrics["Batches"] == "1" and metrics["Skipped"] == "1"
    assert [t.label for t in at.tabs][:3] == ["Batch · 50% off", "Run now", "Try the prompt"]
    assert any("unusable" in e.label for e in at.expander)
    assert _table(at, "why it ends here")["requests"].tolist() == [2]
    go = at.button(key="submit_go")
    assert go.label.startswith("Submit 2 video(s) in 1 batch(es) · about $") and not go.disabled
    go.click().run()
    assert not at.exception, at.exception
    statuses = batch_statuses(folder)
    assert len(statuses) == 1 and statuses[0].state == "submitted" and statuses[0].n_requests == 2
    assert any("Submitted 2 request(s) in 1 batch(es)" in s.value for s in at.success)
    assert at.session_state["progress_flash"].startswith("Submitted 2 request(s)")

    # Submitted videos are now in flight: the next plan skips them and nothing can be sent twice.
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos to send"] == "0"
    assert at.button(key="submit_go").disabled
    assert any("awaiting results" in e.label for e in at.expander)


def test_submit_page_spend_cap_blocks(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    at = _app(SUBMIT, folder).run()
    assert not at.button(key="submit_go").disabled
    at.toggle(key="submit_cap_on").set_value(True).run()
    at.number_input(key="submit_cap").set_value(0.0).run()
    assert not at.exception, at.exception
    assert at.button(key="submit_go").disabled
    # Dollar signs are escaped, or Markdown would typeset "$x … $y" as a formula.
    assert any(r"above your cap of \$0\.00" in e.value for e in at.error), [e.value for e in at.error]
    at.number_input(key="submit_cap").set_value(100.0).run()
    assert not at.button(key="submit_go").disabled and not at.error
    assert batch_statuses(folder) == []


def test_submit_page_refuses_a_model_the_key_cannot_use_when_sending(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    api_env.update_config(http_faults=[HttpFault(route="models.retrieve", status=404, count=None)])  # not offered
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    assert "models.retrieve" not in api_env.calls  # opening the page asks nothing of the Models endpoint
    assert any("asked when you submit" in s.value for s in at.success)
    at.button(key="submit_go").click().run()
    assert not at.exception, at.exception
    assert any("does not offer" in e.value and "nothing was sent" in e.value for e in at.error), at.error
    assert "batches.create" not in api_env.calls and batch_statuses(folder) == []
    with gaia.Folder(folder).ledger() as ledger:
        assert ledger.runs() == [] and ledger.requests() == []  # nothing half-written
    api_env.update_config(http_faults=[])  # another model, or the key's access granted: it goes
    at.button(key="submit_go").click().run()
    assert [s.n_requests for s in batch_statuses(folder)] == [2]


def test_submit_page_skips_analysed_videos_unless_forced(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    client = gaia.make_client()
    submit(folder, plan_submission(folder), client)
    _wait_ended(folder)
    assert retrieve(folder, client).written == 2
    at = _app(SUBMIT, folder).run()
    assert {m.label: m.value for m in at.metric}["Videos to send"] == "0"
    assert any("already analysed" in e.label for e in at.expander)
    at.toggle(key="submit_force").set_value(True).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Videos to send"] == "2"


# --- Progress ----------------------------------------------------------------------------------------


def _submit(folder: Path) -> gaia.SubmitResult:
    res = submit(folder, plan_submission(folder), gaia.make_client())
    assert res.ok and res.sent, res
    return res


def test_progress_page_without_batches_points_to_submit(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    at = _app(PROGRESS, folder).run()
    assert not at.exception, at.exception
    assert "No batches for this folder yet" in at.info[0].value


def test_progress_page_running_then_ended_and_retrieved_automatically(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    api_env.update_config(batch_delay_s=3600)
    _submit(folder)
    at = _app(PROGRESS, folder).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Running"] == "1" and metrics["Requests"] == "2"
    text = _all_text(at)
    assert "in progress" in text and "reports request counts only once the whole batch has ended" in text
    assert "left of the API's 24-hour window" in at.progress[0].proto.text
    assert next(b for b in at.button if b.key.startswith("cancel_")).label == "Cancel batch…"
    assert all(read_sidecar(folder / n) is None for n in ("a.mp4", "b.mp4"))

    api_env.advance_clock(3700)  # the batch ends at the emulator; the next refresh sees it and retrieves
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Running"] == "0" and metrics["Results retrieved"] == "1 of 1 ended"
    assert any("Results retrieved: 2 sidecar(s) written" in s.value for s in at.success)
    assert all(read_sidecar(folder / n)["analysis"] for n in ("a.mp4", "b.mp4"))
    assert "results in sidecars" in _all_text(at)
    assert len(at.get("plotly_chart")) == 2  # both history charts are drawn


def test_progress_page_retrieves_on_one_click_when_automatic_is_off(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    _submit(folder)
    _wait_ended(folder)
    at = _app(PROGRESS, folder)
    at.session_state["progress_auto"] = False
    at.run()
    assert not at.exception, at.exception
    assert read_sidecar(folder / "a.mp4") is None  # nothing downloaded until asked
    button = at.button(key="retrieve_now")
    assert button.label == "Retrieve the results of 1 ended batch(es) (1 requests)"
    button.click().run()
    assert not at.exception, at.exception
    assert read_sidecar(folder / "a.mp4")["analysis"]
    assert not [b for b in at.button if b.key == "retrieve_now"]


def test_progress_page_lists_failures_and_retries_exactly_those(api_env, ready_folder):
    folder = ready_folder({f"v{i}.mp4": "testsrc" for i in range(6)})
    api_env.update_config(errored_rate=0.5, seed=3)
    _submit(folder)
    _wait_ended(folder)
    at = _app(PROGRESS, folder).run()
    assert not at.exception, at.exception
    failed = {f.rel_path: f for f in failures(folder)}
    assert 0 < len(failed) < 6
    table = _table(at, "what happened")
    assert sorted(table["video"]) == sorted(failed)
    assert all("The API returned an error" in r for r in table["reason"])

    api_env.update_config(errored_rate=0.0)
    at.button(key="retry_failed").click().run()  # paid: it states the amount and asks once, sending nothing yet
    assert not at.exception, at.exception
    assert len(batch_statuses(folder)) == 1
    offer = gaia.views.retry_offer(folder)
    assert offer.requests == len(failed) and offer.usd is not None and offer.usd > 0
    assert any(gaia.format.usd(offer.usd) in w.value and f"{len(failed)} request(s)" in w.value for w in at.warning)
    yes = at.button(key="retry_failed_yes")
    assert gaia.format.usd(offer.usd) in yes.label
    yes.click().run()
    assert not at.exception, at.exception
    statuses = batch_statuses(folder)
    assert len(statuses) == 2
    retry_batch = statuses[-1].batch_id
    with gaia.Folder(folder).ledger() as ledger:
        sent = ledger.requests(batch_id=retry_batch)
    assert sorted(r.rel_path for r in sent) == sorted(failed)
    assert {r.retry_of for r in sent} == {f.request_id for f in failed.values()}
    assert any(f"Retry submitted: {len(failed)} request(s) in 1 new batch(es)" in s.value for s in at.success)


def test_progress_page_cancel_asks_first(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    api_env.update_config(batch_delay_s=3600)
    res = _submit(folder)
    at = _app(PROGRESS, folder).run()
    cancel = next(b for b in at.button if b.key.startswith("cancel_"))
    cancel.click().run()
    assert not at.exception, at.exception
    assert any("Cancel batch 1?" in w.value for w in at.warning)
    assert batch_statuses(folder)[0].processing_status == "in_progress"  # nothing canceled yet
    next(b for b in at.button if b.key.startswith("cancel_yes_")).click().run()
    assert not at.exception, at.exception
    status = batch_statuses(folder)[0]
    assert status.batch_id == res.batches[0].batch_id
    assert status.processing_status in ("canceling", "ended")


# --- Results -----------------------------------------------------------------------------------------


HOSTILE = "<script>alert('x')</script> <img src=x onerror=alert(1)> **bold** [link](http://evil.example)"


@pytest.fixture
def analysed_folder(api_env, ready_folder):
    """Three analysed videos (one with a hostile summary and known tags), one failed, one never sent."""
    folder = ready_folder({"cat.mp4": "testsrc", "dog.mp4": "cuts", "fox.mp4": "testsrc", "bad.mp4": "text"})
    client = gaia.make_client()
    submit(folder, plan_submission(folder), client)
    _wait_ended(folder)
    assert retrieve(folder, client).written == 3
    for name, species, tags in (("cat.mp4", "domestic cat", ["cat", "sofa", "indoor"]),
                                ("dog.mp4", "dog", ["dog", "garden"]),
                                ("fox.mp4", "red fox", ["fox", "night", "garden"])):
        data = read_sidecar(folder / name)
        data["analysis"]["subjects"] = [{"species": species, "scientific_name": "", "count": 1, "description": ""}]
        data["analysis"]["tags"] = tags
        if name == "cat.mp4":
            data["analysis"]["summary"] = HOSTILE
        write_sidecar(folder / name, {"analysis": data["analysis"]})
    return folder


def _results(folder: Path, section: str = "videos") -> AppTest:
    at = _app(RESULTS, folder)
    at.session_state["results_section"] = section  # the Results page shows one section at a time
    at.run()
    assert not at.exception, at.exception
    return at


def _shown(at: AppTest) -> list[str]:
    return sorted(_table(at, "summary")["video"])


def test_results_page_table_filters_and_search(analysed_folder):
    at = _results(analysed_folder)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos"] == "4" and metrics["Analysed"] == "3"
    table = _table(at, "summary")
    assert sorted(table["video"]) == ["bad.mp4", "cat.mp4", "dog.mp4", "fox.mp4"]
    row = table.set_index("video").loc["fox.mp4"]
    assert row["thumbnail"].startswith("data:image/jpeg;base64,") and row["status"] == "analysed"
    assert list(row["tags"]) == ["fox", "night", "garden"] and row["subjects"] == "red fox" and row["cost (USD)"] > 0

    at.multiselect(key="results_tags").set_value(["garden"]).run()
    assert _shown(at) == ["dog.mp4", "fox.mp4"]
    at.multiselect(key="results_species").set_value(["red fox"]).run()
    assert _shown(at) == ["fox.mp4"]
    at.multiselect(key="results_tags").set_value([]).run()
    at.multiselect(key="results_species").set_value([]).run()
    at.multiselect(key="results_status").set_value(["unusable"]).run()
    assert _shown(at) == ["bad.mp4"]
    at.multiselect(key="results_status").set_value([]).run()
    at.text_input(key="results_search").set_value("SOFA cat").run()
    assert _shown(at) == ["cat.mp4"]
    at.text_input(key="results_search").set_value("nothing-like-this").run()
    assert not at.exception and _table(at, "summary").empty
    assert "matches these filters" in at.info[0].value


def test_results_exports_hold_the_filtered_rows(analysed_folder):
    from gaia.views import analyses_jsonl, filter_rows, load_results, results_facets, rows_csv

    at = _results(analysed_folder)
    at.multiselect(key="results_tags").set_value(["garden"]).run()
    csv_button = next(b for b in at.get("download_button") if "CSV" in b.proto.label)
    assert csv_button is not None
    tags = next(f for f in results_facets(analysed_folder) if f.path == "tags")
    rows = filter_rows(load_results(analysed_folder), chosen={tags: ["garden"]})
    got = list(csv.DictReader(io.StringIO(rows_csv(rows))))
    assert [r["video"] for r in got] == ["dog.mp4", "fox.mp4"]
    assert json.loads(got[1]["tags"]) == ["fox", "night", "garden"] and json.loads(got[1]["species"]) == ["red fox"]
    assert float(got[1]["cost_usd"]) > 0
    lines = [json.loads(x) for x in analyses_jsonl(analysed_folder, rows).splitlines()]
    assert [x["video"] for x in lines] == ["dog.mp4", "fox.mp4"]
    assert lines[1]["analysis"]["tags"] == ["fox", "night", "garden"] and lines[1]["run"]["batch_id"]


def test_results_with_no_match_says_so_and_offers_no_row(analysed_folder):
    """Issue 26 item 7: not "0 of 5 video(s) match. Select a row…"."""
    at = _results(analysed_folder)
    at.text_input(key="results_search").input("zebra giraffe okapi").run()
    assert not at.exception, at.exception
    assert not [c.value for c in at.caption if "Select a row" in c.value]
    assert any("matches these filters" in i.value for i in at.info)


def test_results_hostile_answer_text_is_shown_literally(analysed_folder):
    at = _app(RESULTS, analysed_folder)
    at.session_state["results_video"] = "cat.mp4"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="results_video").value == "cat.mp4"
    texts = [t.value for t in at.text]
    assert HOSTILE in texts  # the summary, verbatim, as plain text
    for kind in ("markdown", "caption", "success", "info", "warning", "error"):
        for el in getattr(at, kind):
            assert "<script" not in el.value and "<img" not in el.value and "](http" not in el.value, el.value
    for el in at.markdown:
        assert not getattr(el.proto, "allow_html", False) or "script" not in el.value
    assert HOSTILE in list(_table(at, "summary")["summary"])  # the table shows it as a value


def test_results_detail_shows_frames_with_times_and_raw_json(analysed_folder):
    at = _app(RESULTS, analysed_folder)
    at.session_state["results_video"] = "fox.mp4"
    at.run()
    assert not at.exception, at.exception
    sidecar = read_sidecar(analysed_folder / "fox.mp4")
    ts = sidecar["run"]["keyframe_timestamps"]
    captions = [c for im in at.image for c in im.captions]
    assert len(ts) == 2
    assert captions == [gaia.format.position(t) for t in ts]  # one time format: 0:02.3
    raw = json.loads(at.json[0].value)
    assert raw["analysis"] == sidecar["analysis"] and raw["run"]["custom_id"] == sidecar["run"]["custom_id"]


def test_results_failures_tab_lists_reasons_and_retries(api_env, ready_folder):
    folder = ready_folder({f"v{i}.mp4": "testsrc" for i in range(4)})
    api_env.update_config(errored_rate=0.5, seed=3)
    submit(folder, plan_submission(folder), gaia.make_client())
    _wait_ended(folder)
    retrieve(folder, gaia.make_client())
    failed = sorted(f.rel_path for f in failures(folder))
    assert failed
    at = _results(folder, "failures")
    assert sorted(_table(at, "what happened")["video"]) == failed
    assert sorted(r.rel_path for r in gaia.views.load_results(folder)
                  if r.status == "failed") == failed
    api_env.update_config(errored_rate=0.0)
    at.button(key="results_retry").click().run()
    assert not at.exception, at.exception
    assert len(batch_statuses(folder)) == 1  # asked first, with the amount
    at.button(key="results_retry_yes").click().run()
    assert not at.exception, at.exception
    with gaia.Folder(folder).ledger() as ledger:
        sent = ledger.requests(batch_id=batch_statuses(folder)[-1].batch_id)
    assert sorted(r.rel_path for r in sent) == failed


def test_progress_page_warns_before_results_expire(api_env, ready_folder):
    folder = ready_folder({"a.mp4": "testsrc"})
    api_env.update_config(clock_offset_s=-26 * 86_400)  # the batch was created 26 days ago
    _submit(folder)
    _wait_ended(folder)
    at = _app(PROGRESS, folder)
    at.session_state["progress_auto"] = False
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any("can be downloaded only until" in w and "retrieve them now" in w for w in warnings), warnings
    at.button(key="retrieve_now").click().run()
    assert not any("retrieve them now" in w.value for w in at.warning)  # retrieved: nothing left to warn about


def test_submit_page_offers_to_extract_missing_keyframes_and_a_dry_run(api_env, make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    at = _app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    assert any("have no keyframes with these settings yet" in w.value for w in at.warning)
    assert at.button(key="submit_go").disabled
    infos = [i.value for i in at.info]
    assert any("extract the keyframes for these settings first" in i for i in infos), infos
    assert not any("every video is analysed" in i.lower() or "no videos to send" in i for i in infos)  # issue 15
    assert sum(1 for h in at.subheader if h.value == "Estimated cost") + sum(
        1 for m in at.metric if m.label == "Estimated cost") == 1  # said once
    at.button(key="submit_extract").click().run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Videos to send"] == "2"
    assert not at.button(key="submit_go").disabled
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Dry run: download the requests (JSONL)" in labels
    assert batch_statuses(folder) == []  # nothing sent by looking or by preparing the dry run


def test_submit_page_on_a_folder_without_videos_says_so(api_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no videos here")
    at = _app(SUBMIT, empty).run()
    assert not at.exception
    assert any("no videos to send" in i.value for i in at.info)


def test_progress_page_explains_a_batch_the_other_endpoint_made(api_env, ready_folder, monkeypatch, tmp_path):
    from gaia.emulator import start_emulator

    folder = ready_folder({"a.mp4": "testsrc"})
    assert submit(folder, plan_submission(folder), api_env.client(max_retries=0)).ok
    with start_emulator(state_dir=tmp_path / "other-endpoint") as other:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", other.base_url)  # the same folder, another endpoint
        at = _app(PROGRESS, folder).run()
        assert not at.exception
        assert any("404" in w.value or "not found" in w.value for w in at.warning)
        assert any("Batches made in demo mode live in the local emulator" in c.value for c in at.caption)
        at.session_state["use_emulator"] = True  # the sidebar's demo switch
        at.run()
        assert any("Demo mode is on" in c.value for c in at.caption)


def test_the_submit_page_plans_once_per_folder_state(api_env, ready_folder, monkeypatch):
    # Each plan reads the whole folder: a rerun of the page (a click, a second visit) reuses it,
    # and any change to the folder's state (here its settings) plans again.
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    calls: list[str] = []
    real = plan_submission

    def counting(*args, **kwargs):
        calls.append("plan")
        return real(*args, **kwargs)

    monkeypatch.setattr(gaia.face, "plan_submission", counting)
    import streamlit as st

    st.cache_resource.clear()
    at = _app(SUBMIT, folder).run()
    assert not at.exception
    first = len(calls)
    assert first >= 1
    at.run()
    _app(SUBMIT, folder).run()  # another session, same folder state
    assert len(calls) == first
    gaia.Folder(folder).save_settings(gaia.Folder(folder).settings().with_keyframes(count=2))
    at.run()
    assert not at.exception
    assert len(calls) > first


def test_progress_page_shows_kept_answers_and_writes_them_once_the_cause_is_gone(api_env, tmp_path, fake_ksets):
    folder = tmp_path / "v"
    client = gaia.make_client()
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    from gaia.settings import RunSettings

    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), client).ok
    watch(folder, client, poll_s=0.1, retrieve_results=False)
    (folder / "b.gaia.json").write_bytes(b'{"note": "caf\xe9"}\n')  # not UTF-8: the answer cannot go there
    retrieve(folder, client)
    at = _app(PROGRESS, folder).run()
    assert not at.exception, at.exception
    assert any("1 paid answer" in w.value and "are kept" in w.value for w in at.warning)
    assert _table(at, "reason")["video"].tolist() == ["b.mp4"]
    (folder / "b.gaia.json").unlink()  # the cause is gone
    at.button(key="deliver_parked").click().run()
    assert not at.exception, at.exception
    assert "analysis" in json.loads((folder / "b.gaia.json").read_text())
    assert not any("are kept" in w.value for w in at.warning)
