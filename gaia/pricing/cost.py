"""Compatibility: the names ``gaia.pricing.cost`` held before pricing was split into its concepts.

Nothing in ``gaia.pricing`` imports this module. It lets code written against the old single
module (``gaia/runs/batch.py``, the pages, some tests) keep working while they move to ``gaia``'s
public API or the concept modules (``usage``, ``scenarios``, ``bill``, ``history``, ``estimate``,
``explain``, ``whatif``, ``models``, ``spent``, ``inputs``). Delete it once nothing imports it.
"""

from __future__ import annotations

from gaia.pricing.bill import CSV_COLUMNS, Bill, BillCsvError, bill, read_bill_csv
from gaia.pricing.cache import CacheInfo
from gaia.pricing.estimate import Estimate, estimate_run
from gaia.pricing.explain import Explanation
from gaia.pricing.history import History, history
from gaia.pricing.inputs import RunInputs, load_run_inputs
from gaia.pricing.models import ModelRow, compare_models
from gaia.pricing.run import MONEY_LABELS, VideoCost
from gaia.pricing.scenarios import SCENARIO_LABELS, SCENARIOS, Scenario
from gaia.pricing.spent import ActualCost, EstimateCheck, actual_cost, compare_to_estimate
from gaia.pricing.usage import (
    TOKEN_LABELS,
    TOKEN_TYPES,
    TokenCounts,
    UsageCost,
    cache_read_share,
    is_long_context,
    price_tokens,
    rates,
    usage_cost,
    usage_tokens,
)
from gaia.pricing.whatif import BudgetResult, WhatIfPoint, budget, what_if
from gaia.settings import FRAME_COUNT_STEPS, MAX_EDGE_STEPS

__all__ = [
    "CSV_COLUMNS", "FRAME_COUNT_STEPS", "MAX_EDGE_STEPS", "MONEY_LABELS", "SCENARIOS", "SCENARIO_LABELS",
    "TOKEN_LABELS", "TOKEN_TYPES", "ActualCost", "Bill", "BillCsvError", "BudgetResult", "CacheInfo", "Estimate",
    "EstimateCheck", "Explanation", "History", "ModelRow", "RunInputs", "Scenario", "TokenCounts", "UsageCost",
    "VideoCost", "WhatIfPoint", "actual_cost", "bill", "budget", "cache_read_share", "compare_models",
    "compare_to_estimate", "estimate_run", "history", "is_long_context", "load_run_inputs", "price_tokens",
    "rates", "read_bill_csv", "usage_cost", "usage_tokens", "what_if",
]
