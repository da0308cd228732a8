"""Keyframe extraction: which frames of each video are sent, as JPEGs sized for the chosen model.

(Interface first; the implementation lands in the next commit.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia.scan import VideoRecord
from gaia.settings import KeyframeSettings, Selection

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Keyframe:
    """One extracted frame: its time in the video, its JPEG in the frame cache, its size and tokens."""

    timestamp: float
    path: Path
    width: int
    height: int
    nbytes: int
    tokens: int
    source: str = "keyframe"  # "keyframe" (codec I-frame), "seek" (exact seek) or "scene" (scene change)

    def read_bytes(self) -> bytes:
        """The JPEG bytes."""
        return self.path.read_bytes()


@dataclass(frozen=True)
class KeyframeSet:
    """The frames of one video for one set of settings, in time order, or the reason there are none."""

    video: Path
    rel_path: str
    settings: KeyframeSettings
    model: str
    set_id: str
    frames: tuple[Keyframe, ...] = field(default_factory=tuple)
    problem: str | None = None
    cached: bool = False

    def included_frames(self, selection: Selection | None = None) -> tuple[Keyframe, ...]:
        """The frames the user did not exclude."""
        if selection is None:
            return self.frames
        return tuple(f for f in self.frames if not selection.frame_excluded(self.rel_path, f.timestamp))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "video": str(self.video), "rel_path": self.rel_path, "set_id": self.set_id, "model": self.model,
            "settings": vars(self.settings), "problem": self.problem, "cached": self.cached,
            "frames": [
                {"timestamp": f.timestamp, "path": str(f.path), "width": f.width, "height": f.height,
                 "bytes": f.nbytes, "tokens": f.tokens, "source": f.source}
                for f in self.frames
            ],
        }


def extract_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
    timeout_s: float | None = None,
) -> list[KeyframeSet]:
    """Extract (or load from the cache) the keyframes of every usable video, in scan order."""
    raise NotImplementedError


def cached_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
) -> list[KeyframeSet]:
    """The keyframe sets already in the cache, decoding nothing (missing ones carry a problem)."""
    raise NotImplementedError
