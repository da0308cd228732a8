"""What a request is made of, in input tokens: its text, its frames, and the prefix it can cache.

**Text.** The shared prefix is what the cache write bills: the structured-output schema
(``output_config``, which the API turns into a system prompt of its own) and the system blocks up
to the ``cache_control`` breakpoint, exactly as ``gaia.api.requests`` builds them. With an
``anthropic`` client it is counted with the free ``count_tokens`` endpoint on those very blocks
(cached per prompt hash and model), else approximated from their length and marked
``exact=False`` so every screen can say "approximate". ``folder_prompt_tokens`` is the one count of
the prompt for a folder: exact (``count_tokens``) when an API client is given, and then kept in the
working folder, so every later figure for the run (Submit's button, ``--max-cost``, the ledger's
recorded estimate, run now, the tune's pricing) uses the same count; approximate, and said so, when
no API has ever counted it. Output tokens are predicted in ``gaia.pricing.output``.

**Frames.** A frame extracted for one model may be sent to another, so its tokens are always
computed for the target model: the API first downscales it to that model's image tier
(``gaia.facts.fit_to_tier``), then charges ``ceil(w/28) * ceil(h/28)`` (``gaia.facts.image_tokens``);
``frame_tokens`` is that one rule. ``requests_from_sets`` turns a folder's keyframes (with its
exclusions) into the ``VideoRequest``s a run would send; ``video_tokens`` counts one's frames.
Each frame-size preset (``gaia.settings.FRAME_PRESETS``) is priced on a model by ``preset_costs``,
for a given source size, by default a full-HD 1920x1080 video: dollars per video are the image
tokens of ``frames`` frames billed as uncached input at the model's Batch API price (images are
never cached: each request sends other frames; the prefix and the answer come on top).

**The cached prefix.** A request of GAIA is: the shared prefix (marked with ``cache_control``),
then the video's frames with a short timestamp label each, then the instruction. Only the prefix can
be cached; when it is shorter than the model's minimum cacheable length the API silently does not
cache, and the caching scenarios then cost the same as the plain ones. In a batch, the first
request finds the cache cold and writes it (a batch does not read what the Messages API wrote);
after that each request reads it with a best-effort chance, the *hit chance* (``ReadShare``). It is
learnt per batch and per TTL window from the folder's past batches of the same prompt and model
(``CacheGroup``: of the requests after the first writer, the share that read), pooled with the data
file's default (GAIA's production run; the docs' "30% to 98%" is the range) so that one small
batch does not decide alone. A batch that read a cache without writing it found one warmed before
(by this folder or another): that teaches only while its TTL can still hold, i.e. within the TTL of
when it ended; later the next batch starts cold again. Outside a batch, requests sent one after
another within the TTL read the cache after the first write.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.api.client import describe_error
from gaia.api.requests import SCHEMA_HEADER, dumps, output_config, system_blocks
from gaia.facts import CACHE_TTL_SECONDS, ImageTier, ModelFacts, estimate_defaults, fit_to_tier, image_tokens
from gaia.folder import Folder
from gaia.format import pct
from gaia.fsutil import atomic_write_json
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.bill import CacheGroup, History
from gaia.pricing.models import TokenCounts, facts_of, price_tokens
from gaia.prompts import PromptProfile
from gaia.settings import CUSTOM_PRESET, DEFAULT_MAX_EDGE, FRAME_PRESETS, Selection, preset_for_edge

if TYPE_CHECKING:
    from anthropic import Anthropic


# --- the prompt's text ----------------------------------------------------------------------------

# What a frame label looks like in a request (``gaia.api.requests.frame_label``); used only to count
# its tokens.
FRAME_LABEL_EXAMPLE = "Frame 10 at 01:23.4"


def approx_text_tokens(text: str, model: str | ModelFacts | None = None) -> int:
    """A local approximation of the tokens in ``text`` (characters / chars-per-token x tokenizer factor).

    Used when no API key is available; callers must present the result as approximate.
    """
    if not text:
        return 0
    factor = facts_of(model).text_token_factor if model else 1.0
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


def approx_prompt_tokens(profile: PromptProfile, model: str | ModelFacts, *, note: str = "") -> PromptTokens:
    """Approximate token counts for a profile's system prompt, schema and instruction on ``model``."""
    f = facts_of(model)
    return PromptTokens(
        model=f.id,
        system=approx_text_tokens(profile.system, f),
        schema=approx_text_tokens(_schema_text(profile), f),
        instruction=approx_text_tokens(profile.instruction, f),
        label=approx_text_tokens(FRAME_LABEL_EXAMPLE, f),
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
    model: str | ModelFacts,
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
    facts = model if isinstance(model, ModelFacts) else None  # handed to the approximation when given
    model = model.id if isinstance(model, ModelFacts) else model
    if client is None:
        return (_disk_count(profile, model, _read_disk_cache(cache_file))
                or approx_prompt_tokens(profile, facts or model))
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
                profile, facts or model, note=f"approximate: count_tokens failed ({describe_error(exc)})")
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


TOKEN_COUNTS_FILE = "token_counts.json"


def folder_prompt_tokens(folder: Folder | Path | str, profile: PromptProfile, model: str | ModelFacts, *,
                         client: Anthropic | None = None) -> PromptTokens:
    """The count of ``profile``'s prompt on ``model`` that every figure for ``folder``'s run uses: exact
    through ``count_tokens`` with a ``client`` (kept in the working folder), else an exact count kept
    from earlier, else the approximation (``exact`` says which)."""
    f = Folder.of(folder)
    if client is not None:
        return prompt_tokens(profile, model, client=client, cache_file=f.workdir / TOKEN_COUNTS_FILE)
    return prompt_tokens(profile, model, cache_file=f.existing_workdir() / TOKEN_COUNTS_FILE)


# --- frames ---------------------------------------------------------------------------------------


def frame_size_for_model(width: int, height: int, model: str | ModelFacts, *,
                         max_edge: int | None = None) -> tuple[int, int]:
    """The size the model actually sees: the frame downscaled to the model's image tier (and to ``max_edge``
    when given; never enlarged)."""
    return fit_to_tier(width, height, facts_of(model).image_tier, max_edge=max_edge)


@lru_cache(maxsize=65_536)
def _seen_tokens(width: int, height: int, tier_edge: int, tier_tokens: int, max_edge: int | None) -> int:
    """Visual tokens of a ``width`` x ``height`` image after a tier's (and ``max_edge``'s) resize rule, cached by
    plain numbers (an estimate asks for every frame of every video)."""
    return image_tokens(*fit_to_tier(width, height, ImageTier("t", tier_edge, tier_tokens), max_edge=max_edge))


def frame_tokens(width: int, height: int, model: str | ModelFacts, *, max_edge: int | None = None) -> int:
    """Visual tokens one frame of ``width`` x ``height`` costs on ``model`` (after its resize rule): the one
    rule every image token of an estimate, a what-if and a preset is counted by."""
    tier = facts_of(model).image_tier
    return _seen_tokens(width, height, tier.max_edge, tier.max_tokens, max_edge)


@dataclass(frozen=True)
class VideoRequest:
    """One video's request as far as price goes: the sizes of the frames it sends."""

    rel_path: str
    sizes: tuple[tuple[int, int], ...]  # extracted frame sizes (w, h) of the included frames
    source: tuple[int, int] | None = None  # the video's own frame size, when known


def requests_from_sets(keyframe_sets: Iterable[KeyframeSet], selection: Selection | None,
                       source_sizes: Mapping[str, tuple[int, int]] | None
                       ) -> tuple[list[VideoRequest], list[tuple[str, str]]]:
    """The requests of a run (videos and frames excluded in ``selection`` left out) and the skipped videos with why."""
    videos: list[VideoRequest] = []
    skipped: list[tuple[str, str]] = []
    shared: dict[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] = {}  # a folder repeats a few frame sizes:
    for ks in keyframe_sets:  # one tuple of them per distinct sizes, not one per video (100,000 at most)
        if selection is not None and selection.video_excluded(ks.rel_path):
            skipped.append((ks.rel_path, "excluded"))
            continue
        frames = ks.included_frames(selection)
        if not frames:
            skipped.append((ks.rel_path, ks.problem or ("every frame excluded" if ks.frames else "no frames")))
            continue
        sizes = tuple((int(f.width), int(f.height)) for f in frames)
        videos.append(VideoRequest(ks.rel_path, shared.setdefault(sizes, sizes), (source_sizes or {}).get(ks.rel_path)))
    return videos, skipped


def video_tokens(v: VideoRequest, f: ModelFacts, max_edge: int | None = None,
                 frames: int | None = None) -> tuple[float, int]:
    """(image tokens, frame count) of one video's request on model ``f``.

    With ``max_edge`` the frames are resized from the video's own size when known (else from the
    extracted size, never enlarged); with ``frames`` the count changes and each frame costs the
    average of the extracted ones.
    """
    tier_edge, tier_tokens = f.image_tier.max_edge, f.image_tier.max_tokens
    total = 0
    for w, h in v.sizes:
        if max_edge is not None and v.source:
            sw, sh = v.source
            if (sw >= sh) != (w >= h):  # keep the frame's orientation (the source may be stored rotated)
                sw, sh = sh, sw
            w, h = sw, sh
        total += _seen_tokens(w, h, tier_edge, tier_tokens, max_edge)
    if frames is not None and v.sizes:
        return total / len(v.sizes) * frames, frames
    return float(total), len(v.sizes)


# --- frame-size presets ---------------------------------------------------------------------------

REFERENCE_SIZE = (1920, 1080)
PRESET_SCENARIO = "Batch API, images as uncached input (the prompt prefix and the answer come on top)"


@dataclass(frozen=True)
class PresetCost:
    """One frame size on one model: what a frame becomes, its tokens, and the images' cost per video.

    ``max_edge`` ``None`` is the model's full size (a ``custom`` choice). ``width`` x ``height`` is
    what the model sees of a ``source`` video frame.
    """

    preset: str
    max_edge: int | None
    shows: str
    model: str
    source: tuple[int, int]
    width: int
    height: int
    tokens_per_frame: int
    frames: int
    usd_per_video: float

    @property
    def tokens_per_video(self) -> int:
        """Image tokens of one video's frames."""
        return self.tokens_per_frame * self.frames

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"preset": self.preset, "max_edge": self.max_edge, "shows": self.shows, "model": self.model,
                "source": list(self.source), "size": [self.width, self.height],
                "tokens_per_frame": self.tokens_per_frame, "frames": self.frames,
                "tokens_per_video": self.tokens_per_video, "usd_per_video": self.usd_per_video,
                "scenario": PRESET_SCENARIO}


def frame_cost(model: str | ModelFacts, max_edge: int | None, *, frames: int,
               source: tuple[int, int] = REFERENCE_SIZE, shows: str = "") -> PresetCost:
    """The cost of ``frames`` frames of a ``source``-sized video at ``max_edge`` on ``model``."""
    f = facts_of(model)
    w, h = frame_size_for_model(*source, f, max_edge=max_edge)
    tokens = frame_tokens(*source, f, max_edge=max_edge)
    usd = price_tokens(TokenCounts(input=tokens * frames), f, batch=True).total_usd
    return PresetCost(preset_for_edge(max_edge), max_edge, shows, f.id, source, w, h, tokens, frames, usd)


def preset_costs(model: str | ModelFacts, *, frames: int, source: tuple[int, int] = REFERENCE_SIZE,
                 current_edge: int | None = DEFAULT_MAX_EDGE) -> list[PresetCost]:
    """Every preset on ``model``, economy first, and a last ``custom`` row when ``current_edge`` (the
    folder's edge; ``None``: the model's full size) is no preset's edge."""
    f = facts_of(model)
    rows = [frame_cost(f, p.max_edge, frames=frames, source=source, shows=p.shows) for p in FRAME_PRESETS]
    if preset_for_edge(current_edge) == CUSTOM_PRESET:
        shows = "everything the model can see (its full size)" if current_edge is None else "your own edge"
        rows.append(frame_cost(f, current_edge, frames=frames, source=source, shows=shows))
    return rows


# --- the cached prefix ----------------------------------------------------------------------------

# How many requests' worth of weight the default hit chance keeps against a folder's own batches.
PRIOR_REQUESTS = 4.0
# z of a two-sided 90% interval for the hit chance learnt from batches.
SHARE_Z = 1.645


@dataclass(frozen=True)
class ReadShare:
    """The chance that a batch request reads the cached prefix once it is written: a point, a low and a
    high end, its source, and whether a warm cache (read within its TTL) spares the first write."""

    point: float
    low: float
    high: float
    source: str  # "history" or "default"
    warm: bool = False
    batches: int = 0  # past batches it was learnt from

    def effective(self, chance: float, requests: int) -> float:
        """The expected share of ``requests`` requests that read: every request after the first when the
        cache starts cold, each with ``chance``; all of them when it is warm."""
        if requests <= 0:
            return 0.0
        return chance if self.warm else chance * (requests - 1) / requests

    def describe(self) -> str:
        """One line for a person: the hit chance, its range and where it comes from."""
        where = (f"learnt from {self.batches} batch(es) of this prompt" if self.source == "history"
                 else "GAIA's production run; the docs say 30% to 98%")
        start = ("a cache warmed within its TTL is read from the first request" if self.warm
                 else "the first request of a batch writes the cache")
        return (f"{pct(self.point)} of batch requests read the cache (range {pct(self.low)}–{pct(self.high)}, "
                f"{where}); {start}")


def _alive(g: CacheGroup, ttl: str, now: datetime) -> bool:
    return g.ended_at is not None and (now - g.ended_at).total_seconds() <= CACHE_TTL_SECONDS[ttl]


def batch_read_share(history: History | None, *, ttl: str = "1h", now: datetime | None = None) -> ReadShare:
    """The batch hit chance for a ``ttl`` cache: the folder's past batches with that TTL (a batch that read
    a warm cache only while that cache can still hold), pooled with the data file's default."""
    d = estimate_defaults()
    prior, lo_doc, hi_doc = d.batch_cache_read_share, d.batch_cache_read_share_low, d.batch_cache_read_share_high
    now = now or datetime.now(UTC)
    groups = [g for g in (history.cache_groups if history else ()) if g.batch]
    cold = [g for g in groups if not g.warm and g.ttl == ttl and g.requests > 1]
    warm = [g for g in groups if g.warm and _alive(g, ttl, now)]
    if not cold and not warm:
        return ReadShare(prior, lo_doc, hi_doc, "default")
    reads = sum(g.reads for g in cold) + sum(g.reads for g in warm)
    tries = sum(g.requests - 1 for g in cold) + sum(g.requests for g in warm)
    point = (reads + PRIOR_REQUESTS * prior) / (tries + PRIOR_REQUESTS)
    half = SHARE_Z * math.sqrt(point * (1 - point) / (tries + PRIOR_REQUESTS))
    return ReadShare(point, max(0.0, point - half), min(1.0, point + half), "history", bool(warm),
                     len(cold) + len(warm))


def sequential_read_share(requests: int, *, warm: bool = False) -> float:
    """Outside a batch, every request after the first reads the cache within its TTL: (n - 1) / n; all of
    them when a cache written by this folder's last run now is still alive (``warm``)."""
    if not requests:
        return 0.0
    return 1.0 if warm else (requests - 1) / requests


def standard_cache_warm(history: History | None, *, ttl: str = "1h", now: datetime | None = None) -> bool:
    """Whether a run now of this prompt and model ended within the TTL, so its cache is still alive for the next."""
    now = now or datetime.now(UTC)
    return any(not g.batch and _alive(g, ttl, now) for g in (history.cache_groups if history else ()))


def breakeven_share(write_multiplier: float, read_multiplier: float) -> float:
    """The share of requests that must read a cache entry for its write (``write_multiplier`` x input) to pay off."""
    return (write_multiplier - 1) / (write_multiplier - read_multiplier) if write_multiplier > read_multiplier else 0.0


def other_ttl(ttl: str) -> str:
    """The cache TTL that is not ``ttl`` (``"5m"`` ↔ ``"1h"``)."""
    return "5m" if ttl == "1h" else "1h"


@dataclass(frozen=True)
class CacheInfo:
    """What caching can do for this run: the prefix, whether it is long enough, the expected hit share."""

    ttl: str
    prefix_tokens: int
    prefix_exact: bool
    min_cacheable: int
    min_cacheable_confirmed: bool
    caches: bool
    cacheable_share: float  # prefix tokens / all input tokens of an average request
    read_share_batch: float
    read_share_low: float
    read_share_high: float
    read_share_source: str  # "history" or "default"
    read_share_standard: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def caches(text: PromptTokens, f: ModelFacts) -> bool:
    """Whether the shared prefix is long enough for ``f`` to cache it at all."""
    return text.prefix >= f.min_cacheable_tokens


def cache_info(text: PromptTokens, f: ModelFacts, *, ttl: str, requests: int, uncached_tokens: float,
               share: ReadShare) -> CacheInfo:
    """What caching does for ``requests`` requests sharing ``text``'s prefix (``uncached_tokens`` in all besides it)."""
    avg_input = (text.prefix * requests + uncached_tokens) / requests if requests else float(text.prefix)
    cacheable_share = text.prefix / avg_input if avg_input else 0.0
    approx = "" if text.exact else " (approximate)"
    if caches(text, f):
        msg = (f"The shared prefix (system prompt + schema) is {text.prefix:,} tokens{approx}, at least the "
               f"{f.min_cacheable_tokens:,} that {f.display_name} needs before it caches; it is "
               f"{pct(cacheable_share)} of each request's input.")
    else:
        msg = (f"Caching will do nothing: the shared prefix is {text.prefix:,} tokens{approx}, below the "
               f"{f.min_cacheable_tokens:,} tokens {f.display_name} needs before it caches anything (shorter "
               "prefixes are silently not cached).")
    return CacheInfo(ttl, text.prefix, text.exact, f.min_cacheable_tokens, f.min_cacheable_confirmed,
                     caches(text, f), cacheable_share, share.point, share.low, share.high, share.source,
                     sequential_read_share(requests), msg)
