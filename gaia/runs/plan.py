"""The plan: what a run would send, what it leaves out and why, how it splits into batches, what it may cost.

Planning is pure: it reads the folder (keyframe sets given or from the frame cache, the sidecars,
the ledger's in-flight view, the selection) and writes nothing. Reconciling interrupted
submissions and recovering interrupted runs are explicit steps the caller runs first
(``gaia.runs.recovery.prepare``); extracting keyframes too. A plan serves both transports: ``gaia.runs.batch``
sends it as Message Batches, ``gaia.runs.now`` through the Messages API.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.api.bodies import batch_byte_budget, split_batches
from gaia.api.requests import custom_id_for, request_size_for
from gaia.api.validate import RequestProblem, keyframe_problems
from gaia.facts import BATCH_MAX_BYTES
from gaia.folder import Folder
from gaia.ledger import RequestIntent, RequestRow, now_iso
from gaia.media.identity import content_id
from gaia.media.keyframes import Keyframe, KeyframeSet, PackedFrames, cached_keyframes, frames_of
from gaia.media.scan import scan_folder
from gaia.pricing.bill import history
from gaia.pricing.estimate import Estimate, estimate_run
from gaia.pricing.tokens import folder_prompt_tokens
from gaia.prompts import PromptProfile
from gaia.settings import RunSettings, Selection, run_fingerprint
from gaia.sidecar import sidecar_state

Progress = Callable[[int, int], None]


class ImageSource(StrEnum):
    """How frames travel: inline base64, or uploaded once through the Files API and referenced by id."""

    BASE64 = "base64"
    FILE = "file"


IMAGE_SOURCES = tuple(ImageSource)
FILES_NOTE = ("Uploaded frames are referenced by file_id. The Message Batches documentation does not say whether "
              "batches accept file references; if the first batch comes back with errored results, submit with "
              "inline images instead.")


class SkipKind(StrEnum):
    """Why a video is left out of a run."""

    ANALYSED = "analysed"
    IN_FLIGHT = "in_flight"
    EXCLUDED = "excluded"
    PROBLEM = "problem"
    EMPTY = "likely_empty"  # left out by a skip-empty policy (gaia.media.empty)


class SplitReason(StrEnum):
    """Why a batch of the plan ends where it does."""

    BYTES = "bytes"
    COUNT = "count"
    END = "end"


_SPLIT_TEXT = {SplitReason.BYTES: "full by size", SplitReason.COUNT: "full by request count",
               SplitReason.END: "the rest"}


@dataclass(frozen=True, slots=True, init=False)  # one per video: 100,000 in a large folder
class PlannedRequest:
    """One video to send: its frames, its custom_id and the request's exact size in bytes.

    Made as ``PlannedRequest(rel_path, kset, frames, custom_id, nbytes, attempt=1, retry_of=None)``. A request that
    sends all its set's frames keeps them as the set does (packed, ``KeyframeSet.frame_data``): 100,000 requests
    hold no frame objects of their own; ``frames`` makes them when asked for.
    """

    rel_path: str
    kset: KeyframeSet
    frame_data: tuple[Keyframe, ...] | PackedFrames
    custom_id: str
    nbytes: int
    attempt: int
    retry_of: int | None

    def __init__(self, rel_path: str, kset: KeyframeSet, frames: Sequence[Keyframe] | PackedFrames | None = None,
                 custom_id: str | None = None, nbytes: int | None = None, attempt: int = 1,
                 retry_of: int | None = None, *, frame_data: tuple[Keyframe, ...] | PackedFrames | None = None
                 ) -> None:
        if frames is not None:  # given frames (``dataclasses.replace`` gives ``frame_data``): they win
            frame_data = frames if isinstance(frames, PackedFrames | tuple) else tuple(frames)
        if frame_data is None or custom_id is None or nbytes is None:
            raise TypeError("PlannedRequest needs frames, a custom_id and a size")
        put = object.__setattr__
        for name, value in (("rel_path", rel_path), ("kset", kset), ("frame_data", frame_data),
                            ("custom_id", custom_id), ("nbytes", nbytes), ("attempt", attempt),
                            ("retry_of", retry_of)):
            put(self, name, value)

    @property
    def frames(self) -> tuple[Keyframe, ...]:
        """The frames sent, in time order."""
        return frames_of(self.frame_data)

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
    """A video left out of the run, and why (``kind``: a ``SkipKind``)."""

    rel_path: str
    kind: SkipKind
    reason: str


@dataclass(frozen=True)
class PlannedBatch:
    """One batch of the plan: which requests (by index in ``plan.requests``), its size, why it ends."""

    index: int
    start: int
    stop: int
    nbytes: int
    reason: SplitReason

    @property
    def n_requests(self) -> int:
        """Requests in the batch."""
        return self.stop - self.start

    @property
    def reason_text(self) -> str:
        """Why the batch ends where it does, in words."""
        return _SPLIT_TEXT.get(self.reason, self.reason)


@dataclass(frozen=True)
class SubmissionPlan:
    """What a run would send, what it leaves out and why, how it splits, what it may cost."""

    folder: Path
    settings: RunSettings
    profile: PromptProfile
    max_tokens: int
    requests: tuple[PlannedRequest, ...]
    batches: tuple[PlannedBatch, ...]
    skipped: tuple[SkippedVideo, ...] = ()
    problems: tuple[RequestProblem, ...] = ()
    estimate: Estimate | None = None
    estimate_usd: float | None = None
    estimate_note: str | None = None
    retry_of_run: str | None = None
    max_batch_bytes: int = BATCH_MAX_BYTES
    max_batch_requests: int | None = None
    image_source: str = ImageSource.BASE64
    notes: tuple[str, ...] = ()
    # When the plan was made: a video another send answered or took in flight since then is never
    # sent by this plan (``Ledger.sent_since``), whichever transport either used.
    planned_at: str = field(default_factory=now_iso)
    # The ledger's last request id when the in-flight view was read (in the same read): a request
    # written after it is never sent again by this plan, whatever the clocks say (``Ledger.sent_after``).
    ledger_mark: int | None = None
    # A batch cascade's first pass (``gaia.runs.cascade.plan_first_pass``): what its run records, so that retrieving
    # its results sends the second pass (``gaia.runs.escalation.CascadePass``).
    cascade_pass: dict[str, Any] | None = None

    def sent_since_planned(self, ledger: Any) -> set[str]:
        """Videos another send took in flight or answered since this plan read the in-flight view."""
        if self.ledger_mark is not None:
            return ledger.sent_after(self.ledger_mark)
        return ledger.sent_since(self.planned_at)

    @property
    def model(self) -> str:
        """The model every request uses."""
        return self.settings.model

    @property
    def fingerprint(self) -> dict[str, Any]:
        """The ``run.fingerprint`` the sidecars of this run will hold."""
        return run_fingerprint(self.settings, self.profile.hash)

    @property
    def warnings(self) -> tuple[Any, ...]:
        """What the estimate warns of (``gaia.pricing.estimate.EstimateWarning``: the answer length limit
        below what answers need); sending should ask once more when there is any."""
        return tuple(getattr(self.estimate, "warnings", ()) or ())

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
        if self.image_source == ImageSource.FILE:
            return (f"The {n} frames ({nbytes / 1e6:.1f} MB) are uploaded once and referenced by file_id; later "
                    "retries and re-runs with another prompt or model reuse them.")
        if any(b.reason == SplitReason.BYTES for b in self.batches):
            return (f"Inline images make {len(self.batches)} batches here (the size limit decides). Uploading the "
                    f"{n} frames once ({nbytes / 1e6:.1f} MB) would fit the run in far fewer, and re-runs with "
                    "another prompt or model would reuse them.")
        return ("Inline images are simplest for this run. Uploading frames once pays when you will send the same "
                "frames again (retries, other prompts or models) or when the size limit splits a run.")

    def skipped_by(self, kind: str) -> tuple[SkippedVideo, ...]:
        """The skipped videos of one kind (a ``SkipKind``)."""
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
        by_bytes = sum(1 for b in self.batches if b.reason == SplitReason.BYTES)
        by_count = sum(1 for b in self.batches if b.reason == SplitReason.COUNT)
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
            "batches": [{"index": b.index, "requests": b.n_requests, "bytes": b.nbytes, "reason": str(b.reason)}
                        for b in self.batches],
            "split": self.split_explanation,
            "skipped": [{"rel_path": s.rel_path, "kind": str(s.kind), "reason": s.reason} for s in self.skipped],
            "problems": [p.to_dict() for p in self.problems],
            "retry_of_run": self.retry_of_run, "image_source": str(self.image_source),
            "image_source_advice": self.image_source_advice, "notes": list(self.notes),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def plan_intents(plan: SubmissionPlan, items: Sequence[PlannedRequest] | None = None, *,
                 estimate_usd: float | None = None) -> list[RequestIntent]:
    """Ledger rows-to-be for planned requests (all of the plan's by default).

    What a batch records before it is created, and what run now records before each call.
    ``estimate_usd`` is the estimate per request, when known.
    """
    if estimate_usd is None and plan.estimate_usd is not None and plan.requests:
        estimate_usd = plan.estimate_usd / len(plan.requests)
    return [RequestIntent(
        custom_id=p.custom_id, rel_path=p.rel_path, set_id=p.kset.set_id, timestamps=p.timestamps,
        prompt_hash=plan.profile.hash, model=plan.model, fingerprint=plan.fingerprint, attempt=p.attempt,
        retry_of=p.retry_of, nbytes=p.nbytes, estimate_usd=estimate_usd, content=content_id(p.kset.video))
        for p in (plan.requests if items is None else items)]


def usable_records(folder: Folder, *, rel_paths: set[str] | None = None) -> tuple[list[Any], list[SkippedVideo]]:
    """The folder's usable videos (scan), and the unusable ones as skipped ``problem`` videos."""
    usable, skipped = [], []
    for rec in scan_folder(folder.path).records:
        if rel_paths is not None and rec.rel_path not in rel_paths:
            continue
        if rec.usable:
            usable.append(rec)
        else:
            skipped.append(SkippedVideo(rec.rel_path, SkipKind.PROBLEM, rec.problem or "unusable"))
    return usable, skipped


def cached_sets(folder: Folder, settings: RunSettings, *, rel_paths: set[str] | None = None
                ) -> tuple[list[KeyframeSet], list[SkippedVideo]]:
    """Keyframe sets from the frame cache (nothing is extracted), and the videos left out as unusable."""
    usable, skipped = usable_records(folder, rel_paths=rel_paths)
    if not usable:
        return [], skipped
    return list(cached_keyframes(folder.path, settings=settings.keyframes, model=settings.model,
                                 records=usable)), skipped


def _estimate(folder: Folder, ksets: Sequence[KeyframeSet], planned: Sequence[PlannedRequest],
              settings: RunSettings, profile: PromptProfile) -> tuple[Estimate | None, float | None, str | None]:
    """The cost estimate (``gaia.pricing.estimate.estimate_run``) for exactly the planned videos."""
    if not planned:
        return None, None, None
    wanted = {p.rel_path: p for p in planned}
    sets = [replace(ks, frames=wanted[ks.rel_path].frames) for ks in ksets if ks.rel_path in wanted]
    try:
        est = estimate_run(sets, model=settings.model, profile=profile, cache_ttl=settings.cache_ttl,
                           history=history(folder.path, profile.hash, settings.model), explain=False,
                           max_tokens=settings.max_tokens,
                           text_tokens=folder_prompt_tokens(folder, profile, settings.model))
        totals = est.total_usd
        usd = float(totals["batch_caching"] if "batch_caching" in totals else totals["batch"])
        return est, usd, None
    except Exception as exc:  # an estimate must never stop a plan
        return None, None, f"The cost could not be estimated: {exc}"


def finish_plan(folder: Folder, settings: RunSettings, profile: PromptProfile, max_tokens: int,
                planned: list[PlannedRequest], ksets: Sequence[KeyframeSet], skipped: list[SkippedVideo],
                problems: list[RequestProblem], *, max_batch_bytes: int | None, max_batch_requests: int | None,
                retry_of_run: str | None = None, image_source: str = ImageSource.BASE64,
                planned_at: str | None = None, ledger_mark: int | None = None) -> SubmissionPlan:
    """Split the planned requests into batches, estimate them, and put the plan together."""
    slices = split_batches((p.nbytes for p in planned), max_bytes=max_batch_bytes, max_requests=max_batch_requests)
    batches = tuple(PlannedBatch(i, s.start, s.stop, s.nbytes, SplitReason(s.reason)) for i, s in enumerate(slices))
    est, usd, note = _estimate(folder, ksets, planned, replace(settings, max_tokens=max_tokens), profile)
    return SubmissionPlan(
        folder=folder.path, settings=settings, profile=profile, max_tokens=max_tokens, requests=tuple(planned),
        batches=batches, skipped=tuple(skipped), problems=tuple(problems), estimate=est, estimate_usd=usd,
        estimate_note=note, retry_of_run=retry_of_run, max_batch_bytes=max_batch_bytes or BATCH_MAX_BYTES,
        max_batch_requests=max_batch_requests, image_source=ImageSource(image_source),
        notes=(FILES_NOTE,) if image_source == ImageSource.FILE else (),
        planned_at=planned_at or now_iso(), ledger_mark=ledger_mark,
    )


@dataclass(frozen=True)
class _Choice:
    """What planning needs to decide about each video (internal)."""

    selection: Selection
    in_flight: dict[str, RequestRow]
    fingerprint: dict[str, Any]
    force: bool
    likely_empty: Mapping[str, str]


def _skip_or_problem(ks: KeyframeSet, choice: _Choice) -> SkippedVideo | RequestProblem | None:
    """Why ``ks``'s video is not sent (a skip or a problem), or ``None`` to plan it."""
    rel = ks.rel_path
    if choice.selection.video_excluded(rel):
        return SkippedVideo(rel, SkipKind.EXCLUDED, "Excluded by you.")
    if rel in choice.likely_empty:
        return SkippedVideo(rel, SkipKind.EMPTY, f"Likely empty ({choice.likely_empty[rel]}); left out as asked "
                            "(skip empty clips).")
    row = choice.in_flight.get(rel)
    if row is not None:
        where = (f"batch {row.batch_id}" if row.batch_id else "a run now request" if row.mode == "standard"
                 else "a batch whose creation is being checked")
        return SkippedVideo(rel, SkipKind.IN_FLIGHT, f"Already sent in {where}; waiting for its result.")
    state = sidecar_state(ks.video, choice.fingerprint)
    if state == "unreadable":
        return RequestProblem(rel, "Its sidecar exists but is not valid JSON, so GAIA would not overwrite it.",
                              "Fix or delete the .gaia.json file beside the video.")
    if state == "analysed" and not choice.force:
        return SkippedVideo(rel, SkipKind.ANALYSED, "Already analysed with the same keyframes, prompt and model "
                            "(use force to send it again).")
    return None


def build_plan(
    folder: Folder | Path | str,
    keyframe_sets: Sequence[KeyframeSet],
    settings: RunSettings,
    profile: PromptProfile,
    *,
    force: bool = False,
    selection: Selection | None = None,
    limit: int | None = None,
    max_tokens: int | None = None,
    max_batch_bytes: int | None = None,
    max_batch_requests: int | None = None,
    image_source: str = ImageSource.BASE64,
    skipped: Sequence[SkippedVideo] = (),
    problems: Sequence[RequestProblem] = (),
    likely_empty: Mapping[str, str] | None = None,
) -> SubmissionPlan:
    """The pure plan for ``keyframe_sets``: nothing is written, nothing is asked of the API.

    Excluded videos, videos in flight (in a batch or a run-now request) and videos whose sidecar
    already holds an analysis with the same fingerprint (unless ``force``) are skipped with the
    reason; a video whose request would be invalid becomes a problem. ``limit`` keeps the first N.
    ``skipped`` and ``problems`` found by the caller's earlier steps are carried into the plan.
    ``likely_empty`` (relative path → the measure's reason) are left out as skip-empty policy asks.
    """
    folder = Folder.of(folder)
    if image_source not in IMAGE_SOURCES:
        raise ValueError(f"image_source must be one of {IMAGE_SOURCES}, not {image_source!r}")
    max_tokens = max_tokens or settings.max_tokens
    in_flight: dict[str, RequestRow] = {}
    planned_at, mark = now_iso(), 0  # taken with the in-flight view, never after it
    if folder.has_ledger:
        with folder.ledger() as ledger:
            planned_at, mark, in_flight = ledger.in_flight_snapshot()
    choice = _Choice(selection if selection is not None else folder.selection(), in_flight,
                     run_fingerprint(settings, profile.hash), force, likely_empty or {})
    skips, found = list(skipped), list(problems)
    planned: list[PlannedRequest] = []
    for ks in keyframe_sets:
        why = _skip_or_problem(ks, choice)
        if why is not None:
            (skips if isinstance(why, SkippedVideo) else found).append(why)  # type: ignore[arg-type]
            continue
        frames = ks.included_frames(choice.selection) if not ks.problem else ()
        nbytes = request_size_for(ks.rel_path, frames, profile, model=settings.model, cache_ttl=settings.cache_ttl,
                                  max_tokens=max_tokens, by_file=image_source == ImageSource.FILE) if frames else None
        bad = keyframe_problems(ks, model=settings.model, selection=choice.selection, nbytes=nbytes,
                                max_request_bytes=batch_byte_budget(max_batch_bytes))
        if bad:
            found.extend(bad)
            continue
        in_order = all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(frames))
        ordered = frames if in_order else tuple(sorted(frames, key=lambda f: f.timestamp))
        if in_order and isinstance(ks.frame_data, PackedFrames) and ks.rel_path not in choice.selection.excluded_frames:
            ordered = ks.frame_data  # every frame of the set, as the set holds them (``included_frames``)
        planned.append(PlannedRequest(ks.rel_path, ks, ordered,
                                      custom_id_for(ks.rel_path), int(nbytes or 0)))
        if limit is not None and len(planned) >= limit:
            break
    return finish_plan(folder, settings, profile, max_tokens, planned, keyframe_sets, skips, found,
                       max_batch_bytes=max_batch_bytes, max_batch_requests=max_batch_requests,
                       image_source=image_source, planned_at=planned_at, ledger_mark=mark)
