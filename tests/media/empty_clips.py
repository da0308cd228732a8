"""Generated clips for the empty-clip measure, written with PyAV: a textured scene under sensor noise,
a lighting ramp, camera shake or swaying texture, each with or without a small object passing for 1 s.

Every frame is made in numpy (greyscale, 320x240, 15 fps) and encoded with libx264 (any GOP, B-frames
or not) or as Motion JPEG, so the measure sees what a camera's encoder leaves of the noise, the shake
and the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from gaia.media.keyframes import extract_keyframes

W, H, FPS = 320, 240, 15
KINDS = ("static", "light", "shake", "sway")
PAD = 12


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A smooth random texture (a few octaves of blocky noise), grey levels 60-180."""
    img = np.zeros((h, w))
    for scale in (4, 8, 16, 32):
        small = rng.random((h // scale + 2, w // scale + 2))
        img += np.kron(small, np.ones((scale, scale)))[:h, :w] * scale
    img = (img - img.min()) / (img.max() - img.min())
    return 60 + img * 120


def frames(kind: str, *, seconds: float, seed: int, objects: tuple[tuple[float, float], ...] = ()
           ) -> Iterator[np.ndarray]:
    """The clip's frames; each ``(start, end)`` in ``objects`` is a 16x14 px object crossing part of the frame."""
    rng = np.random.default_rng(seed)
    bg = _background(rng, W + 2 * PAD, H + 2 * PAD)
    yy, xx = np.mgrid[0:H + 2 * PAD, 0:W + 2 * PAD]
    for i in range(int(seconds * FPS)):
        t = i / FPS
        img = bg.copy()
        if kind == "sway":  # leaves on the left third, swaying 4 px back and forth
            region = xx < (W + 2 * PAD) // 3
            shift = 4 * np.sin(2 * np.pi * 0.8 * t + seed)
            leaves = 128 + 70 * np.sin((xx + shift) / 3.0) * np.cos((yy + 0.5 * shift) / 4.0)
            img[region] = leaves[region]
        ox = oy = PAD
        if kind == "shake":  # the camera jitters up to 5 px every frame
            ox, oy = PAD + int(rng.integers(-5, 6)), PAD + int(rng.integers(-5, 6))
        frame = img[oy:oy + H, ox:ox + W].copy()
        for start, end in objects:
            if start <= t < end:
                p = (t - start) / max(end - start, 1e-6)
                x, y = int(W * 0.45 + 50 * p), int(H * (0.3 + 0.3 * (seed % 2)))
                frame[y:y + 14, x:x + 16] = 25 if seed % 3 else 235
        if kind == "light":  # the light ramps from dim to bright over the clip
            frame = frame * (0.55 + 0.8 * t / seconds) + 10 * t / seconds
        frame = frame + rng.normal(0, 5, frame.shape)  # sensor noise, new every frame
        yield np.clip(frame, 0, 255).astype(np.uint8)


def write(path: Path, kind: str, *, seconds: float = 5.0, seed: int = 0,
          objects: tuple[tuple[float, float], ...] = (), gop: int | None = None, x264: str | None = None) -> Path:
    """Write one clip of ``kind`` to ``path`` and return it: H.264 in MP4 with a keyframe every ``gop``
    frames (x264's own choice when ``None``) and ``x264`` parameters (e.g. ``"bframes=3:b-adapt=0"``),
    or Motion JPEG (every frame a keyframe) when ``path`` ends in ``.avi``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        if path.suffix == ".avi":
            stream = out.add_stream("mjpeg", rate=FPS)
            stream.pix_fmt = "yuvj420p"
            stream.options = {"q:v": "5"}
        else:
            stream = out.add_stream("libx264", rate=FPS)
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "26", "preset": "ultrafast",
                              **({"g": str(gop), "keyint_min": str(gop)} if gop else {}),
                              **({"x264-params": x264} if x264 else {})}
        stream.width, stream.height = W, H
        for grey in frames(kind, seconds=seconds, seed=seed, objects=objects):
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def trap_folder(folder: Path, *, extract: bool = True) -> Path:
    """A camera trap's folder: two empty clips (wind, light) and one with a fox passing, two frames each
    (extracted unless ``extract`` is false)."""
    import gaia

    write(folder / "wind.mp4", "sway", seconds=4.0, seed=1)
    write(folder / "light.mp4", "light", seconds=4.0, seed=2)
    write(folder / "fox.mp4", "sway", seconds=4.0, seed=1, objects=((1.5, 2.5),))
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(count=2))
    if extract:
        s = f.settings()
        extract_keyframes(folder, settings=s.keyframes, model=s.model)
    return folder
