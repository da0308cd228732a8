"""Batch bodies: splitting a run into batches by bytes and count, and streaming a body to and from disk.

``split_batches`` cuts a sequence of request sizes into batches under the API's limits (with the
``BATCH_BYTES_SAFETY`` margin); ``write_batch_body`` writes one body from request lines, one line in
memory at a time, fsynced; ``SpoolBody`` streams it back as the POST's content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gaia.facts import BATCH_MAX_BYTES, BATCH_MAX_REQUESTS

# Split batches this far under the API's byte limit (JSON framing, headers and rounding).
BATCH_BYTES_SAFETY = 0.98
_BODY_OPEN = b'{"requests":['
_BODY_CLOSE = b"]}"


@dataclass(frozen=True)
class BatchSlice:
    """One batch of a split: which items (by index in the input order), their body size, why it ended."""

    start: int
    stop: int
    nbytes: int
    reason: str  # "bytes": the next request would pass the byte limit; "count": the request limit; "end"

    @property
    def count(self) -> int:
        """Number of requests in the batch."""
        return self.stop - self.start


def batch_byte_budget(max_bytes: int | None = None) -> int:
    """The byte size GAIA fills a batch body up to: the API limit less a safety margin."""
    return int((max_bytes or BATCH_MAX_BYTES) * BATCH_BYTES_SAFETY)


def split_batches(
    sizes: Iterable[int],
    *,
    max_bytes: int | None = None,
    max_requests: int | None = None,
) -> list[BatchSlice]:
    """Cut a stream of request sizes into consecutive batches under the byte and count limits.

    ``max_bytes`` is the body limit before the safety margin (``BATCH_MAX_BYTES`` by default);
    ``max_requests`` defaults to ``BATCH_MAX_REQUESTS``. A request larger than a batch on its own
    still gets a batch of its own (validation reports it separately).
    """
    budget = batch_byte_budget(max_bytes)
    limit = max_requests or BATCH_MAX_REQUESTS
    out: list[BatchSlice] = []
    start = 0
    body = len(_BODY_OPEN) + len(_BODY_CLOSE)
    i = -1
    for i, size in enumerate(sizes):
        extra = size + (1 if i > start else 0)
        count = i - start
        if count and (body + extra > budget or count >= limit):
            out.append(BatchSlice(start, i, body, "bytes" if body + extra > budget else "count"))
            start = i
            body = len(_BODY_OPEN) + len(_BODY_CLOSE)
            extra = size
        body += extra
    if i >= start:
        out.append(BatchSlice(start, i + 1, body, "end"))
    return out


def write_batch_body(lines: Iterable[bytes], path: Path) -> tuple[int, int]:
    """Write ``{"requests":[...]}`` to ``path`` from serialized requests, one at a time.

    Returns (requests written, bytes written). The file is fsynced so a crash cannot leave a
    half-written body behind a recorded intent.
    """
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(_BODY_OPEN)
        for line in lines:
            if count:
                fh.write(b",")
            fh.write(line)
            count += 1
        fh.write(_BODY_CLOSE)
        fh.flush()
        os.fsync(fh.fileno())
        size = fh.tell()
    return count, size


class SpoolBody:
    """A request body on disk that the SDK streams (re-readable on retries, with a Content-Length)."""

    CHUNK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while chunk := fh.read(self.CHUNK):
                yield chunk

    # httpx asks for the remaining length through tell()/seek() to send Content-Length.
    def tell(self) -> int:
        """Always at the start: each iteration reads the whole file."""
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        """Report the size for ``seek(0, SEEK_END)``; any other seek is a no-op at the start."""
        return self.size if whence == 2 else 0
