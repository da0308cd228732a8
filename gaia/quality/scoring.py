"""Scoring answers against a reference, field by field, with the scorer each field's type calls for.

The scorers are read from the output JSON schema (``fields_of``), never from field names alone:

- ``category``: a string with an ``enum``, or a boolean (``boolean``): accuracy (1 when equal);
- ``set``: an array of strings (tags, welfare concerns), or the label of the items of an array of
  objects (``subjects[].species``, ``behaviours[].behaviour``): F1 of the two sets of terms, after
  normalisation (case, punctuation, plurals, the part before a comma or bracket, a small synonym
  map: "kitten" is "cat");
- ``count``: an integer, at the top or in the items of an array of objects (``subjects[].count``,
  compared on the items whose labels match): absolute error, scored ``1 / (1 + error)``;
- ``moments``: the time field of the items of an array of objects (``notable_moments[].time_s``,
  ``behaviours[].start_s``): F1 of the times, a time matching at most one reference time within
  ``tolerance_s``;
- ``text``: free text is not scored; ``side_by_side`` lists it for people to compare.

Coverage is how often a field is "unknown", null or empty in a configuration's answers.

The overall score of a configuration is the weighted mean of its field scores, each field's score
being the mean over the sample's videos. Weights (``KIND_WEIGHTS``): sets count twice (species and
tags are what people search by), every other scored field once; ``weights`` overrides per field
path. A video a configuration failed to answer scores 0 on every field it should have answered.
A field the reference leaves out (a partial set of human labels) is not scored for that video.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gaia.prompts import PROSE_NAMES  # the one definition of a prose field name
from gaia.quality.stats import kappa_terms

DEFAULT_TOLERANCE_S = 2.0
UNKNOWN_WORDS = frozenset({"unknown", "unclear", "n/a", "na", "none", "not visible", "unsure"})
# A small synonym map: young, informal and qualified names of the same animal are one term.
SYNONYMS: dict[str, str] = {
    "kitten": "cat", "kitty": "cat", "domestic cat": "cat", "house cat": "cat", "feline": "cat",
    "puppy": "dog", "pup": "dog", "domestic dog": "dog", "canine": "dog", "hound": "dog",
    "bunny": "rabbit", "domestic rabbit": "rabbit", "european rabbit": "rabbit",
    "goldfish": "fish", "songbird": "bird", "small bird": "bird", "small songbird": "bird",
    "sparrow": "house sparrow", "robin": "european robin", "fox": "red fox",
    "outside": "outdoor", "outdoors": "outdoor", "inside": "indoor", "indoors": "indoor",
}
_TIME_NAMES = re.compile(r"(^|_)(time|t|at|start|seconds?|timestamp)(_s)?$|_s$|^start")


class FieldKind(StrEnum):
    """How a field is scored."""

    CATEGORY = "category"
    BOOLEAN = "boolean"
    SET = "set"
    COUNT = "count"
    MOMENTS = "moments"
    TEXT = "text"


KIND_WEIGHTS: dict[FieldKind, float] = {
    FieldKind.CATEGORY: 1.0, FieldKind.BOOLEAN: 1.0, FieldKind.SET: 2.0, FieldKind.COUNT: 1.0,
    FieldKind.MOMENTS: 1.0, FieldKind.TEXT: 0.0,
}


@dataclass(frozen=True)
class FieldSpec:
    """One scored (or shown) field: its path, its kind and, inside arrays of objects, where it sits.

    ``path`` reads ``setting.environment``, ``tags`` or ``subjects[].species``. For an item field,
    ``array`` is the array's path, ``key`` the item's field and ``label`` the item field that
    identifies items (to match counts between two answers).
    """

    path: str
    kind: FieldKind
    array: str | None = None
    key: str | None = None
    label: str | None = None


_MISSING = object()


def _resolve(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    for key in ("anyOf", "oneOf"):
        options = [o for o in node.get(key) or [] if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return options[0]
    return node


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else "string"
    return str(kind)


def _is_time(name: str) -> bool:
    return bool(_TIME_NAMES.search(name.lower())) and not name.lower().startswith("end")


def _item_fields(path: str, items: dict[str, Any]) -> list[FieldSpec]:
    props = {k: _resolve(v) for k, v in (items.get("properties") or {}).items()}
    label = next((k for k, v in props.items() if _type(v) == "string" and not v.get("enum")
                  and not PROSE_NAMES.search(k.lower())), None)
    out: list[FieldSpec] = []
    if label is not None:
        out.append(FieldSpec(f"{path}[].{label}", FieldKind.SET, path, label, label))
    time_key = next((k for k, v in props.items() if _type(v) in ("number", "integer") and _is_time(k)), None)
    if time_key is not None:
        out.append(FieldSpec(f"{path}[].{time_key}", FieldKind.MOMENTS, path, time_key, label))
    for k, v in props.items():
        if k in (label, time_key):
            continue
        if _type(v) == "integer" and label is not None:
            out.append(FieldSpec(f"{path}[].{k}", FieldKind.COUNT, path, k, label))
        elif _type(v) == "string" and not v.get("enum"):
            out.append(FieldSpec(f"{path}[].{k}", FieldKind.TEXT, path, k, label))
    return out


def fields_of(schema: Mapping[str, Any], prefix: str = "") -> list[FieldSpec]:
    """Every field of ``schema`` with the scorer its type calls for, in schema order."""
    out: list[FieldSpec] = []
    for name, sub in (_resolve(dict(schema)).get("properties") or {}).items():
        node = _resolve(sub)
        path = f"{prefix}{name}"
        kind = _type(node)
        if node.get("enum") or kind == "boolean":
            out.append(FieldSpec(path, FieldKind.BOOLEAN if kind == "boolean" else FieldKind.CATEGORY))
        elif kind == "object":
            out.extend(fields_of(node, prefix=f"{path}."))
        elif kind == "array":
            items = _resolve(node.get("items") or {})
            if _type(items) == "object":
                out.extend(_item_fields(path, items))
            elif _type(items) in ("number", "integer") and _is_time(name):
                out.append(FieldSpec(path, FieldKind.MOMENTS))
            else:
                out.append(FieldSpec(path, FieldKind.SET))
        elif kind in ("integer", "number"):
            out.append(FieldSpec(path, FieldKind.MOMENTS if kind == "number" and _is_time(name) else FieldKind.COUNT))
        else:
            out.append(FieldSpec(path, FieldKind.TEXT))
    return out


# --- normalisation and the scorers ------------------------------------------------------------------

def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalise_term(text: Any, synonyms: Mapping[str, str] | None = None) -> str:
    """A term reduced to compare: lower case, the part before a comma or bracket, no punctuation,
    singular words, then the synonym map (``"Kittens"`` → ``"cat"``, ``"Dog, border collie type"`` →
    ``"dog"``)."""
    syn = SYNONYMS if synonyms is None else synonyms
    head = re.split(r"[,(\[;]", str(text).lower(), maxsplit=1)[0]
    words = [_singular(w) for w in re.sub(r"[^\w\s-]", " ", head).replace("-", " ").split()]
    term = " ".join(words)
    return syn.get(term, term)


def is_unknown(value: Any) -> bool:
    """Whether a value says nothing: null, empty, or a word such as "unknown"."""
    if value is None or value is _MISSING:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip().lower() in UNKNOWN_WORDS
    if isinstance(value, (list, tuple, dict)):
        return not value
    return False


def accuracy(reference: Any, candidate: Any) -> float:
    """1.0 when the two values are equal (strings compared normalised), else 0.0."""
    if isinstance(reference, str) and isinstance(candidate, str):
        return 1.0 if normalise_term(reference) == normalise_term(candidate) else 0.0
    return 1.0 if reference == candidate else 0.0


def set_f1(reference: Iterable[Any], candidate: Iterable[Any], *, synonyms: Mapping[str, str] | None = None) -> float:
    """F1 of two sets of terms after ``normalise_term``; two empty sets agree (1.0)."""
    ref = {normalise_term(t, synonyms) for t in reference if not is_unknown(t)}
    cand = {normalise_term(t, synonyms) for t in candidate if not is_unknown(t)}
    if not ref and not cand:
        return 1.0
    hits = len(ref & cand)
    if not hits:
        return 0.0
    precision, recall = hits / len(cand), hits / len(ref)
    return 2 * precision * recall / (precision + recall)


def count_error(reference: Any, candidate: Any) -> float:
    """Absolute difference of two counts (a missing or non-numeric candidate counts as 0)."""
    def num(v: Any) -> float:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

    return abs(num(reference) - num(candidate))


def count_score(error: float) -> float:
    """A count's absolute error as a 0–1 score: ``1 / (1 + error)`` (exact 1.0, off by one 0.5)."""
    return 1.0 / (1.0 + max(0.0, error))


def moments_f1(reference: Iterable[Any], candidate: Iterable[Any], *,
               tolerance_s: float = DEFAULT_TOLERANCE_S) -> float:
    """F1 of two lists of times: each candidate time matches at most one reference time within
    ``tolerance_s`` (closest pairs first); two empty lists agree (1.0)."""
    ref = sorted(float(t) for t in reference if isinstance(t, (int, float)) and not isinstance(t, bool))
    cand = sorted(float(t) for t in candidate if isinstance(t, (int, float)) and not isinstance(t, bool))
    if not ref and not cand:
        return 1.0
    pairs = sorted((abs(r - c), i, j) for i, r in enumerate(ref) for j, c in enumerate(cand)
                   if abs(r - c) <= tolerance_s)
    used_r: set[int] = set()
    used_c: set[int] = set()
    for _, i, j in pairs:
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
    hits = len(used_r)
    if not hits:
        return 0.0
    precision, recall = hits / len(cand), hits / len(ref)
    return 2 * precision * recall / (precision + recall)


# --- reading fields out of answers --------------------------------------------------------------------

def _get(answer: Any, path: str) -> Any:
    node = answer
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _items(answer: Any, spec: FieldSpec) -> list[Mapping[str, Any]] | object:
    value = _get(answer, spec.array or "")
    if value is _MISSING:
        return _MISSING
    return [i for i in value if isinstance(i, Mapping)] if isinstance(value, list) else []


def field_value(answer: Any, spec: FieldSpec) -> Any:
    """The field's value in ``answer`` (a list of the item values for item fields)."""
    if spec.array is None:
        return _get(answer, spec.path)
    items = _items(answer, spec)
    if items is _MISSING:
        return _MISSING
    assert isinstance(items, list)
    return [i.get(spec.key) for i in items if spec.key in i]


def _count_pairs(reference: Any, candidate: Any, spec: FieldSpec,
                 synonyms: Mapping[str, str] | None) -> list[float]:
    ref_items, cand_items = _items(reference, spec), _items(candidate, spec)
    if ref_items is _MISSING or cand_items is _MISSING or spec.label is None:
        return []
    assert isinstance(ref_items, list) and isinstance(cand_items, list)
    cand_by = {normalise_term(i.get(spec.label), synonyms): i for i in cand_items}
    errors = []
    for item in ref_items:
        match = cand_by.get(normalise_term(item.get(spec.label), synonyms))
        if match is not None:
            errors.append(count_error(item.get(spec.key), match.get(spec.key)))
    return errors


def score_field(spec: FieldSpec, reference: Any, candidate: Any | None, *,
                tolerance_s: float = DEFAULT_TOLERANCE_S,
                synonyms: Mapping[str, str] | None = None) -> tuple[float | None, float | None]:
    """One video's ``(score 0–1, absolute error)`` on one field; ``(None, None)`` when the field is
    not scored for this video (free text, or the reference does not hold it). A missing candidate
    answer scores 0."""
    if spec.kind is FieldKind.TEXT:
        return None, None
    ref = field_value(reference, spec)
    if ref is _MISSING:
        return None, None
    if candidate is None:
        return 0.0, None
    cand = field_value(candidate, spec)
    if spec.kind in (FieldKind.CATEGORY, FieldKind.BOOLEAN):
        return (0.0 if cand is _MISSING else accuracy(ref, cand)), None
    if spec.kind is FieldKind.SET:
        return set_f1(ref or [], [] if cand is _MISSING else cand or [], synonyms=synonyms), None
    if spec.kind is FieldKind.MOMENTS:
        ref_t = ref if isinstance(ref, list) else [ref]
        cand_t = [] if cand is _MISSING else cand if isinstance(cand, list) else [cand]
        return moments_f1(ref_t, cand_t, tolerance_s=tolerance_s), None
    if spec.array is None:  # a top-level count
        err = count_error(ref, None if cand is _MISSING else cand)
        return count_score(err), err
    errors = _count_pairs(reference, candidate, spec, synonyms)
    if not errors:
        return None, None
    err = sum(errors) / len(errors)
    return sum(count_score(e) for e in errors) / len(errors), err


# --- a configuration's scores -------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldScore:
    """One field over the sample: mean score, mean absolute error (counts), coverage, videos scored."""

    path: str
    kind: FieldKind
    score: float | None
    error: float | None
    unknown_rate: float
    videos: int
    weight: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "kind": self.kind.value, "score": self.score, "error": self.error,
                "unknown_rate": self.unknown_rate, "coverage": 1.0 - self.unknown_rate, "videos": self.videos,
                "weight": self.weight}


@dataclass(frozen=True)
class ScoreCard:
    """A configuration's answers scored against the reference: overall, per field and per video."""

    score: float | None
    fields: tuple[FieldScore, ...]
    per_video: dict[str, float | None]
    answered: int
    videos: int

    def field(self, path: str) -> FieldScore:
        """One field's score by path; ``KeyError`` when the schema has no such field."""
        for f in self.fields:
            if f.path == path:
                return f
        raise KeyError(path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"score": self.score, "answered": self.answered, "videos": self.videos,
                "fields": [f.to_dict() for f in self.fields], "per_video": dict(self.per_video)}


def _weighted(pairs: Iterable[tuple[float, float]]) -> float | None:
    total = weight = 0.0
    for value, w in pairs:
        total += value * w
        weight += w
    return total / weight if weight else None


def _norm(value: Any) -> Any:
    """A value reduced to compare and hash (terms normalised, lists as sorted tuples)."""
    if value is _MISSING:
        return "<missing>"
    if isinstance(value, str):
        return normalise_term(value)
    if isinstance(value, list):
        return tuple(sorted(repr(_norm(v)) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((k, repr(_norm(v))) for k, v in value.items()))
    return value


def constant_fields(schema: Mapping[str, Any], answers: Iterable[Any]) -> list[str]:
    """The scored fields whose value is the same in every one of ``answers`` (no variance: an
    agreement on them says nothing about what a configuration saw)."""
    given = [a for a in answers if isinstance(a, Mapping)]
    if not given:
        return []
    return [s.path for s in fields_of(schema) if s.kind is not FieldKind.TEXT
            and len({repr(_norm(field_value(a, s))) for a in given}) == 1]


def _kappa_by_video(spec: FieldSpec, reference: Mapping[str, Any], candidate: Mapping[str, Any | None],
                    videos: list[str]) -> dict[str, float] | None:
    """Each video's term of Cohen's kappa on a categorical field (their mean is kappa; ``None`` when undefined)."""
    rels = [rel for rel in videos if field_value(reference[rel], spec) is not _MISSING]
    if not rels:
        return {}
    ref = [_norm(field_value(reference[rel], spec)) for rel in rels]
    cand = [_norm(field_value(c, spec)) if isinstance(c := candidate.get(rel), Mapping) else "<no answer>"
            for rel in rels]
    terms = kappa_terms(ref, cand)
    return None if terms is None else dict(zip(rels, terms, strict=True))


def score_answers(schema: Mapping[str, Any], reference: Mapping[str, Any], candidate: Mapping[str, Any | None], *,
                  tolerance_s: float | Mapping[str, float] = DEFAULT_TOLERANCE_S,
                  weights: Mapping[str, float] | None = None,
                  synonyms: Mapping[str, str] | None = None, exclude: Iterable[str] = (),
                  chance_corrected: bool = False) -> ScoreCard:
    """Score ``candidate`` answers (rel_path → answer, ``None`` when it failed) against ``reference``
    answers (rel_path → answer or partial human labels) on every field of ``schema``.

    ``tolerance_s`` (how far apart two moments may be and still match) may be given per video.
    Only videos the reference answered are scored. Returns the overall score (weighted mean of
    the field scores, see the module docstring), each field's score, error and coverage, and each
    video's own weighted score. Fields in ``exclude`` are left out. With ``chance_corrected``,
    categorical and boolean fields score Cohen's kappa over the sample (each video its own term, so
    the per-video scores still average to the field's score) instead of raw agreement; a field whose
    chance agreement is 1 is left out.
    """
    skip = set(exclude)
    specs = [s for s in fields_of(schema) if s.path not in skip]
    videos = [rel for rel, ans in reference.items() if isinstance(ans, Mapping)]
    kappas: dict[str, dict[str, float] | None] = {}
    if chance_corrected:
        kappas = {s.path: _kappa_by_video(s, reference, candidate, videos) for s in specs
                  if s.kind in (FieldKind.CATEGORY, FieldKind.BOOLEAN)}
        specs = [s for s in specs if kappas.get(s.path, {}) is not None]
    per_field: dict[str, list[float]] = {s.path: [] for s in specs}
    errors: dict[str, list[float]] = {s.path: [] for s in specs}
    per_video: dict[str, float | None] = {}
    weight_of = {s.path: float((weights or {}).get(s.path, KIND_WEIGHTS[s.kind])) for s in specs}
    for rel in videos:
        cand = candidate.get(rel)
        cand = cand if isinstance(cand, Mapping) else None
        scored: list[tuple[float, float]] = []
        for spec in specs:
            tol = tolerance_s.get(rel, DEFAULT_TOLERANCE_S) if isinstance(tolerance_s, Mapping) else tolerance_s
            value, err = score_field(spec, reference[rel], cand, tolerance_s=tol, synonyms=synonyms)
            if spec.path in kappas and value is not None:
                value = (kappas[spec.path] or {}).get(rel)
            if value is None:
                continue
            per_field[spec.path].append(value)
            if err is not None:
                errors[spec.path].append(err)
            scored.append((value, weight_of[spec.path]))
        per_video[rel] = _weighted(scored)
    answered = [a for rel in videos if isinstance(a := candidate.get(rel), Mapping)]
    fields = []
    for spec in specs:
        values = per_field[spec.path]
        unknown = sum(1 for a in answered if is_unknown(field_value(a, spec)))
        fields.append(FieldScore(
            spec.path, spec.kind, sum(values) / len(values) if values else None,
            sum(errors[spec.path]) / len(errors[spec.path]) if errors[spec.path] else None,
            unknown / len(answered) if answered else 1.0, len(values), weight_of[spec.path]))
    overall = _weighted((f.score, f.weight) for f in fields if f.score is not None)
    return ScoreCard(overall, tuple(fields), per_video, len(answered), len(videos))


def side_by_side(schema: Mapping[str, Any], reference: Mapping[str, Any],
                 candidate: Mapping[str, Any | None]) -> list[dict[str, Any]]:
    """The free-text fields of each video, reference beside candidate (not scored; for people)."""
    rows = []
    for spec in fields_of(schema):
        if spec.kind is not FieldKind.TEXT:
            continue
        for rel, ref in reference.items():
            cand = candidate.get(rel)
            r = field_value(ref, spec)
            c = field_value(cand, spec) if isinstance(cand, Mapping) else _MISSING
            if r is _MISSING and c is _MISSING:
                continue
            rows.append({"rel_path": rel, "field": spec.path, "reference": None if r is _MISSING else r,
                         "candidate": None if c is _MISSING else c})
    return rows
