"""Checkpoints objects for in-process crash tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from gaia.runs.checkpoints import Checkpoint, Checkpoints


class Killed(BaseException):
    """Stands for the process dying: not an ``Exception``, so no handler in GAIA swallows it."""


class Hook(Checkpoints):
    """Calls ``fn(point)`` at every checkpoint."""

    def __init__(self, fn: Callable[[str], None]) -> None:
        self.fn = fn

    def reached(self, point: Checkpoint) -> None:
        self.fn(str(point))


def kill_at(point: str, nth: int = 1) -> Hook:
    """Checkpoints that raise ``Killed`` the ``nth`` time ``point`` is reached."""
    seen: Counter[str] = Counter()

    def hook(name: str) -> None:
        seen[name] += 1
        if name == point and seen[name] == nth:
            raise Killed(f"{point}#{nth}")

    return Hook(hook)
