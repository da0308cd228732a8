"""A request's input tokens (``gaia.pricing.tokens``): the image formula from the docs' examples, resize
rules, text counts, and frame-size presets priced on a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gaia
from gaia.api.requests import SCHEMA_HEADER, output_config, system_blocks
from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.pricing.tokens import (
    approx_prompt_tokens,
    approx_text_tokens,
    clear_count_cache,
    frame_cost,
    frame_size_for_model,
    frame_tokens,
    preset_costs,
    prompt_tokens,
)
from gaia.prompts import default_profile


@pytest.mark.parametrize(("w", "h", "tokens"), [(1000, 1000, 1296), (1920, 1080, 2691), (28, 28, 1), (29, 28, 2)])
def test_image_formula_docs_examples(w: int, h: int, tokens: int) -> None:
    # Vision docs: visual tokens = ceil(w/28) x ceil(h/28), before any resizing rule.
    assert image_tokens(w, h) == tokens


def test_old_formula_is_within_five_percent_for_docs_sizes() -> None:
    for w, h in ((1000, 1000), (1092, 1092), (1568, 1568 * 9 // 16)):
        assert abs(image_tokens(w, h) - w * h / 750) / (w * h / 750) < 0.1


def test_resize_rule_per_model_tier() -> None:
    # 1920x1080 on a 1568-px model is downscaled first, then counted: never above the tier's cap.
    w, h = frame_size_for_model(1920, 1080, "claude-sonnet-4-5")
    assert max(w, h) <= 1568 and image_tokens(w, h) <= 1568
    assert frame_tokens(1920, 1080, "claude-sonnet-4-5") == image_tokens(w, h)
    # The same frame fits the 2576-px tier unchanged.
    assert frame_size_for_model(1920, 1080, "claude-sonnet-5-5") == (1920, 1080)
    assert frame_tokens(1920, 1080, "claude-sonnet-5-5") == 2691
    # A frame extracted at the high tier's full size is downscaled for a standard-tier model.
    big = frame_tokens(2576, 1449, "claude-opus-5-5")
    small = frame_tokens(2576, 1449, "claude-haiku-4-5")
    assert big == image_tokens(2576, 1449) <= model_facts("claude-opus-5-5").image_tier.max_tokens
    assert small <= 1568 < big
    # Never enlarged.
    assert fit_to_tier(640, 360, model_facts("claude-sonnet-5-5").image_tier) == (640, 360)


def test_approx_text_tokens_grows_with_newer_tokenizer() -> None:
    text = "A dog runs across the garden chasing a red ball. " * 20
    old = approx_text_tokens(text, "claude-sonnet-4-5")
    new = approx_text_tokens(text, "claude-sonnet-5-5")
    assert old == pytest.approx(len(text) / 3.5, abs=1)
    assert new == pytest.approx(old * 1.3, rel=0.01)
    assert approx_text_tokens("") == 0


def test_approx_prompt_tokens_is_labelled_approximate() -> None:
    p = default_profile()
    t = prompt_tokens(p, "claude-sonnet-4-5")
    assert not t.exact and t.source == "approximate" and "approximate" in t.note
    assert t.prefix == t.system + t.schema > 0
    assert t == approx_prompt_tokens(p, "claude-sonnet-4-5")


def test_exact_counts_through_count_tokens_are_cached(anthropic_client, tmp_path: Path) -> None:
    clear_count_cache()
    p = default_profile()
    calls = []
    real = anthropic_client.messages.count_tokens

    def counting(**kw):
        calls.append(kw)
        return real(**kw)

    anthropic_client.messages.count_tokens = counting
    cache_file = tmp_path / "counts.json"
    t = prompt_tokens(p, "claude-sonnet-4-6", client=anthropic_client, cache_file=cache_file)
    assert t.exact and t.source == "count_tokens"
    assert t.system > 0 and t.schema > 0 and t.instruction > 0
    n = len(calls)
    assert n > 0
    # Second call: from memory, no request.
    assert prompt_tokens(p, "claude-sonnet-4-6", client=anthropic_client) == t
    assert len(calls) == n
    # After clearing memory: from the cache file, no request.
    clear_count_cache()
    assert prompt_tokens(p, "claude-sonnet-4-6", client=anthropic_client, cache_file=cache_file) == t
    assert len(calls) == n
    assert f"{p.hash}|claude-sonnet-4-6|v2" in json.loads(cache_file.read_text())
    clear_count_cache()


def test_counts_kept_by_the_earlier_rule_are_not_reused(anthropic_client, tmp_path: Path) -> None:
    # An earlier GAIA kept the prefix without the structured-output schema under "hash|model".
    p = default_profile()
    cache_file = tmp_path / "counts.json"
    cache_file.write_text(json.dumps({f"{p.hash}|claude-sonnet-5-5": {"system": 1, "schema": 1, "instruction": 1,
                                                                       "label": 1}}))
    t = prompt_tokens(p, "claude-sonnet-5-5", client=anthropic_client, cache_file=cache_file)
    assert t.exact and t.prefix > 1000


def test_exact_prefix_counts_the_blocks_before_the_breakpoint(anthropic_client) -> None:
    # The prefix is counted on the request's own system blocks and structured-output schema: the same
    # request without them is exactly ``prefix`` tokens shorter.
    p = default_profile()
    model = "claude-sonnet-5-5"
    t = prompt_tokens(p, model, client=anthropic_client)
    msg = [{"role": "user", "content": "hello"}]
    bare = anthropic_client.messages.count_tokens(model=model, messages=msg).input_tokens
    full = anthropic_client.messages.count_tokens(model=model, messages=msg, system=system_blocks(p, "1h"),
                                                  output_config=output_config(p)).input_tokens
    assert full - bare == t.prefix
    # Without an API the schema still counts twice (text block and structured output), approximately.
    approx = approx_prompt_tokens(p, model)
    assert approx.schema > approx_text_tokens(SCHEMA_HEADER + p.schema_text, model)


def test_count_tokens_failure_falls_back_to_approximation() -> None:
    clear_count_cache()

    class Broken:
        class messages:
            @staticmethod
            def count_tokens(**kw):
                raise ConnectionError("no network")

    t = prompt_tokens(default_profile(), "claude-sonnet-4-5", client=Broken())
    assert not t.exact and "count_tokens failed" in t.note


SONNET = "claude-sonnet-5-5"  # high-resolution tier
HAIKU_45 = "claude-haiku-4-5"  # standard tier


def test_presets_on_full_hd_cost_what_the_pixel_rule_says():
    rows = {r.preset: r for r in preset_costs(SONNET, frames=6)}
    assert [(r.width, r.height, r.tokens_per_frame) for r in rows.values()] == [
        (512, 288, 209), (1024, 576, 777), (1568, 882, 1792)]
    f = model_facts(SONNET)
    for r in rows.values():
        # The model's own resize rule gives the same tokens for the frame GAIA would send.
        assert r.tokens_per_frame == frame_tokens(r.width, r.height, SONNET)
        # $ per video: the frames' tokens as uncached input at the Batch price.
        assert r.usd_per_video == pytest.approx(6 * r.tokens_per_frame * f.input * f.batch_discount / 1e6)
    assert rows["economy"].usd_per_video < rows["balanced"].usd_per_video < rows["detailed"].usd_per_video


def test_the_default_costs_far_less_than_the_models_full_size():
    full = frame_cost(SONNET, None, frames=6)
    balanced = next(r for r in preset_costs(SONNET, frames=6) if r.preset == gaia.limits.DEFAULT_FRAME_PRESET)
    assert full.tokens_per_frame == 2691
    assert balanced.tokens_per_frame * 3 < full.tokens_per_frame


def test_a_custom_edge_gets_its_own_row_and_a_preset_edge_does_not():
    assert [r.preset for r in preset_costs(SONNET, frames=6, current_edge=1024)] == ["economy", "balanced", "detailed"]
    rows = preset_costs(SONNET, frames=6, current_edge=None)
    assert rows[-1].preset == "custom" and rows[-1].max_edge is None and rows[-1].tokens_per_frame == 2691
    assert preset_costs(SONNET, frames=6, current_edge=800)[-1].width == 800


def test_a_standard_tier_model_and_a_small_video_shrink_or_keep_frames():
    detailed = preset_costs(HAIKU_45, frames=1)[-1]
    assert (detailed.width, detailed.height) == fit_to_tier(1920, 1080, model_facts(HAIKU_45).image_tier)
    assert detailed.tokens_per_frame <= model_facts(HAIKU_45).image_tier.max_tokens
    small = preset_costs(SONNET, frames=1, source=(320, 240))
    assert {r.tokens_per_frame for r in small} == {image_tokens(320, 240)}  # never enlarged
