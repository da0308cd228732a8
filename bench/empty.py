"""Benchmark: the likely-empty check (``gaia.media.empty``) against keyframe extraction, on the same folder.

Makes a folder of camera-trap-like clips with the bundled ffmpeg (cached in ``bench/.work``): a
still scene under sensor grain, 30 fps, at 720p and 1080p, each empty and with a dark box crossing
for one second, encoded three ways a camera does: H.264 with a keyframe every second (GOP 30) and
every 8.3 s (GOP 250, x264's default), both with the bitrate a trap camera caps at (6 Mbit/s at
720p, 12 at 1080p), and Motion JPEG in AVI (every frame a keyframe, as older trap cameras record).
Then, in one process, one video at a time (median of repeats), wall and CPU time:

- keyframes: ``extract_keyframes`` with the default settings, fresh frame cache, one worker;
- check: ``measure``, decode included (the packet index is read, then keyframes alone, or each
  group of pictures up to its last sample, are decoded on one thread; 3 frames a second are kept at
  128 px and scored);
- scoring: ``score_frames`` alone, on the small greyscale frames already decoded;
- the floor (``floor``): the least decoding any pixel check that sees a one-second visit must do,
  with plain PyAV (one thread, no scaling, no scoring, nothing of GAIA's but the ``lowres`` rule),
  at three rates: (a) 1 frame a second, the least that sees a 1 s visit at all; (b) 2 a second, the
  least that sees it in two frames, as a measure of change needs; and 3 a second, the check's own
  rate (``SAMPLE_FPS``: a 1 s visit in 2 frames with one to spare). Each is decoded the cheapest way
  the codec allows: where every frame is a keyframe (Motion JPEG), only the fewest frames that are
  at most a step apart, each alone, MJPEG at the check's reduced size; otherwise each group of
  pictures in order from its keyframe up to the first frame within a step of the next keyframe (or
  of the clip's end), frames nothing refers to and no sample needs (B-frames) skipped, the rest of
  the group not read.

Prints each clip's CPU times, frames decoded by the floors, score and verdict; then, per encoding
and for the whole folder, in CPU time (what a folder costs when every core is busy, as both run):
floor a / keyframes and floor b / keyframes (how near 10% any check that decodes can come), check /
keyframes and scoring / keyframes (the done-when's literal figure, against the goal < 10%), check /
floor b and check / floor at 3 a second (how far the check is from the least possible, at the rate
a measure of change needs and at its own), and the check's ratio in wall time. With ``--before REF``
(a git revision, e.g. ``main``), the check as it was there (``gaia/media/empty.py`` at REF, loaded
beside today's) is timed in the same run, clip by clip, its ratios printed beside today's, and its
scores compared with today's (any difference is printed).

Where every frame depends on the one before it (H.264 here: no B-frames in grainy footage), any
check must decode each group of pictures up to its last sample to see a one-second visit (with a
keyframe a second, half the frames at 2 a second, 2/3 at 3), while extraction decodes about 6
keyframes; packet sizes cannot stand in for that (a dark subject entering a grainy scene can make
the frames *smaller*). Where every frame is a keyframe, a reduced frame still costs its full
entropy decoding: even 1 a second is 10 frames against extraction's 6.

With ``--real PATH`` it times nothing and prints instead the verdicts on real footage: the clip cut
from PATH (``--crop W:H:X:Y``, ``--start S``, ``--seconds S``; re-encoded as H.264 and in the
source's codec by its encoder of the same name), its first ``--empty-s`` seconds cut on their own, and the
clip's 10 s segments (``segment_scores``). The README's check was made on OpenCV's vtest.avi:
``--real /tmp/ocvdata/vtest.avi --crop 512:192:0:384 --start 30 --seconds 40`` (grass empty for
22 s, then two walkers) and ``--crop 256:144:192:24 --start 33`` (22 s of nothing, then heads at
the edge); and on tree.avi whole (``--real /tmp/ocvdata/tree.avi --seconds 30``: a swaying tree for
22.6 s, then a hand).

Usage: python bench/empty.py [--repeats 3] [--seconds 10] [--before main]
       python bench/empty.py --real PATH [--crop W:H:X:Y] [--start 0] [--seconds 40] [--empty-s 20]
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gaia.media import empty
from gaia.media.keyframes import extract_keyframes
from gaia.media.probe import ffmpeg_exe
from gaia.media.scan import scan_folder
from gaia.settings import RunSettings

WORK = Path(__file__).resolve().parent / ".work" / "empty2"
GOAL = 0.10
FLOOR_FPS = (1.0, 2.0, empty.SAMPLE_FPS)  # floor a, floor b, the floor at the check's own rate
SIZES = {"1280x720": "6M", "1920x1080": "12M"}  # size -> the bitrate cap of a trap camera
ENCODINGS = {  # name -> ffmpeg output options (the bitrate cap is added for H.264)
    "h264-gop30": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "30", "-pix_fmt", "yuv420p"],
    "h264-gop250": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "250", "-pix_fmt", "yuv420p"],
    "mjpeg": ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj420p"],
}


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(seconds: float) -> list[Path]:
    """Every size x encoding, empty and with a visitor (cached)."""
    WORK.mkdir(parents=True, exist_ok=True)
    out = []
    for size, cap in SIZES.items():
        w, h = (int(v) for v in size.split("x"))
        for enc, opts in ENCODINGS.items():
            for visitor in (False, True):
                ext = "avi" if enc == "mjpeg" else "mp4"
                path = WORK / f"{enc}_{size}_{'visitor' if visitor else 'empty'}_{seconds:g}s.{ext}"
                if not path.exists():
                    src = f"gradients=size={size}:rate=30:duration={seconds}:speed=0.002:seed=3,format=yuv420p"
                    inputs = ["-f", "lavfi", "-i", src]
                    graph = "[0:v]noise=alls=8:allf=t[v]"
                    if visitor:  # a dark box crossing a sixth of the picture in one second, grain on it too
                        t0 = seconds / 2
                        inputs += ["-f", "lavfi", "-i", f"color=c=0x303030:s={w // 16}x{h // 12}:r=30:d={seconds}"]
                        graph = (f"[0:v][1:v]overlay=x='W*0.3+(t-{t0})*W*0.15':y=H*0.5:"
                                 f"enable='between(t,{t0},{t0 + 1})',noise=alls=8:allf=t[v]")
                    cap_opts = [] if enc == "mjpeg" else ["-maxrate", cap, "-bufsize", cap]
                    _ff(*inputs, "-filter_complex", graph, "-map", "[v]", *opts, *cap_opts, str(path))
                out.append(path)
    return out


def _module_at(rev: str) -> object:
    """``gaia/media/empty.py`` as it was at git revision ``rev``, loaded as a module of its own."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(root), "show", f"{rev}:gaia/media/empty.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "empty_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("empty_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["empty_before"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    """``fn()``, its wall time and its CPU time (every thread of this process: the check and the
    extraction of one video both run in it)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def floor(path: Path, fps: float) -> int:
    """Decode the least any pixel check that keeps ``fps`` frames a second (on no grid: any frames
    at most ``1 / fps`` apart, from the first frame to within ``1 / fps`` of the clip's end) must
    decode, with plain PyAV: no scaling, no scoring, one thread. Returns the packets decoded.

    The frames are listed from the container's index (one demux pass where it is incomplete). Where
    every frame is a keyframe, only the fewest frames that keep the gaps are decoded, each alone
    after a seek (Motion JPEG at the check's reduced size, ``lowres``). Otherwise each group of
    pictures is decoded in order from its keyframe up to its last needed frame (the first one
    within ``1 / fps`` of the next keyframe or of the clip's end), frames before it that no frame
    refers to and that are not needed left undecoded (``skip_frame`` NONREF: B-frames), and the
    rest of the group is not read at all (a seek to the next keyframe). The loop filter is skipped
    as the check skips it.
    """
    step, eps = 1.0 / fps, 1e-3
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.thread_type, cc.thread_count = "SLICE", 1
        tb = float(stream.time_base)
        zero = container.start_time / 1e6 if container.start_time is not None else (stream.start_time or 0) * tb
        entries = [e for e in stream.index_entries if not e.is_discard]
        if entries and len(stream.index_entries) == stream.frames:  # times from the index: dts + reordering delay
            first = next(container.demux(stream))
            delay = first.pts - first.dts if first.pts is not None and first.dts is not None else 0
            frames = [((e.timestamp + delay) * tb - zero, e.is_keyframe, e.timestamp + delay) for e in entries]
        else:
            frames = [(p.pts * tb - zero, p.is_keyframe, p.pts) for p in container.demux(stream)
                      if p.pts is not None and p.size]
        frames.sort()
        times = [t for t, _, _ in frames]
        gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
        end = times[-1] + (gaps[len(gaps) // 2] if gaps else 1 / 30)  # the last frame's end
        keys = [(t, ts) for t, key, ts in frames if key]
        lowres = empty.reduced_size(cc)
        cc.options = {"lowres": str(lowres)} if lowres else {"skip_loop_filter": "all"}
        decoded = 0
        if len(keys) == len(frames):  # intra-only: the fewest frames, each at most a step after the one before
            i, chosen = 0, [0]
            while times[i] < end - step - eps and i + 1 < len(times):
                i = max(i + 1, bisect.bisect_right(times, times[i] + step + eps) - 1)
                chosen.append(i)
            for i in chosen:
                container.seek(frames[i][2], stream=stream, backward=True)
                for packet in container.demux(stream):
                    cc.decode(packet)
                    decoded += 1
                    break
            return decoded
        for g, (k, ts) in enumerate(keys):
            bound = keys[g + 1][0] if g + 1 < len(keys) else end
            group = times[bisect.bisect_left(times, k - eps):bisect.bisect_left(times, bound - eps)]
            needed = [next((t for t in group if t >= bound - step - eps), group[-1])]
            while needed[-1] > k + step + eps:  # back to the keyframe, a step at a time at most (a frame at least)
                j = bisect.bisect_left(group, needed[-1] - step - eps)
                needed.append(group[min(j, bisect.bisect_left(group, needed[-1]) - 1)])
            wanted = {round(t, 3) for t in [*needed, k]}
            container.seek(ts, stream=stream, backward=True)
            for packet in container.demux(stream):
                if not packet.size:  # the end
                    break
                if packet.pts is None:
                    continue
                t = round(packet.pts * tb - zero, 3)
                if t < k - eps:
                    continue
                cc.skip_frame = "DEFAULT" if t in wanted else "NONREF"
                cc.decode(packet)
                decoded += 1
                wanted.discard(t)
                if not wanted:
                    break
            cc.skip_frame = "DEFAULT"
        return decoded


H264_CAMERA = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "30", "-pix_fmt", "yuv420p"]


def _said(verdict: empty.EmptyScore) -> str:
    return f"score {verdict.score:.3f} {'FLAGGED' if verdict.likely_empty() else 'kept'}: {verdict.reason}"


def real(path: Path, *, crop: str | None, start: float, seconds: float, empty_s: float) -> None:
    """Print the verdicts on a cut of real footage, its first ``empty_s`` seconds and its segments."""
    vf = ["-vf", f"crop={crop}"] if crop else []
    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
    encodings = {"h264.mp4": H264_CAMERA, f"{codec}.avi": ["-c:v", codec, "-q:v", "3"]}  # + the source's codec
    print(f"{path} ({codec}), crop {crop or 'none'}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in encodings.items():
            for part, length in (("clip", seconds), ("first", empty_s)):
                out = Path(tmp) / f"{part}-{name}"
                try:
                    _ff("-ss", str(start), "-i", str(path), "-t", str(length), *vf, "-an", *options, str(out))
                except subprocess.CalledProcessError:
                    print(f"{name:<12} {part}: the bundled ffmpeg cannot encode this way")
                    continue
                verdict = empty.measure(out)
                label = f"{name:<12} {part} ({length:g} s from {start:g} s)"
                print(f"{label:<40} {verdict.frames:4d} frames  activity {verdict.activity:6.1f} px  {_said(verdict)}")
                if part == "clip":
                    frames, times = empty.sample_frames(out)
                    for a, b, seg in empty.segment_scores(frames, times):
                        print(f"    {a:5.1f}-{b:5.1f} s  {_said(seg)}")


def main() -> None:
    """Make the clips, time each step per video, print the ratios (or, with ``--real``, the verdicts)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=None, help="each clip's length (10 s; with --real 40 s)")
    ap.add_argument("--real", type=Path, help="print the verdicts on this real video instead of timing")
    ap.add_argument("--crop", help="with --real: ffmpeg crop W:H:X:Y")
    ap.add_argument("--start", type=float, default=0.0, help="with --real: where the clip starts (s)")
    ap.add_argument("--empty-s", type=float, default=20.0, help="with --real: the first part cut on its own (s)")
    ap.add_argument("--before", help="also time the check as it was at this git revision (e.g. main)")
    args = ap.parse_args()
    if args.real and not args.real.is_file():
        ap.error(f"--real: no video at {args.real}")
    if args.real:
        real(args.real, crop=args.crop, start=args.start, seconds=args.seconds or 40.0, empty_s=args.empty_s)
        return
    clips = make_clips(args.seconds or 10.0)
    settings = RunSettings()
    before: Any = _module_at(args.before) if args.before else None
    # encoding -> keyframes (wall, CPU), check (wall, CPU), scoring (CPU), check before (CPU), the floor at
    # 1, 2 and SAMPLE_FPS frames a second (CPU), summed over its clips
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * (6 + len(FLOOR_FPS)))
    same = 0  # clips whose score is the one --before gives
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "trap"
        folder.mkdir()
        for clip in clips:
            shutil.copy(clip, folder / clip.name)
        for rec in scan_folder(folder).records:
            runs = []
            for _ in range(args.repeats):
                shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
                _, kf_wall, kf_cpu = _timed(partial(extract_keyframes, folder, settings=settings.keyframes,
                                                    model=settings.model, records=[rec], workers=1))
                verdict, check_wall, check_cpu = _timed(partial(empty.measure, rec.path))
                frames, times = empty.sample_frames(rec.path)
                _, _, score_cpu = _timed(partial(empty.score_frames, frames, times))
                old, _, old_cpu = _timed(partial(before.measure, rec.path)) if before else (None, 0.0, 0.0)
                floors = [_timed(partial(floor, rec.path, fps)) for fps in FLOOR_FPS]
                runs.append((kf_wall, kf_cpu, check_wall, check_cpu, score_cpu, old_cpu, *(f[2] for f in floors)))
            row = [statistics.median(r[i] for r in runs) for i in range(len(runs[0]))]
            enc = rec.rel_path.split("_")[0]
            for i, v in enumerate(row):
                sums[enc][i] += v
                sums["whole folder"][i] += v
            assert isinstance(verdict, empty.EmptyScore)
            way = empty.decoding_plan(rec.path).way
            said = f"{'FLAGGED' if verdict.likely_empty() else 'kept'}: {verdict.reason}"
            was = ""
            if before:
                mine = (verdict.score, verdict.reason, verdict.activity, verdict.frames, verdict.change_times)
                identical = mine == (old.score, old.reason, old.activity, old.frames, old.change_times)
                same += identical
                was = f" [{args.before}: CPU {row[5]:6.3f}{'' if identical else ', SCORE DIFFERS'}]"
            decoded = "/".join(str(f[0]) for f in floors)
            print(f"{rec.rel_path:<38} keyframes CPU {row[1]:6.3f} s  check CPU {row[3]:6.3f} s ({way}, "
                  f"{verdict.frames} frames){was}  floor CPU {' '.join(f'{v:.3f}' for v in row[6:])} s "
                  f"({decoded} decoded)  score {verdict.score:.4f} {said}")
    print(f"\nCPU time, {args.repeats} repeats' medians summed; floor a, b: 1 and 2 frames a second; "
          f"f{empty.SAMPLE_FPS:g}: the floor at the check's own rate, {empty.SAMPLE_FPS:g} a second")
    head = ["keyframes", "check", "floor a/kf", "floor b/kf", "check/kf", "scoring/kf", "check/floor b",
            f"check/f{empty.SAMPLE_FPS:g}", "wall check/kf"]
    if before:
        head += [f"check/kf at {args.before}", f"check/f{empty.SAMPLE_FPS:g} at {args.before}"]
    print(f"{'':<13}" + "".join(f"{h:>{max(11, len(h) + 1)}}" for h in head))
    for enc, (kw, kc, cw, cc, sc, oc, fa, fb, f3) in sorted(sums.items(), key=lambda kv: kv[0] == "whole folder"):
        cells = [f"{kc:.2f}s", f"{cc:.2f}s", f"{fa / kc:.1%}", f"{fb / kc:.1%}", f"{cc / kc:.1%}", f"{sc / kc:.1%}",
                 f"{cc / fb:.2f}x", f"{cc / f3:.2f}x", f"{cw / kw:.1%}"]
        if before:
            cells += [f"{oc / kc:.1%}", f"{oc / f3:.2f}x"]
        print(f"{enc:<13}" + "".join(f"{c:>{max(11, len(h) + 1)}}" for c, h in zip(cells, head, strict=True)))
    kw, kc, cw, cc, sc, _, fa, fb, f3 = sums["whole folder"]
    for what, ratio in (("scoring alone", sc / kc), ("check (decode included)", cc / kc),
                        ("floor a (1 frame a second, decoding only)", fa / kc),
                        ("floor b (2 frames a second, decoding only)", fb / kc)):
        print(f"{what} / keyframe extraction, CPU time: {ratio:.1%} "
              f"(goal < {GOAL:.0%}: {'met' if ratio < GOAL else 'NOT met'})")
    print(f"check / floor b: {cc / fb:.2f}x; check / floor at {empty.SAMPLE_FPS:g} a second: {cc / f3:.2f}x")
    if before:
        print(f"scores identical to {args.before}'s on {same} of {len(clips)} clips")

if __name__ == "__main__":
    main()
