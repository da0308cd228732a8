"""Likely-empty clips, found locally: a per-clip score of "did something move into the scene".

A motion-triggered camera records many clips with nothing in them (wind, light, rain). This module
decodes each video once at a small size in greyscale (PyAV, about 4 frames a second, the long edge
``EDGE`` px) and asks whether any *local* change happened, as opposed to a global one:

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

import contextlib
import hashlib
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gaia.folder import Folder
from gaia.format import position
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.scan import VideoRecord
from gaia.settings import EMPTY_THRESHOLD

Progress = Callable[[int, int], None]

VERSION = 1  # of the measure: a cached score of another version is measured again
CACHE_DIR = "empty"
EDGE = 128  # longest edge (px) of the greyscale frames the measure looks at
SAMPLE_FPS = 4.0  # frames per second kept (every decoded frame when the video has fewer)
MAX_SAMPLES = 1200  # at most this many frames per clip (a long clip is sampled more sparsely)
MAX_SHIFT = 8  # px at EDGE: the largest camera shake taken out
GRID = 4  # blocks per side whose median difference is taken as lighting
Z_CHANGED = 5.0  # a pixel changed when its difference is this many times its own spread
NOISE_FLOOR = 2.0  # grey levels: no pixel's spread is taken as smaller (compression noise)
MIN_FRAMES = 2  # a local change must show in at least this many sampled frames
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


def sample_frames(path: Path | str, *, fps: float = SAMPLE_FPS, edge: int = EDGE,
                  max_samples: int = MAX_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """The video's frames about ``fps`` a second as greyscale uint8 ``(n, h, w)`` with their times (s).

    Every packet is decoded (a compressed frame depends on the ones before it), but frames between
    samples are never scaled or copied, and the loop filter is skipped (the measure looks at blobs a
    few pixels wide at ``edge``, where deblocking changes nothing). Raises ``av.error.FFmpegError``
    or ``ValueError`` for files that cannot be read.
    """
    import av  # here, not at import: a server that never measures never loads PyAV (~17 MB)

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        with contextlib.suppress(AttributeError, ValueError):  # codecs without the option
            stream.codec_context.options = {"skip_loop_filter": "all"}
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration / 1e6 if container.duration else 0.0)
        step = max(1.0 / fps, duration / max_samples) if duration else 1.0 / fps
        w0, h0 = stream.codec_context.width or edge, stream.codec_context.height or edge
        scale = edge / max(w0, h0, 1)
        w, h = max(8, round(w0 * scale)) // 2 * 2, max(8, round(h0 * scale)) // 2 * 2
        start = None
        nxt = -1.0
        out: list[np.ndarray] = []
        times: list[float] = []
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * stream.time_base)
            if start is None:
                start = t
            t -= start
            if t + 1e-6 < nxt:
                continue
            small = frame.reformat(width=w, height=h, format="gray", interpolation="AREA")
            out.append(small.to_ndarray().reshape(h, w).copy())
            times.append(t)
            nxt = t + step
            if len(out) >= max_samples:
                break
    if not out:
        raise ValueError("no frame could be decoded")
    return np.stack(out), np.asarray(times)


# --------------------------------------------------------------------------------------------
# Scoring (numpy only)
# --------------------------------------------------------------------------------------------


def _shift(ref_f: np.ndarray, img_f: np.ndarray, shape: tuple[int, int]) -> tuple[float, float]:
    """The (dy, dx) in px, to a tenth or so, that best aligns an image onto the reference (phase
    correlation of their spectra ``rfft2``; the peak refined by a parabola), within ``MAX_SHIFT``."""
    cross = ref_f * np.conj(img_f)
    cross /= np.abs(cross) + 1e-9
    corr = np.fft.fftshift(np.fft.irfft2(cross, s=shape))
    cy, cx = shape[0] // 2, shape[1] // 2
    win = corr[cy - MAX_SHIFT - 1:cy + MAX_SHIFT + 2, cx - MAX_SHIFT - 1:cx + MAX_SHIFT + 2]
    inner = win[1:-1, 1:-1]
    iy, ix = np.unravel_index(int(np.argmax(inner)), inner.shape)
    iy, ix = int(iy) + 1, int(ix) + 1

    def vertex(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if d >= 0 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))

    dy = iy - MAX_SHIFT - 1 + vertex(win[iy - 1, ix], win[iy, ix], win[iy + 1, ix])
    dx = ix - MAX_SHIFT - 1 + vertex(win[iy, ix - 1], win[iy, ix], win[iy, ix + 1])
    return dy, dx


def _moved(spectrum: np.ndarray, shift: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    """The image whose spectrum is ``spectrum``, moved by ``shift`` (px, fractions too: a Fourier shift)."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    ramp = np.exp(-2j * np.pi * (fy * shift[0] + fx * shift[1]))
    return np.fft.irfft2(spectrum * ramp, s=shape).astype(np.float32)


def _block_median(diff: np.ndarray, grid: int = GRID) -> np.ndarray:
    """Each pixel's block median of ``diff`` on a ``grid`` x ``grid`` split (the smooth, lighting part)."""
    h, w = diff.shape
    out = np.empty_like(diff)
    ys = np.linspace(0, h, grid + 1).astype(int)
    xs = np.linspace(0, w, grid + 1).astype(int)
    for i in range(grid):
        for j in range(grid):
            block = diff[ys[i]:ys[i + 1], xs[j]:xs[j + 1]]
            out[ys[i]:ys[i + 1], xs[j]:xs[j + 1]] = np.median(block)
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
    shifts = [(0.0, 0.0)] * n
    for _ in range(2):  # the second reference is sharp: the median of frames already aligned once
        ref = np.median(aligned, axis=0)
        ref_f = np.fft.rfft2(ref - ref.mean())
        shifts = [_shift(ref_f, sp, shape) for sp in spectra]
        if max(max(abs(dy), abs(dx)) for dy, dx in shifts) < 0.25:
            aligned = f
            break
        aligned = np.stack([_moved(sp, sh, shape) for sp, sh in zip(spectra, shifts, strict=True)])
        aligned += f.mean(axis=(1, 2))[:, None, None]
    f = aligned
    moved = max(max(abs(dy), abs(dx)) for dy, dx in shifts)
    m = min(MAX_SHIFT, math.ceil(moved))
    if m:
        f = f[:, m:-m, m:-m]
    # 2. Lighting: match each frame's brightness and contrast to the background, then take out the
    # smooth remainder block by block.
    means = f.mean(axis=(1, 2))
    sds = f.std(axis=(1, 2))
    bg0 = np.median(f, axis=0)
    mu, sd = float(bg0.mean()), float(bg0.std())
    f = (f - means[:, None, None]) / np.maximum(sds, 1.0)[:, None, None] * max(sd, 1.0) + mu
    bg = np.median(f, axis=0)
    diff = f - bg
    diff -= np.stack([_block_median(d) for d in diff])
    # 3. Each pixel's own spread (noise, swaying texture), robust to a subject that stays a while.
    spread = np.quantile(np.abs(diff), 0.25, axis=0) / _HALF_NORMAL_Q25
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


def measure(path: Path | str) -> EmptyScore:
    """Decode and score one video; a file that cannot be read gets a problem, never an exception."""
    import av

    try:
        frames, times = sample_frames(path)
    except FileNotFoundError:
        return EmptyScore(0.0, "", 0.0, 0.0, 0, problem="missing: the file was moved or deleted")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
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
    n = max(1, min(len(todo), workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=n) as pool:
        for done, (rec, score) in enumerate(zip(todo, pool.map(lambda r: measure(r.path), todo), strict=True),
                                            start=len(out) + 1):
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
