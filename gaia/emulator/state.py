"""The emulator's durable state under ``state_dir``: batches, their requests and results, the cache.

Layout: ``batches/<id>/meta.json`` (the batch record, rewritten atomically), ``requests.jsonl``
(the submitted requests, one per line, written once), ``results.jsonl`` (written atomically when
the batch ends), and ``cache.json`` (prompt-cache entries with their expiry). A stopped and
restarted emulator on the same directory knows every batch and result it had.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gaia.fsutil import atomic_write, atomic_write_bytes, atomic_write_json, read_json


class Store:
    """Batch records in memory, mirrored to files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.batches_dir = self.root / "batches"
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.metas: dict[str, dict[str, Any]] = {}
        for meta_file in self.batches_dir.glob("*/meta.json"):
            meta = read_json(meta_file)
            if isinstance(meta, dict) and "id" in meta:
                self.metas[meta["id"]] = meta
        self.next_seq = 1 + max((int(m.get("seq", 0)) for m in self.metas.values()), default=0)

    def batch_dir(self, batch_id: str) -> Path:
        """Folder holding one batch's files."""
        return self.batches_dir / batch_id

    def save_meta(self, meta: dict[str, Any]) -> None:
        """Record a batch (atomically) and keep it in memory."""
        atomic_write_json(self.batch_dir(meta["id"]) / "meta.json", meta)
        self.metas[meta["id"]] = meta

    def write_requests(self, batch_id: str, requests: list[dict[str, Any]]) -> None:
        """Store a new batch's requests as JSONL (temporary file, then rename)."""
        self._write_lines(self.batch_dir(batch_id) / "requests.jsonl",
                          (json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in requests))

    def iter_requests(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The stored requests of a batch, one at a time, in submission order."""
        with (self.batch_dir(batch_id) / "requests.jsonl").open("r", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def results_path(self, batch_id: str) -> Path:
        """Where an ended batch's results JSONL lives."""
        return self.batch_dir(batch_id) / "results.jsonl"

    def delete(self, batch_id: str) -> None:
        """Forget a batch and remove its files."""
        self.metas.pop(batch_id, None)
        shutil.rmtree(self.batch_dir(batch_id), ignore_errors=True)

    @staticmethod
    def _write_lines(path: Path, lines: Iterator[str]) -> None:
        atomic_write(path, lambda fh: fh.writelines(line + "\n" for line in lines))

    def write_permuted(self, path: Path, source: Path, offsets: list[tuple[int, int]]) -> None:
        """Copy the lines of ``source`` (given as ``(offset, length)`` in the wanted order) to ``path``."""
        def lines() -> Iterator[str]:
            with source.open("rb") as fh:
                for offset, length in offsets:
                    fh.seek(offset)
                    yield fh.read(length).decode("utf-8").rstrip("\n")
        self._write_lines(path, lines())


class CacheStore:
    """Prompt-cache entries (key → expiry time), persisted to ``cache.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        data = read_json(path, {})
        self.entries: dict[str, float] = data if isinstance(data, dict) else {}

    def alive(self, key: str, now: float) -> bool:
        """Whether ``key`` is cached and not expired at ``now``."""
        return self.entries.get(key, 0.0) > now

    def put(self, key: str, ttl: str, now: float) -> None:
        """Write or refresh an entry for its TTL (``"5m"`` or ``"1h"``)."""
        seconds = 3600.0 if ttl == "1h" else 300.0
        self.entries[key] = max(self.entries.get(key, 0.0), now + seconds)

    def save(self, now: float) -> None:
        """Drop expired entries and write the rest atomically."""
        self.entries = {k: v for k, v in self.entries.items() if v > now}
        atomic_write_json(self.path, self.entries)


class FileStore:
    """Files uploaded through the Files API: ``files/<id>.json`` (metadata) and ``files/<id>.bin``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()

    def save(self, meta: dict[str, Any], data: bytes) -> None:
        """Store a new file (bytes first, then its metadata, each atomically)."""
        atomic_write_bytes(self.root / f"{meta['id']}.bin", data)
        atomic_write_json(self.root / f"{meta['id']}.json", meta)

    def meta(self, file_id: str) -> dict[str, Any] | None:
        """A file's metadata, or ``None``."""
        if not file_id.replace("_", "").isalnum():
            return None
        data = read_json(self.root / f"{file_id}.json")
        return data if isinstance(data, dict) else None

    def data(self, file_id: str) -> bytes:
        """A stored file's bytes."""
        return (self.root / f"{file_id}.bin").read_bytes()

    def all(self) -> list[dict[str, Any]]:
        """Every file's metadata, newest first."""
        metas = [read_json(p) for p in self.root.glob("*.json")]
        return sorted((m for m in metas if isinstance(m, dict)), key=lambda m: -float(m.get("created", 0)))

    def delete(self, file_id: str) -> None:
        """Remove a file."""
        for suffix in (".json", ".bin"):
            (self.root / f"{file_id}{suffix}").unlink(missing_ok=True)
