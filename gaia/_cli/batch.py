"""``gaia submit|status|watch|retrieve|retry|cancel DIR``: the batch lifecycle from a terminal.

Each subcommand calls one function of ``gaia.runs.batch``. The API key and endpoint come from
``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``; the run settings (model, prompt profile,
keyframe settings, cache TTL) are the folder's saved ones, so a run prepared in the app can be
submitted or watched here, and flags override them for one command.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import gaia
from gaia import BatchStatus, FolderBusy, MissingApiKey, RetrieveResult, SubmissionPlan, SubmitResult, cap_problem
from gaia import format as fmt
from gaia._cli._cascade import add_cascade, cascade_arg, cascade_for
from gaia._cli._common import (
    add_max_tokens,
    add_parser,
    confirm_send,
    confirm_warnings,
    count_prompt_for,
    emit_json,
    err,
    folder_arg,
    progress_for,
    run_settings,
)
from gaia._cli._empty import add_skip_empty, skip_empty
from gaia.limits import COUNTS_NOTE, DEFAULT_POLL_S
from gaia.views import cascade_cards, cascade_step_line, parked_view
from gaia.views import display_name as shown


def _checkpoints(args: argparse.Namespace) -> Any:
    """The checkpoints a driver put on ``args`` (crash tests), else ``None`` (none)."""
    return getattr(args, "checkpoints", None)


SHOW = 15  # list at most this many items of a kind before summarising the rest


def register(sub: Any) -> None:
    """Add the ``submit``, ``status``, ``watch``, ``retrieve``, ``retry`` and ``cancel`` subcommands."""
    p = add_parser(sub, "submit", "Send the folder's videos as Message Batches (asks before spending).",
                   "gaia submit ~/Videos/pets --max-cost 5 --yes")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--model", help="model to use (default: the folder's setting)")
    p.add_argument("--dry-run", metavar="FILE", help="write the requests as JSONL to FILE instead of sending")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--max-cost", type=float, metavar="USD", help="refuse to submit if the estimate is above USD")
    p.add_argument("--force", action="store_true", help="also send videos already analysed with these settings")
    p.add_argument("--upload-frames", action="store_true",
                   help="upload each frame once (Files API) and reference it by file_id instead of inline base64")
    add_skip_empty(p)
    add_cascade(p)
    add_max_tokens(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_submit)

    p = add_parser(sub, "status", "Show the folder's batches: status, counts, times, expiry, results.",
                   "gaia status ~/Videos/pets --json")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--offline", action="store_true", help="show what the ledger knows, without asking the API")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_status)

    p = add_parser(sub, "watch", "Poll until every batch has ended, retrieving results as batches end.",
                   "gaia watch ~/Videos/pets --poll 30")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--poll", type=float, default=DEFAULT_POLL_S, metavar="S",
                   help=f"longest wait between polls (default {DEFAULT_POLL_S:.0f}); polls start every few "
                        "seconds and back off to this")
    p.add_argument("--json", action="store_true", help="print one JSON document at the end")
    p.set_defaults(func=run_watch)

    p = add_parser(sub, "retrieve", "Download ended batches' results into sidecars (safe to re-run).",
                   "gaia retrieve ~/Videos/pets")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_retrieve)

    p = add_parser(sub, "retry", "Send exactly the failed requests again, in a new batch linked to their run.",
                   "gaia retry ~/Videos/pets --yes")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--dry-run", metavar="FILE", help="write the requests as JSONL to FILE instead of sending")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--max-cost", type=float, metavar="USD", help="refuse if the estimate is above USD")
    add_max_tokens(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_retry)

    p = add_parser(sub, "cancel", "Cancel one of the folder's batches (finished requests are kept).",
                   "gaia cancel ~/Videos/pets msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("batch_id", metavar="BATCH_ID", help="the batch id shown by 'gaia status'")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_cancel)


# --- helpers --------------------------------------------------------------------------------------------

def _client(cmd: str) -> Any | None:
    try:
        return gaia.make_client()
    except MissingApiKey as exc:
        err(cmd, str(exc))
        return None


def _folder(cmd: str, path: Any) -> gaia.Folder | None:
    """The folder with a client from the environment; ``None`` after saying why there is none."""
    client = _client(cmd)
    return None if client is None else gaia.Folder(path, client)


def _when(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M UTC") if d else "-"


def _print_plan(plan: SubmissionPlan) -> None:
    print(f"Model {plan.model}, prompt '{plan.profile.name}' ({plan.profile.hash}), cache TTL "
          f"{plan.settings.cache_ttl}, answers up to {plan.max_tokens} tokens")
    print(f"To send: {len(plan.requests)} videos, {plan.n_frames} frames, {plan.image_tokens:,} image tokens, "
          f"{plan.total_bytes / 1e6:.1f} MB")
    for kind, label in (("analysed", "already analysed"), ("in_flight", "waiting in a batch"),
                        ("excluded", "excluded by you"), ("likely_empty", "likely empty (--skip-empty)"),
                        ("problem", "not usable")):
        items = plan.skipped_by(kind)
        if items:
            print(f"Skipped, {label}: {len(items)}")
            if kind == "problem":
                for s in items[:SHOW]:
                    print(f"  !!  {shown(s.rel_path)}: {s.reason}")
    if plan.problems:
        print(f"Problems ({len(plan.problems)}):")
        for p in plan.problems[:SHOW]:
            where = f"{shown(p.rel_path)}: " if p.rel_path else ""
            print(f"  !!  {where}{p.problem} Fix: {p.fix}")
        if len(plan.problems) > SHOW:
            print(f"  ... and {len(plan.problems) - SHOW} more")
    print(plan.split_explanation)
    for b in plan.batches:
        print(f"  batch {b.index + 1}: {b.n_requests} requests, {b.nbytes / 1e6:.1f} MB ({b.reason_text})")
    if plan.image_source_advice:
        print(plan.image_source_advice)
    for note in plan.notes:
        print(f"Note: {note}")
    if plan.estimate_usd is not None:
        print(f"Estimated cost (batch + caching): {fmt.usd(plan.estimate_usd, missing='unknown')}")
    elif plan.estimate_note:
        print(plan.estimate_note)


def _print_submit(res: SubmitResult, cmd: str, folder: Any) -> int:
    for batch_id in res.reconciled:
        print(f"Found batch {batch_id} from an interrupted submission; it is kept and watched.")
    if res.blocked:
        err(cmd, res.blocked)
        return 1
    if res.dry_run_path:
        print(f"Wrote {res.dry_run_requests} requests to {res.dry_run_path} (nothing was sent).")
        return 0
    for b in res.batches:  # a batch not created is told once, among the problems
        if b.state == "submitted":
            print(f"  sent  {b.batch_id}: {b.n_requests} requests, {b.nbytes / 1e6:.1f} MB")
    for p in res.problems:
        print(f"  !!  {p}")
    if not res.sent:
        print("Nothing was sent.")
        return 1
    print(f"Sent {res.sent} requests in {sum(1 for b in res.batches if b.state == 'submitted')} batch(es). "
          f"Next: gaia watch {folder}")
    return 0 if res.ok else 1


def _print_status(statuses: list[BatchStatus]) -> None:
    if not statuses:
        print("No batches yet for this folder.")
        return
    for s in statuses:
        if s.state == "abandoned":
            print(f"  --  intent #{s.local_id} ({s.n_requests} requests): never created. {s.error or ''}")
            continue
        if s.state == "pending":
            print(f"  ..  intent #{s.local_id} ({s.n_requests} requests): creation being checked")
            continue
        counts = ", ".join(f"{k} {v}" for k, v in s.counts.items() if v)
        line = (f"  {s.batch_id}: {s.processing_status}, {s.n_requests} requests ({counts}); created "
                f"{_when(s.created_at)}, elapsed {fmt.duration(s.elapsed_s)}")
        if s.expires_in_s is not None:
            line += f", expires in {fmt.duration(s.expires_in_s)}"
        if s.ended:
            done = s.outcomes.get("succeeded", 0)
            failed = s.outcomes.get("failed", 0)
            line += f"; results {s.results_state} ({done} written, {failed} failed)"
        print(line)
        if s.error:
            print(f"      !! {s.error}")
        if s.retention_warning:
            print(f"      !! {s.retention_warning}")
    if any(s.running for s in statuses):
        print(COUNTS_NOTE)


def _print_parked(folder: Any) -> None:
    parked = parked_view(folder)
    if parked.summary:
        print(parked.summary)
        for r in parked.records[:SHOW]:
            print(f"  ..  {r['video']}: {r['reason']}")


def _print_retrieve(res: RetrieveResult, folder: Any) -> int:
    for b in res.batches:
        tail = "complete" if b.complete else f"incomplete: {b.error}"
        print(f"  {b.batch_id}: {b.written} written, {b.failed + b.missing} failed, {b.already_done} already done,"
              f" {b.unknown} unknown ids; {tail}")
    for p in res.problems:
        print(f"  !!  {p}")
    fails = gaia.Folder(folder).failures()
    if fails:
        print(f"{len(fails)} request(s) without an answer:")
        for f in fails[:SHOW]:
            print(f"  !!  {shown(f.rel_path)}: {f.reason} {f.hint}")
        if len(fails) > SHOW:
            print(f"  ... and {len(fails) - SHOW} more")
        print(f"Send them again with: gaia retry {folder}")
    _print_parked(folder)
    print(f"Wrote {res.written} sidecar(s).")
    for c in res.cascades:
        print(cascade_step_line(c))
    return 0 if res.complete else 1


# --- commands -------------------------------------------------------------------------------------------

def run_submit(args: argparse.Namespace) -> int:
    """Plan, show, confirm and submit (with a cascade: its first pass, the second following its results)."""
    cascade = cascade_arg(args, "submit")
    if cascade is False:
        return 2
    settings = run_settings(args, "submit")
    if settings is None:
        return 2
    client = None
    if not args.dry_run:
        client = _client("submit")
        if client is None:
            return 2
    else:  # a dry run sends nothing, but counts the prompt as gaia estimate does when an API is reachable
        count_prompt_for(args.folder, settings)
    marker = casc = None
    try:
        folder = gaia.Folder(args.folder, client)
        empty = skip_empty(args, "submit", folder, settings)
        if isinstance(cascade, tuple):
            if args.force or args.upload_frames:
                err("submit", "a cascade sends each video once per pass: --force and --upload-frames are not "
                              "offered with it")
                return 2
            plan = folder.plan_cascade(*cascade, settings, likely_empty=empty,
                                       on_progress=progress_for(args, "keyframes for the first pass"))
            marker = plan.cascade_pass
            if plan.requests and not args.dry_run:  # both passes priced: what the user agrees to and the cap checks
                inp = replace(folder.inputs(model=settings.model), settings=settings)
                casc = cascade_for(args, folder, inp, inp.selection.without(empty or ()), *cascade)
        else:
            plan = folder.plan(settings, force=args.force, extract=True,
                               image_source="file" if args.upload_frames else "base64",
                               on_progress=progress_for(args, "keyframes"), likely_empty=empty)
    except Exception as exc:
        err("submit", gaia.describe_error(exc))
        return 1
    if not args.json:
        if marker is not None:
            print(f"Cascade, pass 1 of 2: every video with {plan.model} at the {cascade[1]} frame size; once its "
                  f"results are retrieved, the uncertain answers go again, as a second batch, with {settings.model} "
                  "and the folder's frames.")
        _print_plan(plan)
        if casc is not None:
            print(casc.submit_text())
    if not plan.requests and not plan.blocking_problems and not args.json:
        return 0
    # A cascade's cap is checked against both passes (the second is then capped at what the first left).
    over = (cap_problem(casc.submit_usd, args.max_cost, what=casc.CAP_WHAT, digits=4) if casc is not None
            else cap_problem(plan.estimate_usd, args.max_cost))
    if plan.ok and not args.dry_run and over is None:
        cost = f" for about {fmt.usd(plan.estimate_usd, missing='unknown')}" if plan.estimate_usd is not None else ""
        question = f"Send {len(plan.requests)} videos in {len(plan.batches)} batch(es){cost}?"
        if casc is not None:
            question = (f"Send the cascade's first pass, {len(plan.requests)} videos in {len(plan.batches)} batch(es) "
                        f"for about {fmt.usd(casc.batch.first_usd)}, and then its second pass (the uncertain answers, "
                        f"with {settings.model}) when the results are retrieved: about {fmt.usd(casc.submit_usd)} "
                        f"for both{' within your cap' if args.max_cost is not None else ''}?")
        if (not confirm_send("submit", question, args.yes, folder, [plan], batches=True)
                or not confirm_warnings("submit", plan.warnings, args.yes)):
            return 1
    dry = args.dry_run
    if casc is not None and over is not None:  # the first pass alone may fit: nothing goes that the cap would strand
        res = SubmitResult(blocked=f"{over} Nothing was sent: raise --max-cost or send fewer videos.",
                           estimate_usd=casc.submit_usd)
    else:
        res = folder.submit(plan, dry_run_to=dry, max_cost_usd=args.max_cost, checkpoints=_checkpoints(args),
                            on_progress=progress_for(args, "building"))
    if args.json:
        emit_json({"plan": plan.to_dict(), "result": res.to_dict(),
                   "cascade": casc.to_dict() if casc is not None else None})
        return 0 if res.ok else 1
    return _print_submit(res, "submit", args.folder)


def run_status(args: argparse.Namespace) -> int:
    """Refresh (unless offline) and print the folder's batches."""
    folder = gaia.Folder(args.folder) if args.offline else _folder("status", args.folder)
    if folder is None:
        return 2
    statuses = folder.status(refresh=not args.offline)
    if args.json:
        emit_json({"folder": str(args.folder), "batches": [s.to_dict() for s in statuses],
                   "failures": [f.to_dict() for f in folder.failures()],
                   "parked": parked_view(args.folder).records,
                   "cascades": [c.to_dict() for c in folder.cascades()]})
        return 0
    _print_status(statuses)
    for card in cascade_cards(args.folder):
        print(f"{card.heading}\n    {card.first_text}\n    {card.second_text}")
    fails = folder.failures()
    if fails:
        print(f"{len(fails)} request(s) failed; see 'gaia retrieve {args.folder}' or send them again with "
              f"'gaia retry {args.folder}'.")
    _print_parked(args.folder)
    return 0


@contextlib.contextmanager
def _one_watch(folder: gaia.Folder, poll_s: float, quiet: bool) -> Iterator[None]:
    """Hold the folder's watch lock; while another ``gaia watch`` holds it, say so once and wait."""
    told = False
    with contextlib.ExitStack() as stack:
        while True:
            try:
                stack.enter_context(folder.watching())
                break
            except FolderBusy:
                if not told and not quiet:
                    print(f"Another gaia watch is already watching {folder.path}; waiting for it to finish (it "
                          "retrieves the results as batches end).", flush=True)
                told = True
                time.sleep(poll_s)
        yield


def run_watch(args: argparse.Namespace) -> int:
    """Poll until every batch ended, retrieving as they end (a second watch waits for the first)."""
    folder = _folder("watch", args.folder)
    if folder is None:
        return 2
    with _one_watch(folder, min(args.poll, 5.0), args.json):
        return _watch(args, folder)


def _watch(args: argparse.Namespace, folder: gaia.Folder) -> int:
    quiet = args.json

    def on_status(statuses: list[BatchStatus]) -> None:
        if quiet:
            return
        running = [s for s in statuses if s.running]
        stamp = datetime.now().strftime("%H:%M:%S")
        print(f"[{stamp}] {len(running)} batch(es) running, {len(statuses) - len(running)} ended or not created")
        for s in running:
            print(f"    {s.batch_id or 'intent'}: {s.processing_status or s.state}, {s.n_requests} requests, "
                  f"elapsed {fmt.duration(s.elapsed_s)}" + (f", expires in {fmt.duration(s.expires_in_s)}"
                                                          if s.expires_in_s is not None else ""))
        sys.stdout.flush()

    res = folder.watch(poll_s=args.poll, on_status=on_status, checkpoints=_checkpoints(args),
                       on_progress=progress_for(args, "retrieving"))
    if args.json:
        emit_json({"retrieve": res.to_dict(), "batches": [s.to_dict() for s in folder.status(refresh=False)],
                   "failures": [f.to_dict() for f in folder.failures()]})
        return 0 if res.complete else 1
    print("Every batch has ended.")
    return _print_retrieve(res, args.folder)


def run_retrieve(args: argparse.Namespace) -> int:
    """Retrieve the results of ended batches into sidecars."""
    folder = _folder("retrieve", args.folder)
    if folder is None:
        return 2
    res = folder.retrieve(on_progress=progress_for(args, "retrieving"), checkpoints=_checkpoints(args))
    if args.json:
        emit_json({"retrieve": res.to_dict(), "failures": [f.to_dict() for f in folder.failures()],
                   "parked": parked_view(args.folder).records})
        return 0 if res.complete else 1
    if not res.batches and not res.problems:
        running = [s for s in folder.status(refresh=False) if s.running]
        print(f"Nothing to retrieve{': ' + str(len(running)) + ' batch(es) still running' if running else ''}.")
    return _print_retrieve(res, args.folder)


def run_retry(args: argparse.Namespace) -> int:
    """Show the failures, confirm and send them again."""
    folder = gaia.Folder(args.folder)
    fails = folder.failures()
    if not fails:
        if args.json:
            emit_json({"retried": 0})
        else:
            print("Nothing to retry: no request has failed.")
        return 0
    if not args.dry_run:
        folder.client = _client("retry")
        if folder.client is None:
            return 2
    plans = folder.plan_retry(max_tokens=args.max_tokens)
    total = sum(len(p.requests) for p in plans)
    usd = [p.estimate_usd for p in plans if p.estimate_usd is not None]
    if not args.json:
        print(f"{len(fails)} failed request(s); {total} can be sent again:")
        for f in fails[:SHOW]:
            print(f"  {shown(f.rel_path)}: {f.error_kind}")
        for p in plans:
            for prob in p.problems:
                print(f"  !!  {shown(prob.rel_path or '')}: {prob.problem}")
        if usd:
            print(f"Estimated cost: {fmt.usd(sum(usd), missing='unknown')}")
    if not args.dry_run and total and not confirm_send("retry", f"Send {total} request(s) again?", args.yes, folder,
                                                       plans, batches=True):
        return 1
    if not args.dry_run and total and not confirm_warnings("retry", [w for p in plans for w in p.warnings],
                                                           args.yes):
        return 1
    res = folder.retry(dry_run_to=args.dry_run, max_cost_usd=args.max_cost, checkpoints=_checkpoints(args),
                       max_tokens=args.max_tokens, on_progress=progress_for(args, "building"))
    if args.json:
        emit_json(res.to_dict())
        return 0 if res.ok else 1
    return _print_submit(res, "retry", args.folder)


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel one batch."""
    folder = _folder("cancel", args.folder)
    if folder is None:
        return 2
    try:
        status = folder.cancel(args.batch_id)
    except KeyError as exc:
        err("cancel", str(exc.args[0]))
        return 1
    except Exception as exc:
        err("cancel", gaia.describe_error(exc))
        return 1
    if args.json:
        emit_json(status.to_dict())
    else:
        print(f"Batch {args.batch_id} is {status.processing_status}. Requests already processed keep their "
              f"results; retrieve them with 'gaia retrieve {args.folder}' once it has ended.")
    return 0
