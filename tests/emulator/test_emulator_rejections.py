"""Issue 17: what the real API rejects, the emulator rejects, through the official SDK, with the real
error type and message shape; and what it accepts (``speed: "standard"`` in a batch), it accepts.

Each test names the doc page its rule follows; gaia/emulator/NOTES.md says where the docs are silent.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import anthropic
import pytest
from PIL import Image

from gaia.emulator import EmulatorHandle
from gaia.emulator.validate import IMAGE_MAX_BYTES

from .test_emulator import error_body, image_block, params, run_batch


def _rejected(exc_info: pytest.ExceptionInfo[anthropic.APIStatusError], status: int, error_type: str) -> str:
    """Check the status, the SDK's exception class and the body shape; return the message."""
    exc = exc_info.value
    assert exc.status_code == status
    body = error_body(exc)
    assert body["type"] == "error" and body["request_id"].startswith("req_")
    assert body["error"]["type"] == error_type
    assert exc.response.headers["request-id"] == body["request_id"]
    return str(body["error"]["message"])


def _bad_request(client: anthropic.Anthropic, **body: Any) -> str:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(**body)
    return _rejected(info, 400, "invalid_request_error")


# --- batch-processing page: only fast mode is refused in a batch ---------------------------------

def test_speed_standard_is_accepted_in_a_batch_and_fast_is_refused(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    results = run_batch(anthropic_client, emulator,
                        [{"custom_id": "std", "params": params(speed="standard")}])
    assert results["std"].type == "succeeded"
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.batches.create(requests=[{"custom_id": "f", "params": params(speed="fast")}])
    assert _rejected(info, 400, "invalid_request_error") == (
        "requests.0.params.speed: fast mode is not supported in Message Batches requests")


# --- whats-new-claude-4-6 (prefill removal) ------------------------------------------------------

@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-6", "claude-opus-5-5", "claude-haiku-5-5"])
def test_assistant_prefill_is_rejected_on_claude_4_6_and_later(anthropic_client: anthropic.Anthropic,
                                                               model: str) -> None:
    messages = [{"role": "user", "content": "Describe the video."}, {"role": "assistant", "content": "{"}]
    message = _bad_request(anthropic_client, model=model, max_tokens=100, messages=messages)
    assert message == ("This model does not support assistant message prefill. The conversation must end "
                       "with a user message.")


def test_assistant_prefill_still_works_before_4_6(anthropic_client: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "Describe the video."}, {"role": "assistant", "content": "The"}]
    reply = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=messages)
    assert reply.content[0].type == "text"


def test_prefill_inside_a_batch_comes_back_errored(emulator: EmulatorHandle,
                                                   anthropic_client: anthropic.Anthropic) -> None:
    p = params("claude-opus-5-5")
    p["messages"].append({"role": "assistant", "content": "{"})
    result = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"]
    assert result.type == "errored"
    assert result.error.error.type == "invalid_request_error"
    assert "assistant message prefill" in result.error.error.message


# --- opus-5-5 / fable-5-1 what's-new pages: thinking is always adaptive ----------------------------

@pytest.mark.parametrize("model", ["claude-opus-5-5", "claude-fable-5-1"])
@pytest.mark.parametrize("thinking", [{"type": "disabled"}, {"type": "enabled", "budget_tokens": 2048}])
def test_thinking_off_or_with_a_budget_is_rejected_on_opus_5_5_and_fable_5_1(
        anthropic_client: anthropic.Anthropic, model: str, thinking: dict[str, Any]) -> None:
    message = _bad_request(anthropic_client, model=model, max_tokens=4096,
                           messages=[{"role": "user", "content": "Hi"}], thinking=thinking)
    assert message.startswith(f"thinking.type: '{thinking['type']}'") and model in message


def test_adaptive_thinking_is_accepted_on_opus_5_5(anthropic_client: anthropic.Anthropic) -> None:
    reply = anthropic_client.messages.create(model="claude-opus-5-5", max_tokens=4096, thinking={"type": "adaptive"},
                                             messages=[{"role": "user", "content": "Hi"}])
    assert [b.type for b in reply.content] == ["thinking", "text"]
    assert reply.content[0].thinking == ""  # the default display returns thinking text empty


# --- messages API reference: unknown parameters ----------------------------------------------------

def test_unknown_top_level_parameters_are_rejected(anthropic_client: anthropic.Anthropic) -> None:
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=100,
                           messages=[{"role": "user", "content": "Hi"}], extra_body={"frobnicate": True})
    assert message == "frobnicate: Extra inputs are not permitted"
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.batches.create(
            requests=[{"custom_id": "a", "params": params(), "priority": 1}])  # type: ignore[typeddict-unknown-key]
    assert _rejected(info, 400, "invalid_request_error") == "requests.0.priority: Extra inputs are not permitted"
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params(colour="red")}])
    assert _rejected(info, 400, "invalid_request_error") == (
        "requests.0.params.colour: Extra inputs are not permitted")


# --- models overview: max output tokens ----------------------------------------------------------

def test_max_tokens_above_the_model_limit_is_rejected(anthropic_client: anthropic.Anthropic) -> None:
    # An explicit timeout, or the SDK itself refuses such a max_tokens without streaming.
    message = _bad_request(anthropic_client, model="claude-opus-5-5", max_tokens=10_000_000, timeout=30,
                           messages=[{"role": "user", "content": "Hi"}])
    assert message == ("max_tokens: 10000000 > 128000, which is the maximum allowed number of output tokens "
                       "for claude-opus-5-5")
    message = _bad_request(anthropic_client, model="claude-haiku-4-5", max_tokens=64_001, timeout=30,
                           messages=[{"role": "user", "content": "Hi"}])
    assert message.startswith("max_tokens: 64001 > 64000,")
    ok = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=64_000, timeout=30,
                                          messages=[{"role": "user", "content": "Hi"}])
    assert ok.stop_reason == "end_turn"


def test_the_300k_output_beta_raises_the_batch_limit(emulator: EmulatorHandle,
                                                      anthropic_client: anthropic.Anthropic) -> None:
    p = params("claude-opus-5-5", max_tokens=300_000)
    plain = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"]
    assert plain.type == "errored" and plain.error.error.message.startswith("max_tokens: 300000 > 128000")
    beta = anthropic_client.with_options(default_headers={"anthropic-beta": "output-300k-2026-03-24"})
    assert run_batch(beta, emulator, [{"custom_id": "a", "params": p}])["a"].type == "succeeded"


# --- messages API: empty content -----------------------------------------------------------------

def test_an_empty_text_block_is_rejected(anthropic_client: anthropic.Anthropic) -> None:
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=100,
                           messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}])
    assert message == "messages: text content blocks must be non-empty"
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=100,
                           system=[{"type": "text", "text": ""}], messages=[{"role": "user", "content": "Hi"}])
    assert message == "system: text content blocks must be non-empty"
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=100,
                           messages=[{"role": "user", "content": ""}])
    assert message == ("messages.0: all messages must have non-empty content except for the optional final "
                       "assistant message")


# --- versioning page: anthropic-version is required ----------------------------------------------

@pytest.mark.parametrize("version", [None, "2025-13-45", "latest"])
def test_a_missing_or_nonsense_anthropic_version_is_rejected(emulator: EmulatorHandle, version: str | None) -> None:
    header: Any = anthropic.Omit() if version is None else version
    client = emulator.client(default_headers={"anthropic-version": header})
    with pytest.raises(anthropic.BadRequestError) as info:
        client.models.list()
    message = _rejected(info, 400, "invalid_request_error")
    if version is None:
        assert message == "anthropic-version: header is required"
    else:
        assert message.startswith(f"anthropic-version: '{version}' is not a valid version; valid versions are ")
    old = emulator.client(default_headers={"anthropic-version": "2023-06-01"})
    assert old.models.list().data


# --- vision page: per-image byte limit -----------------------------------------------------------

def _big_png() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(buf, "PNG", compress_level=0)
    data = buf.getvalue()
    assert len(data) > IMAGE_MAX_BYTES
    return data


def test_an_image_over_the_byte_limit_is_rejected(anthropic_client: anthropic.Anthropic) -> None:
    data = _big_png()
    block = image_block(base64.b64encode(data).decode(), media_type="image/png")
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=100,
                           messages=[{"role": "user", "content": [block, {"type": "text", "text": "Hi"}]}])
    assert message == (f"messages.0.content.0.image.source.base64: image exceeds 5 MB maximum: {len(data)} bytes "
                       f"> {IMAGE_MAX_BYTES} bytes")


# --- models overview / deprecations: a retired model ---------------------------------------------

def test_a_retired_model_is_listed_as_retired_and_refused(anthropic_client: anthropic.Anthropic) -> None:
    info = anthropic_client.models.retrieve("claude-sonnet-4-5")
    assert info.lifecycle == "retired" and info.retires_at is not None
    assert info.retires_at.date().isoformat() == "2026-11-30"
    listed = {m.id: m.lifecycle for m in anthropic_client.models.list(limit=1000).data}
    assert listed["claude-sonnet-4-5"] == "retired"
    assert listed["claude-opus-4-5"] == "deprecated" and listed["claude-sonnet-5-5"] == "active"
    active = {m.id for m in anthropic_client.models.list(limit=1000, lifecycle=["active", "deprecated"]).data}
    assert "claude-sonnet-4-5" not in active and {"claude-opus-4-5", "claude-sonnet-5-5"} <= active
    with pytest.raises(anthropic.NotFoundError) as exc, pytest.warns(DeprecationWarning):
        anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                                         messages=[{"role": "user", "content": "Hi"}])
    assert _rejected(exc, 404, "not_found_error") == "model: claude-sonnet-4-5"


def test_a_retired_model_worked_before_its_date(emulator: EmulatorHandle,
                                                anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(clock_offset_s=-400 * 86400)  # a day well before 2026-11-30
    with pytest.warns(DeprecationWarning, match="end-of-life on November 30th, 2026"):
        reply = anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                                                 messages=[{"role": "user", "content": "Hi"}])
    assert reply.model == "claude-sonnet-4-5"
    assert anthropic_client.models.retrieve("claude-sonnet-4-5").lifecycle == "deprecated"


# --- tool use: the emulator answers with a tool_use block when a tool is to be called ---------------

WEATHER = {"name": "get_weather", "description": "Weather at a place",
           "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                            "required": ["location"]}}


def test_a_tool_is_called_with_input_valid_against_its_schema(anthropic_client: anthropic.Anthropic) -> None:
    reply = anthropic_client.messages.create(model="claude-sonnet-4-6", max_tokens=500, tools=[WEATHER],
                                             tool_choice={"type": "tool", "name": "get_weather"},
                                             messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert reply.stop_reason == "tool_use"
    call = reply.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.id.startswith("toolu_")
    assert isinstance(call.input, dict) and isinstance(call.input["location"], str)
    follow_up = anthropic_client.messages.create(
        model="claude-sonnet-4-6", max_tokens=500, tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny"}]}])
    assert follow_up.stop_reason == "end_turn" and follow_up.content[-1].type == "text"


def test_forced_tool_choice_is_still_rejected_on_the_5_5_models(anthropic_client: anthropic.Anthropic) -> None:
    message = _bad_request(anthropic_client, model="claude-sonnet-5-5", max_tokens=500, tools=[WEATHER],
                           tool_choice={"type": "any"}, messages=[{"role": "user", "content": "Weather?"}])
    assert message.startswith("tool_choice: Forced tool use")


# --- issue 27: max_tokens 0 pre-warms the cache; orphan tool_result; count_tokens takes no max_tokens -----

def test_max_tokens_0_pre_warms_the_cache_on_messages_and_is_refused_in_a_batch(
        anthropic_client: anthropic.Anthropic) -> None:
    """SDK 2.13.0 ``messages.create(max_tokens=...)``: "Set to `0` to populate the prompt cache without
    generating a response"; the batch-processing page lists ``max_tokens: 0`` as not allowed in a batch."""
    system = [{"type": "text", "text": "You describe videos. " * 400, "cache_control": {"type": "ephemeral"}}]
    warm = anthropic_client.messages.create(system=system, **{**params(), "max_tokens": 0})
    assert warm.content == [] and warm.stop_reason == "max_tokens" and warm.usage.output_tokens == 0
    assert warm.usage.cache_creation_input_tokens > 0  # the prefix was written to the cache
    hit = anthropic_client.messages.create(system=system, **params())
    assert hit.usage.cache_read_input_tokens == warm.usage.cache_creation_input_tokens
    assert _bad_request(anthropic_client, **{**params(), "max_tokens": -1}) == (
        "max_tokens: Input should be greater than or equal to 0")
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.batches.create(requests=[{"custom_id": "w", "params": {**params(), "max_tokens": 0}}])
    assert "max_tokens 0 (cache pre-warming) is not supported in Message Batches" in _rejected(
        info, 400, "invalid_request_error")


ORPHAN = [{"role": "user", "content": [
    {"type": "tool_result", "tool_use_id": "toolu_01Nowhere", "content": "42"},
    {"type": "text", "text": "And now?"}]}]


def test_an_orphan_tool_result_is_a_400_with_the_apis_message(anthropic_client: anthropic.Anthropic) -> None:
    """Tool-use page: a ``tool_result`` answers a ``tool_use`` of the message just before it."""
    expected = ("messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01Nowhere. "
                "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")
    assert _bad_request(anthropic_client, model="claude-haiku-4-5", max_tokens=100, messages=ORPHAN) == expected
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.count_tokens(model="claude-haiku-4-5", messages=ORPHAN)
    assert _rejected(info, 400, "invalid_request_error") == expected
    # With its tool_use just before it, the same result is fine.
    paired = [{"role": "user", "content": "What is six times seven?"},
              {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01Nowhere", "name": "calc",
                                                 "input": {"expr": "6*7"}}]}, *ORPHAN]
    tools = [{"name": "calc", "description": "Calculate.", "input_schema": {
        "type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}}]
    reply = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=paired, tools=tools)
    assert reply.content[0].type == "text"


def test_an_orphan_tool_result_inside_a_batch_comes_back_errored(emulator: EmulatorHandle,
                                                                 anthropic_client: anthropic.Anthropic) -> None:
    p = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": ORPHAN}
    result = run_batch(anthropic_client, emulator, [{"custom_id": "o", "params": p}])["o"]
    assert result.type == "errored" and "unexpected `tool_use_id`" in result.error.error.message


def test_count_tokens_refuses_max_tokens(anthropic_client: anthropic.Anthropic) -> None:
    """SDK 2.13.0 ``messages.count_tokens`` has no ``max_tokens`` parameter; the API refuses unknown ones."""
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}],
                                               extra_body={"max_tokens": 100})
    assert _rejected(info, 400, "invalid_request_error") == "max_tokens: Extra inputs are not permitted"
    assert anthropic_client.messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}]).input_tokens > 0
