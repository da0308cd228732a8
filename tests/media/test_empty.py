"""Likely-empty clips: global changes (noise, light, shake, swaying texture) are flagged, a small object
passing for one second never is, at the default threshold; a subject arriving late keeps the clip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from gaia.media import empty
from gaia.media.decode import PacketIndex, VideoDecoder
from gaia.media.probe import ffmpeg_exe
from gaia.media.scan import scan_folder
from gaia.settings import EMPTY_THRESHOLD
from tests.media.empty_clips import KINDS, write

SEEDS = (1, 2)
# How a camera may encode (write()'s options, the file's suffix) and how the check must then get its frames:
# keyframes alone only where they come at most a third of a second apart.
ENCODINGS = {
    "mjpeg": ({}, ".avi", "keyframes"),  # every frame a keyframe
    "gop4": ({"gop": 4}, ".mp4", "keyframes"),  # a keyframe every 0.27 s
    "gop15": ({"gop": 15}, ".mp4", "every frame"),  # every second: a 1 s visit could fall between two
    "gop75": ({"gop": 75}, ".mp4", "every frame"),  # one keyframe in 5 s
    "bframes": ({"x264": "bframes=3:b-adapt=0"}, ".mp4", "every frame"),  # B-frames nothing refers to: skipped
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("empty_clips")
    for kind in KINDS:
        for seed in SEEDS:
            write(folder / f"{kind}_{seed}.mp4", kind, seed=seed)
            write(folder / f"{kind}_{seed}_object.mp4", kind, seed=seed, objects=((2.0 + seed / 4, 3.0 + seed / 4),))
    return folder


def test_every_clip_with_an_object_is_kept_and_most_empty_ones_flagged(clips: Path) -> None:
    scores = {p.stem: empty.measure(p) for p in sorted(clips.glob("*.mp4"))}
    with_object = {k: s for k, s in scores.items() if k.endswith("_object")}
    empties = {k: s for k, s in scores.items() if not k.endswith("_object")}
    assert len(with_object) == len(empties) == len(KINDS) * len(SEEDS)
    kept = [k for k, s in with_object.items() if not s.likely_empty()]
    assert sorted(kept) == sorted(with_object), {k: (s.score, s.reason) for k, s in with_object.items()}
    flagged = [k for k, s in empties.items() if s.likely_empty()]
    assert len(flagged) >= 0.7 * len(empties), {k: (s.score, s.reason) for k, s in empties.items()}
    for k, s in with_object.items():
        assert s.reason.startswith("local change at"), (k, s.reason)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_one_second_visit_is_kept_whatever_the_encoding(tmp_path: Path, encoding: str) -> None:
    options, suffix, way = ENCODINGS[encoding]
    scores = {}
    for kind in KINDS:
        for visitor in (False, True):
            path = write(tmp_path / f"{kind}{'_object' if visitor else ''}{suffix}", kind, seed=1,
                         objects=((2.25, 3.25),) if visitor else (), **options)
            assert empty.decoding_plan(path).way == way, path.name
            scores[path.stem] = empty.measure(path)
    said = {k: (round(s.score, 2), s.reason, s.frames) for k, s in scores.items()}
    assert all(not s.likely_empty() for k, s in scores.items() if k.endswith("_object")), said
    assert sum(s.likely_empty() for k, s in scores.items() if not k.endswith("_object")) >= 0.7 * len(KINDS), said


def test_keyframes_alone_leave_no_gap_wider_than_a_third_of_a_second(tmp_path: Path) -> None:
    plan = empty.decoding_plan(write(tmp_path / "g3.mp4", "static", seed=1, gop=3))  # a keyframe every 0.2 s
    times = [k.time for k in plan.keys]
    assert plan.way == "keyframes"
    assert np.diff(times).max() <= empty.KEY_GAP_MAX and times[-1] >= 5.0 - empty.KEY_GAP_MAX, times


def test_frames_far_from_any_reference_frame_are_decoded_after_all(tmp_path: Path) -> None:
    # 14 B-frames between reference frames: skipping them would leave a second unseen, so all are decoded
    path = write(tmp_path / "far.mp4", "static", seed=1, objects=((2.25, 3.25),),
                 x264="bframes=14:b-adapt=0:b-pyramid=none")
    frames, times = empty.sample_frames(path)
    assert np.diff(times).max() <= 1 / empty.SAMPLE_FPS + 1 / 15 + 1e-6, times
    assert not empty.score_frames(frames, times).likely_empty()


def _index(path: Path) -> PacketIndex:
    with VideoDecoder(path, size=(8, 8)) as dec:
        return dec.index()


@pytest.mark.parametrize("start", [2.0, 2.35, 2.7])  # the visit begins at, a third into, just before a GOP's end
def test_each_group_of_pictures_is_decoded_only_up_to_its_last_sample(tmp_path: Path, start: float) -> None:
    # no B-frames (what cameras make of grainy footage), a keyframe a second: 15 frames per group, sampled
    # at 0, 1/3 and 2/3 s, so frames 11-14 of each group, the last one too (its next sample would lie past
    # the clip's end), and nothing else are left undecoded
    path = write(tmp_path / "p.mp4", "static", seed=1, objects=((start, start + 1.0),), gop=15)
    index = _index(path)
    assert len(index.frames) == 75 and index.key_times == (0.0, 1.0, 2.0, 3.0, 4.0)
    step = 1 / empty.SAMPLE_FPS
    by_gop = empty._sample_pass(path, index, fps=empty.SAMPLE_FPS, edge=empty.EDGE, max_samples=empty.MAX_SAMPLES,
                                threads=1, skip="gop")
    everything = empty._sample_pass(path, index, fps=empty.SAMPLE_FPS, edge=empty.EDGE,
                                    max_samples=empty.MAX_SAMPLES, threads=1, skip="none")
    assert by_gop is not None and everything is not None
    assert everything.decoded == 75 and by_gop.decoded == 5 * 11, by_gop.decoded
    assert not by_gop.damaged
    assert np.allclose(by_gop.times, everything.times) and np.diff(by_gop.times).max() <= step + 1e-6
    assert all(np.array_equal(a, b) for a, b in zip(by_gop.frames, everything.frames, strict=True))
    frames, times = empty.sample_frames(path)  # what measure() takes
    assert np.allclose(times, by_gop.times)
    verdict = empty.score_frames(frames, times)
    assert not verdict.likely_empty(), verdict
    assert start - 0.1 <= verdict.change_times[0] <= start + step + 0.1, verdict.change_times


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])  # the container lists every frame, or only keyframes
def test_the_file_opened_for_its_index_is_read_again_from_its_start_with_what_a_new_open_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    import av

    path = write(tmp_path / "p.mp4", "static", seed=1, objects=((2.0, 3.0),), gop=15)
    if suffix != ".mp4":
        copy = path.with_suffix(suffix)
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-c", "copy", str(copy)], check=True)
        path = copy
    index = _index(path)
    fresh = empty._sample_pass(path, index, fps=empty.SAMPLE_FPS, edge=empty.EDGE, max_samples=empty.MAX_SAMPLES,
                               threads=1, skip="gop")
    opens, opener = [], av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opens.append(a) or opener(*a, **k))
    frames, times = empty.sample_frames(path)
    assert fresh is not None and np.array_equal(times, fresh.times)
    assert np.array_equal(frames, np.stack(fresh.frames))
    assert len(opens) == (1 if suffix == ".mp4" else 2), opens  # an index of keyframes alone: opened anew


def test_frames_shown_out_of_order_are_decoded_by_reference_instead(tmp_path: Path) -> None:
    path = write(tmp_path / "b.mp4", "static", seed=1, x264="bframes=3:b-adapt=0")
    index = _index(path)
    kwargs = {"fps": empty.SAMPLE_FPS, "edge": empty.EDGE, "max_samples": empty.MAX_SAMPLES, "threads": 1}
    assert empty._sample_pass(path, index, skip="gop", **kwargs) is None  # a B-frame met: not by groups
    nonref = empty._sample_pass(path, index, skip="nonref", **kwargs)
    assert nonref is not None and nonref.decoded < len(index.frames)  # the B-frames nothing refers to are skipped
    frames, times = empty.sample_frames(path)
    assert len(frames) == len(nonref.frames) and np.diff(times).max() <= 1 / empty.SAMPLE_FPS + 1 / 15 + 1e-6


def test_three_frames_a_second_on_a_grid_whatever_the_source_rate(tmp_path: Path) -> None:
    # 15 fps: every fifth frame; a 10 fps source would give frames 0.3 or 0.4 s apart, 3 a second
    frames, times = empty.sample_frames(write(tmp_path / "s.mp4", "static", seed=1))
    assert empty.SAMPLE_FPS == 3.0 and len(frames) == 15 and np.allclose(np.diff(times), 1 / 3)
    due, picked = -np.inf, []
    for t in np.arange(0, 50) / 10:
        if t + 1e-6 >= due:
            picked.append(t)
            due = empty._next_sample(due, t, 1 / 3)
    assert len(picked) == 15 and set(np.round(np.diff(picked), 6)) == {0.3, 0.4}


def test_reasons_name_the_global_change(clips: Path) -> None:
    assert empty.measure(clips / "static_1.mp4").reason == "no local change over 5 s"
    assert "lighting change" in empty.measure(clips / "light_1.mp4").reason.lower()
    assert "camera shake" in empty.measure(clips / "shake_1.mp4").reason.lower()
    assert "swaying background" in empty.measure(clips / "sway_1.mp4").reason.lower()


@pytest.mark.parametrize("gop", [None, 4])  # x264's own keyframes (every frame decoded); keyframes alone
def test_a_subject_arriving_after_20_s_keeps_the_clip_but_the_first_part_alone_is_flagged(tmp_path: Path,
                                                                                          gop: int | None) -> None:
    path = write(tmp_path / "late.mp4", "static", seconds=30.0, seed=4, objects=((22.0, 30.0),), gop=gop)
    assert empty.decoding_plan(path).way == ("keyframes" if gop else "every frame")
    frames, times = empty.sample_frames(path)
    whole = empty.score_frames(frames, times)
    assert not whole.likely_empty(), whole
    first = times < 20.0
    assert empty.score_frames(frames[first], times[first]).likely_empty()
    segments = empty.segment_scores(frames, times, seconds=10.0)
    assert [s.likely_empty() for _, _, s in segments] == [True, True, False]


def test_default_threshold_is_the_settings_one() -> None:
    s = empty.EmptyScore(EMPTY_THRESHOLD, "no local change over 5 s", 1.0, 5.0, 20)
    assert s.likely_empty() and not s.likely_empty(EMPTY_THRESHOLD + 0.01)
    assert s.to_dict()["likely_empty"] is True


def test_unreadable_files_get_a_problem_and_are_never_flagged(tmp_path: Path) -> None:
    bad = tmp_path / "text.mp4"
    bad.write_text("this is not a video")
    s = empty.measure(bad)
    assert s.problem and "cannot be decoded" in s.problem and not s.likely_empty(0.0)
    gone = empty.measure(tmp_path / "missing.mp4")
    assert gone.problem and gone.problem.startswith("missing") and not gone.likely_empty(0.0)
    few = empty.score_frames(np.zeros((2, 8, 8), np.uint8), [0.0, 0.1])
    assert few.problem and not few.likely_empty(0.0)


def test_folder_scores_are_cached_by_file_identity(tmp_path: Path) -> None:
    write(tmp_path / "a.mp4", "static", seconds=2.0, seed=1)
    write(tmp_path / "b.mp4", "static", seconds=2.0, seed=2, objects=((0.5, 1.5),))
    records = scan_folder(tmp_path).records
    assert empty.empty_scores(tmp_path, records, measure_missing=False) == {}
    first = empty.empty_scores(tmp_path, records)
    assert empty.likely_empty(first) == ["a.mp4"]
    assert not (tmp_path / ".gaia").exists()  # looking writes nothing into the folder
    again = empty.empty_scores(tmp_path, records, measure_missing=False)
    assert again == first
