"""What a run will cost before it is sent: four scenarios, a range, per video, assumptions, explanations.

``estimate_run`` prices a folder's keyframes (with the Keyframes page's exclusions) and prompt on
one model. Image tokens follow that model's own resize rule, whatever model the frames were
extracted for. Text tokens are exact when counted with ``count_tokens``, else approximate (and
said so). Output tokens per video and the batch cache-read share come from the folder's history
when it has any, else from the data file's defaults; their low and high ends give each
scenario's range (``Scenario.low_usd`` / ``high_usd``). ``Estimate.assumptions`` names what drives
the figure, so a page or the CLI can state it beside the number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gaia.facts import CACHE_TTLS, ModelFacts, model_facts
from gaia.format import pct
from gaia.media.keyframes import KeyframeSet
from gaia.pricing.cache import CacheInfo, ReadShare, batch_read_share, cache_info, caches, other_ttl
from gaia.pricing.explain import Explanation, Lever, explain_estimate
from gaia.pricing.history import History
from gaia.pricing.output import OutputEstimate, output_estimate
from gaia.pricing.run import RunTerms, VideoCost, VideoRequest, price_run, requests_from_sets
from gaia.pricing.scenarios import HEADLINE_SCENARIO, SCENARIOS, Scenario, scenario, scenarios_of
from gaia.pricing.tokens import PromptTokens, prompt_tokens
from gaia.pricing.usage import rates
from gaia.prompts import PromptProfile
from gaia.settings import MAX_EDGE_STEPS, Selection

if TYPE_CHECKING:
    from anthropic import Anthropic


@dataclass(frozen=True)
class Assumptions:
    """What an estimate's figure rests on: the numbers a reader should see beside it."""

    output_tokens: OutputEstimate  # per video: point, p10, p90 and where from
    cache_read_share: ReadShare  # in a batch: point, low, high and where from
    frames_per_video: float
    prefix_tokens: int
    prefix_exact: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: output tokens per video (thinking included, it is billed as output), the
        batch cache-read share, frames per video and the shared prefix."""
        o, c = self.output_tokens, self.cache_read_share
        return {"output_tokens_per_video": {"point": o.median, "low": o.low, "high": o.high, "source": o.source,
                                            "includes_thinking": True},
                "cache_read_share": {"point": c.point, "low": c.low, "high": c.high, "source": c.source},
                "frames_per_video": self.frames_per_video,
                "prefix": {"tokens": self.prefix_tokens, "exact": self.prefix_exact}}


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

    def scenario(self, key: str) -> Scenario:
        """The scenario named ``key`` (one of ``SCENARIOS``)."""
        return scenario(self.scenarios, key)

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
        return Assumptions(self.output, ReadShare(c.read_share_batch, c.read_share_low, c.read_share_high,
                                                  c.read_share_source),
                           self.frames / self.videos if self.videos else 0.0, c.prefix_tokens, c.prefix_exact)

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
            "assumptions": self.assumptions.to_dict(),
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
) -> Estimate:
    """Estimate a run: the four scenarios with breakdown, per video and total, and what they mean.

    ``keyframe_sets`` are the folder's ``KeyframeSet``s (``gaia.cached_keyframes``); videos and
    frames excluded in ``selection`` are left out, as are videos without frames (listed in
    ``skipped``). Text tokens are exact when ``client`` is given (``count_tokens``), else
    approximate; ``text_tokens`` skips counting. ``source_sizes`` (rel_path → video frame size)
    lets what-if go above the extracted frame size.
    """
    if cache_ttl not in CACHE_TTLS:
        raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {cache_ttl!r}")
    f = model_facts(model)
    videos, skipped = requests_from_sets(keyframe_sets, selection, source_sizes)
    text = text_tokens or prompt_tokens(profile, model, client=client)
    out = output_estimate(history.output_tokens if history else (), default=output_tokens_default)
    return estimate_requests(videos, skipped, f, text, out, cache_ttl, history, explain=explain)


def run_terms(est: Estimate) -> RunTerms:
    """The terms ``est`` priced its requests on (prompt, output median, cache behaviour), to re-price them."""
    return RunTerms(est.text, est.output.median, est.cache.read_share_batch, est.cache.caches, est.cache_ttl)


def _notes(text: PromptTokens, out: OutputEstimate, share: ReadShare, caches_: bool,
           skipped: list[tuple[str, str]], f: ModelFacts) -> tuple[str, ...]:
    notes = []
    if not text.exact:
        notes.append(text.note)
    if out.source == "default":
        notes.append(f"Output: no history yet, so {out.median:,.0f} tokens per video is assumed "
                     f"(range {out.low:,.0f}–{out.high:,.0f}); it is learnt from the first results.")
    if share.source == "default" and caches_:
        notes.append(f"Batch cache hits are best-effort (the docs say typically 30% to 98%); assumed "
                     f"{pct(share.point)}, range {pct(share.low)}–{pct(share.high)}.")
    not_extracted = sum(1 for _, r in skipped if r == "not extracted yet")
    if not_extracted:
        notes.append(f"{not_extracted} video(s) have no keyframes yet and are not in this estimate; "
                     "extract them on the Keyframes page.")
    if f.note:
        notes.append(f.note)
    return tuple(notes)


def estimate_requests(videos: list[VideoRequest], skipped: list[tuple[str, str]], f: ModelFacts,
                      text: PromptTokens, out: OutputEstimate, ttl: str, history: History | None, *,
                      explain: bool, full: bool = True) -> Estimate:
    """The estimate of these requests; ``full=False`` prices only the point (no range, per video or other TTL)."""
    share = batch_read_share(history)
    caches_ = caches(text, f)
    terms = RunTerms(text, out.median, share.point, caches_, ttl)
    mid = price_run(videos, f, terms, per_video=full)
    lo = hi = alt = mid  # the model comparison needs only the point estimate
    if full:
        lo = price_run(videos, f, replace(terms, output=out.low, read_share_batch=share.high), per_video=False)
        hi = price_run(videos, f, replace(terms, output=out.high, read_share_batch=share.low), per_video=False)
        alt = price_run(videos, f, replace(terms, ttl=other_ttl(ttl)), per_video=False)
    n = len(videos)
    ranges = {s: (lo.costs[s].total_usd, hi.costs[s].total_usd) for s in SCENARIOS}
    ttl_totals = {ttl: mid.costs[HEADLINE_SCENARIO].total_usd}
    if full:
        ttl_totals[other_ttl(ttl)] = alt.costs[HEADLINE_SCENARIO].total_usd
    est = Estimate(
        model=f.id, display_name=f.display_name, cache_ttl=ttl, videos=n, frames=mid.frames,
        image_tokens=mid.image_tokens, text=text, output=out,
        cache=cache_info(text, f, ttl=ttl, requests=n, uncached_tokens=mid.uncached_tokens, share=share),
        scenarios=scenarios_of(mid.costs, videos=n, ranges=ranges), per_video=tuple(mid.per_video),
        ttl_totals=ttl_totals, money=mid.money, explanations=(), prices_as_of=f.as_of, source=f.source,
        confirmed=f.confirmed, uncertain=tuple(f.uncertain), skipped=tuple(skipped),
        notes=_notes(text, out, share, caches_, skipped, f),
    )
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
