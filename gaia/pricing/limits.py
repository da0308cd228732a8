"""Guidance on the answer length limit (``max_tokens``) from the output tokens of past answers.

``max_tokens`` caps each answer, thinking included. Too low, and answers are cut off (stop_reason
``max_tokens``): billed, but unusable, and sent again. Far too high costs nothing by itself, but
lets a runaway answer (a repetition loop) bill that many output tokens. The advice takes the p99 of
past answers' output tokens for the same prompt profile and model, adds headroom
(``MAX_TOKENS_HEADROOM``) and rounds up to ``MAX_TOKENS_STEP``; answers that were cut off
mean the need is unknown above the limit they hit, so the advice is then at least twice that limit.
All thresholds are in ``gaia.settings``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.folder import Folder
from gaia.ledger import CUT_OFF_KIND, RequestStatus
from gaia.pricing.output import percentile
from gaia.pricing.usage import usage_tokens
from gaia.settings import (
    MAX_MAX_TOKENS,
    MAX_TOKENS_FAR_ABOVE,
    MAX_TOKENS_HEADROOM,
    MAX_TOKENS_MIN_ANSWERS,
    MAX_TOKENS_QUANTILE,
    MAX_TOKENS_STEP,
)

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
