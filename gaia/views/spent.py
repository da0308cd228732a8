"""What a folder has spent, as the one figure Progress and Results both show.

``spent_metric`` turns ``gaia.pricing.bill.folder_spend`` (every billed response in the ledger:
batches, run now, trials, tune, superseded and failed-but-billed answers) into a ``Metric`` whose
help text splits it by kind, so the two pages show the same total and say where it went.
"""

from __future__ import annotations

from pathlib import Path

from gaia.folder import Folder
from gaia.format import usd
from gaia.pricing.bill import Spend, folder_spend
from gaia.views.common import Metric

SPENT_LABEL = "Spent so far"
_KIND_WORDS = {"batch": "batches", "now": "run now", "trial": "prompt trials", "tune": "tune"}
_OUTCOME_WORDS = {"superseded": "answers since replaced", "failed": "failed but billed answers",
                  "possibly_billed": "requests possibly billed (sent, never answered: at their estimate)"}


def spent_help(spend: Spend) -> str:
    """Where the total went, in one sentence (by kind, then what was billed but is not a current answer)."""
    if not spend.requests:
        return "Nothing billed yet."
    kinds = ", ".join(f"{_KIND_WORDS[k]} {usd(v)}" for k, v in spend.by_kind.items() if v)
    extra = [f"{usd(spend.by_outcome[k])} for {w}" for k, w in _OUTCOME_WORDS.items() if spend.by_outcome.get(k)]
    tail = f"; it includes {' and '.join(extra)}" if extra else ""
    return (f"Every billed request ({spend.requests:,}): {kinds}{tail}. "
            "`gaia spent DIR` lists it by run and by day.")


def spent_metric(folder: Folder | Path | str, spend: Spend | None = None) -> Metric:
    """The folder's total spend as a headline figure (``spend`` when the caller already has it)."""
    s = spend if spend is not None else folder_spend(Folder.of(folder))
    return Metric(SPENT_LABEL, usd(s.total_usd), spent_help(s))
