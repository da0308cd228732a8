"""A faithful local emulator of the Anthropic Messages and Message Batches API.

A real HTTP server on 127.0.0.1 that the official ``anthropic`` SDK talks to unchanged::

    with start_emulator(state_dir=tmp, config=EmulatorConfig(batch_delay_s=0.3)) as emu:
        client = anthropic.Anthropic(base_url=emu.base_url, api_key="anything", max_retries=0)
        batch = client.messages.batches.create(requests=[...])

Endpoints: message batches (create, list, retrieve, cancel, delete, results JSONL at the batch's
``results_url``), ``POST /v1/messages``, ``POST /v1/messages/count_tokens``, ``GET /v1/models``
(and ``/{id}``), and a minimal Files API (upload, list, metadata, delete) whose ids work as
``{"type": "file"}`` image sources. It validates like the API (error shapes and statuses; batch
params checked when processed, so bad ones come back ``errored``), ends batches ``batch_delay_s``
after creation (lazily, on the next call that looks), returns results out of submission order,
counts tokens honestly (image formula, GAIA's text rule, cache writes and reads with a best-effort
hit rate), answers with JSON valid against the requested schema built from facts of the images,
injects faults on demand (``EmulatorConfig``, ``HttpFault``), and keeps its state under
``state_dir`` across restarts. ``gaia emulator --port P`` runs it from the command line
(``serve_forever``); ``EmulatorHandle.advance_clock`` moves its clock for expiry tests.

NOTES: every rule the emulator enforces (and where the docs conflict or are silent, the stricter
reading it takes) is listed with its doc page in ``gaia/emulator/NOTES.md``; the anthropic SDK's own
generated API tests run against it in ``tests/emulator/sdk_conformance/``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gaia.emulator.answers import FrameFacts, answer_text, frame_facts
from gaia.emulator.config import ROUTES, EmulatorConfig, HttpFault
from gaia.emulator.core import Emulator
from gaia.emulator.server import EmulatorServer
from gaia.emulator.tokens import approx_text_tokens

if TYPE_CHECKING:
    import anthropic

__all__ = [
    "ROUTES",
    "EmulatorConfig",
    "EmulatorHandle",
    "FrameFacts",
    "HttpFault",
    "answer_text",
    "approx_text_tokens",
    "frame_facts",
    "serve_forever",
    "start_emulator",
]


class EmulatorHandle:
    """A running emulator: its address, its live configuration, and ``stop()``."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread | None) -> None:
        self._server = server
        self._thread = thread
        host = server.server_address[0]
        self.host: str = host.decode() if isinstance(host, bytes) else str(host)
        self.port: int = int(server.server_address[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self.emulator: Emulator = server.emulator
        self.emulator.base_url = self.base_url
        self.state_dir: Path = self.emulator.state_dir

    @property
    def config(self) -> EmulatorConfig:
        """The configuration in force (replace parts with ``update_config``)."""
        return self.emulator.config

    def update_config(self, **changes: Any) -> EmulatorConfig:
        """Change settings at runtime, e.g. ``update_config(http_faults=[HttpFault(status=529)])``."""
        return self.emulator.update_config(**changes)

    @property
    def calls(self) -> dict[str, int]:
        """How many authenticated calls each route (``ROUTES``) received, faulted ones included."""
        with self.emulator._lock:
            return dict(self.emulator.calls)

    @property
    def billed(self) -> list[tuple[str, str]]:
        """The billing log: ``(tier, request key)`` of every answer generated (``core.request_key``)."""
        with self.emulator.billing_lock:
            return list(self.emulator.billed)

    def client(self, **options: Any) -> anthropic.Anthropic:
        """An ``anthropic.Anthropic`` client for this emulator (``max_retries=0`` unless given)."""
        import anthropic

        options.setdefault("max_retries", 0)
        options.setdefault("api_key", "emulator")
        return anthropic.Anthropic(base_url=self.base_url, **options)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (batches end, requests expire, results get archived)."""
        self.emulator.update_config(clock_offset_s=self.emulator.config.clock_offset_s + float(seconds))

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port (idempotent)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorHandle(base_url={self.base_url!r}, state_dir={str(self.state_dir)!r})"


def _make_server(state_dir: Path, config: EmulatorConfig | None, host: str, port: int) -> EmulatorServer:
    emulator = Emulator(Path(state_dir), config or EmulatorConfig())
    return EmulatorServer((host, port), emulator)


def start_emulator(*, state_dir: Path, config: EmulatorConfig | None = None, host: str = "127.0.0.1",
                   port: int = 0) -> EmulatorHandle:
    """Start the emulator in a background thread; ``port=0`` picks a free port.

    State (batches, requests, results, cache) lives under ``state_dir``; an emulator started
    again on the same directory knows everything the previous one did.
    """
    server = _make_server(state_dir, config, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"gaia-emulator-{server.server_address[1]}", daemon=True)
    handle = EmulatorHandle(server, thread)
    thread.start()
    return handle


def serve_forever(*, state_dir: Path, config: EmulatorConfig | None = None, host: str = "127.0.0.1",
                  port: int = 0, on_ready: Callable[[EmulatorHandle], None] | None = None) -> None:
    """Run the emulator in this thread until interrupted (the CLI's entry point)."""
    server = _make_server(state_dir, config, host, port)
    handle = EmulatorHandle(server, None)
    if on_ready is not None:
        on_ready(handle)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.close_connections()
        server.server_close()
