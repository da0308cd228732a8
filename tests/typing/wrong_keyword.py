"""Calls with a keyword no public function has: mypy must reject each (``tests/typing/test_mypy.py``)."""

from __future__ import annotations

from pathlib import Path

import gaia

gaia.Folder(Path(".")).plan(forse=True)
gaia.Folder(Path(".")).submit(max_cost=1.0)
gaia.check_folder(".", allowed_root=())
