"""The spool: what a run keeps on disk between two steps that a crash could separate.

Both transports spool through this one module, under the folder's working folder:

- a batch's body (``spool/<run_id>-<NNNN>.json``) is written before its intent is recorded and
  removed once the batch exists (or is known never to have been created);
- a run-now answer (``online/<request_id>.json``) is written the moment it arrives, before its
  sidecar, and removed once the ledger row is closed, so an answer that arrived just before a
  crash is recorded by recovery instead of being paid for again.

The rules are the same for both: written before the step that depends on it, removed only once
the ledger no longer needs it, and ``clean`` drops whatever the ledger has closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gaia.api.bodies import write_batch_body
from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json

BODIES_DIR = "spool"  # batch bodies between their intent and the batch's creation
ANSWERS_DIR = "online"  # run-now answers between their arrival and their sidecar write


class Spool:
    """The folder's spool: batch bodies and run-now answers."""

    def __init__(self, folder: Folder | Path | str) -> None:
        self.folder = Folder.of(folder)

    # --- batch bodies ------------------------------------------------------------------------------
    def body_path(self, run_id: str, index: int) -> Path:
        """Where the body of batch ``index`` of run ``run_id`` is spooled."""
        return self.folder.workdir / BODIES_DIR / f"{run_id}-{index:04d}.json"

    @staticmethod
    def write_body(path: Path, lines: Iterable[bytes]) -> tuple[int, int]:
        """Write a batch body from request lines (fsynced); returns (requests, bytes)."""
        return write_batch_body(lines, path)

    def clean_bodies(self, keep: set[str]) -> None:
        """Remove every spooled body but those in ``keep`` (paths the ledger's pending intents name)."""
        root = self.folder.existing_workdir() / BODIES_DIR
        if root.is_dir():
            for path in root.iterdir():
                if path.is_file() and str(path) not in keep:
                    path.unlink(missing_ok=True)

    # --- run-now answers ---------------------------------------------------------------------------
    def answer_path(self, request_id: int) -> Path:
        """Where the answer to ledger request ``request_id`` is spooled."""
        return self.folder.workdir / ANSWERS_DIR / f"{request_id}.json"

    def write_answer(self, request_id: int, custom_id: str, message: dict[str, Any]) -> None:
        """Spool one answer (atomically); raises ``OSError`` when the disk refuses."""
        atomic_write_json(self.answer_path(request_id),
                          {"request_id": request_id, "custom_id": custom_id, "message": message})

    def read_answer(self, request_id: int) -> dict[str, Any] | None:
        """The spooled answer (the message dict) to ``request_id``, or ``None``."""
        path = self.folder.existing_workdir() / ANSWERS_DIR / f"{request_id}.json"
        spooled = read_json(path)
        if isinstance(spooled, dict) and isinstance(spooled.get("message"), dict):
            return spooled["message"]
        return None

    def drop_answer(self, request_id: int) -> None:
        """Remove a spooled answer (its row is closed)."""
        (self.folder.existing_workdir() / ANSWERS_DIR / f"{request_id}.json").unlink(missing_ok=True)

    def clean_answers(self, is_closed: Callable[[int], bool]) -> None:
        """Remove spooled answers whose ledger rows are closed (``is_closed(request_id)``)."""
        root = self.folder.existing_workdir() / ANSWERS_DIR
        if root.is_dir():
            for path in root.glob("*.json"):
                with contextlib.suppress(ValueError, OSError):
                    if is_closed(int(path.stem)):
                        path.unlink(missing_ok=True)
