"""The HTTP layer: a threaded stdlib server on 127.0.0.1 speaking the API's wire format.

Routes map to ``Emulator`` methods; every reply carries a ``request-id`` header; errors use the
API's JSON shape; results stream as chunked ``application/x-jsonl``. Calls need an ``x-api-key``
or ``Authorization: Bearer`` header (any value), as the SDK 2.13 sends the latter. Injected HTTP
faults are checked after authentication, so a 429 looks like the real one, ``retry-after`` included.
"""

from __future__ import annotations

import contextlib
import email.policy
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from gaia.emulator.core import Emulator
from gaia.emulator.errors import ApiError, invalid, new_request_id, not_found
from gaia.emulator.validate import check_api_version

log = logging.getLogger(__name__)
_ID = r"(?P<id>[A-Za-z0-9_.:-]+)"

# (method, pattern, route name, handler name)
ROUTE_TABLE: list[tuple[str, re.Pattern[str], str, str]] = [
    ("POST", re.compile(r"^/v1/messages/batches/?$"), "batches.create", "_create_batch"),
    ("GET", re.compile(r"^/v1/messages/batches/?$"), "batches.list", "_list_batches"),
    ("GET", re.compile(rf"^/v1/messages/batches/{_ID}/results/?$"), "batches.results", "_results"),
    ("POST", re.compile(rf"^/v1/messages/batches/{_ID}/cancel/?$"), "batches.cancel", "_cancel"),
    ("GET", re.compile(rf"^/v1/messages/batches/{_ID}/?$"), "batches.retrieve", "_retrieve"),
    ("DELETE", re.compile(rf"^/v1/messages/batches/{_ID}/?$"), "batches.delete", "_delete"),
    ("POST", re.compile(r"^/v1/messages/count_tokens/?$"), "messages.count_tokens", "_count_tokens"),
    ("POST", re.compile(r"^/v1/messages/?$"), "messages.create", "_create_message"),
    ("GET", re.compile(r"^/v1/models/?$"), "models.list", "_list_models"),
    ("POST", re.compile(r"^/v1/files/?$"), "files.upload", "_upload_file"),
    ("GET", re.compile(r"^/v1/files/?$"), "files.list", "_list_files"),
    ("GET", re.compile(rf"^/v1/files/{_ID}/content/?$"), "files.download", "_download_file"),
    ("GET", re.compile(rf"^/v1/files/{_ID}/?$"), "files.retrieve_metadata", "_file_metadata"),
    ("DELETE", re.compile(rf"^/v1/files/{_ID}/?$"), "files.delete", "_delete_file"),
    ("GET", re.compile(rf"^/v1/models/{_ID}/?$"), "models.retrieve", "_get_model"),
]
_CHUNK_LINES = 64


class _Body:
    """The request body, handed over once so the raw bytes can be freed while parsing."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._data: bytes | bytearray | None = data

    def take(self) -> bytes | bytearray:
        """The body bytes (empty after the first call)."""
        data, self._data = self._data, None
        return data or b""


class _Drop(Exception):
    """Raised to cut a connection on purpose (a fault)."""


class EmulatorServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that knows its ``Emulator`` and can close live connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open keep-alive connection (on stop)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    server_version = "GAIA-emulator/1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # --- plumbing ----------------------------------------------------------------------------------
    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def _read_body(self, limit: int) -> bytes | bytearray | None:
        """The request body, or ``None`` when it exceeds ``limit`` (it is drained either way)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                chunk = self.rfile.read(n)
                self.rfile.readline()
                size += n
                if size <= limit:
                    parts.append(chunk)
            return b"".join(parts) if size <= limit else None
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            remaining = length
            while remaining > 0:
                got = self.rfile.read(min(remaining, 1 << 20))
                if not got:
                    break
                remaining -= len(got)
            return None
        if not length:
            return b""
        data = bytearray(length)
        view = memoryview(data)
        filled = 0
        while filled < length:
            n = self.rfile.readinto(view[filled:])
            if not n:
                raise ValueError("request body ended early")
            filled += n
        view.release()
        return data

    def _send_json(self, status: int, body: Any, request_id: str, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", request_id)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, exc: ApiError, request_id: str) -> None:
        self._send_json(exc.status, exc.body(request_id), request_id, exc.headers)

    def _dispatch(self, method: str) -> None:
        request_id = new_request_id()
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query))
        found = None
        for verb, pattern, route, handler in ROUTE_TABLE:
            match = pattern.match(path)
            if match and verb == method:
                found = (route, handler, match.groupdict())
                break
        cfg = self.emu.config
        route_name = found[0] if found else ""
        limit = {"batches.create": cfg.max_batch_bytes, "files.upload": cfg.max_file_bytes}.get(
            route_name, cfg.max_messages_bytes)
        try:
            raw = self._read_body(limit)
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if found is None:
                raise not_found(f"Not found: {method} {path}")
            route, handler, params = found
            if not self._authorised():
                raise ApiError(401, "x-api-key header is required (or Authorization: Bearer <key>)")
            fault = self.emu.take_fault(route)
            if fault is not None:
                raise fault
            check_api_version(self.headers.get("anthropic-version"))
            if raw is None:
                size = {"batches.create": "256 MB", "files.upload": "500 MB"}.get(route, "32 MB")
                raise ApiError(413, f"Request exceeds the maximum allowed number of bytes ({limit} bytes; "
                                    f"the API's limit is {size})")
            body = _Body(raw)
            del raw
            getattr(self, handler)(body, query, request_id, **params)
        except ApiError as exc:
            self._send_error(exc, request_id)
        except _Drop:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            log.exception("emulator error on %s %s", method, path)
            self._send_error(ApiError(500, f"[GAIA emulator] internal error: {exc}"), request_id)

    def _authorised(self) -> bool:
        if (self.headers.get("x-api-key") or "").strip():
            return True
        auth = self.headers.get("Authorization") or ""
        return auth.lower().startswith("bearer ") and bool(auth[7:].strip())

    def _json(self, body: _Body) -> Any:
        data = body.take()
        if not data:
            return {}
        try:
            text = data.decode("utf-8")
            del data
            return json.loads(text)
        except ValueError as exc:
            raise invalid(f"The request body is not valid JSON: {exc}") from None

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.emu.base_url

    # --- routes -------------------------------------------------------------------------------------
    def _create_batch(self, body: _Body, query: dict[str, str], rid: str) -> None:
        version = self.headers.get("anthropic-version")
        betas = self.headers.get("anthropic-beta")
        batch = self._with_base(lambda b: self.emu.create_batch(b, api_version=version, betas=betas), self._json(body))
        self._send_json(200, batch, rid)

    def _with_base(self, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        result = fn(*args)
        # results_url is absolute on the address the client dialled.
        base = self.emu.base_url.rstrip("/")
        here = self._base_url().rstrip("/")
        if base != here:
            for item in result.get("data", [result]):
                if isinstance(item, dict) and item.get("results_url"):
                    item["results_url"] = here + item["results_url"][len(base):]
        return result

    def _list_batches(self, body: _Body, query: dict[str, str], rid: str) -> None:
        self._send_json(200, self._with_base(self.emu.list_batches, query), rid)

    def _retrieve(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self._with_base(self.emu.get_batch, id), rid)

    def _cancel(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self._with_base(self.emu.cancel_batch, id), rid)

    def _delete(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self.emu.delete_batch(id), rid)

    def _results(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        path = self.emu.results_file(id)
        drop_after = self.emu.config.drop_results_stream_after
        fh = path.open("rb")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-jsonl")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("request-id", rid)
            self.end_headers()
            sent = 0
            pending: list[bytes] = []
            for line in fh:
                if drop_after is not None and sent >= drop_after:
                    break
                pending.append(line)
                sent += 1
                if len(pending) >= _CHUNK_LINES:
                    self._chunk(b"".join(pending))
                    pending = []
            if pending:
                self._chunk(b"".join(pending))
            if drop_after is not None and sent >= drop_after and fh.readline():
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                raise _Drop
            self.wfile.write(b"0\r\n\r\n")
        finally:
            fh.close()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _count_tokens(self, body: _Body, query: dict[str, str], rid: str) -> None:
        self._send_json(200, self.emu.count_tokens(self._json(body)), rid)

    def _create_message(self, body: _Body, query: dict[str, str], rid: str) -> None:
        message = self.emu.create_message(self._json(body), api_version=self.headers.get("anthropic-version"))
        if self.emu.config.messages_latency_s:
            time.sleep(self.emu.config.messages_latency_s)
        self._send_json(200, message, rid)

    def _list_models(self, body: _Body, query: dict[str, str], rid: str) -> None:
        repeated = parse_qs(urlsplit(self.path).query)
        values = repeated.get("lifecycle", []) + repeated.get("lifecycle[]", [])
        lifecycles = [v for item in values for v in item.split(",")]
        self._send_json(200, self.emu.list_models(query, lifecycles or None), rid)

    def _get_model(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self.emu.get_model(id), rid)

    def _upload_file(self, body: _Body, query: dict[str, str], rid: str) -> None:
        content_type = self.headers.get("Content-Type") or ""
        if "multipart/form-data" not in content_type:
            raise invalid("file uploads must be multipart/form-data with a 'file' part")
        fields = _multipart(content_type, body.take())
        if "file" not in fields:
            raise invalid("file: Field required")
        filename, mime_type, data = fields["file"]
        expires = fields.get("expires_in_seconds")
        try:
            expires_in = int(expires[2].decode()) if expires else None
        except ValueError:
            raise invalid("expires_in_seconds: Input should be a valid integer") from None
        self._send_json(200, self.emu.upload_file(filename, mime_type, data, expires_in), rid)

    def _list_files(self, body: _Body, query: dict[str, str], rid: str) -> None:
        self._send_json(200, self.emu.list_files(query), rid)

    def _file_metadata(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self.emu.file_metadata(id), rid)

    def _download_file(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self.emu.file_metadata(id)
        raise invalid(f"File {id} is not downloadable: files you upload cannot be downloaded back")

    def _delete_file(self, body: _Body, query: dict[str, str], rid: str, id: str) -> None:
        self._send_json(200, self.emu.delete_file(id), rid)


def _multipart(content_type: str, data: bytes | bytearray) -> dict[str, tuple[str, str, bytes]]:
    """Parts of a multipart/form-data body: name -> (filename, content type, bytes)."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + bytes(data))
    parts: dict[str, tuple[str, str, bytes]] = {}
    if not message.is_multipart():
        raise invalid("the multipart body could not be parsed")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        data_bytes = payload if isinstance(payload, bytes) else b""
        parts[str(name)] = (part.get_filename() or "", part.get_content_type(), data_bytes)
    return parts
