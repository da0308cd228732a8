"""How long answers run (``gaia.pricing.output``): output per video from the schema's shape, thinking,
max_tokens and history; the max_tokens advice from past answers.
"""

from __future__ import annotations

import math

import pytest

import gaia
from gaia.ledger import RequestIntent
from gaia.pricing.output import (
    TRUNCATED_KIND,
    LimitVerdict,
    advise_max_tokens,
    max_tokens_advice,
    output_estimate,
    percentile,
    schema_shape,
    schema_short,
)
from gaia.prompts import default_profile
from gaia.runs.recorder import ErrorKind

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


def test_no_history_gives_no_suggestion():
    a = advise_max_tokens([], 8192)
    assert a.verdict is LimitVerdict.NO_HISTORY and a.suggested is None and "0 answer(s)" in a.message
    assert advise_max_tokens([900] * 3, 8192).suggested is None  # too few to say


def test_suggestion_is_p99_with_headroom_rounded_up():
    outs = list(range(1000, 2000, 10))  # 100 answers, p99 = 1980.1
    a = advise_max_tokens(outs, 8192)
    assert a.suggested == 2560  # 1980.1 * 1.25 = 2475.1, rounded up to a multiple of 256
    assert a.verdict is LimitVerdict.FAR_ABOVE and "far above need" in a.message and "2,560" in a.message
    assert advise_max_tokens(outs, 4096).verdict is LimitVerdict.FITS
    assert advise_max_tokens(outs, 2048).verdict is LimitVerdict.TIGHT


def test_cut_off_answers_ask_for_at_least_twice_the_limit_they_hit():
    a = advise_max_tokens([500] * 20, 1024, truncated_at=[1024, 1024])
    assert a.verdict is LimitVerdict.TRUNCATED and a.truncated == 2 and a.suggested == 2048
    assert "2 answer(s) were cut off" in a.message
    assert advise_max_tokens([], 60_000, truncated_at=[60_000]).suggested == gaia.limits.MAX_MAX_TOKENS


def test_the_ledger_kind_for_a_cut_off_answer_is_the_recorders():
    assert TRUNCATED_KIND == ErrorKind.MAX_TOKENS


def _record(ledger, run_id, n, status, output, *, prompt_hash="p1", model="m1", error_kind=None):
    ids = ledger.add_standard_requests(run_id, [
        RequestIntent(rel_path=f"{status}-{output}-{i}.mp4", custom_id=f"{status}{output}x{i}", set_id="s",
                      timestamps=(), prompt_hash=prompt_hash, model=model) for i in range(n)])
    for rid in ids:
        ledger.finish_request(rid, status, usage={"input_tokens": 10, "output_tokens": output}, cost_usd=0.01,
                              error_kind=error_kind)


def test_advice_from_a_folders_ledger_counts_only_this_prompt_and_model(tmp_path):
    f = gaia.Folder(tmp_path)
    with f.ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model="m1", prompt_hash="p1", settings={})
        _record(ledger, run_id, 12, "succeeded", 1000)
        _record(ledger, run_id, 1, "failed", 2000, error_kind=ErrorKind.MAX_TOKENS)
        _record(ledger, run_id, 5, "succeeded", 9000, prompt_hash="other")
        _record(ledger, run_id, 5, "succeeded", 9000, model="m2")
    a = max_tokens_advice(f, "p1", "m1", 2000)
    assert (a.answers, a.longest, a.truncated, a.truncated_at) == (12, 1000, 1, 2000)
    assert a.verdict is LimitVerdict.TRUNCATED and a.suggested == 4096
    assert max_tokens_advice(tmp_path / "empty", "p1", "m1", 2000).verdict is LimitVerdict.NO_HISTORY
