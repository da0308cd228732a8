"""gaia.exports.camtrap: a Camtrap DP 1.0 package the official schemas validate, with verified values marked human."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from gaia import labels as L
from gaia.exports import camtrap as C
from gaia.media.probe import ffmpeg_exe
from gaia.sidecar import write_sidecar

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


def test_package_validates_against_the_official_schemas(library, tmp_path):
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
    assert "deployments.csv row 2, field latitude: '' is required but empty" in problems
    deps = {d["deploymentID"]: d for d in read(out / "deployments.csv")}
    assert deps["north"]["locationName"] == "North gate" and deps["north"]["latitude"] == "51.0"


# The official Camtrap DP 1.0 files, as published at tag 1.0 of github.com/tdwg/camtrap-dp
# (commit 02ce57229209dd65249113a193dbad7c84b8d5da).
OFFICIAL_SHA256 = {
    "LICENSE": "62fbe02066e064542927a95d4f2bfe16e9337a0f624bba57693c2d42ae364342",
    "camtrap-dp-profile.json": "aba959d171f710c487d26b632a7f545180c612cbf557a80896ac92527185a8a8",
    "deployments-table-schema.json": "4279fb40a4b4729bd3155afaf289b9435f42bf1b25dcb93ac6fea0d8082981c7",
    "media-table-schema.json": "71367732c35183750dcaece92ed183b807a29b91d06d3ef444b70aabd2399150",
    "observations-table-schema.json": "ecfc59e831fd833c2369a55b64706bed8825ffd9ae350a81983cf5f5bc92a36c",
}


def test_the_vendored_schemas_are_the_published_ones():
    assert set(C.VENDORED) == set(OFFICIAL_SHA256)
    for name, digest in OFFICIAL_SHA256.items():
        assert hashlib.sha256(C._vendored(name)).hexdigest() == digest, name
    assert "MIT License" in C._vendored("LICENSE").decode()
    # The columns GAIA writes are the official ones, in order, with the official filePath pattern.
    assert [f["name"] for f in C.TABLES["media"]] == [f["name"] for f in C.table_schema("media")["fields"]]
    assert C._field("media", "filePath")["constraints"]["pattern"] == "^(?=^[^./~])(^((?!\\.{2}).)*$).*$"


def clip(path: Path, creation_time: str | None = None, *extra: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = [*(["-metadata", f"creation_time={creation_time}"] if creation_time else []), *extra]
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=green:size=64x48:rate=5:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", *meta, str(path)], check=True)
    return path


@pytest.fixture
def awkward(tmp_path: Path) -> Path:
    """Names the official filePath pattern and URL readers find hard: ``..`` in a name, a space, non-ASCII."""
    folder = tmp_path / "traps"
    clip(folder / "north gate" / "fox..night.mp4", "2024-05-01T06:30:00Z")
    clip(folder / "Straße Süd" / "dachs.mp4")
    run = {"model": "claude-haiku-4-5", "analysed_at": "2026-11-24T10:00:00+00:00"}
    moments = {**FOX, "behaviours": [{"behaviour": "trotting", "subject": "red fox", "start_s": 0.4, "end_s": 1.2}]}
    write_sidecar(folder / "north gate" / "fox..night.mp4", {"analysis": moments, "run": run})
    write_sidecar(folder / "Straße Süd" / "dachs.mp4", {"analysis": {
        **FOX, "subjects": ["Dachs"], "behaviours": [], "notable_moments": [{"time_s": 1.0, "description": "x"}]},
        "run": run})
    return folder


def test_awkward_names_validate_with_the_recorded_time(awkward, tmp_path):
    out = tmp_path / "pkg"
    result = C.export_camtrap_dp(awkward, out, default=C.CamtrapDeployment(51.05, 3.72))
    assert result.warnings == [] and len(result.notes) == 1 and "Straße Süd" in result.notes[0]
    assert C.validate_camtrap_dp(out) == []
    media = {m["mediaID"]: m for m in read(out / "media.csv")}
    fox = media["north gate/fox..night.mp4"]
    assert fox["timestamp"] == "2024-05-01T06:30:00Z"  # the container's creation_time, not the file's
    # Outside the package: a file URL of the very video, its dots percent-encoded so no '..' remains.
    assert fox["filePath"].startswith("file:///") and fox["filePath"].endswith("/north%20gate/fox%2E%2Enight.mp4")
    assert ".." not in fox["filePath"]
    assert "Stra%C3%9Fe%20S%C3%BCd/dachs.mp4" in media["Straße Süd/dachs.mp4"]["filePath"]
    deps = {d["deploymentID"]: d for d in read(out / "deployments.csv")}
    assert deps["north gate"]["timestampIssues"] == "false" and deps["Straße Süd"]["timestampIssues"] == "true"
    badger_time = datetime.strptime(media["Straße Süd/dachs.mp4"]["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
    assert abs(badger_time.timestamp() - (awkward / "Straße Süd/dachs.mp4").stat().st_mtime) < 1
    obs = {o["mediaID"]: o for o in read(out / "observations.csv")}
    # The event spans the moments the answer places the subject at (behaviour 0.4-1.2 s; a moment at 1 s).
    assert (obs["north gate/fox..night.mp4"]["eventStart"], obs["north gate/fox..night.mp4"]["eventEnd"]) == (
        "2024-05-01T06:30:00Z", "2024-05-01T06:30:02Z")
    dachs = obs["Straße Süd/dachs.mp4"]
    when = {k: datetime.strptime(dachs[k], "%Y-%m-%dT%H:%M:%S%z") for k in ("eventStart", "eventEnd")}
    assert (when["eventStart"] - badger_time).total_seconds() == 1 == (when["eventEnd"] - badger_time).total_seconds()
    assert dachs["observationTags"] == "vernacularName:Dachs"


def test_a_package_in_the_video_folder_uses_paths_relative_to_it(awkward):
    C.export_camtrap_dp(awkward, awkward, default=C.CamtrapDeployment(51.05, 3.72))
    assert C.validate_camtrap_dp(awkward) == []
    paths = {m["mediaID"]: m["filePath"] for m in read(awkward / "media.csv")}
    assert paths["Straße Süd/dachs.mp4"] == "Straße Süd/dachs.mp4"  # relative, as the standard defines it
    assert paths["north gate/fox..night.mp4"].startswith("file:///")  # '..' has no relative form the pattern allows


def test_a_broken_package_names_the_row_and_the_field(library, tmp_path):
    folder, records = library
    out = tmp_path / "pkg"
    C.export_camtrap_dp(folder, out, records=records, default=C.CamtrapDeployment(51.05, 3.72))
    rows = list(csv.reader((out / "media.csv").open(encoding="utf-8")))
    rows[2][rows[0].index("filePath")] = "north/../fox.mp4"
    rows[3][rows[0].index("timestamp")] = "2024-05-01 06:30"
    with (out / "media.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    obs = list(csv.reader((out / "observations.csv").open(encoding="utf-8")))
    obs[1][obs[0].index("observationType")] = "fox"
    obs[2][obs[0].index("deploymentID")] = "nowhere"
    with (out / "observations.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(obs)
    problems = C.validate_camtrap_dp(out)
    assert any(p.startswith("media.csv row 3, field filePath: 'north/../fox.mp4' does not match") for p in problems)
    assert any(p.startswith("media.csv row 4, field timestamp: '2024-05-01 06:30' is not a date") for p in problems)
    assert any(p.startswith("observations.csv row 2, field observationType: 'fox' is not one of") for p in problems)
    assert any(p.startswith("observations.csv row 3, field deploymentID: 'nowhere' is not a deployments")
               for p in problems)
    desc = json.loads((out / "datapackage.json").read_text())
    del desc["project"]["samplingDesign"]
    (out / "datapackage.json").write_text(json.dumps(desc))
    assert any("datapackage.json, project: 'samplingDesign' is a required property" in p
               for p in C.validate_camtrap_dp(out))


def test_frictionless_agrees_with_the_official_table_schemas(awkward, tmp_path):
    """A second, independent reading: frictionless (when installed) with the vendored official schemas."""
    frictionless = pytest.importorskip("frictionless")
    out = tmp_path / "pkg"
    C.export_camtrap_dp(awkward, out, default=C.CamtrapDeployment(51.05, 3.72))
    desc = json.loads((out / "datapackage.json").read_text())
    desc.pop("profile")
    for res in desc["resources"]:
        res["schema"] = C.table_schema(res["name"])
    report = frictionless.Package(desc, basepath=str(out)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])


def test_a_phones_local_time_keeps_its_time_zone(tmp_path):
    """QuickTime's creationdate carries the camera's offset; it wins over the UTC creation_time."""
    folder = tmp_path / "phone"
    clip(folder / "walk.mov", "2024-05-01T06:30:00Z", "-movflags", "use_metadata_tags",
         "-metadata", "com.apple.quicktime.creationdate=2024-05-01T08:30:00+0200")
    assert C.recorded_at(folder / "walk.mov").isoformat() == "2024-05-01T08:30:00+02:00"
    out = tmp_path / "pkg"
    C.export_camtrap_dp(folder, out, default=C.CamtrapDeployment(51.05, 3.72))
    assert read(out / "media.csv")[0]["timestamp"] == "2024-05-01T08:30:00+02:00"
    assert C.validate_camtrap_dp(out) == []
