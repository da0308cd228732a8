"""The Submit page's cascade (``pages/_cascade.py``) against the emulator: a run-now cascade leaves the Run now tab
saying what is true (nothing left to send, not "extract the keyframes first"), and the cascade saved as the
folder's setting makes the Batch tab send its first pass, whose retrieval sends the second."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.runs.cascade import cascade_states

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "pages" / "4_Submit.py")
PROGRESS = str(ROOT / "pages" / "5_Progress.py")



def _page(path: str, folder: Path) -> AppTest:
    at = AppTest.from_file(path, default_timeout=120)
    at.session_state["folder"] = str(folder)
    return at.run()


def _infos(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def test_after_a_run_now_cascade_the_tab_says_nothing_is_left_to_send(demo: Path, api_env) -> None:
    at = _page(SUBMIT, demo)
    assert not at.exception, at.exception
    assert "A cascade, below, extracts its own frames" in _infos(at)  # a fresh folder: no frames yet
    at.button(key="cascade_run").click().run()
    assert not at.exception, at.exception
    assert any("Cascade done" in s.value for s in at.success)
    words = _infos(at)
    assert "extract" not in words.lower(), words
    assert "Nothing to send now: every video is analysed" in words


def test_the_saved_cascade_sends_its_first_pass_from_the_batch_tab(demo: Path, api_env, anthropic_client) -> None:
    f = gaia.Folder(demo)
    f.save_settings(f.settings())
    at = _page(SUBMIT, demo)
    at.toggle(key="cascade_default").set_value(True).run()
    assert not at.exception, at.exception
    assert f.settings().cascade == "claude-haiku-5-5:economy"
    assert any("Cascade on (the folder's settings)" in i.value for i in at.info)
    at.button(key="submit_go").click().run()
    assert not at.exception, at.exception
    [state] = cascade_states(demo)
    assert state.first_videos == 5 and state.waiting == 5
    import time

    deadline = time.monotonic() + 30
    while any(b.processing_status != "ended" for b in anthropic_client.messages.batches.list(limit=10)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at = _page(PROGRESS, demo)  # retrieves automatically, which sends the second pass
    assert not at.exception, at.exception
    [state] = cascade_states(demo)
    assert not state.waiting and state.sent == len(state.escalated) > 0
    texts = " ".join(str(p.proto.text) for p in at.get("progress")).replace("\\", "")
    assert "Pass 2 of 2, Claude Sonnet 5.5" in texts, texts


def test_the_estimate_page_prices_the_folders_cascade_on_request(demo: Path, api_env) -> None:
    f = gaia.Folder(demo)
    f.save_settings(replace(f.settings(), cascade="claude-haiku-5-5:economy"))
    f.keyframes()
    at = _page(str(ROOT / "pages" / "3_Estimate_cost.py"), demo)
    assert not at.exception, at.exception
    assert not any("Cascade:" in m.value for m in at.markdown)  # priced only on request (it may extract frames)
    at.button(key="estimate_cascade_go").click().run()
    assert not at.exception, at.exception
    [line] = [m.value for m in at.markdown if m.value.startswith("Cascade:")]
    expected = f.cascade_estimate("claude-haiku-5-5", "economy")  # the same figure the CLI's gaia estimate gives
    assert f"Cascade: {expected.total_usd:.4f} USD" in line and "5 video(s)" in line
    assert f"{expected.escalation_share:.0%} sent again" in line


def test_after_a_run_now_cascade_the_profile_picker_and_its_count_agree(demo: Path, api_env) -> None:
    """The picker's options keep their labels while answers come in (the browser keeps a selectbox's choice by its
    label: one with the count in it showed "no answers yet" after the run), and the count beside it is fresh."""
    at = _page(SUBMIT, demo)
    before = list(at.selectbox(key="submit_profile").options)
    assert any("no answers yet" in c.value for c in at.caption)
    at.button(key="cascade_run").click().run()
    assert not at.exception, at.exception
    assert list(at.selectbox(key="submit_profile").options) == before
    assert not any("no answers yet" in o for o in before)
    counts = [c.value for c in at.caption if "output tokens an answer" in c.value]
    assert counts and "median of 5" in counts[0], counts
    assert "5 answer(s) with this prompt and model" in " ".join(c.value for c in at.caption)


def test_the_batch_tab_prices_both_passes_of_the_saved_cascade_as_the_cli_does(demo: Path, api_env) -> None:
    f = gaia.Folder(demo)
    f.save_settings(replace(f.settings(), cascade="claude-haiku-5-5:economy"))
    expected = f.cascade_estimate("claude-haiku-5-5", "economy")  # gaia estimate / gaia submit --cascade's figure
    at = _page(SUBMIT, demo)
    assert not at.exception, at.exception
    assert f"Expected cost of the whole cascade, as batches: {expected.batch.total_usd:.4f} USD" in _infos(at)
    assert "for both passes" in at.button(key="submit_go").label
    cap = round((expected.batch.first_usd + expected.batch.total_usd) / 2, 4)  # the first pass fits, both do not
    at.toggle(key="submit_cap_on").set_value(True).run()
    at.number_input(key="submit_cap").set_value(cap).run()
    assert not at.exception, at.exception
    assert any("The whole cascade's expected cost" in e.value and "above your cap" in e.value for e in at.error)
    assert at.button(key="submit_go").disabled


def test_after_a_pilot_the_estimate_page_shows_the_rest_the_pilot_and_the_whole_cascade(demo: Path, api_env) -> None:
    f = gaia.Folder(demo, gaia.make_client())
    f.save_settings(replace(f.settings(), cascade="claude-haiku-5-5:economy"))
    f.cascade("claude-haiku-5-5", "economy", limit=3)  # the pilot
    expected = f.cascade_estimate("claude-haiku-5-5", "economy")  # what gaia estimate --cascade says
    assert expected.spent_videos == 3 and expected.spent_usd == pytest.approx(f.spent().total_usd, abs=1e-9)
    at = _page(str(ROOT / "pages" / "3_Estimate_cost.py"), demo)
    at.button(key="estimate_cascade_go").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    usd = gaia.format.usd
    assert metrics["The rest (2 video(s))"] == usd(expected.total_usd)
    assert metrics["Already spent on it (3 video(s))"] == usd(expected.spent_usd)
    assert metrics["The whole cascade"] == usd(expected.spent_usd + expected.total_usd)
    [line] = [m.value for m in at.markdown if m.value.startswith("Cascade, the rest:")]
    assert f"The whole cascade: {expected.whole[0]:.4f} USD" in line


def test_a_failed_first_answer_sent_again_from_the_tab_goes_as_the_cascades_first_pass_and_escalates(
        demo: Path, api_env) -> None:
    from gaia.emulator import HttpFault
    from gaia.sidecar import CASCADE_KEY, read_sidecar

    api_env.update_config(http_faults=[HttpFault(route="messages.create", status=400, count=2)])
    at = _page(SUBMIT, demo)
    at.button(key="cascade_run").click().run()
    assert not at.exception, at.exception
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "2 first-pass request(s) failed. Sent again now, they go as this cascade's first pass" in warning
    failed = {f.rel_path for f in gaia.Folder(demo).failures()}
    at.button(key="cascade_retry").click().run()
    assert not at.exception, at.exception
    said = _infos(at).replace("\\", "")
    assert "Cascade pass 1 of 2, sent again with the cheap settings" in said and "2 answered, 0 failed" in said
    assert "Cascade pass 2 of 2" in said, said  # the demo's economy answers are uncertain: escalated right after
    assert not any(b.key == "cascade_retry" for b in at.button)  # sent: no second offer
    assert gaia.Folder(demo).failures() == []
    for rel in failed:
        side = read_sidecar(demo / rel)
        assert side[CASCADE_KEY]["first"]["run"]["fingerprint"]["model"] == "claude-haiku-5-5"
        assert side[CASCADE_KEY]["escalated"] and side["run"]["fingerprint"]["model"] == "claude-sonnet-5-5"
