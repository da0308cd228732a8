"""The ``gaia`` command: one thin subcommand per module, each calling one public gaia function.

Subcommands live in ``gaia/_cli/<name>.py`` and expose ``register(subparsers)``; ``main`` wires
them together. Exit status is non-zero only when the command itself failed; per-file problems are
reported in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from gaia.facts import PriceFileError
from gaia.fsutil import DISK_FULL, disk_full

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
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="gaia",
        description="Turn a folder of videos into one structured Claude analysis per video.",
        epilog="Run 'gaia COMMAND --help' for a command's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"gaia._cli.{name}").register(sub)
    return parser


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
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PriceFileError as exc:  # a user's price override file: say what is wrong, no traceback
        print(f"gaia {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a full disk anywhere (ledger, sidecars, spool): one message and a stop
        where = getattr(args, "folder", None)
        if not disk_full(exc, where):
            raise
        where = where or "the folder and its working folder"
        print(f"gaia {args.command}: {DISK_FULL.format(cause=exc, where=where)}", file=sys.stderr)
        return 1
