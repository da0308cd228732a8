"""A call with a keyword no public function has: mypy must reject it (``tests/typing/test_mypy.py``)."""

from __future__ import annotations

from pathlib import Path

import gaia

gaia.plan_submission(Path("."), forse=True)
gaia.Folder(Path(".")).submit(max_cost=1.0)
