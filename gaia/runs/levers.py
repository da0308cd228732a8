"""Runs for the two levers: a sample of likely-empty clips sent anyway (misses measured), and a cascade.

``measure_misses`` sends a spread sample of the likely-empty clips through run now (an ordinary
run in the ledger, at its ordinary price, under the spend cap) and counts how many answers had a
subject, by the schema: a top-level list of objects (the default schema's ``subjects``) that is not
empty. The miss rate with its Wilson interval is kept for the folder (``gaia.pricing.levers``), and
the answers are ordinary analyses of those clips: nothing is paid for twice.

``uncertain`` is the cascade's rule, read from the schema: a ``confidence`` enum whose answer is its
lowest value, a subject whose species (or type) is missing or unknown, or an answer that says the
frames disagree (a ``frames_disagree`` boolean, or a tag ``frames-disagree``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.labels import effective_analysis
from gaia.media.empty import likely_empty_reasons
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.pricing.levers import MissRate, save_misses, wilson
from gaia.runs.now import OnlineResult, run_now
from gaia.runs.recovery import plan_submission
from gaia.settings import (
    CASCADE_ASSUMED_SHARE,
    CASCADE_SHARE_RANGE,
    RunSettings,
    Selection,
    read_settings_data,
    run_fingerprint,
)
from gaia.sidecar import CASCADE_KEY, STANDS_FOR_KEY, SidecarError, read_sidecar, write_sidecar

DEFAULT_MISS_SAMPLE = 12
UNKNOWN_WORDS = ("unknown", "unidentified", "unclear", "unsure", "not sure", "?")


def spread_sample(items: Sequence[str], n: int) -> list[str]:
    """``n`` of ``items`` spread evenly over them (all when there are fewer), in their order."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step + step / 2)] for i in range(n)]


def _subject_lists(schema: Mapping[str, Any]) -> list[str]:
    """Top-level properties that are lists of objects (the subjects an answer found)."""
    props = schema.get("properties") or {}
    return [k for k, v in props.items() if isinstance(v, Mapping) and v.get("type") == "array"
            and isinstance(v.get("items"), Mapping) and v["items"].get("type") == "object"]


def has_subject(analysis: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> bool:
    """Whether an answer reports a subject: any top-level list of objects in ``schema`` is not empty."""
    if not isinstance(analysis, Mapping):
        return False
    return any(analysis.get(k) for k in _subject_lists(schema))


def uncertain(analysis: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> str | None:
    """Why a first-pass answer should go to the stronger configuration, or ``None`` when it is sure enough."""
    if not isinstance(analysis, Mapping):
        return "no usable first answer"
    props = schema.get("properties") or {}
    conf = props.get("confidence")
    if isinstance(conf, Mapping) and conf.get("enum") and analysis.get("confidence") == conf["enum"][-1]:
        return f"{conf['enum'][-1]} confidence"
    for key in _subject_lists(schema):
        item_props = (props[key].get("items") or {}).get("properties") or {}
        name = next((n for n in ("species", "type", "kind", "name") if n in item_props), None)
        for subject in analysis.get(key) or []:
            if name is None or not isinstance(subject, Mapping):
                continue
            value = str(subject.get(name) or "").replace("(emulated)", "").strip().lower()
            if not value or any(w in value for w in UNKNOWN_WORDS) or value in COARSE_NAMES:
                return f"{name} unknown while a subject is present"
    if analysis.get("frames_disagree") is True or "frames-disagree" in (analysis.get("tags") or []):
        return "the frames disagree"
    return None


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

COARSE_NAMES = ("animal", "mammal", "bird", "reptile", "fish", "insect")


def cheap_settings(settings: RunSettings, model: str, preset: str) -> RunSettings:
    """The first pass's configuration: the folder's settings with the cheap model and frame preset."""
    return replace(settings, model=model).with_preset(preset)


def cascade_record(video: Path) -> dict[str, Any] | None:
    """The first pass a cascade kept in ``video``'s sidecar, or ``None``."""
    try:
        data = read_sidecar(video)
    except SidecarError:
        return None
    rec = (data or {}).get(CASCADE_KEY)
    return rec if isinstance(rec, dict) else None


def cascaded(folder: Folder | Path | str, cheap_model: str) -> dict[str, dict[str, Any]]:
    """The videos a cascade with ``cheap_model`` has been through (relative path → its record)."""
    f = Folder.of(folder)
    out = {}
    for r in scan_folder(f.path).records:
        rec = cascade_record(r.path) if r.usable else None
        if rec is not None and rec.get("cheap_model") == cheap_model:
            out[r.rel_path] = rec
    return out


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


def escalation_share(folder: Folder | Path | str, cheap_model: str) -> EscalationShare:
    """What share of first answers go to the second pass: learnt from past cascades (with a Wilson
    interval) once any video went through one with ``cheap_model``, else the settings' assumption."""
    done = cascaded(folder, cheap_model)
    if not done:
        lo, hi = CASCADE_SHARE_RANGE
        return EscalationShare(CASCADE_ASSUMED_SHARE, lo, hi, 0)
    up = sum(1 for rec in done.values() if rec.get("escalated"))
    lo, hi = wilson(up, len(done))
    return EscalationShare(up / len(done), lo, hi, len(done))


@dataclass(frozen=True)
class CascadeResult:
    """Both passes of a cascade: the first run, the second (``None`` when nothing was escalated), and why each went."""

    first: OnlineResult
    second: OnlineResult | None
    escalated: dict[str, str]  # relative path → why its first answer was uncertain
    kept: tuple[str, ...]  # first answers that stand
    skipped: tuple[str, ...] = ()  # already through this cascade

    @property
    def spent_usd(self) -> float:
        """Both passes' bills."""
        return self.first.spent_usd + (self.second.spent_usd if self.second else 0.0)

    @property
    def ok(self) -> bool:
        """Whether both passes went through."""
        return self.first.ok and (self.second is None or self.second.ok)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"first": self.first.to_dict(), "second": self.second.to_dict() if self.second else None,
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
    on_pass: Any = None,
) -> CascadeResult:
    """Two ordinary runs now: every video with the cheap configuration, then the uncertain ones with ``settings``.

    Each first answer is kept in the sidecar under ``cascade`` (with whether and why it was
    escalated) before the second pass writes the effective answer. Videos already through this
    cascade are skipped. The spend cap covers both passes together. ``on_pass(n, videos)`` is
    called as pass ``n`` (1 or 2) starts.
    """
    f = Folder.of(folder)
    strong = settings or f.settings()
    if read_settings_data(f.existing_workdir()) is None:
        # Keep what the strong pass means: with no settings file, the folder's settings would be read from
        # the answers, most of which the cheap pass made (and the second pass's would then look stale).
        f.save_settings(strong)
    cheap = cheap_settings(strong, cheap_model, cheap_preset)
    done = cascaded(f, cheap_model)
    selection = f.selection()
    for rel in done:
        selection = selection.with_video(rel, True)
    records = scan_folder(f.path).records
    sets = extract_keyframes(f.path, settings=cheap.keyframes, model=cheap.model, records=records)
    plan1 = plan_submission(f.path, cheap, keyframe_sets=sets, selection=selection, limit=limit,
                            likely_empty=likely_empty)
    if on_pass:
        on_pass(1, len(plan1.requests))
    first = run_now(f.path, plan1, client, concurrency=concurrency, max_cost_usd=max_cost_usd,
                    on_progress=on_progress, note="cascade pass 1")
    schema = plan1.profile.schema
    stands_for = run_fingerprint(strong, plan1.profile.hash)  # what a kept first answer counts as
    escalated: dict[str, str] = {}
    kept: list[str] = []
    by_rel = {r.rel_path: r for r in records}
    for o in first.outcomes:
        if o.status != "succeeded" or o.rel_path not in by_rel:
            continue
        video = by_rel[o.rel_path].path
        data = read_sidecar(video) or {}
        why = uncertain(data.get("analysis"), schema)
        write_sidecar(video, {CASCADE_KEY: {"cheap_model": cheap.model, "cheap_preset": cheap_preset,
                                            "first": {"analysis": data.get("analysis"), "run": data.get("run")},
                                            "escalated": why is not None, "reason": why,
                                            STANDS_FOR_KEY: None if why is not None else stands_for}})
        (kept.append(o.rel_path) if why is None else escalated.__setitem__(o.rel_path, why))
    second = None
    if escalated:
        recs = [by_rel[rel] for rel in escalated]
        sets2 = extract_keyframes(f.path, settings=strong.keyframes, model=strong.model, records=recs)
        plan2 = plan_submission(f.path, strong, keyframe_sets=sets2, selection=Selection())
        if on_pass:
            on_pass(2, len(plan2.requests))
        cap = None if max_cost_usd is None else max(0.0, max_cost_usd - first.spent_usd)
        second = run_now(f.path, plan2, client, concurrency=concurrency, max_cost_usd=cap,
                         on_progress=on_progress, note="cascade pass 2")
    return CascadeResult(first, second, escalated, tuple(kept), tuple(sorted(done)))
