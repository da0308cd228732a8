"""Frame-size presets priced on a model: tokens per frame from the pixel rule, image dollars at Batch prices."""

from __future__ import annotations

import pytest

import gaia
from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.pricing.presets import frame_cost, preset_costs
from gaia.pricing.tokens import frame_tokens

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
