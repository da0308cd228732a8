"""A model's prices applied: tokens by billing type, what they cost on one model, and the four ways to send.

A model's facts are one typed record, ``gaia.facts.ModelFacts`` (the price rows of
``gaia/data/models.toml`` and the user's override file); nothing in pricing knows a price. Where a
model id enters pricing it is resolved once (``facts_of``) and the record is passed down, so no
function below looks the model up again. ``rates`` are its dollars per token of each type, with the
batch discount and the length tier applied; ``price_tokens`` prices ``TokenCounts`` with them.

``input_tokens`` of an API ``usage`` counts only uncached input; the prompt is input + cache reads
+ cache writes, and decides the length tier (Haiku 5.5 above 100,000 prompt tokens bills the whole
request at its long tier). Cache writes are split by TTL when the usage says so, else counted as
5-minute writes. ``cache_read_share`` is the one rule for the share of a cacheable prefix that was
read back: reads / (reads + writes) over a group of requests (one batch or one run).

The same requests can be sent four ways: *standard* (Messages API, no caching), *caching*
(Messages API with the shared prefix cached), *batch* (Message Batches API, 50% off every token
type) and *batch_caching* (both; the cache multipliers stack with the batch discount). A bill and
an estimate are both four ``Scenario``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gaia.api.client import field
from gaia.facts import Catalogue, ModelFacts, model_facts

if TYPE_CHECKING:
    from typing import TypeAlias

    from anthropic.types import Usage

    # An API ``usage``: the SDK's object, or the plain dict the ledger and the emulator's fixtures hold.
    UsageLike: TypeAlias = Mapping[str, Any] | Usage

# --- tokens by billing type, and what they cost on a model ----------------------------------------

TOKEN_TYPES = ("input", "cache_write_5m", "cache_write_1h", "cache_read", "output")
TOKEN_LABELS = {
    "input": "Input, not cached",
    "cache_write_5m": "Cache write (5 min)",
    "cache_write_1h": "Cache write (1 h)",
    "cache_read": "Cache read",
    "output": "Output",
}


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
    def cache_writes(self) -> float:
        """Cache writes of both TTLs."""
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> float:
        """All tokens, output included."""
        return self.prompt + self.output

    def as_dict(self) -> dict[str, float]:
        """Token type → count."""
        return {t: self.get(t) for t in TOKEN_TYPES}

    @classmethod
    def of(cls, counts: TokenCounts | Mapping[str, float]) -> TokenCounts:
        """``counts`` as ``TokenCounts`` (a mapping of token type → count; missing types count 0)."""
        if isinstance(counts, TokenCounts):
            return counts
        return cls(**{t: float(counts.get(t, 0) or 0) for t in TOKEN_TYPES})


def cache_read_share(counts: Iterable[TokenCounts]) -> float | None:
    """The share of prefix tokens read from the cache, reads / (reads + writes), over some requests
    (one batch or one run); ``None`` when none of them read or wrote a cache."""
    reads = writes = 0.0
    for t in counts:
        reads += t.cache_read
        writes += t.cache_writes
    return reads / (reads + writes) if reads + writes else None


def facts_of(model: str | ModelFacts, cat: Catalogue | None = None) -> ModelFacts:
    """``model``'s facts (a model id is looked up in the catalogue)."""
    return model if isinstance(model, ModelFacts) else model_facts(model, cat=cat)


class PricedOn:
    """What a figure priced on one model (a bill, an estimate) reads from that model's facts: the record it
    was priced with, kept whole (``facts``) so whatever re-prices it never looks the model up again."""

    facts: ModelFacts

    @property
    def model(self) -> str:
        """The model's id."""
        return self.facts.id

    @property
    def display_name(self) -> str:
        """The model's name for people."""
        return self.facts.display_name

    @property
    def prices_as_of(self) -> str:
        """The date of the prices used."""
        return self.facts.as_of

    @property
    def source(self) -> str:
        """Where the prices come from."""
        return self.facts.source

    @property
    def confirmed(self) -> bool:
        """Whether the prices have a primary source."""
        return self.facts.confirmed

    @property
    def uncertain(self) -> tuple[str, ...]:
        """The model's figures that have no primary source yet, in words."""
        return tuple(self.facts.uncertain)


def rates(model: str | ModelFacts, *, batch: bool, long_context: bool = False) -> dict[str, float]:
    """USD per token for each token type on ``model``, with the batch discount and length tier applied."""
    f = facts_of(model)
    base_in = f.long_context_input if long_context and f.long_context_input is not None else f.input
    base_out = f.long_context_output if long_context and f.long_context_output is not None else f.output
    per = ((1.0 - f.batch_discount) if batch else 1.0) / 1_000_000
    return {
        "input": base_in * per,
        "cache_write_5m": base_in * f.cache_write_5m_multiplier * per,
        "cache_write_1h": base_in * f.cache_write_1h_multiplier * per,
        "cache_read": base_in * f.cache_read_multiplier * per,
        "output": base_out * per,
    }


def is_long_context(model: str | ModelFacts, prompt_tokens: float) -> bool:
    """Whether a request with this many prompt tokens is billed at the model's long-prompt tier."""
    f = facts_of(model)
    return f.long_context_threshold is not None and prompt_tokens > f.long_context_threshold


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

    def rows(self) -> list[dict[str, str | float]]:
        """One row per token type plus a total row: label, tokens, USD (for tables)."""
        out: list[dict[str, str | float]] = [
            {"type": t, "label": TOKEN_LABELS[t], "tokens": self.tokens.get(t), "usd": self.usd.get(t)}
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
    f = facts_of(model)
    r = rates(f, batch=batch, long_context=long_context)
    usd = {t: tokens.get(t) * r[t] for t in TOKEN_TYPES}
    return UsageCost(f.id, batch, *tokens.as_dict().values(), *usd.values(), sum(usd.values()),
                     requests, requests if long_context else 0, f.as_of)


def usage_tokens(usage: UsageLike) -> TokenCounts:
    """Token counts from an API ``usage`` (a dict or the SDK's ``Usage``); unsplit cache writes count as 5m."""
    created = int(field(usage, "cache_creation_input_tokens", 0))
    split = field(usage, "cache_creation")
    w5 = int(field(split, "ephemeral_5m_input_tokens", 0))
    w1 = int(field(split, "ephemeral_1h_input_tokens", 0))
    if split is None or (w5 + w1 == 0 and created):
        w5, w1 = created, 0
    return TokenCounts(int(field(usage, "input_tokens", 0)), w5, w1,
                       int(field(usage, "cache_read_input_tokens", 0)), int(field(usage, "output_tokens", 0)))


def usage_cost(usage: UsageLike, model: str | ModelFacts, *, batch: bool) -> UsageCost:
    """The cost of one response from its ``usage``: every token type, cache writes split by TTL, at its length tier."""
    f = facts_of(model)
    tokens = usage_tokens(usage)
    return price_tokens(tokens, f, batch=batch, long_context=is_long_context(f, tokens.prompt))


# --- the four ways to send ------------------------------------------------------------------------

SCENARIOS = ("standard", "caching", "batch", "batch_caching")
SCENARIO_LABELS = {
    "standard": "Standard",
    "caching": "Prompt caching",
    "batch": "Batch API",
    "batch_caching": "Batch API + caching",
}
# The scenario GAIA recommends and leads with: the cheapest way when waiting is fine.
HEADLINE_SCENARIO = "batch_caching"


def is_batch(scenario: str) -> bool:
    """Whether ``scenario`` sends through the Message Batches API."""
    return "batch" in scenario


def is_caching(scenario: str) -> bool:
    """Whether ``scenario`` caches the shared prefix."""
    return "caching" in scenario


@dataclass(frozen=True)
class Scenario:
    """One of the four ways to send the same run, with its breakdown and saving against standard.

    ``low_usd`` / ``high_usd`` bound the total when it is an estimate (``None`` for a bill).
    """

    key: str
    label: str
    batch: bool
    caching: bool
    cost: UsageCost
    saving_usd: float
    saving_pct: float  # per cent of the standard total
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


def scenarios_of(costs: Mapping[str, UsageCost], *, videos: int | None = None,
                 ranges: Mapping[str, tuple[float, float]] | None = None) -> tuple[Scenario, ...]:
    """The four scenarios from their costs (in ``SCENARIOS`` order), savings against standard, per-video totals."""
    std = costs["standard"].total_usd
    out = []
    for key in SCENARIOS:
        c = costs[key]
        saving = std - c.total_usd
        lo, hi = (ranges or {}).get(key, (None, None))
        out.append(Scenario(key, SCENARIO_LABELS[key], is_batch(key), is_caching(key), c, saving,
                            100.0 * saving / std if std else 0.0,
                            c.total_usd / videos if videos else None, lo, hi))
    return tuple(out)


def scenario(scenarios: tuple[Scenario, ...], key: str) -> Scenario:
    """The scenario named ``key`` (one of ``SCENARIOS``)."""
    return next(s for s in scenarios if s.key == key)
