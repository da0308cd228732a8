"""The Tune page's view models: a tune (planned or stored) as chart points, a table, per-field losses and words.

Everything reads the tune as a dict (``TuneResult.to_dict()`` or ``gaia.Folder.stored_tune``), so a
plan priced a moment ago and a tune stored last week render the same way. Prices are per video of
a run of the folder with those settings (Batch API with caching): measured from the tune's usage
once it ran, estimated before. Each point is a configuration's paired difference to the ceiling
(the reference asked twice) with its interval; the current settings, the ceiling and the negative
control are marked. The verdict at the tolerance a person sets is ``gaia.quality.tune``'s own rule
(``decide_stored``), never a second one, and tables hold words, never ``None``. ``verified_labels``
lets a tune score against the fields people verified (``gaia.labels``) instead of the richest
configuration. A cascade is a row like any other (made of its passes' rows; ``cascade_texts`` says how many
first answers it sent again and what both passes cost), and ``misses_text`` says what the tune's
likely-empty sample found. The Estimate page's quality line
(``quality_text``) reads ``gaia.Folder.quality``. Nothing here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.format import usd
from gaia.labels import overlay, read_verified
from gaia.quality.ladder import default_cascades
from gaia.quality.tune import decide_stored, recommend_stored
from gaia.settings import FRAME_PRESETS
from gaia.views.common import Metric

ROLE_REFERENCE = "reference"
ROLE_REPLICATE = "replicate"
ROLE_CURRENT = "current"
ROLE_CONTROL = "negative control"
ROLE_RECOMMENDED = "recommended"
ROLE_OTHER = "candidate"
ROLE_NOT_RUN = "not run"
ROLE_LABELS = {ROLE_REFERENCE: "reference", ROLE_REPLICATE: "ceiling (reference asked again)",
               ROLE_CURRENT: "current settings", ROLE_CONTROL: "negative control (frames that show nothing)",
               ROLE_RECOMMENDED: "recommended", ROLE_OTHER: "", ROLE_NOT_RUN: "not run"}
TOLERANCE_MAX = 0.5  # the largest tolerance the page offers (half the distance from the control to the ceiling)
NONE = "—"  # what a table shows where there is no figure


@dataclass(frozen=True)
class TunePoint:
    """One configuration on the quality-against-cost chart."""

    id: str
    label: str
    usd_per_video: float | None
    score: float | None
    role: str
    on_front: bool = False
    diff: float | None = None  # paired difference to the ceiling (0: as good as the reference asked again)
    ci_low: float | None = None
    ci_high: float | None = None


def verified_labels(folder: Folder | Path | str) -> Callable[[str], dict[str, Any] | None]:
    """``run_tune``'s ``labels``: a video's human-verified fields as a (partial) answer, ``None`` when it has none,
    so a tune scores against what people checked where the sample has it."""
    f = Folder.of(folder)
    return lambda rel: overlay(None, read_verified(f.video(rel)))


def configs_of(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The configuration dicts of a tune, in the tune's order (the reference first)."""
    return [c for c in (data or {}).get("configs") or [] if isinstance(c, dict)]


def recommended_at(data: Mapping[str, Any] | None, tolerance: float) -> dict[str, Any] | None:
    """The configuration recommended at ``tolerance`` (``None`` unless the verdict there is ``recommend``)."""
    return recommend_stored(data, tolerance) if data else None


def verdict_at(data: Mapping[str, Any] | None, tolerance: float) -> str | None:
    """The verdict at ``tolerance``: ``recommend``, ``keep`` or ``undetermined`` (``None`` for a plan)."""
    if not data or (data.get("ceiling") is None and data.get("negative_control") is None):
        return None
    return decide_stored(data, tolerance).verdict.value


def verdict_sentence(data: Mapping[str, Any] | None, tolerance: float) -> str | None:
    """The verdict in one sentence, marked "simulated" when the scores came from the emulator."""
    if not data or verdict_at(data, tolerance) is None:
        return None
    text = decide_stored(data, tolerance).text
    return ("Simulated (scores from the local emulator, not from Claude): " + text) if data.get("simulated") else text


def tolerance_sentence(data: Mapping[str, Any] | None, tolerance: float) -> str:
    """The tolerance explained in one sentence."""
    d = decide_stored(data, tolerance) if data else None
    span = (f": {tolerance:.0%} of it is {d.tolerance_abs:.3f} on this sample, the most a recommended "
            "configuration may lose") if d is not None and d.tolerance_abs is not None else ""
    return ("The tolerance is a share of the distance between the negative control (frames that show nothing) and "
            f"the ceiling (the reference asked twice){span}.")


def tolerance_floor(data: Mapping[str, Any] | None, tolerance: float) -> float | None:
    """Where the tolerance sits on the chart: minus the largest loss a recommendation may have (``None``
    when the scorer could not discriminate)."""
    d = decide_stored(data, tolerance) if data else None
    return None if d is None or d.tolerance_abs is None else -d.tolerance_abs


def field_loss_records(data: Mapping[str, Any] | None, config_id: str) -> list[dict[str, str]]:
    """``field_losses`` in words for a table (figures formatted, ``—`` where there is none)."""
    return [{"field": str(r["field"]), "scored as": str(r["scored as"]), "score": _num(r["score"], ".3f"),
             "loss": _num(r["loss"], ".3f"), "answered unknown": _num(r["answered unknown"], ".0%"),
             "videos": str(r["videos"] if r["videos"] is not None else NONE)}
            for r in field_losses(data, config_id)]


def text_records(data: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The free text side by side, ``—`` where one side has none."""
    return [{k: NONE if v is None else str(v) for k, v in row.items()} for row in (data or {}).get("texts") or []
            if isinstance(row, dict)]


def reference_id(data: Mapping[str, Any] | None) -> str | None:
    """The id of the configuration the others were scored against (``None`` for a plan)."""
    ref = (data or {}).get("reference")
    return ref.get("id") if isinstance(ref, dict) else None


def _role(c: Mapping[str, Any], ref: str | None, rec: str | None) -> str:
    if c.get("id") == rec:
        return ROLE_RECOMMENDED
    role = c.get("role")
    if role in (ROLE_REFERENCE, ROLE_REPLICATE, ROLE_CURRENT, ROLE_CONTROL):
        return str(role)
    if c.get("id") == ref:
        return ROLE_REFERENCE
    return ROLE_OTHER if c.get("score") is not None else ROLE_NOT_RUN


def pareto_front(points: Sequence[TunePoint]) -> list[TunePoint]:
    """The measured points no other point beats on both price and quality, in cost order (cheapest first).
    Quality is the difference to the ceiling where known, else the score; the negative control is left out."""
    def quality(p: TunePoint) -> float:
        return p.diff if p.diff is not None else (p.score or 0.0)

    scored = sorted((p for p in points if p.score is not None and p.usd_per_video is not None
                     and p.role != ROLE_CONTROL), key=lambda p: (p.usd_per_video, -quality(p)))
    front: list[TunePoint] = []
    for p in scored:
        if not front or quality(p) > quality(front[-1]) + 1e-12:
            front.append(p)
    return front


def tune_points(data: Mapping[str, Any] | None, tolerance: float) -> list[TunePoint]:
    """Every configuration as a chart point, with its role, its interval and whether it is on the Pareto front."""
    rec = recommended_at(data, tolerance)
    ref, rec_id = reference_id(data), rec.get("id") if rec else None
    points = [TunePoint(str(c.get("id")), str(c.get("label") or c.get("id")), c.get("usd_per_video"), c.get("score"),
                        _role(c, ref, rec_id), False, c.get("diff"), c.get("ci_low"), c.get("ci_high"))
              for c in configs_of(data)]
    front = {p.id for p in pareto_front(points)}
    return [replace(p, on_front=p.id in front) for p in points]


def _num(x: Any, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, int | float) else NONE


def _interval(c: Mapping[str, Any]) -> str:
    if not isinstance(c.get("diff"), int | float):
        return NONE
    return f"{c['diff']:+.3f} ({_num(c.get('ci_low'), '+.3f')} to {_num(c.get('ci_high'), '+.3f')})"


def config_records(data: Mapping[str, Any] | None, tolerance: float, current: str | None = None
                   ) -> list[dict[str, Any]]:
    """The table behind the chart: one row per configuration, its levers, prices, score, interval and role,
    every cell in words (no ``None``)."""
    rec = recommended_at(data, tolerance)
    ref, rec_id = reference_id(data), rec.get("id") if rec else None
    current = current or (data or {}).get("current")
    rows = []
    for c in configs_of(data):
        role = _role(c, ref, rec_id)
        note = [ROLE_LABELS[role]] if ROLE_LABELS[role] else []
        if c.get("id") == current and role != ROLE_CURRENT:
            note.append("current settings")
        passes = c.get("cascade_passes") if isinstance(c.get("cascade_passes"), dict) else None
        if c.get("cascade"):
            note.append(f"cascade: {len(passes.get('escalated') or [])} of {passes.get('videos', 0)} sent again"
                        if passes else "cascade")
        measured = c.get("measured_usd_per_video")
        cost = c.get("spent_usd") if c.get("score") is not None else c.get("tune_usd_estimate")
        tune_cost = usd(cost) if cost is not None else NONE
        if c.get("cascade"):
            tune_cost = CASCADE_TUNE_COST
        rows.append({
            "configuration": str(c.get("label") or c.get("id")), "model": str(c.get("model") or NONE),
            "frames": str(c.get("frames") or NONE), "max edge (px)": str(c.get("max_edge") or "full"),
            "schema": str(c.get("schema") or NONE),
            "$ per video": usd(c.get("usd_per_video")) if c.get("usd_per_video") is not None else NONE,
            "cost from": "measured" if measured is not None else "estimate",
            "score": _num(c.get("score"), ".3f"),
            "vs ceiling (interval)": _interval(c),
            "tune cost": tune_cost,
            "": ", ".join(note), "not sent": c.get("skipped") or "",
        })
    return rows


def field_losses(data: Mapping[str, Any] | None, config_id: str) -> list[dict[str, Any]]:
    """One configuration's per-field losses against the reference: score, loss, how often "unknown"."""
    configs = {c.get("id"): c for c in configs_of(data)}
    ref = {f.get("path"): f for f in (configs.get(reference_id(data)) or {}).get("fields") or []}
    rows = []
    for f in (configs.get(config_id) or {}).get("fields") or []:
        score, ref_score = f.get("score"), (ref.get(f.get("path")) or {}).get("score")
        base = 1.0 if ref_score is None else ref_score
        rows.append({"field": f.get("path"), "scored as": f.get("kind"), "score": score,
                     "loss": None if score is None else max(0.0, base - score),
                     "answered unknown": f.get("unknown_rate"), "videos": f.get("videos")})
    return rows


def loss_matrix(data: Mapping[str, Any] | None) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Every scored configuration's per-field losses as (config labels, field paths, losses[config][field])."""
    configs = [c for c in configs_of(data) if c.get("score") is not None]
    paths: list[str] = []
    for c in configs:
        paths += [str(f.get("path")) for f in c.get("fields") or [] if f.get("path") not in paths
                  and f.get("score") is not None]
    grid = []
    for c in configs:
        by_path = {r["field"]: r["loss"] for r in field_losses(data, str(c.get("id")))}
        grid.append([by_path.get(p) for p in paths])
    return [str(c.get("label") or c.get("id")) for c in configs], paths, grid


CASCADE_TUNE_COST = "in its passes' rows"


def cascade_texts(data: Mapping[str, Any] | None) -> list[str]:
    """One sentence per cascade the tune weighed: what it is, how many first answers it sent again (with the
    share's interval), and both passes' measured bills per video."""
    out = []
    for c in configs_of(data):
        p = c.get("cascade_passes")
        if not c.get("cascade") or not isinstance(p, dict):
            continue
        n, up = int(p.get("videos") or 0), len(p.get("escalated") or [])
        share = (f" ({up / n:.0%}, 95% interval {_num(p.get('escalation_share_low'), '.0%')} to "
                 f"{_num(p.get('escalation_share_high'), '.0%')})") if n else ""
        why = sorted({str(e.get("reason")) for e in p.get("escalated") or [] if isinstance(e, dict)})
        out.append(f"{c.get('label')}: {up} of {n} first answer(s) sent again{share}"
                   + (f" ({'; '.join(why)})" if why else "")
                   + f"; per video, measured: {_usd(p.get('first_usd_per_video'))} for the first pass on every "
                   f"video + {_usd(p.get('second_usd_per_video'))} for the second pass = "
                   f"{_usd(c.get('measured_usd_per_video'))}"
                   + (f" ({_usd(p.get('usd_per_video_high'))} at the top of the share's interval)"
                      if isinstance(p.get("usd_per_video_high"), int | float) else "")
                   + ". Its answers are its two passes' rows, so it costs the tune nothing more.")
    return out


def _usd(x: Any) -> str:
    return usd(x) if isinstance(x, int | float) else NONE


def misses_text(data: Mapping[str, Any] | None) -> str | None:
    """The tune's likely-empty sample in one sentence (``None`` when the tune sent none)."""
    m = (data or {}).get("misses")
    if not isinstance(m, dict):
        return None
    if m.get("text"):
        return (f"Likely-empty clips at the threshold {_num(m.get('threshold'), 'g')}: {m['text']}; "
                f"{_usd(m.get('spent_usd'))} spent on them. The Estimate page shows this miss rate beside the saving.")
    return "Likely-empty clips: nothing measured. " + str(m.get("problem") or "")


CASCADE_PRESETS = tuple(p.name for p in FRAME_PRESETS)  # the first pass's frame sizes a cascade offers


def cascade_default(folder: Folder | Path | str) -> str:
    """The cascade a tune of ``folder`` weighs by default (``CHEAP_MODEL:PRESET``, ``""`` for none)."""
    return next(iter(default_cascades(Folder.of(folder).settings())), "")


PRICES_NOTE = ("Two prices, said apart: \"$ per video\" is a run of the folder with these settings at Batch API + "
               "caching prices (how a run is sent); \"tune cost\" is what the tune itself costs on the sample, sent "
               "now at standard prices.")


def tune_plan_metrics(data: Mapping[str, Any], budget_usd: float | None) -> list[Metric]:
    """The headline figures before sending: the sample, the ladder, what sending it all would cost."""
    sample = (data.get("sample") or {}).get("rel_paths") or []
    planned = float(data.get("planned_usd") or 0.0)
    return [Metric("Sample", f"{len(sample)} video(s)", "Spread over the folder's lengths and subfolders."),
            Metric("Configurations", str(len(configs_of(data))), "The first (the richest) is the reference."),
            Metric("Sending them all", usd(planned), "At standard prices with caching, estimated before sending."),
            Metric("Budget", usd(budget_usd) if budget_usd is not None else "none",
                   "Configurations that would pass it are not sent.")]


def default_budget(planned_usd: float | None) -> float:
    """A budget to start from: the whole ladder's estimate plus a margin, in cents (at least one cent)."""
    return max(0.01, round((planned_usd or 0.0) * 1.2 + 0.005, 2))


def recommendation_text(data: Mapping[str, Any] | None, tolerance: float) -> str | None:
    """The verdict in one sentence (``verdict_sentence``), or ``None`` when nothing was measured."""
    return verdict_sentence(data, tolerance)


def spend_text(data: Mapping[str, Any]) -> str:
    """What the stored tune cost, on what, against what, and which prices the costs per video use."""
    sample = (data.get("sample") or {}).get("rel_paths") or []
    ref = data.get("reference") or {}
    human = data.get("human_verified") or {}
    against = "the reference configuration's answers"
    if ref.get("kind") == "labels":
        against = (f"the reference configuration's answers, with the labels people verified in their place "
                   f"({human.get('videos', 0)} video(s) human-verified, fields: "
                   f"{', '.join(human.get('fields') or []) or 'none'})")
    left_out = data.get("excluded_fields") or []
    return (f"Tuned on {len(sample)} video(s), scored against {against}; spent {usd(data.get('spent_usd'))}"
            + (f" of a {usd(data.get('budget_usd'))} budget" if data.get("budget_usd") is not None else "")
            + (f", {data['updated_at'][:16].replace('T', ' ')} UTC" if data.get("updated_at") else "") + "."
            + (f" Costs per video: measured usage at {data['prices']}." if data.get("prices") else "")
            + (f" Left out, the same answer on every video: {', '.join(left_out)}." if left_out else ""))


def quality_text(quality: Mapping[str, Any] | None) -> str | None:
    """The Estimate page's line on the current settings' measured quality (``gaia.Folder.quality``).

    The score only: the price per video on that page is the estimate's, for this folder (the tune's own
    figure, measured on its sample at its prices, would be a second price for the same settings)."""
    if not quality or quality.get("score") is None:
        return None
    sim = " (simulated)" if quality.get("simulated") else ""
    if isinstance(quality.get("diff"), int | float) and quality.get("ceiling") is not None:
        return (f"Measured on a tune sample{sim}: these settings score {quality['score']:.3f}, "
                f"{_interval(quality)} against the ceiling of {quality['ceiling']:.3f} (the reference asked twice).")
    ref = quality.get("reference_score")
    return (f"Measured on a tune sample{sim}: these settings score {quality['score']:.3f}"
            + (f" against the reference's {ref:.3f}" if ref is not None else "") + ".")
