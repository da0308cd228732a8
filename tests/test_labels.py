"""gaia.labels: human-verified fields live beside the analysis, overlay it, and survive later runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gaia import labels as L
from gaia.prompts import default_schema
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.runs.status import refresh_status
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, sidecar_path, write_sidecar

ANALYSIS = {"summary": "A cat sleeps.", "tags": ["cat", "sleeping"],
            "subjects": [{"species": "dog", "scientific_name": "", "count": 1, "description": ""}],
            "setting": {"environment": "indoor", "place": "sofa", "lighting": "day", "description": ""},
            "confidence": "low"}


@pytest.fixture
def video(tmp_path: Path) -> Path:
    v = tmp_path / "clip.mp4"
    v.touch()
    write_sidecar(v, {"analysis": ANALYSIS, "run": {"model": "m"}})
    return v


def test_verified_overlays_the_analysis_and_keeps_it(video):
    cat = [{"species": "domestic cat", "scientific_name": "Felis catus", "count": 1, "description": ""}]
    stored = L.save_verified(video, {"subjects": cat, "setting.environment": "outdoor"}, note="checked",
                             schema=default_schema())
    assert stored.by == "human" and stored.at and stored.note == "checked"
    data = read_sidecar(video)
    assert data["analysis"] == ANALYSIS  # the machine's answer is untouched
    assert data["verified"]["fields"]["setting.environment"] == "outdoor"
    eff = L.effective_analysis(data)
    assert eff["subjects"] == cat and eff["setting"]["environment"] == "outdoor"
    assert eff["setting"]["place"] == "sofa" and eff["summary"] == "A cat sleeps."
    # Merging: a second save adds to the first and keeps the note.
    L.save_verified(video, {"confidence": "high"})
    v = L.read_verified(video)
    assert set(v.fields) == {"subjects", "setting.environment", "confidence"} and v.note == "checked"


def test_bad_values_are_refused_with_a_message_and_nothing_written(video):
    before = sidecar_path(video).read_text()
    with pytest.raises(L.LabelError, match="confidence") as err:
        L.save_verified(video, {"confidence": "sure", "colour": "red"}, schema=default_schema())
    assert "'colour' is not a field" in str(err.value)
    assert sidecar_path(video).read_text() == before


def test_labels_without_an_analysis_are_the_answer(tmp_path):
    v = tmp_path / "new.mp4"
    v.touch()
    L.save_verified(v, {"tags": ["fox"]})
    assert L.effective_analysis(read_sidecar(v)) == {"tags": ["fox"]}
    assert L.effective_analysis(None) is None


def test_a_later_run_never_overwrites_verified_fields(tmp_path, fake_ksets, anthropic_client):
    """Verify a field, then record a new run's answer through the real batch path (emulator)."""
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    L.save_verified(folder / "a.mp4", {"tags": ["human-checked"], "confidence": "high"}, note="by hand")
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert plan.ok and len(plan.requests) == 1  # labels alone do not count as analysed
    assert submit(folder, plan, anthropic_client).ok
    deadline = time.monotonic() + 15
    while any(s.running for s in refresh_status(folder, anthropic_client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    got = retrieve(folder, anthropic_client)
    assert got.written == 1
    data = read_sidecar(folder / "a.mp4")
    assert isinstance(data["analysis"], dict) and data["run"]["batch_id"]
    assert data["verified"]["fields"] == {"tags": ["human-checked"], "confidence": "high"}
    assert data["verified"]["note"] == "by hand"
    eff = L.effective_analysis(data)
    assert eff["tags"] == ["human-checked"] and eff["confidence"] == "high"
    assert eff["summary"] == data["analysis"]["summary"]
    json.dumps(eff)  # JSON-ready
