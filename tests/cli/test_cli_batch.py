"""``gaia submit|status|watch|retrieve|retry|cancel`` against the emulator, in-process."""

from __future__ import annotations

import json

import anthropic
import pytest

from gaia._cli import build_parser, main
from gaia.folder import Folder
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar

COMMANDS = ["submit", "status", "watch", "retrieve", "retry", "cancel"]
LAYOUT = {"a.mp4": "testsrc", "sub dir/b ü.MOV": "mov", "c.mkv": "mkv"}




@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_has_an_example(cmd, capsys):
    with pytest.raises(SystemExit):
        main([cmd, "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and f"gaia {cmd} " in out


def test_commands_are_registered():
    text = build_parser().format_help()
    for cmd in COMMANDS:
        assert cmd in text


def test_dry_run_needs_no_key_and_uses_saved_settings(make_folder, tmp_path, capsys):
    folder = make_folder(LAYOUT)
    Folder.of(folder).save_settings(RunSettings(model="claude-haiku-5-5", cache_ttl="5m"))
    out = tmp_path / "requests.jsonl"
    assert main(["submit", str(folder), "--dry-run", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 3
    assert {r["params"]["model"] for r in lines} == {"claude-haiku-5-5"}
    assert {r["params"]["system"][1]["cache_control"]["ttl"] for r in lines} == {"5m"}
    assert "Wrote 3 requests" in capsys.readouterr().out
    assert main(["submit", str(folder), "--dry-run", str(out), "--model", "claude-opus-5-5"]) == 0
    assert json.loads(out.read_text().splitlines()[0])["params"]["model"] == "claude-opus-5-5"
    assert main(["submit", str(folder), "--model", "claude-nope"]) == 2


def test_no_key_is_a_plain_error(make_folder, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    for cmd in (["submit", str(folder), "--yes"], ["status", str(folder)], ["retrieve", str(folder)]):
        assert main(cmd) == 2
        assert "ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_submit_asks_and_refuses_without_a_terminal(make_folder, api_env, capsys, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"})
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(["submit", str(folder)]) == 1
    assert "--yes" in capsys.readouterr().err
    client = anthropic.Anthropic(base_url=api_env.base_url, api_key="k")
    assert list(client.messages.batches.list()) == []


def test_spend_cap_blocks(make_folder, api_env, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["submit", str(folder), "--yes", "--max-cost", "0.000001"]) == 1
    assert "cap" in capsys.readouterr().err
    client = anthropic.Anthropic(base_url=api_env.base_url, api_key="k")
    assert list(client.messages.batches.list()) == []


def test_a_model_the_key_cannot_use_is_refused_and_nothing_sent(make_folder, api_env, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    api_env.update_config(http_faults=["models.retrieve:404:*"])  # the API does not offer the model to this key
    assert main(["submit", str(folder), "--yes"]) == 1
    assert "does not offer" in capsys.readouterr().err
    assert "batches.create" not in api_env.calls
    with Folder(folder).ledger() as ledger:
        assert ledger.runs() == [] and ledger.requests() == []
    api_env.update_config(http_faults=[])
    assert main(["submit", str(folder), "--yes"]) == 0 and api_env.calls["batches.create"] == 1


def test_submit_watch_retry_cycle(make_folder, api_env, capsys):
    api_env.update_config(errored_rate=0.5, seed=11)
    folder = make_folder(LAYOUT)
    assert main(["submit", str(folder), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "To send: 3 videos" in out and "sent  msgbatch_" in out and "Estimated cost" in out
    assert main(["status", str(folder), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert len(status["batches"]) == 1 and status["batches"][0]["requests"] == 3
    main(["watch", str(folder), "--poll", "0.1"])
    out = capsys.readouterr().out
    assert "Every batch has ended." in out
    written = {rel for rel in LAYOUT if read_sidecar(folder / rel)}
    assert len(written) < 3  # the injected errors fail some
    assert "gaia retry" in out
    api_env.update_config(errored_rate=0.0)
    assert main(["retry", str(folder), "--yes"]) == 0
    assert "Sent" in capsys.readouterr().out
    assert main(["watch", str(folder), "--poll", "0.1"]) == 0
    assert all(read_sidecar(folder / rel) for rel in LAYOUT)
    assert main(["retry", str(folder)]) == 0
    assert "Nothing to retry" in capsys.readouterr().out
    assert main(["submit", str(folder), "--yes"]) == 0
    assert "already analysed: 3" in capsys.readouterr().out
    assert main(["retrieve", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["retrieve"]["written"] == 0


def test_cancel(make_folder, api_env, capsys):
    api_env.update_config(batch_delay_s=60)
    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["submit", str(folder), "--yes", "--json"]) == 0
    batch_id = json.loads(capsys.readouterr().out)["result"]["batches"][0]["batch_id"]
    assert main(["cancel", str(folder), "msgbatch_unknown"]) == 1
    assert "not one of this folder's batches" in capsys.readouterr().err
    assert main(["cancel", str(folder), batch_id]) == 0
    assert "Batch" in capsys.readouterr().out
    assert main(["status", str(folder), "--offline", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["batches"][0]["processing_status"] in ("canceling", "ended")


def test_submit_with_uploaded_frames(make_folder, api_env, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["submit", str(folder), "--yes", "--upload-frames"]) == 0
    out = capsys.readouterr().out
    assert "referenced by file_id" in out and "Note:" in out
    client = anthropic.Anthropic(base_url=api_env.base_url, api_key="k")
    assert len(client.files.list().data) == 6
    assert main(["watch", str(folder), "--poll", "0.1"]) == 0
    assert read_sidecar(folder / "a.mp4")


def test_a_failed_create_is_told_once_and_says_nothing_was_sent(make_folder, api_env, capsys):
    from gaia.emulator import HttpFault

    folder = make_folder({"a.mp4": "testsrc"})
    api_env.update_config(http_faults=[HttpFault(route="batches.create", status=400, count=None)])
    assert main(["submit", str(folder), "--yes"]) == 1
    out = capsys.readouterr().out
    assert out.count("not created") == 1 and "Nothing was sent" in out and "gaia watch" not in out


def test_a_second_watch_says_so_and_waits_for_the_first(make_folder, api_env, capsys, monkeypatch):
    import contextlib

    from gaia._cli import batch as cli_batch
    from gaia.folder import LOCK_WATCH

    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["submit", str(folder), "--yes"]) == 0
    first = contextlib.ExitStack()
    first.enter_context(Folder.of(folder).lock(LOCK_WATCH))  # another `gaia watch` is watching
    waits: list[float] = []

    class Clock:
        @staticmethod
        def sleep(s: float) -> None:  # the first watch finishes while the second waits
            waits.append(s)
            first.close()

    monkeypatch.setattr(cli_batch, "time", Clock)
    assert main(["watch", str(folder), "--poll", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "Another gaia watch is already watching" in out and len(waits) == 1
    assert read_sidecar(folder / "a.mp4")
