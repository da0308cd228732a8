"""Likely-empty clips, found locally: a per-clip score of "did something move into the scene".

A motion-triggered camera records many clips with nothing in them (wind, light, rain). This module
looks at each video at a small size in greyscale (PyAV, ``SAMPLE_FPS`` = 3 frames a second, the
long edge ``EDGE`` px), decoding as little as lets it see a visit of ``VISIT_S``: from the packet
index alone it picks the way (``decoding_plan``): keyframes alone where they come at most
``KEY_GAP_MAX`` apart (Motion JPEG and other intra-only streams, at a reduced size; very short
GOPs), else the frames in order, each group of pictures only up to its last sample where no frame
is shown out of order (most camera footage), else every frame that other frames refer to (B-frames
nothing refers to are skipped); in each case unless that leaves a gap or damage. The
size of packets is never taken as evidence of an empty scene: a dark subject entering a grainy
picture can make the frames smaller. Then it asks whether any *local* change happened, as opposed
to a global one:

- camera shake is taken out by aligning every frame to the clip's median frame (phase correlation);
- a lighting change is taken out by matching each frame's brightness and contrast to the background
  and subtracting what is left of it smoothly over the frame (the median per block of a coarse grid);
- sensor noise and swaying texture (leaves, water) are measured per pixel as the clip's own spread
  there (a low quantile of the pixel's differences over time, so a subject that stays a while does
  not count as "spread"), and a pixel counts as changed only well above it;
- what is left is a local change when it forms a blob (a pixel whose 2x2 block all changed) in at
  least two sampled frames.

The activity of a clip is the second-largest blob area (px at ``EDGE``) over its frames; the score
``empty_score = exp(-activity / ACTIVITY_SCALE)`` runs from 1 (nothing local happened) to 0, and a
clip is likely empty when its score reaches the threshold (``gaia.settings.EMPTY_THRESHOLD``, the one
home of that number). Each score carries a reason in words ("no local change over 12 s", "lighting
change only", "local change at 8.5–10.5 s"). Scores are cached by the file's identity in the folder's
preview cache, so a second look decodes nothing. numpy and PyAV only: no model, no download.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gaia.folder import Folder
from gaia.format import position
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.decode import DecodeTimeout, Key, PacketIndex, VideoDecoder
from gaia.media.scan import VideoRecord
from gaia.settings import EMPTY_THRESHOLD

Progress = Callable[[int, int], None]

# of the measure: a cached score of another version is measured again (2: keyframes alone where they
# come often enough, B-frames skipped; 3: 3 frames a second on a grid, not 4, every keyframe kept:
# other frames looked at)
VERSION = 3
CACHE_DIR = "empty"
EDGE = 128  # longest edge (px) of the greyscale frames the measure looks at
MAX_SAMPLES = 1200  # at most this many frames per clip (a long clip is sampled more sparsely)
MAX_SHIFT = 8  # px at EDGE: the largest camera shake taken out
GRID = 4  # blocks per side whose median difference is taken as lighting
Z_CHANGED = 5.0  # a pixel changed when its difference is this many times its own spread
NOISE_FLOOR = 2.0  # grey levels: no pixel's spread is taken as smaller (compression noise)
MIN_FRAMES = 2  # a local change must show in at least this many sampled frames
VISIT_S = 1.0  # s: the shortest visit the check is built to see
# Frames kept a second: a visit of VISIT_S shows in at least MIN_FRAMES of them with one to spare (a
# subject half in the picture). Fewer would leave none to spare, more cost decoding (3, not 4, since VERSION 3).
SAMPLE_FPS = (MIN_FRAMES + 1) / VISIT_S
# Keyframes (each decodable alone) at most a sampling step apart are looked at alone.
KEY_GAP_MAX = 1 / SAMPLE_FPS
ACTIVITY_SCALE = 4.0  # px of blob area at which the score falls to 1/e
LIGHT_CHANGE = 12.0  # grey levels of mean brightness change called a lighting change
SHAKE_PX = 1  # px of alignment called camera shake
SWAY_SHARE = 0.05  # share of the frame moving all the time called swaying texture
SEGMENT_S = 10.0  # default length of the segments ``segment_scores`` scores on their own
_HALF_NORMAL_Q25 = 0.3186  # the 25th percentile of |N(0, 1)|


@dataclass(frozen=True)
class EmptyScore:
    """One clip's verdict: the score (1 = nothing local happened), its reason and what it rests on."""

    score: float
    reason: str
    activity: float  # px (at EDGE) of the largest local change seen in at least MIN_FRAMES frames
    seconds: float  # the span of the frames looked at
    frames: int  # frames looked at
    change_times: tuple[float, ...] = ()  # times of the frames with a local change
    problem: str | None = None  # why there is no score (then ``score`` is 0: never flagged)

    def likely_empty(self, threshold: float = EMPTY_THRESHOLD) -> bool:
        """Whether the clip is likely empty at ``threshold`` (a clip that could not be measured never is)."""
        return self.problem is None and self.score >= threshold

    def to_dict(self, threshold: float = EMPTY_THRESHOLD) -> dict[str, Any]:
        """A JSON-ready dict, with ``likely_empty`` at ``threshold``."""
        return {"empty_score": round(self.score, 4), "likely_empty": self.likely_empty(threshold),
                "empty_reason": self.problem or self.reason, "activity_px": round(self.activity, 1),
                "frames_measured": self.frames}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmptyScore:
        """The inverse of ``asdict`` (the cache's form)."""
        return cls(float(data["score"]), str(data["reason"]), float(data["activity"]), float(data["seconds"]),
                   int(data["frames"]), tuple(float(t) for t in data.get("change_times") or ()),
                   data.get("problem"))


# --------------------------------------------------------------------------------------------
# Decoding: small greyscale frames, about SAMPLE_FPS a second
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodePlan:
    """How a clip's frames are got, chosen from its packet index before anything is decoded.

    ``way`` is ``"keyframes"`` when the codec's keyframes (each decodable alone) lie at most
    ``KEY_GAP_MAX`` apart everywhere, so that a visit of ``VISIT_S`` shows in more frames than the
    measure needs even when only they are looked at: an intra-only stream (MJPEG, all-intra) or a
    very short GOP. Then only the keyframes at the sampling times (``keys``) are decoded. Otherwise
    ``way`` is ``"every frame"``: a compressed frame cannot be decoded without the ones it refers
    to, so the frames are decoded in order, leaving out only what no sample needs
    (``_sample_every_frame``), and ``fps`` a second are kept.
    """

    way: str
    keys: tuple[Key, ...] = ()


def decoding_plan(path: Path | str, *, fps: float = SAMPLE_FPS, max_samples: int = MAX_SAMPLES) -> DecodePlan:
    """The ``DecodePlan`` of a video, from its packet index (the container's, else one demux pass)."""
    with VideoDecoder(path, size=(EDGE, EDGE)) as dec:
        return _plan(dec.index(), fps=fps, max_samples=max_samples)


def _plan(index: PacketIndex, *, fps: float, max_samples: int) -> DecodePlan:
    frames, keys = index.frames, index.keys
    if len(frames) < 2 or not keys:
        return DecodePlan("every frame")
    # the widest stretch without a keyframe, the last frame's own duration included
    ends = [frames[0], *index.key_times, frames[-1] + index.frame_s]
    if max(b - a for a, b in itertools.pairwise(ends)) > KEY_GAP_MAX + index.frame_s / 2:
        return DecodePlan("every frame")
    step = max(1.0 / fps, (frames[-1] - frames[0]) / max_samples)
    # about one keyframe a step, but never a wider gap than KEY_GAP_MAX (or a long clip's step) where
    # a keyframe between would close it: keyframes 0.2 s apart are all taken, not every other one
    widest = max(step, KEY_GAP_MAX) + index.frame_s / 2
    chosen: list[Key] = []
    for key, after in zip(keys, [*index.key_times[1:], math.inf], strict=True):
        if not chosen or key.time + 1e-6 >= chosen[-1].time + step or after > chosen[-1].time + widest:
            chosen.append(key)
    return DecodePlan("keyframes", tuple(chosen))


def sample_frames(path: Path | str, *, fps: float = SAMPLE_FPS, edge: int = EDGE,
                  max_samples: int = MAX_SAMPLES, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The video's frames about ``fps`` a second as greyscale uint8 ``(n, h, w)`` with their times (s).

    The packet index comes first (``decoding_plan``): where keyframes alone come often enough, only
    those at the sampling times are decoded, each alone (MJPEG at a reduced size, ``lowres``).
    Otherwise frames are decoded in order (``_sample_every_frame``) on ``threads`` threads (one
    costs the least CPU, when other videos are decoded on the other cores), each group of pictures
    only as far as its last sample. Raises ``av.error.FFmpegError`` or ``ValueError`` for files
    that cannot be read.
    """
    with VideoDecoder(path, size=(edge, edge)) as dec:
        index = dec.index()
        plan = _plan(index, fps=fps, max_samples=max_samples)
        if plan.way == "keyframes":
            got = _sample_keyframes(dec, plan, edge=edge)
            if got is not None:
                return got
        else:  # nothing decoded yet: the first pass reads this open file from its start again
            return _sample_every_frame(path, index, fps=fps, edge=edge, max_samples=max_samples,
                                       threads=threads, opened=dec.container)
    return _sample_every_frame(path, index, fps=fps, edge=edge, max_samples=max_samples, threads=threads)


def _small_size(stream: Any, edge: int) -> tuple[int, int]:
    """The (width, height) of the sampled frames: the long edge ``edge``, even sides."""
    w0, h0 = stream.codec_context.width or edge, stream.codec_context.height or edge
    scale = edge / max(w0, h0, 1)
    return max(8, round(w0 * scale)) // 2 * 2, max(8, round(h0 * scale)) // 2 * 2


def reduced_size(cc: Any, edge: int = EDGE) -> int:
    """The ``lowres`` a codec context decodes at for frames of long edge ``edge``: Motion JPEG decodes at
    1/2, 1/4 or 1/8 of its size for almost nothing (0: full size, and for every other codec)."""
    lowres = 0
    while cc.name == "mjpeg" and lowres < 3 and max(cc.width or 0, cc.height or 0) >> (lowres + 1) >= edge:
        lowres += 1
    return lowres


def _sample_keyframes(dec: VideoDecoder, plan: DecodePlan, *, edge: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Decode only ``plan.keys``, each alone; ``None`` when one gives no frame or the decoder reports
    damage (then every frame is decoded instead)."""
    cc = dec.stream.codec_context
    dec.size = _small_size(dec.stream, edge)  # stored orientation: a turned clip is squeezed, alike in every frame
    if lowres := reduced_size(cc, edge):
        cc.options = {"lowres": str(lowres)}
    out: list[np.ndarray] = []
    times: list[float] = []
    for key in plan.keys:
        got = dec.keyframe(key)
        if got is None or dec.errors:
            return None
        out.append(np.asarray(got.image.convert("L")))
        times.append(got.time)
    if len(out) < 3:
        return None
    return np.stack(out), np.asarray(times) - times[0]


def _grey(frame: Any, w: int, h: int) -> np.ndarray:
    small = frame.reformat(width=w, height=h, format="gray", interpolation="AREA")
    return small.to_ndarray().reshape(h, w).copy()


@dataclass
class _Sampled:
    """What one pass of ``_sample_every_frame`` saw."""

    frames: list[np.ndarray]
    times: list[float]  # s from the first frame kept
    decoded: int = 0  # frames the codec returned
    damaged: bool = False  # a frame flagged corrupt or a packet the codec refused


def _sample_every_frame(path: Path | str, index: PacketIndex, *, fps: float, edge: int, max_samples: int,
                        threads: int = 1, skip: str = "gop", opened: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode the packets in order and keep a frame about every ``1 / fps`` s, decoding no more than that needs.

    ``skip`` says what is left undecoded:

    - ``"gop"``: where no frame is shown before one decoded earlier (no B-frames in use, which is
      what cameras and x264 make of grainy footage), a frame depends only on those before it back
      to its keyframe, so each group of pictures is decoded up to its last sample (the one within
      a step of the next keyframe, or of the clip's last frame), and its tail is not decoded at all
      (``skip_frame`` NONKEY until the next keyframe; every keyframe is a sample). At the first
      frame shown out of order, the pass starts again as ``"nonref"``;
    - ``"nonref"``: the frames no other frame refers to (most B-frames);
    - ``"none"``: nothing.

    Should skipping leave a wider gap between samples than a step and a frame (an encoder that refers
    to few frames) or the decoder report damage, the clip is decoded again with nothing skipped.
    ``threads`` above 1 adds frame threads. ``opened``: the file already open, nothing decoded from
    it (the first pass reads it from the start again where that gives what a new open would:
    ``_from_start``; any further pass opens the file anew).
    """
    got = _sample_pass(path, index, fps=fps, edge=edge, max_samples=max_samples, threads=threads, skip=skip,
                       opened=opened)
    if got is None:  # frames out of order: B-frames
        return _sample_every_frame(path, index, fps=fps, edge=edge, max_samples=max_samples, threads=threads,
                                   skip="nonref")
    step = _step(index, fps, max_samples)
    widest = float(np.diff(got.times).max()) if len(got.times) > 1 else 0.0
    if skip != "none" and (got.damaged or widest > step + index.frame_s + 1e-3):
        return _sample_every_frame(path, index, fps=fps, edge=edge, max_samples=max_samples, threads=threads,
                                   skip="none")
    if not got.frames:
        raise ValueError("no frame could be decoded")
    return np.stack(got.frames), np.asarray(got.times)


def _next_sample(due: float, t: float, step: float) -> float:
    """When the sample after one at ``t`` is due (``due``: when that one was): on a grid of ``step``, so a
    source whose frames do not fall on it (10 fps sampled 3 a second) still gives ``1 / step`` a second."""
    return due + step if due - 1e-6 <= t < due + step else t + step


def _step(index: PacketIndex, fps: float, max_samples: int) -> float:
    """The time between samples: ``1 / fps``, wider in a clip so long it would give over ``max_samples``."""
    span = index.frames[-1] - index.frames[0] if index.frames else 0.0
    return max(1.0 / fps, span / max_samples)


def _from_start(container: Any) -> Iterator[Any] | None:
    """The video stream's packets from its first, read again from an open ``container``, as a new open of
    the file would give them; ``None`` when a seek cannot promise that (the container's index does not
    list every frame, or the seek lands elsewhere than its first frame): then the file is opened anew."""
    import av

    stream = container.streams.video[0]
    entries = stream.index_entries
    if not len(entries) or len(entries) != stream.frames:
        return None
    try:
        container.seek(0, stream=stream, backward=True)
        packets = container.demux(stream)
        first = next(packets)
    except (av.error.FFmpegError, StopIteration):
        return None
    if (first.pos, first.dts) != (entries[0].pos, entries[0].timestamp):
        return None
    return itertools.chain([first], packets)


def _sample_pass(path: Path | str, index: PacketIndex, *, fps: float, edge: int, max_samples: int, threads: int,
                 skip: str, opened: Any = None) -> _Sampled | None:
    """One pass of ``_sample_every_frame``; ``None`` when ``skip="gop"`` meets a frame shown out of order.
    ``opened``: the file already open (``_sample_every_frame``)."""
    import av  # here, not at import: a server that never measures never loads PyAV (~17 MB)

    step = _step(index, fps, max_samples)
    key_times = index.key_times
    by_gop = skip == "gop" and bool(key_times)
    last_frame = index.frames[-1] + index.frame_s if index.frames else math.inf  # past the last frame
    got = _Sampled([], [])
    packets = _from_start(opened) if opened is not None else None
    with (contextlib.nullcontext(opened) if packets is not None
          else av.open(str(path), metadata_errors="ignore")) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.thread_type, cc.thread_count = ("AUTO", threads) if threads > 1 else ("SLICE", 1)
        if skip == "nonref" or (skip == "gop" and not by_gop):
            cc.skip_frame = "NONREF"
        with contextlib.suppress(AttributeError, ValueError):  # codecs without the option
            # the loop filter only smooths block edges: not needed to see a visit
            cc.options = {"skip_loop_filter": "all"}
        tb = float(stream.time_base or 0)
        zero = container.start_time / 1e6 if container.start_time is not None else (stream.start_time or 0) * tb
        w, h = _small_size(stream, edge)
        first: float | None = None
        nxt = -math.inf  # the time from which the next frame is a sample
        wanted: set[int] = set()  # by_gop: the samples' pts, chosen from the packets
        last_pts = -math.inf
        for packet in packets if packets is not None else container.demux(stream):
            rest_of_gop = False
            if by_gop and packet.pts is not None:
                if packet.pts < last_pts:
                    return None
                last_pts = packet.pts
                t = packet.pts * tb - zero
                if packet.is_keyframe:
                    cc.skip_frame, nxt = "DEFAULT", -math.inf
                if cc.skip_frame == "DEFAULT" and t + 1e-6 >= nxt:
                    wanted.add(packet.pts)
                    nxt = _next_sample(nxt, t, step)
                    # the next sample would lie at or past the next keyframe (that one will do) or
                    # past the last frame: nothing after this one is a sample
                    i = bisect.bisect_right(key_times, t + 1e-3)
                    rest_of_gop = nxt > (key_times[i] if i < len(key_times) else last_frame) - index.frame_s / 2
            try:
                decoded = cc.decode(packet)
            except av.error.EOFError:
                decoded = []
            except av.error.FFmpegError:
                got.damaged = True
                continue
            if rest_of_gop:
                cc.skip_frame = "NONKEY"
            for frame in decoded:
                got.decoded += 1
                got.damaged = got.damaged or frame.is_corrupt
                if frame.pts is None:
                    continue
                t = frame.pts * tb - zero
                if by_gop:
                    if frame.pts not in wanted:
                        continue
                elif t + 1e-6 < nxt:
                    continue
                else:
                    nxt = _next_sample(nxt, t, step)
                first = t if first is None else first
                got.frames.append(_grey(frame, w, h))
                got.times.append(t - first)
                if len(got.frames) >= max_samples:
                    return got
    return got


# --------------------------------------------------------------------------------------------
# Scoring (numpy only)
# --------------------------------------------------------------------------------------------


def _shifts(ref_f: np.ndarray, spectra: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Each image's (dy, dx) in px, to a tenth or so, that best aligns it onto the reference, as an
    ``(n, 2)`` array: phase correlation of their spectra ``rfft2`` (all frames in one transform), the
    peak refined by a parabola, within ``MAX_SHIFT``."""
    cross = ref_f[None] * np.conj(spectra)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.fftshift(np.fft.irfft2(cross, s=shape), axes=(-2, -1))
    cy, cx = shape[0] // 2, shape[1] // 2
    win = corr[:, cy - MAX_SHIFT - 1:cy + MAX_SHIFT + 2, cx - MAX_SHIFT - 1:cx + MAX_SHIFT + 2]
    side = 2 * MAX_SHIFT + 1
    peak = win[:, 1:-1, 1:-1].reshape(len(win), -1).argmax(axis=1)
    iy, ix = peak // side + 1, peak % side + 1
    r = np.arange(len(win))
    mid = win[r, iy, ix]

    def vertex(a: np.ndarray, c: np.ndarray) -> np.ndarray:
        d = a - 2 * mid + c
        return np.where(d >= 0, 0.0, np.clip(0.5 * (a - c) / np.where(d >= 0, -1.0, d), -0.5, 0.5))

    dy = iy - MAX_SHIFT - 1 + vertex(win[r, iy - 1, ix], win[r, iy + 1, ix])
    dx = ix - MAX_SHIFT - 1 + vertex(win[r, iy, ix - 1], win[r, iy, ix + 1])
    return np.stack([dy, dx], axis=1)


def _moved(spectra: np.ndarray, shifts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The images whose spectra are ``spectra``, each moved by its ``shifts`` row (px, fractions too: a
    Fourier shift)."""
    # the phase ramp is separable: a row of it times a column, so 2 (h + w) exponentials, not 2 h w
    ramp_y = np.exp(-2j * np.pi * np.fft.fftfreq(shape[0])[None, :] * shifts[:, :1]).astype(np.complex64)
    ramp_x = np.exp(-2j * np.pi * np.fft.rfftfreq(shape[1])[None, :] * shifts[:, 1:]).astype(np.complex64)
    return np.fft.irfft2(spectra * ramp_y[:, :, None] * ramp_x[:, None, :], s=shape).astype(np.float32)


def _median0(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=0)``, without its checks (a third of the time: the measure takes five)."""
    n = len(a)
    if n % 2:
        return np.partition(a, n // 2, axis=0)[n // 2]
    part = np.partition(a, (n // 2 - 1, n // 2), axis=0)
    return (part[n // 2 - 1] + part[n // 2]) / 2


def _quantile0(a: np.ndarray, q: float) -> np.ndarray:
    """``np.quantile(a, q, axis=0)`` (its "linear" method), from one partial sort."""
    at = q * (len(a) - 1)
    lo = math.floor(at)
    t = at - lo
    if not t:
        return np.partition(a, lo, axis=0)[lo]
    part = np.partition(a, (lo, lo + 1), axis=0)
    low, high = part[lo], part[lo + 1]
    return low + (high - low) * t if t < 0.5 else high - (high - low) * (1 - t)


def _block_median(diff: np.ndarray, grid: int = GRID) -> np.ndarray:
    """Each pixel's block median of ``diff`` (frames ``(n, h, w)``, each on its own) on a ``grid`` x
    ``grid`` split: the smooth, lighting part."""
    _, h, w = diff.shape
    out = np.empty_like(diff)
    ys = np.linspace(0, h, grid + 1).astype(int)
    xs = np.linspace(0, w, grid + 1).astype(int)
    for i in range(grid):
        for j in range(grid):
            block = diff[:, ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
            out[:, ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = _median0(block.reshape(len(diff), -1).T)[:, None, None]
    return out


def _dilate(mask: np.ndarray) -> np.ndarray:
    """A 3x3 maximum filter of a float array (edges kept)."""
    p = np.pad(mask, 1, mode="edge")
    h, w = mask.shape
    return np.max([p[y:y + h, x:x + w] for y in range(3) for x in range(3)], axis=0)


def _blob_area(changed: np.ndarray) -> int:
    """Pixels whose whole 2x2 block changed: isolated noise pixels never count, a small subject does."""
    both = changed[:-1, :-1] & changed[1:, :-1] & changed[:-1, 1:] & changed[1:, 1:]
    return int(both.sum())


def score_frames(frames: np.ndarray, times: Sequence[float] | np.ndarray) -> EmptyScore:
    """Score greyscale frames ``(n, h, w)`` taken at ``times`` (s): see the module's description."""
    times = np.asarray(times, dtype=float)
    n = len(frames)
    seconds = float(times[-1] - times[0]) if n else 0.0
    if n < 3:
        return EmptyScore(0.0, "too few frames to judge", 0.0, seconds, n, problem="too few frames to judge")
    f = frames.astype(np.float32)
    # 1. Camera shake: align every frame to the median frame, then crop the margin shifts can expose.
    shape = f.shape[1:]
    spectra = np.fft.rfft2(f - f.mean(axis=(1, 2), keepdims=True))
    aligned = f
    shifts = np.zeros((n, 2))
    for _ in range(2):  # the second reference is sharp: the median of frames already aligned once
        ref = _median0(aligned)
        ref_f = np.fft.rfft2(ref - ref.mean())
        shifts = _shifts(ref_f, spectra, shape)
        if np.abs(shifts).max() < 0.25:
            aligned = f
            break
        aligned = _moved(spectra, shifts, shape)
        aligned += f.mean(axis=(1, 2))[:, None, None]
    f = aligned
    moved = float(np.abs(shifts).max())
    m = min(MAX_SHIFT, math.ceil(moved))
    if m:
        f = f[:, m:-m, m:-m]
    # 2. Lighting: match each frame's brightness and contrast to the background, then take out the
    # smooth remainder block by block.
    means = f.mean(axis=(1, 2))
    sds = f.std(axis=(1, 2))
    bg0 = _median0(f)
    mu, sd = float(bg0.mean()), float(bg0.std())
    f = (f - means[:, None, None]) / np.maximum(sds, 1.0)[:, None, None] * max(sd, 1.0) + mu
    bg = _median0(f)
    diff = f - bg
    diff -= _block_median(diff)
    # 3. Each pixel's own spread (noise, swaying texture), robust to a subject that stays a while.
    spread = _quantile0(np.abs(diff), 0.25) / _HALF_NORMAL_Q25
    noise = float(np.median(spread))
    spread = np.maximum(_dilate(spread), max(NOISE_FLOOR, noise))
    z = np.abs(diff) / spread[None]
    # 4. Local change: blobs well above the spread, in at least MIN_FRAMES frames.
    areas = np.array([_blob_area(zi > Z_CHANGED) for zi in z])
    order = np.sort(areas)[::-1]
    activity = float(order[MIN_FRAMES - 1]) if n >= MIN_FRAMES else float(order[0])
    score = math.exp(-activity / ACTIVITY_SCALE)
    change = tuple(float(t) for t, a in zip(times, areas, strict=True) if a > 0 and activity > 0)
    light = float(np.ptp(means))
    swaying = float(np.mean(spread > 3 * max(NOISE_FLOOR, noise)))
    return EmptyScore(score, _reason(activity, seconds, change, light=light, shake=moved, sway=swaying),
                      activity, seconds, n, change)


def _reason(activity: float, seconds: float, change: Sequence[float], *, light: float, shake: float,
            sway: float) -> str:
    """The verdict in words."""
    if activity > 0 and change:
        span = (f"at {position(change[0])}" if change[-1] - change[0] < 0.5
                else f"at {position(change[0])}–{position(change[-1])}")
        return f"{'faint ' if activity < ACTIVITY_SCALE else ''}local change {span}"
    globals_ = [what for what, seen in (("lighting change", light >= LIGHT_CHANGE), ("camera shake", shake >= SHAKE_PX),
                                        ("swaying background", sway >= SWAY_SHARE and shake < SHAKE_PX)) if seen]
    if globals_:
        return " and ".join(globals_).capitalize() + " only"
    return f"no local change over {seconds:.0f} s"


def measure(path: Path | str, *, threads: int = 1) -> EmptyScore:
    """Decode and score one video; a file that cannot be read gets a problem, never an exception."""
    import av

    try:
        frames, times = sample_frames(path, threads=threads)
    except FileNotFoundError:
        return EmptyScore(0.0, "", 0.0, 0.0, 0, problem="missing: the file was moved or deleted")
    except (av.error.FFmpegError, ValueError, OSError, DecodeTimeout) as exc:
        return EmptyScore(0.0, "", 0.0, 0.0, 0, problem=f"cannot be decoded for the empty-clip check: {exc}")
    return score_frames(frames, times)


def segment_scores(frames: np.ndarray, times: Sequence[float] | np.ndarray,
                   seconds: float = SEGMENT_S) -> list[tuple[float, float, EmptyScore]]:
    """Each ``seconds``-long stretch of the frames scored on its own: ``(start, end, score)``.

    The background and spreads are those of the stretch alone, so this is what the score of a clip
    cut there would be (the Keyframes page and tests show where in a long clip something happened).
    """
    times = np.asarray(times, dtype=float)
    out = []
    start = float(times[0]) if len(times) else 0.0
    end_all = float(times[-1]) if len(times) else 0.0
    while start <= end_all:
        end = start + seconds
        sel = (times >= start) & (times < end)
        if sel.sum() >= 3:
            out.append((start, min(end, end_all), score_frames(frames[sel], times[sel])))
        start = end
    return out


# --------------------------------------------------------------------------------------------
# A folder's scores, cached by file identity
# --------------------------------------------------------------------------------------------


def _key(record: VideoRecord) -> str:
    key = f"{VERSION}|{record.rel_path}|{record.size}|{record.mtime_ns}"
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]  # any file name


def _cache_file(folder: Path, record: VideoRecord) -> Path:
    """Where ``record``'s score is cached (the folder's preview cache: looking writes nothing into it)."""
    return Folder.of(folder).preview_cache_dir(CACHE_DIR) / f"{_key(record)}.json"


def cached_score(folder: Path | str, record: VideoRecord) -> EmptyScore | None:
    """``record``'s score if it was measured before (decodes nothing)."""
    return _read_score(_cache_file(Path(folder), record))


def _read_score(path: Path) -> EmptyScore | None:
    data = read_json(path)
    if not isinstance(data, dict):
        return None
    try:
        return EmptyScore.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def empty_scores(
    folder: Path | str,
    records: Sequence[VideoRecord],
    *,
    measure_missing: bool = True,
    on_progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, EmptyScore]:
    """Scores of the usable videos among ``records`` (relative path → score), from the cache or measured.

    ``measure_missing=False`` decodes nothing and leaves out what was never measured. Measured
    scores are cached (except a file that vanished meanwhile). PyAV decodes outside the GIL, so a
    thread per core keeps every core busy.
    """
    folder = Path(folder)
    usable = [r for r in records if r.usable and r.duration]
    out: dict[str, EmptyScore] = {}
    todo: list[VideoRecord] = []
    cache_dir = Folder.of(folder).preview_cache_dir(CACHE_DIR)  # once, not once per video
    try:  # one listing: a video never measured costs no failed open
        cached = {e.name for e in os.scandir(cache_dir)}
    except OSError:
        cached = set()
    for rec in usable:
        name = f"{_key(rec)}.json"
        hit = _read_score(cache_dir / name) if name in cached else None
        if hit is not None:
            out[rec.rel_path] = hit
        elif measure_missing:
            todo.append(rec)
    total = len(out) + len(todo)
    if on_progress:
        on_progress(len(out), total)
    if not todo:
        return out
    cores = os.cpu_count() or 1
    n = max(1, min(len(todo), workers or cores))
    threads = max(1, cores // n)  # fewer videos than cores: each decoder takes the spare ones
    with ThreadPoolExecutor(max_workers=n) as pool:
        scores = pool.map(lambda r: measure(r.path, threads=threads), todo)
        for done, (rec, score) in enumerate(zip(todo, scores, strict=True), start=len(out) + 1):
            out[rec.rel_path] = score
            if not (score.problem or "").startswith("missing"):
                atomic_write_json(_cache_file(folder, rec), asdict(score))
            if on_progress:
                on_progress(done, total)
    return out


def empty_fields(score: EmptyScore | None, threshold: float = EMPTY_THRESHOLD) -> dict[str, Any]:
    """The fields ``gaia scan --json`` and ``gaia keyframes --json`` add to each video: ``empty_score``,
    ``likely_empty`` and ``empty_reason`` (all ``null`` for a video never checked or not checkable)."""
    if score is None:
        return {"empty_score": None, "likely_empty": None, "empty_reason": None}
    d = score.to_dict(threshold)
    if score.problem:
        d["empty_score"] = None
    return {k: d[k] for k in ("empty_score", "likely_empty", "empty_reason")}


def likely_empty(scores: dict[str, EmptyScore], threshold: float = EMPTY_THRESHOLD) -> list[str]:
    """The relative paths whose clip is likely empty at ``threshold``, sorted."""
    return sorted(rel for rel, s in scores.items() if s.likely_empty(threshold))


def likely_empty_reasons(
    folder: Path | str,
    records: Sequence[VideoRecord] | None = None,
    *,
    threshold: float = EMPTY_THRESHOLD,
    on_progress: Progress | None = None,
) -> dict[str, str]:
    """The likely-empty videos of ``folder`` at ``threshold`` (relative path → reason in words), measuring
    what was never measured. ``records`` default to a scan of the folder. What a skip-empty policy leaves out."""
    if records is None:
        from gaia.media.scan import scan_folder

        records = scan_folder(folder).records
    scores = empty_scores(folder, records, on_progress=on_progress)
    return {rel: s.reason for rel, s in sorted(scores.items()) if s.likely_empty(threshold)}
