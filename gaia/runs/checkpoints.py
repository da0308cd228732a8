"""Checkpoints: the named moments of a run where a crash would matter, as an injected object.

Submission and retrieval call ``checkpoints.reached(Checkpoint.X)`` at each moment after which
the on-disk state must already be consistent (spool written, intent written, batch created, ...).
The default object does nothing. Crash tests pass their own (for example one that kills the
process the N-th time a point is reached) instead of product code reading a test-only variable.
"""

from __future__ import annotations

from enum import StrEnum


class Checkpoint(StrEnum):
    """The moments of a run that crash tests stop at."""

    SPOOL_WRITTEN = "spool_written"
    INTENT_WRITTEN = "intent_written"
    BATCH_CREATED = "batch_created"
    BATCH_RECORDED = "batch_recorded"
    RESULT_RECEIVED = "result_received"
    SIDECAR_WRITTEN = "sidecar_written"
    RESULT_RECORDED = "result_recorded"
    ONLINE_ROW_WRITTEN = "online_row_written"
    ONLINE_ANSWER_RECEIVED = "online_answer_received"
    ONLINE_ANSWER_SPOOLED = "online_answer_spooled"
    ONLINE_RECORDED = "online_recorded"


class Checkpoints:
    """Called at every checkpoint; does nothing. Subclass it (in tests) to observe or stop a run."""

    def reached(self, point: Checkpoint) -> None:
        """The run has reached ``point``; everything before it is on disk."""


NO_CHECKPOINTS = Checkpoints()
