"""The model comparison: the same run on every model, each with its own resize rule and prices."""

from __future__ import annotations

import pytest

from gaia.pricing.models import compare_models
from tests.pricing.helpers import kset, profile


def test_compare_models_haiku_5_5_is_about_a_thirtieth_of_sonnet_4_5() -> None:
    sets = [kset(f"v{i}.mp4", [(1280, 720)] * 6, model="claude-sonnet-5-5") for i in range(3)]
    rows = compare_models(sets, profile=profile(), reference_model="claude-sonnet-4-5", output_tokens_default=1000)
    by = {r.model: r for r in rows}
    assert {"claude-haiku-5-5", "claude-sonnet-4-5", "claude-opus-5-5"} <= set(by)
    assert by["claude-sonnet-4-5"].relative == pytest.approx(1.0)
    # Input $0.10 vs $3 and output $0.50 vs $15: 1/30 at list prices (text tokens differ a little).
    assert 1 / 40 < by["claude-haiku-5-5"].relative < 1 / 20
    assert rows == sorted(rows, key=lambda r: r.usd["batch_caching"])
    assert by["claude-sonnet-4-5"].max_edge == 1568 and by["claude-sonnet-5-5"].max_edge == 2576
    assert by["claude-haiku-4-5"].min_cacheable == 4096
