"""The folder's manifest index (``.gaia/frames/index.jsonl``): a fresh process reads one file instead of every
manifest, and the index never makes a video look extracted when it is not, or unextracted when it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import gaia.media.keyframes as kf
from gaia.fsutil import atomic_write_json
from gaia.media.keyframes import cached_keyframes, extract_keyframes
from gaia.settings import KeyframeSettings

STANDARD = "claude-sonnet-4-5"
THREE = KeyframeSettings(count=3)


def _fresh_process() -> None:
    """Forget what this process remembers of manifests and indexes, as a newly started server would."""
    kf._manifest_memo.clear()
    kf._index_loaded.clear()


def _cached(folder: Path, settings: KeyframeSettings = THREE) -> list[kf.KeyframeSet]:
    return cached_keyframes(folder, settings=settings, model=STANDARD)


def _view(sets: list[kf.KeyframeSet]) -> list[tuple]:
    return [(k.rel_path, k.set_id, k.problem, k.note, k.frames) for k in sets]


@pytest.fixture
def extracted(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc_gop1", "c.mp4": "testsrc"})
    sets = extract_keyframes(folder, settings=THREE, model=STANDARD, workers=1)
    assert all(k.frames for k in sets)
    return folder, sets


@pytest.fixture
def reads(monkeypatch):
    seen: list[Path] = []
    real = kf.read_json
    monkeypatch.setattr(kf, "read_json", lambda path: seen.append(path) or real(path))
    return seen


def _index(folder: Path) -> Path:
    return kf._frames_root(folder) / kf.MANIFEST_INDEX


def test_extraction_writes_the_index_and_a_fresh_process_reads_no_manifest(extracted, reads):
    folder, sets = extracted
    assert _index(folder).is_file()
    _fresh_process()
    again = _cached(folder)
    assert _view(again) == _view(sets) and reads == []
    assert all(f.path.is_file() for k in again for f in k.frames)


def test_a_folder_without_the_index_reads_its_manifests_as_before_and_gains_one(extracted, reads):
    folder, sets = extracted
    _index(folder).unlink()
    _fresh_process()
    assert _view(_cached(folder)) == _view(sets) and len(reads) == 3
    assert _index(folder).is_file()
    _fresh_process()
    assert _view(_cached(folder)) == _view(sets) and len(reads) == 3  # the rebuilt index serves the next start


def test_a_manifest_changed_after_the_index_was_written_is_read_again(extracted, reads):
    folder, sets = extracted
    out = sets[0].frames[0].path.parent
    data = json.loads((out / kf.MANIFEST).read_text())
    data["note"] = "changed by hand"
    data["frames"] = data["frames"][:2]
    atomic_write_json(out / kf.MANIFEST, data)
    _fresh_process()
    first, *rest = _cached(folder)
    assert first.note == "changed by hand" and len(first.frames) == 2
    assert _view(rest) == _view(sets[1:])


def test_a_manifest_rewritten_in_place_with_the_same_size_is_read_again(extracted):
    folder, sets = extracted
    out = sets[1].frames[0].path.parent
    text = (out / kf.MANIFEST).read_text()
    changed = text.replace('"tokens": ', '"tokens":  ', 1).replace(' ', '', 1)
    assert len(changed) == len(text) and changed != text
    os.utime(out / kf.MANIFEST, ns=(1, 1))  # even an older mtime than the one indexed
    (out / kf.MANIFEST).write_text(changed)
    os.utime(out / kf.MANIFEST, ns=(1, 1))
    _fresh_process()
    stale = kf._stamp(out)
    assert stale is not None
    _cached(folder)
    assert kf._unpacked(kf._manifest_memo[str(out)].stamp) == stale  # the entry in memory: read from the manifest


def test_a_deleted_manifest_or_frame_makes_the_video_unextracted_whatever_the_index_says(extracted):
    folder, sets = extracted
    (sets[0].frames[0].path.parent / kf.MANIFEST).unlink()
    sets[1].frames[2].path.unlink()
    _fresh_process()
    a, b, c = _cached(folder)
    assert a.problem == b.problem == "not extracted yet" and not a.frames and not b.frames
    assert _view([c]) == _view(sets[2:])
    # and extracting again brings them back, with the index following
    again = extract_keyframes(folder, settings=THREE, model=STANDARD, workers=1)
    assert all(k.frames for k in again)
    _fresh_process()
    assert all(k.frames and k.problem is None for k in _cached(folder))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "edited", "header", "empty", "binary"])
def test_a_damaged_index_changes_nothing_and_is_rebuilt(extracted, reads, damage):
    folder, sets = extracted
    path = _index(folder)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if damage == "garbage":
        path.write_text(text + "not a line at all\n{]\n")
    elif damage == "truncated":
        path.write_text(text[: len(text) - 40])
    elif damage == "edited":  # a frame's tokens changed without the checksum: the line is refused
        path.write_text(lines[0] + lines[1].replace('"keyframe"', '"seek"', 1) + "".join(lines[2:]))
    elif damage == "header":
        path.write_text('{"gaia_manifest_index":99}\n' + "".join(lines[1:]))
    elif damage == "empty":
        path.write_text("")
    else:
        path.write_bytes(b"\xff\xfe\x00garbage" * 50)
    _fresh_process()
    assert _view(_cached(folder)) == _view(sets)
    assert reads or damage == "garbage"  # what the index could not vouch for was read (extra garbage: nothing)
    _fresh_process()
    reads.clear()
    assert _view(_cached(folder)) == _view(sets) and reads == []  # and the index is whole again


def test_an_index_line_pointing_out_of_its_directory_is_refused(extracted):
    folder, sets = extracted
    root = kf._frames_root(folder)
    line = kf._index_line("..", (1, 2, 3, 4, 5), kf._Manifest("x", (), None, None))
    assert kf._index_entry(root, line) is None
    frame = sets[0].frames[0]
    for file in ("../../etc/passwd", "..", ""):
        payload = json.dumps(["x", [1, 2, 3, 4, 5], "x", None, None, [[1.0, file, 1, 1, 1, 1, "seek", None]]])
        assert kf._index_entry(root, f"{zlib.crc32(payload.encode()):08x} {payload}\n") is None
    good = kf._Manifest("x", (frame,), None, None)
    assert kf._index_entry(root, kf._index_line("x", (1, 2, 3, 4, 5), good)) is not None


_WRITER = """
import sys
import gaia.media.keyframes as kf
from gaia.settings import KeyframeSettings
folder, count = sys.argv[1], int(sys.argv[2])
for _ in range(8):
    kf._manifest_memo.clear(); kf._index_loaded.clear()
    sets = kf.cached_keyframes(folder, settings=KeyframeSettings(count=count), model="claude-sonnet-4-5")
    assert all(k.frames for k in sets), [k.problem for k in sets]
    kf._save_index(kf._frames_root(folder))  # write every time: the two processes race on the one file
"""


def test_two_processes_writing_the_index_at_once_leave_every_answer_right(extracted):
    folder, sets = extracted
    two = extract_keyframes(folder, settings=KeyframeSettings(count=2), model=STANDARD, workers=1)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), str(n)], stderr=subprocess.PIPE)
             for n in (3, 2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    path = _index(folder)
    lines = path.read_text().splitlines(keepends=True)
    assert lines[0].strip() == kf.INDEX_HEADER
    root = kf._frames_root(folder)
    assert all(kf._index_entry(root, line) is not None for line in lines[1:])  # one writer's whole file
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]
    _fresh_process()
    assert _view(_cached(folder)) == _view(sets)
    assert _view(_cached(folder, KeyframeSettings(count=2))) == _view(two)
