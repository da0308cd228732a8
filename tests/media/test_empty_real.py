"""Issue 25: the likely-empty check on real footage, not only generated clips: a stretch where nothing
enters is flagged, the clip in which a subject then enters is not.

The footage is OpenCV's sample ``vtest.avi`` (a real plaza camera, 768x576, 10 fps, MS-MPEG4), used
when it is on the machine and never copied into the repository. Its bottom-left grass, ``CROP``
(512x192 px from the left edge, 384 px down), is empty to the eye from 0 to 51.9 s (the same grass
under real sensor noise and compression); at 52 s two walkers enter it from the right and cross it
until about 70 s. The clip cut from 30 s for 40 s therefore has 22 s with nothing in it, then the
walkers. The cut is made at test time with the bundled ffmpeg, encoded as a camera would (H.264) and
in the source's own codec.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gaia.media import empty
from gaia.media.probe import ffmpeg_exe

VTEST = Path("/tmp/ocvdata/vtest.avi")
CROP = "512:192:0:384"  # w:h:x:y of the bottom-left grass
START_S, SECONDS = 30.0, 40.0  # the clip: 30-70 s of vtest.avi
ENTER_S = 22.0  # when the walkers enter the clip (52 s of vtest.avi)
EMPTY_S = 20.0  # the first part, cut on its own
ENCODINGS = {
    "h264.mp4": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "30", "-pix_fmt", "yuv420p"],
    "msmpeg4.avi": ["-c:v", "msmpeg4", "-q:v", "3"],  # the source's codec
}

pytestmark = pytest.mark.skipif(not VTEST.is_file(), reason="OpenCV's vtest.avi is not on this machine")


def _cut(out: Path, seconds: float, options: list[str]) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-ss", str(START_S), "-i", str(VTEST),
                    "-t", str(seconds), "-vf", f"crop={CROP}", "-an", *options, str(out)], check=True)
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_real_footage_the_empty_start_alone_is_flagged_and_the_clip_with_walkers_is_kept(
        tmp_path: Path, encoding: str) -> None:
    options = ENCODINGS[encoding]
    first = empty.measure(_cut(tmp_path / f"first-{encoding}", EMPTY_S, options))
    assert first.problem is None and first.seconds >= EMPTY_S - 0.5
    assert first.likely_empty(), (first.score, first.reason)
    assert first.reason.startswith("no local change"), first.reason

    whole_path = _cut(tmp_path / f"whole-{encoding}", SECONDS, options)
    whole = empty.measure(whole_path)
    assert not whole.likely_empty(), (whole.score, whole.reason)
    assert whole.reason.startswith("local change at"), whole.reason
    # the change found is the walkers', not something earlier
    assert ENTER_S - 0.5 <= whole.change_times[0] <= ENTER_S + 1.0, whole.change_times[:3]

    frames, times = empty.sample_frames(whole_path)
    segments = empty.segment_scores(frames, times)
    verdicts = [(start, score.likely_empty()) for start, _, score in segments]
    assert [start for start, _ in verdicts] == [0.0, 10.0, 20.0, 30.0], verdicts
    assert verdicts == [(0.0, True), (10.0, True), (20.0, False), (30.0, False)], \
        [(a, s.score, s.reason) for a, _, s in segments]
