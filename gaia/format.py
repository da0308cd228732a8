"""Numbers in words: the one set of formatters for money, durations, video positions, sizes and shares.

The pages, the CLI and the sentences GAIA writes (explanations, hints, advice) all format through
these functions, so one figure reads the same everywhere. Rounding rules:

- money: whole dollars from $100, cents from $1, three significant digits below $1 (``$0.0463``),
  so a small test run's cost never reads as ``$0.00``;
- durations (waits, elapsed times): ``45 s``, ``12 min``, ``3 h 05 min``;
- positions in a video: ``m:ss.s`` (``0:03.5``), hours when long; never rounded up a whole second;
- byte sizes in the largest unit that keeps the number readable (decimal units, as the API's limits);
- shares as percentages: whole percent from 1%, one decimal below.
"""

from __future__ import annotations

import math

MISSING = "–"


def usd(x: float | None, *, missing: str = MISSING) -> str:
    """Dollars: ``$1,234``, ``$12.34``, ``$0.0463``; ``missing`` for ``None``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    a = abs(x)
    if a >= 100:
        return f"${x:,.0f}"
    if a >= 0.995 or a == 0:
        return f"${x:,.2f}"
    decimals = max(2, 2 - math.floor(math.log10(a)))
    return f"${x:.{decimals}f}"


def duration(seconds: float | None, *, missing: str = MISSING) -> str:
    """A wait or an elapsed time: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    if seconds is None:
        return missing
    s = max(0, round(seconds))
    if s < 90:
        return f"{s} s"
    m = round(s / 60)
    if m < 90:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


def position(seconds: float | None, *, missing: str = MISSING) -> str:
    """A time inside a video: ``0:03.5``, ``12:07.0``, ``1:02:03.4`` (tenths, truncated, never rounded up)."""
    if seconds is None:
        return missing
    whole, tenth = divmod(int(max(0.0, seconds) * 10 + 1e-6), 10)
    return f"{_clock(whole)}.{tenth}"


def length(seconds: float | None, *, missing: str = MISSING) -> str:
    """A video's length: ``1:15``, ``1:02:03`` (whole seconds)."""
    if seconds is None:
        return missing
    return _clock(round(max(0.0, seconds)))


def _clock(whole: int) -> str:
    """Whole seconds as ``m:ss``, or ``h:mm:ss`` from an hour."""
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def size(nbytes: float | None, *, missing: str = MISSING) -> str:
    """Bytes in the largest decimal unit that keeps the number readable: ``512 B``, ``3.9 MB``."""
    if nbytes is None:
        return missing
    n = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def pct(share: float | None, *, missing: str = MISSING) -> str:
    """A share (0 to 1) as a percentage: ``83%``, ``0.4%``."""
    if share is None:
        return missing
    x = share * 100
    return f"{x:.0f}%" if abs(x) >= 1 or x == 0 else f"{x:.1f}%"


def tokens(n: float | None, *, missing: str = MISSING) -> str:
    """A token count with thousands separators: ``1,500,944``."""
    return missing if n is None else f"{round(n):,}"


def error_text(exc: BaseException) -> str:
    """What went wrong, in words: the error's own message without Python's class name (a file system
    error as its reason and file, undecodable bytes shown escaped), never ``None`` or an empty string."""
    import os

    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if isinstance(exc.filename, (str, bytes)) else None
        reason = exc.strerror[:1].lower() + exc.strerror[1:]
        if where is None:
            return reason
        name = os.fsdecode(where).encode("utf-8", "backslashreplace").decode("utf-8")
        return f"{reason} ({name})"
    if isinstance(exc, UnicodeError):
        return "a file name or text that is not valid UTF-8 could not be handled"
    if isinstance(exc, MemoryError):
        return "the machine ran out of memory"
    text = str(exc.args[0]) if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    text = text.strip().encode("utf-8", "backslashreplace").decode("utf-8")
    if not text or text == "None":
        return "an unexpected problem with no description (run with GAIA_DEBUG=1 to see the details)"
    return text
