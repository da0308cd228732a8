"""Run one ``gaia`` command in this process with checkpoints that SIGKILL it at a chosen moment.

Usage: ``python tests/runs/_killer.py POINT:N gaia-args...`` — the process kills itself (SIGKILL,
no cleanup) the N-th time it reaches checkpoint POINT. Without ``POINT:N`` (``-``) it runs the
command normally. The crash tests use it instead of a test-only variable read by product code.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gaia._cli import build_parser
from gaia.runs.checkpoints import Checkpoint, Checkpoints


class KillAt(Checkpoints):
    """SIGKILLs this process the ``nth`` time ``point`` is reached."""

    def __init__(self, point: str, nth: int) -> None:
        self.point, self.nth = Checkpoint(point), nth
        self.seen: Counter[str] = Counter()

    def reached(self, point: Checkpoint) -> None:
        self.seen[point] += 1
        if point == self.point and self.seen[point] >= self.nth:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    spec, rest = argv[0], argv[1:]
    args = build_parser().parse_args(rest)
    if spec != "-":
        point, _, nth = spec.partition(":")
        args.checkpoints = KillAt(point, int(nth or 1))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
