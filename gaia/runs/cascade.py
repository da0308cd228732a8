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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.ledger import OPEN_STATUSES, Ledger, RequestRow, RequestStatus, RunRow
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.prompts import ProfileNotFound
from gaia.runs.batch import SubmitResult, submit
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.escalation import CascadePass, cascade_block, uncertain
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_submission
from gaia.settings import RunSettings, Selection
from gaia.sidecar import CASCADE_KEY, RunBlock, SidecarError, read_sidecar, write_sidecar

DONE_META = "cascade_done:"  # ledger meta key prefix: a first pass whose second pass is all submitted


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
    for rel in cascaded(f, cheap_model):
        sel = sel.with_video(rel, True)
    plan = plan_submission(f.path, cheap, selection=sel, extract=True, client=client, likely_empty=likely_empty,
                           limit=limit, on_progress=on_progress)
    return replace(plan, cascade_pass=first_pass_marker(strong, cheap_model, cheap_preset, None))


plan_cascade = plan_first_pass  # the public name (``gaia.plan_cascade``)


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
    first_videos: int  # requests of the first pass
    waiting: int = 0  # first-pass requests still in flight
    escalated: dict[str, str] = field(default_factory=dict)  # relative path → why (every escalated video so far)
    sent: int = 0  # second-pass requests submitted by this step
    second_run: str | None = None
    blocked: str | None = None  # why the second pass could not be sent now (kept for the next retrieval)
    done: bool = False  # every escalated video has its second-pass request
    second_open: int = 0  # second-pass requests still in flight (``cascade_states``)

    @property
    def stage(self) -> int:
        """1 while the first pass runs, 2 once the second is sent (or nothing needed it)."""
        return 1 if self.waiting or self.blocked else 2

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"first_run": self.first_run, "cheap_model": self.cheap_model, "strong_model": self.strong_model,
                "first_videos": self.first_videos, "waiting": self.waiting, "sent": self.sent,
                "escalated": [{"rel_path": k, "reason": v} for k, v in self.escalated.items()],
                "second_run": self.second_run, "second_open": self.second_open, "blocked": self.blocked,
                "done": self.done}


def cascade_runs(ledger: Ledger) -> list[tuple[RunRow, CascadePass]]:
    """Every batch cascade pass the ledger holds, oldest first."""
    out = []
    for run in reversed(ledger.runs()):
        step = CascadePass.of(run.settings)
        if step is not None:
            out.append((run, step))
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


def _judge(folder: Folder, ledger: Ledger, run: RunRow, step: CascadePass,
           seconds: list[str]) -> tuple[CascadeStep, list[str]]:
    """Where one first pass stands, and the escalated videos no second-pass request holds yet."""
    rows = ledger.requests(run_id=run.run_id)
    base = CascadeStep(run.run_id, step.cheap_model, step.strong.model, len(rows))
    waiting = sum(1 for r in rows if r.status in OPEN_STATUSES)
    if waiting:
        return replace(base, waiting=waiting), []
    try:
        schema: dict[str, Any] | None = folder.profile(run.prompt_hash or "").schema
    except ProfileNotFound:
        schema = None
    escalated: dict[str, str] = {}
    for r in rows:
        if r.status != RequestStatus.SUCCEEDED:
            continue
        rec = _first_record(folder, r, step, schema)
        if rec is not None and rec.get("escalated"):
            escalated[r.rel_path] = str(rec.get("reason") or "uncertain")
    taken = {q.rel_path for sid in seconds for q in ledger.requests(run_id=sid) if q.status != RequestStatus.UNSENT}
    todo = [rel for rel in escalated if rel not in taken]
    return replace(base, escalated=escalated, second_run=seconds[-1] if seconds else None, done=not todo), todo


def continue_cascades(folder: Folder | Path | str, client: Any, *,
                      on_progress: Callable[[int, int], None] | None = None,
                      checkpoints: Checkpoints = NO_CHECKPOINTS) -> tuple[CascadeStep, ...]:
    """Submit the second pass of every batch cascade whose first pass has all its answers (see the module).

    Returns where each unfinished cascade stands (the ones finished earlier are left out). A second pass
    the guard blocks (the cap left, a read-only folder) is reported with why and tried again at the next
    retrieval; nothing is sent for it meanwhile.
    """
    f = Folder.of(folder)
    if not f.has_ledger:
        return ()
    out: list[CascadeStep] = []
    todo_by_run: list[tuple[CascadeStep, CascadePass, list[str], float]] = []
    with f.ledger() as ledger:
        passes = cascade_runs(ledger)
        for run, step in passes:
            if step.number != 1 or ledger.meta(DONE_META + run.run_id):
                continue
            seconds = [r.run_id for r, s in passes if s.number == 2 and s.first_run == run.run_id]
            state, todo = _judge(f, ledger, run, step, seconds)
            if state.done:
                ledger.set_meta(DONE_META + run.run_id, "1")
            if not todo:
                out.append(state)
                continue
            spent = sum(r.cost_usd or 0.0 for r in ledger.requests(run_id=run.run_id))
            todo_by_run.append((state, step, todo, spent))
    for state, step, todo, spent in todo_by_run:
        out.append(_send_second(f, client, state, step, todo, spent, on_progress, checkpoints))
    return tuple(out)


def _send_second(folder: Folder, client: Any, state: CascadeStep, step: CascadePass, todo: list[str],
                 spent_usd: float, on_progress: Callable[[int, int], None] | None,
                 checkpoints: Checkpoints) -> CascadeStep:
    strong = step.strong
    wanted = set(todo)
    records = [r for r in scan_folder(folder.path).records if r.rel_path in wanted]
    sets = extract_keyframes(folder.path, settings=strong.keyframes, model=strong.model, records=records)
    plan = plan_submission(folder.path, strong, keyframe_sets=sets, selection=Selection())
    if not plan.requests and not plan.blocking_problems:  # analysed with the strong settings by now, or in flight
        with folder.ledger() as ledger:
            ledger.set_meta(DONE_META + state.first_run, "1")
        return replace(state, done=True)
    cap = None if step.max_cost_usd is None else max(0.0, step.max_cost_usd - spent_usd)
    marker = CascadePass(2, step.cheap_model, step.cheap_preset, strong, step.max_cost_usd, state.first_run)
    res: SubmitResult = submit(folder, plan, client, max_cost_usd=cap, on_progress=on_progress,
                               cascade_pass=marker.to_dict(), note="cascade pass 2", checkpoints=checkpoints)
    if res.blocked:
        return replace(state, blocked=f"The cascade's second pass was not sent: {res.blocked}")
    return replace(state, sent=res.sent, second_run=res.run_id or state.second_run,
                   done=res.ok and res.sent == len(todo))


def cascade_states(folder: Folder | Path | str, *, last: int = 3) -> tuple[CascadeStep, ...]:
    """Where the folder's latest ``last`` batch cascades stand, read from the ledger and sidecars only (nothing
    is written or sent): the first pass's requests still in flight, the videos it escalated, the second pass's
    run and how many of its requests are still in flight (``waiting`` once the first pass is through)."""
    f = Folder.of(folder)
    if not f.has_ledger:
        return ()
    out = []
    with f.ledger() as ledger:
        passes = cascade_runs(ledger)
        firsts = [(r, s) for r, s in passes if s.number == 1][-last:]
        for run, step in firsts:
            rows = ledger.requests(run_id=run.run_id)
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
            seconds = [r.run_id for r, s in passes if s.number == 2 and s.first_run == run.run_id]
            second_rows = [q for sid in seconds for q in ledger.requests(run_id=sid)
                           if q.status != RequestStatus.UNSENT]
            second_open = sum(1 for q in second_rows if q.status in OPEN_STATUSES)
            done = bool(ledger.meta(DONE_META + run.run_id))
            out.append(CascadeStep(run.run_id, step.cheap_model, step.strong.model, len(rows), waiting=waiting,
                                   escalated=escalated, sent=len(second_rows),
                                   second_run=seconds[-1] if seconds else None, second_open=second_open,
                                   done=done and not second_open))
    return tuple(out)
