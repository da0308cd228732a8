"""What a single file is: duration, displayed size, rotation, fps, codec, start time, or its problem.

Probed in-process with PyAV (FFmpeg's own demuxers): opening a file and reading its streams takes
milliseconds, and the first I-frame is decoded only to read the display-matrix rotation of phone
videos. Problems come back as plain-language strings (zero bytes, text named like a video, no video
stream, truncated, unreadable, corrupt), never as exceptions, so one bad file never stops a scan.
``ffmpeg_exe`` still names the ffmpeg binary bundled with imageio-ffmpeg, which moviepy (the demo
clips) and the test and benchmark video generators use; GAIA's own decoding never runs it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gaia.media.decode import first_frame_rotation


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (or ``IMAGEIO_FFMPEG_EXE``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True, slots=True)  # a scan of 100,000 videos reads 100,000 of them from its cache
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


_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"moof", b"free", b"wide")


def _looks_like_mp4(path: Path) -> bool:
    """Whether the file's first or last 64 KiB hold MP4/MOV box names (the family FFmpeg calls ``mov``)."""
    try:
        with path.open("rb") as fh:
            start = fh.read(65536)
            fh.seek(max(0, path.stat().st_size - 65536))
            end = fh.read(65536)
    except OSError:
        return False
    return any(box in start or box in end for box in _ISO_BOXES)


def _open_problem(exc: Exception, head: bytes, path: Path) -> str:
    """The plain-language reason a file that FFmpeg cannot open is no video."""
    if _looks_like_text(head):
        return "not a video: the file holds text"
    if _looks_like_mp4(path):
        return ("damaged or incomplete: the file's index (moov atom) is missing or unreadable; "
                "was the copy or recording interrupted?")
    detail = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)).split(": '")[0].split(";")[0].strip()
    return "not a video or corrupt: FFmpeg cannot read it" + (f" ({detail[:120]})" if detail else "")


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
    import av  # here, not at import: a server that never probes a new file never loads PyAV (~17 MB)

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError:
        return ProbeInfo(problem="file not found (moved or deleted since the folder was listed)")
    except av.error.PermissionError:
        return ProbeInfo(problem="unreadable: permission denied")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        return ProbeInfo(problem=_open_problem(exc, head, path))
    with container:
        return _read_streams(container)


def _read_streams(container: Any) -> ProbeInfo:
    has_audio = bool(container.streams.audio)
    if not container.streams.video:
        return ProbeInfo(has_audio=has_audio, problem="no video stream" + (" (audio only)" if has_audio else ""))
    stream = container.streams.video[0]
    cc = stream.codec_context
    coded_w, coded_h = int(cc.width or 0), int(cc.height or 0)
    if not coded_w or not coded_h:
        return ProbeInfo(problem="corrupt: the video stream has no frame size")
    rotation = first_frame_rotation(container)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    tb = float(stream.time_base) if stream.time_base else 0.0
    if stream.duration and tb:
        duration: float | None = stream.duration * tb
    elif container.duration:
        duration = container.duration / 1e6
    else:
        duration = None
    rate = stream.average_rate or stream.guessed_rate
    start = container.start_time / 1e6 if container.start_time is not None else 0.0
    facts = {"width": width, "height": height, "coded_width": coded_w, "coded_height": coded_h,
             "rotation": rotation, "codec": cc.name}
    if not duration or duration <= 0:
        return ProbeInfo(**facts, problem="corrupt or truncated: the video has no duration")
    return ProbeInfo(duration=round(duration, 6), fps=round(float(rate), 3) if rate else None, start_time=start,
                     has_audio=has_audio, **facts)


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
