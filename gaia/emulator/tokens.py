"""Token accounting for one request: text approximation, image formula, cacheable prefixes.

``analyse_request`` walks a request's params in the order the API caches them (tools, then the
output schema and system prompt, then messages) and returns a ``RequestAnalysis``: total input
tokens, every ``cache_control`` breakpoint with its cumulative token count, TTL and a digest of
everything up to it (the cache key), and the decoded images with the time label that precedes
each. Images count ``gaia.facts.image_tokens`` after ``gaia.facts.fit_to_tier`` for the model's
image tier; text is approximated by ``approx_text_tokens``, which is GAIA's own rule
(``gaia.pricing.tokens.approx_text_tokens``: characters per token from the data file, times the model's
tokenizer factor), so the emulator and the offline estimate cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from gaia.emulator.errors import ApiError, invalid
from gaia.emulator.validate import check_image_bytes
from gaia.facts import (
    IMAGE_MANY_THRESHOLD,
    IMAGE_MAX_DIMENSION,
    IMAGE_MAX_DIMENSION_MANY,
    ModelFacts,
    fit_to_tier,
    image_tokens,
)
from gaia.pricing.tokens import approx_text_tokens as gaia_approx_text_tokens

_TIME_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|seconds?\b)", re.IGNORECASE)
_CLOCK_RE = re.compile(r"\b(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)\b")


def label_time(text: str) -> float | None:
    """The time a frame label names: ``00:12.4``, ``1:02:03.4``, ``12.5 s``; ``None`` if none."""
    clocks = _CLOCK_RE.findall(text)
    if clocks:
        hours, minutes, seconds = clocks[-1]
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    found = _TIME_RE.findall(text)
    return float(found[-1]) if found else None


class BoundedMemo:
    """A small thread-safe LRU map, so repeated frames are measured once (bounded memory)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Any:
        """The stored value or ``None``."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: bytes, value: Any) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def image_key(data: bytes) -> bytes:
    """A short digest identifying an image's bytes."""
    return hashlib.blake2b(data, digest_size=16).digest()


_SIZES = BoundedMemo()


def approx_text_tokens(text: str, model: str | None = None) -> int:
    """Tokens the emulator charges for ``text`` on ``model`` (GAIA's one approximation rule)."""
    return gaia_approx_text_tokens(text, model) if text else 0


def truncate_to_tokens(text: str, tokens: int, model: str | None = None) -> str:
    """The longest prefix of ``text`` that costs at most ``tokens``."""
    if approx_text_tokens(text, model) <= tokens:
        return text
    if tokens <= 0:
        return ""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if approx_text_tokens(text[:mid], model) <= tokens:
            low = mid
        else:
            high = mid - 1
    return text[:low]


@dataclass
class ImageRef:
    """One decoded image of a request, with the time label found in the text before it."""

    data: bytes
    media_type: str
    width: int
    height: int
    tokens: int
    time_s: float | None
    path: str


@dataclass
class Breakpoint:
    """A ``cache_control`` marker: the prefix up to it holds ``tokens``; ``digest`` keys it."""

    tokens: int
    ttl: str
    digest: str


@dataclass
class RequestAnalysis:
    """What the emulator needs to know about one request's input."""

    model: str
    total_tokens: int = 0
    breakpoints: list[Breakpoint] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    schema: dict[str, Any] | None = None
    prompt_text: str = ""


def _canon(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _strip_cc(block: Any) -> Any:
    if isinstance(block, dict) and "cache_control" in block:
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _ttl(block: Any, path: str) -> str | None:
    if not isinstance(block, dict) or block.get("cache_control") is None:
        return None
    cc = block["cache_control"]
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        raise invalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
    ttl = cc.get("ttl", "5m") or "5m"
    if ttl not in ("5m", "1h"):
        raise invalid(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")
    return ttl


def decode_image(source: dict[str, Any], path: str) -> tuple[bytes, int, int]:
    """Decode a base64 image source and read its size; a 400 when it is not a readable image."""
    try:
        data = base64.b64decode(source.get("data", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise invalid(f"{path}.source.base64.data: The image data is not valid base64.") from None
    width, height = image_size(data, str(source.get("media_type", "")), f"{path}.source.base64")
    return data, width, height


def image_size(data: bytes, media_type: str, where: str) -> tuple[int, int]:
    """Width and height of an encoded image; a 400 when it is unreadable or not ``media_type``."""
    key = image_key(data)
    known = _SIZES.get(key)
    if known is None:
        try:
            with Image.open(io.BytesIO(data)) as img:
                known = (img.size[0], img.size[1], (img.format or "").lower())
        except Exception:  # Pillow raises many kinds for bad data
            raise invalid(f"{where}: Could not process image") from None
        _SIZES.put(key, known)
    width, height, fmt = known
    expected = media_type.split("/")[-1]
    if fmt and fmt.replace("jpeg", "jpg") != expected.replace("jpeg", "jpg"):
        raise invalid(f"{where}: Image does not match the provided media type {media_type}")
    return width, height


# Looks up an uploaded file: ``file_id`` -> (bytes, mime type); raises ``ApiError`` (404) if unknown.
FileResolver = Callable[[str], tuple[bytes, str]]


def analyse_request(params: dict[str, Any], facts: ModelFacts, *, prefix: str = "",
                    decode_images: bool = True, files: FileResolver | None = None) -> RequestAnalysis:
    """Count a structurally valid request's input; raise ``ApiError`` (400) for problems only
    visible once its content is read (undecodable or oversized images, cache breakpoint rules).
    """
    out = RequestAnalysis(model=str(params.get("model")))
    digest = hashlib.sha256()
    # Settings that invalidate the cache when they change are part of the key, not of the count.
    digest.update(_canon({"model": params.get("model"), "tool_choice": params.get("tool_choice"),
                          "thinking": params.get("thinking")}))
    total = 0
    texts: list[str] = []
    ttls: list[str] = []
    last_time: float | None = None
    pending: list[tuple[str, Any]] = []  # (path, block) in cache order

    for i, tool in enumerate(params.get("tools") or []):
        pending.append((f"{prefix}tools.{i}", tool))
    fmt = ((params.get("output_config") or {}).get("format") or {})
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        out.schema = fmt["schema"]
        pending.append((f"{prefix}output_config.format", {"type": "json_schema", "schema": out.schema}))
    system = params.get("system")
    if isinstance(system, str):
        pending.append((f"{prefix}system", {"type": "text", "text": system}))
    elif isinstance(system, list):
        for i, block in enumerate(system):
            pending.append((f"{prefix}system.{i}", block))
    for m, msg in enumerate(params.get("messages") or []):
        content = msg.get("content")
        role = msg.get("role")
        if isinstance(content, str):
            pending.append((f"{prefix}messages.{m}", {"type": "text", "text": content, "_role": role}))
        else:
            for c, block in enumerate(content or []):
                pending.append((f"{prefix}messages.{m}.content.{c}", block))

    n_images = sum(1 for _, b in pending if isinstance(b, dict) and b.get("type") == "image")
    too_large: dict[int, list[str]] = {}  # limit -> paths of the images over it
    top_ttl = _ttl(params, prefix.rstrip(".") or "body") if params.get("cache_control") is not None else None
    for index, (path, block) in enumerate(pending):
        ttl = _ttl(block, path)
        if top_ttl and index == len(pending) - 1 and ttl is None:
            ttl = top_ttl
        clean = _strip_cc(block)
        if isinstance(clean, dict) and clean.get("type") == "image":
            source = clean.get("source") or {}
            kind = source.get("type")
            if kind == "url" or (kind == "file" and files is None):
                reason = ("the GAIA emulator has no network" if kind == "url"
                          else "token counting accepts images only as base64")
                raise ApiError(400, f"{path}.source: {kind} image sources are not supported here ({reason}); "
                                    "send the image as base64")
            if decode_images:
                if kind == "file" and files is not None:
                    data, media_type = files(str(source.get("file_id")))
                    if not media_type.startswith("image/"):
                        raise invalid(f"{path}.source.file: file {source.get('file_id')} is {media_type}, "
                                      "not an image")
                    check_image_bytes(len(data), f"{path}.source.file")
                    width, height = image_size(data, media_type, f"{path}.source.file")
                    source = {"media_type": media_type, "data": source.get("file_id")}
                else:
                    data, width, height = decode_image(source, path)
                limit = IMAGE_MAX_DIMENSION_MANY if n_images > IMAGE_MANY_THRESHOLD else IMAGE_MAX_DIMENSION
                block_path = path
                if max(width, height) > limit:
                    too_large.setdefault(limit, []).append(block_path)
                elif ((clean.get("transformations") or {}).get("oversized_image") == "error"
                      and fit_to_tier(width, height, facts.image_tier) != (width, height)):
                    too_large.setdefault(facts.image_tier.max_edge, []).append(block_path)
                w, h = fit_to_tier(width, height, facts.image_tier)
                tok = image_tokens(w, h)
                out.images.append(ImageRef(data, source.get("media_type", ""), width, height, tok,
                                           last_time, path))
            else:
                tok = 0
            digest.update(_canon({"image": hashlib.sha256(str(source.get("data")).encode()).hexdigest()}))
        else:
            text = _block_text(clean)
            texts.append(text)
            found = label_time(text) if isinstance(clean, dict) and clean.get("type") == "text" else None
            if found is not None:
                last_time = found
            tok = approx_text_tokens(text, facts.id)
            digest.update(_canon(clean))
        total += tok
        if ttl is not None:
            ttls.append(ttl)
            out.breakpoints.append(Breakpoint(tokens=total, ttl=ttl, digest=digest.hexdigest()))
    if too_large:
        limit = min(too_large)
        paths = [p for lim in sorted(too_large) for p in too_large[lim]]
        raise ApiError(400, f"{paths[0]}: image dimensions exceed the maximum allowed size of {limit} pixels "
                            f"on either side ({len(paths)} image(s) too large)",
                       details={"error_code": "image_dimensions_too_large", "max_side_length_pixels": limit,
                                "paths": [p.removeprefix(prefix) for p in paths]})
    if len(out.breakpoints) > 4:
        raise invalid(f"A maximum of 4 blocks with cache_control may be provided. Found {len(out.breakpoints)}.")
    if "5m" in ttls and "1h" in ttls[ttls.index("5m"):]:
        raise invalid("A cache_control with ttl='1h' cannot come after one with ttl='5m' "
                      "(1h entries must appear before 5m entries in tools, system, messages order).")
    if n_images > facts.max_images:
        raise invalid(f"Too many images in one request: {n_images} > {facts.max_images} for {facts.id}.")
    out.total_tokens = total
    out.prompt_text = "\n".join(texts)
    return out


def _block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return str(block)
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "\n".join(_block_text(c) for c in content)
        return str(content or "")
    return json.dumps({k: v for k, v in block.items() if k != "_role"}, ensure_ascii=False,
                      separators=(",", ":"))
