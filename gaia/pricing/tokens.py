"""Token estimates for one request: images (from real frame sizes), text (exact or approximate), output.

Images: a frame extracted for one model may be sent to another, so its tokens are always computed
for the target model: the API first downscales it to that model's image tier
(``gaia.facts.fit_to_tier``), then charges ``ceil(w/28) * ceil(h/28)`` (``gaia.facts.image_tokens``).
Text: the shared prefix is what the cache write bills: the structured-output schema
(``output_config``, which the API turns into a system prompt of its own) and the system blocks up
to the ``cache_control`` breakpoint, exactly as ``gaia.api.requests`` builds them. With an
``anthropic`` client it is counted with the free ``count_tokens`` endpoint on those very blocks
(cached per prompt hash and model), else approximated from their length and marked
``exact=False`` so every screen can say "approximate". Output tokens are estimated in
``gaia.pricing.output``.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.api.client import describe_error
from gaia.api.requests import SCHEMA_HEADER, dumps, output_config, system_blocks
from gaia.facts import estimate_defaults, fit_to_tier, image_tokens, model_facts
from gaia.fsutil import atomic_write_json
from gaia.prompts import PromptProfile

if TYPE_CHECKING:
    from anthropic import Anthropic

# What a frame label looks like in a request (``gaia.api.requests.frame_label``); used only to count
# its tokens.
FRAME_LABEL_EXAMPLE = "Frame 10 at 01:23.4"


def frame_size_for_model(width: int, height: int, model: str) -> tuple[int, int]:
    """The size the model actually sees: the frame downscaled to the model's image tier (never enlarged)."""
    return fit_to_tier(width, height, model_facts(model).image_tier)


def frame_tokens(width: int, height: int, model: str) -> int:
    """Visual tokens one frame of ``width`` x ``height`` costs on ``model`` (after its resize rule)."""
    w, h = frame_size_for_model(width, height, model)
    return image_tokens(w, h)


def approx_text_tokens(text: str, model: str | None = None) -> int:
    """A local approximation of the tokens in ``text`` (characters / chars-per-token x tokenizer factor).

    Used when no API key is available; callers must present the result as approximate.
    """
    if not text:
        return 0
    factor = model_facts(model).text_token_factor if model else 1.0
    return max(1, math.ceil(len(text) / estimate_defaults().chars_per_token * factor))


@dataclass(frozen=True)
class PromptTokens:
    """Token counts of the text every request shares, and how they were obtained.

    ``prefix`` (system prompt + schema) is the cacheable part, what one cache write bills;
    ``schema`` holds both the schema text block and the structured-output schema. ``instruction``
    and the per-frame ``label`` tokens are sent uncached after the images.
    """

    model: str
    system: int
    schema: int
    instruction: int
    label: int
    exact: bool
    source: str  # "count_tokens" or "approximate"
    note: str = ""

    @property
    def prefix(self) -> int:
        """Tokens of the shared cacheable prefix (system prompt + schema)."""
        return self.system + self.schema

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "system": self.system, "schema": self.schema, "prefix": self.prefix,
                "instruction": self.instruction, "label_per_frame": self.label, "exact": self.exact,
                "source": self.source, "note": self.note}


def _schema_text(profile: PromptProfile) -> str:
    """The schema as the prefix carries it: the text block with the request builder's header, and
    the structured-output schema (``output_config``) as JSON."""
    return SCHEMA_HEADER + profile.schema_text + "\n" + dumps(output_config(profile)["format"]).decode("utf-8")


def approx_prompt_tokens(profile: PromptProfile, model: str, *, note: str = "") -> PromptTokens:
    """Approximate token counts for a profile's system prompt, schema and instruction on ``model``."""
    return PromptTokens(
        model=model,
        system=approx_text_tokens(profile.system, model),
        schema=approx_text_tokens(_schema_text(profile), model),
        instruction=approx_text_tokens(profile.instruction, model),
        label=approx_text_tokens(FRAME_LABEL_EXAMPLE, model),
        exact=False,
        source="approximate",
        note=note or "approximate: counted locally from the text length; give an API key for exact counts",
    )


# Bumped when what is counted changes, so counts kept on disk by an earlier rule are not reused
# (v2: the structured-output schema is part of the prefix).
_COUNT_RULE = "v2"
_COUNT_CACHE: dict[tuple[str, str], PromptTokens] = {}
_COUNT_LOCK = threading.Lock()


def _read_disk_cache(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _disk_key(profile: PromptProfile, model: str) -> str:
    return f"{profile.hash}|{model}|{_COUNT_RULE}"


def _disk_count(profile: PromptProfile, model: str, disk: dict[str, Any]) -> PromptTokens | None:
    """The exact count a token-count cache file holds for ``profile`` on ``model``, if any."""
    row = disk.get(_disk_key(profile, model))
    if not isinstance(row, dict):
        return None
    try:
        return PromptTokens(model=model, system=int(row["system"]), schema=int(row["schema"]),
                            instruction=int(row["instruction"]), label=int(row["label"]), exact=True,
                            source="count_tokens")
    except (KeyError, TypeError, ValueError):
        return None


def prompt_tokens(
    profile: PromptProfile,
    model: str,
    *,
    client: Anthropic | None = None,
    cache_file: Path | None = None,
) -> PromptTokens:
    """Token counts of ``profile`` on ``model``: exact through ``count_tokens`` when ``client`` is given.

    Exact counts are cached per (prompt hash, model) in memory and, when ``cache_file`` is given, in
    that JSON file, so the free endpoint is called once per prompt. Any failure of the endpoint
    (network, key) falls back to the approximation, with the reason in ``note``. Without a client,
    a count ``cache_file`` already holds (made with an API earlier) is used, else the approximation.
    """
    if client is None:
        return _disk_count(profile, model, _read_disk_cache(cache_file)) or approx_prompt_tokens(profile, model)
    key = (str(profile.hash), model)
    with _COUNT_LOCK:
        hit = _COUNT_CACHE.get(key)
    if hit is not None:
        return hit
    disk = _read_disk_cache(cache_file)
    disk_key = _disk_key(profile, model)
    hit = _disk_count(profile, model, disk)
    if hit is None:
        try:
            hit = _count_exact(client, profile, model)
        except Exception as exc:  # network, auth, unknown model: fall back, say why
            return approx_prompt_tokens(
                profile, model, note=f"approximate: count_tokens failed ({describe_error(exc)})")
        if cache_file is not None:
            disk[disk_key] = {"system": hit.system, "schema": hit.schema,
                                         "instruction": hit.instruction, "label": hit.label}
            with contextlib.suppress(OSError):
                atomic_write_json(cache_file, disk)
    with _COUNT_LOCK:
        _COUNT_CACHE[key] = hit
    return hit


def _count_exact(client: Anthropic, profile: PromptProfile, model: str) -> PromptTokens:
    """Count each part as the difference to a minimal request (the endpoint counts whole requests).

    The prefix is counted on exactly the blocks a request sends before its cache breakpoint: the
    system blocks of ``system_blocks`` with the structured-output schema of ``output_config``
    (``cache_control`` is ignored by the endpoint, so the TTL does not matter).
    """
    dot = [{"role": "user", "content": "."}]

    def count(messages: list[dict[str, Any]] = dot, **kwargs: Any) -> int:
        return int(client.messages.count_tokens(model=model, messages=messages, **kwargs).input_tokens)

    base = count()
    blocks = system_blocks(profile, "5m")
    system = max(0, count(system=blocks[:1]) - base)
    prefix = max(system, count(system=blocks, output_config=output_config(profile)) - base)
    one = 1  # the "." of the minimal request, replaced by the text counted
    instruction = max(0, count([{"role": "user", "content": profile.instruction}]) - base + one)
    label = max(1, count([{"role": "user", "content": FRAME_LABEL_EXAMPLE}]) - base + one)
    return PromptTokens(model=model, system=system, schema=prefix - system, instruction=instruction, label=label,
                        exact=True, source="count_tokens")


def clear_count_cache() -> None:
    """Forget exact counts kept in memory (tests, or after editing a prompt outside GAIA)."""
    with _COUNT_LOCK:
        _COUNT_CACHE.clear()
