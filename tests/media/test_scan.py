"""Folder scan and probe: records, every bad input's problem, odd names, collisions, the probe cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gaia
from gaia.media.keyframes import extract_keyframes
from gaia.media.probe import probe_file
from gaia.media.scan import FolderError, VideoRecord, check_folder, scan_folder
from gaia.settings import KeyframeSettings
from gaia.sidecar import write_sidecar


def _by_name(result: gaia.ScanResult) -> dict[str, VideoRecord]:
    return {r.rel_path: r for r in result.records}


def test_records_carry_the_facts_of_each_video(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "phone.mp4": "rotated", "late.mp4": "offset", "hd.mp4": "hd",
                          "vp9.webm": "webm", "clip.mkv": "mkv", "old.avi": "avi", "sound.mp4": "with_audio"})
    recs = _by_name(scan_folder(folder))
    a = recs["a.mp4"]
    assert a.usable and a.width == 320 and a.height == 240
    assert a.duration == pytest.approx(8.0, abs=0.1)
    assert a.fps == pytest.approx(25)
    assert a.codec == "h264"
    assert a.size == (folder / "a.mp4").stat().st_size
    assert a.sidecar == folder / "a.gaia.json" and a.sidecar_state == "none"
    # The phone clip is stored 320x180 with a 90-degree display matrix: displayed portrait.
    phone = recs["phone.mp4"]
    assert (phone.width, phone.height) == (180, 320)
    assert phone.rotation in (90, 270)
    assert recs["late.mp4"].start_time == pytest.approx(2.0, abs=0.05)
    assert (recs["hd.mp4"].width, recs["hd.mp4"].height) == (1280, 720)
    assert recs["vp9.webm"].codec == "vp9"
    assert recs["clip.mkv"].usable and recs["old.avi"].usable
    assert recs["sound.mp4"].has_audio and not a.has_audio


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("zero", "empty file (zero bytes)"),
        ("text", "not a video: the file holds text"),
        ("audio_only", "no video stream"),
        ("truncated", "damaged or incomplete"),
        ("badheader", "damaged or incomplete"),
    ],
)
def test_each_bad_input_gets_a_plain_problem(make_folder, kind, expected):
    folder = make_folder({"bad.mp4": kind, "good.mp4": "testsrc"})
    recs = _by_name(scan_folder(folder))
    assert recs["bad.mp4"].problem is not None
    assert recs["bad.mp4"].problem.startswith(expected)
    assert not recs["bad.mp4"].usable
    assert recs["good.mp4"].usable  # one bad file never stops the others


def test_audio_only_says_no_video_stream_not_a_misleading_decoder_error(make_folder):
    folder = make_folder({"song.mp4": "audio_only"})
    rec = scan_folder(folder).records[0]
    assert rec.problem == "no video stream (audio only)"


def test_unreadable_file_is_a_problem_not_a_crash(make_folder, monkeypatch):
    folder = make_folder({"locked.mp4": "testsrc", "ok.mp4": "testsrc"})
    locked = str(folder / "locked.mp4")
    real_access = os.access
    # Root reads everything, so deny access the way the OS would for another user.
    monkeypatch.setattr("gaia.media.probe.os.access", lambda p, m: False if str(p) == locked else real_access(p, m))
    recs = _by_name(scan_folder(folder))
    assert recs["locked.mp4"].problem == "unreadable: permission denied"
    assert recs["ok.mp4"].usable


def test_probe_of_a_missing_file_is_a_problem():
    assert probe_file(Path("/nonexistent/clip.mp4")).problem.startswith("file not found")


def test_recursive_any_case_extensions_and_skips(make_folder):
    folder = make_folder({
        "A.MP4": "testsrc", "sub/deeper/b.MoV": "mov", "c.Mkv": "mkv", "d.M4V": "testsrc",
        "e.mpeg": "testsrc", "f.MPG": "testsrc", ".hidden.mp4": "testsrc", ".private/x.mp4": "testsrc",
        ".gaia/y.mp4": "testsrc", "notes.txt": "text", "clip.mp4.part": "testsrc",
    })
    rels = [r.rel_path for r in scan_folder(folder).records]
    assert rels == sorted(["A.MP4", "c.Mkv", "d.M4V", "e.mpeg", "f.MPG", "sub/deeper/b.MoV"])


def test_odd_names_scan_and_map_to_their_own_sidecar(make_folder):
    names = ["my clip.mp4", "chien_été.mp4", "a.b.c.v2.mp4", "UPPER.MP4", "sub dir/nested clip.MOV"]
    folder = make_folder(dict.fromkeys(names, "testsrc"))
    recs = _by_name(scan_folder(folder))
    assert set(recs) == set(names)
    assert recs["a.b.c.v2.mp4"].sidecar == folder / "a.b.c.v2.gaia.json"
    assert recs["UPPER.MP4"].sidecar == folder / "UPPER.gaia.json"
    assert recs["sub dir/nested clip.MOV"].sidecar == folder / "sub dir" / "nested clip.gaia.json"
    assert all(r.usable for r in recs.values())


def test_two_videos_sharing_a_stem_are_reported(make_folder):
    folder = make_folder({"clip.mp4": "testsrc", "clip.MOV": "mov", "other.mp4": "testsrc"})
    recs = _by_name(scan_folder(folder))
    # Without an existing sidecar, the first by name keeps it; the other is told to rename.
    assert recs["clip.MOV"].usable
    assert not recs["clip.mp4"].usable
    assert "shares its sidecar clip.gaia.json with clip.MOV" in recs["clip.mp4"].problem
    assert recs["other.mp4"].usable


def test_the_video_that_already_owns_the_sidecar_keeps_it(make_folder):
    folder = make_folder({"clip.mp4": "testsrc", "clip.MOV": "mov"})
    write_sidecar(folder / "clip.mp4", {"analysis": {"summary": "a dog"}})
    recs = _by_name(scan_folder(folder))
    assert recs["clip.mp4"].usable and recs["clip.mp4"].sidecar_state == "analysed"
    assert not recs["clip.MOV"].usable
    assert recs["clip.MOV"].sidecar_state == "none"


def test_sidecar_state_follows_the_fingerprint(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "testsrc"})
    fp = {"model": "m", "prompt_hash": "p1"}
    write_sidecar(folder / "a.mp4", {"analysis": {}, "run": {"fingerprint": fp}})
    write_sidecar(folder / "b.mp4", {"analysis": {}, "run": {"fingerprint": {**fp, "prompt_hash": "p0"}}})
    recs = _by_name(scan_folder(folder, fingerprint=fp))
    assert [recs[n].sidecar_state for n in ("a.mp4", "b.mp4", "c.mp4")] == ["analysed", "stale", "none"]
    assert scan_folder(folder, fingerprint=fp).summary()["analysed"] == 1


def test_rescan_uses_the_probe_cache_and_notices_changes(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    first = scan_folder(folder)
    assert first.probed == 2
    calls = []
    monkeypatch.setattr("gaia.media.scan.probe_file", lambda p: calls.append(p) or probe_file(p))
    again = scan_folder(folder)
    assert again.probed == 0 and calls == []
    assert [r.duration for r in again.records] == [r.duration for r in first.records]
    # A changed file (new size/mtime) is probed again; the other is not.
    with (folder / "b.mp4").open("ab") as fh:
        fh.write(b"\0" * 10)
    third = scan_folder(folder)
    assert third.probed == 1 and [Path(p).name for p in calls] == ["b.mp4"]


def test_progress_reports_every_file(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "zero"})
    seen = []
    scan_folder(folder, on_progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


def test_totals(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "hd", "c.mp4": "zero"})
    s = scan_folder(folder).summary()
    assert s["videos"] == 3 and s["usable"] == 2 and s["problems"] == 1
    assert s["total_duration_s"] == pytest.approx(14.0, abs=0.2)


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "Enter a folder path."), ("/definitely/not/here", "no such folder"), ("bad\x00path", "NUL")],
)
def test_folder_errors_are_plain(value, message):
    with pytest.raises(FolderError, match=message):
        check_folder(value)


def test_a_file_is_not_a_folder(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    with pytest.raises(FolderError, match="this is a file, not a folder"):
        scan_folder(folder / "a.mp4")


def test_unreadable_subfolder_is_reported_and_the_rest_scanned(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc", "locked/b.mp4": "testsrc"})
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("gaia.media.scan.os.scandir", scandir)
    result = scan_folder(folder)
    assert [r.rel_path for r in result.records] == ["a.mp4"]
    assert result.unreadable_dirs == ("locked",)


def test_a_folder_without_permission_is_refused_plainly(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc"})
    monkeypatch.setattr("gaia.media.scan.os.access", lambda p, m: False)
    with pytest.raises(FolderError, match="permission denied"):
        check_folder(folder)


def test_read_only_folder_keeps_its_cache_elsewhere(make_folder, monkeypatch, tmp_path):
    folder = make_folder({"a.mp4": "testsrc"})
    monkeypatch.setattr("gaia.settings.os.access", lambda p, mode: False)
    real_mkdir = Path.mkdir

    def deny(self, *a, **k):
        if self.name == ".gaia":
            raise PermissionError("read-only")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", deny)
    wd = gaia.Folder(folder).workdir
    assert ".gaia" not in wd.parts and wd.is_dir()
    monkeypatch.setattr(Path, "mkdir", real_mkdir)


def test_links_that_lead_nowhere_are_problems_and_linked_folders_are_named(make_folder, tmp_path):
    folder = make_folder({"a.mp4": "testsrc", ".hidden.mp4": "testsrc", ".private/x.mp4": "testsrc"})
    outside = make_folder({"b.mp4": "testsrc"}, name="elsewhere")
    (folder / "gone.mp4").symlink_to(tmp_path / "deleted.mp4")
    (folder / "loop.mp4").symlink_to(folder / "loop.mp4")
    (folder / "linked").symlink_to(outside)
    (folder / "good link.mp4").symlink_to(folder / "a.mp4")
    result = scan_folder(folder)
    recs = _by_name(result)
    assert recs["gone.mp4"].problem.startswith("broken link: it points to")
    assert recs["loop.mp4"].problem.startswith("link loop")
    assert recs["good link.mp4"].usable and recs["a.mp4"].usable
    assert "linked/b.mp4" not in recs
    assert any(n.startswith("linked: a linked folder, not followed") for n in result.notes)
    assert "2 hidden file(s) or folder(s) (names starting with a dot) skipped" in result.notes
    assert result.summary()["notes"] == list(result.notes)
    assert scan_folder(folder).records == result.records  # the probe cache keeps no entry for a broken link


def test_a_file_deleted_after_the_scan_is_missing_not_damaged(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    records = scan_folder(folder).records
    (folder / "a.mp4").unlink()
    sets = extract_keyframes(folder, settings=KeyframeSettings(count=2), model=gaia.limits.DEFAULT_MODEL,
                                  records=records, workers=1)
    assert sets[0].problem.startswith("missing: the file was moved or deleted")
    assert "damaged" not in sets[0].problem
    assert sets[1].frames


# --- issue 15 item 9: a preview writes nothing into the folder, and the walk is guarded --------------------

def test_scanning_and_thumbnails_write_nothing_into_the_folder(make_folder):
    from gaia.media.keyframes import thumbnails

    folder = make_folder({"a.mp4": "testsrc"})
    result = scan_folder(folder)
    assert thumbnails(folder, result.usable)[result.records[0].rel_path] is not None
    assert sorted(p.name for p in folder.iterdir()) == ["a.mp4"]  # no .gaia/ for a folder merely looked at


def test_the_probe_cache_follows_the_folder_into_its_working_folder(make_folder, monkeypatch):
    from gaia.folder import Folder

    folder = make_folder({"a.mp4": "testsrc"})
    scan_folder(folder)
    assert Folder(folder).workdir.is_dir()  # extracting or sending makes the working folder
    monkeypatch.setattr("gaia.media.scan.probe_file", lambda path: (_ for _ in ()).throw(AssertionError("probed")))
    assert scan_folder(folder).probed == 0
    assert (folder / ".gaia" / "probe" / "probe-cache.json").is_file()


def test_system_folders_are_refused_and_never_entered(tmp_path):
    import gaia.media.scan as scan

    with pytest.raises(FolderError, match="system folder"):
        check_folder("/proc")
    assert scan.is_system_folder(Path("/proc/1"))
    assert not scan.is_system_folder(tmp_path)


def test_the_walk_stops_at_its_limits_and_says_so(tmp_path, monkeypatch):
    import gaia.media.scan as scan

    deep = tmp_path / "root"
    (deep / "a" / "b" / "c").mkdir(parents=True)
    for i in range(5):
        (deep / f"v{i}.mp4").write_bytes(b"x")
    (deep / "a" / "b" / "c" / "deep.mp4").write_bytes(b"x")
    monkeypatch.setattr(scan, "SCAN_MAX_DEPTH", 2)
    monkeypatch.setattr(scan, "SCAN_MAX_VIDEOS", 3)
    walk = scan._Walk()
    found = list(scan._walk(deep, walk))
    assert len(found) == 3
    assert walk.limits == ["stopped after 3 videos"]
    monkeypatch.setattr(scan, "SCAN_MAX_VIDEOS", 100)
    result = scan.scan_folder(deep)
    assert "deep.mp4" not in {r.rel_path.rsplit("/", 1)[-1] for r in result.records}
    assert result.limited and "2 folder levels" in result.limited


def test_the_probe_cache_is_read_compactly_and_written_back_as_it_was(tmp_path):
    """The probe cache is read into ``ProbeInfo``s as it is parsed (a 100,000-video cache read as plain dicts peaks
    at some 150 MB); what is written back is the file's own format, entry for entry."""
    import json

    from gaia.media.probe import ProbeInfo
    from gaia.media.scan import _entry_json, _read_probe_cache

    info = {"duration": 2.0, "width": 160, "height": 120, "coded_width": 160, "coded_height": 120, "rotation": 0,
            "fps": 25.0, "codec": "h264", "start_time": 0.0, "has_audio": False, "problem": None}
    data = {"version": 1, "entries": {"a.mp4": {"key": [10, 20], "info": info},
                                      "odd.mp4": {"key": [1, 2], "info": {"unknown": 1}}}}
    path = tmp_path / "probe-cache.json"
    path.write_text(json.dumps(data))
    read = _read_probe_cache(path)
    assert read["entries"]["a.mp4"] == ((10, 20), ProbeInfo(**info))
    assert read["entries"]["odd.mp4"] == {"key": [1, 2], "info": {"unknown": 1}}  # not a file's facts: kept as is
    assert {k: _entry_json(v) for k, v in read["entries"].items()} == data["entries"]
    assert _read_probe_cache(tmp_path / "missing.json") == {}


def test_a_record_holds_no_path_of_its_own_yet_gives_the_right_one(make_folder):
    """At 100,000 videos a ``Path`` per record is some 500 bytes each: a record keeps the scan's one folder and its
    path as text, and makes ``path`` (and its sidecar's) from them, equal to the file's own."""
    folder = make_folder({"a.mp4": "testsrc", "sub/deeper/b c.MOV": "testsrc"})
    scan = scan_folder(folder)
    (a, b) = scan.records
    assert a.root is b.root is scan.folder  # one folder shared by every record
    assert not any(isinstance(getattr(a, f), Path) for f in VideoRecord.__dataclass_fields__ if f != "root")
    assert a.path == folder / "a.mp4" and b.path == folder / "sub" / "deeper" / "b c.MOV"
    assert b.path.is_file() and b.sidecar == folder / "sub" / "deeper" / "b c.gaia.json"
    d = b.to_dict()
    assert list(d)[:2] == ["path", "rel_path"] and "root" not in d
    assert d["path"] == str(folder / "sub" / "deeper" / "b c.MOV")
    assert d["sidecar"] == str(folder / "sub" / "deeper" / "b c.gaia.json")


def test_common_values_share_zero_but_never_mix_its_signs():
    from gaia.media.scan import common_value

    a, b = float("0.0"), float("-0.0")
    assert common_value(float("0.0")) is common_value(a)  # one 0.0 for 100,000 records' start times
    assert str(common_value(b)) == "-0.0" and str(common_value(a)) == "0.0"
    assert type(common_value(0)) is int and type(common_value(0.0)) is float
    nan = float("nan")
    assert common_value(nan) is nan
