"""Scans of an unchanged folder share their records (every session of the app holds one copy, not its own), and a
record that changed in any way is never the one shared."""

from __future__ import annotations

import os

from gaia.media.scan import scan_folder


def test_an_unchanged_folder_scanned_again_shares_its_records(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "sub/c.mp4": "testsrc"})
    first = scan_folder(folder)
    again = scan_folder(folder)
    assert again.records is first.records and again.probed == 0 and first.probed == 3


def test_a_changed_file_gets_a_fresh_record_and_the_others_stay_shared(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    first = scan_folder(folder)
    st = os.stat(folder / "b.mp4")
    os.utime(folder / "b.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    (folder / "c.mp4").write_bytes((folder / "a.mp4").read_bytes())
    again = scan_folder(folder)
    a, b, c = again.records
    assert a is first.records[0]
    assert b is not first.records[1] and b.mtime_ns == st.st_mtime_ns + 5_000_000_000
    assert c.rel_path == "c.mp4"
    (folder / "c.mp4").unlink()
    assert [r.rel_path for r in scan_folder(folder).records] == ["a.mp4", "b.mp4"]


def test_a_sidecar_state_that_changed_is_not_hidden_by_sharing(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    (before,) = scan_folder(folder).records
    (folder / "a.gaia.json").write_text('{"analysis": {"summary": "x"}}')
    (after,) = scan_folder(folder).records
    assert after is not before and after.sidecar_state != before.sidecar_state
