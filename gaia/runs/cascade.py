"""A cascade in batches: the cheap pass is submitted, and retrieving its results submits the second pass.

``plan_first_pass`` plans every video still to go through the cascade with the cheap configuration;
``submit`` (``gaia.runs.batch``) sends it with the run marked as the cascade's first pass
(``CascadePass``: the cheap configuration, the strong settings, the spend cap for both passes), so
whatever process retrieves its results knows what comes next. Each first answer is written with its
cascade record (escalated or kept) by the recorder. ``continue_cascades`` runs after every retrieval
(``gaia retrieve``, ``gaia watch``, the Progress page): once a first pass has no request in flight, its
escalated videos that no second-pass request holds yet are planned with the strong settings and
submitted as an ordinary batch run marked as the second pass, under the one guard with what is left of
the cap. A process killed between the passes continues at the next retrieval, and a video is never
sent twice: a second-pass request written to the ledger (pending, sent or answered) takes its video
out of every later plan, and the ordinary plan rules skip what is in flight or analysed.

A cascade run now (``gaia run --cascade``, the Run now tab: ``gaia.runs.levers.run_cascade``) records its passes
the same way, and ``continue_now`` sends its second pass by the same rule, now: right after its first pass,
right after a retry now of its failed first answers (``gaia.runs.failures.retry_now``), or at the next run of
the cascade when a process died between the passes. A retrieval continues only cascades a batch took part in
(``CascadeGroup.by_batch``), so a cascade's second pass goes the way its first did.

A cascade keeps its roles through failures: a failed request retried (``gaia retry``, the pages' retry)
goes as the pass it belonged to, its run marked with the cascade's first run (``CascadePass.retried``), so a
retried first answer escalates like the others; and first-pass videos whose batch was never created
(a crash between the intent and the API's answer) are sent again as the first pass by the next
retrieval, with the cheap configuration and under what is left of the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.ledger import OPEN_STATUSES, Ledger, Mode, RequestRow, RequestStatus, RunRow
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.prompts import ProfileNotFound
from gaia.runs.batch import SubmitResult, submit
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.escalation import CascadePass, cascade_block, uncertain
from gaia.runs.now import OnlineResult, run_now
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_submission
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings, Selection, run_fingerprint
from gaia.sidecar import CASCADE_KEY, RunBlock, SidecarError, read_sidecar, sidecar_state, write_sidecar

DONE_META = "cascade_done:"  # ledger meta key prefix: a first pass whose second pass is all submitted
# (its value: how many first-pass runs the cascade had then, so a retry's run opens it again; "1", the value
# earlier versions wrote, means the same for the one run they knew)


def cheap_settings(settings: RunSettings, model: str, preset: str) -> RunSettings:
    """The first pass's configuration: the folder's settings with the cheap model and frame preset."""
    return replace(settings, model=model).with_preset(preset)


def cascaded(folder: Folder | Path | str, cheap_model: str, cheap_preset: str | None = None
             ) -> dict[str, dict[str, Any]]:
    """The videos a cascade with ``cheap_model`` (at ``cheap_preset``, when given) has been through (relative path
    → its record)."""
    f = Folder.of(folder)
    out = {}
    for r in scan_folder(f.path).records:
        if not r.usable:
            continue
        try:
            rec = (read_sidecar(r.path) or {}).get(CASCADE_KEY)
        except SidecarError:
            continue
        if isinstance(rec, dict) and rec.get("cheap_model") == cheap_model and (
                cheap_preset is None or rec.get("cheap_preset") == cheap_preset):
            out[r.rel_path] = rec
    return out


def plan_first_pass(folder: Folder | Path | str, strong: RunSettings, cheap_model: str, cheap_preset: str, *,
                    client: Any | None = None, selection: Selection | None = None,
                    likely_empty: Mapping[str, str] | None = None, limit: int | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> SubmissionPlan:
    """The cheap pass's plan: every video not yet through a cascade with ``cheap_model`` (nor analysed with the
    strong settings), with the cheap model and frame preset, its keyframes extracted when missing. The plan
    carries the first pass's record (``cascade_pass``), so ``submit`` marks its run and any later retrieval
    sends the second pass with ``strong``."""
    f = Folder.of(folder)
    cheap = cheap_settings(strong, cheap_model, cheap_preset)
    sel = selection if selection is not None else f.selection()
    for rel in [*cascaded(f, cheap_model), *analysed_with(f, strong)]:
        sel = sel.with_video(rel, True)
    plan = plan_submission(f.path, cheap, selection=sel, extract=True, client=client, likely_empty=likely_empty,
                           limit=limit, on_progress=on_progress)
    return replace(plan, cascade_pass=first_pass_marker(strong, cheap_model, cheap_preset, None))


plan_cascade = plan_first_pass  # the public name (``gaia.plan_cascade``)


def analysed_with(folder: Folder, strong: RunSettings) -> list[str]:
    """The videos whose answer was made with ``strong`` (a plain run sent them): a cheap first pass would pay
    for them again."""
    try:
        fingerprint = run_fingerprint(strong, folder.profile(strong.prompt_profile).hash)
    except ProfileNotFound:
        return []
    return [r.rel_path for r in scan_folder(folder.path).records
            if r.usable and sidecar_state(r.path, fingerprint) == "analysed"]


def first_pass_marker(strong: RunSettings, cheap_model: str, cheap_preset: str,
                      max_cost_usd: float | None) -> dict[str, Any]:
    """What the first pass's run records: enough for any later process to submit the second pass."""
    return CascadePass(1, cheap_model, cheap_preset, strong, max_cost_usd).to_dict()


@dataclass(frozen=True)
class CascadeStep:
    """What one batch cascade stands at after a retrieval: its first run, the pass it is in, and what was done."""

    first_run: str
    cheap_model: str
    strong_model: str
    first_videos: int  # videos of the first pass
    waiting: int = 0  # first-pass requests still in flight
    escalated: dict[str, str] = field(default_factory=dict)  # relative path → why (every escalated video so far)
    sent: int = 0  # second-pass requests submitted by this step
    second_run: str | None = None
    blocked: str | None = None  # why the second pass could not be sent now (kept for the next retrieval)
    done: bool = False  # every escalated video has its second-pass request (and no first-pass failure waits)
    second_open: int = 0  # second-pass requests still in flight (``cascade_states``)
    unsent: int = 0  # first-pass videos whose batch was never created, not sent again yet
    resent: int = 0  # of those, sent again as the first pass by this step
    failed: int = 0  # first-pass videos whose request failed and was not retried yet (``gaia retry`` sends them)
    taken: int = 0  # first-pass videos whose request failed and that a later send (a plain run, a later cascade) took

    @property
    def stage(self) -> int:
        """1 while the first pass runs, 2 once the second is sent (or nothing needed it)."""
        return 1 if self.waiting or self.blocked or self.unsent or self.resent else 2

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"first_run": self.first_run, "cheap_model": self.cheap_model, "strong_model": self.strong_model,
                "first_videos": self.first_videos, "waiting": self.waiting, "sent": self.sent,
                "escalated": [{"rel_path": k, "reason": v} for k, v in self.escalated.items()],
                "second_run": self.second_run, "second_open": self.second_open, "blocked": self.blocked,
                "done": self.done, "unsent": self.unsent, "resent": self.resent, "failed": self.failed,
                "taken": self.taken}


@dataclass(frozen=True)
class CascadeGroup:
    """One batch cascade in the ledger: its first run, every run sent as its first pass (the first run, retries,
    videos sent again) and every run sent as its second pass."""

    root: RunRow
    step: CascadePass  # the first run's record
    firsts: tuple[RunRow, ...]
    seconds: tuple[RunRow, ...]

    @property
    def by_batch(self) -> bool:
        """Whether any of its first pass went as a batch (its second pass then goes at a retrieval); a cascade whose
        first pass all went now (``gaia run --cascade``, the Run now tab) continues now (``continue_now``)."""
        return any(run.mode == Mode.BATCH for run in self.firsts)

    def first_rows(self, ledger: Ledger) -> list[RequestRow]:
        """Every request of the first pass, over its runs."""
        return [r for run in self.firsts for r in ledger.requests(run_id=run.run_id)]

    def second_rows(self, ledger: Ledger) -> list[RequestRow]:
        """Every request of the second pass that was written to a batch (an intent never created is not)."""
        return [q for run in self.seconds for q in ledger.requests(run_id=run.run_id)
                if q.status != RequestStatus.UNSENT]

    def spent_usd(self, ledger: Ledger) -> float:
        """What both passes cost so far (a request in flight at its estimate): what the cap has left is the rest."""
        rows = [q for run in (*self.firsts, *self.seconds) for q in ledger.requests(run_id=run.run_id)]
        return sum((q.cost_usd or 0.0) if q.status not in OPEN_STATUSES else (q.estimate_usd or 0.0) for q in rows)

    def is_done(self, ledger: Ledger) -> bool:
        """Whether every escalated video had its second-pass request when the cascade last had this many runs."""
        return ledger.meta(DONE_META + self.root.run_id) == str(len(self.firsts))

    def mark_done(self, ledger: Ledger) -> None:
        """Keep that every escalated video of the first pass as it stands has its second-pass request."""
        ledger.set_meta(DONE_META + self.root.run_id, str(len(self.firsts)))


def cascade_runs(ledger: Ledger) -> list[tuple[RunRow, CascadePass]]:
    """Every batch cascade pass the ledger holds, oldest first."""
    out = []
    for run in reversed(ledger.runs()):
        step = CascadePass.of(run.settings)
        if step is not None:
            out.append((run, step))
    return out


def cascade_groups(ledger: Ledger) -> list[CascadeGroup]:
    """Every batch cascade the ledger holds, oldest first: a first-pass run without ``first_run`` (or whose first
    run is gone) starts one; a first-pass run with it (a retry, videos sent again) and every second-pass run
    belong to the cascade it names."""
    passes = cascade_runs(ledger)
    roots = {run.run_id: (run, step) for run, step in passes
             if step.number == 1 and (step.first_run is None or step.first_run == run.run_id)}
    for run, step in passes:  # a first-pass run naming a cascade the ledger no longer holds starts its own
        if step.number == 1 and step.first_run not in roots:
            roots[run.run_id] = (run, step)
    out = []
    for rid, (root, step) in roots.items():
        firsts = tuple(run for run, s in passes if s.number == 1 and (run.run_id == rid or s.first_run == rid))
        seconds = tuple(run for run, s in passes if s.number == 2 and s.first_run == rid)
        out.append(CascadeGroup(root, step, firsts, seconds))
    return out


def _first_record(folder: Folder, row: RequestRow, step: CascadePass, schema: dict[str, Any] | None
                  ) -> dict[str, Any] | None:
    """The cascade record of one answered first-pass request; written now when its sidecar lacks it (an answer
    delivered from ``unwritten/``, say). ``None`` when the sidecar holds another request's answer."""
    video = folder.video(row.rel_path)
    try:
        data = read_sidecar(video) or {}
    except SidecarError:
        return None
    rec = data.get(CASCADE_KEY)
    if isinstance(rec, dict) and RunBlock.of(rec.get("first") if isinstance(rec.get("first"), dict) else None
                                             ).request_id == row.id:
        return rec
    if RunBlock.of(data).request_id != row.id or schema is None:
        return None
    block = cascade_block(data.get("analysis"), data.get("run"), cheap_model=step.cheap_model,
                          cheap_preset=step.cheap_preset, reason=uncertain(data.get("analysis"), schema),
                          stands_for=step.stands_for(row.prompt_hash or ""))
    try:
        write_sidecar(video, block)
    except (SidecarError, OSError):
        return None
    return block[CASCADE_KEY]


def _unsent(folder: Folder, step: CascadePass, rows: list[RequestRow]) -> list[str]:
    """First-pass videos whose only requests went into batches never created (sent again by the next retrieval),
    less those a plain run or a later cascade answered meanwhile (theirs)."""
    other = {r.rel_path for r in rows if r.status != RequestStatus.UNSENT}
    unsent = list(dict.fromkeys(r.rel_path for r in rows if r.status == RequestStatus.UNSENT
                                and r.rel_path not in other))
    if unsent:
        gone = {*cascaded(folder, step.cheap_model), *analysed_with(folder, step.strong)}
        unsent = [rel for rel in unsent if rel not in gone]
    return unsent


def _never_sent(rows: list[RequestRow], unsent: list[str]) -> bool:
    """A cascade none of whose requests reached the API and whose videos others took: nothing to say of it."""
    return not unsent and all(r.status == RequestStatus.UNSENT for r in rows)


def _failed(ledger: Ledger, rows: list[RequestRow]) -> tuple[int, int]:
    """First-pass videos whose request failed, with no answer nor retry in flight: those still waiting for a retry
    (``Ledger.failures``), and those a later send took (a plain run or a later cascade answered them, holds them
    in flight, or failed in its turn), which no longer hold the cascade back."""
    fine = {r.rel_path for r in rows if r.status == RequestStatus.SUCCEEDED or r.status in OPEN_STATUSES}
    failed = {r.rel_path for r in rows if r.status == RequestStatus.FAILED} - fine
    if not failed:
        return 0, 0
    ids = {r.id for r in rows}
    waiting = {r.rel_path for r in ledger.failures() if r.id in ids} & failed
    return len(waiting), len(failed - waiting)


def _judge(folder: Folder, ledger: Ledger, group: CascadeGroup) -> tuple[CascadeStep, list[str], list[str]]:
    """Where one cascade stands, its escalated videos no second-pass request holds yet, and its first-pass videos
    whose batch was never created."""
    rows = group.first_rows(ledger)
    step = group.step
    unsent = _unsent(folder, step, rows)
    failed, taken = _failed(ledger, rows)
    base = CascadeStep(group.root.run_id, step.cheap_model, step.strong.model, len({r.rel_path for r in rows}),
                       unsent=len(unsent), failed=failed, taken=taken)
    waiting = sum(1 for r in rows if r.status in OPEN_STATUSES)
    if waiting:
        return replace(base, waiting=waiting), [], []
    schema: dict[str, Any] | None = None
    escalated: dict[str, str] = {}
    for r in rows:
        if r.status != RequestStatus.SUCCEEDED:
            continue
        if schema is None:
            try:
                schema = folder.profile(r.prompt_hash or "").schema
            except ProfileNotFound:
                schema = None
        rec = _first_record(folder, r, step, schema)
        if rec is not None and rec.get("escalated"):
            escalated[r.rel_path] = str(rec.get("reason") or "uncertain")
    taken = {q.rel_path for q in group.second_rows(ledger)}
    todo = [rel for rel in escalated if rel not in taken]
    seconds = group.seconds
    return (replace(base, escalated=escalated, second_run=seconds[-1].run_id if seconds else None,
                    done=not todo and not unsent and not base.failed), todo, unsent)


def continue_cascades(folder: Folder | Path | str, client: Any, *,
                      on_progress: Callable[[int, int], None] | None = None,
                      checkpoints: Checkpoints = NO_CHECKPOINTS) -> tuple[CascadeStep, ...]:
    """Submit the second pass of every batch cascade whose first pass has all its answers (see the module).

    First-pass videos whose batch was never created go again first, as the first pass (the second pass then
    waits for their answers). Returns where each unfinished cascade stands (the ones finished earlier are left
    out). A pass the guard blocks (the cap left, a read-only folder) is reported with why and tried again at
    the next retrieval; nothing is sent for it meanwhile.
    """
    f = Folder.of(folder)
    if not f.has_ledger:
        return ()
    out: list[CascadeStep] = []
    todo_by_run: list[tuple[CascadeStep, CascadeGroup, list[str], list[str], float]] = []
    with f.ledger() as ledger:
        for group in cascade_groups(ledger):
            if group.is_done(ledger) or not group.by_batch:
                continue
            state, todo, unsent = _judge(f, ledger, group)
            if state.done:
                group.mark_done(ledger)
            if not todo and not unsent:
                if not _never_sent(group.first_rows(ledger), unsent):
                    out.append(state)
                continue
            todo_by_run.append((state, group, todo, unsent, group.spent_usd(ledger)))
    for state, group, todo, unsent, spent in todo_by_run:
        if unsent:  # sent again first; the second pass waits for their answers (unless none could go now)
            state = _send_again(f, client, state, group, unsent, spent, on_progress, checkpoints)
            if state.resent:
                out.append(state)
                continue
        if todo:
            state = _send_second(f, client, state, group, todo, spent, on_progress, checkpoints)
        out.append(state)
    return tuple(out)


def _left(step: CascadePass, spent_usd: float) -> float | None:
    """What the cascade's cap leaves after ``spent_usd`` (``None``: no cap)."""
    return None if step.max_cost_usd is None else max(0.0, step.max_cost_usd - spent_usd)


def _send_again(folder: Folder, client: Any, state: CascadeStep, group: CascadeGroup, unsent: list[str],
                spent_usd: float, on_progress: Callable[[int, int], None] | None,
                checkpoints: Checkpoints) -> CascadeStep:
    """Send first-pass videos whose batch was never created as the cascade's first pass again (cheap settings);
    a video a plain submission or a later cascade took meanwhile is left to it."""
    step = group.step
    cheap = cheap_settings(step.strong, step.cheap_model, step.cheap_preset)
    wanted = set(unsent)
    records = [r for r in scan_folder(folder.path).records if r.rel_path in wanted]
    plan = None
    if records:
        sets = extract_keyframes(folder.path, settings=cheap.keyframes, model=cheap.model, records=records)
        plan = plan_submission(folder.path, cheap, keyframe_sets=sets, selection=Selection())
    if plan is None or (not plan.requests and not plan.blocking_problems):  # in flight in another send
        return state
    marker = replace(step, first_run=group.root.run_id)
    res: SubmitResult = submit(folder, plan, client, max_cost_usd=_left(step, spent_usd), on_progress=on_progress,
                               cascade_pass=marker.to_dict(), note="cascade pass 1 (sent again)",
                               checkpoints=checkpoints)
    if res.blocked:
        return replace(state, blocked=f"The cascade's first pass could not be sent again: {res.blocked}")
    return replace(state, resent=res.sent, unsent=max(0, state.unsent - res.sent), done=False)


def _send_second(folder: Folder, client: Any, state: CascadeStep, group: CascadeGroup, todo: list[str],
                 spent_usd: float, on_progress: Callable[[int, int], None] | None,
                 checkpoints: Checkpoints) -> CascadeStep:
    step = group.step
    plan = _second_plan(folder, step, state.first_run, todo)
    if not plan.requests and not plan.blocking_problems:  # analysed with the strong settings by now, or in flight
        if not state.unsent:
            with folder.ledger() as ledger:
                group.mark_done(ledger)
        return replace(state, done=not state.unsent)
    res: SubmitResult = submit(folder, plan, client, max_cost_usd=_left(step, spent_usd), on_progress=on_progress,
                               cascade_pass=plan.cascade_pass, note="cascade pass 2", checkpoints=checkpoints)
    if res.blocked:
        return replace(state, blocked=(state.blocked + " " if state.blocked else "")
                       + f"The cascade's second pass was not sent: {res.blocked}")
    return replace(state, sent=res.sent, second_run=res.run_id or state.second_run,
                   done=res.ok and res.sent == len(todo) and not state.unsent)


def _second_plan(folder: Folder, step: CascadePass, first_run: str, todo: list[str]) -> SubmissionPlan:
    """The second pass of the cascade whose first run is ``first_run``: its escalated videos ``todo`` with the
    strong settings, the plan marked as that cascade's second pass (whichever way it is sent)."""
    wanted = set(todo)
    records = [r for r in scan_folder(folder.path).records if r.rel_path in wanted]
    sets = extract_keyframes(folder.path, settings=step.strong.keyframes, model=step.strong.model, records=records)
    plan = plan_submission(folder.path, step.strong, keyframe_sets=sets, selection=Selection())
    marker = CascadePass(2, step.cheap_model, step.cheap_preset, step.strong, step.max_cost_usd, first_run)
    return replace(plan, cascade_pass=marker.to_dict())


@dataclass(frozen=True)
class SentNow:
    """The second pass ``continue_now`` sent for one cascade: where the cascade stood, what went, and the run."""

    step: CascadeStep
    result: OnlineResult


def continue_now(folder: Folder | Path | str, client: Any, *, first_runs: Collection[str] | None = None,
                 max_cost_usd: float | None = None, concurrency: int = DEFAULT_CONCURRENCY,
                 on_progress: Callable[[int, int], None] | None = None,
                 on_pass: Callable[[int, int, str], None] | None = None,
                 checkpoints: Checkpoints = NO_CHECKPOINTS) -> tuple[SentNow, ...]:
    """Send now the second pass of every cascade whose first pass all went now (those of ``first_runs``, when
    given) and has all its answers: its escalated videos no second-pass request holds yet, with the strong
    settings, as a run marked as that cascade's second pass.

    The rule and the records are the batch cascade's (``_judge``); only the transport differs. Each cascade's
    second pass goes through the one guard with what is left of its own cap (the cap it was started with, less
    what both its passes cost so far, failed and retried requests included), and no more than what is left of
    ``max_cost_usd`` over this call. ``on_pass(2, videos, model)`` is called as each starts (``model``: the one
    that cascade recorded as strong). A cascade killed between its passes, or whose failed first answers were
    retried now, continues here; nothing is sent twice: a second-pass request in the ledger (answered, failed or
    in flight) takes its video out.
    """
    f = Folder.of(folder)
    if not f.has_ledger:
        return ()
    todo_by_run: list[tuple[CascadeStep, CascadeGroup, list[str], float]] = []
    with f.ledger() as ledger:
        for group in cascade_groups(ledger):
            if group.by_batch or group.is_done(ledger) or (first_runs is not None
                                                           and group.root.run_id not in first_runs):
                continue
            state, todo, _ = _judge(f, ledger, group)
            if state.done:
                group.mark_done(ledger)
            if todo:
                todo_by_run.append((state, group, todo, group.spent_usd(ledger)))
    out: list[SentNow] = []
    spent = 0.0
    for state, group, todo, group_spent in todo_by_run:
        plan = _second_plan(f, group.step, state.first_run, todo)
        if not plan.requests and not plan.blocking_problems:  # answered with the strong settings by now, or in flight
            continue
        left = [c for c in (_left(group.step, group_spent),
                            None if max_cost_usd is None else max(0.0, max_cost_usd - spent)) if c is not None]
        if on_pass:
            on_pass(2, len(plan.requests), plan.model)
        res = run_now(f, plan, client, concurrency=concurrency, max_cost_usd=min(left) if left else None,
                      on_progress=on_progress, note="cascade pass 2", checkpoints=checkpoints)
        spent += res.spent_usd
        out.append(SentNow(replace(state, sent=res.succeeded + res.failed, second_run=res.run_id or state.second_run,
                                   blocked=res.blocked), res))
    return tuple(out)


def cascade_states(folder: Folder | Path | str, *, last: int = 3) -> tuple[CascadeStep, ...]:
    """Where the folder's latest ``last`` batch cascades stand, read from the ledger and sidecars only (nothing
    is written or sent): the first pass's requests still in flight (over its retries), the videos it escalated,
    those whose batch was never created, the second pass's run and how many of its requests are still in flight."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return ()
    out = []
    with f.ledger() as ledger:
        for group in [g for g in cascade_groups(ledger) if g.by_batch
                      and not _never_sent(g.first_rows(ledger), _unsent(f, g.step, g.first_rows(ledger)))][-last:]:
            rows = group.first_rows(ledger)
            waiting = sum(1 for r in rows if r.status in OPEN_STATUSES)
            escalated: dict[str, str] = {}
            for r in rows:
                if r.status != RequestStatus.SUCCEEDED:
                    continue
                try:
                    rec = (read_sidecar(f.video(r.rel_path)) or {}).get(CASCADE_KEY)
                except SidecarError:
                    continue
                if isinstance(rec, dict) and rec.get("escalated"):
                    escalated[r.rel_path] = str(rec.get("reason") or "uncertain")
            second_rows = group.second_rows(ledger)
            second_open = sum(1 for q in second_rows if q.status in OPEN_STATUSES)
            seconds = group.seconds
            failed, taken = _failed(ledger, rows)
            out.append(CascadeStep(group.root.run_id, group.step.cheap_model, group.step.strong.model,
                                   len({r.rel_path for r in rows}), waiting=waiting, escalated=escalated,
                                   sent=len({q.rel_path for q in second_rows}),
                                   second_run=seconds[-1].run_id if seconds else None, second_open=second_open,
                                   done=group.is_done(ledger) and not second_open and not failed,
                                   unsent=len(_unsent(f, group.step, rows)), failed=failed, taken=taken))
    return tuple(out)
