"""The demo folder: a handful of short animal-themed clips GAIA makes itself, so it can be tried at once.

The clips are generated with moviepy on first use (a few seconds in all) and kept in the user's
cache (``$XDG_CACHE_HOME/gaia/demo-videos``, else ``~/.cache/gaia/demo-videos``). Each clip has a
title on screen, two or three distinct scenes separated by hard cuts (a different background and
caption each), and a shape moving across the frame, so keyframe extraction and scene detection
have something real to find. Generation writes into a temporary folder and renames it into
place, so a half-made demo folder is never seen, and two sessions asking at once are both served.
Titles are drawn with moviepy's ``TextClip`` using a font found on the machine (Debian's DejaVu,
or the Source Sans that ships inside Streamlit); when no font file can be used, the text is
drawn onto the frames with Pillow's built-in font instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEMO_VERSION = "1"
DEMO_DIR_NAME = "demo-videos"
MARKER_FILE = ".gaia-demo-version"  # hidden: the scan skips it
WIDTH, HEIGHT = 480, 270
FPS = 12

SYSTEM_FONTS = (  # Debian's fonts-dejavu / fonts-liberation, when installed
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)

Progress = Callable[[int, int], None]
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class DemoScene:
    """One scene of a clip: how long it lasts, its background, its caption and its moving shape."""

    seconds: float
    background: RGB
    caption: str
    shape: str  # "circle" | "square" | "bar"
    colour: RGB


@dataclass(frozen=True)
class DemoClip:
    """One demo video: its file name, the title on screen and its scenes in order."""

    file_name: str
    title: str
    scenes: tuple[DemoScene, ...]

    @property
    def duration(self) -> float:
        """Seconds of video."""
        return sum(s.seconds for s in self.scenes)


DEMO_CLIPS: tuple[DemoClip, ...] = (
    DemoClip("cat_on_the_sofa.mp4", "Cat on the sofa", (
        DemoScene(2.0, (150, 60, 60), "The cat jumps up", "circle", (250, 200, 90)),
        DemoScene(2.0, (70, 40, 110), "It curls up to sleep", "square", (240, 240, 240)),
    )),
    DemoClip("dog_in_the_garden.mp4", "Dog in the garden", (
        DemoScene(1.5, (40, 120, 50), "The dog runs in", "circle", (140, 90, 40)),
        DemoScene(1.5, (60, 150, 200), "It chases a ball", "bar", (250, 230, 60)),
        DemoScene(1.5, (30, 80, 30), "Then digs a hole", "square", (120, 80, 50)),
    )),
    DemoClip("birds_at_the_feeder.mp4", "Birds at the feeder", (
        DemoScene(2.0, (120, 180, 230), "Two sparrows land", "circle", (150, 100, 60)),
        DemoScene(2.0, (230, 200, 120), "A robin chases them off", "square", (220, 80, 40)),
    )),
    DemoClip("fish_in_the_tank.mp4", "Fish in the tank", (
        DemoScene(2.0, (20, 60, 140), "Goldfish swim by", "circle", (250, 150, 30)),
        DemoScene(2.0, (10, 110, 110), "One hides in the plants", "bar", (250, 120, 20)),
    )),
    DemoClip("rabbit_in_the_snow.mp4", "Rabbit in the snow", (
        DemoScene(1.5, (225, 230, 240), "A rabbit hops out", "square", (110, 90, 70)),
        DemoScene(1.5, (90, 100, 130), "It stops to listen", "circle", (200, 190, 180)),
        DemoScene(1.5, (200, 210, 225), "And hops away", "bar", (110, 90, 70)),
    )),
)


def demo_folder_path() -> Path:
    """Where the demo folder lives: ``$XDG_CACHE_HOME/gaia/demo-videos`` (or ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gaia" / DEMO_DIR_NAME


def demo_ready(folder: Path | None = None) -> bool:
    """Whether the demo folder is complete (every clip there, made by this version of GAIA)."""
    folder = folder or demo_folder_path()
    try:
        if (folder / MARKER_FILE).read_text().strip() != DEMO_VERSION:
            return False
    except OSError:
        return False
    return all((folder / c.file_name).is_file() for c in DEMO_CLIPS)


def demo_font() -> str | None:
    """A TrueType/OpenType font file Pillow can open (for titles), or ``None`` when there is none."""
    from PIL import ImageFont

    candidates = list(SYSTEM_FONTS)
    # Streamlit ships Source Sans for its own UI; find it without importing streamlit.
    spec = importlib.util.find_spec("streamlit")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            media = Path(loc) / "static" / "static" / "media"
            with contextlib.suppress(OSError):
                candidates += sorted(str(p) for p in media.glob("SourceSans*Upright*"))
    for path in candidates:
        if not Path(path).is_file():
            continue
        try:
            ImageFont.truetype(path, 20)
        except Exception:  # a font Pillow cannot read: try the next one
            continue
        return path
    return None


def _scene_at(clip: DemoClip, t: float) -> tuple[DemoScene, float]:
    start = 0.0
    for scene in clip.scenes:
        if t < start + scene.seconds:
            return scene, (t - start) / scene.seconds
        start += scene.seconds
    return clip.scenes[-1], 1.0


def _background_frame(clip: DemoClip, t: float) -> np.ndarray:
    """The frame at ``t`` without text: the scene's colour with a soft gradient and a moving shape."""
    scene, progress = _scene_at(clip, t)
    frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    shade = np.linspace(1.0, 0.7, HEIGHT, dtype=np.float32)[:, None]
    for ch in range(3):
        frame[:, :, ch] = np.clip(scene.background[ch] * shade, 0, 255).astype(np.uint8)
    # The shape crosses the frame left to right during the scene and bobs up and down.
    size = 46
    x = int(20 + progress * (WIDTH - size - 40))
    y = int(HEIGHT * 0.55 + 25 * np.sin(progress * 2 * np.pi * 1.5))
    ys, xs = np.ogrid[:HEIGHT, :WIDTH]
    if scene.shape == "circle":
        mask = (xs - x - size / 2) ** 2 + (ys - y) ** 2 <= (size / 2) ** 2
    elif scene.shape == "square":
        mask = (xs >= x) & (xs < x + size) & (ys >= y - size // 2) & (ys < y + size // 2)
    else:  # a long bar
        mask = (xs >= x) & (xs < x + size * 2) & (ys >= y - 10) & (ys < y + 10)
    frame[mask] = scene.colour
    return frame


def _pillow_text_frame(clip: DemoClip, t: float) -> np.ndarray:
    """The fallback: the whole frame, with the title and caption drawn by Pillow's built-in font."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(_background_frame(clip, t))
    draw = ImageDraw.Draw(img)
    scene, _ = _scene_at(clip, t)
    try:
        big, small = ImageFont.load_default(size=30), ImageFont.load_default(size=18)
    except TypeError:  # Pillow without FreeType: the bitmap font, fixed size
        big = small = ImageFont.load_default()
    draw.text((WIDTH // 2, 28), clip.title, font=big, fill="white", anchor="mt", stroke_width=2, stroke_fill="black")
    draw.text((WIDTH // 2, HEIGHT - 16), scene.caption, font=small, fill="white", anchor="mb", stroke_width=2,
              stroke_fill="black")
    return np.asarray(img)


def _render_clip(clip: DemoClip, dest: Path, font: str | None) -> None:
    """Write one clip to ``dest`` (H.264, no audio) with moviepy."""
    from moviepy import CompositeVideoClip, TextClip, VideoClip

    if font is None:
        video = VideoClip(lambda t: _pillow_text_frame(clip, t), duration=clip.duration)
    else:
        layers = [VideoClip(lambda t: _background_frame(clip, t), duration=clip.duration)]
        layers.append(TextClip(font=font, text=clip.title, font_size=30, color="white", stroke_color="black",
                               stroke_width=2, margin=(6, 6), duration=clip.duration).with_position(("center", 14)))
        start = 0.0
        for scene in clip.scenes:
            layers.append(TextClip(font=font, text=scene.caption, font_size=18, color="white", stroke_color="black",
                                   stroke_width=2, margin=(4, 4), duration=scene.seconds)
                          .with_start(start).with_position(("center", HEIGHT - 40)))
            start += scene.seconds
        video = CompositeVideoClip(layers, size=(WIDTH, HEIGHT)).with_duration(clip.duration)
    try:
        video.write_videofile(str(dest), fps=FPS, codec="libx264", audio=False, preset="ultrafast",
                              ffmpeg_params=["-pix_fmt", "yuv420p", "-g", str(FPS * 2)], logger=None)
    finally:
        video.close()


def ensure_demo_folder(*, on_progress: Progress | None = None, force: bool = False) -> Path:
    """The demo folder, generated first if it is missing or incomplete; returns its path.

    ``on_progress(done, total)`` is called once before and after each clip. With ``force`` the
    clips are made again (analyses written into the old folder are lost). Raises ``OSError`` when
    the cache folder cannot be written.
    """
    target = demo_folder_path()
    total = len(DEMO_CLIPS)
    if demo_ready(target) and not force:
        if on_progress:
            on_progress(total, total)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    font = demo_font()
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        tmp.chmod(0o755)
        if on_progress:
            on_progress(0, total)
        for done, clip in enumerate(DEMO_CLIPS, start=1):
            _render_clip(clip, tmp / clip.file_name, font)
            if on_progress:
                on_progress(done, total)
        (tmp / MARKER_FILE).write_text(DEMO_VERSION + "\n")
        if target.exists() and (force or not demo_ready(target)):
            shutil.rmtree(target, ignore_errors=True)
        try:
            tmp.rename(target)
        except OSError:
            if not demo_ready(target):  # another session finished first only if it is complete
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
