"""``gaia run DIR``: analyse videos now through the standard Messages API (answers in seconds).

The same requests as ``gaia submit`` (prompt, schema, cached prefix, frames), at standard prices
instead of batch prices, for a few urgent videos. It shows what the run costs now against as a
batch and the wait for each, asks before spending, and reports answers, failures with their
reasons, spend and how concurrency adapted to the API. Ctrl-C lets requests in flight finish;
running again sends only what has no answer yet.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

import gaia
from gaia import MissingApiKey, OnlineResult, cap_problem
from gaia import format as fmt
from gaia._cli._cascade import add_cascade, cascade_arg
from gaia._cli._common import (
    add_max_tokens,
    add_parser,
    confirm_send,
    confirm_warnings,
    count_prompt_for,
    emit_json,
    err,
    folder_arg,
    positive_int,
    progress_for,
    run_settings,
)
from gaia._cli._empty import add_skip_empty, skip_empty
from gaia.limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from gaia.views import display_name as shown

SHOW = 15


def register(sub: Any) -> None:
    """Add the ``run`` subcommand."""
    p = add_parser(sub, "run", "Analyse videos now through the Messages API (standard prices, answers in seconds).",
                   "gaia run ~/Videos/pets --limit 3 --max-cost 1 --yes")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--model", help="model to use (default: the folder's setting)")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="send at most N videos (with --cascade: a pilot of N videos spread over the folder)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--max-cost", type=float, metavar="USD",
                   help="refuse if the estimate at standard prices is above USD, and stop before passing it")
    p.add_argument("--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY, metavar="N",
                   help=f"requests in flight at once (default {DEFAULT_CONCURRENCY}, at most {MAX_CONCURRENCY}); "
                        "lowered automatically while the API pushes back")
    p.add_argument("--force", action="store_true", help="also send videos already analysed with these settings")
    p.add_argument("--upload-frames", action="store_true",
                   help="upload each frame once through the Files API and reference it by file_id")
    add_max_tokens(p)
    p.add_argument("--retry-failed", action="store_true",
                   help="send the failed requests again now (use 'gaia retry' to send them as a batch instead)")
    add_skip_empty(p)
    add_cascade(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_run)


def _print_result(res: OnlineResult, folder: Any) -> int:
    for o in res.recovered:
        what = "answer recorded" if o.status == "succeeded" else "no answer, sent again if planned"
        print(f"  recovered from an interrupted run: {shown(o.rel_path)} ({what})")
    if res.possibly_billed_usd:
        print(f"  Requests in flight when the earlier run stopped may have been billed: counted at "
              f"{fmt.usd(res.possibly_billed_usd, missing='unknown')} in the money spent.")
    if res.blocked:
        err("run", res.blocked)
        return 1
    for o in res.failures[:SHOW]:
        print(f"  !!  {shown(o.rel_path)}: {o.error_kind}: {o.error}")
    if len(res.failures) > SHOW:
        print(f"  ... and {len(res.failures) - SHOW} more")
    for p in res.problems[:SHOW]:
        print(f"  !!  {p}")
    rate = f", {res.per_minute:.0f} answers/min" if res.per_minute else ""
    print(f"Answered {res.succeeded}, failed {res.failed}, not sent {len(res.not_sent)} in {res.elapsed_s:.1f} s"
          f"{rate}; spent {fmt.usd(res.spent_usd, missing='unknown')} "
          f"(estimate {fmt.usd(res.estimate_usd, missing='unknown')}).")
    if res.throttled:
        print(f"The API pushed back {res.throttled} time(s) (429/529): concurrency went from {res.max_concurrency} "
              f"down to {res.lowest_concurrency} and back to {res.concurrency[-1].limit if res.concurrency else '?'}.")
    if res.stopped:
        print(res.stopped)
    if res.failed:
        print(f"Send the failures again now with 'gaia run {folder} --retry-failed', or as a batch with "
              f"'gaia retry {folder}'.")
    if res.not_sent:
        print(f"Run 'gaia run {folder}' again to send the {len(res.not_sent)} video(s) not sent.")
    return 0 if res.ok else 1


def _run_cascade(args: argparse.Namespace, folder: gaia.Folder, settings: Any, cheap_model: str, preset: str) -> int:
    """``gaia run --cascade``: both passes now, each an ordinary run; says what each pass sends and why."""
    if not confirm_send("run", f"Send every video now with {cheap_model} at the {preset} frame size, then the "
                        f"uncertain answers again with {settings.model}?", args.yes, folder, [settings], batches=False,
                        cascade=(cheap_model, preset)):
        return 1

    def on_pass(n: int, videos: int, model: str) -> None:
        if not args.json:
            print(gaia.views.cascade_pass_line(n, videos, model, preset))

    try:
        empty = skip_empty(args, "run", folder, settings)
        res = folder.cascade(cheap_model, preset, settings=settings, limit=args.limit, concurrency=args.concurrency,
                             max_cost_usd=args.max_cost, likely_empty=empty, on_progress=progress_for(args, "answers"),
                             on_pass=on_pass, checkpoints=getattr(args, "checkpoints", None))
    except Exception as exc:
        err("run", gaia.describe_error(exc))
        return 1
    if args.json:
        emit_json({"cascade": res.to_dict()})
        return 0 if res.ok else 1
    for rel, why in res.escalated.items():
        print(f"  up  {rel}: {why}")
    for o in (*res.first.failures, *(o for r in res.seconds for o in r.failures))[:SHOW]:
        print(f"  !!  {shown(o.rel_path)}: {o.error_kind}: {o.error}")
    if res.skipped:
        print(f"Skipped {len(res.skipped)} video(s) already through this cascade.")
    if res.earlier:
        print(f"Sent the second pass of {len(res.earlier)} earlier cascade(s) left between their passes.")
    print(f"{len(res.kept)} first answer(s) kept, {len(res.escalated)} sent again; spent "
          f"{fmt.usd(res.spent_usd)} in both passes.")
    if (failed := gaia.views.cascade_failed_text(res)) is not None:
        print(f"{failed} Send them again now with 'gaia run {args.folder} --retry-failed', or as a batch with "
              f"'gaia retry {args.folder}'.")
    for r in (res.first, *res.seconds):
        if r.blocked or r.stopped:
            err("run", r.blocked or r.stopped or "")
    return 0 if res.ok else 1


def run_run(args: argparse.Namespace) -> int:
    """Plan, show the choice, confirm and send now."""
    settings = run_settings(args, "run")
    if settings is None:
        return 2
    try:
        folder = gaia.Folder(args.folder, gaia.make_client())
    except MissingApiKey as exc:
        err("run", str(exc))
        return 2
    stop = threading.Event()
    if args.retry_failed:
        again = () if args.yes else folder.plan_retry(max_tokens=settings.max_tokens)  # what retry_now will send
        if not confirm_send("run", "Send the failed requests again now, at standard prices?", args.yes, folder, again,
                            batches=False):
            return 1
        results = folder.retry_now(concurrency=args.concurrency, max_cost_usd=args.max_cost,
                                   max_tokens=settings.max_tokens, checkpoints=getattr(args, "checkpoints", None),
                                   on_progress=progress_for(args, "answers"))
        if args.json:
            emit_json({"results": [r.to_dict() for r in results]})
            return 0 if all(r.ok for r in results) else 1
        if not results:
            print("Nothing to retry: no request has failed.")
            return 0
        codes = []
        for r in results:
            if (line := gaia.views.cascade_retry_line(r)) is not None:
                print(line)
            codes.append(_print_result(r, args.folder))
        return max(codes)
    count_prompt_for(args.folder, settings, folder.client)
    cascade = cascade_arg(args, "run")
    if cascade is False:
        return 2
    if isinstance(cascade, tuple):
        return _run_cascade(args, folder, settings, *cascade)
    try:
        empty = skip_empty(args, "run", folder, settings)
        plan = folder.plan_now(settings, limit=args.limit, force=args.force, extract=True,
                               image_source="file" if args.upload_frames else "base64",
                               on_progress=progress_for(args, "keyframes"), likely_empty=empty)
    except Exception as exc:
        err("run", gaia.describe_error(exc))
        return 1
    choice = gaia.run_choice(plan, concurrency=args.concurrency)
    if not args.json:
        print(f"Model {plan.model}, prompt '{plan.profile.name}' ({plan.profile.hash}): {len(plan.requests)} "
              f"video(s), {plan.n_frames} frames")
        for p in plan.problems[:SHOW]:
            print(f"  !!  {(shown(p.rel_path) + ': ') if p.rel_path else ''}{p.problem} Fix: {p.fix}")
        skipped = len(plan.skipped)
        if skipped:
            print(f"Skipped {skipped} video(s) (already analysed, in a batch, excluded or unusable).")
        if plan.requests:
            print(f"Now:      {fmt.usd(choice.now_usd, missing='unknown')} at standard prices; {choice.now_wait_text}.")
            print(f"As batch: {fmt.usd(choice.batch_usd, missing='unknown')}; {choice.batch_wait_text}.")
    if not plan.requests and not plan.blocking_problems:
        if args.json:
            emit_json({"plan": plan.to_dict(), "choice": choice.to_dict(), "result": None})
        else:
            print("Nothing to send.")
        return 0
    if plan.ok and cap_problem(choice.now_usd, args.max_cost) is None:
        question = f"Send {len(plan.requests)} video(s) now for about {fmt.usd(choice.now_usd, missing='unknown')}?"
        if (not confirm_send("run", question, args.yes, folder, [plan], batches=False)
                or not confirm_warnings("run", plan.warnings, args.yes)):
            return 1
    res = folder.run_now(plan, concurrency=args.concurrency, max_cost_usd=args.max_cost,
                         checkpoints=getattr(args, "checkpoints", None), on_progress=progress_for(args, "answers"),
                         stop=stop)
    if args.json:
        emit_json({"plan": plan.to_dict(), "choice": choice.to_dict(), "result": res.to_dict()})
        return 0 if res.ok else 1
    code = _print_result(res, args.folder)
    return 130 if res.stopped and res.stopped.startswith("Interrupted") else code
