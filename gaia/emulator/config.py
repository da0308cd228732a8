"""The emulator's knobs: timing, fault injection and answer shaping, as one dataclass.

``EmulatorConfig`` is read by every part of the emulator and can be changed while it runs
(``EmulatorHandle.update_config``). Rates are shares between 0 and 1; a batch takes a snapshot
of the result-shaping rates when it is created, so changing them later affects new batches only.
HTTP faults (``HttpFault``) are consumed as matching calls arrive.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gaia.facts import BATCH_MAX_BYTES, MESSAGES_MAX_BYTES

# Route names accepted by ``HttpFault.route`` (the SDK method each one serves).
ROUTES = (
    "batches.create",
    "batches.list",
    "batches.retrieve",
    "batches.cancel",
    "batches.delete",
    "batches.results",
    "messages.create",
    "messages.count_tokens",
    "models.list",
    "models.retrieve",
    "files.upload",
    "files.list",
    "files.retrieve_metadata",
    "files.download",
    "files.delete",
)
# Files API upload cap (errors page, "request size limits"); not in gaia.facts because only the
# emulator enforces it.
FILES_MAX_BYTES = 500_000_000

FAULT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


@dataclass
class HttpFault:
    """Answer the next ``count`` calls to ``route`` with HTTP ``status`` instead of serving them.

    ``route`` is a name from ``ROUTES`` (e.g. ``"batches.create"``), a prefix such as
    ``"batches."``, or ``"*"`` for every call. ``count`` of ``None`` means forever.
    ``retry_after`` (seconds) is sent as the ``retry-after`` header when set.
    """

    route: str = "*"
    status: int = 429
    count: int | None = 1
    retry_after: float | None = 1.0
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in FAULT_TYPES:
            raise ValueError(f"HTTP fault status must be one of {sorted(FAULT_TYPES)}, not {self.status}")
        if self.route != "*" and not any(r == self.route or r.startswith(self.route) for r in ROUTES):
            raise ValueError(f"unknown route {self.route!r}; use '*' or one of {', '.join(ROUTES)}")

    def matches(self, route: str) -> bool:
        """Whether this rule applies to a call of ``route``."""
        return self.route == "*" or route == self.route or (self.route.endswith(".") and route.startswith(self.route))

    @classmethod
    def parse(cls, text: str) -> HttpFault:
        """Build a rule from ``ROUTE:STATUS[:COUNT[:RETRY_AFTER]]`` (COUNT ``*`` = forever)."""
        parts = text.split(":")
        if len(parts) < 2 or len(parts) > 4:
            raise ValueError(f"fault {text!r} is not ROUTE:STATUS[:COUNT[:RETRY_AFTER]]")
        count: int | None = 1
        if len(parts) >= 3:
            count = None if parts[2] in ("*", "") else int(parts[2])
        retry = float(parts[3]) if len(parts) == 4 and parts[3] else 1.0
        return cls(route=parts[0] or "*", status=int(parts[1]), count=count, retry_after=retry)


def _fault(value: HttpFault | dict[str, Any] | str) -> HttpFault:
    if isinstance(value, HttpFault):
        return value
    if isinstance(value, str):
        return HttpFault.parse(value)
    return HttpFault(**value)


def _faults(value: Any) -> list[HttpFault]:
    """Rules from a list (of ``HttpFault``, dicts or ``"ROUTE:STATUS[:COUNT[:RETRY]]"`` strings) or
    a dict mapping a route to a status or to a dict of the other fields."""
    if value is None:
        return []
    if isinstance(value, dict):
        rules = []
        for route, spec in value.items():
            fields: dict[str, Any] = dict(spec) if isinstance(spec, dict) else {"status": int(spec)}
            rules.append(HttpFault(route=str(route), **fields))
        return rules
    if isinstance(value, HttpFault | str):
        value = [value]
    return [_fault(v) for v in value]


@dataclass
class EmulatorConfig:
    """Everything a test or the CLI can tune about the emulator.

    Timing: ``batch_delay_s`` from creation to ``ended``; ``cancel_delay_s`` from a cancel to
    ``ended``; ``messages_latency_s`` for ``POST /v1/messages``; ``clock_offset_s`` moves the
    emulator's clock (to test expiry and the 29-day retention). Result shaping (shares of batch
    results, drawn with ``seed``): ``errored_rate``, ``expired_rate``, ``canceled_rate``, and among
    answers ``malformed_rate`` (text that is not JSON), ``refusal_rate`` (``stop_reason``
    ``refusal``), ``max_tokens_rate`` (cut off, ``stop_reason`` ``max_tokens``). Caching:
    ``cache_hit_rate`` is the chance that a request finding its prefix cached reads it, and
    ``cache_first_writes`` how many requests of a batch pay a write for a new prefix before the
    entry is visible (they run in parallel; the API makes an entry readable only once written).
    Faults: ``http_faults`` (a list of ``HttpFault`` rules, dicts of their fields or
    ``"ROUTE:STATUS[:COUNT[:RETRY_AFTER]]"`` strings, or a dict ``{route: status}``) and
    ``drop_results_stream_after`` (close the results stream after that many lines).
    Limits: ``max_batch_bytes`` (413 above it) and ``max_messages_bytes``.
    """

    batch_delay_s: float = 5.0
    cancel_delay_s: float = 0.0
    messages_latency_s: float = 0.02
    clock_offset_s: float = 0.0
    errored_rate: float = 0.0
    expired_rate: float = 0.0
    canceled_rate: float = 0.0
    malformed_rate: float = 0.0
    refusal_rate: float = 0.0
    max_tokens_rate: float = 0.0
    cache_hit_rate: float = 0.9
    cache_first_writes: int = 1
    http_faults: list[HttpFault] = field(default_factory=list)
    drop_results_stream_after: int | None = None
    seed: int = 0
    max_batch_bytes: int = BATCH_MAX_BYTES
    max_messages_bytes: int = MESSAGES_MAX_BYTES
    max_file_bytes: int = FILES_MAX_BYTES
    thinking_blocks: bool = True
    shuffle_results: bool = True

    def __post_init__(self) -> None:
        self.http_faults = _faults(self.http_faults)
        for name in ("errored_rate", "expired_rate", "canceled_rate", "malformed_rate", "refusal_rate",
                     "max_tokens_rate", "cache_hit_rate"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.errored_rate + self.expired_rate + self.canceled_rate > 1.0:
            raise ValueError("errored_rate + expired_rate + canceled_rate must not exceed 1")
        if self.malformed_rate + self.refusal_rate + self.max_tokens_rate > 1.0:
            raise ValueError("malformed_rate + refusal_rate + max_tokens_rate must not exceed 1")
        if self.cache_first_writes < 1:
            raise ValueError("cache_first_writes must be at least 1")
        if self.batch_delay_s < 0 or self.cancel_delay_s < 0 or self.messages_latency_s < 0:
            raise ValueError("delays must not be negative")

    def replace(self, **changes: Any) -> EmulatorConfig:
        """A validated copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def result_rates(self) -> dict[str, float]:
        """The shares (and the cache write window) a new batch snapshots when it is created."""
        return {name: float(getattr(self, name)) for name in (
            "errored_rate", "expired_rate", "canceled_rate", "malformed_rate", "refusal_rate",
            "max_tokens_rate", "cache_hit_rate", "cache_first_writes")}
