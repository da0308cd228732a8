"""Issue 26, as a careful user finds the app: every page's words true, nothing Python on screen (AppTest).

One test per item that needs no browser: the one wrapper every page runs in, the Estimate when everything
is analysed and on a model that cannot cache the prompt, the badge of a canceled batch, the model pickers.
The items a browser must show (staying on the tab you acted in, the terminal, the problem folder) are in
``tests/e2e/test_careful_user.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

import gaia
from gaia.media.keyframes import cached_keyframes
from gaia.runs.batch import submit as submit_batch
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.sidecar import read_sidecar, write_sidecar
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
ESTIMATE = str(ROOT / "pages" / "3_Estimate_cost.py")
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")


def _failing_page(error: str) -> None:
    """A page that lets ``error`` escape, run through the app's one wrapper (as app.py runs every page)."""
    from pages._ui import run_page

    class Page:
        title = "A page"

        def run(self) -> None:
            import streamlit as st

            st.title("Half a page")
            if error == "unicode":
                "bad \udcff name".encode()
            raise RuntimeError("an internal detail no user should read")

    run_page(Page())


def _page_text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "title", "text", "code", "exception")
    return "\n".join(str(getattr(e, "value", "")) for k in kinds for e in getattr(at, k))


def test_whatever_escapes_a_page_becomes_one_sentence_and_a_way_on(tmp_path, monkeypatch):
    """Item 1: no traceback, no class name, no Python message; the details go to the error log."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for error, words in (("unicode", "not valid text (UTF-8)"), ("other", "met something it did not expect")):
        at = AppTest.from_function(_failing_page, args=(error,), default_timeout=30).run()
        assert not at.exception, at.exception
        text = _page_text(at)
        assert words in at.error[0].value and "Nothing was sent or deleted" in at.error[0].value
        for python in ("Traceback", "UnicodeEncodeError", "RuntimeError", "internal detail", "surrogates"):
            assert python not in text, python
        assert [b.label for b in at.button] == ["Try again"]
        log = (tmp_path / "gaia" / "errors.log").read_text()
        assert "Traceback" in log and "A page" in log  # the details, for a bug report


def test_app_runs_every_page_through_the_wrapper():
    source = (ROOT / "app.py").read_text()
    assert "run_page(page)" in source and "page.run()" not in source


def test_estimate_when_everything_is_analysed_says_so(api_env, ready_folder):
    """Item 2: not "No video has keyframes yet… extract them", but what the CLI says."""
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    client = gaia.make_client()
    assert submit_batch(folder, plan_submission(folder), client).ok
    api_env.advance_clock(3600)
    assert retrieve(folder, client).written == 2
    at = page_app(ESTIMATE, folder).run()
    assert not at.exception, at.exception
    said = " ".join(x.value for x in [*at.info, *at.success])
    assert "already analysed with these settings (2)" in said and "nothing is left to estimate" in said
    assert "No video has keyframes" not in said


def test_estimate_on_a_model_that_cannot_cache_never_promises_cache_reads(ready_folder):
    """Item 3: Haiku 4.5 needs 4,096 tokens to cache; the default prompt is shorter, so no request reads."""
    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    f = gaia.Folder(folder)
    f.save_settings(replace(f.settings(), model="claude-haiku-4-5"))
    at = page_app(ESTIMATE, folder).run()
    assert not at.exception, at.exception
    captions = "\n".join(c.value for c in at.caption)
    assert "Caching will do nothing" in captions or "shorter than this model caches" in captions
    assert "requests expected to read" not in captions and "of requests are expected to read" not in captions
    assert "Cache: none" in captions


def _status(**kw) -> gaia.BatchStatus:
    now = datetime.now(UTC)
    base = dict(local_id=1, run_id="r", batch_id="msgbatch_1", state="submitted", processing_status="ended",
                n_requests=5, nbytes=None, counts={"succeeded": 2, "errored": 0, "canceled": 3, "expired": 0},
                outcomes={}, created_at=now, ended_at=now, expires_at=None, cancel_initiated_at=now,
                results_until=None, results_state="done", estimate_usd=None, actual_usd=None)
    return gaia.BatchStatus(**{**base, **kw})


def test_a_canceled_batch_is_not_shown_as_done():
    """Item 7: a canceled batch never gets the green "results in sidecars" badge."""
    b = gaia.views.badge(_status())
    assert b.colour != "green" and "canceled" in b.label and "2 of 5" in b.label
    done = gaia.views.badge(_status(counts={"succeeded": 5}, cancel_initiated_at=None))
    assert (done.label, done.colour) == ("results in sidecars", "green")


def test_model_pickers_list_current_models_first_by_price_legacy_folded_retired_absent(ready_folder):
    """Item 11: the order comes from a view (gaia.views.model_choices) over gaia/data/models.toml."""
    models = gaia.catalogue().models
    offered = gaia.views.model_choices()
    statuses = [models[m].status for m in offered]
    assert "legacy" not in statuses and "retired" not in statuses
    current = [m for m in offered if models[m].status == "current"]
    assert offered[:len(current)] == current  # current ones first...
    assert [models[m].input for m in current] == sorted(models[m].input for m in current)  # ...by price
    legacy = gaia.views.model_choices(legacy=True)
    assert set(legacy) - set(offered) == {m for m in models if models[m].status == "legacy"}
    assert not {m for m in models if models[m].status == "retired"} & set(legacy)
    folder = ready_folder({"a.mp4": "testsrc"})
    at = page_app(KEYFRAMES, folder).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="keyframes_model").options == [gaia.views.model_name(m) for m in offered]
    at.toggle(key="keyframes_model_legacy").set_value(True).run()
    assert len(at.selectbox(key="keyframes_model").options) == len(legacy)


def test_frames_a_damaged_file_decodes_as_flat_grey_start_unticked(tmp_path):
    """Item 13: a truncated file's grey frames are not ticked "Send" by default; the page says why."""
    from tests.videos import X264, _ff

    folder = tmp_path / "videos"
    folder.mkdir()
    # What a decoder shows past a truncated file's end: picture, then flat mid-grey (concealment).
    _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", "-f", "lavfi", "-i",
        "color=c=0x808080:size=320x240:rate=25:duration=4", "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]",
        "-map", "[v]", *X264, str(folder / "cut_short.mp4"))
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(strategy="uniform", count=6))
    at = page_app(KEYFRAMES, folder).run()
    next(b for b in at.button if b.label.startswith("Extract keyframes")).click().run()
    assert not at.exception, at.exception
    s = f.settings()
    (kset,) = cached_keyframes(folder, settings=s.keyframes, model=s.model)
    grey = [fr.timestamp for fr in kset.frames if gaia.views.looks_damaged(fr.path)]
    picture = [fr.timestamp for fr in kset.frames if not gaia.views.looks_damaged(fr.path)]
    assert grey and picture and all(t >= 4 for t in grey) and all(t < 4 for t in picture)
    sel = f.selection()
    assert all(sel.frame_excluded("cut_short.mp4", t) for t in grey)
    assert not any(sel.frame_excluded("cut_short.mp4", t) for t in picture)
    assert any("look damaged" in s.value for s in at.success)
    sends = [c.value for c in at.checkbox if c.label == "Send"]
    assert sends.count(False) == len(grey) and sends.count(True) == len(picture)


def test_no_none_on_screen_in_submit_and_results_tables(api_env, ready_folder):
    """Item 10: a missing value reads "–" (Submit's output-token table, Results' attempts), never "None";
    notable moments are listed in time order."""
    folder = ready_folder({"a.mp4": "testsrc"})
    client = gaia.make_client()
    assert submit_batch(folder, plan_submission(folder), client).ok
    api_env.advance_clock(3600)
    retrieve(folder, client)
    data = read_sidecar(folder / "a.mp4")
    moments = [{"time_s": 2.0, "description": "b"}, {"time_s": 3.0, "description": "c"},
               {"time_s": 2.3, "description": "a"}]
    write_sidecar(folder / "a.mp4", {"analysis": {**data["analysis"], "notable_moments": moments}})
    submit = page_app(str(ROOT / "pages" / "4_Submit.py"), folder).run()
    assert not submit.exception, submit.exception
    profiles = next(d for d in submit.dataframe if "output per video (USD, Batch)" in d.value.columns)
    assert profiles.proto.placeholder == "–"
    at = page_app(str(ROOT / "pages" / "6_Results.py"), folder)
    at.session_state["results_video"] = "a.mp4"
    at.run()
    assert not at.exception, at.exception
    attempts = [d for d in at.dataframe if "batch_id" in d.value.columns and "attempt" in d.value.columns]
    assert attempts and all(d.proto.placeholder == "–" for d in attempts)
    shown = next(d.value for d in at.dataframe if "time_s" in d.value.columns)
    assert list(shown["time_s"]) == [2.0, 2.3, 3.0]


def test_names_that_are_not_utf8_are_shown_not_crashed_on():
    """Item 1: a folder or file name with undecodable bytes reaches the page as text (its bytes escaped,
    ``caf\\xe9``, by the one rule ``gaia.fsutil.display_name``), not as an error."""
    from pages._ui import md, plain, shown

    name = "caf\udce9 at night.mp4"  # how Python holds the Latin-1 byte 0xE9 of a file name
    assert shown(name) == "caf\\xe9 at night.mp4"
    for text in (md(name), plain(name)):
        text.encode("utf-8")  # what Streamlit does when it sends it: must not raise
    assert shown("plain.mp4") == "plain.mp4"


def test_streamlit_run_gets_threads_not_workers_that_rerun_the_app(monkeypatch):
    """Item 12: under ``streamlit run app.py`` the running page is ``__main__`` (a module Streamlit made, no
    loader) AND ``sys.argv[0]`` is app.py; spawned workers re-imported it and ran the app bare, printing
    "missing ScriptRunContext" dozens of times per extraction. The browser suite's log check covers the rest."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import gaia.media.keyframes as kf

    app = type(sys)("__main__")
    app.__file__ = str(ROOT / "app.py")
    monkeypatch.setitem(sys.modules, "__main__", app)
    monkeypatch.setattr(sys, "argv", [str(ROOT / "app.py")])
    with kf._pool(2) as pool:
        assert isinstance(pool, ThreadPoolExecutor)
