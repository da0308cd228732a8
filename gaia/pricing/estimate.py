"""What a run will cost before it is sent: the one estimate of a folder, its range, assumptions and explanations.

``estimate_folder`` is the one pipeline from a folder to its ``Estimate``: the Estimate page and
``gaia estimate`` both call it. ``load_run_inputs`` gathers what it reads from the folder's working
folder (nothing is decoded): the settings, the keyframes as extracted (with the Keyframes page's
exclusions), the prompt profile, the videos' own frame sizes (for what-if above the extracted size),
the history of past runs of the same prompt and model, and which videos are already analysed with
these settings (an estimate covers the rest). The prompt is counted by
``gaia.pricing.tokens.folder_prompt_tokens``, so every figure for the run uses the same count.

``estimate_run`` prices a folder's keyframes (with the Keyframes page's exclusions) and prompt on
one model, for the videos still to send: videos already analysed with the same settings are left
out and counted (``Estimate.done``). Image tokens follow that model's own resize rule, whatever
model the frames were extracted for. Text tokens are exact when counted with ``count_tokens``,
else approximate (and said so). Output tokens per video come from the folder's answers of this
prompt on this model when there are any (a pilot of a few videos calibrates the rest), else from
the schema's shape, the model's thinking and ``max_tokens`` (``gaia.pricing.output``); the batch
cache hit chance from its past batches, else the data file (``gaia.pricing.tokens``).

Each scenario's range (``Scenario.low_usd`` / ``high_usd``) is the point moved by the two
uncertainties that drive it, taken as independent and combined in quadrature: the output per
video (its low and high ends) and the cache hit chance (its high and low ends). Nothing is padded.
``Estimate.assumptions`` names what the figure rests on, and the notes say it in words, so a page
or the CLI can state it beside the number.

``price_run`` is the one pricing loop behind an estimate and every re-pricing of it (what-if, the
levers): each video is one request: the shared prefix, its frames (image tokens after the target
model's resize rule, ``gaia.pricing.tokens.frame_tokens``) with a label each, the instruction, and
the answer. Requests with the same image tokens and frame count cost the same, so each such group is
priced once (a 10,000-video estimate prices a handful of groups). The result holds the four
scenarios' ``UsageCost``, each request's cost, and where the money goes (images, text, prefix,
output). ``explain_estimate`` says what the numbers mean, the levers of an estimate (fewer frames,
smaller frames, shorter answers) priced by the estimate itself and handed in as ``Lever``s.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia.facts import CACHE_TTLS, ModelFacts, catalogue
from gaia.folder import Folder
from gaia.format import pct, usd
from gaia.media.keyframes import KeyframeSet, cached_keyframes, count_cached
from gaia.media.scan import VideoRecord, scan_folder
from gaia.pricing.bill import Explanation, History, history
from gaia.pricing.models import (
    HEADLINE_SCENARIO,
    SCENARIOS,
    TOKEN_TYPES,
    PricedOn,
    Scenario,
    TokenCounts,
    UsageCost,
    facts_of,
    is_batch,
    is_caching,
    is_long_context,
    price_tokens,
    rates,
    scenario,
    scenarios_of,
)
from gaia.pricing.output import LimitNeed, OutputEstimate, limit_need, output_estimate
from gaia.pricing.tokens import (
    CacheInfo,
    PromptTokens,
    ReadShare,
    VideoRequest,
    batch_read_share,
    breakeven_share,
    cache_info,
    caches,
    folder_prompt_tokens,
    other_ttl,
    prompt_tokens,
    requests_from_sets,
    sequential_read_share,
    standard_cache_warm,
    video_tokens,
)
from gaia.prompts import PromptProfile, default_profile
from gaia.settings import DEFAULT_MAX_TOKENS, MAX_EDGE_STEPS, RunSettings, Selection, run_fingerprint
from gaia.sidecar import sidecar_state

if TYPE_CHECKING:
    from anthropic import Anthropic


# --- the pricing loop -----------------------------------------------------------------------------

# Where the money goes: the parts of a request, in the order the Estimate page lists them.
MONEY_LABELS = {
    "images": "Images (frames)",
    "text": "Instruction + frame labels",
    "prefix": "System prompt + schema",
    "output": "Output (the answers)",
}


@dataclass(frozen=True, slots=True)  # one per video: 100,000 in a large folder
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


class VideoCosts(Sequence[VideoCost]):
    """Every video's ``VideoCost``, held compactly: videos whose requests cost the same (same image tokens and
    frame count: ``price_run``'s groups) share one row, and each video keeps only its path and its row's number
    (some 12 bytes a video, against some 100 for a ``VideoCost`` each at 100,000 videos). Indexing and iterating
    give ``VideoCost`` records, equal to those a list of them held."""

    __slots__ = ("_paths", "_rows", "_which")

    def __init__(self, paths: Sequence[str] = (), rows: Sequence[tuple[int, int, int, tuple[float, float, float, float],
                                                                      bool]] = (),
                 which: Iterable[int] = ()) -> None:
        self._paths = tuple(paths)
        self._rows = tuple(rows)  # (frames, image tokens, prompt tokens, usd by scenario, long context)
        self._which = array("I", which)  # each video's row
        if len(self._which) != len(self._paths):
            raise ValueError("one row number a video")

    def __len__(self) -> int:
        return len(self._paths)

    def _cost(self, i: int) -> VideoCost:
        return VideoCost(self._paths[i], *self._rows[self._which[i]])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._cost(j) for j in range(*i.indices(len(self)))]
        return self._cost(range(len(self))[i])

    def __iter__(self) -> Iterator[VideoCost]:
        rows = self._rows
        for path, w in zip(self._paths, self._which, strict=True):
            yield VideoCost(path, *rows[w])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, VideoCosts):
            return (self._paths, self._rows, self._which) == (other._paths, other._rows, other._which) or (
                tuple(self) == tuple(other))
        return tuple(self) == tuple(other) if isinstance(other, tuple | list) else NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"VideoCosts({len(self)} videos in {len(self._rows)} groups)"


@dataclass(frozen=True)
class PricedRun:
    """Every request of a run priced: the four scenarios' costs, per video, and where the money goes."""

    costs: dict[str, UsageCost]
    per_video: VideoCosts
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
    sigs = [video_tokens(v, f, max_edge, frames) for v in videos]
    groups: dict[tuple[float, int], int] = {}
    for sig in sigs:
        groups[sig] = groups.get(sig, 0) + 1
    totals = _Totals(f)
    priced = {}
    for (img, nframes), count in groups.items():
        priced[(img, nframes)] = _price_group(totals, terms, img, nframes, count, read_std)
    rows = VideoCosts()
    if per_video:  # each video's cost is its group's: one row a group, and each video's row number
        number = {sig: k for k, sig in enumerate(priced)}
        rows = VideoCosts([v.rel_path for v in videos],
                          [(sig[1], int(sig[0]), prompt, usd4, long) for sig, (usd4, prompt, long) in priced.items()],
                          (number[sig] for sig in sigs))
    total_img = sum(img * count for (img, _n), count in groups.items())
    total_frames = sum(n * count for (_i, n), count in groups.items())
    text = terms.text
    uncached = sum((img + (text.instruction + n * text.label)) * count for (img, n), count in groups.items())
    return PricedRun(totals.costs(), rows, totals.money, round(total_img), total_frames, uncached)


# --- what the numbers mean ------------------------------------------------------------------------

@dataclass(frozen=True)
class Lever:
    """One change to a run and what it would save (in the headline scenario)."""

    saving_usd: float
    what: str  # e.g. "sending 3 frames per video instead of 6"


def _money(total_usd: float, money: Mapping[str, float]) -> Explanation:
    order = sorted(money.items(), key=lambda kv: -kv[1])
    total = total_usd or 1.0
    parts = ", ".join(f"{MONEY_LABELS[k].lower()} {pct(v / total)} ({usd(v)})" for k, v in order)
    return Explanation(
        "money", "Where the money goes",
        f"With the Batch API and caching the run costs {usd(total_usd)}: {parts}. "
        f"{MONEY_LABELS[order[0][0]]} is the largest part; that is where savings count most.", None)


def _caching(batch_usd: float, headline_usd: float, prefix_usd: float, c: CacheInfo,
             ttl_totals: Mapping[str, float], f: ModelFacts) -> Explanation:
    if not c.caches:
        return Explanation("caching", "What caching saves, and why", c.message + " Lengthening the prompt only "
                           "to reach the minimum rarely pays: the added tokens are billed on every request.", 0.0)
    saving = batch_usd - headline_usd
    source = "from your history" if c.read_share_source == "history" else "assumed; the docs say 30% to 98%"
    text = (f"The cacheable part of each request is the system prompt + schema, {c.prefix_tokens:,} tokens or "
            f"{pct(c.cacheable_share)} of its input; the frames differ per video and are never read back. "
            f"In a batch about {pct(c.read_share_batch)} of requests read the cache ({source}), "
            f"so caching {'saves' if saving >= 0 else 'costs an extra'} {usd(abs(saving))} "
            f"({pct(abs(saving) / (batch_usd or 1))} of the batch cost); "
            f"the prefix costs {usd(prefix_usd)} instead of {usd(prefix_usd + saving)}.")
    other = other_ttl(c.ttl)
    diff = ttl_totals[other] - ttl_totals[c.ttl]
    w1, w5, rd = f.cache_write_1h_multiplier, f.cache_write_5m_multiplier, f.cache_read_multiplier
    text += (f" A {other} cache would cost {usd(abs(diff))} {'more' if diff > 0 else 'less'} at the same hit "
             f"share. A 1-hour write costs {w1:g}x input and pays off when more than {pct(breakeven_share(w1, rd))} "
             f"of requests read it ({pct(breakeven_share(w5, rd))} for {w5:g}x 5-minute writes); but a batch often "
             "runs longer than 5 minutes, so a 5-minute entry expires between requests and hits less often. "
             "The docs recommend 1 hour for batches.")
    return Explanation("caching", "What caching saves, and why", text, saving)


def _lever(levers: Sequence[Lever], total_usd: float) -> Explanation | None:
    ranked = sorted(levers, key=lambda lv: -lv.saving_usd)
    if not ranked or ranked[0].saving_usd <= 0:
        return None
    best = ranked[0]
    rest = "; ".join(f"{lv.what}: {usd(lv.saving_usd)}" for lv in ranked[1:] if lv.saving_usd > 0)
    return Explanation("lever", "The biggest lever left",
                       f"{best.what[0].upper()}{best.what[1:]} would save {usd(best.saving_usd)} "
                       f"({pct(best.saving_usd / (total_usd or 1.0))} of the batch + caching cost)."
                       + (f" Other levers: {rest}." if rest else "")
                       + " Changing the model is often bigger still: see the model comparison.", best.saving_usd)


def explain_estimate(scenarios: Sequence[Scenario], money: Mapping[str, float], cache: CacheInfo,
                     ttl_totals: Mapping[str, float], f: ModelFacts, levers: Sequence[Lever]) -> list[Explanation]:
    """What an estimate means: where the money goes, what caching and the Batch API save, the biggest lever left.

    ``money`` is the headline scenario's part → USD; ``levers`` the priced alternatives.
    """
    sc = tuple(scenarios)
    head = scenario(sc, HEADLINE_SCENARIO).total_usd
    batch = scenario(sc, "batch").total_usd
    batch_saving = scenario(sc, "standard").total_usd - batch
    out = [_money(head, money), _caching(batch, head, money["prefix"], cache, ttl_totals, f),
           Explanation("batch", "What the Batch API saves",
                       f"The Batch API halves every token type: {usd(batch_saving)} less than sending the same "
                       "requests one by one, at the price of waiting (most batches end within an hour, "
                       "at most 24 h).", batch_saving)]
    lever = _lever(levers, head)
    if lever is not None:
        out.append(lever)
    return out


# --- the estimate ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assumptions:
    """What an estimate's figure rests on: the numbers a reader should see beside it."""

    output_tokens: OutputEstimate  # per video, thinking included: point, low, high and where from
    cache_read_share: ReadShare  # in a batch: the hit chance once written, its range and where from
    frames_per_video: float
    prefix_tokens: int
    prefix_exact: bool
    batch_read_share: float = 0.0  # the expected share of this run's batch requests that read
    videos: int = 0  # videos still to send (what the estimate covers)
    done: int = 0  # videos already analysed with these settings (left out)
    caches: bool = True  # whether the model caches this prefix at all (too short a prefix: no request reads)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: output tokens per video (thinking included, it is billed as output), the
        batch cache hit chance, frames per video, the shared prefix, and what the estimate covers."""
        o, c = self.output_tokens, self.cache_read_share
        return {"output_tokens_per_video": {"point": o.median, "low": o.low, "high": o.high, "source": o.source,
                                            "samples": o.samples, "thinking_tokens": o.thinking,
                                            "max_tokens": o.max_tokens, "includes_thinking": True},
                "cache_read_share": {"point": c.point, "low": c.low, "high": c.high, "source": c.source,
                                     "warm": c.warm, "batches": c.batches, "run_share": self.batch_read_share},
                "frames_per_video": self.frames_per_video,
                "prefix": {"tokens": self.prefix_tokens, "exact": self.prefix_exact},
                "covers": {"videos": self.videos, "already_analysed": self.done,
                           "calibrated_by_answers": o.samples}}

    def lines(self) -> list[str]:
        """The assumptions in words, one per line (the Estimate page and the CLI show them)."""
        cache = (f"Cache: {self.cache_read_share.describe()}; {pct(self.batch_read_share)} of this run's batch "
                 "requests expected to read." if self.caches else
                 f"Cache: none; the shared prefix ({self.prefix_tokens:,} tokens) is shorter than this model caches, "
                 "so no request reads it.")
        return [f"Output: {self.output_tokens.describe()}.",
                cache,
                f"Frames: {self.frames_per_video:.1f} per video; shared prefix {self.prefix_tokens:,} tokens "
                f"({'exact, count_tokens' if self.prefix_exact else 'approximate'}).",
                f"Covers the {self.videos} video(s) not yet analysed with these settings"
                + (f"; {self.done} already analysed are not counted." if self.done else ".")]


MAX_TOKENS_BELOW_NEED = "max_tokens_below_need"


@dataclass(frozen=True)
class EstimateWarning:
    """Something about a run that will cost money for nothing unless changed (``code`` for scripts, a
    sentence for people, and the figures behind it)."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``code``, ``message`` and the figures."""
        return {"code": self.code, "message": self.message, **self.details}


def limit_warnings(max_tokens: int, need: LimitNeed | None, videos: int) -> tuple[EstimateWarning, ...]:
    """A ``max_tokens_below_need`` warning when the answer length limit is below what an answer needs."""
    if need is None or not videos or max_tokens >= need.tokens:
        return ()
    message = (f"The answer length limit (max_tokens {max_tokens:,}) is below what an answer needs: "
               f"{need.describe()}. Answers longer than the limit are cut off, fail, and are billed all the same; "
               f"raise the limit to at least {need.tokens:,} before sending.")
    return (EstimateWarning(MAX_TOKENS_BELOW_NEED, message, {"max_tokens": max_tokens, "need_tokens": need.tokens,
                                                             "need_source": need.source,
                                                             "answers": need.samples}),)


@dataclass(frozen=True)
class Estimate(PricedOn):
    """The expected cost of a run on one model: four scenarios, per video, explanations and assumptions.

    ``facts`` is the model's record as the estimate resolved it; whatever re-prices the estimate
    (what-if, the levers) takes it from here instead of looking the model up again.
    """

    facts: ModelFacts
    cache_ttl: str
    videos: int
    frames: int
    image_tokens: int
    text: PromptTokens
    output: OutputEstimate
    cache: CacheInfo
    scenarios: tuple[Scenario, ...]
    per_video: VideoCosts  # a sequence of ``VideoCost``, held compactly
    ttl_totals: dict[str, float]  # batch + caching total with each TTL
    money: dict[str, dict[str, float]]  # scenario → part (images, text, prefix, output) → USD
    explanations: tuple[Explanation, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (rel_path, reason) of videos not in the estimate
    notes: tuple[str, ...] = field(default_factory=tuple)
    share: ReadShare | None = None  # the batch hit chance it assumed (``None``: from ``cache``)
    done: int = 0  # videos already analysed with these settings, left out
    warnings: tuple[EstimateWarning, ...] = ()  # e.g. the answer length limit below the need
    cut_off: int = 0  # past answers cut off at the limit, left out of what the output estimate learnt

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return scenario(self.scenarios, key)

    def _repr_html_(self) -> str:
        """The four ways to send the run as a table (Jupyter shows this)."""
        import html

        rows = "".join(f"<tr><td>{html.escape(s.label)}</td><td>{usd(s.total_usd)}</td>"
                       f"<td>{usd(s.per_video_usd)}</td><td>{usd(s.low_usd)} – {usd(s.high_usd)}</td></tr>"
                       for s in self.scenarios)
        return (f"<p>{self.videos} video(s), {self.frames} frames on {html.escape(self.display_name)}</p>"
                "<table><thead><tr><th>scenario</th><th>total</th><th>per video</th><th>range</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    @property
    def total_usd(self) -> dict[str, float]:
        """Scenario key → total USD."""
        return {s.key: s.total_usd for s in self.scenarios}

    def record(self, key: str = HEADLINE_SCENARIO) -> dict[str, Any]:
        """What a run keeps of this estimate (in its settings, key ``"estimate"``): one scenario's total,
        dollars and tokens by type, so ``gaia spent`` can split the run's gap by token type."""
        cost = self.scenario(key).cost
        return {"scenario": key, "total_usd": cost.total_usd, "usd": cost.usd.as_dict(),
                "tokens": cost.tokens.as_dict(), "assumptions": self.assumptions.to_dict()}

    @property
    def assumptions(self) -> Assumptions:
        """What the figure rests on: output tokens, cache-read share, frames, prefix."""
        c = self.cache
        share = self.share or ReadShare(c.read_share_batch, c.read_share_low, c.read_share_high,
                                        c.read_share_source)
        return Assumptions(self.output, share, self.frames / self.videos if self.videos else 0.0, c.prefix_tokens,
                           c.prefix_exact, c.read_share_batch if c.caches else 0.0, self.videos, self.done,
                           caches=c.caches)

    def to_dict(self, *, per_video: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (``per_video=False`` leaves out the per-video rows)."""
        out = {
            "model": self.model, "display_name": self.display_name, "cache_ttl": self.cache_ttl,
            "videos": self.videos, "frames": self.frames, "image_tokens": self.image_tokens,
            "prices_as_of": self.prices_as_of, "price_source": self.source, "prices_confirmed": self.confirmed,
            "uncertain": list(self.uncertain), "text_tokens": self.text.to_dict(),
            "output_tokens": self.output.to_dict(),
            "cache": self.cache.to_dict(), "scenarios": [s.to_dict() for s in self.scenarios],
            "ttl_totals": self.ttl_totals, "where_the_money_goes": self.money,
            "explanations": [e.to_dict() for e in self.explanations],
            "skipped": [{"rel_path": p, "reason": r} for p, r in self.skipped], "notes": list(self.notes),
            "assumptions": self.assumptions.to_dict(), "already_analysed": self.done,
            "warnings": [w.to_dict() for w in self.warnings], "cut_off_answers_left_out": self.cut_off,
        }
        if self.scenarios:  # the headline figure and its range, at the top for scripts
            head = self.scenario(HEADLINE_SCENARIO)
            out.update(headline=head.key, total_usd=head.total_usd, low_usd=head.low_usd, high_usd=head.high_usd)
        if per_video:
            out["per_video"] = [v.to_dict() for v in self.per_video]
        return out


def estimate_run(
    keyframe_sets: Iterable[KeyframeSet],
    *,
    model: str | ModelFacts,
    profile: PromptProfile,
    cache_ttl: str = "1h",
    selection: Selection | None = None,
    history: History | None = None,
    output_tokens_default: int | None = None,
    client: Anthropic | None = None,
    text_tokens: PromptTokens | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    explain: bool = True,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    done: Collection[str] = (),
    now: datetime | None = None,
) -> Estimate:
    """Estimate a run: the four scenarios with breakdown, per video and total, and what they mean.

    ``keyframe_sets`` are the folder's ``KeyframeSet``s (``gaia.cached_keyframes``); videos and
    frames excluded in ``selection`` are left out, as are videos without frames and the videos in
    ``done`` (already analysed with these settings; all listed in ``skipped``). Text tokens are
    exact when ``client`` is given (``count_tokens``), else approximate; ``text_tokens`` skips
    counting. ``max_tokens`` caps the output per video. ``source_sizes`` (rel_path → video frame
    size) lets what-if go above the extracted frame size. ``now`` is when the batch would be sent
    (a warm cache counts only within its TTL of it).
    """
    if cache_ttl not in CACHE_TTLS:
        raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {cache_ttl!r}")
    sets = list(keyframe_sets)
    todo = [ks for ks in sets if ks.rel_path not in done]
    videos, skipped = requests_from_sets(todo, selection, source_sizes)
    skipped += [(ks.rel_path, "already analysed") for ks in sets if ks.rel_path in done]
    return estimate_videos(videos, skipped, facts_of(model), profile, cache_ttl=cache_ttl, history=history,
                           output_tokens_default=output_tokens_default, client=client, text_tokens=text_tokens,
                           explain=explain, max_tokens=max_tokens, done=len(done), now=now)


def estimate_videos(videos: list[VideoRequest], skipped: list[tuple[str, str]], f: ModelFacts,
                    profile: PromptProfile, *, cache_ttl: str, history: History | None,
                    output_tokens_default: int | None = None, client: Anthropic | None = None,
                    text_tokens: PromptTokens | None = None, explain: bool = True,
                    max_tokens: int = DEFAULT_MAX_TOKENS, done: int = 0, now: datetime | None = None,
                    full: bool = True) -> Estimate:
    """``estimate_run`` on requests already read from the keyframes, on model ``f`` (resolved by the caller,
    so the model comparison prices the same requests on every model the way the estimate does).
    ``full=False`` prices only the point (no range, per video or other TTL)."""
    text = text_tokens or prompt_tokens(profile, f, client=client)
    out = output_estimate(history.output_tokens if history else (), default=output_tokens_default,
                          schema=profile.schema, model=f, max_tokens=max_tokens, remaining=len(videos),
                          frames=history.output_frames if history else (), to_send=[len(v.sizes) for v in videos])
    share = batch_read_share(history, ttl=cache_ttl, now=now)
    est = _estimate_requests(videos, skipped, f, text, out, cache_ttl, history, explain=explain, share=share,
                            full=full, done=done, warm_standard=standard_cache_warm(history, ttl=cache_ttl, now=now))
    need = limit_need(history.output_tokens if history else (), schema=profile.schema, model=f)
    cut = len(history.cut_off) if history else 0
    notes = est.notes + ((f"{cut} earlier answer(s) were cut off at the answer length limit; their length is the "
                          "limit's, not an answer's, so the output estimate leaves them out.",) if cut else ())
    return replace(est, warnings=limit_warnings(max_tokens, need, len(videos)), cut_off=cut, notes=notes)


def run_terms(est: Estimate) -> RunTerms:
    """The terms ``est`` priced its requests on (prompt, output per video, cache behaviour), to re-price them."""
    return RunTerms(est.text, est.output.median, est.cache.read_share_batch, est.cache.caches, est.cache_ttl,
                    est.cache.read_share_standard == 1.0 and est.videos > 1)


def _notes(text: PromptTokens, assumptions: Assumptions, caches_: bool, skipped: list[tuple[str, str]],
           f: ModelFacts) -> tuple[str, ...]:
    notes = [line for line in assumptions.lines() if caches_ or not line.startswith("Cache:")]
    if not text.exact:
        notes.append(text.note)
    not_extracted = sum(1 for _, r in skipped if r == "not extracted yet")
    if not_extracted:
        notes.append(f"{not_extracted} video(s) have no keyframes yet and are not in this estimate; "
                     "extract them on the Keyframes page.")
    if f.note:
        notes.append(f.note)
    return tuple(notes)


def _range(mid: PricedRun, outs: tuple[PricedRun, PricedRun], shares: tuple[PricedRun, PricedRun],
           ) -> dict[str, tuple[float, float]]:
    """Each scenario's (low, high): the point moved by the output's and the cache's ends, combined in
    quadrature (two independent uncertainties; their extremes rarely meet)."""
    out: dict[str, tuple[float, float]] = {}
    for s in SCENARIOS:
        m = mid.costs[s].total_usd
        down = [max(0.0, m - r.costs[s].total_usd) for r in (*outs, *shares)]
        up = [max(0.0, r.costs[s].total_usd - m) for r in (*outs, *shares)]
        out[s] = (m - math.hypot(max(down[:2]), max(down[2:])), m + math.hypot(max(up[:2]), max(up[2:])))
    return out


def _estimate_requests(videos: list[VideoRequest], skipped: list[tuple[str, str]], f: ModelFacts,
                      text: PromptTokens, out: OutputEstimate, ttl: str, history: History | None, *,
                      explain: bool, full: bool = True, share: ReadShare | None = None,
                      done: int = 0, warm_standard: bool = False) -> Estimate:
    """The estimate of these requests; ``full=False`` prices only the point (no range, per video or other TTL)."""
    share = share or batch_read_share(history, ttl=ttl)
    n = len(videos)
    caches_ = caches(text, f)
    terms = RunTerms(text, out.median, share.effective(share.point, n), caches_, ttl, warm_standard)
    mid = price_run(videos, f, terms, per_video=full)
    ranges: dict[str, tuple[float, float]] = {}
    alt = mid  # the model comparison needs only the point estimate
    if full:
        outs = tuple(price_run(videos, f, replace(terms, output=o), per_video=False) for o in (out.low, out.high))
        shares = tuple(price_run(videos, f, replace(terms, read_share_batch=share.effective(c, n)), per_video=False)
                       for c in (share.high, share.low))
        ranges = _range(mid, outs, shares)  # type: ignore[arg-type]
        alt = price_run(videos, f, replace(terms, ttl=other_ttl(ttl)), per_video=False)
    ttl_totals = {ttl: mid.costs[HEADLINE_SCENARIO].total_usd}
    if full:
        ttl_totals[other_ttl(ttl)] = alt.costs[HEADLINE_SCENARIO].total_usd
    shown = ReadShare(share.effective(share.point, n), share.effective(share.low, n), share.effective(share.high, n),
                      share.source, share.warm, share.batches)
    est = Estimate(
        facts=f, cache_ttl=ttl, videos=n, frames=mid.frames,
        image_tokens=mid.image_tokens, text=text, output=out,
        cache=cache_info(text, f, ttl=ttl, requests=n, uncached_tokens=mid.uncached_tokens, share=shown),
        scenarios=scenarios_of(mid.costs, videos=n, ranges=ranges or None), per_video=mid.per_video,
        ttl_totals=ttl_totals, money=mid.money, explanations=(), skipped=tuple(skipped), share=share, done=done,
    )
    est = replace(est, notes=_notes(text, est.assumptions, caches_, skipped, f))
    if explain and n:
        est = replace(est, explanations=tuple(explain_estimate(
            est.scenarios, est.money[HEADLINE_SCENARIO], est.cache, est.ttl_totals, f, levers(est, videos, f))))
    return est


def _headline_with(videos: list[VideoRequest], est: Estimate, f: ModelFacts, *, frames: int | None,
                   max_edge: int | None) -> float:
    priced = price_run(videos, f, run_terms(est), max_edge=max_edge, frames=frames, per_video=False)
    return priced.costs[HEADLINE_SCENARIO].total_usd


def levers(est: Estimate, videos: list[VideoRequest], f: ModelFacts) -> list[Lever]:
    """What fewer frames, smaller frames and a shorter answer would each save on ``est``'s headline scenario."""
    total = est.scenario(HEADLINE_SCENARIO).total_usd
    out: list[Lever] = []
    avg_frames = est.frames / est.videos
    if avg_frames >= 2:
        half = max(1, round(avg_frames / 2))
        cost = _headline_with(videos, est, f, frames=half, max_edge=None)
        now = f"{avg_frames:.1f}".removesuffix(".0")  # "4.6", not a rounded "5" (the scene strategy keeps fewer)
        out.append(Lever(total - cost, f"sending half the frames: {half} per video instead of the {now} sent now"))
    edges = [w for v in videos for w in (max(s) for s in v.sizes)]
    cur_edge = max(edges) if edges else 0
    smaller = [e for e in MAX_EDGE_STEPS if e < cur_edge]
    if smaller:
        e = smaller[-1] if smaller[-1] < cur_edge * 0.8 else (smaller[-2] if len(smaller) > 1 else smaller[-1])
        cost = _headline_with(videos, est, f, frames=None, max_edge=e)
        out.append(Lever(total - cost, f"frames of at most {e} px on the long edge instead of {cur_edge} px"))
    out_half = est.output.median / 2
    out_rate = rates(f, batch=True)["output"]
    save_out = est.output.median * est.videos * out_rate - out_half * est.videos * out_rate
    out.append(Lever(save_out, f"a shorter answer (about {out_half:,.0f} output tokens instead of "
                               f"{est.output.median:,.0f}: fewer or shorter fields in the schema)"))
    return out


# --- the estimate of a folder ---------------------------------------------------------------------

@dataclass(frozen=True)
class RunInputs:
    """What an estimate of a folder needs, read from its working folder (nothing is decoded).

    ``sets`` are the keyframes as extracted (for ``extracted_for``, the folder's model unless only
    another image tier's frames exist); they are re-priced for ``model``. ``source_sizes`` are the
    videos' own frame sizes (for what-if above the extracted size). ``history`` is empty when the
    folder has no ledger yet, ``None`` when its ledger cannot be read.
    """

    folder: Path
    settings: RunSettings
    model: str
    cache_ttl: str
    profile: PromptProfile
    sets: tuple[KeyframeSet, ...]
    selection: Selection
    history: History | None
    source_sizes: dict[str, tuple[int, int]]
    extracted_for: str
    done: frozenset[str] = frozenset()  # videos whose sidecar holds an analysis with these settings


def estimate_folder(folder: Folder | Path | str | RunInputs, *, client: Anthropic | None = None,
                    max_tokens: int | None = None, output_tokens_default: int | None = None,
                    text_tokens: PromptTokens | None = None, explain: bool = True,
                    selection: Selection | None = None) -> Estimate:
    """The estimate of ``folder``'s next run: its inputs (``load_run_inputs``, or the ``RunInputs`` given),
    the prompt counted by ``folder_prompt_tokens`` (unless ``text_tokens``), and ``max_tokens`` (default:
    the folder's setting), for the folder's selection or the ``selection`` given (videos left out, such as
    likely-empty clips). The Estimate page and ``gaia estimate`` both compute it here."""
    inp = folder if isinstance(folder, RunInputs) else load_run_inputs(folder)
    text = text_tokens or folder_prompt_tokens(inp.folder, inp.profile, inp.model, client=client)
    return estimate_run(inp.sets, model=inp.model, profile=inp.profile, cache_ttl=inp.cache_ttl,
                        selection=inp.selection if selection is None else selection, history=inp.history,
                        output_tokens_default=output_tokens_default,
                        text_tokens=text, source_sizes=inp.source_sizes,
                        max_tokens=max_tokens or inp.settings.max_tokens, done=inp.done, explain=explain)


def _profile(f: Folder, settings: RunSettings) -> PromptProfile:
    try:
        return f.profile(settings.prompt_profile)
    except (KeyError, ValueError, OSError):
        return default_profile()


def _extracted(f: Folder, settings: RunSettings, model: str,
               records: Sequence[VideoRecord]) -> tuple[str, list[KeyframeSet]]:
    """The model whose extracted frames cover the most videos (the folder's and ``model``'s tiers first), and its sets.

    Frames extracted for another image tier still give an estimate: they are re-priced for ``model``.
    """
    cat = catalogue()
    candidates = [settings.model, model]
    seen_tiers = {cat.models[m].image_tier.name for m in candidates if m in cat.models}
    for facts in cat.models.values():
        if facts.image_tier.name not in seen_tiers:
            seen_tiers.add(facts.image_tier.name)
            candidates.append(facts.id)
    best: tuple[int, str, list[KeyframeSet] | None] | None = None
    for m in dict.fromkeys(candidates):
        if m not in cat.models:
            continue
        sets: list[KeyframeSet] | None = None
        if m in (settings.model, model):  # the sets the pages show: made (and remembered) once for all of them
            sets = cached_keyframes(f.path, settings=settings.keyframes, model=m, records=records)
            n = sum(1 for s in sets if s.n_frames)
        else:  # another tier's, only counted: 100,000 sets and ids each, for an answer that is mostly "none"
            n = count_cached(f.path, settings=settings.keyframes, model=m, records=records)
        if best is None or n > best[0]:
            best = (n, m, sets)
    if best is None:
        return model, []
    n, m, sets = best
    return m, sets if sets is not None else cached_keyframes(f.path, settings=settings.keyframes, model=m,
                                                             records=records)


def _source_sizes(records: Sequence[VideoRecord]) -> dict[str, tuple[int, int]]:
    """rel_path → the video's frame size as shown (rotation applied)."""
    sizes: dict[tuple[int, int], tuple[int, int]] = {}  # one tuple per distinct size (a folder repeats a few)
    return {r.rel_path: sizes.setdefault(size, size) for r in records if r.width and r.height
            for size in [(r.height, r.width) if r.rotation in (90, 270, -90) else (r.width, r.height)]}


def _history(f: Folder, profile: PromptProfile, model: str) -> History | None:
    try:
        return history(f, prompt_hash=profile.hash, model=model)
    except Exception:  # a damaged ledger: estimate from the defaults
        return None


def _done(f: Folder, settings: RunSettings, profile: PromptProfile, sets: Sequence[KeyframeSet]) -> frozenset[str]:
    """The videos already analysed with these settings (model, prompt, keyframes): a run would skip them."""
    fp = run_fingerprint(settings, profile.hash)
    return frozenset(ks.rel_path for ks in sets if sidecar_state(f.path / ks.rel_path, fp) == "analysed")


def load_run_inputs(folder: Folder | Path | str, *, model: str | None = None, cache_ttl: str | None = None,
                    records: Sequence[VideoRecord] | None = None) -> RunInputs:
    """Settings, keyframes (with the Keyframes page's exclusions), prompt profile and history of ``folder``.

    ``model`` and ``cache_ttl`` default to the folder's saved settings. ``records`` (a scan's
    ``VideoRecord``s) saves a rescan when the caller has one.
    """
    f = Folder.of(folder)
    settings = f.settings()
    model = model or settings.model
    profile = _profile(f, settings)
    recs = list(records) if records is not None else list(scan_folder(f.path).records)
    extracted_for, sets = _extracted(f, settings, model, recs)
    done = _done(f, replace(settings, model=model), profile, sets)
    return RunInputs(f.path, settings, model, cache_ttl or settings.cache_ttl, profile, tuple(sets),
                     f.selection(), _history(f, profile, model), _source_sizes(recs), extracted_for, done)
