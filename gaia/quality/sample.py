"""The sample a tune runs on: a few of the folder's videos, spread over durations and subfolders.

A folder of three hundred videos is tuned on a dozen. ``pick_sample`` chooses them
deterministically (the same folder gives the same sample): the slots are shared among the
subfolders in proportion to their size (every subfolder gets one while slots last), and inside
each subfolder the videos are spread evenly from the shortest to the longest. The user may name
the videos instead; names the folder does not have are reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Protocol

DEFAULT_SAMPLE = 12


class SampleVideo(Protocol):
    """What the sample needs of a video (``gaia.media.scan.VideoRecord`` has it)."""

    rel_path: str
    duration: float | None

    @property
    def usable(self) -> bool:
        """Whether the video can be sent."""


@dataclass(frozen=True)
class Sample:
    """The videos of a tune (relative paths, in folder order) and any names that could not be used."""

    rel_paths: tuple[str, ...]
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rel_paths": list(self.rel_paths), "problems": list(self.problems)}


def _spread(items: Sequence[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over ``items``, ends included (all of them when there are fewer)."""
    if n >= len(items):
        return list(items)
    if n == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def _shares(sizes: dict[str, int], n: int) -> dict[str, int]:
    """How many of ``n`` slots each group gets: one each while slots last (biggest groups first),
    the rest in proportion to size (largest remainders first, then by name)."""
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    shares = {g: 0 for g in sizes}
    for g in order[:n]:
        shares[g] = 1
    left = n - sum(shares.values())
    total = sum(sizes.values())
    if left > 0 and total:
        exact = {g: left * sizes[g] / total for g in order}
        for g in order:
            shares[g] += min(int(exact[g]), sizes[g] - shares[g])
        left = n - sum(shares.values())
        by_rest = sorted(order, key=lambda g: (-(exact[g] - int(exact[g])), -sizes[g], g))
        while left > 0 and any(shares[g] < sizes[g] for g in order):
            for g in by_rest:
                if left and shares[g] < sizes[g]:
                    shares[g] += 1
                    left -= 1
    return shares


def pick_sample(videos: Sequence[SampleVideo], n: int = DEFAULT_SAMPLE, *,
                chosen: Sequence[str] | None = None) -> Sample:
    """``n`` usable videos spread over subfolders and durations, or the user's ``chosen`` ones.

    Videos that cannot be used (a scan problem, no duration) are never picked. ``chosen`` names
    that are not usable videos of the folder are reported in ``problems``.
    """
    usable = [v for v in videos if v.usable and v.duration]
    order = {v.rel_path: i for i, v in enumerate(videos)}
    if chosen is not None:
        known = {v.rel_path for v in usable}
        wanted = list(dict.fromkeys(c.strip().lstrip("./") for c in chosen if c.strip()))
        problems = tuple(f"{c}: not a usable video of this folder" for c in wanted if c not in known)
        picked = sorted((c for c in wanted if c in known), key=order.__getitem__)
        return Sample(tuple(picked), problems)
    n = max(1, int(n))
    groups: dict[str, list[SampleVideo]] = {}
    for v in usable:
        groups.setdefault(str(PurePosixPath(v.rel_path).parent), []).append(v)
    shares = _shares({g: len(vs) for g, vs in groups.items()}, n)
    picked_set: set[str] = set()
    for g, vs in groups.items():
        by_length = sorted(vs, key=lambda v: (v.duration or 0.0, v.rel_path))
        picked_set.update(v.rel_path for v in _spread(by_length, shares[g]))
    return Sample(tuple(sorted(picked_set, key=order.__getitem__)))
