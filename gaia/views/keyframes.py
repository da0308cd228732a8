"""What the Keyframes page shows: the frame-size and strategy choices, each video's frame state, the run's frames.

``FrameState`` replaces the text sentinel ``gaia.media`` uses for a video whose frames are not
extracted yet with the current settings (``KeyframeSet.problem == "not extracted yet"``, also
carried by the plan's ``RequestProblem``): pages ask ``frame_state`` / ``not_extracted`` instead of
comparing text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from gaia import format as fmt
from gaia.facts import ImageTier
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.media.scan import VideoRecord
from gaia.settings import MAX_EDGE_STEPS, Selection
from gaia.views.common import Metric

# gaia.media.keyframes.cached_keyframes' wording for "no frames with these settings yet".
_NOT_EXTRACTED_TEXT = "not extracted yet"
VIDEOS_PER_PAGE = 10
STRATEGY_HELP = {
    "keyframes": "Fast: the codec's own keyframes nearest to evenly spread times (exact seeks where they are sparse).",
    "uniform": "Exact frames at evenly spread times, skipping black lead-in and tail.",
    "scene": "Frames just after scene changes, topped up to cover the whole video.",
}


class FrameState(StrEnum):
    """Where a video's frames stand for the current settings."""

    READY = "ready"
    NOT_EXTRACTED = "not extracted"
    PROBLEM = "problem"


class _HasProblem(Protocol):
    @property
    def problem(self) -> str | None: ...


P = TypeVar("P", bound=_HasProblem)


def frame_state(item: _HasProblem) -> FrameState:
    """The state of a ``KeyframeSet`` (or a plan's ``RequestProblem``) as an enum."""
    if item.problem is None:
        return FrameState.READY
    return FrameState.NOT_EXTRACTED if item.problem == _NOT_EXTRACTED_TEXT else FrameState.PROBLEM


def not_extracted(items: Iterable[P]) -> list[P]:
    """The items whose frames are not extracted yet with the current settings."""
    return [i for i in items if frame_state(i) is FrameState.NOT_EXTRACTED]


def with_problems(items: Iterable[P]) -> list[P]:
    """The items with a real problem (not merely frames still to extract)."""
    return [i for i in items if frame_state(i) is FrameState.PROBLEM]


def edge_choices(tier: ImageTier, current: int | None) -> list[int]:
    """Longest-edge choices below the model's tier (``0``: the model's own limit), plus the current one."""
    options = {0, *(e for e in MAX_EDGE_STEPS if e < tier.max_edge), current or 0}
    return sorted(options)


def edge_label(edge: int, tier: ImageTier) -> str:
    """``model's (1568)`` for 0, else the number."""
    return f"model's ({tier.max_edge})" if edge == 0 else str(edge)


def run_metrics(sets: Sequence[KeyframeSet], selection: Selection) -> list[Metric]:
    """Videos with frames, videos and frames in the run, image tokens (what the selection keeps)."""
    ready = [k for k in sets if k.frames]
    included = [k for k in ready if not selection.video_excluded(k.rel_path)]
    frames = [f for k in included for f in k.included_frames(selection)]
    return [
        Metric("Videos with frames", f"{len(ready)} of {len(sets)}"),
        Metric("Videos in the run", str(len(included))),
        Metric("Frames in the run", str(len(frames))),
        Metric("Image tokens", fmt.tokens(sum(f.tokens for f in frames))),
    ]


def video_heading(k: KeyframeSet, record: VideoRecord | None) -> str:
    """A video's line above its frames: length, frames, tokens and the extraction note (Markdown-safe
    except for the path, which the page escapes)."""
    info = f"{fmt.length(record.duration)} · " if record is not None else ""
    return f"{info}{len(k.frames)} frames · {fmt.tokens(k.tokens)} image tokens" + (f" · _{k.note}_" if k.note else "")


def keyframe_caption(f: Keyframe, *, excluded: bool) -> str:
    """``0:03.5 · 1024×576 · 789 tokens`` (``· **excluded**`` when left out)."""
    return (f"{fmt.position(f.timestamp)} · {f.width}×{f.height} · {fmt.tokens(f.tokens)} tokens"
            + (" · **excluded**" if excluded else ""))


def extraction_label(sets: Iterable[KeyframeSet], todo: set[str]) -> tuple[str, bool]:
    """The status line after extracting ``todo`` (relative paths), and whether any failed."""
    failed = sum(1 for k in sets if k.problem and k.rel_path in todo)
    label = f"Extracted keyframes for {len(todo) - failed} video(s)" + (f"; {failed} failed" if failed else "")
    return label, failed > 0


@dataclass(frozen=True)
class Paging:
    """How many pages of videos there are."""

    pages: int
    per_page: int

    def slice(self, items: Sequence[KeyframeSet], page: int) -> Sequence[KeyframeSet]:
        """The videos on page ``page`` (1-based)."""
        return items[(page - 1) * self.per_page: page * self.per_page]


def paging(n: int, per_page: int = VIDEOS_PER_PAGE) -> Paging:
    """Pages of ``per_page`` videos for ``n`` videos (at least one page)."""
    return Paging(max(1, -(-n // per_page)), per_page)
