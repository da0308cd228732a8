"""Benchmark: the cascade's estimate after a pilot against what the rest actually cost, on the emulator.

For each folder and each pilot (a few videos sent through the cascade first), in one run:

1. the pilot is sent (``run_cascade`` on those videos only: the spread pilot ``--limit N`` takes, or another
   choice of videos);
2. the cascade is estimated for the videos left (``Folder.cascade_estimate``, what ``gaia estimate --cascade``
   shows): the rest with its range, and the whole cascade (the pilot's bills + the rest);
3. the rest is sent (``run_cascade``) and its bills measured as ``gaia spent`` counts them.

It prints, per folder and pilot, the rest's estimate / actual / error and whether the range holds it, the same
for the whole cascade, what the estimate would have been with the rest's actual output per video (what output
alone got wrong), and each pass's output tokens per video: the pilot's mean, what the estimate predicts for the
rest, and the rest's actual mean (output is most of the bill). Once per folder, every answer is predicted from
all the others (leave-one-out), with and without the frames they were sent. The folders:

- ``demo``: the demo folder (5 videos, 6 frames each: nothing GAIA knows differs between them);
- ``larger``: 13 videos (the demo's 5, 3 of them again, 5 clips with one big animal: last round's folder);
- ``kinds``, ``kinds_b``: generated clips of ``tests/videos.py`` whose frame counts differ (1 to 6 frames sent);
- ``same_frames``: the negative control, generated clips that all send 6 frames but differ in content.

Usage: python bench/cascade_pilot.py [--folders demo,larger,kinds,kinds_b,same_frames] [--pilot 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import videos as media  # noqa: E402  (the test video library: the same clips the tests use)

CHEAP_MODEL, CHEAP_PRESET = "claude-haiku-5-5", "economy"


def _demo(dest: Path) -> Path:
    from gaia.media.demo import ensure_demo_folder

    shutil.copytree(ensure_demo_folder(), dest, copy_function=shutil.copy2, ignore=shutil.ignore_patterns(".gaia"))
    return dest


def _larger(dest: Path) -> Path:
    folder = _demo(dest)
    for name in ("birds_at_the_feeder.mp4", "dog_in_the_garden.mp4", "fish_in_the_tank.mp4"):
        shutil.copy2(folder / name, folder / f"z_again_{name}")
    media.big_subjects(folder)
    return folder


def _kinds(names: tuple[str, ...]) -> Callable[[Path], Path]:
    def build(dest: Path) -> Path:
        dest.mkdir(parents=True)
        for i, kind in enumerate(names):
            media.make(kind, dest / f"{i:02d}_{kind}{media.EXTENSIONS.get(kind, '.mp4')}")
        return dest
    return build


FOLDERS: dict[str, Callable[[Path], Path]] = {
    "demo": _demo,
    "larger": _larger,
    # frame counts differ: a still scene sends 1 frame, cuts 4, a moving pattern 6
    "kinds": _kinds(("testsrc", "static", "cuts", "distinct", "offset", "late_event", "black_edges", "hd", "vfr",
                     "rotated")),
    # frame counts differ again, other clips (a late visitor, an offset start, a long black opening)
    "kinds_b": _kinds(("late_event", "testsrc_gop1", "offset", "bframes", "black_open_long_gop", "static", "mov",
                       "cuts", "avi")),
    # the negative control: every clip sends 6 frames
    "same_frames": _kinds(("testsrc", "testsrc_gop1", "bframes", "hd", "distinct", "with_audio", "mkv", "webm")),
}


def _pilots(rels: list[str], n: int) -> dict[str, list[str]]:
    """The spread pilot ``--limit n`` sends, the first ``n`` names and the last ``n``."""
    from gaia.runs.levers import spread_sample

    out = {"spread": spread_sample(rels, n), "first": rels[:n], "last": rels[-n:]}
    seen: dict[tuple[str, ...], str] = {}
    return {k: v for k, v in out.items() if seen.setdefault(tuple(v), k) == k}


def _outputs(folder: Path, run_ids: set[str] | None = None) -> dict[str, list[int]]:
    """Output tokens of the answers per model (of ``run_ids`` when given)."""
    import gaia
    from gaia.pricing.models import usage_tokens

    out: dict[str, list[int]] = {}
    with gaia.Folder(folder).ledger() as ledger:
        for r in ledger.requests():
            if r.usage and r.status == "succeeded" and (run_ids is None or r.run_id in run_ids):
                out.setdefault(r.model or "", []).append(int(usage_tokens(r.usage).output))
    return out


def _mean(xs: list[int]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def one(root: Path, name: str, pilot_name: str, pilot: list[str], client) -> dict:
    import gaia
    import gaia.face
    import gaia.pricing.output
    from gaia.media.scan import scan_folder
    from gaia.runs.levers import run_cascade

    folder = root / f"{name}-{pilot_name}"
    shutil.copytree(root / f"_{name}", folder, copy_function=shutil.copy2, ignore=shutil.ignore_patterns(".gaia"))
    f = gaia.Folder(folder)
    rels = sorted(r.rel_path for r in scan_folder(folder).records if r.usable)
    base = f.selection()
    f.save_selection(base.without(r for r in rels if r not in pilot))
    run_cascade(folder, client, CHEAP_MODEL, CHEAP_PRESET)
    f.save_selection(base)
    spent = f.spent().total_usd
    before = _outputs(folder)
    predicted: dict[str, float] = {}
    priced = gaia.face.cascade_estimate

    def seen(first, strong, **kw):  # what each pass's estimate predicts per video
        predicted.update({first.facts.id: first.output.median, strong.facts.id: strong.output.median})
        return priced(first, strong, **kw)

    gaia.face.cascade_estimate = seen
    try:
        est = gaia.Folder(folder).cascade_estimate(CHEAP_MODEL, CHEAP_PRESET)
    finally:
        gaia.face.cascade_estimate = priced
    # The baseline, in the same run: the same estimate with the answers' mean alone (no frames line).
    line = gaia.pricing.output.frames_line
    gaia.pricing.output.frames_line = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        plain = gaia.Folder(folder).cascade_estimate(CHEAP_MODEL, CHEAP_PRESET)
    finally:
        gaia.pricing.output.frames_line = line
    with f.ledger() as ledger:
        runs_before = {r.run_id for r in ledger.requests()}
    run_cascade(folder, client, CHEAP_MODEL, CHEAP_PRESET)
    actual = f.spent().total_usd - spent
    with f.ledger() as ledger:
        new_runs = {r.run_id for r in ledger.requests()} - runs_before
    after = _outputs(folder, new_runs)
    return {"folder": name, "pilot": pilot_name, "videos": len(rels), "est": est, "plain": plain, "actual": actual,
            "spent": spent, "before": before, "after": after, "predicted": predicted, "loo": _leave_one_out(folder)}


def _leave_one_out(folder: Path) -> dict[str, tuple[float, float, int]]:
    """Per model, every answer predicted from all the others (``from_history``, with and without the frames they
    were sent): the mean |error| of each, and how many answers."""
    import gaia
    from gaia.pricing.models import usage_tokens
    from gaia.pricing.output import from_history

    by_model: dict[str, list[tuple[int, int]]] = {}
    with gaia.Folder(folder).ledger() as ledger:
        for r in ledger.requests():
            if r.usage and r.status == "succeeded":
                by_model.setdefault(r.model or "", []).append((len(r.timestamps), int(usage_tokens(r.usage).output)))
    out = {}
    for model, rows in by_model.items():
        if len(rows) < 3:
            continue
        err_f = err_p = 0.0
        for i, (x, y) in enumerate(rows):
            others = rows[:i] + rows[i + 1:]
            ys, xs = [o for _f, o in others], [f for f, _o in others]
            err_f += abs(from_history(ys, remaining=1, frames=xs, to_send=[x]).point - y) / y
            err_p += abs(from_history(ys, remaining=1).point - y) / y
        out[model] = (err_f / len(rows), err_p / len(rows), len(rows))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folders", default=",".join(FOLDERS))
    ap.add_argument("--pilot", type=int, default=3)
    args = ap.parse_args()
    from bench._common import emulator_process

    root = Path(tempfile.mkdtemp(prefix="gaia-cascade-pilot-"))
    os.environ.setdefault("XDG_CACHE_HOME", str(root / "cache"))
    rows = []
    try:
        from gaia.media.scan import scan_folder

        for name in args.folders.split(","):
            src = FOLDERS[name](root / f"_{name}")
            rels = sorted(r.rel_path for r in scan_folder(src).records if r.usable)
            for pilot_name, pilot in _pilots(rels, args.pilot).items():
                # an emulator of its own: no prompt cache left warm by another folder's runs
                with emulator_process(root / f"emulator-{name}-{pilot_name}", ROOT) as client:
                    rows.append(one(root, name, pilot_name, pilot, client))
                _print(rows[-1])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    for key, what in (("est", "with the frames"), ("plain", "without (the answers' mean)")):
        rest = [abs(r[key].total_usd - r["actual"]) / r["actual"] for r in rows]
        held = sum(1 for r in rows if r[key].low_usd <= r["actual"] <= r[key].high_usd)
        print(f"the rest, {what}: within ±10% in {sum(1 for e in rest if e <= 0.10)}/{len(rows)}, worst "
              f"{max(rest):.1%}, mean |error| {sum(rest) / len(rest):.1%}; range holds the actual in "
              f"{held}/{len(rows)}")


def _print(r: dict) -> None:
    est, actual, spent = r["est"], r["actual"], r["spent"]
    whole_est, whole_lo, whole_hi = est.whole
    whole = spent + actual
    ok = "yes" if est.low_usd <= actual <= est.high_usd else "NO"
    wok = "yes" if whole_lo <= whole <= whole_hi else "NO"
    print(f"{r['folder']:>11} ({r['videos']:2d}) pilot {r['pilot']:<6} rest {est.total_usd:.5f} / {actual:.5f} "
          f"{(est.total_usd - actual) / actual:+6.1%} range {est.low_usd:.5f}-{est.high_usd:.5f} holds {ok:<3} "
          f"tells {'yes' if est.can_tell else 'no '} | whole {whole_est:.5f} / {whole:.5f} "
          f"{(whole_est - whole) / whole:+6.1%} holds {wok}")
    p = r["plain"]
    print(f"{'':>18} without the frames (the answers' mean): rest {p.total_usd:.5f} "
          f"{(p.total_usd - actual) / actual:+6.1%}, holds {'yes' if p.low_usd <= actual <= p.high_usd else 'NO'}; "
          f"whole {p.whole[0]:.5f} {(p.whole[0] - whole) / whole:+6.1%}")
    # The same estimate had it known each pass's output per video for the rest (what output alone got wrong).
    from gaia.pricing.models import facts_of, rates

    off = 0.0
    for model, pred in r["predicted"].items():
        if r["after"].get(model):
            videos = est.videos * (1.0 if model == CHEAP_MODEL else est.escalation_share)
            off += (pred - _mean(r["after"][model])) * videos * rates(facts_of(model), batch=False)["output"]
    print(f"{'':>18} with the rest's actual output per video: rest {est.total_usd - off:.5f} "
          f"{(est.total_usd - off - actual) / actual:+6.1%}")
    if r["pilot"] == "spread":
        for model, (err_f, err_p, n) in sorted(r["loo"].items()):
            print(f"{'':>18} leave-one-out over the folder's {n} {model} answers: mean |error| with the frames "
                  f"{err_f:.1%}, the mean of the others {err_p:.1%}")
    for model in sorted(set(r["before"]) | set(r["after"])):
        pred = r["predicted"].get(model)
        print(f"{'':>18} {model:<18} output/video: pilot {_mean(r['before'].get(model, [])):6.0f} "
              f"(n={len(r['before'].get(model, []))}), estimate {pred if pred is None else round(pred)}, "
              f"rest {_mean(r['after'].get(model, [])):6.0f} (n={len(r['after'].get(model, []))})")


if __name__ == "__main__":
    main()
