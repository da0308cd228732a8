"""What prompt caching can do for a run: the cacheable prefix, whether it is long enough, the hit share.

A request of GAIA is: the shared prefix (the structured-output schema, the system prompt and the
schema text, marked with ``cache_control``), then the video's frames with a short timestamp label
each, then the instruction. Only the prefix can be cached; when it is shorter than the model's
minimum cacheable length the API silently does not cache, and the caching scenarios then cost the
same as the plain ones.

In a batch, the first request finds the cache cold and writes it (a batch does not read what the
Messages API wrote); after that each request reads it with a best-effort chance, the *hit chance*
(``ReadShare``). It is learnt per batch and per TTL window from the folder's past batches of the
same prompt and model (``CacheGroup``: of the requests after the first writer, the share that
read), pooled with the data file's default (GAIA's production run; the docs' "30% to 98%" is the
range) so that one small batch does not decide alone. A batch that read a cache without writing
it found one warmed before (by this folder or another): that teaches only while its TTL can still
hold, i.e. within the TTL of when it ended; later the next batch starts cold again. Outside a
batch, requests sent one after another within the TTL read the cache after the first write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gaia.facts import CACHE_TTL_SECONDS, ModelFacts, estimate_defaults
from gaia.format import pct
from gaia.pricing.history import CacheGroup, History
from gaia.pricing.tokens import PromptTokens

# How many requests' worth of weight the default hit chance keeps against a folder's own batches.
PRIOR_REQUESTS = 4.0
# z of a two-sided 90% interval for the hit chance learnt from batches.
SHARE_Z = 1.645


@dataclass(frozen=True)
class ReadShare:
    """The chance that a batch request reads the cached prefix once it is written: a point, a low and a
    high end, its source, and whether a warm cache (read within its TTL) spares the first write."""

    point: float
    low: float
    high: float
    source: str  # "history" or "default"
    warm: bool = False
    batches: int = 0  # past batches it was learnt from

    def effective(self, chance: float, requests: int) -> float:
        """The expected share of ``requests`` requests that read: every request after the first when the
        cache starts cold, each with ``chance``; all of them when it is warm."""
        if requests <= 0:
            return 0.0
        return chance if self.warm else chance * (requests - 1) / requests

    def describe(self) -> str:
        """One line for a person: the hit chance, its range and where it comes from."""
        where = (f"learnt from {self.batches} batch(es) of this prompt" if self.source == "history"
                 else "GAIA's production run; the docs say 30% to 98%")
        start = ("a cache warmed within its TTL is read from the first request" if self.warm
                 else "the first request of a batch writes the cache")
        return (f"{pct(self.point)} of batch requests read the cache (range {pct(self.low)}–{pct(self.high)}, "
                f"{where}); {start}")


def _alive(g: CacheGroup, ttl: str, now: datetime) -> bool:
    return g.ended_at is not None and (now - g.ended_at).total_seconds() <= CACHE_TTL_SECONDS[ttl]


def batch_read_share(history: History | None, *, ttl: str = "1h", now: datetime | None = None) -> ReadShare:
    """The batch hit chance for a ``ttl`` cache: the folder's past batches with that TTL (a batch that read
    a warm cache only while that cache can still hold), pooled with the data file's default."""
    d = estimate_defaults()
    prior, lo_doc, hi_doc = d.batch_cache_read_share, d.batch_cache_read_share_low, d.batch_cache_read_share_high
    now = now or datetime.now(UTC)
    groups = [g for g in (history.cache_groups if history else ()) if g.batch]
    cold = [g for g in groups if not g.warm and g.ttl == ttl and g.requests > 1]
    warm = [g for g in groups if g.warm and _alive(g, ttl, now)]
    if not cold and not warm:
        return ReadShare(prior, lo_doc, hi_doc, "default")
    reads = sum(g.reads for g in cold) + sum(g.reads for g in warm)
    tries = sum(g.requests - 1 for g in cold) + sum(g.requests for g in warm)
    point = (reads + PRIOR_REQUESTS * prior) / (tries + PRIOR_REQUESTS)
    half = SHARE_Z * math.sqrt(point * (1 - point) / (tries + PRIOR_REQUESTS))
    return ReadShare(point, max(0.0, point - half), min(1.0, point + half), "history", bool(warm),
                     len(cold) + len(warm))


def sequential_read_share(requests: int, *, warm: bool = False) -> float:
    """Outside a batch, every request after the first reads the cache within its TTL: (n - 1) / n; all of
    them when a cache written by this folder's last run now is still alive (``warm``)."""
    if not requests:
        return 0.0
    return 1.0 if warm else (requests - 1) / requests


def standard_cache_warm(history: History | None, *, ttl: str = "1h", now: datetime | None = None) -> bool:
    """Whether a run now of this prompt and model ended within the TTL, so its cache is still alive for the next."""
    now = now or datetime.now(UTC)
    return any(not g.batch and _alive(g, ttl, now) for g in (history.cache_groups if history else ()))


def breakeven_share(write_multiplier: float, read_multiplier: float) -> float:
    """The share of requests that must read a cache entry for its write (``write_multiplier`` x input) to pay off."""
    return (write_multiplier - 1) / (write_multiplier - read_multiplier) if write_multiplier > read_multiplier else 0.0


def other_ttl(ttl: str) -> str:
    """The cache TTL that is not ``ttl`` (``"5m"`` ↔ ``"1h"``)."""
    return "5m" if ttl == "1h" else "1h"


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


def caches(text: PromptTokens, f: ModelFacts) -> bool:
    """Whether the shared prefix is long enough for ``f`` to cache it at all."""
    return text.prefix >= f.min_cacheable_tokens


def cache_info(text: PromptTokens, f: ModelFacts, *, ttl: str, requests: int, uncached_tokens: float,
               share: ReadShare) -> CacheInfo:
    """What caching does for ``requests`` requests sharing ``text``'s prefix (``uncached_tokens`` in all besides it)."""
    avg_input = (text.prefix * requests + uncached_tokens) / requests if requests else float(text.prefix)
    cacheable_share = text.prefix / avg_input if avg_input else 0.0
    approx = "" if text.exact else " (approximate)"
    if caches(text, f):
        msg = (f"The shared prefix (system prompt + schema) is {text.prefix:,} tokens{approx}, at least the "
               f"{f.min_cacheable_tokens:,} that {f.display_name} needs before it caches; it is "
               f"{pct(cacheable_share)} of each request's input.")
    else:
        msg = (f"Caching will do nothing: the shared prefix is {text.prefix:,} tokens{approx}, below the "
               f"{f.min_cacheable_tokens:,} tokens {f.display_name} needs before it caches anything (shorter "
               "prefixes are silently not cached).")
    return CacheInfo(ttl, text.prefix, text.exact, f.min_cacheable_tokens, f.min_cacheable_confirmed,
                     caches(text, f), cacheable_share, share.point, share.low, share.high, share.source,
                     sequential_read_share(requests), msg)
