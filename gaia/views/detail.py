"""One video in detail: its sidecar, the keyframes that were sent (with their times) and every attempt.

``video_detail`` gathers what the Results page shows when a row is opened; ``detail_facts`` turns
the sidecar's ``run`` block into (label, value) pairs; ``thumbnail_url`` makes a small JPEG of a
video's first sent keyframe (made and cached by ``gaia.media.keyframes.frame_thumbnail``) as a data URL
for the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.facts import model_name
from gaia.folder import Folder
from gaia.fsutil import read_json
from gaia.media.keyframes import FRAMES_DIR, MANIFEST, frame_thumbnail
from gaia.sidecar import RunBlock, sidecar_path
from gaia.views.common import image_data_url
from gaia.views.results import ResultRow, read_video_sidecar

USAGE_LABELS = (("input tokens", "input_tokens"), ("cache read", "cache_read_input_tokens"),
                ("cache written", "cache_creation_input_tokens"), ("output tokens", "output_tokens"))


@dataclass(frozen=True)
class FrameView:
    """A keyframe that was sent: its time in seconds and its JPEG in the frame cache."""

    timestamp: float
    path: Path
    width: int
    height: int


@dataclass(frozen=True)
class VideoDetail:
    """Everything known about one video: its sidecar, the frames sent, and every attempt in the ledger."""

    rel_path: str
    video: Path
    sidecar: Path
    data: dict[str, Any] | None
    error: str | None
    frames: tuple[FrameView, ...]
    frames_note: str | None
    attempts: tuple[dict[str, Any], ...]

    @property
    def analysis(self) -> dict[str, Any] | None:
        """The analysis (the answer, as the schema shapes it), if any."""
        a = (self.data or {}).get("analysis")
        return a if isinstance(a, dict) else None

    @property
    def run(self) -> RunBlock:
        """How the analysis was made (model, batch, usage, cost, keyframe timestamps)."""
        return RunBlock.of(self.data)


def frames_of(folder: Path | str, set_id: str | None, timestamps: Sequence[float] = ()) -> tuple[FrameView, ...]:
    """The frames of keyframe set ``set_id`` still in the frame cache (only ``timestamps`` when given)."""
    if not set_id:
        return ()
    out_dir = Folder.of(folder).existing_workdir() / FRAMES_DIR / set_id
    data = read_json(out_dir / MANIFEST)
    if not isinstance(data, dict):
        return ()
    wanted = {round(float(t), 3) for t in timestamps}
    out = []
    for f in data.get("frames", []):
        try:
            t = float(f["timestamp"])
            path = out_dir / str(f["file"])
        except (KeyError, TypeError, ValueError):
            continue
        if wanted and round(t, 3) not in wanted:
            continue
        if path.is_file():
            out.append(FrameView(t, path, int(f.get("width") or 0), int(f.get("height") or 0)))
    return tuple(sorted(out, key=lambda fr: fr.timestamp))


def video_detail(folder: Path | str, rel_path: str) -> VideoDetail:
    """The sidecar, the frames that were sent (with their times) and the ledger attempts of one video."""
    folder = Path(folder).resolve()
    video = folder / rel_path
    data, error = read_video_sidecar(video)
    run = RunBlock.of(data)
    attempts: list[dict[str, Any]] = []
    if Folder.of(folder).has_ledger:
        with Folder.of(folder).ledger() as ledger:
            for r in ledger.requests(rel_path=rel_path):
                attempts.append({"attempt": r.attempt, "status": r.status, "batch_id": r.batch_id, "mode": r.mode,
                                 "model": r.model, "custom_id": r.custom_id, "cost_usd": r.cost_usd,
                                 "error": r.error, "sent_at": r.created_at, "done_at": r.done_at,
                                 "set_id": r.set_id, "timestamps": list(r.timestamps)})
    set_id: str | None = run.keyframe_set
    ts: Sequence[float] = run.keyframe_timestamps
    if not set_id and attempts:
        set_id, ts = attempts[-1]["set_id"], attempts[-1]["timestamps"]
    frames = frames_of(folder, set_id, ts)
    note = None
    if set_id and not frames:
        note = ("The frames that were sent are no longer in GAIA's frame cache (settings changed or the cache "
                "was cleared); their times are in the raw JSON.")
    return VideoDetail(rel_path, video, sidecar_path(video), data, error, frames, note, tuple(attempts))


def thumbnail_url(folder: Path | str, row: ResultRow) -> str | None:
    """A small JPEG of the video's first sent keyframe as a data URL (made and cached by ``gaia.media``)."""
    if not row.set_id:
        return None
    frames = frames_of(folder, row.set_id, row.timestamps) or frames_of(folder, row.set_id)
    if not frames:
        return None
    out = frame_thumbnail(folder, frames[0].path, f"{row.set_id}-{frames[0].timestamp:.3f}")
    return image_data_url(out) if out is not None else None


def _when(value: Any) -> str:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return fmt.MISSING
    return f"{when:%Y-%m-%d %H:%M} UTC"


def detail_facts(d: VideoDetail) -> list[tuple[str, str]]:
    """How the video's analysis was made, as (label, value) rows: model, cost, tokens, batch, when, sidecar."""
    facts: list[tuple[str, str]] = []
    run = d.run
    if run.raw:
        facts.append(("model", model_name(run.model)))
        facts.append(("cost", fmt.usd(run.cost_usd)))
        usage = run.usage or {}
        facts.extend((label, fmt.tokens(usage[key])) for label, key in USAGE_LABELS if isinstance(usage.get(key), int))
        facts.append(("batch", str(run.batch_id or run.mode or fmt.MISSING)))
        facts.append(("analysed", _when(run.analysed_at) if run.analysed_at else fmt.MISSING))
    facts.append(("sidecar", str(d.sidecar)))
    return facts


@dataclass(frozen=True)
class AnalysisField:
    """One field of an analysis, shaped for display: ``kind`` is ``table`` (a list of records or one
    record, ``value`` a list of dicts) or ``text`` (``value`` a plain string)."""

    title: str
    kind: str
    value: Any


def analysis_fields(analysis: dict[str, Any]) -> list[AnalysisField]:
    """Every field of an analysis, in order, as a table or a line of plain text (never Markdown)."""
    out = []
    for key, value in analysis.items():
        title = key.replace("_", " ").capitalize()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.append(AnalysisField(title, "table", _in_time_order(value)))
        elif isinstance(value, dict):
            out.append(AnalysisField(title, "table", [{k: v if isinstance(v, str | int | float | bool) else str(v)
                                                       for k, v in value.items()}]))
        elif isinstance(value, list):
            out.append(AnalysisField(title, "text", " · ".join(str(v) for v in value) if value else "none"))
        elif isinstance(value, bool):
            out.append(AnalysisField(title, "text", "yes" if value else "no"))
        else:
            out.append(AnalysisField(title, "text", str(value)))
    return out


TIME_KEYS = ("time_s", "start_s")  # the keys a row of moments or behaviours is ordered by


def _in_time_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a time (a notable moment at 2 s, 2.3 s, 3 s) in time order; others as they are."""
    key = next((k for k in TIME_KEYS if any(isinstance(r.get(k), int | float) for r in rows)), None)
    if key is None:
        return rows
    return sorted(rows, key=lambda r: (not isinstance(r.get(key), int | float),
                                       r.get(key) if isinstance(r.get(key), int | float) else 0.0))


def frame_caption(timestamp: float) -> str:
    """A sent frame's caption: its time in the video (``0:03.5``)."""
    return fmt.position(timestamp)


def attempt_records(d: VideoDetail) -> list[dict[str, Any]]:
    """The ledger's attempts for the video, as table rows (without the internal keyframe columns)."""
    return [{k: v for k, v in a.items() if k not in ("set_id", "timestamps")} for a in d.attempts]
