"""The API emulator, always through the official SDK: batch lifecycle, validation, answers, usage.

Faults, restarts, the Messages, token-counting and Models endpoints and the CLI are in
``tests/emulator/test_emulator_faults_and_routes.py``. Images are tiny JPEGs made with Pillow;
batches end after 0.3 s.
"""

from __future__ import annotations

import base64
import io
import json
import random
import time
from datetime import timedelta
from typing import Any

import anthropic
import jsonschema
import pytest
from PIL import Image

from gaia.emulator import EmulatorHandle, approx_text_tokens, frame_facts
from gaia.emulator.answers import schema_instance
from gaia.facts import BATCH_EXPIRY_HOURS, fit_to_tier, image_tokens, model_facts

MODEL = "claude-sonnet-5-5"


def jpeg_b64(color: tuple[int, int, int] = (40, 150, 40), size: tuple[int, int] = (64, 48)) -> str:
    """A solid-colour JPEG, base64-encoded."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def image_block(data: str | None = None, media_type: str = "image/jpeg") -> dict[str, Any]:
    """A base64 image content block."""
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data or jpeg_b64()}}


def params(model: str = MODEL, *, content: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """Messages params: by default one labelled frame and an instruction."""
    return {
        "model": model,
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": content or [
            {"type": "text", "text": "Frame at 0 s"}, image_block(), {"type": "text", "text": "Describe the video."},
        ]}],
        **extra,
    }


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 10.0) -> Any:
    """Poll until the batch has ended (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, f"batch {batch_id} did not end"
        time.sleep(0.05)


def run_batch(client: anthropic.Anthropic, emulator: EmulatorHandle, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Create, wait (moving the emulator's clock on instead of sleeping), return results by custom_id."""
    batch = client.messages.batches.create(requests=requests)
    emulator.advance_clock(emulator.config.batch_delay_s)
    wait_ended(client, batch.id)
    return {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}


def error_body(exc: anthropic.APIStatusError) -> dict[str, Any]:
    """The JSON body of an error reply."""
    return exc.response.json()


# --- lifecycle ------------------------------------------------------------------------------------

def test_batch_lifecycle_counts_stay_processing_until_the_end(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    requests = [{"custom_id": f"video-{i}", "params": params()} for i in range(6)]
    batch = anthropic_client.messages.batches.create(requests=requests)
    assert batch.type == "message_batch"
    assert batch.id.startswith("msgbatch_")
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 6
    assert batch.request_counts.succeeded == 0
    assert batch.results_url is None and batch.ended_at is None
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        anthropic_client.messages.batches.results(batch.id)
    ended = wait_ended(anthropic_client, batch.id)
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired) == (0, 6, 0, 0, 0)
    assert ended.ended_at >= ended.created_at
    assert ended.results_url == f"{emulator.base_url}/v1/messages/batches/{batch.id}/results"


def test_results_come_back_out_of_submission_order_and_complete(anthropic_client: anthropic.Anthropic) -> None:
    ids = [f"v{i:02d}" for i in range(12)]
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": c, "params": params()} for c in ids])
    wait_ended(anthropic_client, batch.id)
    got = [r.custom_id for r in anthropic_client.messages.batches.results(batch.id)]
    assert sorted(got) == ids
    assert got != ids


def test_results_are_jsonl_streamed_with_the_api_content_type(anthropic_client: anthropic.Anthropic) -> None:
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    ended = wait_ended(anthropic_client, batch.id)
    response = anthropic_client._client.get(ended.results_url,
                                            headers={"authorization": "Bearer k", "anthropic-version": "2026-10-21"})
    assert response.headers["content-type"] == "application/x-jsonl"
    assert response.headers["transfer-encoding"] == "chunked"
    lines = response.text.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["result"]["type"] == "succeeded"


def test_timestamps_are_iso_z_and_expiry_is_24h_after_creation(anthropic_client: anthropic.Anthropic) -> None:
    raw = anthropic_client.messages.batches.with_raw_response.create(requests=[{"custom_id": "a", "params": params()}])
    body = raw.http_response.json()
    assert body["created_at"].endswith("Z") and body["expires_at"].endswith("Z")
    assert body["ended_at"] is None and body["cancel_initiated_at"] is None and body["archived_at"] is None
    assert raw.headers["request-id"].startswith("req_")
    batch = raw.parse()
    assert batch.expires_at - batch.created_at == timedelta(hours=BATCH_EXPIRY_HOURS)


def test_list_is_paginated_newest_first(anthropic_client: anthropic.Anthropic) -> None:
    made = [anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}]).id
            for _ in range(5)]
    newest_first = made[::-1]
    page = anthropic_client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2]
    assert page.has_more and page.first_id == newest_first[0] and page.last_id == newest_first[1]
    assert [b.id for b in anthropic_client.messages.batches.list(limit=2)] == newest_first  # auto-pagination
    after = anthropic_client.messages.batches.list(limit=2, after_id=newest_first[3])
    assert [b.id for b in after.data] == newest_first[4:] and not after.has_more
    before = anthropic_client.messages.batches.list(limit=2, before_id=newest_first[3])
    assert [b.id for b in before.data] == newest_first[1:3] and before.has_more
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.batches.list(limit=1001)


def test_cancel_goes_canceling_then_ended_with_unfinished_requests_canceled(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(batch_delay_s=600)
    batch = anthropic_client.messages.batches.create(
        requests=[{"custom_id": f"c{i}", "params": params()} for i in range(4)])
    canceling = anthropic_client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    ended = wait_ended(anthropic_client, batch.id)
    assert ended.request_counts.canceled == 4 and ended.request_counts.processing == 0
    results = list(anthropic_client.messages.batches.results(batch.id))
    assert {r.result.type for r in results} == {"canceled"}


def test_cancel_lets_requests_finished_before_the_cancel_succeed(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(batch_delay_s=100.0, cancel_delay_s=0.0)
    batch = anthropic_client.messages.batches.create(
        requests=[{"custom_id": f"c{i}", "params": params()} for i in range(20)])
    emulator.advance_clock(50)  # half-way through
    assert anthropic_client.messages.batches.cancel(batch.id).processing_status == "canceling"
    counts = wait_ended(anthropic_client, batch.id).request_counts
    assert counts.succeeded + counts.canceled == 20
    assert counts.succeeded > 0 and counts.canceled > 0


def test_delete_only_after_the_batch_ended(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.batches.delete(batch.id)
    assert error_body(err.value)["error"]["type"] == "invalid_request_error"
    wait_ended(anthropic_client, batch.id)
    deleted = anthropic_client.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.messages.batches.retrieve(batch.id)
    assert batch.id not in [b.id for b in anthropic_client.messages.batches.list()]


# --- synchronous validation ----------------------------------------------------------------------

def test_missing_key_is_401(emulator: EmulatorHandle) -> None:
    client = anthropic.Anthropic(base_url=emulator.base_url, api_key="k", max_retries=0,
                                 default_headers={"Authorization": anthropic.Omit()})
    with pytest.raises(anthropic.AuthenticationError) as err:
        client.messages.batches.list()
    assert err.value.status_code == 401
    assert error_body(err.value)["error"]["type"] == "authentication_error"


def test_x_api_key_alone_is_accepted(emulator: EmulatorHandle) -> None:
    client = anthropic.Anthropic(base_url=emulator.base_url, api_key="k", max_retries=0,
                                 default_headers={"Authorization": anthropic.Omit(), "x-api-key": "some-key"})
    assert client.messages.batches.list().data == []


def test_unknown_batch_and_unknown_route_are_404_with_the_error_shape(
        anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_client.messages.batches.retrieve("msgbatch_nope")
    body = error_body(err.value)
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    assert body["request_id"].startswith("req_")
    assert err.value.response.headers["request-id"] == body["request_id"]
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.get("/v1/no/such/route", cast_to=object)


@pytest.mark.parametrize(("custom_id", "message"), [
    ("x" * 65, "requests.0.custom_id: String should have at most 64 characters"),
    ("has space", "requests.0.custom_id: String should match pattern"),
    ("clip.mp4", "requests.0.custom_id: String should match pattern"),
    ("", "requests.0.custom_id: String should have at least 1 character"),
])
def test_bad_custom_ids_are_400(anthropic_client: anthropic.Anthropic, custom_id: str, message: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.batches.create(requests=[{"custom_id": custom_id, "params": params()}])
    body = error_body(err.value)
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(message)


def test_64_character_custom_id_is_fine_and_duplicates_are_400(anthropic_client: anthropic.Anthropic) -> None:
    anthropic_client.messages.batches.create(requests=[{"custom_id": "a" * 64, "params": params()}])
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.batches.create(
            requests=[{"custom_id": "same", "params": params()}, {"custom_id": "same", "params": params()}])
    assert "requests.1.custom_id" in error_body(err.value)["error"]["message"]
    assert "unique" in error_body(err.value)["error"]["message"]


@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda p: p.pop("max_tokens"), "requests.0.params.max_tokens: Field required"),
    (lambda p: p.pop("model"), "requests.0.params.model: Field required"),
    (lambda p: p.pop("messages"), "requests.0.params.messages: Field required"),
    (lambda p: p.update(messages=[]), "requests.0.params.messages: List should have at least 1 item"),
    (lambda p: p["messages"][0]["content"].__setitem__(1, image_block(data="@@not base64@@")),
     "requests.0.params.messages.0.content.1.image.source.base64.data"),
    (lambda p: p["messages"][0]["content"].__setitem__(1, image_block(media_type="image/bmp")),
     "requests.0.params.messages.0.content.1.image.source.base64.media_type"),
])
def test_bad_params_shapes_are_400_at_create(anthropic_client: anthropic.Anthropic, mutate: Any,
                                             fragment: str) -> None:
    p = params()
    mutate(p)
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": p}])
    assert fragment in error_body(err.value)["error"]["message"]
    assert anthropic_client.messages.batches.list().data == []  # nothing was created


def test_empty_batch_is_400(anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="at least 1 item"):
        anthropic_client.messages.batches.create(requests=[])


def test_oversized_batch_is_413_request_too_large(emulator: EmulatorHandle,
                                                  anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(max_batch_bytes=5_000)
    small = [{"custom_id": "a", "params": params()}]
    anthropic_client.messages.batches.create(requests=small)
    big = [{"custom_id": f"r{i}", "params": params()} for i in range(10)]
    with pytest.raises(anthropic.APIStatusError) as err:
        anthropic_client.messages.batches.create(requests=big)
    assert err.value.status_code == 413
    assert error_body(err.value)["error"]["type"] == "request_too_large"
    assert len(anthropic_client.messages.batches.list().data) == 1
    # The connection stays usable after the refused body was drained.
    assert anthropic_client.messages.batches.list().data


# --- asynchronous validation: errored results ------------------------------------------------------

def test_request_shapes_the_models_reject_come_back_errored(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    tool = {"name": "report", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    requests = [
        {"custom_id": "ok", "params": params()},
        {"custom_id": "temperature", "params": params(temperature=0.2)},
        {"custom_id": "top_p", "params": params(top_p=0.9)},
        {"custom_id": "top_k", "params": params(top_k=5)},
        {"custom_id": "forced-any", "params": params("claude-opus-5-5", tools=[tool], tool_choice={"type": "any"})},
        {"custom_id": "forced-tool", "params": params(tools=[tool], tool_choice={"type": "tool", "name": "report"})},
        {"custom_id": "forced-older-model", "params": params("claude-sonnet-5", tools=[tool],
                                                             tool_choice={"type": "any"})},
        {"custom_id": "auto-tool", "params": params("claude-opus-5-5", tools=[tool], tool_choice={"type": "auto"})},
        {"custom_id": "unknown-model", "params": params("claude-nonexistent-9")},
    ]
    results = run_batch(anthropic_client, emulator, requests)
    assert results["ok"].type == "succeeded"
    assert results["forced-older-model"].type == "succeeded"
    assert results["auto-tool"].type == "succeeded"
    for name in ("temperature", "top_p", "top_k", "forced-any", "forced-tool"):
        assert results[name].type == "errored", name
        assert results[name].error.error.type == "invalid_request_error", name
    assert "temperature" in results["temperature"].error.error.message
    assert "tool_choice" in results["forced-tool"].error.error.message
    assert results["unknown-model"].type == "errored"
    assert results["unknown-model"].error.error.type == "not_found_error"
    assert results["unknown-model"].error.error.message == "model: claude-nonexistent-9"


def test_undecodable_image_is_an_errored_result(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    not_an_image = base64.b64encode(b"this is not a jpeg").decode()
    results = run_batch(anthropic_client, emulator, [
        {"custom_id": "bad", "params": params(content=[image_block(not_an_image), {"type": "text", "text": "?"}])},
        {"custom_id": "png-as-jpeg", "params": params(content=[image_block(_png_b64())])},
    ])
    assert results["bad"].type == "errored"
    assert "Could not process image" in results["bad"].error.error.message
    assert results["png-as-jpeg"].type == "errored"
    assert "media type" in results["png-as-jpeg"].error.error.message


def _png_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (1, 2, 3)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


# --- answers ---------------------------------------------------------------------------------------

SCHEMAS: dict[str, dict[str, Any]] = {
    "gaia-like": {
        "type": "object", "additionalProperties": False,
        "required": ["summary", "subjects", "behaviours", "setting", "notable_moments", "tags"],
        "properties": {
            "summary": {"type": "string"},
            "subjects": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["species", "count", "description"],
                "properties": {"species": {"type": "string"}, "count": {"type": "integer"},
                               "description": {"type": "string"}}}},
            "behaviours": {"type": "array", "items": {"type": "string"}},
            "setting": {"type": "string"},
            "notable_moments": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["time_s", "description"],
                "properties": {"time_s": {"type": "number"}, "description": {"type": "string"}}}},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "nested-enums-and-defs": {
        "type": "object", "additionalProperties": False, "required": ["headline", "scenes", "mood", "indoor"],
        "$defs": {"scene": {"type": "object", "additionalProperties": False,
                            "required": ["kind", "frames", "labels"],
                            "properties": {"kind": {"type": "string", "enum": ["wide", "close", "detail"]},
                                           "frames": {"type": "array", "items": {"type": "integer"}},
                                           "labels": {"type": "array", "items": {
                                               "type": "array", "items": {"type": "string",
                                                                          "enum": ["a", "b"]}}}}}},
        "properties": {
            "headline": {"type": "string"},
            "scenes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/scene"}},
            "mood": {"enum": ["calm", "busy"]},
            "indoor": {"type": ["boolean", "null"]},
            "rating": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "when": {"type": "string", "format": "date-time"},
        },
    },
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_answer_is_valid_against_the_requested_schema(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic, name: str) -> None:
    schema = SCHEMAS[name]
    p = params(output_config={"format": {"type": "json_schema", "schema": schema}})
    result = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"]
    assert result.type == "succeeded"
    message = result.message
    assert message.stop_reason == "end_turn"
    text = next(b.text for b in message.content if b.type == "text")
    answer = json.loads(text)
    jsonschema.validate(answer, schema)
    first_string = next(v for v in answer.values() if isinstance(v, str))
    assert first_string.startswith("[GAIA emulator]")


BOUNDED = {
    "type": "object", "additionalProperties": False, "required": ["n", "x", "code", "items"],
    "properties": {"n": {"type": "integer", "minimum": 10, "maximum": 12},
                   "x": {"type": "number", "exclusiveMaximum": 0},
                   "code": {"type": "string", "minLength": 3, "maxLength": 5},
                   "items": {"type": "array", "minItems": 4, "maxItems": 4, "uniqueItems": True,
                             "items": {"type": "string"}},
                   "const": {"const": "fixed"}},
}


def test_schemas_structured_outputs_reject_are_errored(emulator: EmulatorHandle,
                                                       anthropic_client: anthropic.Anthropic) -> None:
    recursive = {"type": "object", "additionalProperties": False, "required": ["root"],
                 "$defs": {"node": {"type": "object", "additionalProperties": False,
                                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
                 "properties": {"root": {"$ref": "#/$defs/node"}}}
    open_object = {"type": "object", "properties": {"a": {"type": "string"}}}
    requests = [{"custom_id": name, "params": params(output_config={"format": {"type": "json_schema", "schema": s}})}
                for name, s in (("bounded", BOUNDED), ("recursive", recursive), ("open", open_object))]
    results = run_batch(anthropic_client, emulator, requests)
    assert "not supported" in results["bounded"].error.error.message
    assert "Recursive" in results["recursive"].error.error.message
    assert "additionalProperties" in results["open"].error.error.message


def test_answers_respect_bounds_and_formats_when_asked_directly() -> None:
    facts = frame_facts([])
    value = schema_instance(BOUNDED, facts, random.Random(0))
    jsonschema.validate(value, BOUNDED)


def test_answer_against_gaias_default_schema(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    prompts = pytest.importorskip("gaia.prompts")
    schema = prompts.default_schema()
    p = params(output_config={"format": {"type": "json_schema", "schema": schema}})
    result = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"]
    answer = json.loads(next(b.text for b in result.message.content if b.type == "text"))
    jsonschema.validate(answer, schema)
    assert answer["summary"].startswith("[GAIA emulator]")
    # The emulator cannot tell much, and its enum choices say so when the schema lets them.
    assert answer["confidence"] == "low" and answer["setting"]["environment"] == "unknown"


@pytest.mark.parametrize("label", ["Frame at {t} s", "Frame {i} at 00:0{t}"])
def test_answer_describes_the_images(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic,
                                     label: str) -> None:
    schema = SCHEMAS["gaia-like"]
    frames = [((220, 30, 30), 0.0), ((220, 30, 30), 2.5), ((20, 20, 20), 5.0)]
    content: list[dict[str, Any]] = []
    for i, (colour, t) in enumerate(frames, 1):
        content += [{"type": "text", "text": label.format(i=i, t=t)}, image_block(jpeg_b64(colour))]
    p = params(content=content, output_config={"format": {"type": "json_schema", "schema": schema}})
    message = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"].message
    answer = json.loads(next(b.text for b in message.content if b.type == "text"))
    assert "red" in answer["summary"]
    assert "3 frames" in answer["summary"]
    # The biggest change is the cut from red to black at 5 s.
    assert answer["notable_moments"][0]["time_s"] == 5.0
    assert "red" in answer["tags"]


def test_5x_models_put_a_thinking_block_before_the_text(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    shown = params("claude-opus-5-5", thinking={"type": "adaptive", "display": "summarized"})
    results = run_batch(anthropic_client, emulator, [{"custom_id": "five", "params": params("claude-opus-5-5")},
                                                     {"custom_id": "shown", "params": shown},
                                                     {"custom_id": "four", "params": params("claude-sonnet-4-6")}])
    five = results["five"].message
    assert [b.type for b in five.content] == ["thinking", "text"]
    assert [b.type for b in results["four"].message.content] == ["text"]
    assert five.content[1].text.startswith("[GAIA emulator]")
    # By default 5.x models return the thinking text empty, but the thinking is billed as output.
    assert five.content[0].thinking == "" and five.content[0].signature
    assert five.usage.output_tokens > approx_text_tokens(five.content[1].text, "claude-opus-5-5")
    summarized = results["shown"].message.content[0].thinking
    assert summarized.startswith("[GAIA emulator] Thinking")
    assert five.usage.output_tokens == approx_text_tokens(summarized, "claude-opus-5-5") + approx_text_tokens(
        five.content[1].text, "claude-opus-5-5")


def test_malformed_refusal_and_max_tokens_rates(emulator: EmulatorHandle,
                                                anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(malformed_rate=0.3, refusal_rate=0.3, max_tokens_rate=0.3)
    schema = SCHEMAS["gaia-like"]
    p = params(output_config={"format": {"type": "json_schema", "schema": schema}})
    results = run_batch(anthropic_client, emulator, [{"custom_id": f"r{i}", "params": p} for i in range(40)])
    kinds: dict[str, int] = {}
    for result in results.values():
        message = result.message
        text = next(b.text for b in message.content if b.type == "text")
        try:
            jsonschema.validate(json.loads(text), schema)
            valid = True
        except (ValueError, jsonschema.ValidationError):
            valid = False
        kind = message.stop_reason if message.stop_reason != "end_turn" else ("ok" if valid else "malformed")
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind in ("refusal", "max_tokens"):
            assert not valid
    assert set(kinds) == {"ok", "malformed", "refusal", "max_tokens"}


def test_thinking_can_use_up_max_tokens_leaving_no_text_block(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    message = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": params("claude-opus-5-5",
                                                                                          max_tokens=8)}])["a"].message
    assert message.stop_reason == "max_tokens"
    assert [b.type for b in message.content] == ["thinking"]
    assert 0 < message.usage.output_tokens <= 8


def test_small_max_tokens_cuts_the_answer(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    p = params("claude-sonnet-4-6", max_tokens=5,
               output_config={"format": {"type": "json_schema", "schema": SCHEMAS["gaia-like"]}})
    message = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"].message
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 5


# --- usage -------------------------------------------------------------------------------------------

def _text(n_chars: int, seed: str = "x") -> str:
    return (seed * n_chars)[:n_chars]


def test_usage_counts_images_by_the_pixel_formula(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    sizes = [(64, 48), (1000, 1000), (3000, 2000)]
    content = [image_block(jpeg_b64(size=s)) for s in sizes] + [{"type": "text", "text": _text(35)}]
    shown = {"type": "adaptive", "display": "summarized"}
    requests = [{"custom_id": m.replace(".", "_"),
                 "params": params(m, content=content, **({"thinking": shown} if "5-5" in m else {}))}
                for m in ("claude-sonnet-5-5", "claude-sonnet-4-6")]
    results = run_batch(anthropic_client, emulator, requests)
    for model in ("claude-sonnet-5-5", "claude-sonnet-4-6"):
        tier = model_facts(model).image_tier
        expected = sum(image_tokens(*fit_to_tier(w, h, tier)) for w, h in sizes) + approx_text_tokens(_text(35), model)
        usage = results[model].message.usage
        assert usage.input_tokens == expected
        assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
        assert usage.service_tier == "batch"
        produced = sum(approx_text_tokens(b.text if b.type == "text" else b.thinking, model)
                       for b in results[model].message.content)
        assert usage.output_tokens == produced > 0


def _cached_params(model: str, system_chars: int, ttl: str = "1h") -> dict[str, Any]:
    return params(model, system=[{"type": "text", "text": _text(system_chars, "abcdefg "),
                                  "cache_control": {"type": "ephemeral", "ttl": ttl}}])


def test_first_request_writes_the_cache_and_later_ones_read_it(emulator: EmulatorHandle,
                                                              anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=1.0)
    prefix = approx_text_tokens(_text(3500, "abcdefg "), MODEL)
    assert prefix > model_facts(MODEL).min_cacheable_tokens
    results = run_batch(anthropic_client, emulator, [{"custom_id": f"r{i}", "params": _cached_params(MODEL, 3500)}
                                           for i in range(5)])
    first = results["r0"].message.usage
    assert first.cache_creation_input_tokens == prefix
    assert first.cache_creation.ephemeral_1h_input_tokens == prefix
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    assert first.cache_read_input_tokens == 0
    for i in range(1, 5):
        usage = results[f"r{i}"].message.usage
        assert usage.cache_read_input_tokens == prefix
        assert usage.cache_creation_input_tokens == 0
        assert usage.input_tokens == first.input_tokens  # only the uncached rest
    # A later batch reads the entry the first one wrote (it lives for its TTL).
    again = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": _cached_params(MODEL, 3500)}])
    assert again["a"].message.usage.cache_read_input_tokens == prefix


def test_parallel_first_requests_each_write(emulator: EmulatorHandle,
                                            anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=1.0, cache_first_writes=3)
    results = run_batch(anthropic_client, emulator, [{"custom_id": f"r{i}", "params": _cached_params(MODEL, 3500)}
                                                     for i in range(6)])
    writers = sorted(c for c, r in results.items() if r.message.usage.cache_creation_input_tokens)
    readers = sorted(c for c, r in results.items() if r.message.usage.cache_read_input_tokens)
    assert (writers, readers) == (["r0", "r1", "r2"], ["r3", "r4", "r5"])


def test_hit_rate_is_best_effort_and_seeded(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=0.5)
    results = run_batch(anthropic_client, emulator, [{"custom_id": f"r{i}", "params": _cached_params(MODEL, 3500)}
                                           for i in range(40)])
    reads = sum(1 for r in results.values() if r.message.usage.cache_read_input_tokens)
    writes = sum(1 for r in results.values() if r.message.usage.cache_creation_input_tokens)
    assert reads + writes == 40
    assert 8 <= reads <= 32


def test_prefix_below_the_model_minimum_is_never_cached(emulator: EmulatorHandle,
                                                       anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=1.0)
    model = "claude-haiku-4-5"
    minimum = model_facts(model).min_cacheable_tokens
    chars = int((minimum - 100) * 3.5)
    assert minimum - 200 < approx_text_tokens(_text(chars, "abcdefg "), model) < minimum
    results = run_batch(anthropic_client, emulator, [{"custom_id": f"r{i}", "params": _cached_params(model, chars)}
                                           for i in range(3)])
    for result in results.values():
        usage = result.message.usage
        assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
        assert usage.input_tokens >= minimum - 200


def test_cache_writes_split_by_ttl(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=1.0)
    tool = {"name": "t", "description": _text(2000, "tool "), "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    p = params(tools=[tool], system=[{"type": "text", "text": _text(1400, "sys "),
                                      "cache_control": {"type": "ephemeral"}}])
    first = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"].message.usage
    tool_tokens = anthropic_client.messages.count_tokens(
        model=MODEL, tools=[{k: v for k, v in tool.items() if k != "cache_control"}],
        messages=[{"role": "user", "content": "x"}]).input_tokens - 1
    assert first.cache_creation.ephemeral_1h_input_tokens == tool_tokens
    system_tokens = approx_text_tokens(_text(1400, "sys "), MODEL)
    assert first.cache_creation.ephemeral_5m_input_tokens == system_tokens
    assert first.cache_creation_input_tokens == tool_tokens + system_tokens


def test_one_hour_breakpoint_after_a_five_minute_one_is_errored(
        emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    p = params(system=[{"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                       {"type": "text", "text": "b", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
    result = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"]
    assert result.type == "errored"
    assert result.error.error.type == "invalid_request_error"
