"""A run's requests priced under the four scenarios: the one pricing loop behind estimates and what-if.

Each video is one request: the shared prefix, its frames (image tokens after the target model's
resize rule, ``gaia.facts.fit_to_tier`` then ``image_tokens``) with a label each, the instruction,
and the answer. Requests with the same image tokens and frame count cost the same, so each such
group is priced once (a 10,000-video estimate prices a handful of groups). The result holds the
four scenarios' ``UsageCost``, each request's cost, and where the money goes (images, text,
prefix, output).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gaia.facts import ImageTier, ModelFacts, fit_to_tier, image_tokens
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.cache import sequential_read_share
from gaia.pricing.scenarios import SCENARIOS, is_batch, is_caching
from gaia.pricing.tokens import PromptTokens
from gaia.pricing.usage import TOKEN_TYPES, TokenCounts, UsageCost, is_long_context, price_tokens, rates
from gaia.settings import Selection

# Where the money goes: the parts of a request, in the order the Estimate page lists them.
MONEY_LABELS = {
    "images": "Images (frames)",
    "text": "Instruction + frame labels",
    "prefix": "System prompt + schema",
    "output": "Output (the answers)",
}


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
    for ks in keyframe_sets:
        if selection is not None and selection.video_excluded(ks.rel_path):
            skipped.append((ks.rel_path, "excluded"))
            continue
        frames = ks.included_frames(selection)
        if not frames:
            skipped.append((ks.rel_path, ks.problem or ("every frame excluded" if ks.frames else "no frames")))
            continue
        videos.append(VideoRequest(ks.rel_path, tuple((int(f.width), int(f.height)) for f in frames),
                                   (source_sizes or {}).get(ks.rel_path)))
    return videos, skipped


@lru_cache(maxsize=65_536)
def _seen_tokens(width: int, height: int, tier_edge: int, tier_tokens: int, max_edge: int | None) -> int:
    """Visual tokens of a ``width`` x ``height`` image after the tier's (and ``max_edge``'s) resize rule."""
    return image_tokens(*fit_to_tier(width, height, ImageTier("t", tier_edge, tier_tokens), max_edge=max_edge))


def video_tokens(v: VideoRequest, tier: ImageTier, max_edge: int | None = None,
                 frames: int | None = None) -> tuple[float, int]:
    """(image tokens, frame count) of one video's request on a model of ``tier``.

    With ``max_edge`` the frames are resized from the video's own size when known (else from the
    extracted size, never enlarged); with ``frames`` the count changes and each frame costs the
    average of the extracted ones.
    """
    total = 0
    for w, h in v.sizes:
        if max_edge is not None and v.source:
            sw, sh = v.source
            if (sw >= sh) != (w >= h):  # keep the frame's orientation (the source may be stored rotated)
                sw, sh = sh, sw
            w, h = sw, sh
        total += _seen_tokens(w, h, tier.max_edge, tier.max_tokens, max_edge)
    if frames is not None and v.sizes:
        return total / len(v.sizes) * frames, frames
    return float(total), len(v.sizes)


@dataclass(frozen=True)
class VideoCost:
    """One video's request: frames, tokens and the expected USD under each scenario."""

    rel_path: str
    frames: int
    image_tokens: int
    prompt_tokens: int
    usd: tuple[float, float, float, float]  # in the order of SCENARIOS
    long_context: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rel_path": self.rel_path, "frames": self.frames, "image_tokens": self.image_tokens,
                "prompt_tokens": self.prompt_tokens, "long_context": self.long_context,
                "usd": dict(zip(SCENARIOS, self.usd, strict=True))}


@dataclass(frozen=True)
class PricedRun:
    """Every request of a run priced: the four scenarios' costs, per video, and where the money goes."""

    costs: dict[str, UsageCost]
    per_video: list[VideoCost]
    money: dict[str, dict[str, float]]  # scenario → part (images, text, prefix, output) → USD
    image_tokens: int
    frames: int
    uncached_tokens: float  # per-run uncached (non-prefix) input tokens


@dataclass(frozen=True)
class RunTerms:
    """What a run's price assumes beyond its requests: prompt text, output per video, cache behaviour."""

    text: PromptTokens
    output: float  # output tokens per video
    read_share_batch: float
    caches: bool
    ttl: str
    warm_standard: bool = False  # a run now's cache is still alive: every request outside a batch reads


class _Totals:
    """Tokens by (scenario, length tier) and dollars by part, summed over groups of identical requests."""

    def __init__(self, f: ModelFacts) -> None:
        self.f = f
        self.tokens: dict[tuple[str, bool], list[float]] = {}
        self.money = {s: dict.fromkeys(MONEY_LABELS, 0.0) for s in SCENARIOS}
        self._rates: dict[tuple[bool, bool], dict[str, float]] = {}

    def rates(self, batch: bool, long: bool) -> dict[str, float]:
        key = (batch, long)
        if key not in self._rates:
            self._rates[key] = rates(self.f, batch=batch, long_context=long)
        return self._rates[key]

    def add(self, scenario: str, long: bool, vec: Mapping[str, float], count: int) -> None:
        acc = self.tokens.setdefault((scenario, long), [0.0] * (len(TOKEN_TYPES) + 1))
        for i, t in enumerate(TOKEN_TYPES):
            acc[i] += vec.get(t, 0.0) * count
        acc[-1] += count

    def costs(self) -> dict[str, UsageCost]:
        out: dict[str, UsageCost] = {}
        for s in SCENARIOS:
            total: UsageCost | None = None
            for long in (False, True):
                acc = self.tokens.get((s, long))
                if acc is None:
                    continue
                c = price_tokens(TokenCounts(*acc[:-1]), self.f, batch=is_batch(s), long_context=long,
                                 requests=int(acc[-1]))
                total = c if total is None else total + c
            out[s] = total or price_tokens(TokenCounts(), self.f, batch=is_batch(s), requests=0)
        return out


def _request_tokens(scenario: str, terms: RunTerms, uncached: float, read_std: float) -> dict[str, float]:
    """Expected tokens by type of one request with ``uncached`` non-prefix input tokens under ``scenario``."""
    prefix = terms.text.prefix
    if is_caching(scenario) and terms.caches:
        share = terms.read_share_batch if is_batch(scenario) else read_std
        write_key = "cache_write_1h" if terms.ttl == "1h" else "cache_write_5m"
        return {"input": uncached, write_key: prefix * (1 - share), "cache_read": prefix * share,
                "output": terms.output}
    return {"input": prefix + uncached, "output": terms.output}


def _price_group(totals: _Totals, terms: RunTerms, img: float, nframes: int, count: int,
                 read_std: float) -> tuple[tuple[float, float, float, float], int, bool]:
    """Price ``count`` identical requests of ``img`` image tokens and ``nframes`` frames.

    Returns one request's USD per scenario, its prompt tokens and whether it is long-context.
    """
    txt = terms.text.instruction + nframes * terms.text.label
    static = img + txt
    prompt = terms.text.prefix + static
    long = is_long_context(totals.f, prompt)
    usd = []
    for s in SCENARIOS:
        vec = _request_tokens(s, terms, static, read_std)
        totals.add(s, long, vec, count)
        rr = totals.rates(is_batch(s), long)
        cost = sum(vec.get(t, 0.0) * rr[t] for t in TOKEN_TYPES)
        usd.append(cost)
        m = totals.money[s]
        m["images"] += img * rr["input"] * count
        m["text"] += txt * rr["input"] * count
        m["output"] += terms.output * rr["output"] * count
        m["prefix"] += (cost - (static * rr["input"] + terms.output * rr["output"])) * count
    return (usd[0], usd[1], usd[2], usd[3]), int(prompt), long


def price_run(videos: Sequence[VideoRequest], f: ModelFacts, terms: RunTerms, *, max_edge: int | None = None,
              frames: int | None = None, per_video: bool = True) -> PricedRun:
    """Price every request of the run under the four scenarios (expected values).

    ``max_edge`` and ``frames`` re-price the run with other frame settings (what-if). Requests with
    the same image tokens and frame count cost the same, so they are priced once.
    """
    read_std = sequential_read_share(len(videos), warm=terms.warm_standard)
    sigs = [video_tokens(v, f.image_tier, max_edge, frames) for v in videos]
    groups: dict[tuple[float, int], int] = {}
    for sig in sigs:
        groups[sig] = groups.get(sig, 0) + 1
    totals = _Totals(f)
    priced = {}
    for (img, nframes), count in groups.items():
        priced[(img, nframes)] = _price_group(totals, terms, img, nframes, count, read_std)
    rows: list[VideoCost] = []
    if per_video:
        for v, sig in zip(videos, sigs, strict=True):
            usd4, prompt, long = priced[sig]
            rows.append(VideoCost(v.rel_path, sig[1], int(sig[0]), prompt, usd4, long))
    total_img = sum(img * count for (img, _n), count in groups.items())
    total_frames = sum(n * count for (_i, n), count in groups.items())
    text = terms.text
    uncached = sum((img + (text.instruction + n * text.label)) * count for (img, n), count in groups.items())
    return PricedRun(totals.costs(), rows, totals.money, round(total_img), total_frames, uncached)
