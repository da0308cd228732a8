"""The Tune page's view models: a tune (planned or stored) as chart points, a table, per-field losses and words.

Everything reads the tune as a dict (``TuneResult.to_dict()`` or ``gaia.stored_quality``), so a
plan priced a moment ago and a tune stored last week render the same way. Prices are the ladder's
(``usd_per_video``: a run of the folder with those settings, Batch API with caching; estimated
before sending); the recommendation at the tolerance a person sets is ``gaia.quality.tune``'s own
rule (``recommend_stored``), never a second one. ``verified_labels`` lets a tune score against the
fields people verified (``gaia.labels``) instead of the richest configuration. The Estimate page's quality line
(``quality_text``) reads ``gaia.quality_for``. Nothing here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.format import pct, usd
from gaia.labels import overlay, read_verified
from gaia.quality.tune import recommend_stored
from gaia.views.common import Metric

ROLE_REFERENCE = "reference"
ROLE_RECOMMENDED = "recommended"
ROLE_OTHER = "candidate"
ROLE_NOT_RUN = "not run"
ROLE_LABELS = {ROLE_REFERENCE: "reference", ROLE_RECOMMENDED: "recommended", ROLE_OTHER: "", ROLE_NOT_RUN: "not run"}
TOLERANCE_MAX = 0.5  # the largest tolerance the page offers (half the score scale)


@dataclass(frozen=True)
class TunePoint:
    """One configuration on the quality-against-cost chart."""

    id: str
    label: str
    usd_per_video: float | None
    score: float | None
    role: str
    on_front: bool = False


def verified_labels(folder: Folder | Path | str) -> Callable[[str], dict[str, Any] | None]:
    """``run_tune``'s ``labels``: a video's human-verified fields as a (partial) answer, ``None`` when it has none,
    so a tune scores against what people checked where the sample has it."""
    f = Folder.of(folder)
    return lambda rel: overlay(None, read_verified(f.video(rel)))


def configs_of(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The configuration dicts of a tune, in the tune's order (the reference first)."""
    return [c for c in (data or {}).get("configs") or [] if isinstance(c, dict)]


def recommended_at(data: Mapping[str, Any] | None, tolerance: float) -> dict[str, Any] | None:
    """The configuration recommended at ``tolerance`` (the cheapest within it of the reference's score)."""
    return recommend_stored(data, tolerance) if data else None


def reference_id(data: Mapping[str, Any] | None) -> str | None:
    """The id of the configuration the others were scored against (``None`` for a plan)."""
    ref = (data or {}).get("reference")
    return ref.get("id") if isinstance(ref, dict) else None


def _role(c: Mapping[str, Any], ref: str | None, rec: str | None) -> str:
    if c.get("id") == ref:
        return ROLE_REFERENCE
    if c.get("id") == rec:
        return ROLE_RECOMMENDED
    return ROLE_OTHER if c.get("score") is not None else ROLE_NOT_RUN


def pareto_front(points: Sequence[TunePoint]) -> list[TunePoint]:
    """The scored points no other point beats on both price and score, cheapest first."""
    scored = sorted((p for p in points if p.score is not None and p.usd_per_video is not None),
                    key=lambda p: (p.usd_per_video, -(p.score or 0.0)))
    front: list[TunePoint] = []
    for p in scored:
        if not front or (p.score or 0.0) > (front[-1].score or 0.0) + 1e-12:
            front.append(p)
    return front


def tune_points(data: Mapping[str, Any] | None, tolerance: float) -> list[TunePoint]:
    """Every configuration as a chart point, with its role and whether it is on the Pareto front."""
    rec = recommended_at(data, tolerance)
    ref, rec_id = reference_id(data), rec.get("id") if rec else None
    points = [TunePoint(str(c.get("id")), str(c.get("label") or c.get("id")), c.get("usd_per_video"), c.get("score"),
                        _role(c, ref, rec_id)) for c in configs_of(data)]
    front = {p.id for p in pareto_front(points)}
    return [TunePoint(p.id, p.label, p.usd_per_video, p.score, p.role, p.id in front) for p in points]


def config_records(data: Mapping[str, Any] | None, tolerance: float, current: str | None = None
                   ) -> list[dict[str, Any]]:
    """The table behind the chart: one row per configuration, its levers, prices, score and role."""
    rec = recommended_at(data, tolerance)
    ref, rec_id = reference_id(data), rec.get("id") if rec else None
    rows = []
    for c in configs_of(data):
        role = _role(c, ref, rec_id)
        note = [ROLE_LABELS[role]] if ROLE_LABELS[role] else []
        if c.get("id") == current:
            note.append("current settings")
        rows.append({
            "configuration": c.get("label") or c.get("id"), "model": c.get("model"), "frames": c.get("frames"),
            # One type per column (text): a column of numbers and "full" makes pyarrow fail on every render.
            "max edge (px)": str(c["max_edge"]) if c.get("max_edge") else "full", "schema": c.get("schema"),
            "$ per video": c.get("usd_per_video"), "score": c.get("score"),
            "tune cost (USD)": c.get("spent_usd") if c.get("score") is not None else c.get("tune_usd_estimate"),
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


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def text_records(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The free-text answers side by side, every cell as text (a list as "a; b"): one type per column, so
    pyarrow can convert the table (a column of lists and strings fails on every render)."""
    return [{k: _cell_text(v) for k, v in row.items()} for row in (data or {}).get("texts") or []
            if isinstance(row, Mapping)]


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
    """The recommendation in one sentence, or ``None`` when nothing was scored."""
    rec = recommended_at(data, tolerance)
    ref = {c.get("id"): c for c in configs_of(data)}.get(reference_id(data))
    if rec is None or ref is None:
        return None
    if rec.get("id") == ref.get("id"):
        return (f"No cheaper configuration stays within {tolerance:.2f} of the reference's score: keep "
                f"{ref.get('label')} ({usd(ref.get('usd_per_video'))} a video).")
    saving = 1 - rec["usd_per_video"] / ref["usd_per_video"] if ref.get("usd_per_video") else None
    return (f"{rec.get('label')}: {usd(rec.get('usd_per_video'))} a video"
            + (f" ({pct(saving)} less than the reference)" if saving is not None else "")
            + f", score {rec.get('score'):.3f} against the reference's {ref.get('score') or 0:.3f} "
            f"(tolerance {tolerance:.2f}).")


def spend_text(data: Mapping[str, Any]) -> str:
    """What the stored tune cost and on what."""
    sample = (data.get("sample") or {}).get("rel_paths") or []
    ref = data.get("reference") or {}
    against = "your verified labels" if ref.get("kind") == "labels" else "the reference configuration's answers"
    return (f"Tuned on {len(sample)} video(s), scored against {against}; spent {usd(data.get('spent_usd'))}"
            + (f" of a {usd(data.get('budget_usd'))} budget" if data.get("budget_usd") is not None else "")
            + (f", {data['updated_at'][:16].replace('T', ' ')} UTC" if data.get("updated_at") else "") + ".")


def quality_text(quality: Mapping[str, Any] | None) -> str | None:
    """The Estimate page's line on the current settings' measured quality (``gaia.quality_for``).

    The score only: the price per video on that page is the estimate's, for this folder (the tune's own
    figure, measured on its sample at its prices, would be a second price for the same settings)."""
    if not quality or quality.get("score") is None:
        return None
    ref = quality.get("reference_score")
    return (f"Measured on a tune sample: these settings score {quality['score']:.3f}"
            + (f" against the reference's {ref:.3f}" if ref is not None else "") + ".")


__all__ = [
    "ROLE_LABELS",
    "ROLE_NOT_RUN",
    "ROLE_OTHER",
    "ROLE_RECOMMENDED",
    "ROLE_REFERENCE",
    "TOLERANCE_MAX",
    "TunePoint",
    "config_records",
    "configs_of",
    "default_budget",
    "field_losses",
    "loss_matrix",
    "pareto_front",
    "quality_text",
    "recommendation_text",
    "recommended_at",
    "reference_id",
    "spend_text",
    "text_records",
    "tune_plan_metrics",
    "tune_points",
    "verified_labels",
]
