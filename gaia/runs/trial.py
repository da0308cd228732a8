"""The prompt trial, and the choice between sending now and batching.

``run_trial`` sends a small, spread-out sample now, preferring videos without
an analysis, and returns the answers beside their keyframes; its usage is in the ledger, so the
next estimate's history (output tokens, cache behaviour) includes it. ``run_choice`` states what
a plan costs now versus as a batch and the expected wait for each.
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.facts import BATCH_EXPIRY_HOURS
from gaia.folder import Folder, user_cache_root
from gaia.format import duration
from gaia.fsutil import atomic_write_bytes
from gaia.ledger import Mode, RequestStatus, parse_time
from gaia.media.keyframes import Keyframe, KeyframeSet, extract_keyframes
from gaia.media.scan import list_videos, scan_folder
from gaia.prompts import ProfileNotFound, PromptProfile
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.now import OnlineResult, estimate_now_usd, run_now
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_run_now
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings, run_fingerprint
from gaia.sidecar import RunBlock, SidecarError, read_sidecar, restore_sidecar, sidecar_bytes, sidecar_state

Progress = Callable[[int, int], None]

DEFAULT_TRIAL_VIDEOS = 3
MAX_TRIAL_VIDEOS = 20
# Seconds one answer takes when the folder has no history of its own (5.x models think first and
# write about 2,000 output tokens); replaced by the median of past standard-mode requests.
ASSUMED_ANSWER_S = 30.0
BATCH_WAIT_DEFAULT = f"usually under an hour, at most {BATCH_EXPIRY_HOURS} h"


class TrialStatus(StrEnum):
    """What became of one video of a trial."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_SENT = "not_sent"


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
            rows = ledger.requests(status=RequestStatus.SUCCEEDED)
        took = []
        for r in rows:
            if r.mode != Mode.STANDARD or (model and r.model != model):
                continue
            a, b = parse_time(r.created_at), parse_time(r.done_at)
            if a and b and b >= a:
                took.append((b - a).total_seconds())
        if took:
            return float(statistics.median(took)), "history"
    return ASSUMED_ANSWER_S, "assumed"


def _about(seconds: float) -> str:
    """A wait in words that never reads "about 0 s"."""
    return f"about {duration(seconds)}" if seconds >= 1 else "under a second"


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
    now_text = (f"{_about(now_s)}: {n} request(s), {max(1, concurrency)} at a time, {src} "
                f"{duration(per) if per >= 1 else 'under a second'} each" if now_s is not None else "nothing to send")
    durations: list[float] = []
    if Folder.of(plan.folder).has_ledger:
        with Folder.of(plan.folder).ledger() as ledger:
            durations = [s for _n, s, _id in ledger.batch_durations(model=plan.model)]
    if durations:
        med = float(statistics.median(durations))
        batch_text = (f"typically {duration(med)} here (median of {len(durations)} past batch(es), longest "
                      f"{duration(max(durations))}); at most {BATCH_EXPIRY_HOURS} h")
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
    status: TrialStatus
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
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> TrialResult:
    """Try ``profile`` (the folder's saved one by default) on ``n`` videos now, before batching.

    The sample is spread over the folder and prefers videos with no analysis yet
    (``pick_trial_videos``); their keyframes are extracted if needed (``on_progress`` reports it).
    The requests are exactly what a batch would send with this profile and go through ``run_now``,
    so answers are written to the sidecars (a batch with the same profile then skips these videos)
    and the real usage lands in the ledger, where the next estimate's history finds it.
    """
    folder = Folder.of(folder).path
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
                     note="trial", checkpoints=checkpoints)
    by_path = {o.rel_path: o for o in result.outcomes}
    videos = []
    for p in plan.requests:
        o = by_path.get(p.rel_path)
        if o is None:
            videos.append(TrialVideo(p.rel_path, p.frames, TrialStatus.NOT_SENT, error="Not sent."))
            continue
        analysis = None
        usage = None
        if o.succeeded:
            with contextlib.suppress(SidecarError):
                data = read_sidecar(folder / p.rel_path) or {}
                analysis = data.get("analysis")
                usage = RunBlock.of(data).usage
        videos.append(TrialVideo(p.rel_path, p.frames, TrialStatus(o.status), analysis, o.error, o.cost_usd, usage))
    return TrialResult(profile=profile, model=settings.model, videos=tuple(videos), run=result,
                       problems=tuple(problems))


# --- undoing a trial -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialUndo:
    """The folder's sidecars as they were before a prompt trial, copied aside so its answers can be discarded.

    Made by ``before_trial``; after the trial, ``keep`` forgets the copies and ``discard`` puts each
    trial video's sidecar back as it was (or removes it if there was none). Every sidecar is read
    and written through ``gaia.sidecar``.
    """

    folder: Path
    backup: Path  # a private folder holding a copy of every sidecar that existed, by relative path
    existed: frozenset[str]  # the videos (relative paths) that had a sidecar

    def keep(self) -> None:
        """Keep the trial's answers: forget the copies."""
        shutil.rmtree(self.backup, ignore_errors=True)

    def discard(self, rel_paths: Sequence[str]) -> int:
        """Put the sidecars of the trial's videos back as they were (removed if there was none); how many changed."""
        changed = 0
        for rel in rel_paths:
            data = (self.backup / rel).read_bytes() if rel in self.existed else None
            changed += restore_sidecar(self.folder / rel, data)
        self.keep()
        return changed


def before_trial(folder: Folder | Path | str) -> TrialUndo:
    """Copy the folder's sidecars aside (in the user cache) before a trial writes answers into some of them."""
    root = Folder.of(folder).path
    base = user_cache_root() / "trial-undo"
    base.mkdir(parents=True, exist_ok=True)
    backup = Path(tempfile.mkdtemp(prefix="trial-", dir=base))
    existed = set()
    for video, _ in list_videos(root):
        data = sidecar_bytes(video)
        if data is not None:
            rel = video.relative_to(root).as_posix()
            dest = backup / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(dest, data)
            existed.add(rel)
    return TrialUndo(root, backup, frozenset(existed))
