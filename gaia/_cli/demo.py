"""``gaia demo``: make the demo folder (short animal clips, first use only) and print its path."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gaia
from gaia._cli._common import add_parser, emit_json, progress_for


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = add_parser(sub, "demo", "Make the demo folder (five short animal clips, made once into your cache) and "
                   "print its path.",
                   'gaia demo && gaia scan "$(gaia demo)"')
    p.add_argument("--force", action="store_true", help="make the clips again (analyses in the folder are lost)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the demo folder's path (made first if needed); exit 1 when it cannot be written."""
    try:
        folder = gaia.ensure_demo_folder(on_progress=progress_for(args, "making demo clips"), force=args.force)
    except OSError as exc:
        print(f"gaia demo: the demo folder could not be made: {exc}. Point XDG_CACHE_HOME at a folder you may "
              "write to.", file=sys.stderr)
        return 1
    if args.json:
        videos = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in gaia.limits.VIDEO_EXTENSIONS)
        emit_json({"folder": str(folder), "videos": videos})
    else:
        print(folder)
    return 0
