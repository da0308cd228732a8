"""What prompt caching can do for a run: the cacheable prefix, whether it is long enough, the hit share.

A request of GAIA is: the shared prefix (system prompt + schema, marked with ``cache_control``),
then the video's frames with a short timestamp label each, then the instruction. Only the prefix
can be cached; when it is shorter than the model's minimum cacheable length the API silently does
not cache, and the caching scenarios then cost the same as the plain ones. Within a batch, cache
hits are best-effort: the share of requests that read the cache comes from the folder's history
(one share per past batch, ``cache_read_share``), else from the data file's default (the middle
of the docs' "30% to 98%"), with both ends kept for the range. Outside a batch, requests sent one
after another within the TTL read the cache after the first write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaia.facts import ModelFacts, estimate_defaults
from gaia.format import pct
from gaia.pricing.history import History
from gaia.pricing.output import percentile
from gaia.pricing.tokens import PromptTokens


@dataclass(frozen=True)
class ReadShare:
    """The share of batch requests expected to read the cache: a point, a low and a high end, and its source."""

    point: float
    low: float
    high: float
    source: str  # "history" or "default"


def batch_read_share(history: History | None) -> ReadShare:
    """The batch cache-read share: the median and extremes of past batches, else the data file's default range."""
    if history is not None and history.cache_read_shares:
        xs = history.cache_read_shares
        return ReadShare(percentile(xs, 0.5), min(xs), max(xs), "history")
    d = estimate_defaults()
    return ReadShare(d.batch_cache_read_share, d.batch_cache_read_share_low, d.batch_cache_read_share_high, "default")


def sequential_read_share(requests: int) -> float:
    """Outside a batch, every request after the first reads the cache within its TTL: (n - 1) / n."""
    return (requests - 1) / requests if requests else 0.0


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
