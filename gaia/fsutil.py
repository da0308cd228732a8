"""Atomic file writes and forgiving JSON reads: the one implementation every module uses.

A write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
the target, so a crash or a full disk at any moment leaves either the old file or the new one,
never a mix; the temporary file is removed on failure. The file keeps the mode of the one it
replaces, and a new file gets the usual mode for the user's umask (``mkstemp`` alone would make
every sidecar 0600, unreadable to colleagues sharing the folder).

``disk_full`` is the one test for "the disk is full" (SQLite's "database or disk is full", or
``ENOSPC``/``EDQUOT``), so every command stops with one plain message (``DISK_FULL``) instead of
looping or printing a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

DISK_FULL = ("The disk is full ({cause}), so GAIA stopped. Nothing already recorded is lost: free some space on "
             "the disk holding {where} and run the command again.")
_umask_lock = threading.Lock()


# Less free space than this on the disk a vague I/O error came from counts as a full disk.
NEARLY_FULL_BYTES = 1 << 20


def disk_full(exc: BaseException, where: Path | str | None = None) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full.

    SQLite says "database or disk is full", except when it cannot even grow its shared-memory file,
    where it says "disk I/O error": given ``where``, that counts when its disk is (nearly) full.
    """
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "disk is full" in text:
            return True
        if "disk i/o error" in text and where is not None:
            with contextlib.suppress(OSError):
                return shutil.disk_usage(where).free < NEARLY_FULL_BYTES
        return False
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def new_file_mode() -> int:
    """The mode a newly created file gets under the current umask (0644 for the usual 022)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return new_file_mode()


TEMP_SUFFIX = ".tmp"
# A temporary name keeps at most this many bytes of the target's name, so it always fits where the
# target fits (255 bytes per name on every common file system; mkstemp adds 8 random characters).
_TEMP_NAME_BYTES = 200


def temp_prefix(path: Path) -> str:
    """The prefix of ``path``'s temporary files: a dot and its name, shortened to fit (a name of 240
    bytes still gets its temporary file), so ``clean_temporaries`` knows them."""
    name = path.name
    if len(name.encode("utf-8", "surrogateescape")) > _TEMP_NAME_BYTES:
        name = name.encode("utf-8", "surrogateescape")[:_TEMP_NAME_BYTES].decode("utf-8", "ignore")
    return f".{name}."


_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def clean_temporaries(directory: Path, *, older_than_s: float = 3600.0) -> int:
    """Remove temporary files an interrupted ``atomic_write`` left in ``directory`` (``.<name>.<8
    random>.tmp``, untouched for ``older_than_s``); returns how many. Never follows a link."""
    removed = 0
    limit = time.time() - older_than_s
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            name = entry.name
            if not _TEMP_NAME.match(name) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
    return removed


def atomic_write(path: Path, write: Callable[[IO[Any]], object], *, binary: bool = False,
                 sync_dir: bool = False) -> None:
    """Create or replace ``path`` atomically with what ``write(fh)`` writes to an open file.

    A replaced file keeps its mode; a new one gets the umask's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, mode)
        fh: IO[Any]
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:  # make the rename itself durable
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def atomic_write_text(path: Path, text: str, *, sync_dir: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(text), sync_dir=sync_dir)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(data), binary=True)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    atomic_write(path, lambda fh: json.dump(data, fh, indent=1, ensure_ascii=False))


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file, returning ``default`` when it is missing or damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
