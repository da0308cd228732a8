"""How long answers run (``gaia.pricing.output``): output per video from the schema's shape, thinking,
max_tokens and history; the max_tokens advice from past answers.
"""

from __future__ import annotations

import math

import pytest

import gaia
from gaia.ledger import RequestIntent
from gaia.pricing.bill import history
from gaia.pricing.output import (
    TRUNCATED_KIND,
    LimitVerdict,
    advise_max_tokens,
    frames_line,
    from_history,
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


def _record(ledger, run_id, n, status, output, *, prompt_hash="p1", model="m1", error_kind=None, frames=0):
    ids = ledger.add_standard_requests(run_id, [
        RequestIntent(rel_path=f"{status}-{output}-{i}.mp4", custom_id=f"{status}{output}x{i}", set_id="s",
                      timestamps=tuple(float(t) for t in range(frames)), prompt_hash=prompt_hash, model=model)
        for i in range(n)])
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


# --- the frames sent: answers describe what they are shown ------------------------------------------------

PILOT = [(1, 300), (4, 560), (6, 790)]  # (frames sent, output tokens): longer with more frames


def test_the_estimate_follows_the_frames_the_videos_to_send_show() -> None:
    frames, outs = [f for f, _o in PILOT], [o for _f, o in PILOT]
    mean = sum(outs) / 3
    more = from_history(outs, remaining=4, frames=frames, to_send=[6, 6, 6, 6])
    fewer = from_history(outs, remaining=4, frames=frames, to_send=[1, 1, 1, 1])
    line = frames_line(outs, frames)
    assert line is not None and 80 < line.slope < 100 and line.mean_frames == pytest.approx(11 / 3)
    assert more.frames_gap == pytest.approx(6 - 11 / 3) and more.per_frame == pytest.approx(line.slope)
    assert more.point == pytest.approx(mean + line.slope * (6 - 11 / 3))
    assert fewer.point == pytest.approx(mean + line.slope * (1 - 11 / 3))
    assert fewer.point < mean < more.point and more.low < more.point < more.high
    # the slope's uncertainty widens the range beyond the plain mean's
    plain = from_history(outs, remaining=4)
    assert more.high - more.low > plain.high - plain.low
    assert "more frame(s) each on average" in more.describe()
    assert more.to_dict()["per_frame_tokens"] == pytest.approx(line.slope)
    # videos that show as many frames as the answers did: the mean, and the plain range
    same = from_history(outs, remaining=3, frames=frames, to_send=[1, 4, 6])
    assert same.point == pytest.approx(mean) and same.low == pytest.approx(from_history(outs, remaining=3).low)


def test_the_frames_are_used_only_where_the_answers_tell() -> None:
    outs = [300, 560, 790]
    plain = from_history(outs, remaining=5)
    for frames in ([6, 6, 6], [1, 6], [1, 4]):  # one frame count; or too few answers, or not one per answer
        got = from_history(outs if len(frames) == 3 else outs[:2], remaining=5, frames=frames, to_send=[9] * 5)
        assert got.per_frame == 0.0
    assert from_history(outs, remaining=5, frames=[6, 6, 6], to_send=[9] * 5) == plain
    assert frames_line(outs, [6, 6, 6]) is None and frames_line(outs[:2], [1, 6]) is None
    # shorter with more frames: no slope (a longer view never makes a shorter answer expected)
    assert frames_line([790, 560, 300], [1, 4, 6]).slope == 0.0  # type: ignore[union-attr]
    assert from_history([790, 560, 300], remaining=5, frames=[1, 4, 6], to_send=[9] * 5).point == plain.point
    # no line at all in the answers (F <= 1): no slope
    assert frames_line([500, 700, 520], [1, 4, 6]).slope == 0.0  # type: ignore[union-attr]
    # at most in proportion to the frames: a pilot of perfectly proportional answers scales, never faster
    steep = frames_line([100, 1000, 1010], [1, 2, 3])
    assert steep is not None and steep.slope <= (2110 / 3) / 2
    # and output_estimate, what every estimate calls, passes the frames on
    assert output_estimate(outs, remaining=4, frames=[1, 4, 6], to_send=[6] * 4).point > plain.point


def _simulated(world, rng, pilot: int = 3, rest: int = 7) -> tuple[float, float, float, bool, bool]:
    """One pilot and its rest in ``world`` (frames → output): the rest's true mean, the estimate with and
    without the frames, and whether each range holds the true mean."""
    px = [rng.randint(1, 6) for _ in range(pilot)]
    rx = [rng.randint(1, 6) for _ in range(rest)]
    py, ry = [world(x) for x in px], [world(x) for x in rx]
    true = sum(ry) / rest
    with_frames = from_history(py, remaining=rest, frames=px, to_send=rx)
    plain = from_history(py, remaining=rest)
    return (true, with_frames.point, plain.point, with_frames.low <= true <= with_frames.high,
            plain.low <= true <= plain.high)


@pytest.mark.parametrize(("kind", "ratio"), [("unrelated", 1.15), ("linear", 0.85), ("saturating", 1.0)])
def test_pilots_simulated_the_frames_help_where_length_follows_them_and_barely_cost_where_not(kind: str,
                                                                                              ratio: float) -> None:
    """Negative and positive controls over 3,000 simulated 3-video pilots (frames 1 to 6, answers spread 15%
    between videos): where the length is unrelated to the frames, the error is at most 15% above the plain mean's
    (the shrunk slope costs little: about 9% measured); where it grows in proportion to them it is at least 15%
    smaller (about 20%); where it grows ever more slowly, no worse (about 6% better). The range holds the truth
    at least as often as the plain one, and in at least 85% of pilots (a 90% range)."""
    import random

    rng = random.Random(7)
    errors_frames, errors_plain, held_frames, held_plain = [], [], 0, 0
    for _ in range(3000):
        base = rng.uniform(300, 1000)

        def world(x: int, base: float = base) -> float:
            noise = rng.gauss(0, 0.15 * base)
            if kind == "unrelated":
                return base + noise
            if kind == "linear":
                return 0.4 * base + 0.12 * base * x + noise
            return 0.3 * base + 0.7 * base * math.sqrt(x / 6) + noise

        true, got, plain, held_f, held_p = _simulated(world, rng)
        errors_frames.append(abs(got - true) / true)
        errors_plain.append(abs(plain - true) / true)
        held_frames += held_f
        held_plain += held_p
    mean_f, mean_p = sum(errors_frames) / 3000, sum(errors_plain) / 3000
    assert mean_f <= ratio * mean_p, (mean_f, mean_p)
    assert held_frames >= held_plain and held_frames >= 0.85 * 3000, (held_frames, held_plain)


def test_history_carries_the_frames_each_answer_was_sent(tmp_path) -> None:
    f = gaia.Folder(tmp_path)
    with f.ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model="m1", prompt_hash="p1", settings={})
        _record(ledger, run_id, 2, "succeeded", 300, frames=1)
        _record(ledger, run_id, 1, "succeeded", 790, frames=6)
        _record(ledger, run_id, 1, "failed", 2000, error_kind=ErrorKind.MAX_TOKENS, frames=6)  # cut off: left out
    h = history(f, "p1", "m1")
    assert sorted(zip(h.output_frames, h.output_tokens, strict=True)) == [(1, 300), (1, 300), (6, 790)]
    assert h.cut_off == (2000,)
    assert h.merged(h).output_frames == h.output_frames * 2
    # answers whose frames are not known (an older or damaged record) leave the frames out, not wrong
    with f.ledger() as ledger:
        ledger._conn.execute("UPDATE requests SET timestamps_json = 'not json' WHERE id = 1")
    h2 = history(f, "p1", "m1")
    assert len(h2.output_tokens) == 3 and h2.output_frames == ()
    assert h2.merged(h).output_frames == ()
