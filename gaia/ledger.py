"""The ledger: a SQLite database in the folder's ``.gaia/`` recording every run, batch and request.

This is the only code that touches the database. It holds runs (what was sent, with which
settings), batches (the intent written *before* a batch is created, then the API's id, times,
status and request counts), one row per request (``custom_id`` → video relative path, keyframe set
and timestamps, prompt hash, model, mode, status, usage, cost, error, attempt, retry link),
status snapshots of each batch over time (for "batch size against processing time" charts) and
events (unknown ``custom_id`` values, interrupted result streams). WAL mode lets the app read
while the CLI writes. No API key is ever written here.

Request status moves ``pending`` (intent written) → ``submitted`` (the batch exists) →
``succeeded`` (sidecar written) or ``failed`` (with ``error_kind`` and a plain ``error``); an intent
whose batch was never created becomes ``unsent``. A retry is a new row whose ``retry_of`` names
the failed one; ``failures`` lists failed rows nobody has retried yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.fsutil import name_to_text, text_to_name

LEDGER_FILE = "ledger.sqlite3"
CUT_OFF_KIND = "max_tokens"  # the error kind of an answer cut off at the answer length limit
LOCK_WAIT_S = 30.0  # how long a busy ledger is waited for before GAIA stops in words
LOCK_NOTICE_S = 1.0  # after this long, say that GAIA is waiting
_log = logging.getLogger(__name__)


class LedgerError(RuntimeError):
    """The ledger cannot be used (written by a newer GAIA, locked too long, unreadable); the message
    says which file, why, and what to do. Nothing was changed."""


class RequestStatus(StrEnum):
    """Where one request stands (see the module docstring for the order)."""

    PENDING = "pending"  # the intent is written; the batch (or the call) is not confirmed yet
    SUBMITTED = "submitted"  # the API has it
    SUCCEEDED = "succeeded"  # its sidecar is written
    FAILED = "failed"  # with ``error_kind`` and ``error``
    UNSENT = "unsent"  # its batch was never created


class BatchState(StrEnum):
    """Where one batch stands on GAIA's side."""

    PENDING = "pending"  # intent written, creation not confirmed (being checked)
    SUBMITTED = "submitted"  # exists at the API
    ABANDONED = "abandoned"  # never created


TUNE_MODE = "tune"  # the mode of a tune's runs (``gaia.quality``): answers kept for the tune, never in a sidecar


class Mode(StrEnum):
    """How a request was sent: in a Message Batch, or through the standard Messages API (run now)."""

    BATCH = "batch"
    STANDARD = "standard"


@dataclass(frozen=True)
class UsageRow:
    """One answered request as history sees it: its ``usage``, its group (batch id, else run id),
    whether it was sent in a batch, when it ended, and whether the answer was cut off at the answer
    length limit (``cut_off``: ``stop_reason`` ``max_tokens``, billed but not an answer's real length);
    ``frames``: how many frames the request sent (``None`` when not recorded)."""

    usage: dict[str, Any]
    group: str
    batch: bool
    at: datetime | None
    cut_off: bool = False
    frames: int | None = None


class ResultsState(StrEnum):
    """How far a batch's results are recorded."""

    NONE = "none"
    PARTIAL = "partial"
    DONE = "done"


class EventKind(StrEnum):
    """What an event row records (``Ledger.record_event``)."""

    UNKNOWN_CUSTOM_ID = "unknown_custom_id"  # a batch returned a result for no request of this run
    DISOWNED_BATCH = "disowned_batch"  # a batch proved not to be this folder's own
    RESULTS_INTERRUPTED = "results_interrupted"  # a results stream dropped part way
    TUNE_REQUEST = "tune_request"  # a billed tune request (its usage and cost in the message, as JSON)
    LEDGER_SET_ASIDE = "ledger_set_aside"  # a damaged ledger was renamed and this one started
    LEDGER_REBUILT = "ledger_rebuilt"  # rows restored from the batch manifests and the sidecars


FINAL_STATUSES = (RequestStatus.SUCCEEDED, RequestStatus.FAILED)
OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.SUBMITTED)
ACTIVE_BATCH_STATES = (BatchState.PENDING, BatchState.SUBMITTED)

# Version 1, frozen: what GAIA wrote until schema versions were read. Never edit it; add a migration.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs(
  run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, mode TEXT NOT NULL, model TEXT, prompt_hash TEXT,
  settings_json TEXT, retry_of TEXT, n_requests INTEGER DEFAULT 0, estimate_usd REAL, note TEXT);
CREATE TABLE IF NOT EXISTS batches(
  local_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, batch_id TEXT UNIQUE, state TEXT NOT NULL,
  n_requests INTEGER NOT NULL, nbytes INTEGER, fingerprint TEXT, intent_at TEXT NOT NULL, submitted_at TEXT,
  created_at TEXT, expires_at TEXT, ended_at TEXT, cancel_initiated_at TEXT, archived_at TEXT,
  processing_status TEXT, counts_json TEXT, results_state TEXT NOT NULL DEFAULT 'none', retrieved_at TEXT,
  estimate_usd REAL, error TEXT, matched_by TEXT, spool_path TEXT, split_reason TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS requests(
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, local_batch INTEGER, batch_id TEXT,
  custom_id TEXT NOT NULL, rel_path TEXT NOT NULL, set_id TEXT, timestamps_json TEXT, prompt_hash TEXT,
  model TEXT, mode TEXT NOT NULL, status TEXT NOT NULL, error_kind TEXT, error TEXT, usage_json TEXT,
  cost_usd REAL, estimate_usd REAL, attempt INTEGER NOT NULL DEFAULT 1, retry_of INTEGER, nbytes INTEGER,
  fingerprint_json TEXT, created_at TEXT NOT NULL, updated_at TEXT, done_at TEXT,
  UNIQUE(local_batch, custom_id));
CREATE INDEX IF NOT EXISTS requests_batch ON requests(batch_id, custom_id);
CREATE INDEX IF NOT EXISTS requests_path ON requests(rel_path);
CREATE INDEX IF NOT EXISTS requests_status ON requests(status);
CREATE INDEX IF NOT EXISTS requests_retry ON requests(retry_of);
CREATE INDEX IF NOT EXISTS requests_run ON requests(run_id, custom_id);
CREATE TABLE IF NOT EXISTS snapshots(
  id INTEGER PRIMARY KEY AUTOINCREMENT, local_batch INTEGER, batch_id TEXT, taken_at TEXT NOT NULL,
  processing_status TEXT, counts_json TEXT, elapsed_s REAL);
CREATE INDEX IF NOT EXISTS snapshots_batch ON snapshots(batch_id);
CREATE TABLE IF NOT EXISTS files(
  sha256 TEXT PRIMARY KEY, file_id TEXT NOT NULL, nbytes INTEGER, uploaded_at TEXT NOT NULL, expires_at TEXT);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL, batch_id TEXT, custom_id TEXT,
  message TEXT);
"""


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def _to_v1(conn: sqlite3.Connection) -> None:
    """An empty database gets the version 1 tables (``CREATE ... IF NOT EXISTS``: a version 1 ledger
    written before versions were read keeps its rows)."""
    for statement in _statements(_SCHEMA_V1):
        conn.execute(statement)


def _to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: each request remembers its video's content (``content_json``: size, mtime and a
    hash of a few blocks), so an answer only reaches the video it was made from; and what its
    attempts whose outcome is unknown may have been billed (``possibly_billed_usd``: a dropped
    connection after the request was sent), so every spend total counts it."""
    conn.execute("ALTER TABLE requests ADD COLUMN content_json TEXT")
    conn.execute("ALTER TABLE requests ADD COLUMN possibly_billed_usd REAL")
    conn.execute("CREATE INDEX IF NOT EXISTS requests_content ON requests(content_json)")


# MIGRATIONS[n] brings a ledger from version n to n + 1, in order, in one transaction (simonw/llm style).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_to_v1, _to_v2)
SCHEMA_VERSION = len(MIGRATIONS)


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def _locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _damaged(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def ledger_problem(exc: BaseException) -> str:
    """One sentence for a database error met while using a ledger (never the error's class name)."""
    if _locked(exc):
        return ("The folder's ledger stayed locked by another program, so GAIA stopped without changing anything. "
                "Close the other GAIA and try again.")
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return ("The folder's working folder (.gaia/) cannot be written right now (read-only, or its disk is "
                "gone), so GAIA stopped without changing anything. Make it writable again and run the command "
                "again; nothing recorded is lost.")
    if _damaged(exc):
        return ("The folder's ledger (.gaia/ledger.sqlite3) is damaged. Run the command again: GAIA sets the damaged "
                "file aside (it is kept) and rebuilds the ledger from the sidecars and the API.")
    return f"The folder's ledger could not be used ({exc}); nothing more was changed. Try again."


def locked_message(path: Path, wait_s: float) -> str:
    """The sentence for a ledger another program kept locked longer than GAIA waits."""
    return (f"The ledger {path} stayed locked by another program for {wait_s:.0f} s, so GAIA stopped without "
            "changing anything. Close the other GAIA (or the program holding the file) and try again.")


def schema_version(conn: sqlite3.Connection) -> int:
    """The ledger's schema version: 0 for an empty database, 1 for one written before versions were read."""
    has = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in has:
        return 1 if "requests" in has else 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    try:
        return int(row[0]) if row else (1 if "requests" in has else 0)
    except (TypeError, ValueError):
        return 1


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the ledger to ``SCHEMA_VERSION`` in place, atomically (one transaction: all migrations or
    none); refuse a ledger written by a newer GAIA in words. Returns the version found."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise LedgerError(f"The ledger {path} was written by a newer GAIA (ledger version {found}; this GAIA "
                          f"reads up to version {SCHEMA_VERSION}). Upgrade GAIA to use this folder; nothing was "
                          "changed.")
    if found == SCHEMA_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)  # another process may have migrated it meanwhile
        if found > SCHEMA_VERSION:
            raise LedgerError(f"The ledger {path} was written by a newer GAIA; nothing was changed.")
        for step in MIGRATIONS[found:]:
            step(conn)
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return found


def set_aside(path: Path) -> Path:
    """Rename a damaged ledger (and its ``-wal``/``-shm`` files) beside itself, never deleting it;
    returns the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.damaged-{stamp}-{n}{path.suffix}")
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        if side.exists():
            side.replace(target.with_name(target.name + extra))
    path.replace(target)
    return target


class Clock:
    """GAIA's local clock (an object, so tests inject one that is off: nothing that decides whether a
    batch exists, is this folder's or has expired may depend on it)."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


CLOCK = Clock()


def now_iso() -> str:
    """The current UTC time as ISO 8601 (what the ledger stores), by the local ``CLOCK``."""
    return CLOCK.now().isoformat(timespec="milliseconds")


def to_iso(value: Any) -> str | None:
    """An API timestamp (``datetime`` or string) as ISO 8601 UTC, ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    parsed = parse_time(str(value))
    return parsed.isoformat(timespec="milliseconds") if parsed else None


def parse_time(value: str | None) -> datetime | None:
    """Parse an ISO timestamp from the ledger or the API (``Z`` accepted) as an aware UTC datetime."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def ids_fingerprint(custom_ids: Iterable[str]) -> str:
    """A short hash of a batch's set of custom_ids (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(custom_ids)).encode()).hexdigest()[:24]


def _loads(text: str | None, default: Any = None) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


@dataclass(frozen=True)
class RequestIntent:
    """One request about to be sent: what it is and what it will be recorded as."""

    custom_id: str
    rel_path: str
    set_id: str
    timestamps: tuple[float, ...]
    prompt_hash: str
    model: str
    fingerprint: dict[str, Any] = field(default_factory=dict, hash=False)
    attempt: int = 1
    retry_of: int | None = None
    nbytes: int | None = None
    estimate_usd: float | None = None
    content: dict[str, Any] | None = field(default=None, hash=False)  # the video's content when planned


@dataclass(frozen=True)
class RequestRow:
    """One request as the ledger holds it."""

    id: int
    run_id: str
    local_batch: int | None
    batch_id: str | None
    custom_id: str
    rel_path: str
    set_id: str | None
    timestamps: tuple[float, ...]
    prompt_hash: str | None
    model: str | None
    mode: Mode
    status: RequestStatus
    error_kind: str | None
    error: str | None
    usage: dict[str, Any] | None
    cost_usd: float | None
    estimate_usd: float | None
    attempt: int
    retry_of: int | None
    nbytes: int | None
    fingerprint: dict[str, Any] | None
    created_at: str
    updated_at: str | None
    done_at: str | None
    content: dict[str, Any] | None = None  # the video's content when planned (``gaia.media.identity``)
    possibly_billed_usd: float | None = None  # attempts lost in flight (a dropped connection), at their estimate

    @classmethod
    def from_sql(cls, row: sqlite3.Row, *, fingerprint: Any = None) -> RequestRow:
        """Build from a ``requests`` row (``fingerprint``: the parsed value, when the caller has it)."""
        d = dict(row)
        return cls(
            id=d["id"], run_id=d["run_id"], local_batch=d["local_batch"], batch_id=d["batch_id"],
            custom_id=d["custom_id"], rel_path=text_to_name(d["rel_path"]), set_id=d["set_id"],
            timestamps=tuple(_loads(d["timestamps_json"], [])), prompt_hash=d["prompt_hash"], model=d["model"],
            mode=Mode(d["mode"]), status=RequestStatus(d["status"]), error_kind=d["error_kind"], error=d["error"],
            usage=_loads(d["usage_json"]), cost_usd=d["cost_usd"], estimate_usd=d["estimate_usd"],
            attempt=d["attempt"], retry_of=d["retry_of"], nbytes=d["nbytes"],
            fingerprint=fingerprint if fingerprint is not None else _loads(d["fingerprint_json"]),
            created_at=d["created_at"], updated_at=d["updated_at"],
            done_at=d["done_at"], content=_loads(d.get("content_json")),
            possibly_billed_usd=d.get("possibly_billed_usd"),
        )

    @property
    def done(self) -> bool:
        """Whether this request has its final outcome recorded."""
        return self.status in FINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class BatchRow:
    """One batch as the ledger holds it (``batch_id`` is ``None`` while only the intent exists)."""

    local_id: int
    run_id: str
    batch_id: str | None
    state: BatchState
    n_requests: int
    nbytes: int | None
    fingerprint: str | None
    intent_at: str
    submitted_at: str | None
    created_at: str | None
    expires_at: str | None
    ended_at: str | None
    cancel_initiated_at: str | None
    archived_at: str | None
    processing_status: str | None
    counts: dict[str, int]
    results_state: ResultsState
    retrieved_at: str | None
    estimate_usd: float | None
    error: str | None
    matched_by: str | None
    spool_path: str | None
    split_reason: str | None
    updated_at: str | None

    @classmethod
    def from_sql(cls, row: sqlite3.Row) -> BatchRow:
        """Build from a ``batches`` row."""
        d = dict(row)
        d["counts"] = _loads(d.pop("counts_json"), {}) or {}
        d["state"] = BatchState(d["state"])
        d["results_state"] = ResultsState(d["results_state"] or ResultsState.NONE)
        values: dict[str, Any] = {f.name: d.get(f.name) for f in fields(cls)}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunRow:
    """One run: a submission (batch or standard mode) and the settings it used."""

    run_id: str
    created_at: str
    mode: str
    model: str | None
    prompt_hash: str | None
    settings: dict[str, Any]
    retry_of: str | None
    n_requests: int
    estimate_usd: float | None
    note: str | None


@dataclass(frozen=True)
class Snapshot:
    """A batch's status at one moment (for progress charts)."""

    batch_id: str | None
    taken_at: str
    processing_status: str | None
    counts: dict[str, int]
    elapsed_s: float | None


@dataclass(frozen=True)
class Event:
    """Something retrieval or submission met that belongs to no request row (or explains one)."""

    at: str
    kind: str
    batch_id: str | None
    custom_id: str | None
    message: str


class Ledger:
    """A connection to a folder's ledger; use as a context manager or call ``close()``.

    Thread-safe for use from one process (one lock around the connection); several processes may
    open the same ledger (SQLite WAL with a busy timeout).
    """

    def __init__(self, path: Path, *, wait_s: float = LOCK_WAIT_S) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._group: list[Any] | None = None
        self.notices: list[str] = []  # sentences about what opening did (a damaged ledger set aside)
        self._wait_s = wait_s
        try:
            self._conn = self._open(wait_s)
        except sqlite3.DatabaseError as exc:
            if _locked(exc):
                raise LedgerError(locked_message(self.path, wait_s)) from exc
            if not _damaged(exc):
                raise  # a full disk or an I/O error: the caller says so in words (gaia.fsutil.disk_full)
            aside = set_aside(self.path)
            note = (f"The ledger {self.path} was damaged ({exc}); it was set aside as {aside.name} (never "
                    "deleted) and a new one was started, rebuilt from the sidecars and the API before anything "
                    "is sent.")
            self.notices.append(note)
            _log.warning(note)
            self._conn = self._open(wait_s)
            self.record_event(EventKind.LEDGER_SET_ASIDE, note)

    def _open(self, wait_s: float) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=min(wait_s, LOCK_NOTICE_S), check_same_thread=False,
                               isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            try:
                _prepare(conn)
            except sqlite3.OperationalError as exc:
                if not _locked(exc) or wait_s <= LOCK_NOTICE_S:
                    raise
                _log.warning("The ledger %s is busy (another GAIA or program holds it); waiting up to %.0f s.",
                             self.path, wait_s)
                print(f"The ledger {self.path} is busy (another GAIA or program holds it); waiting up to "
                      f"{wait_s:.0f} s...", file=sys.stderr)
                conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
                _prepare(conn)
            conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    # --- plumbing -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self, *, single: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; inside ``grouped`` a savepoint (none for a ``single`` statement,
        which is atomic on its own)."""
        with self._lock:
            group = self._group
            if group is None:
                self._begin()
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return
            if not self._conn.in_transaction:
                self._begin()
                group[0], group[1] = 0, time.monotonic()
            if single:
                yield self._conn
            else:
                self._conn.execute("SAVEPOINT op")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK TO op")
                    self._conn.execute("RELEASE op")
                    raise
                self._conn.execute("RELEASE op")
            group[0] += 1
            if group[0] >= group[2] or time.monotonic() - group[1] >= group[3]:
                self._conn.execute("COMMIT")

    def _begin(self) -> None:
        """Start a write; while another program holds the ledger, say so once, wait up to ``wait_s``, then
        stop in words (``LedgerError``)."""
        quick = min(self._wait_s, LOCK_NOTICE_S)
        self._conn.execute(f"PRAGMA busy_timeout={int(quick * 1000)}")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
            if self._wait_s <= quick:
                raise LedgerError(locked_message(self.path, self._wait_s)) from exc
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={int(self._wait_s * 1000)}")
        _log.warning("The ledger %s is busy; waiting up to %.0f s.", self.path, self._wait_s)
        print(f"The ledger {self.path} is busy (another GAIA or program is writing to it); waiting up to "
              f"{self._wait_s:.0f} s...", file=sys.stderr)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise LedgerError(locked_message(self.path, self._wait_s)) from exc
            raise

    @contextlib.contextmanager
    def grouped(self, *, every: int = 500, max_s: float = 0.5) -> Iterator[Ledger]:
        """Commit many small writes together (every ``every`` writes or ``max_s`` seconds) until exit.

        For work whose writes can be replayed safely (retrieval: a result whose mark is lost in a
        crash is found already written to its sidecar and marked again). Everything is committed on
        a normal exit; on an exception the uncommitted part is rolled back, as a crash would lose it.
        Other processes see the progress at most ``max_s`` late.
        """
        with self._lock:
            self._group = [0, time.monotonic(), every, max_s]
            try:
                yield self
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
            finally:
                self._group = None

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    # --- runs -----------------------------------------------------------------------------------------

    def new_run(
        self,
        *,
        mode: str,
        model: str,
        prompt_hash: str,
        settings: dict[str, Any],
        retry_of: str | None = None,
        estimate_usd: float | None = None,
        n_requests: int = 0,
        note: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Record a new run and return its id (``run_`` + 12 hex; ``run_id`` restores a known run, once)."""
        run_id = run_id or f"run_{uuid.uuid4().hex[:12]}"
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO runs(run_id, created_at, mode, model, prompt_hash, settings_json, retry_of,"
                " n_requests, estimate_usd, note) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (run_id, now_iso(), mode, model, prompt_hash, json.dumps(settings), retry_of, n_requests,
                 estimate_usd, note),
            )
        return run_id

    def request_scope(self, run_id: str) -> str:
        """What makes a run's ``custom_id`` values its own: this ledger's random token (made once) and the run id."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('folder_token', ?)", (uuid.uuid4().hex,))
        token = self._one("SELECT value FROM meta WHERE key='folder_token'")
        return f"{token['value'] if token else ''}.{run_id}"

    def run(self, run_id: str) -> RunRow | None:
        """One run by id."""
        row = self._one("SELECT * FROM runs WHERE run_id=?", (run_id,))
        if row is None:
            return None
        d = dict(row)
        d["settings"] = _loads(d.pop("settings_json"), {}) or {}
        return RunRow(**d)

    def runs(self) -> list[RunRow]:
        """Every run, newest first."""
        out = []
        for row in self._all("SELECT run_id FROM runs ORDER BY created_at DESC"):
            run = self.run(row["run_id"])
            if run is not None:
                out.append(run)
        return out

    # --- batches: intent, creation, status ------------------------------------------------------------

    def add_batch_intent(
        self,
        run_id: str,
        intents: Sequence[RequestIntent],
        *,
        nbytes: int | None = None,
        split_reason: str | None = None,
        estimate_usd: float | None = None,
        spool_path: str | None = None,
    ) -> int:
        """Write the intent to create a batch (a ``pending`` batch and its ``pending`` requests) in one
        transaction, before the API is called; returns the batch's local id."""
        ts = now_iso()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO batches(run_id, state, n_requests, nbytes, fingerprint, intent_at, estimate_usd,"
                " spool_path, split_reason, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (run_id, "pending", len(intents), nbytes, ids_fingerprint(i.custom_id for i in intents), ts,
                 estimate_usd, spool_path, split_reason, ts),
            )
            local_id = int(cur.lastrowid or 0)
            self._insert_requests(c, run_id, local_id, "batch", "pending", intents, ts)
            c.execute("UPDATE runs SET n_requests = n_requests + ? WHERE run_id=?", (len(intents), run_id))
        return local_id

    @staticmethod
    def _insert_requests(c: sqlite3.Connection, run_id: str, local_batch: int | None, mode: str, status: str,
                         intents: Sequence[RequestIntent], ts: str) -> list[int]:
        ids = []
        for i in intents:
            cur = c.execute(
                "INSERT INTO requests(run_id, local_batch, custom_id, rel_path, set_id, timestamps_json, prompt_hash,"
                " model, mode, status, attempt, retry_of, nbytes, fingerprint_json, estimate_usd, created_at,"
                " updated_at, content_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, local_batch, i.custom_id, name_to_text(i.rel_path), i.set_id, json.dumps(list(i.timestamps)),
                 i.prompt_hash, i.model, mode, status, i.attempt, i.retry_of, i.nbytes,
                 json.dumps(i.fingerprint, sort_keys=True), i.estimate_usd, ts, ts,
                 json.dumps(i.content, sort_keys=True) if i.content else None),
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    def mark_batch_submitted(self, local_id: int, batch: dict[str, Any], *, matched_by: str = "response") -> None:
        """The API created the batch: store its id and times; its requests become ``submitted``."""
        ts = now_iso()
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET batch_id=?, state='submitted', submitted_at=?, created_at=?, expires_at=?,"
                " processing_status=?, counts_json=?, matched_by=?, error=NULL, updated_at=? WHERE local_id=?",
                (batch["id"], ts, to_iso(batch.get("created_at")), to_iso(batch.get("expires_at")),
                 batch.get("processing_status"), json.dumps(batch.get("request_counts") or {}), matched_by, ts,
                 local_id),
            )
            c.execute("UPDATE requests SET batch_id=?, status='submitted', error=NULL, updated_at=? WHERE "
                      "local_batch=? AND status IN ('pending','unsent')", (batch["id"], ts, local_id))

    def mark_batch_abandoned(self, local_id: int, error: str) -> None:
        """The batch was never created: keep the intent for the record, its requests become ``unsent``."""
        ts = now_iso()
        with self._tx() as c:
            c.execute("UPDATE batches SET state='abandoned', error=?, updated_at=? WHERE local_id=?",
                      (error, ts, local_id))
            c.execute("UPDATE requests SET status='unsent', error=?, updated_at=? WHERE local_batch=? AND "
                      "status='pending'", (error, ts, local_id))

    def disown_batch(self, local_id: int, error: str) -> None:
        """A batch adopted after an interruption proved not to be this intent's: keep its id (so it is
        never adopted again) but nothing of its results; its open requests become ``unsent``."""
        ts = now_iso()
        with self._tx() as c:
            c.execute("UPDATE batches SET state='abandoned', results_state='done', matched_by='disowned', error=?,"
                      " updated_at=? WHERE local_id=?", (error, ts, local_id))
            c.execute("UPDATE requests SET status='unsent', error=?, updated_at=? WHERE local_batch=? AND "
                      "status IN ('pending','submitted')", (error, ts, local_id))

    def set_batch_error(self, local_id: int, error: str | None) -> None:
        """Note a problem with a batch (a failed refresh, an interrupted stream) without changing its state."""
        with self._tx() as c:
            c.execute("UPDATE batches SET error=?, updated_at=? WHERE local_id=?", (error, now_iso(), local_id))

    def set_spool_path(self, local_id: int, spool_path: str | None) -> None:
        """Remember (or forget) the spool file holding the batch's body."""
        with self._tx() as c:
            c.execute("UPDATE batches SET spool_path=? WHERE local_id=?", (spool_path, local_id))

    def update_batch_status(self, batch: dict[str, Any], *, snapshot: bool = True) -> BatchRow | None:
        """Store the API's view of a batch (status, counts, times) and, by default, a snapshot of it."""
        ts = now_iso()
        row = self.batch(batch["id"])
        if row is None:
            return None
        counts = batch.get("request_counts") or {}
        created = to_iso(batch.get("created_at")) or row.created_at
        with self._tx() as c:
            c.execute(
                "UPDATE batches SET processing_status=?, counts_json=?, created_at=?, expires_at=?, ended_at=?,"
                " cancel_initiated_at=?, archived_at=?, error=NULL, updated_at=? WHERE batch_id=?",
                (batch.get("processing_status"), json.dumps(counts), created,
                 to_iso(batch.get("expires_at")) or row.expires_at, to_iso(batch.get("ended_at")),
                 to_iso(batch.get("cancel_initiated_at")), to_iso(batch.get("archived_at")), ts, batch["id"]),
            )
            if snapshot:
                start = parse_time(created)
                elapsed = (datetime.now(UTC) - start).total_seconds() if start else None
                ended = parse_time(to_iso(batch.get("ended_at")))
                if ended and start:
                    elapsed = (ended - start).total_seconds()
                c.execute("INSERT INTO snapshots(local_batch, batch_id, taken_at, processing_status, counts_json,"
                          " elapsed_s) VALUES (?,?,?,?,?,?)",
                          (row.local_id, batch["id"], ts, batch.get("processing_status"), json.dumps(counts), elapsed))
        return self.batch(batch["id"])

    def set_results_state(self, batch_id: str, state: str) -> None:
        """``none``, ``partial`` (a retrieval was interrupted) or ``done`` (every result recorded)."""
        with self._tx() as c:
            c.execute("UPDATE batches SET results_state=?, retrieved_at=?, updated_at=? WHERE batch_id=?",
                      (state, now_iso() if state == "done" else None, now_iso(), batch_id))

    def batch(self, batch_id: str) -> BatchRow | None:
        """A batch by its API id."""
        row = self._one("SELECT * FROM batches WHERE batch_id=?", (batch_id,))
        return BatchRow.from_sql(row) if row else None

    def batch_by_local_id(self, local_id: int) -> BatchRow | None:
        """A batch by its local id (also for intents without an API id yet)."""
        row = self._one("SELECT * FROM batches WHERE local_id=?", (local_id,))
        return BatchRow.from_sql(row) if row else None

    def batches(self, *, states: Sequence[str] | None = None, run_id: str | None = None) -> list[BatchRow]:
        """Batches, oldest intent first, optionally only in some ``states`` or of one run."""
        sql, args = "SELECT * FROM batches WHERE 1=1", []
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        if run_id:
            sql += " AND run_id=?"
            args.append(run_id)
        return [BatchRow.from_sql(r) for r in self._all(sql + " ORDER BY local_id", args)]

    def known_batch_ids(self) -> set[str]:
        """Every API batch id the ledger knows."""
        return {r["batch_id"] for r in self._all("SELECT batch_id FROM batches WHERE batch_id IS NOT NULL")}

    def snapshots(self, batch_id: str | None = None) -> list[Snapshot]:
        """Status snapshots, oldest first (all batches or one)."""
        sql = "SELECT * FROM snapshots" + (" WHERE batch_id=?" if batch_id else "") + " ORDER BY id"
        return [Snapshot(r["batch_id"], r["taken_at"], r["processing_status"], _loads(r["counts_json"], {}) or {},
                         r["elapsed_s"]) for r in self._all(sql, (batch_id,) if batch_id else ())]

    # --- requests ------------------------------------------------------------------------------------

    def add_standard_requests(self, run_id: str, intents: Sequence[RequestIntent]) -> list[int]:
        """Rows for requests sent through the Messages API (mode ``standard``), status ``submitted``."""
        ts = now_iso()
        with self._tx() as c:
            ids = self._insert_requests(c, run_id, None, "standard", "submitted", intents, ts)
            c.execute("UPDATE runs SET n_requests = n_requests + ? WHERE run_id=?", (len(intents), run_id))
        return ids

    def request(self, request_id: int) -> RequestRow | None:
        """A request row by its id."""
        row = self._one("SELECT * FROM requests WHERE id=?", (request_id,))
        return RequestRow.from_sql(row) if row else None

    def request_in_batch(self, batch_id: str, custom_id: str) -> RequestRow | None:
        """The request with ``custom_id`` in the API batch ``batch_id``."""
        row = self._one("SELECT * FROM requests WHERE batch_id=? AND custom_id=?", (batch_id, custom_id))
        return RequestRow.from_sql(row) if row else None

    def requests_by_custom_id(self, batch_id: str) -> dict[str, RequestRow]:
        """Every request of an API batch by custom_id, read in one query (rows of one run share one
        parsed fingerprint dict, so this stays small)."""
        shared: dict[str, Any] = {}
        out: dict[str, RequestRow] = {}
        with self._lock:
            cursor = self._conn.execute("SELECT * FROM requests WHERE batch_id=?", (batch_id,))
            for r in cursor:
                text = r["fingerprint_json"]
                if text not in shared:
                    shared[text] = _loads(text)
                row = RequestRow.from_sql(r, fingerprint=shared[text])
                out[row.custom_id] = row
        return out

    def request_in_run(self, run_id: str, custom_id: str) -> RequestRow | None:
        """The request with ``custom_id`` in a run (for standard-mode runs)."""
        row = self._one("SELECT * FROM requests WHERE run_id=? AND custom_id=? ORDER BY id DESC LIMIT 1",
                        (run_id, custom_id))
        return RequestRow.from_sql(row) if row else None

    def requests(
        self,
        *,
        batch_id: str | None = None,
        local_batch: int | None = None,
        run_id: str | None = None,
        status: str | Sequence[str] | None = None,
        rel_path: str | None = None,
    ) -> list[RequestRow]:
        """Request rows matching every filter given, in insertion order."""
        sql, args = "SELECT * FROM requests WHERE 1=1", []
        for col, value in (("batch_id", batch_id), ("local_batch", local_batch), ("run_id", run_id),
                           ("rel_path", rel_path)):
            if value is not None:
                sql += f" AND {col}=?"
                args.append(name_to_text(value) if col == "rel_path" else value)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        return [RequestRow.from_sql(r) for r in self._all(sql + " ORDER BY id", args)]

    def answered_fingerprints(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        """``(run_id, rel_path, fingerprint)`` of every succeeded request, in insertion order: what
        ``requests(status="succeeded")`` gives of them, without building whole rows (the settings of a folder
        without a settings file are read from them on every page). Equal fingerprints are parsed once."""
        parsed: dict[str, Any] = {}
        out = []
        for r in self._all("SELECT run_id, rel_path, fingerprint_json FROM requests WHERE status=? ORDER BY id",
                           (RequestStatus.SUCCEEDED,)):
            raw = r["fingerprint_json"]
            if raw not in parsed:
                parsed[raw] = _loads(raw)
            out.append((r["run_id"], text_to_name(r["rel_path"]), parsed[raw]))
        return out

    def status_counts(self, batch_id: str) -> dict[str, int]:
        """How many of a batch's requests are in each status."""
        return {r["status"]: r["n"] for r in self._all(
            "SELECT status, COUNT(*) AS n FROM requests WHERE batch_id=? GROUP BY status", (batch_id,))}

    def finish_request(
        self,
        request_id: int,
        status: str,
        *,
        usage: dict[str, Any] | None = None,
        cost_usd: float | None = None,
        error_kind: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Record a request's outcome (``succeeded`` or ``failed``) once; returns ``False`` when it
        already had one (so a re-run never counts a result twice)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"final status must be one of {FINAL_STATUSES}")
        ts = now_iso()
        with self._tx(single=True) as c:
            cur = c.execute(
                "UPDATE requests SET status=?, usage_json=?, cost_usd=?, error_kind=?, error=?, updated_at=?,"
                " done_at=? WHERE id=? AND status NOT IN ('succeeded','failed')",
                (status, json.dumps(usage) if usage is not None else None, cost_usd, error_kind, error, ts, ts,
                 request_id),
            )
            return cur.rowcount == 1

    def meta(self, key: str) -> str | None:
        """A value of the ledger's own ``meta`` table."""
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ledger's ``meta`` table."""
        with self._tx(single=True) as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def restore_answer(self, run: dict[str, Any], rel_path: str) -> bool:
        """Put back one answered request from its sidecar's ``run`` block (a ledger rebuilt after it was
        lost): its run, custom_id, batch, usage and cost, as ``succeeded``. ``False`` when it was known."""
        run_id, custom_id = str(run.get("run_id") or ""), str(run.get("custom_id") or "")
        if not run_id or not custom_id or self._one("SELECT 1 FROM requests WHERE run_id=? AND custom_id=?",
                                                    (run_id, custom_id)):
            return False
        mode = Mode.BATCH if run.get("mode") == Mode.BATCH else Mode.STANDARD
        at = str(run.get("analysed_at") or now_iso())
        usage = run.get("usage") if isinstance(run.get("usage"), dict) else None
        cost = run.get("cost_usd") if isinstance(run.get("cost_usd"), int | float) else None
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO runs(run_id, created_at, mode, model, prompt_hash, settings_json, "
                      "n_requests, note) VALUES (?,?,?,?,?,?,0,?)",
                      (run_id, at, "batch" if mode == Mode.BATCH else "standard", run.get("model"),
                       run.get("prompt_hash"), "{}", "restored from the sidecars"))
            c.execute("INSERT INTO requests(run_id, batch_id, custom_id, rel_path, set_id, timestamps_json, "
                      "prompt_hash, model, mode, status, usage_json, cost_usd, attempt, fingerprint_json, created_at,"
                      " updated_at, done_at) VALUES (?,?,?,?,?,?,?,?,?,'succeeded',?,?,?,?,?,?,?)",
                      (run_id, run.get("batch_id"), custom_id, name_to_text(rel_path), run.get("keyframe_set"),
                       json.dumps(list(run.get("keyframe_timestamps") or [])), run.get("prompt_hash"),
                       run.get("model"), mode, json.dumps(usage) if usage is not None else None, cost,
                       int(run.get("attempt") or 1), json.dumps(run.get("fingerprint"), sort_keys=True), at, at, at))
            c.execute("UPDATE runs SET n_requests = n_requests + 1 WHERE run_id=?", (run_id,))
        return True

    def rel_paths(self) -> set[str]:
        """Every video (relative path) the ledger has a request for."""
        return {text_to_name(r["rel_path"]) for r in self._all("SELECT DISTINCT rel_path FROM requests")}

    def rename_video(self, old: str, new: str) -> None:
        """A video was renamed (same content): its requests follow it to ``new``."""
        with self._tx(single=True) as c:
            c.execute("UPDATE requests SET rel_path=?, updated_at=? WHERE rel_path=?",
                      (name_to_text(new), now_iso(), name_to_text(old)))

    def set_content(self, rel_path: str, content: dict[str, Any]) -> None:
        """Record ``rel_path``'s current content on its requests (GAIA rewrote the file itself)."""
        with self._tx(single=True) as c:
            c.execute("UPDATE requests SET content_json=?, updated_at=? WHERE rel_path=? AND content_json IS NOT NULL",
                      (json.dumps(content, sort_keys=True), now_iso(), name_to_text(rel_path)))

    def add_possibly_billed(self, request_id: int, usd: float | None) -> None:
        """An attempt of this request was lost in flight (a dropped connection): the API may have billed
        it, so ``usd`` (its estimate) is added to what the request possibly cost, before it is sent again."""
        with self._tx(single=True) as c:
            c.execute("UPDATE requests SET possibly_billed_usd = COALESCE(possibly_billed_usd, 0) + ?, updated_at=? "
                      "WHERE id=?", (float(usd or 0.0), now_iso(), request_id))

    def mark_delivered(self, request_id: int) -> bool:
        """A request that failed only because its sidecar could not be written now has its sidecar:
        it becomes ``succeeded`` (its usage and cost stay); ``False`` when it was no such failure."""
        ts = now_iso()
        with self._tx(single=True) as c:
            cur = c.execute("UPDATE requests SET status='succeeded', error_kind=NULL, error=NULL, updated_at=?,"
                            " done_at=? WHERE id=? AND status='failed' AND error_kind IN ('sidecar_error', 'replaced')",
                            (ts, ts, request_id))
            return cur.rowcount == 1

    def in_flight(self) -> dict[str, RequestRow]:
        """Requests sent (or about to be) whose outcome is not known yet, by video relative path.

        Both transports count: a request in a batch awaiting results, and a run-now request whose
        answer has not been recorded (in flight in another process, or left open by a crash until
        ``gaia.runs.recovery.recover_interrupted`` closes it). A video in flight is never planned again.
        """
        rows = self._all("SELECT * FROM requests WHERE status IN ('pending','submitted') ORDER BY id")
        return {text_to_name(r["rel_path"]): RequestRow.from_sql(r) for r in rows}

    def in_flight_snapshot(self) -> tuple[str, int, dict[str, RequestRow]]:
        """The time, the last request id and the in-flight view, read together in one read transaction
        (what a plan records, so that anything sent after its view is never sent by it again)."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                at = now_iso()
                mark = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
                view = self.in_flight()
            finally:
                self._conn.execute("COMMIT")
        return at, int(mark), view

    def sent_after(self, mark: int) -> set[str]:
        """Videos with a request written after request id ``mark`` that is in flight or answered."""
        rows = self._all("SELECT DISTINCT rel_path FROM requests WHERE id > ? AND status IN "
                         "('pending','submitted','succeeded')", (mark,))
        return {text_to_name(r["rel_path"]) for r in rows}

    def sent_since(self, since: str) -> set[str]:
        """Videos (relative paths) with a request written at or after ``since`` (ISO time) that is in
        flight or answered: what a plan made at ``since`` must no longer send."""
        rows = self._all("SELECT DISTINCT rel_path FROM requests WHERE created_at >= ? AND status IN "
                         "('pending','submitted','succeeded')", (since,))
        return {text_to_name(r["rel_path"]) for r in rows}

    def failures(self) -> list[RequestRow]:
        """Failed requests that still wait for a retry, oldest first: none that a retry went for, nor any whose
        video a later request took (a new submission answered it, holds it in flight, or failed in its turn and
        is the one listed), so a retry never sends a video twice nor pays for one already answered. A tune's
        requests (runs of mode ``TUNE_MODE``: its own answers, never a sidecar) neither take nor are taken."""
        rows = self._all(
            "SELECT * FROM requests r WHERE status='failed' AND NOT EXISTS "
            "(SELECT 1 FROM requests n WHERE n.retry_of = r.id AND n.status != 'unsent') AND NOT EXISTS "
            "(SELECT 1 FROM requests n JOIN runs m ON m.run_id = n.run_id JOIN runs o ON o.run_id = r.run_id "
            " WHERE n.rel_path = r.rel_path AND n.id > r.id AND n.status != 'unsent' AND m.mode != ? AND o.mode != ?)"
            " ORDER BY id", (TUNE_MODE, TUNE_MODE))
        return [RequestRow.from_sql(r) for r in rows]

    # --- uploaded frames (Files API) -----------------------------------------------------------------

    def file_ids(self, digests: Iterable[str], *, valid_for_s: float = 0.0) -> dict[str, str]:
        """Uploaded files by content sha256, leaving out those expiring within ``valid_for_s`` seconds."""
        wanted = list(dict.fromkeys(digests))
        limit = datetime.now(UTC).timestamp() + valid_for_s
        out: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            rows = self._all(f"SELECT sha256, file_id, expires_at FROM files WHERE sha256 IN "
                             f"({','.join('?' * len(chunk))})", chunk)
            for r in rows:
                expires = parse_time(r["expires_at"])
                if expires is None or expires.timestamp() > limit:
                    out[r["sha256"]] = r["file_id"]
        return out

    def add_file(self, digest: str, file_id: str, *, nbytes: int, expires_at: str | None) -> None:
        """Remember an uploaded frame (by content sha256) so it is never uploaded twice."""
        with self._tx(single=True) as c:
            c.execute("INSERT OR REPLACE INTO files(sha256, file_id, nbytes, uploaded_at, expires_at) "
                      "VALUES (?,?,?,?,?)", (digest, file_id, nbytes, now_iso(), expires_at))

    # --- events ---------------------------------------------------------------------------------------

    def record_event(self, kind: EventKind, message: str, *, batch_id: str | None = None,
                     custom_id: str | None = None) -> None:
        """Record something that belongs to no request row (an unknown custom_id, a dropped stream)."""
        with self._tx() as c:
            c.execute("INSERT INTO events(at, kind, batch_id, custom_id, message) VALUES (?,?,?,?,?)",
                      (now_iso(), kind, batch_id, custom_id, message))

    def events(self, *, batch_id: str | None = None, kind: EventKind | None = None) -> list[Event]:
        """Recorded events, oldest first."""
        sql, args = "SELECT * FROM events WHERE 1=1", []
        if batch_id:
            sql += " AND batch_id=?"
            args.append(batch_id)
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        return [Event(r["at"], r["kind"], r["batch_id"], r["custom_id"], r["message"] or "")
                for r in self._all(sql + " ORDER BY id", args)]

    # --- history --------------------------------------------------------------------------------------

    def usage_by_group(self, *, prompt_hash: str | None = None,
                       model: str | None = None) -> Iterator[tuple[dict[str, Any], str]]:
        """Usage of every answered request with its group (the batch id, or the run id in standard mode)."""
        for row in self.usage_rows(prompt_hash=prompt_hash, model=model):
            yield row.usage, row.group

    def usage_rows(self, *, prompt_hash: str | None = None, model: str | None = None) -> Iterator[UsageRow]:
        """Every answered request's usage with its group, whether it was sent in a batch, when it ended and how
        many frames it sent."""
        sql = ("SELECT usage_json, COALESCE(batch_id, run_id) AS grp, mode, COALESCE(done_at, updated_at, created_at) "
               "AS at, error_kind, CASE WHEN json_valid(timestamps_json) THEN json_array_length(timestamps_json) END "
               "AS frames FROM requests WHERE usage_json IS NOT NULL")
        args: list[Any] = []
        for col, value in (("prompt_hash", prompt_hash), ("model", model)):
            if value:
                sql += f" AND {col}=?"
                args.append(value)
        for r in self._all(sql + " ORDER BY id", args):
            yield UsageRow(_loads(r["usage_json"], {}) or {}, r["grp"], r["mode"] == Mode.BATCH, parse_time(r["at"]),
                           cut_off=r["error_kind"] == CUT_OFF_KIND, frames=r["frames"])

    def batch_durations(self, *, model: str | None = None,
                        prompt_hash: str | None = None) -> list[tuple[int, float, str]]:
        """Ended batches as ``(requests, seconds from created to ended, batch_id)``, oldest first."""
        sql, args = ("SELECT b.batch_id, b.n_requests, b.created_at, b.ended_at FROM batches b "
                     "WHERE b.ended_at IS NOT NULL AND b.created_at IS NOT NULL"), []
        for col, value in (("model", model), ("prompt_hash", prompt_hash)):
            if value:
                sql += f" AND EXISTS (SELECT 1 FROM requests r WHERE r.batch_id=b.batch_id AND r.{col}=?)"
                args.append(value)
        out = []
        for r in self._all(sql + " ORDER BY b.local_id", args):
            start, end = parse_time(r["created_at"]), parse_time(r["ended_at"])
            if start and end:
                out.append((int(r["n_requests"]), (end - start).total_seconds(), r["batch_id"]))
        return out

    def unbilled_by_batch(self) -> dict[str, tuple[int, int]]:
        """Per batch: ``(requests, requests never processed)``; canceled or expired requests are not billed."""
        rows = self._all(
            "SELECT batch_id, COUNT(*) AS n, SUM(CASE WHEN error_kind IN ('canceled', 'expired') THEN 1 ELSE 0 END) "
            "AS unbilled FROM requests WHERE batch_id IS NOT NULL GROUP BY batch_id")
        return {r["batch_id"]: (int(r["n"]), int(r["unbilled"] or 0)) for r in rows}

    def cost_by_batch(self) -> list[tuple[str, float | None, float]]:
        """Per batch: ``(batch_id, estimate at submit in USD, actual cost so far in USD)``."""
        rows = self._all(
            "SELECT b.batch_id, b.estimate_usd, COALESCE(SUM(r.cost_usd), 0) AS actual FROM batches b "
            "LEFT JOIN requests r ON r.batch_id = b.batch_id WHERE b.batch_id IS NOT NULL "
            "GROUP BY b.local_id ORDER BY b.local_id")
        return [(r["batch_id"], r["estimate_usd"], float(r["actual"])) for r in rows]
