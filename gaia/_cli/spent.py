"""``gaia spent DIR``: what a folder has cost, from every billed response in its ledger.

The total, then the totals by kind (batch, run now, trial, tune), by outcome (current answers,
superseded ones, failed but billed, tune answers kept apart), by day and by run, each run beside
the estimate it was sent with. ``--json`` prints ``gaia.Spend.to_dict()``.
"""

from __future__ import annotations

import argparse
from typing import Any

import gaia
from gaia import Spend
from gaia._cli._common import add_parser, emit_json, folder_arg
from gaia.format import tokens, usd
from gaia.limits import TOKEN_LABELS, TOKEN_TYPES

KIND_LABELS = {"batch": "Batch", "now": "Run now", "trial": "Prompt trials", "tune": "Tune"}
OUTCOME_LABELS = {"current": "Current answers", "superseded": "Superseded answers",
                  "failed": "Failed but billed", "kept_apart": "Tune answers (kept apart)",
                  "possibly_billed": "Possibly billed (no answer)"}


def register(sub: Any) -> None:
    """Add the ``spent`` subcommand."""
    p = add_parser(sub, "spent", "What the folder has cost so far: every billed request, by kind, run and day.",
                   "gaia spent ~/Videos/pets --json")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="the video folder")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_spent)


def lines(spend: Spend) -> list[str]:
    """The report as text lines."""
    if not spend.requests:
        return ["Nothing billed yet: this folder has sent no request."]
    out = [f"Spent: {usd(spend.total_usd)} on {spend.requests:,} billed request(s)"]
    if spend.possibly_billed_usd:
        out.append(f"  of which {usd(spend.possibly_billed_usd)} possibly billed: requests sent but never answered "
                   "(stopped, killed or a dropped connection), counted at their estimate")
    out += ["", "By kind:"]
    out += [f"  {KIND_LABELS[k]:<28}{usd(v):>12}" for k, v in spend.by_kind.items() if v]
    out += ["", "By outcome:"]
    out += [f"  {OUTCOME_LABELS[k]:<28}{usd(v):>12}" for k, v in spend.by_outcome.items() if v]
    out += ["", "By token type:"]
    out += [f"  {TOKEN_LABELS[t]:<28}{usd(spend.usd.get(t)):>12}  {tokens(spend.tokens.get(t))} tokens"
            for t in TOKEN_TYPES if spend.tokens.get(t)]
    out += ["", "By day (UTC):"]
    out += [f"  {d:<28}{usd(v):>12}" for d, v in spend.by_day.items()]
    out += ["", "By run (newest first):"]
    for r in spend.runs:
        out.append(f"  {r.run_id}  {r.created_at[:16]}  {KIND_LABELS[r.kind]:<14}{r.requests:>5} req  "
                   f"{usd(r.actual_usd):>10}")
        out.append(f"      {r.gap_text()}")
    return out


def run_spent(args: argparse.Namespace) -> int:
    """Print what the folder has spent."""
    spend = gaia.Folder(args.folder).spent()
    if args.json:
        emit_json(spend.to_dict())
    else:
        print("\n".join(lines(spend)))
    return 0
