"""Building Message requests from keyframes: one request per video, and its exact size before it is built.

Every request of a run shares one prefix (the profile's system prompt, then its output schema as
text), marked with ``cache_control`` so the API can cache it; then come the video's keyframes as
base64 JPEG image blocks in time order, each preceded by a text label with its timestamp
("Frame 2 at 00:12.4"), and finally the instruction. Answers are forced into the schema with
structured outputs (``output_config.format``), never with a forced tool choice (the 5.5 models
reject it), and no sampling parameters are sent (the current API version rejects them).

Requests are produced one at a time and written straight to a spool file, so a run of any size
never holds more than one request in memory. Their serialized size is known before any image is
read (``request_size_for``), which is how a run is split into batches (``gaia.api.bodies``). Validation
lives in ``gaia.api.validate``, answer parsing in ``gaia.api.answers``.
``custom_id`` values are short hashes of the folder's token, the run id and the video's relative
path (plus the attempt on retries), never the path itself: two folders with the same file names,
or two runs of one folder, never share one. (Ledgers written before hold unscoped ids, a hash of
the path alone; they are matched as stored, so they still retrieve and retry.)
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Required, TypedDict, Unpack

from gaia.facts import (
    CACHE_TTLS,
    CUSTOM_ID_PATTERN,
)
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.prompts import PromptProfile
from gaia.settings import DEFAULT_MAX_TOKENS, Selection  # the answer length limit's one source of truth

SCHEMA_HEADER = "Output schema (JSON Schema). Your answer must be one JSON object valid against it:\n"
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


# --- ids, labels, sizes ------------------------------------------------------------------------------

def custom_id_for(rel_path: str, attempt: int = 1, scope: str = "") -> str:
    """The request's ``custom_id``: ``v`` + 20 hex of sha256(scope, relative path), ``-aN`` for attempt N > 1.

    ``scope`` (the folder's token and the run id, see ``Ledger.request_scope``) makes the id unique
    to one folder and run; its length never depends on the scope, so request sizes computed
    without it are exact.
    """
    key = f"{scope}\n{rel_path}" if scope else rel_path
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]
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


def output_config(profile: PromptProfile) -> dict[str, Any]:
    """The structured-output setting every request carries. The API builds a system prompt from the
    schema, so it belongs to the shared prefix: it is billed (and cached) with the blocks of
    ``system_blocks`` and changing it invalidates the cache."""
    return {"format": {"type": "json_schema", "schema": profile.schema}}


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
        "output_config": output_config(profile),
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


class RequestHow(TypedDict, total=False):
    """How every request of a run is asked (the model, the cache TTL, the answer length limit) and which
    attempt this one is: the keywords ``build_request_for`` and ``request_size_for`` share."""

    model: Required[str]
    cache_ttl: Required[str]
    max_tokens: int  # default: the settings' DEFAULT_MAX_TOKENS
    attempt: int  # default: 1


def _params_how(frames: Sequence[Keyframe], profile: PromptProfile, how: RequestHow,
                image: Callable[[Keyframe], dict[str, Any]]) -> dict[str, Any]:
    return _params(frames, profile, model=how["model"], cache_ttl=how["cache_ttl"],
                   max_tokens=how.get("max_tokens", DEFAULT_MAX_TOKENS), image=image)


def build_request_for(
    rel_path: str,
    frames: Sequence[Keyframe],
    profile: PromptProfile,
    *,
    file_ids: Mapping[str, str] | None = None,
    scope: str = "",
    **how: Unpack[RequestHow],
) -> dict[str, Any]:
    """The request for an explicit list of frames (what ``build_request`` and retries use).

    Frames whose path is in ``file_ids`` (uploaded through the Files API) are referenced by
    ``file_id`` instead of being sent inline as base64. ``scope`` goes into the ``custom_id``.
    """
    params = _params_how(frames, profile, how, _sources(file_ids))
    return {"custom_id": custom_id_for(rel_path, how.get("attempt", 1), scope), "params": params}


def request_size_for(
    rel_path: str,
    frames: Sequence[Keyframe],
    profile: PromptProfile,
    *,
    by_file: bool = False,
    **how: Unpack[RequestHow],
) -> int:
    """The serialized size in bytes of ``build_request_for(...)``, computed without reading any image.

    Exact for inline images when each frame's ``nbytes`` is the size of its JPEG file (base64 text
    never needs JSON escaping, so only its length matters); with ``by_file`` (frames referenced by
    ``file_id``) an upper bound.
    """
    cid = custom_id_for(rel_path, how.get("attempt", 1))
    # A JSON list is its items joined by commas, each serialized on its own: the request without frames, plus for
    # each frame its label's item, its image's item and two commas. The same bytes as serializing the whole request
    # (tests/api/test_requests.py holds them side by side), without building it for each of 100,000 videos.
    base, image = _frameless_size(len(cid), profile, how, by_file)
    size = base + sum(_label_item_size(frame_label(i, f.timestamp)) + image + 2
                      for i, f in enumerate(sorted(frames, key=lambda f: f.timestamp), start=1))
    return size if by_file else size + sum(b64_length(f.nbytes) for f in frames)


_FRAMELESS_SIZES: dict[tuple[Any, ...], tuple[PromptProfile, int, int]] = {}


def _frameless_size(cid_length: int, profile: PromptProfile, how: RequestHow, by_file: bool) -> tuple[int, int]:
    """The serialized size of a request with no frame, and of one frame's image item, remembered by what they depend
    on (the profile itself held beside its id, so a new profile is never taken for an old one)."""
    key = (cid_length, id(profile), how["model"], how["cache_ttl"], how.get("max_tokens", DEFAULT_MAX_TOKENS), by_file)
    hit = _FRAMELESS_SIZES.get(key)
    if hit is not None and hit[0] is profile:
        return hit[1], hit[2]
    source: dict[str, Any] = ({"type": "file", "file_id": _FILE_ID_PLACEHOLDER} if by_file else
                              {"type": "base64", "media_type": "image/jpeg", "data": ""})
    base = len(dumps({"custom_id": "v" * cid_length, "params": _params_how((), profile, how, lambda f: source)}))
    image = len(dumps({"type": "image", "source": source}))
    if len(_FRAMELESS_SIZES) >= 64:
        _FRAMELESS_SIZES.clear()
    _FRAMELESS_SIZES[key] = (profile, base, image)
    return base, image


@lru_cache(maxsize=65_536)
def _label_item_size(label: str) -> int:
    return len(dumps({"type": "text", "text": label}))


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

