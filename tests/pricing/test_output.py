"""Output tokens per video: from the schema's shape, thinking and max_tokens; from history, the mean."""

from __future__ import annotations

import math

import pytest

from gaia.pricing.output import output_estimate, percentile, schema_shape, schema_short
from gaia.prompts import default_profile

SMALL = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
         "additionalProperties": False}


def _obj(**props: dict) -> dict:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def test_output_estimate_from_history_is_the_mean_with_its_uncertainty() -> None:
    xs = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    h = output_estimate(xs, remaining=90)
    assert h.source == "history" and h.samples == 10 and h.median == 550
    sd = math.sqrt(sum((x - 550) ** 2 for x in xs) / 9)
    half = 1.645 * sd * math.sqrt(1 / 10 + 1 / 90)
    assert (h.low, h.high) == (pytest.approx(550 - half), pytest.approx(550 + half))
    # More answers, a narrower range; one answer alone still has a spread.
    assert output_estimate(xs * 5, remaining=90).high < h.high
    one = output_estimate([800], remaining=10)
    assert one.low < 800 < one.high
    assert percentile([5], 0.9) == 5


def test_default_and_given_output_use_the_data_file_factors() -> None:
    d = output_estimate([], default=1000)
    assert (d.source, d.median, d.low, d.high) == ("default", 1000, 600, 1800)
    assert output_estimate().median == 2000  # no schema, no history: the data file's default


def test_the_schema_shape_drives_the_output() -> None:
    model = "claude-sonnet-4-5"  # no thinking by default
    short, long_ = _obj(ok={"type": "boolean"}), _obj(summary={"type": "string", "description": "Two to four "
                                                                "sentences."})
    assert schema_shape(long_, model) > 5 * schema_shape(short, model)
    # Enums cost their values; a stated count of items multiplies the item.
    enum = _obj(level={"type": "string", "enum": ["a", "b"]})
    assert schema_shape(enum, model) < schema_shape(_obj(level={"type": "string", "enum": ["a" * 40, "b" * 40]}),
                                                    model)
    few = _obj(tags={"type": "array", "items": {"type": "string"}, "description": "One to three tags."})
    many = _obj(tags={"type": "array", "items": {"type": "string"}, "description": "Ten to twenty tags."})
    assert schema_shape(many, model) > 4 * schema_shape(few, model)
    # The newer tokenizer makes more tokens of the same answer.
    p = default_profile().schema
    assert schema_shape(p, "claude-sonnet-5-5") == pytest.approx(schema_shape(p, model) * 1.3, rel=0.01)
    est = output_estimate(schema=p, model=model, max_tokens=8192)
    assert est.source == "schema" and est.thinking == 0
    # Low: the short reading (terse text, lists empty where "empty when none" allows); high: 1.8x the answer.
    assert est.low == schema_short(p, model) < 0.6 * est.median and est.high == pytest.approx(1.8 * est.median)
    assert schema_short(_obj(tags={"type": "array", "items": {"type": "string"}, "description": "Empty when none."}),
                        model) < schema_short(_obj(tags={"type": "array", "items": {"type": "string"}}), model)


def test_thinking_and_max_tokens() -> None:
    p = default_profile().schema
    plain = output_estimate(schema=p, model="claude-sonnet-4-5")
    thinks = output_estimate(schema=p, model="claude-sonnet-5-5")
    answer = schema_shape(p, "claude-sonnet-5-5")
    assert thinks.thinking > 0 and thinks.median == pytest.approx(answer + thinks.thinking)
    # Answer length and thinking are independent: their spreads add in quadrature, not end to end.
    assert thinks.high < 1.8 * answer + 1200 and thinks.high > 1.8 * answer
    assert plain.thinking == 0
    assert "thinking" in thinks.describe()
    # max_tokens is a hard cap on every end, from the schema and from history.
    capped = output_estimate(schema=p, model="claude-sonnet-5-5", max_tokens=1000)
    assert capped.high == 1000 and capped.median <= 1000
    assert output_estimate([5000, 6000], max_tokens=5500, remaining=5).high == 5500
