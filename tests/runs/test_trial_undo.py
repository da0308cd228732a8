"""Undoing a prompt trial (``gaia.runs.trial``): the sidecars go back byte for byte, through ``gaia.sidecar``."""

from __future__ import annotations

import gaia
from gaia.sidecar import sidecar_path, write_sidecar


def test_discard_puts_every_sidecar_back_exactly_and_keep_forgets_the_copies(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (folder / name).write_bytes(b"")
    write_sidecar(folder / "a.mp4", {"analysis": {"summary": "before"}, "mine": [1, 2]})
    before = sidecar_path(folder / "a.mp4").read_bytes()
    undo = gaia.Folder(folder).before_trial()
    assert undo.existed == {"a.mp4"}
    write_sidecar(folder / "a.mp4", {"analysis": {"summary": "the trial's"}})
    write_sidecar(folder / "b.mp4", {"analysis": {"summary": "the trial's"}})
    assert undo.discard(["a.mp4", "b.mp4", "c.mp4"]) == 2  # c had no sidecar and got none
    assert sidecar_path(folder / "a.mp4").read_bytes() == before
    assert not sidecar_path(folder / "b.mp4").exists() and not sidecar_path(folder / "c.mp4").exists()
    assert not undo.backup.exists()

    kept = gaia.Folder(folder).before_trial()
    write_sidecar(folder / "b.mp4", {"analysis": {"summary": "kept"}})
    kept.keep()
    assert not kept.backup.exists() and sidecar_path(folder / "b.mp4").exists()
