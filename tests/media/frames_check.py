"""The exactness check for extracted frames, shared by the keyframe tests and ``bench/exactness.py``.

A frame is exact when its claimed time is a real frame time and its JPEG is that very frame, as
FFmpeg's own command-line decoder shows it in a plain pass from the start (no seeking), up to what
JPEG encoding of that frame costs. The reference pass keeps only the frames next to the claimed
times, so a long real video is checked without holding all its frames in memory.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from gaia.media.keyframes import KeyframeSet
from gaia.media.probe import ffmpeg_exe, probe_file


def rgb(path: Path) -> np.ndarray:
    """A JPEG's pixels as float RGB."""
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


def _frame_times(video: Path) -> list[float]:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-copyts", "-i", str(video), "-vf", "showinfo",
                           "-fps_mode", "passthrough", "-f", "null", "-"], capture_output=True, check=True)
    return [float(m) for m in re.findall(rb"pts_time:\s*([-0-9.]+)", proc.stderr)]


def reference_frames(video: Path, size: tuple[int, int], near: Sequence[float] | None = None
                     ) -> list[tuple[float, np.ndarray]]:
    """Frames of ``video`` from one plain decoding pass, scaled to ``size``, with times from playback start.

    With ``near``, only each of those times' nearest frame and its two neighbours; else every frame.
    """
    w, h = size
    start = probe_file(video).start_time
    select = ""
    if near is not None:
        times = [t - start for t in _frame_times(video)]
        wanted: set[int] = set()
        for t in near:
            i = min(range(len(times)), key=lambda j: abs(times[j] - t))
            wanted.update(j for j in (i - 1, i, i + 1) if 0 <= j < len(times))
        select = "select='" + "+".join(f"eq(n\\,{j})" for j in sorted(wanted)) + "',"
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-copyts", "-i", str(video), "-vf", f"{select}scale={w}:{h}:flags=area,showinfo",
         "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    )
    times = [float(m) for m in re.findall(rb"pts_time:\s*([-0-9.]+)", proc.stderr)]
    frames = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, h, w, 3)
    assert len(times) == len(frames)
    return [(t - start, f.astype(np.float32)) for t, f in zip(times, frames, strict=True)]


def jpeg_noise(frame: np.ndarray, quality: int) -> float:
    """Mean abs difference JPEG encoding alone puts into ``frame`` at ``quality``."""
    buf = io.BytesIO()
    Image.fromarray(frame.astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return float(np.abs(np.asarray(Image.open(buf), dtype=np.float32) - frame).mean())


def frame_errors(kset: KeyframeSet, *, damaged: bool = False) -> list[str]:
    """What is wrong with each frame of ``kset`` (empty when every one is exact).

    The claimed time must be a real frame time, the JPEG must match that decoded frame at least as
    well as the frames just before and after it, and differ from it by no more than JPEG encoding
    of that very frame does: identical content, up to the JPEG. In a ``damaged`` file the decoder
    conceals errors, and how depends on where decoding started and on threading: there a frame must
    still match its own decoded frame clearly better than the neighbours.
    """
    if not kset.frames:
        return []
    first = kset.frames[0]
    refs = reference_frames(kset.video, (first.width, first.height), near=[f.timestamp for f in kset.frames])
    errors = []
    for f in kset.frames:
        i = min(range(len(refs)), key=lambda j: abs(refs[j][0] - f.timestamp))
        where = f"{kset.rel_path} at {f.timestamp:.3f} s"
        if abs(refs[i][0] - f.timestamp) >= 0.002:
            errors.append(f"{where}: no frame at that time (nearest {refs[i][0]:.3f} s)")
            continue
        img = rgb(f.path)
        diffs = {j: float(np.abs(img - refs[j][1]).mean()) for j in (i - 1, i, i + 1)
                 if 0 <= j < len(refs) and abs(refs[j][0] - refs[i][0]) < 1.0}
        noise = jpeg_noise(refs[i][1], kset.settings.jpeg_quality)
        others = [d for j, d in diffs.items() if j != i]
        if diffs[i] > min(diffs.values()) + 0.01:
            errors.append(f"{where}: a neighbouring frame matches better {diffs}")
        elif damaged and others and diffs[i] >= 0.75 * min(others):
            errors.append(f"{where}: not clearly its own frame {diffs} (JPEG alone: {noise:.2f})")
        elif not damaged and diffs[i] > noise + 0.05:
            errors.append(f"{where}: differs by {diffs[i]:.2f}, JPEG alone by {noise:.2f}")
    return errors
