"""Content, not names: a renamed video keeps its answers, and a rewritten one keeps its identity.

Each request remembers its video's content (``gaia.media.identity``). ``follow_renames`` finds the
videos the ledger knows that are gone from their paths, looks for a file of the same content under
another name, and moves the ledger's rows to the new name (so an answer in flight is written there,
a parked one is delivered there, and the video is not planned and paid for again); an analysis already
in the old name's sidecar is copied to the new one. ``reidentify`` records a video's new content after
GAIA itself rewrote it (metadata embedded by ``gaia export --format xmp --embed``), so it never looks
replaced.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.ledger import Ledger, RequestRow, RequestStatus
from gaia.media.identity import content_id, same_content
from gaia.sidecar import SidecarError, read_sidecar, sidecar_state, write_sidecar

_KEPT = (RequestStatus.PENDING, RequestStatus.SUBMITTED, RequestStatus.SUCCEEDED, RequestStatus.FAILED)


def follow_renames(folder: Folder, ledger: Ledger) -> list[tuple[str, str]]:
    """Move the ledger rows of every video renamed (or moved within the folder) to its new name;
    returns ``(old, new)`` pairs. Costs one ``stat`` per video when nothing was renamed."""
    latest: dict[str, RequestRow] = {}
    for row in ledger.requests(status=_KEPT):
        if row.content:
            latest[row.rel_path] = row
    gone = {rel: row for rel, row in latest.items() if not folder.video(rel).exists()}
    if not gone:
        return []
    from gaia.media.scan import list_videos

    known = set(latest)
    by_size: dict[int, list[Path]] = {}
    with contextlib.suppress(OSError, ValueError):
        for path, st in list_videos(folder.path):
            if path.relative_to(folder.path).as_posix() not in known:
                by_size.setdefault(st.st_size, []).append(path)
    moved: list[tuple[str, str]] = []
    for old, row in gone.items():
        for path in by_size.get(int((row.content or {}).get("size", -1)), []):
            if same_content(content_id(path), row.content):
                new = path.relative_to(folder.path).as_posix()
                _carry_analysis(folder, old, path)
                ledger.rename_video(old, new)
                moved.append((old, new))
                by_size[path.stat().st_size].remove(path)
                break
    return moved


def _carry_analysis(folder: Folder, old: str, new_video: Path) -> None:
    """Copy the analysis in the old name's sidecar to the new name's, unless it has its own."""
    try:
        data = read_sidecar(folder.video(old))
        if not data or "analysis" not in data or sidecar_state(new_video) != "none":
            return
        run = {**(data.get("run") or {}), "renamed_from": old}
        write_sidecar(new_video, {k: v for k, v in data.items() if k not in ("video", "gaia_schema_version")}
                      | {"run": run})
    except (SidecarError, OSError):
        return


def reidentify(folder: Folder | Path | str, rel_path: str) -> dict[str, Any] | None:
    """Record the current content of ``rel_path`` as its identity (after GAIA rewrote the file itself,
    e.g. metadata embedded in place), so answers in flight are still written to it and it is never
    taken for a replaced video. Returns the new identity (``None`` when the file cannot be read)."""
    f = Folder.of(folder)
    now = content_id(f.video(rel_path))
    if now is None or not f.has_ledger:
        return now
    with f.ledger() as ledger:
        ledger.set_content(rel_path, now)
    return now
