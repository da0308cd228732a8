"""What a single file is: duration, displayed size, rotation, fps, codec, start time, or its problem.

Built on moviepy's ``ffmpeg -i`` parser and the ffmpeg binary that ships with imageio-ffmpeg (no
system ffmpeg is assumed). Problems come back as plain-language strings (zero bytes, not a video,
no video stream, unreadable, corrupt), never as exceptions, so one bad file never stops a scan.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROBE_TIMEOUT_S = 30.0


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (or ``IMAGEIO_FFMPEG_EXE``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class ProbeInfo:
    """Facts about one file. ``width``/``height`` are as displayed, with rotation applied."""

    duration: float | None = None
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation: int = 0
    fps: float | None = None
    codec: str | None = None
    start_time: float = 0.0
    has_audio: bool = False
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """Whether frames can be taken from this file."""
        return self.problem is None


def _first_error_line(text: str) -> str:
    for line in text.splitlines():
        line = re.sub(r"^\[[^\]]+ @ 0x[0-9a-f]+\]\s*", "", line.strip())
        if not line or line.startswith(("Error passing", "Input #", "Duration", "Stream", "ffmpeg version")):
            continue
        if "misdetection possible" in line:
            continue
        return line[:160]
    return ""


def probe_file(path: Path | str) -> ProbeInfo:
    """Probe one file; never raises for a bad file, returns a ``ProbeInfo`` with ``problem`` set."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return ProbeInfo(problem="file not found (moved or deleted since the folder was listed)")
    except OSError as exc:
        return ProbeInfo(problem=f"unreadable: {exc.strerror or exc}")
    if st.st_size == 0:
        return ProbeInfo(problem="empty file (zero bytes)")
    if not os.access(path, os.R_OK):
        return ProbeInfo(problem="unreadable: permission denied")
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return ProbeInfo(problem=f"unreadable: {exc.strerror or exc}")
    from moviepy.video.io.ffmpeg_reader import FFmpegInfosParser

    try:
        proc = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return ProbeInfo(problem=f"probing took longer than {PROBE_TIMEOUT_S:.0f} s; the file may be damaged")
    except OSError as exc:
        return ProbeInfo(problem=f"ffmpeg could not run: {exc}")
    text = proc.stderr.decode("utf-8", errors="replace")
    if "Input #0" not in text:
        if _looks_like_text(head):
            return ProbeInfo(problem="not a video: the file holds text")
        if "moov atom not found" in text:
            return ProbeInfo(problem="damaged or incomplete: the file's index (moov atom) is missing or "
                                     "unreadable; was the copy or recording interrupted?")
        detail = _first_error_line(text)
        return ProbeInfo(problem="not a video or corrupt: ffmpeg cannot read it" + (f" ({detail})" if detail else ""))
    if "Video:" not in text:
        has_audio = "Audio:" in text
        return ProbeInfo(
            has_audio=has_audio,
            problem="no video stream" + (" (audio only)" if has_audio else ""),
        )
    try:
        infos = FFmpegInfosParser(text, str(path), check_duration=True, decode_file=False).parse()
    except Exception as exc:  # moviepy's parser raises bare exceptions on odd output
        return ProbeInfo(problem=f"corrupt: cannot read the video's header ({type(exc).__name__})")
    size = infos.get("video_size")
    if not size or not all(size):
        return ProbeInfo(problem="corrupt: the video stream has no frame size")
    coded_w, coded_h = int(size[0]), int(size[1])
    rotation = round(float(infos.get("video_rotation") or 0)) % 360
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    duration = infos.get("video_duration") or infos.get("duration")
    duration = float(duration) if duration else None
    if not duration or duration <= 0:
        return ProbeInfo(
            width=width, height=height, coded_width=coded_w, coded_height=coded_h, rotation=rotation,
            codec=infos.get("video_codec_name"),
            problem="corrupt or truncated: the video has no duration",
        )
    return ProbeInfo(
        duration=duration,
        width=width,
        height=height,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation=rotation,
        fps=float(infos["video_fps"]) if infos.get("video_fps") else None,
        codec=infos.get("video_codec_name"),
        start_time=float(infos.get("start") or 0.0),
        has_audio=bool(infos.get("audio_found")),
    )


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
