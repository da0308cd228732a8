"""gaia.views.tune: a tune as chart points, table rows, per-field losses and sentences, at any tolerance."""

from __future__ import annotations

import pytest

from gaia import labels as L
from gaia.sidecar import write_sidecar
from gaia.views import tune as V


def cfg(cid: str, usd: float | None, score: float | None, role: str = "candidate", diff: float | None = None,
        low: float | None = None, high: float | None = None, **extra) -> dict:
    fields = extra.pop("fields", [])
    return {"id": cid, "label": f"label {cid}", "model": "m", "frames": 6, "max_edge": None, "schema": "full",
            "usd_per_video": usd, "measured_usd_per_video": usd if score is not None else None, "score": score,
            "role": role, "diff": diff, "ci_low": low, "ci_high": high, "sd": 0.05, "spent_usd": 0.01,
            "tune_usd_estimate": 0.02, "skipped": None, "fields": fields, **extra}


def field(path: str, score: float | None, unknown: float = 0.0, kind: str = "set") -> dict:
    return {"path": path, "kind": kind, "score": score, "unknown_rate": unknown, "videos": 3}


@pytest.fixture
def tune() -> dict:
    configs = [
        cfg("ref", 0.010, 1.0, "reference", 0.0, 0.0, 0.0,
            fields=[field("tags", 1.0), field("subjects[].species", 1.0)]),
        cfg("rep", 0.010, 0.95, "replicate", 0.0, 0.0, 0.0),
        cfg("cur", 0.006, 0.94, "current", -0.01, -0.03, 0.01,
            fields=[field("tags", 0.8), field("subjects[].species", 1.0)]),
        cfg("ctrl", 0.003, 0.2, "negative control", -0.75, -0.8, -0.7),
        cfg("mid", 0.004, 0.93, "candidate", -0.02, -0.05, 0.0,
            fields=[field("tags", 0.9), field("subjects[].species", 1.0)]),
        cfg("cheap", 0.001, 0.80, "candidate", -0.15, -0.25, -0.1,
            fields=[field("tags", 0.5, unknown=0.25), field("subjects[].species", 0.9)]),
        cfg("skipped", 0.002, None, skipped="Over what is left of the budget."),
    ]
    return {"configs": configs, "reference": {"kind": "configuration", "id": "ref", "score": 1.0},
            "current": "cur", "negative_control": "ctrl", "ceiling": 0.95, "simulated": True,
            "prices": "Batch API prices with prompt caching", "excluded_fields": ["confidence"],
            "sample": {"rel_paths": ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"], "problems": []}, "planned_usd": 0.5,
            "spent_usd": 0.12, "budget_usd": 1.0, "updated_at": "2026-12-01T10:00:00+00:00"}


def test_the_verdict_follows_the_tolerance_and_says_simulated(tune):
    assert V.verdict_at(tune, 0.10) == "recommend" and V.recommended_at(tune, 0.10)["id"] == "mid"
    assert V.verdict_at(tune, 0.40) == "recommend" and V.recommended_at(tune, 0.40)["id"] == "cheap"
    assert V.verdict_at(tune, 0.0) == "undetermined" and V.recommended_at(tune, 0.0) is None
    assert V.recommended_at(None, 0.1) is None and V.verdict_at(None, 0.1) is None
    sentence = V.verdict_sentence(tune, 0.10)
    assert sentence.startswith("Simulated") and "label mid" in sentence
    assert "share of the distance between the negative control" in V.tolerance_sentence(tune, 0.10)
    assert V.tolerance_floor(tune, 0.10) == pytest.approx(-0.075)


def test_points_roles_intervals_and_the_pareto_front_in_cost_order(tune):
    points = {p.id: p for p in V.tune_points(tune, 0.10)}
    assert points["ref"].role == V.ROLE_REFERENCE and points["mid"].role == V.ROLE_RECOMMENDED
    assert points["cur"].role == V.ROLE_CURRENT and points["ctrl"].role == V.ROLE_CONTROL
    assert points["rep"].role == V.ROLE_REPLICATE
    assert points["skipped"].role == V.ROLE_NOT_RUN and points["cheap"].role == V.ROLE_OTHER
    assert (points["mid"].ci_low, points["mid"].ci_high) == (-0.05, 0.0)
    front = [p.id for p in V.pareto_front(list(points.values()))]
    assert front == ["cheap", "mid", "cur", "ref"]  # cheapest first; the control is never on it
    usd = [points[i].usd_per_video for i in front]
    assert usd == sorted(usd)


def test_table_rows_are_words_with_roles_marked_and_no_none(tune):
    rows = {r["configuration"]: r for r in V.config_records(tune, 0.10)}
    assert rows["label ref"][""] == "reference"
    assert rows["label mid"][""] == "recommended"
    assert rows["label cur"][""] == "current settings"
    assert rows["label ctrl"][""].startswith("negative control")
    assert rows["label skipped"]["not sent"].startswith("Over what is left")
    assert rows["label skipped"]["tune cost"] == "$0.0200"  # the estimate, since it was not sent
    assert rows["label mid"]["vs ceiling (interval)"] == "-0.020 (-0.050 to +0.000)"
    assert all(v is not None and "None" not in str(v) for r in rows.values() for v in r.values())
    assert all("None" not in v for r in V.field_loss_records(tune, "skipped") for v in r.values())


def test_field_losses_against_the_reference(tune):
    losses = {r["field"]: r for r in V.field_losses(tune, "cheap")}
    assert losses["tags"]["loss"] == pytest.approx(0.5) and losses["tags"]["answered unknown"] == 0.25
    assert losses["subjects[].species"]["loss"] == pytest.approx(0.1)
    labels, fields, grid = V.loss_matrix(tune)
    assert labels == ["label ref", "label rep", "label cur", "label ctrl", "label mid", "label cheap"]
    assert fields == ["tags", "subjects[].species"]
    assert grid[5] == [pytest.approx(0.5), pytest.approx(0.1)] and grid[0] == [0.0, 0.0]


def test_plan_figures_budget_and_quality_line(tune):
    figures = {m.label: m.value for m in V.tune_plan_metrics(tune, 0.6)}
    assert figures == {"Sample": "5 video(s)", "Configurations": "7", "Sending them all": "$0.500",
                       "Budget": "$0.600"}
    assert V.default_budget(0.5) == 0.6 and V.default_budget(0.0) == 0.01
    text = V.spend_text(tune)
    assert "scored against the reference configuration's answers" in text and "Batch API" in text
    assert "Left out, the same answer on every video: confidence" in text
    assert V.quality_text(None) is None
    measured = V.quality_text({**tune["configs"][2], "reference_score": 1.0, "ceiling": 0.95})
    assert "-0.010 (-0.030 to +0.010) against the ceiling of 0.950" in measured
    line = V.quality_text({**tune["configs"][1], "reference_score": 1.0, "diff": None})
    # The score only: the Estimate page's one price per video is its own (issue 26, item 9).
    assert "0.950" in line and "1.000" in line and "$" not in line and "$" not in measured


def test_verified_labels_are_a_partial_nested_answer(tmp_path):
    (tmp_path / "a.mp4").touch()
    (tmp_path / "b.mp4").touch()
    write_sidecar(tmp_path / "a.mp4", {"analysis": {"tags": ["cat"], "setting": {"environment": "indoor"}}})
    L.save_verified(tmp_path / "a.mp4", {"setting.environment": "outdoor", "tags": ["fox"]})
    labels = V.verified_labels(tmp_path)
    assert labels("a.mp4") == {"setting": {"environment": "outdoor"}, "tags": ["fox"]}
    assert labels("b.mp4") is None
