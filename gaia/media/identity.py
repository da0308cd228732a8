"""A video's content identity: a cheap fingerprint (size, mtime and a hash of a few blocks).

Answers belong to a video's content, not to its name: each request remembers the fingerprint of
the video it was planned from, so an answer whose video was replaced in between is parked instead
of written, and a video that was only renamed is recognised (same size and blocks) and not paid
for again. Reading three 64 KiB blocks (start, middle, end) costs one or two disk seeks per video.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

BLOCK = 64 * 1024


def content_id(path: Path | str) -> dict[str, Any] | None:
    """``{"size", "mtime_ns", "blocks"}`` of the file at ``path`` (``None`` when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            digest = hashlib.sha256(str(st.st_size).encode())
            for offset in sorted({0, max(0, st.st_size // 2 - BLOCK // 2), max(0, st.st_size - BLOCK)}):
                fh.seek(offset)
                digest.update(fh.read(BLOCK))
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "blocks": digest.hexdigest()[:32]}


def same_content(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two fingerprints name the same content (size and blocks; a new mtime alone, as a copy or
    ``touch`` makes, is the same content)."""
    return bool(a and b and a.get("size") == b.get("size") and a.get("blocks") == b.get("blocks"))


def replaced_reason(path: Path | str, recorded: dict[str, Any] | None) -> str | None:
    """A sentence when the file at ``path`` no longer holds the content ``recorded`` (``None`` when it
    does, or when nothing was recorded, as in ledgers written before content was remembered)."""
    if not recorded:
        return None
    now = content_id(path)
    if now is None or same_content(now, recorded):
        return None
    return (f"{Path(path).name} was replaced after its request was sent (its content changed: "
            f"{recorded.get('size')} bytes then, {now.get('size')} now), so the answer, made from the old "
            "video, was not written to its sidecar")
