"""Runs for the two levers: a sample of likely-empty clips sent anyway (misses measured), and a cascade.

``measure_misses`` sends a spread sample of the likely-empty clips through run now (an ordinary
run in the ledger, at its ordinary price, under the spend cap) and counts how many answers had a
subject, by the schema: a top-level list of objects (the default schema's ``subjects``) that is not
empty. The miss rate with its Wilson interval is kept for the folder (``gaia.pricing.levers``), and
the answers are ordinary analyses of those clips: nothing is paid for twice.

``run_cascade`` runs a cascade now: two ordinary runs, the second only for the answers ``uncertain``
(``gaia.runs.escalation``, the one rule) marks, each run recording its pass as a batch cascade's do, so
failures and crashes keep their roles (``gaia.runs.cascade``, where the second pass is sent). What a cascade
taught (``escalation_share``) and what it already cost (``cascade_spent``) feed its estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.labels import effective_analysis
from gaia.media.empty import likely_empty_reasons
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.pricing.bill import folder_spend
from gaia.pricing.levers import MissRate, save_misses, share_to_come, wilson
from gaia.runs.cascade import cascade_groups, cascaded, cheap_settings, continue_now, first_pass_marker
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.escalation import has_subject, keep_strong_settings
from gaia.runs.now import NOTHING_NOW, OnlineResult, run_now
from gaia.runs.recovery import plan_submission
from gaia.settings import (
    CASCADE_ASSUMED_SHARE,
    CASCADE_SHARE_RANGE,
    RunSettings,
    Selection,
)
from gaia.sidecar import CASCADE_KEY, RunBlock, SidecarError, read_sidecar

DEFAULT_MISS_SAMPLE = 12


def spread_sample(items: Sequence[str], n: int) -> list[str]:
    """``n`` of ``items`` spread evenly over them (all when there are fewer), in their order."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step + step / 2)] for i in range(n)]


def measure_misses(
    folder: Folder | Path | str,
    client: Any,
    *,
    sample: int = DEFAULT_MISS_SAMPLE,
    settings: RunSettings | None = None,
    concurrency: int = 4,
    max_cost_usd: float | None = None,
    on_progress: Any = None,
) -> tuple[MissRate, OnlineResult | None]:
    """Send a spread sample of the likely-empty clips now and count those whose answer had a subject.

    Clips already analysed with these settings are not sent again: their answers count as they are.
    The user's exclusions do not apply to the sample (excluding likely-empty clips is what it checks).
    Returns the miss rate (also saved for the folder) and the run's result (``None`` when nothing was sent).
    """
    f = Folder.of(folder)
    settings = settings or f.settings()
    records = scan_folder(f.path).records
    flagged = list(likely_empty_reasons(f.path, records, threshold=settings.empty_threshold))
    chosen = set(spread_sample(flagged, sample))
    recs = [r for r in records if r.rel_path in chosen]
    sets = extract_keyframes(f.path, settings=settings.keyframes, model=settings.model, records=recs)
    plan = plan_submission(f.path, settings, keyframe_sets=sets, selection=Selection())
    result = None
    if plan.requests:
        result = run_now(f.path, plan, client, concurrency=concurrency, max_cost_usd=max_cost_usd,
                         on_progress=on_progress, note="likely-empty sample")
    schema = plan.profile.schema
    answered, with_subject = 0, []
    for r in recs:
        try:
            analysis = effective_analysis(read_sidecar(r.path))
        except SidecarError:
            continue
        if analysis is None:
            continue
        answered += 1
        if has_subject(analysis, schema):
            with_subject.append(r.rel_path)
    miss = MissRate(answered, len(with_subject), tuple(with_subject))
    if answered:
        save_misses(f, miss)
    return miss, result


# --------------------------------------------------------------------------------------------
# The cascade: a cheap first pass, the uncertain answers sent again with the stronger configuration
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EscalationShare:
    """The share of first answers escalated: assumed, or learnt from the videos a cascade went through."""

    point: float
    low: float
    high: float
    videos: int  # first answers it was learnt from (0: assumed)

    @property
    def source(self) -> str:
        """``assumed`` or ``learnt from N video(s)``."""
        return "assumed" if not self.videos else f"learnt from {self.videos} video(s)"


def escalation_share(folder: Folder | Path | str, cheap_model: str, cheap_preset: str | None = None, *,
                     remaining: int | None = None) -> EscalationShare:
    """What share of first answers go to the second pass: learnt from past cascades once any video went through
    one with ``cheap_model`` (at ``cheap_preset`` when given), else the settings' assumption. The range of a learnt
    share is that of the ``remaining`` videos still to send (``share_to_come``: a few videos are a small sample
    themselves), or the rate's own Wilson interval when they are not said."""
    done = cascaded(folder, cheap_model, cheap_preset)
    if not done:
        lo, hi = CASCADE_SHARE_RANGE
        return EscalationShare(CASCADE_ASSUMED_SHARE, lo, hi, 0)
    up = sum(1 for rec in done.values() if rec.get("escalated"))
    lo, hi = wilson(up, len(done)) if remaining is None else share_to_come(up, len(done), remaining)
    return EscalationShare(up / len(done), lo, hi, len(done))


def cascade_spent(folder: Folder | Path | str, cheap_model: str, cheap_preset: str | None = None
                  ) -> tuple[float, int]:
    """What the cascade with ``cheap_model`` (at ``cheap_preset``) already cost, and for how many videos: the bills
    of its runs as ``gaia spent`` counts them (``Spend.by_run``). Its runs are those that made the first and the
    second answers of the videos it went through (run now or batches), and a batch cascade's every pass (failed
    and retried requests included)."""
    f = Folder.of(folder)
    done = cascaded(f, cheap_model, cheap_preset)
    if not done or not f.has_ledger:
        return 0.0, len(done)
    runs: set[str] = set()
    for rel, rec in done.items():
        first = rec.get("first")
        if isinstance(first, dict) and (rid := RunBlock.of(first).run_id):
            runs.add(rid)
        if rec.get("escalated"):
            try:
                second = RunBlock.of(read_sidecar(f.video(rel))).run_id
            except SidecarError:
                second = None
            if second:
                runs.add(second)
    with f.ledger() as ledger:
        for group in cascade_groups(ledger):
            if group.step.cheap_model == cheap_model and cheap_preset in (None, group.step.cheap_preset):
                runs.update(r.run_id for r in (*group.firsts, *group.seconds))
    by_run = folder_spend(f).by_run
    return sum(by_run.get(r, 0.0) for r in runs), len(done)


@dataclass(frozen=True)
class CascadeResult:
    """Both passes of a cascade run now: the first run, the second (``None`` when nothing was escalated), and why
    each went; ``earlier`` are second passes sent for earlier run-now cascades left between their passes."""

    first: OnlineResult
    second: OnlineResult | None
    escalated: dict[str, str]  # relative path → why its first answer was uncertain (sent, or to send, again)
    kept: tuple[str, ...]  # first answers that stand
    skipped: tuple[str, ...] = ()  # already through this cascade
    earlier: tuple[OnlineResult, ...] = ()

    @property
    def spent_usd(self) -> float:
        """Every pass's bills."""
        return self.first.spent_usd + sum(r.spent_usd for r in self.seconds)

    @property
    def seconds(self) -> tuple[OnlineResult, ...]:
        """Every second pass this run sent: earlier cascades', then its own."""
        return (*self.earlier, *((self.second,) if self.second else ()))

    @property
    def ok(self) -> bool:
        """Whether every pass went through."""
        return self.first.ok and all(r.ok for r in self.seconds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"first": self.first.to_dict(), "second": self.second.to_dict() if self.second else None,
                "earlier": [r.to_dict() for r in self.earlier],
                "escalated": [{"rel_path": k, "reason": v} for k, v in self.escalated.items()],
                "kept": list(self.kept), "skipped": list(self.skipped), "spent_usd": self.spent_usd, "ok": self.ok}


def run_cascade(
    folder: Folder | Path | str,
    client: Any,
    cheap_model: str,
    cheap_preset: str,
    *,
    settings: RunSettings | None = None,
    limit: int | None = None,
    concurrency: int = 4,
    max_cost_usd: float | None = None,
    likely_empty: Mapping[str, str] | None = None,
    on_progress: Any = None,
    on_pass: Callable[[int, int, str], None] | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> CascadeResult:
    """Two ordinary runs now: every video with the cheap configuration, then the uncertain ones with ``settings``.

    ``limit`` makes it a pilot of that many videos spread evenly over those still to send (``spread_sample``),
    so the escalation share it teaches the estimate is not only the folder's first videos'. Both runs record
    their pass (``gaia.runs.escalation.CascadePass``), as a batch cascade's do: each first answer is written
    with its cascade record (whether and why it was escalated) by the recorder, and a failed request retried
    (``gaia retry``, retry now) goes as its pass in this cascade. The second pass is ``continue_now``, which
    also sends the uncertain answers of earlier run-now cascades that have none yet (a run killed between its
    passes, retried first answers) under their own caps. Videos already through this cascade are skipped. The
    spend cap covers everything this run sends. ``on_pass(n, videos, model)`` is called as pass ``n`` (1 or 2)
    starts, with the model it sends to.
    """
    f = Folder.of(folder)
    strong = settings or f.settings()
    keep_strong_settings(f, strong)
    cheap = cheap_settings(strong, cheap_model, cheap_preset)
    done = cascaded(f, cheap_model)
    selection = f.selection()
    for rel in done:
        selection = selection.with_video(rel, True)
    records = scan_folder(f.path).records
    sets = extract_keyframes(f.path, settings=cheap.keyframes, model=cheap.model, records=records)
    plan1 = plan_submission(f.path, cheap, keyframe_sets=sets, selection=selection, likely_empty=likely_empty)
    if limit is not None and limit < len(plan1.requests):  # a pilot: spread over the folder, not its first videos
        chosen = set(spread_sample([p.rel_path for p in plan1.requests], limit))
        plan1 = plan_submission(f.path, cheap, keyframe_sets=[s for s in sets if s.rel_path in chosen],
                                selection=selection, likely_empty=likely_empty)
    plan1 = replace(plan1, cascade_pass=first_pass_marker(strong, cheap_model, cheap_preset, max_cost_usd))
    nothing = not plan1.requests and not plan1.blocking_problems
    if on_pass and not nothing:
        on_pass(1, len(plan1.requests), plan1.model)
    first = OnlineResult(estimate_usd=0.0) if nothing else run_now(
        f.path, plan1, client, concurrency=concurrency, max_cost_usd=max_cost_usd, on_progress=on_progress,
        note="cascade pass 1", checkpoints=checkpoints)
    escalated: dict[str, str] = {}
    kept: list[str] = []
    by_rel = {r.rel_path: r for r in records}
    for o in first.outcomes:  # each first answer's record, written with it
        if o.status != "succeeded" or o.rel_path not in by_rel:
            continue
        try:
            rec = (read_sidecar(by_rel[o.rel_path].path) or {}).get(CASCADE_KEY)
        except SidecarError:
            continue
        if isinstance(rec, dict) and rec.get("escalated"):
            escalated[o.rel_path] = str(rec.get("reason") or "uncertain")
        elif isinstance(rec, dict):
            kept.append(o.rel_path)
    left = None if max_cost_usd is None else max(0.0, max_cost_usd - first.spent_usd)
    sent = continue_now(f, client, max_cost_usd=left, concurrency=concurrency, on_progress=on_progress,
                        on_pass=on_pass, checkpoints=checkpoints)
    second = next((s.result for s in sent if first.run_id and s.step.first_run == first.run_id), None)
    earlier = tuple(s for s in sent if s.result is not second)
    for s in earlier:
        escalated.update({rel: s.step.escalated.get(rel, "uncertain")
                          for rel in (*(o.rel_path for o in s.result.outcomes), *s.result.not_sent)})
    if nothing and not sent:
        first = replace(first, blocked=NOTHING_NOW)
    return CascadeResult(first, second, escalated, tuple(kept), tuple(sorted(done)),
                         tuple(s.result for s in earlier))
