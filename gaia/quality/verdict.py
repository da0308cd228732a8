"""The tune's verdict: recommend a cheaper configuration, keep the current one, or say the sample cannot decide.

Every configuration is judged by its paired per-video difference to the ceiling (the reference
asked twice: what two answers to the very same frames agree on), with a bootstrap interval
(``gaia.quality.stats``). The tolerance is a share of the distance from the negative control
(content-free frames) to the ceiling: with the default 0.10, a configuration may lose at most a tenth
of what seeing nothing at all loses. The rule, on the stored dicts so a page can re-decide at another
tolerance:

- the scorer must discriminate: the negative control's interval lies wholly below zero; otherwise
  the verdict is ``undetermined`` and nothing is recommended, whatever the other scores;
- ``recommend``: on at least ``MIN_VIDEOS_TO_RECOMMEND`` videos, the cheapest configuration (measured cost per
  video) cheaper than the current settings whose interval's lower bound stays within the tolerance (of two as
  cheap, the one whose cost is surer: a cascade's depends on the share of answers it sends again);
- ``undetermined``: no cheaper one qualifies but one's interval still reaches the tolerance; the
  videos that would decide it come from its observed per-video spread (``videos_needed``);
- ``keep``: every cheaper configuration loses more than the tolerance (its whole interval is below).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gaia.quality.stats import DEFAULT_LEVEL, bootstrap_ci, videos_needed

NEEDED_AT_MOST = 20  # beyond this many times the sample, more videos are no practical answer
# The fewest videos whose bootstrap interval is worth a recommendation: from 3 values a percentile bootstrap has
# only 10 distinct resamples, and a sample that happens to agree on every one reads as an interval of zero width.
MIN_VIDEOS_TO_RECOMMEND = 5


class Verdict(StrEnum):
    """What the tune concludes."""

    RECOMMEND = "recommend"
    KEEP = "keep"
    UNDETERMINED = "undetermined"


TOLERANCE_SENTENCE = ("The tolerance is a share of the distance between the negative control (frames that show "
                      "nothing) and the ceiling (the reference asked twice): {share:.0%} of it is {abs:.3f} on this "
                      "sample, the most a recommended configuration may lose.")


@dataclass(frozen=True)
class Interval:
    """A configuration's paired difference to the ceiling: mean, bootstrap interval, per-video spread."""

    diff: float | None
    low: float | None
    high: float | None
    sd: float | None
    videos: int


def interval(per_video: Mapping[str, float] | Sequence[float], *, level: float = DEFAULT_LEVEL,
             seed: str = "") -> Interval:
    """The mean of per-video differences with its bootstrap interval and standard deviation."""
    values = [float(v) for v in (per_video.values() if isinstance(per_video, Mapping) else per_video)
              if v is not None and math.isfinite(float(v))]
    if not values:
        return Interval(None, None, None, None, 0)
    ci = bootstrap_ci(values, level=level, seed=seed)
    assert ci is not None
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return Interval(sum(values) / len(values), ci[0], ci[1], sd, len(values))


@dataclass(frozen=True)
class Decision:
    """The verdict, in a word and in a sentence, and what stands behind it."""

    verdict: Verdict
    text: str
    recommended: str | None = None
    tolerance_abs: float | None = None
    discriminates: bool = False
    videos_needed: int | None = None
    more_videos: int | None = None
    current_loses: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"verdict": self.verdict.value, "verdict_text": self.text, "tolerance_abs": self.tolerance_abs,
                "discriminates": self.discriminates, "videos_needed": self.videos_needed,
                "more_videos": self.more_videos, "current_loses": self.current_loses}


def _cost(c: Mapping[str, Any]) -> float | None:
    v = c.get("measured_usd_per_video")
    return float(v) if isinstance(v, int | float) else None


def _cost_high(c: Mapping[str, Any]) -> float:
    """What a configuration may cost at worst: a cascade's bill at the top of its escalation share's interval,
    a single configuration's measured bill. Of two equally cheap on the sample, the surer one comes first."""
    high = (c.get("cascade_passes") or {}).get("usd_per_video_high")
    return float(high) if isinstance(high, int | float) else float(_cost(c) or 0.0)


def decide(configs: Sequence[Mapping[str, Any]], *, current: str | None, control: str | None,
           ceiling: float | None, tolerance: float, videos: int) -> Decision:
    """The verdict over configuration dicts (``diff``, ``ci_low``, ``ci_high``, ``sd``, ``role``,
    ``measured_usd_per_video``, ``label``), ``tolerance`` a share of the control-to-ceiling distance."""
    by_id = {c.get("id"): c for c in configs}
    ctrl, cur = by_id.get(control), by_id.get(current)
    if ceiling is None or ctrl is None or ctrl.get("diff") is None:
        return Decision(Verdict.UNDETERMINED, (
            "Nothing is recommended: the scorer cannot tell an answer that saw the videos from one that did not, "
            "because nothing scored varies between the videos in the reference's two answers (or the reference or "
            "the negative control gave none)."))
    if ctrl.get("ci_high") is None or ctrl["ci_high"] >= 0:
        control_score = ceiling + ctrl["diff"]
        return Decision(Verdict.UNDETERMINED, (
            f"Nothing is recommended: the negative control (frames that show nothing) scores {control_score:.3f}"
            f", not clearly below the ceiling of {ceiling:.3f}, so on this sample and with this model the scorer "
            "cannot tell an answer that saw the videos from one that did not."))
    span = -float(ctrl["diff"])
    tol = tolerance * span
    if cur is None or cur.get("diff") is None or _cost(cur) is None:
        return Decision(Verdict.UNDETERMINED, "Nothing is recommended: the current settings gave no answers to compare "
                                              "with.", tolerance_abs=tol, discriminates=True)
    cur_cost = float(_cost(cur) or 0.0)
    current_loses = cur.get("ci_high") is not None and cur["ci_high"] < -tol
    loses = (" The current settings themselves lose more than the tolerance: a richer configuration would be more "
             "accurate and more expensive; nothing more expensive is adopted without you choosing it."
             if current_loses else "")
    cheaper = sorted((c for c in configs if c.get("role") in ("candidate", "reference") and c.get("diff") is not None
                      and _cost(c) is not None and float(_cost(c) or 0.0) < cur_cost - 1e-12),
                     key=lambda c: (_cost(c), _cost_high(c), c.get("id")))
    good = [c for c in cheaper if c.get("ci_low") is not None and c["ci_low"] >= -tol - 1e-12]
    if good and videos < MIN_VIDEOS_TO_RECOMMEND:
        best = good[0]
        more = MIN_VIDEOS_TO_RECOMMEND - videos
        return Decision(Verdict.UNDETERMINED, (
            f"Undetermined: {best.get('label')} is cheaper and within the tolerance on {videos} video(s), but an "
            f"interval from fewer than {MIN_VIDEOS_TO_RECOMMEND} videos says little; tune on at least "
            f"{MIN_VIDEOS_TO_RECOMMEND} ({more} more)." + loses), None, tol, True, MIN_VIDEOS_TO_RECOMMEND, more,
            current_loses)
    if good:
        best = good[0]
        saving = 1 - float(_cost(best) or 0.0) / cur_cost if cur_cost > 0 else None
        high = (best.get("cascade_passes") or {}).get("usd_per_video_high")
        if isinstance(high, int | float) and high >= cur_cost:
            loses += (" Its cost depends on how many first answers are sent again: at the top of that share's "
                      f"interval ({(best.get('cascade_passes') or {}).get('escalation_share_high', 0):.0%}) it "
                      "would cost as much as the current settings or more.")
        return Decision(Verdict.RECOMMEND, (
            f"Recommended: {best.get('label')}, "
            + (f"{saving:.0%} cheaper than the current settings, " if saving is not None else "")
            + f"losing at most {max(0.0, -float(best['ci_low'])):.3f} against the ceiling (tolerance {tol:.3f})."
            + loses), best.get("id"), tol, True, current_loses=current_loses)
    open_ = [c for c in cheaper if c.get("ci_high") is not None and c["ci_high"] >= -tol]
    if open_:
        best = open_[0]
        need = videos_needed(float(best.get("sd") or 0.0), abs(float(best["diff"]) + tol))
        more = None if need is None else max(1, need - videos)
        if need is None or need > NEEDED_AT_MOST * max(1, videos):
            how = ("its loss sits almost exactly at the tolerance, so no practical number of videos would decide it; "
                   "choose a tolerance, or keep the current settings")
        else:
            how = f"about {more} more video(s) ({need} in all) would decide it, from the spread seen so far"
        return Decision(Verdict.UNDETERMINED, (
            f"Undetermined: {best.get('label')} is cheaper, but its interval ({best['ci_low']:.3f} to "
            f"{best['ci_high']:.3f}) straddles the tolerance of {-tol:.3f}; {how}." + loses),
            None, tol, True, need, more, current_loses)
    return Decision(Verdict.KEEP, (
        "Keep the current settings: every cheaper configuration loses more than the tolerance "
        f"({tol:.3f}) against the ceiling." + loses), None, tol, True, current_loses=current_loses)
