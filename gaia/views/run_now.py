"""What the Submit page's "Run now" and "Try the prompt" tabs show of a run's or a trial's outcome.

A prompt trial is a real run: its answers land in the videos' sidecars. Undoing it writes files, so
it lives with the runs (``gaia.runs.trial.before_trial`` and ``TrialUndo``); this module only reads.
"""

from __future__ import annotations

from gaia import format as fmt
from gaia.runs.now import OnlineResult
from gaia.runs.trial import TrialResult
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


