"""The tune: budget, reference, recommendation, storage and adoption; never the real sidecars."""

from __future__ import annotations

import dataclasses
import json

import pytest

import gaia
from gaia.prompts import compact_profile
from gaia.quality.ladder import PricedConfig, SchemaProfile, TuneConfig
from gaia.quality.runner import TuneAnswers
from gaia.quality.scoring import FieldKind, fields_of, score_answers
from gaia.quality.tune import recommend
from gaia.sidecar import sidecar_path


class FakeRunner:
    """Answers whose quality is set per configuration: the reference's answer, or one with the species wrong."""

    def __init__(self, wrong: set[str], cost: float | None = 0.01) -> None:
        self.wrong, self.cost, self.calls = wrong, cost, []

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        self.calls.append((priced.config.id, max_cost_usd))
        species = "fox" if priced.config.id in self.wrong else "cat"
        answers = {k.rel_path: {"subjects": [{"species": species, "count": 1}], "tags": [species], "confidence": "high"}
                   for k in priced.keyframe_sets}
        spent = priced.tune_usd or 0.0 if self.cost is None else self.cost * len(answers)
        return TuneAnswers(answers, spent_usd=spent)


LADDER = [TuneConfig("claude-sonnet-5-5", 6), TuneConfig("claude-sonnet-5-5", 3, 192),
          TuneConfig("claude-haiku-5-5", 3, 192), TuneConfig("claude-haiku-5-5", 3, 192, SchemaProfile.COMPACT)]


def test_reference_first_then_cheapest_first_and_the_cheapest_good_one_recommended(demo_copy):
    folder = demo_copy()
    runner = FakeRunner(wrong={LADDER[3].id})
    result = gaia.run_tune(folder, runner=runner, configs=LADDER, n=2)
    assert result.blocked is None and result.ran == 4
    assert runner.calls[0][0] == LADDER[0].id
    assert [c for c, _ in runner.calls[1:]] == [r.config.id for r in sorted(
        result.results[1:], key=lambda r: r.priced.tune_usd)]
    scores = {r.config.id: r.score for r in result.results}
    assert scores[LADDER[0].id] == 1.0 and scores[LADDER[3].id] < 0.9
    assert result.recommended is not None and result.recommended.config == LADDER[2]  # cheapest still right
    assert result.spent_usd == pytest.approx(0.01 * 2 * 4)
    stored = gaia.stored_quality(folder)
    assert stored is not None and stored["recommended"]["id"] == LADDER[2].id
    assert {c["id"] for c in stored["configs"]} == {c.id for c in LADDER}


def test_budget_skips_what_does_not_fit_and_blocks_when_the_reference_does_not(demo_copy):
    folder = demo_copy()
    planned = gaia.run_tune(folder, configs=LADDER, n=2, dry_run=True)
    ref_cost = planned.results[0].priced.tune_usd
    cheapest = min(r.priced.tune_usd for r in planned.results[1:])
    runner = FakeRunner(wrong=set(), cost=None)  # spends what was estimated
    blocked = gaia.run_tune(folder, runner=runner, configs=LADDER, n=2, budget_usd=ref_cost / 2)
    assert blocked.blocked and "above the budget of" in blocked.blocked and not runner.calls
    result = gaia.run_tune(folder, runner=runner, configs=LADDER, n=2, budget_usd=ref_cost + cheapest * 1.01)
    sent = [r for r in result.results if r.output is not None]
    assert len(sent) == 2 and all(r.skipped for r in result.results if r.output is None)
    assert runner.calls[1][1] == pytest.approx(cheapest * 1.01)  # each run gets what is left of the budget


def test_labels_are_the_reference_when_given(demo_copy):
    folder = demo_copy()
    sample = gaia.run_tune(folder, configs=LADDER, n=2, dry_run=True).sample
    labels = {rel: {"subjects": [{"species": "red fox", "count": 1}]} for rel in sample.rel_paths}
    result = gaia.run_tune(folder, runner=FakeRunner(wrong={LADDER[1].id}), configs=LADDER, n=2, labels=labels.get)
    assert result.reference_kind == "labels"
    scores = {r.config.id: r.score for r in result.results}
    assert scores[LADDER[1].id] == 1.0 and scores[LADDER[0].id] == 0.0  # "fox" is the labels' "red fox"


def test_recommend_needs_a_scored_reference():
    assert recommend([], None, 0.1) is None


def test_against_the_emulator_six_configurations_within_budget_and_sidecars_untouched(demo_copy, anthropic_client,
                                                                                    emulator):
    folder = demo_copy()
    sidecar = sidecar_path(folder / "cat_on_the_sofa.mp4")
    sidecar.write_text(json.dumps({"video": "cat_on_the_sofa.mp4", "analysis": {"summary": "mine"}}))
    before = {p.name: p.read_bytes() for p in folder.glob("*.gaia.json")}
    result = gaia.run_tune(folder, client=anthropic_client, budget_usd=1.0, tolerance=0.15)  # the user's tolerance
    assert result.blocked is None
    assert result.ran >= 6 and result.spent_usd <= 1.0 and result.spent_usd > 0
    ref, rec = result.reference, result.recommended
    assert ref is not None and rec is not None and rec is not ref
    assert rec.usd_per_video < ref.usd_per_video and rec.score >= ref.score - result.tolerance
    scores = [r.score for r in result.results if r.score is not None]
    assert min(scores) < max(scores)  # the ladder shows a curve, not one flat line
    assert {p.name: p.read_bytes() for p in folder.glob("*.gaia.json")} == before
    states = {r.rel_path: r.sidecar_state for r in gaia.scan_folder(folder).records}
    assert list(states.values()).count("none") == len(states) - 1
    assert list((folder / ".gaia" / "tune").glob("*/*.json"))
    with gaia.Folder(folder).ledger() as ledger:
        assert not ledger.requests() and not ledger.failures()
        answered = sum(1 for r in result.results if r.output for a in r.output.answers.values() if a is not None)
        assert len(ledger.events(kind="tune_request")) == answered
    # a second tune reuses what it paid for
    calls = emulator.calls.get("messages.create", 0)
    assert calls >= answered
    again = gaia.run_tune(folder, client=anthropic_client, budget_usd=1.0)
    assert again.spent_usd == 0 and emulator.calls.get("messages.create", 0) == calls


def test_adopt_changes_what_estimate_uses(demo_copy):
    folder = demo_copy()
    cfg = TuneConfig("claude-haiku-5-5", 3, 192, SchemaProfile.COMPACT)
    settings = gaia.adopt_config(folder, cfg)
    f = gaia.Folder(folder)
    assert f.settings() == settings and settings.model == "claude-haiku-5-5" and settings.keyframes.count == 3
    assert f.profile().hash == compact_profile(gaia.default_profile()).hash
    assert gaia.load_run_inputs(folder).model == "claude-haiku-5-5"


def test_after_adopting_the_compact_schema_the_tune_and_its_score_are_still_found(demo_copy):
    folder = demo_copy()
    result = gaia.run_tune(folder, runner=FakeRunner(wrong=set()), configs=LADDER, n=2)
    gaia.adopt_config(folder, LADDER[3])
    stored = gaia.stored_quality(folder)  # looked up by the compact profile now in use
    assert stored is not None and stored["prompt_hash"] == result.profile.hash
    score = gaia.quality_for(folder)
    assert score is not None and score["id"] == LADDER[3].id and score["score"] == 1.0
    # Choosing the built-in compact profile by name is the same profile, so the same tune applies.
    f = gaia.Folder(folder)
    f.save_settings(dataclasses.replace(f.settings(), prompt_profile="compact"))
    assert gaia.quality_for(folder)["id"] == LADDER[3].id


def test_the_compact_profiles_answers_are_scored_on_every_field_the_full_one_scores():
    full = gaia.default_profile()
    compact = compact_profile(full)
    answer = {"summary": "A cat.", "subjects": [{"species": "cat", "count": 1}], "behaviours": [],
              "setting": {"environment": "indoor", "place": "room", "lighting": "daylight"},
              "notable_moments": [{"time_s": 1.0}], "people_present": False, "welfare_concerns": [],
              "frame_quality": "good", "confidence": "high", "tags": ["cat"]}
    card = score_answers(compact.schema, {"a.mp4": answer}, {"a.mp4": answer})
    scored = {s.path for s in fields_of(full.schema) if s.kind is not FieldKind.TEXT}
    assert {fs.path for fs in card.fields if fs.kind is not FieldKind.TEXT} == scored and card.score == 1.0
