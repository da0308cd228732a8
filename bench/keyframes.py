"""Benchmark: GAIA's default keyframe extraction against the naive way and the floor, in one run.

Makes its own test videos (1080p and 720p H.264, 20 to 60 s, long and short GOPs) with the
bundled ffmpeg, then measures per video (median of repeats, fresh frame cache each time):

- GAIA: ``extract_keyframes`` with the default strategy, one video, one worker;
- naive: moviepy ``VideoFileClip.get_frame`` at N evenly spaced times, resized and saved as JPEG;
- floor: the cheapest way to get N frames with the bundled ffmpeg, per video: the better of
  (a) decoding keyframes only (``-skip_frame nokey``) in one pass, scaled, JPEG, and (b) one seek
  per frame to the keyframe nearest each target (``-noaccurate_seek``), scaled, JPEG.

Then videos per second for the whole set on every core, peak memory, and the rescan time of an
unchanged folder of 1,000 videos. Prints GAIA/floor and naive/GAIA. Goals: GAIA within 1.5x of
the floor, at least 5x faster than naive, rescan well under a second.

Usage: python bench/keyframes.py [--frames 6] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb
from PIL import Image

import gaia
from gaia.media.keyframes import _Deadline, index_packets, target_size
from gaia.media.probe import ffmpeg_exe

WORK = Path(__file__).resolve().parent / ".work"

VIDEOS = {
    # name: (size, seconds, gop)
    "1080p_60s_gop250.mp4": ("1920x1080", 60, 250),
    "1080p_40s_gop30.mp4": ("1920x1080", 40, 30),
    "720p_30s_gop250.mp4": ("1280x720", 30, 250),
    "720p_20s_gop30.mp4": ("1280x720", 20, 30),
}


def make_videos(root: Path, quick: bool) -> list[Path]:
    """Six-part videos (hard cuts every sixth of the duration) with camera-like grain."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (size, seconds, gop) in VIDEOS.items():
        if quick:
            seconds = min(seconds, 20)
        path = root / name
        out.append(path)
        if path.exists():
            continue
        part = seconds / 6
        w, h = size.split("x")
        sources = [
            f"testsrc2=size={size}:rate=30:duration={part}",
            f"mandelbrot=size=640x360:rate=30,scale={w}:{h},trim=duration={part}",
            f"smptehdbars=size={size}:rate=30:duration={part}",
            f"life=size=480x270:rate=30:mold=10:ratio=0.1,scale={w}:{h}:flags=neighbor,trim=duration={part}",
            f"gradients=size={size}:rate=30:duration={part}:speed=0.05",
            f"testsrc=size={size}:rate=30:duration={part},hue=h=90",
        ]
        args = []
        for src in sources:
            args += ["-f", "lavfi", "-i", src]
        graph = "".join(f"[{i}:v]setsar=1[v{i}];" for i in range(6))
        graph += "".join(f"[v{i}]" for i in range(6)) + "concat=n=6:v=1:a=0,noise=alls=8:allf=t,format=yuv420p[v]"
        tmp = path.with_suffix(".tmp.mp4")
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, "-filter_complex", graph,
                        "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", str(gop),
                        str(tmp)], check=True)
        tmp.rename(path)
    return out


def naive(rec: gaia.VideoRecord, n: int, size: tuple[int, int], out: Path) -> None:
    from moviepy import VideoFileClip

    with VideoFileClip(str(rec.path), audio=False) as clip:
        for i in range(n):
            t = (i + 0.5) * clip.duration / n
            img = Image.fromarray(clip.get_frame(t)).resize(size, Image.Resampling.LANCZOS)
            img.save(out / f"n{i}.jpg", quality=85)


def floor_keyframe_pass(rec: gaia.VideoRecord, n: int, size: tuple[int, int], out: Path) -> None:
    w, h = size
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-skip_frame", "nokey", "-i", str(rec.path),
                    "-vf", f"scale={w}:{h}", "-fps_mode", "passthrough", "-q:v", "3", "-y", str(out / "k%03d.jpg")],
                   check=True)


def floor_nearest_seeks(rec: gaia.VideoRecord, n: int, size: tuple[int, int], out: Path) -> None:
    w, h = size
    keys = list(index_packets(rec.path, rec.start_time, _Deadline(60)).keys) or [0.0]
    targets = [(i + 0.5) * rec.duration / n for i in range(n)]
    chosen = sorted({min(keys, key=lambda k, t=t: abs(k - t)) for t in targets})
    args = []
    for k in chosen:
        args += ["-noaccurate_seek", "-ss", f"{k + 0.001:.3f}", "-i", str(rec.path)]
    for i in range(len(chosen)):
        args += ["-map", f"{i}:v:0", "-frames:v", "1", "-vf", f"scale={w}:{h}", "-q:v", "3", "-y",
                 str(out / f"s{i}.jpg")]
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], check=True)


def gaia_default(folder: Path, rec: gaia.VideoRecord, n: int) -> None:
    shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
    (kset,) = gaia.extract_keyframes(folder, settings=gaia.KeyframeSettings(count=n), model=MODEL, records=[rec],
                                     workers=1)
    assert kset.frames, kset.problem


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            fn(Path(tmp))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


MODEL = "claude-sonnet-4-5"


def rescan_benchmark(sample: Path, count: int = 1000) -> tuple[float, float]:
    """First scan and rescan of an unchanged folder of ``count`` videos (hard links of one small clip)."""
    folder = WORK / f"rescan_{count}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i in range(count):
        sub = folder / f"day{i // 100:02d}"
        sub.mkdir(exist_ok=True)
        dest = sub / f"clip {i:04d}.mp4"
        try:
            os.link(sample, dest)
        except OSError:
            shutil.copyfile(sample, dest)
    start = time.perf_counter()
    first = gaia.scan_folder(folder)
    first_s = time.perf_counter() - start
    assert len(first.records) == count
    times = []
    for _ in range(3):
        start = time.perf_counter()
        again = gaia.scan_folder(folder)
        times.append(time.perf_counter() - start)
        assert again.probed == 0
    shutil.rmtree(folder)
    return first_s, statistics.median(times)


def all_cores(folder: Path, n: int) -> None:
    """Extract the whole folder on every core; print videos/s, the cached rerun and peak memory."""
    records = gaia.scan_folder(folder).records
    start = time.perf_counter()
    sets = gaia.extract_keyframes(folder, settings=gaia.KeyframeSettings(count=n), model=MODEL, records=records)
    wall = time.perf_counter() - start
    assert all(k.frames for k in sets)
    print(f"all {len(sets)} videos on {os.cpu_count()} cores: {wall:.2f} s, {len(sets) / wall:.2f} videos/s")
    start = time.perf_counter()
    gaia.extract_keyframes(folder, settings=gaia.KeyframeSettings(count=n), model=MODEL, records=records)
    print(f"second run (everything cached): {time.perf_counter() - start:.3f} s")
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's peak across fork+exec).
    self_mb = peak_rss_mb()
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: main process {self_mb:.0f} MB, largest worker or ffmpeg process {child_mb:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 s videos, one repeat (a smoke run)")
    parser.add_argument("--all-cores", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.all_cores:
        all_cores(args.all_cores, args.frames)
        return 0
    repeats = 1 if args.quick else args.repeats
    n = args.frames

    t0 = time.perf_counter()
    folder = WORK / ("videos-quick" if args.quick else "videos")
    videos = make_videos(folder, args.quick)
    print(f"test videos ready in {time.perf_counter() - t0:.1f} s ({len(videos)} videos)")
    records = {r.path.name: r for r in gaia.scan_folder(folder).records}

    print(f"\nper video, {n} frames, median of {repeats} (seconds)")
    print(f"{'video':26} {'GAIA':>7} {'naive':>7} {'kf-pass':>8} {'seeks':>7} {'floor':>7} {'GAIA/floor':>11} "
          f"{'naive/GAIA':>11}")
    ratios_floor, ratios_naive = [], []
    for video in videos:
        rec = records[video.name]
        size = target_size(rec, gaia.KeyframeSettings(count=n), MODEL)
        g = timed(lambda _tmp, rec=rec: gaia_default(folder, rec, n), repeats)
        nv = timed(lambda tmp, rec=rec, size=size: naive(rec, n, size, tmp), repeats)
        fa = timed(lambda tmp, rec=rec, size=size: floor_keyframe_pass(rec, n, size, tmp), repeats)
        fb = timed(lambda tmp, rec=rec, size=size: floor_nearest_seeks(rec, n, size, tmp), repeats)
        fl = min(fa, fb)
        ratios_floor.append(g / fl)
        ratios_naive.append(nv / g)
        print(f"{video.name:26} {g:7.2f} {nv:7.2f} {fa:8.2f} {fb:7.2f} {fl:7.2f} {g / fl:10.2f}x {nv / g:10.1f}x")
    print(f"\nGAIA/floor: median {statistics.median(ratios_floor):.2f}x, worst {max(ratios_floor):.2f}x"
          "  (goal <= 1.5x)")
    print(f"naive/GAIA: median {statistics.median(ratios_naive):.1f}x, worst {min(ratios_naive):.1f}x  (goal >= 5x)")

    # The whole folder on every core, in a fresh process so its peak memory is GAIA's alone.
    shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
    out = subprocess.run([sys.executable, __file__, "--all-cores", str(folder), "--frames", str(n)],
                         capture_output=True, text=True, check=True).stdout
    print("\n" + out.strip())

    sample = WORK / "sample_small.mp4"
    if not sample.exists():
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(sample)], check=True)
    first_s, rescan_s = rescan_benchmark(sample)
    print(f"\nfolder of 1,000 videos: first scan {first_s:.2f} s, rescan unchanged {rescan_s:.3f} s (goal < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
