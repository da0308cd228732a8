"""Adaptive concurrency for run now: how many requests may be in flight, adapted to the API's pushback (AIMD)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConcurrencyChange:
    """The number of requests allowed in flight changed: when (seconds into the run), to what, why."""

    at_s: float
    limit: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"at_s": round(self.at_s, 3), "limit": self.limit, "reason": self.reason}


class AdaptiveConcurrency:
    """How many requests may be in flight, adapted to the API's pushback (additive increase,
    multiplicative decrease).

    Starts at ``maximum`` (the user's setting). A 429 or 529 (``pushback``) halves the limit once
    per wave of overload (answers to requests that started before the last cut do not cut again)
    and pauses every worker until the API's ``retry-after`` has passed; after ``limit`` successful
    calls in a row the limit grows by one, back up to ``maximum``. ``clock`` and
    ``sleep`` are injectable so tests can check the waits without waiting. Thread-safe.
    """

    def __init__(self, maximum: int, *, minimum: int = 1, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.maximum = max(1, int(maximum))
        self.minimum = max(1, min(int(minimum), self.maximum))
        self._limit = float(self.maximum)
        self._in_flight = 0
        self._credit = 0
        self._epoch = 0
        self._pause_until = float("-inf")
        self._cond = threading.Condition()
        self._clock = clock
        self._sleep = sleep
        self._t0 = clock()
        self.changes: list[ConcurrencyChange] = [ConcurrencyChange(0.0, self.maximum, "start")]
        self.lowest = self.maximum
        self.peak_in_flight = 0

    @property
    def limit(self) -> int:
        """Requests allowed in flight right now."""
        return max(self.minimum, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Requests in flight right now."""
        return self._in_flight

    def _note(self, old: int, reason: str) -> None:
        new = self.limit
        if new != old:
            self.changes.append(ConcurrencyChange(self._clock() - self._t0, new, reason))
            self.lowest = min(self.lowest, new)

    def acquire(self, stop: threading.Event | None = None) -> int | None:
        """Wait for a free slot and for any pause to end; returns a token for ``pushback``, or
        ``None`` when ``stop`` was set meanwhile."""
        while True:
            with self._cond:
                if stop is not None and stop.is_set():
                    return None
                pause = self._pause_until - self._clock()
                if pause <= 0:
                    if self._in_flight < self.limit:
                        self._in_flight += 1
                        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                        return self._epoch
                    self._cond.wait(timeout=0.2)
                    continue
            self._sleep(pause)

    def release(self) -> None:
        """Give a slot back."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()

    def success(self) -> None:
        """A call succeeded: after ``limit`` of them since the last change, allow one more in flight."""
        with self._cond:
            if self._limit < self.maximum:
                self._credit += 1
                if self._credit >= self.limit:  # a whole window of successes: one more in flight
                    old = self.limit
                    self._credit = 0
                    self._limit = min(float(self.maximum), float(old + 1))
                    self._note(old, "calls succeed")

    def pushback(self, token: int | None, delay_s: float, reason: str) -> None:
        """The API pushed back (429/529) on a request that acquired ``token``: pause everyone for
        ``delay_s`` and halve the limit, unless this wave of overload was already answered."""
        with self._cond:
            self._pause_until = max(self._pause_until, self._clock() + max(0.0, delay_s))
            if token is None or token == self._epoch:
                old = self.limit
                self._limit = max(float(self.minimum), float(old // 2))
                self._credit = 0
                self._epoch += 1
                self._note(old, reason)
            self._cond.notify_all()
