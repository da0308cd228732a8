"""Exports of the Results table: the rows shown as CSV, and the analyses behind them as JSONL.

Both stream from the rows a page shows (after its filters); the JSONL reads one sidecar at a time.
CSV cells that a spreadsheet would run as a formula are defused with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gaia.labels import effective_analysis, verified_of
from gaia.views.results import ResultRow, ResultStatus, read_video_sidecar

CSV_COLUMNS = ("video", "status", "summary", "subjects", "species", "tags", "cost_usd", "model", "analysed_at",
               "batch_id", "custom_id", "error", "verified")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        if r.status != ResultStatus.ANALYSED:
            continue
        data, _ = read_video_sidecar(folder / r.rel_path)
        if not data or not isinstance(data.get("analysis"), dict):
            continue
        verified = verified_of(data)
        yield json.dumps({"video": r.rel_path, "analysis": effective_analysis(data), "run": data.get("run") or {},
                          "verified": verified.to_dict() if verified else None}, ensure_ascii=False) + "\n"


def analyses_jsonl(folder: Path | str, rows: Iterable[ResultRow]) -> str:
    """``iter_analyses_jsonl`` joined into one string (for a download button)."""
    return "".join(iter_analyses_jsonl(folder, rows))
