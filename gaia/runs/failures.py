"""Failures and retries: which requests have no answer and why, and sending exactly those again.

``failures`` lists every failed request nobody has retried yet, with a hint; ``plan_retry`` makes
one plan per original run with that run's model, prompt profile, keyframe settings, answer
length and frames, each request's ``attempt`` one higher and linked to the request it retries (a batch
cascade's pass is retried as that pass: ``gaia.runs.escalation.CascadePass.retried``);
``retry_failed`` sends those plans as batches, ``retry_now`` sends them now. A cascade whose first pass all went
now continues now: once a retry of its first pass has answered, ``retry_now`` sends that cascade's uncertain
answers as its second pass right away (``gaia.runs.cascade.continue_now``), as ``gaia run --cascade`` does after
its first pass; a batch retry's answers continue it at the retrieval that delivers them, as a batch cascade.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia.api.bodies import batch_byte_budget
from gaia.api.requests import custom_id_for, request_size_for
from gaia.api.validate import RequestProblem, keyframe_problems
from gaia.folder import Folder
from gaia.ledger import RequestRow, RunRow
from gaia.media.keyframes import KeyframeSet
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile
from gaia.runs.batch import SubmitResult, submit
from gaia.runs.cascade import continue_now
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.escalation import PASS_KEY, CascadePass
from gaia.runs.now import OnlineResult, run_now
from gaia.runs.plan import (
    IMAGE_SOURCES,
    ImageSource,
    PlannedRequest,
    SkippedVideo,
    SubmissionPlan,
    cached_sets,
    finish_plan,
)
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings, SentSettings

Progress = Callable[[int, int], None]


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
    "sidecar_error": ("The answer is kept (the reason says where): make the folder writable or put the video back, "
                      "then run `gaia retrieve` to write it; retrying would pay for it again."),
    "replaced": ("The video was replaced after it was sent, so its answer (kept, the reason says where) was not "
                 "written; retry to analyse the new video, or put the old one back and run `gaia retrieve`."),
    "errored:invalid_request_error": "Check the model and settings; retrying unchanged will likely fail again.",
    "errored:not_found_error": "The model name was not found: choose another model, then retry.",
    "interrupted": "Retry: the run stopped (closed or crashed) before this answer arrived.",
    "connection_error": "Retry: the API could not be reached; check the network first.",
    "unexpected": "Retry; if it recurs, report it with the reason shown.",
    "errored:authentication_error": "The API key was refused: fix the key, then retry.",
    "errored:permission_error": "The key may not use this model or feature: check the workspace, then retry.",
    "errored:billing_error": "Fix the account's billing, then retry.",
}


def failures(folder: Folder | Path | str) -> list[FailedRequest]:
    """Every request that failed and has not been retried yet, oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        rows = ledger.failures()
    return [FailedRequest(r.id, r.custom_id, r.rel_path, r.run_id, r.batch_id, r.mode, r.attempt, r.error_kind or
                          "failed", r.error or "", r.cost_usd, r.done_at,
                          _HINTS.get(r.error_kind or "", "Retry: temporary API problems usually pass."))
            for r in rows]


def _run_settings(folder: Folder, run: RunRow | None, first: RequestRow, max_tokens: int
                  ) -> tuple[RunSettings, int, str]:
    """The settings and image source a run was sent with, and ``max_tokens``: a retry sends today's answer
    length limit (raised after answers were cut off, it is what the retry is for), not the run's."""
    sent = SentSettings.of(run.settings if run else None, fallback=folder.settings())
    settings = replace(sent.settings, model=first.model) if first.model else sent.settings
    settings = replace(settings, max_tokens=max_tokens)
    image_source = sent.image_source if sent.image_source in IMAGE_SOURCES else "base64"
    return settings, max_tokens, image_source


def _run_profile(folder: Folder, run_id: str, first: RequestRow, problems: list[RequestProblem]) -> PromptProfile:
    try:
        return folder.profile(first.prompt_hash or "")
    except ProfileNotFound:
        problems.append(RequestProblem(None, f"The prompt profile {first.prompt_hash} of run {run_id} is no longer "
                                       "saved.", "Submit the videos again with a current profile.", blocking=True))
        return default_profile()


def _retry_request(r: RequestRow, ks: KeyframeSet | None, profile: PromptProfile, settings: RunSettings,
                   max_tokens: int, image_source: str, max_batch_bytes: int | None
                   ) -> PlannedRequest | list[RequestProblem]:
    """The retry of one failed request with the same frames, or why it cannot be retried."""
    if ks is None or ks.problem:
        why = ks.problem if ks is not None else "the video is no longer in the folder"
        return [RequestProblem(r.rel_path, f"Cannot retry: {why}.", "Extract its keyframes again.")]
    wanted_ts = {round(t, 3) for t in r.timestamps}
    frames = tuple(f for f in ks.frames if round(f.timestamp, 3) in wanted_ts) or ks.frames
    attempt = r.attempt + 1
    nbytes = request_size_for(r.rel_path, frames, profile, model=settings.model, cache_ttl=settings.cache_ttl,
                              max_tokens=max_tokens, attempt=attempt, by_file=image_source == ImageSource.FILE)
    found = keyframe_problems(replace(ks, frames=frames), model=settings.model, nbytes=nbytes,
                              max_request_bytes=batch_byte_budget(max_batch_bytes))
    if found:
        return found
    return PlannedRequest(r.rel_path, ks, tuple(sorted(frames, key=lambda f: f.timestamp)),
                          custom_id_for(r.rel_path, attempt), nbytes, attempt=attempt, retry_of=r.id)


def _plan_one_retry(folder: Folder, run_id: str, items: list[RequestRow], run: RunRow | None,
                    given: dict[str, KeyframeSet] | None, max_batch_bytes: int | None,
                    max_batch_requests: int | None, limit: int) -> SubmissionPlan:
    settings, max_tokens, image_source = _run_settings(folder, run, items[0], limit)
    problems: list[RequestProblem] = []
    profile = _run_profile(folder, run_id, items[0], problems)
    skipped: list[SkippedVideo] = []
    if given is not None:
        sets = given
    else:
        found, skipped = cached_sets(folder, settings, rel_paths={r.rel_path for r in items})
        sets = {k.rel_path: k for k in found}
    planned: list[PlannedRequest] = []
    for r in items:
        got = _retry_request(r, sets.get(r.rel_path), profile, settings, max_tokens, image_source, max_batch_bytes)
        if isinstance(got, PlannedRequest):
            planned.append(got)
        else:
            problems.extend(got)
    plan = finish_plan(folder, settings, profile, max_tokens, planned, list(sets.values()), skipped, problems,
                       max_batch_bytes=max_batch_bytes, max_batch_requests=max_batch_requests, retry_of_run=run_id,
                       image_source=image_source)
    step = CascadePass.of(run.settings if run else None)  # a cascade's pass is retried as that pass
    return replace(plan, cascade_pass=step.retried(run_id).to_dict()) if step is not None else plan


def plan_retry(
    folder: Folder | Path | str,
    *,
    request_ids: Iterable[int] | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    max_batch_bytes: int | None = None,
    max_batch_requests: int | None = None,
    max_tokens: int | None = None,
) -> list[SubmissionPlan]:
    """Plans that send exactly the failed requests again (all of them, or ``request_ids``).

    One plan per original run, each with that run's model, prompt profile and keyframe settings,
    and the same frames as the failed request; each request's ``attempt`` goes up by one (a new
    custom_id) and it links to the request it retries. The answer length limit is ``max_tokens``,
    else the folder's current setting (never the limit the failed run was sent with: answers cut
    off at that limit would be cut off again).
    """
    folder = Folder.of(folder)
    if not folder.has_ledger:
        return []
    wanted = set(request_ids) if request_ids is not None else None
    with folder.ledger() as ledger:
        # an answer parked only because its sidecar could not be written is delivered by `gaia retrieve`:
        # retrying it would pay for it again, so only an explicit request id sends it
        rows = [r for r in ledger.failures() if (r.id in wanted if wanted is not None
                                                  else r.error_kind != "sidecar_error")]
        runs = {r.run_id: ledger.run(r.run_id) for r in rows}
    by_run: dict[str, list[RequestRow]] = {}
    for r in rows:
        by_run.setdefault(r.run_id, []).append(r)
    given = {k.rel_path: k for k in keyframe_sets} if keyframe_sets is not None else None
    limit = max_tokens or folder.settings().max_tokens
    return [_plan_one_retry(folder, run_id, items, runs.get(run_id), given, max_batch_bytes, max_batch_requests,
                            limit) for run_id, items in by_run.items()]


def _pass_of(plan: SubmissionPlan) -> CascadePass | None:
    """The cascade pass a retry plan sends again (``None`` for a plain run's requests)."""
    return CascadePass.of({PASS_KEY: plan.cascade_pass}) if plan.cascade_pass else None


def _retry_note(step: CascadePass | None) -> str | None:
    """The ledger's note on a run sending a cascade pass's failed requests again, in a batch or now (``None``
    for a plain run's)."""
    return None if step is None else f"cascade pass {step.number} (retry)"


def retry_failed(
    folder: Folder | Path | str,
    client: Any,
    *,
    request_ids: Iterable[int] | None = None,
    keyframe_sets: Sequence[KeyframeSet] | None = None,
    dry_run_to: Path | None = None,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    max_batch_bytes: int | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
    max_tokens: int | None = None,
) -> SubmitResult:
    """Send the failed requests again in new batch(es) linked to their original runs, with the answer
    length limit ``max_tokens`` (default: the folder's current setting).

    Returns one ``SubmitResult`` covering every run retried (``run_ids``); ``blocked`` says why
    nothing was sent when there is nothing to retry. ``max_cost_usd`` caps the retry's estimate.
    """
    folder = Folder.of(folder)
    plans = plan_retry(folder, request_ids=request_ids, keyframe_sets=keyframe_sets, max_batch_bytes=max_batch_bytes,
                       max_tokens=max_tokens)
    if not plans:
        return SubmitResult(blocked="Nothing to retry: no request has failed.")
    merged = SubmitResult()
    for plan in plans:
        res = submit(folder, plan, client, dry_run_to=dry_run_to, max_cost_usd=max_cost_usd, on_progress=on_progress,
                     checkpoints=checkpoints, cascade_pass=plan.cascade_pass, note=_retry_note(_pass_of(plan)))
        merged = merged.merged(replace(res, problems=res.problems + tuple(f"{p.rel_path}: {p.problem}"
                                                                          for p in plan.problems)))
    return merged


def retry_now(
    folder: Folder | Path | str,
    client: Any,
    *,
    request_ids: Sequence[int] | None = None,
    keyframe_sets: Sequence[Any] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost_usd: float | None = None,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
    max_tokens: int | None = None,
) -> list[OnlineResult]:
    """Send failed requests (all, or ``request_ids``) again now, each with its original run's model,
    prompt and frames and today's answer length limit (``max_tokens``, default the folder's setting),
    linked to the request it retries. (To move them into a batch instead, use ``gaia.Folder.retry``.)
    One result per original run, then (``cascade_pass`` 2) the second pass of each run-now cascade whose
    retried first answers came back uncertain, sent right after under what ``max_cost_usd`` and the cascade's
    own cap leave; empty when nothing has failed."""
    folder = Folder.of(folder)
    out: list[OnlineResult] = []
    cascades: set[str] = set()
    for plan in plan_retry(folder, request_ids=request_ids, keyframe_sets=keyframe_sets, max_tokens=max_tokens):
        step = _pass_of(plan)
        out.append(run_now(folder, plan, client, concurrency=concurrency, max_cost_usd=max_cost_usd,
                           on_progress=on_progress, sleep=sleep, checkpoints=checkpoints, note=_retry_note(step)))
        if step is not None and step.number == 1 and step.first_run:
            cascades.add(step.first_run)
    if cascades:
        spent = sum(r.spent_usd for r in out)
        left = None if max_cost_usd is None else max(0.0, max_cost_usd - spent)
        out.extend(s.result for s in continue_now(folder, client, first_runs=cascades, max_cost_usd=left,
                                                  concurrency=concurrency, on_progress=on_progress,
                                                  checkpoints=checkpoints))
    return out
