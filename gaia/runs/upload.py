"""Uploading frames once through the Files API, for either transport (``image_source="file"``).

Frames are identified by the sha256 of their bytes, and ids already uploaded (recorded in the
ledger, valid for at least a batch's 24 hours more) are reused, so a retry or a re-run with
another prompt uploads nothing again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gaia.facts import BATCH_EXPIRY_HOURS
from gaia.folder import Folder
from gaia.ledger import Ledger
from gaia.media.keyframes import Keyframe

Progress = Callable[[int, int], None]
FILES_TTL_S = 30 * 24 * 3600  # uploaded frames expire after 30 days (the API allows 1 hour to 90 days)


def _upload_missing(client: Any, ledger: Ledger, by_path: dict[str, tuple[str, Path, int]],
                    on_progress: Progress | None) -> dict[str, str]:
    known = ledger.file_ids((d for d, _, _ in by_path.values()), valid_for_s=(BATCH_EXPIRY_HOURS + 1) * 3600)
    todo = {d: (p, n) for d, p, n in by_path.values() if d not in known}
    for done, (digest, (path, nbytes)) in enumerate(todo.items(), start=1):
        meta = client.files.upload(file=(path.name, path.read_bytes(), "image/jpeg"), expires_in_seconds=FILES_TTL_S)
        expires = datetime.now(UTC) + timedelta(seconds=FILES_TTL_S)
        ledger.add_file(digest, meta.id, nbytes=nbytes, expires_at=expires.isoformat())
        known[digest] = meta.id
        if on_progress:
            on_progress(done, len(todo))
    return known


def upload_frames(
    folder: Folder | Path | str,
    client: Any,
    frames: Iterable[Keyframe],
    *,
    ledger: Ledger | None = None,
    on_progress: Progress | None = None,
) -> dict[str, str]:
    """Upload each distinct frame once through the Files API; returns frame path → ``file_id``.

    Raises the SDK's error when an upload fails.
    """
    by_path: dict[str, tuple[str, Path, int]] = {}
    for f in frames:
        key = str(f.path)
        if key not in by_path:
            data = f.path.read_bytes()
            by_path[key] = (hashlib.sha256(data).hexdigest(), f.path, len(data))
    if ledger is not None:
        known = _upload_missing(client, ledger, by_path, on_progress)
    else:
        with Folder.of(folder).ledger() as own:
            known = _upload_missing(client, own, by_path, on_progress)
    return {key: known[digest] for key, (digest, _p, _n) in by_path.items()}
