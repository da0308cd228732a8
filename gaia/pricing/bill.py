"""A bill's token counts priced under the four scenarios, from the command line or a CSV file.

The counts are what was billed with caching (uncached input, cache writes by TTL, reads,
output). *Caching* and *batch + caching* price them as they are; *standard* and *batch* price the
same prompt with nothing cached (every write and read as plain input). A CSV holds one row per
model or per day (``CSV_COLUMNS`` lists the accepted header names, the Admin usage API's among
them); rows of the same model are summed into one bill unless asked otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.facts import model_facts
from gaia.pricing.explain import Explanation, explain_bill
from gaia.pricing.scenarios import Scenario, scenario, scenarios_of
from gaia.pricing.usage import TokenCounts, price_tokens

# CSV columns read by ``read_bill_csv`` (case-insensitive; the first present name wins).
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("model", "model_id"),
    "label": ("date", "day", "starting_at", "usage_date", "period"),
    "input": ("input_tokens", "uncached_input_tokens", "input_tokens_no_cache", "usage_input_tokens_no_cache"),
    "cache_write_5m": ("cache_write_5m_tokens", "cache_creation.ephemeral_5m_input_tokens",
                       "ephemeral_5m_input_tokens", "usage_input_tokens_cache_write_5m"),
    "cache_write_1h": ("cache_write_1h_tokens", "cache_creation.ephemeral_1h_input_tokens",
                       "ephemeral_1h_input_tokens", "usage_input_tokens_cache_write_1h"),
    "cache_write": ("cache_write_tokens", "cache_creation_input_tokens"),  # TTL unknown: priced as 5m
    "cache_read": ("cache_read_tokens", "cache_read_input_tokens", "usage_input_tokens_cache_read"),
    "output": ("output_tokens", "usage_output_tokens"),
}
_COUNT_COLUMNS = ("input", "cache_write_5m", "cache_write_1h", "cache_write", "cache_read", "output")


@dataclass(frozen=True)
class Bill:
    """Token counts from a bill priced under the four scenarios."""

    model: str
    display_name: str
    tokens: TokenCounts
    scenarios: tuple[Scenario, ...]
    prices_as_of: str
    confirmed: bool
    uncertain: tuple[str, ...] = ()
    label: str = ""  # e.g. the date of a CSV row
    notes: tuple[str, ...] = ()
    explanations: tuple[Explanation, ...] = ()

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return scenario(self.scenarios, key)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "display_name": self.display_name, "label": self.label,
                "tokens": self.tokens.as_dict(), "prices_as_of": self.prices_as_of, "confirmed": self.confirmed,
                "uncertain": list(self.uncertain), "notes": list(self.notes),
                "scenarios": [s.to_dict() for s in self.scenarios],
                "explanations": [e.to_dict() for e in self.explanations]}


def bill(tokens: TokenCounts | Mapping[str, float], model: str, *, long_context: bool = False,
         label: str = "") -> Bill:
    """Price the token counts of a bill under the four scenarios.

    ``long_context`` prices every token at the model's long-prompt tier (a total cannot tell which
    requests were long).
    """
    tokens = TokenCounts.of(tokens)
    f = model_facts(model)
    plain = TokenCounts(input=tokens.prompt, output=tokens.output)
    costs = {
        "standard": price_tokens(plain, f, batch=False, long_context=long_context),
        "caching": price_tokens(tokens, f, batch=False, long_context=long_context),
        "batch": price_tokens(plain, f, batch=True, long_context=long_context),
        "batch_caching": price_tokens(tokens, f, batch=True, long_context=long_context),
    }
    notes = []
    if f.long_context_threshold is not None and not long_context:
        notes.append(f"{f.display_name} bills requests whose prompt exceeds {f.long_context_threshold:,} tokens at "
                     "a higher tier; a total cannot show which were, so the standard tier is used.")
    scenarios = scenarios_of(costs)
    return Bill(f.id, f.display_name, tokens, scenarios, f.as_of, f.confirmed, tuple(f.uncertain),
                label, tuple(notes), tuple(explain_bill(tokens, scenarios)))


class BillCsvError(ValueError):
    """A CSV bill that cannot be read, with the line and what is wrong."""


def _int_cell(value: str | None, where: str) -> int:
    text = (value or "").strip().replace(",", "").replace("_", "").replace(" ", "")
    if not text:
        return 0
    try:
        return int(float(text))
    except ValueError:
        raise BillCsvError(f"{where}: {value!r} is not a token count") from None


def _read_text(source: Path | str | io.TextIOBase) -> str:
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise BillCsvError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return source.read()


def _columns(reader: csv.DictReader[str], model: str | None) -> dict[str, str | None]:
    """CSV_COLUMNS key → the header present in the file (``None`` when absent); raises when unusable."""
    if not reader.fieldnames:
        raise BillCsvError("the CSV file is empty")
    names = {n.strip().lower(): n for n in reader.fieldnames if n}
    cols = {key: next((names[a] for a in aliases if a in names), None) for key, aliases in CSV_COLUMNS.items()}
    if not any(cols[k] for k in _COUNT_COLUMNS):
        raise BillCsvError("no token columns found; expected e.g. input_tokens, cache_write_1h_tokens, "
                           "cache_read_tokens, output_tokens")
    if cols["model"] is None and model is None:
        raise BillCsvError("no 'model' column: add one or name the model (--model)")
    return cols


def _row(row: dict[str, str], line: int, cols: dict[str, str | None],
         model: str | None) -> tuple[str, TokenCounts, str]:
    """(model, token counts, label) of one CSV row."""
    m = ((row.get(cols["model"]) or "").strip() if cols["model"] else "") or model or ""
    if not m:
        raise BillCsvError(f"line {line}: no model")
    try:
        model_facts(m)
    except KeyError as exc:
        raise BillCsvError(f"line {line}: {exc.args[0]}") from None

    def cell(key: str) -> int:
        col = cols[key]
        return _int_cell(row.get(col) if col else None, f"line {line}, {col}")

    t = TokenCounts(cell("input"), cell("cache_write_5m") + cell("cache_write"), cell("cache_write_1h"),
                    cell("cache_read"), cell("output"))
    label = (row.get(cols["label"]) or "").strip() if cols["label"] else ""
    return m, t, label


def read_bill_csv(source: Path | str | io.TextIOBase, *, model: str | None = None,
                  per_row: bool = False) -> list[Bill]:
    """Read token counts from a CSV (one row per model or per day) and price each under the four scenarios.

    Columns (header names, case-insensitive; see ``CSV_COLUMNS`` for accepted aliases): ``model``
    (or pass ``model=`` for files without one), optional ``date``, and the token counts
    ``input_tokens`` (uncached), ``cache_write_5m_tokens``, ``cache_write_1h_tokens``
    (``cache_write_tokens`` when the TTL is unknown: priced as 5m), ``cache_read_tokens`` and
    ``output_tokens``; missing count columns count as 0, thousands separators are allowed. Rows of
    the same model are summed into one bill unless ``per_row``.
    """
    reader = csv.DictReader(io.StringIO(_read_text(source)))
    cols = _columns(reader, model)
    totals: dict[str, tuple[TokenCounts, list[str]]] = {}
    bills: list[Bill] = []
    for line, row in enumerate(reader, start=2):
        m, t, label = _row(row, line, cols, model)
        if per_row:
            bills.append(bill(t, m, label=label or f"line {line}"))
        else:
            prev, labels = totals.get(m, (TokenCounts(), []))
            totals[m] = (prev + t, [*labels, label] if label else labels)
    for m, (t, labels) in totals.items():
        span = f"{min(labels)} to {max(labels)}" if len(set(labels)) > 1 else (labels[0] if labels else "")
        bills.append(bill(t, m, label=span))
    if not bills:
        raise BillCsvError("the CSV file has no rows")
    return bills
