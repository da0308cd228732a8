"""``gaia run DIR`` against the emulator: in-process, and as a real process killed by SIGKILL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaia._cli import build_parser, main
from gaia.emulator import HttpFault
from gaia.folder import Folder
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar

KILLER = Path(__file__).resolve().parents[1] / "runs" / "_killer.py"

LAYOUT = {"a.mp4": "testsrc", "sub dir/b ü.MOV": "mov", "c.mkv": "mkv"}




@pytest.fixture
def folder(make_folder):
    folder = make_folder(LAYOUT)
    Folder.of(folder).save_settings(RunSettings().with_keyframes(count=2))
    return folder


def test_help_has_an_example_and_the_command_is_registered(capsys):
    assert "run" in build_parser().format_help()
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and "gaia run " in out and "--max-cost" in out and "--limit" in out


def test_no_key_is_a_plain_error(folder, capsys):
    assert main(["run", str(folder), "--yes"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_asks_and_refuses_without_a_terminal(folder, api_env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(["run", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "--yes" in captured.err
    assert "Now:" in captured.out and "As batch:" in captured.out
    assert "usually under an hour, at most 24 h" in captured.out
    assert "messages.create" not in api_env.calls


def test_spend_cap_blocks(folder, api_env, capsys):
    assert main(["run", str(folder), "--yes", "--max-cost", "0.000001"]) == 1
    assert "above your cap" in capsys.readouterr().err
    assert "messages.create" not in api_env.calls


def test_a_model_the_key_cannot_use_is_refused_and_nothing_sent(folder, api_env, capsys):
    api_env.update_config(http_faults=[HttpFault(route="models.retrieve", status=404, count=None)])
    assert main(["run", str(folder), "--yes"]) == 1
    assert "does not offer" in capsys.readouterr().err
    assert "messages.create" not in api_env.calls
    with Folder.of(folder).ledger() as ledger:
        assert ledger.runs() == [] and ledger.requests() == []


def test_run_limit_then_the_rest(folder, api_env, capsys):
    assert main(["run", str(folder), "--yes", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "Answered 1, failed 0" in out
    assert api_env.calls["messages.create"] == 1
    assert main(["run", str(folder), "--yes", "--json", "--model", "claude-haiku-5-5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["result"]["succeeded"] == 3 and doc["plan"]["model"] == "claude-haiku-5-5"
    assert doc["choice"]["now_usd"] > doc["choice"]["batch_usd"]
    for rel in LAYOUT:
        assert read_sidecar(folder / rel)["run"]["mode"] == "standard"
    assert main(["run", str(folder), "--yes", "--model", "claude-haiku-5-5"]) == 0
    assert "Nothing to send" in capsys.readouterr().out  # all analysed with these settings
    assert api_env.calls["messages.create"] == 4
    assert main(["run", str(folder), "--model", "claude-nope"]) == 2


def test_failures_are_reported_and_retried_now(folder, api_env, capsys):
    api_env.update_config(http_faults=[HttpFault(route="messages.create", status=400, count=1)])
    assert main(["run", str(folder), "--yes", "--concurrency", "1"]) == 1
    out = capsys.readouterr().out
    assert "errored:invalid_request_error" in out and "--retry-failed" in out and "gaia retry" in out
    assert main(["run", str(folder), "--yes", "--retry-failed"]) == 0
    assert "Answered 1, failed 0" in capsys.readouterr().out
    assert main(["run", str(folder), "--yes", "--retry-failed"]) == 0
    assert "Nothing to retry" in capsys.readouterr().out


def test_pushback_is_reported(folder, api_env, capsys):
    api_env.update_config(http_faults=[HttpFault(route="messages.create", status=429, count=2, retry_after=0.2)])
    assert main(["run", str(folder), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "pushed back 2 time(s)" in out and "Answered 3" in out


@pytest.mark.parametrize("point", ["online_row_written", "online_answer_spooled", "sidecar_written"])
def test_killed_process_restarts_without_sending_twice(folder, api_env, point):
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "gaia", "run", str(folder), "--yes", "--concurrency", "1"]
    killer = [sys.executable, str(KILLER), f"{point}:2", *cmd[3:]]
    killed = subprocess.run(killer, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    sent = api_env.calls["messages.create"]
    assert sent == (1 if point == "online_row_written" else 2)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert api_env.calls["messages.create"] == len(LAYOUT)  # nothing sent twice
    with Folder.of(folder).ledger() as ledger:
        done = sorted(r.rel_path for r in ledger.requests(status="succeeded"))
    assert done == sorted(LAYOUT)
    for rel in LAYOUT:
        assert read_sidecar(folder / rel)["analysis"]


def test_ctrl_c_lets_requests_in_flight_finish_and_a_restart_sends_only_the_rest(folder, api_env):
    import signal
    import time

    api_env.update_config(messages_latency_s=0.4)
    cmd = [sys.executable, "-m", "gaia", "run", str(folder), "--yes", "--concurrency", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while api_env.calls.get("messages.create", 0) < 1:  # the first request is on its way
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Interrupted" in out and "not sent" in out
    first = api_env.calls["messages.create"]
    assert 1 <= first < len(LAYOUT)
    with Folder.of(folder).ledger() as ledger:  # what was in flight finished and was recorded
        assert len(ledger.requests(status="succeeded")) == first
    api_env.update_config(messages_latency_s=0.0)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert api_env.calls["messages.create"] == len(LAYOUT)
