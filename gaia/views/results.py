"""The results explorer: one row per video from its sidecar and the ledger, filters, search, exports.

What the app's Results and Progress pages show, computed here so the pages only render: a
``ResultRow`` for every video of the folder (analysed, failed with its reason, in flight, not
analysed yet, or unusable), read from the sidecars (``gaia.sidecar.read_sidecar``, the only
reader) and the ledger; ``filter_rows`` by status, tag, species, model and free-text search;
``rows_csv`` and ``iter_analyses_jsonl`` for exports (streamed, one sidecar in memory at a time);
``video_detail`` (keyframes with their times beside the analysis and the raw sidecar); small
JPEG thumbnails of each video's first keyframe as data URLs; and the ledger figures the Progress
page charts (batch size against processing time, estimated against actual cost per batch). The
analysis fields are read defensively: users edit the output schema, so every field may be
missing or of another type. Nothing here imports Streamlit or renders anything.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import read_json
from gaia.labels import effective_analysis, verified_of
from gaia.media.keyframes import FRAMES_DIR, MANIFEST
from gaia.sidecar import SidecarError, read_sidecar, sidecar_path

STATUSES = ("analysed", "failed", "in flight", "not analysed", "unusable")
THUMB_DIR = "result-thumbs"
THUMB_EDGE = 160
THUMB_QUALITY = 70
# How often the Progress page asks the API about running batches (seconds). The emulator ends
# batches in seconds; the real API takes minutes to hours, and every poll is an API call.
POLL_EMULATOR_S = 2.0
POLL_API_S = 30.0
CSV_COLUMNS = ("video", "status", "summary", "subjects", "species", "tags", "cost_usd", "model", "analysed_at",
               "batch_id", "custom_id", "error", "verified")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultRow:
    """One video as the Results table shows it.

    ``status`` is one of ``STATUSES``. ``error`` holds the reason of the latest failure (also for an
    analysed video whose later attempt failed) or the scan problem of an unusable file. ``stale``
    says the analysis was made with settings other than the latest run's for that video.
    The answer columns hold the effective answer (``gaia.labels``: verified fields laid over the
    analysis); ``verified`` names the fields a person verified.
    """

    rel_path: str
    status: str
    summary: str = ""
    subjects: str = ""
    species: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cost_usd: float | None = None
    model: str | None = None
    analysed_at: str | None = None
    batch_id: str | None = None
    custom_id: str | None = None
    set_id: str | None = None
    timestamps: tuple[float, ...] = ()
    error: str | None = None
    error_kind: str | None = None
    verified: tuple[str, ...] = ()
    search_text: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the table's columns (lists for species and tags)."""
        return {"video": self.rel_path, "status": self.status, "summary": self.summary, "subjects": self.subjects,
                "species": list(self.species), "tags": list(self.tags), "cost_usd": self.cost_usd,
                "model": self.model, "analysed_at": self.analysed_at, "batch_id": self.batch_id,
                "custom_id": self.custom_id, "error": self.error, "verified": list(self.verified)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, bool)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def summary_of(analysis: dict[str, Any]) -> str:
    """The analysis' summary (``summary``, else the first other text field)."""
    for key in ("summary", "description", "caption"):
        if isinstance(analysis.get(key), str):
            return analysis[key].strip()
    return next((v.strip() for v in analysis.values() if isinstance(v, str) and v.strip()), "")


def subjects_of(analysis: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """``("2 × domestic cat, dog", ("domestic cat", "dog"))`` from ``subjects`` (dicts or strings)."""
    items = analysis.get("subjects")
    if not isinstance(items, list):
        return "", ()
    parts: list[str] = []
    species: list[str] = []
    for item in items:
        if isinstance(item, dict):
            name = _text(item.get("species") or item.get("name") or item.get("kind"))
            count = item.get("count")
            if name:
                species.append(name)
                parts.append(f"{count} × {name}" if isinstance(count, int) and count > 1 else name)
        elif isinstance(item, str) and item.strip():
            species.append(item.strip())
            parts.append(item.strip())
    return ", ".join(parts), tuple(dict.fromkeys(species))


def tags_of(analysis: dict[str, Any]) -> tuple[str, ...]:
    """The analysis' tags, trimmed, lower-case, without duplicates, in their order."""
    items = analysis.get("tags")
    if not isinstance(items, list):
        return ()
    return tuple(dict.fromkeys(t.strip().lower() for t in items if isinstance(t, str) and t.strip()))


def _row_from(rel: str, data: dict[str, Any] | None, latest: Any | None, problem: str | None,
              read_error: str | None) -> ResultRow:
    analysis = effective_analysis(data) if isinstance((data or {}).get("analysis"), dict) else None
    verified = verified_of(data)
    run = (data or {}).get("run") or {}
    if not isinstance(run, dict):
        run = {}
    error = read_error
    error_kind = "sidecar_error" if read_error else None
    if latest is not None and latest.status == "failed":
        error, error_kind = latest.error or "failed", latest.error_kind or "failed"
    if isinstance(analysis, dict):
        summary = summary_of(analysis)
        subjects, species = subjects_of(analysis)
        tags = tags_of(analysis)
        blob = " ".join([rel, json.dumps(analysis, ensure_ascii=False), error or ""]).lower()
        ts = run.get("keyframe_timestamps")
        return ResultRow(
            rel, "analysed", summary, subjects, species, tags,
            cost_usd=run.get("cost_usd") if isinstance(run.get("cost_usd"), (int, float)) else None,
            model=run.get("model"), analysed_at=run.get("analysed_at"), batch_id=run.get("batch_id"),
            custom_id=run.get("custom_id"), set_id=run.get("keyframe_set"),
            timestamps=tuple(float(t) for t in ts) if isinstance(ts, list) else (),
            error=error, error_kind=error_kind, verified=tuple(sorted(verified.fields)) if verified else (),
            search_text=blob)
    if problem:
        return ResultRow(rel, "unusable", error=problem, error_kind="unusable", search_text=f"{rel} {problem}".lower())
    if latest is not None and latest.status == "failed":
        status = "failed"
    elif latest is not None and latest.status in ("pending", "submitted"):
        status = "in flight"
    else:
        status = "failed" if read_error else "not analysed"
    return ResultRow(
        rel, status, model=getattr(latest, "model", None), batch_id=getattr(latest, "batch_id", None),
        custom_id=getattr(latest, "custom_id", None), set_id=getattr(latest, "set_id", None),
        timestamps=tuple(getattr(latest, "timestamps", ()) or ()), cost_usd=getattr(latest, "cost_usd", None),
        error=error, error_kind=error_kind, search_text=" ".join([rel, error or ""]).lower())


def _latest_requests(folder: Path) -> dict[str, Any]:
    """The newest ledger request per video (relative path)."""
    if not Folder.of(folder).has_ledger:
        return {}
    latest: dict[str, Any] = {}
    with Folder.of(folder).ledger() as ledger:
        for row in ledger.requests():  # insertion order: later rows win
            if row.status == "unsent":
                continue
            latest[row.rel_path] = row
    return latest


def load_results(folder: Path | str, records: Sequence[Any] | None = None) -> list[ResultRow]:
    """A ``ResultRow`` for every video of ``folder`` (scan records, plus any video only the ledger knows).

    ``records`` are the folder's ``VideoRecord``s when already scanned (else the cached scan is
    used). Each sidecar is read once; the ledger adds the latest attempt's status and failure
    reason. Rows are sorted by path.
    """
    folder = Path(folder).resolve()
    if records is None:
        from gaia.media.scan import scan_folder

        records = scan_folder(folder).records
    latest = _latest_requests(folder)
    rows: list[ResultRow] = []
    seen: set[str] = set()
    for rec in records:
        rel = rec.rel_path
        seen.add(rel)
        data, read_error = _read(folder / rel)
        rows.append(_row_from(rel, data, latest.get(rel), None if rec.usable else (rec.problem or "unusable"),
                              read_error))
    for rel, req in latest.items():
        if rel not in seen:
            data, read_error = _read(folder / rel)
            rows.append(_row_from(rel, data, req, None, read_error))
    rows.sort(key=lambda r: r.rel_path)
    return rows


def _read(video: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return read_sidecar(video), None
    except SidecarError as exc:
        return None, f"Its sidecar cannot be read: {exc}"


# ---------------------------------------------------------------------------------------------------
# Filters, facets, exports
# ---------------------------------------------------------------------------------------------------

def filter_rows(
    rows: Iterable[ResultRow],
    *,
    statuses: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    species: Iterable[str] | None = None,
    models: Iterable[str] | None = None,
    text: str | None = None,
) -> list[ResultRow]:
    """The rows that pass every filter given.

    An empty or ``None`` filter lets everything through. ``tags``: a row must carry every tag
    chosen; ``species``: any of the species chosen; ``statuses`` and ``models``: any of those.
    ``text``: every word must appear (case-insensitive) in the path, the analysis or the error.
    """
    st_set = set(statuses or ())
    tag_set = {t.lower() for t in tags or ()}
    sp_set = {s.lower() for s in species or ()}
    model_set = set(models or ())
    words = (text or "").lower().split()
    out = []
    for r in rows:
        if st_set and r.status not in st_set:
            continue
        if tag_set and not tag_set <= set(r.tags):
            continue
        if sp_set and not sp_set & {s.lower() for s in r.species}:
            continue
        if model_set and r.model not in model_set:
            continue
        if words and not all(w in r.search_text for w in words):
            continue
        out.append(r)
    return out


def facets(rows: Iterable[ResultRow]) -> dict[str, list[tuple[str, int]]]:
    """Values to filter on with how many rows carry each: ``status``, ``tag``, ``species``, ``model``.

    Statuses keep the order of ``STATUSES``; the others are most common first.
    """
    counts: dict[str, Counter[str]] = {"status": Counter(), "tag": Counter(), "species": Counter(),
                                       "model": Counter()}
    for r in rows:
        counts["status"][r.status] += 1
        counts["tag"].update(r.tags)
        counts["species"].update(dict.fromkeys(r.species, 1))
        if r.model and r.status == "analysed":
            counts["model"][r.model] += 1
    out = {k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for k, c in counts.items()}
    out["status"] = [(s, counts["status"][s]) for s in STATUSES if counts["status"][s]]
    return out


def totals(rows: Sequence[ResultRow]) -> dict[str, Any]:
    """Counts per status, the total and mean cost of the analysed videos."""
    by = Counter(r.status for r in rows)
    costs = [r.cost_usd for r in rows if r.status == "analysed" and r.cost_usd is not None]
    return {"videos": len(rows), **{s: by.get(s, 0) for s in STATUSES},
            "cost_usd": sum(costs), "mean_cost_usd": (sum(costs) / len(costs)) if costs else None}


def _csv_safe(value: Any) -> Any:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rows_csv(rows: Iterable[ResultRow]) -> str:
    """The table as CSV text (``CSV_COLUMNS``; species and tags joined with ``; ``).

    Cells starting with ``= + - @`` get a leading apostrophe so a spreadsheet shows answer text
    instead of running it as a formula.
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        d = r.to_dict()
        d["species"] = "; ".join(r.species)
        d["tags"] = "; ".join(r.tags)
        d["verified"] = "; ".join(r.verified)
        d["cost_usd"] = "" if r.cost_usd is None else f"{r.cost_usd:.6f}"
        w.writerow([_csv_safe(d[c]) if d[c] is not None else "" for c in CSV_COLUMNS])
    return buf.getvalue()


def iter_analyses_jsonl(folder: Path | str, rows: Iterable[ResultRow]) -> Iterator[str]:
    """One JSON line per analysed row: ``{"video", "analysis", "run", "verified"}`` read from its sidecar.

    ``analysis`` is the effective answer (verified fields laid over the model's); ``verified`` is
    the stored human verification (``gaia.labels``) or ``null``. Streams: one sidecar in memory at
    a time. Rows without an analysis are left out.
    """
    folder = Path(folder)
    for r in rows:
        if r.status != "analysed":
            continue
        data, _ = _read(folder / r.rel_path)
        if not data or not isinstance(data.get("analysis"), dict):
            continue
        verified = verified_of(data)
        yield json.dumps({"video": r.rel_path, "analysis": effective_analysis(data), "run": data.get("run") or {},
                          "verified": verified.to_dict() if verified else None}, ensure_ascii=False) + "\n"


def analyses_jsonl(folder: Path | str, rows: Iterable[ResultRow]) -> str:
    """``iter_analyses_jsonl`` joined into one string (for a download button)."""
    return "".join(iter_analyses_jsonl(folder, rows))


# ---------------------------------------------------------------------------------------------------
# One video
# ---------------------------------------------------------------------------------------------------

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
    def run(self) -> dict[str, Any]:
        """How the analysis was made (model, batch, usage, cost, keyframe timestamps)."""
        r = (self.data or {}).get("run")
        return r if isinstance(r, dict) else {}


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
    data, error = _read(video)
    run = (data or {}).get("run") if isinstance((data or {}).get("run"), dict) else {}
    attempts: list[dict[str, Any]] = []
    if Folder.of(folder).has_ledger:
        with Folder.of(folder).ledger() as ledger:
            for r in ledger.requests(rel_path=rel_path):
                attempts.append({"attempt": r.attempt, "status": r.status, "batch_id": r.batch_id, "mode": r.mode,
                                 "model": r.model, "custom_id": r.custom_id, "cost_usd": r.cost_usd,
                                 "error": r.error, "sent_at": r.created_at, "done_at": r.done_at,
                                 "set_id": r.set_id, "timestamps": list(r.timestamps)})
    set_id = (run or {}).get("keyframe_set")
    ts = (run or {}).get("keyframe_timestamps") or []
    if not set_id and attempts:
        set_id, ts = attempts[-1]["set_id"], attempts[-1]["timestamps"]
    frames = frames_of(folder, set_id, ts if isinstance(ts, list) else [])
    note = None
    if set_id and not frames:
        note = ("The frames that were sent are no longer in GAIA's frame cache (settings changed or the cache "
                "was cleared); their times are in the raw JSON.")
    return VideoDetail(rel_path, video, sidecar_path(video), data, error, frames, note, tuple(attempts))


def thumbnail_url(folder: Path | str, row: ResultRow) -> str | None:
    """A small JPEG of the video's first sent keyframe as a data URL (cached in ``.gaia/result-thumbs/``)."""
    if not row.set_id:
        return None
    out = Folder.of(folder).existing_workdir() / THUMB_DIR / f"{row.set_id}.jpg"
    if not out.is_file():
        frames = frames_of(folder, row.set_id, row.timestamps) or frames_of(folder, row.set_id)
        if not frames:
            return None
        try:
            from PIL import Image

            out.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(frames[0].path) as im:
                im.thumbnail((THUMB_EDGE, THUMB_EDGE))
                tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
                im.convert("RGB").save(tmp, "JPEG", quality=THUMB_QUALITY)
            os.replace(tmp, out)
        except OSError:
            return None
    try:
        return "data:image/jpeg;base64," + base64.b64encode(out.read_bytes()).decode()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------
# Progress page helpers
# ---------------------------------------------------------------------------------------------------

def refresh_interval(statuses: Iterable[Any], *, emulator: bool = False) -> float | None:
    """Seconds between automatic status checks while some batch runs; ``None`` when none does."""
    if not any(s.running for s in statuses):
        return None
    return POLL_EMULATOR_S if emulator else POLL_API_S


@dataclass(frozen=True)
class BatchTiming:
    """An ended batch's size and how long the API took (from the ledger's history)."""

    batch_id: str
    requests: int
    seconds: float


@dataclass(frozen=True)
class BatchCost:
    """A batch's estimate at submission and the actual cost of the results recorded so far."""

    batch_id: str
    estimate_usd: float | None
    actual_usd: float


def batch_timings(folder: Path | str) -> list[BatchTiming]:
    """Every ended batch of the folder: requests and seconds from creation to end, oldest first."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [BatchTiming(bid, n, s) for n, s, bid in ledger.batch_durations()]


def batch_costs(folder: Path | str) -> list[BatchCost]:
    """Per batch the API created: estimated and actual USD (actual counts only retrieved results)."""
    if not Folder.of(folder).has_ledger:
        return []
    with Folder.of(folder).ledger() as ledger:
        return [BatchCost(bid, est, act) for bid, est, act in ledger.cost_by_batch()]


def cap_problem(estimate_usd: float | None, cap_usd: float | None) -> str | None:
    """Why a spend cap blocks submitting (``None`` when there is no cap or the estimate is within it)."""
    if cap_usd is None:
        return None
    if estimate_usd is None:
        return f"A spend cap of ${cap_usd:,.2f} is set but there is no cost estimate to check it against."
    if estimate_usd > cap_usd:
        return (f"The estimated cost ${estimate_usd:,.2f} is above your cap of ${cap_usd:,.2f}. Raise the cap, or "
                "send fewer videos or frames (Keyframes page).")
    return None


def folder_token(folder: Path | str) -> str:
    """Changes whenever the folder's settings, selection, frame cache or ledger change (for page caches)."""
    wd = Folder.of(folder).existing_workdir()
    parts = []
    for name in ("settings.json", "selection.json", FRAMES_DIR, "ledger.sqlite3", "ledger.sqlite3-wal", "prompts"):
        try:
            st_ = (wd / name).stat()
            parts.append(f"{name}:{st_.st_mtime_ns}:{st_.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)
