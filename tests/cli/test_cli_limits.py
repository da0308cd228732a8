"""One answer length limit and one estimate (issue 21 items 3 and 4), through the CLI against the emulator.

``--max-tokens`` means the settings entry on run, submit, retry and estimate; a retry sends the
limit in force now (checked in the requests the emulator received); answers cut off at the limit
are kept out of what the output estimate learns; a limit below the need is a warning; and
``gaia estimate`` and ``gaia submit --dry-run`` price the same folder at the same total.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gaia._cli import main
from gaia.folder import Folder
from gaia.pricing.bill import history
from gaia.pricing.estimate import estimate_folder

LAYOUT = {"a.mp4": "testsrc", "b.mp4": "mov"}


def _sent_max_tokens(emulator) -> list[int]:
    """``max_tokens`` of every request the emulator received in a batch, in batch order."""
    out = []
    for meta in sorted((emulator.state_dir / "batches").glob("*/meta.json"), key=lambda p: p.stat().st_mtime):
        for line in (meta.parent / "requests.jsonl").read_text().splitlines():
            out.append(json.loads(line)["params"]["max_tokens"])
    return out


def _set_limit(folder, n: int) -> None:
    f = Folder(folder)
    f.save_settings(replace(f.settings(), max_tokens=n))


def test_a_raised_limit_is_what_a_batch_retry_sends(ready_folder, api_env, capsys):
    folder = ready_folder(LAYOUT)
    _set_limit(folder, 1024)
    api_env.update_config(max_tokens_rate=1.0)  # every answer cut off at the limit
    assert main(["submit", str(folder), "--yes"]) == 0
    api_env.advance_clock(3600)
    main(["retrieve", str(folder)])
    assert _sent_max_tokens(api_env) == [1024, 1024]
    h = history(folder)
    assert h.output_tokens == () and len(h.cut_off) == 2  # cut-off answers are not learnt, but counted apart

    api_env.update_config(max_tokens_rate=0.0)
    _set_limit(folder, 8192)
    capsys.readouterr()
    assert main(["retry", str(folder), "--yes"]) == 0
    assert _sent_max_tokens(api_env)[2:] == [8192, 8192]


def test_max_tokens_on_retry_and_run_retry_failed(ready_folder, api_env, capsys):
    folder = ready_folder(LAYOUT)
    _set_limit(folder, 1024)
    api_env.update_config(max_tokens_rate=1.0)
    main(["run", str(folder), "--yes"])
    api_env.update_config(max_tokens_rate=0.0)
    assert main(["run", str(folder), "--retry-failed", "--yes", "--max-tokens", "4096"]) == 0
    with Folder(folder).ledger() as ledger:
        runs = ledger.runs()  # newest first
    assert runs[0].settings["max_tokens"] == 4096 and runs[1].settings["max_tokens"] == 1024
    assert Folder(folder).settings().max_tokens == 1024  # the option is for this command only


def test_max_tokens_is_checked_like_the_setting(ready_folder, capsys):
    folder = ready_folder({"a.mp4": "testsrc"})
    for cmd in ("run", "submit", "retry", "estimate"):
        with pytest.raises(SystemExit):
            main([cmd, str(folder), "--max-tokens", "100"])
        err = capsys.readouterr().err
        assert "between 256 and 64,000 tokens" in err, cmd


def test_a_limit_below_the_need_is_a_warning_and_sending_asks_once_more(ready_folder, api_env, capsys,
                                                                         monkeypatch):
    folder = ready_folder(LAYOUT)
    assert main(["estimate", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []  # the default limit covers the schema's need
    assert main(["estimate", str(folder), "--json", "--max-tokens", "256"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [w] = doc["warnings"]
    assert w["code"] == "max_tokens_below_need" and w["max_tokens"] == 256 and w["need_tokens"] > 256
    assert w["need_source"] == "schema" and "256" in w["message"]
    assert main(["estimate", str(folder), "--max-tokens", "256"]) == 0
    assert "Warning: The answer length limit (max_tokens 256)" in capsys.readouterr().out

    answers = iter(["y", "n"])  # yes to the cost, no to the warning: nothing is sent
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda _q: next(answers))
    assert main(["submit", str(folder), "--max-tokens", "256"]) == 1
    out = capsys.readouterr().out
    assert "Warning: The answer length limit" in out
    assert not Folder(folder).has_ledger or not _sent_max_tokens(api_env)


def test_estimate_and_a_dry_run_price_the_folder_alike(ready_folder, api_env, tmp_path, capsys):
    folder = ready_folder(LAYOUT)
    assert main(["estimate", str(folder), "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["text_tokens"]["exact"] is True  # an API is reachable: count_tokens
    assert main(["submit", str(folder), "--dry-run", str(tmp_path / "r.jsonl"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["estimate_usd"] == pytest.approx(est["total_usd"], rel=1e-9)
    # the library's one estimate of a folder gives the same figure
    assert estimate_folder(folder).scenario("batch_caching").total_usd == pytest.approx(est["total_usd"], rel=1e-9)


def test_without_an_api_every_figure_says_approximate(ready_folder, tmp_path, capsys):
    folder = ready_folder({"a.mp4": "testsrc"})
    assert main(["estimate", str(folder), "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["text_tokens"]["exact"] is False
    assert main(["submit", str(folder), "--dry-run", str(tmp_path / "r.jsonl"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["estimate_usd"] == pytest.approx(est["total_usd"], rel=1e-9)
