"""The one estimate (``gaia.pricing.estimate``): the four scenarios against hand-computed values, caching
rules, selection, tiers, history; explanations whose figures match the numbers; what it reads
from a folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gaia.facts import model_facts
from gaia.folder import Folder
from gaia.format import pct, usd
from gaia.media.keyframes import KeyframeSet
from gaia.media.scan import scan_folder
from gaia.pricing.bill import CacheGroup, History
from gaia.pricing.estimate import estimate_run, load_run_inputs
from gaia.pricing.models import SCENARIOS
from gaia.pricing.tokens import PromptTokens
from gaia.settings import KeyframeSettings, Selection
from tests.pricing.helpers import TEXT, kset, profile


def test_four_scenarios_against_hand_computed_values() -> None:
    # Two videos, two 784x448 frames each: 28 x 16 = 448 tokens per frame on any tier.
    sets = [kset("a.mp4", [(784, 448)] * 2), kset("b.mp4", [(784, 448)] * 2)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), cache_ttl="1h", text_tokens=TEXT,
                       output_tokens_default=1000)
    assert est.videos == 2 and est.frames == 4 and est.image_tokens == 4 * 448
    static = 2 * 448 + 50 + 2 * 10  # images + instruction + labels = 966
    prompt = 1500 + static
    std = prompt * 3e-6 + 1000 * 15e-6
    # Outside a batch: the first request writes, the second reads (share (n-1)/n = 0.5).
    cache = static * 3e-6 + 1500 * 0.5 * 6e-6 + 1500 * 0.5 * 0.3e-6 + 1000 * 15e-6
    # In a batch: the first request writes (cold cache), the second reads with the default chance 0.80,
    # so 0.4 of the prefix reads and 0.6 writes per request, everything at half price.
    bc = static * 1.5e-6 + 1500 * 0.6 * 3e-6 + 1500 * 0.4 * 0.15e-6 + 1000 * 7.5e-6
    assert est.total_usd["standard"] == pytest.approx(2 * std)
    assert est.total_usd["caching"] == pytest.approx(2 * cache)
    assert est.total_usd["batch"] == pytest.approx(std)
    assert est.total_usd["batch_caching"] == pytest.approx(2 * bc)
    s = est.scenario("batch_caching")
    assert s.per_video_usd == pytest.approx(bc)
    assert s.saving_usd == pytest.approx(2 * std - 2 * bc)
    assert s.cost.cache_write_1h_tokens == pytest.approx(2 * 1500 * 0.6)
    assert s.cost.cache_read_tokens == pytest.approx(2 * 1500 * 0.4)
    assert s.cost.cache_write_5m_tokens == 0

    # The range: the output's ends (0.6x and 1.8x of 1,000) and the hit chance's ends (98% and 30%, after
    # the first writer: 0.49 and 0.15 of the run), independent, so combined in quadrature.
    def run(out: float, read: float) -> float:
        return 2 * (static * 1.5e-6 + 1500 * (1 - read) * 3e-6 + 1500 * read * 0.15e-6 + out * 7.5e-6)

    mid = run(1000, 0.4)
    lo = mid - math.hypot(mid - run(600, 0.4), mid - run(1000, 0.49))
    hi = mid + math.hypot(run(1800, 0.4) - mid, run(1000, 0.15) - mid)
    assert (s.low_usd, s.high_usd) == (pytest.approx(lo), pytest.approx(hi))
    assert run(600, 0.49) < s.low_usd and s.high_usd < run(1800, 0.15)  # no sum of extremes
    # The other TTL is priced too: 5m writes at 1.25x.
    bc5 = static * 1.5e-6 + 1500 * 0.6 * 1.875e-6 + 1500 * 0.4 * 0.15e-6 + 1000 * 7.5e-6
    assert est.ttl_totals["5m"] == pytest.approx(2 * bc5)
    assert est.prices_as_of == model_facts("claude-sonnet-4-5").as_of
    # Where the money goes adds up to the total.
    assert sum(est.money["batch_caching"].values()) == pytest.approx(est.total_usd["batch_caching"])
    assert {e.key for e in est.explanations} >= {"money", "caching", "batch", "lever"}


def test_minimum_cacheable_prefix_rule() -> None:
    sets = [kset("a.mp4", [(784, 448)])]
    short = PromptTokens("x", 1000, 23, 10, 5, True, "count_tokens")  # 1,023 < 1,024 for Sonnet 4.5
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=short)
    assert not est.cache.caches
    assert "Caching will do nothing" in est.cache.message
    assert est.total_usd["caching"] == pytest.approx(est.total_usd["standard"])
    assert est.total_usd["batch_caching"] == pytest.approx(est.total_usd["batch"])
    enough = PromptTokens("x", 1000, 24, 10, 5, True, "count_tokens")  # exactly 1,024
    assert estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=enough).cache.caches
    # Haiku 4.5 needs 4,096: the same prefix does nothing there.
    assert not estimate_run(sets, model="claude-haiku-4-5", profile=profile(), text_tokens=enough).cache.caches


def test_selection_excludes_videos_and_frames() -> None:
    sets = [kset("a.mp4", [(784, 448)] * 3), kset("b.mp4", [(784, 448)] * 3),
            KeyframeSet(Path("/x/c.mp4"), "c.mp4", KeyframeSettings(), "m", "", problem="not extracted yet")]
    sel = Selection(frozenset({"b.mp4"}), {"a.mp4": frozenset({0.0})})
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT, selection=sel)
    assert est.videos == 1 and est.frames == 2
    assert dict(est.skipped) == {"b.mp4": "excluded", "c.mp4": "not extracted yet"}
    assert any("no keyframes yet" in n for n in est.notes)


def test_frames_priced_with_the_target_models_resize_rule() -> None:
    # A frame extracted for the 2576-px tier is downscaled by a 1568-px model before it is counted.
    sets = [kset("a.mp4", [(2576, 1449)])]
    hi = estimate_run(sets, model="claude-sonnet-5-5", profile=profile(), text_tokens=TEXT)
    lo = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT)
    assert hi.image_tokens == 92 * 52  # unchanged: within the high tier (4,784 max)
    assert lo.image_tokens <= 1568 < hi.image_tokens


def test_history_drives_output_and_cache_share() -> None:
    sets = [kset("a.mp4", [(784, 448)])]
    # A batch of 11: one wrote, the 10 after it read.
    g = CacheGroup(batch=True, requests=11, reads=10, writes=1, share=10 / 11, ttl="1h")
    h = History(output_tokens=(100, 200, 300, 400, 500), cache_groups=(g,))
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT, history=h)
    # The mean predicts a total; the range is the mean's uncertainty for the one video left.
    half = 1.645 * math.sqrt(25_000) * math.sqrt(1 / 5 + 1 / 1)
    assert est.output.source == "history" and est.output.median == 300 and est.output.samples == 5
    assert est.output.low == pytest.approx(300 - half) and est.output.high == pytest.approx(300 + half)
    share = est.assumptions.cache_read_share
    assert share.point == pytest.approx((10 + 4 * 0.8) / (10 + 4)) and share.source == "history"
    assert est.cache.read_share_batch == 0  # one video: the batch's only request writes the cold cache


def test_haiku_5_5_long_requests_in_an_estimate_use_the_long_tier() -> None:
    # 22 frames of 2576x1449 (4,784 tokens each on the high tier) make a prompt over 100,000 tokens.
    big = kset("big.mp4", [(2576, 1449)] * 22, model="claude-haiku-5-5")
    small = kset("small.mp4", [(784, 448)] * 2, model="claude-haiku-5-5")
    text = PromptTokens("claude-haiku-5-5", 400, 200, 50, 10, True, "count_tokens")
    est = estimate_run([big, small], model="claude-haiku-5-5", profile=profile(), text_tokens=text,
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


def test_per_video_costs_are_held_compactly_and_read_as_before() -> None:
    """Each video's cost is its group's (same image tokens and frames): one row a group, a number a video, and
    every way of reading it gives the records a list of them held."""
    import pickle

    from gaia.pricing.estimate import VideoCost

    names = [f"v{i:03d}.mp4" for i in range(300)]
    sets = [kset(n, [(784, 448)] * (2 + i % 3)) for i, n in enumerate(names)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT)
    rows = list(est.per_video)
    assert len(est.per_video) == 300 and [r.rel_path for r in rows] == names
    assert all(isinstance(r, VideoCost) for r in rows) and {r.frames for r in rows} == {2, 3, 4}
    assert rows[7] == est.per_video[7] == est.per_video[-293] and est.per_video[-1] == rows[-1]
    assert est.per_video[10:13] == rows[10:13] and est.per_video == tuple(rows)
    assert len(est.per_video._rows) == 3  # three groups, 300 videos
    total = sum(r.usd[SCENARIOS.index("standard")] for r in rows)
    assert total == pytest.approx(est.total_usd["standard"])
    assert pickle.loads(pickle.dumps(est.per_video)) == est.per_video
    assert [v["rel_path"] for v in est.to_dict()["per_video"]] == names
    with pytest.raises(IndexError):
        est.per_video[300]


def test_scenarios_order_and_json() -> None:
    est = estimate_run([kset("a.mp4", [(784, 448)])], model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT)
    assert tuple(s.key for s in est.scenarios) == SCENARIOS
    d = est.to_dict()
    assert d["prices_as_of"] and d["scenarios"][3]["label"] == "Batch API + caching"
    json.dumps(d)


def test_estimate_explanations_state_the_figures_as_gaia_format_writes_them() -> None:
    sets = [kset(f"v{i}.mp4", [(1568, 882)] * 6) for i in range(3)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT,
                       output_tokens_default=1000)
    text = {e.key: e.text for e in est.explanations}
    assert f"the run costs {usd(est.total_usd['batch_caching'])}:" in text["money"]
    batch_saving = est.total_usd["standard"] - est.total_usd["batch"]
    assert f"halves every token type: {usd(batch_saving)} less" in text["batch"]
    assert f"about {pct(est.cache.read_share_batch)} of requests read the cache" in text["caching"]
    lever = next(e for e in est.explanations if e.key == "lever")
    assert lever.usd is not None and lever.usd > 0 and f"would save {usd(lever.usd)}" in lever.text


def test_load_run_inputs_takes_a_folder_a_path_or_a_string(make_folder) -> None:
    root = make_folder({"a.mp4": "testsrc"})
    folder = Folder.of(root)
    folder.save_settings(folder.settings().with_keyframes(count=2))
    records = scan_folder(root).records
    by_folder = load_run_inputs(folder, records=records)
    assert by_folder == load_run_inputs(root, records=records) == load_run_inputs(str(root), records=records)
    assert by_folder.folder == folder.path and by_folder.model == folder.settings().model
    assert by_folder.settings.keyframes.count == 2
    assert [s.rel_path for s in by_folder.sets] == ["a.mp4"] and not by_folder.sets[0].frames  # not extracted yet
    w, h = by_folder.source_sizes["a.mp4"]
    assert w > 0 and h > 0
    # Nothing sent yet: an empty history, not an error.
    assert by_folder.history == History(model=by_folder.model, prompt_hash=by_folder.profile.hash)
    assert load_run_inputs(folder, records=records, model="claude-haiku-5-5", cache_ttl="5m").cache_ttl == "5m"


def test_a_damaged_ledger_leaves_the_estimate_on_its_defaults(make_folder) -> None:
    root = make_folder({"a.mp4": "testsrc"})
    folder = Folder.of(root)
    ledger = Path(folder.ledger_path)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"this is not a database")
    assert folder.has_ledger
    inp = load_run_inputs(folder, records=scan_folder(root).records)  # does not raise
    assert inp.history is None or (not inp.history.output_tokens and not inp.history.cache_read_shares)
