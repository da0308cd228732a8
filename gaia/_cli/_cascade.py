"""``--cascade CHEAP_MODEL:PRESET`` shared by ``gaia estimate``, ``gaia run`` and ``gaia submit``."""

from __future__ import annotations

import argparse
from typing import Any

import gaia
from gaia._cli._common import err, progress_for

NO_CASCADE = ("off", "none")


def add_cascade(p: argparse.ArgumentParser) -> None:
    """Add ``--cascade`` to a subcommand."""
    p.add_argument("--cascade", metavar="CHEAP_MODEL:PRESET",
                   help="two passes: every video with a cheap model and frame preset (e.g. claude-haiku-5-5:economy), "
                        "then only the uncertain answers (low confidence, species unknown, frames disagreeing) again "
                        "with the folder's model and frames (default: the folder's 'cascade' setting; 'off' for "
                        "one pass)")


def cascade_arg(args: argparse.Namespace, cmd: str) -> tuple[str, str] | bool | None:
    """``(model, preset)`` from ``--cascade`` or else the folder's ``cascade`` setting, ``None`` for one pass
    (``--cascade off``), ``False`` after printing why it is wrong."""
    text = getattr(args, "cascade", None)
    if text and text.strip().lower() in NO_CASCADE:
        return None
    if not text:
        text = gaia.Folder(args.folder).settings().cascade
    if not text:
        return None
    try:
        model, preset = gaia.parse_cascade(text)
    except ValueError as exc:
        err(cmd, str(exc))
        return False
    if (why := gaia.not_offered_reason(model)) is not None:
        err(cmd, why)
        return False
    return model, preset


def cascade_for(args: argparse.Namespace, folder: gaia.Folder, inp: Any, selection: Any, cheap_model: str,
                preset: str) -> Any:
    """The cascade scenario for the videos still to send (``gaia.Folder.cascade_estimate``), with a progress
    bar for each pass's keyframes: what ``gaia estimate`` shows and ``gaia submit`` asks and caps with."""
    return folder.cascade_estimate(cheap_model, preset, inputs=inp, selection=selection,
                                   output_tokens=getattr(args, "output_tokens", None),
                                   on_progress=progress_for(args, "keyframes for the first pass"),
                                   on_second_progress=progress_for(args, "keyframes for the second pass"))
