"""The tune: ceiling, controls, verdict, budget, labels, storage and adoption; never the real sidecars."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

import gaia
from gaia.emulator.answers import schema_instance
from gaia.media.scan import scan_folder
from gaia.pricing.estimate import load_run_inputs
from gaia.pricing.models import usage_cost
from gaia.prompts import compact_profile
from gaia.quality.ladder import PricedConfig, Role, SchemaProfile, TuneConfig
from gaia.quality.runner import TuneAnswers, run_usd
from gaia.quality.scoring import FieldKind, fields_of, score_answers
from gaia.quality.tune import adopt_config, quality_for, run_tune, stored_quality
from gaia.sidecar import sidecar_path

SPECIES = ["cat", "dog", "red fox", "rabbit", "crow"]


class FakeRunner:
    """Answers set per configuration: each video its own species (so the field varies), the species wrong for
    the configurations in ``wrong``, nothing seen for the negative control."""

    def __init__(self, wrong: set[str], cost: float | None = 0.01) -> None:
        self.wrong, self.cost, self.calls = wrong, cost, []

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        self.calls.append((priced.config.id, max_cost_usd))
        answers = {}
        for i, k in enumerate(priced.keyframe_sets):
            species = "unknown" if priced.config.control else SPECIES[i % len(SPECIES)]
            if priced.config.id in self.wrong:
                species = "beetle"
            answers[k.rel_path] = {"subjects": [{"species": species, "count": 1}], "tags": [species],
                                   "confidence": "high"}
        usage = {rel: {"input_tokens": 1000 * priced.config.frames, "output_tokens": 200} for rel in answers}
        spent = priced.tune_usd or 0.0 if self.cost is None else self.cost * len(answers)
        return TuneAnswers(answers, spent_usd=spent, usage=usage)


LADDER = [TuneConfig("claude-sonnet-5-5", 6), TuneConfig("claude-sonnet-5-5", 3, 512),
          TuneConfig("claude-haiku-5-5", 3, 512), TuneConfig("claude-haiku-5-5", 3, 512, SchemaProfile.COMPACT)]


def test_every_tune_has_the_replicate_the_current_settings_and_a_negative_control(demo_copy):
    folder = demo_copy()
    runner = FakeRunner(wrong={LADDER[3].id})
    result = run_tune(folder, runner=runner, configs=LADDER, n=5)
    roles = {r.role: r for r in result.results}
    assert {Role.REFERENCE, Role.REPLICATE, Role.CURRENT, Role.CONTROL} <= set(roles)
    assert roles[Role.REPLICATE].config == dataclasses.replace(LADDER[0], replicate=1)
    assert roles[Role.CURRENT].config == gaia.quality.ladder.current_config(gaia.Folder(folder).settings())
    assert roles[Role.CONTROL].config.control
    assert [c for c, _ in runner.calls[:4]] == [roles[r].config.id for r in (Role.REFERENCE, Role.REPLICATE,
                                                                               Role.CURRENT, Role.CONTROL)]
    assert result.ceiling == 1.0  # the fake answers the same twice
    ctrl = result.negative_control.interval
    assert ctrl.high < 0 and ctrl.diff < -0.5  # clearly below the ceiling
    assert "confidence" in result.excluded_fields  # "high" on every video: no variance, left out
    data = result.to_dict()
    for key in ("configs", "reference", "recommended", "spent_usd", "verdict", "current", "negative_control",
                "ceiling", "adopted"):
        assert key in data
    for c in data["configs"]:
        assert {"diff", "ci_low", "ci_high", "measured_usd_per_video", "role"} <= set(c)
    assert data["current"] in {c["id"] for c in data["configs"]}
    assert data["negative_control"] in {c["id"] for c in data["configs"]}
    assert (data["recommended"] is None) == (data["verdict"] != "recommend")
    wrong = next(r for r in result.results if r.config.id == LADDER[3].id)
    assert wrong.interval.high < -0.3  # the wrong species shows as a loss with its interval
    stored = stored_quality(folder)
    assert stored is not None and stored["verdict"] == data["verdict"]


def test_measured_cost_at_batch_prices_ranks_and_a_recommendation_is_cheaper_than_current(demo_copy):
    folder = demo_copy()
    result = run_tune(folder, runner=FakeRunner(wrong=set()), configs=LADDER, n=5)
    assert result.verdict is gaia.Verdict.RECOMMEND
    rec, cur = result.recommended, result.current
    assert rec is not None and cur is not None
    assert rec.measured_usd_per_video < cur.measured_usd_per_video
    usage = {"input_tokens": 1000 * rec.config.frames, "output_tokens": 200}
    assert rec.measured_usd_per_video == pytest.approx(
        usage_cost(usage, rec.config.model, batch=True).total_usd)
    assert "Batch API" in result.to_dict()["prices"]


def test_budget_skips_what_does_not_fit_and_blocks_when_the_fixed_rungs_do_not(demo_copy):
    folder = demo_copy()
    planned = run_tune(folder, configs=LADDER, n=2, dry_run=True)
    fixed = sum(r.priced.tune_usd for r in planned.results if r.role is not Role.CANDIDATE)
    cheapest = min(r.priced.tune_usd for r in planned.results if r.role is Role.CANDIDATE)
    runner = FakeRunner(wrong=set(), cost=None)  # spends what was estimated
    blocked = run_tune(folder, runner=runner, configs=LADDER, n=2, budget_usd=fixed / 2)
    assert blocked.blocked and "above the budget" in blocked.blocked and not runner.calls
    result = run_tune(folder, runner=runner, configs=LADDER, n=2, budget_usd=fixed + cheapest * 1.01)
    sent = [r for r in result.results if r.output is not None]
    assert len(sent) == 5 and all(r.skipped for r in result.results if r.output is None)
    assert runner.calls[4][1] == pytest.approx(cheapest * 1.01)  # each run gets what is left of the budget


def test_labels_are_the_reference_where_people_verified_and_are_counted(demo_copy):
    folder = demo_copy()
    sample = run_tune(folder, configs=LADDER, n=3, dry_run=True).sample
    labels = {rel: {"subjects": [{"species": "red fox", "count": 1}]} for rel in sample.rel_paths[:2]}
    result = run_tune(folder, runner=FakeRunner(wrong=set()), configs=LADDER, n=3, labels=labels.get)
    assert result.reference_kind == "labels"
    assert result.verified_videos == 2 and "subjects[].species" in result.verified_fields
    assert result.to_dict()["human_verified"]["videos"] == 2


class _FrameBlindMessages:
    """An API stand-in whose answer never depends on the frames (the same valid answer to every request)."""

    def __init__(self, schema: dict) -> None:
        self.schema, self.calls = schema, 0

    def create(self, **params):
        self.calls += 1
        answer = schema_instance(self.schema, [], random.Random(0))
        return {"id": f"msg_{self.calls}", "type": "message", "role": "assistant", "model": params["model"],
                "content": [{"type": "text", "text": json.dumps(answer)}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 500, "output_tokens": 100}}


class FrameBlindClient:
    def __init__(self, schema: dict) -> None:
        self.messages = _FrameBlindMessages(schema)


def test_against_an_api_that_ignores_the_frames_the_verdict_is_never_recommend_and_says_why(demo_copy):
    folder = demo_copy()
    client = FrameBlindClient(gaia.default_profile().schema)
    result = run_tune(folder, client=client, configs=LADDER, n=5)  # the default tolerance
    assert client.messages.calls > 0 and result.blocked is None
    assert result.verdict is gaia.Verdict.UNDETERMINED and result.recommended is None
    assert "cannot tell" in result.decision.text
    assert result.to_dict()["recommended"] is None


def test_against_the_emulator_with_the_defaults_sidecars_untouched_and_answers_reused(demo_copy, anthropic_client,
                                                                                        emulator):
    folder = demo_copy()
    sidecar = sidecar_path(folder / "cat_on_the_sofa.mp4")
    sidecar.write_text(json.dumps({"video": "cat_on_the_sofa.mp4", "analysis": {"summary": "mine"}}))
    before = {p.name: p.read_bytes() for p in folder.glob("*.gaia.json")}
    result = run_tune(folder, client=anthropic_client, budget_usd=1.0)  # the default ladder and tolerance
    assert result.blocked is None and result.simulated
    assert result.ran >= 8 and 0 < result.spent_usd <= 1.0
    assert result.ceiling is not None and result.ceiling > 0.8
    ctrl = result.negative_control.interval
    assert ctrl.high < 0 and result.ceiling + ctrl.diff < result.ceiling - 0.3  # clearly below the ceiling
    assert result.verdict in set(gaia.Verdict)
    if result.recommended is not None:  # never anything dearer than the current settings
        assert result.recommended.usd_per_video < result.current.usd_per_video
    scores = [r.score for r in result.results if r.score is not None]
    assert min(scores) < max(scores)  # the ladder shows a curve, not one flat line
    row = next(r for r in result.results if r.config.cascade)  # the default tune weighs a cascade
    cheap, strong = next(r for r in result.results if r.config.id == row.cascade.first_id), result.current
    bills = [run_usd(cheap.output.usage[rel], cheap.config.model)
             + (run_usd(strong.output.usage[rel], strong.config.model) if rel in row.cascade.escalated else 0.0)
             for rel in row.output.answers]
    assert row.score is not None and row.measured_usd_per_video == pytest.approx(sum(bills) / len(bills))
    assert {p.name: p.read_bytes() for p in folder.glob("*.gaia.json")} == before
    states = {r.rel_path: r.sidecar_state for r in scan_folder(folder).records}
    assert list(states.values()).count("none") == len(states) - 1
    assert list((folder / ".gaia" / "tune").glob("*/*.json"))
    with gaia.Folder(folder).ledger() as ledger:
        assert not ledger.requests() and not ledger.failures()
        answered = sum(1 for r in result.results if r.output and r.cascade is None  # a cascade's answers are its
                       for a in r.output.answers.values() if a is not None)  # passes' rows: never sent again
        assert len(ledger.events(kind="tune_request")) == answered
    # a second tune reuses what it paid for
    calls = emulator.calls.get("messages.create", 0)
    assert calls >= answered
    again = run_tune(folder, client=anthropic_client, budget_usd=1.0)
    assert again.spent_usd == 0 and emulator.calls.get("messages.create", 0) == calls
    assert again.verdict == result.verdict


def test_jpeg_84_against_85_loses_nothing_measurable(demo_copy, anthropic_client):
    folder = demo_copy()
    ref = TuneConfig("claude-sonnet-5-5", 6)
    q84 = dataclasses.replace(ref, jpeg_quality=84)
    result = run_tune(folder, client=anthropic_client, configs=[ref, q84])
    iv = next(r for r in result.results if r.config == q84).interval
    assert iv.low <= 0 <= iv.high


def test_adopt_changes_what_estimate_uses(demo_copy):
    folder = demo_copy()
    cfg = TuneConfig("claude-haiku-5-5", 3, 192, SchemaProfile.COMPACT)
    settings = adopt_config(folder, cfg)
    f = gaia.Folder(folder)
    assert f.settings() == settings and settings.model == "claude-haiku-5-5" and settings.keyframes.count == 3
    assert f.profile().hash == compact_profile(gaia.default_profile()).hash
    assert load_run_inputs(folder).model == "claude-haiku-5-5"


def test_after_adopting_the_compact_schema_the_tune_and_its_score_are_still_found(demo_copy):
    folder = demo_copy()
    result = run_tune(folder, runner=FakeRunner(wrong=set()), configs=LADDER, n=2)
    adopt_config(folder, LADDER[3])
    stored = stored_quality(folder)  # looked up by the compact profile now in use
    assert stored is not None and stored["prompt_hash"] == result.profile.hash
    score = quality_for(folder)
    assert score is not None and score["id"] == LADDER[3].id and score["score"] == 1.0
    # Choosing the built-in compact profile by name is the same profile, so the same tune applies.
    f = gaia.Folder(folder)
    f.save_settings(dataclasses.replace(f.settings(), prompt_profile="compact"))
    assert quality_for(folder)["id"] == LADDER[3].id


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


def test_a_budget_that_is_not_a_usable_amount_is_refused_before_anything_is_sent(demo_copy):
    folder = demo_copy()
    for bad in (float("nan"), -1.0):
        runner = FakeRunner(wrong=set())
        result = run_tune(folder, runner=runner, configs=LADDER, n=2, budget_usd=bad)
        assert result.blocked and "not a usable amount" in result.blocked and not runner.calls
