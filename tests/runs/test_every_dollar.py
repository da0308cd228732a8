"""Every dollar counted (issue 22, item 8): SIGTERM drains run-now requests in flight like Ctrl-C, and
requests possibly billed (killed in flight, a dropped connection) are in every spend total, shown apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gaia.folder import Folder
from gaia.pricing.bill import folder_spend
from gaia.runs.recovery import plan_run_now
from gaia.sidecar import read_sidecar
from gaia.views.spent import spent_metric

NAMES = [f"clip{i}.mp4" for i in range(6)]


@pytest.fixture
def cli_env(emulator) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=emulator.base_url)
    return env


def _start_run(folder, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gaia", "run", str(folder), "--yes", "--concurrency", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_calls(emulator, n: int) -> None:
    deadline = time.monotonic() + 60
    while emulator.calls.get("messages.create", 0) < n:
        assert time.monotonic() < deadline, emulator.calls
        time.sleep(0.05)


def test_sigterm_drains_requests_in_flight_like_ctrl_c(make_folder, emulator, cli_env):
    folder = make_folder(dict.fromkeys(NAMES, "testsrc"))
    emulator.update_config(messages_latency_s=2.0)
    proc = _start_run(folder, cli_env)
    _wait_for_calls(emulator, 2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    answered = [n for n in NAMES if read_sidecar(folder / n)]
    assert len(answered) == emulator.calls["messages.create"] >= 2  # every request sent was answered, recorded
    with Folder(folder).ledger() as ledger:
        assert not ledger.in_flight()
    emulator.update_config(messages_latency_s=0.0)
    again = subprocess.run([sys.executable, "-m", "gaia", "run", str(folder), "--yes"], env=cli_env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(read_sidecar(folder / n) for n in NAMES)
    assert emulator.calls["messages.create"] == len(NAMES)  # nothing paid twice
    assert folder_spend(folder).possibly_billed_usd == 0


def test_requests_killed_in_flight_are_in_every_spend_total(make_folder, emulator, cli_env):
    folder = make_folder(dict.fromkeys(NAMES[:3], "testsrc"))
    emulator.update_config(messages_latency_s=3.0)
    proc = _start_run(folder, cli_env)
    _wait_for_calls(emulator, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    plan_run_now(folder)  # the next start closes the open rows as interrupted, possibly billed
    spend = folder_spend(folder)
    assert spend.possibly_billed_usd > 0 and spend.total_usd >= spend.possibly_billed_usd
    metric = spent_metric(folder, spend)
    assert "possibly billed" in metric.help
    shown = subprocess.run([sys.executable, "-m", "gaia", "spent", str(folder)], env=cli_env, capture_output=True,
                           text=True, timeout=60)
    assert "possibly billed" in shown.stdout, shown.stdout + shown.stderr
    as_json = json.loads(subprocess.run([sys.executable, "-m", "gaia", "spent", str(folder), "--json"], env=cli_env,
                                        capture_output=True, text=True, timeout=60).stdout)
    assert as_json["possibly_billed_usd"] == pytest.approx(spend.possibly_billed_usd)


def test_a_dropped_connection_is_counted_as_possibly_billed(tmp_path, fake_ksets, anthropic_client, emulator):
    from gaia.ledger import Ledger
    from gaia.runs import now as O
    from gaia.settings import RunSettings

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"], frames=1)
    plan = plan_run_now(folder, RunSettings(), keyframe_sets=ksets)
    real = anthropic_client.messages.create
    calls: list[int] = []

    def drop_once(**params):
        calls.append(1)
        if len(calls) == 1:
            real(**params)  # the API answered (and billed) but the connection dropped before the answer arrived
            import anthropic
            import httpx2 as httpx
            raise anthropic.APIConnectionError(request=httpx.Request("POST", "http://x"))
        return real(**params)

    class Client:
        def __init__(self, inner):
            self.messages = type("M", (), {"create": staticmethod(drop_once)})()
            self._inner = inner

        def with_options(self, **kw):
            return self

    res = O.run_now(folder, plan, Client(anthropic_client), sleep=lambda s: None)
    assert res.succeeded == 1 and len(calls) == 2
    spend = folder_spend(folder)
    with Ledger(Folder(folder).ledger_path) as ledger:
        (row,) = ledger.requests()
    assert row.possibly_billed_usd and spend.possibly_billed_usd == pytest.approx(row.possibly_billed_usd)
    assert spend.total_usd > spend.possibly_billed_usd
