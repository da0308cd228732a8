"""What the Progress page shows: polling pace, batch cards, and the figures its charts draw from the ledger.

``refresh_interval`` (how often to ask the API while a batch runs), ``batch_card`` (a batch's badge,
figures and notes, formatted), ``batch_timings`` (size against processing time) and ``batch_costs``
(estimated against actual cost per batch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.facts import BATCH_EXPIRY_HOURS
from gaia.folder import Folder
from gaia.fsutil import display_name
from gaia.runs.batch import SubmitResult
from gaia.runs.failures import FailedRequest
from gaia.runs.recorder import parked_answers
from gaia.runs.retrieve import RetrieveResult
from gaia.runs.status import COUNTS_NOTE, BatchStatus
from gaia.views.common import Metric

# How often the Progress page asks the API about running batches (seconds). The emulator ends
# batches in seconds; the real API takes minutes to hours, and every poll is an API call.
POLL_EMULATOR_S = 2.0
POLL_API_S = 30.0


def refresh_interval(statuses: Iterable[BatchStatus], *, emulator: bool = False) -> float | None:
    """Seconds between automatic status checks while some batch runs; ``None`` when none does."""
    if not any(s.running for s in statuses):
        return None
    return POLL_EMULATOR_S if emulator else POLL_API_S


@dataclass(frozen=True)
class BatchTiming:
    """An ended batch's size and how long the API took (from the ledger's history)."""

    batch_id: str
    requests: int
    seconds: float


@dataclass(frozen=True)
class BatchCost:
    """A batch's estimate at submission and the actual cost of the results recorded so far.

    The estimate covers the requests that were processed: canceled or expired ones (never billed) are taken out.
    """

    batch_id: str
    estimate_usd: float | None
    actual_usd: float


def batch_timings(folder: Path | str) -> list[BatchTiming]:
    """Every ended batch of the folder: requests and seconds from creation to end, oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [BatchTiming(bid, n, s) for n, s, bid in ledger.batch_durations()]


def batch_costs(folder: Path | str) -> list[BatchCost]:
    """Per batch the API created: estimated and actual USD (actual counts only retrieved results)."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        unbilled = ledger.unbilled_by_batch()
        return [BatchCost(bid, _billed_estimate(est, *unbilled.get(bid, (0, 0))), act)
                for bid, est, act in ledger.cost_by_batch()]


def _billed_estimate(estimate: float | None, requests: int, unbilled: int) -> float | None:
    """The estimate for the requests that were processed: after a cancel, a 2-request estimate against a
    1-request actual would read as a saving that never was."""
    if estimate is None or not requests or not unbilled:
        return estimate
    return estimate * (requests - unbilled) / requests


CARDS_SHOWN = 12  # finished batches beyond this go into one table
STATUS_BADGE = {
    "pending": ("checking creation", "gray", ":material/pending:"),
    "in_progress": ("in progress", "blue", ":material/progress_activity:"),
    "canceling": ("canceling", "orange", ":material/cancel:"),
    "ended": ("ended", "green", ":material/check_circle:"),
    "abandoned": ("not created", "red", ":material/error:"),
}
ENDPOINT_NOTE_DEMO = ("Demo mode is on: the local emulator cannot see batches sent to the real API. Turn demo "
                      "mode off in the sidebar to follow them; nothing is lost.")
ENDPOINT_NOTE_REAL = ("Batches made in demo mode live in the local emulator, and the API cannot see them; "
                      "a batch made with another key or workspace cannot be seen with this one either.")
# How ``describe_error`` words an HTTP 404 (gaia.api.client); the ledger keeps only the text.


@dataclass(frozen=True)
class Badge:
    """A batch's state as a coloured badge."""

    label: str
    colour: str
    icon: str | None


def status_key(s: BatchStatus) -> str:
    """``pending``, ``abandoned`` or the API's processing status (``in_progress``, ``canceling``, ``ended``)."""
    if s.state in ("abandoned", "pending"):
        return s.state
    return s.processing_status or "in_progress"


def badge(s: BatchStatus) -> Badge:
    """The badge of a batch card; an ended batch says whether its results are in the sidecars yet, and a
    canceled one says so (with how many answered), never the green of a batch that finished its work."""
    if s.needs_retrieval:
        return Badge("ended · results ready", "violet", ":material/download:")
    if s.ended and (s.cancel_initiated_at is not None or s.counts.get("canceled")):
        answered = s.counts.get("succeeded", 0)
        return Badge(f"canceled · {answered} of {s.n_requests} answered", "orange", ":material/cancel:")
    if s.ended and s.results_state == "done":
        return Badge("results in sidecars", "green", ":material/task_alt:")
    label, colour, icon = STATUS_BADGE.get(status_key(s), (s.processing_status or s.state, "gray", None))
    return Badge(label, colour, icon)


def unseen_by_endpoint(s: BatchStatus) -> bool:
    """Whether the endpoint answered "not found" for the batch (made in demo mode, or with another key)."""
    return s.not_found


def endpoint_note(s: BatchStatus, *, emulator: bool) -> str | None:
    """What to say under a batch the current endpoint cannot see; ``None`` when it can."""
    if not unseen_by_endpoint(s):
        return None
    return ENDPOINT_NOTE_DEMO if emulator else ENDPOINT_NOTE_REAL


def when(d: datetime | None, now: datetime | None = None) -> str:
    """``2026-11-24 10:00 UTC (12 min ago)``."""
    if d is None:
        return fmt.MISSING
    ago = ((now or datetime.now(UTC)) - d).total_seconds()
    return f"{d:%Y-%m-%d %H:%M} UTC ({fmt.duration(ago)} ago)"


def card_metrics(s: BatchStatus) -> list[Metric]:
    """The five figures of a batch card: created, elapsed, written/failed, estimated, actual."""
    done, failed = s.outcomes.get("succeeded", 0), s.outcomes.get("failed", 0)
    return [
        Metric("Created (UTC)", f"{s.created_at:%H:%M:%S}" if s.created_at else fmt.MISSING, help=when(s.created_at)),
        Metric("Elapsed" if s.running else "Took", fmt.duration(s.elapsed_s)),
        Metric("Written / failed", f"{done:,} / {failed:,}" if s.ended else fmt.MISSING,
               help="GAIA's own tally: sidecars written and requests recorded as failed."),
        Metric("Estimated", fmt.usd(s.estimate_usd), help="The estimate made at submission (batch prices)."),
        Metric("Actual", fmt.usd(s.actual_usd), help="From the usage of the results recorded so far."),
    ]


def card_heading(s: BatchStatus, number: int) -> str:
    """``**Batch 2** · `msgbatch_…` ``, requests, size and run (Markdown; ids in code spans)."""
    return (f"**Batch {number}** · `{s.batch_id or 'not created'}`  \n"
            f"{s.n_requests:,} requests · {fmt.size(s.nbytes or 0)} · run `{s.run_id}`")


def expiry_text(s: BatchStatus) -> str:
    """The caption of a running batch's 24-hour window bar."""
    return (f"{fmt.duration(s.expires_in_s)} left of the API's {BATCH_EXPIRY_HOURS}-hour window (requests not "
            "processed by then expire, unbilled)")


def counts_text(s: BatchStatus) -> str:
    """The API's request counts in a sentence (with the note that they arrive only at the end while running)."""
    counts = " · ".join(f"{k} {v:,}" for k, v in s.counts.items() if v) or "none yet"
    return f"API request counts: {counts}." + (f" {COUNTS_NOTE}" if s.running else "")


def can_cancel(s: BatchStatus) -> bool:
    """Whether the card offers "Cancel batch": submitted, in progress at the API, with a batch id."""
    return s.running and s.state == "submitted" and s.processing_status == "in_progress" and bool(s.batch_id)


def batch_metrics(statuses: Sequence[BatchStatus]) -> list[Metric]:
    """The four figures above the cards: batches, running, requests, results retrieved of the ended."""
    ended = [s for s in statuses if s.ended]
    return [
        Metric("Batches", str(len(statuses))),
        Metric("Running", str(sum(1 for s in statuses if s.running))),
        Metric("Requests", f"{sum(s.n_requests for s in statuses if s.state != 'abandoned'):,}"),
        Metric("Results retrieved", f"{sum(1 for s in ended if s.results_state == 'done')} of {len(ended)} ended"
               if ended else "none ended yet",
               help="Ended batches whose results are in the sidecars." if ended else
               "Results are retrieved as soon as a batch ends."),
    ]


def needs_eyes(s: BatchStatus) -> bool:
    """A batch still worth a card of its own: running, results to fetch, or an error to read."""
    return s.running or s.needs_retrieval or bool(s.error and s.state != "abandoned")


def arrange(statuses: Sequence[BatchStatus], shown: int = CARDS_SHOWN
            ) -> tuple[list[tuple[int, BatchStatus]], list[tuple[int, BatchStatus]]]:
    """``(cards, older)``: numbered batches (1 = oldest), newest first; those needing attention always get a
    card, finished ones fill the rest up to ``shown``, and the remainder go to ``older``."""
    numbered = list(enumerate(statuses, start=1))
    active = [(i, s) for i, s in reversed(numbered) if needs_eyes(s)]
    finished = [(i, s) for i, s in reversed(numbered) if not needs_eyes(s)]
    room = max(0, shown - len(active))
    return active + finished[:room], finished[room:]


def older_records(older: Iterable[tuple[int, BatchStatus]]) -> list[dict[str, Any]]:
    """The table of batches without a card."""
    return [{"batch": i, "id": s.batch_id, "status": status_key(s), "requests": s.n_requests, "created": s.created_at,
             "took": fmt.duration(s.elapsed_s), "actual (USD)": s.actual_usd} for i, s in older]


def retrieve_report(res: RetrieveResult) -> tuple[str, list[str]]:
    """What to say after a retrieval: the flash sentence, and the problems to list."""
    flash = (f"Results retrieved: {res.written} sidecar(s) written"
             + (f", {res.failed} request(s) failed (listed below, with “retry failed”)" if res.failed else "") + "."
             + (f" The cascade's second pass: {res.second_pass_sent} uncertain video(s) sent again in a new batch."
                if res.second_pass_sent else ""))
    problems = list(res.problems) + [b.error for b in res.batches if b.error]
    if res.unknown:
        problems.append(f"{res.unknown} result(s) had an id that is none of the batch's requests; they were not "
                        "written anywhere (see the ledger's events).")
    return flash, problems


@dataclass(frozen=True)
class TimingChart:
    """Batch size against processing time, in a unit that keeps the numbers readable."""

    requests: list[int]
    values: list[float]
    labels: list[str]
    unit: str
    x_max: float
    y_max: float


def timing_chart(timings: Sequence[BatchTiming], numbers: dict[str, int]) -> TimingChart | None:
    """The timing chart's points (``None`` before any batch has ended); ``numbers``: batch id → card number."""
    if not timings:
        return None
    longest = max(t.seconds for t in timings)
    unit, scale = ("seconds", 1.0) if longest < 180 else ("minutes", 60.0) if longest < 3 * 3600 else ("hours", 3600.0)
    return TimingChart([t.requests for t in timings], [t.seconds / scale for t in timings],
                       [f"Batch {numbers.get(t.batch_id, '?')}" for t in timings], unit,
                       max(t.requests for t in timings) * 1.1 + 1, longest / scale * 1.15 or 1.0)


@dataclass(frozen=True)
class CostChart:
    """Estimated against actual cost, one pair of bars per batch with results."""

    names: list[str]
    estimate_usd: list[float]
    actual_usd: list[float]


def cost_chart(costs: Sequence[BatchCost], numbers: dict[str, int]) -> CostChart | None:
    """The cost chart's bars for batches with an actual cost (``None`` before any result is retrieved)."""
    costs = [c for c in costs if c.actual_usd > 0]
    if not costs:
        return None
    return CostChart([f"Batch {numbers.get(c.batch_id, '?')}" for c in costs], [c.estimate_usd or 0.0 for c in costs],
                     [c.actual_usd for c in costs])


@dataclass(frozen=True)
class RetryOffer:
    """What retrying the failed requests sends and costs, stated before asking (``retry_offer``)."""

    requests: int
    usd: float | None  # the retry's estimate at batch prices; ``None`` when it cannot be priced

    @property
    def label(self) -> str:
        """The confirming button: the count and the amount."""
        return (f"Yes, send {self.requests} request(s)" + (f" for about {fmt.usd(self.usd)}"
                                                              if self.usd is not None else ""))

    @property
    def question(self) -> str:
        """The one question asked before paying."""
        cost = (f"about {fmt.usd(self.usd)} at batch prices" if self.usd is not None else
                "an amount GAIA cannot estimate yet (batch prices)")
        return (f"Retrying sends {self.requests} request(s) in a new batch and costs {cost}. Send them?")


def retry_sent_text(res: SubmitResult) -> str:
    """What a page says once a retry went out as a batch: how many requests, in how many batches."""
    return f"Retry submitted: {res.sent} request(s) in {len(res.batches)} new batch(es)."


def retry_offer(folder: Path | str) -> RetryOffer:
    """What a retry of every failed request would send and cost, priced like a batch (nothing is sent)."""
    from gaia.runs.failures import plan_retry

    plans = plan_retry(Folder.of(folder))
    requests = sum(len(p.requests) for p in plans)
    costs = [p.estimate_usd for p in plans]
    return RetryOffer(requests, None if any(c is None for c in costs) else float(sum(c or 0.0 for c in costs)))


def failure_records(fails: Iterable[FailedRequest], *, cost: bool = False) -> list[dict[str, Any]]:
    """The failures table (Progress and Results pages); ``cost`` adds what each failed attempt cost."""
    return [{"video": display_name(f.rel_path), "what happened": f.error_kind, "reason": f.reason, "what to do": f.hint,
             "attempt": f.attempt, "batch": f.batch_id, **({"cost (USD)": f.cost_usd} if cost else {})}
            for f in fails]


@dataclass(frozen=True)
class ParkedView:
    """Paid answers waiting in the working folder for their sidecars: how many, a sentence, and one row
    per answer (the Progress and Results pages, ``gaia status`` and ``gaia retrieve``)."""

    count: int
    summary: str | None
    records: list[dict[str, Any]]


def parked_view(folder: Path | str | Folder) -> ParkedView:
    """What is parked (``gaia.runs.recorder.parked_answers``), ready to show; ``summary`` is ``None``
    when nothing is."""
    parked = parked_answers(folder)
    if not parked:
        return ParkedView(0, None, [])
    summary = (f"{len(parked)} paid answer(s) are kept in {parked[0].path.parent} because their sidecars could not "
               "be written; `gaia retrieve` (or Retrieve on the Progress page) writes them once the cause is gone.")
    return ParkedView(len(parked), summary, [{"video": p.rel_path, "reason": p.reason, "kept in": str(p.path)}
                                              for p in parked])
