"""``gaia export``: every format writes the effective answer, with what a person verified."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest

from gaia import labels as L
from gaia._cli import main
from gaia.media.probe import probe_file
from gaia.sidecar import write_sidecar
from gaia.views import exports as V

ANSWER = {"summary": "A dog digs in the garden.", "tags": ["dog", "digging"], "confidence": "low",
          "subjects": [{"species": "dog", "scientific_name": "Canis familiaris", "count": 1, "description": ""}]}
CORRECTED = [{"species": "red fox", "scientific_name": "Vulpes vulpes", "count": 1, "description": ""}]


@pytest.fixture
def folder(make_folder):
    root = make_folder({"cam1/a.mp4": "testsrc", "b.mp4": "testsrc"})
    write_sidecar(root / "cam1/a.mp4", {"analysis": ANSWER, "run": {"model": "claude-haiku-4-5",
                                                                    "analysed_at": "2026-11-24T10:00:00+00:00"}})
    L.save_verified(root / "cam1/a.mp4", {"subjects": CORRECTED, "tags": ["fox", "digging"]}, note="it is a fox")
    return root


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "example:" in capsys.readouterr().out


def test_csv_and_jsonl_carry_verified_values(folder, tmp_path, capsys):
    assert main(["export", str(folder), "--format", "csv"]) == 0
    rows = {r["video"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["cam1/a.mp4"]["species"] == '["red fox"]' and rows["cam1/a.mp4"]["tags"] == '["fox", "digging"]'
    assert rows["cam1/a.mp4"]["verified"] == '["subjects", "tags"]' and rows["b.mp4"]["status"] == "not analysed"
    out = tmp_path / "out" / "answers.jsonl"
    assert main(["export", str(folder), "--format", "jsonl", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["analysis"]["subjects"] == CORRECTED
    assert lines[0]["verified"]["note"] == "it is a fox" and lines[0]["verified"]["by"] == "human"


def test_xmp_carries_verified_values(folder, capsys):
    assert main(["export", str(folder), "--format", "xmp", "--naming", "stem"]) == 0
    assert "1 XMP sidecars written" in capsys.readouterr().out
    text = (folder / "cam1" / "a.xmp").read_text()
    assert "Species|red fox" in text and "Species|dog" not in text
    assert main(["export", str(folder), "--format", "xmp", "--out", "x"]) == 2
    exiftool = shutil.which("exiftool")
    if exiftool:
        got = json.loads(subprocess.run([exiftool, "-j", str(folder / "cam1" / "a.xmp")], capture_output=True,
                                        text=True, check=True).stdout)[0]
        assert "red fox" in got["Subject"] and got["Description"] == ANSWER["summary"]


def test_camtrap_dp_validates_and_marks_verified_as_human(folder, tmp_path, capsys):
    out = tmp_path / "dp"
    args = ["export", str(folder), "--format", "camtrap-dp", "--out", str(out)]
    assert main(args) == 1  # no coordinates: written, but it does not validate, and says why
    printed = capsys.readouterr().out
    assert "latitude" in printed and "deployments.csv row 2, field latitude: '' is required but empty" in printed
    assert main([*args, "--latitude", "51.05", "--longitude", "3.72"]) == 0
    assert "it validates" in capsys.readouterr().out
    obs = list(csv.DictReader((out / "observations.csv").open()))
    assert len(obs) == 1 and obs[0]["scientificName"] == "Vulpes vulpes"
    assert obs[0]["classificationMethod"] == "human" and obs[0]["deploymentID"] == "cam1"


def test_verified_labels_survive_every_format_exactly(folder, tmp_path, capsys):
    """``Straße``, ``Red Fox`` and a tag holding the old CSV separator come back as written, in every format."""
    tags = ["Straße", "Red Fox", "a; b", 'quote " and, comma']
    L.save_verified(folder / "cam1/a.mp4", {"tags": tags, "subjects": [
        {"species": "Red Fox", "scientific_name": "Vulpes vulpes", "count": 1, "description": ""},
        {"species": "Straße; Katze", "scientific_name": "", "count": 1, "description": ""}]})
    species = ["Red Fox", "Straße; Katze"]
    assert main(["export", str(folder), "--format", "csv", "--out", str(tmp_path / "a.csv")]) == 0
    row = next(r for r in csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")) if r["video"] == "cam1/a.mp4")
    assert V.split_csv_list(row["tags"]) == tags and V.split_csv_list(row["species"]) == species
    assert main(["export", str(folder), "--format", "jsonl", "--out", str(tmp_path / "a.jsonl")]) == 0
    line = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8"))
    assert line["analysis"]["tags"] == tags and [s["species"] for s in line["analysis"]["subjects"]] == species
    assert main(["export", str(folder), "--format", "camtrap-dp", "--out", str(tmp_path / "dp"),
                 "--latitude", "51.05", "--longitude", "3.72"]) == 0
    obs = list(csv.DictReader((tmp_path / "dp" / "observations.csv").open(encoding="utf-8")))
    assert [o["observationTags"] for o in obs] == [f"vernacularName:{s}" for s in species]
    assert main(["export", str(folder), "--format", "xmp"]) == 0
    capsys.readouterr()
    exiftool = shutil.which("exiftool")
    if exiftool:
        got = json.loads(subprocess.run([exiftool, "-j", "-XMP-dc:Subject", str(folder / "cam1" / "a.mp4.xmp")],
                                        capture_output=True, text=True, check=True).stdout)[0]
        assert set(got["Subject"]) == {*tags, *species}
    else:
        text = (folder / "cam1" / "a.mp4.xmp").read_text(encoding="utf-8")
        assert "<rdf:li>Straße</rdf:li>" in text and "<rdf:li>Red Fox</rdf:li>" in text


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed (scripts/test.sh installs it)")
def test_embed_writes_xmp_into_mp4_and_mov_only_and_a_failed_write_leaves_the_video(make_folder, capsys):
    root = make_folder({"a.mp4": "testsrc", "b.mov": "mov", "c.avi": "avi", "broken.mp4": "testsrc"})
    (root / "broken.mp4").write_bytes(b"this is not an MP4 file at all" * 10)
    for rel in ("a.mp4", "b.mov", "c.avi", "broken.mp4"):
        write_sidecar(root / rel, {"analysis": {**ANSWER, "tags": ["Straße", "a; b"]}, "run": {"model": "m"}})
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.iterdir() if p.is_file()}
    assert main(["export", str(root), "--format", "xmp"]) == 0  # never into the video by default
    assert all((root / n).read_bytes() == b for n, (b, _) in before.items() if not n.endswith(".xmp"))
    assert main(["export", str(root), "--format", "xmp", "--embed"]) == 1  # AVI refused, broken MP4 failed
    out = capsys.readouterr().out
    assert "c.avi: XMP can be written into MP4 and MOV videos only; c.avi is AVI" in out
    assert "broken.mp4: exiftool could not write XMP into broken.mp4" in out and "the video is untouched" in out
    assert (root / "c.avi").read_bytes() == before["c.avi"][0]
    assert (root / "broken.mp4").read_bytes() == before["broken.mp4"][0]
    assert not [p.name for p in root.iterdir() if p.name.startswith(".") and "gaia-embed" in p.name]
    for name in ("a.mp4", "b.mov"):
        got = json.loads(subprocess.run(["exiftool", "-j", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject",
                                         str(root / name)], capture_output=True, text=True, check=True).stdout)[0]
        assert set(got["Subject"]) >= {"Straße", "a; b", "dog"} and "Species|dog" in got["HierarchicalSubject"]
        assert (root / name).stat().st_mtime_ns == before[name][1]
        assert probe_file(root / name).problem is None  # still a video that plays
        assert (root / name).read_bytes() != before[name][0]


def test_embed_without_exiftool_says_so_and_touches_nothing(make_folder, monkeypatch, capsys):
    root = make_folder({"a.mp4": "testsrc"})
    write_sidecar(root / "a.mp4", {"analysis": ANSWER, "run": {"model": "m"}})
    video = (root / "a.mp4").read_bytes()
    monkeypatch.setattr("gaia.exports.xmp.shutil.which", lambda name: None)
    assert main(["export", str(root), "--format", "xmp", "--embed"]) == 1
    assert "writing XMP into a video needs exiftool, which is not installed" in capsys.readouterr().out
    assert (root / "a.mp4").read_bytes() == video and (root / "a.mp4.xmp").is_file()
    assert main(["export", str(root), "--format", "csv", "--embed"]) == 2
