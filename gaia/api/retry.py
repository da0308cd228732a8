"""The one retry policy for every API call GAIA makes: what an error means and how long to wait.

Batch creation, result streaming, run now and trials all ask the same ``RetryPolicy``: whether an
error is the API pushing back on everyone (429, 529: slow down, honour ``retry-after``), a
temporary failure of this one call (408, 409, 5xx, a dropped connection: try again), fatal for
every request alike (401, 402, 403: stop), or a verdict on this request alone (400, 404, 413:
record it as failed). Waits honour the API's ``retry-after-ms`` / ``retry-after`` headers (seconds
or an HTTP date) with a little jitter, else exponential backoff with jitter.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

PUSHBACK_STATUSES = frozenset({429, 529})  # the API asks everyone to slow down
RETRY_STATUSES = frozenset({408, 409, 500, 502, 503, 504})  # a temporary failure of this one call
FATAL_STATUSES = frozenset({401, 402, 403})  # every other request would fail the same way


class ErrorClass(StrEnum):
    """What an error from an API call means for the caller."""

    PUSHBACK = "pushback"  # 429/529: wait (retry-after) and send again; slow down
    TEMPORARY = "temporary"  # 408/409/5xx: this call failed; it may or may not have been processed
    CONNECTION = "connection"  # no answer at all (network, timeout): it may or may not have landed
    FATAL = "fatal"  # 401/402/403: every request would fail the same way; stop the run
    REJECTED = "rejected"  # any other status (400, 404, 413, ...): this request is refused as it is


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an SDK error, or ``None`` (connection errors, other exceptions)."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def classify(exc: BaseException) -> ErrorClass:
    """What ``exc`` (raised by an SDK call) means: see ``ErrorClass``."""
    import anthropic

    status = status_of(exc)
    if status is None:
        return ErrorClass.CONNECTION if isinstance(exc, anthropic.APIConnectionError) else ErrorClass.REJECTED
    if status in PUSHBACK_STATUSES:
        return ErrorClass.PUSHBACK
    if status in FATAL_STATUSES:
        return ErrorClass.FATAL
    if status in RETRY_STATUSES or status >= 500:
        return ErrorClass.TEMPORARY
    return ErrorClass.REJECTED


def error_kind(exc: BaseException) -> str:
    """The ledger's ``error_kind`` for a failed call: ``errored:<API error type>`` or ``connection_error``."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(err, dict) and err.get("type"):
            return f"errored:{err['type']}"
    status = status_of(exc)
    if status is not None:
        return {429: "errored:rate_limit_error", 529: "errored:overloaded_error", 500: "errored:api_error",
                401: "errored:authentication_error"}.get(status, f"errored:http_{status}")
    return "connection_error"


def retry_after_s(exc: BaseException) -> float | None:
    """The wait the API asked for in an error's headers (``retry-after-ms``, else ``retry-after`` in
    seconds or as an HTTP date), in seconds, or ``None`` when it asked for none."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value) / 1000.0)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. One instance, ``DEFAULT_RETRY``, serves every caller.

    ``max_attempts``: failed calls per request (temporary or connection errors) before it is
    recorded as failed. ``pushback_factor``: a request may be pushed back (429/529) this many times
    more often, since pushback says "slow down", not "this request is broken".
    """

    max_attempts: int = 6
    pushback_factor: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 600.0  # longer waits asked by the API are capped (the call then tries again)

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with jitter for the ``attempt``-th failure (1, 2, ...): half to all of
        ``backoff_base_s * 2**(attempt-1)``, capped at ``backoff_max_s``."""
        rng = rng or random.Random()
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** max(0, attempt - 1))
        return ceiling * rng.uniform(0.5, 1.0)

    def wait_s(self, exc: BaseException, attempt: int, rng: random.Random | None = None) -> float:
        """How long to wait before trying again after ``exc``: the API's ``retry-after`` plus a little
        jitter (so many workers do not return at the same instant), else the backoff."""
        rng = rng or random.Random()
        asked = retry_after_s(exc)
        if asked is None:
            return self.backoff_s(attempt, rng)
        asked = min(asked, self.retry_after_max_s)
        return asked + rng.uniform(0.0, min(1.0, 0.1 * asked + 0.05))

    def gives_up(self, exc: BaseException, attempt: int) -> bool:
        """Whether the ``attempt``-th failure, ``exc``, is the last one to allow."""
        kind = classify(exc)
        if kind in (ErrorClass.FATAL, ErrorClass.REJECTED):
            return True
        budget = self.max_attempts * (self.pushback_factor if kind is ErrorClass.PUSHBACK else 1)
        return attempt >= budget


DEFAULT_RETRY = RetryPolicy()
