"""``gaia export DIR --format xmp|camtrap-dp|csv|jsonl [--out PATH]``: the answers where people work.

Every format carries the effective answer: human-verified fields (``gaia.labels``) over the model's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import gaia
from gaia._cli._common import add_parser, folder_arg
from gaia.limits import CAMTRAP_VERSION, XMP_NAMINGS
from gaia.views import display_name as shown

FORMATS = ("xmp", "camtrap-dp", "csv", "jsonl")


def register(sub: Any) -> None:
    """Add the ``export`` subcommand."""
    p = add_parser(sub, "export", "Export a folder's answers as XMP sidecars, a Camtrap DP package, CSV or JSONL.",
                   "gaia export ~/traps --format camtrap-dp --latitude 51.05 --longitude 3.72 --out traps-dp")
    p.add_argument("folder", type=folder_arg, metavar="DIR", help="the folder of videos")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument("--out", type=Path, metavar="PATH",
                   help="csv/jsonl: the file (default: standard output); camtrap-dp: the folder "
                        "(default: .gaia/exports/camtrap-dp); xmp: not used (sidecars go beside the videos)")
    p.add_argument("--naming", choices=XMP_NAMINGS,
                   help="xmp: clip.mp4.xmp ('video', digiKam/darktable) or clip.xmp ('stem'); "
                        "default: the folder's setting")
    p.add_argument("--embed", action="store_true",
                   help="xmp: also write the XMP into each MP4/MOV video (needs exiftool; a copy replaces the video "
                        "only once written; AVI/MPG are refused)")
    p.add_argument("--latitude", type=float, help="camtrap-dp: the deployments' latitude (decimal degrees)")
    p.add_argument("--longitude", type=float, help="camtrap-dp: the deployments' longitude (decimal degrees)")
    p.add_argument("--title", help="camtrap-dp: the package title")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the export; exit 1 when nothing could be written or a Camtrap DP package does not validate."""
    if args.embed and args.format != "xmp":
        print("gaia export: --embed writes XMP into MP4/MOV videos; it goes with --format xmp only", file=sys.stderr)
        return 2
    try:
        if args.format == "xmp":
            return _xmp(args)
        if args.format == "camtrap-dp":
            return _camtrap(args)
        return _table(args)
    except (gaia.FolderError, OSError) as exc:
        print(f"gaia export: {exc}", file=sys.stderr)
        return 1


def _table(args: argparse.Namespace) -> int:
    rows: gaia.Results = gaia.Folder(args.folder).results()
    if args.format == "csv":
        chunks: Any = [rows.to_csv()]
    else:
        chunks = gaia.views.iter_analyses_jsonl(args.folder, rows)
    if args.out is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    with tmp.open("w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({sum(r.status == 'analysed' for r in rows)} analysed videos)", file=sys.stderr)
    return 0


def _xmp(args: argparse.Namespace) -> int:
    if args.out is not None:
        print("gaia export: XMP sidecars are written beside each video; --out does not apply "
              "(use --naming to choose clip.mp4.xmp or clip.xmp)", file=sys.stderr)
        return 2
    result = gaia.Folder(args.folder).export_xmp(naming=args.naming, embed=args.embed)
    for path in result.written:
        print(f"  ok  {shown(path)}")
    for path in result.embedded:
        print(f"  ok  {shown(path)} (XMP written into the video)")
    for rel, why in result.problems:
        print(f"  !!  {shown(rel)}: {why}")
    into = f", {len(result.embedded)} written into their videos" if args.embed else ""
    print(f"{len(result.written)} XMP sidecars written{into}, {len(result.skipped)} videos without an answer, "
          f"{len(result.problems)} problems")
    return 1 if result.problems and (args.embed or not result.written) else 0


def _camtrap(args: argparse.Namespace) -> int:
    folder = gaia.Folder.of(args.folder)
    out = args.out or folder.workdir / "exports" / "camtrap-dp"
    default = gaia.CamtrapDeployment(args.latitude, args.longitude)
    written = gaia.views.camtrap_package(folder, out, default, title=args.title)
    result = written.result
    counts = ", ".join(f"{n} {table}" for table, n in result.counts.items())
    print(f"wrote a Camtrap DP package in {out}: {counts}")
    for warning in result.warnings:
        print(f"  !!  {warning}")
    for note in result.notes:
        print(f"  --  {note}")
    problems = written.problems
    if problems:
        print(f"it does not validate against the official Camtrap DP {CAMTRAP_VERSION} schemas "
              f"({len(problems)} problems):")
        for p in problems[:20]:
            print(f"  !!  {p}")
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more")
        return 1
    print(f"it validates against the official Camtrap DP {CAMTRAP_VERSION} profile and table schemas")
    return 0
