"""What was spent: every billed response of a folder, its totals, and how far each estimate was from it.

The spend ledger is a query, not a table: every billed API response is already in the folder's
ledger, either as a ``requests`` row carrying its ``usage`` (batch, run now, prompt trials,
answers later superseded by a newer one, answers that failed validation but were billed) or as
a ``tune_request`` event (``gaia.quality.runner``: tune answers are kept apart from the
requests). ``charges_of`` turns those into ``Charge`` rows (pure), ``spend_of`` totals them by
kind, run, day and outcome (pure), and ``folder_spend`` reads them from a folder's ledger. Each
run's actual stands beside the estimate recorded when it was sent, the gap split by token type
when the run recorded its estimate's breakdown (``Estimate.record``).

``actual_cost`` prices the ``usage`` of returned answers (each request at its own length tier);
``compare_to_estimate`` sets it beside an ``Estimate``, in total, by token type and per video.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.folder import Folder
from gaia.format import usd
from gaia.ledger import Event, EventKind, Mode, RequestRow, RequestStatus, RunRow
from gaia.pricing.estimate import Estimate
from gaia.pricing.scenarios import HEADLINE_SCENARIO, SCENARIOS
from gaia.pricing.usage import TOKEN_TYPES, TokenCounts, UsageCost, price_tokens, usage_cost
from gaia.settings import SentSettings

if TYPE_CHECKING:
    from gaia.pricing.usage import UsageLike


@dataclass(frozen=True)
class ActualCost:
    """What returned results cost, per video (by id) and for the batch."""

    model: str
    per_video: tuple[tuple[str, UsageCost], ...]
    total: UsageCost

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "total": self.total.to_dict(),
                "per_video": {k: v.to_dict() for k, v in self.per_video}}


def actual_cost(results: Iterable[tuple[str, UsageLike]], model: str, *, batch: bool = True) -> ActualCost:
    """Price ``(video id, usage)`` pairs of returned results (each request at its own length tier)."""
    per = []
    total: UsageCost | None = None
    for key, usage in results:
        c = usage_cost(usage, model, batch=batch)
        per.append((key, c))
        total = c if total is None else total + c
    if total is None:
        total = price_tokens(TokenCounts(), model, batch=batch, requests=0)
    return ActualCost(model, tuple(per), total)


@dataclass(frozen=True)
class EstimateCheck:
    """The estimate made before submitting beside the actual cost; errors in per cent of actual."""

    scenario: str
    estimated_usd: float
    actual_usd: float
    error_pct: float  # (estimated - actual) / actual * 100
    by_type: dict[str, dict[str, float]]  # token type → estimated, actual USD, error_pct
    per_video: dict[str, dict[str, float]]  # video id → estimated, actual, error_pct

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def error_pct(estimated: float, actual: float) -> float:
    """How far ``estimated`` is from ``actual``, in per cent of actual (``inf`` when nothing was spent)."""
    if actual == 0:
        return 0.0 if estimated == 0 else math.inf
    return 100.0 * (estimated - actual) / actual


def compare_to_estimate(estimate: Estimate, actual: ActualCost, *,
                        scenario: str = HEADLINE_SCENARIO) -> EstimateCheck:
    """How far the estimate was from what the results cost, in total, by token type and per video.

    Per-video rows match ``actual.per_video`` ids to the estimate's ``rel_path``; only videos present in
    both are compared, and the total compares the estimate scaled to the videos that came back.
    """
    idx = SCENARIOS.index(scenario)
    est_by_video = {v.rel_path: v.usd[idx] for v in estimate.per_video}
    per_video = {}
    for key, c in actual.per_video:
        if key in est_by_video:
            e = est_by_video[key]
            per_video[key] = {"estimated_usd": e, "actual_usd": c.total_usd, "error_pct": error_pct(e, c.total_usd)}
    sc = estimate.scenario(scenario)
    scale = (len(actual.per_video) / estimate.videos) if estimate.videos and actual.per_video else 1.0
    if per_video and len(per_video) == len(actual.per_video):
        est_total = sum(v["estimated_usd"] for v in per_video.values())
        scale = est_total / sc.total_usd if sc.total_usd else scale
    else:
        est_total = sc.total_usd * scale
    by_type = {}
    for t in TOKEN_TYPES:
        e = sc.cost.usd.get(t) * scale
        a = actual.total.usd.get(t)
        by_type[t] = {"estimated_usd": e, "actual_usd": a, "error_pct": error_pct(e, a)}
    return EstimateCheck(scenario, est_total, actual.total.total_usd, error_pct(est_total, actual.total.total_usd),
                         by_type, per_video)


# --- the spend ledger: every billed response of a folder ------------------------------------------------


class SpendKind(StrEnum):
    """How a billed request was sent."""

    BATCH = "batch"  # a Message Batch (half price)
    NOW = "now"  # run now, retries sent now
    TRIAL = "trial"  # the prompt trial (run now, note "trial")
    TUNE = "tune"  # ``gaia tune`` answers, kept apart from the results


class Outcome(StrEnum):
    """What became of a billed answer."""

    CURRENT = "current"  # the video's latest answer
    SUPERSEDED = "superseded"  # a later answer for the same video replaced it
    FAILED = "failed"  # billed, but not usable (invalid, cut off, refused...)
    KEPT_APART = "kept_apart"  # a tune answer: never a result


@dataclass(frozen=True)
class Charge:
    """One billed API response: what it was, when, its tokens and dollars by type, and its cost."""

    kind: SpendKind
    run_id: str
    at: str  # ISO 8601 UTC, when the answer was recorded
    model: str
    rel_path: str
    outcome: Outcome
    tokens: TokenCounts
    usd: TokenCounts  # dollars by token type
    cost_usd: float  # as recorded when it was billed (else priced from its usage)

    @property
    def day(self) -> str:
        """The UTC day, ``YYYY-MM-DD``."""
        return self.at[:10]


@dataclass(frozen=True)
class RunSpend:
    """One run's actual cost beside its estimate, the gap split by token type when the run recorded it."""

    run_id: str
    kind: SpendKind
    created_at: str
    model: str
    requests: int
    tokens: TokenCounts
    usd: TokenCounts
    actual_usd: float
    estimate_usd: float | None
    gap_by_type: dict[str, float] = field(default_factory=dict)  # token type → estimate − actual, USD

    @property
    def gap_usd(self) -> float | None:
        """Estimate − actual (positive: the estimate was high); ``None`` without an estimate."""
        return None if self.estimate_usd is None else self.estimate_usd - self.actual_usd

    @property
    def gap_pct(self) -> float | None:
        """The gap in per cent of the actual cost."""
        return None if self.estimate_usd is None else error_pct(self.estimate_usd, self.actual_usd)

    def gap_text(self) -> str:
        """The gap in words, led by the token type that explains most of it."""
        if self.estimate_usd is None:
            return "no estimate was recorded for this run"
        if not self.gap_by_type:
            return f"estimated {usd(self.estimate_usd)}, cost {usd(self.actual_usd)} (no breakdown by type recorded)"
        t = max(self.gap_by_type, key=lambda k: abs(self.gap_by_type[k]))
        side = "over" if self.gap_by_type[t] > 0 else "under"
        return (f"estimated {usd(self.estimate_usd)}, cost {usd(self.actual_usd)}; most of the gap is "
                f"{TOKEN_LABELS_LOWER.get(t, t)}, {side}-estimated by {usd(abs(self.gap_by_type[t]))}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"run_id": self.run_id, "kind": str(self.kind), "created_at": self.created_at, "model": self.model,
                "requests": self.requests, "tokens": self.tokens.as_dict(), "usd": self.usd.as_dict(),
                "actual_usd": self.actual_usd, "estimate_usd": self.estimate_usd, "gap_usd": self.gap_usd,
                "gap_pct": self.gap_pct, "gap_by_type": self.gap_by_type, "gap_text": self.gap_text()}


TOKEN_LABELS_LOWER = {"input": "uncached input", "cache_write_5m": "cache writes (5 min)",
                      "cache_write_1h": "cache writes (1 h)", "cache_read": "cache reads", "output": "output"}


@dataclass(frozen=True)
class Spend:
    """What a folder has spent: the total, and totals by kind, run, day and outcome."""

    total_usd: float
    requests: int
    tokens: TokenCounts
    usd: TokenCounts
    by_kind: dict[str, float]
    by_day: dict[str, float]
    by_outcome: dict[str, float]
    runs: tuple[RunSpend, ...]  # newest first

    @property
    def by_run(self) -> dict[str, float]:
        """Run id → actual USD."""
        return {r.run_id: r.actual_usd for r in self.runs}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dollars unrounded)."""
        return {"total_usd": self.total_usd, "requests": self.requests, "tokens": self.tokens.as_dict(),
                "usd": self.usd.as_dict(), "by_kind": self.by_kind, "by_run": self.by_run, "by_day": self.by_day,
                "by_outcome": self.by_outcome, "runs": [r.to_dict() for r in self.runs]}


def _kind(run: RunRow | None) -> SpendKind:
    if run is None or run.mode == Mode.BATCH:
        return SpendKind.BATCH
    if run.mode == "tune":
        return SpendKind.TUNE
    return SpendKind.TRIAL if run.note == "trial" else SpendKind.NOW


def _charge(kind: SpendKind, run_id: str, at: str, model: str, rel_path: str, outcome: Outcome,
            usage: Mapping[str, Any], cost: float | None, batch: bool) -> Charge:
    c = usage_cost(usage, model, batch=batch)
    return Charge(kind, run_id, at, model, rel_path, outcome, c.tokens, c.usd,
                  float(cost) if cost is not None else c.total_usd)


def charges_of(requests: Sequence[RequestRow], runs: Mapping[str, RunRow],
               tune_events: Iterable[Event] = ()) -> list[Charge]:
    """Every billed response among ledger request rows (those with a ``usage``) and tune events.

    A succeeded answer is *superseded* when a later succeeded answer exists for the same video.
    """
    latest: dict[str, int] = {}
    for r in requests:
        if r.status == RequestStatus.SUCCEEDED and r.usage is not None:
            latest[r.rel_path] = max(latest.get(r.rel_path, 0), r.id)
    out = []
    for r in requests:
        if r.usage is None:
            continue
        if r.status == RequestStatus.SUCCEEDED:
            outcome = Outcome.CURRENT if latest.get(r.rel_path) == r.id else Outcome.SUPERSEDED
        else:
            outcome = Outcome.FAILED
        run = runs.get(r.run_id)
        model = r.model or (run.model if run else None) or ""
        out.append(_charge(_kind(run), r.run_id, r.done_at or r.updated_at or r.created_at, model, r.rel_path,
                           outcome, r.usage, r.cost_usd, r.mode == Mode.BATCH))
    for e in tune_events:
        try:
            d = json.loads(e.message)
        except ValueError:
            continue
        if not isinstance(d, dict) or not isinstance(d.get("usage"), dict) or not d.get("model"):
            continue
        cost = d.get("cost_usd")
        out.append(_charge(SpendKind.TUNE, str(d.get("run_id") or ""), e.at, str(d["model"]),
                           str(d.get("rel_path") or ""), Outcome.KEPT_APART, d["usage"],
                           cost if isinstance(cost, (int, float)) else None, False))
    return out


def _run_spend(run_id: str, charges: list[Charge], run: RunRow | None) -> RunSpend:
    tokens = sum((c.tokens for c in charges), TokenCounts())
    usd = sum((c.usd for c in charges), TokenCounts())
    actual = sum(c.cost_usd for c in charges)
    est = run.estimate_usd if run else None
    gap: dict[str, float] = {}
    rec = SentSettings.of(run.settings).estimate if run else None
    if isinstance(rec, dict) and isinstance(rec.get("usd"), dict):
        rec_total = rec.get("total_usd") if isinstance(rec.get("total_usd"), (int, float)) else None
        if est is None:
            est = rec_total
        # The record covers the whole plan; a run that sent fewer requests recorded a smaller estimate.
        scale = est / rec_total if est is not None and rec_total else 1.0
        gap = {t: float(rec["usd"].get(t, 0.0)) * scale - usd.get(t) for t in TOKEN_TYPES}
    return RunSpend(run_id, charges[0].kind, run.created_at if run else charges[0].at,
                    charges[0].model, len(charges), tokens, usd, actual, est, gap)


def spend_of(charges: Sequence[Charge], runs: Mapping[str, RunRow] | None = None) -> Spend:
    """Total ``charges`` by kind, day, outcome and run (each run beside its recorded estimate)."""
    by_kind = {k.value: 0.0 for k in SpendKind}
    by_outcome = {o.value: 0.0 for o in Outcome}
    by_day: dict[str, float] = {}
    by_run: dict[str, list[Charge]] = {}
    for c in charges:
        by_kind[c.kind.value] += c.cost_usd
        by_outcome[c.outcome.value] += c.cost_usd
        by_day[c.day] = by_day.get(c.day, 0.0) + c.cost_usd
        by_run.setdefault(c.run_id, []).append(c)
    run_rows = [_run_spend(rid, cs, (runs or {}).get(rid)) for rid, cs in by_run.items()]
    run_rows.sort(key=lambda r: r.created_at, reverse=True)
    return Spend(sum(c.cost_usd for c in charges), len(charges), sum((c.tokens for c in charges), TokenCounts()),
                 sum((c.usd for c in charges), TokenCounts()), by_kind, dict(sorted(by_day.items())), by_outcome,
                 tuple(run_rows))


def folder_spend(folder: Folder | Path | str) -> Spend:
    """What ``folder`` has spent, from its ledger: every billed response (nothing when it has no ledger)."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return spend_of([])
    with f.ledger() as ledger:
        runs = {r.run_id: r for r in ledger.runs()}
        charges = charges_of(ledger.requests(), runs, ledger.events(kind=EventKind.TUNE_REQUEST))
    return spend_of(charges, runs)
