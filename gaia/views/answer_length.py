"""What the Submit page shows about the answers' cost: each prompt profile's output tokens, and max_tokens advice.

Output tokens are most of a typical bill, and the prompt profile (its schema above all) drives them.
Each profile's figure comes from the folder's history for that profile and model
(``gaia.pricing.bill.history``: the median and p90 of past answers); a profile with no answers yet says
so, beside the figure the estimate assumes until then. The answer length limit's advice is
``gaia.pricing.output.max_tokens_advice``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.folder import Folder
from gaia.pricing.bill import history
from gaia.pricing.models import TokenCounts, price_tokens
from gaia.pricing.output import LimitVerdict, MaxTokensAdvice, output_estimate, percentile
from gaia.prompts import ProfileNotFound, builtin_profiles


@dataclass(frozen=True)
class ProfileOutput:
    """One prompt profile's answers on one model: how many, their median and p90 output tokens, and
    the median's Batch price. ``key`` is what the run settings store for it (a built-in's name, else
    the hash)."""

    key: str
    name: str
    hash: str
    answers: int
    median: float
    p90: float
    usd_per_video: float
    current: bool

    @property
    def measured(self) -> bool:
        """Whether the figures come from this folder's answers (else they are the estimate's assumption)."""
        return self.answers > 0

    @property
    def output_text(self) -> str:
        """``640 output tokens an answer (median of 12)`` or ``no answers yet (the estimate assumes 2,000)``."""
        if self.measured:
            return f"{fmt.tokens(self.median)} output tokens an answer (median of {self.answers})"
        return f"no answers yet (the estimate assumes {fmt.tokens(self.median)})"


def profile_outputs(folder: Folder | Path | str, model: str) -> list[ProfileOutput]:
    """Every profile the folder can use (built-ins first) with its answers' output tokens on ``model``."""
    f = Folder.of(folder)
    try:
        current = f.profile().hash
    except ProfileNotFound:
        current = ""
    builtin = {p.hash: p.name for p in builtin_profiles()}
    max_tokens = f.settings().max_tokens
    rows = []
    for p in f.profiles():
        answers = history(f, p.hash, model).output_tokens
        if answers:  # what the answers were: their median and p90
            median, p90 = percentile(answers, 0.5), percentile(answers, 0.9)
        else:  # what the estimate assumes until there are some
            est = output_estimate(schema=p.schema, model=model, max_tokens=max_tokens)
            median, p90 = est.median, est.high
        usd = price_tokens(TokenCounts(output=median), model, batch=True).total_usd
        key = p.name if builtin.get(p.hash) == p.name else p.hash
        rows.append(ProfileOutput(key, p.name, p.hash, len(answers), median, p90, usd, p.hash == current))
    return rows


def profile_label(row: ProfileOutput) -> str:
    """``compact · 640 output tokens an answer (median of 12)``."""
    return f"{row.name} · {row.output_text}"


def profile_names(rows: list[ProfileOutput]) -> dict[str, str]:
    """Each profile's option text in a picker, by key: its name, with its hash's start where two share a name. No
    answer count: the browser keeps a selectbox's choice by its text, so a count in it would show the old one."""
    names = Counter(r.name for r in rows)
    return {r.key: r.name if names[r.name] == 1 else f"{r.name} ({r.hash[:8]})" for r in rows}


def profile_records(rows: list[ProfileOutput]) -> list[dict[str, Any]]:
    """The profile table: name, hash, answers, median and p90 output tokens, output $ per video."""
    return [{"profile": r.name, "hash": r.hash, "answers": r.answers,
             "output tokens (median)": round(r.median) if r.measured else None,
             "output tokens (p90)": round(r.p90) if r.measured else None,
             "output per video (USD, Batch)": r.usd_per_video if r.measured else None,
             "in use": r.current} for r in rows]


def advice_level(advice: MaxTokensAdvice) -> str:
    """How the page shows the advice: ``warning`` (answers cut off, or little headroom), ``info`` (far
    above need) or ``caption``."""
    if advice.verdict in (LimitVerdict.TRUNCATED, LimitVerdict.TIGHT):
        return "warning"
    return "info" if advice.verdict is LimitVerdict.FAR_ABOVE else "caption"
