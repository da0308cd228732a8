"""The batch lifecycle: plan, submit, reconcile, watch, cancel, retrieve into sidecars, retry.

Every function takes the folder and (when it talks to the API) an injected ``anthropic.Anthropic``
client, so the app, the CLI and the tests (a client pointed at the local emulator) share one code
path; ``make_client`` is the one place a client is made. The ledger (``gaia.ledger``) is the only
state besides the sidecars, and every step is written so that killing the process at any point
loses nothing and pays for nothing twice:

- ``submit`` builds each batch's body into a spool file one request at a time, writes the intent
  (a pending batch with its custom_ids) to the ledger, then creates the batch. After a crash,
  ``reconcile`` matches pending intents to the API's ``batches.list()`` (request count and creation
  time, never an id already known) and adopts the batch, or records that it was never created so
  its videos are sent next time. Creation is not blindly retried: after an ambiguous failure the
  list is checked first.
- ``retrieve`` streams each ended batch's results (never holding them all), validates every
  answer, writes the sidecar through ``gaia.sidecar.write_sidecar`` and only then marks the
  request done. A re-run skips what is done; a sidecar already holding this very request's answer
  is not written again. Unknown custom_ids, invalid answers, refusals, cut-off answers, errored,
  expired and canceled requests, and requests missing from the results are all recorded with a
  reason and listed by ``failures``; ``retry_failed`` sends exactly those in a new batch linked
  to the original run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gaia.api.client import describe_error
from gaia.api.requests import (
    DEFAULT_MAX_TOKENS,
    AnswerChecker,
    RequestProblem,
    SpoolBody,
    batch_byte_budget,
    build_request_for,
    custom_id_for,
    dumps,
    keyframe_problems,
    model_problems,
    parse_answer,
    request_size_for,
    split_batches,
    write_batch_body,
)
from gaia.api.retry import DEFAULT_RETRY
from gaia.facts import BATCH_EXPIRY_HOURS, BATCH_MAX_BYTES, RESULTS_RETENTION_DAYS
from gaia.folder import LOCK_RETRIEVE, Folder, FolderBusy
from gaia.ledger import BatchRow, Ledger, RequestIntent, RequestRow, now_iso, parse_time
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.prompts import ProfileNotFound, PromptProfile, schema_problems
from gaia.settings import RunSettings, Selection, run_fingerprint
from gaia.sidecar import SidecarError, read_sidecar, sidecar_state, write_sidecar

Progress = Callable[[int, int], None]

SPOOL_DIR = "spool"
UNWRITTEN_DIR = "unwritten"
LOCK_SUBMIT = "submit.lock"
# A batch created more than this before its intent was written cannot be the intent's batch.
RECONCILE_CLOCK_SKEW = timedelta(minutes=10)
# ... nor one created this long after it (uploading 256 MB takes minutes, not hours).
RECONCILE_WINDOW = timedelta(hours=6)
RETENTION_WARNING_DAYS = 5
IMAGE_SOURCES = ("base64", "file")  # frames inline, or uploaded once through the Files API
FILES_TTL_S = 30 * 24 * 3600  # uploaded frames expire after 30 days (the API allows 1 hour to 90 days)
FILES_NOTE = ("Uploaded frames are referenced by file_id. The Message Batches documentation does not say whether "
              "batches accept file references; if the first batch comes back with errored results, submit with "
              "inline images instead.")
# Retrieval reads a batch's ledger rows in one query up to this many requests (a few MB), else one by one.
PREFETCH_MAX_ROWS = 20_000
CREATE_ATTEMPTS = 4
DEFAULT_POLL_S = 60.0
FIRST_POLL_S = 5.0  # watch polls soon after submitting, then backs off to the poll interval

COUNTS_NOTE = ("The API reports request counts only once the whole batch has ended; until then every "
               "request shows as processing.")


# Test seam: ``GAIA_TEST_KILL_AT=POINT:N`` kills this process (SIGKILL) the N-th time it reaches
# checkpoint POINT, and ``_CHECKPOINT_HOOK`` (set by tests) is called at every checkpoint. The
# points: spool_written, intent_written, batch_created, batch_recorded (submit); result_received,
# sidecar_written, result_recorded (retrieve). Used by tests/test_crash.py only.
KILL_ENV = "GAIA_TEST_KILL_AT"
_CHECKPOINT_HOOK: Callable[[str], None] | None = None
_checkpoint_counts: dict[str, int] = {}


def _checkpoint(name: str) -> None:
    spec = os.environ.get(KILL_ENV)
    if spec:
        point, _, nth = spec.partition(":")
        if point == name:
            _checkpoint_counts[name] = _checkpoint_counts.get(name, 0) + 1
            if _checkpoint_counts[name] >= int(nth or 1):
                import signal

                os.kill(os.getpid(), signal.SIGKILL)
    if _CHECKPOINT_HOOK is not None:
        _CHECKPOINT_HOOK(name)


# ---------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedRequest:
    """One video to send: its frames, its custom_id and the request's exact size in bytes."""

    rel_path: str
    kset: KeyframeSet
    frames: tuple[Keyframe, ...]
    custom_id: str
    nbytes: int
    attempt: int = 1
    retry_of: int | None = None

    @property
    def timestamps(self) -> tuple[float, ...]:
        """Frame times in seconds, in order."""
        return tuple(round(f.timestamp, 3) for f in sorted(self.frames, key=lambda f: f.timestamp))

    @property
    def image_tokens(self) -> int:
        """Image tokens of the frames sent."""
        return sum(f.tokens for f in self.frames)


@dataclass(frozen=True)
class SkippedVideo:
    """A video left out of the run, and why (``kind``: analysed, in_flight, excluded, problem)."""

    rel_path: str
    kind: str
    reason: str


@dataclass(frozen=True)
class PlannedBatch:
    """One batch of the plan: which requests (by index in ``plan.requests``), its size, why it ends."""

    index: int
    start: int
    stop: int
    nbytes: int
    reason: str

    @property
    def n_requests(self) -> int:
        """Requests in the batch."""
        return self.stop - self.start

    @property
    def reason_text(self) -> str:
        """Why the batch ends where it does, in words."""
        return {"bytes": "full by size", "count": "full by request count", "end": "the rest"}.get(self.reason,
                                                                                                 self.reason)


@dataclass(frozen=True)
class SubmissionPlan:
    """What a submission would send, what it leaves out and why, how it splits, what it may cost."""

    folder: Path
    settings: RunSettings
    profile: PromptProfile
    max_tokens: int
    requests: tuple[PlannedRequest, ...]
    batches: tuple[PlannedBatch, ...]
    skipped: tuple[SkippedVideo, ...] = ()
    problems: tuple[RequestProblem, ...] = ()
    estimate: Any | None = None
    estimate_usd: float | None = None
    estimate_note: str | None = None
    retry_of_run: str | None = None
    max_batch_bytes: int = BATCH_MAX_BYTES
    max_batch_requests: int | None = None
    image_source: str = "base64"
    notes: tuple[str, ...] = ()

    @property
    def model(self) -> str:
        """The model every request uses."""
        return self.settings.model

    @property
    def fingerprint(self) -> dict[str, Any]:
        """The ``run.fingerprint`` the sidecars of this run will hold."""
        return run_fingerprint(self.settings, self.profile.hash)

    @property
    def n_frames(self) -> int:
        """Frames sent in total."""
        return sum(len(r.frames) for r in self.requests)

    @property
    def total_bytes(self) -> int:
        """Serialized size of every request together."""
        return sum(r.nbytes for r in self.requests)

    @property
    def image_tokens(self) -> int:
        """Image tokens of every frame sent."""
        return sum(r.image_tokens for r in self.requests)

    @property
    def blocking_problems(self) -> tuple[RequestProblem, ...]:
        """Problems that stop the whole run."""
        return tuple(p for p in self.problems if p.blocking)

    @property
    def ok(self) -> bool:
        """Whether there is something to send and nothing blocks it."""
        return bool(self.requests) and not self.blocking_problems

    @property
    def distinct_frames(self) -> tuple[int, int]:
        """How many distinct frame files the run sends, and their bytes (what an upload would send)."""
        seen: dict[str, int] = {}
        for r in self.requests:
            for f in r.frames:
                seen[str(f.path)] = f.nbytes
        return len(seen), sum(seen.values())

    @property
    def image_source_advice(self) -> str:
        """Whether uploading the frames once (Files API) would pay for this run, in one sentence."""
        n, nbytes = self.distinct_frames
        if not n:
            return ""
        if self.image_source == "file":
            return (f"The {n} frames ({nbytes / 1e6:.1f} MB) are uploaded once and referenced by file_id; later "
                    "retries and re-runs with another prompt or model reuse them.")
        by_bytes = sum(1 for b in self.batches if b.reason == "bytes")
        if by_bytes:
            return (f"Inline images make {len(self.batches)} batches here (the size limit decides). Uploading the "
                    f"{n} frames once ({nbytes / 1e6:.1f} MB) would fit the run in far fewer, and re-runs with "
                    "another prompt or model would reuse them.")
        return ("Inline images are simplest for this run. Uploading frames once pays when you will send the same "
                "frames again (retries, other prompts or models) or when the size limit splits a run.")

    def skipped_by(self, kind: str) -> tuple[SkippedVideo, ...]:
        """The skipped videos of one kind (analysed, in_flight, excluded, problem)."""
        return tuple(s for s in self.skipped if s.kind == kind)

    @property
    def split_explanation(self) -> str:
        """How the run splits into batches and why, in one sentence."""
        n = len(self.batches)
        if not n:
            return "Nothing to send."
        mb = self.total_bytes / 1e6
        limit = batch_byte_budget(self.max_batch_bytes) / 1e6
        if n == 1:
            return (f"One batch: {len(self.requests)} requests, {mb:.1f} MB, within the limits "
                    f"({limit:.0f} MB with a safety margin, {self.max_batch_requests or 100_000:,} requests).")
        by_bytes = sum(1 for b in self.batches if b.reason == "bytes")
        by_count = sum(1 for b in self.batches if b.reason == "count")
        why = (f"the {limit:.0f} MB size limit (with a safety margin) decides" if by_bytes >= by_count else
               f"the limit of {self.max_batch_requests or 100_000:,} requests per batch decides")
        return f"{n} batches for {len(self.requests)} requests ({mb:.1f} MB): {why}."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json`` and the dry run's companion)."""
        return {
            "folder": str(self.folder), "model": self.model, "cache_ttl": self.settings.cache_ttl,
            "prompt_profile": self.profile.name, "prompt_hash": self.profile.hash, "max_tokens": self.max_tokens,
            "videos": len(self.requests), "frames": self.n_frames, "image_tokens": self.image_tokens,
            "bytes": self.total_bytes, "estimate_usd": self.estimate_usd, "estimate_note": self.estimate_note,
            "batches": [{"index": b.index, "requests": b.n_requests, "bytes": b.nbytes, "reason": b.reason}
                        for b in self.batches],
            "split": self.split_explanation,
            "skipped": [{"rel_path": s.rel_path, "kind": s.kind, "reason": s.reason} for s in self.skipped],
            "problems": [p.to_dict() for p in self.problems],
            "retry_of_run": self.retry_of_run, "image_source": self.image_source,
            "image_source_advice": self.image_source_advice, "notes": list(self.notes),
        }


def _estimate(ksets: Sequence[KeyframeSet], planned: Sequence[PlannedRequest], settings: RunSettings,
              profile: PromptProfile, folder: Path, client: Any | None) -> tuple[Any, float | None, str | None]:
    """The cost estimate (``gaia.pricing.cost.estimate_run``) for exactly the planned videos, when available."""
    if not planned:
        return None, None, None
    try:
        from gaia.pricing import cost
    except ImportError:
        return None, None, "Cost estimates are not available in this version."
    wanted = {p.rel_path: p for p in planned}
    sets = []
    for ks in ksets:
        p = wanted.get(ks.rel_path)
        if p is not None:
            sets.append(replace(ks, frames=p.frames))
    try:
        est = cost.estimate_run(sets, model=settings.model, profile=profile, cache_ttl=settings.cache_ttl,
                                history=cost.history(folder, profile.hash, settings.model), explain=False)
        totals = est.total_usd
        usd = float(totals["batch_caching"] if "batch_caching" in totals else totals["batch"])
        return est, usd, None
    except Exception as exc:  # an estimate must never stop a submission plan
        return None, None, f"The cost could not be estimated: {exc}"


def api_model_problems(client: Any, model: str) -> list[RequestProblem]:
    """What the API's Models endpoint says against using ``model`` for image batches.

    A model the API does not know, or whose capabilities say no batches or no images, blocks the
    run; when the endpoint cannot be reached nothing is concluded (the submission will tell).
    """
    import anthropic

    try:
        info = client.models.retrieve(model)
    except anthropic.NotFoundError:
        return [RequestProblem(None, f"The API does not offer the model {model!r} to this key.",
                               "Choose another model.", blocking=True)]
    except Exception:
        return []
    caps = getattr(info, "capabilities", None)
    out = []
    for name, words in (("batch", "the Message Batches API"), ("image_input", "images")):
        support = getattr(caps, name, None) if caps is not None else None
        if support is not None and getattr(support, "supported", True) is False:
            out.append(RequestProblem(None, f"{model} does not support {words}.", "Choose another model.",
                                      blocking=True))
    return out


def plan_submission(
    folder: Path | str,
    settings: RunSettings | None = None,
    *,
    force: bool = False,
    profile: PromptProfile | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    selection: Selection | None = None,
    extract: bool = False,
    limit: int | None = None,
    max_tokens: int | None = None,
    max_batch_bytes: int | None = None,
    max_batch_requests: int | None = None,
    image_source: str = "base64",
    client: Any | None = None,
    on_progress: Progress | None = None,
) -> SubmissionPlan:
    """What submitting ``folder`` now would send, leave out, split into and cost.

    ``settings`` default to the folder's saved run settings and ``profile`` to its saved prompt
    profile. Keyframes come from ``keyframe_sets`` when given, else from the frame cache
    (``extract=True`` extracts missing ones, reporting ``on_progress``). Videos whose sidecar
    already holds an analysis with the same fingerprint are skipped unless ``force``; videos already
    in a batch awaiting results are always skipped (sending them again would pay twice).
    ``limit`` keeps only the first N videos (trials and "run now"). With a ``client``, batches left
    pending by an interrupted submission are reconciled first. ``image_source="file"`` uploads
    each frame once through the Files API at submit time and references it by ``file_id``
    (requests become a few KB, so the 256 MB limit no longer splits the run; see ``FILES_NOTE``).
    """
    folder = Path(folder).resolve()
    settings = settings or Folder.of(folder).settings()
    max_tokens = max_tokens or settings.max_tokens
    problems: list[RequestProblem] = []
    if image_source not in IMAGE_SOURCES:
        raise ValueError(f"image_source must be one of {IMAGE_SOURCES}, not {image_source!r}")
    if profile is None:
        try:
            profile = Folder.of(folder).profile(settings.prompt_profile)
        except ProfileNotFound as exc:
            problems.append(RequestProblem(None, str(exc), "Choose a saved prompt profile.", blocking=True))
            from gaia.prompts import default_profile

            profile = default_profile()
    for text in schema_problems(profile.schema):
        problems.append(RequestProblem(None, text, "Fix the output schema on the Prompt page.", blocking=True))
    problems.extend(model_problems(settings.model))
    if client is not None:
        problems.extend(api_model_problems(client, settings.model))
        try:
            reconcile(folder, client)
        except Exception as exc:
            problems.append(RequestProblem(None, f"Could not check interrupted submissions with the API "
                                           f"({describe_error(exc)}); their videos are left out for now.",
                                           "Try again when the API can be reached."))
    selection = selection if selection is not None else Folder.of(folder).selection()
    skipped: list[SkippedVideo] = []
    ksets = list(keyframe_sets) if keyframe_sets is not None else _keyframe_sets(
        folder, settings, extract=extract, skipped=skipped, on_progress=on_progress)
    in_flight: dict[str, RequestRow] = {}
    if Folder.of(folder).has_ledger:
        # Run-now answers an interrupted run left spooled count as written before anything is planned.
        from gaia.runs.now import recover_interrupted

        recover_interrupted(folder)
        with Folder.of(folder).ledger() as ledger:
            in_flight = ledger.in_flight()
    fingerprint = run_fingerprint(settings, profile.hash)
    planned: list[PlannedRequest] = []
    for ks in ksets:
        rel = ks.rel_path
        if selection.video_excluded(rel):
            skipped.append(SkippedVideo(rel, "excluded", "Excluded by you."))
            continue
        if rel in in_flight:
            row = in_flight[rel]
            where = f"batch {row.batch_id}" if row.batch_id else "a batch whose creation is being checked"
            skipped.append(SkippedVideo(rel, "in_flight", f"Already sent in {where}; waiting for its result."))
            continue
        state = sidecar_state(ks.video, fingerprint)
        if state == "unreadable":
            problems.append(RequestProblem(rel, "Its sidecar exists but is not valid JSON, so GAIA would not "
                                           "overwrite it.", "Fix or delete the .gaia.json file beside the video."))
            continue
        if state == "analysed" and not force:
            skipped.append(SkippedVideo(rel, "analysed", "Already analysed with the same keyframes, prompt and "
                                        "model (use force to send it again)."))
            continue
        frames = ks.included_frames(selection) if not ks.problem else ()
        nbytes = request_size_for(rel, frames, profile, model=settings.model, cache_ttl=settings.cache_ttl,
                                  max_tokens=max_tokens, by_file=image_source == "file") if frames else None
        found = keyframe_problems(ks, model=settings.model, selection=selection, nbytes=nbytes,
                                  max_request_bytes=batch_byte_budget(max_batch_bytes))
        if found:
            problems.extend(found)
            continue
        planned.append(PlannedRequest(rel, ks, tuple(sorted(frames, key=lambda f: f.timestamp)),
                                      custom_id_for(rel), int(nbytes or 0)))
        if limit is not None and len(planned) >= limit:
            break
    return _finish_plan(folder, settings, profile, max_tokens, planned, ksets, skipped, problems,
                        max_batch_bytes=max_batch_bytes, max_batch_requests=max_batch_requests, client=client,
                        image_source=image_source)


def _finish_plan(folder: Path, settings: RunSettings, profile: PromptProfile, max_tokens: int,
                 planned: list[PlannedRequest], ksets: Sequence[KeyframeSet], skipped: list[SkippedVideo],
                 problems: list[RequestProblem], *, max_batch_bytes: int | None, max_batch_requests: int | None,
                 client: Any | None, retry_of_run: str | None = None,
                 image_source: str = "base64") -> SubmissionPlan:
    slices = split_batches((p.nbytes for p in planned), max_bytes=max_batch_bytes, max_requests=max_batch_requests)
    batches = tuple(PlannedBatch(i, s.start, s.stop, s.nbytes, s.reason) for i, s in enumerate(slices))
    est, usd, note = _estimate(ksets, planned, settings, profile, folder, None)
    return SubmissionPlan(
        folder=folder, settings=settings, profile=profile, max_tokens=max_tokens, requests=tuple(planned),
        batches=batches, skipped=tuple(skipped), problems=tuple(problems), estimate=est, estimate_usd=usd,
        estimate_note=note, retry_of_run=retry_of_run, max_batch_bytes=max_batch_bytes or BATCH_MAX_BYTES,
        max_batch_requests=max_batch_requests, image_source=image_source,
        notes=(FILES_NOTE,) if image_source == "file" else (),
    )


def _keyframe_sets(folder: Path, settings: RunSettings, *, extract: bool, skipped: list[SkippedVideo],
                   on_progress: Progress | None, rel_paths: set[str] | None = None) -> list[KeyframeSet]:
    from gaia.media.keyframes import cached_keyframes, extract_keyframes
    from gaia.media.scan import scan_folder

    scan = scan_folder(folder)
    usable = []
    for rec in scan.records:
        if rel_paths is not None and rec.rel_path not in rel_paths:
            continue
        if rec.usable:
            usable.append(rec)
        else:
            skipped.append(SkippedVideo(rec.rel_path, "problem", rec.problem or "unusable"))
    if not usable:
        return []
    if extract:
        return list(extract_keyframes(folder, settings=settings.keyframes, model=settings.model, records=usable,
                                      on_progress=on_progress))
    return list(cached_keyframes(folder, settings=settings.keyframes, model=settings.model, records=usable))


# ---------------------------------------------------------------------------------------------------
# Submitting
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubmittedBatch:
    """One batch a submission created (or tried to): its ids, size and state."""

    local_id: int
    batch_id: str | None
    n_requests: int
    nbytes: int
    state: str  # "submitted" or "abandoned"
    error: str | None = None


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
        return sum(b.n_requests for b in self.batches if b.state == "submitted")

    @property
    def ok(self) -> bool:
        """Nothing blocked and every batch was created."""
        return self.blocked is None and all(b.state == "submitted" for b in self.batches)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "run_ids": list(self.run_ids), "sent": self.sent, "blocked": self.blocked, "problems": list(self.problems),
            "batches": [vars(b) for b in self.batches], "estimate_usd": self.estimate_usd,
            "dry_run_path": str(self.dry_run_path) if self.dry_run_path else None,
            "dry_run_requests": self.dry_run_requests, "reconciled": list(self.reconciled),
            "dropped": list(self.dropped),
        }


def _request_lines(plan: SubmissionPlan, items: Sequence[PlannedRequest], failed: list[tuple[str, str]],
                   kept: list[PlannedRequest], tick: Callable[[], None],
                   file_ids: dict[str, str] | None = None) -> Iterator[bytes]:
    for p in items:
        try:
            req = build_request_for(p.rel_path, p.frames, plan.profile, model=plan.model,
                                    cache_ttl=plan.settings.cache_ttl, max_tokens=plan.max_tokens, attempt=p.attempt,
                                    file_ids=file_ids)
        except OSError as exc:
            failed.append((p.rel_path, f"a frame could not be read ({exc.strerror or exc}); extract keyframes "
                                       "again"))
            tick()
            continue
        line = dumps(req)
        kept.append(replace(p, nbytes=len(line)))
        tick()
        yield line


def upload_frames(
    folder: Path | str,
    client: Any,
    frames: Iterable[Keyframe],
    *,
    ledger: Ledger | None = None,
    on_progress: Progress | None = None,
) -> dict[str, str]:
    """Upload each distinct frame once through the Files API; returns frame path → ``file_id``.

    Frames are identified by the sha256 of their bytes, and ids already uploaded (recorded in the
    ledger, valid for at least the batch's 24 hours more) are reused, so a retry or a re-run with
    another prompt uploads nothing again. Raises the SDK's error when an upload fails.
    """
    import hashlib

    own = ledger is None
    ledger = ledger or Folder.of(folder).ledger()
    try:
        by_path: dict[str, tuple[str, Path, int]] = {}
        for f in frames:
            key = str(f.path)
            if key not in by_path:
                data = f.path.read_bytes()
                by_path[key] = (hashlib.sha256(data).hexdigest(), f.path, len(data))
        known = ledger.file_ids((d for d, _, _ in by_path.values()), valid_for_s=(BATCH_EXPIRY_HOURS + 1) * 3600)
        todo = {d: (p, n) for d, p, n in by_path.values() if d not in known}
        for done, (digest, (path, nbytes)) in enumerate(todo.items(), start=1):
            data = path.read_bytes()
            meta = client.files.upload(file=(path.name, data, "image/jpeg"), expires_in_seconds=FILES_TTL_S)
            expires = datetime.now(UTC) + timedelta(seconds=FILES_TTL_S)
            ledger.add_file(digest, meta.id, nbytes=nbytes, expires_at=expires.isoformat())
            known[digest] = meta.id
            if on_progress:
                on_progress(done, len(todo))
        return {key: known[digest] for key, (digest, _p, _n) in by_path.items()}
    finally:
        if own:
            ledger.close()


def plan_intents(plan: SubmissionPlan, items: Sequence[PlannedRequest] | None = None, *,
                 estimate_usd: float | None = None) -> list[RequestIntent]:
    """Ledger rows-to-be for planned requests (all of the plan's by default).

    What ``submit`` records before creating a batch, and what "run now" passes to
    ``Ledger.add_standard_requests`` before sending the same requests through the Messages API.
    ``estimate_usd`` is the estimate per request, when known.
    """
    if estimate_usd is None and plan.estimate_usd is not None and plan.requests:
        estimate_usd = plan.estimate_usd / len(plan.requests)
    return [RequestIntent(
        custom_id=p.custom_id, rel_path=p.rel_path, set_id=p.kset.set_id, timestamps=p.timestamps,
        prompt_hash=plan.profile.hash, model=plan.model, fingerprint=plan.fingerprint, attempt=p.attempt,
        retry_of=p.retry_of, nbytes=p.nbytes, estimate_usd=estimate_usd) for p in (plan.requests if items is None
                                                                                  else items)]


def write_dry_run(plan: SubmissionPlan, path: Path, *, on_progress: Progress | None = None) -> int:
    """Write every request of ``plan`` as JSONL (one ``{"custom_id", "params"}`` per line) to ``path``.

    Streams: one request in memory at a time. Returns the number of requests written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    total = len(plan.requests)
    done = 0
    failed: list[tuple[str, str]] = []
    kept: list[PlannedRequest] = []

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        for line in _request_lines(plan, plan.requests, failed, kept, tick):
            fh.write(line)
            fh.write(b"\n")
            kept.clear()
    os.replace(tmp, path)
    return total - len(failed)


def _create_batch(client: Any, body: Path) -> Any:
    """POST the spooled body to the Message Batches API, streamed from disk (no SDK retries)."""
    from anthropic.types.messages import MessageBatch

    return client.with_options(max_retries=0).post(
        "/v1/messages/batches", cast_to=MessageBatch, content=SpoolBody(body),
        options={"headers": {"Content-Type": "application/json"}},
    )


def _batch_dict(batch: Any) -> dict[str, Any]:
    if isinstance(batch, dict):
        return batch
    return batch.model_dump(mode="json")


def submit(
    folder: Path | str,
    plan: SubmissionPlan,
    client: Any,
    *,
    dry_run_to: Path | None = None,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SubmitResult:
    """Send ``plan`` as one or more batches (or, with ``dry_run_to``, write its JSONL and send nothing).

    Blocked, with the reason in ``blocked``, when the plan has blocking problems, nothing to send,
    or an estimate above ``max_cost_usd`` (or no estimate to check the cap against). For each batch
    the body is spooled to ``.gaia/spool/``, the intent is written to the ledger, and only then is
    the batch created; a rate-limited or overloaded API is retried with backoff, an ambiguous
    failure is checked against the API's batch list before anything is sent again.
    ``on_progress(done, total)`` counts requests built.
    """
    folder = Path(folder).resolve()
    if plan.blocking_problems:
        return SubmitResult(blocked="; ".join(p.problem for p in plan.blocking_problems),
                            estimate_usd=plan.estimate_usd)
    if not plan.requests:
        return SubmitResult(blocked="Nothing to send: every video is analysed, excluded, in flight or has a problem.")
    if dry_run_to is not None:  # sends nothing, so no cap applies
        n = write_dry_run(plan, Path(dry_run_to), on_progress=on_progress)
        return SubmitResult(dry_run_path=Path(dry_run_to), dry_run_requests=n, estimate_usd=plan.estimate_usd)
    if max_cost_usd is not None:
        if plan.estimate_usd is None:
            return SubmitResult(blocked=f"A spend cap of ${max_cost_usd:.2f} was set but there is no cost estimate "
                                        "to check it against.")
        if plan.estimate_usd > max_cost_usd:
            return SubmitResult(blocked=f"The estimated cost ${plan.estimate_usd:.2f} is above your cap of "
                                        f"${max_cost_usd:.2f}.", estimate_usd=plan.estimate_usd)
    try:
        with Folder.of(folder).lock(LOCK_SUBMIT, what="submitting to"):
            return _submit_locked(folder, plan, client, on_progress=on_progress, sleep=sleep)
    except FolderBusy as exc:
        return SubmitResult(blocked=str(exc))


def _submit_locked(folder: Path, plan: SubmissionPlan, client: Any, *, on_progress: Progress | None,
                   sleep: Callable[[float], None]) -> SubmitResult:
    try:
        reconciled = [r.batch_id for r in _reconcile_locked(folder, client) if r.batch_id]
    except Exception as exc:
        return SubmitResult(blocked=f"An earlier submission was interrupted and could not be checked with the API "
                                    f"({describe_error(exc)}); nothing was sent. Try again when the API answers.")
    spool_dir = Folder.of(folder).workdir / SPOOL_DIR
    problems: list[str] = []
    dropped: list[str] = []
    results: list[SubmittedBatch] = []
    total = len(plan.requests)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    with Folder.of(folder).ledger() as ledger:
        in_flight = ledger.in_flight()
        settings_record = {**plan.settings.to_dict(), "max_tokens": plan.max_tokens,
                           "prompt_profile_name": plan.profile.name, "image_source": plan.image_source}
        file_ids: dict[str, str] | None = None
        if plan.image_source == "file":
            try:
                file_ids = upload_frames(folder, client, (f for r in plan.requests for f in r.frames), ledger=ledger)
            except Exception as exc:
                return SubmitResult(blocked=f"The frames could not be uploaded: {describe_error(exc)}",
                                    estimate_usd=plan.estimate_usd, reconciled=tuple(reconciled))
        try:
            Folder.of(folder).save_profile(plan.profile)
        except (OSError, ValueError) as exc:
            problems.append(f"The prompt profile could not be saved for retries: {exc}")
        run_id = ledger.new_run(mode="batch", model=plan.model, prompt_hash=plan.profile.hash,
                                settings=settings_record, retry_of=plan.retry_of_run, estimate_usd=plan.estimate_usd)
        per_request_usd = (plan.estimate_usd / total) if plan.estimate_usd is not None and total else None
        fatal: str | None = None
        for pb in plan.batches:
            items = list(plan.requests[pb.start:pb.stop])
            if fatal is not None:
                for _ in items:
                    tick()
                continue
            fresh = []
            for p in items:
                if p.rel_path in in_flight:
                    dropped.append(p.rel_path)
                    tick()
                else:
                    fresh.append(p)
            if not fresh:
                continue
            spool = spool_dir / f"{run_id}-{pb.index:04d}.json"
            failed: list[tuple[str, str]] = []
            kept: list[PlannedRequest] = []
            count, nbytes = write_batch_body(_request_lines(plan, fresh, failed, kept, tick, file_ids), spool)
            _checkpoint("spool_written")
            for rel, why in failed:
                dropped.append(rel)
                problems.append(f"{rel}: {why}")
            if not count:
                spool.unlink(missing_ok=True)
                continue
            if nbytes > plan.max_batch_bytes:
                spool.unlink(missing_ok=True)
                problems.append(f"Batch {pb.index + 1} came out at {nbytes / 1e6:.1f} MB, above the limit (frames "
                                "changed since the plan?); plan again.")
                continue
            intents = plan_intents(plan, kept, estimate_usd=per_request_usd)
            local_id = ledger.add_batch_intent(
                run_id, intents, nbytes=nbytes, split_reason=pb.reason, spool_path=str(spool),
                estimate_usd=per_request_usd * len(intents) if per_request_usd is not None else None)
            _checkpoint("intent_written")
            try:
                outcome = _create_with_care(folder, ledger, client, local_id, spool, sleep=sleep)
            except Exception as exc:  # unexpected: whether the batch exists is unknown, so keep the intent
                problems.append(f"Batch {pb.index + 1}: {describe_error(exc)}. Whether it was created is checked "
                                "with the API the next time (nothing will be sent twice).")
                fatal = str(exc)
                continue
            _checkpoint("batch_recorded")
            results.append(outcome)
            if outcome.state == "submitted":
                spool.unlink(missing_ok=True)
                ledger.set_spool_path(local_id, None)
                for p in kept:
                    in_flight[p.rel_path] = ledger.request_in_batch(outcome.batch_id or "", p.custom_id)  # type: ignore[assignment]
            else:
                problems.append(f"Batch {pb.index + 1} was not created: {outcome.error}")
                if outcome.error and outcome.error.startswith(("HTTP 401", "HTTP 402", "HTTP 403")):
                    fatal = outcome.error
    return SubmitResult(run_ids=(run_id,), batches=tuple(results), problems=tuple(problems),
                        estimate_usd=plan.estimate_usd, reconciled=tuple(reconciled), dropped=tuple(dropped))


def _create_with_care(folder: Path, ledger: Ledger, client: Any, local_id: int, spool: Path, *,
                      sleep: Callable[[float], None]) -> SubmittedBatch:
    """Create one batch whose intent is written; retry only when it surely was not created."""
    import anthropic

    row = ledger.batch_by_local_id(local_id)
    assert row is not None
    error = "unknown error"
    for attempt in range(CREATE_ATTEMPTS):
        try:
            batch = _create_batch(client, spool)
        except anthropic.APIStatusError as exc:
            error = describe_error(exc)
            status = exc.status_code
            if status in (429, 529):  # refused before anything was created: safe to send again
                sleep(DEFAULT_RETRY.wait_s(exc, attempt + 1))
                continue
            if status >= 500 or status in (408, 409):  # may or may not have been created: look first
                found = _adopt_from_list(ledger, client, local_id)
                if found:
                    return found
                sleep(DEFAULT_RETRY.wait_s(exc, attempt + 1))
                continue
            ledger.mark_batch_abandoned(local_id, error)
            return SubmittedBatch(local_id, None, row.n_requests, row.nbytes or 0, "abandoned", error)
        except anthropic.APIConnectionError as exc:  # includes timeouts: the POST may have landed
            error = describe_error(exc)
            with contextlib.suppress(Exception):
                found = _adopt_from_list(ledger, client, local_id)
                if found:
                    return found
            sleep(DEFAULT_RETRY.backoff_s(attempt + 1))
            continue
        data = _batch_dict(batch)
        _checkpoint("batch_created")
        ledger.mark_batch_submitted(local_id, data)
        return SubmittedBatch(local_id, data["id"], row.n_requests, row.nbytes or 0, "submitted")
    # Out of attempts. One last look, so a batch created by an attempt whose answer was lost is kept.
    with contextlib.suppress(Exception):
        found = _adopt_from_list(ledger, client, local_id)
        if found:
            return found
    ledger.mark_batch_abandoned(local_id, f"{error} (gave up after {CREATE_ATTEMPTS} attempts)")
    return SubmittedBatch(local_id, None, row.n_requests, row.nbytes or 0, "abandoned", error)


# ---------------------------------------------------------------------------------------------------
# Reconciling after a crash
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReconcileOutcome:
    """What became of a batch intent left pending: adopted (``batch_id`` set) or never created."""

    local_id: int
    batch_id: str | None
    n_requests: int
    note: str


def _total(counts: Any) -> int:
    d = counts if isinstance(counts, dict) else counts.model_dump()
    return sum(int(d.get(k) or 0) for k in ("processing", "succeeded", "errored", "canceled", "expired"))


def _candidates(ledger: Ledger, client: Any, since: datetime) -> list[dict[str, Any]]:
    known = ledger.known_batch_ids()
    out = []
    for batch in client.messages.batches.list(limit=100):
        data = _batch_dict(batch)
        created = parse_time(data.get("created_at")) if isinstance(data.get("created_at"), str) else None
        if created is None:
            continue
        if created < since:
            break  # newest first: everything after is older still
        if data["id"] not in known:
            out.append(data)
    return out


def _match(intent: BatchRow, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    start = parse_time(intent.intent_at)
    if start is None:
        return None
    best = None
    for c in candidates:
        created = parse_time(c["created_at"])
        if created is None or _total(c.get("request_counts") or {}) != intent.n_requests:
            continue
        if not (start - RECONCILE_CLOCK_SKEW <= created <= start + RECONCILE_WINDOW):
            continue
        if best is None or abs(created - start) < abs(parse_time(best["created_at"]) - start):  # type: ignore[operator]
            best = c
    return best


def _adopt_from_list(ledger: Ledger, client: Any, local_id: int) -> SubmittedBatch | None:
    row = ledger.batch_by_local_id(local_id)
    if row is None or row.state != "pending":
        return None
    since = (parse_time(row.intent_at) or datetime.now(UTC)) - RECONCILE_CLOCK_SKEW
    match = _match(row, _candidates(ledger, client, since))
    if match is None:
        return None
    ledger.mark_batch_submitted(local_id, match, matched_by="list")
    if row.spool_path:
        Path(row.spool_path).unlink(missing_ok=True)
        ledger.set_spool_path(local_id, None)
    return SubmittedBatch(local_id, match["id"], row.n_requests, row.nbytes or 0, "submitted")


def reconcile(folder: Path | str, client: Any) -> list[ReconcileOutcome]:
    """Settle batch intents an interrupted submission left pending, against the API's batch list.

    A pending intent is matched to a batch the ledger does not know yet, with the same number of
    requests, created no earlier than the intent (less clock skew): that batch is adopted, so it
    is watched and retrieved and its videos are not sent again. An intent with no such batch was
    never created: its requests become ``unsent`` and go out with the next submission. Leftover
    spool files are removed. Raises the SDK's error when the list cannot be read (nothing is
    changed then). While another process is submitting to the folder its intents are live, so
    nothing is reconciled (an empty list is returned).
    """
    folder = Path(folder).resolve()
    if not Folder.of(folder).has_ledger:
        return []
    try:
        with Folder.of(folder).lock(LOCK_SUBMIT, what="submitting to"):
            return _reconcile_locked(folder, client)
    except FolderBusy:
        return []


def _reconcile_locked(folder: Path, client: Any) -> list[ReconcileOutcome]:
    out: list[ReconcileOutcome] = []
    with Folder.of(folder).ledger() as ledger:
        pending = ledger.batches(states=["pending"])
        if pending:
            since = min(parse_time(b.intent_at) or datetime.now(UTC) for b in pending) - RECONCILE_CLOCK_SKEW
            candidates = _candidates(ledger, client, since)
            for intent in pending:
                match = _match(intent, candidates)
                if match is not None:
                    candidates.remove(match)
                    ledger.mark_batch_submitted(intent.local_id, match, matched_by="reconcile")
                    out.append(ReconcileOutcome(intent.local_id, match["id"], intent.n_requests,
                                                "Found the batch an interrupted submission created; it is kept."))
                else:
                    note = ("The batch was never created (GAIA stopped before the API confirmed it); its videos "
                            "go out with the next submission.")
                    ledger.mark_batch_abandoned(intent.local_id, note)
                    out.append(ReconcileOutcome(intent.local_id, None, intent.n_requests, note))
                if intent.spool_path:
                    Path(intent.spool_path).unlink(missing_ok=True)
                    ledger.set_spool_path(intent.local_id, None)
        _clean_spool(folder, ledger)
    return out


def _clean_spool(folder: Path, ledger: Ledger) -> None:
    spool_dir = Folder.of(folder).existing_workdir() / SPOOL_DIR
    if not spool_dir.is_dir():
        return
    keep = {b.spool_path for b in ledger.batches(states=["pending"]) if b.spool_path}
    for path in spool_dir.iterdir():
        if str(path) not in keep:
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------
# Status, snapshots, cancel
# ---------------------------------------------------------------------------------------------------

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
    retention_warning: str | None = None
    split_reason: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def running(self) -> bool:
        """Whether the API is still working on it (or its creation is still being checked)."""
        return self.state == "pending" or (self.state == "submitted" and self.processing_status != "ended")

    @property
    def ended(self) -> bool:
        """Whether the API has finished the batch (results can be downloaded)."""
        return self.state == "submitted" and self.processing_status == "ended"

    @property
    def needs_retrieval(self) -> bool:
        """Ended, results not all recorded yet, and still downloadable."""
        return self.ended and self.results_state != "done" and not self.results_expired

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
            "retention_warning": self.retention_warning, "running": self.running,
            "needs_retrieval": self.needs_retrieval,
        }


def _status_of_row(ledger: Ledger, row: BatchRow, now: datetime) -> BatchStatus:
    created = parse_time(row.created_at)
    until = created + timedelta(days=RESULTS_RETENTION_DAYS) if created else None
    outcomes = ledger.status_counts(row.batch_id) if row.batch_id else {}
    actual = None
    if row.batch_id:
        costs = [r.cost_usd for r in ledger.requests(batch_id=row.batch_id, status=("succeeded", "failed"))
                 if r.cost_usd is not None]
        actual = sum(costs) if costs else None
    warning = None
    if until is not None and row.state == "submitted" and row.results_state != "done":
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
        error=row.error, retention_warning=warning, split_reason=row.split_reason, now=now,
    )


def batch_statuses(folder: Path | str, *, include_abandoned: bool = True) -> list[BatchStatus]:
    """Every batch of the folder as the ledger last saw it (no API call), oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    now = datetime.now(UTC)
    with Folder.of(folder).ledger() as ledger:
        rows = ledger.batches()
        return [_status_of_row(ledger, r, now) for r in rows if include_abandoned or r.state != "abandoned"]


def refresh_status(folder: Path | str, client: Any, *, include_abandoned: bool = True) -> list[BatchStatus]:
    """Ask the API about every batch that has not ended, record a snapshot of each, return all batches.

    Pending intents are reconciled first. A batch the API cannot be asked about right now keeps its
    last known status, with the reason in ``error``; one failure never hides the other batches.
    """
    folder = Path(folder).resolve()
    if not Folder.of(folder).has_ledger:
        return []
    with contextlib.suppress(Exception):
        reconcile(folder, client)
    with Folder.of(folder).ledger() as ledger:
        for row in ledger.batches(states=["submitted"]):
            if row.processing_status == "ended" or not row.batch_id:
                continue
            try:
                ledger.update_batch_status(_batch_dict(client.messages.batches.retrieve(row.batch_id)))
            except Exception as exc:
                ledger.set_batch_error(row.local_id, f"Status could not be refreshed: {describe_error(exc)}")
    return batch_statuses(folder, include_abandoned=include_abandoned)


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
        data = _batch_dict(client.messages.batches.cancel(batch_id))
        ledger.update_batch_status(data)
        row = ledger.batch(batch_id)
        assert row is not None
        return _status_of_row(ledger, row, datetime.now(UTC))


# ---------------------------------------------------------------------------------------------------
# Results into sidecars
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestOutcome:
    """What became of one request's result: a sidecar written, or a failure with its reason."""

    request_id: int
    custom_id: str
    rel_path: str
    status: str  # "succeeded" or "failed"
    error_kind: str | None = None
    error: str | None = None
    cost_usd: float | None = None
    sidecar: Path | None = None
    already_written: bool = False  # the sidecar already held this answer (a re-run after a crash)


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
        return RetrieveResult(self.batches + other.batches, self.problems + other.problems)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"written": self.written, "failed": self.failed, "unknown": self.unknown, "complete": self.complete,
                "problems": list(self.problems), "batches": [vars(b) for b in self.batches]}


class _Profiles:
    """Schemas and validators by prompt hash, loaded once per retrieval."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, tuple[dict[str, Any] | None, Any]] = {}

    def get(self, prompt_hash: str | None) -> tuple[dict[str, Any] | None, Any]:
        key = prompt_hash or ""
        if key not in self._cache:
            try:
                schema: dict[str, Any] | None = Folder.of(self.folder).profile(key).schema if key else None
            except ProfileNotFound:
                schema = None
            validator = AnswerChecker(schema) if schema is not None else None
            self._cache[key] = (schema, validator)
        return self._cache[key]


def _usage_dict(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    if isinstance(usage, dict):
        return usage
    return usage.model_dump(mode="json", exclude_none=True)


def price_usage(usage: dict[str, Any] | None, model: str, *, batch: bool) -> float | None:
    """USD for one answer's usage (``gaia.pricing.cost.usage_cost``), ``None`` when it cannot be priced."""
    if not usage:
        return None
    try:
        from gaia.pricing.cost import usage_cost

        return float(usage_cost(usage, model, batch=batch).total_usd)
    except Exception:
        return None


def _save_unwritten(folder: Path, row: RequestRow, analysis: dict[str, Any], run: dict[str, Any]) -> Path:
    path = Folder.of(folder).workdir / UNWRITTEN_DIR / f"{row.custom_id}-{row.id}.json"
    from gaia.settings import atomic_write_json

    atomic_write_json(path, {"rel_path": row.rel_path, "analysis": analysis, "run": run})
    return path


@dataclass
class _Answer:
    """One answer checked and priced, on its way to a sidecar (internal)."""

    row: RequestRow
    usage: dict[str, Any] | None
    cost: float | None
    analysis: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    kind: str | None = None
    problem: str | None = None


def _check_answer(row: RequestRow, message: Any, schema: dict[str, Any] | None, validator: Any | None) -> _Answer:
    def get(key: str) -> Any:
        return message.get(key) if isinstance(message, dict) else getattr(message, key, None)

    model = row.model or ""
    usage = _usage_dict(get("usage"))
    cost = price_usage(usage, model, batch=row.mode == "batch")
    if schema is None:
        return _Answer(row, usage, cost, kind="invalid_answer", problem=(
            "The prompt profile this request was sent with is no longer saved, so the answer cannot be checked."))
    analysis, problem = parse_answer(message, schema, validator=validator)
    if problem is not None or analysis is None:
        kind = {"refusal": "refusal", "max_tokens": "max_tokens"}.get(get("stop_reason") or "", "invalid_answer")
        return _Answer(row, usage, cost, kind=kind, problem=problem)
    run = {
        "model": get("model") or model, "prompt_hash": row.prompt_hash, "fingerprint": row.fingerprint,
        "keyframe_set": row.set_id, "keyframe_timestamps": list(row.timestamps), "mode": row.mode,
        "batch_id": row.batch_id, "custom_id": row.custom_id, "request_id": row.id, "run_id": row.run_id,
        "message_id": get("id"), "attempt": row.attempt, "usage": usage, "cost_usd": cost,
        "analysed_at": now_iso(),
    }
    return _Answer(row, usage, cost, analysis=analysis, run=run)


def _write_answer(folder: Path, answer: _Answer) -> tuple[str, str | None]:
    """Write the sidecar unless it already holds this very answer: ``("written"|"already"|"error", why)``.

    Safe to run on a worker thread: it touches only the video's own sidecar (and, on failure, a file
    of its own in ``.gaia/unwritten/``), never the ledger.
    """
    row = answer.row
    video = folder / row.rel_path
    try:
        existing = read_sidecar(video)
    except SidecarError:
        existing = None
    prior = (existing or {}).get("run") or {}
    if prior.get("request_id") == row.id and prior.get("custom_id") == row.custom_id and \
            prior.get("run_id") == row.run_id and "analysis" in (existing or {}):
        return "already", None
    try:
        write_sidecar(video, {"analysis": answer.analysis, "run": answer.run})
    except SidecarError as exc:
        kept = _save_unwritten(folder, row, answer.analysis or {}, answer.run or {})
        return "error", f"The answer is valid but its sidecar could not be written ({exc}); it is kept in {kept}."
    return "written", None


def _finish_answer(folder: Path, ledger: Ledger, answer: _Answer,
                   written: tuple[str, str | None] | None) -> RequestOutcome:
    """Record the outcome in the ledger, after the sidecar write (``written``) when there was one."""
    row = answer.row
    if written is None:  # the answer failed its checks
        ledger.finish_request(row.id, "failed", usage=answer.usage, cost_usd=answer.cost, error_kind=answer.kind,
                              error=answer.problem)
        return RequestOutcome(row.id, row.custom_id, row.rel_path, "failed", answer.kind, answer.problem, answer.cost)
    state, error = written
    if state == "error":
        ledger.finish_request(row.id, "failed", usage=answer.usage, cost_usd=answer.cost, error_kind="sidecar_error",
                              error=error)
        return RequestOutcome(row.id, row.custom_id, row.rel_path, "failed", "sidecar_error", error, answer.cost)
    _checkpoint("sidecar_written")
    ledger.finish_request(row.id, "succeeded", usage=answer.usage, cost_usd=answer.cost)
    return RequestOutcome(row.id, row.custom_id, row.rel_path, "succeeded", cost_usd=answer.cost,
                          sidecar=Folder.of(folder).sidecar(row.rel_path), already_written=state == "already")


def record_message(
    folder: Path | str,
    ledger: Ledger,
    row: RequestRow,
    message: Any,
    *,
    schema: dict[str, Any] | None = None,
    validator: Any | None = None,
) -> RequestOutcome:
    """Turn one answer (an SDK ``Message`` or its dict) into a sidecar and a ledger outcome.

    Shared by batch retrieval and "run now" (the row's ``mode`` decides batch or standard prices).
    The answer is validated against ``schema`` (the row's prompt profile's when not given); a
    refusal, a cut-off answer or an invalid one becomes a failure (billed, so its usage and cost are
    recorded). The sidecar is written before the row is marked done; a sidecar that already holds
    this very request's answer (a re-run after a crash between the two) is not written again. If
    the sidecar cannot be written, the answer is kept in ``.gaia/unwritten/`` and the failure says
    where.
    """
    folder = Path(folder)
    if row.done:
        return RequestOutcome(row.id, row.custom_id, row.rel_path, row.status, row.error_kind, row.error, row.cost_usd)
    if schema is None:
        schema, validator = _Profiles(folder).get(row.prompt_hash)
    answer = _check_answer(row, message, schema, validator)
    written = _write_answer(folder, answer) if answer.problem is None else None
    return _finish_answer(folder, ledger, answer, written)


_NOT_BILLED = " (not billed)"


class _Writer:
    """Writes sidecars on a few threads (file I/O releases the GIL) while results keep streaming.

    Each outcome is recorded in the ledger on the calling thread, and only after its sidecar write
    has finished, so the crash-safety order (sidecar first, then ledger) holds. At most ``window``
    answers wait at once (memory stays flat), and never two for the same sidecar.
    """

    def __init__(self, folder: Path, ledger: Ledger, counts: dict[str, int], *, workers: int = 4,
                 window: int = 64) -> None:
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.folder, self.ledger, self.counts, self.window = folder, ledger, counts, window
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gaia-sidecar")
        self.pending: Any = deque()
        self.paths: set[str] = set()

    def _write(self, answer: _Answer) -> tuple[str, str | None]:
        try:
            return _write_answer(self.folder, answer)
        except Exception as exc:  # an unexpected file-system error: a failure with its reason, not a crash
            return "error", f"The sidecar could not be written: {exc}"

    def add(self, answer: _Answer) -> None:
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
        outcome = _finish_answer(self.folder, self.ledger, answer, written)
        if outcome.status != "succeeded":
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


def _record_result(folder: Path, ledger: Ledger, batch_id: str, item: Any, profiles: _Profiles,
                   counts: dict[str, int], writer: _Writer, rows: dict[str, RequestRow] | None) -> None:
    cid = item.custom_id
    row = rows.pop(cid, None) if rows is not None else None
    if row is None:
        row = ledger.request_in_batch(batch_id, cid)
    if row is None:
        ledger.record_event("unknown_custom_id", f"Batch {batch_id} returned a result for {cid}, which is none of "
                            "its requests; it was not written anywhere.", batch_id=batch_id, custom_id=cid)
        counts["unknown"] += 1
        return
    if row.done:
        counts["already_done"] += 1
        return
    _checkpoint("result_received")
    result = item.result
    rtype = result.type
    if rtype == "succeeded":
        schema, validator = profiles.get(row.prompt_hash)
        answer = _check_answer(row, result.message, schema, validator)
        if answer.problem is None:
            writer.add(answer)
        else:
            _finish_answer(folder, ledger, answer, None)
            counts["failed"] += 1
    elif rtype == "errored":
        err = getattr(result, "error", None)
        inner = getattr(err, "error", None)
        etype = getattr(inner, "type", None) or "api_error"
        emsg = getattr(inner, "message", None) or ""
        ledger.finish_request(row.id, "failed", error_kind=f"errored:{etype}",
                              error=f"The API returned an error ({etype}: {emsg}){_NOT_BILLED}.")
        counts["failed"] += 1
    elif rtype == "expired":
        ledger.finish_request(row.id, "failed", error_kind="expired",
                              error=f"The batch reached its {BATCH_EXPIRY_HOURS}-hour limit before this request was "
                                    f"processed{_NOT_BILLED}.")
        counts["failed"] += 1
    elif rtype == "canceled":
        ledger.finish_request(row.id, "failed", error_kind="canceled",
                              error=f"The batch was canceled before this request was processed{_NOT_BILLED}.")
        counts["failed"] += 1
    else:
        ledger.finish_request(row.id, "failed", error_kind="unknown_result",
                              error=f"The API returned a result of an unknown type {rtype!r}.")
        counts["failed"] += 1
    _checkpoint("result_recorded")


def _retrieve_batch(folder: Path, ledger: Ledger, client: Any, row: BatchRow, profiles: _Profiles,
                    tick: Callable[[], None]) -> BatchRetrieval:
    batch_id = row.batch_id or ""
    counts = {"written": 0, "failed": 0, "already_done": 0, "unknown": 0}
    seen = 0
    stream = None
    writer = _Writer(folder, ledger, counts)
    rows = ledger.requests_by_custom_id(batch_id) if row.n_requests <= PREFETCH_MAX_ROWS else None
    try:
        stream = client.messages.batches.results(batch_id)
        for item in stream:
            _record_result(folder, ledger, batch_id, item, profiles, counts, writer, rows)
            seen += 1
            tick()
        writer.drain()
    except Exception as exc:
        writer.drain()
        error = (f"The results download stopped after {seen} results ({describe_error(exc)}); "
                 "run retrieve again to fetch the rest (nothing is written twice).")
        ledger.set_results_state(batch_id, "partial")
        ledger.set_batch_error(row.local_id, error)
        ledger.record_event("results_interrupted", error, batch_id=batch_id)
        return BatchRetrieval(batch_id, written=counts["written"], failed=counts["failed"],
                              already_done=counts["already_done"], unknown=counts["unknown"], complete=False,
                              error=error)
    finally:
        writer.close()
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
    missing = 0
    for left in ledger.requests(batch_id=batch_id, status=("submitted", "pending")):
        ledger.finish_request(left.id, "failed", error_kind="missing",
                              error="The batch ended but the API returned no result for this request.")
        missing += 1
    ledger.set_results_state(batch_id, "done")
    ledger.set_batch_error(row.local_id, None)
    return BatchRetrieval(batch_id, written=counts["written"], failed=counts["failed"],
                          already_done=counts["already_done"], unknown=counts["unknown"], complete=True,
                          missing=missing)


def retrieve(
    folder: Path | str,
    client: Any,
    *,
    batch_ids: Sequence[str] | None = None,
    on_progress: Progress | None = None,
) -> RetrieveResult:
    """Download the results of every ended batch not yet fully retrieved and write the sidecars.

    Streams each batch's results (``client.messages.batches.results``), one result in memory at a
    time. ``on_progress(done, total)`` counts results over the requests of the batches being
    retrieved. A batch not yet known to have ended is asked about first. Interrupted at any point
    and run again, every result ends up written exactly once. ``batch_ids`` limits it to some batches.
    """
    folder = Path(folder).resolve()
    if not Folder.of(folder).has_ledger:
        return RetrieveResult()
    try:
        with Folder.of(folder).lock(LOCK_RETRIEVE, what="retrieving results into"):
            return _retrieve_locked(folder, client, batch_ids, on_progress)
    except FolderBusy as exc:
        return RetrieveResult(problems=(str(exc),))


def _retrieve_locked(folder: Path, client: Any, batch_ids: Sequence[str] | None,
                     on_progress: Progress | None) -> RetrieveResult:
    now = datetime.now(UTC)
    problems: list[str] = []
    with Folder.of(folder).ledger() as ledger:
        todo: list[BatchRow] = []
        for row in ledger.batches(states=["submitted"]):
            if row.results_state == "done" or not row.batch_id or (batch_ids and row.batch_id not in batch_ids):
                continue
            if row.processing_status != "ended":
                try:
                    refreshed = ledger.update_batch_status(_batch_dict(client.messages.batches.retrieve(row.batch_id)))
                except Exception as exc:
                    problems.append(f"Batch {row.batch_id}: status unknown ({describe_error(exc)}).")
                    continue
                if refreshed is None or refreshed.processing_status != "ended":
                    continue
                row = refreshed
            created = parse_time(row.created_at)
            if created and now - created > timedelta(days=RESULTS_RETENTION_DAYS):
                why = (f"The results of batch {row.batch_id} were downloadable for {RESULTS_RETENTION_DAYS} days "
                       "after it was created and are no longer available.")
                for left in ledger.requests(batch_id=row.batch_id, status=("submitted", "pending")):
                    ledger.finish_request(left.id, "failed", error_kind="results_expired", error=why)
                ledger.set_results_state(row.batch_id or "", "done")
                problems.append(why + " Its unanswered videos are listed as failures and can be sent again.")
                continue
            todo.append(row)
        total = sum(r.n_requests for r in todo)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if on_progress:
                on_progress(min(done, total), total)

        profiles = _Profiles(folder)
        out = []
        with ledger.grouped():
            for row in todo:
                before = done
                got = _retrieve_batch(folder, ledger, client, row, profiles, tick)
                out.append(got)
                done = before + row.n_requests
                if on_progress:
                    on_progress(min(done, total), total)
    return RetrieveResult(tuple(out), tuple(problems))


# ---------------------------------------------------------------------------------------------------
# Failures and retries
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FailedRequest:
    """A request that has no answer, why, and whether sending it again is likely to help."""

    request_id: int
    custom_id: str
    rel_path: str
    run_id: str
    batch_id: str | None
    mode: str
    attempt: int
    error_kind: str
    reason: str
    cost_usd: float | None
    at: str | None
    hint: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(vars(self))


_HINTS = {
    "expired": "Retry: the batch ran out of time, usually under heavy load.",
    "canceled": "Retry if you still want it analysed.",
    "refusal": "The model declined; retrying sometimes helps, or adjust the prompt.",
    "max_tokens": "Retry; if it recurs, raise the answer length limit.",
    "invalid_answer": "Retry; if it recurs, simplify the output schema.",
    "missing": "Retry.",
    "results_expired": "Retry: the results were never downloaded in time.",
    "sidecar_error": "Fix the sidecar file problem, then retry (the answer is also kept in .gaia/unwritten/).",
    "errored:invalid_request_error": "Check the model and settings; retrying unchanged will likely fail again.",
    "errored:not_found_error": "The model name was not found: choose another model, then retry.",
    "interrupted": "Retry: the run stopped (closed or crashed) before this answer arrived.",
    "connection_error": "Retry: the API could not be reached; check the network first.",
    "unexpected": "Retry; if it recurs, report it with the reason shown.",
    "errored:authentication_error": "The API key was refused: fix the key, then retry.",
    "errored:permission_error": "The key may not use this model or feature: check the workspace, then retry.",
    "errored:billing_error": "Fix the account's billing, then retry.",
}


def failures(folder: Path | str) -> list[FailedRequest]:
    """Every request that failed and has not been retried yet, oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        rows = ledger.failures()
    return [FailedRequest(r.id, r.custom_id, r.rel_path, r.run_id, r.batch_id, r.mode, r.attempt, r.error_kind or
                          "failed", r.error or "", r.cost_usd, r.done_at,
                          _HINTS.get(r.error_kind or "", "Retry: temporary API problems usually pass."))
            for r in rows]


def plan_retry(
    folder: Path | str,
    *,
    request_ids: Iterable[int] | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    max_batch_bytes: int | None = None,
    max_batch_requests: int | None = None,
) -> list[SubmissionPlan]:
    """Plans that send exactly the failed requests again (all of them, or ``request_ids``).

    One plan per original run, each with that run's model, prompt profile, keyframe settings and
    answer length, and the same frames as the failed request; each request's ``attempt`` goes up
    by one (a new custom_id) and it links to the request it retries.
    """
    folder = Path(folder).resolve()
    if not Folder.of(folder).has_ledger:
        return []
    wanted = set(request_ids) if request_ids is not None else None
    with Folder.of(folder).ledger() as ledger:
        rows = [r for r in ledger.failures() if wanted is None or r.id in wanted]
        runs = {r.run_id: ledger.run(r.run_id) for r in rows}
    by_run: dict[str, list[RequestRow]] = {}
    for r in rows:
        by_run.setdefault(r.run_id, []).append(r)
    plans = []
    given = {k.rel_path: k for k in keyframe_sets} if keyframe_sets is not None else None
    for run_id, items in by_run.items():
        run = runs.get(run_id)
        stored = dict(run.settings) if run else {}
        try:
            settings = RunSettings.from_dict(stored)
        except (TypeError, ValueError):
            settings = Folder.of(folder).settings()
        if items[0].model:
            settings = replace(settings, model=items[0].model)
        max_tokens = int(stored.get("max_tokens") or DEFAULT_MAX_TOKENS)
        image_source = str(stored.get("image_source")) if stored.get("image_source") in IMAGE_SOURCES else "base64"
        problems: list[RequestProblem] = []
        try:
            profile = Folder.of(folder).profile(items[0].prompt_hash or "")
        except ProfileNotFound:
            from gaia.prompts import default_profile

            profile = default_profile()
            problems.append(RequestProblem(None, f"The prompt profile {items[0].prompt_hash} of run {run_id} is no "
                                           "longer saved.", "Submit the videos again with a current profile.",
                                           blocking=True))
        skipped: list[SkippedVideo] = []
        rels = {r.rel_path for r in items}
        sets = given if given is not None else {k.rel_path: k for k in _keyframe_sets(
            folder, settings, extract=False, skipped=skipped, on_progress=None, rel_paths=rels)}
        planned: list[PlannedRequest] = []
        for r in items:
            ks = sets.get(r.rel_path)
            if ks is None or ks.problem:
                why = ks.problem if ks is not None else "the video is no longer in the folder"
                problems.append(RequestProblem(r.rel_path, f"Cannot retry: {why}.", "Extract its keyframes again."))
                continue
            wanted_ts = {round(t, 3) for t in r.timestamps}
            frames = tuple(f for f in ks.frames if round(f.timestamp, 3) in wanted_ts) or ks.frames
            attempt = r.attempt + 1
            nbytes = request_size_for(r.rel_path, frames, profile, model=settings.model, cache_ttl=settings.cache_ttl,
                                      max_tokens=max_tokens, attempt=attempt, by_file=image_source == "file")
            found = keyframe_problems(replace(ks, frames=frames), model=settings.model, nbytes=nbytes,
                                      max_request_bytes=batch_byte_budget(max_batch_bytes))
            if found:
                problems.extend(found)
                continue
            planned.append(PlannedRequest(r.rel_path, ks, tuple(sorted(frames, key=lambda f: f.timestamp)),
                                          custom_id_for(r.rel_path, attempt), nbytes, attempt=attempt, retry_of=r.id))
        plans.append(_finish_plan(folder, settings, profile, max_tokens, planned, list(sets.values()), skipped,
                                  problems, max_batch_bytes=max_batch_bytes, max_batch_requests=max_batch_requests,
                                  client=None, retry_of_run=run_id, image_source=image_source))
    return plans


def _add_usd(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def retry_failed(
    folder: Path | str,
    client: Any,
    *,
    request_ids: Iterable[int] | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    dry_run_to: Path | None = None,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    max_batch_bytes: int | None = None,
) -> SubmitResult:
    """Send the failed requests again in new batch(es) linked to their original runs.

    Returns one ``SubmitResult`` covering every run retried (``run_ids``); ``blocked`` says why
    nothing was sent when there is nothing to retry. ``max_cost_usd`` caps the retry's estimate.
    """
    plans = plan_retry(folder, request_ids=request_ids, keyframe_sets=keyframe_sets, max_batch_bytes=max_batch_bytes)
    if not plans:
        return SubmitResult(blocked="Nothing to retry: no request has failed.")
    merged = SubmitResult()
    for plan in plans:
        res = submit(folder, plan, client, dry_run_to=dry_run_to, max_cost_usd=max_cost_usd, on_progress=on_progress)
        problems = merged.problems + res.problems + tuple(f"{p.rel_path}: {p.problem}" for p in plan.problems)
        merged = SubmitResult(
            run_ids=merged.run_ids + res.run_ids, batches=merged.batches + res.batches,
            blocked=res.blocked if res.blocked and not merged.run_ids and not res.run_ids else merged.blocked,
            problems=problems, dry_run_path=res.dry_run_path or merged.dry_run_path,
            dry_run_requests=merged.dry_run_requests + res.dry_run_requests,
            estimate_usd=_add_usd(merged.estimate_usd, res.estimate_usd), reconciled=merged.reconciled + res.reconciled,
            dropped=merged.dropped + res.dropped)
    return merged


# ---------------------------------------------------------------------------------------------------
# Watching
# ---------------------------------------------------------------------------------------------------

def watch(
    folder: Path | str,
    client: Any,
    *,
    poll_s: float = DEFAULT_POLL_S,
    on_status: Callable[[list[BatchStatus]], None] | None = None,
    on_progress: Progress | None = None,
    retrieve_results: bool = True,
    max_polls: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RetrieveResult:
    """Poll until no batch is running, retrieving each batch as it ends.

    The wait between polls starts at ``FIRST_POLL_S`` and doubles up to ``poll_s``, so a batch that
    ends in seconds is noticed in seconds and a long one costs few requests.

    ``on_status`` receives the list of ``BatchStatus`` after each poll; ``on_progress`` the
    retrieval progress. Stops after ``max_polls`` polls when given. Safe to interrupt and restart.
    """
    result = RetrieveResult()
    polls = 0
    while True:
        statuses = refresh_status(folder, client)
        polls += 1
        if on_status:
            on_status(statuses)
        ready = [s.batch_id for s in statuses if s.needs_retrieval and s.batch_id]
        if retrieve_results and ready:
            result = result.merged(retrieve(folder, client, on_progress=on_progress, batch_ids=ready))
        if not any(s.running for s in statuses):
            return result
        if max_polls is not None and polls >= max_polls:
            return result
        sleep(min(poll_s, FIRST_POLL_S * 2 ** (polls - 1)))


# ---------------------------------------------------------------------------------------------------
# Summaries for pages and the CLI
# ---------------------------------------------------------------------------------------------------

def batch_history(folder: Path | str) -> list[dict[str, Any]]:
    """One row per batch created, for charts: size against processing time, estimate against actual.

    Keys: ``batch_id``, ``run_id``, ``requests``, ``bytes``, ``created_at``, ``ended_at`` (ISO),
    ``processing_s`` (``None`` until ended), ``processing_status``, ``estimate_usd`` (at submit),
    ``actual_usd`` (sum of the recorded costs of its answers, ``None`` before any), ``retrieved``.
    """
    if not Folder.of(folder).has_ledger:
        return []
    out = []
    with Folder.of(folder).ledger() as ledger:
        actual = {bid: act for bid, _est, act in ledger.cost_by_batch()}
        for b in ledger.batches(states=["submitted"]):
            start, end = parse_time(b.created_at), parse_time(b.ended_at)
            recorded = ledger.status_counts(b.batch_id or "")
            out.append({
                "batch_id": b.batch_id, "run_id": b.run_id, "requests": b.n_requests, "bytes": b.nbytes,
                "created_at": b.created_at, "ended_at": b.ended_at,
                "processing_s": (end - start).total_seconds() if start and end else None,
                "processing_status": b.processing_status, "estimate_usd": b.estimate_usd,
                "actual_usd": actual.get(b.batch_id or "") if recorded.get("succeeded") or recorded.get("failed")
                else None,
                "retrieved": b.results_state == "done",
            })
    return out


def ledger_events(folder: Path | str, *, batch_id: str | None = None) -> list[dict[str, Any]]:
    """Events recorded for the folder (unknown custom_ids, interrupted downloads), oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [vars(e) for e in ledger.events(batch_id=batch_id)]


def requests_table(folder: Path | str) -> list[dict[str, Any]]:
    """Every request row of the folder as plain dicts (for tables and exports), oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [r.to_dict() for r in ledger.requests()]


def dumps_jsonl(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each dict as one JSON line (exports)."""
    for item in items:
        yield json.dumps(item, ensure_ascii=False) + "\n"
