"""The same run priced otherwise: other frame settings, a budget, other models, fewer clips, a cheap first pass.

Every figure here is the one estimate (``gaia.pricing.estimate``) re-priced with one thing changed,
so a saving shown is exactly the difference of two ordinary figures.

**Frame settings and budget.** ``what_if`` prices a grid of settings (the steps a user may change,
``gaia.settings.FRAME_COUNT_STEPS`` and ``MAX_EDGE_STEPS``, the model's own tier limit added);
everything else (prompt, output, cache) is as in the estimate. ``budget`` picks the richest setting
(most visual tokens per video) whose cost stays under a limit.

**Every model.** ``compare_models`` prices the same run on every model: frames with each model's
own resize rule, text tokens counted per model (the newer tokenizer makes ~30% more of the same
text), so a cheaper model's real saving shows, with whether it still caches and what it sees of a frame.

**Sending less.** ``empty_saving`` prices a run with and without the likely-empty clips through the
one estimate function (the caller hands it in, already bound to the folder's inputs, see
``folder_estimator``). A ``MissRate`` is a sample of likely-empty clips the model looked at anyway,
with its Wilson interval (``wilson``); the folder keeps its last one (``save_misses``,
``measured_misses``). ``cascade_estimate`` prices a cheap first pass and the escalated share sent
again with the strong configuration.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from gaia.facts import ModelFacts, catalogue
from gaia.folder import Folder
from gaia.format import usd
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.bill import History
from gaia.pricing.estimate import Estimate, RunInputs, estimate_folder, estimate_videos, price_run, run_terms
from gaia.pricing.models import HEADLINE_SCENARIO, SCENARIO_LABELS, SCENARIOS, facts_of
from gaia.pricing.output import OutputEstimate
from gaia.pricing.tokens import (
    PromptTokens,
    VideoRequest,
    folder_prompt_tokens,
    frame_size_for_model,
    requests_from_sets,
    video_tokens,
)
from gaia.prompts import PromptProfile
from gaia.settings import DEFAULT_MAX_TOKENS, FRAME_COUNT_STEPS, MAX_EDGE_STEPS, Selection

if TYPE_CHECKING:
    from pathlib import Path

    from anthropic import Anthropic


# --- frame settings and budget --------------------------------------------------------------------

@dataclass(frozen=True)
class WhatIfPoint:
    """The run's cost with a given number of frames per video and longest frame edge."""

    frames: int
    max_edge: int
    tokens_per_frame: float
    usd: dict[str, float]  # scenario → total

    @property
    def image_tokens_per_video(self) -> float:
        """Visual tokens per video: the "richness" budget() maximises."""
        return self.frames * self.tokens_per_frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"frames": self.frames, "max_edge": self.max_edge, "tokens_per_frame": self.tokens_per_frame,
                "image_tokens_per_video": self.image_tokens_per_video, "usd": self.usd}


def edge_steps(f: ModelFacts, max_edges: Sequence[int] | None = None) -> list[int]:
    """The longest-edge steps for ``f`` up to its tier: ``max_edges``, default ``MAX_EDGE_STEPS`` and the tier limit."""
    top = f.image_tier.max_edge
    return sorted({e for e in (max_edges or MAX_EDGE_STEPS) if e <= top} | ({top} if max_edges is None else set()))


def what_if(
    estimate: Estimate,
    keyframe_sets: Iterable[KeyframeSet],
    *,
    selection: Selection | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> list[WhatIfPoint]:
    """The run's cost over a grid of frames per video × longest frame edge, for ``estimate``'s model.

    Frame sizes follow the extracted frames' aspect; an edge above the extracted size is reachable
    only when ``source_sizes`` gives the videos' own resolution (otherwise frames are not enlarged).
    """
    f = estimate.facts
    videos, _ = requests_from_sets(keyframe_sets, selection, source_sizes)
    points: list[WhatIfPoint] = []
    if not videos:
        return points
    terms = run_terms(estimate)
    previous: list[tuple[float, int]] | None = None
    for edge in edge_steps(f, max_edges):
        sigs = [video_tokens(v, f, edge) for v in videos]
        if sigs == previous:  # the videos are no larger than the last edge: nothing changes
            continue
        previous = sigs
        n_frames = sum(n for _, n in sigs)
        tpf = sum(t for t, _ in sigs) / n_frames if n_frames else 0.0
        for k in frame_counts:
            priced = price_run(videos, f, terms, max_edge=edge, frames=k, per_video=False)
            points.append(WhatIfPoint(k, edge, tpf, {s: priced.costs[s].total_usd for s in SCENARIOS}))
    return points


@dataclass(frozen=True)
class BudgetResult:
    """The richest settings (most visual tokens per video) whose cost stays under the budget."""

    limit_usd: float
    scenario: str
    best: WhatIfPoint | None
    current_usd: float
    fits_now: bool
    options: tuple[WhatIfPoint, ...]  # every setting under the limit, richest first
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"limit_usd": self.limit_usd, "scenario": self.scenario, "current_usd": self.current_usd,
                "fits_now": self.fits_now, "best": self.best.to_dict() if self.best else None,
                "options": [o.to_dict() for o in self.options[:10]], "message": self.message}


def _budget_message(limit_usd: float, scenario: str, best: WhatIfPoint | None, current: float,
                    points: Sequence[WhatIfPoint]) -> str:
    label = SCENARIO_LABELS[scenario]
    if best is None:
        cheapest = min(points, key=lambda p: p.usd[scenario]) if points else None
        if cheapest is None:
            return "No videos with frames to estimate."
        return (f"Nothing fits under {usd(limit_usd)} with {label}: even {cheapest.frames} frame(s) of "
                f"{cheapest.max_edge} px cost {usd(cheapest.usd[scenario])}. Try a cheaper model or fewer videos.")
    return (f"Under {usd(limit_usd)} ({label}): {best.frames} frames per video at up to {best.max_edge} px "
            f"(about {best.tokens_per_frame:,.0f} tokens per frame) for {usd(best.usd[scenario])}. "
            f"Current settings cost {usd(current)}{' and fit' if current <= limit_usd else ', over the budget'}.")


def budget(
    limit_usd: float,
    estimate: Estimate,
    keyframe_sets: Iterable[KeyframeSet],
    *,
    scenario: str = HEADLINE_SCENARIO,
    selection: Selection | None = None,
    frame_counts: Sequence[int] = FRAME_COUNT_STEPS,
    max_edges: Sequence[int] | None = None,
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    points: Sequence[WhatIfPoint] | None = None,
) -> BudgetResult:
    """The richest frames-per-video × max-edge setting under ``limit_usd`` (ties: more frames wins)."""
    pts = list(points) if points is not None else what_if(
        estimate, keyframe_sets, selection=selection, frame_counts=frame_counts, max_edges=max_edges,
        source_sizes=source_sizes)
    under = [p for p in pts if p.usd[scenario] <= limit_usd]
    under.sort(key=lambda p: (-p.image_tokens_per_video, -p.frames, p.usd[scenario]))
    current = estimate.scenario(scenario).total_usd
    best = under[0] if under else None
    return BudgetResult(limit_usd, scenario, best, current, current <= limit_usd, tuple(under),
                        _budget_message(limit_usd, scenario, best, current, pts))


# --- every model ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelRow:
    """The same run priced on one model, with whether it still caches and what resolution it sees."""

    model: str
    display_name: str
    status: str
    usd: dict[str, float]  # scenario → total
    per_video_usd: float
    relative: float  # batch + caching total / the reference model's
    caches: bool
    prefix_tokens: int
    min_cacheable: int
    image_tier: str
    max_edge: int
    frame_size: tuple[int, int] | None  # what the model sees of a typical frame
    downscaled: bool  # frames are larger than the model's tier
    image_tokens: int
    confirmed: bool
    uncertain: tuple[str, ...]
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def _seen(videos: Sequence[VideoRequest], sizes: Collection[tuple[int, int]],
          f: ModelFacts) -> tuple[tuple[int, int] | None, bool]:
    """What model ``f`` sees of the first frame, and whether any frame is larger than its tier (asked once
    per distinct frame size, ``sizes``, not once per frame)."""
    if not videos:
        return None, False
    downscaled = any(frame_size_for_model(w, h, f) != (w, h) for w, h in sizes)
    return frame_size_for_model(*videos[0].sizes[0], f), downscaled


def compare_models(
    keyframe_sets: Iterable[KeyframeSet],
    *,
    profile: PromptProfile,
    reference_model: str,
    cache_ttl: str = "1h",
    selection: Selection | None = None,
    history: History | None = None,
    output_tokens_default: int | None = None,
    client: Anthropic | None = None,
    models: Sequence[str] | None = None,
    statuses: Sequence[str] = ("current", "legacy", "limited"),
    max_tokens: int = DEFAULT_MAX_TOKENS,
    done: Collection[str] = (),
    source_sizes: Mapping[str, tuple[int, int]] | None = None,
    prompt_tokens_for: Callable[[str], PromptTokens] | None = None,
) -> list[ModelRow]:
    """The same run priced on every model (cheapest first), frames priced with each model's resize rule.

    Each model's figure is the estimate's own computation (``estimate_videos``) on the same requests, at
    its point: the videos ``done`` (already analysed) left out and ``max_tokens`` applied as the estimate does,
    so the reference model's row is the estimate's figure (with ``prompt_tokens_for``, the prompt's count on a model
    as the estimate counts it). ``relative`` compares each model's batch + caching
    total with ``reference_model``'s.
    """
    cat = catalogue()
    ids = list(models) if models is not None else [m.id for m in cat.models.values() if m.status in statuses]
    if reference_model not in ids and reference_model in cat.models:
        ids.append(reference_model)
    videos, skipped = requests_from_sets([ks for ks in keyframe_sets if ks.rel_path not in done], selection,
                                         source_sizes)
    sizes = {size for v in videos for size in v.sizes}  # a folder's frames come in a few sizes
    rows = []
    for mid in ids:
        f = facts_of(mid, cat)  # resolved once, passed down
        est = estimate_videos(videos, skipped, f, profile, cache_ttl=cache_ttl, history=history,
                              output_tokens_default=output_tokens_default, client=client, explain=False,
                              text_tokens=prompt_tokens_for(mid) if prompt_tokens_for is not None else None,
                              max_tokens=max_tokens, full=False)
        size, downscaled = _seen(videos, sizes, f)
        rows.append(ModelRow(f.id, f.display_name, f.status, est.total_usd,
                             est.scenario(HEADLINE_SCENARIO).per_video_usd or 0.0, 0.0, est.cache.caches,
                             est.text.prefix, f.min_cacheable_tokens, f.image_tier.name, f.image_tier.max_edge, size,
                             downscaled, est.image_tokens, f.confirmed, tuple(f.uncertain), f.as_of))
    ref = next((r for r in rows if r.model == reference_model), None)
    ref_total = ref.usd[HEADLINE_SCENARIO] if ref else 0.0
    rows = [replace(r, relative=(r.usd[HEADLINE_SCENARIO] / ref_total) if ref_total else math.nan) for r in rows]
    rows.sort(key=lambda r: r.usd[HEADLINE_SCENARIO])
    return rows


# --- sending less: likely-empty clips, a cascade --------------------------------------------------

MISSES_FILE = "empty_misses.json"  # in the working folder: the last measured miss rate of likely-empty clips


@dataclass(frozen=True)
class EmptySaving:
    """A run priced with every clip and without the likely-empty ones (headline scenario, USD)."""

    clips: int  # likely-empty clips left out (that the run would otherwise send)
    with_usd: float
    without_usd: float

    @property
    def saving_usd(self) -> float:
        """What leaving them out saves."""
        return max(0.0, self.with_usd - self.without_usd)

    @property
    def saving_share(self) -> float:
        """The saving as a share of the run with every clip."""
        return self.saving_usd / self.with_usd if self.with_usd > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"clips": self.clips, "with_usd": round(self.with_usd, 6), "without_usd": round(self.without_usd, 6),
                "saving_usd": round(self.saving_usd, 6), "saving_share": round(self.saving_share, 4)}


def folder_estimator(inp: RunInputs, *, text_tokens: PromptTokens | None = None,
                     output_tokens_default: int | None = None, client: Anthropic | None = None,
                     max_tokens: int | None = None) -> Callable[[Selection], Estimate]:
    """The folder's one estimate (``estimate_folder`` on ``inp``, the prompt counted once) as a function
    of the selection: what the Estimate page and ``gaia estimate`` price, for any set of exclusions."""
    text = text_tokens or folder_prompt_tokens(inp.folder, inp.profile, inp.model, client=client)

    def estimate(selection: Selection) -> Estimate:
        return estimate_folder(inp, text_tokens=text, output_tokens_default=output_tokens_default,
                               max_tokens=max_tokens, selection=selection)

    return estimate


def without(selection: Selection, rel_paths: Collection[str]) -> Selection:
    """``selection`` with ``rel_paths`` excluded as whole videos too."""
    for rel in rel_paths:
        selection = selection.with_video(rel, True)
    return selection


def empty_saving(estimate: Callable[[Selection], Estimate], selection: Selection,
                 likely_empty: Collection[str]) -> EmptySaving:
    """The run priced by ``estimate`` (the folder's one estimate, for a selection) with and without
    ``likely_empty``; clips the user already excluded count neither way."""
    left = [rel for rel in likely_empty if not selection.video_excluded(rel)]
    if not left:  # nothing to leave out: nothing to price
        return EmptySaving(0, 0.0, 0.0)
    full = estimate(selection)
    cut = estimate(without(selection, left))
    return EmptySaving(len(left), full.scenario(HEADLINE_SCENARIO).total_usd, cut.scenario(HEADLINE_SCENARIO).total_usd)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a share ``successes / n``; ``(0, 1)`` for ``n == 0``."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


PREDICTIVE_MAX_VIDEOS = 10_000  # beyond this many videos to come, their share's spread is that of the rate alone


def share_to_come(successes: int, n: int, remaining: int, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of the share the next ``remaining`` videos will have, ``successes`` of ``n``
    having had it so far: the beta-binomial predictive of a Jeffreys prior updated by what was seen. Unlike the
    rate's own interval (``wilson``) it counts that a few videos to come are a small sample themselves: 3 of 3
    escalated says little of whether both of the 2 videos left will be. ``(0, 1)`` when nothing was seen."""
    if n <= 0 or remaining <= 0:
        return 0.0, 1.0
    m = min(remaining, PREDICTIVE_MAX_VIDEOS)
    a, b = successes + 0.5, n - successes + 0.5
    # log P(k) up to a constant, each from the one before (the ratio of successive beta-binomial terms), then
    # scaled by the largest: no term underflows however many videos were seen or are to come
    logs = [0.0]
    for k in range(m):
        logs.append(logs[-1] + math.log((m - k) * (k + a) / ((k + 1) * (m - k - 1 + b))))
    top = max(logs)
    probs = [math.exp(x - top) for x in logs]
    tail = (1 - level) / 2 * sum(probs)
    cumulative = list(itertools.accumulate(probs))
    low = next(k for k, c in enumerate(cumulative) if c > tail)
    high = next((k for k, c in enumerate(cumulative) if c >= cumulative[-1] - tail), m)
    return low / m, high / m


@dataclass(frozen=True)
class MissRate:
    """How many sampled likely-empty clips had a subject according to the model, with a Wilson interval."""

    sampled: int
    with_subject: int
    rel_paths: tuple[str, ...] = ()  # the clips that had one

    @property
    def rate(self) -> float:
        """The measured share of misses."""
        return self.with_subject / self.sampled if self.sampled else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """Its 95% Wilson interval."""
        return wilson(self.with_subject, self.sampled)

    def describe(self) -> str:
        """``1 of 12 sampled likely-empty clips had a subject (8%, 95% interval 1%–35%)``."""
        lo, hi = self.interval
        return (f"{self.with_subject} of {self.sampled} sampled likely-empty clips had a subject "
                f"({self.rate:.0%}, 95% interval {lo:.0%}–{hi:.0%})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        lo, hi = self.interval
        return {"sampled": self.sampled, "with_subject": self.with_subject, "rate": round(self.rate, 4),
                "low": round(lo, 4), "high": round(hi, 4), "videos_with_subject": list(self.rel_paths)}


def measured_misses(folder: Folder | Path | str) -> MissRate | None:
    """The folder's last measured miss rate of likely-empty clips, or ``None`` when never measured."""
    data = read_json(Folder.of(folder).existing_workdir() / MISSES_FILE)
    if not isinstance(data, dict):
        return None
    try:
        return MissRate(int(data["sampled"]), int(data["with_subject"]),
                        tuple(str(r) for r in data.get("videos_with_subject") or ()))
    except (KeyError, TypeError, ValueError):
        return None


def save_misses(folder: Folder | Path | str, miss: MissRate) -> None:
    """Keep ``miss`` as the folder's measured miss rate (the Estimate and Keyframes pages show it)."""
    atomic_write_json(Folder.of(folder).workdir / MISSES_FILE, miss.to_dict())


CASCADE_SCENARIO = "caching"  # a cascade runs now (Messages API, shared prefix cached): priced as run now is
CASCADE_BATCH_SCENARIO = "batch_caching"  # the same cascade sent as batches (gaia submit --cascade)
CASCADE_TELLS = 0.10  # a cascade's range within this share of its total: the estimate claims it; wider: it says not


@dataclass(frozen=True)
class CascadePrice:
    """A cascade's two passes priced one way of sending (run now, or as batches), each with its range (USD)."""

    first_usd: float
    first_low: float
    first_high: float
    second_usd: float  # the expected second pass: the escalation share of the strong configuration for every video
    second_low: float
    second_high: float

    @property
    def total_usd(self) -> float:
        """Both passes."""
        return self.first_usd + self.second_usd

    @property
    def low_usd(self) -> float:
        """Both passes' low ends."""
        return self.first_low + self.second_low

    @property
    def high_usd(self) -> float:
        """Both passes' high ends."""
        return self.first_high + self.second_high


@dataclass(frozen=True)
class CascadeEstimate:
    """A cascade priced: every video with the cheap configuration, plus the escalated share with the strong one.

    ``total_usd`` (``low_usd``–``high_usd``) is what the videos still to send will cost; ``spent_usd`` is what
    this cascade already cost (a pilot: its runs' bills, as ``gaia spent`` counts them), so the whole cascade
    is ``whole_usd`` = spent + the rest (``batch_whole``: the rest sent as batches)."""

    first_usd: float  # the first pass, every video
    second_all_usd: float  # the strong configuration for every video (the second pass sends a share of it)
    escalation_share: float
    share_low: float
    share_high: float
    share_source: str
    total_usd: float
    low_usd: float
    high_usd: float
    videos: int
    batch: CascadePrice | None = None  # the same cascade sent as batches (gaia submit --cascade)
    spent_usd: float = 0.0  # what this cascade already cost (its pilot), from the ledger
    spent_videos: int = 0  # the videos that went through it
    # How far each pass's output per video may be off (the larger, as a share of its point), and where the
    # output estimates come from: the answers they were learnt from (the fewer of the two passes), 0 when
    # either is predicted from the schema or assumed.
    output_spread: float = 0.0
    output_answers: int = 0

    # How a spend cap words the amount a batch cascade submission is checked against (``submit_usd``).
    CAP_WHAT: ClassVar[str] = "The whole cascade's expected cost as batches, {usd} (both passes),"

    @property
    def submit_usd(self) -> float:
        """What sending the rest as a batch cascade is expected to cost, both passes: the amount a spend cap is
        checked against before its first pass goes (the second pass is then capped at what the first left)."""
        return self.batch.total_usd if self.batch is not None else self.total_usd

    @property
    def spread(self) -> float:
        """How far the range reaches from the total, as a share of it (0.1: the cost is known to ±10%)."""
        if self.total_usd <= 0:
            return 0.0
        return max(self.total_usd - self.low_usd, self.high_usd - self.total_usd) / self.total_usd

    @property
    def can_tell(self) -> bool:
        """Whether the range is within ±``CASCADE_TELLS`` of the total (else the estimate says it cannot tell)."""
        return self.spread <= CASCADE_TELLS + 1e-9

    @property
    def whole(self) -> tuple[float, float, float]:
        """The whole cascade (already spent + the rest, run now): total, low, high."""
        return self.spent_usd + self.total_usd, self.spent_usd + self.low_usd, self.spent_usd + self.high_usd

    @property
    def batch_whole(self) -> tuple[float, float, float] | None:
        """The whole cascade with the rest sent as batches: total, low, high."""
        if self.batch is None:
            return None
        return (self.spent_usd + self.batch.total_usd, self.spent_usd + self.batch.low_usd,
                self.spent_usd + self.batch.high_usd)

    @property
    def note(self) -> str | None:
        """Why the total cannot be trusted to ±10%, in words (``None`` when it can)."""
        if self.can_tell:
            return None
        why = ("assumed, not measured" if self.share_source == "assumed" else
               f"{self.share_source}, so for the {self.videos} video(s) left it could be anywhere from "
               f"{self.share_low:.0%} to {self.share_high:.0%}")
        length = (f"learnt from the answers so far ({self.output_answers} in the pass with the fewest), so it could "
                  f"be {self.output_spread:.0%} shorter or longer for the videos left" if self.output_answers else
                  f"predicted, not measured (it could be {self.output_spread:.0%} shorter or longer)")
        return (f"Cannot tell this cost to within ±{CASCADE_TELLS:.0%}: the share of first answers sent again is "
                f"{why}; the answers' length, most of the bill, is {length}. The cascade could cost "
                f"{self.low_usd:.4f} to {self.high_usd:.4f} USD. A larger pilot narrows both (gaia run --cascade "
                "MODEL:PRESET --limit N sends N videos spread over the folder).")

    def to_dict(self) -> dict[str, Any]:
        """The scenario's JSON form (key ``cascade``): ``total_usd`` and its range are the videos still to send;
        ``spent_usd`` what the cascade already cost, and ``whole_usd`` (with its range) both together."""
        whole = self.whole
        out = {"key": "cascade", "label": "Cascade (run now, with caching)", "total_usd": round(self.total_usd, 6),
               "low_usd": round(self.low_usd, 6), "high_usd": round(self.high_usd, 6),
               "escalation_share": round(self.escalation_share, 4),
               "escalation_share_range": [round(self.share_low, 4), round(self.share_high, 4)],
               "escalation_share_source": self.share_source, "first_pass_usd": round(self.first_usd, 6),
               "strong_for_every_video_usd": round(self.second_all_usd, 6), "videos": self.videos,
               "priced_as": CASCADE_SCENARIO, "within_10pct": self.can_tell, "note": self.note,
               "spent_usd": round(self.spent_usd, 6), "spent_videos": self.spent_videos,
               "whole_usd": round(whole[0], 6), "whole_low_usd": round(whole[1], 6),
               "whole_high_usd": round(whole[2], 6), "batch": None}
        if self.batch is not None and (bw := self.batch_whole) is not None:
            b = self.batch
            out["batch"] = {"priced_as": CASCADE_BATCH_SCENARIO, "total_usd": round(b.total_usd, 6),
                            "low_usd": round(b.low_usd, 6), "high_usd": round(b.high_usd, 6),
                            "first_pass_usd": round(b.first_usd, 6), "second_pass_usd": round(b.second_usd, 6),
                            "second_pass_low_usd": round(b.second_low, 6),
                            "second_pass_high_usd": round(b.second_high, 6), "whole_usd": round(bw[0], 6),
                            "whole_low_usd": round(bw[1], 6), "whole_high_usd": round(bw[2], 6)}
        return out

    def describe(self) -> str:
        """The scenario in words: the rest with its range, what the pilot already cost and the whole cascade, the
        same as batches, and when the range is wide, that the total cannot be told."""
        rest = (f"{self.total_usd:.4f} USD (range {self.low_usd:.4f}–{self.high_usd:.4f}) for {self.videos} "
                f"video(s): the first pass {self.first_usd:.4f} USD, then {self.escalation_share:.0%} sent again "
                f"({self.share_source}; range {self.share_low:.0%}–{self.share_high:.0%}).")
        if self.spent_videos:
            w = self.whole
            text = (f"Cascade, the rest: {rest} Already spent on it: {self.spent_usd:.4f} USD for "
                    f"{self.spent_videos} video(s). The whole cascade: {w[0]:.4f} USD (range {w[1]:.4f}–{w[2]:.4f}).")
        else:
            text = f"Cascade: {rest}"
        if self.batch is not None and (bw := self.batch_whole) is not None:
            text += (f" As batches (gaia submit --cascade): {self.batch.total_usd:.4f} USD (range "
                     f"{self.batch.low_usd:.4f}–{self.batch.high_usd:.4f})"
                     + (f", the whole cascade {bw[0]:.4f} USD." if self.spent_videos else "."))
        return text + (f" {self.note}" if self.note else "")

    def submit_text(self) -> str:
        """What a batch cascade (``gaia submit --cascade``, the Submit page) will cost: the first pass, the expected
        second pass with its range, and both together."""
        b = self.batch
        if b is None:
            return ""
        return (f"Expected cost of the whole cascade, as batches: {b.total_usd:.4f} USD (range {b.low_usd:.4f}–"
                f"{b.high_usd:.4f}): the first pass {b.first_usd:.4f} USD for {self.videos} video(s), then the "
                f"second pass {b.second_usd:.4f} USD ({b.second_low:.4f}–{b.second_high:.4f}) for the "
                f"{self.escalation_share:.0%} expected to be uncertain ({self.share_source}).")


def cascade_estimate(first: Estimate, strong: Estimate, *, share: float, share_low: float, share_high: float,
                     share_source: str, spent_usd: float = 0.0, spent_videos: int = 0) -> CascadeEstimate:
    """Price a cascade from two ordinary estimates (the cheap configuration's and the strong one's, for the same
    videos) and the escalation share with its range: the low end takes both estimates' low ends and the share's.
    ``spent_usd`` is what the cascade already cost (its pilot's bills) for ``spent_videos``."""
    def priced(key: str) -> CascadePrice:
        a, b = first.scenario(key), strong.scenario(key)
        a_low, a_high = a.low_usd if a.low_usd is not None else a.total_usd, a.high_usd or a.total_usd
        b_low, b_high = b.low_usd if b.low_usd is not None else b.total_usd, b.high_usd or b.total_usd
        return CascadePrice(a.total_usd, a_low, a_high, share * b.total_usd, share_low * b_low, share_high * b_high)

    def spread(o: OutputEstimate) -> float:
        return max(o.high - o.point, o.point - o.low) / o.point if o.point > 0 else 0.0

    now, batch = priced(CASCADE_SCENARIO), priced(CASCADE_BATCH_SCENARIO)
    outs = (first.output, strong.output)
    answers = min(o.samples for o in outs) if all(o.source == "history" for o in outs) else 0
    return CascadeEstimate(now.first_usd, strong.scenario(CASCADE_SCENARIO).total_usd, share, share_low, share_high,
                           share_source, now.total_usd, now.low_usd, now.high_usd, first.videos, batch=batch,
                           spent_usd=spent_usd, spent_videos=spent_videos,
                           output_spread=max(spread(o) for o in outs), output_answers=answers)
