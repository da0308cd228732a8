"""Cost: the bill check, the four scenarios against hand-computed values, tiers, caching rules, actual cost."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gaia.facts import model_facts
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.pricing.cost import (
    SCENARIOS,
    BillCsvError,
    History,
    TokenCounts,
    actual_cost,
    bill,
    budget,
    compare_models,
    compare_to_estimate,
    estimate_run,
    read_bill_csv,
    usage_cost,
    what_if,
)
from gaia.pricing.tokens import PromptTokens
from gaia.settings import KeyframeSettings, Selection

PRODUCTION = {"input": 365_624, "cache_write_1h": 106_920, "cache_read": 416_988, "output": 611_412}


def cents(x: float) -> float:
    return round(x + 1e-12, 2)


class Profile:
    """A stand-in for gaia.prompts.PromptProfile (only the fields the estimate reads)."""

    def __init__(self, system: str = "You describe videos. " * 100, schema: dict | None = None,
                 instruction: str = "Describe this video.") -> None:
        self.system = system
        self.schema = schema or {"type": "object", "properties": {"summary": {"type": "string"}}}
        self.instruction = instruction
        self.hash = str(abs(hash((system, instruction))))


def kset(rel: str, sizes: list[tuple[int, int]], model: str = "claude-sonnet-4-5") -> KeyframeSet:
    frames = tuple(Keyframe(float(i), Path(f"/x/{rel}-{i}.jpg"), w, h, 10_000, 0) for i, (w, h) in enumerate(sizes))
    return KeyframeSet(Path(f"/x/{rel}"), rel, KeyframeSettings(), model, "id-" + rel, frames)


TEXT = PromptTokens(model="claude-sonnet-4-5", system=1000, schema=500, instruction=50, label=10, exact=True,
                    source="count_tokens")


# --- bill check ---------------------------------------------------------------------------------------


def test_production_bill_batch_and_caching_exact_cents() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    bc = b.scenario("batch_caching").cost
    assert [cents(bc.input_usd), cents(bc.cache_write_1h_usd), cents(bc.cache_read_usd), cents(bc.output_usd),
            cents(bc.total_usd)] == [0.55, 0.32, 0.06, 4.59, 5.52]
    assert bc.total_usd == pytest.approx(0.548436 + 0.32076 + 0.0625482 + 4.58559)
    assert bc.total_tokens == 1_500_944


def test_production_bill_other_scenarios() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    prompt = 365_624 + 106_920 + 416_988
    assert b.scenario("standard").total_usd == pytest.approx(prompt * 3e-6 + 611_412 * 15e-6)  # 11.84
    assert cents(b.scenario("standard").total_usd) == 11.84
    assert cents(b.scenario("caching").total_usd) == 11.03
    assert cents(b.scenario("batch").total_usd) == 5.92
    assert b.scenario("batch_caching").saving_pct == pytest.approx(100 * (1 - 5.5173342 / 11.839776), rel=1e-6)
    # Output is 83% of the cost, as the issue says.
    assert b.scenario("batch_caching").cost.shares()["output"] == pytest.approx(0.831, abs=0.001)
    assert b.prices_as_of


# --- usage_cost --------------------------------------------------------------------------------------


def test_usage_cost_reads_sdk_shape_with_ttl_split() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 500, "cache_creation_input_tokens": 3000,
             "cache_read_input_tokens": 10_000,
             "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000}}
    c = usage_cost(usage, "claude-sonnet-4-5", batch=False)
    assert (c.cache_write_5m_tokens, c.cache_write_1h_tokens) == (1000, 2000)
    assert c.total_usd == pytest.approx(1000 * 3e-6 + 1000 * 3.75e-6 + 2000 * 6e-6 + 10_000 * 0.3e-6 + 500 * 15e-6)
    cb = usage_cost(usage, "claude-sonnet-4-5", batch=True)
    assert cb.total_usd == pytest.approx(c.total_usd / 2)


def test_usage_cost_without_split_counts_writes_as_5m_and_accepts_objects() -> None:
    class U:
        input_tokens = 10
        output_tokens = 20
        cache_creation_input_tokens = 4000
        cache_read_input_tokens = 0
        cache_creation = None

    c = usage_cost(U(), "claude-haiku-4-5", batch=False)
    assert (c.cache_write_5m_tokens, c.cache_write_1h_tokens) == (4000, 0)
    assert c.cache_write_5m_usd == pytest.approx(4000 * 1.25e-6)


def test_haiku_5_5_length_tiers() -> None:
    f = model_facts("claude-haiku-5-5")
    assert f.long_context_threshold == 100_000
    short = usage_cost({"input_tokens": 60_000, "cache_read_input_tokens": 40_000, "output_tokens": 1000},
                       "claude-haiku-5-5", batch=False)
    assert short.long_context_requests == 0
    assert short.total_usd == pytest.approx(60_000 * 0.10e-6 + 40_000 * 0.01e-6 + 1000 * 0.50e-6)
    long = usage_cost({"input_tokens": 60_000, "cache_read_input_tokens": 40_001, "output_tokens": 1000},
                      "claude-haiku-5-5", batch=False)
    assert long.long_context_requests == 1
    assert long.total_usd == pytest.approx(60_000 * 0.50e-6 + 40_001 * 0.05e-6 + 1000 * 2.50e-6)
    # Cache writes count toward the prompt too, and the 1h write is 2x of the long-tier input.
    w = usage_cost({"input_tokens": 1, "cache_creation_input_tokens": 100_000, "output_tokens": 0,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 100_000}},
                   "claude-haiku-5-5", batch=True)
    assert w.cache_write_1h_usd == pytest.approx(100_000 * 1.00e-6 * 0.5)


def test_opus_5_5_reads_at_0_05x_and_fable_5_1_at_0_025x() -> None:
    opus = usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-opus-5-5", batch=False)
    assert opus.total_usd == pytest.approx(0.20)
    assert usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-opus-5-5", batch=True).total_usd == \
        pytest.approx(0.10)
    fable = usage_cost({"cache_read_input_tokens": 1_000_000}, "claude-fable-5-1", batch=False)
    assert fable.total_usd == pytest.approx(0.25)


# --- estimate: the four scenarios by hand ------------------------------------------------------------


def test_four_scenarios_against_hand_computed_values() -> None:
    # Two videos, two 784x448 frames each: 28 x 16 = 448 tokens per frame on any tier.
    sets = [kset("a.mp4", [(784, 448)] * 2), kset("b.mp4", [(784, 448)] * 2)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), cache_ttl="1h", text_tokens=TEXT,
                       output_tokens_default=1000)
    assert est.videos == 2 and est.frames == 4 and est.image_tokens == 4 * 448
    static = 2 * 448 + 50 + 2 * 10  # images + instruction + labels = 966
    prompt = 1500 + static
    std = prompt * 3e-6 + 1000 * 15e-6
    # Outside a batch: the first request writes, the second reads (share (n-1)/n = 0.5).
    cache = static * 3e-6 + 1500 * 0.5 * 6e-6 + 1500 * 0.5 * 0.3e-6 + 1000 * 15e-6
    # In a batch: the documented default share 0.64 reads, 0.36 writes, everything at half price.
    bc = static * 1.5e-6 + 1500 * 0.36 * 3e-6 + 1500 * 0.64 * 0.15e-6 + 1000 * 7.5e-6
    assert est.total_usd["standard"] == pytest.approx(2 * std)
    assert est.total_usd["caching"] == pytest.approx(2 * cache)
    assert est.total_usd["batch"] == pytest.approx(std)
    assert est.total_usd["batch_caching"] == pytest.approx(2 * bc)
    s = est.scenario("batch_caching")
    assert s.per_video_usd == pytest.approx(bc)
    assert s.saving_usd == pytest.approx(2 * std - 2 * bc)
    assert s.cost.cache_write_1h_tokens == pytest.approx(2 * 1500 * 0.36)
    assert s.cost.cache_read_tokens == pytest.approx(2 * 1500 * 0.64)
    assert s.cost.cache_write_5m_tokens == 0
    # The range: p10 output with 98% hits .. p90 output with 30% hits.
    lo = 2 * (static * 1.5e-6 + 1500 * 0.02 * 3e-6 + 1500 * 0.98 * 0.15e-6 + 500 * 7.5e-6)
    hi = 2 * (static * 1.5e-6 + 1500 * 0.70 * 3e-6 + 1500 * 0.30 * 0.15e-6 + 1500 * 7.5e-6)
    assert (s.low_usd, s.high_usd) == (pytest.approx(lo), pytest.approx(hi))
    # The other TTL is priced too: 5m writes at 1.25x.
    bc5 = static * 1.5e-6 + 1500 * 0.36 * 1.875e-6 + 1500 * 0.64 * 0.15e-6 + 1000 * 7.5e-6
    assert est.ttl_totals["5m"] == pytest.approx(2 * bc5)
    assert est.prices_as_of == model_facts("claude-sonnet-4-5").as_of
    # Where the money goes adds up to the total.
    assert sum(est.money["batch_caching"].values()) == pytest.approx(est.total_usd["batch_caching"])
    assert {e.key for e in est.explanations} >= {"money", "caching", "batch", "lever"}


def test_minimum_cacheable_prefix_rule() -> None:
    sets = [kset("a.mp4", [(784, 448)])]
    short = PromptTokens("x", 1000, 23, 10, 5, True, "count_tokens")  # 1,023 < 1,024 for Sonnet 4.5
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=short)
    assert not est.cache.caches
    assert "Caching will do nothing" in est.cache.message
    assert est.total_usd["caching"] == pytest.approx(est.total_usd["standard"])
    assert est.total_usd["batch_caching"] == pytest.approx(est.total_usd["batch"])
    enough = PromptTokens("x", 1000, 24, 10, 5, True, "count_tokens")  # exactly 1,024
    assert estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=enough).cache.caches
    # Haiku 4.5 needs 4,096: the same prefix does nothing there.
    assert not estimate_run(sets, model="claude-haiku-4-5", profile=Profile(), text_tokens=enough).cache.caches


def test_selection_excludes_videos_and_frames() -> None:
    sets = [kset("a.mp4", [(784, 448)] * 3), kset("b.mp4", [(784, 448)] * 3),
            KeyframeSet(Path("/x/c.mp4"), "c.mp4", KeyframeSettings(), "m", "", problem="not extracted yet")]
    sel = Selection(frozenset({"b.mp4"}), {"a.mp4": frozenset({0.0})})
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT, selection=sel)
    assert est.videos == 1 and est.frames == 2
    assert dict(est.skipped) == {"b.mp4": "excluded", "c.mp4": "not extracted yet"}
    assert any("no keyframes yet" in n for n in est.notes)


def test_frames_priced_with_the_target_models_resize_rule() -> None:
    # A frame extracted for the 2576-px tier is downscaled by a 1568-px model before it is counted.
    sets = [kset("a.mp4", [(2576, 1449)])]
    hi = estimate_run(sets, model="claude-sonnet-5-5", profile=Profile(), text_tokens=TEXT)
    lo = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT)
    assert hi.image_tokens == 92 * 52  # unchanged: within the high tier (4,784 max)
    assert lo.image_tokens <= 1568 < hi.image_tokens


def test_history_drives_output_and_cache_share() -> None:
    sets = [kset("a.mp4", [(784, 448)])]
    h = History(output_tokens=(100, 200, 300, 400, 500), cache_read_shares=(0.9,))
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT, history=h)
    assert est.output.source == "history" and est.output.median == 300
    assert est.output.low == pytest.approx(140) and est.output.high == pytest.approx(460)
    assert est.cache.read_share_batch == 0.9 and est.cache.read_share_source == "history"


def test_history_from_usages() -> None:
    usages = [{"output_tokens": 10, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 0},
              {"output_tokens": 30, "cache_read_input_tokens": 1500},
              {"output_tokens": 20, "cache_read_input_tokens": 1500}]
    h = History.from_usages(usages, model="claude-sonnet-4-5")
    assert h.output_tokens == (10, 30, 20)
    assert h.cache_read_shares == (pytest.approx(2 / 3),)


# --- estimate against actual ---------------------------------------------------------------------------


def test_estimate_against_actual_on_synthetic_usage() -> None:
    sets = [kset(f"v{i}.mp4", [(784, 448)] * 2) for i in range(4)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT,
                       output_tokens_default=1000)
    static = 2 * 448 + 50 + 20
    # What came back: the first request wrote the 1h cache, the others read it; answers 10% longer.
    usages = []
    for i in range(4):
        u = {"input_tokens": static, "output_tokens": 1100, "cache_read_input_tokens": 1500 if i else 0,
             "cache_creation_input_tokens": 0 if i else 1500,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0 if i else 1500}}
        usages.append((f"v{i}.mp4", u))
    act = actual_cost(usages, "claude-sonnet-4-5", batch=True)
    expected_actual = 4 * (static * 1.5e-6 + 1100 * 7.5e-6) + 1500 * 3e-6 + 3 * 1500 * 0.15e-6
    assert act.total.total_usd == pytest.approx(expected_actual)
    check = compare_to_estimate(est, act)
    assert check.actual_usd == pytest.approx(expected_actual)
    assert check.estimated_usd == pytest.approx(est.total_usd["batch_caching"])
    assert check.error_pct == pytest.approx(100 * (check.estimated_usd - expected_actual) / expected_actual)
    assert check.by_type["output"]["error_pct"] == pytest.approx(100 * (1000 - 1100) / 1100)
    assert set(check.per_video) == {f"v{i}.mp4" for i in range(4)}
    # The estimate learns: the history of these results gives the next estimate's output tokens.
    h = History.from_usages([u for _, u in usages])
    est2 = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT, history=h)
    assert est2.output.median == 1100
    assert est2.cache.read_share_batch == pytest.approx(0.75)


# --- CSV bills ----------------------------------------------------------------------------------------


def test_csv_bill_import_sums_rows_per_model() -> None:
    text = ("date,model,input_tokens,cache_write_5m_tokens,cache_write_1h_tokens,cache_read_tokens,output_tokens\n"
            "2026-10-01,claude-sonnet-4-5,\"300,000\",0,100000,400000,600000\n"
            "2026-10-02,claude-sonnet-4-5,65624,0,6920,16988,11412\n"
            "2026-10-02,claude-haiku-4-5,1000,0,0,0,1000\n")
    bills = read_bill_csv(io.StringIO(text))
    by_model = {b.model: b for b in bills}
    son = by_model["claude-sonnet-4-5"]
    assert son.tokens == TokenCounts(365_624, 0, 106_920, 416_988, 611_412)
    assert cents(son.scenario("batch_caching").total_usd) == 5.52
    assert son.label == "2026-10-01 to 2026-10-02"
    per_row = read_bill_csv(io.StringIO(text), per_row=True)
    assert len(per_row) == 3


def test_csv_bill_admin_api_column_names_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "usage.csv"
    p.write_text("model,uncached_input_tokens,cache_creation.ephemeral_1h_input_tokens,cache_read_input_tokens,"
                 "output_tokens\nclaude-sonnet-4-5,365624,106920,416988,611412\n")
    (b,) = read_bill_csv(p)
    assert cents(b.scenario("batch_caching").total_usd) == 5.52
    bad = tmp_path / "bad.csv"
    bad.write_text("model,output_tokens\nclaude-unknown-9,5\n")
    with pytest.raises(BillCsvError, match="unknown model"):
        read_bill_csv(bad)
    with pytest.raises(BillCsvError, match="no token columns"):
        read_bill_csv(io.StringIO("model,foo\nclaude-sonnet-4-5,1\n"))
    with pytest.raises(BillCsvError, match="not a token count"):
        read_bill_csv(io.StringIO("model,output_tokens\nclaude-sonnet-4-5,lots\n"))


# --- model comparison, what-if, budget -------------------------------------------------------------


def test_compare_models_haiku_5_5_is_about_a_thirtieth_of_sonnet_4_5() -> None:
    sets = [kset(f"v{i}.mp4", [(1280, 720)] * 6, model="claude-sonnet-5-5") for i in range(3)]
    rows = compare_models(sets, profile=Profile(), reference_model="claude-sonnet-4-5", output_tokens_default=1000)
    by = {r.model: r for r in rows}
    assert {"claude-haiku-5-5", "claude-sonnet-4-5", "claude-opus-5-5"} <= set(by)
    assert by["claude-sonnet-4-5"].relative == pytest.approx(1.0)
    # Input $0.10 vs $3 and output $0.50 vs $15: 1/30 at list prices (text tokens differ a little).
    assert 1 / 40 < by["claude-haiku-5-5"].relative < 1 / 20
    assert rows == sorted(rows, key=lambda r: r.usd["batch_caching"])
    assert by["claude-sonnet-4-5"].max_edge == 1568 and by["claude-sonnet-5-5"].max_edge == 2576
    assert by["claude-haiku-4-5"].min_cacheable == 4096


def test_what_if_and_budget() -> None:
    sets = [kset(f"v{i}.mp4", [(1568, 882)] * 4) for i in range(5)]
    sizes = {f"v{i}.mp4": (1920, 1080) for i in range(5)}
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT,
                       output_tokens_default=500)
    pts = what_if(est, sets, frame_counts=(1, 2, 4, 8), max_edges=(512, 1024, 1568), source_sizes=sizes)
    assert len(pts) == 12
    grid = {(p.frames, p.max_edge): p.usd["batch_caching"] for p in pts}
    assert grid[(4, 1568)] == pytest.approx(est.total_usd["batch_caching"], rel=0.01)
    assert grid[(1, 512)] < grid[(2, 512)] < grid[(2, 1024)] < grid[(8, 1568)]
    limit = (grid[(4, 1024)] + grid[(8, 1024)]) / 2
    res = budget(limit, est, sets, points=pts)
    assert res.best is not None and res.best.usd["batch_caching"] <= limit
    assert all(p.image_tokens_per_video <= res.best.image_tokens_per_video for p in res.options)
    none = budget(0.0001, est, sets, points=pts)
    assert none.best is None and "Nothing fits" in none.message


def test_scenarios_order_and_json() -> None:
    est = estimate_run([kset("a.mp4", [(784, 448)])], model="claude-sonnet-4-5", profile=Profile(), text_tokens=TEXT)
    assert tuple(s.key for s in est.scenarios) == SCENARIOS
    d = est.to_dict()
    assert d["prices_as_of"] and d["scenarios"][3]["label"] == "Batch API + caching"
    import json

    json.dumps(d)


def test_production_bill_explains_itself() -> None:
    b = bill(PRODUCTION, "claude-sonnet-4-5")
    text = {e.key: e.text for e in b.explanations}
    assert "output 83% ($4.59)" in text["money"]
    # The cached system prompt is over half of the input tokens, and 80% of it was read back.
    assert "59% of the input tokens (523,908 of 889,532)" in text["caching"]
    assert "80% of it was read back" in text["caching"]
    saving = next(e for e in b.explanations if e.key == "caching").usd
    assert saving == pytest.approx(b.scenario("batch").total_usd - b.scenario("batch_caching").total_usd)
    assert next(e for e in b.explanations if e.key == "lever").usd == pytest.approx(4.58559 / 2)


def test_haiku_5_5_long_requests_in_an_estimate_use_the_long_tier() -> None:
    # 22 frames of 2576x1449 (4,784 tokens each on the high tier) make a prompt over 100,000 tokens.
    big = kset("big.mp4", [(2576, 1449)] * 22, model="claude-haiku-5-5")
    small = kset("small.mp4", [(784, 448)] * 2, model="claude-haiku-5-5")
    text = PromptTokens("claude-haiku-5-5", 400, 200, 50, 10, True, "count_tokens")
    est = estimate_run([big, small], model="claude-haiku-5-5", profile=Profile(), text_tokens=text,
                       output_tokens_default=1000)
    rows = {v.rel_path: v for v in est.per_video}
    assert rows["big.mp4"].long_context and not rows["small.mp4"].long_context
    prompt_big = 600 + 22 * 4784 + 50 + 220
    assert rows["big.mp4"].prompt_tokens == prompt_big
    assert rows["big.mp4"].usd[0] == pytest.approx(prompt_big * 0.50e-6 + 1000 * 2.50e-6)
    prompt_small = 600 + 2 * 448 + 50 + 20
    assert rows["small.mp4"].usd[0] == pytest.approx(prompt_small * 0.10e-6 + 1000 * 0.50e-6)
    assert est.scenario("standard").cost.long_context_requests == 1
    assert est.total_usd["standard"] == pytest.approx(rows["big.mp4"].usd[0] + rows["small.mp4"].usd[0])


def test_bill_long_context_flag_prices_the_long_tier() -> None:
    b = bill({"input": 1_000_000, "output": 1_000_000}, "claude-haiku-5-5", long_context=True)
    assert b.scenario("standard").total_usd == pytest.approx(0.50 + 2.50)
    assert b.scenario("batch").total_usd == pytest.approx((0.50 + 2.50) / 2)
    plain = bill({"input": 1_000_000, "output": 1_000_000}, "claude-haiku-5-5")
    assert plain.scenario("standard").total_usd == pytest.approx(0.60)
    assert any("100,000" in n for n in plain.notes)
