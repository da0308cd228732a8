"""How long answers run: the output tokens an estimate assumes per video, and the limit that caps them.

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
- **History** (per model and prompt profile, ``gaia.pricing.bill.History``): once answers exist, their
  mean is the point (a total is a sum, so the mean, not the median, predicts it) and the range is
  the uncertainty of the mean for the videos still to send: ``z * sd * sqrt(1/n + 1/N)``. A pilot
  of a few videos (``gaia run DIR --limit 3``, trial answers) is history like any other.
- **Frames sent** (``frames_line``): an answer describes what it was shown, so when the answers were
  sent different numbers of frames, their output tokens are fitted on the frame count (least squares),
  and the point moves by the slope times how many more (or fewer) frames the videos still to send show
  on average. The pilot must tell: the slope is shrunk towards 0 by how little the answers say about it
  (``b * (1 - 1/F)``, F the fit's F statistic, 0 when F <= 1), kept between 0 (more frames shown never
  make a shorter answer expected) and the answers' mean per frame (an answer grows at most in proportion
  to what it is shown), and used only from 3 answers with two frame counts or more. Its uncertainty
  widens the range. Videos that send as many frames as the answers did get the mean.

**The answer length limit.** ``max_tokens`` caps each answer, thinking included. Too low, and
answers are cut off (stop_reason ``max_tokens``): billed, but unusable, and sent again. Far too high
costs nothing by itself, but lets a runaway answer (a repetition loop) bill that many output tokens.
``limit_need`` is what an answer needs (an estimate warns when the limit is below it).
``max_tokens_advice`` takes the p99 of past answers' output tokens for the same prompt profile and
model, adds headroom (``MAX_TOKENS_HEADROOM``) and rounds up to ``MAX_TOKENS_STEP``; answers that
were cut off mean the need is unknown above the limit they hit, so the advice is then at least twice
that limit. All thresholds are in ``gaia.settings``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.facts import ModelFacts, estimate_defaults
from gaia.folder import Folder
from gaia.ledger import CUT_OFF_KIND, RequestStatus
from gaia.pricing.models import facts_of, usage_tokens
from gaia.pricing.tokens import approx_text_tokens
from gaia.settings import (
    MAX_MAX_TOKENS,
    MAX_TOKENS_FAR_ABOVE,
    MAX_TOKENS_HEADROOM,
    MAX_TOKENS_MIN_ANSWERS,
    MAX_TOKENS_QUANTILE,
    MAX_TOKENS_STEP,
)

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


def _tokens(chars: float, f: ModelFacts) -> float:
    return float(approx_text_tokens("x" * max(1, round(chars)), f))


def schema_shape(schema: Mapping[str, Any], model: str | ModelFacts) -> float:
    """Typical output tokens of one answer to ``schema`` on ``model``, from its shape alone."""
    return _tokens(_shape(schema), facts_of(model))


def schema_short(schema: Mapping[str, Any], model: str | ModelFacts) -> float:
    """Output tokens of the short reading of an answer to ``schema``: terse text, lists empty where allowed."""
    return _tokens(_shape(schema, short=True), facts_of(model))


def thinking_tokens(model: str | ModelFacts) -> tuple[float, float, float]:
    """Thinking tokens per answer before any history, (low, point, high): the data file's range for
    models that think by default (GAIA sends no ``thinking`` setting), else none."""
    d = estimate_defaults()
    if (model.id if isinstance(model, ModelFacts) else model) not in d.thinking_models:
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
    per_frame: float = 0.0  # from history: output tokens per frame sent (``frames_line``; 0: the answers' mean)
    frames_gap: float = 0.0  # ... and how many more frames the videos to send show on average than the answers

    @property
    def point(self) -> float:
        """The expected output tokens per video."""
        return self.median

    def describe(self) -> str:
        """One line for a person: how many tokens per video, the range, and where it comes from."""
        rng = f"{self.median:,.0f} output tokens per video (range {self.low:,.0f}–{self.high:,.0f})"
        if self.source == "history":
            frames = (f", {abs(self.per_frame * self.frames_gap):,.0f} {'more' if self.frames_gap > 0 else 'fewer'} "
                      f"than their mean because the videos to send show {abs(self.frames_gap):.1f} "
                      f"{'more' if self.frames_gap > 0 else 'fewer'} frame(s) each on average (about "
                      f"{self.per_frame:,.0f} output tokens per frame)") if self.per_frame and self.frames_gap else ""
            return f"{rng}, learnt from {self.samples} answer(s) of this prompt on this model{frames}"
        think = f", {self.thinking:,.0f} of them thinking" if self.thinking else ""
        cap = f"; max_tokens {self.max_tokens:,} caps it" if self.max_tokens else ""
        if self.source == "schema":
            return f"{rng}{think}, from the schema's shape (no answers yet){cap}"
        return f"{rng}, assumed (no answers yet){cap}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``p10``/``p90`` are kept as the names of the low and high ends)."""
        return {"median": self.median, "point": self.median, "p10": self.low, "p90": self.high, "low": self.low,
                "high": self.high, "source": self.source, "samples": self.samples,
                "thinking_tokens": self.thinking, "max_tokens": self.max_tokens, "includes_thinking": True,
                "per_frame_tokens": self.per_frame, "frames_gap": self.frames_gap}


def _capped(point: float, low: float, high: float, max_tokens: int | None) -> tuple[float, float, float]:
    if not max_tokens:
        return point, low, high
    return min(point, max_tokens), min(low, max_tokens), min(high, max_tokens)


# A slope on the frame count is fitted from this many answers on (two points always fit a line).
FRAMES_LINE_MIN_ANSWERS = 3


@dataclass(frozen=True)
class FramesLine:
    """Output tokens per frame sent, learnt from answers: ``slope`` (shrunk, >= 0) and its standard error,
    around ``mean_frames``, the mean frame count of the answers it was fitted on."""

    slope: float
    se: float
    mean_frames: float


def frames_line(output_tokens: Sequence[int], frames: Sequence[int]) -> FramesLine | None:
    """How answers' output tokens grow with the frames they were sent: a least-squares slope shrunk by how
    sure the answers are of it (``b * (1 - 1/F)``, 0 when F <= 1), never negative; ``None`` with fewer than
    ``FRAMES_LINE_MIN_ANSWERS`` answers, one frame count only, or frames not known for every answer."""
    n = len(output_tokens)
    if n < FRAMES_LINE_MIN_ANSWERS or len(frames) != n:
        return None
    mx, my = sum(frames) / n, sum(output_tokens) / n
    sxx = sum((x - mx) ** 2 for x in frames)
    if sxx <= 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(frames, output_tokens, strict=True)) / sxx
    sse = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(frames, output_tokens, strict=True))
    s2 = sse / (n - 2)
    f_stat = math.inf if s2 <= 0 else b * b * sxx / s2
    shrink = max(0.0, 1 - 1 / f_stat) if f_stat > 0 else 0.0
    # The residual spread has few degrees of freedom: at least MIN_HISTORY_CV of the mean, as for the mean itself.
    se = math.sqrt(max(s2, (MIN_HISTORY_CV * my) ** 2) / sxx)
    # Never negative (more frames shown never make a shorter answer expected) and at most in proportion to the
    # frames (an answer has a part that does not grow with them: the slope of answers all about the frames).
    return FramesLine(min(max(0.0, b), my / mx if mx > 0 else 0.0) * shrink, se, mx)


def from_history(output_tokens: Sequence[int], *, remaining: int = 0, max_tokens: int | None = None,
                 frames: Sequence[int] = (), to_send: Sequence[int] = ()) -> OutputEstimate:
    """Output per video from past answers: their mean, and the range of the mean for ``remaining``
    videos still to send (``z * sd * sqrt(1/n + 1/remaining)``; at least ``MIN_HISTORY_CV`` spread).
    With ``frames`` (the frames each answer was sent) and ``to_send`` (the frames of each video still to send),
    the point follows the frames: ``frames_line``'s slope times how many more frames the videos to send show
    on average than the answers had, its uncertainty added to the range in quadrature."""
    n = len(output_tokens)
    mean = sum(output_tokens) / n
    var = sum((x - mean) ** 2 for x in output_tokens) / (n - 1) if n > 1 else 0.0
    sd = max(math.sqrt(var), MIN_HISTORY_CV * mean)
    half = HISTORY_Z * sd * math.sqrt(1 / n + (1 / remaining if remaining else 0.0))
    line = frames_line(output_tokens, frames) if to_send else None
    per_frame, frames_gap = 0.0, 0.0
    if line is not None and line.slope > 0:
        per_frame, frames_gap = line.slope, sum(to_send) / len(to_send) - line.mean_frames
        mean = max(0.0, mean + per_frame * frames_gap)
        half = math.hypot(half, HISTORY_Z * line.se * frames_gap)
    point, low, high = _capped(mean, max(0.0, mean - half), mean + half, max_tokens)
    return OutputEstimate(point, low, high, "history", n, max_tokens=max_tokens, per_frame=per_frame,
                          frames_gap=frames_gap)


def output_estimate(output_tokens: Sequence[int] = (), *, default: int | None = None,
                    schema: Mapping[str, Any] | None = None, model: str | ModelFacts | None = None,
                    max_tokens: int | None = None, remaining: int = 0, frames: Sequence[int] = (),
                    to_send: Sequence[int] = ()) -> OutputEstimate:
    """Output tokens per video: from past answers when there are any (following the frames sent, ``frames``
    for the answers and ``to_send`` for the videos still to send: ``from_history``); else ``default`` (a number
    the user gave) with the data file's range; else from ``schema``'s shape plus ``model``'s thinking;
    else the data file's default. ``max_tokens`` caps every end."""
    if output_tokens:
        return from_history(output_tokens, remaining=remaining, max_tokens=max_tokens, frames=frames,
                            to_send=to_send)
    d = estimate_defaults()
    if default is None and schema is not None and model is not None:
        f = facts_of(model)  # resolved once for the three figures below
        answer = schema_shape(schema, f)
        t_low, t_point, t_high = thinking_tokens(f)
        a_low = min(answer * d.output_low, schema_short(schema, f))
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


def limit_need(output_tokens: Sequence[int], *, schema: Mapping[str, Any] | None, model: str | ModelFacts | None
               ) -> LimitNeed | None:
    """What an answer needs: the p90 of complete answers, else the schema's uncapped prediction (``None``
    when neither is known)."""
    if output_tokens:
        return LimitNeed(math.ceil(percentile(output_tokens, NEED_QUANTILE)), "answers", len(output_tokens))
    if schema is None or model is None:
        return None
    predicted = output_estimate(schema=schema, model=model)
    return LimitNeed(math.ceil(predicted.point), "schema")


# --- the answer length limit (max_tokens) ---------------------------------------------------------

TRUNCATED_KIND = CUT_OFF_KIND  # the ledger's error_kind for an answer cut off at the limit


class LimitVerdict(StrEnum):
    """What the past answers say about the current limit."""

    NO_HISTORY = "no_history"  # too few answers to say
    TRUNCATED = "truncated"  # some answers were cut off: raise it
    FAR_ABOVE = "far_above"  # well above what answers need
    TIGHT = "tight"  # below the suggestion: nothing cut off yet, but little headroom
    FITS = "fits"


@dataclass(frozen=True)
class MaxTokensAdvice:
    """The advice on ``max_tokens`` for one prompt profile and model, with the figures behind it.

    ``suggested`` is ``None`` when there is nothing to go on. ``p99`` and ``longest`` are over the
    complete answers; ``truncated`` counts answers cut off at the limit (``truncated_at`` the
    largest limit they hit).
    """

    current: int
    suggested: int | None
    verdict: LimitVerdict
    answers: int
    p99: float | None
    longest: int | None
    truncated: int
    truncated_at: int | None

    @property
    def message(self) -> str:
        """The advice in one or two sentences."""
        cur = fmt.tokens(self.current)
        if self.verdict is LimitVerdict.TRUNCATED:
            return (f"{self.truncated} answer(s) were cut off at the limit ({fmt.tokens(self.truncated_at or 0)} "
                    "tokens): they were billed but are unusable. Raise the limit to "
                    f"{fmt.tokens(self.suggested or 0)}.")
        if self.verdict is LimitVerdict.NO_HISTORY:
            return (f"{cur} tokens; no advice yet: {self.answers} answer(s) with this prompt and model so far, "
                    f"and from {MAX_TOKENS_MIN_ANSWERS} on GAIA suggests a limit from their length.")
        basis = (f"{self.answers} answers with this prompt and model: p99 {fmt.tokens(self.p99 or 0)}, longest "
                 f"{fmt.tokens(self.longest or 0)} output tokens (thinking included)")
        if self.verdict is LimitVerdict.FAR_ABOVE:
            return (f"The limit of {cur} tokens is far above need ({basis}). {fmt.tokens(self.suggested or 0)} "
                    "leaves headroom and caps what a runaway answer can bill.")
        if self.verdict is LimitVerdict.TIGHT:
            return (f"The limit of {cur} tokens is tight ({basis}); {fmt.tokens(self.suggested or 0)} leaves "
                    "headroom so a longer answer is not cut off.")
        return f"The limit of {cur} tokens fits ({basis}); {fmt.tokens(self.suggested or 0)} would also do."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"current": self.current, "suggested": self.suggested, "verdict": self.verdict.value,
                "answers": self.answers, "p99": self.p99, "longest": self.longest, "truncated": self.truncated,
                "truncated_at": self.truncated_at, "message": self.message}


def _round_up(tokens: float) -> int:
    return min(MAX_MAX_TOKENS, max(MAX_TOKENS_STEP, math.ceil(tokens / MAX_TOKENS_STEP) * MAX_TOKENS_STEP))


def advise_max_tokens(output_tokens: Sequence[int], current: int, *,
                      truncated_at: Sequence[int] = ()) -> MaxTokensAdvice:
    """The advice from complete answers' ``output_tokens`` and the output tokens of answers cut off at
    the limit (``truncated_at``), for a current limit of ``current``."""
    n, cut = len(output_tokens), len(truncated_at)
    p99 = percentile(output_tokens, MAX_TOKENS_QUANTILE) if output_tokens else None
    longest = max(output_tokens) if output_tokens else None
    hit = max(truncated_at) if truncated_at else None
    if hit is not None:
        need = max(2 * hit, (p99 or 0) * MAX_TOKENS_HEADROOM, current + MAX_TOKENS_STEP)
        return MaxTokensAdvice(current, _round_up(need), LimitVerdict.TRUNCATED, n, p99, longest, cut, hit)
    if p99 is None or n < MAX_TOKENS_MIN_ANSWERS:
        return MaxTokensAdvice(current, None, LimitVerdict.NO_HISTORY, n, p99, longest, 0, None)
    suggested = _round_up(p99 * MAX_TOKENS_HEADROOM)
    verdict = (LimitVerdict.FAR_ABOVE if current > MAX_TOKENS_FAR_ABOVE * suggested
               else LimitVerdict.TIGHT if current < suggested else LimitVerdict.FITS)
    return MaxTokensAdvice(current, suggested, verdict, n, p99, longest, 0, None)


def max_tokens_advice(folder: Folder | Path | str, prompt_hash: str, model: str, current: int) -> MaxTokensAdvice:
    """The advice for ``current`` from the folder's ledger: every answer of this prompt and model that
    was billed, complete ones by their output tokens, cut-off ones (``max_tokens``) by the limit they hit."""
    f = Folder.of(folder)
    complete: list[int] = []
    cut: list[int] = []
    if f.has_ledger:
        with f.ledger() as ledger:
            rows = ledger.requests(status=(RequestStatus.SUCCEEDED, RequestStatus.FAILED))
        for r in rows:
            if r.prompt_hash != prompt_hash or r.model != model or not r.usage:
                continue
            out = int(usage_tokens(r.usage).output)
            if r.status == RequestStatus.SUCCEEDED:
                complete.append(out)
            elif r.error_kind == TRUNCATED_KIND:
                cut.append(out)
    return advise_max_tokens(complete, current, truncated_at=cut)
