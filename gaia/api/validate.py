"""Validating requests before anything is sent: the model, each video's frames, the request's shape.

``RequestProblem`` says why a video (or the whole run) cannot be sent and how to fix it;
``blocking`` problems stop the whole run. ``model_problems`` checks GAIA's own facts about a model,
``keyframe_problems`` one video's frames and request size, ``check_request_shape`` the request
shapes the current API rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaia.facts import (
    BATCH_MAX_BYTES,
    IMAGE_MANY_THRESHOLD,
    IMAGE_MAX_DIMENSION,
    IMAGE_MAX_DIMENSION_MANY,
    IMAGE_MEDIA_TYPES,
    model_facts,
)
from gaia.media.keyframes import KeyframeSet
from gaia.settings import Selection


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

    ``nbytes`` is the request's serialized size when already known (``request_size_for``).
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
    missing = sum(1 for f in frames if not f.present())  # a stat each, without making a Path for each frame
    if missing:
        out.append(RequestProblem(rel, f"{missing} frame file(s) are missing from the frame cache.",
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
