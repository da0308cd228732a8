"""The levers' runs: a likely-empty sample measured against the emulator, the Wilson interval, the cascade's rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gaia
from gaia._cli import main
from gaia.labels import effective_analysis
from gaia.pricing.levers import measured_misses, wilson
from gaia.prompts import default_profile
from gaia.runs.escalation import has_subject, uncertain
from gaia.runs.levers import spread_sample
from gaia.sidecar import read_sidecar
from tests.media.empty_clips import trap_folder


def test_wilson_interval_matches_the_textbook_values() -> None:
    lo, hi = wilson(1, 12)
    assert lo == pytest.approx(0.0149, abs=5e-4) and hi == pytest.approx(0.3539, abs=5e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=5e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_spread_sample_takes_evenly_from_all() -> None:
    items = [f"{i}" for i in range(10)]
    assert spread_sample(items, 3) == ["1", "5", "8"]
    assert spread_sample(items[:2], 5) == ["0", "1"]


def test_uncertain_reads_its_rules_from_the_schema() -> None:
    schema = default_profile().schema
    sure = {"confidence": "high", "subjects": [{"species": "red fox"}], "tags": ["fox"]}
    assert uncertain(sure, schema) is None and has_subject(sure, schema)
    assert uncertain({**sure, "confidence": "low"}, schema) == "low confidence"
    assert uncertain({**sure, "subjects": [{"species": "unknown mammal"}]}, schema) == (
        "species unknown while a subject is present")
    assert uncertain({**sure, "tags": ["frames-disagree"]}, schema) == "the frames disagree"
    assert not has_subject({"subjects": [], "tags": ["no-animals"]}, schema)
    assert uncertain(None, schema) == "no usable first answer"


def test_empty_sample_sends_the_likely_empty_clips_and_keeps_the_miss_rate(tmp_path: Path, api_env,
                                                                         capsys: pytest.CaptureFixture) -> None:
    folder = trap_folder(tmp_path / "trap", extract=False)
    f = gaia.Folder(folder)
    f.set_video_excluded("wind.mp4", True)  # excluded by the user: the sample checks exactly these
    assert main(["empty-sample", str(folder), "--yes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["likely_empty"] == 2 and doc["miss_rate"]["sampled"] == 2
    assert not (folder / "fox.gaia.json").exists()  # only the likely-empty clips were sent
    schema = default_profile().schema
    had = sorted(p.name for p in (folder / "wind.mp4", folder / "light.mp4")
                 if has_subject(effective_analysis(read_sidecar(p)), schema))
    assert sorted(doc["miss_rate"]["videos_with_subject"]) == had
    saved = measured_misses(folder)
    assert saved is not None and saved.sampled == 2 and saved.with_subject == len(had)
    lo, hi = saved.interval
    assert lo <= saved.rate <= hi
