"""What a run will cost before it is sent: four scenarios, a range, per video, assumptions, explanations.

``estimate_run`` prices a folder's keyframes (with the Keyframes page's exclusions) and prompt on
one model, for the videos still to send: videos already analysed with the same settings are left
out and counted (``Estimate.done``). Image tokens follow that model's own resize rule, whatever
model the frames were extracted for. Text tokens are exact when counted with ``count_tokens``,
else approximate (and said so). Output tokens per video come from the folder's answers of this
prompt on this model when there are any (a pilot of a few videos calibrates the rest), else from
the schema's shape, the model's thinking and ``max_tokens`` (``gaia.pricing.output``); the batch
cache hit chance from its past batches, else the data file (``gaia.pricing.cache``).

Each scenario's range (``Scenario.low_usd`` / ``high_usd``) is the point moved by the two
uncertainties that drive it, taken as independent and combined in quadrature: the output per
video (its low and high ends) and the cache hit chance (its high and low ends). Nothing is padded.
``Estimate.assumptions`` names what the figure rests on, and the notes say it in words, so a page
or the CLI can state it beside the number.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gaia.facts import CACHE_TTLS, ModelFacts, model_facts
from gaia.format import pct, usd
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.cache import (
    CacheInfo,
    ReadShare,
    batch_read_share,
    cache_info,
    caches,
    other_ttl,
    standard_cache_warm,
)
from gaia.pricing.explain import Explanation, Lever, explain_estimate
from gaia.pricing.history import History
from gaia.pricing.output import LimitNeed, OutputEstimate, limit_need, output_estimate
from gaia.pricing.run import PricedRun, RunTerms, VideoCost, VideoRequest, price_run, requests_from_sets
from gaia.pricing.scenarios import HEADLINE_SCENARIO, SCENARIOS, Scenario, scenario, scenarios_of
from gaia.pricing.tokens import PromptTokens, prompt_tokens
from gaia.pricing.usage import rates
from gaia.prompts import PromptProfile
from gaia.settings import DEFAULT_MAX_TOKENS, MAX_EDGE_STEPS, Selection

if TYPE_CHECKING:
    from anthropic import Anthropic


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
class Estimate:
    """The expected cost of a run on one model: four scenarios, per video, explanations and assumptions."""

    model: str
    display_name: str
    cache_ttl: str
    videos: int
    frames: int
    image_tokens: int
    text: PromptTokens
    output: OutputEstimate
    cache: CacheInfo
    scenarios: tuple[Scenario, ...]
    per_video: tuple[VideoCost, ...]
    ttl_totals: dict[str, float]  # batch + caching total with each TTL
    money: dict[str, dict[str, float]]  # scenario → part (images, text, prefix, output) → USD
    explanations: tuple[Explanation, ...]
    prices_as_of: str
    source: str
    confirmed: bool
    uncertain: tuple[str, ...]
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
    model: str,
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
    f = model_facts(model)
    sets = list(keyframe_sets)
    todo = [ks for ks in sets if ks.rel_path not in done]
    videos, skipped = requests_from_sets(todo, selection, source_sizes)
    skipped += [(ks.rel_path, "already analysed") for ks in sets if ks.rel_path in done]
    text = text_tokens or prompt_tokens(profile, model, client=client)
    out = output_estimate(history.output_tokens if history else (), default=output_tokens_default,
                          schema=profile.schema, model=f.id, max_tokens=max_tokens, remaining=len(videos))
    share = batch_read_share(history, ttl=cache_ttl, now=now)
    est = estimate_requests(videos, skipped, f, text, out, cache_ttl, history, explain=explain, share=share,
                            done=len(done), warm_standard=standard_cache_warm(history, ttl=cache_ttl, now=now))
    need = limit_need(history.output_tokens if history else (), schema=profile.schema, model=f.id)
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


def estimate_requests(videos: list[VideoRequest], skipped: list[tuple[str, str]], f: ModelFacts,
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
        model=f.id, display_name=f.display_name, cache_ttl=ttl, videos=n, frames=mid.frames,
        image_tokens=mid.image_tokens, text=text, output=out,
        cache=cache_info(text, f, ttl=ttl, requests=n, uncached_tokens=mid.uncached_tokens, share=shown),
        scenarios=scenarios_of(mid.costs, videos=n, ranges=ranges or None), per_video=tuple(mid.per_video),
        ttl_totals=ttl_totals, money=mid.money, explanations=(), prices_as_of=f.as_of, source=f.source,
        confirmed=f.confirmed, uncertain=tuple(f.uncertain), skipped=tuple(skipped), share=share, done=done,
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
