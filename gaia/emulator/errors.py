"""API errors as the real service shapes them: status, ``error.type``, message, ``request_id``."""

from __future__ import annotations

import secrets
from typing import Any

from gaia.emulator.config import FAULT_TYPES


def new_request_id() -> str:
    """A fresh ``req_…`` id like the ones the API sends in the ``request-id`` header."""
    return "req_" + secrets.token_hex(12)


class ApiError(Exception):
    """An error reply: HTTP ``status`` with ``{"type":"error","error":{type,message},"request_id"}``."""

    def __init__(self, status: int, message: str, *, error_type: str | None = None,
                 headers: dict[str, str] | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details
        self.status = status
        self.message = message
        self.error_type = error_type or FAULT_TYPES.get(status, "api_error")
        self.headers = dict(headers or {})

    def error_object(self) -> dict[str, Any]:
        """The inner ``{"type", "message"}`` object (with ``details`` when the error has a code)."""
        obj: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.details:
            obj["details"] = self.details
        return obj

    def body(self, request_id: str) -> dict[str, object]:
        """The full JSON error body."""
        return {"type": "error", "error": self.error_object(), "request_id": request_id}


def invalid(message: str) -> ApiError:
    """A 400 ``invalid_request_error``."""
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    """A 404 ``not_found_error``."""
    return ApiError(404, message)
