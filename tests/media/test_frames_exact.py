"""The exactness check on frames GAIA scales down: right frames pass, wrong ones (a neighbour, another moment, a
wrong time) fail, and the resampler the check borrows from GAIA stays close to FFmpeg's own."""

from __future__ import annotations

import dataclasses
import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gaia.media.keyframes import KeyframeSet, extract_keyframes
from gaia.media.probe import ffmpeg_exe, probe_file
from gaia.settings import KeyframeSettings
from tests.media.frames_check import _frame_times, frame_errors, jpeg_noise, reference_frames, rgb

MODEL = "claude-sonnet-4-5"  # 1568 px tier: the default frame preset's 1024 px edge decides the size


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _pattern(path: Path, size: str, *encode: str, seconds: float = 4) -> Path:
    _ff("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", *encode, str(path))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clips made here, not in the shared library (which every session builds whole): a 1080p one, and small ones
    that reach the check's other hand-overs once scaled (a turned phone clip, 10-bit, an RGB codec)."""
    root = tmp_path_factory.mktemp("scaled")
    x264 = ("-c:v", "libx264", "-preset", "ultrafast")
    _pattern(root / "full_hd.mp4", "1920x1080", *x264, "-pix_fmt", "yuv420p")
    _pattern(root / "ten_bit.mp4", "640x360", *x264, "-pix_fmt", "yuv420p10le")
    _pattern(root / "rgb.mov", "640x360", "-c:v", "png")
    _pattern(root / "flat.mp4", "640x360", *x264, "-pix_fmt", "yuv420p")
    _ff("-display_rotation", "90", "-i", str(root / "flat.mp4"), "-c", "copy", str(root / "turned.mp4"))
    (root / "flat.mp4").unlink()
    return root


def _extract(folder: Path, strategy: str = "uniform", **settings) -> KeyframeSet:
    (kset,) = extract_keyframes(folder, settings=KeyframeSettings(strategy=strategy, count=5, **settings),
                                model=MODEL, workers=1)
    assert kset.problem is None and len(kset.frames) >= 3
    return kset


def _one(clips: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / name).write_bytes((clips / name).read_bytes())
    return folder


@pytest.mark.parametrize("strategy", ["keyframes", "uniform", "scene"])
def test_frames_scaled_from_hd_are_exact(make_folder, strategy):
    kset = _extract(make_folder({"hd.mp4": "hd"}), strategy)
    assert all((f.width, f.height) == (1024, 576) for f in kset.frames)  # 1280x720 scaled down
    assert frame_errors(kset) == []


@pytest.mark.parametrize("strategy", ["keyframes", "uniform", "scene"])
def test_frames_scaled_from_1080p_are_exact(clips, tmp_path, strategy):
    kset = _extract(_one(clips, tmp_path, "full_hd.mp4"), strategy)
    assert all((f.width, f.height) == (1024, 576) for f in kset.frames)
    assert frame_errors(kset) == []


@pytest.mark.parametrize(("name", "size"), [("turned.mp4", (180, 320)), ("ten_bit.mp4", (320, 180)),
                                            ("rgb.mov", (320, 180))])
def test_scaled_frames_are_exact_whatever_the_pixels_or_turn(clips, tmp_path, name, size):
    # A display matrix (scaled as stored, then turned), 10-bit (handed over in FFV1), RGB (in NUT)
    kset = _extract(_one(clips, tmp_path, name), max_edge=320)
    assert all((f.width, f.height) == size for f in kset.frames)
    assert frame_errors(kset) == []


def test_a_right_frame_differs_from_its_reference_by_the_jpeg_alone(make_folder):
    # The reference is scaled as GAIA scales: the same pixels before the JPEG, so no slack is needed for the
    # resampler (FFmpeg's own scale=flags=area differs by 0.6 mean abs here, more than a slow scene's neighbours).
    kset = _extract(make_folder({"hd.mp4": "hd"}))
    size = (kset.frames[0].width, kset.frames[0].height)
    refs = dict(reference_frames(kset.video, size, near=[f.timestamp for f in kset.frames]))
    for f in kset.frames:
        ref = refs[min(refs, key=lambda t: abs(t - f.timestamp))]
        diff = float(np.abs(rgb(f.path) - ref).mean())
        assert diff == pytest.approx(jpeg_noise(ref, kset.settings.jpeg_quality), abs=1e-3)
        assert diff > 1  # not trivially: the JPEG does cost something


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture
def hd_set(make_folder) -> KeyframeSet:
    """Scaled frames of the hd clip, each one exact as made (``test_frames_scaled_from_hd_are_exact[uniform]``); the
    negative controls below break one each."""
    return _extract(make_folder({"hd.mp4": "hd"}))


def _frame_time_after(kset: KeyframeSet, t: float, frames: int) -> float:
    start = probe_file(kset.video).start_time
    times = [s - start for s in _frame_times(kset.video)]
    i = min(range(len(times)), key=lambda j: abs(times[j] - t))
    return times[i + frames]


def _with_jpeg_of(kset: KeyframeSet, k: int, t: float) -> None:
    """Frame ``k``'s JPEG replaced by the one GAIA would make of the frame at ``t`` (same scaling, same quality)."""
    f = kset.frames[k]
    refs = dict(reference_frames(kset.video, (f.width, f.height), near=[t]))
    f.path.write_bytes(_jpeg(refs[min(refs, key=lambda s: abs(s - t))], kset.settings.jpeg_quality))


def _errors_at(kset: KeyframeSet, k: int) -> list[str]:
    errors = frame_errors(kset)
    assert len(errors) == 1, errors  # only the broken frame
    assert f"at {kset.frames[k].timestamp:.3f} s" in errors[0]
    return errors


def test_the_next_frames_jpeg_in_its_place_fails(hd_set):
    k = 2
    _with_jpeg_of(hd_set, k, _frame_time_after(hd_set, hd_set.frames[k].timestamp, 1))
    assert "a neighbouring frame matches better" in _errors_at(hd_set, k)[0]


def test_the_previous_frames_jpeg_in_its_place_fails(hd_set):
    k = 3
    _with_jpeg_of(hd_set, k, _frame_time_after(hd_set, hd_set.frames[k].timestamp, -1))
    assert "a neighbouring frame matches better" in _errors_at(hd_set, k)[0]


def test_a_frame_from_another_moment_fails(hd_set):
    k = 1
    _with_jpeg_of(hd_set, k, hd_set.frames[k].timestamp + 2.0)
    error = _errors_at(hd_set, k)[0]
    assert "differs by" in error or "a neighbouring frame matches better" in error


def _with_time(kset: KeyframeSet, k: int, t: float) -> KeyframeSet:
    frames = list(kset.frames)
    frames[k] = dataclasses.replace(frames[k], timestamp=t)
    return dataclasses.replace(kset, frame_data=tuple(frames))


@pytest.mark.parametrize("frames", [1, -1])
def test_a_claimed_time_one_frame_off_fails(hd_set, frames):
    k = 2
    moved = _with_time(hd_set, k, _frame_time_after(hd_set, hd_set.frames[k].timestamp, frames))
    assert "a neighbouring frame matches better" in _errors_at(moved, k)[0]


def test_a_claimed_time_between_frames_fails(hd_set):
    k = 2
    moved = _with_time(hd_set, k, hd_set.frames[k].timestamp + 0.02)  # half a frame at 25 fps
    assert "no frame at that time" in _errors_at(moved, k)[0]


def test_gaias_resampler_stays_close_to_ffmpegs_own(make_folder):
    # The check borrows GAIA's resampler, so it cannot see a broken one: this does. FFmpeg's own area scaling of
    # the same decoded frames places chroma differently and differs by 0.6 to 0.7 mean abs at 1024x576; wrong
    # colours, a channel swap or a misplaced picture differ by tens.
    video = make_folder({"v.mp4": "hd"}) / "v.mp4"
    w, h = 1024, 576
    ours = dict(reference_frames(video, (w, h), near=[1.0, 3.0]))
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(video), "-vf",
         f"select='eq(n\\,25)+eq(n\\,75)',scale={w}:{h}:flags=area", "-fps_mode", "passthrough",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    theirs = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, h, w, 3).astype(np.float32)
    for t, frame in zip((1.0, 3.0), theirs, strict=True):
        diff = float(np.abs(ours[min(ours, key=lambda s: abs(s - t))] - frame).mean())
        assert 0 < diff < 1.0
