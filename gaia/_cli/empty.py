"""``gaia empty-sample DIR``: send a sample of the likely-empty clips anyway, and measure how many had a subject.

The sample is ``gaia.runs.levers.measure_misses``, the one home of the miss rate: ``gaia tune DIR
--empty-sample N`` (and the Tune page) send it through the same code, within the tune's budget.
"""

from __future__ import annotations

import argparse
from typing import Any

import gaia
from gaia._cli._common import add_parser, confirm_send, emit_json, err, folder_arg, progress_for
from gaia.limits import DEFAULT_MISS_SAMPLE


def register(sub: Any) -> None:
    """Add the ``empty-sample`` subcommand."""
    p = add_parser(sub, "empty-sample",
                   "Send a sample of the likely-empty clips now and report how many had a subject (the miss rate; "
                   "gaia tune --empty-sample N does the same within a tune).",
                   "gaia empty-sample ~/Videos/trap --sample 12 --max-cost 1 --yes")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--sample", type=int, default=DEFAULT_MISS_SAMPLE, metavar="N",
                   help=f"clips to send, spread over the likely-empty ones (default {DEFAULT_MISS_SAMPLE})")
    p.add_argument("--max-cost", type=float, metavar="USD", help="refuse or stop before spending more than USD")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Confirm, send the sample, print the miss rate with its interval."""
    folder = gaia.Folder(args.folder)
    settings = folder.settings()
    if args.sample < 1:
        err("empty-sample", "--sample must be at least 1")
        return 2
    flagged = list(folder.likely_empty(threshold=settings.empty_threshold,
                                       on_progress=progress_for(args, "checking for empty clips")))
    if not flagged:
        if args.json:
            emit_json({"likely_empty": 0, "miss_rate": None})
        else:
            print(f"No clip is likely empty at the threshold {settings.empty_threshold:g}: nothing to sample.")
        return 0
    try:
        folder.client = gaia.make_client()
    except gaia.MissingApiKey as exc:
        err("empty-sample", str(exc))
        return 2
    n = min(len(flagged), args.sample)  # the sample is spread over the flagged clips
    if not confirm_send("empty-sample", f"Send {n} of {len(flagged)} likely-empty clip(s) now, at standard prices?",
                        args.yes, folder, [settings], batches=False):
        return 1
    miss, result = folder.measure_misses(sample=args.sample, settings=settings, max_cost_usd=args.max_cost,
                                         on_progress=progress_for(args, "answers"))
    if args.json:
        emit_json({"likely_empty": len(flagged), "miss_rate": miss.to_dict(),
                   "result": result.to_dict() if result is not None else None})
        return 0 if result is None or result.ok else 1
    if result is not None and result.blocked:
        err("empty-sample", result.blocked)
        return 1
    print(f"{miss.describe()}." if miss.sampled else "No answer came back; nothing was measured.")
    for rel in miss.rel_paths:
        print(f"  had a subject: {rel}")
    return 0 if result is None or result.ok else 1
