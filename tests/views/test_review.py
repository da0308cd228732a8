"""gaia.views.review: the queue ordered by uncertainty, the form, and saving a person's corrections."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import gaia
from gaia import labels as L
from gaia.folder import Folder
from gaia.ledger import RequestIntent
from gaia.sidecar import read_sidecar, write_sidecar
from gaia.views import review as V


def answer(**changes) -> dict:
    base = {"summary": "A cat.", "confidence": "high", "people_present": False, "tags": ["cat"],
            "subjects": [{"species": "domestic cat", "scientific_name": "", "count": 1, "description": ""}],
            "setting": {"environment": "indoor", "place": "kitchen", "lighting": "day", "description": ""}}
    return {**base, **changes}


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list]:
    folder = tmp_path / "lib"
    layout = {
        "sure.mp4": answer(),
        "low.mp4": answer(confidence="low"),
        "unknown.mp4": answer(setting={"environment": "unknown", "place": "unknown", "lighting": "", "description": ""},
                              confidence="medium"),
        "retried.mp4": answer(),
    }
    for rel, a in layout.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).touch()
        write_sidecar(folder / rel, {"analysis": a, "run": {"model": "m"}})
    (folder / "new.mp4").touch()
    with Folder(folder).ledger() as ledger:
        run = ledger.new_run(mode="standard", model="m", prompt_hash="p", settings={})
        ids = ledger.add_standard_requests(run, [RequestIntent(f"c{i}", "retried.mp4", "s", (), "p", "m")
                                                 for i in range(3)])
        ledger.finish_request(ids[0], "failed", error_kind="overloaded", error="overloaded")
        ledger.finish_request(ids[1], "failed", error_kind="overloaded", error="overloaded")
        ledger.finish_request(ids[2], "succeeded")
    records = [SimpleNamespace(rel_path=r, usable=True, problem=None) for r in [*layout, "new.mp4"]]
    return folder, records


def test_queue_orders_by_uncertainty(library):
    folder, records = library
    queue = V.review_queue(folder, records=records)
    order = [it.rel_path for it in queue]
    assert order == ["unknown.mp4", "low.mp4", "retried.mp4"]  # sure.mp4 and new.mp4 have nothing to review
    unknown = queue[0]
    assert {r.field for r in unknown.reasons if r.kind is V.ReasonKind.UNKNOWN} == {"setting.environment",
                                                                                   "setting.place"}
    assert any(r.kind is V.ReasonKind.MEDIUM_CONFIDENCE for r in unknown.reasons)
    assert queue[2].reasons[0].kind is V.ReasonKind.RETRIED and "2 attempts failed" in queue[2].reasons[0].text
    assert len(V.review_queue(folder, records=records, include_settled=True)) == 4


def test_disagreements_with_other_answers_rank_first(library):
    folder, records = library
    other = answer(subjects=[{"species": "dog", "count": 2}], people_present=True)
    queue = V.review_queue(folder, records=records, alternatives={"sure.mp4": [other]})
    top = queue[0]
    assert top.rel_path == "sure.mp4"
    assert {r.field for r in top.reasons} == {"subjects", "people_present"}


def test_confirming_removes_a_video_from_the_queue_and_the_form_shows_it(library):
    folder, records = library
    form = V.review_form(folder, "unknown.mp4")
    env = {f.name: f for f in form.fields}["setting.environment"]
    assert env.kind == "enum" and "outdoor" in env.options and env.value == "unknown" and not env.verified
    kinds = {f.name: f for f in form.fields}
    assert kinds["subjects"].kind == "table" and kinds["tags"].kind == "list"  # fitted widgets, no raw JSON
    assert [(c.name, c.kind) for c in kinds["notable_moments"].columns] == [("time_s", "number"),
                                                                          ("description", "text")]
    assert kinds["notable_moments"].time_column == "time_s"
    gaia.Folder(folder).save_review("unknown.mp4", {"setting.environment": "outdoor", "setting.place": "garden",
                                          "confidence": "high"}, note="looked at the clip")
    form = V.review_form(folder, "unknown.mp4")
    env = {f.name: f for f in form.fields}["setting.environment"]
    assert env.value == "outdoor" and env.machine_value == "unknown" and env.verified
    assert form.note == "looked at the clip" and form.verified_at
    assert "unknown.mp4" not in [it.rel_path for it in V.review_queue(folder, records=records)]
    assert read_sidecar(folder / "unknown.mp4")["analysis"]["setting"]["environment"] == "unknown"


def test_save_review_refuses_values_outside_the_schema(library):
    folder, _ = library
    with pytest.raises(L.LabelError, match=r"setting\.environment"):
        gaia.Folder(folder).save_review("low.mp4", {"setting.environment": "underwater"})
    assert L.read_verified(folder / "low.mp4") is None
