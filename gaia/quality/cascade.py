"""A cascade as one configuration of the tune: its first pass's answers, the strong one's where the first is uncertain.

A cascade (``gaia run --cascade CHEAP_MODEL:PRESET``) sends every video with a cheap configuration,
then only the videos whose first answer is uncertain again with the folder's settings. In a tune
both passes are rows of their own, sent like any other configuration (``ApiTuneRunner``: run now's
engine, one spend guard): the first pass is a candidate, the strong one is the current settings.
``compose`` makes the cascade out of those two rows' answers, video by video, with the very rule
``gaia run --cascade`` escalates by (``gaia.runs.escalation.uncertain``, read from the schema): the first
answer where it is sure, the strong configuration's where it is not. Nothing is sent for the cascade
itself, so nothing is paid twice; its measured cost per video is both passes' measured bills: the first
pass's usage on every video plus the strong pass's usage on the escalated ones, priced as every row
of the tune is (``gaia.quality.runner.run_usd``). The escalation share carries its Wilson interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gaia.pricing.levers import wilson
from gaia.quality.ladder import PricedConfig, TuneConfig
from gaia.quality.runner import TuneAnswers, run_usd
from gaia.runs.escalation import uncertain


@dataclass(frozen=True)
class CascadePasses:
    """How a cascade went on the sample: its two passes, which videos were escalated and why, and what
    both passes' measured usage costs per video."""

    first_id: str
    second_id: str
    escalated: dict[str, str] = field(default_factory=dict)  # relative path → why its first answer was uncertain
    videos: int = 0  # videos with a first answer (or escalated for lack of one)
    first_usd_per_video: float | None = None  # the first pass, every video
    second_usd_per_video: float | None = None  # the strong pass on the escalated videos, spread over all videos
    strong_usd_per_video: float | None = None  # the strong configuration's bill per video, had every video gone

    @property
    def usd_per_video(self) -> float | None:
        """Both passes' measured bills per video."""
        if self.first_usd_per_video is None:
            return None
        return self.first_usd_per_video + (self.second_usd_per_video or 0.0)

    @property
    def usd_per_video_high(self) -> float | None:
        """Both passes per video were the share sent again at the top of its 95% interval (the strong
        configuration's measured bill per video times that share): what the cascade may cost on the folder."""
        if self.first_usd_per_video is None:
            return None
        strong = self.strong_usd_per_video or 0.0
        return self.first_usd_per_video + wilson(len(self.escalated), self.videos)[1] * strong

    @property
    def share(self) -> float | None:
        """The share of videos escalated (``None`` with no video)."""
        return len(self.escalated) / self.videos if self.videos else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the escalation share with its 95% Wilson interval)."""
        lo, hi = wilson(len(self.escalated), self.videos)
        return {"first_pass": self.first_id, "second_pass": self.second_id, "videos": self.videos,
                "escalated": [{"rel_path": k, "reason": v} for k, v in self.escalated.items()],
                "escalation_share": self.share, "escalation_share_low": lo, "escalation_share_high": hi,
                "first_usd_per_video": self.first_usd_per_video, "second_usd_per_video": self.second_usd_per_video,
                "strong_usd_per_video": self.strong_usd_per_video, "usd_per_video_high": self.usd_per_video_high}


def compose(cascade: PricedConfig, first: PricedConfig, first_out: TuneAnswers, second: PricedConfig,
            second_out: TuneAnswers, schema: Mapping[str, Any]) -> tuple[PricedConfig, TuneAnswers, CascadePasses]:
    """The cascade's answers on the sample out of its two passes' rows, and what both passes cost.

    Returns the cascade with, per video, the keyframes of the pass whose answer it keeps (moments are
    matched against the frames that answer saw), its answers (``spent_usd`` 0: both passes are billed
    in their own rows) and the passes' record.
    """
    answers: dict[str, dict[str, Any] | None] = {}
    escalated: dict[str, str] = {}
    first_costs: dict[str, float] = {}
    second_costs: dict[str, float] = {}
    for rel, answer in first_out.answers.items():
        if isinstance(u := first_out.usage.get(rel), Mapping):
            first_costs[rel] = run_usd(u, first.config.model)
        why = uncertain(answer, schema)
        if why is None:
            answers[rel] = answer
            continue
        escalated[rel] = why
        answers[rel] = second_out.answers.get(rel)
        if isinstance(u := second_out.usage.get(rel), Mapping):
            second_costs[rel] = run_usd(u, second.config.model)
    strong_all = [run_usd(u, second.config.model) for u in second_out.usage.values() if isinstance(u, Mapping)]
    billed = [rel for rel in answers if rel in first_costs or rel in second_costs]
    n = len(billed)
    first_usd = sum(first_costs.get(rel, 0.0) for rel in billed) / n if n else None
    second_usd = sum(second_costs.get(rel, 0.0) for rel in billed) / n if n else None
    sets = {k.rel_path: k for k in first.keyframe_sets}
    sets.update({k.rel_path: k for k in second.keyframe_sets if k.rel_path in escalated})
    passes = CascadePasses(first.config.id, second.config.id, escalated, len(answers), first_usd, second_usd,
                           sum(strong_all) / len(strong_all) if strong_all else None)
    problems = (*first_out.problems, *(p for p in second_out.problems if p.partition(": ")[0] in escalated))
    out = TuneAnswers(answers, 0.0, problems, usage={})
    return replace(cascade, keyframe_sets=tuple(sets.values())), out, passes


def price_cascade(config: TuneConfig, first: PricedConfig, second: PricedConfig, share: float) -> PricedConfig:
    """A cascade priced before sending from its passes' prices: the first pass on every video and the strong
    one on the ``share`` assumed (or learnt) to be escalated. Sending it costs nothing of its own: its answers
    are the two passes' rows."""
    per_video = (None if first.usd_per_video is None or second.usd_per_video is None
                 else first.usd_per_video + share * second.usd_per_video)
    return PricedConfig(config, second.profile, per_video, 0.0, first.videos, first.frames, first.image_tokens,
                        first.keyframe_sets, first.problems)
