"""The ``gaia`` command: one thin subcommand per module, each calling one public gaia function.

Subcommands live in ``gaia/_cli/<name>.py`` and expose ``register(subparsers)``; ``main`` wires
them together. Exit status is non-zero only when the command itself failed; per-file problems are
reported in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import signal
import sys
from collections.abc import Iterator
from typing import NoReturn

import gaia
from gaia.format import error_text
from gaia.views import command_problem

# Each name is a module in this package with a ``register(subparsers)`` function.
COMMAND_MODULES = (
    "scan",
    "keyframes",
    "emulator",
    "cost",
    "batch",
    "demo",
    "run",
    "export",
    "tune",
    "spent",
    "empty",
)


_PARSER_SAYS = (  # argparse's messages, and the same in words
    (re.compile(r"^the following arguments are required: (.+)$"), lambda m: f"missing {m[1]}"),
    (re.compile(r"^argument (\S+): invalid choice: '(.*)' \(choose from (.+)\)$"),
     lambda m: f"{m[1]} must be one of {m[3].replace(chr(39), '')}, not '{m[2]}'"),
    (re.compile(r"^argument (\S+): invalid (?:int|float) value: '(.*)'$"),
     lambda m: f"{m[1]} takes a number, not '{m[2]}'"),
    (re.compile(r"^argument (\S+): expected one argument$"), lambda m: f"{m[1]} needs a value"),
    (re.compile(r"^argument (\S+): ignored explicit argument '(.*)'$"), lambda m: f"{m[1]} takes no value"),
    (re.compile(r"^unrecognized arguments: (.+)$"), lambda m: f"unknown option or extra argument: {m[1]}"),
    (re.compile(r"^argument (\S+?)(?:/\S+)?: (.+)$"), lambda m: m[2]),
)


def parser_words(message: str) -> str:
    """An argparse error message in plain words (the message itself when it is one of GAIA's own)."""
    for pattern, words in _PARSER_SAYS:
        match = pattern.match(message)
        if match:
            return words(match)
    return message


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors said in words (no usage dump, no ``error: argument ...``)."""

    def error(self, message: str) -> NoReturn:
        name = self.prog.removeprefix("gaia").strip() or "gaia"
        prefix = "gaia" if name == "gaia" else f"gaia {name}"
        hint = "gaia --help" if name == "gaia" else f"gaia {name} --help"
        self.exit(2, f"{prefix}: {parser_words(message)}. See '{hint}' for the options.\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _Parser(
        prog="gaia",
        description="Turn a folder of videos into one structured Claude analysis per video.",
        epilog="Run 'gaia COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"gaia {gaia.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"gaia._cli.{name}").register(sub)
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a command the way Ctrl-C does: requests in flight finish and are recorded, nothing
    more is sent (a service manager's stop, ``kill``, a closed terminal session)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _any_name_prints() -> None:
    """A file name that is not UTF-8 never stops a command: on standard output (data: CSV, JSONL, paths)
    its bytes are written as they are; on standard error (messages) they are shown escaped."""
    for stream, errors in ((sys.stdout, "surrogateescape"), (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=errors)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gaia`` console script; returns the exit status."""
    _any_name_prints()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        cmd = f"gaia {args.command}" if getattr(args, "command", None) else "gaia"
        print(f"{cmd}: unknown option or extra argument: {' '.join(extra)}. See '{cmd} --help' for the options.",
              file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a price file, the ledger, a read-only or full disk: one sentence and a stop
        known = command_problem(exc, getattr(args, "folder", None))
        if known is not None:
            print(f"gaia {args.command}: {known[0]}", file=sys.stderr)
            return known[1]
        if os.environ.get("GAIA_DEBUG"):
            raise
        print(f"gaia {args.command}: the command stopped on a problem GAIA did not foresee: {error_text(exc)}. "
              "Nothing recorded before it is lost; run it again with GAIA_DEBUG=1 to see the details, and "
              "please report them.", file=sys.stderr)
        return 1
