"""The client: the one place an ``anthropic.Anthropic`` client is made, and API errors in plain words.

Every function that talks to the API takes a client made here (or, in tests, one pointed at the
local emulator), so the app, the CLI and the tests share one code path. ``field`` reads a value
from an SDK object or from the plain dict the ledger and the emulator's fixtures hold, so no
module needs its own "object or dict" branch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for a mapping, else ``obj.name``; ``default`` when absent or ``None``."""
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return default if value is None else value


def as_dict(obj: Any) -> dict[str, Any] | None:
    """An SDK model or a mapping as a plain dict (``None`` stays ``None``)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json"))
    return dict(vars(obj))


class MissingApiKey(RuntimeError):
    """No API key was given and none is set in the environment."""


def make_client(api_key: str | None = None, base_url: str | None = None, *, max_retries: int = 2,
                timeout: float | None = None) -> Any:
    """The one place GAIA makes an ``anthropic.Anthropic`` client.

    What comes back is the client made on first use (``LazyClient``): the SDK (with pydantic and httpx, some
    60 MB of a server's memory) is imported only once something is asked of the API, so a page that is handed
    a client but answers from what the folder keeps (an exact prompt count kept from earlier) never loads it.
    The key and endpoint default to ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` (read now, as the SDK
    reads them) (``base_url`` pointing at ``gaia emulator`` needs any non-empty key). Raises
    ``MissingApiKey`` with a plain message when there is no key at all, or one that cannot be a key
    (spaces or control characters inside it); whitespace around it (a pasted trailing newline) is
    stripped, so it is never reported as "could not reach the API" after a round of retries.
    """
    key = (api_key or os.environ.get("ANTHROPIC_API_KEY") or "").strip() or None
    if key and not all(33 <= ord(c) < 127 for c in key):  # never echo the key itself
        raise MissingApiKey("The Anthropic API key contains spaces, line breaks or other characters no key has; "
                            "copy it again (set ANTHROPIC_API_KEY, or enter it in the app).")
    if not key and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        raise MissingApiKey("No Anthropic API key: set ANTHROPIC_API_KEY (or enter a key in the app). "
                            "To try GAIA without one, start `gaia emulator` and set ANTHROPIC_BASE_URL to it.")
    kwargs: dict[str, Any] = {"max_retries": max_retries}
    if key:
        kwargs["api_key"] = key
    base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL")  # what the SDK reads: read here, not on first use
    if base_url:
        kwargs["base_url"] = base_url
    token = os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if token:
        kwargs["auth_token"] = token
    if timeout is not None:
        kwargs["timeout"] = timeout
    return LazyClient(kwargs)


class LazyClient:
    """An ``anthropic.Anthropic`` client built on first use, with the options ``make_client`` checked.

    Every attribute (``messages``, ``beta``, ``models``, ``with_options``, ``base_url``...) is the real client's,
    which is built (and the SDK imported) the first time one is asked for, once, under a lock.
    """

    __slots__ = ("__weakref__", "_client", "_kwargs", "_lock")  # weakly referable: the guard keeps a yes per client

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs
        self._client: Any = None
        self._lock = threading.Lock()

    def real(self) -> Any:
        """The ``anthropic.Anthropic`` client itself (built now if it was not yet)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import anthropic

                    self._client = anthropic.Anthropic(**self._kwargs)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __repr__(self) -> str:
        return f"<LazyClient {'built' if self._client is not None else 'not built yet'}>"


_ERROR_HINTS = {
    400: "the API rejected the request",
    401: "the API key was refused; check ANTHROPIC_API_KEY",
    402: "billing problem on the account",
    403: "the key has no permission for this",
    404: "not found (was it deleted, or made with another key or workspace?)",
    409: "conflict",
    413: "the batch is larger than the API accepts",
    429: "rate limited by the API",
    500: "the API had an internal error",
    504: "the API timed out",
    529: "the API is overloaded",
}


def describe_error(exc: BaseException) -> str:
    """A one-line, plain description of an SDK or network error (never containing the key)."""
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        detail = ""
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            err = body.get("error") if isinstance(body.get("error"), dict) else body
            detail = str(err.get("message") or "") if isinstance(err, dict) else ""
        hint = _ERROR_HINTS.get(exc.status_code, "API error")
        return f"HTTP {exc.status_code}: {hint}" + (f" ({detail})" if detail else "")
    if isinstance(exc, anthropic.APITimeoutError):
        return "the API did not answer in time"
    if isinstance(exc, anthropic.APIConnectionError):
        return "could not reach the API (network or endpoint problem)"
    from gaia.format import error_text

    return error_text(exc)
