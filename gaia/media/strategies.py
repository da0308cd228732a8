"""Which frames to take: the plans of the three strategies and the replacement candidates.

Pure functions of the video's duration, its packet index and what was seen; nothing here decodes.
``keyframes`` takes the codec's own I-frame nearest each of N evenly spread times (each I-frame once,
inside its target's slot) and asks for an exact frame where none is near enough. ``uniform`` asks
for exact frames at N evenly spread times. ``scene`` keeps the frames just after scene changes (the
best spread ones when there are too many) and then tops up into the widest gaps, the tail included,
so the whole video is covered. ``replacements`` proposes, for frames that came back black or
repeated, candidates in the widest gaps left, preferring I-frames from the index (one packet each);
``gap_spots`` lists the spots inside one gap in display order, for a search that stops at the first
acceptable frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gaia.media.decode import Key

KEYFRAME_TOLERANCE = 0.5  # of the spacing between targets: an I-frame must lie in its target's own slot
SCENE_OFFSET_S = 0.12  # take the frame just after a cut, not the blended one on it
CANDIDATES_PER_GAP = 3  # replacement spots per rejected frame, tried in display order until one is acceptable
MAX_CANDIDATES = 16  # and never more than this per video


@dataclass(frozen=True)
class Slot:
    """One frame to decode: the I-frame ``key`` when given, else the exact frame at ``time``."""

    time: float
    key: Key | None
    source: str  # "keyframe", "seek" or "scene"
    coverage: bool = False  # a frame taken to cover the video (never dropped as a near-duplicate)
    rule: str | None = None  # why a replacement stands here (shown in its caption); None for planned frames


def even_targets(duration: float, n: int) -> list[float]:
    """N times at the middles of N equal slots."""
    return [(i + 0.5) * duration / n for i in range(n)]


def plan_keyframes(duration: float, n: int, keys: Sequence[Key]) -> list[Slot]:
    """The I-frame nearest each evenly spread time, or an exact frame where none is near enough."""
    spacing = duration / n
    used: set[int] = set()
    slots = []
    for t in even_targets(duration, n):
        best = min((k for k in keys if k.ts not in used and k.time < duration), key=lambda k: abs(k.time - t),
                   default=None)
        if best is not None and abs(best.time - t) <= KEYFRAME_TOLERANCE * spacing:
            used.add(best.ts)
            slots.append(Slot(best.time, best, "keyframe"))
        else:
            slots.append(Slot(t, None, "seek"))
    return slots


def plan_uniform(duration: float, n: int) -> list[Slot]:
    """Exact frames at N evenly spread times."""
    return [Slot(t, None, "seek") for t in even_targets(duration, n)]


def plan_scene(duration: float, n: int, cuts: Sequence[float]) -> list[Slot]:
    """Frames just after scene changes (and one in the opening shot), topped up to cover the video."""
    times = [min(0.5, duration / (2 * n))] + [c + SCENE_OFFSET_S for c in sorted(cuts) if c + SCENE_OFFSET_S < duration]
    trimmed = len(times) > n  # more cuts than frames: some cuts go unframed whatever we do
    while len(times) > n:  # keep the cuts that spread best: drop the one closest to its neighbour
        gaps = [times[i + 1] - times[i] for i in range(len(times) - 1)]
        times.pop(gaps.index(min(gaps)) + 1)
    slots = [Slot(t, None, "scene") for t in times]
    for t in fill_gaps([s.time for s in slots], 0.0, duration, n - len(slots)):
        slots.append(Slot(t, None, "seek", coverage=True))
    slots.sort(key=lambda s: s.time)
    # Coverage to the end: the last frame stands no further from the end than an even plan's would (half a
    # slot). When the plan leaves a longer tail, a frame near the end takes the place of the frame closest to
    # its neighbour (never the opening one) if the cuts were too many to frame them all anyway; when every
    # cut has its frame, the frame just after the last cut covers the shot to the end.
    tail = duration - duration / (2 * n)
    fills = [i for i, sl in enumerate(slots) if sl.coverage]
    if n > 1 and slots and slots[-1].time < tail - 1e-6 and (trimmed or fills or len(slots) < n):
        if len(slots) >= n:  # a frame gives way: a gap filler first, else (cuts trimmed) any but the opening one
            movable = fills or list(range(1, len(slots)))
            slots.pop(min(movable, key=lambda i: slots[i].time - slots[i - 1].time if i else float("inf")))
        slots.append(Slot(tail, None, "seek", coverage=True))
    return slots


def fill_gaps(times: Sequence[float], lo: float, hi: float, count: int) -> list[float]:
    """``count`` new times, each in the middle of the widest gap left between ``times``, ``lo`` and ``hi``.

    The tail gap is measured to ``hi`` itself, so a frame can land near the end of the video.
    """
    edges = sorted({lo, hi, *(t for t in times if lo <= t <= hi)})
    added: list[float] = []
    for _ in range(max(0, count)):
        width, j = max((edges[i + 1] - edges[i], i) for i in range(len(edges) - 1))
        if width <= 1e-3:
            break
        mid = edges[j] + width / 2
        added.append(mid)
        edges.insert(j + 1, mid)
    return added


def gap_spots(lo: float, hi: float, lost: int) -> list[float]:
    """Where to look for ``lost`` replacements between ``lo`` and ``hi``: evenly spread spots, in display order.

    ``CANDIDATES_PER_GAP`` spots per lost frame, never on the ends themselves; the caller decodes them
    one at a time and stops at the first acceptable one (``MAX_CANDIDATES`` at most).
    """
    m = min(MAX_CANDIDATES, CANDIDATES_PER_GAP * max(1, lost))
    return [lo + (hi - lo) * (i + 1) / (m + 1) for i in range(m)]
