"""What the Select folder page shows of a scan: its headline figures and one table row per video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.folder import WORKDIR_NAME, Folder
from gaia.fsutil import display_name
from gaia.media.scan import ScanResult, VideoRecord
from gaia.views.common import NO_PREVIEW, Metric

THUMBNAILS_AUTO_LIMIT = 300  # above this many videos, thumbnails wait for the user to ask
STATE_LABEL = {"none": "not analysed", "analysed": "analysed", "stale": "analysed (other settings)",
               "unreadable": "sidecar unreadable"}


def scan_metrics(scan: ScanResult) -> list[Metric]:
    """Videos, usable, total duration, size, problems."""
    s = scan.summary()
    return [
        Metric("Videos", str(s["videos"])),
        Metric("Usable", str(s["usable"])),
        Metric("Total duration", fmt.length(s["total_duration_s"])),
        Metric("Size", fmt.size(s["total_size_bytes"])),
        Metric("Problems", str(s["problems"])),
    ]


def where_files_go(folder: Path) -> str:
    """Where GAIA keeps its files for ``folder``: said on the Select page before anything is written."""
    existing = Folder(folder).existing_workdir()
    if existing.is_dir():
        return (f"GAIA keeps its working files for this folder (frames, settings, the ledger of requests) in "
                f"`{existing}`, and each video's analysis in a `.gaia.json` beside it.")
    return (f"Nothing is written here while you look. Once you extract keyframes or send, GAIA keeps its working "
            f"files (frames, settings, the ledger of requests) in `{WORKDIR_NAME}/` inside the folder (or in "
            "your user cache when the folder is read-only), and each video's analysis in a `.gaia.json` beside it.")


def demo_afresh_question(folder: Path) -> str:
    """What "Start the demo afresh" deletes, asked before it does: the analyses and verified labels it holds."""
    import json

    from gaia.labels import verified_of
    from gaia.sidecar import SIDECAR_SUFFIX

    sidecars = sorted(folder.rglob(f"*{SIDECAR_SUFFIX}"))
    verified = 0
    for p in sidecars:
        try:
            verified += verified_of(json.loads(p.read_text(encoding="utf-8"))) is not None
        except (OSError, ValueError, TypeError, AttributeError):  # a damaged sidecar still counts as an analysis
            continue
    held = (f"its {len(sidecars)} analysis(es)" + (f", {verified} with labels a person verified," if verified else "")
            if sidecars else "its keyframes and batches")
    return (f"Start the demo afresh? This makes the five clips again and deletes {held} and the demo's "
            "history. Your own folders are not touched.")


def fps_text(fps: float | None) -> str:
    """Frames per second without trailing zeros: ``25``, ``29.97``; ``""`` when unknown."""
    return f"{fps:.2f}".rstrip("0").rstrip(".") if fps else ""


def scan_record(r: VideoRecord, thumbnail: str | None) -> dict[str, Any]:
    """One video as a table row (``thumbnail``: a data URL, or the grey placeholder)."""
    return {
        "thumbnail": thumbnail or NO_PREVIEW,
        "video": display_name(r.rel_path),
        "duration": fmt.length(r.duration) if r.usable else "",
        "size": fmt.size(r.size),
        "resolution": f"{r.width}×{r.height}" if r.width else "",
        "fps": fps_text(r.fps),
        "codec": r.codec or "",
        "analysis": STATE_LABEL.get(r.sidecar_state, r.sidecar_state) if r.usable else "",
        "problem": r.problem or "",
    }
