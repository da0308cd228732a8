"""Building Message requests from keyframes: one request per video, validated, streamed and split into batches.

Every request of a run shares one prefix (the profile's system prompt, then its output schema as
text), marked with ``cache_control`` so the API can cache it; then come the video's keyframes as
base64 JPEG image blocks in time order, each preceded by a text label with its timestamp
("Frame 2 at 00:12.4"), and finally the instruction. Answers are forced into the schema with
structured outputs (``output_config.format``), never with a forced tool choice (the 5.5 models
reject it), and no sampling parameters are sent (the current API version rejects them).

Requests are produced one at a time (``iter_request_lines``) and written straight to a spool file,
so a run of any size never holds more than one request in memory. Their serialized size is known
before any image is read (``request_size``), which is how a run is split into batches by bytes
and by count (``split_batches``) with a safety margin under the API's limits.
``parse_answer`` turns an answer back into the analysis, or into a plain-language problem.
``custom_id`` values are short hashes of the video's relative path (plus the attempt on retries),
never the path itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.facts import (
    BATCH_MAX_BYTES,
    BATCH_MAX_REQUESTS,
    CACHE_TTLS,
    CUSTOM_ID_PATTERN,
    IMAGE_MANY_THRESHOLD,
    IMAGE_MAX_DIMENSION,
    IMAGE_MAX_DIMENSION_MANY,
    IMAGE_MEDIA_TYPES,
    model_facts,
)
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.prompts import PromptProfile
from gaia.settings import DEFAULT_MAX_TOKENS, Selection  # the answer length limit's one source of truth

# Split batches this far under the API's byte limit (JSON framing, headers and rounding).
BATCH_BYTES_SAFETY = 0.98
SCHEMA_HEADER = "Output schema (JSON Schema). Your answer must be one JSON object valid against it:\n"
_BODY_OPEN = b'{"requests":['
_BODY_CLOSE = b"]}"
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


# --- ids, labels, sizes ------------------------------------------------------------------------------

def custom_id_for(rel_path: str, attempt: int = 1) -> str:
    """The request's ``custom_id``: ``v`` + 20 hex of sha256(relative path), ``-aN`` for attempt N > 1."""
    digest = hashlib.sha256(rel_path.encode("utf-8")).hexdigest()[:20]
    cid = f"v{digest}" if attempt <= 1 else f"v{digest}-a{attempt}"
    assert CUSTOM_ID_PATTERN.match(cid)
    return cid


def frame_label(index: int, timestamp: float) -> str:
    """The text before each image: ``Frame 2 at 00:12.4`` (``1:02:03.4`` past an hour; index from 1)."""
    tenths = round(max(0.0, timestamp) * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    sec = f"{rest // 10:02d}.{rest % 10}"
    stamp = f"{hours}:{minutes:02d}:{sec}" if hours else f"{minutes:02d}:{sec}"
    return f"Frame {index} at {stamp}"


def b64_length(nbytes: int) -> int:
    """Length of the base64 text of ``nbytes`` bytes."""
    return 4 * ((nbytes + 2) // 3)


def dumps(obj: Any) -> bytes:
    """The one serialization used for request bodies, dry runs and size computations."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sniff_media_type(data: bytes) -> str | None:
    """The image media type from the file's first bytes, or ``None`` when it is no supported image."""
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- building ----------------------------------------------------------------------------------------

def system_blocks(profile: PromptProfile, cache_ttl: str) -> list[dict[str, Any]]:
    """The shared, cacheable prefix: the system prompt, then the schema text carrying ``cache_control``."""
    if cache_ttl not in CACHE_TTLS:
        raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {cache_ttl!r}")
    return [
        {"type": "text", "text": profile.system},
        {"type": "text", "text": SCHEMA_HEADER + profile.schema_text,
         "cache_control": {"type": "ephemeral", "ttl": cache_ttl}},
    ]


def _params(
    frames: Sequence[Keyframe],
    profile: PromptProfile,
    *,
    model: str,
    cache_ttl: str,
    max_tokens: int,
    image: Callable[[Keyframe], dict[str, Any]],
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for i, frame in enumerate(sorted(frames, key=lambda f: f.timestamp), start=1):
        content.append({"type": "text", "text": frame_label(i, frame.timestamp)})
        content.append({"type": "image", "source": image(frame)})
    content.append({"type": "text", "text": profile.instruction})
    return {
        "model": model,
        "max_tokens": int(max_tokens),
        "system": system_blocks(profile, cache_ttl),
        "messages": [{"role": "user", "content": content}],
        "output_config": {"format": {"type": "json_schema", "schema": profile.schema}},
    }


def _read_image(frame: Keyframe) -> dict[str, Any]:
    data = frame.read_bytes()
    media = sniff_media_type(data) or "image/jpeg"
    return {"type": "base64", "media_type": media, "data": base64.b64encode(data).decode("ascii")}


# A stand-in file id for size computations before the frames are uploaded (real ids are shorter).
_FILE_ID_PLACEHOLDER = "file_" + "0" * 40


def _sources(file_ids: Mapping[str, str] | None) -> Callable[[Keyframe], dict[str, Any]]:
    """Image sources: a ``file`` reference for frames in ``file_ids`` (by frame path), else base64."""
    if not file_ids:
        return _read_image

    def source(frame: Keyframe) -> dict[str, Any]:
        file_id = file_ids.get(str(frame.path))
        return {"type": "file", "file_id": file_id} if file_id else _read_image(frame)

    return source


def build_request_for(
    rel_path: str,
    frames: Sequence[Keyframe],
    profile: PromptProfile,
    *,
    model: str,
    cache_ttl: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    attempt: int = 1,
    file_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The request for an explicit list of frames (what ``build_request`` and retries use).

    Frames whose path is in ``file_ids`` (uploaded through the Files API) are referenced by
    ``file_id`` instead of being sent inline as base64.
    """
    params = _params(frames, profile, model=model, cache_ttl=cache_ttl, max_tokens=max_tokens,
                     image=_sources(file_ids))
    return {"custom_id": custom_id_for(rel_path, attempt), "params": params}


def request_size_for(
    rel_path: str,
    frames: Sequence[Keyframe],
    profile: PromptProfile,
    *,
    model: str,
    cache_ttl: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    attempt: int = 1,
    by_file: bool = False,
) -> int:
    """The serialized size in bytes of ``build_request_for(...)``, computed without reading any image.

    Exact for inline images when each frame's ``nbytes`` is the size of its JPEG file (base64 text
    never needs JSON escaping, so only its length matters); with ``by_file`` (frames referenced by
    ``file_id``) an upper bound.
    """
    if by_file:
        params = _params(frames, profile, model=model, cache_ttl=cache_ttl, max_tokens=max_tokens,
                         image=lambda f: {"type": "file", "file_id": _FILE_ID_PLACEHOLDER})
        return len(dumps({"custom_id": custom_id_for(rel_path, attempt), "params": params}))
    params = _params(frames, profile, model=model, cache_ttl=cache_ttl, max_tokens=max_tokens,
                     image=lambda f: {"type": "base64", "media_type": "image/jpeg", "data": ""})
    skeleton = dumps({"custom_id": custom_id_for(rel_path, attempt), "params": params})
    return len(skeleton) + sum(b64_length(f.nbytes) for f in frames)


def build_request(
    kset: KeyframeSet,
    profile: PromptProfile,
    *,
    model: str,
    cache_ttl: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    selection: Selection | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """One Message Batches request ``{"custom_id", "params"}`` for a video's keyframes.

    The frames the user excluded in ``selection`` are left out. ``params`` is also exactly what the
    Messages API takes (``client.messages.create(**request["params"])``) for a "run now".
    Raises ``OSError`` when a frame file cannot be read.
    """
    return build_request_for(kset.rel_path, kset.included_frames(selection), profile, model=model,
                             cache_ttl=cache_ttl, max_tokens=max_tokens, attempt=attempt)


def request_size(
    kset: KeyframeSet,
    profile: PromptProfile,
    *,
    model: str,
    cache_ttl: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    selection: Selection | None = None,
    attempt: int = 1,
) -> int:
    """The serialized size in bytes of ``build_request(...)``, computed without reading any image."""
    return request_size_for(kset.rel_path, kset.included_frames(selection), profile, model=model,
                            cache_ttl=cache_ttl, max_tokens=max_tokens, attempt=attempt)


# --- validation --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestProblem:
    """Why a video (or, with ``rel_path`` ``None``, the whole run) cannot be sent, and the fix.

    ``blocking`` problems stop the whole run (an unknown model, an unusable schema); the others
    leave one video out and let the rest go.
    """

    rel_path: str | None
    problem: str
    fix: str
    blocking: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rel_path": self.rel_path, "problem": self.problem, "fix": self.fix, "blocking": self.blocking}


def model_problems(model: str) -> list[RequestProblem]:
    """Whether GAIA knows the model's prices and limits, and the model takes images in batches."""
    try:
        facts = model_facts(model)
    except KeyError as exc:
        return [RequestProblem(None, str(exc.args[0]), "Choose a model from the list, or add its row to "
                               "gaia-prices.toml.", blocking=True)]
    out = []
    if not getattr(facts, "supports_images", True):
        out.append(RequestProblem(None, f"{facts.display_name} does not accept images.", "Choose another model.", True))
    if not getattr(facts, "supports_batch", True):
        out.append(RequestProblem(None, f"{facts.display_name} is not available in the Message Batches API.",
                                  "Choose another model, or use Run now.", True))
    if facts.status == "retired":
        out.append(RequestProblem(None, f"{facts.display_name} is retired.", "Choose a current model.", True))
    return out


def keyframe_problems(
    kset: KeyframeSet,
    *,
    model: str,
    selection: Selection | None = None,
    nbytes: int | None = None,
    max_request_bytes: int = BATCH_MAX_BYTES,
) -> list[RequestProblem]:
    """What keeps one video's request from being valid: frames, image limits, request size.

    ``nbytes`` is the request's serialized size when already known (``request_size``).
    """
    rel = kset.rel_path
    if kset.problem:
        return [RequestProblem(rel, kset.problem, "Fix or exclude the video, then extract its keyframes again.")]
    frames = kset.included_frames(selection)
    if not frames:
        if kset.frames:
            return [RequestProblem(rel, "Every frame of this video is excluded.",
                                   "Include at least one frame, or exclude the whole video.")]
        return [RequestProblem(rel, "This video has no keyframes yet.", "Extract keyframes first (Keyframes page "
                               "or `gaia keyframes DIR`).")]
    out: list[RequestProblem] = []
    try:
        facts = model_facts(model)
        max_images = facts.max_images
    except KeyError:
        max_images = None
    if max_images is not None and len(frames) > max_images:
        out.append(RequestProblem(rel, f"{len(frames)} frames exceed the model's limit of {max_images} images "
                                  "per request.", f"Use at most {max_images} frames per video."))
    limit = IMAGE_MAX_DIMENSION_MANY if len(frames) > IMAGE_MANY_THRESHOLD else IMAGE_MAX_DIMENSION
    for f in frames:
        if max(f.width, f.height) > limit:
            why = f" (with more than {IMAGE_MANY_THRESHOLD} images each must be at most {limit} px)" \
                if limit == IMAGE_MAX_DIMENSION_MANY else ""
            out.append(RequestProblem(rel, f"Frame at {f.timestamp:.1f}s is {f.width}x{f.height} px, over the "
                                      f"{limit} px limit{why}.", "Lower the maximum edge in the keyframe settings."))
            break
    missing = [f for f in frames if not f.path.is_file()]
    if missing:
        out.append(RequestProblem(rel, f"{len(missing)} frame file(s) are missing from the frame cache.",
                                  "Extract keyframes again."))
    if nbytes is not None and nbytes > max_request_bytes:
        out.append(RequestProblem(rel, f"The request is {nbytes / 1e6:.1f} MB, over the {max_request_bytes / 1e6:.0f}"
                                  " MB batch limit on its own.", "Use fewer frames, a smaller maximum edge or a "
                                  "lower JPEG quality."))
    return out


def check_request_shape(params: dict[str, Any]) -> list[str]:
    """Request shapes the current API rejects (forced tool choice, sampling parameters, no max_tokens)."""
    out = []
    for key in ("temperature", "top_p", "top_k"):
        if key in params:
            out.append(f"'{key}' is rejected by the current API version")
    choice = params.get("tool_choice") or {}
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        out.append("a forced tool_choice is rejected by the 5.5 models; use output_config.format")
    if params.get("stream"):
        out.append("'stream' is not allowed in a batch")
    if not params.get("max_tokens"):
        out.append("'max_tokens' must be a positive number")
    for block in params.get("messages", [{}])[0].get("content", []):
        if block.get("type") == "image" and block["source"].get("type", "base64") == "base64":
            media = block["source"].get("media_type")
            if media not in IMAGE_MEDIA_TYPES:
                out.append(f"image media type {media!r} is not supported")
                break
    return out


# --- splitting and streaming --------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchSlice:
    """One batch of a split: which items (by index in the input order), their body size, why it ended."""

    start: int
    stop: int
    nbytes: int
    reason: str  # "bytes": the next request would pass the byte limit; "count": the request limit; "end"

    @property
    def count(self) -> int:
        """Number of requests in the batch."""
        return self.stop - self.start


def batch_byte_budget(max_bytes: int | None = None) -> int:
    """The byte size GAIA fills a batch body up to: the API limit less a safety margin."""
    return int((max_bytes or BATCH_MAX_BYTES) * BATCH_BYTES_SAFETY)


def split_batches(
    sizes: Iterable[int],
    *,
    max_bytes: int | None = None,
    max_requests: int | None = None,
) -> list[BatchSlice]:
    """Cut a stream of request sizes into consecutive batches under the byte and count limits.

    ``max_bytes`` is the body limit before the safety margin (``BATCH_MAX_BYTES`` by default);
    ``max_requests`` defaults to ``BATCH_MAX_REQUESTS``. A request larger than a batch on its own
    still gets a batch of its own (validation reports it separately).
    """
    budget = batch_byte_budget(max_bytes)
    limit = max_requests or BATCH_MAX_REQUESTS
    out: list[BatchSlice] = []
    start = 0
    body = len(_BODY_OPEN) + len(_BODY_CLOSE)
    i = -1
    for i, size in enumerate(sizes):
        extra = size + (1 if i > start else 0)
        count = i - start
        if count and (body + extra > budget or count >= limit):
            out.append(BatchSlice(start, i, body, "bytes" if body + extra > budget else "count"))
            start = i
            body = len(_BODY_OPEN) + len(_BODY_CLOSE)
            extra = size
        body += extra
    if i >= start:
        out.append(BatchSlice(start, i + 1, body, "end"))
    return out


def write_batch_body(lines: Iterable[bytes], path: Path) -> tuple[int, int]:
    """Write ``{"requests":[...]}`` to ``path`` from serialized requests, one at a time.

    Returns (requests written, bytes written). The file is fsynced so a crash cannot leave a
    half-written body behind a recorded intent.
    """
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(_BODY_OPEN)
        for line in lines:
            if count:
                fh.write(b",")
            fh.write(line)
            count += 1
        fh.write(_BODY_CLOSE)
        fh.flush()
        os.fsync(fh.fileno())
        size = fh.tell()
    return count, size


class SpoolBody:
    """A request body on disk that the SDK streams (re-readable on retries, with a Content-Length)."""

    CHUNK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while chunk := fh.read(self.CHUNK):
                yield chunk

    # httpx asks for the remaining length through tell()/seek() to send Content-Length.
    def tell(self) -> int:
        """Always at the start: each iteration reads the whole file."""
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        """Report the size for ``seek(0, SEEK_END)``; any other seek is a no-op at the start."""
        return self.size if whence == 2 else 0


# --- answers ------------------------------------------------------------------------------------------

def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def answer_text(message: Any) -> str | None:
    """The text of the answer's text block(s), chosen by type (thinking blocks may come first)."""
    parts = [_get(b, "text") or "" for b in (_get(message, "content") or []) if _get(b, "type") == "text"]
    return "".join(parts) if parts else None


_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "deprecated", "readOnly",
                          "writeOnly"})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "integer": lambda x: not isinstance(x, bool) and (isinstance(x, int) or (isinstance(x, float) and x.is_integer())),
}


def _compile(node: Any) -> Callable[[Any], bool] | None:
    """A fast validity check for the plain subset of JSON Schema answers use, or ``None`` if the node
    uses anything else (then the full ``jsonschema`` validator decides)."""
    if node is True or node == {}:
        return lambda x: True
    if not isinstance(node, dict):
        return None
    known = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "items", "enum"}
    if set(node) - known:
        return None
    checks: list[Callable[[Any], bool]] = []
    kind = node.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or any(k not in _TYPE_CHECKS for k in kinds):
            return None
        fns = [_TYPE_CHECKS[k] for k in kinds]

        def of_type(x: Any, fns: list[Callable[[Any], bool]] = fns) -> bool:
            return any(f(x) for f in fns)

        checks.append(of_type)
    if "enum" in node:
        values = node["enum"]
        if not isinstance(values, list) or any(isinstance(v, (dict, list, float)) for v in values):
            return None

        def in_enum(x: Any, values: list[Any] = values) -> bool:
            return any(type(x) is type(v) and x == v for v in values)

        checks.append(in_enum)
    props: dict[str, Callable[[Any], bool]] = {}
    for name, sub in (node.get("properties") or {}).items():
        fn = _compile(sub)
        if fn is None:
            return None
        props[name] = fn
    required = list(node.get("required") or [])
    extra = node.get("additionalProperties", True)
    if extra not in (True, False):
        return None
    if props or required or extra is False:
        def obj(x: Any, props: dict[str, Callable[[Any], bool]] = props, required: list[str] = required,
                closed: bool = extra is False) -> bool:
            if not isinstance(x, dict):
                return True  # properties/required only constrain objects
            if any(r not in x for r in required):
                return False
            for key, value in x.items():
                fn = props.get(key)
                if fn is None:
                    if closed:
                        return False
                elif not fn(value):
                    return False
            return True

        checks.append(obj)
    if "items" in node:
        item = _compile(node["items"])
        if item is None:
            return None
        def items(x: Any, item: Callable[[Any], bool] = item) -> bool:
            return not isinstance(x, list) or all(item(v) for v in x)

        checks.append(items)
    return lambda x: all(c(x) for c in checks)


class AnswerChecker:
    """Validates answers against one schema: a compiled fast check for the plain subset of JSON
    Schema that structured outputs use, the full ``jsonschema`` validator for anything else and for
    the plain-language message when an answer is invalid. Build once, use for many answers."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        self.schema = schema
        self.validator = jsonschema.Draft202012Validator(schema)
        self.fast = _compile(schema)

    def problem(self, data: Any) -> str | None:
        """``None`` when ``data`` is valid, else where and why it is not."""
        import jsonschema

        if self.fast is not None and self.fast(data):
            return None
        error = jsonschema.exceptions.best_match(self.validator.iter_errors(data))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        return f"The answer does not match the output schema at {where}: {error.message}"


def parse_answer(
    message: Any, schema: dict[str, Any], *, validator: Any | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The analysis in ``message`` validated against ``schema``, or ``(None, problem)`` in plain words.

    ``message`` is an SDK ``Message`` or its dict. A refusal or an answer cut off at ``max_tokens``
    is a failure (to retry), as is text that is not JSON or does not match the schema. Pass a
    prebuilt ``AnswerChecker`` (or ``jsonschema`` validator) for ``schema`` when parsing many answers.
    """
    stop = _get(message, "stop_reason")
    if stop == "refusal":
        return None, "The model declined to analyse this video (stop_reason: refusal)."
    if stop == "max_tokens":
        usage = _get(message, "usage")
        out = _get(usage, "output_tokens") if usage is not None else None
        n = f" after {out} tokens" if out else ""
        return None, f"The answer was cut off at the max_tokens limit{n}; retry (with a higher limit if it recurs)."
    text = answer_text(message)
    if text is None:
        return None, "The answer holds no text block."
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"The answer is not valid JSON ({exc.msg} at character {exc.pos})."
    if not isinstance(data, dict):
        return None, "The answer is JSON but not an object."
    if isinstance(validator, AnswerChecker):
        problem = validator.problem(data)
    else:
        import jsonschema

        checker = validator or jsonschema.Draft202012Validator(schema)
        error = jsonschema.exceptions.best_match(checker.iter_errors(data))
        problem = None
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the top level"
            problem = f"The answer does not match the output schema at {where}: {error.message}"
    return (None, problem) if problem else (data, None)
