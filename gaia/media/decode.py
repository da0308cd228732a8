"""In-process decoding with PyAV: one open per video, a packet index, keyframe-only and exact frames.

``VideoDecoder`` opens a file once and serves every frame a strategy asks for: the packet index
(presentation times of every frame and of the codec's I-frames, from the container's own index
when it is complete, else from one demux pass that decodes nothing), single I-frames (seek, decode
that one packet, nothing else), exact frames (one forward sweep, seeking only where that skips
decoding; a watcher may have the frames on its way scaled too), and a low-resolution pass over every frame for
scene changes. Frames come back scaled
in swscale (area filter) straight from the decoder's YUV and turned upright from the display matrix,
so a full-size RGB copy of a frame never exists, even for 8K video. Times are seconds from the start
of playback (the container's start time subtracted), so offset and VFR files need no special case.
Damage is noticed the way FFmpeg reports it (decode errors, frames flagged corrupt) and kept in
``errors``; a deadline bounds the work on one file.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# FFmpeg's log messages are left off (PyAV's default): with them on, a decoder thread that logs
# while the main thread waits for it (a seek flushing frame threads) deadlocks on the GIL. Damage
# shows anyway, as decode errors and frames flagged corrupt.
DECODER_THREADS = 2  # threads per decoder: videos are decoded side by side on the other cores
FRAME_THREADS_MAX_PIXELS = 3840 * 2160  # above this (8K), slice threads only: a frame in flight is 50 MB
LONG_GOP_FRAMES = 60  # frames per I-frame above which exact frames are decoded with frame threads
SHORT_VIDEO_FRAMES = 300  # videos of at most this many frames are decoded on one thread (least CPU)
SKIP_MARGIN_FRAMES = 4  # frames before a target from which every frame is decoded, beyond the decoder's own
# reordering delay and threads (see VideoDecoder._sweep_to)
SCENE_EDGE = 64  # scene scores are computed on frames this wide
# A still picture costs H.264 and HEVC almost nothing per frame (skipped blocks): a frame smaller than
# this per 16x16 block changes nothing visible (measured: 22-135 bytes per 640x360 frame of a still
# test pattern; 480-640 bytes where a counter ticks or a gradient drifts). Such stretches are judged
# still without decoding them.
STILL_BYTES_PER_MACROBLOCK = 0.25
STILL_MAX_BYTES = 200  # and never more than this at any size: a small animal moving in a clean 1080p
# picture makes frames of a kilobyte or more, and must always be decoded and looked at
STILL_CODECS = ("h264", "hevc")
STILL_MARGIN_FRAMES = 4  # frames either side of a stretch also checked (B-frame reordering)
_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


class DecodeTimeout(Exception):
    """The work on one file ran past its deadline."""


class Deadline:
    """A point in time after which work on a file stops (``check`` raises ``DecodeTimeout``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises ``DecodeTimeout`` when none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise DecodeTimeout(f"took longer than {self.seconds:.0f} s")
        return left

    def check(self) -> None:
        """Raise ``DecodeTimeout`` when the deadline has passed."""
        self.left()


@dataclass(frozen=True)
class Key:
    """One I-frame: its presentation time (s from playback start) and where a seek finds it."""

    time: float
    ts: int  # the packet timestamp a seek and a match use (dts from a container index, else pts)


@dataclass(frozen=True)
class PacketIndex:
    """Presentation times of every frame and the I-frames, sorted; empty when nothing was readable."""

    frames: tuple[float, ...] = ()
    keys: tuple[Key, ...] = ()
    # Times (approximate by the reordering delay) of the frames that may change the picture: every
    # frame, unless the codec codes a still picture as skipped blocks (H.264, HEVC), when only the
    # frames larger than a skipped frame are listed (``STILL_BYTES_PER_MACROBLOCK``).
    changes: tuple[float, ...] | None = None
    frame_s: float = 1 / 30  # the typical time between frames

    def unchanged(self, a: float, b: float) -> bool:
        """Whether the picture at ``b`` is the one at ``a`` (an I-frame), judged from packet sizes alone.

        True only when no frame that could change the picture lies between them, with a margin of
        a few frames for reordering on both sides. Never true without a size-based index.
        """
        if self.changes is None or b <= a:
            return False
        margin = STILL_MARGIN_FRAMES * self.frame_s
        i = bisect.bisect_right(self.changes, a - margin)
        return i >= len(self.changes) or self.changes[i] > b + margin

    @property
    def key_times(self) -> tuple[float, ...]:
        """Times of the I-frames."""
        return tuple(k.time for k in self.keys)

    def snap(self, t: float) -> float:
        """The time of the frame nearest ``t`` (``t`` itself when the index is empty)."""
        if not self.frames:
            return t
        i = bisect.bisect_left(self.frames, t)
        near = [self.frames[j] for j in (i - 1, i) if 0 <= j < len(self.frames)]
        return min(near, key=lambda f: abs(f - t))

    def frames_between(self, after: float, target: float) -> int:
        """How many frames lie after time ``after`` and before ``target``."""
        return bisect.bisect_left(self.frames, target - 1e-3) - bisect.bisect_right(self.frames, after + 1e-6)

    def key_before(self, t: float) -> Key | None:
        """The last I-frame at or before ``t``."""
        i = bisect.bisect_right(self.key_times, t + 1e-6)
        return self.keys[i - 1] if i else None


# What an exact sweep tells a watcher about each frame it decodes: the frame's time, a maker of its ``Decoded``
# (scaled only when called) and whether it is a target of the sweep (then already made). Told of a target, the
# watcher may answer times after it that the sweep should also reach before it seeks on to a later I-frame.
Peek = Callable[[float, Callable[[], "Decoded"], bool], Sequence[float] | None]


@dataclass(frozen=True)
class Decoded:
    """One decoded frame, scaled and upright: its true time and its picture."""

    time: float
    image: Image.Image
    keyframe: bool


class VideoDecoder:
    """One open video: its packet index and any frames asked of it, each scaled to ``size``.

    ``size`` is the displayed size (rotation applied) of the frames to return. Use as a context
    manager; every call may raise ``DecodeTimeout`` and ``av.error.FFmpegError`` for files that
    cannot be opened at all; damage met while decoding is noted in ``errors`` instead.
    """

    def __init__(self, path: Path | str, *, size: tuple[int, int], deadline: Deadline | None = None) -> None:
        self.path = Path(path)
        self.size = size
        self.deadline = deadline or Deadline(3600)
        self.errors: list[str] = []
        import av  # here, not at import: a server that never decodes never loads PyAV (~17 MB)

        self.container = av.open(str(self.path), metadata_errors="ignore")
        if not self.container.streams.video:
            self.close()
            raise ValueError("no video stream")
        self.stream = self.container.streams.video[0]
        self.tb = float(self.stream.time_base)
        start = self.container.start_time
        self.start = start / 1e6 if start is not None else (self.stream.start_time or 0) * self.tb
        self._index: PacketIndex | None = None
        self._delay = 0  # pts - dts of the first packet (B-frame reordering), in stream ticks
        # AVI stores no presentation times; with B-frames the demuxer's guessed pts reach decoded
        # frames out of order (1, 2, 3, 5, 4, ...), while their dts run in display order, which is
        # what FFmpeg's best-effort timestamp settles on too.
        self._time_from_dts = self.container.format.name == "avi" and bool(self.stream.codec_context.has_b_frames)
        self._threads_set = False
        self.decoded = 0  # frames the codec has returned so far (what every budget on this file counts)
        self.ahead = 0  # of which decoded only because a watcher of a sweep asked to go on (``Peek``)
        # Where an exact sweep stands: its frames and the time of the last one, so the next exact frame
        # ahead of it decodes on from there instead of seeking (None after any seek or at the end).
        self._cursor: Iterator[Any] | None = None
        self._cursor_last = float("-inf")

    def __enter__(self) -> VideoDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self.container.close()

    # -- index ---------------------------------------------------------------------------------

    def index(self) -> PacketIndex:
        """Every frame's and every I-frame's time, without decoding (cached on this object)."""
        if self._index is None:
            self._index = self._index_from_container() or self._index_from_packets()
        return self._index

    def _index_from_container(self) -> PacketIndex | None:
        """The container's own sample index (MP4, MOV, AVI), used when it lists every frame.

        Its timestamps are decode times; the first packet's reordering delay turns them into
        presentation times (exact for the I-frames, which is what seeks and matches use).
        """
        entries = self.stream.index_entries
        count = len(entries)
        if not count or count != self.stream.frames:
            return None
        self.container.seek(0, stream=self.stream, backward=True)
        for packet in self.container.demux(self.stream):
            if packet.pts is not None and packet.dts is not None:
                self._delay = packet.pts - packet.dts
            break
        frames, keys, changes = [], [], []
        still = self._still_bytes()
        for e in entries:
            if e.is_discard:
                continue
            t = (e.timestamp + self._delay) * self.tb - self.start
            frames.append(t)
            if e.is_keyframe:
                keys.append(Key(t, e.timestamp))
            elif e.size > still:
                changes.append(t)
        return self._packet_index(frames, keys, changes, still)

    def _index_from_packets(self) -> PacketIndex:
        """One demux pass over the video stream's packets (reads the file, decodes nothing)."""
        frames, keys, changes = [], [], []
        still = self._still_bytes()
        self.container.seek(0, stream=self.stream, backward=True)
        for n, packet in enumerate(self.container.demux(self.stream)):
            if n % 256 == 0:
                self.deadline.check()
            if packet.pts is None or packet.is_discard:
                continue
            t = packet.pts * self.tb - self.start
            if t < -1e-3:  # pre-roll is never shown
                continue
            frames.append(t)
            if packet.is_keyframe:
                keys.append(Key(t, packet.pts))
            elif packet.size > still:
                changes.append(t)
        self._delay = -1  # marks "match on pts"
        return self._packet_index(frames, keys, changes, still)

    def _still_bytes(self) -> float:
        """The size below which a frame of this stream changes nothing (-1: this codec cannot tell)."""
        cc = self.stream.codec_context
        if cc.name not in STILL_CODECS or not cc.width or not cc.height:
            return -1
        return min(STILL_MAX_BYTES, STILL_BYTES_PER_MACROBLOCK * ((cc.width + 15) // 16) * ((cc.height + 15) // 16))

    @staticmethod
    def _packet_index(frames: list[float], keys: list[Key], changes: list[float], still: float) -> PacketIndex:
        frames.sort()
        gaps = [b - a for a, b in itertools.pairwise(frames) if b > a]
        step = sorted(gaps)[len(gaps) // 2] if gaps else 1 / 30
        return PacketIndex(tuple(frames), tuple(sorted(keys, key=lambda k: k.time)),
                           tuple(sorted(changes)) if still >= 0 else None, step)

    # -- frames --------------------------------------------------------------------------------

    def keyframe(self, key: Key) -> Decoded | None:
        """The I-frame ``key``: seek to it and decode that one packet, nothing else."""
        by_pts = self._delay < 0
        cc = self.stream.codec_context
        self._seek_key(key)
        cc.skip_frame = "NONKEY"
        try:
            for packet in self.container.demux(self.stream):
                self.deadline.check()
                ts = packet.pts if by_pts else packet.dts
                if ts is None:
                    return None  # end of file
                if not packet.is_keyframe or ts < key.ts:
                    continue
                frames = self._decode(packet) + self._decode(None)
                return self._decoded(frames[0], keyframe=True) if frames else None
            return None
        finally:
            cc.skip_frame = "DEFAULT"

    def exact(self, times: Sequence[float], peek: Peek | None = None) -> list[Decoded | None]:
        """The frame shown at each of ``times`` (each snapped to a real frame time), in one sweep.

        Targets are visited in time order; the decoder seeks only when the target lies behind it
        or a later I-frame lets it skip frames, otherwise it decodes on from where it is. ``peek``, when
        given, is told of every frame the sweep decodes, in display order (``Peek``): a watcher may have a
        frame on the way scaled (the same ``Decoded`` an exact call for it gives) instead of decoding it again later.
        """
        index = self.index()
        order = sorted(range(len(times)), key=lambda i: times[i])
        out: list[Decoded | None] = [None] * len(times)
        frames, last = self._cursor, self._cursor_last  # last: time of the last frame decoded
        cc = self.stream.codec_context
        try:
            for n, i in enumerate(order):
                target = index.snap(times[i])
                key = index.key_before(target)
                if frames is None or last > target + 1e-3 or (key is not None and key.time > last + 1e-3):
                    if key is not None:
                        self._seek_key(key)
                    else:
                        self._seek(round((target + self.start) / self.tb))
                    frames = self._all_frames()
                out[i], last, frames = self._sweep_to(frames, target, last, peek=peek)
                if out[i] is None and frames is not None and last > target + 1e-3:  # skipped past it: again, fully
                    cc.skip_frame = "DEFAULT"
                    if key is not None:
                        self._seek_key(key)
                    else:
                        self._seek(0)
                    frames = self._all_frames()
                    out[i], last, frames = self._sweep_to(frames, target, float("-inf"), skip=False, peek=peek)
                made = out[i]
                if peek is not None and made is not None:
                    more = peek(made.time, functools.partial(_same, made), True)
                    after = index.snap(times[order[n + 1]]) if n + 1 < len(order) else None
                    upto = index.key_before(after) if after is not None else None
                    if more and frames is not None and upto is not None and upto.time > last + 1e-3:
                        # the next target lies past a later I-frame (a seek comes next whatever is decoded here)
                        last, frames = self._go_on(frames, [t for t in more if last + 1e-3 < t < upto.time - 1e-3],
                                                   last, peek)
        finally:
            cc.skip_frame = "DEFAULT"
            self._cursor, self._cursor_last = frames, last
        return out

    def _go_on(self, frames: Iterator[Any], times: Sequence[float], last: float, peek: Peek
               ) -> tuple[float, Iterator[Any] | None]:
        """Decode on to each of ``times`` (sorted, ahead), telling ``peek`` of every frame (counted in ``ahead``)."""
        before = self.decoded
        left: Iterator[Any] | None = frames
        for t in sorted(times):
            if left is None:
                break
            got, last, left = self._sweep_to(left, self.index().snap(t), last, peek=peek)
            if got is not None:
                peek(got.time, functools.partial(_same, got), False)
        self.ahead += self.decoded - before
        return last, left

    @property
    def position(self) -> float | None:
        """The time of the last frame an exact sweep decoded, while the next exact frame ahead decodes on from
        it (``None`` after a seek, a single I-frame or the end of the file)."""
        return self._cursor_last if self._cursor is not None else None

    def cost(self, t: float, at: float | bool | None = True) -> int:
        """How many frames ``exact([t])`` would decode from where the decoder stands (at most: skipping not
        counted), or from ``at`` instead (the ``position`` it would have; ``True``: where it stands)."""
        index = self.index()
        target = index.snap(t)
        key = index.key_before(target)
        last = self.position if at is True else at
        if last is not None and last < target - 1e-3 and (key is None or key.time <= last + 1e-3):
            return index.frames_between(last, target) + 1
        start = key.time if key is not None else float("-inf")
        return index.frames_between(start, target) + 2

    def _sweep_to(self, frames: Iterator[Any], target: float, last: float, *, skip: bool = True,
                  peek: Peek | None = None) -> tuple[Decoded | None, float, Iterator[Any] | None]:
        """Decode on to the frame at ``target``: ``(that frame or None, time of the last frame seen, frames)``.

        Far from the target, frames no other frame refers to (most B-frames) are not decoded at all,
        since nothing after them needs them; close to it (``SKIP_MARGIN_FRAMES`` more than the decoder's
        reordering and threading delay) every frame is; should the target still be skipped, ``exact``
        decodes it again from its I-frame with nothing skipped, so the target itself is always decoded. ``frames`` comes
        back ``None`` at the end of the file.
        """
        cc = self.stream.codec_context
        frames_to_target = self.index().frames_between
        # Frames already handed to the decoder but not out yet: its reordering delay and its threads.
        margin = SKIP_MARGIN_FRAMES + (cc.has_b_frames or 0) + (cc.thread_count or 1)
        cc.skip_frame = "NONREF" if skip and frames_to_target(last, target) > margin else "DEFAULT"
        for frame in frames:
            last = self._time(frame)
            if last >= target - 1e-3:
                cc.skip_frame = "DEFAULT"
                exact = last <= target + 1e-3 or not skip
                return (self._decoded(frame, keyframe=bool(frame.key_frame)) if exact else None), last, frames
            if peek is not None:
                peek(last, functools.partial(self._decoded, frame, keyframe=bool(frame.key_frame)), False)
            if cc.skip_frame != "DEFAULT" and frames_to_target(last, target) <= margin:
                cc.skip_frame = "DEFAULT"
        cc.skip_frame = "DEFAULT"
        return None, last, None

    def scene_scores(self) -> Iterator[tuple[float, float]]:
        """``(time, score)`` for every frame after the first: FFmpeg's scene score on small frames.

        The score (0-1) is the smaller of the mean absolute difference to the previous frame and
        its change from the previous difference, so a cut scores high and steady motion does not.
        """
        self._set_threads(every_frame=True)
        self._seek(-(2**62))
        w, h = self.stream.codec_context.width, self.stream.codec_context.height
        sh = max(2, round(SCENE_EDGE * h / max(w, 1)))
        prev: np.ndarray | None = None
        prev_mafd = 0.0
        for frame in self._all_frames():
            small = frame.reformat(width=SCENE_EDGE, height=sh, format="rgb24").to_ndarray().astype(np.int16)
            if prev is not None:
                # As FFmpeg's select filter: differences summed over R, G and B, averaged over pixels.
                mafd = float(np.abs(small - prev).sum(axis=2).mean()) * 100 / 255
                yield self._time(frame), min(mafd, abs(mafd - prev_mafd)) / 100
                prev_mafd = mafd
            prev = small

    # -- internals -----------------------------------------------------------------------------

    def _set_threads(self, *, every_frame: bool = False) -> None:
        """Choose the decoder's threading once, before it decodes anything.

        Frame threads pay off only when many frames are decoded in a row (exact frames in long
        GOPs); for one I-frame at a time they add work, and each holds a whole frame in memory
        (50 MB at 8K). So: frame threads for a pass over every frame or for long GOPs, up to 4K;
        slice threads otherwise; and a short clip (``SHORT_VIDEO_FRAMES``) decodes on one thread,
        which costs the least CPU, while other videos are decoded side by side on the other cores.
        """
        if self._threads_set:
            return
        self._threads_set = True
        cc = self.stream.codec_context
        index = self.index()
        if len(index.frames) <= SHORT_VIDEO_FRAMES and not every_frame:
            cc.thread_type, cc.thread_count = "SLICE", 1
            return
        gop = len(index.frames) / max(1, len(index.keys))
        small = (cc.width or 0) * (cc.height or 0) <= FRAME_THREADS_MAX_PIXELS
        cc.thread_type = "AUTO" if small and (every_frame or gop > LONG_GOP_FRAMES) else "SLICE"
        cc.thread_count = DECODER_THREADS

    def _seek_key(self, key: Key) -> None:
        """Seek so that the next packet demuxed is the I-frame ``key`` (or one before it).

        A seek asks for a presentation time (MP4's demuxer moves it onto the decode timeline itself),
        while a container's index gives decode times: with frames reordered (B-frames), seeking to an
        I-frame's decode time lands a whole group of pictures early, and an exact frame after it then
        decodes that group too (250 frames at x264's default). So the I-frame's presentation time is
        asked for (its decode time plus the reordering delay), never as late as the next I-frame.
        """
        ts = key.ts
        if self._delay > 0:  # a container index (decode times) of a stream with reordering
            keys = self.index().keys
            i = bisect.bisect_right(keys, key.ts, key=lambda k: k.ts)
            ts += self._delay
            if i < len(keys):
                ts = min(ts, keys[i].ts - 1)
        self._seek(ts)

    def _seek(self, ts: int) -> None:
        """Seek to the I-frame at or before stream time ``ts`` (never before the first one)."""
        self.deadline.check()
        self._set_threads()
        self._cursor, self._cursor_last = None, float("-inf")
        keys = self.index().keys
        ts = max(ts, keys[0].ts if keys else 0)
        import av

        try:
            self.container.seek(ts, stream=self.stream, backward=True)
        except av.error.FFmpegError:  # before the first indexed frame: the file's start
            self.container.seek(0)

    def _all_frames(self) -> Iterator[Any]:
        for n, packet in enumerate(self.container.demux(self.stream)):
            if n % 16 == 0:
                self.deadline.check()
            yield from self._decode(packet if packet.size else None)

    def _decode(self, packet: Any) -> list[Any]:
        import av

        try:
            frames = self.stream.codec_context.decode(packet)
        except av.error.EOFError:
            return []
        except av.error.FFmpegError as exc:
            self.errors.append(str(exc)[:200])
            return []
        self.decoded += len(frames)
        for f in frames:
            if f.is_corrupt:
                self.errors.append(f"corrupt frame at {self._time(f):.2f} s")
        return frames

    def _time(self, frame: Any) -> float:
        pts = frame.dts if self._time_from_dts and frame.dts is not None else frame.pts
        pts = pts if pts is not None else frame.dts
        return (pts or 0) * self.tb - self.start

    def _decoded(self, frame: Any, *, keyframe: bool) -> Decoded:
        w, h = self.size
        rotation = frame.rotation % 360
        sw, sh = (h, w) if rotation in (90, 270) else (w, h)
        image = scaled_image(frame, sw, sh)
        if rotation in _TRANSPOSE:
            image = image.transpose(_TRANSPOSE[rotation])
        return Decoded(round(self._time(frame), 6), image, keyframe)


def _same(frame: Decoded) -> Decoded:
    return frame


def scaled_image(frame: Any, width: int, height: int) -> Image.Image:
    """``frame`` scaled to ``width`` x ``height`` (area-averaged) as an RGBX image over swscale's own buffer.

    ``VideoFrame.to_image`` copies the picture twice more (into a bytearray, then into a new image);
    viewing the scaled frame's plane in place halves the cost of the step. Pillow writes RGBX
    straight to JPEG; the fourth byte is padding, never an alpha channel.
    """
    scaled = frame.reformat(width=width, height=height, format="rgb0", interpolation="AREA")
    plane = scaled.planes[0]
    if plane.line_size < width * 4:  # bottom-up or packed oddly: let PyAV sort it out
        return scaled.to_image()
    return Image.frombuffer("RGBX", (width, height), plane, "raw", "RGBX", plane.line_size, 1)


def first_frame_rotation(container: Any) -> int:
    """The display-matrix rotation (0, 90, 180, 270) of the first video frame; decodes one I-frame."""
    stream = container.streams.video[0]
    cc = stream.codec_context
    cc.skip_frame = "NONKEY"
    import av

    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                break
            if not packet.is_keyframe:
                continue
            frames = cc.decode(packet) + cc.decode(None)
            if frames:
                return frames[0].rotation % 360
            break
    except av.error.FFmpegError:
        return 0
    return 0
