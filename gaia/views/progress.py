"""What the Progress page shows: polling pace, batch cards, and the figures its charts draw from the ledger.

``refresh_interval`` (how often to ask the API while a batch runs), ``batch_card`` (a batch's badge,
figures and notes, formatted), ``batch_timings`` (size against processing time) and ``batch_costs``
(estimated against actual cost per batch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.folder import Folder

# How often the Progress page asks the API about running batches (seconds). The emulator ends
# batches in seconds; the real API takes minutes to hours, and every poll is an API call.
POLL_EMULATOR_S = 2.0
POLL_API_S = 30.0


def refresh_interval(statuses: Iterable[Any], *, emulator: bool = False) -> float | None:
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
    """A batch's estimate at submission and the actual cost of the results recorded so far."""

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
        return [BatchCost(bid, est, act) for bid, est, act in ledger.cost_by_batch()]
