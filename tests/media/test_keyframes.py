"""Keyframe extraction: every strategy returns time-ordered, distinct, correctly sized frames at true times."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gaia
from gaia.facts import catalogue, fit_to_tier, image_tokens
from gaia.media.decode import LONG_GOP_FRAMES, VideoDecoder
from gaia.media.dedupe import Signature
from gaia.media.keyframes import KeyframeSet, cached_keyframes, extract_keyframes, index_keyframes
from gaia.media.scan import scan_folder
from gaia.settings import KeyframeSettings
from tests.media.frames_check import frame_errors, rgb

STANDARD = "claude-sonnet-4-5"  # 1568 px tier
HIGH = "claude-sonnet-5-5"  # 2576 px tier


def _assert_true_timestamps(kset: KeyframeSet, *, damaged: bool = False) -> None:
    """Each frame is the frame a plain full decode (no seeking) shows at its claimed time (``frames_check``)."""
    assert frame_errors(kset, damaged=damaged) == []


def _extract(folder: Path, model: str = STANDARD, **settings) -> list[KeyframeSet]:
    return extract_keyframes(folder, settings=KeyframeSettings(**settings), model=model, workers=1)


@pytest.mark.parametrize("strategy", ["keyframes", "uniform", "scene"])
@pytest.mark.parametrize("kind", ["testsrc", "testsrc_gop1", "vfr", "webm", "offset", "garbled", "distinct"])
def test_frames_are_ordered_distinct_sized_and_truly_timed(make_folder, strategy, kind):
    folder = make_folder({f"v.{'webm' if kind == 'webm' else 'mp4'}": kind})
    (kset,) = _extract(folder, strategy=strategy, count=5)
    assert kset.problem is None
    times = [f.timestamp for f in kset.frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(kset.frames) >= 3
    rec = scan_folder(folder).records[0]
    assert all(0 <= t < rec.duration for t in times)
    for f in kset.frames:
        assert (f.width, f.height) == (320, 240)
        assert f.tokens == image_tokens(320, 240)
        assert f.nbytes == f.path.stat().st_size > 0
        with Image.open(f.path) as im:
            assert im.format == "JPEG" and im.size == (320, 240)
    # Frames are distinct; the scene strategy's coverage frames ("seek") may repeat what they cover.
    sigs = [Signature.of(rgb(f.path).astype(np.uint8)) for f in kset.frames
            if strategy != "scene" or f.source == "scene"]
    assert not any(a.near(b) for i, a in enumerate(sigs) for b in sigs[i + 1 :])
    _assert_true_timestamps(kset, damaged=kind == "garbled")


@pytest.mark.parametrize("strategy", ["keyframes", "uniform", "scene"])
def test_an_avi_with_b_frames_gives_the_frames_ffmpeg_shows_at_those_times(make_folder, strategy):
    # AVI stores no presentation times: frames are timed by their display order (dts), as FFmpeg's
    # best-effort timestamp does. Its first frame shows one frame late (0.04 s), so the last one may
    # sit at the container's end time. (Packed-bitstream DivX files, whose guessed pts come out of
    # order, are checked on a real one, opencv-doc's Megamind.avi, by bench/exactness.py.)
    folder = make_folder({"a.avi": "avi"})
    (kset,) = _extract(folder, strategy=strategy, count=6)
    duration = scan_folder(folder).records[0].duration
    times = [f.timestamp for f in kset.frames]
    assert len(times) == 6 and times == sorted(times) and all(0 <= t <= duration for t in times)
    assert frame_errors(kset) == []


def test_default_strategy_takes_the_codecs_own_keyframes(make_folder):
    # testsrc_gop1 has an I-frame every second; six evenly spread targets land on I-frames.
    folder = make_folder({"phone.mp4": "testsrc_gop1"})
    index = index_keyframes(folder / "phone.mp4")
    assert index == pytest.approx([float(s) for s in range(8)], abs=1e-6)
    (kset,) = _extract(folder, count=4)
    assert [f.source for f in kset.frames] == ["keyframe"] * 4
    assert [f.timestamp for f in kset.frames] == pytest.approx([1.0, 3.0, 5.0, 7.0])


def test_sparse_keyframes_fall_back_to_exact_seeks(make_folder):
    folder = make_folder({"long_gop.mp4": "cuts"})  # a single I-frame at 0 s
    (kset,) = _extract(folder, count=4)
    assert {f.source for f in kset.frames[1:]} == {"seek"}
    # red, green, blue and yellow segments each give one frame
    colours = {tuple(int(c > 90) for c in rgb(f.path).mean(axis=(0, 1))) for f in kset.frames}
    assert colours == {(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0)}


def test_timestamps_are_from_playback_start_when_the_stream_starts_later(make_folder):
    folder = make_folder({"late.mp4": "offset"})  # red 0-1.5 s, green 1.5-3 s, blue 3-5 s; pts start at 2 s
    for strategy in ("keyframes", "uniform", "scene"):
        (kset,) = _extract(folder, strategy=strategy, count=6)
        assert kset.frames, strategy
        for f in kset.frames:
            r, g, b = rgb(f.path).mean(axis=(0, 1))
            expected = "red" if f.timestamp < 1.5 else "green" if f.timestamp < 3.0 else "blue"
            actual = "red" if r > 150 else "green" if g > 100 else "blue"
            assert actual == expected, (strategy, f.timestamp, (r, g, b))


def test_scene_strategy_finds_the_cuts(make_folder):
    folder = make_folder({"cuts.mp4": "cuts"})  # cuts at 2, 4, 6 s
    (kset,) = _extract(folder, strategy="scene", count=4)
    times = [f.timestamp for f in kset.frames]
    for cut in (2.0, 4.0, 6.0):
        assert any(cut <= t <= cut + 0.3 for t in times), (cut, times)


def test_uniform_skips_black_lead_in_and_tail(make_folder):
    folder = make_folder({"fade.mp4": "black_edges"})  # black 0-1.5 s and 6.5-8 s
    (kset,) = _extract(folder, strategy="uniform", count=6)
    assert len(kset.frames) == 6
    for f in kset.frames:
        assert rgb(f.path).mean() > 30, f.timestamp
        assert 1.5 <= f.timestamp <= 6.5


def test_near_duplicates_are_dropped_and_said(make_folder):
    folder = make_folder({"still.mp4": "static"})
    (kset,) = _extract(folder, count=6)
    assert len(kset.frames) == 1
    assert kset.note.startswith("1 of 6 frames kept")  # counted in frames asked for, not candidates tried
    assert "near-duplicate" in kset.note


def test_rotated_phone_video_comes_out_upright(make_folder):
    folder = make_folder({"phone.mp4": "rotated"})
    (kset,) = _extract(folder, count=3)
    assert all((f.width, f.height) == (180, 320) for f in kset.frames)
    # Not scrambled: compare with a plain decode, which applies the rotation itself.
    _assert_true_timestamps(kset)


def test_frames_fit_the_models_image_tier(make_folder):
    folder = make_folder({"hd.mp4": "hd"})  # 1280x720
    (small,) = _extract(folder, count=2, max_edge=640)
    assert (small.frames[0].width, small.frames[0].height) == (640, 360)
    cat = catalogue()
    assert fit_to_tier(1920, 1080, cat.tiers["standard"]) == (1455, 818)
    assert image_tokens(1455, 818) <= 1568
    assert fit_to_tier(3840, 2160, cat.tiers["high"])[0] == 2576
    assert image_tokens(*fit_to_tier(3840, 2160, cat.tiers["high"])) <= 4784
    assert fit_to_tier(640, 480, cat.tiers["high"]) == (640, 480)  # never enlarged


def test_second_run_decodes_nothing(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "bad.mp4": "text"})
    first = _extract(folder, count=3)
    assert not any(k.cached for k in first)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded on a cached run")

    monkeypatch.setattr("gaia.media.keyframes._extract_job", no_decoding)
    monkeypatch.setattr("gaia.media.keyframes.VideoDecoder", no_decoding)
    again = _extract(folder, count=3)
    assert [k.cached for k in again] == [True, True, False]
    assert [[f.timestamp for f in k.frames] for k in again] == [[f.timestamp for f in k.frames] for k in first]
    cached = cached_keyframes(folder, settings=KeyframeSettings(count=3), model=STANDARD)
    assert cached[0].frames == again[0].frames


def test_other_settings_or_a_changed_file_extract_again(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    a = _extract(folder, count=3)[0]
    b = _extract(folder, count=4)[0]
    assert a.set_id != b.set_id and not b.cached
    with (folder / "a.mp4").open("ab") as fh:
        fh.write(b"\0")
    c = _extract(folder, count=3)[0]
    assert c.set_id != a.set_id and not c.cached


def test_cached_keyframes_reports_what_is_missing(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "z.mp4": "zero"})
    sets = cached_keyframes(folder, settings=KeyframeSettings(), model=STANDARD)
    assert [k.problem for k in sets] == ["not extracted yet", "empty file (zero bytes)"]


def test_a_normal_program_gets_a_process_pool_and_a_streamlit_page_gets_threads(monkeypatch):
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    import gaia.media.keyframes as kf

    # A normal program (the CLI, a script, pytest): its main module is the file it started from, and Streamlit
    # is not loaded. Set up explicitly, because an AppTest earlier in the session leaves a page as __main__.
    program = type(sys)("__main__")
    program.__file__ = sys.argv[0]
    program.__loader__ = object()
    monkeypatch.setitem(sys.modules, "__main__", program)
    monkeypatch.delitem(sys.modules, "streamlit", raising=False)
    with kf._pool(2) as pool:
        assert isinstance(pool, ProcessPoolExecutor)
    page = type(sys)("__main__")
    page.__file__ = str(Path(__file__).parents[2] / "pages" / "2_Keyframes.py")
    monkeypatch.setitem(sys.modules, "__main__", page)  # what Streamlit does while running a page
    monkeypatch.setitem(sys.modules, "streamlit", type(sys)("streamlit"))
    with kf._pool(2) as pool:
        assert isinstance(pool, ThreadPoolExecutor)


def test_a_process_pool_uses_every_worker_and_reports_progress(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "c.mp4": "testsrc_gop1", "d.mp4": "zero"})
    seen = []
    sets = extract_keyframes(folder, settings=KeyframeSettings(count=3), model=STANDARD, workers=2,
                             on_progress=lambda d, t: seen.append((d, t)))
    assert [k.rel_path for k in sets] == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert all(k.frames for k in sets[:3]) and sets[3].problem
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_broken_file_gives_a_problem_never_a_crash(make_folder):
    folder = make_folder({"cut.mp4": "truncated_faststart", "damaged.mp4": "garbled", "ok.mp4": "testsrc"})
    sets = {k.rel_path: k for k in _extract(folder, count=6)}
    cut = sets["cut.mp4"]
    rec = {r.rel_path: r for r in scan_folder(folder).records}["cut.mp4"]
    if rec.usable:
        # The index promises 8 s, the data stops near the middle: frames from the part that exists only.
        assert cut.frames or cut.problem
        assert all(f.timestamp < rec.duration for f in cut.frames)
    assert sets["damaged.mp4"].frames  # damaged mid-stream decodes (with artefacts), as ffmpeg does
    assert "reported damage" in (sets["damaged.mp4"].note or "")  # ... and the user is told
    assert "damage" not in (sets["ok.mp4"].note or "")
    assert sets["ok.mp4"].problem is None


def test_each_file_has_a_deadline(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    (kset,) = extract_keyframes(folder, settings=KeyframeSettings(), model=STANDARD, workers=1, timeout_s=0.001)
    assert kset.problem and "longer than" in kset.problem
    # A timeout is not cached as the file's fate: the next run tries again.
    (retry,) = _extract(folder)
    assert retry.problem is None and retry.frames


def test_excluded_frames_and_videos_are_remembered(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    (kset,) = _extract(folder, count=4)
    t = kset.frames[1].timestamp
    gaia.Folder(folder).set_frame_excluded("a.mp4", t, True)
    gaia.Folder(folder).set_video_excluded("a.mp4", True)
    sel = gaia.Folder(folder).selection()  # read back from disk, as after a restart
    assert [f.timestamp for f in kset.included_frames(sel)] == [f.timestamp for f in kset.frames if f.timestamp != t]
    assert sel.video_excluded("a.mp4")
    gaia.Folder(folder).set_frame_excluded("a.mp4", t, False)
    assert len(kset.included_frames(gaia.Folder(folder).selection())) == len(kset.frames)


def test_the_keyframe_and_the_exact_paths_return_the_same_frames(make_folder):
    folder = make_folder({"phone.mp4": "testsrc_gop1"})
    with VideoDecoder(folder / "phone.mp4", size=(160, 120)) as dec:
        keys = [k for k in dec.index().keys if k.time in (2.0, 5.0, 7.0)]
        alone = [dec.keyframe(k) for k in keys]
        swept = dec.exact([k.time for k in keys])
    assert [f.time for f in alone] == [f.time for f in swept] == [2.0, 5.0, 7.0]
    for a, b in zip(alone, swept, strict=True):
        assert np.abs(np.asarray(a.image, dtype=int) - np.asarray(b.image, dtype=int)).mean() < 0.5


def test_a_long_sweep_skips_unreferenced_frames_yet_returns_exactly_the_frames_asked_for(make_folder, monkeypatch):
    folder = make_folder({"b.mp4": "bframes"})
    decoded: list[int] = []
    plain_decode = VideoDecoder._decode

    def counting(self, packet):
        frames = plain_decode(self, packet)
        decoded.append(len(frames))
        return frames

    monkeypatch.setattr(VideoDecoder, "_decode", counting)

    def sweep() -> tuple[list, int]:
        decoded.clear()
        with VideoDecoder(folder / "b.mp4", size=(160, 120)) as dec:
            frames = dec.exact([7.92, 1.0, 3.48, 6.04])
        return frames, sum(decoded)

    skipping, n_skipping = sweep()
    monkeypatch.setattr("gaia.media.decode.SKIP_MARGIN_FRAMES", 10**9)  # every frame decoded
    full, n_full = sweep()
    assert [f.time for f in skipping] == [f.time for f in full] == [7.92, 1.0, 3.48, 6.04]
    for a, b in zip(skipping, full, strict=True):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert n_skipping < 0.8 * n_full, (n_skipping, n_full)


@pytest.mark.parametrize("strategy", ["keyframes", "uniform"])
def test_exact_frames_are_the_ones_promised_at_the_even_times(make_folder, strategy):
    # Evolving content, a keyframe every 2 s: nothing is black or repeated, so every slot keeps
    # its own frame: the I-frame inside the slot, else the frame nearest the slot's middle.
    folder = make_folder({"v.mp4": "distinct"})
    (kset,) = _extract(folder, strategy=strategy, count=6)
    duration = scan_folder(folder).records[0].duration
    targets = [(i + 0.5) * duration / 6 for i in range(6)]
    assert len(kset.frames) == 6 and kset.note is None
    for f, t in zip(kset.frames, targets, strict=True):
        if f.source == "keyframe":
            assert strategy == "keyframes" and abs(f.timestamp - t) <= duration / 12 and f.timestamp % 2.0 == 0
        else:
            assert abs(f.timestamp - t) <= 0.02 + 1e-6, (f.timestamp, t)  # the nearest frame (25 fps)
    _assert_true_timestamps(kset)


@pytest.mark.parametrize("strategy", ["keyframes", "uniform", "scene"])
@pytest.mark.parametrize("count", [6, 12])
def test_no_frame_is_dropped_on_non_repetitive_content_and_no_extra_pass_runs(make_folder, monkeypatch, strategy,
                                                                             count):
    def no_second_pass(*args, **kwargs):
        raise AssertionError("a replacement pass ran on content with nothing to replace")

    monkeypatch.setattr("gaia.media.keyframes._replace", no_second_pass)
    folder = make_folder({"v.mp4": "distinct"})
    (kset,) = _extract(folder, strategy=strategy, count=count)
    assert len(kset.frames) == count and kset.note is None


def test_scene_strategy_covers_a_late_event_without_a_cut(make_folder):
    folder = make_folder({"v.mp4": "late_event"})  # a still scene; a small box from 8.5 to 10.5 s, no cut
    (kset,) = _extract(folder, strategy="scene", count=6)
    times = [f.timestamp for f in kset.frames]
    assert len(times) == 6 and times[-1] > 12 * 5 / 6  # covered to the end, not bunched at the start
    gaps = [b - a for a, b in zip([0.0, *times], [*times, 12.0], strict=True)]
    assert max(gaps) <= 12 / 6 * 1.5 + 0.01
    with_box = [f for f in kset.frames if rgb(f.path)[100:140, 140:180].mean() > 200]
    assert with_box and all(8.5 <= f.timestamp <= 10.5 for f in with_box)
    # The other strategies keep the event too: it is the one frame unlike the rest.
    for strategy in ("keyframes", "uniform"):
        (other,) = _extract(folder, strategy=strategy, count=6)
        assert any(rgb(f.path)[100:140, 140:180].mean() > 200 for f in other.frames), strategy


def _count_decodes(monkeypatch) -> list[int]:
    """Frames the codec returns, counted across every decoder opened from now on."""
    counted: list[int] = []
    plain_decode = VideoDecoder._decode

    def counting(self, packet):
        frames = plain_decode(self, packet)
        counted.append(len(frames))
        return frames

    monkeypatch.setattr(VideoDecoder, "_decode", counting)
    return counted


def _spy_grabs(monkeypatch) -> list[tuple[float, str | None, float | None]]:
    """Every slot decoded by the selection: ``(time asked, rule, time decoded)``."""
    import gaia.media.keyframes as kf

    grabs: list[tuple[float, str | None, float | None]] = []
    real_grab = kf._grab

    def spy(dec, slots, *memo):
        out = real_grab(dec, slots, *memo)
        grabs.extend((s.time, s.rule, f.time if f else None) for s, f in zip(slots, out, strict=True))
        return out

    monkeypatch.setattr(kf, "_grab", spy)
    return grabs


def test_a_still_video_is_judged_from_its_packets_and_decodes_one_frame(make_folder, monkeypatch):
    # Nothing changes after the first I-frame: the planned exact frames would all repeat it, and the
    # packet sizes say so (skipped blocks only), so nothing past that I-frame is decoded, and no
    # replacement is sought either: the video has fewer distinct moments than frames asked.
    decodes = _count_decodes(monkeypatch)
    grabs = _spy_grabs(monkeypatch)
    folder = make_folder({"still.mp4": "static"})
    (kset,) = _extract(folder, count=6)
    assert len(kset.frames) == 1 and kset.note.startswith("1 of 6 frames kept")
    assert kset.note.count("fewer distinct moments") == 1  # said once
    assert sum(decodes) == 1
    assert all(rule is None for _, rule, _ in grabs)  # no replacement was tried


def test_a_replacement_stops_at_the_first_acceptable_frame_within_its_budget(make_folder, monkeypatch):
    import gaia.media.keyframes as kf

    decodes = _count_decodes(monkeypatch)
    grabs = _spy_grabs(monkeypatch)
    folder = make_folder({"fade.mp4": "black_edges"})  # black 0-1.5 s and 6.5-8 s, one I-frame
    (kset,) = _extract(folder, strategy="uniform", count=6)
    assert len(kset.frames) == 6 and all(1.5 <= f.timestamp <= 6.5 for f in kset.frames)
    replaced = [f for f in kset.frames if f.rule]
    assert [f.rule for f in replaced] == ["replaces a black frame"] * 2
    # Spots are tried in display order and the search of a gap ends at its first acceptable frame:
    # nothing is decoded in a gap after the frame that was kept there.
    tried = [(t, got) for t, rule, got in grabs if rule]
    for f in replaced:
        after = [got for _, got in tried if got is not None and got > f.timestamp
                 and not any(o.timestamp > f.timestamp and o.timestamp <= got for o in kset.frames)]
        assert after == [], (f.timestamp, tried)
    assert len([g for g in grabs if g[1] is None]) == 6  # the plan
    # Bounded: what replacing cost beyond the plan's own decoding (the same video, replacement off).
    total = sum(decodes)
    decodes.clear()
    monkeypatch.setattr(kf, "_replace", lambda *a, **k: False)
    shutil.rmtree(folder / ".gaia")
    _extract(folder, strategy="uniform", count=6)
    plan = sum(decodes)
    assert 0 < total - plan <= max(kf.EXTRA_DECODE_BUDGET, plan), (total, plan)


def test_deep_in_a_long_gop_a_replacement_takes_the_nearest_keyframe_in_its_gap(make_folder, monkeypatch):
    grabs = _spy_grabs(monkeypatch)
    folder = make_folder({"v.mp4": "black_open_long_gop"})  # black to 2.5 s; I-frames at 0 and 3 s only
    (kset,) = _extract(folder, strategy="uniform", count=4)  # 1.25 (black), 3.75, 6.25, 8.75
    assert len(kset.frames) == 4 and kset.note is None
    first = kset.frames[0]
    assert first.timestamp == 3.0 and first.source == "keyframe"
    assert first.rule == "replaces a black frame: the nearest keyframe in the gap (long GOP)"
    assert first.rule in gaia.views.keyframe_caption(first, excluded=False)
    assert [rule for _, rule, _ in grabs if rule] == [first.rule]  # the first spot tried, one packet
    _assert_true_timestamps(kset)


def test_an_exact_frame_after_an_i_frame_is_decoded_from_that_i_frame(make_folder):
    # With B-frames an MP4 index gives decode times, a seek asks for a presentation time: seeking to an
    # I-frame's decode time landed on the I-frame before it, a whole group of pictures early.
    folder = make_folder({"v.mp4": "grainy_still"})
    with VideoDecoder(folder / "v.mp4", size=(80, 60)) as dec:
        index = dec.index()
        key = index.keys[-1]
        assert len(index.keys) == 2 and key.time > 8 and dec.stream.codec_context.has_b_frames  # the clip as meant
        target = index.frames[index.frames.index(key.time) + 10]
        (frame,) = dec.exact([target])
        assert frame is not None and frame.time == round(target, 6)
        # the I-frame and the 10 frames after it, and at most the decoder's reordering delay more
        assert dec.decoded <= 11 + dec.stream.codec_context.has_b_frames, dec.decoded
        start = dec.decoded
        assert dec.keyframe(key) is not None and dec.decoded - start == 1


def test_a_sweeps_watcher_sees_the_frames_exact_calls_give_and_may_send_it_on_before_a_seek(make_folder):
    # The replacement search judges frames the plan's sweep decoded on its way from what the sweep's watcher kept:
    # those must be the very frames an exact call for their times gives. Told of a target, the watcher may ask the
    # sweep to go on to later times before it seeks to a later I-frame; what that decodes is counted in ``ahead``.
    folder = make_folder({"v.mp4": "grainy_still"})
    with VideoDecoder(folder / "v.mp4", size=(80, 60)) as dec:
        index = dec.index()
        assert len(index.keys) == 2 and index.keys[1].time > 8  # the clip as meant: I-frames at 0 and 8.3 s
        first, later = index.frames[30], index.frames[260]
        wanted = {round(index.frames[i], 6) for i in (10, 20, 40, 50)}
        seen: dict[float, object] = {}
        told: list[tuple[float, bool]] = []

        def peek(t, make, target):
            told.append((round(t, 6), target))
            if target and "first" not in seen:
                seen["first"] = make()
                return [index.frames[40], index.frames[50]]
            if not target and round(t, 6) in wanted:
                seen[round(t, 6)] = make()
            return None

        a, b = dec.exact([later, first], peek)
        assert a.time == round(later, 6) and b.time == round(first, 6) and seen["first"] is b
        assert set(seen) == {"first", *wanted}  # the frames on the way, and those it was sent on to
        assert [t for t, target in told if target] == [round(first, 6), round(later, 6)]  # in time order
        assert 0 < dec.ahead <= 20 and dec.decoded - dec.ahead <= 31 + 12 + 2 * dec.stream.codec_context.has_b_frames
    with VideoDecoder(folder / "v.mp4", size=(80, 60)) as fresh:
        for t in wanted:
            (frame,) = fresh.exact([t])
            assert frame.time == seen[t].time and frame.image.tobytes() == seen[t].image.tobytes()


def _frames_from_i_frames(index, times) -> int:
    """The frames a forward sweep to each of ``times`` decodes at least: each frame from the I-frame before a
    time up to that time, once."""
    return sum(1 for f in index.frames
               if any(index.key_before(t).time - 1e-6 <= f <= t + 1e-6 for t in times if index.key_before(t)))


def test_a_grainy_still_long_gop_clip_decodes_no_frame_twice_for_its_plan(make_folder, monkeypatch):
    # The commonest camera-trap clip (a still scene under grain, x264's defaults: B-frames, an I-frame every
    # 250 frames) with the default settings: the plan's exact frames between the I-frames cost a sweep from
    # the I-frame before them, each frame decoded once; and the whole extraction, replacements included,
    # never decodes more than twice the clip's frames (replacing at most doubles the plan's work).
    decodes = _count_decodes(monkeypatch)
    grabs = _spy_grabs(monkeypatch)
    import gaia.media.keyframes as kf

    plan_decoded: list[int] = []
    real_grab = kf._grab

    def first(dec, slots, *memo):
        out = real_grab(dec, slots, *memo)
        if not plan_decoded:
            plan_decoded.append(dec.decoded)
        return out

    monkeypatch.setattr(kf, "_grab", first)
    folder = make_folder({"trap.mp4": "grainy_still"})
    (kset,) = extract_keyframes(folder, settings=gaia.Folder(folder).settings().keyframes, model=STANDARD, workers=1)
    assert kset.frames and kset.problem is None
    with VideoDecoder(folder / "trap.mp4", size=(80, 60)) as dec:
        index = dec.index()
        delay = dec.stream.codec_context.has_b_frames
    planned = [t for t, rule, _ in grabs if rule is None]
    exact = [t for t in planned if t not in index.key_times]
    assert len(index.frames) == 300 and len(index.keys) == 2 and exact  # exact frames deep in long GOPs
    sweeps = len({index.key_before(t) for t in exact})
    keys = len(planned) - len(exact)
    assert plan_decoded[0] <= _frames_from_i_frames(index, exact) + keys + sweeps * delay, plan_decoded
    assert plan_decoded[0] <= len(index.frames)  # the plan: at most one pass over the clip
    assert sum(decodes) <= 2 * len(index.frames), sum(decodes)
    _assert_true_timestamps(kset)


def test_a_replacement_search_in_a_long_gop_decodes_no_frame_the_plan_decoded(make_folder, monkeypatch):
    # A still scene (a box shows late, 8.5-10.5 s; x264's defaults: an I-frame every 250 frames) with exact frames
    # asked (uniform): the plan's sweep decodes 0-9 s of the first GOP once; its frames come back as repeats, and
    # the search for replacements looks between them, where the plan has been. Counted, not timed: it used to
    # decode that ground again (206 frames of it, 491 in all); the plan's sweep now keeps the signatures of the
    # frames on its way where the search looks (from 1280x720 on, at any size here), and the search judges them
    # without decoding.
    import gaia.media.keyframes as kf

    decoded: list[tuple[str, float]] = []
    phase = ["plan"]
    plain_decode, plain_replace = VideoDecoder._decode, kf._replace

    def counting(self, packet):
        frames = plain_decode(self, packet)
        decoded.extend((phase[0], round(self._time(f), 3)) for f in frames)
        return frames

    def replace(*args, **kwargs):
        phase[0] = "search"
        return plain_replace(*args, **kwargs)

    monkeypatch.setattr(VideoDecoder, "_decode", counting)
    monkeypatch.setattr(kf, "_replace", replace)
    folder = make_folder({"trap.mp4": "late_event"})
    (small,) = _extract(folder, strategy="uniform", count=6)  # 320x240: a frame decodes about as fast as it scales
    assert [t for p, t in decoded if p == "search"] and small.frames  # so the sweep keeps no signature on its way
    monkeypatch.setattr(kf, "MEMO_MIN_PIXELS", 0)  # as it does from 1280x720 on (the bench's still clips)
    decoded.clear()
    phase[0] = "plan"
    shutil.rmtree(folder / ".gaia")
    (kset,) = _extract(folder, strategy="uniform", count=6)
    assert kset.frames == small.frames or [f.timestamp for f in kset.frames] == [f.timestamp for f in small.frames]
    assert [f.timestamp for f in kset.frames] == [1.0, 9.0] and phase == ["search"]  # the search ran, found none
    with VideoDecoder(folder / "trap.mp4", size=(80, 60)) as dec:
        index = dec.index()
    first_gop = index.keys[1].time
    assert index.frames_between(0.0, first_gop) > LONG_GOP_FRAMES  # the clip as meant: a long first GOP
    plan = {t for p, t in decoded if p == "plan" and t < first_gop}
    again = [t for p, t in decoded if p == "search" and t in plan]
    # Only ground before the first planned frame turned down (3 s, a repeat of 1 s) is decoded again: until one is,
    # no search is sure to come, and the sweep keeps nothing on its way.
    assert len(plan) > 200 and all(t < 3.0 for t in again), again
    assert len(decoded) < 350, len(decoded)  # 491 before
    _assert_true_timestamps(kset)


def test_an_older_versions_frame_cache_is_left_alone_and_extracted_again(make_folder, monkeypatch):
    import gaia.media.keyframes as kf

    folder = make_folder({"a.mp4": "testsrc"})
    monkeypatch.setattr(kf, "ALGORITHM_VERSION", 1)
    (old,) = _extract(folder, count=3)  # what the previous version left in .gaia/frames/
    monkeypatch.undo()
    assert kf.ALGORITHM_VERSION > 1
    (cached,) = cached_keyframes(folder, settings=KeyframeSettings(count=3), model=STANDARD)
    assert cached.problem == "not extracted yet" and cached.set_id != old.set_id
    (new,) = _extract(folder, count=3)
    assert new.frames and not new.cached and new.set_id == cached.set_id
    assert all(f.path.is_file() for f in old.frames)  # sidecars made from the old frames still show them


def test_ffmpeg_logging_stays_off_so_threaded_decoding_cannot_deadlock():
    # With PyAV's log callback on, a decoder thread logging a damaged frame while a seek waits for
    # it deadlocks on the GIL; damage is noticed from decode errors and corrupt flags instead.
    import av.logging

    import gaia.media.decode  # noqa: F401

    assert av.logging.get_level() is None


def test_cached_sets_are_read_once_until_their_frames_change(make_folder, monkeypatch):
    import gaia.media.keyframes as kf

    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc_gop1"})
    settings = KeyframeSettings(count=3)
    _extract(folder, count=3)
    reads: list[Path] = []
    real_read = kf.read_json
    monkeypatch.setattr(kf, "read_json", lambda path: reads.append(path) or real_read(path))
    first = cached_keyframes(folder, settings=settings, model=STANDARD)
    again = cached_keyframes(folder, settings=settings, model=STANDARD)
    assert [k.frames for k in again] == [k.frames for k in first] and all(k.frames for k in again)
    assert len(reads) <= 2  # at most once per video, however often a page asks
    # A frame file gone: that video is no longer extracted, at once.
    first[0].frames[1].path.unlink()
    after = cached_keyframes(folder, settings=settings, model=STANDARD)
    assert after[0].problem == "not extracted yet" and after[1].frames == first[1].frames


def test_a_keyframe_keeps_its_folder_as_text_and_behaves_as_before(tmp_path):
    """A keyframe holds its folder (text shared by its set) and file name, not a Path of its own; its path, equality,
    ``dataclasses.replace`` (a new path, or another field) and pickling are as they were."""
    import dataclasses
    import pickle

    from gaia.media.keyframes import Keyframe

    a = Keyframe(1.5, tmp_path / "set" / "frame_00_0001.500.jpg", 640, 360, 1234, 300, "seek", "replaces a black frame")
    b = Keyframe(1.5, None, 640, 360, 1234, 300, "seek", "replaces a black frame", dir=str(tmp_path / "set"),
                 name="frame_00_0001.500.jpg")
    assert a == b and hash(a) == hash(b) and a.path == tmp_path / "set" / "frame_00_0001.500.jpg"
    assert a.dir == str(tmp_path / "set") and isinstance(a.dir, str)
    moved = dataclasses.replace(a, path=tmp_path / "other.jpg")
    assert moved.path == tmp_path / "other.jpg" and moved.nbytes == 1234 and moved.rule == a.rule
    wider = dataclasses.replace(a, width=9000)
    assert wider.path == a.path and wider.width == 9000
    assert pickle.loads(pickle.dumps(a)) == a
    assert "frame_00_0001.500.jpg" in repr(a)
    assert not a.present()
    (tmp_path / "set").mkdir()
    a.path.write_bytes(b"x")
    assert a.present() and a.read_bytes() == b"x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.width = 1  # type: ignore[misc]


def _old_frames(out_dir: Path) -> tuple:
    """The frames of ``out_dir``'s manifest as the code before the compact layout made them: a ``Keyframe`` each."""
    import json

    from gaia.media.keyframes import MANIFEST, Keyframe

    data = json.loads((out_dir / MANIFEST).read_text())
    return tuple(Keyframe(float(f["timestamp"]), out_dir / f["file"], int(f["width"]), int(f["height"]),
                          int(f["bytes"]), int(f["tokens"]), f.get("source", "keyframe"), f.get("rule"))
                 for f in data["frames"])


def test_cached_sets_hold_their_frames_packed_and_make_the_same_keyframes(make_folder):
    """A cached set keeps its frames in one compact form (no object per frame, 600,000 of them at 100,000 videos);
    the frames it makes on demand equal those the manifest describes, read from the manifests and from the index,
    and a set, its copies and its pickles behave as before."""
    import dataclasses
    import pickle

    import gaia.media.keyframes as kf

    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts"})
    settings = KeyframeSettings(count=4)
    extracted = _extract(folder, count=4)
    for fresh in (False, True):  # the memo as extraction left it, then a fresh process reading the index
        if fresh:
            kf._manifest_memo.clear()
            kf._index_loaded.clear()
        sets = cached_keyframes(folder, settings=settings, model=STANDARD)
        for k, e in zip(sets, extracted, strict=True):
            assert isinstance(k.frame_data, kf.PackedFrames) and k.frames
            assert k.frames == e.frames == _old_frames(k.frames[0].path.parent)
            assert k.frames[0].dir is k.frame_data.dir  # the folder's text, shared by the frames
            assert k.tokens == sum(f.tokens for f in _old_frames(k.frames[0].path.parent))
            assert k.video == folder / k.rel_path and k.origin is scan_folder(folder).records[sets.index(k)]
    k = sets[0]
    assert pickle.loads(pickle.dumps(k)) == k
    fewer = dataclasses.replace(k, frames=k.frames[:1])
    assert fewer.frames == k.frames[:1] and fewer.set_id == k.set_id and fewer.video == k.video
    assert dataclasses.replace(k, cached=False).frames == k.frames
    assert KeyframeSet(k.video, k.rel_path, k.settings, k.model, k.set_id, k.frames).frames == k.frames


def test_a_manifest_an_earlier_version_wrote_reads_as_it_did(make_folder):
    """Manifests keep their format: one with names extraction no longer gives, no ``source`` and a rule, or a frame
    in a subfolder, reads into the same frames the earlier code made from it."""
    import json

    import gaia.media.keyframes as kf
    from gaia.media.scan import scan_folder as scan

    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    settings = KeyframeSettings(count=2)
    recs = scan(folder).records
    root = kf._frames_root(folder)
    layouts = {"a.mp4": ["0001.jpg", "frame two.jpg"], "b.mp4": ["f/0001.jpg", "0002.jpg"]}
    for rec in recs:
        set_id = kf.keyframe_set_id(rec, settings, STANDARD)
        out = root / set_id
        frames = []
        for i, name in enumerate(layouts[rec.rel_path]):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(b"jpeg")
            frames.append({"timestamp": 0.5 + i, "file": name, "width": 320, "height": 240, "bytes": 4,
                           "tokens": 103, **({"rule": "replaces a black frame"} if i else {})})
        (out / kf.MANIFEST).write_text(json.dumps({"set_id": set_id, "frames": frames, "problem": None,
                                                    "note": "an old note"}))
    for _ in range(2):  # read from the manifests, then from the index written from them
        kf._manifest_memo.clear()
        kf._index_loaded.clear()
        sets = cached_keyframes(folder, settings=settings, model=STANDARD)
        for k in sets:
            out = root / k.set_id
            assert k.frames == _old_frames(out) and k.note == "an old note" and k.cached
            assert [f.source for f in k.frames] == ["keyframe", "keyframe"]
            assert [f.rule for f in k.frames] == [None, "replaces a black frame"]
            assert [f.path for f in k.frames] == [out / n for n in layouts[k.rel_path]]
    assert (root / kf.MANIFEST_INDEX).is_file()


def test_frames_that_do_not_pack_stay_as_they_are():
    from gaia.media.keyframes import PackedFrames, frame_name

    row = (1.0, frame_name(0, 1.0), 320, 240, 4, 103, "seek", None)
    packed = PackedFrames.of("/d", [row])
    assert packed is not None and packed.names is None and len(packed) == 1  # the name extraction gives: not held
    assert packed.unpack()[0].name == "frame_00_00001.000.jpg" and packed.unpack()[0].dir == "/d"
    assert PackedFrames.of("/d", [(1.0, "x.jpg", 320, 240, 4, 103, "seek", None)]).names == "x.jpg"
    assert PackedFrames.of("/d", [(1.0, "x.jpg", -1, 240, 4, 103, "seek", None)]) is None  # out of range
    assert PackedFrames.of("/d", [(1.0, "x.jpg", 320, 240, 2 ** 70, 103, "seek", None)]) is None
    assert PackedFrames.of("/d", [(1.0, "a/x.jpg", 320, 240, 4, 103, "seek", None)]) is None  # not flat
    assert PackedFrames.of("/d", [(1, "x.jpg", 320, 240, 4, 103, "seek", None)]) is None  # not a float


def test_counting_another_tiers_frames_gives_the_sets_count_and_keeps_nothing(make_folder):
    """The estimate counts every other image tier's extracted frames (``count_cached``): the same count as the sets
    would give, for a tier with frames and one without, remembering no set id or set for them."""
    import gaia.media.keyframes as kf

    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "bad.mp4": "text"})
    big = KeyframeSettings(count=2, max_edge=None)
    _extract(folder, HIGH, count=2, max_edge=None)
    for model in (HIGH, STANDARD):
        kf._set_id_memo.clear()
        n = kf.count_cached(folder, settings=big, model=model)
        assert kf._set_id_memo == {}
        assert n == sum(1 for k in cached_keyframes(folder, settings=big, model=model) if k.frames)
    assert kf.count_cached(folder, settings=big, model=HIGH) == 2
