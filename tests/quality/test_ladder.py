"""The ladder: at least six configurations, the richest first, each priced from the price data."""

from __future__ import annotations

import pytest

import gaia
from gaia.media.scan import scan_folder
from gaia.pricing.estimate import estimate_run
from gaia.quality.ladder import SchemaProfile, TuneConfig, compact_profile, default_ladder, price_ladder
from gaia.quality.scoring import FieldKind, fields_of
from gaia.settings import RunSettings


def test_default_ladder_has_six_or_more_with_the_richest_first():
    for models in (None, ["claude-haiku-5-5"], ["claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"]):
        ladder = default_ladder(RunSettings(), models)
        assert len(ladder) >= 6 and len({c.id for c in ladder}) == len(ladder)
        ref = ladder[0]
        strongest = max({c.model for c in ladder}, key=lambda m: gaia.model_facts(m).output)
        assert ref.model == strongest and ref.max_edge is None and ref.schema is SchemaProfile.FULL
        assert ref.frames == max(c.frames for c in ladder)
        assert {SchemaProfile.FULL, SchemaProfile.COMPACT} <= {c.schema for c in ladder}


def test_unknown_model_is_refused():
    with pytest.raises(KeyError):
        default_ladder(RunSettings(), ["claude-nonsense-1"])


def test_compact_profile_keeps_every_scored_field():
    full = gaia.default_profile()
    compact = compact_profile(full)
    assert compact.hash != full.hash and not gaia.schema_problems(compact.schema)
    scored = {f.path for f in fields_of(full.schema) if f.kind is not FieldKind.TEXT}
    assert scored == {f.path for f in fields_of(compact.schema) if f.kind is not FieldKind.TEXT}
    assert len(compact.schema_text) < len(full.schema_text)
    assert "description" not in compact.schema["properties"]["subjects"]["items"]["properties"]


def test_config_round_trips_and_makes_run_settings():
    c = TuneConfig("claude-haiku-5-5", 3, 192, SchemaProfile.COMPACT)
    assert TuneConfig.from_dict(c.to_dict()) == c
    s = c.run_settings(RunSettings(), "abc")
    assert (s.model, s.keyframes.count, s.keyframes.max_edge, s.prompt_profile) == ("claude-haiku-5-5", 3, 192, "abc")


def test_priced_before_sending_and_ordered_by_the_levers(demo_copy):
    folder = demo_copy()
    records = [r for r in scan_folder(folder).records][:2]
    configs = [TuneConfig("claude-sonnet-5-5", 12), TuneConfig("claude-sonnet-5-5", 6),
               TuneConfig("claude-sonnet-5-5", 6, 192), TuneConfig("claude-haiku-5-5", 6, 192),
               TuneConfig("claude-haiku-5-5", 6, 192, SchemaProfile.COMPACT)]
    priced = price_ladder(folder, configs, RunSettings(), gaia.default_profile(), records)
    costs = [p.usd_per_video for p in priced]
    assert all(c is not None and c > 0 for c in costs)
    assert costs[0] > costs[1] > costs[2] > costs[3] > costs[4]  # frames, size, model and schema each save
    assert [p.videos for p in priced] == [2] * 5 and priced[0].frames > priced[1].frames
    assert priced[1].image_tokens > priced[2].image_tokens
    # the same figure estimate_run gives for those frames on that model
    est = estimate_run(list(priced[3].keyframe_sets), model="claude-haiku-5-5", profile=gaia.default_profile(),
                            explain=False)
    assert priced[3].usd_per_video == pytest.approx(est.scenario("batch_caching").total_usd / 2)
    assert not list(folder.glob("*.gaia.json"))


def test_a_cascade_configuration_names_its_first_pass_as_gaia_run_cascade_sends_it() -> None:
    from gaia.runs.cascade import cheap_settings

    base = RunSettings()
    strong = TuneConfig(base.model, base.keyframes.count, base.keyframes.max_edge, cascade="claude-haiku-5-5:economy")
    cheap = cheap_settings(base, "claude-haiku-5-5", "economy")
    first = strong.first_pass(base)
    assert (first.model, first.frames, first.max_edge) == (cheap.model, cheap.keyframes.count,
                                                           cheap.keyframes.max_edge)
    assert strong.id.startswith("cascade.claude-haiku-5-5.economy.then.") and strong.id != first.id
    assert strong.label().startswith("Cascade: Claude Haiku 5.5 at the economy frame size first")
    assert TuneConfig.from_dict(strong.to_dict()) == strong
    assert TuneConfig(base.model, 6).first_pass(base) is None
    assert TuneConfig.from_dict({"model": base.model, "frames": 6}).cascade is None  # an earlier tune's dict
