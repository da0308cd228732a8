"""Retrieving batch results into sidecars, and watching batches until they end.

``retrieve`` streams each ended batch's results (never holding them all) and hands every answer
to the one recorder (``gaia.runs.recorder``): validated, its sidecar written (on a few threads,
file I/O releases the GIL) and only then its ledger row marked done. A re-run skips what is done;
a sidecar already holding this very request's answer is not written again. Unknown custom_ids,
invalid answers, refusals, cut-off answers, errored, expired and canceled requests, and requests
missing from the results are all recorded with a reason. A batch adopted after an interrupted
submission (not from the API's own answer to the create) is proven first: unless its results hold
exactly the intent's custom_ids (``gaia.runs.batch.proves``) nothing of it is written, it is
disowned, and its videos go out with the next submission. ``watch`` polls until no batch runs,
retrieving each as it ends. A full disk is never swallowed as one batch's problem (that made
``watch`` loop forever on a batch it could not record as ended): it stops the command.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia.api.client import describe_error, field
from gaia.exports.xmp import write_xmp_if_enabled
from gaia.facts import BATCH_EXPIRY_HOURS, RESULTS_RETENTION_DAYS
from gaia.folder import LOCK_RETRIEVE, Folder, FolderBusy
from gaia.fsutil import disk_full
from gaia.ledger import (
    BatchRow,
    BatchState,
    EventKind,
    Ledger,
    RequestRow,
    RequestStatus,
    ResultsState,
)
from gaia.runs.batch import batch_dict, proves
from gaia.runs.cascade import CascadeStep, continue_cascades
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoint, Checkpoints
from gaia.runs.recorder import Answer, ErrorKind, Recorder, Written, deliver_parked
from gaia.runs.renames import follow_renames
from gaia.runs.status import BatchStatus, refresh_status

Progress = Callable[[int, int], None]

# Retrieval reads a batch's ledger rows in one query up to this many requests (a few MB), else one by one.
PREFETCH_MAX_ROWS = 20_000
DEFAULT_POLL_S = 60.0
FIRST_POLL_S = 5.0  # watch polls soon after submitting, then backs off to the poll interval
_NOT_BILLED = " (not billed)"
_OPEN = (RequestStatus.SUBMITTED, RequestStatus.PENDING)


@dataclass(frozen=True)
class BatchRetrieval:
    """One batch's retrieval: counts, and whether every result is now recorded."""

    batch_id: str
    written: int = 0
    failed: int = 0
    already_done: int = 0
    unknown: int = 0
    missing: int = 0
    complete: bool = False
    error: str | None = None


@dataclass(frozen=True)
class RetrieveResult:
    """A retrieval of one or more batches."""

    batches: tuple[BatchRetrieval, ...] = ()
    problems: tuple[str, ...] = ()
    delivered: int = 0  # parked answers written now that their sidecars can be (``deliver_parked``)
    cascades: tuple[CascadeStep, ...] = ()  # batch cascades after this retrieval (``gaia.runs.cascade``)

    @property
    def second_pass_sent(self) -> int:
        """Requests cascades submitted after this retrieval (second passes, and first-pass videos sent again)."""
        return sum(c.sent + c.resent for c in self.cascades)

    @property
    def written(self) -> int:
        """Sidecars written."""
        return sum(b.written for b in self.batches)

    @property
    def failed(self) -> int:
        """Results recorded as failures."""
        return sum(b.failed + b.missing for b in self.batches)

    @property
    def unknown(self) -> int:
        """Results whose custom_id is none of the batch's requests."""
        return sum(b.unknown for b in self.batches)

    @property
    def complete(self) -> bool:
        """Every batch retrieved to the end, nothing blocked."""
        return not self.problems and all(b.complete for b in self.batches)

    def merged(self, other: RetrieveResult) -> RetrieveResult:
        """Both retrievals together."""
        latest = {c.first_run: c for c in (*self.cascades, *other.cascades)}
        both = (*self.cascades, *other.cascades)
        sent = {run: sum(c.sent for c in both if c.first_run == run) for run in latest}
        resent = {run: sum(c.resent for c in both if c.first_run == run) for run in latest}
        return RetrieveResult(self.batches + other.batches, self.problems + other.problems,
                              self.delivered + other.delivered,
                              tuple(replace(c, sent=sent[run], resent=resent[run]) for run, c in latest.items()))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"written": self.written, "failed": self.failed, "unknown": self.unknown, "complete": self.complete,
                "delivered": self.delivered, "problems": list(self.problems),
                "batches": [vars(b) for b in self.batches], "cascades": [c.to_dict() for c in self.cascades]}


class _Writer:
    """Writes sidecars on a few threads while results keep streaming.

    Each outcome is recorded in the ledger on the calling thread, and only after its sidecar write
    has finished, so the crash-safety order (sidecar first, then ledger) holds. At most ``window``
    answers wait at once (memory stays flat), and never two for the same sidecar.
    """

    def __init__(self, recorder: Recorder, counts: dict[str, int], *, workers: int = 4, window: int = 64) -> None:
        self.recorder, self.counts, self.window = recorder, counts, window
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gaia-sidecar")
        self.pending: deque[tuple[Future[tuple[Written, str | None]], Answer, str]] = deque()
        self.paths: set[str] = set()

    def _write(self, answer: Answer) -> tuple[Written, str | None]:
        try:
            return self.recorder.write(answer)
        except Exception as exc:  # an unexpected file-system error: a failure with its reason, not a crash
            if disk_full(exc):  # not this answer's problem: stop everything, lose nothing
                raise
            return Written.ERROR, f"The sidecar could not be written: {exc}"

    def add(self, answer: Answer) -> None:
        key = answer.row.rel_path
        if key in self.paths:
            self.drain()
        self.pending.append((self.pool.submit(self._write, answer), answer, key))
        self.paths.add(key)
        while len(self.pending) > self.window:
            self._finish_one()

    def _finish_one(self) -> None:
        future, answer, key = self.pending.popleft()
        written = future.result()
        self.paths.discard(key)
        outcome = self.recorder.finish(answer, written)
        if not outcome.succeeded:
            self.counts["failed"] += 1
        else:
            self.counts["already_done" if outcome.already_written else "written"] += 1

    def drain(self) -> None:
        """Record every write still waiting."""
        while self.pending:
            self._finish_one()

    def close(self) -> None:
        """Wait for running writes (their outcomes are recorded only by ``drain``)."""
        self.pool.shutdown(wait=True)


def _failure_of(result: Any) -> tuple[str, str]:
    """The ledger's (error_kind, reason) for a result that carries no answer."""
    rtype = field(result, "type")
    if rtype == "errored":
        inner = field(field(result, "error"), "error")
        etype = field(inner, "type") or "api_error"
        emsg = field(inner, "message") or ""
        return f"errored:{etype}", f"The API returned an error ({etype}: {emsg}){_NOT_BILLED}."
    if rtype == "expired":
        return ErrorKind.EXPIRED, (f"The batch reached its {BATCH_EXPIRY_HOURS}-hour limit before this request was "
                                   f"processed{_NOT_BILLED}.")
    if rtype == "canceled":
        return ErrorKind.CANCELED, f"The batch was canceled before this request was processed{_NOT_BILLED}."
    return ErrorKind.UNKNOWN_RESULT, f"The API returned a result of an unknown type {rtype!r}."


class _BatchRetrieval:
    """One batch's results streamed into the recorder (internal)."""

    def __init__(self, recorder: Recorder, row: BatchRow, checkpoints: Checkpoints) -> None:
        self.recorder, self.ledger, self.cp = recorder, recorder.ledger, checkpoints
        self.row, self.batch_id = row, row.batch_id or ""
        self.counts = {"written": 0, "failed": 0, "already_done": 0, "unknown": 0}
        self.writer = _Writer(recorder, self.counts)
        self.rows: dict[str, RequestRow] | None = (self.ledger.requests_by_custom_id(self.batch_id)
                                                   if row.n_requests <= PREFETCH_MAX_ROWS else None)

    def _row(self, cid: str) -> RequestRow | None:
        row = self.rows.pop(cid, None) if self.rows is not None else None
        return row if row is not None else self.ledger.request_in_batch(self.batch_id, cid)

    def record(self, item: Any) -> None:
        cid = field(item, "custom_id")
        row = self._row(cid)
        if row is None:
            self.ledger.record_event(EventKind.UNKNOWN_CUSTOM_ID,
                                     f"Batch {self.batch_id} returned a result for {cid}, which is none of its "
                                     "requests; it was not written anywhere.", batch_id=self.batch_id, custom_id=cid)
            self.counts["unknown"] += 1
            return
        if row.done:
            self.counts["already_done"] += 1
            return
        self.cp.reached(Checkpoint.RESULT_RECEIVED)
        result = field(item, "result")
        if field(result, "type") == "succeeded":
            answer = self.recorder.check(row, field(result, "message"))
            if answer.problem is None:
                self.writer.add(answer)
            else:
                self.recorder.finish(answer, None)
                self.counts["failed"] += 1
        else:
            kind, why = _failure_of(result)
            self.recorder.fail(row, kind, why)
            self.counts["failed"] += 1
        self.cp.reached(Checkpoint.RESULT_RECORDED)

    def result(self, *, complete: bool, error: str | None = None, missing: int = 0) -> BatchRetrieval:
        c = self.counts
        return BatchRetrieval(self.batch_id, written=c["written"], failed=c["failed"], already_done=c["already_done"],
                              unknown=c["unknown"], complete=complete, error=error, missing=missing)

    def disowned(self, client: Any) -> BatchRetrieval | None:
        """For a batch adopted after an interruption: ``None`` when it proves to be the intent's, else
        the retrieval of a disowned batch (nothing written; its videos are unsent again)."""
        if self.row.matched_by in (None, "response"):
            return None
        try:
            if proves(client, self.batch_id, self.row.fingerprint):
                return None
        except Exception as exc:
            if disk_full(exc):
                raise
            error = f"Could not check that batch {self.batch_id} is this folder's ({describe_error(exc)}); try again."
            self.ledger.set_batch_error(self.row.local_id, error)
            return self.result(complete=False, error=error)
        error = (f"Batch {self.batch_id}, adopted after an interrupted submission, holds other requests than the ones "
                 "this folder sent (another folder's or run's batch); none of its results were written. Its videos "
                 "were never sent: submit again to send them.")
        self.ledger.disown_batch(self.row.local_id, error)
        self.ledger.record_event(EventKind.DISOWNED_BATCH, error, batch_id=self.batch_id)
        return self.result(complete=True, error=error)

    def run(self, client: Any, tick: Callable[[], None]) -> BatchRetrieval:
        refused = self.disowned(client)
        if refused is not None:
            self.writer.close()
            return refused
        seen = 0
        stream = None
        try:
            stream = client.messages.batches.results(self.batch_id)
            for item in stream:
                self.record(item)
                seen += 1
                tick()
            self.writer.drain()
        except Exception as exc:
            if disk_full(exc):  # a full disk stops retrieval at once, with one message (nothing is lost)
                raise
            self.writer.drain()
            if seen == 0 and _results_gone(exc):  # the API says so: past retention
                raise _ResultsGone(_expire_results(self.ledger, self.row)) from exc
            error = (f"The results download stopped after {seen} results ({describe_error(exc)}); "
                     "run retrieve again to fetch the rest (nothing is written twice).")
            self.ledger.set_results_state(self.batch_id, ResultsState.PARTIAL)
            self.ledger.set_batch_error(self.row.local_id, error)
            self.ledger.record_event(EventKind.RESULTS_INTERRUPTED, error, batch_id=self.batch_id)
            return self.result(complete=False, error=error)
        finally:
            self.writer.close()
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        missing = 0
        for left in self.ledger.requests(batch_id=self.batch_id, status=_OPEN):
            self.recorder.fail(left, ErrorKind.MISSING, "The batch ended but the API returned no result for this "
                               "request.")
            missing += 1
        self.ledger.set_results_state(self.batch_id, ResultsState.DONE)
        self.ledger.set_batch_error(self.row.local_id, None)
        return self.result(complete=True, missing=missing)


def retrieve(
    folder: Folder | Path | str,
    client: Any,
    *,
    batch_ids: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> RetrieveResult:
    """Download the results of every ended batch not yet fully retrieved and write the sidecars.

    Streams each batch's results (``client.messages.batches.results``), one result in memory at a
    time. ``on_progress(done, total)`` counts results over the requests of the batches being
    retrieved. A batch not yet known to have ended is asked about first. Answers parked because
    their sidecars could not be written (a read-only folder, a moved video) are written first. Interrupted at any point
    and run again, every result ends up written exactly once. ``batch_ids`` limits it to some batches.
    Then a batch cascade whose first pass has all its answers gets its second pass submitted
    (``gaia.runs.cascade.continue_cascades``; ``cascades`` says where each stands).
    """
    folder = Folder.of(folder)
    if not folder.has_ledger:
        return RetrieveResult()
    try:
        with folder.lock(LOCK_RETRIEVE, what="retrieving results into"), folder.ledger() as ledger:
            problems: list[str] = []
            follow_renames(folder, ledger)
            delivered = len(deliver_parked(folder, ledger))
            todo = _ready_batches(ledger, client, batch_ids, problems)
            out = _retrieve_all(Recorder(folder, ledger, checkpoints=checkpoints), client, todo, on_progress,
                                problems)
            problems += _xmp_after_retrieval(folder, ledger, out)
    except FolderBusy as exc:
        return RetrieveResult(problems=(str(exc),))
    steps = continue_cascades(folder, client, checkpoints=checkpoints)
    problems += [c.blocked for c in steps if c.blocked]
    return RetrieveResult(tuple(out), tuple(problems), delivered, steps)


class _ResultsGone(Exception):
    """The API says a batch's results are no longer available (its message says what became of them)."""


def _results_gone(exc: BaseException) -> bool:
    import anthropic

    return isinstance(exc, anthropic.NotFoundError)


def _xmp_after_retrieval(folder: Folder, ledger: Ledger, out: Sequence[BatchRetrieval]) -> list[str]:
    """The Export tab's "also write them whenever results are retrieved": XMP sidecars for the videos whose
    answers were just written (``write_xmp_if_enabled`` does nothing when the setting is off); its problems."""
    rels = sorted({r.rel_path for b in out if b.written
                   for r in ledger.requests(batch_id=b.batch_id, status=RequestStatus.SUCCEEDED)})
    xmp = write_xmp_if_enabled(folder, rels) if rels else None
    return [f"XMP sidecar of {rel}: {why}" for rel, why in xmp.problems] if xmp is not None else []


def _expire_results(ledger: Ledger, row: BatchRow) -> str:
    why = (f"The results of batch {row.batch_id} were downloadable for {RESULTS_RETENTION_DAYS} days after it was "
           "created and are no longer available.")
    for left in ledger.requests(batch_id=row.batch_id, status=_OPEN):
        ledger.finish_request(left.id, RequestStatus.FAILED, error_kind=ErrorKind.RESULTS_EXPIRED, error=why)
    ledger.set_results_state(row.batch_id or "", ResultsState.DONE)
    return why + " Its unanswered videos are listed as failures and can be sent again."


def _ready_batches(ledger: Ledger, client: Any, batch_ids: Sequence[str] | None, problems: list[str]
                   ) -> list[BatchRow]:
    """The batches whose results can be retrieved now (asking the API about those not known to have ended)."""
    todo: list[BatchRow] = []
    for row in ledger.batches(states=[BatchState.SUBMITTED]):
        if row.results_state == ResultsState.DONE or not row.batch_id or (batch_ids and row.batch_id not in batch_ids):
            continue
        if row.processing_status != "ended":
            try:
                refreshed = ledger.update_batch_status(batch_dict(client.messages.batches.retrieve(row.batch_id)))
            except Exception as exc:
                if disk_full(exc):
                    raise
                problems.append(f"Batch {row.batch_id}: status unknown ({describe_error(exc)}).")
                continue
            if refreshed is None or refreshed.processing_status != "ended":
                continue
            row = refreshed
        if row.archived_at:  # the API says the results are gone (never the local clock)
            problems.append(_expire_results(ledger, row))
            continue
        todo.append(row)
    return todo


def _retrieve_all(recorder: Recorder, client: Any, todo: list[BatchRow], on_progress: Progress | None,
                  problems: list[str]) -> list[BatchRetrieval]:
    total = sum(r.n_requests for r in todo)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(min(done, total), total)

    out = []
    with recorder.ledger.grouped():
        for row in todo:
            before = done
            try:
                out.append(_BatchRetrieval(recorder, row, recorder.checkpoints).run(client, tick))
            except _ResultsGone as gone:
                problems.append(str(gone))
            done = before + row.n_requests
            if on_progress:
                on_progress(min(done, total), total)
    return out


def watch(
    folder: Folder | Path | str,
    client: Any,
    *,
    poll_s: float = DEFAULT_POLL_S,
    on_status: Callable[[list[BatchStatus]], None] | None = None,
    on_progress: Progress | None = None,
    retrieve_results: bool = True,
    max_polls: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> RetrieveResult:
    """Poll until no batch is running, retrieving each batch as it ends.

    The wait between polls starts at ``FIRST_POLL_S`` and doubles up to ``poll_s``, so a batch that
    ends in seconds is noticed in seconds and a long one costs few requests.

    ``on_status`` receives the list of ``BatchStatus`` after each poll; ``on_progress`` the
    retrieval progress. Stops after ``max_polls`` polls when given. Safe to interrupt and restart.
    """
    folder = Folder.of(folder)
    result = RetrieveResult()
    polls = 0
    while True:
        statuses = refresh_status(folder, client)
        polls += 1
        if on_status:
            on_status(statuses)
        ready = [s.batch_id for s in statuses if s.needs_retrieval and s.batch_id]
        second_pass = False
        if retrieve_results and ready:
            got = retrieve(folder, client, on_progress=on_progress, batch_ids=ready, checkpoints=checkpoints)
            second_pass = got.second_pass_sent > 0  # a cascade's second pass is a new batch to wait for
            result = result.merged(got)
        elif retrieve_results and not any(s.running for s in statuses):  # a cascade left between its passes
            steps = continue_cascades(folder, client, on_progress=on_progress, checkpoints=checkpoints)
            second_pass = any(c.sent or c.resent for c in steps)
            result = result.merged(RetrieveResult(cascades=steps,
                                                  problems=tuple(c.blocked for c in steps if c.blocked)))
        if not any(s.running for s in statuses) and not second_pass:
            return result
        if max_polls is not None and polls >= max_polls:
            return result
        sleep(min(poll_s, FIRST_POLL_S * 2 ** (polls - 1)))
