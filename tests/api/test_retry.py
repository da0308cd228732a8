"""gaia.api.retry: one policy for every API call: what an error means, how long to wait."""

from __future__ import annotations

import random
from types import SimpleNamespace

import anthropic
import httpx2 as httpx
import pytest

from gaia.api.retry import DEFAULT_RETRY, ErrorClass, RetryPolicy, classify, error_kind, retry_after_s


def _status_error(status: int, headers: dict[str, str] | None = None,
                  body: dict | None = None) -> anthropic.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/messages")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return anthropic.APIStatusError("error", response=response, body=body)


def _headers(headers: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(response=SimpleNamespace(headers=headers))


def test_retry_after_headers():
    assert retry_after_s(_headers({"retry-after-ms": "1500", "retry-after": "9"})) == pytest.approx(1.5)
    assert retry_after_s(_headers({"retry-after": "4"})) == 4.0
    assert retry_after_s(_headers({})) is None
    assert retry_after_s(_headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_s(_headers({"retry-after": "soon"})) is None


def test_waits_honour_retry_after_with_jitter_else_back_off():
    rng = random.Random(0)
    waits = [DEFAULT_RETRY.wait_s(_headers({"retry-after": "3"}), 1, rng) for _ in range(50)]
    assert all(3.0 <= w <= 3.35 for w in waits) and len(set(waits)) > 1  # honoured, with jitter
    capped = DEFAULT_RETRY.wait_s(_headers({"retry-after": "99999"}), 1, rng)
    assert DEFAULT_RETRY.retry_after_max_s <= capped <= DEFAULT_RETRY.retry_after_max_s + 1
    backoffs = [DEFAULT_RETRY.backoff_s(a, rng) for a in (1, 2, 3, 10)]
    assert 0.5 <= backoffs[0] <= 1.0 and 1.0 <= backoffs[1] <= 2.0 and 2.0 <= backoffs[2] <= 4.0
    assert backoffs[3] <= DEFAULT_RETRY.backoff_max_s
    assert RetryPolicy(backoff_base_s=10, backoff_max_s=12).backoff_s(5, rng) <= 12


@pytest.mark.parametrize(("status", "verdict"), [
    (429, ErrorClass.PUSHBACK), (529, ErrorClass.PUSHBACK), (500, ErrorClass.TEMPORARY),
    (503, ErrorClass.TEMPORARY), (408, ErrorClass.TEMPORARY), (409, ErrorClass.TEMPORARY),
    (401, ErrorClass.FATAL), (402, ErrorClass.FATAL), (403, ErrorClass.FATAL),
    (400, ErrorClass.REJECTED), (404, ErrorClass.REJECTED), (413, ErrorClass.REJECTED),
])
def test_every_status_has_one_meaning(status, verdict):
    assert classify(_status_error(status)) is verdict


def test_connection_errors_and_budgets():
    conn = anthropic.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1/v1/messages"))
    assert classify(conn) is ErrorClass.CONNECTION
    assert error_kind(conn) == "connection_error"
    policy = RetryPolicy(max_attempts=3, pushback_factor=2)
    assert not policy.gives_up(conn, 2) and policy.gives_up(conn, 3)
    assert not policy.gives_up(_status_error(529), 5) and policy.gives_up(_status_error(529), 6)
    assert policy.gives_up(_status_error(400), 1) and policy.gives_up(_status_error(401), 1)


def test_error_kind_prefers_the_api_error_type():
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    assert error_kind(_status_error(400, body=body)) == "errored:invalid_request_error"
    assert error_kind(_status_error(529)) == "errored:overloaded_error"
    assert error_kind(_status_error(418)) == "errored:http_418"
