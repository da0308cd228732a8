"""Batch status: what the ledger last saw of each batch, refreshed from the API on request; cancel; history.

``BatchStatus`` is a batch as the Progress page and ``gaia status`` show it. ``batch_statuses``
reads the ledger only; ``refresh_status`` asks the API about every batch that has not ended
(reconciling interrupted submissions first); ``cancel_batch`` asks the API to cancel one.
A status the API could not give is an error *value* (``error`` with ``error_kind``) the pages
can test, never a string to search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.api.client import describe_error
from gaia.facts import BATCH_EXPIRY_HOURS, RESULTS_RETENTION_DAYS
from gaia.folder import Folder
from gaia.fsutil import disk_full
from gaia.ledger import BatchRow, BatchState, Ledger, RequestStatus, ResultsState, parse_time, to_iso
from gaia.runs.batch import LIST_PAGES, batch_dict, reconcile
from gaia.runs.manifest import manifests

RETENTION_WARNING_DAYS = 5
COUNTS_NOTE = ("The API reports request counts only once the whole batch has ended; until then every "
               "request shows as processing.")


REFRESH_FAILED = "Status could not be refreshed: "
LIST_PAGE_SIZE = 100  # batches per list call (the API's limit is 1,000; 100 is what reconcile reads too)


class StatusError(StrEnum):
    """Why a batch's status could not be refreshed (``BatchStatus.error_kind``)."""

    NOT_FOUND = "not_found"  # the endpoint does not know the batch (another key, the demo emulator vs the API)
    UNREACHABLE = "unreachable"  # any other failure: network, server, refusal


@dataclass(frozen=True)
class BatchStatus:
    """A batch as the Progress page and ``gaia status`` show it.

    ``state``: ``pending`` (intent written, creation being checked), ``submitted`` (exists at the
    API) or ``abandoned`` (never created). ``processing_status`` is the API's (``in_progress``,
    ``canceling``, ``ended``). ``counts`` are the API's request counts (see ``COUNTS_NOTE``);
    ``outcomes`` are GAIA's own per-status tallies of the batch's requests. Times are aware UTC.
    """

    local_id: int
    run_id: str
    batch_id: str | None
    state: str
    processing_status: str | None
    n_requests: int
    nbytes: int | None
    counts: dict[str, int]
    outcomes: dict[str, int]
    created_at: datetime | None
    ended_at: datetime | None
    expires_at: datetime | None
    cancel_initiated_at: datetime | None
    results_until: datetime | None
    results_state: str
    estimate_usd: float | None
    actual_usd: float | None
    error: str | None = None
    error_kind: StatusError | None = None
    retention_warning: str | None = None
    split_reason: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def running(self) -> bool:
        """Whether the API is still working on it (or its creation is still being checked)."""
        return self.state == BatchState.PENDING or (self.state == BatchState.SUBMITTED and not self._api_ended)

    @property
    def _api_ended(self) -> bool:
        return self.processing_status == "ended"

    @property
    def not_found(self) -> bool:
        """Whether the endpoint does not know this batch (another key, or the demo emulator vs the real API)."""
        return self.error_kind == StatusError.NOT_FOUND

    @property
    def ended(self) -> bool:
        """Whether the API has finished the batch (results can be downloaded)."""
        return self.state == BatchState.SUBMITTED and self._api_ended

    @property
    def needs_retrieval(self) -> bool:
        """Ended, results not all recorded yet, and still downloadable."""
        return self.ended and self.results_state != ResultsState.DONE and not self.results_expired

    @property
    def results_expired(self) -> bool:
        """Whether the 29-day download window has passed."""
        return self.results_until is not None and self.now >= self.results_until

    @property
    def elapsed_s(self) -> float | None:
        """Seconds from creation to the end (or to now while running)."""
        if self.created_at is None:
            return None
        return ((self.ended_at or self.now) - self.created_at).total_seconds()

    @property
    def expires_in_s(self) -> float | None:
        """Seconds until the API expires unfinished requests (``None`` once ended)."""
        if self.expires_at is None or self.ended_at is not None:
            return None
        return max(0.0, (self.expires_at - self.now).total_seconds())

    @property
    def expiry_fraction(self) -> float | None:
        """Share of the 24-hour processing window used so far (for a progress bar)."""
        if self.created_at is None:
            return None
        window = (self.expires_at - self.created_at).total_seconds() if self.expires_at else BATCH_EXPIRY_HOURS * 3600
        return min(1.0, max(0.0, (self.elapsed_s or 0.0) / window)) if window else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "local_id": self.local_id, "run_id": self.run_id, "batch_id": self.batch_id, "state": self.state,
            "processing_status": self.processing_status, "requests": self.n_requests, "bytes": self.nbytes,
            "counts": self.counts, "outcomes": self.outcomes, "created_at": iso(self.created_at),
            "ended_at": iso(self.ended_at), "expires_at": iso(self.expires_at),
            "cancel_initiated_at": iso(self.cancel_initiated_at), "results_until": iso(self.results_until),
            "results_state": self.results_state, "elapsed_s": self.elapsed_s, "expires_in_s": self.expires_in_s,
            "estimate_usd": self.estimate_usd, "actual_usd": self.actual_usd, "error": self.error,
            "error_kind": str(self.error_kind) if self.error_kind else None,
            "retention_warning": self.retention_warning, "running": self.running,
            "needs_retrieval": self.needs_retrieval,
        }


def _error_kind(error: str | None) -> StatusError | None:
    """The kind of a stored status error (written by ``refresh_status`` with the HTTP status first)."""
    if not error:
        return None
    return StatusError.NOT_FOUND if error.startswith(f"{REFRESH_FAILED}HTTP 404") else StatusError.UNREACHABLE


def _status_of_row(ledger: Ledger, row: BatchRow, now: datetime) -> BatchStatus:
    created = parse_time(row.created_at)
    until = created + timedelta(days=RESULTS_RETENTION_DAYS) if created else None
    outcomes = ledger.status_counts(row.batch_id) if row.batch_id else {}
    actual = None
    if row.batch_id:
        closed = ledger.requests(batch_id=row.batch_id, status=(RequestStatus.SUCCEEDED, RequestStatus.FAILED))
        costs = [r.cost_usd for r in closed if r.cost_usd is not None]
        actual = sum(costs) if costs else None
    warning = None
    if until is not None and row.state == BatchState.SUBMITTED and row.results_state != ResultsState.DONE:
        left = until - now
        if left.total_seconds() <= 0:
            warning = (f"The results of batch {row.batch_id} could be downloaded until "
                       f"{until:%Y-%m-%d %H:%M} UTC and are no longer available.")
        elif left <= timedelta(days=RETENTION_WARNING_DAYS):
            warning = (f"The results of batch {row.batch_id} can be downloaded only until {until:%Y-%m-%d %H:%M} "
                       f"UTC ({left.days} days, {left.seconds // 3600} hours left): retrieve them now.")
    return BatchStatus(
        local_id=row.local_id, run_id=row.run_id, batch_id=row.batch_id, state=row.state,
        processing_status=row.processing_status, n_requests=row.n_requests, nbytes=row.nbytes,
        counts=dict(row.counts), outcomes=outcomes, created_at=created, ended_at=parse_time(row.ended_at),
        expires_at=parse_time(row.expires_at), cancel_initiated_at=parse_time(row.cancel_initiated_at),
        results_until=until, results_state=row.results_state, estimate_usd=row.estimate_usd, actual_usd=actual,
        error=row.error, error_kind=_error_kind(row.error), retention_warning=warning,
        split_reason=row.split_reason, now=now,
    )


def batch_statuses(folder: Folder | Path | str, *, include_abandoned: bool = True) -> list[BatchStatus]:
    """Every batch of the folder as the ledger last saw it (no API call), oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    now = datetime.now(UTC)
    with Folder.of(folder).ledger() as ledger:
        rows = ledger.batches()
        return [_status_of_row(ledger, r, now) for r in rows if include_abandoned or r.state != BatchState.ABANDONED]


def refresh_status(folder: Path | str, client: Any, *, include_abandoned: bool = True) -> list[BatchStatus]:
    """Ask the API about every batch that has not ended, record a snapshot of each, return all batches.

    One call to the API's batch list (paged only when the unfinished batches go back further) answers
    for every unfinished batch it shows; a batch it does not show is asked about by id. Pending intents
    are reconciled first. A batch the API cannot be asked about right now keeps its
    last known status, with the reason in ``error``; one failure never hides the other batches.
    """
    folder = Folder.of(folder)
    if not folder.has_ledger and not manifests(folder):
        return []
    try:
        reconcile(folder, client)
    except Exception as exc:  # the list may be unreachable now: the next refresh tries again
        if disk_full(exc):
            raise
    with Folder.of(folder).ledger() as ledger:
        unfinished = [r for r in ledger.batches(states=[BatchState.SUBMITTED])
                      if r.processing_status != "ended" and r.batch_id]
        listed = _listed(client, unfinished) if unfinished else {}
        for row in unfinished:
            try:
                data = listed.get(row.batch_id) or batch_dict(client.messages.batches.retrieve(row.batch_id))
                ledger.update_batch_status(data)
            except Exception as exc:
                if disk_full(exc):  # the API's answer cannot be recorded: stop, never report a stale status
                    raise
                ledger.set_batch_error(row.local_id, f"{REFRESH_FAILED}{describe_error(exc)}")
    return batch_statuses(folder, include_abandoned=include_abandoned)


def _listed(client: Any, wanted: list[BatchRow]) -> dict[str, dict[str, Any]]:
    """The API's view of the ``wanted`` batches from its batch list: one call for up to ``LIST_PAGE_SIZE``
    batches, paging on (newest first) until every wanted batch was seen, the list has gone past the oldest
    of them, or ``LIST_PAGES`` pages were read. A batch the list did not show is not in the result (the
    caller asks for it by id); a list that fails gives what it read so far (possibly nothing)."""
    ids = {r.batch_id for r in wanted if r.batch_id}
    times = [parse_time(r.created_at) for r in wanted]
    oldest = min(times) if times and None not in times else None  # unknown creation time: no early stop
    found: dict[str, dict[str, Any]] = {}
    try:
        pages = client.messages.batches.list(limit=LIST_PAGE_SIZE)
        for n, page in enumerate(pages.iter_pages() if hasattr(pages, "iter_pages") else [pages], start=1):
            older = False
            for batch in getattr(page, "data", page):
                data = batch_dict(batch)
                if data.get("id") in ids:
                    found[data["id"]] = data
                created = parse_time(to_iso(data.get("created_at")))
                if oldest is not None and created is not None and created < oldest:
                    older = True
            if older or len(found) == len(ids) or n >= LIST_PAGES:  # before the next page is fetched
                break
    except Exception as exc:
        if disk_full(exc):
            raise
    return found


def cancel_batch(folder: Path | str, client: Any, batch_id: str) -> BatchStatus:
    """Ask the API to cancel a batch; returns its status (``canceling``, then ``ended`` later).

    Requests already being processed may still finish; a canceled batch's results are retrieved
    as usual (the canceled requests become failures that ``retry_failed`` can send again).
    Raises ``KeyError`` when the batch is not this folder's, the SDK's error when the API refuses.
    """
    folder = Path(folder).resolve()
    with Folder.of(folder).ledger() as ledger:
        row = ledger.batch(batch_id)
        if row is None:
            raise KeyError(f"batch {batch_id} is not one of this folder's batches")
        data = batch_dict(client.messages.batches.cancel(batch_id))
        ledger.update_batch_status(data)
        row = ledger.batch(batch_id)
        assert row is not None
        return _status_of_row(ledger, row, datetime.now(UTC))


def ledger_events(folder: Path | str, *, batch_id: str | None = None) -> list[dict[str, Any]]:
    """Events recorded for the folder (unknown custom_ids, interrupted downloads), oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [vars(e) for e in ledger.events(batch_id=batch_id)]
