"""Exports of the Results page: the rows as CSV, the analyses as JSONL, a Camtrap DP package as a zip.

CSV and JSONL stream from the rows a page shows (after its filters); the JSONL reads one sidecar at
a time. CSV cells that a spreadsheet would run as a formula are defused with a leading apostrophe.
``camtrap_zip`` writes a Camtrap DP package (``gaia.exports.camtrap``) into a temporary folder,
validates it and returns it zipped for a download button; ``xmp_text`` and ``camtrap_text`` put
what an export did into sentences. Every export carries the human-verified values.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.exports.camtrap import CamtrapDeployment, CamtrapResult, export_camtrap_dp, validate_camtrap_dp
from gaia.exports.xmp import XmpResult
from gaia.folder import Folder
from gaia.fsutil import dumps_json
from gaia.labels import effective_analysis, verified_of
from gaia.settings import XMP_NAMINGS
from gaia.sidecar import RunBlock
from gaia.views.results import ResultRow, ResultStatus, read_video_sidecar

CSV_COLUMNS = ("video", "status", "summary", "subjects", "species", "tags", "cost_usd", "model", "analysed_at",
               "batch_id", "custom_id", "error", "verified")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: Any) -> Any:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_list(values: Iterable[str]) -> str:
    """A list as one CSV cell: a JSON array (``["Red Fox", "a; b"]``, UTF-8 as written), empty for none.

    JSON, because any separator can occur inside a label; ``split_csv_list`` (or any JSON reader)
    gives the list back exactly.
    """
    items = list(values)
    return json.dumps(items, ensure_ascii=False) if items else ""


def split_csv_list(cell: str) -> list[str]:
    """The list a ``csv_list`` cell holds (``[]`` for an empty cell)."""
    return [str(v) for v in json.loads(cell)] if cell.strip() else []


def rows_csv(rows: Iterable[ResultRow]) -> str:
    """The table as CSV text (``CSV_COLUMNS``); species, tags and verified fields as ``csv_list`` cells.

    Labels keep their spelling and case. Text cells starting with ``= + - @`` get a leading
    apostrophe so a spreadsheet shows answer text instead of running it as a formula (list cells
    start with ``[`` and never need it).
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        d = r.to_dict()
        d["species"] = csv_list(r.species)
        d["tags"] = csv_list(r.tags)
        d["verified"] = csv_list(r.verified)
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
        if r.status != ResultStatus.ANALYSED:
            continue
        data, _ = read_video_sidecar(folder / r.rel_path)
        if not data or not isinstance(data.get("analysis"), dict):
            continue
        verified = verified_of(data)
        yield dumps_json({"video": r.rel_path, "analysis": effective_analysis(data),
                          "run": dict(RunBlock.of(data).raw),
                          "verified": verified.to_dict() if verified else None}) + "\n"


def analyses_jsonl(folder: Path | str, rows: Iterable[ResultRow]) -> str:
    """``iter_analyses_jsonl`` joined into one string (for a download button)."""
    return "".join(iter_analyses_jsonl(folder, rows))


XMP_NAMING_LABELS = {"video": "clip.mp4.xmp (digiKam, darktable)", "stem": "clip.xmp (Lightroom)"}
CAMTRAP_ZIP_NAME = "gaia-camtrap-dp.zip"


@dataclass(frozen=True)
class CamtrapExport:
    """A written Camtrap DP package: what was written, whether it validates, and why not.

    ``validated`` is always true now (validation against the vendored official schemas needs no
    optional package); it stays so that callers written for the optional validator keep working."""

    result: CamtrapResult
    problems: tuple[str, ...]
    validated: bool
    zip_bytes: bytes = b""


def camtrap_package(folder: Folder | Path | str, out_dir: Path | str, deployment: CamtrapDeployment, *,
                    records: Any = None, title: str | None = None) -> CamtrapExport:
    """Write a Camtrap DP package into ``out_dir`` (every deployment at ``deployment``'s place) and validate it."""
    result = export_camtrap_dp(folder, out_dir, records=records, default=deployment, title=title or None)
    return CamtrapExport(result, tuple(validate_camtrap_dp(Path(out_dir))), True)


def camtrap_zip(folder: Folder | Path | str, deployment: CamtrapDeployment, *, records: Any = None,
                title: str | None = None) -> CamtrapExport:
    """A Camtrap DP package written to a temporary folder, validated, and returned as zip bytes."""
    with tempfile.TemporaryDirectory(prefix="gaia-camtrap-") as tmp:
        out = Path(tmp) / "camtrap-dp"
        written = camtrap_package(folder, out, deployment, records=records, title=title)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(out.iterdir()):
                zf.write(path, f"camtrap-dp/{path.name}")
    return CamtrapExport(written.result, written.problems, written.validated, buf.getvalue())


def camtrap_text(export: CamtrapExport) -> str:
    """What the package holds and whether it validates, in one sentence."""
    counts = ", ".join(f"{n} {table}" for table, n in export.result.counts.items())
    if not export.validated:
        return f"Written ({counts}) but not validated: {'; '.join(export.problems)}"
    if export.problems:
        return (f"Written ({counts}); it does not validate against the official Camtrap DP schemas "
                f"({len(export.problems)} problem(s)), first: {export.problems[0]}")
    return f"Written ({counts}); it validates against the official Camtrap DP 1.0 schemas."


def xmp_text(result: XmpResult) -> str:
    """What writing XMP sidecars did, in one sentence."""
    return (f"{len(result.written)} XMP sidecar(s) written beside the videos, {len(result.skipped)} video(s) "
            f"without an answer skipped" + (f", {len(result.problems)} problem(s)." if result.problems else "."))


__all__ = [
    "CAMTRAP_ZIP_NAME",
    "CSV_COLUMNS",
    "XMP_NAMINGS",
    "XMP_NAMING_LABELS",
    "CamtrapExport",
    "analyses_jsonl",
    "camtrap_package",
    "camtrap_text",
    "camtrap_zip",
    "csv_list",
    "iter_analyses_jsonl",
    "rows_csv",
    "split_csv_list",
    "xmp_text",
]
