"""What the two levers that send less save: leaving likely-empty clips out, and a cheap first pass.

``empty_saving`` prices a run with and without the likely-empty clips through the one estimate
function (the caller hands it in, already bound to the folder's inputs), so the saving shown beside
the threshold is exactly the difference of two ordinary estimates. ``miss_rate`` turns a sample of
likely-empty clips the model looked at anyway into a miss rate with its Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.pricing.estimate import Estimate
from gaia.pricing.inputs import RunInputs, estimate_folder, folder_prompt_tokens
from gaia.pricing.scenarios import HEADLINE_SCENARIO
from gaia.settings import Selection

if TYPE_CHECKING:
    from pathlib import Path

    from anthropic import Anthropic

    from gaia.pricing.tokens import PromptTokens

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
class CascadeEstimate:
    """A cascade priced: every video with the cheap configuration, plus the escalated share with the strong one."""

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
    batch: tuple[float, float, float] | None = None  # the same cascade sent as batches: total, low, high

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
    def note(self) -> str | None:
        """Why the total cannot be trusted to ±10%, in words (``None`` when it can)."""
        if self.can_tell:
            return None
        why = ("assumed, not measured" if self.share_source == "assumed" else
               f"{self.share_source}, so it could be anywhere from {self.share_low:.0%} to {self.share_high:.0%}")
        return (f"Cannot tell this cost to within ±{CASCADE_TELLS:.0%}: the share of first answers sent again is "
                f"{why}, and the cascade could cost {self.low_usd:.4f} to {self.high_usd:.4f} USD. A larger pilot "
                "narrows it (gaia run --cascade MODEL:PRESET --limit N sends N videos spread over the folder).")

    def to_dict(self) -> dict[str, Any]:
        """The scenario's JSON form (key ``cascade``)."""
        return {"key": "cascade", "label": "Cascade (run now, with caching)", "total_usd": round(self.total_usd, 6),
                "low_usd": round(self.low_usd, 6), "high_usd": round(self.high_usd, 6),
                "escalation_share": round(self.escalation_share, 4),
                "escalation_share_range": [round(self.share_low, 4), round(self.share_high, 4)],
                "escalation_share_source": self.share_source, "first_pass_usd": round(self.first_usd, 6),
                "strong_for_every_video_usd": round(self.second_all_usd, 6), "videos": self.videos,
                "priced_as": CASCADE_SCENARIO, "within_10pct": self.can_tell, "note": self.note,
                "batch": None if self.batch is None else {
                    "priced_as": CASCADE_BATCH_SCENARIO, "total_usd": round(self.batch[0], 6),
                    "low_usd": round(self.batch[1], 6), "high_usd": round(self.batch[2], 6)}}

    def describe(self) -> str:
        """The scenario in one sentence (and, when the range is wide, a second saying the total cannot be told)."""
        return (f"Cascade: {self.total_usd:.4f} USD (range {self.low_usd:.4f}–{self.high_usd:.4f}) for {self.videos} "
                f"video(s): the first pass {self.first_usd:.4f} USD, then {self.escalation_share:.0%} sent again "
                f"({self.share_source}; range {self.share_low:.0%}–{self.share_high:.0%})."
                + (f" As batches (gaia submit --cascade): {self.batch[0]:.4f} USD (range {self.batch[1]:.4f}–"
                   f"{self.batch[2]:.4f})." if self.batch else "")
                + (f" {self.note}" if self.note else ""))


def cascade_estimate(first: Estimate, strong: Estimate, *, share: float, share_low: float, share_high: float,
                     share_source: str) -> CascadeEstimate:
    """Price a cascade from two ordinary estimates (the cheap configuration's and the strong one's, for the same
    videos) and the escalation share with its range: the low end takes both estimates' low ends and the share's."""
    def priced(key: str) -> tuple[float, float, float, float]:
        a, b = first.scenario(key), strong.scenario(key)
        a_low, a_high = a.low_usd if a.low_usd is not None else a.total_usd, a.high_usd or a.total_usd
        b_low, b_high = b.low_usd if b.low_usd is not None else b.total_usd, b.high_usd or b.total_usd
        return (a.total_usd + share * b.total_usd, a_low + share_low * b_low, a_high + share_high * b_high,
                b.total_usd)

    now, batch = priced(CASCADE_SCENARIO), priced(CASCADE_BATCH_SCENARIO)
    return CascadeEstimate(first.scenario(CASCADE_SCENARIO).total_usd, now[3], share, share_low, share_high,
                           share_source, now[0], now[1], now[2], first.videos, batch=batch[:3])
