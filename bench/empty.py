"""Benchmark: the likely-empty check (``gaia.media.empty``) against keyframe extraction, on the same folder.

Makes a folder of camera-trap-like clips with the bundled ffmpeg (cached in ``bench/.work``): a
still scene under sensor grain, half of them with a box crossing for a second, at 720p and 1080p,
30 fps, one keyframe a second. Then, in one process, one video at a time (median of repeats):

- keyframes: ``extract_keyframes`` with the default settings, fresh frame cache, one worker;
- scoring: ``score_frames`` on the small greyscale frames already decoded (the measure itself);
- decode + scoring: ``measure`` (PyAV decodes every frame, keeps about 4 a second at 128 px).

Prints scoring / keyframes against the goal (< 10%), and decode + scoring / keyframes as it is:
the measure needs frames a few times a second, and a compressed frame cannot be decoded without
the ones before it, so its decoding is not free; the ratio says what it costs on this folder.

Usage: python bench/empty.py [--clips 6] [--repeats 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gaia.media import empty
from gaia.media.keyframes import extract_keyframes
from gaia.media.probe import ffmpeg_exe
from gaia.media.scan import scan_folder
from gaia.settings import RunSettings

WORK = Path(__file__).resolve().parent / ".work" / "empty"
GOAL = 0.10


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(n: int, seconds: float) -> list[Path]:
    """``n`` clips (cached): alternately 720p and 1080p, every other one with a box crossing for 1 s."""
    WORK.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        size = "1280x720" if i % 2 == 0 else "1920x1080"
        visitor = i % 4 >= 2
        path = WORK / f"clip_{i:02d}_{size}_{'visitor' if visitor else 'empty'}_{seconds:g}s.mp4"
        if not path.exists():
            box = (f",drawbox=x=iw*0.4:y=ih*0.5:w=iw/16:h=ih/12:color=black@1:t=fill:"
                   f"enable='between(t,{seconds / 2},{seconds / 2 + 1})'") if visitor else ""
            _ff("-f", "lavfi", "-i", f"gradients=size={size}:rate=30:duration={seconds}:speed=0.002:seed={i},"
                f"noise=alls=10:allf=t{box}", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
                "-pix_fmt", "yuv420p", str(path))
        out.append(path)
    return out


def main() -> None:
    """Make the clips, time each step per video, print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    clips = make_clips(args.clips, args.seconds)
    settings = RunSettings()
    kf_times, score_times, total_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "trap"
        folder.mkdir()
        for c in clips:
            shutil.copy(c, folder / c.name)
        records = scan_folder(folder).records
        for rec in records:
            kf, sc, tot = [], [], []
            for _ in range(args.repeats):
                shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
                t0 = time.perf_counter()
                extract_keyframes(folder, settings=settings.keyframes, model=settings.model, records=[rec], workers=1)
                kf.append(time.perf_counter() - t0)
                frames, times = empty.sample_frames(rec.path)
                t0 = time.perf_counter()
                verdict = empty.score_frames(frames, times)
                sc.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                empty.measure(rec.path)
                tot.append(time.perf_counter() - t0)
            kf_times.append(statistics.median(kf))
            score_times.append(statistics.median(sc))
            total_times.append(statistics.median(tot))
            print(f"{rec.rel_path:<42} keyframes {kf_times[-1]:6.3f} s  scoring {score_times[-1]:6.3f} s  "
                  f"decode+scoring {total_times[-1]:6.3f} s  score {verdict.score:.2f} ({verdict.reason})")
    kf_sum, sc_sum, tot_sum = sum(kf_times), sum(score_times), sum(total_times)
    ratio = sc_sum / kf_sum
    print(f"\nfolder of {len(clips)} clips: keyframes {kf_sum:.2f} s, scoring {sc_sum:.3f} s, "
          f"decode+scoring {tot_sum:.2f} s")
    print(f"scoring / keyframe extraction: {ratio:.1%} (goal < {GOAL:.0%}: {'met' if ratio < GOAL else 'NOT met'})")
    print(f"decode+scoring / keyframe extraction: {tot_sum / kf_sum:.2f}x (no goal; decoding every frame, small)")


if __name__ == "__main__":
    main()
