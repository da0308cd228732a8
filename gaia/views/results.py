"""Result rows: one row per video of a folder, from its sidecar and the ledger, with filters and facets.

A ``ResultRow`` for every video of the folder (analysed, failed with its reason, in flight, not
analysed yet, or unusable), read from the sidecars (``gaia.sidecar.read_sidecar``, the only reader)
and the ledger; ``filter_rows`` by status, tag, species, model and free-text search; ``facets`` (the
values to filter on, with counts) and ``totals`` (the figures above the Results table). The analysis
fields are read defensively: users edit the output schema, so every field may be missing or of
another type. Exports live in ``gaia.views.exports``, one video's detail in ``gaia.views.detail``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.facts import model_name
from gaia.folder import Folder
from gaia.fsutil import display_name
from gaia.labels import effective_analysis, verified_of
from gaia.media.scan import scan_folder
from gaia.prompts import ProfileNotFound
from gaia.quality.scoring import FieldKind, fields_of
from gaia.sidecar import RunBlock, SidecarError, read_sidecar
from gaia.views.common import NO_PREVIEW, Metric


class ResultStatus(StrEnum):
    """Where a video stands, in the order the Results page lists them."""

    ANALYSED = "analysed"
    FAILED = "failed"
    IN_FLIGHT = "in flight"
    NOT_ANALYSED = "not analysed"
    UNUSABLE = "unusable"


STATUSES = tuple(ResultStatus)
_NO_VALUES: Mapping[str, tuple[str, ...]] = {}  # read only: shared by every row without facet values


@dataclass(frozen=True)
class Facet:
    """A field of the answer schema the Results page filters on, read from the schema (``schema_facets``).

    ``path`` reads ``tags``, ``subjects[].species`` or ``setting.environment``; ``label`` is what the
    filter is called; with ``every`` a row must carry every value chosen (a list of tags), else any.
    """

    path: str
    label: str
    every: bool


def schema_facets(schema: Mapping[str, Any] | None) -> tuple[Facet, ...]:
    """The schema's fields worth filtering on: lists of words (every one chosen), the names that
    identify the items of a list of objects (species: any), and categories and yes/no fields (any)."""
    out = []
    for spec in fields_of(schema or {}):
        if spec.path in ("status", "model"):  # the row's own filters have these names
            continue
        if spec.kind is FieldKind.SET:
            out.append(Facet(spec.path, (spec.key or spec.path).replace("_", " "), every=spec.array is None))
        elif spec.kind in (FieldKind.CATEGORY, FieldKind.BOOLEAN) and spec.array is None:
            out.append(Facet(spec.path, spec.path.rsplit(".", 1)[-1].replace("_", " "), every=False))
    return tuple(out)


def _facet_values(analysis: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The values of one facet in an answer, as lower-case text (``yes``/``no`` for a boolean), without duplicates."""
    if "[]." in path:
        array, key = path.split("[].", 1)
        items = _get_path(analysis, array)
        raw = [i.get(key) for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    else:
        value = _get_path(analysis, path)
        raw = value if isinstance(value, list) else [value]
    out = []
    for v in raw:
        if isinstance(v, bool):
            out.append("yes" if v else "no")
        elif isinstance(v, str) and v.strip():
            out.append(v.strip().lower())
        elif isinstance(v, int | float):
            out.append(str(v))
    return tuple(dict.fromkeys(out))


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


@dataclass(frozen=True, slots=True)  # one per video: 100,000 in a large folder
class ResultRow:
    """One video as the Results table shows it.

    ``status`` is a ``ResultStatus`` (a ``StrEnum``: it compares equal to its text). ``error`` holds
    the reason of the latest failure (also for an analysed video whose later attempt failed) or the
    scan problem of an unusable file. ``stale``
    says the analysis was made with settings other than the latest run's for that video.
    The answer columns hold the effective answer (``gaia.labels``: verified fields laid over the
    analysis); ``verified`` names the fields a person verified.
    """

    rel_path: str
    status: ResultStatus
    summary: str = ""
    subjects: str = ""
    species: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cost_usd: float | None = None
    model: str | None = None
    analysed_at: str | None = None
    batch_id: str | None = None
    custom_id: str | None = None
    set_id: str | None = None
    timestamps: tuple[float, ...] = ()
    error: str | None = None
    error_kind: str | None = None
    verified: tuple[str, ...] = ()
    search_text: str = field(default="", repr=False, compare=False)  # "": the path alone (``searched_text``)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _NO_VALUES, repr=False,
                                                  compare=False)  # facet → values (one shared empty one by default)

    @property
    def searched_text(self) -> str:
        """What a search looks in, lowercase: the path, answer and error (a video with neither keeps no text of its
        own for it: most of a 100,000-video folder before it is sent)."""
        return self.search_text or self.rel_path.lower()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the table's columns (lists for species and tags)."""
        return {"video": self.rel_path, "status": self.status, "summary": self.summary, "subjects": self.subjects,
                "species": list(self.species), "tags": list(self.tags), "cost_usd": self.cost_usd,
                "model": self.model, "analysed_at": self.analysed_at, "batch_id": self.batch_id,
                "custom_id": self.custom_id, "error": self.error, "verified": list(self.verified)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def summary_of(analysis: dict[str, Any]) -> str:
    """The analysis' summary (``summary``, else the first other text field)."""
    for key in ("summary", "description", "caption"):
        if isinstance(analysis.get(key), str):
            return analysis[key].strip()
    return next((v.strip() for v in analysis.values() if isinstance(v, str) and v.strip()), "")


def subjects_of(analysis: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """``("2 × domestic cat, dog", ("domestic cat", "dog"))`` from ``subjects`` (dicts or strings)."""
    items = analysis.get("subjects")
    if not isinstance(items, list):
        return "", ()
    parts: list[str] = []
    species: list[str] = []
    for item in items:
        if isinstance(item, dict):
            name = _text(item.get("species") or item.get("name") or item.get("kind"))
            count = item.get("count")
            if name:
                species.append(name)
                parts.append(f"{count} × {name}" if isinstance(count, int) and count > 1 else name)
        elif isinstance(item, str) and item.strip():
            species.append(item.strip())
            parts.append(item.strip())
    return ", ".join(parts), tuple(dict.fromkeys(species))


def tags_of(analysis: dict[str, Any]) -> tuple[str, ...]:
    """The analysis' tags, trimmed, without duplicates, in their order, spelled and cased as written
    (a verified ``Straße`` stays ``Straße``; filters compare them case-insensitively)."""
    items = analysis.get("tags")
    if not isinstance(items, list):
        return ()
    return tuple(dict.fromkeys(t.strip() for t in items if isinstance(t, str) and t.strip()))


def _row_from(rel: str, data: dict[str, Any] | None, latest: Any | None, problem: str | None,
              read_error: str | None, fields: Sequence[Facet] = ()) -> ResultRow:
    analysis = effective_analysis(data) if isinstance((data or {}).get("analysis"), dict) else None
    verified = verified_of(data)
    run = RunBlock.of(data)
    error = read_error
    error_kind = "sidecar_error" if read_error else None
    if latest is not None and latest.status == "failed":
        error, error_kind = latest.error or "failed", latest.error_kind or "failed"
    if isinstance(analysis, dict):
        summary = summary_of(analysis)
        subjects, species = subjects_of(analysis)
        tags = tags_of(analysis)
        blob = " ".join([rel, json.dumps(analysis, ensure_ascii=False), error or ""]).lower()
        return ResultRow(
            rel, ResultStatus.ANALYSED, summary, subjects, species, tags,
            cost_usd=run.cost_usd, model=run.model, analysed_at=run.analysed_at, batch_id=run.batch_id,
            custom_id=run.custom_id, set_id=run.keyframe_set, timestamps=run.keyframe_timestamps,
            error=error, error_kind=error_kind, verified=tuple(sorted(verified.fields)) if verified else (),
            search_text=blob, values={f.path: _facet_values(analysis, f.path) for f in fields})
    if problem:
        return ResultRow(rel, ResultStatus.UNUSABLE, error=problem, error_kind="unusable",
                         search_text=f"{rel} {problem}".lower())
    if latest is not None and latest.status == "failed":
        status = ResultStatus.FAILED
    elif latest is not None and latest.status in ("pending", "submitted"):
        status = ResultStatus.IN_FLIGHT
    else:
        status = ResultStatus.FAILED if read_error else ResultStatus.NOT_ANALYSED
    return ResultRow(
        rel, status, model=getattr(latest, "model", None), batch_id=getattr(latest, "batch_id", None),
        custom_id=getattr(latest, "custom_id", None), set_id=getattr(latest, "set_id", None),
        timestamps=tuple(getattr(latest, "timestamps", ()) or ()), cost_usd=getattr(latest, "cost_usd", None),
        error=error, error_kind=error_kind, search_text=f"{rel} {error}".lower() if error else "")


def _latest_requests(folder: Path) -> dict[str, Any]:
    """The newest ledger request per video (relative path)."""
    if not Folder.of(folder).has_ledger:
        return {}
    latest: dict[str, Any] = {}
    with Folder.of(folder).ledger() as ledger:
        for row in ledger.requests():  # insertion order: later rows win
            if row.status == "unsent":
                continue
            latest[row.rel_path] = row
    return latest


def results_facets(folder: Path | str) -> tuple[Facet, ...]:
    """The fields of the folder's answer schema (its current prompt profile) the Results page filters on."""
    try:
        return schema_facets(Folder.of(folder).profile().schema)
    except (ProfileNotFound, OSError, ValueError):
        return ()


def load_results(folder: Path | str, records: Sequence[Any] | None = None) -> list[ResultRow]:
    """A ``ResultRow`` for every video of ``folder`` (scan records, plus any video only the ledger knows).

    ``records`` are the folder's ``VideoRecord``s when already scanned (else the cached scan is
    used). Each sidecar is read once; the ledger adds the latest attempt's status and failure
    reason. Rows are sorted by path.
    """
    folder = Path(folder).resolve()
    if records is None:
        records = scan_folder(folder).records
    fields = results_facets(folder)
    latest = _latest_requests(folder)
    rows: list[ResultRow] = []
    seen: set[str] = set()
    for rec in records:
        rel = rec.rel_path
        seen.add(rel)
        data, read_error = read_video_sidecar(folder / rel)
        rows.append(_row_from(rel, data, latest.get(rel), None if rec.usable else (rec.problem or "unusable"),
                              read_error, fields))
    for rel, req in latest.items():
        if rel not in seen:
            data, read_error = read_video_sidecar(folder / rel)
            rows.append(_row_from(rel, data, req, None, read_error, fields))
    rows.sort(key=lambda r: r.rel_path)
    return rows


def read_video_sidecar(video: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The video's sidecar (``None`` when there is none) and why it cannot be read (``None`` when it can)."""
    try:
        return read_sidecar(video), None
    except SidecarError as exc:
        return None, f"Its sidecar cannot be read: {exc}"


def filter_rows(
    rows: Iterable[ResultRow],
    *,
    statuses: Iterable[str] | None = None,
    models: Iterable[str] | None = None,
    text: str | None = None,
    chosen: Mapping[Facet, Iterable[str]] | None = None,
) -> list[ResultRow]:
    """The rows that pass every filter given.

    An empty or ``None`` filter lets everything through. ``statuses`` and ``models``: any of those.
    ``text``: every word must appear (case-insensitive) in the path, the analysis or the error.
    ``chosen``: values picked for each schema facet (``results_facets``): a row must carry every one
    for a facet with ``every``, else any.
    """
    st_set = set(statuses or ())
    model_set = set(models or ())
    words = (text or "").lower().split()
    picked = [(f, {x.lower() for x in v}) for f, v in (chosen or {}).items() if v]
    out = []
    for r in rows:
        if any(not (want <= set(r.values.get(f.path, ())) if f.every else want & set(r.values.get(f.path, ())))
               for f, want in picked):
            continue
        if st_set and r.status not in st_set:
            continue
        if model_set and r.model not in model_set:
            continue
        if words and not all(w in r.searched_text for w in words):
            continue
        out.append(r)
    return out


def facets(rows: Iterable[ResultRow], fields: Sequence[Facet] = ()) -> dict[str, list[tuple[str, int]]]:
    """Values to filter on with how many rows carry each: ``status``, ``model``, and one entry per
    schema facet in ``fields`` (by its path: ``tags``, ``subjects[].species``, ...).

    Statuses keep the order of ``ResultStatus``; the others are most common first.
    """
    counts: dict[str, Counter[str]] = {"status": Counter(), "model": Counter(), **{f.path: Counter() for f in fields}}
    for r in rows:
        for f in fields:
            counts[f.path].update(r.values.get(f.path, ()))
        counts["status"][r.status] += 1
        if r.model and r.status == ResultStatus.ANALYSED:
            counts["model"][r.model] += 1
    out = {k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for k, c in counts.items()}
    out["status"] = [(s, counts["status"][s]) for s in ResultStatus if counts["status"][s]]
    return out


def totals(rows: Sequence[ResultRow]) -> dict[str, Any]:
    """Counts per status, the total and mean cost of the analysed videos."""
    by = Counter(r.status for r in rows)
    costs = [r.cost_usd for r in rows if r.status == ResultStatus.ANALYSED and r.cost_usd is not None]
    return {"videos": len(rows), **{str(s): by.get(s, 0) for s in ResultStatus},
            "cost_usd": sum(costs), "mean_cost_usd": (sum(costs) / len(costs)) if costs else None}


def results_metrics(rows: Sequence[ResultRow]) -> list[Metric]:
    """The figures above the Results table: the folder's videos, then one figure per status adding up to it, then cost.

    Every status is shown, zero or not, so the figures visibly add up to the first one.
    """
    t = totals(rows)
    out = [Metric("Videos", f"{t['videos']:,}", help="Analysed + failed + in flight + not analysed + unusable.")]
    helps = {ResultStatus.UNUSABLE: "Files GAIA cannot read as video (see Select folder)."}
    out += [Metric(str(s).capitalize(), f"{t[str(s)]:,}", help=helps.get(s)) for s in ResultStatus]
    out.append(Metric("Cost", fmt.usd(t["cost_usd"]) if t["analysed"] else fmt.MISSING,
                      help=f"What the analyses cost. Mean per video {fmt.usd(t['mean_cost_usd'])}, from each "
                           "answer's usage at the prices it "
                           "was sent at."))
    return out


def any_attempted(rows: Iterable[ResultRow]) -> bool:
    """Whether any video was analysed, failed or is in flight (else the page has nothing to explore yet)."""
    return any(r.status in (ResultStatus.ANALYSED, ResultStatus.FAILED, ResultStatus.IN_FLIGHT) for r in rows)


TABLE_COLUMNS = ("thumbnail", "video", "status", "summary", "tags", "cost (USD)", "model", "analysed", "subjects")


def table_records(rows: Iterable[ResultRow], thumbs: dict[str, str] | None) -> list[dict[str, Any]]:
    """The Results table, one dict per row (``TABLE_COLUMNS``); ``thumbs`` by keyframe set, ``None``: no images."""
    out = []
    for r in rows:
        out.append({
            "thumbnail": (thumbs.get(r.set_id or "", NO_PREVIEW) if thumbs is not None else None),
            "video": display_name(r.rel_path),
            "status": str(r.status),
            "summary": r.summary or (r.error or ""),
            "subjects": r.subjects,
            "tags": list(r.tags),
            "cost (USD)": r.cost_usd,
            "model": model_name(r.model),
            "analysed": _parse_time(r.analysed_at),
        })
    return out


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def status_note(row: ResultRow | None) -> tuple[str, str] | None:
    """What to say above one video's detail: ``("info", text)`` for a video not analysed, ``("warning", text)``
    for an analysis a later attempt failed to replace, ``None`` otherwise. The text is plain (not Markdown)."""
    if row is None:
        return None
    if row.status != ResultStatus.ANALYSED:
        return "info", f"Status: {row.status}." + (f" {row.error}" if row.error else "")
    if row.error:
        return "warning", "A later attempt failed (this analysis is from an earlier one): " + row.error
    return None
