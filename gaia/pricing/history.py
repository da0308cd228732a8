"""What past runs of the same prompt and model teach the next estimate, read from a folder's ledger.

``History`` holds the output tokens of past answers, one cache-read share per past batch or run
(``cache_read_share``, the one rule) and batch durations. ``history(folder, prompt_hash, model)``
reads them from the folder's ledger; it is empty when nothing was sent yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.folder import Folder
from gaia.pricing.usage import cache_read_share, usage_tokens

if TYPE_CHECKING:
    from gaia.pricing.usage import UsageLike


@dataclass(frozen=True)
class History:
    """What past runs of the same prompt and model teach the next estimate.

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
    def from_usages(cls, usages: Iterable[UsageLike], *, batch_durations_s: tuple[float, ...] = (),
                    model: str | None = None, prompt_hash: str | None = None) -> History:
        """History from the ``usage`` of one batch's results (one cache-read share for the batch)."""
        return cls.from_groups([usages], batch_durations_s=batch_durations_s, model=model, prompt_hash=prompt_hash)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[UsageLike]], *, batch_durations_s: tuple[float, ...] = (),
                    model: str | None = None, prompt_hash: str | None = None) -> History:
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
        return cls(tuple(outputs), tuple(shares), batch_durations_s, model, prompt_hash)

    def merged(self, other: History) -> History:
        """Both histories together."""
        return replace(self, output_tokens=self.output_tokens + other.output_tokens,
                       cache_read_shares=self.cache_read_shares + other.cache_read_shares,
                       batch_durations_s=self.batch_durations_s + other.batch_durations_s)


def history(folder: Folder | Path | str, prompt_hash: str | None = None, model: str | None = None) -> History:
    """What the folder's ledger says about a prompt and model: output tokens, cache-read shares per
    batch or run, and batch durations. Empty when nothing was sent yet."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return History(model=model, prompt_hash=prompt_hash)
    groups: dict[str, list[dict[str, Any]]] = {}
    with f.ledger() as ledger:
        for usage, group in ledger.usage_by_group(prompt_hash=prompt_hash, model=model):
            groups.setdefault(group, []).append(usage)
        durations = tuple(s for _n, s, _id in ledger.batch_durations(model=model, prompt_hash=prompt_hash))
    return History.from_groups(groups.values(), batch_durations_s=durations, model=model, prompt_hash=prompt_hash)
