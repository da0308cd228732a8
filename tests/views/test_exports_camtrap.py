"""gaia.views.exports: the Camtrap DP package as a validated zip (the Results page's download) and in words."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from gaia import labels as L
from gaia.exports.camtrap import CamtrapDeployment
from gaia.exports.xmp import XmpResult
from gaia.sidecar import write_sidecar
from gaia.views import exports as V

FOX = {"summary": "A fox.", "people_present": False, "tags": ["fox"],
       "subjects": [{"species": "red fox", "scientific_name": "", "count": 1, "description": ""}]}


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list]:
    folder = tmp_path / "traps"
    (folder / "cam").mkdir(parents=True)
    video = folder / "cam" / "fox.mp4"
    video.write_bytes(b"video")
    write_sidecar(video, {"analysis": FOX, "run": {"model": "claude-haiku-4-5"}})
    L.save_verified(video, {"subjects": [{"species": "badger", "count": 2}]})
    records = [SimpleNamespace(rel_path="cam/fox.mp4", usable=True, duration=3.0, mtime_ns=video.stat().st_mtime_ns)]
    return folder, records


def test_zip_holds_a_package_that_validates_and_carries_the_verified_values(library):
    folder, records = library
    out = V.camtrap_zip(folder, CamtrapDeployment(51.05, 3.72, "Garden"), records=records)
    assert out.validated and out.problems == ()
    assert "it validates" in V.camtrap_text(out) and "1 observations" in V.camtrap_text(out)
    with zipfile.ZipFile(io.BytesIO(out.zip_bytes)) as zf:
        names = set(zf.namelist())
        assert {"camtrap-dp/datapackage.json", "camtrap-dp/deployments.csv", "camtrap-dp/media.csv",
                "camtrap-dp/observations.csv"} <= names
        obs = list(csv.DictReader(io.StringIO(zf.read("camtrap-dp/observations.csv").decode())))
        deps = list(csv.DictReader(io.StringIO(zf.read("camtrap-dp/deployments.csv").decode())))
    assert obs[0]["observationTags"] == "vernacularName:badger" and obs[0]["count"] == "2"
    assert obs[0]["classificationMethod"] == "human"
    assert deps[0]["latitude"] == "51.05" and deps[0]["locationName"] == "Garden"


def test_without_a_place_the_package_is_written_but_does_not_validate(library, tmp_path):
    folder, records = library
    out = V.camtrap_package(folder, tmp_path / "dp", CamtrapDeployment(), records=records)
    assert (tmp_path / "dp" / "datapackage.json").is_file()
    assert out.problems and "does not validate" in V.camtrap_text(out)


def test_xmp_sentence():
    r = XmpResult(written=[Path("a.mp4.xmp")], skipped=[("b.mp4", "no analysis yet")], problems=[])
    assert V.xmp_text(r) == "1 XMP sidecar(s) written beside the videos, 1 video(s) without an answer skipped."
