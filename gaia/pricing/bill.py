"""What was billed: a bill priced four ways, what a folder has spent, and what its past runs teach.

**A bill.** Token counts from a bill are priced under the four scenarios (``gaia.pricing.models``).
The counts are what was billed with caching (uncached input, cache writes by TTL, reads, output).
*Caching* and *batch + caching* price them as they are; *standard* and *batch* price the same
prompt with nothing cached (every write and read as plain input). A CSV holds one row per model or
per day (``CSV_COLUMNS`` lists the accepted header names, the Admin usage API's among them); rows of
the same model are summed into one bill unless asked otherwise. ``explain_bill`` says in words what
its numbers mean (an ``Explanation`` per finding, each figure formatted by ``gaia.format``).

**What was spent.** The spend ledger is a query, not a table: every billed API response is already
in the folder's ledger, either as a ``requests`` row carrying its ``usage`` (batch, run now, prompt
trials, answers later superseded by a newer one, answers that failed validation but were billed) or
as a ``tune_request`` event (``gaia.quality.runner``: tune answers are kept apart from the
requests). ``charges_of`` turns those into ``Charge`` rows (pure), ``spend_of`` totals them by kind,
run, day and outcome (pure), and ``folder_spend`` reads them from a folder's ledger. Each run's
actual stands beside the estimate recorded when it was sent, the gap split by token type when the
run recorded its estimate's breakdown (``Estimate.record``). ``actual_cost`` prices the ``usage`` of
returned answers (each request at its own length tier); ``compare_to_estimate`` sets it beside an
``Estimate``, in total, by token type and per video.

**What past runs teach.** ``History`` holds the output tokens of past answers (thinking included),
one ``CacheGroup`` per past batch or run (how many of its requests read or wrote the cached prefix,
with which TTL, and when it ended; ``gaia.pricing.tokens`` turns them into the expected hit share)
and batch durations. ``history(folder, prompt_hash, model)`` reads them from the folder's ledger for
one prompt profile on one model; it is empty when nothing was sent yet.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.facts import ModelFacts
from gaia.folder import Folder
from gaia.format import pct, usd
from gaia.ledger import Event, EventKind, Mode, RequestRow, RequestStatus, RunRow
from gaia.pricing.models import (
    HEADLINE_SCENARIO,
    SCENARIOS,
    TOKEN_LABELS,
    TOKEN_TYPES,
    PricedOn,
    Scenario,
    TokenCounts,
    UsageCost,
    cache_read_share,
    facts_of,
    price_tokens,
    scenario,
    scenarios_of,
    usage_cost,
    usage_tokens,
)
from gaia.settings import SentSettings

if TYPE_CHECKING:
    from gaia.pricing.estimate import Estimate
    from gaia.pricing.models import UsageLike


@dataclass(frozen=True)
class Explanation:
    """One plain-language finding computed from the numbers, with its dollar effect when it has one."""

    key: str
    title: str
    text: str
    usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def explain_bill(tokens: TokenCounts, scenarios: Sequence[Scenario]) -> list[Explanation]:
    """What a bill's numbers mean: where the money went, what caching did and why, what is left to save."""
    bc = scenario(tuple(scenarios), HEADLINE_SCENARIO).cost
    batch = scenario(tuple(scenarios), "batch")
    total = bc.total_usd
    if total <= 0:
        return []
    shares = bc.shares()
    order = sorted((t for t in TOKEN_TYPES if bc.usd.get(t) > 0), key=lambda t: -bc.usd.get(t))
    out = [Explanation("money", "Where the money goes", "With the Batch API and caching: " + ", ".join(
        f"{TOKEN_LABELS[t].lower()} {pct(shares[t])} ({usd(bc.usd.get(t))})" for t in order) + ".", None)]
    cached = tokens.cache_writes + tokens.cache_read
    if cached and tokens.prompt:
        saving = batch.total_usd - total
        out.append(Explanation(
            "caching", "What caching did",
            f"The cached prefix is {pct(cached / tokens.prompt)} of the input tokens ({cached:,.0f} of "
            f"{tokens.prompt:,.0f}); {pct(tokens.cache_read / cached)} of it was read back from the cache. Caching "
            f"saved {usd(saving)}: {pct(_share(saving, batch.cost.input_usd))} of the input cost but only "
            f"{pct(saving / batch.total_usd)} of the bill, because input is {pct(1 - shares['output'])} of the cost "
            f"and output {pct(shares['output'])}.", saving))
    if bc.output_usd:
        half_out = bc.output_usd / 2
        out.append(Explanation(
            "lever", "The biggest lever left" if shares["output"] >= 0.5 else "Output",
            f"Output costs {usd(bc.output_usd)}; answers half as long (fewer or shorter fields in the schema) "
            f"would save {usd(half_out)}, {pct(half_out / total)} of the bill. A cheaper model saves on "
            "every token type at once.", half_out))
    return out


# --- a bill, from the command line or a CSV file --------------------------------------------------

# CSV columns read by ``read_bill_csv`` (case-insensitive; the first present name wins).
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("model", "model_id"),
    "label": ("date", "day", "starting_at", "usage_date", "period"),
    "input": ("input_tokens", "uncached_input_tokens", "input_tokens_no_cache", "usage_input_tokens_no_cache"),
    "cache_write_5m": ("cache_write_5m_tokens", "cache_creation.ephemeral_5m_input_tokens",
                       "ephemeral_5m_input_tokens", "usage_input_tokens_cache_write_5m"),
    "cache_write_1h": ("cache_write_1h_tokens", "cache_creation.ephemeral_1h_input_tokens",
                       "ephemeral_1h_input_tokens", "usage_input_tokens_cache_write_1h"),
    "cache_write": ("cache_write_tokens", "cache_creation_input_tokens"),  # TTL unknown: priced as 5m
    "cache_read": ("cache_read_tokens", "cache_read_input_tokens", "usage_input_tokens_cache_read"),
    "output": ("output_tokens", "usage_output_tokens"),
}
_COUNT_COLUMNS = ("input", "cache_write_5m", "cache_write_1h", "cache_write", "cache_read", "output")


@dataclass(frozen=True)
class Bill(PricedOn):
    """Token counts from a bill priced under the four scenarios, with the model's facts they were priced with."""

    facts: ModelFacts
    tokens: TokenCounts
    scenarios: tuple[Scenario, ...]
    label: str = ""  # e.g. the date of a CSV row
    notes: tuple[str, ...] = ()
    explanations: tuple[Explanation, ...] = ()

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return scenario(self.scenarios, key)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "display_name": self.display_name, "label": self.label,
                "tokens": self.tokens.as_dict(), "prices_as_of": self.prices_as_of, "confirmed": self.confirmed,
                "uncertain": list(self.uncertain), "notes": list(self.notes),
                "scenarios": [s.to_dict() for s in self.scenarios],
                "explanations": [e.to_dict() for e in self.explanations]}


def bill(tokens: TokenCounts | Mapping[str, float], model: str | ModelFacts, *, long_context: bool = False,
         label: str = "") -> Bill:
    """Price the token counts of a bill under the four scenarios.

    ``long_context`` prices every token at the model's long-prompt tier (a total cannot tell which
    requests were long).
    """
    tokens = TokenCounts.of(tokens)
    f = facts_of(model)
    plain = TokenCounts(input=tokens.prompt, output=tokens.output)
    costs = {
        "standard": price_tokens(plain, f, batch=False, long_context=long_context),
        "caching": price_tokens(tokens, f, batch=False, long_context=long_context),
        "batch": price_tokens(plain, f, batch=True, long_context=long_context),
        "batch_caching": price_tokens(tokens, f, batch=True, long_context=long_context),
    }
    notes = []
    if f.long_context_threshold is not None and not long_context:
        notes.append(f"{f.display_name} bills requests whose prompt exceeds {f.long_context_threshold:,} tokens at "
                     "a higher tier; a total cannot show which were, so the standard tier is used.")
    scenarios = scenarios_of(costs)
    return Bill(f, tokens, scenarios, label, tuple(notes), tuple(explain_bill(tokens, scenarios)))


class BillCsvError(ValueError):
    """A CSV bill that cannot be read, with the line and what is wrong."""


def _int_cell(value: str | None, where: str) -> int:
    text = (value or "").strip().replace(",", "").replace("_", "").replace(" ", "")
    if not text:
        return 0
    try:
        return int(float(text))
    except ValueError:
        raise BillCsvError(f"{where}: {value!r} is not a token count") from None


def _read_text(source: Path | str | io.TextIOBase) -> str:
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise BillCsvError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return source.read()


def _columns(reader: csv.DictReader[str], model: str | None) -> dict[str, str | None]:
    """CSV_COLUMNS key → the header present in the file (``None`` when absent); raises when unusable."""
    if not reader.fieldnames:
        raise BillCsvError("the CSV file is empty")
    names = {n.strip().lower(): n for n in reader.fieldnames if n}
    cols = {key: next((names[a] for a in aliases if a in names), None) for key, aliases in CSV_COLUMNS.items()}
    if not any(cols[k] for k in _COUNT_COLUMNS):
        raise BillCsvError("no token columns found; expected e.g. input_tokens, cache_write_1h_tokens, "
                           "cache_read_tokens, output_tokens")
    if cols["model"] is None and model is None:
        raise BillCsvError("no 'model' column: add one or name the model (--model)")
    return cols


def _row(row: dict[str, str], line: int, cols: dict[str, str | None],
         model: str | None) -> tuple[str, TokenCounts, str]:
    """(model, token counts, label) of one CSV row."""
    m = ((row.get(cols["model"]) or "").strip() if cols["model"] else "") or model or ""
    if not m:
        raise BillCsvError(f"line {line}: no model")
    try:
        facts_of(m)
    except KeyError as exc:
        raise BillCsvError(f"line {line}: {exc.args[0]}") from None

    def cell(key: str) -> int:
        col = cols[key]
        return _int_cell(row.get(col) if col else None, f"line {line}, {col}")

    t = TokenCounts(cell("input"), cell("cache_write_5m") + cell("cache_write"), cell("cache_write_1h"),
                    cell("cache_read"), cell("output"))
    label = (row.get(cols["label"]) or "").strip() if cols["label"] else ""
    return m, t, label


def read_bill_csv(source: Path | str | io.TextIOBase, *, model: str | None = None,
                  per_row: bool = False) -> list[Bill]:
    """Read token counts from a CSV (one row per model or per day) and price each under the four scenarios.

    Columns (header names, case-insensitive; see ``CSV_COLUMNS`` for accepted aliases): ``model``
    (or pass ``model=`` for files without one), optional ``date``, and the token counts
    ``input_tokens`` (uncached), ``cache_write_5m_tokens``, ``cache_write_1h_tokens``
    (``cache_write_tokens`` when the TTL is unknown: priced as 5m), ``cache_read_tokens`` and
    ``output_tokens``; missing count columns count as 0, thousands separators are allowed. Rows of
    the same model are summed into one bill unless ``per_row``.
    """
    reader = csv.DictReader(io.StringIO(_read_text(source)))
    cols = _columns(reader, model)
    totals: dict[str, tuple[TokenCounts, list[str]]] = {}
    bills: list[Bill] = []
    for line, row in enumerate(reader, start=2):
        m, t, label = _row(row, line, cols, model)
        if per_row:
            bills.append(bill(t, m, label=label or f"line {line}"))
        else:
            prev, labels = totals.get(m, (TokenCounts(), []))
            totals[m] = (prev + t, [*labels, label] if label else labels)
    for m, (t, labels) in totals.items():
        span = f"{min(labels)} to {max(labels)}" if len(set(labels)) > 1 else (labels[0] if labels else "")
        bills.append(bill(t, m, label=span))
    if not bills:
        raise BillCsvError("the CSV file has no rows")
    return bills


# --- what was spent -------------------------------------------------------------------------------

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


def actual_cost(results: Iterable[tuple[str, UsageLike]], model: str | ModelFacts, *, batch: bool = True) -> ActualCost:
    """Price ``(video id, usage)`` pairs of returned results (each request at its own length tier)."""
    f = facts_of(model)
    per = []
    total: UsageCost | None = None
    for key, usage in results:
        c = usage_cost(usage, f, batch=batch)
        per.append((key, c))
        total = c if total is None else total + c
    if total is None:
        total = price_tokens(TokenCounts(), f, batch=batch, requests=0)
    return ActualCost(f.id, tuple(per), total)


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
    POSSIBLY_BILLED = "possibly_billed"  # sent, no answer recorded (killed, stopped, dropped): at its estimate


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
    def possibly_billed_usd(self) -> float:
        """The part of ``total_usd`` for requests sent but never answered (counted at their estimate)."""
        return self.by_outcome.get(Outcome.POSSIBLY_BILLED.value, 0.0)

    @property
    def by_run(self) -> dict[str, float]:
        """Run id → actual USD."""
        return {r.run_id: r.actual_usd for r in self.runs}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dollars unrounded)."""
        return {"total_usd": self.total_usd, "requests": self.requests, "tokens": self.tokens.as_dict(),
                "usd": self.usd.as_dict(), "by_kind": self.by_kind, "by_run": self.by_run, "by_day": self.by_day,
                "by_outcome": self.by_outcome, "possibly_billed_usd": self.possibly_billed_usd,
                "runs": [r.to_dict() for r in self.runs]}


def _kind(run: RunRow | None) -> SpendKind:
    if run is None or run.mode == Mode.BATCH:
        return SpendKind.BATCH
    if run.mode == "tune":
        return SpendKind.TUNE
    return SpendKind.TRIAL if run.note == "trial" else SpendKind.NOW


# A request closed with one of these and no usage was sent but never answered: it may have been billed,
# and its row keeps its estimate as its cost (``gaia.runs.recovery``).
POSSIBLY_BILLED_KINDS = ("interrupted", "connection_error")


def _resolved(facts: dict[str, ModelFacts], model: str) -> ModelFacts:
    """``model``'s facts, looked up once per model over a folder's charges."""
    if model not in facts:
        facts[model] = facts_of(model)
    return facts[model]


def _charge(kind: SpendKind, run_id: str, at: str, f: ModelFacts, rel_path: str, outcome: Outcome,
            usage: Mapping[str, Any], cost: float | None, batch: bool) -> Charge:
    c = usage_cost(usage, f, batch=batch)
    return Charge(kind, run_id, at, f.id, rel_path, outcome, c.tokens, c.usd,
                  float(cost) if cost is not None else c.total_usd)


def charges_of(requests: Sequence[RequestRow], runs: Mapping[str, RunRow],
               tune_events: Iterable[Event] = ()) -> list[Charge]:
    """Every billed response among ledger request rows (those with a ``usage``) and tune events.

    A succeeded answer is *superseded* when a later succeeded answer exists for the same video.
    """
    facts: dict[str, ModelFacts] = {}
    latest: dict[str, int] = {}
    for r in requests:
        if r.status == RequestStatus.SUCCEEDED and r.usage is not None:
            latest[r.rel_path] = max(latest.get(r.rel_path, 0), r.id)
    out = []
    for r in requests:
        run = runs.get(r.run_id)
        maybe = (r.possibly_billed_usd or 0.0) + (r.cost_usd or 0.0 if r.usage is None and r.error_kind in
                                                    POSSIBLY_BILLED_KINDS else 0.0)
        if maybe:
            out.append(Charge(_kind(run), r.run_id, r.done_at or r.updated_at or r.created_at,
                              r.model or (run.model if run else None) or "", r.rel_path, Outcome.POSSIBLY_BILLED,
                              TokenCounts(), TokenCounts(), float(maybe)))
        if r.usage is None:
            continue
        if r.status == RequestStatus.SUCCEEDED:
            outcome = Outcome.CURRENT if latest.get(r.rel_path) == r.id else Outcome.SUPERSEDED
        else:
            outcome = Outcome.FAILED
        model = r.model or (run.model if run else None) or ""
        out.append(_charge(_kind(run), r.run_id, r.done_at or r.updated_at or r.created_at,
                           _resolved(facts, model), r.rel_path,
                           outcome, r.usage, r.cost_usd, r.mode == Mode.BATCH))
    for e in tune_events:
        try:
            d = json.loads(e.message)
        except ValueError:
            continue
        if not isinstance(d, dict) or not isinstance(d.get("usage"), dict) or not d.get("model"):
            continue
        cost = d.get("cost_usd")
        out.append(_charge(SpendKind.TUNE, str(d.get("run_id") or ""), e.at, _resolved(facts, str(d["model"])),
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


# --- what past runs teach -------------------------------------------------------------------------

@dataclass(frozen=True)
class CacheGroup:
    """The cache traffic of one batch (or one run-now run) on the shared prefix.

    ``requests`` counts the requests that read or wrote the cache, ``reads`` and ``writes`` those
    that did each. ``ttl`` is the TTL its writes used (``None`` when it wrote nothing). A group that
    read without writing found a cache warmed before it (perhaps by another folder): ``warm``.
    """

    batch: bool
    requests: int
    reads: int
    writes: int
    share: float  # reads / (reads + writes) of prefix tokens, ``cache_read_share`` (the one rule)
    ttl: str | None = None
    ended_at: datetime | None = None

    @property
    def warm(self) -> bool:
        """It read a cache it did not write: one warmed before it, by this folder or another."""
        return self.writes == 0 and self.reads > 0

    @classmethod
    def of(cls, counts: Iterable[TokenCounts], *, batch: bool, ended_at: datetime | None = None) -> CacheGroup | None:
        """The group of these requests' token counts; ``None`` when none of them touched the cache."""
        rows = [t for t in counts if t.cache_read or t.cache_writes]
        share = cache_read_share(rows)
        if share is None:
            return None
        w1h = sum(t.cache_write_1h for t in rows)
        w5m = sum(t.cache_write_5m for t in rows)
        ttl = None if not (w1h or w5m) else "1h" if w1h >= w5m else "5m"
        return cls(batch, len(rows), sum(1 for t in rows if t.cache_read), sum(1 for t in rows if t.cache_writes),
                   share, ttl, ended_at)


@dataclass(frozen=True)
class History:
    """What past runs of the same prompt and model teach the next estimate.

    ``output_tokens``: output tokens of past complete answers. ``cut_off``: the output tokens of
    answers cut off at the answer length limit, kept apart (they measure the limit, not the answer,
    so the output estimate never learns from them). ``output_frames``: how many frames each complete
    answer was sent, in the same order (empty unless known for every one), so the output estimate can
    follow the frames of the videos still to send. ``cache_groups``: per past batch or run, its cache
    traffic (``CacheGroup``). ``batch_durations_s``: seconds from submission to end of past batches.
    """

    output_tokens: tuple[int, ...] = ()
    cache_groups: tuple[CacheGroup, ...] = field(default=())
    batch_durations_s: tuple[float, ...] = ()
    model: str | None = None
    prompt_hash: str | None = None
    cut_off: tuple[int, ...] = ()
    output_frames: tuple[int, ...] = ()

    @property
    def cache_read_shares(self) -> tuple[float, ...]:
        """The cache-read share of each past batch or run (reads / (reads + writes) of prefix tokens)."""
        return tuple(g.share for g in self.cache_groups)

    @classmethod
    def from_usages(cls, usages: Iterable[UsageLike], *, batch: bool = True,
                    batch_durations_s: tuple[float, ...] = (), model: str | None = None,
                    prompt_hash: str | None = None) -> History:
        """History from the ``usage`` of one batch's results (one cache group)."""
        return cls.from_groups([usages], batch=batch, batch_durations_s=batch_durations_s, model=model,
                               prompt_hash=prompt_hash)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[UsageLike]], *, batch: bool = True,
                    ended_at: Iterable[datetime | None] = (), batch_durations_s: tuple[float, ...] = (),
                    model: str | None = None, prompt_hash: str | None = None) -> History:
        """History from the usages of several batches (``batch``) or runs: every answer's output
        tokens, and one ``CacheGroup`` per group (ending at the matching ``ended_at``, if given)."""
        outputs: list[int] = []
        cache: list[CacheGroup] = []
        ends = list(ended_at)
        for i, usages in enumerate(groups):
            counts = [usage_tokens(u) for u in usages]
            outputs.extend(int(t.output) for t in counts)
            g = CacheGroup.of(counts, batch=batch, ended_at=ends[i] if i < len(ends) else None)
            if g is not None:
                cache.append(g)
        return cls(tuple(outputs), tuple(cache), batch_durations_s, model, prompt_hash)

    def merged(self, other: History) -> History:
        """Both histories together."""
        frames = (self.output_frames + other.output_frames
                  if len(self.output_frames) == len(self.output_tokens) and len(other.output_frames) ==
                  len(other.output_tokens) else ())
        return replace(self, output_tokens=self.output_tokens + other.output_tokens, output_frames=frames,
                       cut_off=self.cut_off + other.cut_off,
                       cache_groups=self.cache_groups + other.cache_groups,
                       batch_durations_s=self.batch_durations_s + other.batch_durations_s)


def history(folder: Folder | Path | str, prompt_hash: str | None = None, model: str | None = None) -> History:
    """What the folder's ledger says about a prompt and model: output tokens, the cache traffic of
    each batch or run, and batch durations. Empty when nothing was sent yet."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return History(model=model, prompt_hash=prompt_hash)
    outputs: list[int] = []
    frames: list[int | None] = []
    cut_off: list[int] = []
    groups: dict[str, tuple[bool, list[TokenCounts], list[datetime]]] = {}
    with f.ledger() as ledger:
        for row in ledger.usage_rows(prompt_hash=prompt_hash, model=model):
            t = usage_tokens(row.usage)
            (cut_off if row.cut_off else outputs).append(int(t.output))
            if not row.cut_off:
                frames.append(row.frames)
            _batch, counts, ats = groups.setdefault(row.group, (row.batch, [], []))
            counts.append(t)
            if row.at is not None:
                ats.append(row.at)
        durations = tuple(s for _n, s, _id in ledger.batch_durations(model=model, prompt_hash=prompt_hash))
    cache = [CacheGroup.of(counts, batch=batch, ended_at=max(ats) if ats else None)
             for batch, counts, ats in groups.values()]
    known = tuple(n for n in frames if n is not None) if None not in frames else ()
    return History(tuple(outputs), tuple(g for g in cache if g is not None), durations, model, prompt_hash,
                   tuple(cut_off), known)
