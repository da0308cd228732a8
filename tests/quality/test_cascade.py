"""A cascade weighed by the tune as one configuration, and the tune's likely-empty sample (misses measured)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import gaia
from gaia.media.empty import empty_scores
from gaia.media.scan import scan_folder
from gaia.pricing.levers import measured_misses, wilson
from gaia.quality.ladder import PricedConfig, Role, TuneConfig
from gaia.quality.runner import TuneAnswers, run_usd
from gaia.quality.tune import adopt_config, quality_for, run_tune, stored_quality
from gaia.runs.escalation import uncertain
from gaia.settings import CASCADE_ASSUMED_SHARE
from gaia.sidecar import read_sidecar
from tests.media.empty_clips import trap_folder
from tests.pages._app import page_app
from tests.quality.test_tune import LADDER, SPECIES, FakeRunner

CHEAP = "claude-haiku-5-5:economy"


class UnsureFirstPass:
    """Every configuration names each video's own species, except: the cascade's first pass is unsure (``low``
    confidence, a wrong species) on the videos in ``unsure``; those in ``wrong`` name a wrong one everywhere;
    the negative control sees nothing. Usage grows with the frames, so each configuration has its own bill."""

    def __init__(self, first_pass_id: str, unsure: set[int], wrong: set[str] = frozenset()) -> None:
        self.first, self.unsure, self.wrong, self.calls = first_pass_id, unsure, wrong, []

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        self.calls.append(priced.config.id)
        answers, usage = {}, {}
        for i, k in enumerate(priced.keyframe_sets):
            species, confidence = SPECIES[i % len(SPECIES)], "high" if i % 2 else "medium"
            if priced.config.control:
                species = "unknown"
            elif priced.config.id in self.wrong:
                species = "beetle"
            elif priced.config.id == self.first and i in self.unsure:
                species, confidence = "beetle", "low"
            answers[k.rel_path] = {"subjects": [{"species": species, "count": 1}], "tags": [species],
                                   "confidence": confidence}
            usage[k.rel_path] = {"input_tokens": 900 * priced.config.frames + 7 * i, "output_tokens": 150 + i}
        return TuneAnswers(answers, spent_usd=0.01 * len(answers), usage=usage)


def _cascade_config(folder: Path) -> TuneConfig:
    cur = gaia.quality.ladder.current_config(gaia.Folder(folder).settings())
    return TuneConfig(cur.model, cur.frames, cur.max_edge, cascade=CHEAP)


def test_a_cascade_row_is_its_passes_answers_priced_as_both_passes_measured_bills(demo_copy) -> None:
    folder = demo_copy()
    base = gaia.Folder(folder).settings()
    cascade = _cascade_config(folder)
    first = cascade.first_pass(base)
    assert first is not None and (first.model, first.max_edge) == ("claude-haiku-5-5", 512)
    runner = UnsureFirstPass(first.id, unsure={1, 3}, wrong={c.id for c in LADDER[1:]})
    result = run_tune(folder, runner=runner, configs=LADDER, cascades=[CHEAP], n=5)
    assert cascade.id not in runner.calls and runner.calls.count(first.id) == 1  # never sent: made of its rows
    rows = {r.config.id: r for r in result.results}
    row, cheap, strong = rows[cascade.id], rows[first.id], result.current
    assert row.role is Role.CANDIDATE and row.cascade is not None and row.spent_usd == 0
    schema = result.profile.schema
    rels = list(cheap.output.answers)
    assert set(row.cascade.escalated) == {rels[1], rels[3]}
    assert all(why == uncertain(cheap.output.answers[rel], schema) == "low confidence"
               for rel, why in row.cascade.escalated.items())
    for rel in rels:  # the first answer where it is sure, the strong configuration's where it is not
        source = strong if rel in row.cascade.escalated else cheap
        assert row.output.answers[rel] == source.output.answers[rel]
    first_bills = [run_usd(cheap.output.usage[rel], cheap.config.model) for rel in rels]
    second_bills = [run_usd(strong.output.usage[rel], strong.config.model) for rel in row.cascade.escalated]
    assert row.measured_usd_per_video == pytest.approx((sum(first_bills) + sum(second_bills)) / len(rels))
    assert row.measured_usd_per_video == pytest.approx(
        cheap.measured_usd_per_video + strong.measured_usd_per_video * 2 / 5)
    assert result.spent_usd == pytest.approx(sum(0.01 * 5 for _ in runner.calls))  # nothing counted twice
    data = next(c for c in result.to_dict()["configs"] if c["id"] == cascade.id)
    passes = data["cascade_passes"]
    assert (passes["first_pass"], passes["second_pass"]) == (first.id, strong.config.id)
    assert passes["escalation_share"] == 0.4
    assert (passes["escalation_share_low"], passes["escalation_share_high"]) == pytest.approx(wilson(2, 5))
    strong_all = sum(run_usd(u, strong.config.model) for u in strong.output.usage.values()) / 5
    assert passes["usd_per_video_high"] == pytest.approx(sum(first_bills) / 5 + wilson(2, 5)[1] * strong_all)
    # Its escalated answers are the strong ones, so it loses nothing; the first pass alone loses two species.
    assert row.interval.diff == pytest.approx(strong.interval.diff)
    assert cheap.interval.diff < row.interval.diff
    assert result.verdict is gaia.Verdict.RECOMMEND and result.recommended.config.id == cascade.id
    assert "Recommended: Cascade: Claude Haiku 5.5 at the economy frame size first" in result.decision.text
    stored = stored_quality(folder)
    records = gaia.views.config_records(stored, gaia.limits.DEFAULT_TOLERANCE)
    mine = next(r for r in records if r["configuration"] == cascade.label())
    assert "cascade: 2 of 5 sent again" in mine[""] and mine["tune cost"] == gaia.views.CASCADE_TUNE_COST
    assert mine["$ per video"] == gaia.format.usd(row.measured_usd_per_video) and mine["cost from"] == "measured"
    [text] = gaia.views.cascade_texts(stored)
    assert "2 of 5 first answer(s) sent again (40%, 95% interval 12% to 77%)" in text and "low confidence" in text


def test_adopting_a_recommended_cascade_sets_the_cascade_entry_and_a_single_one_clears_it(demo_copy) -> None:
    folder = demo_copy()
    cascade = _cascade_config(folder)
    saved = adopt_config(folder, cascade)
    assert saved.cascade == CHEAP and gaia.Folder(folder).settings() == saved
    assert adopt_config(folder, LADDER[1]).cascade == ""  # a single configuration is one pass again


def test_a_folder_that_runs_a_cascade_has_it_as_the_current_rung_with_its_passes_always_sent(demo_copy) -> None:
    folder = demo_copy()
    f = gaia.Folder(folder)
    f.save_settings(dataclasses.replace(f.settings(), cascade=CHEAP))
    cascade = _cascade_config(folder)
    first = cascade.first_pass(f.settings())
    runner = UnsureFirstPass(first.id, unsure={0})
    result = run_tune(folder, runner=runner, configs=LADDER, n=3)
    assert result.current.config == cascade and result.current.cascade is not None
    assert runner.calls[:5] == [LADDER[0].id, dataclasses.replace(LADDER[0], replicate=1).id,
                                first.id, dataclasses.replace(cascade, cascade=None).id,
                                result.negative_control.config.id]  # the current cascade's passes are fixed rungs
    assert [r.config.id for r in result.results].count(cascade.id) == 1
    assert result.current.measured_usd_per_video == pytest.approx(result.current.cascade.usd_per_video)
    assert result.to_dict()["current"] == cascade.id
    assert quality_for(folder)["id"] == cascade.id  # the Estimate page's quality line: the cascade it runs


def test_the_default_tune_weighs_one_cascade_priced_before_sending_from_its_passes(demo_copy) -> None:
    folder = demo_copy()
    planned = run_tune(folder, n=2, dry_run=True)  # the default ladder
    cascades = [r for r in planned.results if r.config.cascade]
    assert [r.config.cascade for r in cascades] == [CHEAP]
    rows = {r.config.id: r.priced for r in planned.results}
    base = gaia.Folder(folder).settings()
    first, strong = rows[cascades[0].config.first_pass(base).id], planned.current.priced
    assert cascades[0].priced.usd_per_video == pytest.approx(
        first.usd_per_video + CASCADE_ASSUMED_SHARE * strong.usd_per_video)  # assumed until a cascade ran
    assert cascades[0].priced.tune_usd == 0.0  # it costs the tune nothing beyond its passes' rows
    assert not [r for r in run_tune(folder, n=2, dry_run=True, cascades=[]).results if r.config.cascade]
    assert not [r for r in run_tune(folder, n=2, dry_run=True, configs=LADDER).results if r.config.cascade]


def test_a_cascade_whose_pass_was_not_sent_is_not_scored_and_says_why(demo_copy) -> None:
    folder = demo_copy()
    planned = run_tune(folder, configs=LADDER, cascades=[CHEAP], n=2, dry_run=True)
    fixed = sum(r.priced.tune_usd for r in planned.results if r.role is not Role.CANDIDATE)
    result = run_tune(folder, runner=FakeRunner(wrong=set(), cost=None), configs=LADDER, cascades=[CHEAP], n=2,
                           budget_usd=fixed * 1.0001)  # the fixed rungs only: the first pass does not fit
    row = next(r for r in result.results if r.config.cascade)
    assert row.output is None and row.score is None and "was not sent" in (row.skipped or "")


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    return trap_folder(tmp_path / "trap")  # wind.mp4 and light.mp4 likely empty, fox.mp4 with a fox


def test_the_tunes_likely_empty_sample_counts_misses_with_a_wilson_interval_and_the_estimate_page_shows_it(
        trap: Path, anthropic_client, emulator) -> None:
    estimate_page = str(Path(__file__).resolve().parents[2] / "pages" / "3_Estimate_cost.py")
    empty_scores(trap, scan_folder(trap).records)  # checked on the Keyframes page
    at = page_app(estimate_page, trap).run()
    line = next(c.value for c in at.caption if "likely-empty" in c.value)
    assert "Misses not measured yet: no sample of these clips has been sent" in line

    result = run_tune(trap, runner=FakeRunner(wrong=set()), client=anthropic_client, configs=LADDER, n=1,
                           empty_sample=5)
    m = result.misses
    assert m is not None and m["asked"] == 5 and m["sampled"] == 2 and m["threshold"] == 0.75
    schema = gaia.default_profile().schema
    had = sorted(v for v in ("light.mp4", "wind.mp4") if gaia.runs.levers.has_subject(
        gaia.labels.effective_analysis(read_sidecar(trap / v)), schema))
    assert sorted(m["videos_with_subject"]) == had and m["with_subject"] == len(had)
    assert (m["low"], m["high"]) == pytest.approx(wilson(len(had), 2), abs=1e-4)
    assert m["spent_usd"] > 0 and result.spent_usd == pytest.approx(
        sum(r.spent_usd for r in result.results) + m["spent_usd"])
    assert not (trap / "fox.gaia.json").exists()  # only the likely-empty clips were sent
    stored = measured_misses(trap)
    assert stored is not None and (stored.sampled, stored.with_subject) == (2, len(had))
    assert stored_quality(trap)["misses"]["sampled"] == 2
    assert f"{len(had)} of 2 sampled likely-empty clips had a subject" in gaia.views.misses_text(
        stored_quality(trap))

    at = page_app(estimate_page, trap).run()
    assert not at.exception
    line = next(c.value for c in at.caption if "likely-empty" in c.value)
    lo, hi = stored.interval
    assert f"The measured miss rate: {len(had)} of 2 sampled likely-empty clips had a subject" in line
    assert f"95% interval {lo:.0%}–{hi:.0%}" in line and "saves \\$" in line


def test_the_likely_empty_sample_stays_within_what_is_left_of_the_budget(trap: Path, anthropic_client,
                                                                          emulator) -> None:
    planned = run_tune(trap, configs=LADDER, n=1, dry_run=True)
    everything = sum(r.priced.tune_usd for r in planned.results)
    result = run_tune(trap, runner=FakeRunner(wrong=set(), cost=None), client=anthropic_client, configs=LADDER,
                           n=1, empty_sample=2, budget_usd=everything)  # the ladder spends it all
    assert result.misses["sampled"] == 0 and result.misses["problem"]
    assert emulator.calls.get("messages.create", 0) == 0 and result.spent_usd <= everything + 1e-9
    assert measured_misses(trap) is None


def test_a_recommended_cascade_whose_share_could_make_it_dearer_says_so() -> None:
    from gaia.quality.verdict import decide

    def row(id_: str, role: str, cost: float, passes: dict | None = None) -> dict:
        return {"id": id_, "label": id_, "role": role, "diff": -0.01, "ci_low": -0.02, "ci_high": 0.0, "sd": 0.01,
                "measured_usd_per_video": cost, "cascade_passes": passes}

    control = {**row("ctrl", "negative control", 0.001), "diff": -0.8, "ci_low": -0.9, "ci_high": -0.7}
    sure = {"escalation_share_high": 0.45, "usd_per_video_high": 0.004}
    wide = {"escalation_share_high": 0.88, "usd_per_video_high": 0.0051}
    for passes, warned in ((sure, False), (wide, True)):
        d = decide([row("cur", "current", 0.005), control, row("casc", "candidate", 0.0035, passes)],
                   current="cur", control="ctrl", ceiling=0.98, tolerance=0.1, videos=5)
        assert d.verdict is gaia.Verdict.RECOMMEND and d.recommended == "casc"
        assert ("at the top of that share's interval (88%) it would cost as much as the current settings" in d.text
                ) is warned


def test_a_cascade_that_sent_nothing_again_ties_with_its_first_pass_and_the_surer_cost_wins() -> None:
    from gaia.quality.verdict import decide

    def row(id_: str, role: str, cost: float, passes: dict | None = None) -> dict:
        return {"id": id_, "label": id_, "role": role, "diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "sd": 0.0,
                "measured_usd_per_video": cost, "cascade_passes": passes}

    control = {**row("ctrl", "negative control", 0.001), "diff": -0.8, "ci_low": -0.9, "ci_high": -0.7}
    configs = [row("cur", "current", 0.005), control,
               row("a-cascade", "candidate", 0.0003, {"escalation_share_high": 0.56, "usd_per_video_high": 0.003}),
               row("z-first-pass", "candidate", 0.0003)]
    d = decide(configs, current="cur", control="ctrl", ceiling=0.98, tolerance=0.1, videos=5)
    assert d.recommended == "z-first-pass"  # the same bill on the sample, but only its bill is sure
