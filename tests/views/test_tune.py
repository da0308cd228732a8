"""gaia.views.tune: a tune as chart points, table rows, per-field losses and sentences, at any tolerance."""

from __future__ import annotations

import pytest

from gaia import labels as L
from gaia.quality.tune import cheapest_within
from gaia.sidecar import write_sidecar
from gaia.views import tune as V


def cfg(cid: str, usd: float | None, score: float | None, **extra) -> dict:
    fields = extra.pop("fields", [])
    return {"id": cid, "label": f"label {cid}", "model": "m", "frames": 6, "max_edge": None, "schema": "full",
            "usd_per_video": usd, "score": score, "spent_usd": 0.01, "tune_usd_estimate": 0.02, "skipped": None,
            "fields": fields, **extra}


def field(path: str, score: float | None, unknown: float = 0.0, kind: str = "set") -> dict:
    return {"path": path, "kind": kind, "score": score, "unknown_rate": unknown, "videos": 3}


@pytest.fixture
def tune() -> dict:
    configs = [
        cfg("ref", 0.010, 1.0, fields=[field("tags", 1.0), field("subjects[].species", 1.0)]),
        cfg("mid", 0.004, 0.95, fields=[field("tags", 0.9), field("subjects[].species", 1.0)]),
        cfg("cheap", 0.001, 0.80, fields=[field("tags", 0.5, unknown=0.25), field("subjects[].species", 0.9)]),
        cfg("dominated", 0.006, 0.90, fields=[field("tags", 0.8), field("subjects[].species", 1.0)]),
        cfg("skipped", 0.002, None, skipped="Over what is left of the budget."),
    ]
    return {"configs": configs, "reference": {"kind": "configuration", "id": "ref", "score": 1.0},
            "sample": {"rel_paths": ["a.mp4", "b.mp4", "c.mp4"], "problems": []}, "planned_usd": 0.5,
            "spent_usd": 0.12, "budget_usd": 1.0, "updated_at": "2026-12-01T10:00:00+00:00"}


def test_the_recommendation_follows_the_tolerance(tune):
    assert V.recommended_at(tune, 0.10)["id"] == "mid"
    assert V.recommended_at(tune, 0.20)["id"] == "cheap"
    assert V.recommended_at(tune, 0.0)["id"] == "ref"
    assert V.recommended_at(None, 0.1) is None
    assert "60% less than the reference" in V.recommendation_text(tune, 0.10)
    assert "keep label ref" in V.recommendation_text(tune, 0.0)


def test_the_page_rule_is_the_tune_rule():
    candidates = [("a", 0.9, 0.002), ("b", 0.95, 0.002), ("c", 0.5, 0.001), ("d", None, 0.0001)]
    assert cheapest_within(candidates, 1.0, 0.1) == "b"  # a tie on price goes to the higher score
    assert cheapest_within(candidates, None, 0.1) is None


def test_points_roles_and_the_pareto_front(tune):
    points = {p.id: p for p in V.tune_points(tune, 0.10)}
    assert points["ref"].role == V.ROLE_REFERENCE and points["mid"].role == V.ROLE_RECOMMENDED
    assert points["skipped"].role == V.ROLE_NOT_RUN and points["cheap"].role == V.ROLE_OTHER
    assert [p.id for p in V.pareto_front(list(points.values()))] == ["cheap", "mid", "ref"]
    assert not points["dominated"].on_front and points["cheap"].on_front


def test_table_rows_mark_reference_recommended_current_and_skipped(tune):
    rows = {r["configuration"]: r for r in V.config_records(tune, 0.10, current="cheap")}
    assert rows["label ref"][""] == "reference"
    assert rows["label mid"][""] == "recommended"
    assert rows["label cheap"][""] == "current settings"
    assert rows["label skipped"]["not sent"].startswith("Over what is left")
    assert rows["label skipped"]["tune cost (USD)"] == 0.02  # the estimate, since it was not sent
    assert rows["label mid"]["$ per video"] == 0.004
    # One type per column: pyarrow cannot convert numbers mixed with "full" (issue 26, item 12).
    import pandas as pd
    import pyarrow as pa

    mixed = {**tune, "configs": [{**c, "max_edge": 1024} if i == 0 else c for i, c in enumerate(tune["configs"])]}
    records = V.config_records(mixed, 0.10)
    assert [r["max edge (px)"] for r in records][:2] == ["1024", "full"]
    pa.Table.from_pandas(pd.DataFrame(records))


def test_field_losses_against_the_reference(tune):
    losses = {r["field"]: r for r in V.field_losses(tune, "cheap")}
    assert losses["tags"]["loss"] == pytest.approx(0.5) and losses["tags"]["answered unknown"] == 0.25
    assert losses["subjects[].species"]["loss"] == pytest.approx(0.1)
    labels, fields, grid = V.loss_matrix(tune)
    assert labels == ["label ref", "label mid", "label cheap", "label dominated"]  # the skipped one has no scores
    assert fields == ["tags", "subjects[].species"]
    assert grid[2] == [pytest.approx(0.5), pytest.approx(0.1)] and grid[0] == [0.0, 0.0]


def test_plan_figures_budget_and_quality_line(tune):
    figures = {m.label: m.value for m in V.tune_plan_metrics(tune, 0.6)}
    assert figures == {"Sample": "3 video(s)", "Configurations": "5", "Sending them all": "$0.500",
                       "Budget": "$0.600"}
    assert V.default_budget(0.5) == 0.6 and V.default_budget(0.0) == 0.01
    assert "scored against the reference configuration's answers" in V.spend_text(tune)
    assert V.quality_text(None) is None
    line = V.quality_text({**tune["configs"][1], "reference_score": 1.0})
    # The score only: the Estimate page's one price per video is its own (issue 26, item 9).
    assert "0.950" in line and "1.000" in line and "$" not in line


def test_verified_labels_are_a_partial_nested_answer(tmp_path):
    (tmp_path / "a.mp4").touch()
    (tmp_path / "b.mp4").touch()
    write_sidecar(tmp_path / "a.mp4", {"analysis": {"tags": ["cat"], "setting": {"environment": "indoor"}}})
    L.save_verified(tmp_path / "a.mp4", {"setting.environment": "outdoor", "tags": ["fox"]})
    labels = V.verified_labels(tmp_path)
    assert labels("a.mp4") == {"setting": {"environment": "outdoor"}, "tags": ["fox"]}
    assert labels("b.mp4") is None
