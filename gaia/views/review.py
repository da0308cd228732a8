"""The review queue: the answers a person should look at first, and the form to confirm or correct them.

``review_queue`` ranks every answered video of a folder by what is uncertain about it: fields
answered "unknown", a low (or medium) ``confidence`` where the schema has that field, answers that
disagree between runs or configurations (the ledger's attempts with other settings, a sidecar made
with settings other than the folder's current ones, and any other answers the caller has, such as
a quality ladder's), and failures that had to be retried. Fields a person already verified no
longer count. ``review_form`` lists a video's schema fields (top-level, and the leaves of object
fields such as ``setting.environment``) with the machine's value, the effective value and whether
a person verified it. Saving a person's confirmations and corrections writes, so it is not here:
``gaia.Folder.save_review`` stores them through ``gaia.labels`` (the one model of human-verified
fields), checked against ``profile_for``'s schema. Nothing here imports Streamlit or writes a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import display_name
from gaia.labels import Verified, effective_analysis, field_value, verified_of
from gaia.prompts import ProfileNotFound, PromptProfile
from gaia.sidecar import RunBlock, SidecarError, read_sidecar
from gaia.views.results import load_results

UNKNOWN_WORDS = frozenset({"unknown", "unsure", "unclear", "not sure"})
CONFIDENCE_FIELD = "confidence"
# How much each signal weighs in the queue's order (higher first).
WEIGHTS = {"unknown": 2.0, "low_confidence": 3.0, "medium_confidence": 1.0, "disagreement": 3.0,
           "retried": 1.0, "other_settings": 1.0}
MAX_RETRY_WEIGHT = 3


class ReasonKind(StrEnum):
    """Why a video is in the review queue."""

    UNKNOWN = "unknown"
    LOW_CONFIDENCE = "low_confidence"
    MEDIUM_CONFIDENCE = "medium_confidence"
    DISAGREEMENT = "disagreement"
    RETRIED = "retried"
    OTHER_SETTINGS = "other_settings"


@dataclass(frozen=True)
class Reason:
    """One uncertainty: its kind, the field it concerns (if any) and a sentence for people."""

    kind: ReasonKind
    text: str
    field: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    """One video in the queue: its score (higher first), the reasons, and what a person verified."""

    rel_path: str
    score: float
    reasons: tuple[Reason, ...]
    summary: str = ""
    verified_fields: tuple[str, ...] = ()

    @property
    def reviewed(self) -> bool:
        """Whether a person verified any field of this video."""
        return bool(self.verified_fields)


def _unknown_fields(answer: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(answer, dict):
        for k, v in answer.items():
            out += _unknown_fields(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(answer, list):
        for item in answer:
            out += [f for f in _unknown_fields(item, prefix) if f not in out]
    elif isinstance(answer, str) and answer.strip().lower() in UNKNOWN_WORDS:
        out.append(prefix)
    return out


def _covered(name: str, verified: Verified | None) -> bool:
    """Whether a person verified ``name`` or a field containing it."""
    if verified is None:
        return False
    return any(name == v or name.startswith(v + ".") for v in verified.fields)


def comparable(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an answer two runs can be compared on: enums/booleans/numbers, species with counts, tags."""
    out: dict[str, Any] = {}
    for k, v in answer.items():
        if isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= 40):
            out[k] = v
        elif isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in comparable(v).items()})
        elif k == "subjects" and isinstance(v, list):
            out[k] = sorted((str(s.get("species", "")).lower(), s.get("count")) if isinstance(s, dict)
                            else (str(s).lower(), None) for s in v)
        elif k == "tags" and isinstance(v, list):
            out[k] = sorted({str(t).lower() for t in v})
    return out


def disagreements(answer: Mapping[str, Any], others: Iterable[Mapping[str, Any]]) -> list[str]:
    """The fields on which ``answer`` and any of ``others`` differ (names from ``comparable``)."""
    mine = comparable(answer)
    fields: list[str] = []
    for other in others:
        theirs = comparable(other)
        for k in mine.keys() & theirs.keys():
            if mine[k] != theirs[k] and k not in fields and k != "summary":
                fields.append(k)
    return sorted(fields)


@dataclass
class _Attempts:
    failed: int = 0
    configs: set[str] = field(default_factory=set)


def _ledger_attempts(folder: Folder) -> dict[str, _Attempts]:
    out: dict[str, _Attempts] = {}
    if not folder.has_ledger:
        return out
    with folder.ledger() as ledger:
        for row in ledger.requests():
            a = out.setdefault(row.rel_path, _Attempts())
            if row.status == "failed":
                a.failed += 1
            elif row.status == "succeeded":
                a.configs.add(json.dumps(row.fingerprint, sort_keys=True) if row.fingerprint else row.model or "")
    return out


def _reasons(data: Mapping[str, Any], answer: Mapping[str, Any], attempts: _Attempts | None,
             current_fp: Mapping[str, Any] | None, others: Sequence[Mapping[str, Any]]) -> list[Reason]:
    verified = verified_of(data)
    reasons = [Reason(ReasonKind.UNKNOWN, f"{name} was answered \"unknown\".", name)
               for name in _unknown_fields(answer) if not _covered(name, verified)]
    confidence = answer.get(CONFIDENCE_FIELD)
    if isinstance(confidence, str) and not _covered(CONFIDENCE_FIELD, verified):
        if confidence.lower() == "low":
            reasons.append(Reason(ReasonKind.LOW_CONFIDENCE, "The model's confidence is low.", CONFIDENCE_FIELD))
        elif confidence.lower() == "medium":
            reasons.append(Reason(ReasonKind.MEDIUM_CONFIDENCE, "The model's confidence is medium.",
                                  CONFIDENCE_FIELD))
    for name in disagreements(answer, others):
        if not _covered(name, verified):
            reasons.append(Reason(ReasonKind.DISAGREEMENT, f"Other answers differ on {name}.", name))
    if attempts and attempts.failed:
        n = attempts.failed
        reasons.append(Reason(ReasonKind.RETRIED, f"{n} attempt{'s' if n > 1 else ''} failed before this answer."))
    stored_fp = RunBlock.of(data).fingerprint
    if (attempts and len(attempts.configs) > 1) or (current_fp and stored_fp and stored_fp != current_fp):
        reasons.append(Reason(ReasonKind.OTHER_SETTINGS,
                              "Analysed with other settings too (model, frames or prompt); compare them."))
    return reasons


def _score(reasons: Sequence[Reason], attempts: _Attempts | None) -> float:
    total = 0.0
    for r in reasons:
        weight = WEIGHTS[r.kind.value]
        if r.kind is ReasonKind.RETRIED and attempts:
            weight *= min(attempts.failed, MAX_RETRY_WEIGHT)
        total += weight
    return total


def review_queue(folder: Folder | Path | str, *, records: Sequence[Any] | None = None,
                 alternatives: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                 include_settled: bool = False) -> list[ReviewItem]:
    """Every answered video of ``folder`` that has something uncertain, most uncertain first.

    ``alternatives`` maps a video's relative path to other answers for it (other runs or
    configurations, e.g. a quality ladder's) to compare with. Videos with nothing uncertain are
    left out unless ``include_settled``. Ties keep path order.
    """
    folder = Folder.of(folder)
    attempts = _ledger_attempts(folder)
    current_fp = folder.fingerprint()
    items: list[ReviewItem] = []
    for row in load_results(folder.path, records):
        try:
            data = read_sidecar(folder.video(row.rel_path))
        except SidecarError:
            continue
        answer = effective_analysis(data)
        if not data or not answer:
            continue
        att = attempts.get(row.rel_path)
        reasons = _reasons(data, answer, att, current_fp, (alternatives or {}).get(row.rel_path, ()))
        if not reasons and not include_settled:
            continue
        verified = verified_of(data)
        items.append(ReviewItem(row.rel_path, _score(reasons, att), tuple(reasons), row.summary,
                                tuple(sorted(verified.fields)) if verified else ()))
    items.sort(key=lambda it: -it.score)
    return items


# --- the form ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldView:
    """One field of the review form: how to edit it, the machine's and the effective value."""

    name: str
    kind: str  # "enum", "boolean", "integer", "number", "text", "list" (of text), "table" (of objects), "json"
    options: tuple[str, ...]  # an enum's choices; a list's choices (its items' enum)
    machine_value: Any
    value: Any
    verified: bool
    description: str = ""
    columns: tuple[Column, ...] = ()  # a table's columns (its items' properties), in the schema's order

    @property
    def time_column(self) -> str | None:
        """The column a table is ordered by: its time in seconds (``time_s``, ``start_s``), if any."""
        return next((c.name for c in self.columns if c.kind == "number" and c.name.endswith("_s")), None)


@dataclass(frozen=True)
class Column:
    """One column of a table field (an array of objects): its name, kind, choices and description."""

    name: str
    kind: str  # "enum", "boolean", "integer", "number", "text"
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ReviewForm:
    """A video's schema fields as a form prefilled from its effective answer."""

    rel_path: str
    fields: tuple[FieldView, ...]
    note: str | None
    verified_at: str | None


_SCALARS = {"boolean": "boolean", "integer": "integer", "number": "number", "string": "text"}


def _items(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    items = spec.get("items")
    return items if isinstance(items, dict) else {}


def _kind(spec: Mapping[str, Any]) -> str:
    if "enum" in spec:
        return "enum"
    t = spec.get("type")
    if t == "array":
        items = _items(spec)
        if items.get("type") == "object" and isinstance(items.get("properties"), dict) and all(
                _kind(c) in _SCALARS.values() or _kind(c) == "enum" for c in items["properties"].values()
                if isinstance(c, dict)):
            return "table"
        if items.get("type") == "string":
            return "list"
        return "json"
    return _SCALARS.get(t if isinstance(t, str) else "", "json")


def _columns(spec: Mapping[str, Any]) -> tuple[Column, ...]:
    if _kind(spec) != "table":
        return ()
    return tuple(Column(name, _kind(c), tuple(str(o) for o in c.get("enum", ())), str(c.get("description") or ""))
                 for name, c in _items(spec)["properties"].items() if isinstance(c, dict))


def _options(spec: Mapping[str, Any]) -> tuple[str, ...]:
    source = _items(spec) if _kind(spec) == "list" else spec
    return tuple(str(o) for o in source.get("enum", ()))


def _leaves(schema: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for name, spec in (schema.get("properties") or {}).items():
        if isinstance(spec, dict) and spec.get("type") == "object" and isinstance(spec.get("properties"), dict):
            out += [(f"{name}.{sub}", s) for sub, s in spec["properties"].items() if isinstance(s, dict)]
        elif isinstance(spec, dict):
            out.append((name, spec))
    return out


def profile_for(folder: Folder, data: Mapping[str, Any] | None) -> PromptProfile:
    """The prompt profile an answer was made with (its ``run.prompt_hash``), else the folder's current one."""
    try:
        return folder.profile(RunBlock.of(data).prompt_hash)
    except ProfileNotFound:
        return folder.profile()


def review_form(folder: Folder | Path | str, rel_path: str) -> ReviewForm:
    """The form a person fills to confirm or correct ``rel_path``'s answer."""
    folder = Folder.of(folder)
    data = read_sidecar(folder.video(rel_path)) or {}
    schema = profile_for(folder, data).schema
    machine = data.get("analysis") if isinstance(data.get("analysis"), dict) else {}
    answer = effective_analysis(data) or {}
    verified = verified_of(data)
    views = tuple(
        FieldView(name, _kind(spec), _options(spec), field_value(machine, name),
                  field_value(answer, name), _covered(name, verified), str(spec.get("description") or ""),
                  _columns(spec))
        for name, spec in _leaves(schema))
    return ReviewForm(rel_path, views, verified.note if verified else None, verified.at if verified else None)


# --- what the Results page shows --------------------------------------------------------------------

REASON_LABELS = {ReasonKind.UNKNOWN: "unknown", ReasonKind.LOW_CONFIDENCE: "low confidence",
                 ReasonKind.MEDIUM_CONFIDENCE: "medium confidence", ReasonKind.DISAGREEMENT: "answers disagree",
                 ReasonKind.RETRIED: "retried", ReasonKind.OTHER_SETTINGS: "other settings"}


def queue_records(items: Sequence[ReviewItem]) -> list[dict[str, Any]]:
    """The queue as table rows, in its order: the video, why it is there, and what a person verified."""
    return [{"#": i, "video": display_name(it.rel_path), "uncertainty": it.score,
             "why": "; ".join(dict.fromkeys(REASON_LABELS[r.kind] for r in it.reasons)),
             "details": " ".join(r.text for r in it.reasons), "verified": ", ".join(it.verified_fields),
             "summary": it.summary} for i, it in enumerate(items, start=1)]


def form_input(f: FieldView) -> Any:
    """The value a form widget starts from: the effective value; a list as its texts, a table as its rows
    (in time order when it has a time column), anything else structured as indented JSON text."""
    if f.kind == "json":
        return json.dumps(f.value, indent=2, ensure_ascii=False) if f.value is not None else ""
    if f.kind in ("text", "enum"):
        return "" if f.value is None else str(f.value)
    if f.kind == "list":
        return [str(v) for v in f.value] if isinstance(f.value, list) else []
    if f.kind == "table":
        rows = [{c.name: r.get(c.name) for c in f.columns} for r in f.value or [] if isinstance(r, dict)]
        return in_time_order(rows, f.time_column)
    return f.value


def list_choices(f: FieldView) -> list[str]:
    """What a list field's multiselect offers: the schema's choices, then the values it holds (free entry adds
    more)."""
    return list(dict.fromkeys([*f.options, *form_input(f)]))


def in_time_order(rows: list[dict[str, Any]], time_column: str | None) -> list[dict[str, Any]]:
    """Table rows ordered by their time (rows without one last, in their order)."""
    if not time_column:
        return rows

    def at(r: dict[str, Any]) -> tuple[bool, float]:
        t = r.get(time_column)
        return (not isinstance(t, int | float) or t != t, float(t) if isinstance(t, int | float) and t == t else 0.0)

    return sorted(rows, key=at)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _table_value(f: FieldView, rows: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """A table editor's rows back to the field's value: empty rows dropped, every cell of its column's kind;
    the problems as sentences naming the row and the column."""
    if hasattr(rows, "to_dict"):  # a DataFrame from the editor
        rows = rows.to_dict("records")
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, row in enumerate(rows or [], start=1):
        if not isinstance(row, dict) or all(_blank(row.get(c.name)) for c in f.columns):
            continue
        item: dict[str, Any] = {}
        for c in f.columns:
            v = row.get(c.name)
            if _blank(v):
                if c.kind == "text":
                    item[c.name] = ""
                    continue
                problems.append(f"{f.name}, row {i}: “{c.name}” needs a value.")
                continue
            if c.kind in ("integer", "number"):
                try:
                    n = float(v)
                except (TypeError, ValueError):
                    problems.append(f"{f.name}, row {i}: “{c.name}” must be a number.")
                    continue
                if c.kind == "integer" and not n.is_integer():
                    problems.append(f"{f.name}, row {i}: “{c.name}” must be a whole number.")
                    continue
                if c.name.endswith("_s") and n < 0:
                    problems.append(f"{f.name}, row {i}: “{c.name}” is a time in the video and cannot be negative.")
                    continue
                item[c.name] = int(n) if c.kind == "integer" else n
            elif c.kind == "boolean":
                item[c.name] = bool(v)
            else:
                item[c.name] = str(v).strip()
        out.append(item)
    return in_time_order(out, f.time_column), problems


def form_values(form: ReviewForm, raw: Mapping[str, Any], names: Iterable[str] | None = None
                ) -> tuple[dict[str, Any], list[str]]:
    """Widget values back to field values for ``gaia.Folder.save_review``: (values, problems). JSON fields are
    parsed (a parse error is a problem naming the field); fields left empty are skipped; only ``names``
    (default: every field) are kept."""
    wanted = set(names) if names is not None else None
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in form.fields:
        if f.name not in raw or (wanted is not None and f.name not in wanted):
            continue
        value = raw[f.name]
        if hasattr(value, "to_dict"):  # a table editor's DataFrame
            value = value.to_dict("records")
        if value is None or (isinstance(value, str) and value == "" and f.value is None):
            continue  # left empty: nothing to verify
        if f.kind == "json":
            try:
                value = json.loads(value) if str(value).strip() else None
            except json.JSONDecodeError as exc:
                problems.append(f"{f.name}: the text is not complete JSON (look near line {exc.lineno}).")
                continue
        elif f.kind == "list":
            value = list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
            if not value and not f.value:
                continue
        elif f.kind == "table":
            value, wrong = _table_value(f, value)
            problems += wrong
            if wrong or (not value and not f.value):
                continue
        elif f.kind == "integer" and value is not None:
            value = int(value)
        values[f.name] = value
    return values, problems
