"""What past runs of the same prompt and model teach the next estimate, read from a folder's ledger.

``History`` holds the output tokens of past answers (thinking included), one ``CacheGroup`` per
past batch or run (how many of its requests read or wrote the cached prefix, with which TTL, and
when it ended; ``gaia.pricing.cache`` turns them into the expected hit share) and batch durations.
``history(folder, prompt_hash, model)`` reads them from the folder's ledger for one prompt profile
on one model; it is empty when nothing was sent yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gaia.folder import Folder
from gaia.pricing.usage import TokenCounts, cache_read_share, usage_tokens

if TYPE_CHECKING:
    from gaia.pricing.usage import UsageLike


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
    so the output estimate never learns from them). ``cache_groups``: per past batch or run, its
    cache traffic (``CacheGroup``). ``batch_durations_s``: seconds from submission to end of past
    batches.
    """

    output_tokens: tuple[int, ...] = ()
    cache_groups: tuple[CacheGroup, ...] = field(default=())
    batch_durations_s: tuple[float, ...] = ()
    model: str | None = None
    prompt_hash: str | None = None
    cut_off: tuple[int, ...] = ()

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
        return replace(self, output_tokens=self.output_tokens + other.output_tokens,
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
    cut_off: list[int] = []
    groups: dict[str, tuple[bool, list[TokenCounts], list[datetime]]] = {}
    with f.ledger() as ledger:
        for row in ledger.usage_rows(prompt_hash=prompt_hash, model=model):
            t = usage_tokens(row.usage)
            (cut_off if row.cut_off else outputs).append(int(t.output))
            _batch, counts, ats = groups.setdefault(row.group, (row.batch, [], []))
            counts.append(t)
            if row.at is not None:
                ats.append(row.at)
        durations = tuple(s for _n, s, _id in ledger.batch_durations(model=model, prompt_hash=prompt_hash))
    cache = [CacheGroup.of(counts, batch=batch, ended_at=max(ats) if ats else None)
             for batch, counts, ats in groups.values()]
    return History(tuple(outputs), tuple(g for g in cache if g is not None), durations, model, prompt_hash,
                   tuple(cut_off))
