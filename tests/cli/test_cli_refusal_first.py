"""Every CLI command that asks "Send…?" makes the send's own Models check before it asks: a model the key cannot
use is said first, and nothing is asked, sent or written to the ledger; the yes it hears serves the send (the
endpoint asked once per model), an endpoint that cannot be reached concludes nothing, and without a key nothing
changes."""

from __future__ import annotations

from pathlib import Path

import pytest

import gaia
from gaia._cli import main
from gaia.emulator import HttpFault
from gaia.folder import Folder
from gaia.settings import RunSettings
from tests.media.empty_clips import trap_folder
from tests.runs.test_every_way_of_paying import _RefusesModel

PAID = ("messages.create", "batches.create", "files.upload")
NOT_OFFERED = HttpFault(route="models.retrieve", status=404, count=None)  # the API does not offer it to this key
UNREACHABLE = HttpFault(route="models.retrieve", status=500, count=None)
CHEAP = "claude-haiku-5-5:economy"


class _Terminal:
    """An interactive terminal whose user answers ``answer`` to every question, and remembers being asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: str = "y") -> None:
        self.asked: list[str] = []
        monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
        monkeypatch.setattr("builtins.input", self._input)
        self.answer = answer

    def _input(self, question: str) -> str:
        self.asked.append(question)
        return self.answer


def _paid(emulator) -> int:
    return sum(emulator.calls.get(route, 0) for route in PAID)


def _ledger_rows(folder: Path) -> tuple[int, int]:
    f = Folder.of(folder)
    if not f.has_ledger:
        return 0, 0
    with f.ledger() as ledger:
        return len(ledger.runs()), len(ledger.requests())


@pytest.fixture
def folder(make_folder) -> Path:
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "mov"})
    Folder.of(folder).save_settings(RunSettings().with_keyframes(count=2))
    return folder


@pytest.fixture
def failed(folder: Path, api_env, capsys: pytest.CaptureFixture) -> Path:
    """The folder after a batch whose every request failed: something for ``retry`` and ``run --retry-failed``."""
    api_env.update_config(errored_rate=1.0)
    assert main(["submit", str(folder), "--yes"]) == 0
    assert main(["watch", str(folder), "--poll", "0.2"]) in (0, 1)
    assert len(gaia.Folder(folder).failures()) == 2
    api_env.update_config(errored_rate=0.0)
    capsys.readouterr()
    return folder


def _refused_before_asking(args: list[str], folder: Path, emulator, monkeypatch, capsys) -> None:
    emulator.update_config(http_faults=[NOT_OFFERED])
    terminal = _Terminal(monkeypatch)
    paid, rows, asked = _paid(emulator), _ledger_rows(folder), emulator.calls.get("models.retrieve", 0)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "does not offer" in err and "to this key" in err and "nothing was sent" in err, err
    assert terminal.asked == []  # the refusal came first: the user was never asked
    assert _paid(emulator) == paid and not emulator.billed
    assert _ledger_rows(folder) == rows  # no run, no request written
    assert emulator.calls["models.retrieve"] == asked + 1  # one check, made once


@pytest.mark.parametrize("command", [["submit"], ["run"], ["submit", "--cascade", CHEAP], ["run", "--cascade", CHEAP]])
def test_a_model_the_key_cannot_use_is_said_before_the_user_is_asked(folder, api_env, monkeypatch, capsys, command):
    _refused_before_asking([command[0], str(folder), *command[1:]], folder, api_env, monkeypatch, capsys)


@pytest.mark.parametrize("command", [["retry"], ["run", "--retry-failed"]])
def test_retries_say_it_before_the_user_is_asked(failed, api_env, monkeypatch, capsys, command):
    _refused_before_asking([command[0], str(failed), *command[1:]], failed, api_env, monkeypatch, capsys)
    assert len(gaia.Folder(failed).failures()) == 2  # still there to retry


def test_the_likely_empty_sample_says_it_before_the_user_is_asked(tmp_path, api_env, monkeypatch, capsys):
    folder = trap_folder(tmp_path / "trap", extract=False)
    _refused_before_asking(["empty-sample", str(folder)], folder, api_env, monkeypatch, capsys)


@pytest.mark.parametrize("command", ["submit", "run"])
def test_a_cascade_whose_second_pass_model_is_refused_is_said_before_asking(folder, api_env, monkeypatch, capsys,
                                                                           command):
    """The strong model is refused, the cheap one offered: the check asks both, as the first pass's send would."""
    import anthropic

    strong = Folder.of(folder).settings().model
    monkeypatch.setattr(gaia, "make_client", lambda: _RefusesModel(
        anthropic.Anthropic(base_url=api_env.base_url, api_key="test-key", max_retries=0), strong))
    terminal = _Terminal(monkeypatch)
    assert main([command, str(folder), "--cascade", CHEAP]) == 1
    err = capsys.readouterr().err
    assert "The cascade's second pass: " in err and "does not offer" in err, err
    assert terminal.asked == [] and _paid(api_env) == 0 and _ledger_rows(folder) == (0, 0)
    assert api_env.calls["models.retrieve"] == 2  # the cheap model, then the strong one


@pytest.mark.parametrize("command", [["submit"], ["run"]])
def test_the_yes_heard_before_asking_serves_the_send(folder, api_env, monkeypatch, capsys, command):
    terminal = _Terminal(monkeypatch)
    assert main([command[0], str(folder)]) == 0, capsys.readouterr().err
    assert len(terminal.asked) == 1 and terminal.asked[0].startswith("Send 2 ")
    assert api_env.calls["models.retrieve"] == 1  # asked before the question, not again by the send
    assert _paid(api_env) >= 1


def test_a_run_now_cascade_asks_each_model_once_before_its_first_pass(folder, api_env, monkeypatch, capsys):
    terminal = _Terminal(monkeypatch)
    assert main(["run", str(folder), "--cascade", CHEAP]) == 0, capsys.readouterr().err
    assert len(terminal.asked) == 1
    # both models asked before the question; the first pass's own check heard them then; a second pass, if any
    # video was uncertain, is a later send and asks its model again
    second = any(r.note == "cascade pass 2" for r in _runs(folder))
    assert api_env.calls["models.retrieve"] == 2 + second


def _runs(folder: Path) -> list:
    with Folder.of(folder).ledger() as ledger:
        return ledger.runs()


def test_an_endpoint_that_cannot_be_reached_concludes_nothing(folder, api_env, monkeypatch, capsys):
    api_env.update_config(http_faults=[UNREACHABLE])
    terminal = _Terminal(monkeypatch)
    assert main(["run", str(folder)]) == 0, capsys.readouterr().err
    assert len(terminal.asked) == 1  # asked as before, and the send went
    # before asking, and again by the send (nothing was kept), each time tried as the SDK retries (2 retries)
    assert api_env.calls["models.retrieve"] == 2 * 3
    assert api_env.calls["messages.create"] == 2


def test_the_user_saying_no_sends_nothing(folder, api_env, monkeypatch, capsys):
    terminal = _Terminal(monkeypatch, answer="n")
    assert main(["submit", str(folder)]) == 1
    assert len(terminal.asked) == 1 and _paid(api_env) == 0 and _ledger_rows(folder) == (0, 0)


def test_with_yes_the_send_itself_refuses_as_before(folder, api_env, capsys):
    api_env.update_config(http_faults=[NOT_OFFERED])
    assert main(["submit", str(folder), "--yes"]) == 1
    assert "does not offer" in capsys.readouterr().err
    assert api_env.calls["models.retrieve"] == 1 and _paid(api_env) == 0 and _ledger_rows(folder) == (0, 0)


def test_without_a_key_nothing_changes(folder, emulator, monkeypatch, capsys, tmp_path):
    """No key: the send commands say so without asking anything or checking any model; a dry run (approximate
    counts) writes its requests without either."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    terminal = _Terminal(monkeypatch)
    for args in (["run", str(folder)], ["submit", str(folder)], ["run", str(folder), "--cascade", CHEAP]):
        assert main(args) == 2
        assert "ANTHROPIC_API_KEY" in capsys.readouterr().err
    out = tmp_path / "requests.jsonl"
    assert main(["submit", str(folder), "--dry-run", str(out)]) == 0
    assert out.exists() and "nothing was sent" in capsys.readouterr().out
    assert terminal.asked == [] and "models.retrieve" not in emulator.calls and _paid(emulator) == 0


def _tune_models(folder: Path) -> dict[str, int]:
    """The tune's configurations per model, as a dry run plans them (nothing sent)."""
    planned = gaia.Folder(folder).tune(dry_run=True, n=2)
    counts: dict[str, int] = {}
    for r in planned.results:
        counts[r.config.model] = counts.get(r.config.model, 0) + 1
    return counts


def test_the_tune_says_every_refused_model_before_asking_and_asks_nothing_when_all_are(folder, api_env, monkeypatch,
                                                                                          capsys):
    models = _tune_models(folder)
    assert len(models) >= 2  # the ladder weighs more than one model
    api_env.update_config(http_faults=[NOT_OFFERED])
    terminal = _Terminal(monkeypatch)
    assert main(["tune", str(folder), "--sample", "2"]) == 1
    err = capsys.readouterr().err
    for model, n in models.items():
        assert f"({model}) to this key" in err and f"leaves out its {n} configuration(s)" in err, err
    assert terminal.asked == [] and _paid(api_env) == 0 and not api_env.billed
    assert api_env.calls["models.retrieve"] == len(models)  # each model asked once


def test_the_tune_says_the_one_refused_model_then_asks(folder, api_env, monkeypatch, capsys):
    """The reference model refused, the others offered: that is said first, then the user is asked (and says no)."""
    import anthropic

    models = _tune_models(folder)
    refused = Folder.of(folder).settings().model
    assert refused in models
    monkeypatch.setattr(gaia, "make_client", lambda: _RefusesModel(
        anthropic.Anthropic(base_url=api_env.base_url, api_key="test-key", max_retries=0), refused))
    terminal = _Terminal(monkeypatch, answer="n")
    assert main(["tune", str(folder), "--sample", "2"]) == 1
    err = capsys.readouterr().err
    assert f"({refused}) to this key" in err and f"leaves out its {models[refused]} configuration(s)" in err, err
    assert sum("to this key" in line for line in err.splitlines()) == 1  # only that model
    assert terminal.asked == ["Send the tune now? [y/N] "] and _paid(api_env) == 0
