"""Synthetic test videos made at test time with the ffmpeg bundled with imageio-ffmpeg.

Each kind is small (low resolution, a few seconds) so the whole library builds in seconds; the
library is built once per test session and copied into each test's own folder.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

from gaia.media.probe import ffmpeg_exe

X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _solid(colour: str, seconds: float, size: str = "320x240") -> list[str]:
    return ["-f", "lavfi", "-i", f"color=c={colour}:size={size}:rate=25:duration={seconds}"]


def make(kind: str, out: Path) -> Path:
    """Write one synthetic video of ``kind`` to ``out`` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind == "testsrc":  # 8 s moving test pattern, default long GOP
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", *X264, str(out))
    elif kind == "testsrc_gop1":  # 8 s, a keyframe every second (phone-like)
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", *X264, "-g", "25", str(out))
    elif kind == "bframes":  # 8 s, one keyframe, B-frames (most of them referenced by no other frame)
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", "-c:v", "libx264", "-preset", "veryfast",
            "-bf", "3", "-g", "1000", "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(out))
    elif kind == "hd":  # 1280x720, 6 s, for resize checks
        _ff("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=6", *X264, str(out))
    elif kind == "cuts":  # solid colours with hard cuts at 2, 4, 6 s; keyframes only at 0
        _ff(*_solid("red", 2), *_solid("green", 2), *_solid("blue", 2), *_solid("yellow", 2),
            "-filter_complex", "[0:v][1:v][2:v][3:v]concat=n=4:v=1:a=0[v]", "-map", "[v]",
            *X264, "-g", "1000", "-sc_threshold", "0", str(out))
    elif kind == "black_edges":  # 1.5 s black lead-in, 5 s pattern, 1.5 s black tail
        _ff(*_solid("black", 1.5), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=5",
            *_solid("black", 1.5),
            "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", *X264, str(out))
    elif kind == "black_open_long_gop":  # 2.5 s black, then a pattern to 10 s; I-frames at 0 and 3 s only
        _ff(*_solid("black", 2.5), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=7.5",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", *X264, "-g", "1000",
            "-sc_threshold", "0", "-force_key_frames", "0,3", str(out))
    elif kind == "static":  # the same still image for 8 s (every frame a near-duplicate)
        _ff(*_solid("teal", 8), *X264, str(out))
    elif kind == "rotated":  # stored 320x180, display matrix 90°: a portrait phone video
        src = out.with_suffix(".src.mp4")
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4", *X264, str(src))
        _ff("-display_rotation", "90", "-i", str(src), "-c", "copy", str(out))
        src.unlink()
    elif kind == "vfr":  # 25, 10 and 50 fps segments, timestamps passed through
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50:duration=2",
            "-filter_complex",
            "[0:v]settb=1/90000,setpts=PTS-STARTPTS[a];[1:v]settb=1/90000,setpts=PTS-STARTPTS[b];"
            "[2:v]settb=1/90000,setpts=PTS-STARTPTS[c];[a][b][c]concat=n=3:v=1:a=0[v]",
            "-map", "[v]", "-fps_mode", "vfr", *X264, "-video_track_timescale", "90000", str(out))
    elif kind == "offset":  # red 1.5 s, green 1.5 s, blue 2 s; the stream starts at 2 s
        _ff(*_solid("red", 1.5), *_solid("green", 1.5), *_solid("blue", 2),
            "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", *X264,
            "-output_ts_offset", "2", str(out))
    elif kind == "late_event":  # 12 s of a still scene; a small box shows from 8.5 to 10.5 s (no cut)
        box = "drawbox=x=140:y=100:w=40:h=40:color=white:t=fill:enable='between(t,8.5,10.5)'"
        _ff(*_solid("teal", 12), "-vf", box, *X264, str(out))
    elif kind == "distinct":  # 8 s of evolving content: no two moments alike (nothing is a near-duplicate)
        _ff("-f", "lavfi", "-i", "life=size=320x240:rate=25:mold=10:ratio=0.1:seed=7:life_color=#ffcc00:"
            "death_color=#5070d0:mold_color=#5070d0,hue=H=2*PI*t/8,trim=duration=8", *X264, "-g", "50", str(out))
    elif kind == "grainy_still":  # a camera trap's commonest clip: a still scene under sensor grain, 10 s at 30 fps,
        # as x264's defaults encode it (B-frames, a keyframe every 250 frames: at 0 and 8.3 s); grain codes every frame
        _ff("-f", "lavfi", "-i", "gradients=size=160x120:rate=30:duration=10:speed=0.002:seed=3,noise=alls=4:allf=t",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-g", "250", "-pix_fmt", "yuv420p", str(out))
    elif kind == "with_audio":
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=4", *X264, "-c:a", "aac", "-shortest", str(out))
    elif kind == "mov":
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", *X264, "-f", "mov", str(out))
    elif kind == "mkv":
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", *X264, "-f", "matroska", str(out))
    elif kind == "webm":
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "libvpx-vp9",
            "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", "-f", "webm", str(out))
    elif kind == "avi":  # MPEG-4 ASP with B-frames, as DivX/Xvid files are: AVI holds no presentation times
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4", "-c:v", "mpeg4", "-bf", "2", "-g", "25",
            "-f", "avi", str(out))
    elif kind == "audio_only":
        _ff("-f", "lavfi", "-i", "sine=frequency=300:duration=3", "-c:a", "aac", "-f", "mp4", str(out))
    elif kind == "zero":
        out.write_bytes(b"")
    elif kind == "text":
        out.write_text("this is not a video, just a text file with a video name\n")
    elif kind == "truncated":  # header promises more than the file holds
        src = out.with_suffix(".src.mp4")
        make("testsrc", src)
        data = src.read_bytes()
        out.write_bytes(data[: len(data) // 3])
        src.unlink()
    elif kind == "truncated_faststart":  # index intact, media data cut at 45%: probes fine, decodes partly
        src = out.with_suffix(".src.mp4")
        _ff("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", *X264, "-g", "25",
            "-movflags", "+faststart", str(src))
        data = src.read_bytes()
        out.write_bytes(data[: int(len(data) * 0.45)])
        src.unlink()
    elif kind == "badheader":
        src = out.with_suffix(".src.mp4")
        make("testsrc", src)
        data = bytearray(src.read_bytes())
        data[:4096] = random.Random(1).randbytes(4096)
        out.write_bytes(bytes(data))
        src.unlink()
    elif kind == "garbled":  # random bytes in the middle: decodes "fine", as damaged files do
        src = out.with_suffix(".src.mp4")
        make("testsrc", src)
        data = bytearray(src.read_bytes())
        rng = random.Random(2)
        for start in range(len(data) // 3, len(data) - 2048, max(4096, len(data) // 6)):
            data[start : start + 1024] = rng.randbytes(1024)
        out.write_bytes(bytes(data))
        src.unlink()
    else:
        raise ValueError(f"unknown test video kind {kind!r}")
    return out


def big_subjects(folder: Path) -> None:
    """Five clips with one large coloured animal each, which the cheap configuration names at once (sure answers),
    in names that interleave with the demo's (whose cheap answers are all uncertain)."""
    import av
    import numpy as np

    for name, colour, size in (("a_big_fox.mp4", (200, 35, 35), 140), ("c_big_rabbit.mp4", (240, 240, 240), 120),
                               ("e_big_dog.mp4", (125, 85, 45), 160), ("g_big_cat.mp4", (235, 135, 30), 100),
                               ("i_big_pig.mp4", (235, 145, 185), 130)):
        with av.open(str(folder / name), "w") as out:
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            stream.options = {"crf": "23", "preset": "ultrafast"}
            rng = np.random.default_rng(size)
            for i in range(40):
                img = np.clip(np.full((360, 640, 3), (60, 110, 60), np.uint8) + rng.normal(0, 4, (360, 640, 3)),
                              0, 255).astype(np.uint8)
                img[180 - size // 3:180 + size // 3, 40 + i * 12:40 + i * 12 + size] = colour
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def slow_to_extract(out: Path, hue: int) -> Path:
    """A 1080p clip, 16 s, with one keyframe (coloured by ``hue``, so each is its own content for the frame caches).

    Reaching a frame late in it decodes hundreds of frames, so extracting its keyframes takes about a second
    here, far longer than the browser needs to draw a progress step (the small kinds above take 20 ms).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    _ff("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=16", "-vf", f"hue=h={hue}", *X264,
        "-g", "400", str(out))
    return out


GOOD_KINDS = ("testsrc", "testsrc_gop1", "bframes", "hd", "cuts", "black_edges", "black_open_long_gop", "static",
              "rotated", "vfr", "offset", "late_event", "distinct", "grainy_still", "with_audio", "mov", "mkv", "webm",
              "avi")
BAD_KINDS = ("audio_only", "zero", "text", "truncated", "truncated_faststart", "badheader", "garbled")
EXTENSIONS = {"mov": ".mov", "mkv": ".mkv", "webm": ".webm", "avi": ".avi"}


def build_library(root: Path) -> dict[str, Path]:
    """Make every kind once under ``root`` (reused when already there)."""
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind in GOOD_KINDS + BAD_KINDS:
        path = root / f"{kind}{EXTENSIONS.get(kind, '.mp4')}"
        if not path.exists():
            tmp = path.with_name(f"tmp-{os.getpid()}-{path.name}")
            make(kind, tmp)
            shutil.move(tmp, path)
        out[kind] = path
    return out
