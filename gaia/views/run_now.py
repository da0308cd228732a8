"""What the Submit page's "Run now" and "Try the prompt" tabs show of a run's or a trial's outcome.

A prompt trial is a real run: its answers land in the videos' sidecars. ``TrialUndo`` makes that an
explicit choice: the sidecars as they were are copied aside before the trial (``before_trial``), and
after it the user keeps the answers (``keep_trial``) or discards them (``discard_trial`` puts each
trial video's sidecar back as it was, or removes it if there was none).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gaia import format as fmt
from gaia.folder import user_cache_root
from gaia.media.scan import list_videos
from gaia.runs.now import OnlineResult
from gaia.runs.trial import TrialResult
from gaia.sidecar import sidecar_path
from gaia.views.common import Metric

TRIAL_NOTICE = ("A trial is a real run at standard prices: its answers are written to the videos' `.gaia.json` "
                "sidecars, as a batch's would be, and a batch with the same prompt then skips those videos. After "
                "the trial you choose: keep the answers, or discard them and the sidecars go back to what they were.")

SHOW_ANSWERS = 25  # answers shown after a run (the Results page has them all)


def run_status(result: OnlineResult) -> str:
    """The status line after a run now: not sent, or answered/failed and how long it took."""
    if result.blocked:
        return "Not sent"
    return f"{result.succeeded} answered, {result.failed} failed in {fmt.duration(result.elapsed_s)}"


def last_run_metrics(result: OnlineResult) -> list[Metric]:
    """Answered, failed, spent (against the estimate) and time (with the pace)."""
    pace = f"{result.per_minute:.0f} answers per minute" if result.per_minute else None
    return [
        Metric("Answered", str(result.succeeded)),
        Metric("Failed", str(result.failed)),
        Metric("Spent", fmt.usd(result.spent_usd), help=f"Estimated beforehand: {fmt.usd(result.estimate_usd)}"),
        Metric("Time", fmt.duration(result.elapsed_s), help=pace),
    ]


def trial_status(trial: TrialResult) -> str:
    """The status line after a prompt trial."""
    if trial.blocked:
        return "Not sent"
    return (f"{trial.run.succeeded} answer(s) in {fmt.duration(trial.run.elapsed_s)}, "
            f"{fmt.usd(trial.spent_usd)}")


def trial_metrics(trial: TrialResult) -> list[Metric]:
    """Answered, cost and the mean output tokens per answer."""
    tokens = [int((v.usage or {}).get("output_tokens") or 0) for v in trial.videos if v.usage]
    return [
        Metric("Answered", str(trial.run.succeeded)),
        Metric("Cost", fmt.usd(trial.spent_usd)),
        Metric("Output tokens per answer", fmt.tokens(sum(tokens) / len(tokens)) if tokens else fmt.MISSING),
    ]


@dataclass(frozen=True)
class TrialUndo:
    """The folder's sidecars as they were before a prompt trial, copied aside so its answers can be discarded."""

    folder: Path
    backup: Path  # a private folder holding a copy of every sidecar that existed, by relative path
    existed: frozenset[str]  # the videos (relative paths) that had a sidecar


def before_trial(folder: Path | str) -> TrialUndo:
    """Copy the folder's sidecars aside (in the user cache) before a trial writes answers into some of them."""
    root = Path(folder).resolve()
    base = user_cache_root() / "trial-undo"
    base.mkdir(parents=True, exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix="trial-", dir=base))
    existed = set()
    for video, _ in list_videos(root):
        car = sidecar_path(video)
        if car.is_file():
            rel = video.relative_to(root).as_posix()
            dest = backup / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(car, dest)
            existed.add(rel)
    return TrialUndo(root, backup, frozenset(existed))


def keep_trial(undo: TrialUndo) -> None:
    """Keep the trial's answers: forget the copies."""
    shutil.rmtree(undo.backup, ignore_errors=True)


def discard_trial(undo: TrialUndo, rel_paths: list[str] | tuple[str, ...]) -> int:
    """Put the sidecars of the trial's videos back as they were (removed if there was none); how many changed."""
    changed = 0
    for rel in rel_paths:
        car = sidecar_path(undo.folder / rel)
        if rel in undo.existed:
            shutil.copy2(undo.backup / rel, car)
            changed += 1
        elif car.is_file():
            car.unlink()
            changed += 1
    keep_trial(undo)
    return changed
