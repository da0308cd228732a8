"""``gaia scan DIR``: list the folder's videos with their facts, sidecar state and problems."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import gaia
from gaia._cli._common import add_parser, emit_json, folder_arg, progress_for
from gaia.views import display_name as shown
from gaia.views import empty_fields


def register(sub: Any) -> None:
    """Add the ``scan`` subcommand."""
    p = add_parser(sub, "scan", "Scan a folder (recursively) for videos and report what GAIA can use.",
                   "gaia scan ~/Videos/pets --json > scan.json")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder to scan")
    p.add_argument("--check-empty", action="store_true",
                   help="also run the local check for likely-empty clips on videos never checked (decodes each "
                        "video once, small); without it, scores come from the cache (null: not checked yet)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print; exit 1 only when the folder itself cannot be scanned."""
    try:
        result = gaia.Folder(args.folder).scan(on_progress=progress_for(args, "probing"))
    except gaia.FolderError as exc:
        print(f"gaia scan: {exc}", file=sys.stderr)
        return 1
    scores = gaia.Folder(args.folder).empty_scores(result.records, measure_missing=args.check_empty,
                          on_progress=progress_for(args, "checking for empty clips"))
    threshold = gaia.Folder(args.folder).settings().empty_threshold
    if args.json:
        emit_json({"folder": str(result.folder), "summary": result.summary(), "empty_threshold": threshold,
                   "videos": [{**r.to_dict(), **empty_fields(scores.get(r.rel_path), threshold)}
                              for r in result.records]})
        return 0
    for r in result.records:
        if r.usable:
            size = f"{r.width}x{r.height}" + (f" rot{r.rotation}" if r.rotation else "")
            score = scores.get(r.rel_path)
            empty = f"  [likely empty: {score.reason}]" if score is not None and score.likely_empty(threshold) else ""
            print(f"  ok  {shown(r.rel_path)}  {gaia.format.length(r.duration)}  {size}  {r.fps or 0:.3g} fps  "
                  f"{r.codec}  [{r.sidecar_state}]{empty}")
        else:
            print(f"  !!  {shown(r.rel_path)}: {r.problem}")
    s = result.summary()
    print(f"{s['videos']} videos, {s['usable']} usable, {s['problems']} with problems, "
          f"{gaia.format.length(s['total_duration_s'])} in all, {gaia.format.size(s['total_size_bytes'])}; "
          f"{s['analysed']} analysed with the current settings")
    for d in result.unreadable_dirs:
        print(f"  !!  folder {d}: permission denied, skipped")
    for note in result.notes:
        print(f"  --  {note}")
    return 0
