"""``gaia keyframes DIR``: extract (or load from the cache) the frames each video will send."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

import gaia
from gaia._cli._common import add_parser, emit_json, folder_arg, progress_for
from gaia.views import display_name as shown
from gaia.views import empty_fields, likely_empty


def register(sub: Any) -> None:
    """Add the ``keyframes`` subcommand."""
    p = add_parser(sub, "keyframes", "Extract the keyframes GAIA will send for each video (cached in DIR/.gaia).",
                   "gaia keyframes ~/Videos/pets --preset economy --count 4\n"
                   "  gaia keyframes ~/Videos/pets --strategy scene --count 8 --max-edge 800\n\n"
                   "frame-size presets (longest edge; tokens of a 1920x1080 frame, which a model may shrink further):\n"
                   + _presets_help())
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="folder of videos")
    p.add_argument("--strategy", choices=gaia.limits.STRATEGIES, help="keyframes (fast default), uniform or scene")
    p.add_argument("--count", type=int, metavar="N", help=f"frames per video (1-{gaia.limits.MAX_FRAME_COUNT})")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--preset", choices=[x.name for x in gaia.limits.FRAME_PRESETS], metavar="NAME",
                      help=f"frame size by name: {', '.join(x.name for x in gaia.limits.FRAME_PRESETS)} "
                           f"(default {gaia.limits.DEFAULT_FRAME_PRESET}; see below)")
    size.add_argument("--max-edge", type=int, metavar="PX",
                      help="a custom longest edge in pixels; 0 for the model's full size")
    p.add_argument("--quality", type=int, metavar="Q", help="JPEG quality 30-95")
    p.add_argument("--model", help="model whose image size limit applies (default: the folder's setting)")
    p.add_argument("--no-save", dest="save", action="store_false",
                   help="use these settings for this extraction only (by default settings given here become the "
                        "folder's run settings, so estimate, submit and the app use the same frames)")
    p.add_argument("--check-empty", dest="empty_check", action="store_true",
                   help="also check videos never checked for being likely empty (a local check that decodes every "
                        "frame of each video, small: several times the time of extracting keyframes; scores are "
                        "cached); without it, scores come from the cache (null: not checked yet)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def _presets_help() -> str:
    """The presets with the tokens of a full-HD frame at their edge (the pixel rule only: building the
    parser must not read the price file, whose errors the command reports)."""
    lines = []
    for x in gaia.limits.FRAME_PRESETS:
        tokens = gaia.image_tokens(x.max_edge, round(x.max_edge * 1080 / 1920))
        lines.append(f"  {x.name:<9} {x.max_edge:>5} px  {tokens:>5} tokens  {x.shows}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Extract and print a line per video; exit 1 only when the command itself failed."""
    folder = gaia.Folder(args.folder)
    settings = folder.settings()
    edge = gaia.frame_preset(args.preset).max_edge if args.preset else args.max_edge
    changes: dict[str, Any] = {k: v for k, v in {"strategy": args.strategy, "count": args.count, "max_edge": edge,
                                                 "jpeg_quality": args.quality}.items() if v is not None}
    if changes.get("max_edge") == 0:
        changes["max_edge"] = None  # the model's full size
    try:
        settings = replace(settings, keyframes=replace(settings.keyframes, **changes))
        if args.model:
            if (why := gaia.not_offered_reason(args.model)) is not None:
                raise ValueError(why)
            settings = replace(settings, model=args.model)
    except ValueError as exc:
        print(f"gaia keyframes: {exc}", file=sys.stderr)
        return 2
    try:
        records = folder.scan().records
    except gaia.FolderError as exc:
        print(f"gaia keyframes: {exc}", file=sys.stderr)
        return 1
    if args.save and (changes or args.model) and settings != folder.settings():
        folder.save_settings(settings)
        if not args.json:
            print("(saved as the folder's run settings)")
    sets = folder.keyframes(settings=settings.keyframes, model=settings.model, records=records,
                             on_progress=progress_for(args, "extracting"))
    scores = folder.empty_scores(records, measure_missing=args.empty_check,
                          on_progress=progress_for(args, "checking for empty clips"))
    threshold = settings.empty_threshold
    if args.json:
        emit_json({"folder": str(args.folder), "model": settings.model, "settings": vars(settings.keyframes),
                   "frame_preset": settings.frame_preset, "empty_threshold": threshold,
                   "videos": [{**k.to_dict(), **empty_fields(scores.get(k.rel_path), threshold)} for k in sets]})
        return 0
    for k in sets:
        if k.problem:
            print(f"  !!  {shown(k.rel_path)}: {k.problem}")
            continue
        times = ", ".join(gaia.format.position(f.timestamp) for f in k.frames)
        size = f"{k.frames[0].width}x{k.frames[0].height}" if k.frames else "-"
        cached = " (cached)" if k.cached else ""
        note = f"  [{k.note}]" if k.note else ""
        score = scores.get(k.rel_path)
        if score is not None and score.likely_empty(threshold):
            note += f"  [likely empty, {score.score:.2f}: {score.reason}]"
        tokens = gaia.format.tokens(k.tokens)
        print(f"  ok  {shown(k.rel_path)}: {len(k.frames)} frames at {times}; {size}, {tokens} image tokens"
              f"{cached}{note}")
    ok = [k for k in sets if not k.problem]
    flagged = likely_empty(scores, threshold)
    if flagged:
        print(f"{len(flagged)} clip(s) likely empty (empty score at or above {threshold:g}); review them on the "
              "Keyframes page, or leave them out with --skip-empty on estimate, run and submit")
    elif not args.empty_check and len(scores) < len(ok):
        print("Not checked for likely-empty clips: add --check-empty (or use the Keyframes page)")
    print(f"{len(ok)} of {len(sets)} videos have frames; {sum(len(k.frames) for k in ok)} frames, "
          f"{gaia.format.tokens(sum(k.tokens for k in ok))} image tokens for {settings.model} "
          f"(frame size: {settings.frame_preset})")
    return 0
