"""``--cascade CHEAP_MODEL:PRESET`` shared by ``gaia estimate``, ``gaia run`` and ``gaia submit``."""

from __future__ import annotations

import argparse
from dataclasses import replace

from gaia._cli._common import err, progress_for
from gaia.facts import not_offered_reason
from gaia.folder import Folder
from gaia.media.keyframes import extract_keyframes
from gaia.pricing.estimate import RunInputs, load_run_inputs
from gaia.pricing.levers import CascadeEstimate, cascade_estimate, folder_estimator, without
from gaia.runs.levers import cascaded, cheap_settings, escalation_share
from gaia.settings import Selection, parse_cascade

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
        text = Folder.of(args.folder).settings().cascade
    if not text:
        return None
    try:
        model, preset = parse_cascade(text)
    except ValueError as exc:
        err(cmd, str(exc))
        return False
    if (why := not_offered_reason(model)) is not None:
        err(cmd, why)
        return False
    return model, preset


def cascade_for(args: argparse.Namespace, folder: Folder, inp: RunInputs, selection: Selection, cheap_model: str,
                preset: str) -> CascadeEstimate:
    """The cascade scenario for the videos still to send: the cheap configuration's estimate (its keyframes
    extracted when missing) and the strong one's, for the same videos, with the escalation share."""
    cheap = cheap_settings(inp.settings, cheap_model, preset)
    done = cascaded(folder, cheap_model)
    sel = without(selection, done)
    sets = extract_keyframes(folder.path, settings=cheap.keyframes, model=cheap.model,
                             on_progress=progress_for(args, "keyframes for the first pass"))
    inp_c = replace(load_run_inputs(folder, model=cheap.model), sets=tuple(sets), settings=cheap)
    first = folder_estimator(inp_c, output_tokens_default=args.output_tokens)(sel)
    # The strong configuration priced for every video the cascade may escalate: their frames too.
    strong_sets = extract_keyframes(folder.path, settings=inp.settings.keyframes, model=inp.model,
                                    on_progress=progress_for(args, "keyframes for the second pass"))
    strong_est = folder_estimator(replace(inp, sets=tuple(strong_sets)), output_tokens_default=args.output_tokens)(sel)
    share = escalation_share(folder, cheap_model, preset)
    return cascade_estimate(first, strong_est, share=share.point, share_low=share.low, share_high=share.high,
                            share_source=share.source)
