"""The recorder: the one way an answer becomes a sidecar and a ledger row, for every transport.

Batch retrieval, run now, crash recovery and the prompt trial all record through ``Recorder``:
the answer is checked against its prompt profile's schema and priced (``check``), its sidecar is
written (``write``, safe on a worker thread: it touches only that video's sidecar) and only then
is the ledger row closed (``finish``), so a crash between the two is repaired by recording again.
A sidecar that already holds this very request's answer is not written again (``holds_answer``,
the one "already written" check). A valid answer whose sidecar cannot be written is parked in
the working folder's ``unwritten/`` and the failure says where (``park_unwritten``, the one place);
so is an answer whose video was deleted or renamed after it was sent (never written under the old
name). ``deliver_parked`` writes parked answers once their sidecars can be written (``gaia
retrieve`` and every plan run it), so an answer paid for is delivered, never bought again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia.api.answers import AnswerChecker, parse_answer
from gaia.api.client import field
from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, disk_full
from gaia.ledger import Ledger, Mode, RequestRow, RequestStatus, now_iso
from gaia.media.identity import replaced_reason
from gaia.pricing.models import usage_cost
from gaia.prompts import ProfileNotFound
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoint, Checkpoints
from gaia.runs.escalation import CascadePass, cascade_block, uncertain
from gaia.sidecar import RunBlock, SidecarError, read_sidecar, write_sidecar

UNWRITTEN_DIR = "unwritten"


class ErrorKind(StrEnum):
    """Why a request has no answer (the ledger's ``error_kind``; API errors add ``errored:<type>``)."""

    INVALID_ANSWER = "invalid_answer"
    REFUSAL = "refusal"
    MAX_TOKENS = "max_tokens"
    SIDECAR_ERROR = "sidecar_error"
    REPLACED = "replaced"  # the video's content changed after it was sent: the answer is parked
    EXPIRED = "expired"
    CANCELED = "canceled"
    MISSING = "missing"
    RESULTS_EXPIRED = "results_expired"
    UNKNOWN_RESULT = "unknown_result"
    INTERRUPTED = "interrupted"
    CONNECTION_ERROR = "connection_error"
    UNEXPECTED = "unexpected"


class Written(StrEnum):
    """What writing one answer's sidecar did."""

    WRITTEN = "written"
    ALREADY = "already"  # the sidecar already held this very answer (a re-run after a crash)
    ERROR = "error"
    REPLACED = "replaced"  # parked: the video was replaced after it was sent


@dataclass(frozen=True)
class RequestOutcome:
    """What became of one request: a sidecar written, or a failure with its reason."""

    request_id: int
    custom_id: str
    rel_path: str
    status: RequestStatus
    error_kind: str | None = None
    error: str | None = None
    cost_usd: float | None = None
    sidecar: Path | None = None
    already_written: bool = False  # the sidecar already held this answer (a re-run after a crash)

    @property
    def succeeded(self) -> bool:
        """Whether the answer is in its sidecar."""
        return self.status == RequestStatus.SUCCEEDED

    @classmethod
    def of_row(cls, row: RequestRow) -> RequestOutcome:
        """The outcome a closed ledger row records."""
        return cls(row.id, row.custom_id, row.rel_path, row.status, row.error_kind, row.error, row.cost_usd)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rel_path": self.rel_path, "custom_id": self.custom_id, "request_id": self.request_id,
                "status": str(self.status), "error_kind": self.error_kind, "error": self.error,
                "cost_usd": self.cost_usd, "sidecar": str(self.sidecar) if self.sidecar else None}


@dataclass
class Answer:
    """One answer checked and priced, on its way to a sidecar (``problem`` set when it failed its checks)."""

    row: RequestRow
    usage: dict[str, Any] | None
    cost: float | None
    analysis: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    kind: str | None = None
    problem: str | None = None
    extra: dict[str, Any] | None = None  # more top-level sidecar keys written with the answer (a cascade's record)


def price_usage(usage: dict[str, Any] | None, model: str, *, batch: bool) -> float | None:
    """USD for one answer's usage (``gaia.pricing.models.usage_cost``), ``None`` when it cannot be priced."""
    if not usage:
        return None
    try:
        return float(usage_cost(usage, model, batch=batch).total_usd)
    except Exception:  # an unknown model or odd usage: the answer is still recorded, unpriced
        return None


def holds_answer(sidecar: dict[str, Any] | None, row: RequestRow) -> bool:
    """Whether ``sidecar`` already holds the answer to this very ledger row (the one such check)."""
    prior = RunBlock.of(sidecar)
    return ("analysis" in (sidecar or {}) and prior.request_id == row.id
            and prior.custom_id == row.custom_id and prior.run_id == row.run_id)


@dataclass(frozen=True)
class ParkedAnswer:
    """A paid answer kept in the working folder's ``unwritten/`` because its sidecar could not be
    written: which video, why, where it is kept, and the answer itself."""

    rel_path: str
    reason: str
    path: Path
    request_id: int | None
    analysis: dict[str, Any] | None
    parked_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without the answer itself)."""
        return {"rel_path": self.rel_path, "reason": self.reason, "path": str(self.path),
                "request_id": self.request_id, "parked_at": self.parked_at}


def park_unwritten(folder: Folder, row: RequestRow, analysis: dict[str, Any], run: dict[str, Any],
                   reason: str = "") -> Path:
    """Keep a valid answer whose sidecar could not be written in the working folder's ``unwritten/``
    with ``reason``; returns where (the real path, which the failure's reason names)."""
    path = folder.workdir / UNWRITTEN_DIR / f"{row.custom_id}-{row.id}.json"
    atomic_write_json(path, {"rel_path": row.rel_path, "reason": reason, "parked_at": now_iso(),
                             "analysis": analysis, "run": run})
    return path


def parked_answers(folder: Folder | Path | str) -> list[ParkedAnswer]:
    """Every paid answer waiting in ``unwritten/`` for its sidecar, oldest file name first (what
    ``status``, ``retrieve`` and the pages show, and ``deliver_parked`` delivers)."""
    folder = Folder.of(folder)
    box = folder.existing_workdir() / UNWRITTEN_DIR
    out: list[ParkedAnswer] = []
    for path in sorted(box.glob("*.json")) if box.is_dir() else ():
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        if not isinstance(kept, dict):
            kept = {}
        run = kept.get("run") if isinstance(kept.get("run"), dict) else {}
        rid = run.get("request_id")
        out.append(ParkedAnswer(str(kept.get("rel_path") or "?"), str(kept.get("reason") or
                                "its sidecar could not be written"), path,
                                rid if isinstance(rid, int) else None,
                                kept.get("analysis") if isinstance(kept.get("analysis"), dict) else None,
                                kept.get("parked_at")))
    return out


def deliver_parked(folder: Folder, ledger: Ledger) -> list[RequestOutcome]:
    """Write every parked answer whose sidecar can now be written, and mark its request succeeded.

    An answer is skipped (and kept) while its video is missing or its sidecar still cannot be
    written; it is dropped when a later request of the same video already succeeded (its answer
    is newer). Returns the requests delivered.
    """
    out: list[RequestOutcome] = []
    for parked in parked_answers(folder):
        path = parked.path
        row = ledger.request(parked.request_id) if parked.request_id is not None else None
        if row is None or parked.analysis is None:
            continue
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        newer = [r for r in ledger.requests(rel_path=row.rel_path, status=RequestStatus.SUCCEEDED) if r.id > row.id]
        video = folder.video(row.rel_path)
        if not newer:
            if not video.is_file() or replaced_reason(video, row.content):
                continue
            try:
                write_sidecar(video, {"analysis": kept.get("analysis"), "run": kept.get("run")})
            except SidecarError:
                continue
            ledger.mark_delivered(row.id)
            out.append(RequestOutcome(row.id, row.custom_id, row.rel_path, RequestStatus.SUCCEEDED,
                                      cost_usd=row.cost_usd, sidecar=folder.sidecar(row.rel_path)))
        path.unlink(missing_ok=True)
    return out


def _usage(usage: Any) -> dict[str, Any] | None:
    """An answer's usage as the sidecar keeps it (an SDK object without its unset fields)."""
    if usage is None or isinstance(usage, dict):
        return usage
    return usage.model_dump(mode="json", exclude_none=True)


def _run_record(row: RequestRow, message: Any, usage: dict[str, Any] | None, cost: float | None) -> dict[str, Any]:
    return {
        "model": field(message, "model") or row.model or "", "prompt_hash": row.prompt_hash,
        "fingerprint": row.fingerprint, "keyframe_set": row.set_id, "keyframe_timestamps": list(row.timestamps),
        "mode": row.mode, "batch_id": row.batch_id, "custom_id": row.custom_id, "request_id": row.id,
        "run_id": row.run_id, "message_id": field(message, "id"), "attempt": row.attempt, "usage": usage,
        "cost_usd": cost, "analysed_at": now_iso(),
    }


class Recorder:
    """Records answers and failures of one folder into its sidecars and ``ledger``."""

    def __init__(self, folder: Folder | Path | str, ledger: Ledger, *,
                 checkpoints: Checkpoints = NO_CHECKPOINTS) -> None:
        self.folder = Folder.of(folder)
        self.ledger = ledger
        self.checkpoints = checkpoints
        self._schemas: dict[str, tuple[dict[str, Any] | None, AnswerChecker | None]] = {}
        self._passes: dict[str, CascadePass | None] = {}

    def schema(self, prompt_hash: str | None) -> tuple[dict[str, Any] | None, AnswerChecker | None]:
        """The output schema and its checker for a prompt hash (``None`` when that profile is gone)."""
        key = prompt_hash or ""
        if key not in self._schemas:
            try:
                schema: dict[str, Any] | None = self.folder.profile(key).schema if key else None
            except ProfileNotFound:
                schema = None
            self._schemas[key] = (schema, AnswerChecker(schema) if schema is not None else None)
        return self._schemas[key]

    def use_schema(self, prompt_hash: str, schema: dict[str, Any]) -> None:
        """Check answers of ``prompt_hash`` against ``schema`` (a run that has its profile in hand)."""
        self._schemas[prompt_hash] = (schema, AnswerChecker(schema))

    def check(self, row: RequestRow, message: Any) -> Answer:
        """Validate and price one answer (an SDK ``Message`` or its dict) for ``row``."""
        usage = _usage(field(message, "usage"))
        cost = price_usage(usage, row.model or "", batch=row.mode == Mode.BATCH)
        schema, checker = self.schema(row.prompt_hash)
        if schema is None:
            return Answer(row, usage, cost, kind=ErrorKind.INVALID_ANSWER, problem=(
                "The prompt profile this request was sent with is no longer saved, so the answer cannot be checked."))
        analysis, problem = parse_answer(message, schema, validator=checker)
        if problem is not None or analysis is None:
            kind = {"refusal": ErrorKind.REFUSAL, "max_tokens": ErrorKind.MAX_TOKENS}.get(
                field(message, "stop_reason") or "", ErrorKind.INVALID_ANSWER)
            return Answer(row, usage, cost, kind=kind, problem=problem)
        run = _run_record(row, message, usage, cost)
        return Answer(row, usage, cost, analysis=analysis, run=run, extra=self._cascade(row, analysis, run, schema))

    def _cascade(self, row: RequestRow, analysis: dict[str, Any], run: dict[str, Any],
                 schema: dict[str, Any]) -> dict[str, Any] | None:
        """A batch cascade's first answer carries its record (escalated or kept), written with it in one go, so
        no process ever sees a cheap answer without knowing whether it stands for the strong settings."""
        if row.run_id not in self._passes:
            stored = self.ledger.run(row.run_id)
            self._passes[row.run_id] = CascadePass.of(stored.settings) if stored is not None else None
        step = self._passes[row.run_id]
        if step is None or step.number != 1:
            return None
        return cascade_block(analysis, run, cheap_model=step.cheap_model, cheap_preset=step.cheap_preset,
                             reason=uncertain(analysis, schema), stands_for=step.stands_for(row.prompt_hash or ""))

    def write(self, answer: Answer) -> tuple[Written, str | None]:
        """Write the sidecar unless it already holds this very answer (thread-safe; no ledger access).

        Whatever stops the write (a damaged or non-UTF-8 sidecar, a read-only folder, a name too
        long, a video gone or replaced), the paid answer is parked with the reason, never dropped.
        """
        row = answer.row
        video = self.folder.path / row.rel_path
        try:
            existing = read_sidecar(video)
        except SidecarError:
            existing = None
        if holds_answer(existing, row):
            return Written.ALREADY, None
        if not video.is_file():  # deleted or renamed since it was sent: never written under the old name
            return self._park(answer, f"{row.rel_path} is no longer in the folder (deleted or renamed after it "
                                      "was sent), so its sidecar was not written")
        changed = replaced_reason(video, row.content)
        if changed:
            return Written.REPLACED, self._park(answer, changed)[1]
        try:
            write_sidecar(video, {"analysis": answer.analysis, "run": answer.run, **(answer.extra or {})})
        except SidecarError as exc:
            return self._park(answer, f"The answer is valid but its sidecar could not be written ({exc})")
        except (OSError, ValueError) as exc:
            if disk_full(exc):  # not this answer's problem: stop everything, lose nothing
                raise
            return self._park(answer, f"The answer is valid but its sidecar could not be written ({exc})")
        return Written.WRITTEN, None

    def _park(self, answer: Answer, reason: str) -> tuple[Written, str]:
        kept = park_unwritten(self.folder, answer.row, answer.analysis or {}, answer.run or {}, reason)
        return Written.ERROR, f"{reason}; the answer is kept in {kept} and `gaia retrieve` writes it once the " \
                              "cause is gone."

    def fail(self, row: RequestRow, kind: str, reason: str, *, usage: dict[str, Any] | None = None,
             cost: float | None = None) -> RequestOutcome:
        """Record ``row`` as failed (once); returns what the ledger now holds."""
        if self.ledger.finish_request(row.id, RequestStatus.FAILED, usage=usage, cost_usd=cost, error_kind=kind,
                                      error=reason):
            return RequestOutcome(row.id, row.custom_id, row.rel_path, RequestStatus.FAILED, kind, reason, cost)
        return RequestOutcome.of_row(self.ledger.request(row.id) or row)

    def finish(self, answer: Answer, written: tuple[Written, str | None] | None) -> RequestOutcome:
        """Close the ledger row after the sidecar write (``written``; ``None`` when the answer failed its checks)."""
        row = answer.row
        if written is None:
            return self.fail(row, answer.kind or ErrorKind.INVALID_ANSWER, answer.problem or "",
                             usage=answer.usage, cost=answer.cost)
        state, error = written
        if state in (Written.ERROR, Written.REPLACED):
            kind = ErrorKind.REPLACED if state == Written.REPLACED else ErrorKind.SIDECAR_ERROR
            return self.fail(row, kind, error or "", usage=answer.usage, cost=answer.cost)
        self.checkpoints.reached(Checkpoint.SIDECAR_WRITTEN)
        self.ledger.finish_request(row.id, RequestStatus.SUCCEEDED, usage=answer.usage, cost_usd=answer.cost)
        return RequestOutcome(row.id, row.custom_id, row.rel_path, RequestStatus.SUCCEEDED, cost_usd=answer.cost,
                              sidecar=self.folder.sidecar(row.rel_path), already_written=state == Written.ALREADY)

    def record(self, row: RequestRow, message: Any) -> RequestOutcome:
        """Check, write and close one answer on the calling thread (run now, recovery, trials)."""
        if row.done:
            return RequestOutcome.of_row(row)
        answer = self.check(row, message)
        return self.finish(answer, self.write(answer) if answer.problem is None else None)

    def close_if_written(self, row: RequestRow) -> RequestOutcome | None:
        """Close ``row`` as succeeded when its sidecar already holds its answer (recovery); else ``None``."""
        try:
            existing = read_sidecar(self.folder.path / row.rel_path)
        except SidecarError:
            return None
        if not holds_answer(existing, row):
            return None
        prior = RunBlock.of(existing)
        self.ledger.finish_request(row.id, RequestStatus.SUCCEEDED, usage=prior.usage, cost_usd=prior.cost_usd)
        return RequestOutcome(row.id, row.custom_id, row.rel_path, RequestStatus.SUCCEEDED,
                              cost_usd=prior.cost_usd, already_written=True)


def record_message(
    folder: Folder | Path | str,
    ledger: Ledger,
    row: RequestRow,
    message: Any,
    *,
    schema: dict[str, Any] | None = None,
    validator: Any | None = None,
) -> RequestOutcome:
    """Turn one answer (an SDK ``Message`` or its dict) into a sidecar and a ledger outcome.

    Shared by every transport (the row's ``mode`` decides batch or standard prices). The answer
    is validated against ``schema`` (the row's prompt profile's when not given); a refusal, a
    cut-off answer or an invalid one becomes a failure (billed, so its usage and cost are
    recorded). The sidecar is written before the row is marked done; a sidecar that already holds
    this very request's answer is not written again. If the sidecar cannot be written, the answer
    is kept in ``.gaia/unwritten/`` and the failure says where. ``validator`` is accepted for
    compatibility (a checker is built from ``schema``).
    """
    recorder = Recorder(folder, ledger)
    if schema is not None:
        recorder.use_schema(row.prompt_hash or "", schema)
    return recorder.record(row, message)
