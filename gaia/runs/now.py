"""Run now: the same requests as a batch, sent through the standard Messages API, answers in seconds.

A batch is half price but may take hours; for a few urgent videos, or a trial of a new prompt on
three clips before batching three hundred, ``run_now`` sends a ``SubmissionPlan`` (the very
requests ``gaia.runs.batch.plan_submission`` builds: same prompt, schema, cached prefix and frames)
through ``client.messages.create`` on a small pool of threads. Answers go through
``gaia.runs.batch.record_message``, so they are validated, written by the one sidecar function with
the same keys as a batch result, recorded in the same ledger with ``mode = standard`` and priced
at standard rates (cache writes and reads included).

Rate limits and faults are GAIA's to handle, not the SDK's (the client is used with
``max_retries=0``): ``retry-after-ms`` / ``retry-after`` are honoured; 429 and 529 pause every
worker and halve the number of requests in flight (AIMD: ``AdaptiveConcurrency``), which grows
back by one per window of successful calls up to the user's setting; other temporary failures
back off exponentially with jitter. A request that keeps failing is recorded with its reason and
can be sent again now (``retry_now``, or simply running again) or moved into a batch
(``gaia.runs.batch.retry_failed``).

Crash safety: each request's ledger row is written just before it is sent, and each answer is
spooled to ``.gaia/online/`` before its sidecar is written. A run that starts finds rows a
crashed or interrupted run left open (``recover_interrupted``): an answer that was spooled is
recorded without asking again, a sidecar that already holds the row's answer only closes the row,
and a request that had no answer yet is recorded as interrupted and sent again, linked to it. So
restarting sends only what has no answer; the one unavoidable repeat is an answer lost in the
instant between its arrival and its spool write. A folder lock keeps two runs from overlapping.

The prompt trial (``run_trial``) sends a small, spread-out sample now, preferring videos without
an analysis, and returns the answers beside their keyframes; its usage is in the ledger, so the
next estimate's history (output tokens, cache behaviour) includes it. ``run_choice`` states what
a plan costs now versus as a batch and the expected wait for each.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gaia.api.client import describe_error
from gaia.api.requests import AnswerChecker, build_request_for, custom_id_for
from gaia.api.retry import DEFAULT_RETRY, ErrorClass, classify, error_kind
from gaia.facts import BATCH_EXPIRY_HOURS
from gaia.folder import Folder, FolderBusy
from gaia.fsutil import atomic_write_json, read_json
from gaia.ledger import Ledger, RequestRow, parse_time
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.prompts import ProfileNotFound, PromptProfile
from gaia.runs.batch import (
    PlannedRequest,
    RequestOutcome,
    SubmissionPlan,
    _checkpoint,
    plan_intents,
    plan_retry,
    plan_submission,
    record_message,
    upload_frames,
)
from gaia.settings import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, RunSettings, run_fingerprint
from gaia.sidecar import SidecarError, read_sidecar, sidecar_state

Progress = Callable[[int, int], None]

ONLINE_DIR = "online"  # answers spooled between their arrival and their sidecar write
LOCK_RUN_NOW = "run-now.lock"
DEFAULT_TRIAL_VIDEOS = 3
MAX_TRIAL_VIDEOS = 20
# Seconds one answer takes when the folder has no history of its own (5.x models think first and
# write about 2,000 output tokens); replaced by the median of past standard-mode requests.
ASSUMED_ANSWER_S = 30.0
BATCH_WAIT_DEFAULT = f"usually under an hour, at most {BATCH_EXPIRY_HOURS} h"

INTERRUPTED_KIND = "interrupted"
INTERRUPTED_REASON = ("GAIA stopped (interrupted or crashed) before this answer arrived, so it was not recorded; "
                      "running again sends it again.")


# ---------------------------------------------------------------------------------------------------
# Adaptive concurrency (AIMD)
# ---------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnlineResult:
    """What a run now did: the answers, the failures with reasons, what was not sent and why,
    what it cost, and how the API's pushback shaped it."""

    run_id: str | None = None
    outcomes: tuple[RequestOutcome, ...] = ()
    not_sent: tuple[str, ...] = ()  # rel paths never sent (stopped, spend cap, a fatal error)
    blocked: str | None = None  # why nothing was sent at all
    stopped: str | None = None  # why the run ended before sending everything
    problems: tuple[str, ...] = ()
    recovered: tuple[RequestOutcome, ...] = ()  # rows an earlier interrupted run left open, now closed
    estimate_usd: float | None = None  # at standard prices, before sending
    spent_usd: float = 0.0
    elapsed_s: float = 0.0
    calls: int = 0  # HTTP calls made, retries included
    throttled: int = 0  # 429/529 answers
    retries: int = 0
    concurrency: tuple[ConcurrencyChange, ...] = ()
    max_concurrency: int = 0
    lowest_concurrency: int = 0
    peak_in_flight: int = 0

    @property
    def succeeded(self) -> int:
        """Answers written to sidecars."""
        return sum(1 for o in self.outcomes if o.status == "succeeded")

    @property
    def failed(self) -> int:
        """Requests recorded as failed."""
        return sum(1 for o in self.outcomes if o.status != "succeeded")

    @property
    def failures(self) -> tuple[RequestOutcome, ...]:
        """The failed outcomes, with their reasons."""
        return tuple(o for o in self.outcomes if o.status != "succeeded")

    @property
    def ok(self) -> bool:
        """Everything planned was sent and answered."""
        return self.blocked is None and self.stopped is None and not self.not_sent and self.failed == 0

    @property
    def per_minute(self) -> float | None:
        """Answers per minute over the run."""
        return 60.0 * len(self.outcomes) / self.elapsed_s if self.elapsed_s > 0 and self.outcomes else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        def outcome(o: RequestOutcome) -> dict[str, Any]:
            return {"rel_path": o.rel_path, "custom_id": o.custom_id, "request_id": o.request_id,
                    "status": o.status, "error_kind": o.error_kind, "error": o.error, "cost_usd": o.cost_usd,
                    "sidecar": str(o.sidecar) if o.sidecar else None}

        return {
            "run_id": self.run_id, "succeeded": self.succeeded, "failed": self.failed, "ok": self.ok,
            "blocked": self.blocked, "stopped": self.stopped, "not_sent": list(self.not_sent),
            "problems": list(self.problems), "estimate_usd": self.estimate_usd, "spent_usd": self.spent_usd,
            "elapsed_s": round(self.elapsed_s, 3), "per_minute": self.per_minute, "calls": self.calls,
            "throttled": self.throttled, "retries": self.retries, "max_concurrency": self.max_concurrency,
            "lowest_concurrency": self.lowest_concurrency, "peak_in_flight": self.peak_in_flight,
            "concurrency": [c.to_dict() for c in self.concurrency],
            "outcomes": [outcome(o) for o in self.outcomes], "recovered": [outcome(o) for o in self.recovered],
        }


def estimate_now_usd(plan: SubmissionPlan) -> float | None:
    """What ``plan`` costs through the Messages API (standard prices, shared prefix cached)."""
    est = plan.estimate
    if est is None:
        return None
    try:
        return float(est.scenario("caching").total_usd)
    except (StopIteration, AttributeError, KeyError):
        return None


# ---------------------------------------------------------------------------------------------------
# Crash recovery
# ---------------------------------------------------------------------------------------------------

def _spool_dir(folder: Path) -> Path:
    return Folder.of(folder).workdir / ONLINE_DIR


def _spool_path(folder: Path, row_id: int) -> Path:
    return _spool_dir(folder) / f"{row_id}.json"


def _profile_schema(folder: Path, prompt_hash: str | None) -> dict[str, Any] | None:
    try:
        return Folder.of(folder).profile(prompt_hash or "").schema if prompt_hash else None
    except ProfileNotFound:
        return None


def _recover_locked(folder: Path, ledger: Ledger) -> list[RequestOutcome]:
    out: list[RequestOutcome] = []
    for row in ledger.requests(status=("pending", "submitted")):
        if row.mode != "standard":
            continue
        spooled = read_json(_spool_path(folder, row.id))
        if isinstance(spooled, dict) and isinstance(spooled.get("message"), dict):
            outcome = record_message(folder, ledger, row, spooled["message"],
                                     schema=_profile_schema(folder, row.prompt_hash))
            out.append(outcome)
            _spool_path(folder, row.id).unlink(missing_ok=True)
            continue
        try:
            existing = read_sidecar(folder / row.rel_path) or {}
        except SidecarError:
            existing = {}
        prior = existing.get("run") or {}
        if "analysis" in existing and prior.get("request_id") == row.id and prior.get("custom_id") == row.custom_id \
                and prior.get("run_id") == row.run_id:
            ledger.finish_request(row.id, "succeeded", usage=prior.get("usage"), cost_usd=prior.get("cost_usd"))
            out.append(RequestOutcome(row.id, row.custom_id, row.rel_path, "succeeded", cost_usd=prior.get("cost_usd"),
                                      already_written=True))
            continue
        ledger.finish_request(row.id, "failed", error_kind=INTERRUPTED_KIND, error=INTERRUPTED_REASON)
        out.append(RequestOutcome(row.id, row.custom_id, row.rel_path, "failed", INTERRUPTED_KIND, INTERRUPTED_REASON))
    spool = Folder.of(folder).existing_workdir() / ONLINE_DIR
    if spool.is_dir():  # answers whose rows were closed after the spool write: nothing left to do
        for path in spool.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                row_ = ledger.request(int(path.stem))
                if row_ is None or row_.done:
                    path.unlink(missing_ok=True)
    return out


def recover_interrupted(folder: Path | str) -> list[RequestOutcome]:
    """Close the run-now requests an interrupted or crashed run left open, without sending anything.

    A spooled answer is recorded (sidecar and ledger) as if it had just arrived; a sidecar already
    holding the row's answer only closes the row; a request that had no answer yet is recorded as
    failed (``interrupted``) so the next run sends it again, linked to it. Returns what it closed;
    nothing when another run holds the folder.
    """
    folder = Path(folder).resolve()
    if not Folder.of(folder).has_ledger:
        return []
    try:
        with Folder.of(folder).lock(LOCK_RUN_NOW, what="running requests now in"), Folder.of(folder).ledger() as ledger:
            return _recover_locked(folder, ledger)
    except FolderBusy:
        return []


# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------

def plan_run_now(
    folder: Path | str,
    settings: RunSettings | None = None,
    *,
    limit: int | None = None,
    force: bool = False,
    profile: PromptProfile | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    extract: bool = False,
    image_source: str = "base64",
    on_progress: Progress | None = None,
) -> SubmissionPlan:
    """The plan for a run now: exactly what ``plan_submission`` would batch (the first ``limit``
    videos); ``plan_submission`` first closes what an interrupted run now left open, so its answers
    count as written. ``image_source="file"`` sends frames by ``file_id`` (uploaded once)."""
    return plan_submission(folder, settings, limit=limit, force=force, profile=profile, keyframe_sets=keyframe_sets,
                           extract=extract, image_source=image_source, on_progress=on_progress)


# ---------------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------------

class _Run:
    """One run now in progress: the shared state of its workers (internal)."""

    def __init__(self, folder: Path, plan: SubmissionPlan, client: Any, ledger: Ledger, run_id: str, *,
                 items: list[PlannedRequest], limiter: AdaptiveConcurrency, max_cost_usd: float | None,
                 per_request_usd: float | None, stop: threading.Event, max_attempts: int,
                 sleep: Callable[[float], None], rng: random.Random,
                 file_ids: dict[str, str] | None = None) -> None:
        self.folder, self.plan, self.client, self.ledger, self.run_id = folder, plan, client, ledger, run_id
        self.policy = DEFAULT_RETRY
        self.items: queue.SimpleQueue[PlannedRequest] = queue.SimpleQueue()
        for p in items:
            self.items.put(p)
        self.limiter, self.max_cost_usd, self.per_request_usd = limiter, max_cost_usd, per_request_usd
        self.stop, self.max_attempts, self.sleep, self.rng = stop, max_attempts, sleep, rng
        self.file_ids = file_ids
        self.lock = threading.Lock()
        self.events: queue.SimpleQueue[RequestOutcome | None] = queue.SimpleQueue()
        self.checker = AnswerChecker(plan.profile.schema)
        self.outcomes: list[RequestOutcome] = []
        self.not_sent: list[str] = []
        self.problems: list[str] = []
        self.stopped: str | None = None
        self.crash: BaseException | None = None
        self.spent = 0.0
        self.reserved = 0.0
        self.calls = self.throttled = self.retries = 0

    # --- bookkeeping --------------------------------------------------------------------------------
    def halt(self, why: str) -> None:
        with self.lock:
            if self.stopped is None:
                self.stopped = why
        self.stop.set()

    def drain_unsent(self) -> None:
        while True:
            try:
                p = self.items.get_nowait()
            except queue.Empty:
                return
            with self.lock:
                self.not_sent.append(p.rel_path)

    def _reserve(self) -> bool:
        """Reserve the request's expected cost under the spend cap; ``False`` (and stop) when over."""
        if self.max_cost_usd is None:
            return True
        est = self.per_request_usd or 0.0
        with self.lock:
            if self.spent + self.reserved + est > self.max_cost_usd + 1e-12:
                over = True
            else:
                self.reserved += est
                over = False
        if over:
            self.halt(f"Stopped at the spend cap of ${self.max_cost_usd:.2f}: ${self.spent:.4f} spent, and the next "
                      "request would likely pass it.")
        return not over

    def _settle(self, outcome: RequestOutcome, reserved: bool) -> None:
        with self.lock:
            if reserved and self.max_cost_usd is not None:
                self.reserved = max(0.0, self.reserved - (self.per_request_usd or 0.0))
            self.spent += outcome.cost_usd or 0.0
            self.outcomes.append(outcome)
        self.events.put(outcome)

    def _fail(self, row: RequestRow, kind: str, reason: str) -> RequestOutcome:
        self.ledger.finish_request(row.id, "failed", error_kind=kind, error=reason)
        return RequestOutcome(row.id, row.custom_id, row.rel_path, "failed", kind, reason)

    # --- the worker ---------------------------------------------------------------------------------
    def worker(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    p = self.items.get_nowait()
                except queue.Empty:
                    return
                self._one(p)
        except BaseException as exc:  # a crash (tests) or something unforeseen: stop everything, keep it
            with self.lock:
                if self.crash is None:
                    self.crash = exc
            self.stop.set()
        finally:
            self.events.put(None)

    def _one(self, p: PlannedRequest) -> None:
        token = self.limiter.acquire(self.stop)
        if token is None:
            with self.lock:
                self.not_sent.append(p.rel_path)
            return
        held = True
        reserved = False
        try:
            if not self._reserve():
                with self.lock:
                    self.not_sent.append(p.rel_path)
                return
            reserved = self.max_cost_usd is not None
            try:
                params = build_request_for(p.rel_path, p.frames, self.plan.profile, model=self.plan.model,
                                           cache_ttl=self.plan.settings.cache_ttl, max_tokens=self.plan.max_tokens,
                                           attempt=p.attempt, file_ids=self.file_ids)["params"]
            except OSError as exc:
                with self.lock:
                    self.problems.append(f"{p.rel_path}: a frame could not be read ({exc.strerror or exc}); extract "
                                         "its keyframes again.")
                    self.not_sent.append(p.rel_path)
                    if reserved:
                        self.reserved = max(0.0, self.reserved - (self.per_request_usd or 0.0))
                return
            intent = plan_intents(self.plan, [p], estimate_usd=self.per_request_usd)[0]
            row_id = self.ledger.add_standard_requests(self.run_id, [intent])[0]
            row = self.ledger.request(row_id)
            assert row is not None
            _checkpoint("online_row_written")
            try:
                outcome, held, token = self._send(row, params, token)
            except Exception as exc:  # something unforeseen with this one request: record it, go on
                reason = f"Unexpected error while sending or recording this request: {type(exc).__name__}: {exc}"
                if self.ledger.finish_request(row.id, "failed", error_kind="unexpected", error=reason):
                    outcome = RequestOutcome(row.id, row.custom_id, row.rel_path, "failed", "unexpected", reason)
                else:  # the answer was recorded before the error: report what the ledger holds
                    done = self.ledger.request(row.id) or row
                    outcome = RequestOutcome(row.id, row.custom_id, row.rel_path, done.status, done.error_kind,
                                             done.error, done.cost_usd)
            self._settle(outcome, reserved)
        finally:
            if held:
                self.limiter.release()

    def _send(self, row: RequestRow, params: dict[str, Any], token: int | None
              ) -> tuple[RequestOutcome, bool, int | None]:
        """Send one request until it is answered or given up; returns (outcome, slot held, token)."""
        import anthropic

        attempt = 0  # calls that failed for a reason of their own (5xx, network)
        pushed = 0  # calls the API refused to slow everyone down (429/529): a separate, larger budget
        while True:
            with self.lock:
                self.calls += 1
            try:
                message = self.client.messages.create(**params)
            except anthropic.APIStatusError as exc:
                status = exc.status_code
                reason = describe_error(exc)
                verdict = classify(exc)
                if verdict is ErrorClass.FATAL:
                    self.halt(f"The API refused the key or the account ({reason}); nothing more was sent.")
                    return self._fail(row, error_kind(exc), reason), True, token
                if verdict is ErrorClass.REJECTED:
                    return self._fail(row, error_kind(exc), reason), True, token
                pushback = verdict is ErrorClass.PUSHBACK
                if pushback:
                    pushed += 1
                    tries, budget = pushed, self.max_attempts * self.policy.pushback_factor
                else:
                    attempt += 1
                    tries, budget = attempt, self.max_attempts
                if tries >= budget:
                    return self._fail(row, error_kind(exc), f"{reason}; gave up after {attempt + pushed} "
                                      "attempts"), True, token
                delay = self.policy.wait_s(exc, tries, self.rng)
                with self.lock:
                    self.retries += 1
                    if pushback:
                        self.throttled += 1
                self.limiter.release()
                if pushback:
                    self.limiter.pushback(token, delay, f"HTTP {status}")
                else:
                    self.sleep(delay)
                token = self.limiter.acquire(self.stop)
                if token is None:
                    return self._fail(row, INTERRUPTED_KIND, f"{reason}; the run was stopped before trying again."), \
                        False, None
                continue
            except anthropic.APIConnectionError as exc:  # timeouts included: no answer came back
                reason = describe_error(exc)
                attempt += 1
                if attempt >= self.max_attempts:
                    return self._fail(row, "connection_error", f"{reason}; gave up after {attempt + pushed} "
                                      "attempts"), True, token
                with self.lock:
                    self.retries += 1
                self.limiter.release()
                self.sleep(self.policy.backoff_s(attempt, self.rng))
                token = self.limiter.acquire(self.stop)
                if token is None:
                    return self._fail(row, INTERRUPTED_KIND, f"{reason}; the run was stopped before trying again."), \
                        False, None
                continue
            return self._answer(row, message), True, token

    def _answer(self, row: RequestRow, message: Any) -> RequestOutcome:
        _checkpoint("online_answer_received")
        data = message if isinstance(message, dict) else message.model_dump(mode="json")
        spool = _spool_path(self.folder, row.id)
        try:
            atomic_write_json(spool, {"request_id": row.id, "custom_id": row.custom_id, "message": data})
        except OSError as exc:  # no spool: the answer is still recorded now, only less crash-proof
            with self.lock:
                self.problems.append(f"{row.rel_path}: the answer could not be spooled before recording ({exc}).")
        _checkpoint("online_answer_spooled")
        outcome = record_message(self.folder, self.ledger, row, data, schema=self.plan.profile.schema,
                                 validator=self.checker)
        _checkpoint("online_recorded")
        spool.unlink(missing_ok=True)
        self.limiter.success()
        return outcome


def _links(ledger: Ledger, items: Sequence[PlannedRequest]) -> list[PlannedRequest]:
    """Link each request to the failed, unretried request of the same video (a retry), if any."""
    failed: dict[str, RequestRow] = {}
    for r in ledger.failures():
        failed[r.rel_path] = r
    out = []
    for p in items:
        prior = failed.get(p.rel_path)
        if p.retry_of is None and prior is not None:
            attempt = max(p.attempt, prior.attempt + 1)
            p = replace(p, attempt=attempt, retry_of=prior.id, custom_id=custom_id_for(p.rel_path, attempt))
        out.append(p)
    return out


def run_now(
    folder: Path | str,
    plan: SubmissionPlan,
    client: Any,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
    max_attempts: int = DEFAULT_RETRY.max_attempts,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    note: str | None = None,
) -> OnlineResult:
    """Send ``plan``'s requests through the Messages API now, at most ``concurrency`` at a time.

    Blocked (``blocked`` says why, nothing sent) when the plan has blocking problems or nothing to
    send, when the estimate at standard prices is above ``max_cost_usd`` (or there is none to
    check), or when another run now holds the folder. While running, the spend cap stops new
    requests before the money spent plus the requests in flight would pass it. ``on_progress(done,
    total)`` is called on the calling thread as answers arrive. Setting ``stop`` (or Ctrl-C)
    lets requests in flight finish and record, sends nothing more, and returns with ``stopped``.
    ``sleep``, ``clock`` and ``rng`` are for tests. ``note`` is kept on the run (``"trial"``).
    """
    folder = Path(folder).resolve()
    started = clock()
    now_usd = estimate_now_usd(plan)
    if plan.blocking_problems:
        return OnlineResult(blocked="; ".join(p.problem for p in plan.blocking_problems), estimate_usd=now_usd)
    if not plan.requests:
        return OnlineResult(blocked="Nothing to send: every video is analysed, excluded, in a batch or has a problem.",
                            estimate_usd=now_usd)
    if max_cost_usd is not None:
        if now_usd is None:
            return OnlineResult(blocked=f"A spend cap of ${max_cost_usd:.2f} was set but there is no cost estimate to "
                                        "check it against.")
        if now_usd > max_cost_usd:
            return OnlineResult(blocked=f"Sending now would cost about ${now_usd:.4f} at standard prices, above your "
                                        f"cap of ${max_cost_usd:.2f}.", estimate_usd=now_usd)
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    with contextlib.suppress(AttributeError):  # a stand-in client in tests has no with_options
        client = client.with_options(max_retries=0)
    try:
        with Folder.of(folder).lock(LOCK_RUN_NOW, what="running requests now in"), Folder.of(folder).ledger() as ledger:
            return _run_locked(folder, plan, client, ledger, concurrency=concurrency, max_cost_usd=max_cost_usd,
                               on_progress=on_progress, stop=stop or threading.Event(), max_attempts=max_attempts,
                               sleep=sleep, clock=clock, rng=rng or random.Random(), note=note, started=started,
                               now_usd=now_usd)
    except FolderBusy as exc:
        return OnlineResult(blocked=str(exc), estimate_usd=now_usd)


def _run_locked(folder: Path, plan: SubmissionPlan, client: Any, ledger: Ledger, *, concurrency: int,
                max_cost_usd: float | None, on_progress: Progress | None, stop: threading.Event, max_attempts: int,
                sleep: Callable[[float], None], clock: Callable[[], float], rng: random.Random, note: str | None,
                started: float, now_usd: float | None) -> OnlineResult:
    recovered = _recover_locked(folder, ledger)
    answered = {o.rel_path for o in recovered if o.status == "succeeded"}
    in_flight = ledger.in_flight()
    problems: list[str] = []
    items: list[PlannedRequest] = []
    for p in plan.requests:
        if p.rel_path in answered:
            problems.append(f"{p.rel_path}: its answer from an interrupted run was recorded; not sent again.")
        elif p.rel_path in in_flight:
            problems.append(f"{p.rel_path}: now in a batch awaiting results; not sent again.")
        else:
            items.append(p)
    if not items:
        return OnlineResult(blocked="Nothing to send: every planned video was answered or is in a batch.",
                            problems=tuple(problems), recovered=tuple(recovered), estimate_usd=now_usd)
    items = _links(ledger, items)
    file_ids: dict[str, str] | None = None
    if getattr(plan, "image_source", "base64") == "file":
        try:
            file_ids = upload_frames(folder, client, (f for p in items for f in p.frames), ledger=ledger)
        except Exception as exc:
            return OnlineResult(blocked=f"The frames could not be uploaded: {describe_error(exc)}",
                                problems=tuple(problems), recovered=tuple(recovered), estimate_usd=now_usd)
    try:
        Folder.of(folder).save_profile(plan.profile)
    except (OSError, ValueError) as exc:
        problems.append(f"The prompt profile could not be saved for retries: {exc}")
    per_request = now_usd / len(plan.requests) if now_usd is not None else None
    settings_record = {**plan.settings.to_dict(), "max_tokens": plan.max_tokens,
                       "prompt_profile_name": plan.profile.name, "concurrency": concurrency,
                       "image_source": getattr(plan, "image_source", "base64")}
    run_id = ledger.new_run(mode="standard", model=plan.model, prompt_hash=plan.profile.hash,
                            settings=settings_record, retry_of=plan.retry_of_run,
                            estimate_usd=per_request * len(items) if per_request is not None else None, note=note)
    limiter = AdaptiveConcurrency(concurrency, clock=clock, sleep=sleep)
    run = _Run(folder, plan, client, ledger, run_id, items=items, limiter=limiter, max_cost_usd=max_cost_usd,
               per_request_usd=per_request, stop=stop, max_attempts=max_attempts, sleep=sleep, rng=rng,
               file_ids=file_ids)
    run.problems.extend(problems)
    total = len(items)
    workers = [threading.Thread(target=run.worker, name=f"gaia-run-now-{i}", daemon=True)
               for i in range(min(concurrency, total))]
    for t in workers:
        t.start()
    done = 0
    alive = len(workers)
    if on_progress:
        on_progress(0, total)
    try:
        while alive:
            try:
                event = run.events.get(timeout=0.5)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                continue
            if event is None:
                alive -= 1
                continue
            done += 1
            if on_progress:
                on_progress(done, total)
    except KeyboardInterrupt:
        run.halt("Interrupted: requests in flight were allowed to finish; nothing more was sent. Run again to send "
                 "only what has no answer yet.")
        for t in workers:
            t.join()
    except BaseException:  # the page was rerun or stopped: let requests in flight finish and record
        run.halt("Stopped.")
        for t in workers:
            t.join()
        raise
    for t in workers:
        t.join()
    if run.crash is not None:
        raise run.crash
    run.drain_unsent()
    stopped = run.stopped
    if stopped is None and stop.is_set() and run.not_sent:
        stopped = "Stopped on request; nothing more was sent."
    return OnlineResult(
        run_id=run_id, outcomes=tuple(run.outcomes), not_sent=tuple(run.not_sent), stopped=stopped,
        problems=tuple(run.problems), recovered=tuple(recovered), estimate_usd=now_usd, spent_usd=run.spent,
        elapsed_s=clock() - started, calls=run.calls, throttled=run.throttled, retries=run.retries,
        concurrency=tuple(limiter.changes), max_concurrency=concurrency, lowest_concurrency=limiter.lowest,
        peak_in_flight=limiter.peak_in_flight)


def retry_now(
    folder: Path | str,
    client: Any,
    *,
    request_ids: Sequence[int] | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[OnlineResult]:
    """Send failed requests (all, or ``request_ids``) again now, each with its original run's model,
    prompt and frames, linked to the request it retries. (To move them into a batch instead, use
    ``gaia.retry_failed``.) One result per original run; empty when nothing has failed."""
    out = []
    for plan in plan_retry(folder, request_ids=request_ids, keyframe_sets=keyframe_sets):
        out.append(run_now(folder, plan, client, concurrency=concurrency, max_cost_usd=max_cost_usd,
                           on_progress=on_progress, sleep=sleep))
    return out


# ---------------------------------------------------------------------------------------------------
# Now or batch: cost and wait
# ---------------------------------------------------------------------------------------------------

def _fmt_s(seconds: float) -> str:
    s = round(seconds)
    if s < 90:
        return f"{s} s"
    m = round(s / 60)
    if m < 90:
        return f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


@dataclass(frozen=True)
class RunChoice:
    """The choice between sending now and batching, in the folder's own numbers."""

    videos: int
    now_usd: float | None
    batch_usd: float | None
    now_wait_s: float | None
    now_wait_text: str
    batch_wait_s: float | None  # typical (median) processing time from history, else None
    batch_wait_text: str
    batch_wait_source: str  # "history" or "default"
    answer_s: float
    answer_s_source: str  # "history" or "assumed"

    @property
    def extra_usd(self) -> float | None:
        """What sending now costs on top of the batch."""
        if self.now_usd is None or self.batch_usd is None:
            return None
        return self.now_usd - self.batch_usd

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**dict(vars(self)), "extra_usd": self.extra_usd}


def answer_seconds(folder: Path | str, model: str | None = None) -> tuple[float, str]:
    """Typical seconds per answer through the Messages API: the median of this folder's past
    standard-mode requests (send to answer), else ``ASSUMED_ANSWER_S``; with its source."""
    if Folder.of(folder).has_ledger:
        with Folder.of(folder).ledger() as ledger:
            rows = ledger.requests(status="succeeded")
        took = []
        for r in rows:
            if r.mode != "standard" or (model and r.model != model):
                continue
            a, b = parse_time(r.created_at), parse_time(r.done_at)
            if a and b and b >= a:
                took.append((b - a).total_seconds())
        if took:
            return float(statistics.median(took)), "history"
    return ASSUMED_ANSWER_S, "assumed"


def run_choice(plan: SubmissionPlan, *, concurrency: int = DEFAULT_CONCURRENCY) -> RunChoice:
    """What ``plan`` costs now versus as a batch, and how long each takes.

    Now: the estimate's *prompt caching* scenario (standard prices) and about ``ceil(videos /
    concurrency)`` answer times. Batch: the estimate GAIA submits with (batch + caching) and, when
    the folder's ledger has ended batches, their median processing time; otherwise "usually under
    an hour, at most 24 h".
    """
    n = len(plan.requests)
    per, per_src = answer_seconds(plan.folder, plan.model)
    waves = -(-n // max(1, concurrency)) if n else 0
    now_s = waves * per if n else None
    src = "the median of this folder's past answers" if per_src == "history" else "an assumed"
    now_text = (f"about {_fmt_s(now_s)}: {n} request(s), {max(1, concurrency)} at a time, {src} {_fmt_s(per)} each"
                if now_s is not None else "nothing to send")
    durations: list[float] = []
    if Folder.of(plan.folder).has_ledger:
        with Folder.of(plan.folder).ledger() as ledger:
            durations = [s for _n, s, _id in ledger.batch_durations(model=plan.model)]
    if durations:
        med = float(statistics.median(durations))
        batch_text = (f"typically {_fmt_s(med)} here (median of {len(durations)} past batch(es), longest "
                      f"{_fmt_s(max(durations))}); at most {BATCH_EXPIRY_HOURS} h")
        batch_s: float | None = med
        source = "history"
    else:
        batch_text, batch_s, source = BATCH_WAIT_DEFAULT, None, "default"
    return RunChoice(videos=n, now_usd=estimate_now_usd(plan), batch_usd=plan.estimate_usd, now_wait_s=now_s,
                     now_wait_text=now_text, batch_wait_s=batch_s, batch_wait_text=batch_text,
                     batch_wait_source=source, answer_s=per, answer_s_source=per_src)


# ---------------------------------------------------------------------------------------------------
# The prompt trial
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrialVideo:
    """One video of a trial: its frames, and the answer (or why there is none)."""

    rel_path: str
    frames: tuple[Keyframe, ...]
    status: str  # "succeeded", "failed" or "not_sent"
    analysis: dict[str, Any] | None = None
    error: str | None = None
    cost_usd: float | None = None
    usage: dict[str, Any] | None = None


@dataclass(frozen=True)
class TrialResult:
    """A prompt trial: which profile and model, each video's answer beside its frames, the run."""

    profile: PromptProfile
    model: str
    videos: tuple[TrialVideo, ...] = ()
    run: OnlineResult = field(default_factory=OnlineResult)
    problems: tuple[str, ...] = ()

    @property
    def blocked(self) -> str | None:
        """Why nothing was sent, if so."""
        return self.run.blocked

    @property
    def spent_usd(self) -> float:
        """What the trial cost."""
        return self.run.spent_usd

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"prompt_hash": self.profile.hash, "prompt_profile": self.profile.name, "model": self.model,
                "problems": list(self.problems), "run": self.run.to_dict(),
                "videos": [{"rel_path": v.rel_path, "status": v.status, "analysis": v.analysis, "error": v.error,
                            "cost_usd": v.cost_usd, "frames": [f.timestamp for f in v.frames]} for v in self.videos]}


def _spread(items: Sequence[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step + step / 2)] for i in range(n)]


def pick_trial_videos(rel_paths: Sequence[str], n: int, states: Mapping[str, str]) -> list[str]:
    """A sample of ``n`` videos for a trial, spread over the folder, preferring videos with no
    analysis yet, then stale ones, and only then analysed ones (whose sidecar a trial replaces)."""
    order = {"none": 0, "stale": 1, "analysed": 2}
    pool = [r for r in rel_paths if states.get(r) != "unreadable"]
    chosen: list[str] = []
    for rank in (0, 1, 2):
        tier = [r for r in pool if order.get(states.get(r, "none"), 0) == rank]
        chosen += _spread(tier, n - len(chosen))
        if len(chosen) >= n:
            break
    keep = set(chosen)
    return [r for r in rel_paths if r in keep]  # folder order


def _trial_sets(folder: Path, settings: RunSettings, n: int, fingerprint: dict[str, Any],
                keyframe_sets: Sequence[KeyframeSet] | None, on_progress: Progress | None
                ) -> tuple[list[KeyframeSet], list[str]]:
    selection = Folder.of(folder).selection()
    problems: list[str] = []
    if keyframe_sets is not None:
        usable = [k for k in keyframe_sets if not selection.video_excluded(k.rel_path) and k.frames and not k.problem]
        states = {k.rel_path: sidecar_state(k.video, fingerprint) for k in usable}
        wanted = set(pick_trial_videos([k.rel_path for k in usable], n, states))
        return [k for k in usable if k.rel_path in wanted], problems
    from gaia.media.keyframes import extract_keyframes
    from gaia.media.scan import scan_folder

    records = [r for r in scan_folder(folder).records if r.usable and not selection.video_excluded(r.rel_path)]
    states = {r.rel_path: sidecar_state(r.path, fingerprint) for r in records}
    wanted = set(pick_trial_videos([r.rel_path for r in records], n, states))
    chosen = [r for r in records if r.rel_path in wanted]
    if not chosen:
        return [], ["The folder has no usable video to try the prompt on."]
    sets = list(extract_keyframes(folder, settings=settings.keyframes, model=settings.model, records=chosen,
                                  on_progress=on_progress))
    for k in sets:
        if k.problem:
            problems.append(f"{k.rel_path}: {k.problem}")
    return [k for k in sets if not k.problem and k.frames], problems


def run_trial(
    folder: Path | str,
    client: Any,
    *,
    n: int = DEFAULT_TRIAL_VIDEOS,
    profile: PromptProfile | None = None,
    settings: RunSettings | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TrialResult:
    """Try ``profile`` (the folder's saved one by default) on ``n`` videos now, before batching.

    The sample is spread over the folder and prefers videos with no analysis yet
    (``pick_trial_videos``); their keyframes are extracted if needed (``on_progress`` reports it).
    The requests are exactly what a batch would send with this profile and go through ``run_now``,
    so answers are written to the sidecars (a batch with the same profile then skips these videos)
    and the real usage lands in the ledger, where the next estimate's history finds it.
    """
    folder = Path(folder).resolve()
    settings = settings or Folder.of(folder).settings()
    if profile is None:
        try:
            profile = Folder.of(folder).profile(settings.prompt_profile)
        except ProfileNotFound as exc:
            return TrialResult(profile=PromptProfile("missing", "", {}, ""), model=settings.model,
                               run=OnlineResult(blocked=str(exc)))
    n = max(1, min(int(n), MAX_TRIAL_VIDEOS))
    sets, problems = _trial_sets(folder, settings, n, run_fingerprint(settings, profile.hash), keyframe_sets,
                                 on_progress)
    if not sets:
        return TrialResult(profile=profile, model=settings.model, problems=tuple(problems),
                           run=OnlineResult(blocked=problems[0] if problems else "No video has keyframes to try on."))
    plan = plan_run_now(folder, settings, force=True, profile=profile, keyframe_sets=sets)
    problems += [f"{p.rel_path or 'run'}: {p.problem}" for p in plan.problems]
    result = run_now(folder, plan, client, concurrency=concurrency, max_cost_usd=max_cost_usd, sleep=sleep,
                     note="trial")
    by_path = {o.rel_path: o for o in result.outcomes}
    videos = []
    for p in plan.requests:
        o = by_path.get(p.rel_path)
        if o is None:
            videos.append(TrialVideo(p.rel_path, p.frames, "not_sent", error="Not sent."))
            continue
        analysis = None
        usage = None
        if o.status == "succeeded":
            with contextlib.suppress(SidecarError):
                data = read_sidecar(folder / p.rel_path) or {}
                analysis = data.get("analysis")
                usage = (data.get("run") or {}).get("usage")
        videos.append(TrialVideo(p.rel_path, p.frames, o.status, analysis, o.error, o.cost_usd, usage))
    return TrialResult(profile=profile, model=settings.model, videos=tuple(videos), run=result,
                       problems=tuple(problems))


def dumps_answer(analysis: dict[str, Any] | None) -> str:
    """An answer as indented JSON text (for showing as text, never as markup)."""
    return json.dumps(analysis, indent=2, ensure_ascii=False)
