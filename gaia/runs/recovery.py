"""Recovery and preparation: the explicit steps a caller runs before planning, never its side effects.

``recover_interrupted`` delivers parked answers whose sidecars can now be written (so a video whose
answer was paid for is never planned again) and closes run-now requests a crashed or interrupted run
left open: a spooled answer is recorded as if it had just arrived, a sidecar already holding the
row's answer only closes the row, and a request with no answer yet is recorded as ``interrupted`` so
the next run sends it again, linked to it. That request was in flight and may have been billed, so
its row keeps its estimate as its cost ("possibly billed"): the money spent counts it. ``prepare``
runs it and, given a client, ``reconcile`` (batch intents an interrupted submission left pending),
both under the folder's one send lock. ``plan_submission`` is the convenience the CLI and pages
call: prepare, read (or extract) the keyframes, then the pure plan (``gaia.runs.plan.build_plan``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.api.client import describe_error
from gaia.api.validate import RequestProblem, model_problems
from gaia.folder import LOCK_SEND, Folder, FolderBusy
from gaia.fsutil import clean_temporaries
from gaia.ledger import Ledger, Mode, RequestStatus
from gaia.media.keyframes import KeyframeSet, extract_keyframes
from gaia.pricing.tokens import folder_prompt_tokens
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile, schema_problems
from gaia.runs.batch import SEND_WHAT, ReconcileOutcome, reconcile_held
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.manifest import manifests
from gaia.runs.manifest import restore as restore_manifests
from gaia.runs.plan import SkippedVideo, SubmissionPlan, build_plan, cached_sets, usable_records
from gaia.runs.recorder import ErrorKind, Recorder, RequestOutcome, deliver_parked
from gaia.runs.renames import follow_renames
from gaia.runs.spool import Spool
from gaia.settings import RunSettings, Selection

Progress = Callable[[int, int], None]

INTERRUPTED_KIND = ErrorKind.INTERRUPTED
INTERRUPTED_REASON = ("GAIA stopped (interrupted or crashed) before this answer arrived, so it was not recorded; "
                      "running again sends it again. The request may already have been billed by the API (possibly "
                      "billed: counted at its estimate in the money spent).")


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` settled: batch intents reconciled, run-now requests recovered, what could not be checked."""

    reconciled: tuple[ReconcileOutcome, ...] = ()
    recovered: tuple[RequestOutcome, ...] = ()
    problems: tuple[RequestProblem, ...] = ()
    busy: bool = False  # another process is sending from the folder: nothing was settled


def recover_held(folder: Folder, ledger: Ledger, *, checkpoints: Checkpoints = NO_CHECKPOINTS
                 ) -> list[RequestOutcome]:
    """``recover_interrupted`` for a caller that holds the send lock and an open ledger (renamed videos
    are followed first, so their answers reach them under their new names)."""
    follow_renames(folder, ledger)
    clean_stale_temporaries(folder, ledger)
    out: list[RequestOutcome] = deliver_parked(folder, ledger)
    recorder = Recorder(folder, ledger, checkpoints=checkpoints)
    spool = Spool(folder)
    for row in ledger.requests(status=(RequestStatus.PENDING, RequestStatus.SUBMITTED)):
        if row.mode != Mode.STANDARD:
            continue
        message = spool.read_answer(row.id)
        if message is not None:
            out.append(recorder.record(row, message))
            spool.drop_answer(row.id)
            continue
        closed = recorder.close_if_written(row)
        out.append(closed if closed is not None else  # possibly billed: counted at its estimate
                   recorder.fail(row, INTERRUPTED_KIND, INTERRUPTED_REASON, cost=row.estimate_usd))
    spool.clean_answers(lambda rid: (r := ledger.request(rid)) is None or r.done)
    return out


def clean_stale_temporaries(folder: Folder, ledger: Ledger, *, older_than_s: float = 60.0) -> int:
    """Remove the temporary sidecar files a killed write left beside the videos this folder sent (a write
    takes milliseconds: one untouched for a minute is nobody's); returns how many."""
    dirs = {folder.video(rel).parent for rel in ledger.rel_paths()} | {folder.path}
    return sum(clean_temporaries(d, older_than_s=older_than_s) for d in dirs)


def recover_interrupted(folder: Folder | Path | str) -> list[RequestOutcome]:
    """Close the run-now requests an interrupted or crashed run left open, without sending anything.

    Returns what it closed; nothing when another process is sending from the folder.
    """
    folder = Folder.of(folder)
    if not folder.has_ledger:
        return []
    try:
        with folder.lock(LOCK_SEND, what=SEND_WHAT), folder.ledger() as ledger:
            return recover_held(folder, ledger)
    except FolderBusy:
        return []


def prepare(folder: Folder | Path | str, client: Any | None = None) -> Prepared:
    """Settle what interrupted runs left, before planning: recover run-now requests, reconcile batch intents.

    Without a client only the local recovery runs. When the API's batch list cannot be read, the
    pending intents stay pending (their videos stay in flight) and a problem says so. When another
    process is sending from the folder, nothing is touched (``busy``).
    """
    folder = Folder.of(folder)
    if not folder.has_ledger and not manifests(folder):
        return Prepared()
    try:
        with folder.lock(LOCK_SEND, what=SEND_WHAT):
            with folder.ledger() as ledger:
                restore_manifests(folder, ledger)  # batches a lost ledger had in flight stay in flight
                recovered = tuple(recover_held(folder, ledger))
            if client is None:
                return Prepared(recovered=recovered)
            try:
                return Prepared(tuple(reconcile_held(folder, client)), recovered)
            except Exception as exc:
                return Prepared(recovered=recovered, problems=(RequestProblem(
                    None, f"Could not check interrupted submissions with the API ({describe_error(exc)}); their "
                    "videos are left out for now.", "Try again when the API can be reached."),))
    except FolderBusy:
        return Prepared(busy=True)


def keyframe_sets_for(folder: Folder, settings: RunSettings, *, extract: bool, on_progress: Progress | None
                      ) -> tuple[list[KeyframeSet], list[SkippedVideo]]:
    """The folder's keyframe sets: from the frame cache, or extracted where missing (``extract``)."""
    if not extract:
        return cached_sets(folder, settings)
    usable, skipped = usable_records(folder)
    if not usable:
        return [], skipped
    return list(extract_keyframes(folder.path, settings=settings.keyframes, model=settings.model, records=usable,
                                  on_progress=on_progress)), skipped


def _profile_and_problems(folder: Folder, settings: RunSettings, profile: PromptProfile | None
                          ) -> tuple[PromptProfile, list[RequestProblem]]:
    problems: list[RequestProblem] = []
    if profile is None:
        try:
            profile = folder.profile(settings.prompt_profile)
        except ProfileNotFound as exc:
            problems.append(RequestProblem(None, str(exc), "Choose a saved prompt profile.", blocking=True))
            profile = default_profile()
    for text in schema_problems(profile.schema):
        problems.append(RequestProblem(None, text, "Fix the output schema on the Prompt page.", blocking=True))
    problems.extend(model_problems(settings.model))
    return profile, problems


def plan_submission(
    folder: Folder | Path | str,
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
    likely_empty: Mapping[str, str] | None = None,
) -> SubmissionPlan:
    """What sending ``folder`` now would send, leave out, split into and cost, after the explicit steps.

    In order: ``prepare`` (recover interrupted run-now requests; with a ``client``, reconcile
    interrupted submissions), keyframes (given, else
    the frame cache; ``extract=True`` extracts missing ones, reporting ``on_progress``), then the
    pure ``build_plan``. ``settings`` default to the folder's saved run settings and ``profile`` to
    its saved prompt profile. Videos already analysed with the same fingerprint are skipped unless
    ``force``; videos in flight (batch or run now) always. ``limit`` keeps the first N videos.
    ``image_source="file"`` uploads each frame once through the Files API at send time.
    ``likely_empty`` (relative path → reason) are left out, each said so in ``skipped``. The model is checked
    against GAIA's own facts here; the API's Models endpoint is asked only when the plan is sent
    (``gaia.runs.guard.model_problem``), so planning never waits on the network for it nor loads the SDK.
    """
    folder = Folder.of(folder)
    settings = settings or folder.settings()
    profile, problems = _profile_and_problems(folder, settings, profile)
    problems.extend(prepare(folder, client).problems)
    if client is not None:
        folder_prompt_tokens(folder, profile, settings.model, client=client)  # the count every figure uses
    skipped: list[SkippedVideo] = []
    if keyframe_sets is None:
        keyframe_sets, skipped = keyframe_sets_for(folder, settings, extract=extract, on_progress=on_progress)
    return build_plan(folder, keyframe_sets, settings, profile, force=force, selection=selection, limit=limit,
                      max_tokens=max_tokens, max_batch_bytes=max_batch_bytes, max_batch_requests=max_batch_requests,
                      image_source=image_source, skipped=skipped, problems=problems, likely_empty=likely_empty)


def plan_run_now(
    folder: Folder | Path | str,
    settings: RunSettings | None = None,
    *,
    limit: int | None = None,
    force: bool = False,
    profile: PromptProfile | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    extract: bool = False,
    image_source: str = "base64",
    on_progress: Progress | None = None,
    likely_empty: Mapping[str, str] | None = None,
    like: SubmissionPlan | None = None,
) -> SubmissionPlan:
    """The plan for a run now: exactly what ``plan_submission`` would batch (the first ``limit`` videos).

    ``like``: the batch plan ``plan_submission`` made for the same folder state, settings and ``force`` (no limit,
    no other option): a run now sends the same requests, so they, the batches, skips and estimate are shared
    with it instead of planned again (at 100,000 videos, some 50 MB and ten seconds). A ``like`` for other
    settings, a limit or another option is ignored.
    """
    if (like is not None and limit is None and not extract and image_source == like.image_source
            and likely_empty is None and profile is None and keyframe_sets is None and like.cascade_pass is None
            and like.retry_of_run is None and Path(like.folder) == Folder.of(folder).path
            and like.settings == (settings or Folder.of(folder).settings())):
        return like
    return plan_submission(folder, settings, limit=limit, force=force, profile=profile, keyframe_sets=keyframe_sets,
                           extract=extract, image_source=image_source, on_progress=on_progress,
                           likely_empty=likely_empty)
