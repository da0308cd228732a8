"""Human-verified fields: the one model of what a person confirmed or corrected in an answer.

A person's values live in the video's sidecar under the top-level key ``"verified"``, beside the
run's ``"analysis"``::

    "verified": {"fields": {"subjects": [...], "setting.environment": "outdoor"},
                 "by": "human", "at": "2026-11-24T10:00:00+00:00", "note": "checked on the video"}

Field names are the schema's top-level names, or dotted paths into an object field
(``setting.environment``). A run writes only ``analysis`` and ``run`` and the sidecar writer keeps
every other top-level key, so no later run overwrites what a person verified. ``effective_analysis``
is the answer every export and view shows: the analysis with the verified values laid over it.
Issue 12's reference labels (quality against cost) use this same model. Reads and writes go
through ``gaia.sidecar`` only.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaia.sidecar import SidecarError, read_sidecar, write_sidecar

VERIFIED_KEY = "verified"
HUMAN = "human"


class LabelError(ValueError):
    """Verified values that cannot be saved (unknown field, a value the schema does not allow)."""


@dataclass(frozen=True)
class Verified:
    """What a person verified in one video's answer: field values, who, when, and an optional note."""

    fields: dict[str, Any] = field(default_factory=dict)
    by: str = HUMAN
    at: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored under ``"verified"`` in the sidecar."""
        out: dict[str, Any] = {"fields": self.fields, "by": self.by, "at": self.at}
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Verified | None:
        """Read the stored JSON defensively (``None`` when absent or not the expected shape)."""
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            return None
        note = data.get("note")
        return cls(fields=dict(data["fields"]), by=str(data.get("by") or HUMAN),
                   at=data.get("at") if isinstance(data.get("at"), str) else None,
                   note=note if isinstance(note, str) and note else None)


def verified_of(data: Mapping[str, Any] | None) -> Verified | None:
    """The verified fields in a sidecar dict (as ``read_sidecar`` returns it), if any."""
    return Verified.from_dict((data or {}).get(VERIFIED_KEY))


def read_verified(video: Path | str) -> Verified | None:
    """The verified fields of ``video``'s sidecar (``None`` when there are none or it cannot be read)."""
    try:
        return verified_of(read_sidecar(video))
    except SidecarError:
        return None


def _get(obj: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[parts[-1]] = copy.deepcopy(value)


def field_value(analysis: Mapping[str, Any] | None, name: str) -> Any:
    """The value of field ``name`` (top-level or dotted path) in ``analysis``, ``None`` when missing."""
    return _get(dict(analysis or {}), name)[1]


def overlay(analysis: Mapping[str, Any] | None, verified: Verified | None) -> dict[str, Any] | None:
    """A copy of ``analysis`` with ``verified``'s fields laid over it (``None`` when both are empty)."""
    if verified is None or not verified.fields:
        return copy.deepcopy(dict(analysis)) if isinstance(analysis, Mapping) else None
    out = copy.deepcopy(dict(analysis)) if isinstance(analysis, Mapping) else {}
    for name, value in sorted(verified.fields.items(), key=lambda kv: kv[0].count(".")):
        _set(out, name, value)
    return out


def effective_analysis(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The answer every export and view uses: a sidecar's analysis overlaid with its verified fields.

    ``data`` is a sidecar dict. A video a person labelled without any analysis gives just the
    verified fields; a sidecar with neither gives ``None``.
    """
    analysis = (data or {}).get("analysis")
    return overlay(analysis if isinstance(analysis, dict) else None, verified_of(data))


def _sub_schema(schema: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    node: Any = schema
    for part in name.split("."):
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or part not in props:
            return None
        node = props[part]
    return node if isinstance(node, dict) else None


def field_problems(fields: Mapping[str, Any], schema: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with verified ``fields`` under the output ``schema``, in plain words (empty when fine)."""
    if not schema:
        return []
    import jsonschema  # here, not at import: only a review being saved needs it

    problems = []
    for name, value in fields.items():
        sub = _sub_schema(schema, name)
        if sub is None:
            problems.append(f"{name!r} is not a field of the output schema.")
            continue
        try:
            jsonschema.validate(value, sub)
        except jsonschema.ValidationError as exc:
            problems.append(_sentence(name, exc))
    return problems


_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text", "boolean": "yes or no",
               "array": "a list", "object": "a set of fields", "null": "empty"}


def _sentence(name: str, exc: Any) -> str:
    """A schema problem as a sentence a person reads: where (field, row, column) and what is expected."""
    where = name
    path = list(exc.absolute_path)
    if path and isinstance(path[0], int):
        where += f", row {path[0] + 1}"
        path = path[1:]
    if path:
        where += f", “{path[-1]}”"
    expected = exc.validator_value
    if exc.validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        what = " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
        return f"{where} must be {what}."
    if exc.validator == "enum":
        return f"{where} must be one of: {', '.join(str(v) for v in expected)}."
    if exc.validator == "required":
        missing = [k for k in expected if isinstance(exc.instance, dict) and k not in exc.instance]
        return f"{where} needs a value for {', '.join(f'“{k}”' for k in missing) or 'every column'}."
    if exc.validator == "additionalProperties":
        return f"{where} has a column the schema does not know."
    if exc.validator in ("minimum", "exclusiveMinimum"):
        return f"{where} must be at least {expected}."
    if exc.validator in ("maximum", "exclusiveMaximum"):
        return f"{where} must be at most {expected}."
    if exc.validator in ("minItems", "maxItems"):
        return f"{where} must have {'at least' if exc.validator == 'minItems' else 'at most'} {expected} item(s)."
    return f"{where} is not allowed by the output schema."


def now_iso() -> str:
    """The current UTC time as ISO 8601 to the second (the ``at`` of a verification)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_verified(video: Path | str, fields: Mapping[str, Any], *, note: str | None = None, by: str = HUMAN,
                  schema: Mapping[str, Any] | None = None, replace: bool = False) -> Verified:
    """Save ``fields`` as verified in ``video``'s sidecar and return what is stored now.

    Merges with fields verified earlier unless ``replace``; a ``note`` of ``None`` keeps the old
    note. With a ``schema``, every value is checked first and ``LabelError`` lists the problems
    (nothing is written then). Raises ``SidecarError`` when the sidecar cannot be read or written.
    """
    problems = field_problems(fields, schema)
    if problems:
        raise LabelError(" ".join(problems))
    old = verified_of(read_sidecar(video))
    merged = {} if replace or old is None else dict(old.fields)
    merged.update(copy.deepcopy(dict(fields)))
    kept_note = note if note is not None else (old.note if old else None)
    verified = Verified(fields=merged, by=by, at=now_iso(), note=kept_note or None)
    write_sidecar(video, {VERIFIED_KEY: verified.to_dict()})
    return verified

