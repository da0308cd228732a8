"""A cascade in batches on the demo folder against the emulator: the cheap pass is submitted, retrieving its
results submits the escalated videos as the second pass (once, even when the process is killed between or
during the passes), both answers stay in the sidecar and ``gaia spent`` equals both passes' bills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anthropic
import pytest

import gaia
from gaia._cli import main
from gaia.media.scan import scan_folder
from gaia.runs.cascade import cascade_states
from gaia.runs.recovery import plan_submission
from gaia.sidecar import CASCADE_KEY, read_sidecar

CHEAP = "claude-haiku-5-5:economy"
KILLER = Path(__file__).with_name("_killer.py")



def _videos(folder: Path) -> list[str]:
    return sorted(r.rel_path for r in scan_folder(folder).records if r.usable)


def _wait_for_batches(client: anthropic.Anthropic) -> None:
    deadline = time.monotonic() + 30
    for batch in client.messages.batches.list(limit=100):
        while client.messages.batches.retrieve(batch.id).processing_status != "ended":
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _sent(folder: Path, client: anthropic.Anthropic) -> Counter[tuple[str, str]]:
    """How many times the API received each (video, model), over every batch it holds."""
    _wait_for_batches(client)
    with gaia.Folder(folder).ledger() as ledger:
        by_id = {r.custom_id: (r.rel_path, r.model or "") for r in ledger.requests()}
    out: Counter[tuple[str, str]] = Counter()
    for batch in client.messages.batches.list(limit=100):
        for r in client.messages.batches.results(batch.id):
            out[by_id.get(r.custom_id, ("?", r.custom_id))] += 1
    return out


def _spent(folder: Path, capsys: pytest.CaptureFixture) -> float:
    assert main(["spent", str(folder), "--json"]) == 0
    return float(json.loads(capsys.readouterr().out)["total_usd"])


def _bills(folder: Path) -> float:
    with gaia.Folder(folder).ledger() as ledger:
        return sum(r.cost_usd or 0.0 for r in ledger.requests())


def _check_done(demo: Path, client: anthropic.Anthropic, capsys: pytest.CaptureFixture) -> None:
    """Every video sent once with the cheap model, the escalated ones once with the strong one, both answers kept
    and the bill the sum of both passes."""
    videos = _videos(demo)
    sent = _sent(demo, client)
    cheap = {v for (v, m), n in sent.items() if m == "claude-haiku-5-5"}
    assert cheap == set(videos) and all(n == 1 for n in sent.values()), sent
    escalated = {v for v in videos if read_sidecar(demo / v)[CASCADE_KEY]["escalated"]}
    assert escalated, "the demo folder escalates at least one clip at the economy size"
    assert {v for (v, m) in sent if m == "claude-sonnet-5-5"} == escalated
    for v in videos:
        side = read_sidecar(demo / v)
        assert side[CASCADE_KEY]["first"]["run"]["fingerprint"]["model"] == "claude-haiku-5-5"
        assert side["run"]["fingerprint"]["model"] == ("claude-sonnet-5-5" if v in escalated else "claude-haiku-5-5")
    assert _spent(demo, capsys) == pytest.approx(_bills(demo), abs=1e-9)
    [state] = cascade_states(demo)
    assert state.done and set(state.escalated) == escalated and state.sent == len(escalated)
    plan = plan_submission(demo, gaia.Folder(demo).settings(), extract=True)  # a later plain submit
    assert list(plan.requests) == []


def test_submit_cascade_sends_the_second_pass_when_the_first_is_retrieved(demo: Path, api_env, anthropic_client,
                                                                          capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["plan"]["model"] == "claude-haiku-5-5" and doc["result"]["sent"] == len(_videos(demo))
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["retrieve"]
    [step] = first["cascades"]
    assert step["sent"] == len(step["escalated"]) > 0 and not step["waiting"]
    assert main(["watch", str(demo), "--poll", "0.2", "--json"]) == 0  # waits for the second pass and retrieves it
    capsys.readouterr()
    _check_done(demo, anthropic_client, capsys)
    assert main(["status", str(demo), "--offline"]) == 0
    assert "Cascade Claude Haiku 5.5 → Claude Sonnet 5.5: done" in capsys.readouterr().out
    assert main(["retrieve", str(demo), "--json"]) == 0  # nothing more is sent
    assert json.loads(capsys.readouterr().out)["retrieve"]["cascades"] == []
    assert sum(_sent(demo, anthropic_client).values()) == len(_videos(demo)) + len(step["escalated"])


@pytest.mark.parametrize("point", ["result_recorded:5", "intent_written:1", "batch_created:1"])
def test_killed_between_or_during_the_passes_nothing_is_paid_twice(demo: Path, api_env, anthropic_client, point: str,
                                                                     capsys: pytest.CaptureFixture) -> None:
    """``result_recorded:5``: killed once the first pass's last answer is recorded, before the second pass;
    ``intent_written``: the second pass's intent is in the ledger, its batch not created; ``batch_created``:
    the API created it but the ledger does not know yet."""
    env = dict(os.environ)
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    capsys.readouterr()
    _wait_for_batches(anthropic_client)
    killed = subprocess.run([sys.executable, str(KILLER), point, "retrieve", str(demo)], env=env,
                            capture_output=True, text=True, timeout=180)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    again = subprocess.run([sys.executable, "-m", "gaia", "watch", str(demo), "--poll", "0.2"], env=env,
                           capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    _check_done(demo, anthropic_client, capsys)


def test_the_second_pass_goes_through_the_guard_with_what_is_left_of_the_cap(demo: Path, api_env, anthropic_client,
                                                                              capsys: pytest.CaptureFixture) -> None:
    # gaia submit --cascade refuses a cap below both passes' expected cost; a script may still send the first pass
    # under a cap that fits it alone: the second pass then goes through the guard with what the first left.
    f = gaia.Folder(demo, anthropic_client)
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes", "--max-cost", "0.004"]) == 1
    assert "The whole cascade's expected cost" in capsys.readouterr().err
    assert f.submit(f.plan_cascade("claude-haiku-5-5", "economy"), max_cost_usd=0.004).sent == 5
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) in (0, 1)
    out = capsys.readouterr().out
    assert "second pass was not sent" in out and "above your cap" in out
    assert {m for (_, m) in _sent(demo, anthropic_client)} == {"claude-haiku-5-5"}
    [state] = cascade_states(demo)
    assert not state.done and state.sent == 0 and state.escalated


def test_the_cascade_settings_entry_is_used_without_the_flag_and_off_turns_it_off(
        demo: Path, api_env, capsys: pytest.CaptureFixture) -> None:
    f = gaia.Folder(demo)
    f.save_settings(f.settings())
    assert f.settings().cascade == ""  # the default: one pass
    from dataclasses import replace

    f.save_settings(replace(f.settings(), cascade=CHEAP))
    assert main(["submit", str(demo), "--dry-run", str(demo / "x.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["model"] == "claude-haiku-5-5"
    assert main(["submit", str(demo), "--cascade", "off", "--dry-run", str(demo / "y.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["model"] == "claude-sonnet-5-5"
    assert main(["estimate", str(demo), "--json"]) == 0
    assert any(s["key"] == "cascade" for s in json.loads(capsys.readouterr().out)["scenarios"])


def test_kept_first_answers_stand_for_the_strong_settings_and_no_second_pass_goes(
        demo: Path, api_env, anthropic_client, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gaia.runs.recorder.uncertain", lambda analysis, schema: None)  # every first answer is sure
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    capsys.readouterr()
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo), "--json"]) == 0
    [step] = json.loads(capsys.readouterr().out)["retrieve"]["cascades"]
    assert step["done"] and step["sent"] == 0 and step["escalated"] == []
    assert {m for (_, m) in _sent(demo, anthropic_client)} == {"claude-haiku-5-5"}
    videos = _videos(demo)
    f = gaia.Folder(demo)
    assert f.settings().model == "claude-sonnet-5-5"  # the folder had no settings file: the strong ones are kept
    plan = plan_submission(demo, f.settings(), extract=True)  # a later plain submit pays for nothing again
    assert list(plan.requests) == [] and sorted(s.rel_path for s in plan.skipped if s.kind == "analysed") == videos


# --- a cascade keeps its roles through failures and crashes --------------------------------------------------

def _gaia(*args: str, killer: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(KILLER), killer, *args] if killer else [sys.executable, "-m", "gaia", *args]
    return subprocess.run(cmd, env=dict(os.environ), capture_output=True, text=True, timeout=180)


def _check_sent(demo: Path, client: anthropic.Anthropic, capsys: pytest.CaptureFixture, *, cheap_times: int = 1,
                strong_times: int = 1) -> set[str]:
    """What the API received is exactly what the cascade needed: every video ``cheap_times`` with the cheap model
    (failed attempts included), the escalated ones ``strong_times`` with the strong one; each video's answers
    are the cascade's (the first kept, the second effective where escalated) and ``gaia spent`` equals the bills.
    Returns the escalated videos."""
    videos = _videos(demo)
    escalated = {v for v in videos if read_sidecar(demo / v)[CASCADE_KEY]["escalated"]}
    assert escalated
    expected = Counter({(v, "claude-haiku-5-5"): cheap_times for v in videos})
    expected.update({(v, "claude-sonnet-5-5"): strong_times for v in escalated})
    assert _sent(demo, client) == expected
    for v in videos:
        side = read_sidecar(demo / v)
        assert side[CASCADE_KEY]["first"]["run"]["fingerprint"]["model"] == "claude-haiku-5-5"
        assert side["run"]["fingerprint"]["model"] == ("claude-sonnet-5-5" if v in escalated else "claude-haiku-5-5")
    assert _spent(demo, capsys) == pytest.approx(_bills(demo), abs=1e-9)
    assert gaia.Folder(demo).failures() == []
    return escalated


@pytest.mark.parametrize("kill", [None, "intent_written:1", "batch_created:1"])
def test_a_failed_first_pass_retried_goes_as_the_first_pass_and_escalates(
        demo: Path, api_env, anthropic_client, capsys: pytest.CaptureFixture, kill: str | None) -> None:
    api_env.update_config(errored_rate=1.0)  # the first pass's batch: every request fails
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    capsys.readouterr()
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) in (0, 1)
    out = capsys.readouterr().out
    assert "5 first-pass request(s) failed: 'gaia retry' sends them again as the first pass" in out, out
    assert "were sure enough; no second pass" not in out
    [state] = cascade_states(demo)
    assert state.failed == 5 and not state.done and not state.escalated
    api_env.update_config(errored_rate=0.0)
    if kill is not None:  # the retry killed after its intent is written, or after the API created its batch
        assert _gaia("retry", str(demo), "--yes", killer=kill).returncode == -9
        assert _gaia("watch", str(demo), "--poll", "0.2").returncode in (0, 1)
    if gaia.Folder(demo).failures():
        done = _gaia("retry", str(demo), "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
    watched = _gaia("watch", str(demo), "--poll", "0.2")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    with gaia.Folder(demo).ledger() as ledger:  # the retry went as the cascade's first pass, with its settings
        retries = [r for r in ledger.runs() if r.retry_of]
    assert retries and all(r.settings["cascade_pass"]["pass"] == 1 and r.model == "claude-haiku-5-5"
                           and r.settings["cascade_pass"]["first_run"] == state.first_run for r in retries)
    escalated = _check_sent(demo, anthropic_client, capsys, cheap_times=2)
    [state] = cascade_states(demo)  # one cascade, through both passes
    assert state.done and state.first_videos == 5 and set(state.escalated) == escalated and state.failed == 0


def test_a_failed_second_pass_retried_goes_as_the_second_pass(demo: Path, api_env, anthropic_client,
                                                              capsys: pytest.CaptureFixture) -> None:
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    _wait_for_batches(anthropic_client)
    api_env.update_config(errored_rate=1.0)  # the second pass's batch, created by this retrieval, fails
    assert main(["watch", str(demo), "--poll", "0.2"]) in (0, 1)
    capsys.readouterr()
    fails = gaia.Folder(demo).failures()
    assert fails and {f.mode for f in fails} == {"batch"}
    api_env.update_config(errored_rate=0.0)
    assert main(["retry", str(demo), "--yes"]) == 0
    assert main(["watch", str(demo), "--poll", "0.2"]) == 0
    capsys.readouterr()
    with gaia.Folder(demo).ledger() as ledger:
        [retry] = [r for r in ledger.runs() if r.retry_of]
    assert retry.settings["cascade_pass"]["pass"] == 2 and retry.model == "claude-sonnet-5-5"
    assert retry.note == "cascade pass 2 (retry)"  # what the ledger says of it, as a retry now says it
    escalated = _check_sent(demo, anthropic_client, capsys, strong_times=2)
    assert {f.rel_path for f in fails} == escalated
    [state] = cascade_states(demo)
    assert state.done and state.sent == len(escalated) and state.second_open == 0


@pytest.mark.parametrize("then", ["watch", "submit"])
def test_first_pass_videos_whose_batch_was_never_created_go_as_the_first_pass(
        demo: Path, api_env, anthropic_client, capsys: pytest.CaptureFixture, then: str) -> None:
    """Killed between the first pass's intent and its batch: the next retrieval sends those videos as the
    cascade's first pass (``watch``), or a rerun of ``gaia submit --cascade`` does (``submit``); once each."""
    assert _gaia("submit", str(demo), "--cascade", CHEAP, "--yes", killer="intent_written:1").returncode == -9
    if then == "submit":
        again = _gaia("submit", str(demo), "--cascade", CHEAP, "--yes")
        assert again.returncode == 0 and "Sent 5 requests" in again.stdout, again.stdout + again.stderr
    watched = _gaia("watch", str(demo), "--poll", "0.2")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "were sure enough; no second pass" not in watched.stdout
    if then == "watch":
        assert "5 video(s) whose batch was never created sent again" in watched.stdout, watched.stdout
    _check_sent(demo, anthropic_client, capsys)
    states = cascade_states(demo)
    assert all(s.done and not s.unsent for s in states) and sum(len(s.escalated) for s in states) > 0
    assert _gaia("retrieve", str(demo)).returncode in (0, 1)  # nothing more is sent
    _check_sent(demo, anthropic_client, capsys)
    plan = plan_submission(demo, gaia.Folder(demo).settings(), extract=True)  # nor by a later plain submit
    assert list(plan.requests) == []


def test_a_failed_first_pass_retried_now_keeps_its_role(demo: Path, api_env, anthropic_client,
                                                        capsys: pytest.CaptureFixture) -> None:
    """The Run now tab's retry sends failed requests through the Messages API: a first-pass failure still goes as
    the cascade's first pass, and the next retrieval sends its uncertain answers as the second."""
    api_env.update_config(errored_rate=1.0)
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) in (0, 1)
    api_env.update_config(errored_rate=0.0)
    capsys.readouterr()
    f = gaia.Folder(demo, anthropic_client)
    [now] = f.retry_now()
    assert now.ok and len(now.outcomes) == 5
    with f.ledger() as ledger:
        assert [r.note for r in ledger.runs() if r.retry_of] == ["cascade pass 1 (retry)"]  # as a batch retry says
    assert all(read_sidecar(demo / v)[CASCADE_KEY]["first"]["run"]["mode"] == "standard" for v in _videos(demo))
    assert main(["watch", str(demo), "--poll", "0.2"]) == 0  # no batch running: the retrieval sends the second pass
    capsys.readouterr()
    escalated = {v for v in _videos(demo) if read_sidecar(demo / v)[CASCADE_KEY]["escalated"]}
    assert escalated and {v for (v, m) in _sent(demo, anthropic_client) if m == "claude-sonnet-5-5"} == escalated
    [state] = cascade_states(demo)
    assert state.done and set(state.escalated) == escalated
    assert _spent(demo, capsys) == pytest.approx(_bills(demo), abs=1e-9)


def test_unsent_first_pass_videos_another_send_holds_do_not_hold_back_the_second_pass(
        demo: Path, api_env, anthropic_client, capsys: pytest.CaptureFixture) -> None:
    """A first pass in two batches, killed once the second's intent is written (its batch never created); a plain
    submission then takes those two videos. The next retrieval can send none of them again as the first pass
    (another send holds them), and still sends the second pass for the escalated answers of the first batch."""
    from dataclasses import replace

    from gaia.runs.batch import submit
    from gaia.runs.cascade import cheap_settings, first_pass_marker
    from tests.runs._hooks import Killed, kill_at

    f = gaia.Folder(demo, anthropic_client)
    strong = f.settings()
    cheap = cheap_settings(strong, "claude-haiku-5-5", "economy")
    plan = plan_submission(demo, cheap, extract=True, max_batch_requests=3)
    assert [b.n_requests for b in plan.batches] == [3, 2]
    plan = replace(plan, cascade_pass=first_pass_marker(strong, "claude-haiku-5-5", "economy", None))
    with pytest.raises(Killed):
        submit(demo, plan, anthropic_client, checkpoints=kill_at("intent_written", 2))
    plain = plan_submission(demo, strong, extract=True, client=anthropic_client)  # the never-created intent: unsent
    held = sorted(p.rel_path for p in plain.requests)
    assert len(held) == 2 and submit(demo, plain, anthropic_client).sent == 2
    _wait_for_batches(anthropic_client)
    with f.ledger() as ledger:
        first_batch = next(b.batch_id for b in ledger.batches() if b.batch_id and b.n_requests == 3)
    [step] = [c.to_dict() for c in f.retrieve(batch_ids=[first_batch]).cascades]
    answered = sorted(set(_videos(demo)) - set(held))
    assert step["unsent"] == 2 and step["resent"] == 0  # held by the plain submission: not sent again
    assert sorted(e["rel_path"] for e in step["escalated"]) == answered  # every economy answer of the demo escalates
    assert step["sent"] == len(answered) and step["second_run"]
    sent = _sent(demo, anthropic_client)
    assert {v for (v, m), n in sent.items() if m == "claude-sonnet-5-5"} == set(_videos(demo))
    assert all(n == 1 for n in sent.values()), sent


def test_failed_first_pass_videos_a_later_submission_took_do_not_hold_the_cascade(
        demo: Path, api_env, anthropic_client, capsys: pytest.CaptureFixture) -> None:
    """Every first-pass request fails; the user then sends the folder as a plain submission. The cascade is done
    (nothing of it waits for a retry: a retry would pay for those videos twice), and it says where they went."""
    from gaia.views.cascade import cascade_cards, cascade_step_line

    api_env.update_config(errored_rate=1.0)
    assert main(["submit", str(demo), "--cascade", CHEAP, "--yes"]) == 0
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) in (0, 1)
    [state] = cascade_states(demo)
    assert state.failed == 5 and state.taken == 0 and not state.done
    api_env.update_config(errored_rate=0.0)
    assert main(["submit", str(demo), "--cascade", "off", "--yes"]) == 0
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) == 0
    [state] = cascade_states(demo)
    assert state.failed == 0 and state.taken == 5 and state.done and not state.escalated
    assert gaia.Folder(demo).failures() == []
    line = cascade_step_line(state)
    assert line.startswith("Cascade done: 0 of 5 first answer(s)") and "5 video(s) whose first-pass request failed "\
        "went with a later submission" in line, line
    [card] = cascade_cards(demo)
    assert card.done and "5 failed and went with a later submission" in card.first_text, card
    sent = _sent(demo, anthropic_client)
    assert {m for (_, m) in sent} == {"claude-haiku-5-5", "claude-sonnet-5-5"} and all(n == 1 for n in sent.values())
