"""Run now: the same requests as a batch, sent through the standard Messages API, answers in seconds.

A batch is half price but may take hours; for a few urgent videos, or a trial of a new prompt on
three clips before batching three hundred, ``run_now`` sends a ``SubmissionPlan`` (the very requests
``gaia.runs.recovery.plan_submission`` builds: same prompt, schema, cached prefix and frames)
through ``client.messages.create`` on a small pool of threads. The sending itself is ``send_each``,
the one engine that sends requests now, which hands each outcome to a *sink* (``Sink``): run now's
``RecordSink`` below, or the tune's ``gaia.quality.runner.TuneSink``. Answers go through the one recorder
(``gaia.runs.recorder``), so they are validated, written by the one sidecar function with the same
keys as a batch result, recorded in the same ledger with ``mode = standard`` and priced at standard
rates (cache writes and reads included).

Rate limits and faults are GAIA's to handle, not the SDK's (the client is used with
``max_retries=0``): ``retry-after-ms`` / ``retry-after`` are honoured; 429 and 529 pause every
worker and halve the number of requests in flight (AIMD: ``AdaptiveConcurrency``), which grows back
by one per window of successful calls up to the user's setting; other temporary failures back off
exponentially with jitter. A request that keeps failing is recorded with its reason and can be sent
again now (``gaia.runs.failures.retry_now``, or simply running again) or moved into a batch
(``gaia.runs.failures.retry_failed``).

Crash safety: each request's ledger row is written just before it is sent, and each answer is
spooled to ``.gaia/online/`` before its sidecar is written. A run that starts finds rows a crashed
or interrupted run left open (``recover_interrupted``): an answer that was spooled is recorded
without asking again, a sidecar that already holds the row's answer only closes the row, and a
request that had no answer yet is recorded as interrupted and sent again, linked to it. So
restarting sends only what has no answer. A request in flight when the process died is sent again,
so it may be paid twice: the API bills a request it processed even when nobody reads the answer, and
a synchronous call leaves no way to fetch it afterwards. Killing a run can resend up to
``concurrency`` requests (the ones in flight), and an answer lost by the API side mid-request
likewise. These resends are counted, not hidden: the interrupted row stays in the ledger, linked to
its retry, with its estimate as its cost ("possibly billed"), so the money spent and Results include
it, and ``OnlineResult.possibly_billed_usd`` shows it. The folder's one send lock (the one a batch
submission holds too) keeps two ways of sending from overlapping, and the ledger's in-flight view
covers both transports.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from gaia.api.client import as_dict, describe_error
from gaia.api.requests import build_request_for, custom_id_for
from gaia.api.retry import DEFAULT_RETRY, ErrorClass, RetryPolicy, classify, error_kind
from gaia.folder import LOCK_SEND, Folder, FolderBusy
from gaia.format import error_text
from gaia.fsutil import disk_full
from gaia.ledger import Ledger, RequestRow
from gaia.runs.batch import SEND_WHAT
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoint, Checkpoints
from gaia.runs.concurrency import AdaptiveConcurrency, ConcurrencyChange
from gaia.runs.guard import SpendCap, cap_problem, folder_problem, send_model_problem, send_problem
from gaia.runs.plan import ImageSource, PlannedRequest, SubmissionPlan, plan_intents
from gaia.runs.recorder import ErrorKind, Recorder, RequestOutcome
from gaia.runs.recovery import INTERRUPTED_KIND, recover_held
from gaia.runs.spool import Spool
from gaia.runs.upload import upload_frames
from gaia.settings import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, SentSettings

Progress = Callable[[int, int], None]
NOTHING_NOW = "Nothing to send: every video is analysed, excluded, in a batch or has a problem."


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
    # What the first attempts of requests this run sends again may have cost: they were in flight
    # when an earlier run stopped (counted at their estimate in the ledger, "possibly billed").
    possibly_billed_usd: float = 0.0
    elapsed_s: float = 0.0
    calls: int = 0  # HTTP calls made, retries included
    throttled: int = 0  # 429/529 answers
    retries: int = 0
    concurrency: tuple[ConcurrencyChange, ...] = ()
    max_concurrency: int = 0
    lowest_concurrency: int = 0
    peak_in_flight: int = 0
    cascade_pass: int | None = None  # the cascade pass the run sent (1 or 2; ``None``: no cascade's)

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
            "possibly_billed_usd": self.possibly_billed_usd,
            "elapsed_s": round(self.elapsed_s, 3), "per_minute": self.per_minute, "calls": self.calls,
            "throttled": self.throttled, "retries": self.retries, "max_concurrency": self.max_concurrency,
            "lowest_concurrency": self.lowest_concurrency, "peak_in_flight": self.peak_in_flight,
            "concurrency": [c.to_dict() for c in self.concurrency],
            "outcomes": [outcome(o) for o in self.outcomes], "recovered": [outcome(o) for o in self.recovered],
            "cascade_pass": self.cascade_pass,
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


@dataclass
class _Tally:
    """Calls made, pushbacks and retries of a run (internal, guarded by the run's lock)."""

    calls: int = 0
    throttled: int = 0
    retries: int = 0


class Sink(Protocol):
    """Where each outcome of the sending engine goes (``send_each``).

    Run now's sink (``RecordSink``) writes a ledger row before each call and each answer to its
    sidecar and the ledger; the tune's sink (``gaia.quality.runner.TuneSink``) keeps answers under
    ``.gaia/tune/``. The engine itself only sends: the one spend guard, the retry policy, the
    adaptive concurrency and stopping are the same for every sink. Methods are called on worker
    threads.
    """

    def open(self, p: PlannedRequest, estimate_usd: float | None) -> Any:
        """Called just before ``p`` is first sent; returns the handle the other two receive."""
        ...

    def answered(self, handle: Any, message: Any) -> RequestOutcome:
        """An answer arrived: check it, keep it, say what became of it (its ``cost_usd`` is what was spent)."""
        ...

    def failed(self, handle: Any, kind: str, reason: str) -> RequestOutcome:
        """The request got no answer (``kind``: an ``ErrorKind`` or ``errored:<type>``), with the reason in words."""
        ...


class RecordSink:
    """Run now's sink: a ledger row before each call, each answer spooled, then to its sidecar and the ledger."""

    def __init__(self, folder: Folder, plan: SubmissionPlan, ledger: Ledger, run_id: str, *,
                 checkpoints: Checkpoints = NO_CHECKPOINTS) -> None:
        self.plan, self.ledger, self.run_id, self.cp = plan, ledger, run_id, checkpoints
        self.recorder = Recorder(folder, ledger, checkpoints=checkpoints)
        self.recorder.use_schema(plan.profile.hash, plan.profile.schema)
        self.spool = Spool(folder)
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def open(self, p: PlannedRequest, estimate_usd: float | None) -> RequestRow:
        """Write the request's ledger row (before it is sent, so a crash leaves it open for recovery)."""
        intent = plan_intents(self.plan, [p], estimate_usd=estimate_usd)[0]
        row = self.ledger.request(self.ledger.add_standard_requests(self.run_id, [intent])[0])
        assert row is not None
        self.cp.reached(Checkpoint.ONLINE_ROW_WRITTEN)
        return row

    def answered(self, handle: RequestRow, message: Any) -> RequestOutcome:
        """Spool the answer, record it (sidecar, then ledger), drop the spool."""
        self.cp.reached(Checkpoint.ONLINE_ANSWER_RECEIVED)
        data = as_dict(message) or {}
        try:
            self.spool.write_answer(handle.id, handle.custom_id, data)
        except OSError as exc:  # no spool: the answer is still recorded now, only less crash-proof
            with self._lock:
                self.problems.append(f"{handle.rel_path}: the answer could not be spooled before recording ({exc}).")
        self.cp.reached(Checkpoint.ONLINE_ANSWER_SPOOLED)
        outcome = self.recorder.record(handle, data)
        self.cp.reached(Checkpoint.ONLINE_RECORDED)
        self.spool.drop_answer(handle.id)
        return outcome

    def failed(self, handle: RequestRow, kind: str, reason: str) -> RequestOutcome:
        """Close the row as failed, with its reason."""
        return self.recorder.fail(handle, kind, reason)

    def possibly_billed(self, handle: RequestRow) -> None:
        """An attempt was lost in flight (a dropped connection): record its estimate as possibly billed
        before it is sent again, so every spend total counts it."""
        self.ledger.add_possibly_billed(handle.id, handle.estimate_usd)


class _Run:
    """One sending in progress: the shared state of its workers (internal)."""

    def __init__(self, plan: SubmissionPlan, client: Any, sink: Sink, *,
                 items: list[PlannedRequest], limiter: AdaptiveConcurrency, cap: SpendCap, stop: threading.Event,
                 max_attempts: int, sleep: Callable[[float], None], rng: random.Random,
                 file_ids: dict[str, str] | None) -> None:
        self.plan, self.client, self.sink = plan, client, sink
        self.policy: RetryPolicy = DEFAULT_RETRY
        self.items: queue.SimpleQueue[PlannedRequest] = queue.SimpleQueue()
        for p in items:
            self.items.put(p)
        self.limiter, self.cap, self.stop, self.max_attempts = limiter, cap, stop, max_attempts
        self.sleep, self.rng, self.file_ids = sleep, rng, file_ids
        self.lock = threading.Lock()
        self.events: queue.SimpleQueue[RequestOutcome | None] = queue.SimpleQueue()
        self.outcomes: list[RequestOutcome] = []
        self.not_sent: list[str] = []
        self.problems: list[str] = []
        self.stopped: str | None = None
        self.capped = False
        self.extra: dict[str, Any] = {}
        self.crash: BaseException | None = None
        self.tally = _Tally()

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

    def _skip(self, p: PlannedRequest, problem: str | None = None) -> None:
        with self.lock:
            self.not_sent.append(p.rel_path)
            if problem:
                self.problems.append(problem)

    def _settle(self, outcome: RequestOutcome, reserved: bool) -> None:
        self.cap.settle(outcome.cost_usd, reserved=reserved)
        with self.lock:
            self.outcomes.append(outcome)
        self.events.put(outcome)

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

    def _params(self, p: PlannedRequest) -> dict[str, Any]:
        return build_request_for(p.rel_path, p.frames, self.plan.profile, model=self.plan.model,
                                 cache_ttl=self.plan.settings.cache_ttl, max_tokens=self.plan.max_tokens,
                                 attempt=p.attempt, file_ids=self.file_ids)["params"] | self.extra

    def _one(self, p: PlannedRequest) -> None:
        token = self.limiter.acquire(self.stop)
        if token is None:
            return self._skip(p)
        held = True
        try:
            if not self.cap.reserve():
                self.capped = True
                self.halt(self.cap.stop_reason)
                return self._skip(p)
            reserved = self.cap.cap_usd is not None
            try:
                params = self._params(p)
            except OSError as exc:
                self.cap.release()
                return self._skip(p, f"{p.rel_path}: a frame could not be read ({exc.strerror or exc}); extract "
                                     "its keyframes again.")
            row = self.sink.open(p, self.cap.estimate_usd)
            try:
                outcome, held, token = self._send(row, params, token)
            except Exception as exc:  # something unforeseen with this one request: record it, go on
                if disk_full(exc):  # nothing can be recorded: stop the run (recovery closes the row next time)
                    raise
                outcome = self.sink.failed(row, ErrorKind.UNEXPECTED, "Unexpected error while sending or recording "
                                             f"this request: {error_text(exc)}")
            self._settle(outcome, reserved)
        finally:
            if held:
                self.limiter.release()

    def _retry_wait(self, exc: Exception, verdict: ErrorClass, tries: int, token: int | None) -> int | None:
        """Give the slot back, wait as the policy says, and take a slot again (``None``: stopped)."""
        with self.lock:
            self.tally.retries += 1
            if verdict is ErrorClass.PUSHBACK:
                self.tally.throttled += 1
        self.limiter.release()
        if verdict is ErrorClass.PUSHBACK:
            self.limiter.pushback(token, self.policy.wait_s(exc, tries, self.rng), f"HTTP {exc.status_code}")
        elif verdict is ErrorClass.CONNECTION:
            self.sleep(self.policy.backoff_s(tries, self.rng))
        else:
            self.sleep(self.policy.wait_s(exc, tries, self.rng))
        return self.limiter.acquire(self.stop)

    def _send(self, row: Any, params: dict[str, Any], token: int | None
              ) -> tuple[RequestOutcome, bool, int | None]:
        """Send one request until it is answered or given up; returns (outcome, slot held, token)."""
        import anthropic

        attempt = 0  # calls that failed for a reason of their own (5xx, network)
        pushed = 0  # calls the API refused to slow everyone down (429/529): a separate, larger budget
        while True:
            with self.lock:
                self.tally.calls += 1
            try:
                message = self.client.messages.create(**params)
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                reason = describe_error(exc)
                verdict = classify(exc)
                kind = error_kind(exc)
                if verdict is ErrorClass.FATAL:
                    self.halt(f"The API refused the key or the account ({reason}); nothing more was sent.")
                if verdict in (ErrorClass.FATAL, ErrorClass.REJECTED):
                    return self.sink.failed(row, kind, reason), True, token
                if verdict is ErrorClass.PUSHBACK:
                    pushed += 1
                    tries, budget = pushed, self.max_attempts * self.policy.pushback_factor
                else:
                    attempt += 1
                    tries, budget = attempt, self.max_attempts
                maybe_billed = getattr(self.sink, "possibly_billed", None)
                if verdict is ErrorClass.CONNECTION and maybe_billed is not None:  # it may have reached the API
                    maybe_billed(row)
                if tries >= budget:
                    return self.sink.failed(row, kind, f"{reason}; gave up after {attempt + pushed} attempts"), \
                        True, token
                token = self._retry_wait(exc, verdict, tries, token)
                if token is None:
                    return self.sink.failed(row, INTERRUPTED_KIND, f"{reason}; the run was stopped before trying "
                                              "again."), False, None
                continue
            return self._answer(row, message), True, token

    def _answer(self, row: Any, message: Any) -> RequestOutcome:
        outcome = self.sink.answered(row, message)
        self.limiter.success()
        return outcome


def _links(ledger: Ledger, items: Sequence[PlannedRequest]) -> list[PlannedRequest]:
    """Link each request to the failed, unretried request of the same video (a retry), if any."""
    failed = {r.rel_path: r for r in ledger.failures()}
    out = []
    for p in items:
        prior = failed.get(p.rel_path)
        if p.retry_of is None and prior is not None:
            attempt = max(p.attempt, prior.attempt + 1)
            p = replace(p, attempt=attempt, retry_of=prior.id, custom_id=custom_id_for(p.rel_path, attempt))
        out.append(p)
    return out


@dataclass(frozen=True)
class _Options:
    """How a run now sends (internal)."""

    concurrency: int
    cap_usd: float | None
    on_progress: Progress | None
    stop: threading.Event
    max_attempts: int
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    rng: random.Random
    note: str | None
    started: float
    now_usd: float | None
    checkpoints: Checkpoints


def run_now(
    folder: Folder | Path | str,
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
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> OnlineResult:
    """Send ``plan``'s requests through the Messages API now, at most ``concurrency`` at a time.

    Blocked (``blocked`` says why, nothing sent) when the plan has blocking problems or nothing to
    send, when the estimate at standard prices is above ``max_cost_usd`` (or there is no usable one
    to check), when the API's Models endpoint says this key cannot use the model with images
    (``gaia.runs.guard.model_problem``), or when another process is sending from the folder (a batch
    submission or another run now: they share one lock). While running, the spend cap stops new requests before the
    money spent plus the requests in flight would pass it. ``on_progress(done, total)`` is called
    on the calling thread as answers arrive. Setting ``stop`` (or Ctrl-C) lets requests in flight
    finish and record, sends nothing more, and returns with ``stopped``. ``sleep``, ``clock``,
    ``rng`` and ``checkpoints`` are for tests. ``note`` is kept on the run (``"trial"``). A plan carrying a
    cascade's pass (``SubmissionPlan.cascade_pass``) records it on the run, so the recorder keeps each first
    answer's cascade record with it and a retry goes as that pass (``gaia.runs.cascade``).
    """
    result = _run_now(Folder.of(folder), plan, client, concurrency=concurrency, max_cost_usd=max_cost_usd,
                      on_progress=on_progress, stop=stop, max_attempts=max_attempts, sleep=sleep, clock=clock, rng=rng,
                      note=note, checkpoints=checkpoints)
    step = plan.cascade_pass.get("pass") if plan.cascade_pass else None
    return replace(result, cascade_pass=step) if step in (1, 2) else result


def _run_now(folder: Folder, plan: SubmissionPlan, client: Any, *, concurrency: int, max_cost_usd: float | None,
             on_progress: Progress | None, stop: threading.Event | None, max_attempts: int,
             sleep: Callable[[float], None], clock: Callable[[], float], rng: random.Random | None, note: str | None,
             checkpoints: Checkpoints) -> OnlineResult:
    started = clock()
    now_usd = estimate_now_usd(plan)
    why = send_problem(plan.problems, len(plan.requests), nothing=NOTHING_NOW)
    if why is None:
        why = folder_problem(folder) or cap_problem(
            now_usd, max_cost_usd, what="Sending now would cost about {usd} at standard prices", digits=4
        ) or send_model_problem(client, plan.model, plan.cascade_pass, batches=False)
    if why is not None:
        return OnlineResult(blocked=why, estimate_usd=now_usd)
    opts = _Options(max(1, min(int(concurrency), MAX_CONCURRENCY)), max_cost_usd, on_progress,
                    stop or threading.Event(), max_attempts, sleep, clock, rng or random.Random(), note, started,
                    now_usd, checkpoints)
    try:
        with folder.lock(LOCK_SEND, what=SEND_WHAT), folder.ledger() as ledger:
            return _run_held(folder, plan, client, ledger, opts)
    except FolderBusy as exc:
        return OnlineResult(blocked=str(exc), estimate_usd=now_usd)


def _sendable(plan: SubmissionPlan, ledger: Ledger, recovered: Sequence[RequestOutcome]
              ) -> tuple[list[PlannedRequest], list[str]]:
    """The plan's requests still to send (in-flight view checked under the lock), and what was left out."""
    answered = {o.rel_path for o in recovered if o.succeeded}
    in_flight = set(ledger.in_flight()) | plan.sent_since_planned(ledger)
    problems: list[str] = []
    items: list[PlannedRequest] = []
    for p in plan.requests:
        if p.rel_path in answered:
            problems.append(f"{p.rel_path}: its answer from an interrupted run was recorded; not sent again.")
        elif p.rel_path in in_flight:
            problems.append(f"{p.rel_path}: sent by another run since this plan was made (in flight or answered); "
                            "not sent again.")
        else:
            items.append(p)
    return items, problems


def _run_held(folder: Folder, plan: SubmissionPlan, client: Any, ledger: Ledger, opts: _Options) -> OnlineResult:
    recovered = recover_held(folder, ledger, checkpoints=opts.checkpoints)
    items, problems = _sendable(plan, ledger, recovered)
    base = OnlineResult(problems=tuple(problems), recovered=tuple(recovered), estimate_usd=opts.now_usd)
    if not items:
        return replace(base, blocked="Nothing to send: every planned video was answered or is in a batch.")
    items = _links(ledger, items)
    rows = (ledger.request(p.retry_of) for p in items if p.retry_of is not None)
    resent_usd = sum(r.cost_usd or 0.0 for r in rows if r is not None and r.error_kind == INTERRUPTED_KIND)
    file_ids: dict[str, str] | None = None
    if plan.image_source == ImageSource.FILE:
        try:
            file_ids = upload_frames(folder, client, (f for p in items for f in p.frames), ledger=ledger)
        except Exception as exc:
            return replace(base, blocked=f"The frames could not be uploaded: {describe_error(exc)}")
    try:
        folder.save_profile(plan.profile)
    except (OSError, ValueError) as exc:
        problems.append(f"The prompt profile could not be saved for retries: {exc}")
    per_request = opts.now_usd / len(plan.requests) if opts.now_usd is not None else None
    settings_record = SentSettings(plan.settings, plan.max_tokens, plan.profile.name, str(plan.image_source),
                                   opts.concurrency, plan.estimate.record("caching") if plan.estimate is not None
                                   else None, cascade_pass=plan.cascade_pass).to_dict()
    run_id = ledger.new_run(mode="standard", model=plan.model, prompt_hash=plan.profile.hash,
                            settings=settings_record, retry_of=plan.retry_of_run,
                            estimate_usd=per_request * len(items) if per_request is not None else None,
                            note=opts.note)
    sink = RecordSink(folder, plan, ledger, run_id, checkpoints=opts.checkpoints)
    sent = send_each(plan, items, client, sink, cap=SpendCap(opts.cap_usd, per_request), concurrency=opts.concurrency,
                     on_progress=opts.on_progress, stop=opts.stop, max_attempts=opts.max_attempts, sleep=opts.sleep,
                     clock=opts.clock, rng=opts.rng, file_ids=file_ids)
    return OnlineResult(
        run_id=run_id, outcomes=sent.outcomes, not_sent=sent.not_sent, stopped=sent.stopped,
        problems=(*problems, *sink.problems, *sent.problems), recovered=tuple(recovered), estimate_usd=opts.now_usd,
        spent_usd=sent.spent_usd, possibly_billed_usd=resent_usd, elapsed_s=opts.clock() - opts.started,
        calls=sent.calls, throttled=sent.throttled, retries=sent.retries, concurrency=sent.concurrency,
        max_concurrency=opts.concurrency, lowest_concurrency=sent.lowest_concurrency,
        peak_in_flight=sent.peak_in_flight)


@dataclass(frozen=True)
class Sent:
    """What ``send_each`` did: each outcome (as its sink made it), what was not sent, why it stopped."""

    outcomes: tuple[RequestOutcome, ...]
    not_sent: tuple[str, ...]
    stopped: str | None
    capped: bool  # stopped because the next request could pass the spend cap
    problems: tuple[str, ...]
    spent_usd: float
    calls: int
    throttled: int
    retries: int
    concurrency: tuple[ConcurrencyChange, ...]
    lowest_concurrency: int
    peak_in_flight: int


def send_each(plan: SubmissionPlan, items: Sequence[PlannedRequest], client: Any, sink: Sink, *, cap: SpendCap,
              concurrency: int = DEFAULT_CONCURRENCY, on_progress: Progress | None = None,
              stop: threading.Event | None = None, max_attempts: int = DEFAULT_RETRY.max_attempts,
              sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
              rng: random.Random | None = None, file_ids: dict[str, str] | None = None,
              extra_params: dict[str, Any] | None = None) -> Sent:
    """The one engine that sends Messages API requests now: ``items`` of ``plan`` through ``client``,
    each outcome handed to ``sink``, under the spend guard ``cap`` (``gaia.runs.guard.SpendCap``).

    At most ``concurrency`` requests are in flight (fewer after 429/529, ``AdaptiveConcurrency``);
    failures are retried as ``gaia.api.retry`` says, classified by type and status code. ``stop``
    lets requests in flight finish and sends nothing more. ``extra_params`` are added to every request
    (the tune's replicate sends its own ``metadata``). The caller opens the send (the guard's
    ``cap_problem``, locks, ledger run); ``run_now`` and the tune both send through here.
    """
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    stop = stop or threading.Event()
    with contextlib.suppress(AttributeError):  # a stand-in client in tests has no with_options
        client = client.with_options(max_retries=0)
    limiter = AdaptiveConcurrency(concurrency, clock=clock, sleep=sleep)
    run = _Run(plan, client, sink, items=list(items), limiter=limiter, cap=cap, stop=stop,
               max_attempts=max_attempts, sleep=sleep, rng=rng or random.Random(), file_ids=file_ids)
    run.extra = dict(extra_params or {})
    _drive(run, len(items), concurrency, on_progress)
    stopped = run.stopped
    if stopped is None and stop.is_set() and run.not_sent:
        stopped = "Stopped on request; nothing more was sent."
    return Sent(tuple(run.outcomes), tuple(run.not_sent), stopped, run.capped, tuple(run.problems), run.cap.spent,
                run.tally.calls, run.tally.throttled, run.tally.retries, tuple(limiter.changes), limiter.lowest,
                limiter.peak_in_flight)


def _drive(run: _Run, total: int, concurrency: int, on_progress: Progress | None) -> None:
    """Run the workers to the end, reporting progress on the calling thread; re-raise a worker's crash."""
    workers = [threading.Thread(target=run.worker, name=f"gaia-run-now-{i}", daemon=True)
               for i in range(min(concurrency, total))]
    for t in workers:
        t.start()
    done, alive = 0, len(workers)
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
