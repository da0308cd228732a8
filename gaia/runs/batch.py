"""The batch transport: send a plan as Message Batches; settle what an interrupted submission left.

Every step is written so that killing the process at any point loses nothing and pays for nothing
twice. ``submit`` builds each batch's body into the spool one request at a time, writes the intent
(a pending batch with its custom_ids) to the ledger, then creates the batch. After a crash,
``reconcile`` matches pending intents to the API's ``batches.list()`` (request count and creation
time, never an id already known) and adopts the batch, or records that it was never created so its
videos are sent next time. A match is only a candidate until it is proven: every ``custom_id``
carries the folder's token and the run id, and a batch is the intent's own only when its results
hold exactly the intent's ids (``ids_fingerprint``). An ended candidate is proven before it is
adopted; a running one is adopted provisionally and proven by retrieval before any of its results is
written (``proves``); one that fails is disowned and its videos go out again. Creation is not
blindly retried: after an ambiguous failure the list is checked first. Sending holds the folder's
one send lock (``LOCK_SEND``), the same lock run now holds, so no video is ever sent by both.
Status, cancel and history live in ``gaia.runs.status``; retrieval and watching in
``gaia.runs.retrieve``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.api.client import as_dict, describe_error, field
from gaia.api.requests import build_request_for, dumps
from gaia.api.retry import DEFAULT_RETRY, ErrorClass, classify
from gaia.folder import LOCK_SEND, Folder, FolderBusy
from gaia.ledger import BatchRow, BatchState, Ledger, ids_fingerprint, parse_time, to_iso
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoint, Checkpoints
from gaia.runs.escalation import PASS_KEY, CascadePass, keep_strong_settings
from gaia.runs.guard import cap_problem, folder_problem, send_model_problem, send_problem
from gaia.runs.manifest import manifests, write_manifest
from gaia.runs.manifest import restore as restore_manifests
from gaia.runs.plan import ImageSource, PlannedBatch, PlannedRequest, SubmissionPlan, plan_intents
from gaia.runs.spool import Spool
from gaia.runs.upload import upload_frames
from gaia.settings import SentSettings

Progress = Callable[[int, int], None]

# Reconciliation pages back through the API's batch list at most this far (100 batches a page).
LIST_PAGES = 100
CREATE_ATTEMPTS = 4
NOTHING_TO_SEND = "Nothing to send: every video is analysed, excluded, in flight or has a problem."
SEND_WHAT = "sending from"


class SubmitState(StrEnum):
    """What became of one batch a submission tried to create."""

    SUBMITTED = "submitted"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class SubmittedBatch:
    """One batch a submission created (or tried to): its ids, size and state."""

    local_id: int
    batch_id: str | None
    n_requests: int
    nbytes: int
    state: SubmitState
    error: str | None = None
    fatal: bool = False  # refused for a reason every other request would share (401/402/403): stop the run


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: the run, its batches, what was blocked or failed, the dry-run file."""

    run_ids: tuple[str, ...] = ()
    batches: tuple[SubmittedBatch, ...] = ()
    blocked: str | None = None
    problems: tuple[str, ...] = ()
    dry_run_path: Path | None = None
    dry_run_requests: int = 0
    estimate_usd: float | None = None
    reconciled: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()  # rel paths left out at send time (now in flight, unreadable frames)

    @property
    def run_id(self) -> str | None:
        """The (first) run created."""
        return self.run_ids[0] if self.run_ids else None

    @property
    def sent(self) -> int:
        """Requests in batches the API created."""
        return sum(b.n_requests for b in self.batches if b.state == SubmitState.SUBMITTED)

    @property
    def ok(self) -> bool:
        """Nothing blocked and every batch was created."""
        return self.blocked is None and all(b.state == SubmitState.SUBMITTED for b in self.batches)

    def merged(self, other: SubmitResult) -> SubmitResult:
        """Both submissions together (``blocked`` only when neither sent anything)."""
        usd = None if self.estimate_usd is None and other.estimate_usd is None else \
            (self.estimate_usd or 0.0) + (other.estimate_usd or 0.0)
        return SubmitResult(
            run_ids=self.run_ids + other.run_ids, batches=self.batches + other.batches,
            blocked=other.blocked if other.blocked and not self.run_ids and not other.run_ids else self.blocked,
            problems=self.problems + other.problems, dry_run_path=other.dry_run_path or self.dry_run_path,
            dry_run_requests=self.dry_run_requests + other.dry_run_requests, estimate_usd=usd,
            reconciled=self.reconciled + other.reconciled, dropped=self.dropped + other.dropped)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "run_ids": list(self.run_ids), "sent": self.sent, "blocked": self.blocked, "problems": list(self.problems),
            "batches": [{**vars(b), "state": str(b.state)} for b in self.batches], "estimate_usd": self.estimate_usd,
            "dry_run_path": str(self.dry_run_path) if self.dry_run_path else None,
            "dry_run_requests": self.dry_run_requests, "reconciled": list(self.reconciled),
            "dropped": list(self.dropped),
        }


@dataclass(frozen=True)
class ReconcileOutcome:
    """What became of a batch intent left pending: adopted (``batch_id`` set) or never created."""

    local_id: int
    batch_id: str | None
    n_requests: int
    note: str


def request_lines(plan: SubmissionPlan, items: Sequence[PlannedRequest], failed: list[tuple[str, str]],
                  kept: list[PlannedRequest], tick: Callable[[], None],
                  file_ids: dict[str, str] | None = None, scope: str = "") -> Iterator[bytes]:
    """Serialized ``{"custom_id", "params"}`` lines for ``items``, one at a time; unreadable frames go to ``failed``.

    ``scope`` (``Ledger.request_scope``) makes each ``custom_id`` the folder's and the run's own;
    ``kept`` receives the requests as sent (their ``custom_id`` and size).
    """
    for p in items:
        try:
            req = build_request_for(p.rel_path, p.frames, plan.profile, model=plan.model,
                                    cache_ttl=plan.settings.cache_ttl, max_tokens=plan.max_tokens, attempt=p.attempt,
                                    file_ids=file_ids, scope=scope)
        except OSError as exc:
            failed.append((p.rel_path, f"a frame could not be read ({exc.strerror or exc}); extract keyframes "
                                       "again"))
            tick()
            continue
        line = dumps(req)
        kept.append(replace(p, nbytes=len(line), custom_id=req["custom_id"]))
        tick()
        yield line


class _Ticker:
    """Counts requests built for ``on_progress(done, total)``."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.done, self.total, self.on_progress = 0, total, on_progress

    def __call__(self) -> None:
        self.done += 1
        if self.on_progress:
            self.on_progress(self.done, self.total)


def write_dry_run(plan: SubmissionPlan, path: Path, *, on_progress: Progress | None = None) -> int:
    """Write every request of ``plan`` as JSONL (one ``{"custom_id", "params"}`` per line) to ``path``.

    Streams: one request in memory at a time. Returns the number of requests written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    failed: list[tuple[str, str]] = []
    kept: list[PlannedRequest] = []
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        for line in request_lines(plan, plan.requests, failed, kept, _Ticker(len(plan.requests), on_progress)):
            fh.write(line)
            fh.write(b"\n")
            kept.clear()
    os.replace(tmp, path)
    return len(plan.requests) - len(failed)


def _create_batch(client: Any, body: Path) -> Any:
    """POST the spooled body to the Message Batches API, streamed from disk (no SDK retries)."""
    from anthropic.types.messages import MessageBatch

    from gaia.api.bodies import SpoolBody

    return client.with_options(max_retries=0).post(
        "/v1/messages/batches", cast_to=MessageBatch, content=SpoolBody(body),
        options={"headers": {"Content-Type": "application/json"}},
    )


def batch_dict(batch: Any) -> dict[str, Any]:
    """A batch (SDK object or dict) as a plain dict."""
    return as_dict(batch) or {}


def submit(
    folder: Folder | Path | str,
    plan: SubmissionPlan,
    client: Any,
    *,
    dry_run_to: Path | None = None,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
    cascade_pass: dict[str, Any] | None = None,
    note: str | None = None,
) -> SubmitResult:
    """Send ``plan`` as one or more batches (or, with ``dry_run_to``, write its JSONL and send nothing).

    Blocked, with the reason in ``blocked``, when the plan has blocking problems, nothing to send,
    an estimate above ``max_cost_usd`` (or no usable estimate to check the cap against), or a model the API's
    Models endpoint says this key cannot use in batches (``gaia.runs.guard.model_problem``): nothing is written. For
    each batch the body is spooled, the intent is written to the ledger, and only then is the batch
    created; a rate-limited or overloaded API is retried with backoff, an ambiguous failure is
    checked against the API's batch list before anything is sent again. ``on_progress(done,
    total)`` counts requests built; ``checkpoints`` is told of each crash-relevant moment.
    ``cascade_pass`` (``gaia.runs.escalation.CascadePass.to_dict``) marks the run as a batch cascade's pass
    (a plan for a cascade's first pass carries its own, with ``max_cost_usd`` as the cap for both passes);
    ``note`` is the run's note in the ledger.
    """
    folder = Folder.of(folder)
    why = send_problem(plan.problems, len(plan.requests), nothing=NOTHING_TO_SEND)
    if why is not None:
        return SubmitResult(blocked=why, estimate_usd=plan.estimate_usd if plan.blocking_problems else None)
    if dry_run_to is not None:  # sends nothing, so no cap applies
        n = write_dry_run(plan, Path(dry_run_to), on_progress=on_progress)
        return SubmitResult(dry_run_path=Path(dry_run_to), dry_run_requests=n, estimate_usd=plan.estimate_usd)
    over = (folder_problem(folder) or cap_problem(plan.estimate_usd, max_cost_usd)
            or send_model_problem(client, plan.model, plan.cascade_pass, batches=True))
    if over is not None:
        return SubmitResult(blocked=over, estimate_usd=plan.estimate_usd)
    try:
        with folder.lock(LOCK_SEND, what=SEND_WHAT):
            if cascade_pass is None and plan.cascade_pass is not None and plan.cascade_pass.get("first_run"):
                cascade_pass = plan.cascade_pass  # a retry of a cascade's pass: its cascade's record, as it was
            elif cascade_pass is None and plan.cascade_pass is not None:  # a cascade's first pass, capped as sent
                cascade_pass = {**plan.cascade_pass, "max_cost_usd": max_cost_usd}
                note = note or "cascade pass 1"
                step = CascadePass.of({PASS_KEY: cascade_pass})
                if step is not None:
                    keep_strong_settings(folder, step.strong)
            return _Submission(folder, plan, client, on_progress, sleep, checkpoints, cascade_pass, note).run()
    except FolderBusy as exc:
        return SubmitResult(blocked=str(exc))


class _Submission:
    """One submission under the send lock (internal)."""

    def __init__(self, folder: Folder, plan: SubmissionPlan, client: Any, on_progress: Progress | None,
                 sleep: Callable[[float], None], checkpoints: Checkpoints,
                 cascade_pass: dict[str, Any] | None = None, note: str | None = None) -> None:
        self.folder, self.plan, self.client, self.sleep, self.cp = folder, plan, client, sleep, checkpoints
        self.cascade_pass, self.note = cascade_pass, note
        self.tick = _Ticker(len(plan.requests), on_progress)
        self.problems: list[str] = []
        self.dropped: list[str] = []
        self.results: list[SubmittedBatch] = []
        self.fatal: str | None = None
        self.file_ids: dict[str, str] | None = None
        self.spool = Spool(folder)
        self.scope = ""

    def run(self) -> SubmitResult:
        plan = self.plan
        try:
            reconciled = [r.batch_id for r in reconcile_held(self.folder, self.client) if r.batch_id]
        except Exception as exc:
            return SubmitResult(blocked=f"An earlier submission was interrupted and could not be checked with the "
                                        f"API ({describe_error(exc)}); nothing was sent. Try again when the API "
                                        "answers.")
        with self.folder.ledger() as ledger:
            in_flight = set(ledger.in_flight()) | plan.sent_since_planned(ledger)
            if plan.image_source == ImageSource.FILE:
                try:
                    self.file_ids = upload_frames(self.folder, self.client,
                                                  (f for r in plan.requests for f in r.frames), ledger=ledger)
                except Exception as exc:
                    return SubmitResult(blocked=f"The frames could not be uploaded: {describe_error(exc)}",
                                        estimate_usd=plan.estimate_usd, reconciled=tuple(reconciled))
            try:
                self.folder.save_profile(plan.profile)
            except (OSError, ValueError) as exc:
                self.problems.append(f"The prompt profile could not be saved for retries: {exc}")
            settings = SentSettings(plan.settings, plan.max_tokens, plan.profile.name, str(plan.image_source),
                                    estimate=plan.estimate.record() if plan.estimate is not None else None,
                                    cascade_pass=self.cascade_pass).to_dict()
            run_id = ledger.new_run(mode="batch", model=plan.model, prompt_hash=plan.profile.hash, settings=settings,
                                    retry_of=plan.retry_of_run, estimate_usd=plan.estimate_usd, note=self.note)
            self.scope = ledger.request_scope(run_id)
            for pb in plan.batches:
                self._one_batch(ledger, run_id, pb, in_flight)
        return SubmitResult(run_ids=(run_id,), batches=tuple(self.results), problems=tuple(self.problems),
                            estimate_usd=plan.estimate_usd, reconciled=tuple(reconciled), dropped=tuple(self.dropped))

    def _fresh(self, pb: PlannedBatch, in_flight: set[str]) -> list[PlannedRequest]:
        fresh = []
        for p in self.plan.requests[pb.start:pb.stop]:
            if self.fatal is not None or p.rel_path in in_flight:
                if self.fatal is None:
                    self.dropped.append(p.rel_path)
                self.tick()
            else:
                fresh.append(p)
        return fresh

    def _one_batch(self, ledger: Ledger, run_id: str, pb: PlannedBatch, in_flight: set[str]) -> None:
        fresh = self._fresh(pb, in_flight)
        if not fresh:
            return
        plan = self.plan
        spool = self.spool.body_path(run_id, pb.index)
        failed: list[tuple[str, str]] = []
        kept: list[PlannedRequest] = []
        count, nbytes = Spool.write_body(spool, request_lines(plan, fresh, failed, kept, self.tick, self.file_ids,
                                                                 self.scope))
        self.cp.reached(Checkpoint.SPOOL_WRITTEN)
        for rel, why in failed:
            self.dropped.append(rel)
            self.problems.append(f"{rel}: {why}")
        if not count or nbytes > plan.max_batch_bytes:
            spool.unlink(missing_ok=True)
            if count:
                self.problems.append(f"Batch {pb.index + 1} came out at {nbytes / 1e6:.1f} MB, above the limit "
                                     "(frames changed since the plan?); plan again.")
            return
        per_request = plan.estimate_usd / len(plan.requests) if plan.estimate_usd is not None else None
        intents = plan_intents(plan, kept, estimate_usd=per_request)
        local_id = ledger.add_batch_intent(
            run_id, intents, nbytes=nbytes, split_reason=str(pb.reason), spool_path=str(spool),
            estimate_usd=per_request * len(intents) if per_request is not None else None)
        fingerprint = (ledger.batch_by_local_id(local_id) or _NO_ROW).fingerprint
        manifest = write_manifest(self.folder, ledger.run(run_id), local_id, fingerprint, intents)
        self.cp.reached(Checkpoint.INTENT_WRITTEN)
        try:
            outcome = _create_with_care(ledger, self.client, local_id, spool, sleep=self.sleep, checkpoints=self.cp)
        except Exception as exc:  # unexpected: whether the batch exists is unknown, so keep the intent
            self.problems.append(f"Batch {pb.index + 1}: {describe_error(exc)}. Whether it was created is checked "
                                 "with the API the next time (nothing will be sent twice).")
            self.fatal = str(exc)
            return
        self.cp.reached(Checkpoint.BATCH_RECORDED)
        self.results.append(outcome)
        if outcome.state == SubmitState.SUBMITTED:
            with contextlib.suppress(OSError):
                write_manifest(self.folder, ledger.run(run_id), local_id, fingerprint, intents,
                               batch_id=outcome.batch_id, path=manifest)
            spool.unlink(missing_ok=True)
            ledger.set_spool_path(local_id, None)
            in_flight.update(p.rel_path for p in kept)
        else:
            self.problems.append(f"Batch {pb.index + 1} was not created: {outcome.error}")
            if outcome.fatal:
                self.fatal = outcome.error


class _NoRow:
    fingerprint = None


_NO_ROW = _NoRow()


def _abandon(ledger: Ledger, row: BatchRow, error: str, *, fatal: bool = False) -> SubmittedBatch:
    ledger.mark_batch_abandoned(row.local_id, error)
    return SubmittedBatch(row.local_id, None, row.n_requests, row.nbytes or 0, SubmitState.ABANDONED, error, fatal)


def _create_with_care(ledger: Ledger, client: Any, local_id: int, spool: Path, *, sleep: Callable[[float], None],
                      checkpoints: Checkpoints) -> SubmittedBatch:
    """Create one batch whose intent is written; retry only when it surely was not created."""
    import anthropic

    row = ledger.batch_by_local_id(local_id)
    assert row is not None
    error = "unknown error"
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            batch = _create_batch(client, spool)
        except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
            error = describe_error(exc)
            verdict = classify(exc)
            if verdict in (ErrorClass.FATAL, ErrorClass.REJECTED):
                return _abandon(ledger, row, error, fatal=verdict is ErrorClass.FATAL)
            if verdict is ErrorClass.TEMPORARY:  # may or may not have been created: look first
                found = _adopt_from_list(ledger, client, local_id)
                if found:
                    return found
            elif verdict is ErrorClass.CONNECTION:  # timeouts included: the POST may have landed
                with contextlib.suppress(Exception):
                    found = _adopt_from_list(ledger, client, local_id)
                    if found:
                        return found
            sleep(DEFAULT_RETRY.wait_s(exc, attempt) if verdict is not ErrorClass.CONNECTION
                  else DEFAULT_RETRY.backoff_s(attempt))
            continue
        data = batch_dict(batch)
        checkpoints.reached(Checkpoint.BATCH_CREATED)
        ledger.mark_batch_submitted(local_id, data)
        return SubmittedBatch(local_id, data["id"], row.n_requests, row.nbytes or 0, SubmitState.SUBMITTED)
    # Out of attempts. One last look, so a batch created by an attempt whose answer was lost is kept.
    with contextlib.suppress(Exception):
        found = _adopt_from_list(ledger, client, local_id)
        if found:
            return found
    return _abandon(ledger, row, f"{error} (gave up after {CREATE_ATTEMPTS} attempts)")


# --- reconciling after a crash ---------------------------------------------------------------------

def _total(counts: Any) -> int:
    return sum(int(field(counts, k, 0)) for k in ("processing", "succeeded", "errored", "canceled", "expired"))


def _candidates(ledger: Ledger, client: Any, since: datetime | None) -> list[dict[str, Any]]:
    """Every batch the API lists that the ledger does not know, newest first, paging back to ``since``
    (an API time: the creation of a batch this folder made before the intent) or to the end of the
    list (at most ``LIST_PAGES`` pages). The local clock plays no part."""
    known = ledger.known_batch_ids()
    out = []
    pages = client.messages.batches.list(limit=100)
    for n, page in enumerate(pages.iter_pages() if hasattr(pages, "iter_pages") else [pages]):
        if n >= LIST_PAGES:
            break
        older = False
        for batch in getattr(page, "data", page):
            data = batch_dict(batch)
            created = parse_time(to_iso(data.get("created_at")))
            if since is not None and created is not None and created < since:
                older = True
                break  # newest first: everything after is older still
            if data["id"] not in known:
                out.append(data)
        if older:
            break
    return out


def _since(ledger: Ledger, intents: Sequence[BatchRow]) -> datetime | None:
    """The API's creation time of the last batch this folder made before the first intent (every later
    batch of the folder is newer: one send lock), ``None`` when there is none."""
    first = min(i.local_id for i in intents)
    times = [parse_time(b.created_at) for b in ledger.batches() if b.local_id < first and b.created_at and b.batch_id
             and b.matched_by != "disowned"]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def proves(client: Any, batch_id: str, fingerprint: str | None) -> bool:
    """Whether an ended batch's results hold exactly the custom_ids whose ``ids_fingerprint`` is given.

    Streams the results once, keeping only their ids (a few bytes each). Without a fingerprint
    (never the case for an intent GAIA wrote) nothing is proven.
    """
    if not fingerprint:
        return False
    stream = client.messages.batches.results(batch_id)
    try:
        return ids_fingerprint(field(item, "custom_id") for item in stream) == fingerprint
    finally:
        with contextlib.suppress(Exception):
            stream.close()


@dataclass(frozen=True)
class _Verdict:
    """What the API says of a pending intent: its batch (proven, or the only possible one, provisionally),
    or ``waiting`` while several running batches could be it."""

    batch: dict[str, Any] | None
    waiting: int = 0


def _match(intent: BatchRow, candidates: list[dict[str, Any]], client: Any) -> _Verdict:
    """The intent's batch among ``candidates``: proven by its custom_ids, never by size or time alone.

    Only batches with the intent's request count can be it. An ended one is proven by its results'
    custom_ids (scoped to the folder and the run) and adopted. A running one cannot be proven yet: when
    it is the only one left it is adopted provisionally (retrieval proves it before writing anything,
    and disowns it otherwise); when several are running the intent waits (its videos stay in flight,
    nothing is sent) until they end.
    """
    running = []
    for c in candidates:
        if _total(c.get("request_counts") or {}) != intent.n_requests:
            continue
        if c.get("processing_status") == "ended":
            if proves(client, c["id"], intent.fingerprint):
                return _Verdict(c)
        else:
            running.append(c)
    if len(running) == 1:
        return _Verdict(running[0])
    return _Verdict(None, waiting=len(running))


def _adopt_from_list(ledger: Ledger, client: Any, local_id: int) -> SubmittedBatch | None:
    row = ledger.batch_by_local_id(local_id)
    if row is None or row.state != BatchState.PENDING:
        return None
    verdict = _match(row, _candidates(ledger, client, _since(ledger, [row])), client)
    match = verdict.batch
    if match is None:
        return None
    ledger.mark_batch_submitted(local_id, match, matched_by="list")
    if row.spool_path:
        Path(row.spool_path).unlink(missing_ok=True)
        ledger.set_spool_path(local_id, None)
    return SubmittedBatch(local_id, match["id"], row.n_requests, row.nbytes or 0, SubmitState.SUBMITTED)


def reconcile(folder: Folder | Path | str, client: Any) -> list[ReconcileOutcome]:
    """Settle batch intents an interrupted submission left pending, against the API's batch list.

    A pending intent is matched to a batch the ledger does not know yet, with the same number of
    requests, created no earlier than the intent (less clock skew): that batch is adopted, so it
    is watched and retrieved and its videos are not sent again. An intent with no such batch was
    never created: its requests become ``unsent`` and go out with the next submission. Leftover
    spool files are removed. Raises the SDK's error when the list cannot be read (nothing is
    changed then). While another process is sending from the folder its intents are live, so
    nothing is reconciled (an empty list is returned).
    """
    folder = Folder.of(folder)
    if not folder.has_ledger and not manifests(folder):
        return []
    try:
        with folder.lock(LOCK_SEND, what=SEND_WHAT):
            return reconcile_held(folder, client)
    except FolderBusy:
        return []


def reconcile_held(folder: Folder, client: Any) -> list[ReconcileOutcome]:
    """``reconcile`` for a caller that already holds the send lock (never take it twice).

    First, batches the ledger lost (emptied, deleted or set aside as damaged) are restored from their
    manifests (``gaia.runs.manifest``), so they are found at the API instead of sent again.
    """
    out: list[ReconcileOutcome] = []
    with folder.ledger() as ledger:
        restore_manifests(folder, ledger)
        pending = ledger.batches(states=[BatchState.PENDING])
        if pending:
            candidates = _candidates(ledger, client, _since(ledger, pending))
            for intent in pending:
                out.append(_settle_intent(ledger, intent, candidates, client))
        Spool(folder).clean_bodies({b.spool_path for b in ledger.batches(states=[BatchState.PENDING])
                                    if b.spool_path})
    return out


def _settle_intent(ledger: Ledger, intent: BatchRow, candidates: list[dict[str, Any]], client: Any
                   ) -> ReconcileOutcome:
    verdict = _match(intent, candidates, client)
    match = verdict.batch
    if match is None and verdict.waiting:
        note = (f"{verdict.waiting} running batches of the same size could be the one an interrupted submission "
                "created; GAIA waits until they end to prove which is this folder's (its videos are not sent "
                "meanwhile).")
        ledger.set_batch_error(intent.local_id, note)
        return ReconcileOutcome(intent.local_id, None, intent.n_requests, note)
    if match is not None:
        candidates.remove(match)
        ledger.mark_batch_submitted(intent.local_id, match, matched_by="reconcile")
        outcome = ReconcileOutcome(intent.local_id, match["id"], intent.n_requests,
                                   "Found the batch an interrupted submission created; it is kept.")
    else:
        note = ("The batch was never created (GAIA stopped before the API confirmed it); its videos go out with "
                "the next submission.")
        ledger.mark_batch_abandoned(intent.local_id, note)
        outcome = ReconcileOutcome(intent.local_id, None, intent.n_requests, note)
    if intent.spool_path:
        Path(intent.spool_path).unlink(missing_ok=True)
        ledger.set_spool_path(intent.local_id, None)
    return outcome
