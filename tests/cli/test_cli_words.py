"""Every error path of the CLI speaks in words: no Python class name, no ``None``, no argparse output
(issue 21 item 5). Each case runs the command in-process and greps everything it printed."""

from __future__ import annotations

import re

import pytest

from gaia._cli import COMMAND_MODULES, build_parser, main

# What a person must never read: a traceback, a class name (``PriceFileError: ...``), ``None``,
# argparse's own wording.
FORBIDDEN = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|\bNone\b|usage:|error: argument|"
                       r"invalid choice|invalid (?:int|float) value|expected one argument|unrecognized arguments")


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:
        code = int(stop.code or 0)
    got = capsys.readouterr()
    return code, got.out + got.err


def _check(argv: list[str], capsys) -> str:
    code, text = _run(argv, capsys)
    assert code != 0, (argv, text)
    assert text.strip(), argv
    assert not FORBIDDEN.search(text), (argv, text)
    return text


def test_every_command_is_covered():
    assert len(_commands()) == len(COMMAND_MODULES) + 6  # batch registers six commands, cost two


@pytest.mark.parametrize("cmd", _commands())
def test_bad_arguments_to_every_command_are_said_in_words(cmd, tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    cases = [[cmd, "--no-such-option"], [cmd, str(tmp_path / "missing")], [cmd, str(folder), "--max-cost", "abc"]]
    for argv in cases:
        code, text = _run(argv, capsys)
        if code == 0:  # the command took it (e.g. a DIR-less command): nothing to check
            continue
        assert not FORBIDDEN.search(text), (argv, text)


def test_error_paths_are_said_in_words(make_folder, tmp_path, capsys, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"})
    f = str(folder)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        ["nope"], ["submit"], ["submit", str(a_file)], ["submit", f, "--dry-run"],
        ["submit", f, "--max-tokens", "5"], ["run", f, "--concurrency", "0"], ["estimate", f, "--model", "nope"],
        ["submit", f, "--model", "nope"], ["submit", f, "--yes"], ["status", f], ["retrieve", f], ["run", f, "--yes"],
        ["cancel", f, "msgbatch_nope"], ["cost"], ["cost", "--csv", str(tmp_path / "missing.csv")],
        ["cost", "--model", "claude-nope", "--input-tokens", "5"], ["export", f, "--format", "nope"],
        ["export", f, "--format", "xmp", "--out", str(tmp_path / "x")], ["keyframes", f, "--frames", "many"],
    ]
    for argv in cases:
        _check(argv, capsys)


def test_a_bad_price_file_is_a_sentence_without_its_class(make_folder, tmp_path, capsys, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"})
    prices = tmp_path / "gaia-prices.toml"
    prices.write_text('[models.claude-sonnet-5-5]\ninput = "cheap"\n')
    monkeypatch.setenv("GAIA_PRICES_FILE", str(prices))
    for argv in (["estimate", str(folder)], ["submit", str(folder), "--dry-run", str(tmp_path / "r.jsonl")],
                 ["cost", "--model", "claude-sonnet-5-5", "--input-tokens", "5"]):
        text = _check(argv, capsys)
        assert "must be a number" in text, (argv, text)


def test_an_unforeseen_problem_is_a_sentence(make_folder, capsys, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"})

    def broken(*_a, **_k):
        raise KeyError(None)

    monkeypatch.setattr("gaia.face.scan_folder", broken)
    text = _check(["scan", str(folder)], capsys)
    assert "did not foresee" in text and "GAIA_DEBUG=1" in text
