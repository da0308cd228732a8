"""Run the anthropic 2.13.0 SDK's own generated API tests against the GAIA emulator.

The vendored files under ``sdk_tests/`` are byte-for-byte the SDK's (see README.md). This conftest
supplies what the SDK's own conftest and mock server did: ``client`` and ``async_client`` fixtures
pointed at one emulator for the whole session, placeholder ids (``message_batch_id``, ``file_id``,
``model_id``, ``after_id``/``before_id``) swapped for ids of objects made on that emulator before a
request leaves the client, async tests run on a fresh event loop each (pytest-asyncio is not a GAIA
dependency), ``tests.utils`` aliased to the vendored ``sdk_tests/utils.py``, and the deselections
listed in ``DESELECTED``, each with its reason.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from gaia.emulator import EmulatorConfig, EmulatorHandle, start_emulator

from .sdk_tests import utils as sdk_utils

# The SDK's tests import ``from tests.utils import assert_matches_type``: point that name at the vendored copy.
sys.modules["tests.utils"] = sdk_utils
# ``respx`` (the SDK's HTTP mocking library) is only used by mock-only cases, which are deselected below;
# the modules import ``MockRouter`` at the top, so a stand-in is enough when respx is not installed.
if "respx" not in sys.modules:
    try:
        import respx  # noqa: F401
    except ImportError:
        sys.modules["respx"] = types.SimpleNamespace(MockRouter=object)  # type: ignore[assignment]

# test id fragment -> why it is not run against the emulator. Nothing else is deselected.
DESELECTED: dict[str, str] = {
    # Streaming: GAIA never streams and the emulator does not serve server-sent events.
    "test_method_create_overload_2": "streaming (stream=True): the emulator serves no server-sent events",
    "test_method_create_with_all_params_overload_2": "streaming (stream=True)",
    "test_raw_response_create_overload_2": "streaming (stream=True)",
    "test_streaming_response_create_overload_2": "streaming (stream=True)",
    # Mock-only: these pass only against a mock server that accepts anything.
    "test_method_results": "mock-only: answers come from respx mocks of retrieve and results, not from a server",
    "test_raw_response_results": "mock-only: respx mocks",
    "test_streaming_response_results": "mock-only: respx mocks",
    "test_path_params_results": "mock-only: marked respx; the empty-id check it makes is client-side",
    "test_method_download": "mock-only: respx mocks; uploaded files cannot be downloaded from the real API",
    "test_method_download_with_all_params": "mock-only: respx mocks",
    "test_raw_response_download": "mock-only: respx mocks",
    "test_streaming_response_download": "mock-only: respx mocks",
    "test_path_params_download": "mock-only: marked respx",
    "test_deprecated_model_warning": ("mock-only: sends claude-mythos-preview (retired 2026-06-30) and "
                                      "claude-sonnet-4-5 (retired 2026-11-30), which the API answers with 404"),
    "test_method_list_with_all_params-files": ("mock-only: sends ids together with page and limit, which the "
                                               "Files API reference calls mutually exclusive"),
    # A transport GAIA does not install.
    "aiohttp": "the optional aiohttp transport (anthropic[aiohttp]) is not installed; the same cases run "
               "on the default transport as loose/strict",
}


def _deselection_reason(item: pytest.Item) -> str | None:
    name = item.name
    base = name.split("[", 1)[0]
    params = name[len(base):]
    module = Path(str(item.fspath)).stem
    if "aiohttp" in params:
        return DESELECTED["aiohttp"]
    if module == "test_files" and base == "test_method_list_with_all_params":
        return DESELECTED["test_method_list_with_all_params-files"]
    return DESELECTED.get(base)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        inside = here in Path(str(item.fspath)).parents
        (drop if inside and _deselection_reason(item) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "respx(base_url): the SDK's HTTP mocking marker (mock-only cases)")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run the SDK's ``async def`` tests on a fresh event loop, closing their client on it."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def run() -> None:
        try:
            await pyfuncitem.obj(**args)
        finally:
            client = args.get("async_client")
            if isinstance(client, anthropic.AsyncAnthropic):
                await client.close()

    asyncio.run(run())
    return True


# --- real ids for the SDK's placeholders ---------------------------------------------------------------

class RealIds:
    """Objects made on the emulator, standing in for the placeholder ids the SDK's tests use."""

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle
        client = handle.client()
        self.batches = [self._batch(client) for _ in range(3)]  # oldest first
        self.files = [self._file(client) for _ in range(3)]
        models = [m.id for m in client.models.list(limit=1000).data if m.lifecycle == "active"]
        self.models = models[:3]
        client.close()

    @staticmethod
    def _batch(client: anthropic.Anthropic) -> str:
        params = {"model": "claude-sonnet-5-5", "max_tokens": 64,
                  "messages": [{"role": "user", "content": "Hello, world"}]}
        return client.messages.batches.create(requests=[{"custom_id": "conformance", "params": params}]).id

    @staticmethod
    def _file(client: anthropic.Anthropic) -> str:
        return client.files.upload(file=("conformance.txt", b"Example data", "text/plain")).id

    def fresh(self, kind: str) -> str:
        """A new object, for a test that deletes it."""
        client = self.handle.client()
        try:
            return self._batch(client) if kind == "batches" else self._file(client)
        finally:
            client.close()

    def rewrite(self, request: httpx2.Request) -> None:
        """Swap placeholders in the path and the cursors for real ids (in place)."""
        parts = request.url.path.split("/")
        if "message_batch_id" in parts:
            real = self.fresh("batches") if request.method == "DELETE" else self.batches[1]
            parts = [real if p == "message_batch_id" else p for p in parts]
        if "file_id" in parts:
            real = self.fresh("files") if request.method == "DELETE" else self.files[1]
            parts = [real if p == "file_id" else p for p in parts]
        parts = [self.models[1] if p == "model_id" else p for p in parts]
        listing = self.batches[::-1] if "batches" in parts else self.models if "models" in parts else None
        query = dict(request.url.params.multi_items())
        if listing is not None:
            # Newest first for batches, catalogue order for models: the one item between the two cursors.
            if query.get("after_id") == "after_id":
                query["after_id"] = listing[0]
            if query.get("before_id") == "before_id":
                query["before_id"] = listing[2]
        request.url = request.url.copy_with(path="/".join(parts), params=query)


class _Rewriting(httpx2.HTTPTransport):
    def __init__(self, ids: RealIds) -> None:
        super().__init__()
        self.ids = ids

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.ids.rewrite(request)
        return super().handle_request(request)


class _AsyncRewriting(httpx2.AsyncHTTPTransport):
    def __init__(self, ids: RealIds) -> None:
        super().__init__()
        self.ids = ids

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.ids.rewrite(request)
        return await super().handle_async_request(request)


@pytest.fixture(scope="session")
def conformance_emulator() -> Iterator[tuple[EmulatorHandle, RealIds]]:
    """One emulator for the suite: batches end at once, answers come without added latency."""
    with tempfile.TemporaryDirectory(prefix="gaia-sdk-conformance-") as tmp:
        handle = start_emulator(state_dir=Path(tmp), config=EmulatorConfig(batch_delay_s=0.0, messages_latency_s=0.0))
        try:
            yield handle, RealIds(handle)
        finally:
            handle.stop()


@pytest.fixture
def client(request: pytest.FixtureRequest, conformance_emulator: tuple[EmulatorHandle, RealIds]) -> Iterator[Any]:
    handle, ids = conformance_emulator
    strict = getattr(request, "param", True)
    with anthropic.Anthropic(base_url=handle.base_url, api_key="my-anthropic-api-key", max_retries=0,
                             _strict_response_validation=bool(strict),
                             http_client=httpx2.Client(transport=_Rewriting(ids))) as sdk:
        yield sdk


@pytest.fixture
def async_client(request: pytest.FixtureRequest, conformance_emulator: tuple[EmulatorHandle, RealIds]) -> Any:
    handle, ids = conformance_emulator
    param = getattr(request, "param", True)
    strict = param if isinstance(param, bool) else bool(param.get("strict", True))
    return anthropic.AsyncAnthropic(base_url=handle.base_url, api_key="my-anthropic-api-key", max_retries=0,
                                    _strict_response_validation=strict,
                                    http_client=httpx2.AsyncClient(transport=_AsyncRewriting(ids)))
