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

import base64
import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import urllib.parse
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

    A replaced file keeps its mode; a new one gets the umask's. Text is written as UTF-8, a file
    name's undecodable bytes (surrogate escapes) as the bytes they stand for.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, mode)
        fh: IO[Any]
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
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
    """Write ``data`` as JSON to ``path`` atomically (file names that are not UTF-8 kept losslessly, see
    ``dumps_json``)."""
    text = dumps_json(data, indent=1)
    atomic_write(path, lambda fh: fh.write(text))


# --- file names of any bytes -----------------------------------------------------------------------
# Python holds a file name that is not valid UTF-8 (b"caf\xe9.mp4" from a Latin-1 system) as a str with
# lone surrogates ("caf\udce9.mp4", PEP 383). Such a str cannot be encoded as UTF-8, so JSON written as
# UTF-8, SQLite and HTTP bodies refuse it. These helpers are the one way GAIA stores and shows names.

NAME_TEXT_PREFIX = "\x00fs:"  # a file name can never hold NUL, so no real name starts with this


def is_utf8_name(name: str) -> bool:
    """Whether ``name`` (a str from the file system) is valid UTF-8, i.e. holds no escaped bytes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_to_text(name: str) -> str:
    """A text form of any file name that every store takes (SQLite, JSON, HTTP): the name itself when it is
    UTF-8, else ``NAME_TEXT_PREFIX`` plus the base64 of its bytes. ``text_to_name`` gives it back exactly."""
    if is_utf8_name(name):
        return name
    return NAME_TEXT_PREFIX + base64.urlsafe_b64encode(os.fsencode(name)).decode("ascii")


def text_to_name(text: str) -> str:
    """The file name ``name_to_text`` stored as ``text`` (any other text is returned as it is)."""
    if text.startswith(NAME_TEXT_PREFIX):
        try:
            return os.fsdecode(base64.urlsafe_b64decode(text[len(NAME_TEXT_PREFIX):].encode("ascii")))
        except (ValueError, UnicodeError):
            return text
    return text


def dumps_json(data: Any, *, indent: int | None = None, **kwargs: Any) -> str:
    """``data`` as JSON text that can always be written as UTF-8.

    Non-ASCII text is written as it is, except when some string holds a file name's undecodable
    bytes (lone surrogates): then the document is written with ASCII escapes (``"caf\\udce9.mp4"``),
    which ``json.loads`` reads back to the very same str, so the name round-trips losslessly.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, **kwargs)
    if is_utf8_name(text):
        return text
    return json.dumps(data, indent=indent, ensure_ascii=True, **kwargs)


# The longest file name (bytes) GAIA writes: 255, less what ``atomic_write``'s temporary file adds
# (".<name>." before and 8 random characters and ".tmp" after), so the temporary file fits too.
NAME_MAX = 255
WRITABLE_NAME_BYTES = NAME_MAX - 14


def fit_name(stem: str, suffix: str) -> str:
    """``stem + suffix`` when its bytes fit ``WRITABLE_NAME_BYTES``, else the stem cut short (whole characters)
    plus ``~`` and 8 hex of the whole stem's hash, then ``suffix``: a name of the same length for every
    long stem, one per stem. Only names no file system could hold with their temporary file are shortened,
    so every name GAIA wrote before stays the same."""
    if len(os.fsencode(stem + suffix)) <= WRITABLE_NAME_BYTES:
        return stem + suffix
    raw = os.fsencode(stem)
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    room = WRITABLE_NAME_BYTES - len(os.fsencode(tag + suffix))
    cut = raw[:room]
    while cut:
        try:  # never split a UTF-8 character (undecodable bytes are kept as they are)
            cut.decode("utf-8", "surrogateescape")
            if os.fsencode(os.fsdecode(cut)) == cut:
                break
        except UnicodeDecodeError:
            pass
        cut = cut[:-1]
    return os.fsdecode(cut) + tag + suffix


def name_as_uri(name: str) -> str:
    """A path as UTF-8 text for files that must be UTF-8 (Camtrap DP's tables): itself when it is UTF-8,
    else every byte outside ASCII letters, digits and ``/._-~`` percent-encoded, as in a URL (``caf%E9.mp4``)."""
    if is_utf8_name(name):
        return name
    return urllib.parse.quote(os.fsencode(name), safe="/")


def display_name(name: str | os.PathLike[str]) -> str:
    """A file name or path as one printable line: undecodable bytes as ``\\xe9``, control characters
    (a newline, a tab, an escape) as ``\\n``, ``\\t``, ``\\x1b``, and a backslash doubled when anything was escaped."""
    text = os.fspath(name)
    if is_utf8_name(text) and text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file, returning ``default`` when it is missing or damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
