"""Benchmark: GAIA's default keyframe extraction against the in-process floor and naive moviepy, in one run.

Makes its own test videos with the bundled ffmpeg (cached in ``bench/.work``): four long clips
(1080p and 720p H.264, long and short GOPs, hard cuts) and a set of phone-like clips (1080p, 12 s,
30 fps, GOP 30, about 12 Mbit/s, evolving content with camera-like grain, so nothing repeats).
Then, per video (median of repeats, fresh frame cache each time):

- GAIA: ``extract_keyframes`` with the default strategy, one video, one worker;
- floor: the in-process minimum for the same N frames: PyAV opens the file, seeks to the keyframe
  at or before each evenly spread time, decodes that one packet, scales in swscale, and Pillow
  writes JPEG q85; nothing else (no index, no choice of distinct frames, no checks);
- floor for the same frames ("same fr.", CPU ratio): the frames GAIA settled on, each decoded from the
  keyframe before it: where GAIA replaced a black or repeated keyframe by an exact frame, the
  minimum for that frame is higher than the first floor's, which simply takes the keyframe;
- naive: moviepy ``VideoFileClip.get_frame`` at the same times, resized and saved as JPEG.

Then the phone set on every core (GAIA and the floor, each in a process pool of the machine's
cores), peak memory of GAIA's processes, the rescan of an unchanged folder of 10,000 videos, and
(with ``--8k``) the peak memory of extracting one 8K clip. Prints each ratio against its goal:
GAIA <= 1.25x the floor (median) and <= 1.5x (worst video); naive >= 10x GAIA; >= 4 phone clips/s
on 2 cores; peak memory < 250 MB.

How worker processes start (``--worker-start`` alone, or among the extras): 6 tiny clips on 2 workers in a
fresh process, spawned workers against forkserver ones (GAIA's default on Linux), wall and CPU.

The still set (``--sets still``): bench/empty.py's camera-trap clips with a keyframe every 250 frames (a grainy
still scene, 720p and 1080p, empty and with a 1 s visitor), timed as above against the floors, then each
extraction in a fresh process: its CPU, the frames it decoded (``VideoDecoder.decoded``) against the clip's
own frame count and a one-pass decode of the whole clip, and, with ``--before REV``, GAIA's ``gaia/`` at that
git revision on the same clips in the same run (alternating), with whether it kept the same frames.

Same picks (``--same-picks REV``, alone): every clip of the sets asked for (the generated ones included), every
kind of tests/videos.py and OpenCV's real AVIs when in /tmp/ocvdata, with each strategy (keyframes, uniform,
scene), extracted by GAIA today and by GAIA at ``REV``, each in a fresh process: the frames kept (their times,
sources, rules and JPEG bytes) must be the same, and the frames decoded are summed per set and strategy.

Usage: python bench/keyframes.py [--frames 6] [--repeats 3] [--quick] [--phones 30] [--rescan 10000] [--8k]
       [--worker-start] [--sets long,phones,short,longgop,still] [--before main] [--same-picks main]
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import av
from _common import peak_rss_mb
from PIL import Image

from gaia.folder import preview_dir
from gaia.media.keyframes import cached_keyframes, extract_keyframes, target_size
from gaia.media.probe import ffmpeg_exe
from gaia.media.scan import VideoRecord, scan_folder
from gaia.settings import KeyframeSettings

WORK = Path(__file__).resolve().parent / ".work"
MODEL = "claude-sonnet-4-5"

LONG_VIDEOS = {
    # name: (size, seconds, gop)
    "1080p_60s_gop250.mp4": ("1920x1080", 60, 250),
    "1080p_40s_gop30.mp4": ("1920x1080", 40, 30),
    "720p_30s_gop250.mp4": ("1280x720", 30, 250),
    "720p_20s_gop30.mp4": ("1280x720", 20, 30),
}
PHONE_SECONDS = 12
# Short, repetitive clips (3 s, 640x360, x264 defaults): test patterns, still bars, slow fractals, a fade from
# black; eight of them hold still, so GAIA keeps one frame there, and the rest move a little or a lot.
# A source is written with its own options (`name=a=1:b=2`), and a filter after it follows a "|".
SHORT_SOURCES = [
    "testsrc2", "smptebars", "mandelbrot", "life=mold=10:ratio=0.1", "testsrc", "rgbtestsrc",
    "gradients=speed=0.02", "cellauto=rule=110", "smptehdbars", "zoneplate=kt2=4", "pal75bars",
    "color=c=#3060a0", "sierpinski", "yuvtestsrc", "testsrc2|hue=h=120", "colorspectrum",
    "mandelbrot=start_scale=1", "life=ratio=0.3:seed=7", "gradients=speed=0.2:seed=3", "testsrc2|fade=in:st=0:d=1",
]
LONG_GOP_NAME = "720p_12s_gop250_black_open.mp4"
# The commonest camera-trap clip: a still scene under sensor grain, 10 s, a keyframe every 250 frames (x264's
# default), 720p and 1080p, empty and with a 1 s visitor: bench/empty.py's GOP-250 clips (made there: one home).
STILL_PREFIX = "h264-gop250_"
STILL_SECONDS = 10.0
REAL = Path("/tmp/ocvdata")  # OpenCV's examples/data, where present: tree.avi, vtest.avi, Megamind(_bugy).avi


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_long_videos(root: Path, quick: bool) -> list[Path]:
    """Six-part videos (hard cuts every sixth of the duration) with camera-like grain."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (size, seconds, gop) in LONG_VIDEOS.items():
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
        _ff(*args, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            "-g", str(gop), str(tmp))
        tmp.rename(path)
    return out


def make_phone_clips(root: Path, count: int) -> list[Path]:
    """``count`` phone-like clips: 12 s windows of one long evolving recording, cut at its keyframes.

    One encode (1080p30, GOP 30, 12 Mbit/s, no scene-cut keyframes) and stream copies keep the
    set cheap to make; each clip starts at a different second, so no two clips are alike and,
    inside a clip, the picture keeps changing (Game of Life, slowly turning hues, grain).
    """
    root.mkdir(parents=True, exist_ok=True)
    clips = [root / f"phone_{i:02d}.mp4" for i in range(count)]
    if all(c.exists() for c in clips):
        return clips
    base = WORK / f"phone_base_{count}.mp4"
    if not base.exists():
        seconds = PHONE_SECONDS + count
        src = (f"life=size=480x270:rate=30:mold=10:ratio=0.12:seed=11:life_color=#ffcc00:death_color=#5070d0:"
               f"mold_color=#304080,scale=1920:1080:flags=neighbor,hue=H=2*PI*t/17,noise=alls=10:allf=t,"
               f"format=yuv420p,trim=duration={seconds}")
        tmp = base.with_suffix(".tmp.mp4")
        _ff("-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "veryfast", "-b:v", "12M", "-maxrate", "12M",
            "-bufsize", "12M", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", str(tmp))
        tmp.rename(base)
    for i, clip in enumerate(clips):
        if not clip.exists():
            _ff("-ss", str(i), "-i", str(base), "-t", str(PHONE_SECONDS), "-c", "copy", "-avoid_negative_ts",
                "make_zero", str(clip))
    return clips


def make_short_clips(root: Path) -> list[Path]:
    """The 20 distinct 3 s 640x360 H.264 clips (x264 defaults, so one keyframe each, sometimes two)."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i, spec in enumerate(SHORT_SOURCES):
        path = root / f"short_{i:02d}.mp4"
        out.append(path)
        if path.exists():
            continue
        source, _, after = spec.partition("|")  # a source with its options, then a filter after it
        name, _, opts = source.partition("=")
        src = f"{name}=size=640x360:rate=30" + (f":{opts}" if opts else "") + (f",{after}" if after else "")
        tmp = path.with_suffix(".tmp.mp4")
        _ff("-f", "lavfi", "-i", f"{src},trim=duration=3,format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "23", str(tmp))
        tmp.rename(path)
    return out


def make_long_gop(root: Path) -> Path:
    """720p, 12 s, a keyframe every 250 frames exactly (0 and 8.3 s); the first 2 s are black, so the
    keyframe it opens on is black and its replacement lies deep in a 250-frame GOP."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LONG_GOP_NAME
    if not path.exists():
        tmp = path.with_suffix(".tmp.mp4")
        _ff("-f", "lavfi", "-i", "color=c=black:size=1280x720:rate=30:duration=2", "-f", "lavfi", "-i",
            "testsrc2=size=1280x720:rate=30:duration=10", "-filter_complex",
            "[1:v]noise=alls=8:allf=t[n];[0:v][n]concat=n=2:v=1:a=0,format=yuv420p[v]", "-map", "[v]",
            "-c:v", "libx264",
            "-preset", "veryfast", "-crf", "23", "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", str(tmp))
        tmp.rename(path)
    return path


def make_still_clips(root: Path) -> list[Path]:
    """bench/empty.py's still long-GOP clips (made by its maker, cached in its folder), linked into ``root``."""
    import empty as empty_bench  # bench/empty.py: this script's folder is on sys.path

    root.mkdir(parents=True, exist_ok=True)
    out = []
    for clip in empty_bench.make_clips(STILL_SECONDS):
        if clip.name.startswith(STILL_PREFIX):
            dest = root / clip.name
            if not dest.exists():
                try:
                    os.link(clip, dest)
                except OSError:
                    shutil.copyfile(clip, dest)
            out.append(dest)
    return out


# --- the three ways to get N frames -------------------------------------------------------------


def floor(path: Path, n: int, size: tuple[int, int], out: Path) -> None:
    """The in-process minimum: per target, seek to the keyframe at or before it, decode that packet, scale, JPEG."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.skip_frame = "NONKEY"
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        for i in range(n):
            t = (i + 0.5) * duration / n
            container.seek(int(t / stream.time_base), stream=stream, backward=True)
            for packet in container.demux(stream):
                if packet.is_keyframe:
                    frame = (cc.decode(packet) + cc.decode(None))[0]
                    break
            frame.to_image(width=size[0], height=size[1]).save(out / f"f{i}.jpg", quality=85)


def floor_same_frames(path: Path, frames: list[tuple[float, bool]], size: tuple[int, int], out: Path) -> None:
    """The in-process minimum for the frames GAIA settled on (``(time, is_keyframe)``): a keyframe is one
    packet decoded alone, as in ``floor``; any other frame is decoded on from the keyframe before it
    (every frame, nothing skipped). Where GAIA replaced a black or repeated keyframe by an exact frame,
    this floor pays for reaching that frame too. Then scale and JPEG."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        for i, (t, key) in enumerate(frames):
            # GAIA's times are rounded to the millisecond: half of one more, so the seek never lands a GOP early.
            container.seek(int((t + 5e-4 + start) / stream.time_base), stream=stream, backward=True)
            cc.skip_frame = "NONKEY" if key else "DEFAULT"
            if key:
                packet = next(p for p in container.demux(stream) if p.is_keyframe)
                frame = (cc.decode(packet) + cc.decode(None))[0]
            else:
                frame = next(f for f in container.decode(stream) if f.time is not None and f.time - start >= t - 1e-3)
            frame.to_image(width=size[0], height=size[1]).save(out / f"s{i}.jpg", quality=85)


def naive(path: Path, n: int, size: tuple[int, int], out: Path) -> None:
    """moviepy's ``get_frame`` at N evenly spread times, resized and saved as JPEG."""
    from moviepy import VideoFileClip

    with VideoFileClip(str(path), audio=False) as clip:
        for i in range(n):
            t = (i + 0.5) * clip.duration / n
            img = Image.fromarray(clip.get_frame(t)).resize(size, Image.Resampling.LANCZOS)
            img.save(out / f"n{i}.jpg", quality=85)


def gaia_default(folder: Path, rec: VideoRecord, n: int) -> None:
    """GAIA's default extraction of one video, one worker, nothing cached."""
    shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
    (kset,) = extract_keyframes(folder, settings=KeyframeSettings(count=n), model=MODEL, records=[rec],
                                     workers=1)
    assert kset.frames, kset.problem


def _cpu() -> float:
    """CPU seconds of this process (every thread, nanosecond clock) and of its finished child processes."""
    children = os.times()
    return time.process_time() + children.children_user + children.children_system


def timed_together(fns: list, repeats: int, min_s: float = 0.05) -> list[tuple[float, float]]:
    """Median wall and CPU time of each of ``fns``, measured in rotation (one of each per round), so load
    that comes and goes weighs on all of them alike. A fast call is repeated within a round until the
    round has taken ``min_s`` and the time per call is kept: a 3 s clip takes milliseconds.

    CPU time is the steadier figure when other work shares the cores: wall time then also counts
    the time spent waiting for a core.
    """
    loops = []
    for fn in fns:  # one untimed call each settles how many calls a round needs (and warms caches)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            fn(Path(tmp))
            loops.append(max(1, min(20, round(min_s / max(time.perf_counter() - start, 1e-4)))))
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            with tempfile.TemporaryDirectory() as tmp:
                before = _cpu()
                start = time.perf_counter()
                for _ in range(loops[k]):
                    fn(Path(tmp))
                walls[k].append((time.perf_counter() - start) / loops[k])
                cpus[k].append((_cpu() - before) / loops[k])
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus, strict=True)]


def per_video(folder: Path, names: list[str], n: int, repeats: int, with_naive: bool
              ) -> tuple[list, list, list, list]:
    """Print one line per video; return the GAIA/floor ratios (wall, CPU), the naive/GAIA ones (wall) and the
    GAIA/floor ratios for the same frames as GAIA (CPU)."""
    records = {r.path.name: r for r in scan_folder(folder).records}
    wall_ratios, cpu_ratios, naive_ratios, same_ratios = [], [], [], []
    settings = KeyframeSettings(count=n)
    for name in names:
        rec = records[name]
        size = target_size(rec, settings, MODEL)
        gaia_default(folder, rec, n)
        (kset,) = cached_keyframes(folder, settings=settings, model=MODEL, records=[rec])
        same = [(f.timestamp, f.source == "keyframe") for f in kset.frames]
        fns = [lambda _tmp, rec=rec: gaia_default(folder, rec, n),
               lambda tmp, rec=rec, size=size: floor(rec.path, n, size, tmp),
               lambda tmp, rec=rec, size=size, same=same: floor_same_frames(rec.path, same, size, tmp)]
        if with_naive:
            fns.append(lambda tmp, rec=rec, size=size: naive(rec.path, n, size, tmp))
        measured = timed_together(fns, repeats)
        (g, g_cpu), (fl, fl_cpu), (_, same_cpu) = measured[:3]
        wall_ratios.append(g / fl)
        cpu_ratios.append(g_cpu / fl_cpu)
        same_ratios.append(g_cpu / same_cpu)
        line = (f"{name:37} {g:7.3f} {fl:7.3f} {g / fl:10.2f}x {g_cpu:7.3f} {fl_cpu:7.3f} {g_cpu / fl_cpu:9.2f}x "
                f"{g_cpu / same_cpu:9.2f}x")
        if with_naive:
            nv = measured[3][0]
            naive_ratios.append(nv / g)
            line += f" {nv:7.2f} {nv / g:10.1f}x"
        print(line + f"  ({len(kset.frames)} kept)", flush=True)
    return wall_ratios, cpu_ratios, naive_ratios, same_ratios


# --- still long-GOP clips: frames decoded, and GAIA at an earlier revision ------------------------


def one_pass(path: Path) -> int:
    """Decode every frame of ``path`` once, in order, on one thread, nothing scaled; the frames decoded."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type, stream.codec_context.thread_count = "SLICE", 1
        return sum(1 for _ in container.decode(stream))


def _count_decoded() -> list[int]:
    """From now on in this process, each closed ``VideoDecoder`` appends its frames decoded to the list returned."""
    from gaia.media import decode

    decoded: list[int] = []
    close = decode.VideoDecoder.close

    def counting_close(self: decode.VideoDecoder) -> None:
        decoded.append(self.decoded)
        close(self)

    decode.VideoDecoder.close = counting_close  # type: ignore[method-assign]
    return decoded


def still_run(folder: Path, names: list[str], n: int) -> None:
    """(In a fresh process, with whichever ``gaia`` comes first on the path) extract each clip once, fresh
    cache, one worker; print one JSON line: per clip its CPU seconds, frames decoded and the times kept."""
    import json

    decoded = _count_decoded()
    records = {r.path.name: r for r in scan_folder(folder).records}
    out = {}
    for name in names:
        shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
        decoded.clear()
        before = _cpu()
        (kset,) = extract_keyframes(folder, settings=KeyframeSettings(count=n), model=MODEL, records=[records[name]],
                                    workers=1)
        out[name] = [_cpu() - before, sum(decoded), [f.timestamp for f in kset.frames]]
    print(json.dumps(out))


def picks_run(folder: Path, strategy: str, n: int) -> None:
    """(In a fresh process, with whichever ``gaia`` comes first on the path) extract every clip of ``folder`` with
    ``strategy``, fresh cache, one worker; print one JSON line: per clip its frames decoded and, per frame kept, its
    time, source, rule and the SHA-256 of its JPEG."""
    import hashlib
    import json

    decoded = _count_decoded()
    out = {}
    for rec in scan_folder(folder).records:
        shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
        decoded.clear()
        before = _cpu()
        (kset,) = extract_keyframes(folder, settings=KeyframeSettings(count=n, strategy=strategy), model=MODEL,
                                    records=[rec], workers=1)
        out[rec.rel_path] = [sum(decoded), kset.problem, [(f.timestamp, f.source, f.rule,
                                                          hashlib.sha256(f.read_bytes()).hexdigest()[:16])
                                                         for f in kset.frames], _cpu() - before]
    shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
    print(json.dumps(out))


def kind_clips(root: Path) -> Path:
    """Every kind of tests/videos.py (its ``build_library``), made once into ``root``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.videos import build_library

    build_library(root)
    return root


def _gaia_at(rev: str, into: str) -> str:
    """GAIA's ``gaia/`` at git revision ``rev``, unpacked into ``into``; ``into`` (for ``_fresh``)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "gaia"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def _fresh(args: list[str], gaia_dir: str | None) -> Any:
    """This script run with ``args`` in a fresh process (with ``gaia`` from ``gaia_dir`` when given): the JSON
    its last line prints."""
    import json

    env = dict(os.environ)
    if gaia_dir:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (gaia_dir, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def same_picks(folders: list[Path], n: int, rev: str) -> bool:
    """GAIA today and at ``rev`` on every clip of ``folders`` with each strategy (fresh processes): prints per folder
    and strategy the clips, those whose picks differ, the frames decoded and the CPU; whether every pick is the same.

    A clip whose picks differ is extracted at ``rev`` twice more: where ``rev`` itself gives other JPEG bytes from
    run to run (a damaged file decoded on frame threads conceals errors as the threads happen to run), today's picks
    count as the same when their times, sources and rules are those of every run at ``rev``."""
    same = True

    def run(folder: Path, strategy: str, path: str | None) -> dict[str, list]:
        return _fresh(["--frames", str(n), "--picks-run", str(folder), strategy], path)  # type: ignore[no-any-return]

    with tempfile.TemporaryDirectory() as tmp:
        _gaia_at(rev, tmp)
        print(f"{'folder':12} {'strategy':10} {'clips':>5} {'differ':>6} {'decoded at ' + rev:>16} {'today':>8} "
              f"{'CPU at ' + rev:>12} {'today':>8}")
        for folder in folders:
            for strategy in ("keyframes", "uniform", "scene"):
                today, was = run(folder, strategy, None), run(folder, strategy, tmp)
                differ = [c for c in today if today[c][1:3] != was.get(c, [None] * 3)[1:3]]
                varies = []
                if differ:
                    again = [run(folder, strategy, tmp) for _ in range(2)]
                    for c in list(differ):
                        runs = [was[c], *(a[c] for a in again)]
                        if any(r[1:3] != runs[0][1:3] for r in runs) and all(
                                [f[:3] for f in r[2]] == [f[:3] for f in today[c][2]] for r in runs):
                            differ.remove(c)  # the same frames (times, sources, rules), bytes that vary at rev too
                            varies.append(c)
                same = same and not differ and today.keys() == was.keys()
                print(f"{folder.name:12} {strategy:10} {len(today):5d} {len(differ):6d} "
                      f"{sum(v[0] for v in was.values()):16d} {sum(v[0] for v in today.values()):8d} "
                      f"{sum(v[3] for v in was.values()):12.2f} {sum(v[3] for v in today.values()):8.2f}"
                      + (f"  DIFFER: {', '.join(differ)}" if differ else "")
                      + (f"  (JPEG bytes vary from run to run at {rev} too: {', '.join(varies)})" if varies else ""),
                      flush=True)
    print("same picks (times, sources, rules, JPEG bytes) on every clip: " + ("yes" if same else "NO"))
    return same


def still_against(folder: Path, names: list[str], n: int, repeats: int, rev: str | None) -> tuple[list, list]:
    """GAIA today (and at git revision ``rev``, its ``gaia/`` checked out beside) on each clip, each run in a
    fresh process, the two alternating; prints CPU, frames decoded and frames kept per clip, and a one-pass
    decode of the whole clip. Returns the CPU ratios today/``rev`` and today/one pass."""
    with tempfile.TemporaryDirectory() as tmp:
        ways: dict[str, str | None] = {"today": None}
        if rev:
            ways[rev] = _gaia_at(rev, tmp)
        runs: dict[str, list[dict]] = {way: [] for way in ways}
        for _ in range(repeats):
            for way, path in ways.items():
                runs[way].append(_fresh(["--frames", str(n), "--still-run", str(folder), *names], path))
    passes = timed_together([lambda _tmp, name=name: one_pass(folder / name) for name in names], repeats)
    was = f" {'CPU at ' + rev:>14} {'decoded':>8} {'today/' + rev:>12} {'same picks':>10}" if rev else ""
    print(f"{'video':37} {'frames':>6} {'one pass':>8} {'CPU today':>9} {'decoded':>8} {'/one pass':>9}{was}")
    against_rev, against_pass = [], []
    for name, (_, pass_cpu) in zip(names, passes, strict=True):
        with av.open(str(folder / name)) as container:
            frames = container.streams.video[0].frames
        now = [r[name] for r in runs["today"]]
        cpu = statistics.median(r[0] for r in now)
        against_pass.append(cpu / pass_cpu)
        line = f"{name:37} {frames:6d} {pass_cpu:8.3f} {cpu:9.3f} {now[0][1]:8d} {cpu / pass_cpu:8.2f}x"
        if rev:
            old = [r[name] for r in runs[rev]]
            old_cpu = statistics.median(r[0] for r in old)
            against_rev.append(cpu / old_cpu)
            line += (f" {old_cpu:14.3f} {old[0][1]:8d} {cpu / old_cpu:11.2f}x "
                     f"{'yes' if old[0][2] == now[0][2] else 'NO':>10}")
        print(line + f"  ({len(now[0][2])} kept: {', '.join(f'{t:g}' for t in now[0][2])})", flush=True)
    return against_rev, against_pass


# --- the whole set on every core, memory, rescan -------------------------------------------------


def _floor_job(args: tuple[str, int, tuple[int, int]]) -> None:
    path, n, size = args
    with tempfile.TemporaryDirectory() as tmp:
        floor(Path(path), n, size, Path(tmp))


def all_cores(folder: Path, n: int) -> None:
    """GAIA on the whole folder on every core, then the floor the same way; videos/s and peak memory."""
    records = scan_folder(folder).records
    settings = KeyframeSettings(count=n)
    t0 = os.times()
    start = time.perf_counter()
    watch = WorkerPeak()
    sets = extract_keyframes(folder, settings=settings, model=MODEL, records=records)
    wall = time.perf_counter() - start
    worker_mb = watch.stop()
    server_cpu = forkserver_cpu()  # GAIA's workers are the forkserver's children (counted here, not in os.times)
    t1 = os.times()
    assert all(k.frames for k in sets), [k.problem for k in sets if not k.frames]
    kept = [len(k.frames) for k in sets]
    noted = sum(1 for k in sets if k.note)
    self_mb = peak_rss_mb()
    child_mb = max(worker_mb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)  # forked or spawned
    cores = os.cpu_count() or 1
    jobs = [(str(r.path), n, target_size(r, settings, MODEL)) for r in records]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=cores) as pool:
        list(pool.map(_floor_job, jobs))
    floor_wall = time.perf_counter() - start
    t2 = os.times()
    g_cpu, f_cpu = sum(t1[:4]) - sum(t0[:4]) + server_cpu, sum(t2[:4]) - sum(t1[:4])
    print(f"GAIA, all {len(sets)} videos on {cores} cores: {wall:.2f} s, {len(sets) / wall:.2f} videos/s "
          f"(goal >= 4), CPU {g_cpu:.2f} s; frames kept per video: min {min(kept)}, max {max(kept)}; "
          f"videos with a note: {noted}")
    print(f"floor, same videos, same pool size: {floor_wall:.2f} s, {len(jobs) / floor_wall:.2f} videos/s, "
          f"CPU {f_cpu:.2f} s; GAIA/floor wall {wall / floor_wall:.2f}x, CPU {g_cpu / f_cpu:.2f}x")
    if g_cpu:
        print(f"at this CPU cost, 2 idle cores would extract {2 * len(sets) / g_cpu:.2f} videos/s")
    start = time.perf_counter()
    extract_keyframes(folder, settings=settings, model=MODEL, records=records)
    print(f"second run (everything cached): {time.perf_counter() - start:.3f} s")
    print(f"peak RSS: main process {self_mb:.0f} MB, largest worker {child_mb:.0f} MB (goal < 250 MB each)")


def extract_8k(path: Path) -> None:
    """Extract one 8K clip in this (fresh) process and print its peak memory."""
    folder = path.parent
    shutil.rmtree(folder / ".gaia", ignore_errors=True)
    start = time.perf_counter()
    for strategy in ("keyframes", "uniform"):
        (kset,) = extract_keyframes(folder, settings=KeyframeSettings(strategy=strategy), model=MODEL,
                                         workers=1)
        assert kset.frames, kset.problem
    print(f"8K clip, keyframes + uniform in one process: {time.perf_counter() - start:.2f} s, "
          f"peak RSS {peak_rss_mb():.0f} MB (goal < 250 MB, far from 1 GB)")


def rescan_benchmark(sample: Path, count: int) -> tuple[float, float]:
    """First scan and rescan of an unchanged folder of ``count`` videos (hard links of one small clip)."""
    folder = WORK / f"rescan_{count}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i in range(count):
        sub = folder / f"day{i // 100:03d}"
        sub.mkdir(exist_ok=True)
        dest = sub / f"clip {i:05d}.mp4"
        try:
            os.link(sample, dest)
        except OSError:
            shutil.copyfile(sample, dest)
    shutil.rmtree(preview_dir(folder), ignore_errors=True)  # a first scan: no probe cache from an earlier run
    start = time.perf_counter()
    first = scan_folder(folder)
    first_s = time.perf_counter() - start
    assert len(first.records) == count
    times = []
    for _ in range(3):
        start = time.perf_counter()
        again = scan_folder(folder)
        times.append(time.perf_counter() - start)
        assert again.probed == 0
    shutil.rmtree(folder)
    return first_s, statistics.median(times)


def worker_start_run(folder: Path, method: str) -> None:
    """(In a fresh process) extract the keyframes of every clip in ``folder`` with 2 workers started by
    ``method``; prints the wall time (the pool's start included) and the CPU of this process and its children."""
    import gaia.media.keyframes as kf

    kf.WORKER_START = method
    records = scan_folder(folder).records
    shutil.rmtree(folder / ".gaia" / "frames", ignore_errors=True)
    t0, start = os.times(), time.perf_counter()
    sets = extract_keyframes(folder, settings=KeyframeSettings(count=4), model=MODEL, records=records,
                                  workers=2)
    wall = time.perf_counter() - start
    assert all(k.frames for k in sets)
    t1 = os.times()
    print(f"{wall:.3f} {sum(t1[:4]) - sum(t0[:4]) + forkserver_cpu():.3f}")


class WorkerPeak:
    """The largest peak RSS (VmHWM) among the forkserver's children while it runs, sampled every 50 ms: forked
    workers are not this process's children, so ``RUSAGE_CHILDREN`` never sees them."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import multiprocessing.forkserver as fs

        while not self._stop.wait(0.05):
            pid = getattr(fs._forkserver, "_forkserver_pid", None)
            if not pid:
                continue
            try:
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            for kid in kids:
                try:
                    for line in Path(f"/proc/{kid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                except OSError:
                    pass

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def forkserver_cpu() -> float:
    """CPU seconds of this process's forkserver and the workers it forked (0 without one): forked workers are
    the server's children, not ours, so ``os.times`` does not count them. Waits (up to 5 s) until the server
    has reaped them."""
    import multiprocessing.forkserver as fs

    pid = getattr(fs._forkserver, "_forkserver_pid", None)
    if not pid:
        return 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for _ in range(50):
        if not children.exists() or not children.read_text().strip():
            break
        time.sleep(0.1)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def worker_start(repeats: int) -> None:
    """Extraction of 6 tiny clips on 2 workers, each run in a fresh process: workers started by spawn (every
    worker imports GAIA) against forkserver (GAIA imported once, workers forked), alternating."""
    from _common import tiny_clip

    folder = WORK / "worker-start"
    folder.mkdir(parents=True, exist_ok=True)
    sample = tiny_clip(WORK / "pages_clip.mp4")
    for i in range(6):
        if not (folder / f"c{i}.mp4").exists():
            os.link(sample, folder / f"c{i}.mp4")
    got: dict[str, list[tuple[float, float]]] = {"spawn": [], "forkserver": []}
    for _ in range(repeats):
        for method in got:
            wall, cpu = _subprocess("--worker-start-run", str(folder), method).split()
            got[method].append((float(wall), float(cpu)))
    (sw, sc), (fw, fc) = ((statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                          for v in got.values())
    print(f"\nworker start, 6 tiny clips on 2 workers (fresh process each, median of {repeats}): spawn {sw:.2f} s "
          f"wall, {sc:.2f} CPU-s; forkserver (GAIA's default) {fw:.2f} s, {fc:.2f} CPU-s; forkserver/spawn "
          f"{fw / sw:.2f}x wall, {fc / sc:.2f}x CPU")


def _subprocess(*args: str) -> str:
    return subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="shorter long videos, 8 phone clips, one repeat")
    parser.add_argument("--phones", type=int, help="phone-like clips in the set (default 30, 8 with --quick)")
    parser.add_argument("--rescan", type=int, help="videos in the rescan folder (default 10,000; 1,000 with --quick)")
    parser.add_argument("--phones-only", action="store_true", help="skip the four long videos")
    parser.add_argument("--sets", default="long,phones,short,longgop,still",
                        help="which per-video sets to time (comma-separated; default all five)")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the all-cores phone run, the 8K clip and the rescan")
    parser.add_argument("--8k", dest="eightk", action="store_true", help="also measure one 8K clip's peak memory")
    parser.add_argument("--all-cores", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--extract-8k", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-start", action="store_true",
                        help="only compare how worker processes start (spawn against forkserver)")
    parser.add_argument("--worker-start-run", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--before", help="also time GAIA at this git revision (e.g. main) on the still clips")
    parser.add_argument("--still-run", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--same-picks", metavar="REV",
                        help="only check that GAIA today keeps the same frames as at REV on every clip of the sets "
                             "and every tests/videos.py kind, with each strategy")
    parser.add_argument("--picks-run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.picks_run:
        picks_run(Path(args.picks_run[0]), args.picks_run[1], args.frames)
        return 0
    if args.same_picks:
        sets = args.sets.split(",")
        folders = [make_long_videos(WORK / "videos", False)[0].parent] if "long" in sets else []
        folders += [make_phone_clips(WORK / f"phones-{args.phones or 30}", args.phones or 30)[0].parent] \
            if "phones" in sets else []
        folders += [make_short_clips(WORK / "short")[0].parent] if "short" in sets else []
        folders += [make_long_gop(WORK / "longgop").parent] if "longgop" in sets else []
        folders += [make_still_clips(WORK / "still")[0].parent] if "still" in sets else []
        folders.append(kind_clips(WORK / "kinds"))
        if REAL.is_dir():  # OpenCV's real AVIs (bench/exactness.py's), copied: extraction writes beside its videos
            (WORK / "real").mkdir(parents=True, exist_ok=True)
            for clip in sorted(REAL.glob("*.avi")):
                if not (WORK / "real" / clip.name).exists():
                    shutil.copyfile(clip, WORK / "real" / clip.name)
            folders.append(WORK / "real")
        return 0 if same_picks(folders, args.frames, args.same_picks) else 1
    if args.still_run:
        still_run(Path(args.still_run[0]), args.still_run[1:], args.frames)
        return 0
    if args.worker_start_run:
        worker_start_run(Path(args.worker_start_run[0]), args.worker_start_run[1])
        return 0
    if args.worker_start:
        worker_start(args.repeats)
        return 0
    if args.all_cores:
        all_cores(args.all_cores, args.frames)
        return 0
    if args.extract_8k:
        extract_8k(args.extract_8k)
        return 0
    repeats = 1 if args.quick else args.repeats
    phones = args.phones or (8 if args.quick else 30)
    rescan = args.rescan or (1000 if args.quick else 10_000)
    n = args.frames
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work skews timings)")

    sets = set(args.sets.split(","))
    if args.phones_only:
        sets.discard("long")
    t0 = time.perf_counter()
    long_dir = WORK / ("videos-quick" if args.quick else "videos")
    long_videos = make_long_videos(long_dir, args.quick) if "long" in sets else []
    phone_dir = WORK / f"phones-{phones}"
    clips = make_phone_clips(phone_dir, phones) if "phones" in sets or not args.no_extras else []
    short_dir = WORK / "short"
    shorts = make_short_clips(short_dir) if "short" in sets else []
    gop_dir = WORK / "longgop"
    long_gop = make_long_gop(gop_dir) if "longgop" in sets else None
    still_dir = WORK / "still"
    stills = make_still_clips(still_dir) if "still" in sets else []
    print(f"test videos ready in {time.perf_counter() - t0:.1f} s ({len(long_videos)} long, {len(clips)} phone-like, "
          f"{len(shorts)} short, {int(long_gop is not None)} long-GOP, {len(stills)} still long-GOP)")

    print(f"\nper video, {n} frames, median of {repeats} (seconds); 'cpu ratio' is GAIA against the keyframe floor, "
          "'same fr.' against the floor decoding the same frames as GAIA (both CPU)")
    header = (f"{'video':37} {'GAIA':>7} {'floor':>7} {'GAIA/floor':>11} {'G cpu':>7} {'f cpu':>7} {'cpu ratio':>10} "
              f"{'same fr.':>10} {'naive':>7} {'naive/GAIA':>11}")
    if long_videos or "phones" in sets:
        print(header)
    long_w, long_c, long_n, long_s = (per_video(long_dir, [v.name for v in long_videos], n, repeats, with_naive=True)
                                      if long_videos else ([], [], [], []))
    ph_w = ph_c = ph_n = ph_s = rest_w = rest_c = rest_s = []
    if "phones" in sets:
        timed_naive = clips[: max(3, phones // 5)]
        ph_w, ph_c, ph_n, ph_s = per_video(phone_dir, [c.name for c in timed_naive], n, repeats, with_naive=True)
        rest_w, rest_c, _, rest_s = per_video(phone_dir, [c.name for c in clips[len(timed_naive):]], n, repeats,
                                              with_naive=False)
    if long_videos or ph_w:
        print("\nthe long videos and the phone-like set:")
        for label, ratios in (("wall", long_w + ph_w + rest_w), ("CPU", long_c + ph_c + rest_c),
                              ("CPU, the floor decoding the same frames as GAIA", long_s + ph_s + rest_s)):
            print(f"GAIA/floor ({label}): median {statistics.median(ratios):.2f}x (goal <= 1.25x), "
                  f"worst {max(ratios):.2f}x (goal <= 1.5x)")
        naive_ratios = long_n + ph_n
        print(f"naive/GAIA (wall): median {statistics.median(naive_ratios):.1f}x, worst {min(naive_ratios):.1f}x "
              "(goal >= 10x)")
    if shorts:
        print(f"\n{len(shorts)} short repetitive clips (3 s, 640x360):")
        print(header)
        sh_w, sh_c, _, sh_s = per_video(short_dir, [c.name for c in shorts], n, repeats, with_naive=False)
        print(f"short clips, GAIA/keyframe floor (CPU): median {statistics.median(sh_c):.2f}x (goal <= 2x), "
              f"worst {max(sh_c):.2f}x; wall median {statistics.median(sh_w):.2f}x")
        print(f"short clips, GAIA/same-frames floor (CPU): median {statistics.median(sh_s):.2f}x (goal <= 1.25x), "
              f"worst {max(sh_s):.2f}x")
    if long_gop is not None:
        print("\nthe long-GOP video (720p, GOP 250, opens on black):")
        print(header)
        _, lg_c, _, lg_s = per_video(gop_dir, [long_gop.name], n, repeats, with_naive=False)
        print(f"long GOP, GAIA/same-frames floor (CPU): {lg_s[0]:.2f}x (goal <= 2x); GAIA/keyframe floor "
              f"{lg_c[0]:.2f}x")
    if stills:
        print(f"\n{len(stills)} still long-GOP clips (a grainy still scene, 10 s, GOP 250; bench/empty.py's):")
        print(header)
        _, st_c, _, st_s = per_video(still_dir, [c.name for c in stills], n, repeats, with_naive=False)
        print(f"\nthe same clips, each extraction in a fresh process (median of {repeats}); 'one pass' decodes every "
              "frame once in order on one thread (CPU s):")
        st_rev, st_pass = still_against(still_dir, [c.name for c in stills], n, repeats, args.before)
        print(f"still clips, GAIA/same-frames floor (CPU): median {statistics.median(st_s):.2f}x, worst "
              f"{max(st_s):.2f}x; GAIA/keyframe floor median {statistics.median(st_c):.2f}x; GAIA/one pass median "
              f"{statistics.median(st_pass):.2f}x, worst {max(st_pass):.2f}x")
        if st_rev:
            print(f"still clips, GAIA today/at {args.before} (CPU): median {statistics.median(st_rev):.2f}x, "
                  f"worst {max(st_rev):.2f}x")
    if args.no_extras:
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        return 0

    # The phone set on every core, in a fresh process so its peak memory is GAIA's alone.
    shutil.rmtree(phone_dir / ".gaia" / "frames", ignore_errors=True)
    print("\n" + _subprocess("--all-cores", str(phone_dir), "--frames", str(n)).strip())

    if args.eightk:
        clip = WORK / "8k" / "clip8k.mp4"
        if not clip.exists():
            clip.parent.mkdir(parents=True, exist_ok=True)
            _ff("-f", "lavfi", "-i", "testsrc2=size=7680x4320:rate=30:duration=2", "-c:v", "libx264", "-preset",
                "ultrafast", "-pix_fmt", "yuv420p", "-g", "30", str(clip))
        print(_subprocess("--extract-8k", str(clip)).strip())

    worker_start(repeats)
    sample = WORK / "sample_small.mp4"
    if not sample.exists():
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx264", "-preset",
            "ultrafast", "-pix_fmt", "yuv420p", str(sample))
    first_s, rescan_s = rescan_benchmark(sample, rescan)
    print(f"\nfolder of {rescan:,} videos: first scan {first_s:.2f} s ({rescan / first_s:.0f} probes/s), "
          f"rescan unchanged {rescan_s:.3f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
