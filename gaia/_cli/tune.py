"""``gaia tune DIR``: what each cheaper setting loses, measured on a sample of the folder's videos.

Prices a ladder of configurations (model, frames, frame size, schema profile) on a sample before
sending anything, asks, sends them now under ``--budget`` (answers kept in ``.gaia/tune/``, never
in the sidecars) with the reference asked twice (the ceiling), the current settings and a
negative control, and prints the verdict first: ``recommend`` (a cheaper configuration whose
interval stays within ``--tolerance``), ``keep`` or ``undetermined`` (with the videos that would
decide it). ``--adopt`` saves a recommendation as the folder's run settings, so ``gaia estimate``
and ``gaia submit`` use it; it never adopts anything unless the verdict is ``recommend``.

``--cascade CHEAP_MODEL:PRESET`` weighs that cascade as one configuration (by default the tune weighs
one: the cheapest current model at the smallest preset first; ``--cascade off`` leaves it out), made
of its two passes' rows and priced as both passes' measured bills. ``--empty-sample N`` also sends N
of the likely-empty clips (the code behind ``gaia empty-sample``) and reports how many had a subject.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import gaia
from gaia._cli._cascade import NO_CASCADE, cascade_arg
from gaia._cli._common import add_parser, confirm, emit_json, err, folder_arg, positive_int, progress_for
from gaia.format import usd


def _share(value: str) -> float:
    x = float(value)
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError("a share of the score between 0 and 1, e.g. 0.1")
    return x


def register(sub: Any) -> None:
    """Add the ``tune`` subcommand."""
    p = add_parser(sub, "tune", "Measure what cheaper settings lose on a sample, and recommend the cheapest good one.",
                   "gaia tune ~/Videos/pets --sample 12 --budget 2 --yes --adopt")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--sample", type=positive_int, default=gaia.limits.DEFAULT_SAMPLE, metavar="N",
                   help=f"videos to tune on, spread over lengths and subfolders (default {gaia.limits.DEFAULT_SAMPLE})")
    p.add_argument("--videos", nargs="+", metavar="REL", help="tune on these videos instead (paths in the folder)")
    p.add_argument("--budget", type=float, metavar="USD", help="spend at most this much on the tune")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="models to compare (default: the folder's model and the cheapest current one)")
    p.add_argument("--tolerance", type=_share, default=gaia.limits.DEFAULT_TOLERANCE, metavar="SHARE",
                   help=f"how much a recommendation may lose, as a share of the distance from the negative control "
                        f"(frames that show nothing) to the ceiling (the reference asked twice) (default "
                        f"{gaia.limits.DEFAULT_TOLERANCE})")
    p.add_argument("--cascade", metavar="CHEAP_MODEL:PRESET",
                   help="also weigh this cascade (a first pass with the cheap model and frame preset, the current "
                        "settings for its uncertain answers) as one configuration; by default the tune weighs one: "
                        "the cheapest current model at the smallest preset; 'off' for none")
    p.add_argument("--empty-sample", type=positive_int, metavar="N",
                   help="also send N of the likely-empty clips with the folder's settings (an ordinary run of those "
                        "clips, within the budget) and report how many had a subject: the measured miss rate")
    p.add_argument("--yes", action="store_true", help="do not ask before sending")
    p.add_argument("--adopt", action="store_true",
                   help="save the recommended settings as the folder's run settings (only when the verdict is "
                        "'recommend')")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_tune_command)


def _interval(r: gaia.ConfigResult) -> str:
    iv = r.interval
    if iv.diff is None:
        return "-"
    return f"{iv.diff:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def _print(result: gaia.TuneResult) -> None:
    d = result.decision
    if d is not None:
        print(("[simulated: scores from the local emulator, not from Claude] " if result.simulated else "") + d.text)
    print(f"Sample: {len(result.sample.rel_paths)} video(s); prompt '{result.profile.name}' ({result.profile.hash})")
    for problem in result.sample.problems:
        print(f"  !!  {problem}")
    head = f"vs ceiling [{result.level:.0%} interval]"
    print(f"{'Configuration':<60}{'$/video':>10}{'score':>8}  {head:<26}")
    for r in result.results:
        score = "-" if r.score is None else f"{r.score:.3f}"
        role = "" if r.role.value == "candidate" else f" ({r.role.value})"
        flag = " (recommended)" if result.recommended is r else ""
        print(f"{r.config.label():<60}{usd(r.usd_per_video):>10}{score:>8}  {_interval(r):<26}{role}{flag}")
        if r.skipped:
            print(f"      not sent: {r.skipped}")
    for r in result.results:
        if r.cascade is not None:
            print(cascade_line(r))
    if result.ceiling is not None:
        print(f"Ceiling (the reference asked twice): {result.ceiling:.3f}")
    if result.tolerance_sentence():
        print(result.tolerance_sentence())
    if result.excluded_fields:
        print(f"Left out (the same answer on every video): {', '.join(result.excluded_fields)}")
    if result.verified_videos:
        print(f"Human-verified: {result.verified_videos} video(s), fields {', '.join(result.verified_fields)}")
    print(f"Cost per video: measured usage at {gaia.limits.TUNE_PRICES}.")
    if result.misses is not None:
        print(misses_line(result.misses))
    print(f"Spent {usd(result.spent_usd)}" + (f" of a {usd(result.budget_usd)} budget" if result.budget_usd else ""))


def cascade_line(r: gaia.ConfigResult) -> str:
    """A cascade row's passes in one line: how many first answers were escalated, and both passes' bills."""
    c = r.cascade
    assert c is not None
    d = c.to_dict()
    share = "" if c.share is None else (f" ({c.share:.0%}, 95% interval {d['escalation_share_low']:.0%}–"
                                        f"{d['escalation_share_high']:.0%})")
    return (f"Cascade: {len(c.escalated)} of {c.videos} first answer(s) sent again{share}; per video "
            f"{usd(c.first_usd_per_video)} first pass + {usd(c.second_usd_per_video)} second pass, measured.")


def misses_line(misses: dict[str, Any]) -> str:
    """The likely-empty sample in one line (or why nothing was measured)."""
    if misses.get("text"):
        return f"Likely-empty sample at the threshold {misses.get('threshold'):g}: {misses['text']}."
    return f"Likely-empty sample: nothing measured. {misses.get('problem') or ''}".strip()


def _models_said(folder: gaia.Folder, planned: gaia.TuneResult) -> bool:
    """Before asking: the Models check each configuration's send will make (``gaia.Folder.model_problem``), said
    for every model the key cannot use (its configurations are then not sent, as the tune leaves them out itself);
    ``False`` when that is every configuration, so there is nothing to ask."""
    base = folder.settings()
    models = list(dict.fromkeys(r.config.model for r in planned.results))
    refused = {m: why for m in models if (why := folder.model_problem(replace(base, model=m), batches=False))}
    for model, why in refused.items():
        n = sum(1 for r in planned.results if r.config.model == model)
        err("tune", f"{why} The tune leaves out its {n} configuration(s).")
    return len(refused) < len(models)


def run_tune_command(args: argparse.Namespace) -> int:
    """Price the ladder, confirm, send it under the budget, score, recommend, maybe adopt."""
    if args.models:
        unknown = [m for m in args.models if m not in gaia.catalogue().models]
        if unknown:
            err("tune", f"unknown model(s) {', '.join(unknown)}; known: {', '.join(sorted(gaia.catalogue().models))}")
            return 2
    off = (args.cascade or "").strip().lower() in NO_CASCADE
    cascade = None if off or not args.cascade else cascade_arg(args, "tune")
    if cascade is False:
        return 2
    cascades = [] if off else [":".join(cascade)] if isinstance(cascade, tuple) else None
    options: dict[str, Any] = {"n": args.sample, "videos": args.videos, "models": args.models,
                               "budget_usd": args.budget, "tolerance": args.tolerance, "cascades": cascades}
    planned = gaia.Folder(args.folder).tune(dry_run=True, on_pricing=progress_for(args, "configurations priced"),
                                            **options)
    if planned.blocked:
        err("tune", planned.blocked)
        return 1
    if not args.json:
        print(f"{len(planned.results)} configurations on {len(planned.sample.rel_paths)} video(s); sending them all "
              f"now costs about {usd(planned.planned_usd)} at standard prices"
              + (f" (budget {usd(args.budget)})." if args.budget is not None else ".")
              + (f" Then {args.empty_sample} likely-empty clip(s) with the folder's settings, within what is left."
                 if args.empty_sample else ""))
    try:
        folder = gaia.Folder(args.folder, gaia.make_client())
    except gaia.MissingApiKey as exc:
        err("tune", str(exc))
        return 2
    if not args.yes and not _models_said(folder, planned):
        return 1
    if not confirm("tune", "Send the tune now?", args.yes):
        return 1
    result = folder.tune(on_progress=progress_for(args, "configurations"), empty_sample=args.empty_sample or 0,
                         **options)
    adopted = None
    if args.adopt and result.verdict is gaia.Verdict.RECOMMEND and result.recommended is not None:
        try:
            adopted = folder.adopt(result.recommended.config)
        except ValueError as exc:  # settings that cannot be saved, said in words
            err("tune", str(exc))
    if args.json:
        emit_json({**result.to_dict(), "adopted": adopted.to_dict() if adopted else None})
    else:
        if result.blocked:
            err("tune", result.blocked)
        _print(result)
        if adopted is not None:
            print(f"Adopted: the folder now runs {result.recommended.config.label() if result.recommended else ''}.")
    if result.blocked:
        return 1
    if args.adopt and adopted is None:
        why = result.decision.text if result.decision else "nothing was measured"
        err("tune", f"nothing adopted, the settings are unchanged: {why}")
        return 1
    return 0
