"""Request validation in two stages, as the real API splits it.

``check_batch_body`` runs synchronously on ``POST /v1/messages/batches`` (shape of the body,
``custom_id`` rules, required params, unknown parameters, empty text, image media types, base64
and byte size, ``max_tokens: 0`` refused in a batch though accepted on ``/v1/messages``) and
raises a 400 the SDK sees at once. ``check_params`` holds the rules the real
API only applies when it processes a request (unknown or retired model, ``max_tokens`` above the
model's limit, assistant prefill, thinking modes and forced tool choice a model rejects, sampling
parameters dropped in API version 2026-10-21, a ``tool_result`` with no ``tool_use`` just before
it): inside a batch they become ``errored`` results, on
``POST /v1/messages`` they are a 400 (or 404 for an unknown model) straight away. Each rule names
the doc page it follows; where the docs are silent the stricter reading is taken (see NOTES.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from gaia.emulator.errors import invalid, not_found
from gaia.facts import BATCH_MAX_REQUESTS, CUSTOM_ID_PATTERN, IMAGE_MEDIA_TYPES, ModelFacts, catalogue

API_VERSION = "2026-10-21"
# https://platform.claude.com/docs/en/api/versioning ("Version history").
KNOWN_API_VERSIONS = ("2023-01-01", "2023-06-01", "2026-10-21")
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
# Top-level body fields of MessageCreateParams in anthropic 2.13.0 (``workspace_id`` and
# ``user_profile_id`` travel as headers); anything else is "Extra inputs are not permitted".
MESSAGE_PARAMS = frozenset({
    "model", "max_tokens", "messages", "cache_control", "container", "diagnostics", "inference_geo",
    "metadata", "output_config", "service_tier", "speed", "stop_sequences", "stream", "system",
    "thinking", "tool_choice", "tools", *SAMPLING_PARAMS})
COUNT_TOKENS_PARAMS = frozenset({
    "model", "messages", "cache_control", "output_config", "speed", "system", "thinking", "tool_choice",
    "tools", *SAMPLING_PARAMS})
# Per-image byte cap. The vision page's older copies say 5 MB, late-2026 secondary notes 10 MB:
# the stricter 5 MB (5 MiB, as the API's own message counts it) holds until a primary source says more.
IMAGE_MAX_BYTES = 5 * 1024 * 1024
PREFILL_MESSAGE = ("This model does not support assistant message prefill. The conversation must end with a "
                   "user message.")
# Models that reject a forced tool choice (fact sheet §6: Opus 5.5, Sonnet 5.5, Fable 5.1).
_NO_FORCED_TOOL = re.compile(r"^claude-[a-z]+-5-5(-\d{8})?$|^claude-fable-5-1(-\d{8})?$")
# Adaptive thinking only: 'disabled' and a budget ('enabled') are a 400. Opus 5.5 and Fable 5.1 per
# their what's-new pages ("thinking can't be disabled"; budgets rejected); Sonnet 5.5 per its migration
# guide (use between_tools); Opus 4.7/4.8, Fable 5 and Mythos 5 per the adaptive-thinking page. Haiku 5.5,
# Fable 5.2 and Mythos 5.1 are not named: stricter reading, same rule as their line.
_ADAPTIVE_ONLY = re.compile(r"^claude-([a-z]+-5-5|fable-5(-[12])?|mythos-5(-[12])?|opus-4-[78])(-\d{8})?$")
_DATED = re.compile(r"^(?P<base>.+)-\d{8}$")
_VERSION = re.compile(r"^claude-[a-z]+-(?P<major>\d+)(?:-(?P<minor>\d))?(?:-\d{8})?$")
# Max output tokens (models overview comparison tables): 128K for Opus 4.6 and later, Sonnet 5/5.5 and
# Fable/Mythos; 64K for Sonnet 4.5/4.6, Haiku 4.5 and Opus 4.5. Haiku 5.5's figure is not in the copies
# read: the stricter 64K of its line. With beta ``output-300k-2026-03-24`` a batch may ask up to 300K on
# Opus 5/5.5, Sonnet 5.5 and Haiku 5.5 ("Max output (Batch API, beta) 300K").
_MAX_OUTPUT_64K = re.compile(r"^claude-(sonnet-4-[56]|haiku-4-5|haiku-5-5|opus-4-5)(-\d{8})?$")
_OUTPUT_300K = re.compile(r"^claude-(opus-5(-5)?|sonnet-5-5|haiku-5-5)(-\d{8})?$")
OUTPUT_300K_BETA = "output-300k-2026-03-24"
_BLOCK_TYPES = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                "search_result", "server_tool_use", "web_search_tool_result", "container_upload"}


def max_output_tokens(model: str, betas: str | None = None) -> int:
    """The largest ``max_tokens`` ``model`` accepts (300K in a batch with the output-300k beta)."""
    if betas and OUTPUT_300K_BETA in betas and _OUTPUT_300K.match(model):
        return 300_000
    return 64_000 if _MAX_OUTPUT_64K.match(model) else 128_000


def allows_prefill(model: str) -> bool:
    """Whether ``model`` accepts a final assistant turn: only models before Claude 4.6 do
    (https://platform.claude.com/docs/en/about-claude/models/whats-new-claude-4-6#prefill-removal)."""
    match = _VERSION.match(model)
    if not match:
        return False
    return (int(match.group("major")), int(match.group("minor") or 0)) < (4, 6)


def check_api_version(value: str | None) -> None:
    """A 400 when the ``anthropic-version`` header is missing or names no version (versioning page)."""
    if not value:
        raise invalid("anthropic-version: header is required")
    if value not in KNOWN_API_VERSIONS:
        raise invalid(f"anthropic-version: '{value}' is not a valid version; valid versions are "
                      f"{', '.join(KNOWN_API_VERSIONS)}")


def resolve_model(model: str) -> ModelFacts | None:
    """The facts for ``model`` (dated ids resolve to their base id), or ``None`` if unknown."""
    models = catalogue().models
    if model in models:
        return models[model]
    match = _DATED.match(model)
    return models.get(match.group("base")) if match else None


def is_5x(model: str) -> bool:
    """Whether ``model`` is a Claude 5.x model (those think by default)."""
    return bool(re.match(r"^claude-[a-z]+-5(-\d+)?(-\d{8})?$", model))


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number"}.get(type(value), "null" if value is None else type(value).__name__)


def check_params_shape(params: Any, prefix: str, *, in_batch: bool,
                       allowed: frozenset[str] = MESSAGE_PARAMS) -> None:
    """Required params, unknown params and content block shapes; raises a 400 naming the first problem."""
    where = prefix.rstrip(".") or "body"
    if not isinstance(params, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    for name in params:
        if name not in allowed:
            raise invalid(f"{prefix}{name}: Extra inputs are not permitted")
    for name in ("model", "max_tokens", "messages"):
        if name not in params:
            raise invalid(f"{prefix}{name}: Field required")
    if not isinstance(params["model"], str) or not params["model"]:
        raise invalid(f"{prefix}model: Input should be a valid string")
    max_tokens = params["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid(f"{prefix}max_tokens: Input should be a valid integer")
    if max_tokens == 0 and in_batch:
        # Cache pre-warming is refused inside a batch (batch-processing page, "not allowed inside a batch").
        raise invalid(f"{prefix}max_tokens: max_tokens 0 (cache pre-warming) is not supported in Message "
                      "Batches requests")
    if max_tokens < 0:
        raise invalid(f"{prefix}max_tokens: Input should be greater than or equal to 0")
    if in_batch and params.get("stream"):
        raise invalid(f"{prefix}stream: streaming is not supported in Message Batches requests")
    if in_batch and params.get("speed") == "fast":
        # Only fast mode is refused in a batch (batch-processing page); speed "standard" is the default.
        raise invalid(f"{prefix}speed: fast mode is not supported in Message Batches requests")
    messages = params["messages"]
    if not isinstance(messages, list):
        raise invalid(f"{prefix}messages: Input should be a valid list")
    if not messages:
        raise invalid(f"{prefix}messages: List should have at least 1 item after validation, not 0")
    system = params.get("system")
    if system is not None and not isinstance(system, str | list):
        raise invalid(f"{prefix}system: Input should be a valid string or list of text blocks")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise invalid(f"{prefix}system.{i}: Input should be a text block")
            if not block["text"]:
                raise invalid(f"{prefix}system: text content blocks must be non-empty")
    for m, msg in enumerate(messages):
        mp = f"{prefix}messages.{m}"
        if not isinstance(msg, dict):
            raise invalid(f"{mp}: Input should be a valid dictionary")
        if msg.get("role") not in ("user", "assistant"):
            raise invalid(f"{mp}.role: Input should be 'user' or 'assistant'")
        content = msg.get("content")
        if not isinstance(content, str | list):
            raise invalid(f"{mp}.content: Input should be a valid string or list of content blocks")
        if not content and not (m == len(messages) - 1 and msg["role"] == "assistant"):
            raise invalid(f"{mp}: all messages must have non-empty content except for the optional final "
                          "assistant message")
        if isinstance(content, str):
            continue
        for c, block in enumerate(content):
            bp = f"{mp}.content.{c}"
            if not isinstance(block, dict) or "type" not in block:
                raise invalid(f"{bp}: Input should be a content block with a 'type'")
            kind = block["type"]
            if kind not in _BLOCK_TYPES:
                raise invalid(f"{bp}.type: Input tag '{kind}' found using 'type' does not match any of "
                              "the expected tags")
            if kind == "text" and not isinstance(block.get("text"), str):
                raise invalid(f"{bp}.text.text: Field required")
            if kind == "text" and not block["text"]:
                raise invalid(f"{prefix}messages: text content blocks must be non-empty")
            if kind == "image":
                _check_image(block, f"{bp}.image")


def _check_image(block: dict[str, Any], path: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict):
        raise invalid(f"{path}.source: Field required")
    kind = source.get("type")
    if kind == "base64":
        media = source.get("media_type")
        if media not in IMAGE_MEDIA_TYPES:
            allowed = ", ".join(f"'{t}'" for t in IMAGE_MEDIA_TYPES[:-1]) + f" or '{IMAGE_MEDIA_TYPES[-1]}'"
            raise invalid(f"{path}.source.base64.media_type: Input should be {allowed}")
        data = source.get("data")
        if not isinstance(data, str) or not data:
            raise invalid(f"{path}.source.base64.data: Field required")
        try:
            size = len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise invalid(f"{path}.source.base64.data: The image data is not valid base64.") from None
        check_image_bytes(size, f"{path}.source.base64")
    elif kind == "url":
        if not isinstance(source.get("url"), str):
            raise invalid(f"{path}.source.url.url: Field required")
    elif kind == "file":
        if not isinstance(source.get("file_id"), str):
            raise invalid(f"{path}.source.file.file_id: Field required")
    else:
        raise invalid(f"{path}.source.type: Input tag '{kind}' found using 'type' does not match any of "
                      "the expected tags: 'base64', 'url', 'file'")


def check_image_bytes(size: int, where: str) -> None:
    """A 400 when one image is over ``IMAGE_MAX_BYTES`` (vision page; see NOTES.md for the figure)."""
    if size > IMAGE_MAX_BYTES:
        raise invalid(f"{where}: image exceeds 5 MB maximum: {size} bytes > {IMAGE_MAX_BYTES} bytes")


def check_batch_body(body: Any) -> list[dict[str, Any]]:
    """Validate a batch create body synchronously; return its requests or raise a 400."""
    if not isinstance(body, dict):
        raise invalid("body: Input should be a valid dictionary")
    requests = body.get("requests")
    if requests is None:
        raise invalid("requests: Field required")
    if not isinstance(requests, list):
        raise invalid("requests: Input should be a valid list")
    if not requests:
        raise invalid("requests: List should have at least 1 item after validation, not 0")
    if len(requests) > BATCH_MAX_REQUESTS:
        raise invalid(f"requests: List should have at most {BATCH_MAX_REQUESTS} items after validation, "
                      f"not {len(requests)}")
    seen: dict[str, int] = {}
    for i, req in enumerate(requests):
        if not isinstance(req, dict):
            raise invalid(f"requests.{i}: Input should be a valid dictionary")
        for name in req:
            if name not in ("custom_id", "params"):
                raise invalid(f"requests.{i}.{name}: Extra inputs are not permitted")
        cid = req.get("custom_id")
        if cid is None:
            raise invalid(f"requests.{i}.custom_id: Field required")
        if not isinstance(cid, str):
            raise invalid(f"requests.{i}.custom_id: Input should be a valid string")
        if len(cid) < 1:
            raise invalid(f"requests.{i}.custom_id: String should have at least 1 character")
        if len(cid) > 64:
            raise invalid(f"requests.{i}.custom_id: String should have at most 64 characters")
        if not CUSTOM_ID_PATTERN.match(cid):
            raise invalid(f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if cid in seen:
            raise invalid(f"requests.{i}.custom_id: Duplicate custom_id '{cid}' (also used by "
                          f"requests.{seen[cid]}); custom_id values must be unique within a batch")
        seen[cid] = i
        if "params" not in req:
            raise invalid(f"requests.{i}.params: Field required")
        check_params_shape(req["params"], f"requests.{i}.params.", in_batch=True)
    return requests


def orphan_tool_result_problem(messages: list[Any], prefix: str = "") -> str | None:
    """The API's complaint about a ``tool_result`` with no ``tool_use`` of that id in the message just
    before it (tool-use page: results follow their calls at once), or ``None``."""
    for m, msg in enumerate(messages):
        content = msg.get("content") if isinstance(msg, dict) else None
        if msg.get("role") != "user" or not isinstance(content, list):
            continue
        results = [b.get("tool_use_id") for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        if not results:
            continue
        before = messages[m - 1] if m > 0 and isinstance(messages[m - 1], dict) else {}
        calls = {b.get("id") for b in before.get("content") or [] if isinstance(b, dict)
                 and b.get("type") == "tool_use"} if before.get("role") == "assistant" and isinstance(
                     before.get("content"), list) else set()
        orphans = [str(r) for r in results if r not in calls]
        if orphans:
            first = next(c for c, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "tool_result"
                         and str(b.get("tool_use_id")) == orphans[0])
            return (f"{prefix}messages.{m}.content.{first}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {', '.join(orphans)}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message.")
    return None


def check_count_tokens_body(body: Any) -> None:
    """``POST /v1/messages/count_tokens``: its own parameters only (``max_tokens`` is not one of them:
    ``Extra inputs are not permitted``), the shapes ``check_params_shape`` checks, and no orphan
    ``tool_result``; raises a 400 naming the first problem."""
    if not isinstance(body, dict):
        raise invalid("body: Input should be a valid dictionary")
    for name in body:
        if name not in COUNT_TOKENS_PARAMS:
            raise invalid(f"{name}: Extra inputs are not permitted")
    check_params_shape({"max_tokens": 1, **body}, "", in_batch=False, allowed=COUNT_TOKENS_PARAMS | {"max_tokens"})
    problem = orphan_tool_result_problem(body["messages"])
    if problem:
        raise invalid(problem)


def check_params(params: dict[str, Any], *, prefix: str = "", api_version: str | None = None,
                 today: date | None = None, betas: str | None = None) -> ModelFacts:
    """The rules applied when a request is processed; return the model's facts or raise.

    Raises ``ApiError``: 404 ``not_found_error`` for an unknown model (as the API answers
    ``model: <id>``), 400 for sampling parameters, a forced tool choice on models that reject it,
    thinking turned off where it cannot be, or a schema that is not usable for structured output.
    Sampling parameters are rejected from API version 2026-10-21 on (``api_version`` is the
    request's ``anthropic-version`` header; ``None`` means the current version). A model retired
    on ``today`` (the emulator's clock) is a 404 like an unknown one; ``betas`` is the batch's
    ``anthropic-beta`` header (for the 300K output beta).
    """
    model = params["model"]
    facts = resolve_model(model)
    if facts is None or (today is not None and facts.retired_as_of(today)):
        raise not_found(f"model: {model}")
    limit = max_output_tokens(facts.id, betas)
    if params["max_tokens"] > limit:
        raise invalid(f"{prefix}max_tokens: {params['max_tokens']} > {limit}, which is the maximum allowed "
                      f"number of output tokens for {model}")
    if params["messages"][-1].get("role") == "assistant" and not allows_prefill(facts.id):
        raise invalid(PREFILL_MESSAGE)
    orphan = orphan_tool_result_problem(params["messages"], prefix)
    if orphan:
        raise invalid(orphan)
    drops_sampling = api_version is None or api_version >= API_VERSION
    for name in SAMPLING_PARAMS if drops_sampling else ():
        if name in params:
            raise invalid(f"{prefix}{name}: Extra inputs are not permitted (sampling parameters were "
                          f"removed in API version {API_VERSION})")
    choice = params.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool") and _NO_FORCED_TOOL.match(model):
        raise invalid(f"{prefix}tool_choice: Forced tool use (tool_choice type '{choice.get('type')}') is "
                      f"not supported with {model}; use output_config.format for structured output")
    thinking = params.get("thinking")
    if isinstance(thinking, dict) and _ADAPTIVE_ONLY.match(facts.id):
        if thinking.get("type") == "disabled":
            raise invalid(f"{prefix}thinking.type: 'disabled' is not supported with {model}; thinking is "
                          "always on (adaptive): use output_config.effort to control it")
        if thinking.get("type") == "enabled":
            raise invalid(f"{prefix}thinking.type: 'enabled' (a thinking budget) is not supported with {model}; "
                          "use thinking.type 'adaptive' with output_config.effort")
    fmt = (params.get("output_config") or {}).get("format") if isinstance(params.get("output_config"), dict) else None
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise invalid(f"{prefix}output_config.format: Input should be {{'type': 'json_schema', 'schema': {{...}}}}")
        problem = schema_problem(fmt["schema"])
        if problem:
            raise invalid(f"{prefix}output_config.format.schema: {problem}")
        last = params["messages"][-1]
        if last.get("role") == "assistant":
            raise invalid(f"{prefix}messages: assistant message prefill is not supported with structured outputs")
    return facts


# Keywords structured outputs reject (numeric and length bounds; minItems only 0 or 1).
UNSUPPORTED_SCHEMA_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                               "minLength", "maxLength", "maxItems", "minProperties", "maxProperties")


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` cannot be used for structured output, or ``None``.

    Every object must set ``additionalProperties: false``; numeric and length bounds are not
    supported, ``minItems`` only as 0 or 1; ``$ref`` to ``$defs`` is fine unless it recurses.
    """
    problem = _node_problem(schema, "")
    if problem:
        return problem
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    for name in defs:
        if _recurses(name, defs):
            return f"Recursive schemas are not supported ('{name}' refers to itself)"
    return None


def _node_problem(node: Any, path: str) -> str | None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            found = _node_problem(item, f"{path}/{i}")
            if found:
                return found
        return None
    if not isinstance(node, dict):
        return None
    where = f" at '{path}'" if path else ""
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types) or "properties" in node
    if is_object and node.get("additionalProperties", None) is not False:
        return f"For 'object' type, 'additionalProperties' must be explicitly set to false{where}"
    for key in UNSUPPORTED_SCHEMA_KEYWORDS:
        if key in node:
            return f"'{key}' is not supported in structured output schemas{where}"
    if "minItems" in node and node["minItems"] not in (0, 1):
        return f"'minItems' values other than 0 and 1 are not supported{where}"
    for key, value in node.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, sub in value.items():
                found = _node_problem(sub, f"{path}/{key}/{name}")
                if found:
                    return found
        elif key in ("items", "anyOf", "oneOf", "allOf", "not", "prefixItems"):
            found = _node_problem(value, f"{path}/{key}")
            if found:
                return found
    return None


def _refs(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            out.add(ref.rsplit("/", 1)[-1])
        for key, value in node.items():
            if key not in ("$defs", "definitions"):
                out |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            out |= _refs(item)
    return out


def _recurses(name: str, defs: dict[str, Any]) -> bool:
    todo = list(_refs(defs.get(name, {})))
    visited: set[str] = set()
    while todo:
        current = todo.pop()
        if current == name:
            return True
        if current in visited or current not in defs:
            continue
        visited.add(current)
        todo.extend(_refs(defs[current]))
    return False
