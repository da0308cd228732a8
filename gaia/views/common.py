"""Small view models every page uses: a headline figure, model names and the model picker's order, images
as data URLs, and what a page says (and where it writes the details) when something escapes it."""

from __future__ import annotations

import base64
import errno
import sqlite3
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gaia.facts import PriceFileError, catalogue
from gaia.folder import user_cache_root
from gaia.format import error_text
from gaia.fsutil import DISK_FULL, disk_full
from gaia.ledger import LedgerError, ledger_problem

# A grey placeholder for a video without a thumbnail (what ``st.column_config.ImageColumn`` shows).
NO_PREVIEW = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='64' height='40'>"
              "<rect width='64' height='40' rx='4' fill='%23eeeeee'/><path d='M26 14h12v12H26z' fill='none' "
              "stroke='%23bbbbbb' stroke-width='2'/></svg>")


@dataclass(frozen=True)
class Metric:
    """One headline figure as a page shows it (``st.metric``): label, formatted value, optional help/delta."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None


OFFERED_STATUSES = ("current", "limited")  # offered for new runs; "legacy" folded away; "retired" never offered


def models_in_order() -> list[str]:
    """Model ids as a picker lists them: current models first, then cheapest input price, then id."""
    models = catalogue().models
    return sorted(models, key=lambda m: (models[m].status != "current", models[m].input, m))


def model_choices(*, legacy: bool = False, keep: str | None = None) -> list[str]:
    """The models a picker offers: current (and limited) ones first, by input price; legacy ones only when
    ``legacy`` (folded away otherwise); retired ones never. ``keep`` (the folder's saved model) stays listed
    unless it is retired, so a picker never silently changes a saved choice."""
    models = catalogue().models
    offered = [m for m in models if models[m].status in OFFERED_STATUSES]
    older = [m for m in models if models[m].status == "legacy" and (legacy or m == keep)]

    def by_price(m: str) -> tuple[bool, float, str]:
        return (models[m].status != "current", models[m].input, m)

    return sorted(offered, key=by_price) + sorted(older, key=by_price)


def legacy_models() -> list[str]:
    """The legacy models (still sold, superseded): what a picker folds away behind a switch."""
    models = catalogue().models
    return sorted((m for m in models if models[m].status == "legacy"), key=lambda m: (models[m].input, m))


ERROR_LOG = "errors.log"  # in the user cache: what escaped a page, with its traceback, for whoever reports it


def error_log_path() -> Path:
    """Where a page's unexpected failures are written (never shown on the page)."""
    return user_cache_root() / ERROR_LOG


def log_failure(exc: BaseException, where: str) -> Path | None:
    """Append ``exc`` with its traceback to the error log; the log's path, ``None`` when it cannot be written."""
    path = error_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as out:
            out.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {where}\n")
            out.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return path


def page_failure(exc: BaseException) -> str:
    """One sentence for a page that stopped on something it did not expect: what kind of thing went wrong,
    in words (no class name, no Python message), and that nothing was lost."""
    if isinstance(exc, UnicodeError):
        what = "a file or folder name here is not valid text (UTF-8), and this page could not show it"
    elif isinstance(exc, PermissionError):
        what = "GAIA may not read or write a file it needs here (permission denied)"
    elif isinstance(exc, FileNotFoundError):
        what = "a file this page needs was moved or deleted while it was reading it"
    elif isinstance(exc, MemoryError):
        what = "the machine ran out of memory"
    elif isinstance(exc, OSError):
        what = "a file or folder here could not be read or written"
    else:
        what = "it met something it did not expect"
    return (f"This page stopped because {what}. Nothing was sent or deleted, and your folder is as it was.")


def command_problem(exc: BaseException, where: Path | str | None = None) -> tuple[str, int] | None:
    """What a command that stopped on ``exc`` says, and its exit status; ``None`` for what GAIA did not foresee.

    A user's price file (status 2), a ledger that is newer, locked or damaged, a folder it may not write,
    and a full disk (``where``: the folder, for the disk check) each get one sentence saying that nothing
    recorded is lost (status 1).
    """
    if isinstance(exc, PriceFileError):  # a user's price override file: say what is wrong
        return str(exc), 2
    if isinstance(exc, LedgerError):  # newer, locked too long: say so, change nothing
        return str(exc), 1
    if isinstance(exc, sqlite3.DatabaseError) and not disk_full(exc, where):
        return ledger_problem(exc), 1
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write {exc.filename or where} ({exc.strerror}), so GAIA stopped without changing anything. "
                "Make the folder writable again and run the command again; nothing recorded is lost."), 1
    if disk_full(exc, where):
        return DISK_FULL.format(cause=error_text(exc), where=where or "the folder and its working folder"), 1
    return None


def image_data_url(path: Path | None) -> str | None:
    """A small JPEG as a data URL (what ``st.column_config.ImageColumn`` needs); ``None`` if unreadable."""
    if path is None:
        return None
    try:
        return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
    except OSError:
        return None
