"""What a run costs: four scenarios, the model comparison, explanations, what-if, budget, actual cost.

Every dollar here comes from ``gaia.facts`` (the price rows of ``gaia/data/models.toml`` and the
user's override file); nothing in this module knows a price. The four scenarios are *standard*
(Messages API, no caching), *caching* (Messages API with the shared prefix cached), *batch*
(Message Batches API, 50% off every token type) and *batch_caching* (both; the cache multipliers
stack with the batch discount).

A request of GAIA is: the shared prefix (system prompt + schema, marked with ``cache_control``),
then the video's frames with a short timestamp label each, then the instruction. Only the prefix
can be cached; when it is shorter than the model's minimum cacheable length the API silently does
not cache, and the caching scenarios then cost the same as the plain ones. Within a batch, cache
hits are best-effort: the share of requests that read the cache comes from the folder's history
(``History``), else from the data file's default (the middle of the docs' "30% to 98%"), and the
estimate shows both ends. Outside a batch, requests sent one after another within the TTL read
the cache after the first write.

Actual cost is computed from the ``usage`` of returned results (``usage_cost``), per video and per
batch, and compared with the estimate made before submitting (``compare_to_estimate``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gaia.facts import (
    CACHE_TTLS,
    Catalogue,
    ModelFacts,
    catalogue,
    estimate_defaults,
    fit_to_tier,
    image_tokens,
    model_facts,
)
from gaia.folder import Folder
from gaia.pricing.tokens import OutputEstimate, PromptTokens, output_estimate, percentile, prompt_tokens

SCENARIOS = ("standard", "caching", "batch", "batch_caching")
SCENARIO_LABELS = {
    "standard": "Standard",
    "caching": "Prompt caching",
    "batch": "Batch API",
    "batch_caching": "Batch API + caching",
}
TOKEN_TYPES = ("input", "cache_write_5m", "cache_write_1h", "cache_read", "output")
TOKEN_LABELS = {
    "input": "Input, not cached",
    "cache_write_5m": "Cache write (5 min)",
    "cache_write_1h": "Cache write (1 h)",
    "cache_read": "Cache read",
    "output": "Output",
}
# Steps offered for the longest frame edge in what-if and budget (px); the model's own tier limit
# is added and larger steps are dropped.
MAX_EDGE_STEPS = (384, 512, 768, 1024, 1280, 1568, 2048, 2576)
FRAME_COUNT_STEPS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32)


# ---------------------------------------------------------------------------------------------
# Tokens and prices
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCounts:
    """Tokens by billing type. Floats, because estimates hold expected values (e.g. 64% of a read)."""

    input: float = 0.0  # uncached input
    cache_write_5m: float = 0.0
    cache_write_1h: float = 0.0
    cache_read: float = 0.0
    output: float = 0.0

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(*(getattr(self, t) + getattr(other, t) for t in TOKEN_TYPES))

    def scaled(self, factor: float) -> TokenCounts:
        """Every count multiplied by ``factor``."""
        return TokenCounts(*(getattr(self, t) * factor for t in TOKEN_TYPES))

    def get(self, token_type: str) -> float:
        """The count of one token type (one of ``TOKEN_TYPES``)."""
        return float(getattr(self, token_type))

    @property
    def prompt(self) -> float:
        """Input of every kind: uncached + cache writes + cache reads (what length tiers look at)."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def total(self) -> float:
        """All tokens, output included."""
        return self.prompt + self.output

    def as_dict(self) -> dict[str, float]:
        """Token type → count."""
        return {t: self.get(t) for t in TOKEN_TYPES}


def _facts(model: str | ModelFacts, cat: Catalogue | None = None) -> ModelFacts:
    return model if isinstance(model, ModelFacts) else model_facts(model, cat=cat)


def rates(model: str | ModelFacts, *, batch: bool, long_context: bool = False) -> dict[str, float]:
    """USD per token for each token type on ``model``, with the batch discount and length tier applied."""
    f = _facts(model)
    base_in = f.long_context_input if long_context and f.long_context_input is not None else f.input
    base_out = f.long_context_output if long_context and f.long_context_output is not None else f.output
    k = (1.0 - f.batch_discount) if batch else 1.0
    per = k / 1_000_000
    return {
        "input": base_in * per,
        "cache_write_5m": base_in * f.cache_write_5m_multiplier * per,
        "cache_write_1h": base_in * f.cache_write_1h_multiplier * per,
        "cache_read": base_in * f.cache_read_multiplier * per,
        "output": base_out * per,
    }


def is_long_context(model: str | ModelFacts, prompt_tokens_: float) -> bool:
    """Whether a request with this many prompt tokens is billed at the model's long-prompt tier."""
    f = _facts(model)
    return f.long_context_threshold is not None and prompt_tokens_ > f.long_context_threshold


@dataclass(frozen=True)
class UsageCost:
    """Tokens and dollars by token type for one request, one video, one batch or one bill."""

    model: str
    batch: bool
    input_tokens: float
    cache_write_5m_tokens: float
    cache_write_1h_tokens: float
    cache_read_tokens: float
    output_tokens: float
    input_usd: float
    cache_write_5m_usd: float
    cache_write_1h_usd: float
    cache_read_usd: float
    output_usd: float
    total_usd: float
    requests: int = 1
    long_context_requests: int = 0
    prices_as_of: str = ""

    @property
    def tokens(self) -> TokenCounts:
        """The token counts by type."""
        return TokenCounts(self.input_tokens, self.cache_write_5m_tokens, self.cache_write_1h_tokens,
                           self.cache_read_tokens, self.output_tokens)

    @property
    def usd(self) -> TokenCounts:
        """Dollars by token type (same shape as ``tokens``)."""
        return TokenCounts(self.input_usd, self.cache_write_5m_usd, self.cache_write_1h_usd,
                           self.cache_read_usd, self.output_usd)

    @property
    def total_tokens(self) -> float:
        """All tokens of every type."""
        return self.tokens.total

    def shares(self) -> dict[str, float]:
        """Share of the total cost by token type (0..1)."""
        total = self.total_usd or 1.0
        return {t: self.usd.get(t) / total for t in TOKEN_TYPES}

    def __add__(self, other: UsageCost) -> UsageCost:
        t = self.tokens + other.tokens
        u = self.usd + other.usd
        return UsageCost(self.model if self.model == other.model else "mixed", self.batch and other.batch,
                         *t.as_dict().values(), *u.as_dict().values(), self.total_usd + other.total_usd,
                         self.requests + other.requests, self.long_context_requests + other.long_context_requests,
                         max(self.prices_as_of, other.prices_as_of))

    def rows(self) -> list[dict[str, Any]]:
        """One row per token type plus a total row: label, tokens, USD (for tables)."""
        out = [{"type": t, "label": TOKEN_LABELS[t], "tokens": self.tokens.get(t), "usd": self.usd.get(t)}
               for t in TOKEN_TYPES]
        out.append({"type": "total", "label": "Total", "tokens": self.total_tokens, "usd": self.total_usd})
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dollars unrounded; round only for display)."""
        return {
            "model": self.model, "batch": self.batch, "requests": self.requests,
            "long_context_requests": self.long_context_requests, "prices_as_of": self.prices_as_of,
            "tokens": self.tokens.as_dict(), "usd": self.usd.as_dict(), "total_usd": self.total_usd,
        }


def price_tokens(
    tokens: TokenCounts,
    model: str | ModelFacts,
    *,
    batch: bool,
    long_context: bool = False,
    requests: int = 1,
) -> UsageCost:
    """Price token counts on ``model``; ``long_context`` bills every token at the long-prompt tier."""
    f = _facts(model)
    r = rates(f, batch=batch, long_context=long_context)
    usd = {t: tokens.get(t) * r[t] for t in TOKEN_TYPES}
    return UsageCost(f.id, batch, *tokens.as_dict().values(), *usd.values(), sum(usd.values()),
                     requests, requests if long_context else 0, f.as_of)


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def usage_tokens(usage: Mapping[str, Any] | Any) -> TokenCounts:
    """Token counts from an API ``usage`` (a dict or the SDK's ``Usage``); unsplit cache writes count as 5m."""
    def num(v: Any) -> int:
        return int(v or 0)

    created = num(_field(usage, "cache_creation_input_tokens"))
    split = _field(usage, "cache_creation")
    w5 = num(_field(split, "ephemeral_5m_input_tokens"))
    w1 = num(_field(split, "ephemeral_1h_input_tokens"))
    if split is None or (w5 + w1 == 0 and created):
        w5, w1 = created, 0
    return TokenCounts(num(_field(usage, "input_tokens")), w5, w1,
                       num(_field(usage, "cache_read_input_tokens")), num(_field(usage, "output_tokens")))


def usage_cost(usage: Mapping[str, Any] | Any, model: str, *, batch: bool) -> UsageCost:
    """The cost of one response from its ``usage``: every token type, cache writes split by TTL.

    ``input_tokens`` counts only uncached input; the prompt is input + cache reads + cache writes,
    and decides the length tier (Haiku 5.5 above 100,000 prompt tokens bills the whole request at
    its long tier).
    """
    tokens = usage_tokens(usage)
    return price_tokens(tokens, model, batch=batch, long_context=is_long_context(model, tokens.prompt))


# ---------------------------------------------------------------------------------------------
# Scenarios and bills
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One of the four ways to send the same run, with its breakdown and saving against standard."""

    key: str
    label: str
    batch: bool
    caching: bool
    cost: UsageCost
    saving_usd: float
    saving_pct: float
    per_video_usd: float | None = None
    low_usd: float | None = None
    high_usd: float | None = None

    @property
    def total_usd(self) -> float:
        """The scenario's total in USD."""
        return self.cost.total_usd

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"key": self.key, "label": self.label, "batch": self.batch, "caching": self.caching,
                "total_usd": self.total_usd, "per_video_usd": self.per_video_usd, "saving_usd": self.saving_usd,
                "saving_pct": self.saving_pct, "low_usd": self.low_usd, "high_usd": self.high_usd,
                "breakdown": self.cost.to_dict()}


def _scenarios(costs: Mapping[str, UsageCost], *, videos: int | None = None,
               ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[Scenario, ...]:
    std = costs["standard"].total_usd
    out = []
    for key in SCENARIOS:
        c = costs[key]
        saving = std - c.total_usd
        lo, hi = (ranges or {}).get(key, (None, None))
        out.append(Scenario(key, SCENARIO_LABELS[key], "batch" in key, "caching" in key, c, saving,
                            100.0 * saving / std if std else 0.0,
                            c.total_usd / videos if videos else None, lo, hi))
    return tuple(out)


@dataclass(frozen=True)
class Bill:
    """Token counts from a bill priced under the four scenarios."""

    model: str
    display_name: str
    tokens: TokenCounts
    scenarios: tuple[Scenario, ...]
    prices_as_of: str
    confirmed: bool
    uncertain: tuple[str, ...] = ()
    label: str = ""  # e.g. the date of a CSV row
    notes: tuple[str, ...] = ()
    explanations: tuple[Explanation, ...] = ()

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return next(s for s in self.scenarios if s.key == key)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "display_name": self.display_name, "label": self.label,
                "tokens": self.tokens.as_dict(), "prices_as_of": self.prices_as_of, "confirmed": self.confirmed,
                "uncertain": list(self.uncertain), "notes": list(self.notes),
                "scenarios": [s.to_dict() for s in self.scenarios],
                "explanations": [e.to_dict() for e in self.explanations]}


def bill(tokens: TokenCounts | Mapping[str, Any], model: str, *, long_context: bool = False,
         label: str = "") -> Bill:
    """Price the token counts of a bill under the four scenarios.

    The counts are what was billed with caching (uncached input, cache writes by TTL, reads,
    output). *Caching* and *batch + caching* price them as they are; *standard* and *batch* price
    the same prompt with nothing cached (every write and read as plain input). ``long_context``
    prices every token at the model's long-prompt tier (a total cannot tell which requests were long).
    """
    if not isinstance(tokens, TokenCounts):
        tokens = TokenCounts(**{t: float(tokens.get(t, 0) or 0) for t in TOKEN_TYPES})
    f = model_facts(model)
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
    scenarios = _scenarios(costs)
    return Bill(f.id, f.display_name, tokens, scenarios, f.as_of, f.confirmed, tuple(f.uncertain),
                label, tuple(notes), tuple(_explain_bill(tokens, scenarios, f)))


def _explain_bill(tokens: TokenCounts, scenarios: Sequence[Scenario], f: ModelFacts) -> list[Explanation]:
    """What a bill's numbers mean: where the money went, what caching did and why, what is left to save."""
    by = {s.key: s for s in scenarios}
    bc = by["batch_caching"].cost
    total = bc.total_usd
    if total <= 0:
        return []
    out = []
    shares = bc.shares()
    order = sorted((t for t in TOKEN_TYPES if bc.usd.get(t) > 0), key=lambda t: -bc.usd.get(t))
    out.append(Explanation(
        "money", "Where the money goes",
        "With the Batch API and caching: " + ", ".join(
            f"{TOKEN_LABELS[t].lower()} {_pct(100 * shares[t])} ({_usd(bc.usd.get(t))})" for t in order) + ".",
        None))
    cached = tokens.cache_write_5m + tokens.cache_write_1h + tokens.cache_read
    if cached and tokens.prompt:
        saving = by["batch"].total_usd - total
        input_batch = by["batch"].cost.input_usd
        hit = tokens.cache_read / cached
        out.append(Explanation(
            "caching", "What caching did",
            f"The cached prefix is {_pct(100 * cached / tokens.prompt)} of the input tokens ({cached:,.0f} of "
            f"{tokens.prompt:,.0f}); {_pct(100 * hit)} of it was read back from the cache. Caching saved "
            f"{_usd(saving)}: {_pct(100 * saving / input_batch if input_batch else 0)} of the input cost but only "
            f"{_pct(100 * saving / by['batch'].total_usd)} of the bill, because input is "
            f"{_pct(100 * (1 - shares['output']))} of the cost and output {_pct(100 * shares['output'])}.", saving))
    half_out = bc.output_usd / 2
    if bc.output_usd:
        out.append(Explanation(
            "lever", "The biggest lever left" if shares["output"] >= 0.5 else "Output",
            f"Output costs {_usd(bc.output_usd)}; answers half as long (fewer or shorter fields in the schema) "
            f"would save {_usd(half_out)}, {_pct(100 * half_out / total)} of the bill. A cheaper model saves on "
            "every token type at once.", half_out))
    return out


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
    if isinstance(source, (str, Path)):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise BillCsvError(f"cannot read {source}: {exc.strerror or exc}") from exc
    else:
        text = source.read()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise BillCsvError("the CSV file is empty")
    names = {n.strip().lower(): n for n in reader.fieldnames if n}
    cols = {key: next((names[a] for a in aliases if a in names), None) for key, aliases in CSV_COLUMNS.items()}
    if not any(cols[k] for k in ("input", "cache_write_5m", "cache_write_1h", "cache_write", "cache_read", "output")):
        raise BillCsvError("no token columns found; expected e.g. input_tokens, cache_write_1h_tokens, "
                           "cache_read_tokens, output_tokens")
    if cols["model"] is None and model is None:
        raise BillCsvError("no 'model' column: add one or name the model (--model)")
    totals: dict[str, tuple[TokenCounts, list[str]]] = {}
    bills: list[Bill] = []
    for line, row in enumerate(reader, start=2):
        m = (row.get(cols["model"]) or "").strip() if cols["model"] else ""
        m = m or model or ""
        if not m:
            raise BillCsvError(f"line {line}: no model")
        try:
            model_facts(m)
        except KeyError as exc:
            raise BillCsvError(f"line {line}: {exc.args[0]}") from None

        def cell(key: str, _row: dict[str, str] = row, _line: int = line) -> int:
            return _int_cell(_row.get(cols[key]) if cols[key] else None, f"line {_line}, {cols[key]}")

        t = TokenCounts(cell("input"), cell("cache_write_5m") + cell("cache_write"), cell("cache_write_1h"),
                        cell("cache_read"), cell("output"))
        label = (row.get(cols["label"]) or "").strip() if cols["label"] else ""
        if per_row:
            bills.append(bill(t, m, label=label or f"line {line}"))
        else:
            prev, labels = totals.get(m, (TokenCounts(), []))
            totals[m] = (prev + t, [*labels, label] if label else labels)
    if not per_row:
        for m, (t, labels) in totals.items():
            span = f"{min(labels)} to {max(labels)}" if len(set(labels)) > 1 else (labels[0] if labels else "")
            bills.append(bill(t, m, label=span))
    if not bills:
        raise BillCsvError("the CSV file has no rows")
    return bills


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What past runs of the same prompt and model teach the next estimate (built by ``gaia.ledger``).

    ``output_tokens``: output tokens of past successful results. ``cache_read_shares``: per past
    batch, the share of prefix tokens read from the cache (reads / (reads + writes)).
    ``batch_durations_s``: seconds from submission to end of past batches.
    """

    output_tokens: tuple[int, ...] = ()
    cache_read_shares: tuple[float, ...] = ()
    batch_durations_s: tuple[float, ...] = ()
    model: str | None = None
    prompt_hash: str | None = None

    @classmethod
    def from_usages(cls, usages: Iterable[Mapping[str, Any] | Any], **kwargs: Any) -> History:
        """History from the ``usage`` of one batch's results (one cache-read share for the batch)."""
        return cls.from_groups([usages], **kwargs)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[Mapping[str, Any] | Any]], **kwargs: Any) -> History:
        """History from the usages of several batches or runs: every answer's output tokens, and one
        cache-read share per group (``cache_read_share``, the one rule)."""
        outputs: list[int] = []
        shares: list[float] = []
        for usages in groups:
            counts = [usage_tokens(u) for u in usages]
            outputs.extend(int(t.output) for t in counts)
            share = cache_read_share(counts)
            if share is not None:
                shares.append(share)
        return cls(output_tokens=tuple(outputs), cache_read_shares=tuple(shares), **kwargs)

    def merged(self, other: History) -> History:
        """Both histories together."""
        return replace(self, output_tokens=self.output_tokens + other.output_tokens,
                       cache_read_shares=self.cache_read_shares + other.cache_read_shares,
                       batch_durations_s=self.batch_durations_s + other.batch_durations_s)


def cache_read_share(counts: Iterable[TokenCounts]) -> float | None:
    """The share of prefix tokens read from the cache, reads / (reads + writes), over some requests
    (one batch or one run); ``None`` when none of them read or wrote a cache."""
    reads = writes = 0.0
    for t in counts:
        reads += t.cache_read
        writes += t.cache_write_5m + t.cache_write_1h
    return reads / (reads + writes) if reads + writes else None


def history(folder: Folder | Path | str, prompt_hash: str | None = None, model: str | None = None) -> History:
    """What the folder's ledger says about a prompt and model: output tokens, cache-read shares per
    batch or run, and batch durations. Empty when nothing was sent yet."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return History(model=model, prompt_hash=prompt_hash)
    groups: dict[str, list[Any]] = {}
    with f.ledger() as ledger:
        for usage, group in ledger.usage_by_group(prompt_hash=prompt_hash, model=model):
            groups.setdefault(group, []).append(usage)
        durations = tuple(s for _n, s, _id in ledger.batch_durations(model=model, prompt_hash=prompt_hash))
    return History.from_groups(groups.values(), batch_durations_s=durations, model=model, prompt_hash=prompt_hash)


# ---------------------------------------------------------------------------------------------
# Estimates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Video:
    rel_path: str
    sizes: tuple[tuple[int, int], ...]  # extracted frame sizes (w, h) of the included frames
    source: tuple[int, int] | None = None  # the video's own frame size, when known


@dataclass(frozen=True)
class VideoCost:
    """One video's request: frames, tokens and the expected USD under each scenario."""

    rel_path: str
    frames: int
    image_tokens: int
    prompt_tokens: int
    usd: tuple[float, float, float, float]  # in the order of SCENARIOS
    long_context: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rel_path": self.rel_path, "frames": self.frames, "image_tokens": self.image_tokens,
                "prompt_tokens": self.prompt_tokens, "long_context": self.long_context,
                "usd": dict(zip(SCENARIOS, self.usd, strict=True))}


@dataclass(frozen=True)
class CacheInfo:
    """What caching can do for this run: the prefix, whether it is long enough, the expected hit share."""

    ttl: str
    prefix_tokens: int
    prefix_exact: bool
    min_cacheable: int
    min_cacheable_confirmed: bool
    caches: bool
    cacheable_share: float  # prefix tokens / all input tokens of an average request
    read_share_batch: float
    read_share_low: float
    read_share_high: float
    read_share_source: str  # "history" or "default"
    read_share_standard: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


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


@dataclass(frozen=True)
class Estimate:
    """The expected cost of a run on one model: four scenarios, per video, explanations and assumptions."""

    model: str
    display_name: str
    cache_ttl: str
    videos: int
    frames: int
    image_tokens: int
    text: PromptTokens
    output: OutputEstimate
    cache: CacheInfo
    scenarios: tuple[Scenario, ...]
    per_video: tuple[VideoCost, ...]
    ttl_totals: dict[str, float]  # batch + caching total with each TTL
    money: dict[str, dict[str, float]]  # scenario → part (images, text, prefix, output) → USD
    explanations: tuple[Explanation, ...]
    prices_as_of: str
    source: str
    confirmed: bool
    uncertain: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (rel_path, reason) of videos not in the estimate
    notes: tuple[str, ...] = field(default_factory=tuple)

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return next(s for s in self.scenarios if s.key == key)

    @property
    def total_usd(self) -> dict[str, float]:
        """Scenario key → total USD."""
        return {s.key: s.total_usd for s in self.scenarios}

    def to_dict(self, *, per_video: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (``per_video=False`` leaves out the per-video rows)."""
        out = {
            "model": self.model, "display_name": self.display_name, "cache_ttl": self.cache_ttl,
            "videos": self.videos, "frames": self.frames, "image_tokens": self.image_tokens,
            "prices_as_of": self.prices_as_of, "price_source": self.source, "prices_confirmed": self.confirmed,
            "uncertain": list(self.uncertain), "text_tokens": self.text.to_dict(),
            "output_tokens": self.output.to_dict(),
            "cache": self.cache.to_dict(), "scenarios": [s.to_dict() for s in self.scenarios],
            "ttl_totals": self.ttl_totals, "where_the_money_goes": self.money,
            "explanations": [e.to_dict() for e in self.explanations],
            "skipped": [{"rel_path": p, "reason": r} for p, r in self.skipped], "notes": list(self.notes),
        }
        if per_video:
            out["per_video"] = [v.to_dict() for v in self.per_video]
        return out


def _videos_from_sets(keyframe_sets: Iterable[Any], selection: Any | None,
                      source_sizes: Mapping[str, tuple[int, int]] | None) -> tuple[list[_Video], list[tuple[str, str]]]:
    videos: list[_Video] = []
    skipped: list[tuple[str, str]] = []
    for ks in keyframe_sets:
        if selection is not None and selection.video_excluded(ks.rel_path):
            skipped.append((ks.rel_path, "excluded"))
            continue
        frames = ks.included_frames(selection) if hasattr(ks, "included_frames") else ks.frames
        if not frames:
            reason = ks.problem or ("every frame excluded" if ks.frames else "no frames")
            skipped.append((ks.rel_path, reason))
            continue
        videos.append(_Video(ks.rel_path, tuple((int(f.width), int(f.height)) for f in frames),
                             (source_sizes or {}).get(ks.rel_path)))
    return videos, skipped


@dataclass(frozen=True)
class _Priced:
    costs: dict[str, UsageCost]
    per_video: list[VideoCost]
    money: dict[str, dict[str, float]]
    image_tokens: int
    frames: int
    uncached_tokens: float  # per-run uncached (non-prefix) input tokens


@lru_cache(maxsize=65_536)
def _seen_tokens(width: int, height: int, tier_edge: int, tier_tokens: int, max_edge: int | None) -> int:
    """Visual tokens of a ``width`` x ``height`` image after the tier's (and ``max_edge``'s) resize rule."""
    from gaia.facts import ImageTier

    tier = ImageTier("t", tier_edge, tier_tokens)
    return image_tokens(*fit_to_tier(width, height, tier, max_edge=max_edge))


def _video_tokens(v: _Video, tier: Any, max_edge: int | None = None, frames: int | None = None) -> tuple[float, int]:
    """(image tokens, frame count) of one video's request on a model of ``tier``.

    With ``max_edge`` the frames are resized from the video's own size when known (else from the
    extracted size, never enlarged); with ``frames`` the count changes and each frame costs the
    average of the extracted ones.
    """
    total = 0
    for w, h in v.sizes:
        if max_edge is not None and v.source:
            sw, sh = v.source
            if (sw >= sh) != (w >= h):  # keep the frame's orientation (the source may be stored rotated)
                sw, sh = sh, sw
            w, h = sw, sh
        total += _seen_tokens(w, h, tier.max_edge, tier.max_tokens, max_edge)
    if frames is not None and v.sizes:
        return total / len(v.sizes) * frames, frames
    return float(total), len(v.sizes)


def _price_run(videos: Sequence[_Video], text: PromptTokens, f: ModelFacts, *, ttl: str, output: float,
               read_share_batch: float, caches: bool, max_edge: int | None = None, frames: int | None = None,
               per_video: bool = True) -> _Priced:
    """Price every request of the run under the four scenarios (expected values).

    Requests with the same image tokens and frame count cost the same, so they are priced once.
    """
    n = len(videos)
    read_std = (n - 1) / n if n else 0.0
    prefix = text.prefix
    write_key = "cache_write_1h" if ttl == "1h" else "cache_write_5m"
    tier = f.image_tier
    rate_cache: dict[tuple[bool, bool], dict[str, float]] = {}

    def r(batch: bool, long: bool) -> dict[str, float]:
        key = (batch, long)
        if key not in rate_cache:
            rate_cache[key] = rates(f, batch=batch, long_context=long)
        return rate_cache[key]

    sigs = [_video_tokens(v, tier, max_edge, frames) for v in videos]
    groups: dict[tuple[float, int], int] = {}
    for sig in sigs:
        groups[sig] = groups.get(sig, 0) + 1
    # (scenario, long) → [accumulated tokens by type..., request count]; parts for "where the money goes".
    acc: dict[tuple[str, bool], list[float]] = {}
    parts = {s: {"images": 0.0, "text": 0.0, "prefix": 0.0, "output": 0.0} for s in SCENARIOS}
    priced: dict[tuple[float, int], tuple[tuple[float, float, float, float], int, bool]] = {}
    total_img = 0.0
    total_frames = 0
    total_uncached = 0.0
    for (img, nframes), count in groups.items():
        txt = text.instruction + nframes * text.label
        static = img + txt
        prompt = prefix + static
        long = is_long_context(f, prompt)
        total_img += img * count
        total_frames += nframes * count
        total_uncached += static * count
        usd = []
        for s in SCENARIOS:
            batch = "batch" in s
            if "caching" in s and caches:
                share = read_share_batch if batch else read_std
                vec = {"input": static, write_key: prefix * (1 - share), "cache_read": prefix * share,
                       "output": output}
            else:
                vec = {"input": prompt, "output": output}
            a = acc.setdefault((s, long), [0.0] * (len(TOKEN_TYPES) + 1))
            for i, t in enumerate(TOKEN_TYPES):
                a[i] += vec.get(t, 0.0) * count
            a[-1] += count
            rr = r(batch, long)
            cost = sum(vec.get(t, 0.0) * rr[t] for t in TOKEN_TYPES)
            usd.append(cost)
            p = parts[s]
            p["images"] += img * rr["input"] * count
            p["text"] += txt * rr["input"] * count
            p["output"] += output * rr["output"] * count
            p["prefix"] += (cost - (static * rr["input"] + output * rr["output"])) * count
        priced[(img, nframes)] = ((usd[0], usd[1], usd[2], usd[3]), int(prompt), long)
    rows: list[VideoCost] = []
    if per_video:
        for v, sig in zip(videos, sigs, strict=True):
            usd4, prompt_tokens_, long = priced[sig]
            rows.append(VideoCost(v.rel_path, sig[1], int(sig[0]), prompt_tokens_, usd4, long))
    costs: dict[str, UsageCost] = {}
    for s in SCENARIOS:
        total: UsageCost | None = None
        for long in (False, True):
            a = acc.get((s, long))
            if a is None:
                continue
            c = price_tokens(TokenCounts(*a[:-1]), f, batch="batch" in s, long_context=long, requests=int(a[-1]))
            total = c if total is None else total + c
        costs[s] = total or price_tokens(TokenCounts(), f, batch="batch" in s, requests=0)
    return _Priced(costs, rows, parts, round(total_img), total_frames, total_uncached)


def _read_share(history: History | None) -> tuple[float, float, float, str]:
    d = estimate_defaults()
    if history is not None and history.cache_read_shares:
        xs = history.cache_read_shares
        return (percentile(xs, 0.5), min(xs), max(xs), "history")
    return (d.batch_cache_read_share, d.batch_cache_read_share_low, d.batch_cache_read_share_high, "default")


def _usd(x: float) -> str:
    """Dollars for sentences: whole dollars from $100, cents from $1, two significant digits below."""
    a = abs(x)
    if a >= 100:
        return f"${x:,.0f}"
    if a >= 0.995 or a == 0:
        return f"${x:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(a)))
    return f"${x:.{decimals}f}"


def _pct(x: float) -> str:
    return f"{x:.0f}%" if abs(x) >= 1 or x == 0 else f"{x:.1f}%"


def estimate_run(
    keyframe_sets: Iterable[Any],
    *,
    model: str,
    profile: Any,
    cache_ttl: str = "1h",
    selection: Any | None = None,
    history: History | None = None,
    output_tokens_default: int | None = None,
    client: Any | None = None,
    text_tokens: PromptTokens | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    explain: bool = True,
) -> Estimate:
    """Estimate a run: the four scenarios with breakdown, per video and total, and what they mean.

    ``keyframe_sets`` are the folder's ``KeyframeSet``s (``gaia.cached_keyframes``); videos and
    frames excluded in ``selection`` are left out, as are videos without frames (listed in
    ``skipped``). Image tokens follow ``model``'s own resize rule, whatever model the frames were
    extracted for. Text tokens are exact when ``client`` is given (``count_tokens``), else
    approximate; ``text_tokens`` skips counting. Output tokens and the batch cache-read share come
    from ``history`` when it has any, else from the defaults in the data file.
    ``source_sizes`` (rel_path → video frame size) lets what-if go above the extracted frame size.
    """
    if cache_ttl not in CACHE_TTLS:
        raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {cache_ttl!r}")
    f = model_facts(model)
    videos, skipped = _videos_from_sets(keyframe_sets, selection, source_sizes)
    text = text_tokens or prompt_tokens(profile, model, client=client)
    out = output_estimate(history.output_tokens if history else (), default=output_tokens_default)
    return _estimate(videos, skipped, f, text, out, cache_ttl, history, explain=explain, profile=profile)


def _estimate(videos: list[_Video], skipped: list[tuple[str, str]], f: ModelFacts, text: PromptTokens,
              out: OutputEstimate, ttl: str, history: History | None, *, explain: bool,
              profile: Any = None, full: bool = True) -> Estimate:
    share, share_lo, share_hi, share_src = _read_share(history)
    caches = text.prefix >= f.min_cacheable_tokens
    mid = _price_run(videos, text, f, ttl=ttl, output=out.median, read_share_batch=share, caches=caches,
                     per_video=full)
    other_ttl = "5m" if ttl == "1h" else "1h"
    if full:
        lo = _price_run(videos, text, f, ttl=ttl, output=out.low, read_share_batch=share_hi, caches=caches,
                        per_video=False)
        hi = _price_run(videos, text, f, ttl=ttl, output=out.high, read_share_batch=share_lo, caches=caches,
                        per_video=False)
        alt = _price_run(videos, text, f, ttl=other_ttl, output=out.median, read_share_batch=share, caches=caches,
                         per_video=False)
    else:  # the model comparison needs only the point estimate
        lo = hi = alt = mid
    n = len(videos)
    ranges = {s: (lo.costs[s].total_usd, hi.costs[s].total_usd) for s in SCENARIOS}
    scenarios = _scenarios(mid.costs, videos=n, ranges=ranges)
    avg_input = (text.prefix * n + mid.uncached_tokens) / n if n else float(text.prefix)
    cacheable_share = text.prefix / avg_input if avg_input else 0.0
    if caches:
        msg = (f"The shared prefix (system prompt + schema) is {text.prefix:,} tokens"
               f"{'' if text.exact else ' (approximate)'}, at least the {f.min_cacheable_tokens:,} that "
               f"{f.display_name} needs before it caches; it is {_pct(100 * cacheable_share)} of each request's input.")
    else:
        msg = (f"Caching will do nothing: the shared prefix is {text.prefix:,} tokens"
               f"{'' if text.exact else ' (approximate)'}, below the {f.min_cacheable_tokens:,} tokens "
               f"{f.display_name} needs before it caches anything (shorter prefixes are silently not cached).")
    cache = CacheInfo(ttl, text.prefix, text.exact, f.min_cacheable_tokens, f.min_cacheable_confirmed, caches,
                      cacheable_share, share, share_lo, share_hi, share_src, (n - 1) / n if n else 0.0, msg)
    ttl_totals = {ttl: mid.costs["batch_caching"].total_usd}
    if full:
        ttl_totals[other_ttl] = alt.costs["batch_caching"].total_usd
    notes = []
    if not text.exact:
        notes.append(text.note)
    if out.source == "default":
        notes.append(f"Output: no history yet, so {out.median:,.0f} tokens per video is assumed "
                     f"(range {out.low:,.0f}–{out.high:,.0f}); it is learnt from the first results.")
    if share_src == "default" and caches:
        notes.append(f"Batch cache hits are best-effort (the docs say typically 30% to 98%); assumed "
                     f"{_pct(100 * share)}, range {_pct(100 * share_lo)}–{_pct(100 * share_hi)}.")
    not_extracted = sum(1 for _, r in skipped if r == "not extracted yet")
    if not_extracted:
        notes.append(f"{not_extracted} video(s) have no keyframes yet and are not in this estimate; "
                     "extract them on the Keyframes page.")
    if f.note:
        notes.append(f.note)
    est = Estimate(
        model=f.id, display_name=f.display_name, cache_ttl=ttl, videos=n, frames=mid.frames,
        image_tokens=mid.image_tokens, text=text, output=out, cache=cache, scenarios=scenarios,
        per_video=tuple(mid.per_video), ttl_totals=ttl_totals, money=mid.money, explanations=(),
        prices_as_of=f.as_of, source=f.source, confirmed=f.confirmed, uncertain=tuple(f.uncertain),
        skipped=tuple(skipped), notes=tuple(notes),
    )
    if explain and n:
        est = replace(est, explanations=tuple(_explain(est, videos, f, history)))
    return est


# ---------------------------------------------------------------------------------------------
# Explanations
# ---------------------------------------------------------------------------------------------

MONEY_LABELS = {
    "images": "Images (frames)",
    "text": "Instruction + frame labels",
    "prefix": "System prompt + schema",
    "output": "Output (the answers)",
}


def _explain(est: Estimate, videos: list[_Video], f: ModelFacts, history: History | None) -> list[Explanation]:
    key = "batch_caching"
    sc = est.scenario(key)
    total = sc.total_usd or 1.0
    money = est.money[key]
    out: list[Explanation] = []
    order = sorted(money.items(), key=lambda kv: -kv[1])
    parts = ", ".join(f"{MONEY_LABELS[k].lower()} {_pct(100 * v / total)} ({_usd(v)})" for k, v in order)
    top_k = order[0][0]
    out.append(Explanation(
        "money", "Where the money goes",
        f"With the Batch API and caching the run costs {_usd(sc.total_usd)}: {parts}. "
        f"{MONEY_LABELS[top_k]} is the largest part; that is where savings count most.", None))

    c = est.cache
    cache_saving = est.scenario("batch").total_usd - sc.total_usd
    if c.caches:
        prefix_cost_plain = money["prefix"] + cache_saving
        text = (f"The cacheable part of each request is the system prompt + schema, {c.prefix_tokens:,} tokens or "
                f"{_pct(100 * c.cacheable_share)} of its input; the frames differ per video and are never read back. "
                f"In a batch about {_pct(100 * c.read_share_batch)} of requests read the cache "
                f"({'from your history' if c.read_share_source == 'history' else 'assumed; the docs say 30% to 98%'}), "
                f"so caching {'saves' if cache_saving >= 0 else 'costs an extra'} {_usd(abs(cache_saving))} "
                f"({_pct(100 * abs(cache_saving) / (est.scenario('batch').total_usd or 1))} of the batch cost); "
                f"the prefix costs {_usd(money['prefix'])} instead of {_usd(prefix_cost_plain)}.")
        other = "5m" if est.cache_ttl == "1h" else "1h"
        diff = est.ttl_totals[other] - est.ttl_totals[est.cache_ttl]
        w1 = f.cache_write_1h_multiplier
        w5 = f.cache_write_5m_multiplier
        rd = f.cache_read_multiplier
        breakeven_1h = (w1 - 1) / (w1 - rd) if w1 > rd else 0.0
        breakeven_5m = (w5 - 1) / (w5 - rd) if w5 > rd else 0.0
        text += (f" A {other} cache would cost {_usd(abs(diff))} {'more' if diff > 0 else 'less'} at the same hit "
                 f"share. A 1-hour write costs {w1:g}x input and pays off when more than {_pct(100 * breakeven_1h)} "
                 f"of requests read it ({_pct(100 * breakeven_5m)} for {w5:g}x 5-minute writes); but a batch often "
                 "runs longer than 5 minutes, so a 5-minute entry expires between requests and hits less often. "
                 "The docs recommend 1 hour for batches.")
        out.append(Explanation("caching", "What caching saves, and why", text, cache_saving))
    else:
        out.append(Explanation("caching", "What caching saves, and why", c.message + " Lengthening the prompt only "
                               "to reach the minimum rarely pays: the added tokens are billed on every request.", 0.0))
    batch_saving = est.scenario("standard").total_usd - est.scenario("batch").total_usd
    out.append(Explanation("batch", "What the Batch API saves",
                           f"The Batch API halves every token type: {_usd(batch_saving)} less than sending the same "
                           "requests one by one, at the price of waiting (most batches end within an hour, "
                           "at most 24 h).", batch_saving))

    # Biggest lever left: fewer frames, smaller frames, a shorter answer.
    levers: list[tuple[float, str]] = []
    avg_frames = est.frames / est.videos
    if avg_frames >= 2:
        half = max(1, round(avg_frames / 2))
        cost = _what_if_total(videos, est, f, frames=half, max_edge=None)
        levers.append((sc.total_usd - cost, f"sending {half} frames per video instead of {avg_frames:.0f}"))
    edges = [w for v in videos for w in (max(s) for s in v.sizes)]
    cur_edge = max(edges) if edges else 0
    smaller = [e for e in MAX_EDGE_STEPS if e < cur_edge]
    if smaller:
        e = smaller[-1] if smaller[-1] < cur_edge * 0.8 else (smaller[-2] if len(smaller) > 1 else smaller[-1])
        cost = _what_if_total(videos, est, f, frames=None, max_edge=e)
        levers.append((sc.total_usd - cost, f"frames of at most {e} px on the long edge instead of {cur_edge} px"))
    out_half = est.output.median / 2
    save_out = est.output.median * est.videos * rates(f, batch=True)["output"] - out_half * est.videos * rates(
        f, batch=True)["output"]
    levers.append((save_out, f"a shorter answer (about {out_half:,.0f} output tokens instead of "
                             f"{est.output.median:,.0f}: fewer or shorter fields in the schema)"))
    levers.sort(key=lambda x: -x[0])
    if levers and levers[0][0] > 0:
        usd, what = levers[0]
        rest = "; ".join(f"{w}: {_usd(u)}" for u, w in levers[1:] if u > 0)
        out.append(Explanation("lever", "The biggest lever left",
                               f"{what[0].upper()}{what[1:]} would save {_usd(usd)} "
                               f"({_pct(100 * usd / total)} of the batch + caching cost)."
                               + (f" Other levers: {rest}." if rest else "")
                               + " Changing the model is often bigger still: see the model comparison.", usd))
    return out


# ---------------------------------------------------------------------------------------------
# What-if and budget
# ---------------------------------------------------------------------------------------------


def _what_if_total(videos: list[_Video], est: Estimate, f: ModelFacts, *, frames: int | None,
                   max_edge: int | None, scenario: str = "batch_caching") -> float:
    priced = _price_run(videos, est.text, f, ttl=est.cache_ttl, output=est.output.median,
                        read_share_batch=est.cache.read_share_batch, caches=est.cache.caches,
                        max_edge=max_edge, frames=frames, per_video=False)
    return priced.costs[scenario].total_usd


@dataclass(frozen=True)
class WhatIfPoint:
    """The run's cost with a given number of frames per video and longest frame edge."""

    frames: int
    max_edge: int
    tokens_per_frame: float
    usd: dict[str, float]  # scenario → total

    @property
    def image_tokens_per_video(self) -> float:
        """Visual tokens per video: the "richness" budget() maximises."""
        return self.frames * self.tokens_per_frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"frames": self.frames, "max_edge": self.max_edge, "tokens_per_frame": self.tokens_per_frame,
                "image_tokens_per_video": self.image_tokens_per_video, "usd": self.usd}


def _edges_for(f: ModelFacts, max_edges: Sequence[int] | None) -> list[int]:
    top = f.image_tier.max_edge
    edges = sorted({e for e in (max_edges or MAX_EDGE_STEPS) if e <= top} | ({top} if max_edges is None else set()))
    return edges


def what_if(
    estimate: Estimate,
    keyframe_sets: Iterable[Any],
    *,
    selection: Any | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[WhatIfPoint]:
    """The run's cost over a grid of frames per video × longest frame edge, for ``estimate``'s model.

    Frame sizes follow the extracted frames' aspect; an edge above the extracted size is reachable
    only when ``source_sizes`` gives the videos' own resolution (otherwise frames are not enlarged).
    Everything else (prompt, output, cache) is as in ``estimate``.
    """
    f = model_facts(estimate.model)
    videos, _ = _videos_from_sets(keyframe_sets, selection, source_sizes)
    points = []
    if not videos:
        return points
    previous: list[tuple[float, int]] | None = None
    for edge in _edges_for(f, max_edges):
        sigs = [_video_tokens(v, f.image_tier, edge) for v in videos]
        if sigs == previous:  # the videos are no larger than the last edge: nothing changes
            continue
        previous = sigs
        n_frames = sum(n for _, n in sigs)
        tpf = sum(t for t, _ in sigs) / n_frames if n_frames else 0.0
        for k in frame_counts:
            priced = _price_run(videos, estimate.text, f, ttl=estimate.cache_ttl, output=estimate.output.median,
                                read_share_batch=estimate.cache.read_share_batch, caches=estimate.cache.caches,
                                max_edge=edge, frames=k, per_video=False)
            points.append(WhatIfPoint(k, edge, tpf, {s: priced.costs[s].total_usd for s in SCENARIOS}))
    return points


@dataclass(frozen=True)
class BudgetResult:
    """The richest settings (most visual tokens per video) whose cost stays under the budget."""

    limit_usd: float
    scenario: str
    best: WhatIfPoint | None
    current_usd: float
    fits_now: bool
    options: tuple[WhatIfPoint, ...]  # every setting under the limit, richest first
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"limit_usd": self.limit_usd, "scenario": self.scenario, "current_usd": self.current_usd,
                "fits_now": self.fits_now, "best": self.best.to_dict() if self.best else None,
                "options": [o.to_dict() for o in self.options[:10]], "message": self.message}


def budget(
    limit_usd: float,
    estimate: Estimate,
    keyframe_sets: Iterable[Any],
    *,
    scenario: str = "batch_caching",
    selection: Any | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    points: Sequence[WhatIfPoint] | None = None,
) -> BudgetResult:
    """The richest frames-per-video × max-edge setting under ``limit_usd`` (ties: more frames wins)."""
    pts = list(points) if points is not None else what_if(
        estimate, keyframe_sets, selection=selection, frame_counts=frame_counts, max_edges=max_edges,
        source_sizes=source_sizes)
    under = [p for p in pts if p.usd[scenario] <= limit_usd]
    under.sort(key=lambda p: (-p.image_tokens_per_video, -p.frames, p.usd[scenario]))
    current = estimate.scenario(scenario).total_usd
    best = under[0] if under else None
    label = SCENARIO_LABELS[scenario]
    if best is None:
        cheapest = min(pts, key=lambda p: p.usd[scenario]) if pts else None
        msg = (f"Nothing fits under {_usd(limit_usd)} with {label}: even {cheapest.frames} frame(s) of "
               f"{cheapest.max_edge} px cost {_usd(cheapest.usd[scenario])}. Try a cheaper model or fewer videos."
               if cheapest else "No videos with frames to estimate.")
    else:
        msg = (f"Under {_usd(limit_usd)} ({label}): {best.frames} frames per video at up to {best.max_edge} px "
               f"(about {best.tokens_per_frame:,.0f} tokens per frame) for {_usd(best.usd[scenario])}. "
               f"Current settings cost {_usd(current)}"
               f"{' and fit' if current <= limit_usd else ', over the budget'}.")
    return BudgetResult(limit_usd, scenario, best, current, current <= limit_usd, tuple(under), msg)


# ---------------------------------------------------------------------------------------------
# Model comparison
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    """The same run priced on one model, with whether it still caches and what resolution it sees."""

    model: str
    display_name: str
    status: str
    usd: dict[str, float]  # scenario → total
    per_video_usd: float
    relative: float  # batch + caching total / the reference model's
    caches: bool
    prefix_tokens: int
    min_cacheable: int
    image_tier: str
    max_edge: int
    frame_size: tuple[int, int] | None  # what the model sees of a typical frame
    downscaled: bool  # frames are larger than the model's tier
    image_tokens: int
    confirmed: bool
    uncertain: tuple[str, ...]
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def compare_models(
    keyframe_sets: Iterable[Any],
    *,
    profile: Any,
    reference_model: str,
    cache_ttl: str = "1h",
    selection: Any | None = None,
    history: History | None = None,
    output_tokens_default: int | None = None,
    client: Any | None = None,
    models: Sequence[str] | None = None,
    statuses: Sequence[str] = ("current", "legacy", "limited"),
) -> list[ModelRow]:
    """The same run priced on every model (cheapest first), frames priced with each model's resize rule.

    ``relative`` compares each model's batch + caching total with ``reference_model``'s. Text
    tokens are counted per model (the newer tokenizer makes ~30% more of the same text).
    """
    sets = list(keyframe_sets)
    cat = catalogue()
    ids = list(models) if models is not None else [m.id for m in cat.models.values() if m.status in statuses]
    if reference_model not in ids and reference_model in cat.models:
        ids.append(reference_model)
    videos, skipped = _videos_from_sets(sets, selection, None)
    out_est = output_estimate(history.output_tokens if history else (), default=output_tokens_default)
    rows = []
    for mid in ids:
        f = model_facts(mid)
        text = prompt_tokens(profile, mid, client=client)
        est = _estimate(videos, skipped, f, text, out_est, cache_ttl, history, explain=False, full=False)
        size = None
        downscaled = False
        if videos:
            w, h = videos[0].sizes[0]
            size = fit_to_tier(w, h, f.image_tier)
            downscaled = any(fit_to_tier(w, h, f.image_tier) != (w, h) for v in videos for w, h in v.sizes)
        rows.append(ModelRow(f.id, f.display_name, f.status, est.total_usd,
                             est.scenario("batch_caching").per_video_usd or 0.0, 0.0, est.cache.caches, text.prefix,
                             f.min_cacheable_tokens, f.image_tier.name, f.image_tier.max_edge, size, downscaled,
                             est.image_tokens, f.confirmed, tuple(f.uncertain), f.as_of))
    ref = next((r for r in rows if r.model == reference_model), None)
    ref_total = ref.usd["batch_caching"] if ref else 0.0
    rows = [replace(r, relative=(r.usd["batch_caching"] / ref_total) if ref_total else math.nan) for r in rows]
    rows.sort(key=lambda r: r.usd["batch_caching"])
    return rows


# ---------------------------------------------------------------------------------------------
# Actual cost
# ---------------------------------------------------------------------------------------------


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


def actual_cost(results: Iterable[tuple[str, Mapping[str, Any] | Any]], model: str, *,
                batch: bool = True) -> ActualCost:
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


def _err(est: float, act: float) -> float:
    if act == 0:
        return 0.0 if est == 0 else math.inf
    return 100.0 * (est - act) / act


def compare_to_estimate(estimate: Estimate, actual: ActualCost, *, scenario: str = "batch_caching") -> EstimateCheck:
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
            per_video[key] = {"estimated_usd": e, "actual_usd": c.total_usd, "error_pct": _err(e, c.total_usd)}
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
        by_type[t] = {"estimated_usd": e, "actual_usd": a, "error_pct": _err(e, a)}
    return EstimateCheck(scenario, est_total, actual.total.total_usd, _err(est_total, actual.total.total_usd),
                         by_type, per_video)


# ---------------------------------------------------------------------------------------------
# A folder's inputs for an estimate
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInputs:
    """What an estimate of a folder needs, read from its working folder (nothing is decoded).

    ``sets`` are the keyframes as extracted (for ``extracted_for``, the folder's model unless only
    another image tier's frames exist); they are re-priced for ``model``. ``source_sizes`` are the
    videos' own frame sizes (for what-if above the extracted size). ``history`` is empty when the
    folder has no ledger yet.
    """

    folder: Path
    settings: Any  # RunSettings
    model: str
    cache_ttl: str
    profile: Any  # PromptProfile
    sets: tuple[Any, ...]  # KeyframeSet
    selection: Any  # Selection
    history: History | None
    source_sizes: dict[str, tuple[int, int]]
    extracted_for: str


def load_run_inputs(folder: Path | str, *, model: str | None = None, cache_ttl: str | None = None,
                    records: Sequence[Any] | None = None) -> RunInputs:
    """Settings, keyframes (with the Keyframes page's exclusions), prompt profile and history of ``folder``.

    ``model`` and ``cache_ttl`` default to the folder's saved settings. ``records`` (a scan's
    ``VideoRecord``s) saves a rescan when the caller has one.
    """
    from gaia.media.keyframes import cached_keyframes
    from gaia.media.scan import scan_folder
    from gaia.prompts import default_profile

    f = Folder.of(folder)
    folder = f.path
    settings = f.settings()
    model = model or settings.model
    try:
        profile = f.profile(settings.prompt_profile)
    except (KeyError, ValueError, OSError):
        profile = default_profile()
    recs = list(records) if records is not None else list(scan_folder(folder).records)
    cat = catalogue()
    candidates = [settings.model, model]
    seen_tiers = {cat.models[m].image_tier.name for m in candidates if m in cat.models}
    for m in cat.models.values():  # frames extracted for another tier still give an estimate
        if m.image_tier.name not in seen_tiers:
            seen_tiers.add(m.image_tier.name)
            candidates.append(m.id)
    best: tuple[int, str, list[Any]] | None = None
    for m in dict.fromkeys(candidates):
        if m not in cat.models:
            continue
        sets = cached_keyframes(folder, settings=settings.keyframes, model=m, records=recs)
        n = sum(1 for s in sets if s.frames)
        if best is None or n > best[0]:
            best = (n, m, sets)
    _, extracted_for, sets = best or (0, model, [])
    sizes = {}
    for r in recs:
        if r.width and r.height:
            sizes[r.rel_path] = (r.height, r.width) if r.rotation in (90, 270, -90) else (r.width, r.height)
    hist: History | None
    try:
        hist = history(f, prompt_hash=profile.hash, model=model)
    except Exception:  # a damaged ledger: estimate from the defaults
        hist = None
    return RunInputs(folder, settings, model, cache_ttl or settings.cache_ttl, profile, tuple(sets),
                     f.selection(), hist, sizes, extracted_for)
