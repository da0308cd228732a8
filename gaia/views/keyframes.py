"""What the Keyframes page shows: the frame-size and strategy choices, each video's frame state, the run's frames.

Frame sizes are offered as presets (``gaia.settings.FRAME_PRESETS``) with what each costs on the chosen
model (``gaia.pricing.tokens.preset_costs``), priced for the folder's most common video size; ``custom`` keeps the
longest-edge choice.

``FrameState`` replaces the text sentinel ``gaia.media`` uses for a video whose frames are not
extracted yet with the current settings (``KeyframeSet.problem == "not extracted yet"``, also
carried by the plan's ``RequestProblem``): pages ask ``frame_state`` / ``not_extracted`` instead of
comparing text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from PIL import Image

from gaia import format as fmt
from gaia.facts import ImageTier
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.media.scan import VideoRecord
from gaia.pricing.tokens import PRESET_SCENARIO, REFERENCE_SIZE, PresetCost, preset_costs
from gaia.settings import CUSTOM_PRESET, FRAME_PRESET_NAMES, MAX_EDGE_STEPS, Selection, frame_preset, preset_for_edge
from gaia.views.common import Metric

# gaia.media.keyframes.cached_keyframes' wording for "no frames with these settings yet".
_NOT_EXTRACTED_TEXT = "not extracted yet"
VIDEOS_PER_PAGE = 10
PROBLEMS_SHOWN = 200  # videos without frames listed by name on the Keyframes page (the rest counted)
EMPTY_CARDS_SHOWN = 60  # likely-empty clips shown on the contact sheet at once
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


def source_size(records: Iterable[VideoRecord]) -> tuple[tuple[int, int], str]:
    """The video size presets are priced for: the folder's most common one (ties: the larger), else
    full HD; with the words saying which."""
    sizes = Counter((r.width, r.height) for r in records if r.width and r.height and not r.problem)
    if not sizes:
        w, h = REFERENCE_SIZE
        return REFERENCE_SIZE, f"for a {w}×{h} video"
    (w, h), _n = max(sizes.items(), key=lambda kv: (kv[1], kv[0][0] * kv[0][1]))
    return (w, h), f"for a {w}×{h} video (the folder's most common size)"


def preset_rows(model: str, *, frames: int, current_edge: int | None,
                records: Iterable[VideoRecord] = ()) -> tuple[list[PresetCost], str]:
    """Every preset priced on ``model`` (and the custom edge in use, if any), and the caption saying
    for which video size and which scenario."""
    size, words = source_size(records)
    rows = preset_costs(model, frames=frames, source=size, current_edge=current_edge)
    return rows, f"Image cost {words}, {frames} frames: {PRESET_SCENARIO}."


def preset_records(rows: Sequence[PresetCost]) -> list[dict[str, object]]:
    """The preset table: name, edge, frame size, tokens per frame and per video, $ per video, what it shows."""
    return [{"preset": r.preset, "longest edge": f"{r.max_edge} px" if r.max_edge else "model's full size",
             "frame": f"{r.width}×{r.height}", "tokens per frame": r.tokens_per_frame,
             "tokens per video": r.tokens_per_video, "images per video (USD)": r.usd_per_video, "shows": r.shows}
            for r in rows]


def preset_label(name: str, rows: Sequence[PresetCost]) -> str:
    """``balanced · 777 tokens a frame · $0.0047 a video`` (``custom`` when no row is priced for it)."""
    row = next((r for r in rows if r.preset == name), None)
    if row is None:
        return "custom edge" if name == CUSTOM_PRESET else name
    return f"{name} · {fmt.tokens(row.tokens_per_frame)} tokens a frame · {fmt.usd(row.usd_per_video)} a video"


def preset_choice(current_edge: int | None) -> tuple[list[str], int]:
    """The frame-size choices (the presets, then ``custom``) and the index of the one in use."""
    names = list(FRAME_PRESET_NAMES)
    return names, names.index(preset_for_edge(current_edge))


def edge_for(preset: str, custom_edge: int | None) -> int | None:
    """The longest edge a choice stands for: the preset's, or ``custom_edge`` for ``custom``."""
    return custom_edge if preset == CUSTOM_PRESET else frame_preset(preset).max_edge


def run_metrics(sets: Sequence[KeyframeSet], selection: Selection) -> list[Metric]:
    """Videos with frames, videos and frames in the run, image tokens (what the selection keeps)."""
    ready = [k for k in sets if k.n_frames]
    included = [k for k in ready if not selection.video_excluded(k.rel_path)]
    frames = tokens = 0
    for k in included:  # one video's frames at a time (a cached set makes them when asked: 600,000 at 100,000 videos)
        kept = k.included_frames(selection)
        frames += len(kept)
        tokens += sum(f.tokens for f in kept)
    return [
        Metric("Videos with frames", f"{len(ready)} of {len(sets)}"),
        Metric("Videos in the run", str(len(included))),
        Metric("Frames in the run", str(frames)),
        Metric("Image tokens", fmt.tokens(tokens)),
    ]


def video_heading(k: KeyframeSet, record: VideoRecord | None) -> str:
    """A video's line above its frames: length, frames, tokens and the extraction note (Markdown-safe
    except for the path, which the page escapes)."""
    info = f"{fmt.length(record.duration)} · " if record is not None else ""
    return f"{info}{k.n_frames} frames · {fmt.tokens(k.tokens)} image tokens" + (f" · _{k.note}_" if k.note else "")


def keyframe_caption(f: Keyframe, *, excluded: bool) -> str:
    """``0:03.5 · 1024×576 · 789 tokens`` (then why a replacement frame stands there, and ``· **excluded**``
    when left out)."""
    return (f"{fmt.position(f.timestamp)} · {f.width}×{f.height} · {fmt.tokens(f.tokens)} tokens"
            + (f" · {f.rule}" if f.rule else "") + (" · **excluded**" if excluded else ""))


GREY = 128  # the flat mid-grey a decoder paints where a damaged or truncated file has no data
GREY_TOLERANCE = 6  # per channel, after JPEG
DAMAGED_SHARE = 0.5  # a frame at least this much flat grey carries little but damage


def looks_damaged(path: Path) -> bool:
    """Whether a frame is mostly the flat mid-grey a decoder fills missing data with (a truncated file's
    frames past its end): such a frame shows nothing of the video, so it is not sent unless a person says so."""
    try:
        with Image.open(path) as im:
            small = im.convert("RGB").resize((48, 27))
    except OSError:
        return False
    pixels = list(small.getdata())
    grey = sum(1 for px in pixels if max(abs(c - GREY) for c in px) <= GREY_TOLERANCE)
    return grey >= DAMAGED_SHARE * len(pixels)


def damaged_frames(sets: Iterable[KeyframeSet]) -> list[tuple[str, float]]:
    """(video, time) of every frame that looks damaged (``looks_damaged``), in order."""
    return [(k.rel_path, f.timestamp) for k in sets for f in k.frames if looks_damaged(f.path)]


def damaged_text(n: int) -> str:
    """What the Keyframes page says after leaving damaged frames out."""
    return (f"{n} frame(s) look damaged (flat grey, as a truncated or damaged file decodes) and are not sent; "
            "tick “Send” under one to include it.")


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
