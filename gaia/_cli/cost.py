"""``gaia cost`` (check a bill under the four scenarios) and ``gaia estimate DIR`` (what a run will cost).

``gaia cost`` takes token counts on the command line or from a CSV file (one row per model or per
day; columns in ``gaia.pricing.bill.CSV_COLUMNS``) and prints the bill as standard, with prompt caching,
with the Batch API and with both. ``gaia estimate`` prices the folder's current keyframes (with the
exclusions made on the Keyframes page) and prompt on its model, or on another with ``--model``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import gaia
from gaia import Bill, BillCsvError, EmptySaving, Estimate, ModelRow, TokenCounts, model_facts
from gaia._cli._cascade import add_cascade, cascade_arg, cascade_for
from gaia._cli._common import add_max_tokens, add_parser, counting_client, emit_json, folder_arg
from gaia._cli._empty import add_skip_empty, skip_empty, skip_empty_json
from gaia.format import pct, tokens, usd
from gaia.limits import CACHE_TTLS, CSV_COLUMNS, HEADLINE_SCENARIO, SCENARIOS, TOKEN_LABELS, TOKEN_TYPES
from gaia.views import display_name as shown

CSV_HELP = (
    "CSV columns (header names, case-insensitive): model, date (optional), input_tokens (uncached input), "
    "cache_write_5m_tokens, cache_write_1h_tokens (or cache_write_tokens when the TTL is unknown: priced as 5m), "
    "cache_read_tokens, output_tokens. Missing count columns count as 0; '365,624' is accepted. The Admin usage "
    "API names (uncached_input_tokens, cache_creation.ephemeral_1h_input_tokens, cache_read_input_tokens) work too."
)


def register(sub: Any) -> None:
    """Add the ``cost`` and ``estimate`` subcommands."""
    p = add_parser(
        sub, "cost", "Price a bill's token counts as standard, with caching, with the Batch API and with both.",
        "gaia cost --model claude-sonnet-4-5 --input-tokens 365624 --cache-write-1h-tokens 106920 "
        "--cache-read-tokens 416988 --output-tokens 611412\n  gaia cost --csv usage.csv --json")
    p.add_argument("--model", help="model id (required unless the CSV has a model column)")
    for name, help_text in (("input-tokens", "uncached input tokens"),
                            ("cache-write-5m-tokens", "cache write tokens, 5-minute TTL"),
                            ("cache-write-1h-tokens", "cache write tokens, 1-hour TTL"),
                            ("cache-read-tokens", "cache read tokens"),
                            ("output-tokens", "output tokens")):
        p.add_argument(f"--{name}", type=_count, default=0, metavar="N", help=help_text)
    p.add_argument("--csv", type=Path, metavar="FILE", help="read the counts from a CSV file. " + CSV_HELP)
    p.add_argument("--per-row", action="store_true", help="with --csv: one bill per row instead of per model")
    p.add_argument("--long-context", action="store_true",
                   help="price every token at the model's long-prompt tier (Haiku 5.5 above 100k prompt tokens)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_cost)

    e = add_parser(sub, "estimate", "Estimate what analysing the folder's videos will cost, before submitting.",
                   "gaia estimate ~/Videos/pets --model claude-haiku-5-5 --json")
    e.add_argument("folder", type=folder_arg, metavar="DIR", help="the video folder (keyframes extracted)")
    e.add_argument("--model", help="price on this model (default: the folder's model)")
    e.add_argument("--ttl", choices=CACHE_TTLS, help="cache TTL (default: the folder's setting)")
    e.add_argument("--output-tokens", type=_count, metavar="N",
                   help="output tokens per video when there is no history (default from the price data)")
    add_max_tokens(e)
    e.add_argument("--compare", action="store_true", help="also price the run on every model")
    e.add_argument("--budget", type=float, metavar="USD", help="the richest frame settings under this amount")
    e.add_argument("--per-video", action="store_true", help="list every video's cost")
    add_skip_empty(e)
    add_cascade(e)
    e.add_argument("--json", action="store_true", help="print one JSON document")
    e.set_defaults(func=run_estimate)


def _count(value: str) -> int:
    try:
        n = int(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a token count") from None
    if n < 0:
        raise argparse.ArgumentTypeError("token counts cannot be negative")
    return n


def _uncertain_line(model: str) -> str | None:
    f = model_facts(model)
    if not f.uncertain:
        return None
    return f"  ! uncertain for {f.display_name}: {', '.join(f.uncertain)}" + (
        f" ({f.cache_read_note})" if f.cache_read_note else "")


def format_bill(b: Bill) -> str:
    """The bill under each scenario as text: one block per scenario, token types with counts and USD."""
    f = b.facts
    lines = [f"Bill check: {b.display_name} ({b.model}){' ' + b.label if b.label else ''}",
             f"Prices as of {b.prices_as_of} ({f.source})"
             + ("" if b.confirmed else "  [UNCONFIRMED prices]")]
    warn = _uncertain_line(b.model)
    if warn:
        lines.append(warn)
    for s in b.scenarios:
        lines.append("")
        head = f"{s.label}"
        if s.key != "standard":
            head += f"  (saves {usd(s.saving_usd)}, {pct(s.saving_pct / 100)} vs standard)"
        lines.append(head)
        t = s.cost.tokens
        for typ in TOKEN_TYPES:
            if t.get(typ) == 0:
                continue
            lines.append(f"  {TOKEN_LABELS[typ]:<22}{tokens(t.get(typ)):>14}{usd(s.cost.usd.get(typ)):>12}")
        lines.append(f"  {'Total':<22}{tokens(s.cost.total_tokens):>14}{usd(s.total_usd):>12}")
    for e in b.explanations:
        lines.append("")
        lines.append(f"{e.title}: {e.text}")
    for n in b.notes:
        lines.append(f"\nNote: {n}")
    return "\n".join(lines)


def run_cost(args: argparse.Namespace) -> int:
    """Price the counts (or the CSV) and print; exit 2 on bad input."""
    try:
        if args.csv:
            bills = gaia.read_bill_csv(args.csv, model=args.model, per_row=args.per_row)
        else:
            if not args.model:
                print("gaia cost: name the model (--model) or give a CSV (--csv)", file=sys.stderr)
                return 2
            model_facts(args.model)
            counts = TokenCounts(args.input_tokens, args.cache_write_5m_tokens, args.cache_write_1h_tokens,
                                 args.cache_read_tokens, args.output_tokens)
            bills = [gaia.bill(counts, args.model, long_context=args.long_context)]
    except (BillCsvError, KeyError) as exc:
        print(f"gaia cost: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    if args.json:
        emit_json({"bills": [b.to_dict() for b in bills], "csv_columns": {k: list(v) for k, v in CSV_COLUMNS.items()}}
                  if args.csv else bills[0].to_dict())
        return 0
    print("\n\n".join(format_bill(b) for b in bills))
    return 0


def _estimate_head(est: Estimate) -> list[str]:
    """What the estimate rests on: model, prices, prompt tokens, output per video, caching."""
    lines = [f"Estimate: {est.videos} videos, {est.frames} frames on {est.display_name} ({est.model}), "
             f"{est.cache_ttl} cache",
             f"Prices as of {est.prices_as_of} ({est.source})" + ("" if est.confirmed else "  [UNCONFIRMED prices]")]
    warn = _uncertain_line(est.model)
    if warn:
        lines.append(warn)
    t = est.text
    lines.append(f"Prompt tokens ({'exact, count_tokens' if t.exact else 'APPROXIMATE'}): system {tokens(t.system)}, "
                 f"schema {tokens(t.schema)}, instruction {tokens(t.instruction)}, {t.label} per frame label; "
                 f"images {tokens(est.image_tokens)} in all")
    lines.append(est.cache.message)
    lines.append("Assumptions:")
    lines.extend(f"  {line}" for line in est.assumptions.lines())
    return lines


def _estimate_table(est: Estimate) -> list[str]:
    """The four scenarios, then the headline scenario's breakdown by token type."""
    lines = ["", f"{'Scenario':<22}{'Total':>12}{'Per video':>12}{'Saving':>12}   Range"]
    for s in est.scenarios:
        saving = "" if s.key == "standard" else pct(s.saving_pct / 100)
        lines.append(f"{s.label:<22}{usd(s.total_usd):>12}{usd(s.per_video_usd):>12}{saving:>12}   "
                     f"{usd(s.low_usd)}–{usd(s.high_usd)}")
    lines += ["", "Batch API + caching breakdown:"]
    for row in est.scenario(HEADLINE_SCENARIO).cost.rows():
        if row["type"] != "total" and row["tokens"] == 0:
            continue
        lines.append(f"  {row['label']:<22}{tokens(float(row['tokens'])):>14}{usd(float(row['usd'])):>12}")
    other = gaia.other_ttl(est.cache_ttl)
    lines.append(f"With a {other} cache instead: {usd(est.ttl_totals[other])}")
    return lines


def format_estimate(est: Estimate, *, per_video: bool = False) -> str:
    """The estimate as text: assumptions, the four scenarios, explanations."""
    f = est.facts
    lines = _estimate_head(est) + _estimate_table(est)
    for e in est.explanations:
        lines += ["", f"{e.title}: {e.text}"]
    if per_video:
        lines += ["", f"{'Video':<40}{'Frames':>7}{'Image tok':>11}{'Batch+cache':>13}"]
        idx = SCENARIOS.index(HEADLINE_SCENARIO)
        for v in est.per_video:
            lines.append(f"{shown(v.rel_path)[:40]:<40}{v.frames:>7}{tokens(v.image_tokens):>11}{usd(v.usd[idx]):>13}")
    said = set(est.assumptions.lines())
    notes = [n for n in est.notes if n not in said]
    if notes:
        lines.append("")
        lines.extend(f"Note: {n}" for n in notes)
    if f.status != "current":
        lines.append(f"Note: {f.display_name} is {f.status}.")
    return "\n".join(lines)


def format_models(rows: list[ModelRow]) -> str:
    """The run on every model as a table: headline total, ratio to the reference, caching, frame size, status."""
    lines = [f"{'Model':<22}{'Batch+cache':>13}{'x ref':>8}  {'Caches':<8}{'Sees':<12}Status"]
    for r in rows:
        sees = f"{r.frame_size[0]}x{r.frame_size[1]}" if r.frame_size else "-"
        flag = "" if r.confirmed and not r.uncertain else "  ! " + ", ".join(r.uncertain)
        lines.append(f"{r.display_name:<22}{usd(r.usd[HEADLINE_SCENARIO]):>13}{r.relative:>8.3f}  "
                     f"{'yes' if r.caches else 'no':<8}{sees:<12}{r.status}{flag}")
    return "\n".join(lines)


def run_estimate(args: argparse.Namespace) -> int:
    """Estimate the folder and print; exit 2 for an unknown model."""
    if args.model and args.model not in gaia.catalogue().models:
        print(f"gaia estimate: unknown model {args.model!r}; known: {', '.join(sorted(gaia.catalogue().models))}",
              file=sys.stderr)
        return 2
    cascade = cascade_arg(args, "estimate")
    if cascade is False:
        return 2
    client = counting_client()
    folder = gaia.Folder(args.folder, client)
    inp = folder.inputs(model=args.model, cache_ttl=args.ttl)
    max_tokens = args.max_tokens or inp.settings.max_tokens
    text = folder.prompt_tokens(inp.profile, inp.model)
    estimate = folder.estimator(inp, text_tokens=text, output_tokens=args.output_tokens, max_tokens=max_tokens)
    empty = skip_empty(args, "estimate", folder, inp.settings)
    saving: EmptySaving | None = folder.empty_saving(empty, inputs=inp, estimator=estimate) if empty else None
    selection = inp.selection.without(empty)
    est = estimate(selection)
    casc = cascade_for(args, folder, inp, selection, *cascade) if isinstance(cascade, tuple) else None
    rows = folder.compare_models(inp, selection=selection, output_tokens=args.output_tokens,
                                 max_tokens=max_tokens) if args.compare else []
    bud = gaia.budget(args.budget, est, inp.sets, selection=selection,
                      source_sizes=inp.source_sizes) if args.budget is not None else None
    if args.json:
        doc = est.to_dict(per_video=True)
        doc["folder"] = str(args.folder)
        if rows:
            doc["models"] = [r.to_dict() for r in rows]
        if bud:
            doc["budget"] = bud.to_dict()
        if casc is not None:
            doc["scenarios"].append(casc.to_dict())
        if args.skip_empty:
            doc["skip_empty"] = {**skip_empty_json(empty, inp.settings.empty_threshold),
                                 "saving": saving.to_dict() if saving else None}
        emit_json(doc)
        return 0
    if not est.videos and est.done:
        print(f"Every video with keyframes in {args.folder} is already analysed with these settings "
              f"({est.done}); nothing is left to estimate.")
        return 0
    if not est.videos:
        print(f"No videos with keyframes in {args.folder}: extract them first (gaia keyframes DIR).")
        for rel, reason in est.skipped[:20]:
            print(f"  {shown(rel)}: {reason}")
        return 0
    print(format_estimate(est, per_video=args.per_video))
    if casc is not None:
        print("\n" + casc.describe())
    if saving is not None:
        print(f"\nLeaving out {saving.clips} likely-empty clip(s) saves {usd(saving.saving_usd)} "
              f"({pct(saving.saving_share)}): {usd(saving.with_usd)} with them, {usd(saving.without_usd)} without.")
    advice = folder.max_tokens_advice(inp.profile.hash, inp.model, max_tokens)
    print(f"\nAnswer length limit (max_tokens): {advice.message}")
    for w in est.warnings:
        print(f"\nWarning: {w.message}")
    if rows:
        print("\n" + format_models(rows))
    if bud:
        print("\n" + bud.message)
    return 0


__all__ = ["SCENARIOS", "format_bill", "format_estimate", "register", "run_cost", "run_estimate"]
