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
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.labels import effective_analysis
from gaia.media.empty import likely_empty_reasons
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.pricing.levers import MissRate, save_misses
from gaia.runs.now import OnlineResult, run_now
from gaia.runs.recovery import plan_submission
from gaia.settings import RunSettings, Selection
from gaia.sidecar import SidecarError, read_sidecar

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
            value = str(subject.get(name) or "").strip().lower()
            if not value or any(w in value for w in UNKNOWN_WORDS):
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
