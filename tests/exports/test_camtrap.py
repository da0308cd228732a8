"""gaia.exports.camtrap: a Camtrap DP 1.0 package that frictionless validates, with verified values marked human."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from gaia import labels as L
from gaia.exports import camtrap as C
from gaia.sidecar import write_sidecar

pytest.importorskip("frictionless")

FOX = {"summary": "Two foxes walk past.", "people_present": False,
       "subjects": [{"species": "red fox", "scientific_name": "Vulpes vulpes", "count": 2, "description": ""}],
       "behaviours": [{"behaviour": "walking", "subject": "red fox", "start_s": 0.5, "end_s": 2.0},
                      {"behaviour": "sniffing", "subject": "red fox", "start_s": 2.5, "end_s": 3.0}],
       "tags": ["fox"]}
EMPTY = {"summary": "Leaves move; no animal.", "people_present": True, "subjects": [], "behaviours": [], "tags": []}


def rec(folder: Path, rel: str, duration: float = 4.0) -> SimpleNamespace:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"video")
    return SimpleNamespace(rel_path=rel, usable=True, duration=duration, mtime_ns=path.stat().st_mtime_ns)


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list]:
    folder = tmp_path / "traps"
    records = [rec(folder, "north/fox.mp4"), rec(folder, "north/empty.MOV"), rec(folder, "south/new.mkv"),
               rec(folder, "root.mp4")]
    run = {"model": "claude-haiku-4-5", "analysed_at": "2026-11-24T10:00:00+00:00"}
    write_sidecar(folder / "north/fox.mp4", {"analysis": FOX, "run": run})
    write_sidecar(folder / "north/empty.MOV", {"analysis": EMPTY, "run": run})
    write_sidecar(folder / "root.mp4", {"analysis": {**FOX, "subjects": ["badger"]}, "run": run})
    return folder, records


def read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_package_validates_with_frictionless(library, tmp_path):
    folder, records = library
    out = tmp_path / "pkg"
    result = C.export_camtrap_dp(folder, out, records=records, default=C.CamtrapDeployment(51.05, 3.72))
    assert result.warnings == []
    assert result.counts == {"deployments": 3, "media": 4, "observations": 3}
    assert C.validate_camtrap_dp(out) == []
    desc = json.loads((out / "datapackage.json").read_text())
    assert desc["profile"] == C.PROFILE_URL
    assert [r["schema"] for r in desc["resources"]] == [C.schema_url(t) for t in ("deployments", "media",
                                                                                   "observations")]
    assert desc["taxonomic"] == [{"scientificName": "Vulpes vulpes"}]
    for table in ("deployments", "media", "observations"):
        with (out / f"{table}.csv").open() as fh:
            assert next(csv.reader(fh)) == [f["name"] for f in C.TABLES[table]]


def test_observations_are_machine_made_until_a_person_verifies(library, tmp_path):
    folder, records = library
    out = tmp_path / "pkg"
    C.export_camtrap_dp(folder, out, records=records, default=C.CamtrapDeployment(51.05, 3.72))
    obs = {o["observationID"]: o for o in read(out / "observations.csv")}
    fox = obs["north/fox.mp4#1"]
    assert fox["observationType"] == "animal" and fox["scientificName"] == "Vulpes vulpes" and fox["count"] == "2"
    assert fox["behavior"] == "walking|sniffing" and fox["observationTags"] == "vernacularName:red fox"
    assert fox["classificationMethod"] == "machine" and fox["classifiedBy"] == "claude-haiku-4-5"
    assert fox["classificationTimestamp"] == "2026-11-24T10:00:00Z" and fox["deploymentID"] == "north"
    assert obs["north/empty.MOV#human"]["observationType"] == "human"
    assert obs["root.mp4#1"]["observationTags"] == "vernacularName:badger"
    assert obs["root.mp4#1"]["deploymentID"] == C.ROOT_DEPLOYMENT
    assert "south/new.mkv" in {m["mediaID"] for m in read(out / "media.csv")}  # media without an answer
    # A person corrects the count and species: the export carries their values, marked human.
    L.save_verified(folder / "north/fox.mp4", {"subjects": [
        {"species": "red fox", "scientific_name": "Vulpes vulpes", "count": 3, "description": "a vixen and cubs"}]})
    C.export_camtrap_dp(folder, out, records=records, default=C.CamtrapDeployment(51.05, 3.72))
    fox = {o["observationID"]: o for o in read(out / "observations.csv")}["north/fox.mp4#1"]
    assert fox["count"] == "3" and fox["classificationMethod"] == "human" and fox["classifiedBy"] == "human"
    assert C.validate_camtrap_dp(out) == []


def test_missing_coordinates_are_named_and_fail_validation(library, tmp_path):
    folder, records = library
    out = tmp_path / "pkg"
    result = C.export_camtrap_dp(folder, out, records=records,
                                 deployments={"north": C.CamtrapDeployment(51.0, 3.7, "North gate")})
    assert len(result.warnings) == 2 and all("latitude" in w for w in result.warnings)
    problems = C.validate_camtrap_dp(out)
    assert problems and any("latitude" in p or "constraint" in p for p in problems)
    deps = {d["deploymentID"]: d for d in read(out / "deployments.csv")}
    assert deps["north"]["locationName"] == "North gate" and deps["north"]["latitude"] == "51.0"
