"""Helpers shared by the subcommands: errors, confirmation, JSON output, a terminal progress bar, folder checks."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import gaia
from gaia.limits import MAX_MAX_TOKENS, MIN_MAX_TOKENS


def add_parser(sub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    """Register a subcommand whose ``--help`` ends with an example."""
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def err(cmd: str, message: str) -> None:
    """Print ``gaia CMD: message`` on standard error."""
    print(f"gaia {cmd}: {message}", file=sys.stderr)


def confirm(cmd: str, question: str, yes: bool) -> bool:
    """Whether to go ahead: ``yes`` given, or the user answers y at an interactive terminal (never asks otherwise)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        err(cmd, "not asking on a non-interactive terminal; add --yes to go ahead")
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def confirm_send(cmd: str, question: str, yes: bool, folder: gaia.Folder, sends: Iterable[Any], *, batches: bool,
                 cascade: tuple[str, str] | None = None) -> bool:
    """``confirm`` before a send, whose Models check (``gaia.Folder.model_problem`` of each of ``sends``, plans or
    settings) is made first when the user would be asked: a model the key cannot use is said, and nothing is
    asked or sent. With ``yes`` the send's own check says it, as before."""
    for send in () if yes else sends:
        if (why := folder.model_problem(send, batches=batches, cascade=cascade)) is not None:
            err(cmd, why)
            return False
    return confirm(cmd, question, yes)


def counting_client() -> Any | None:
    """A client when ``ANTHROPIC_API_KEY`` is set (for exact token counts), else ``None``."""
    if not os.environ.get("ANTHROPIC_API_KEY"):
        return None
    try:
        return gaia.make_client()
    except (gaia.MissingApiKey, ImportError, ValueError):  # bad configuration: approximate counts instead
        return None


def count_prompt_for(folder: Any, settings: Any, client: Any | None = None) -> None:
    """Count the folder's prompt exactly when an API is reachable (``client``, else one from the
    environment), so this command's figures use the count ``gaia estimate`` uses."""
    client = client or counting_client()
    if client is None:
        return
    f = gaia.Folder(folder, client)
    try:
        profile = f.profile(settings.prompt_profile)
    except gaia.ProfileNotFound:
        return
    f.prompt_tokens(profile, settings.model)


def run_settings(args: argparse.Namespace, cmd: str) -> gaia.RunSettings | None:
    """The folder's run settings with ``--model`` and ``--max-tokens`` laid over; ``None`` after saying why
    the model is not offered."""
    settings = gaia.Folder(args.folder).settings()
    if args.model:
        if (why := gaia.not_offered_reason(args.model)) is not None:
            err(cmd, why)
            return None
        settings = replace(settings, model=args.model)
    if args.max_tokens:
        settings = replace(settings, max_tokens=args.max_tokens)
    return settings


def confirm_warnings(cmd: str, warnings: Any, yes: bool) -> bool:
    """Print each warning of a plan; when there is any, ask once more before sending (``yes`` answers it)."""
    warnings = tuple(warnings or ())
    for w in warnings:
        print(f"Warning: {w.message}")
    if not warnings:
        return True
    return confirm(cmd, "Send anyway, although answers may be cut off and billed?", yes)


def emit_json(data: Any, out: TextIO | None = None) -> None:
    """Print one JSON document for scripts."""
    out = out or sys.stdout
    json.dump(data, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


def max_tokens_arg(value: str) -> int:
    """argparse type: an answer length limit, held to the settings entry's own bounds."""
    try:
        n = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of tokens") from None
    if not MIN_MAX_TOKENS <= n <= MAX_MAX_TOKENS:
        raise argparse.ArgumentTypeError(f"the answer length limit must be between {MIN_MAX_TOKENS:,} and "
                                         f"{MAX_MAX_TOKENS:,} tokens, not {n:,}")
    return n


def add_max_tokens(p: argparse.ArgumentParser) -> None:
    """The one ``--max-tokens`` option (run, submit, retry, estimate), meaning what the settings entry means."""
    p.add_argument("--max-tokens", type=max_tokens_arg, metavar="N",
                   help="the answer length limit per video in tokens, thinking included (default: the folder's "
                        "setting, as on the Submit page); answers longer than this are cut off and still billed")


def positive_int(value: str) -> int:
    """argparse type: a whole number of at least 1."""
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def folder_arg(value: str) -> Path:
    """argparse type: an existing, readable folder."""
    path = Path(value).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value}: no such folder")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: not a folder")
    return path


class ProgressBar:
    """A one-line progress bar on a terminal (stderr); silent when stderr is not a terminal."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        frac = done / total if total else 1.0
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        elapsed = now - self.started
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {elapsed:5.1f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def progress_for(args: argparse.Namespace, label: str) -> Callable[[int, int], None]:
    """A progress callback: a bar on a terminal, nothing with ``--json``."""
    return ProgressBar(label, enabled=False if getattr(args, "json", False) else None)
