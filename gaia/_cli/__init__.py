"""The ``gaia`` command: one thin subcommand per module, each calling one public gaia function.

Subcommands live in ``gaia/_cli/<name>.py`` and expose ``register(subparsers)``; ``main`` wires
them together. Exit status is non-zero only when the command itself failed; per-file problems are
reported in the output.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import signal
import sqlite3
import sys
from collections.abc import Iterator

from gaia import DISK_FULL, PriceFileError, disk_full
from gaia.ledger import LedgerError, ledger_problem

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gaia`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except PriceFileError as exc:  # a user's price override file: say what is wrong, no traceback
        print(f"gaia {args.command}: {exc}", file=sys.stderr)
        return 2
    except LedgerError as exc:  # newer, locked too long: say so, change nothing
        print(f"gaia {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a full disk anywhere (ledger, sidecars, spool): one message and a stop
        where = getattr(args, "folder", None)
        if isinstance(exc, sqlite3.DatabaseError) and not disk_full(exc, where):
            print(f"gaia {args.command}: {ledger_problem(exc)}", file=sys.stderr)
            return 1
        if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            print(f"gaia {args.command}: cannot write {exc.filename or where} ({exc.strerror}), so GAIA stopped "
                  "without changing anything. Make the folder writable again and run the command again; nothing "
                  "recorded is lost.", file=sys.stderr)
            return 1
        if not disk_full(exc, where):
            raise
        where = where or "the folder and its working folder"
        print(f"gaia {args.command}: {DISK_FULL.format(cause=exc, where=where)}", file=sys.stderr)
        return 1
