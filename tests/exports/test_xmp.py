"""gaia.exports.xmp: XMP sidecars read back by exiftool, merged without losing what others wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.parsers.expat
from dataclasses import replace
from pathlib import Path

import pytest

from gaia import labels as L
from gaia.exports import xmp as X
from gaia.folder import Folder
from gaia.sidecar import write_sidecar

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool is not installed (Debian: libimage-exiftool-perl; scripts/test.sh installs it)")

ANALYSIS = {
    "summary": "A red fox crosses the garden at night.",
    "subjects": [{"species": "red fox", "scientific_name": "Vulpes vulpes", "count": 1, "description": ""}],
    "behaviours": [{"behaviour": "walking", "subject": "red fox", "start_s": 1.0, "end_s": 3.0}],
    "setting": {"environment": "outdoor", "place": "garden", "lighting": "infrared", "description": ""},
    "tags": ["fox", "night", "trail-camera"],
}


def exif(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-XMP:all", str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)[0]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    for rel in ("fox.mp4", "sub/cat.MOV"):
        v = root / rel
        v.parent.mkdir(parents=True, exist_ok=True)
        v.write_bytes(b"not really a video")
    write_sidecar(root / "fox.mp4", {"analysis": ANALYSIS, "run": {"model": "claude-haiku-4-5",
                                                                   "analysed_at": "2026-11-24T10:00:00+00:00"}})
    write_sidecar(root / "sub/cat.MOV", {"analysis": {"summary": "A cat sleeps.", "tags": ["cat"],
                                                      "subjects": [{"species": "domestic cat", "count": 1}]},
                                         "run": {"model": "claude-sonnet-4-5"}})
    (root / "new.mp4").write_bytes(b"x")
    return root


def test_paths_follow_digikam_by_default_and_stem_as_option(tmp_path):
    assert X.xmp_path(tmp_path / "clip.mp4").name == "clip.mp4.xmp"
    assert X.xmp_path(tmp_path / "clip.mp4", "stem").name == "clip.xmp"
    with pytest.raises(ValueError, match="naming"):
        X.xmp_path(tmp_path / "clip.mp4", "sideways")


@needs_exiftool
def test_exiftool_reads_summary_flat_and_hierarchical_tags(folder):
    video_bytes = (folder / "fox.mp4").read_bytes()
    result = X.write_xmp_for(folder)
    assert sorted(p.name for p in result.written) == ["cat.MOV.xmp", "fox.mp4.xmp"]
    assert result.problems == []
    assert (folder / "fox.mp4").read_bytes() == video_bytes  # the video is never written
    for path in result.written:
        tags = exif(path)
        assert tags["Description"] and tags["Subject"] and tags["HierarchicalSubject"] and tags["TagsList"], tags
    fox = exif(folder / "fox.mp4.xmp")
    assert fox["Description"] == ANALYSIS["summary"]
    assert set(as_list(fox["Subject"])) == {"fox", "night", "trail-camera", "red fox"}
    hier = as_list(fox["HierarchicalSubject"])
    assert "Species|red fox" in hier and "Behaviour|walking" in hier and "Tags|night" in hier
    assert "Species/red fox" in as_list(fox["TagsList"])
    assert fox["Model"] == "claude-haiku-4-5" and fox["Generator"] == "GAIA"
    assert fox["DigitalSourceType"] == X.IPTC_TRAINED_ALGORITHMIC


@needs_exiftool
def test_a_field_a_person_wrote_survives_a_rewrite(folder):
    path = folder / "fox.mp4.xmp"
    # A person's XMP, written by exiftool itself: rating, own keywords, own hierarchy, title.
    subprocess.run([EXIFTOOL, "-q", "-o", str(path), "-XMP-xmp:Rating=4", "-XMP-dc:Subject=garden-cam",
                    "-XMP-dc:Title=Backyard", "-XMP-lr:HierarchicalSubject=Places|Home",
                    "-XMP-digiKam:TagsList=Places/Home"], check=True)
    X.write_xmp_for(folder, ["fox.mp4"])
    first = exif(path)
    # GAIA's answer changes (a person corrects the tags), then GAIA writes again.
    L.save_verified(folder / "fox.mp4", {"tags": ["fox", "rain"]})
    X.write_xmp_for(folder, ["fox.mp4"])
    again = exif(path)
    for tags in (first, again):
        assert tags["Rating"] == 4 and tags["Title"] == "Backyard"
        assert "garden-cam" in as_list(tags["Subject"])
        assert "Places|Home" in as_list(tags["HierarchicalSubject"])
        assert "Places/Home" in as_list(tags["TagsList"])
    assert "night" in as_list(first["Subject"]) and "night" not in as_list(again["Subject"])
    assert "rain" in as_list(again["Subject"]) and "Tags|rain" in as_list(again["HierarchicalSubject"])
    assert "Tags|night" not in as_list(again["HierarchicalSubject"]) and "Tags/night" not in as_list(again["TagsList"])
    assert as_list(again["VerifiedFields"]) == ["tags"]


def test_a_persons_description_is_kept_and_gaias_is_updated(folder):
    path = folder / "fox.mp4.xmp"
    X.write_xmp_for(folder, ["fox.mp4"])
    assert ANALYSIS["summary"] in path.read_text()
    L.save_verified(folder / "fox.mp4", {"summary": "Corrected: a fox and its cub."})
    X.write_xmp_for(folder, ["fox.mp4"])
    text = path.read_text()
    assert "Corrected: a fox and its cub." in text and ANALYSIS["summary"] not in text
    # A person overwrites the description in their photo manager: GAIA keeps theirs from now on.
    mine = text.replace('x-default">Corrected: a fox and its cub.<', 'x-default">My favourite fox<')
    assert mine != text
    path.write_text(mine)
    X.write_xmp_for(folder, ["fox.mp4"])
    assert "My favourite fox" in path.read_text()


def test_unparseable_xmp_is_left_alone_and_reported(folder):
    path = folder / "fox.mp4.xmp"
    path.write_text("<x:xmpmeta oops")
    result = X.write_xmp_for(folder, ["fox.mp4", "new.mp4"])
    assert result.written == [] and result.skipped == [("new.mp4", "no GAIA sidecar")]
    assert result.problems[0][0] == "fox.mp4" and "left as it was" in result.problems[0][1]
    assert path.read_text() == "<x:xmpmeta oops"


def test_stem_naming_and_the_retrieval_setting(folder):
    assert X.write_xmp_if_enabled(folder, ["fox.mp4"]) is None
    assert not (folder / "fox.mp4.xmp").exists()
    f = Folder(folder)
    f.save_settings(f.settings().__class__.from_dict({**f.settings().to_dict(), "xmp_on_retrieve": True,
                                                      "xmp_naming": "stem"}))
    result = X.write_xmp_if_enabled(folder, ["fox.mp4"])
    assert result is not None and [p.name for p in result.written] == ["fox.xmp"]


def camtrapr_columns(xmp: Path) -> dict[str, list[str]]:
    """What camtrapR makes of a file's hierarchical keywords: exiftool's text, split at ',' then at '|'
    (``metadataHierarchyDelimitor``), the first level naming the column and the second its value."""
    text = subprocess.run([EXIFTOOL, "-s3", "-HierarchicalSubject", str(xmp)], capture_output=True, text=True,
                          check=True).stdout.strip()
    columns: dict[str, list[str]] = {}
    for entry in (e.strip() for e in text.split(",")):
        levels = entry.split("|")
        columns.setdefault(levels[0], []).append(levels[1] if len(levels) > 1 else "")
    return columns


@needs_exiftool
def test_camtrapr_reads_category_and_value_and_a_root_is_a_setting(folder):
    X.write_xmp_for(folder, ["fox.mp4"])
    columns = camtrapr_columns(folder / "fox.mp4.xmp")
    assert columns["Species"] == ["red fox"] and columns["Behaviour"] == ["walking"]
    assert columns["Tags"] == ["fox", "night", "trail-camera"] and "GAIA" not in columns
    f = Folder(folder)
    f.save_settings(replace(f.settings(), xmp_root="GAIA|"))  # for those who keep GAIA's keywords apart
    X.write_xmp_for(folder, ["fox.mp4"])
    hier = as_list(exif(folder / "fox.mp4.xmp")["HierarchicalSubject"])
    assert "GAIA|Species|red fox" in hier and "Species|red fox" not in hier  # GAIA's own entries replaced
    assert "GAIA/Species/red fox" in as_list(exif(folder / "fox.mp4.xmp")["TagsList"])
    with pytest.raises(ValueError, match="'/'"):
        replace(f.settings(), xmp_root="GAIA/Video")


def test_an_earlier_versions_gaia_root_is_replaced_not_kept(folder):
    old = X.render_xmp(X.XmpContent("A fox.", ("fox",), (("Species", "Fox"),)), root="GAIA")
    (folder / "fox.mp4.xmp").write_bytes(old)
    X.write_xmp_for(folder, ["fox.mp4"])
    text = (folder / "fox.mp4.xmp").read_text()
    assert "GAIA|Species|Fox" not in text and "GAIA/Species/Fox" not in text and "Species|red fox" in text


LABELS = {**ANALYSIS, "subjects": [{"species": "Red Fox", "count": 1}, {"species": "Straße-Katze", "count": 1}],
          "tags": ["Straße", "Red Fox", "a; b", "x|y"]}


@needs_exiftool
def test_labels_keep_their_case_and_spelling(folder):
    write_sidecar(folder / "fox.mp4", {"analysis": LABELS, "run": {"model": "claude-haiku-4-5"}})
    X.write_xmp_for(folder, ["fox.mp4"])
    tags = exif(folder / "fox.mp4.xmp")
    assert set(as_list(tags["Subject"])) == {"Straße", "Red Fox", "a; b", "x|y", "Straße-Katze"}
    hier = as_list(tags["HierarchicalSubject"])
    assert "Species|Red Fox" in hier and "Tags|Straße" in hier and "Tags|x-y" in hier  # '|' separates levels


def test_control_characters_never_reach_the_xml(folder):
    """An answer holding control characters still gives XMP that expat (and lxml, exiftool) accept."""
    nasty = {**ANALYSIS, "summary": "A fox\x00 at\x01 night\x1b[31m.\tDone\r\n", "tags": ["fox\x07", "\x0bnight"],
             "subjects": [{"species": "red\x08 fox", "count": 1}]}
    write_sidecar(folder / "fox.mp4", {"analysis": nasty, "run": {"model": "claude-haiku-4-5\x0c"}})
    result = X.write_xmp_for(folder, ["fox.mp4"])
    assert result.problems == [] and result.written
    packet = (folder / "fox.mp4.xmp").read_bytes()
    xml.parsers.expat.ParserCreate().Parse(packet, True)  # raises ExpatError on any forbidden character
    text = packet.decode("utf-8")
    assert "A fox at night[31m.\tDone" in text and "<rdf:li>fox</rdf:li>" in text and "red fox" in text
    try:
        from lxml import etree
    except ImportError:
        pass
    else:
        etree.fromstring(packet, etree.XMLParser(recover=False))
    if EXIFTOOL:
        out = subprocess.run([EXIFTOOL, "-j", "-validate", "-warning", "-XMP:all", str(folder / "fox.mp4.xmp")],
                             capture_output=True, text=True, check=True)
        got = json.loads(out.stdout)[0]
        assert "Warning" not in got and "fox" in as_list(got["Subject"])
    # Merging into that file again works too (it parses as it was written).
    assert X.write_xmp_for(folder, ["fox.mp4"]).problems == []


def test_a_link_out_of_the_folder_is_refused_not_a_crash(folder, tmp_path):
    outside = tmp_path / "elsewhere" / "far.mp4"
    outside.parent.mkdir()
    outside.write_bytes(b"someone else's video")
    (folder / "far.mp4").symlink_to(outside)
    (folder / "near.mp4").symlink_to(folder / "fox.mp4")
    for name in ("far.mp4", "near.mp4"):
        write_sidecar(folder / name, {"analysis": ANALYSIS, "run": {"model": "m"}})
    result = X.write_xmp_for(folder)
    assert ("far.mp4", "it is a link to a file outside the folder; GAIA writes nothing for files outside the folder "
                       "it was given") in result.problems
    assert not (folder / "far.mp4.xmp").exists() and not outside.with_name("far.mp4.xmp").exists()
    assert (folder / "near.mp4.xmp").is_file() and (folder / "fox.mp4.xmp").is_file()
