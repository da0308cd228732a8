"""The ``--skip-empty`` policy shared by ``gaia run``, ``gaia submit`` and ``gaia estimate``.

A skip is never silent: the command says how many clips it leaves out and which, with each one's
reason (text on standard error, so a ``--json`` document on standard output stays one document;
the JSON carries them too).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gaia
from gaia._cli._common import progress_for

SHOW = 20


def add_skip_empty(p: argparse.ArgumentParser) -> None:
    """Add ``--skip-empty`` to a subcommand."""
    p.add_argument("--skip-empty", action="store_true",
                   help="leave out clips the local check finds likely empty (score at or above the folder's "
                        "empty_threshold); the command lists every clip it leaves out")


def skip_empty(args: argparse.Namespace, cmd: str, folder: gaia.Folder, settings: gaia.RunSettings) -> dict[str, str]:
    """The clips ``--skip-empty`` leaves out (relative path → reason), said on standard error; ``{}`` without it."""
    if not getattr(args, "skip_empty", False):
        return {}
    found = folder.likely_empty(threshold=settings.empty_threshold,
                                on_progress=progress_for(args, "checking for empty clips"))
    print(skip_empty_line(cmd, found, settings.empty_threshold), file=sys.stderr)
    for rel, reason in list(found.items())[:SHOW]:
        print(f"  --  {rel}: {reason}", file=sys.stderr)
    if len(found) > SHOW:
        print(f"  ... and {len(found) - SHOW} more", file=sys.stderr)
    return found


def skip_empty_line(cmd: str, found: dict[str, str], threshold: float) -> str:
    """``gaia run: --skip-empty leaves out 3 likely-empty clip(s) (empty score at or above 0.75):``."""
    if not found:
        return f"gaia {cmd}: --skip-empty: no clip is likely empty at the threshold {threshold:g}; nothing left out"
    return (f"gaia {cmd}: --skip-empty leaves out {len(found)} likely-empty clip(s) "
            f"(empty score at or above {threshold:g}):")


def skip_empty_json(found: dict[str, str], threshold: float) -> dict[str, Any]:
    """The JSON form: how many, which and why."""
    return {"threshold": threshold, "count": len(found),
            "videos": [{"rel_path": rel, "reason": reason} for rel, reason in found.items()]}
