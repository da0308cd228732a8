"""The API emulator: injected faults, restarts, Messages, token counting, Models, CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import jsonschema
import pytest

from gaia._cli import build_parser
from gaia._cli.emulator import config_from_args
from gaia.emulator import EmulatorConfig, EmulatorHandle, HttpFault, approx_text_tokens, start_emulator
from gaia.facts import catalogue, fit_to_tier, image_tokens, model_facts
from tests.emulator.test_emulator import MODEL, image_block, jpeg_b64, params, run_batch, wait_ended

# --- HTTP faults ------------------------------------------------------------------------------------


def test_429_carries_retry_after_and_is_consumed(emulator: EmulatorHandle,
                                                 anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(http_faults=[HttpFault(route="batches.create", status=429, count=2, retry_after=7)])
    for _ in range(2):
        with pytest.raises(anthropic.RateLimitError) as err:
            anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
        assert err.value.status_code == 429
        assert err.value.response.headers["retry-after"] == "7"
        assert err.value.body["error"]["type"] == "rate_limit_error"
    anthropic_client.messages.batches.list()  # other routes are not affected
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    assert [b.id for b in anthropic_client.messages.batches.list()] == [batch.id]  # the refused ones made nothing


@pytest.mark.parametrize(("status", "error_class", "error_type"), [
    (529, anthropic.OverloadedError, "overloaded_error"),
    (500, anthropic.InternalServerError, "api_error"),
])
def test_server_faults_on_any_route(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic,
                                    status: int, error_class: type[Exception], error_type: str) -> None:
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    emulator.update_config(http_faults=[{"route": "*", "status": status, "count": 3, "retry_after": 2}])
    calls = [lambda: anthropic_client.messages.batches.retrieve(batch.id),
             lambda: anthropic_client.models.list(),
             lambda: anthropic_client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}])]
    for call in calls:
        with pytest.raises(error_class) as err:
            call()
        assert err.value.status_code == status
        assert err.value.body["error"]["type"] == error_type
    assert anthropic_client.messages.batches.retrieve(batch.id).id == batch.id


def test_sdk_retries_honour_retry_after(emulator: EmulatorHandle) -> None:
    emulator.update_config(http_faults=[HttpFault(route="batches.list", status=529, count=1, retry_after=0)])
    client = anthropic.Anthropic(base_url=emulator.base_url, api_key="k", max_retries=2)
    assert client.messages.batches.list().data == []


def test_dropped_results_stream_raises_while_iterating(emulator: EmulatorHandle,
                                                       anthropic_client: anthropic.Anthropic) -> None:
    batch = anthropic_client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params()} for i in range(200)])
    wait_ended(anthropic_client, batch.id)
    emulator.update_config(drop_results_stream_after=70)
    seen = []
    with pytest.raises((httpx2.HTTPError, anthropic.APIError)):
        for result in anthropic_client.messages.batches.results(batch.id):
            seen.append(result.custom_id)
    assert 0 < len(seen) <= 70  # the SDK may hold back the last line it had when the connection broke
    emulator.update_config(drop_results_stream_after=None)
    assert len(list(anthropic_client.messages.batches.results(batch.id))) == 200


def test_errored_expired_and_canceled_shares(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(errored_rate=0.25, expired_rate=0.25, canceled_rate=0.25, seed=7)
    ids = [f"r{i}" for i in range(60)]
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": c, "params": params()} for c in ids])
    ended = wait_ended(anthropic_client, batch.id)
    results = {r.custom_id: r.result for r in anthropic_client.messages.batches.results(batch.id)}
    kinds = [r.type for r in results.values()]
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.expired, counts.canceled) == tuple(
        kinds.count(k) for k in ("succeeded", "errored", "expired", "canceled"))
    assert all(kinds.count(k) >= 5 for k in ("succeeded", "errored", "expired", "canceled"))
    errored = next(r for r in results.values() if r.type == "errored")
    assert errored.error.error.type in ("api_error", "overloaded_error")
    assert errored.error.request_id.startswith("req_")


def test_rates_are_a_snapshot_taken_when_the_batch_is_created(emulator: EmulatorHandle,
                                                              anthropic_client: anthropic.Anthropic) -> None:
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    emulator.update_config(errored_rate=1.0)
    assert wait_ended(anthropic_client, batch.id).request_counts.succeeded == 1


def test_requests_not_done_by_expiry_expire(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(batch_delay_s=48 * 3600)
    batch = anthropic_client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params()} for i in range(10)])
    assert anthropic_client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    emulator.advance_clock(24 * 3600 + 1)
    ended = anthropic_client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at == ended.expires_at
    assert ended.request_counts.expired + ended.request_counts.succeeded == 10
    assert ended.request_counts.expired >= 3


def test_results_are_archived_29_days_after_creation(emulator: EmulatorHandle,
                                                     anthropic_client: anthropic.Anthropic) -> None:
    batch = anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    wait_ended(anthropic_client, batch.id)
    emulator.advance_clock(29 * 86400 + 5)
    archived = anthropic_client.messages.batches.retrieve(batch.id)
    assert archived.archived_at is not None
    with pytest.raises(anthropic.NotFoundError):
        list(anthropic_client.messages.batches.results(batch.id))


# --- restart -------------------------------------------------------------------------------------------

def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = EmulatorConfig(batch_delay_s=0.2)
    with start_emulator(state_dir=state, config=config) as first:
        client = anthropic.Anthropic(base_url=first.base_url, api_key="k", max_retries=0)
        done = client.messages.batches.create(requests=[{"custom_id": f"d{i}", "params": params()} for i in range(3)])
        wait_ended(client, done.id)
        before = sorted((r.custom_id, r.result.message.id) for r in client.messages.batches.results(done.id))
        pending = client.messages.batches.create(requests=[{"custom_id": "p", "params": params()}])
    time.sleep(0.25)
    with start_emulator(state_dir=state, config=config) as second:
        client = anthropic.Anthropic(base_url=second.base_url, api_key="k", max_retries=0)
        assert [b.id for b in client.messages.batches.list()] == [pending.id, done.id]
        after = sorted((r.custom_id, r.result.message.id) for r in client.messages.batches.results(done.id))
        assert after == before
        # results_url follows the new address
        assert client.messages.batches.retrieve(done.id).results_url.startswith(second.base_url)
        # a batch still processing at the stop ends after the restart
        assert wait_ended(client, pending.id).request_counts.succeeded == 1
        newer = client.messages.batches.create(requests=[{"custom_id": "n", "params": params()}])
        assert next(iter(client.messages.batches.list())).id == newer.id


# --- messages and count_tokens ---------------------------------------------------------------------------

def test_messages_create_returns_a_full_message(anthropic_client: anthropic.Anthropic) -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["summary"],
              "properties": {"summary": {"type": "string"}}}
    message = anthropic_client.messages.create(**params(output_config={"format": {"type": "json_schema",
                                                                                   "schema": schema}}))
    assert message.id.startswith("msg_") and message.role == "assistant" and message.model == MODEL
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.service_tier == "standard"
    assert [b.type for b in message.content] == ["thinking", "text"]
    jsonschema.validate(json.loads(message.content[-1].text), schema)


@pytest.mark.parametrize(("extra", "error_class", "fragment"), [
    ({"extra_body": {"temperature": 0.5}}, anthropic.BadRequestError, "temperature"),
    ({"model": "claude-opus-5-5", "tools": [{"name": "t", "input_schema": {"type": "object"}}],
      "tool_choice": {"type": "any"}}, anthropic.BadRequestError, "tool_choice"),
    ({"model": "claude-unknown"}, anthropic.NotFoundError, "model: claude-unknown"),
    ({"output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}}},
     anthropic.BadRequestError, "additionalProperties"),
])
def test_messages_rejects_at_once_what_batches_report_as_errored(
        anthropic_client: anthropic.Anthropic, extra: dict[str, Any], error_class: type[Exception],
        fragment: str) -> None:
    with pytest.raises(error_class) as err:
        anthropic_client.messages.create(**params(**extra))
    assert fragment in err.value.body["error"]["message"]


def test_messages_and_batches_do_not_share_cache_entries(emulator: EmulatorHandle,
                                                        anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(cache_hit_rate=1.0)
    p = params(system=[{"type": "text", "text": "z " * 2000, "cache_control": {"type": "ephemeral"}}])
    assert anthropic_client.messages.create(**p).usage.cache_creation_input_tokens > 0
    assert anthropic_client.messages.create(**p).usage.cache_read_input_tokens > 0
    batch_usage = run_batch(anthropic_client, emulator, [{"custom_id": "a", "params": p}])["a"].message.usage
    assert batch_usage.cache_read_input_tokens == 0 and batch_usage.cache_creation_input_tokens > 0


def test_count_tokens_matches_billed_input_and_ignores_cache_control(anthropic_client: anthropic.Anthropic) -> None:
    content = [{"type": "text", "text": "Frame at 1 s"}, image_block(jpeg_b64(size=(2000, 1500))),
               {"type": "text", "text": "Describe."}]
    system = [{"type": "text", "text": "s" * 3500, "cache_control": {"type": "ephemeral"}}]
    counted = anthropic_client.messages.count_tokens(model=MODEL, system=system,
                                                     messages=[{"role": "user", "content": content}])
    w, h = fit_to_tier(2000, 1500, model_facts(MODEL).image_tier)
    text = sum(approx_text_tokens(t, MODEL) for t in ("s" * 3500, "Frame at 1 s", "Describe."))
    assert counted.input_tokens == text + image_tokens(w, h)
    usage = anthropic_client.messages.create(**params(content=content, system=system)).usage
    billed = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    assert billed == counted.input_tokens


@pytest.mark.parametrize("source", [{"type": "url", "url": "https://example.com/a.jpg"},
                                    {"type": "file", "file_id": "file_123"}])
def test_count_tokens_rejects_url_and_file_images(anthropic_client: anthropic.Anthropic,
                                                  source: dict[str, str]) -> None:
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": [{"type": "image", "source": source}]}])


# --- models ------------------------------------------------------------------------------------------------

def test_models_list_and_retrieve_come_from_the_catalogue(anthropic_client: anthropic.Anthropic) -> None:
    listed = list(anthropic_client.models.list(limit=3))  # auto-paginates in pages of 3
    assert [m.id for m in listed] == list(catalogue().models)
    for info in listed:
        assert info.capabilities.batch.supported and info.capabilities.image_input.supported
        assert info.capabilities.structured_outputs.supported
        assert info.max_input_tokens == catalogue().models[info.id].context_window
    one = anthropic_client.models.retrieve(MODEL)
    assert one.display_name == model_facts(MODEL).display_name and one.line == "sonnet"
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.models.retrieve("claude-none-1")


# --- CLI -------------------------------------------------------------------------------------------------------

def test_cli_options_build_the_config() -> None:
    args = build_parser().parse_args([
        "emulator", "--port", "0", "--delay", "2", "--errored-rate", "0.1", "--fault", "batches.create:429:2:3",
        "--fault", "*:529", "--drop-results-after", "5", "--max-batch-bytes", "1000"])
    config = config_from_args(args)
    assert config.batch_delay_s == 2 and config.errored_rate == 0.1 and config.drop_results_stream_after == 5
    assert config.max_batch_bytes == 1000
    assert config.http_faults == [HttpFault("batches.create", 429, 2, 3.0), HttpFault("*", 529, 1, 1.0)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "--fault", "nowhere:429"])


def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "gaia", "emulator", "--port", "0", "--state-dir",
                             str(tmp_path / "s"), "--delay", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://127.0.0.1:" in line
        base_url = line.split("listening on ")[1].split()[0]
        client = anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0)
        batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    assert (tmp_path / "s" / "batches" / batch.id / "results.jsonl").is_file()


def test_fault_rules_accept_several_forms() -> None:
    assert EmulatorConfig(http_faults={"batches.create": 429}).http_faults == [HttpFault("batches.create", 429)]
    assert EmulatorConfig(http_faults="batches.:500:*:0").http_faults == [HttpFault("batches.", 500, None, 0.0)]
    rule = EmulatorConfig(http_faults=[{"route": "messages.create", "status": 529, "count": 2}]).http_faults[0]
    assert (rule.route, rule.status, rule.count) == ("messages.create", 529, 2)
    prefix = HttpFault("batches.", 500)
    assert prefix.matches("batches.results") and not prefix.matches("models.list")
    with pytest.raises(ValueError):
        EmulatorConfig(http_faults={"batches.create": 418})
    with pytest.raises(ValueError):
        EmulatorConfig(errored_rate=0.7, expired_rate=0.5)


def test_a_prefix_rule_hits_every_batch_route_until_used_up(emulator: EmulatorHandle,
                                                            anthropic_client: anthropic.Anthropic) -> None:
    emulator.update_config(http_faults="batches.:529:2:0")
    with pytest.raises(anthropic.OverloadedError):
        anthropic_client.messages.batches.list()
    with pytest.raises(anthropic.OverloadedError):
        anthropic_client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    assert anthropic_client.models.list().data  # not a batch route
    assert anthropic_client.messages.batches.list().data == []


# --- Files API ---------------------------------------------------------------------------------------------

def _jpeg_bytes(size: tuple[int, int] = (300, 200)) -> bytes:
    return base64.b64decode(jpeg_b64(size=size))


def test_uploaded_frames_can_be_sent_by_file_id(emulator: EmulatorHandle,
                                                anthropic_client: anthropic.Anthropic) -> None:
    uploaded = anthropic_client.files.upload(file=("frame.jpg", _jpeg_bytes(), "image/jpeg"))
    assert uploaded.id.startswith("file_") and uploaded.size_bytes == len(_jpeg_bytes())
    assert anthropic_client.files.retrieve_metadata(uploaded.id).filename == "frame.jpg"
    assert [f.id for f in anthropic_client.files.list()] == [uploaded.id]
    by_file = params(content=[{"type": "image", "source": {"type": "file", "file_id": uploaded.id}}])
    inline = params(content=[image_block(jpeg_b64(size=(300, 200)))])
    missing = params(content=[{"type": "image", "source": {"type": "file", "file_id": "file_gone"}}])
    results = run_batch(anthropic_client, emulator, [{"custom_id": "file", "params": by_file},
                                                     {"custom_id": "inline", "params": inline},
                                                     {"custom_id": "missing", "params": missing}])
    assert results["file"].message.usage.input_tokens == results["inline"].message.usage.input_tokens
    assert results["missing"].type == "errored"
    assert results["missing"].error.error.type == "not_found_error"
    with pytest.raises(anthropic.BadRequestError):  # uploaded files cannot be downloaded back
        anthropic_client.files.download(uploaded.id)
    assert anthropic_client.files.delete(uploaded.id).type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.files.retrieve_metadata(uploaded.id)


def test_handle_counts_calls_and_makes_clients(emulator: EmulatorHandle) -> None:
    client = emulator.client()
    assert client.max_retries == 0
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
    client.messages.batches.retrieve(batch.id)
    client.messages.batches.retrieve(batch.id)
    assert emulator.calls == {"batches.create": 1, "batches.retrieve": 2}


def test_oversized_images_error_only_when_asked_or_over_the_hard_limit(
        anthropic_client: anthropic.Anthropic) -> None:
    wide = jpeg_b64(size=(3000, 1000))
    strict = {**image_block(wide), "transformations": {"oversized_image": "error"}}
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.create(**params(content=[{"type": "text", "text": "Frame 1 at 00:00.0"}, strict]))
    assert err.value.error_code == "image_dimensions_too_large"
    details = err.value.body["error"]["details"]
    assert details["paths"] == ["messages.0.content.1"]
    assert details["max_side_length_pixels"] == model_facts(MODEL).image_tier.max_edge
    # The default downsizes silently and charges the downsized size.
    usage = anthropic_client.messages.create(**params(content=[image_block(wide)])).usage
    assert usage.input_tokens == image_tokens(*fit_to_tier(3000, 1000, model_facts(MODEL).image_tier))
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client.messages.create(**params(content=[image_block(jpeg_b64(size=(8100, 8)))]))
    assert err.value.body["error"]["details"]["max_side_length_pixels"] == 8000


def test_sampling_parameters_are_accepted_by_older_api_versions(emulator: EmulatorHandle) -> None:
    old = emulator.client(default_headers={"anthropic-version": "2023-06-01"})
    assert old.messages.create(**params(), extra_body={"temperature": 0.3}).stop_reason == "end_turn"
    results = run_batch(old, emulator, [{"custom_id": "a", "params": params(temperature=0.3)}])
    assert results["a"].type == "succeeded"
    with pytest.raises(anthropic.BadRequestError):
        emulator.client().messages.create(**params(), extra_body={"temperature": 0.3})
