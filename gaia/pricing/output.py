"""Output tokens per video: what an estimate assumes each answer will cost, from what drives it.

Output is most of a typical bill, and the hardest part to know before sending. This module is the
one place that turns what drives it into an ``OutputEstimate`` (a point, a low and a high end per
video, and where they come from):

- **The schema's shape**, before any answer: ``schema_shape`` walks the JSON schema and adds up
  the typical answer's characters (key names, punctuation, enum values, numbers, free-text
  strings, array items). Descriptions that say how much ("Two to four sentences", "Three to
  twelve tags") set those parts' lengths. Characters become tokens by GAIA's one text rule
  (``approx_text_tokens``). What the schema cannot fix (how long free text runs, how many items a
  list gets) is the range: down to the short reading (terse text, lists empty where the
  description allows it), up to the data file's ``output_range_high`` factor of the answer.
- **Thinking**: models that think by default (the data file's ``thinking_models``) spend output
  tokens before answering; until there is history the data file's thinking range is added.
- **``max_tokens``** is a hard cap: no answer is billed more output than the limit.
- **History** (per model and prompt profile, ``gaia.pricing.history``): once answers exist, their
  mean is the point (a total is a sum, so the mean, not the median, predicts it) and the range is
  the uncertainty of the mean for the videos still to send: ``z * sd * sqrt(1/n + 1/N)``. A pilot
  of a few videos (``gaia run DIR --limit 3``, trial answers) is history like any other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gaia.facts import estimate_defaults
from gaia.pricing.tokens import approx_text_tokens

# How wide the range of a mean learnt from answers is: z of a two-sided 90% interval.
HISTORY_Z = 1.645
# With one answer, or answers that barely differ, the spread of answers is not known yet: assume at
# least this coefficient of variation between videos.
MIN_HISTORY_CV = 0.15


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` with linear interpolation; ``values`` must not be empty."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- the schema's shape -------------------------------------------------------------------------------

_NUMBER_WORDS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_N = r"(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_RANGE_RE = re.compile(_N + r"\s*(?:to|-|–|or)\s*" + _N + r"\s+([a-z-]+)", re.IGNORECASE)
_LONG_WORDS = ("description", "summary", "notes", "explanation", "reason", "comment", "narrative")
# Typical characters of free text: a label ("red fox"), a longer free text, a sentence, a word; and
# the items of an array whose description says nothing about how many.
_LABEL_CHARS = 24
_PROSE_CHARS = 130
_SENTENCE_CHARS = 110
_WORD_CHARS = 7
_ITEMS = 3
# The short reading (the low end): terse free text, lists at their stated minimum, empty where the
# description allows it ("empty when none"), else one item.
_SHORT = {"label": 10, "prose": 50, "sentence": 80, "word": 5}
_EMPTY_RE = re.compile(r"\b(empty|none)\b", re.IGNORECASE)
_NUMBER_CHARS = {"integer": 1.5, "number": 3.5, "boolean": 5.0, "null": 4.0}


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _hint(description: str, short: bool) -> tuple[float | None, str]:
    """A count the description states ("two to four sentences": 3, or 2 when ``short``) and its unit."""
    m = _RANGE_RE.search(description or "")
    if not m:
        return None, ""
    a, b = sorted((_number(m.group(1)), _number(m.group(2))))
    return (a if short else (a + b) / 2), m.group(3).lower()


def _string(schema: Mapping[str, Any], name: str, short: bool) -> float:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        lens = [len(str(v)) + 2 for v in schema["enum"]]
        return min(lens) if short else sum(lens) / len(lens)
    desc = str(schema.get("description", ""))
    count, unit = _hint(desc, short)
    if count is not None and unit.startswith("sentence"):
        return 2 + count * (_SHORT["sentence"] if short else _SENTENCE_CHARS)
    if count is not None and unit.startswith("word"):
        return 2 + count * (_SHORT["word"] if short else _WORD_CHARS)
    prose = any(w in f"{name} {desc}".lower() for w in _LONG_WORDS)
    if short:
        return 2 + (_SHORT["prose"] if prose else _SHORT["label"])
    return 2 + (_PROSE_CHARS if prose else _LABEL_CHARS)


def _items(schema: Mapping[str, Any], short: bool) -> float:
    desc = str(schema.get("description", ""))
    count, _unit = _hint(desc, short)
    if count is not None:
        return count
    if short:
        return 0 if _EMPTY_RE.search(desc) else 1
    return _ITEMS


def _shape(schema: Any, name: str = "", depth: int = 0, short: bool = False) -> float:
    """Characters of the compact JSON answer to ``schema``: typical, or the short reading."""
    if not isinstance(schema, Mapping) or depth > 12:
        return 8.0
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return 2 + sum(len(k) + 4 + _shape(sub, k, depth + 1, short)
                       for k, sub in (schema.get("properties") or {}).items())
    if kind == "array":
        return 2 + _items(schema, short) * (1 + _shape(schema.get("items") or {}, name, depth + 1, short))
    if kind == "string" or (kind is None and "enum" in schema):
        return _string(schema, name, short)
    if kind in _NUMBER_CHARS:
        return _NUMBER_CHARS[kind]
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list) and options:
        return sum(_shape(o, name, depth + 1, short) for o in options) / len(options)
    return 8.0


def _tokens(chars: float, model: str) -> float:
    return float(approx_text_tokens("x" * max(1, round(chars)), model))


def schema_shape(schema: Mapping[str, Any], model: str) -> float:
    """Typical output tokens of one answer to ``schema`` on ``model``, from its shape alone."""
    return _tokens(_shape(schema), model)


def schema_short(schema: Mapping[str, Any], model: str) -> float:
    """Output tokens of the short reading of an answer to ``schema``: terse text, lists empty where allowed."""
    return _tokens(_shape(schema, short=True), model)


def thinking_tokens(model: str) -> tuple[float, float, float]:
    """Thinking tokens per answer before any history, (low, point, high): the data file's range for
    models that think by default (GAIA sends no ``thinking`` setting), else none."""
    d = estimate_defaults()
    if model not in d.thinking_models:
        return 0.0, 0.0, 0.0
    return float(d.thinking_low), float(d.thinking_tokens), float(d.thinking_high)


# --- the estimate -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutputEstimate:
    """Expected output tokens per video (thinking included): a point, a low and a high end, and where
    they come from. ``median`` is the point (named so for callers of earlier versions; from history
    it is the mean, which is what predicts a total)."""

    median: float
    low: float
    high: float
    source: str  # "history", "schema" or "default"
    samples: int = 0
    thinking: float = 0.0  # of the point, tokens assumed for thinking (0 from history: it is inside)
    max_tokens: int | None = None

    @property
    def point(self) -> float:
        """The expected output tokens per video."""
        return self.median

    def describe(self) -> str:
        """One line for a person: how many tokens per video, the range, and where it comes from."""
        rng = f"{self.median:,.0f} output tokens per video (range {self.low:,.0f}–{self.high:,.0f})"
        if self.source == "history":
            return f"{rng}, learnt from {self.samples} answer(s) of this prompt on this model"
        think = f", {self.thinking:,.0f} of them thinking" if self.thinking else ""
        cap = f"; max_tokens {self.max_tokens:,} caps it" if self.max_tokens else ""
        if self.source == "schema":
            return f"{rng}{think}, from the schema's shape (no answers yet){cap}"
        return f"{rng}, assumed (no answers yet){cap}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``p10``/``p90`` are kept as the names of the low and high ends)."""
        return {"median": self.median, "point": self.median, "p10": self.low, "p90": self.high, "low": self.low,
                "high": self.high, "source": self.source, "samples": self.samples,
                "thinking_tokens": self.thinking, "max_tokens": self.max_tokens, "includes_thinking": True}


def _capped(point: float, low: float, high: float, max_tokens: int | None) -> tuple[float, float, float]:
    if not max_tokens:
        return point, low, high
    return min(point, max_tokens), min(low, max_tokens), min(high, max_tokens)


def from_history(output_tokens: Sequence[int], *, remaining: int = 0,
                 max_tokens: int | None = None) -> OutputEstimate:
    """Output per video from past answers: their mean, and the range of the mean for ``remaining``
    videos still to send (``z * sd * sqrt(1/n + 1/remaining)``; at least ``MIN_HISTORY_CV`` spread)."""
    n = len(output_tokens)
    mean = sum(output_tokens) / n
    var = sum((x - mean) ** 2 for x in output_tokens) / (n - 1) if n > 1 else 0.0
    sd = max(math.sqrt(var), MIN_HISTORY_CV * mean)
    half = HISTORY_Z * sd * math.sqrt(1 / n + (1 / remaining if remaining else 0.0))
    point, low, high = _capped(mean, max(0.0, mean - half), mean + half, max_tokens)
    return OutputEstimate(point, low, high, "history", n, max_tokens=max_tokens)


def output_estimate(output_tokens: Sequence[int] = (), *, default: int | None = None,
                    schema: Mapping[str, Any] | None = None, model: str | None = None,
                    max_tokens: int | None = None, remaining: int = 0) -> OutputEstimate:
    """Output tokens per video: from past answers when there are any; else ``default`` (a number the
    user gave) with the data file's range; else from ``schema``'s shape plus ``model``'s thinking;
    else the data file's default. ``max_tokens`` caps every end."""
    if output_tokens:
        return from_history(output_tokens, remaining=remaining, max_tokens=max_tokens)
    d = estimate_defaults()
    if default is None and schema is not None and model is not None:
        answer = schema_shape(schema, model)
        t_low, t_point, t_high = thinking_tokens(model)
        a_low = min(answer * d.output_low, schema_short(schema, model))
        # How long the answer runs and how long the model thinks are independent: combined in quadrature.
        point = answer + t_point
        low = point - math.hypot(answer - a_low, t_point - t_low)
        high = point + math.hypot(answer * d.output_high - answer, t_high - t_point)
        point, low, high = _capped(point, low, high, max_tokens)
        return OutputEstimate(point, low, high, "schema", 0, t_point, max_tokens)
    point = d.output_tokens if default is None else default
    p, lo, hi = _capped(float(point), point * d.output_low, point * d.output_high, max_tokens)
    return OutputEstimate(p, lo, hi, "default", 0, max_tokens=max_tokens)


# The need an answer length limit is held to: the p90 of past complete answers (so at most about one
# answer in ten would be cut off), else the schema's prediction of one answer (thinking included).
NEED_QUANTILE = 0.9


@dataclass(frozen=True)
class LimitNeed:
    """How many output tokens an answer needs (``tokens``) and where that comes from (``source``:
    ``"answers"``, the p90 of ``samples`` complete answers; or ``"schema"``, its prediction)."""

    tokens: int
    source: str
    samples: int = 0

    def describe(self) -> str:
        """The need in words."""
        if self.source == "answers":
            return (f"{self.tokens:,} tokens, what 9 in 10 of the {self.samples} complete answers of this prompt on "
                    "this model needed")
        return f"{self.tokens:,} tokens, what the schema predicts an answer needs (thinking included)"


def limit_need(output_tokens: Sequence[int], *, schema: Mapping[str, Any] | None, model: str | None
               ) -> LimitNeed | None:
    """What an answer needs: the p90 of complete answers, else the schema's uncapped prediction (``None``
    when neither is known)."""
    if output_tokens:
        return LimitNeed(math.ceil(percentile(output_tokens, NEED_QUANTILE)), "answers", len(output_tokens))
    if schema is None or model is None:
        return None
    predicted = output_estimate(schema=schema, model=model)
    return LimitNeed(math.ceil(predicted.point), "schema")
