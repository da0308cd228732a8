"""The tune: a ladder run on a sample under a spend cap, measured against a ceiling and controls, and a verdict.

``run_tune`` picks the sample (``gaia.quality.sample``), builds and prices the ladder
(``gaia.quality.ladder``) and adds the rungs every tune has: the reference asked a second time (the
*replicate*), the folder's current settings (*current*) and a *negative control* (content-free
frames). It checks the fixed rungs against the budget before sending anything, then sends them and
the other configurations, cheapest first, through a ``TuneRunner`` (by default ``ApiTuneRunner``:
run now's engine, answers under ``.gaia/tune/``, never in the sidecars), skipping what would pass
what is left of the budget.

Scoring (``gaia.quality.scoring``) is against the reference's answers, with the user's verified
labels (``labels``) in place of the fields people checked. Fields on which the reference and its
replicate give one same value on every video carry no information and are left out (listed);
categorical fields score Cohen's kappa; moments match the reference's by time, within half the gap
between a configuration's own frames where that is wider than ``tolerance_s``. The *ceiling* is the
replicate's score: what two answers to the same frames agree on. Each configuration is judged by
its per-video score minus the replicate's on the same video (the paired difference), with a
bootstrap interval, and
``gaia.quality.verdict`` turns those into ``recommend`` / ``keep`` / ``undetermined``.

Cost is measured: each configuration's answers' usage priced at the transport the run will use
(Batch API with caching, ``gaia.pricing.models.usage_cost``), falling back to the estimate before
sending only where nothing was measured. Results are stored per prompt profile in
``.gaia/quality/<profile-hash>.json``; ``stored_quality`` and ``quality_for`` read them back for the
Estimate page, and ``adopt_config`` makes a configuration the folder's run settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from ipaddress import ip_address
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.scan import scan_folder
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile
from gaia.quality.cascade import CascadePasses, compose, price_cascade
from gaia.quality.ladder import (
    PricedConfig,
    Role,
    SchemaProfile,
    TuneConfig,
    control_config,
    current_config,
    default_cascades,
    default_ladder,
    price_ladder,
    profile_for,
)
from gaia.quality.runner import ApiTuneRunner, TuneAnswers, TuneRunner, measured_usd_per_video
from gaia.quality.sample import DEFAULT_SAMPLE, Sample, pick_sample
from gaia.quality.scoring import (
    DEFAULT_TOLERANCE_S,
    ScoreCard,
    constant_fields,
    field_value,
    fields_of,
    is_unknown,
    score_answers,
    side_by_side,
)
from gaia.quality.stats import DEFAULT_LEVEL
from gaia.quality.verdict import TOLERANCE_SENTENCE, Decision, Verdict, decide, interval
from gaia.runs.guard import cap_problem
from gaia.runs.levers import escalation_share, measure_misses
from gaia.settings import RunSettings, parse_cascade

QUALITY_DIR = "quality"
# The tolerance: a share of the distance from the negative control to the ceiling (see gaia.quality.verdict).
DEFAULT_TOLERANCE = 0.10
TUNE_PRICES = "Batch API prices with prompt caching (how a run is sent), from GAIA's price data file"
Progress = Callable[[int, int], None]
# A user's verified labels for a video: a (partial) answer holding only the fields a person checked.
Labels = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class ConfigResult:
    """One configuration after the tune: its price, its role, what it cost, its scores and its
    paired difference to the ceiling."""

    priced: PricedConfig
    output: TuneAnswers | None
    card: ScoreCard | None
    skipped: str | None = None
    role: Role = Role.CANDIDATE
    per_video_diff: dict[str, float] = field(default_factory=dict)
    measured_usd_per_video: float | None = None
    level: float = DEFAULT_LEVEL
    cascade: CascadePasses | None = None  # a cascade's two passes on the sample (``gaia.quality.cascade``)

    @property
    def config(self) -> TuneConfig:
        """The configuration."""
        return self.priced.config

    @property
    def score(self) -> float | None:
        """The overall score against the reference (``None`` when not run)."""
        return self.card.score if self.card else None

    @property
    def usd_per_video(self) -> float | None:
        """The price per video of a run of the folder with these settings: measured when answered, else estimated."""
        return self.measured_usd_per_video if self.measured_usd_per_video is not None else self.priced.usd_per_video

    @property
    def spent_usd(self) -> float:
        """What sending it on the sample cost."""
        return self.output.spent_usd if self.output else 0.0

    @property
    def interval(self) -> Any:
        """The paired difference to the ceiling with its bootstrap interval (``gaia.quality.verdict.Interval``)."""
        return interval(self.per_video_diff, level=self.level, seed=self.config.id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: settings, role, prices, score, the difference to the ceiling, per-field scores."""
        iv = self.interval
        return {**self.priced.to_dict(), "role": self.role.value, "usd_per_video": self.usd_per_video,
                "measured_usd_per_video": self.measured_usd_per_video, "score": self.score,
                "diff": iv.diff, "ci_low": iv.low, "ci_high": iv.high, "sd": iv.sd,
                "per_video_diff": dict(self.per_video_diff),
                "spent_usd": self.spent_usd, "skipped": self.skipped,
                "answered": self.card.answered if self.card else 0,
                "reused": self.output.reused if self.output else 0,
                "run_problems": list(self.output.problems) if self.output else [],
                "fields": [f.to_dict() for f in self.card.fields] if self.card else [],
                "cascade_passes": self.cascade.to_dict() if self.cascade else None}


@dataclass(frozen=True)
class TuneResult:
    """A whole tune: the sample, every configuration, the ceiling, the controls, the verdict, the spend."""

    folder: Path
    sample: Sample
    profile: PromptProfile
    results: tuple[ConfigResult, ...]
    reference: ConfigResult | None
    reference_kind: str  # "configuration" or "labels"
    tolerance: float
    budget_usd: float | None
    planned_usd: float
    blocked: str | None = None
    texts: tuple[dict[str, Any], ...] = ()
    decision: Decision | None = None
    ceiling: float | None = None
    excluded_fields: tuple[str, ...] = ()
    verified_videos: int = 0
    verified_fields: tuple[str, ...] = ()
    simulated: bool = False
    level: float = DEFAULT_LEVEL
    misses: dict[str, Any] | None = None  # the likely-empty sample (``measure_misses_for``), when one was asked for

    @property
    def spent_usd(self) -> float:
        """What the whole tune cost (the likely-empty sample included)."""
        return sum(r.spent_usd for r in self.results) + float((self.misses or {}).get("spent_usd") or 0.0)

    @property
    def ran(self) -> int:
        """Configurations that were sent (a cascade is made of its passes' rows, never sent itself)."""
        return sum(1 for r in self.results if r.output is not None and r.cascade is None)

    def _with_role(self, role: Role) -> ConfigResult | None:
        return next((r for r in self.results if r.role is role), None)

    @property
    def current(self) -> ConfigResult | None:
        """The folder's current settings."""
        return self._with_role(Role.CURRENT)

    @property
    def negative_control(self) -> ConfigResult | None:
        """The negative control (content-free frames)."""
        return self._with_role(Role.CONTROL)

    @property
    def verdict(self) -> Verdict | None:
        """``recommend``, ``keep`` or ``undetermined`` (``None`` before anything was sent)."""
        return self.decision.verdict if self.decision else None

    @property
    def recommended(self) -> ConfigResult | None:
        """The recommended configuration: only when the verdict is ``recommend``."""
        if self.decision is None or self.decision.verdict is not Verdict.RECOMMEND:
            return None
        return next((r for r in self.results if r.config.id == self.decision.recommended), None)

    def tolerance_sentence(self) -> str | None:
        """The tolerance explained in one sentence (``None`` when the scorer could not discriminate)."""
        d = self.decision
        if d is None or d.tolerance_abs is None:
            return None
        return TOLERANCE_SENTENCE.format(share=self.tolerance, abs=d.tolerance_abs)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` and the stored file: configs, reference, recommended, spent_usd, and the verdict,
        current, negative_control, ceiling (``adopted`` is the CLI's to fill)."""
        ref, rec, cur, ctrl = self.reference, self.recommended, self.current, self.negative_control
        return {
            "folder": str(self.folder), "prompt_profile": self.profile.name, "prompt_hash": self.profile.hash,
            "sample": self.sample.to_dict(), "tolerance": self.tolerance, "level": self.level,
            "budget_usd": self.budget_usd, "planned_usd": self.planned_usd, "spent_usd": self.spent_usd,
            "blocked": self.blocked, "simulated": self.simulated, "prices": TUNE_PRICES,
            "configs": [r.to_dict() for r in self.results],
            "reference": None if ref is None else {"kind": self.reference_kind, "id": ref.config.id,
                                                    "score": ref.score, "usd_per_video": ref.usd_per_video},
            "verdict": self.verdict.value if self.verdict else None,
            **({k: v for k, v in self.decision.to_dict().items() if k != "verdict"} if self.decision else {}),
            "tolerance_text": self.tolerance_sentence(),
            "current": cur.config.id if cur else None,
            "negative_control": ctrl.config.id if ctrl else None,
            "ceiling": self.ceiling,
            "excluded_fields": list(self.excluded_fields),
            "human_verified": {"videos": self.verified_videos, "fields": list(self.verified_fields)},
            "recommended": None if rec is None else {
                **rec.config.to_dict(), "score": rec.score, "usd_per_video": rec.usd_per_video,
                "diff": rec.interval.diff, "ci_low": rec.interval.low, "ci_high": rec.interval.high,
                "prompt_profile": rec.priced.profile.name},
            "adopted": None,
            "misses": self.misses,
            "texts": list(self.texts),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def decide_stored(data: Mapping[str, Any], tolerance: float) -> Decision:
    """The verdict of a stored tune (``stored_quality``) at another ``tolerance``: the same rule, on its dicts."""
    configs = [c for c in data.get("configs") or [] if isinstance(c, dict)]
    return decide(configs, current=data.get("current"), control=data.get("negative_control"),
                  ceiling=data.get("ceiling"), tolerance=tolerance,
                  videos=len((data.get("sample") or {}).get("rel_paths") or []))


def recommend_stored(data: Mapping[str, Any], tolerance: float) -> dict[str, Any] | None:
    """The configuration a stored tune recommends at ``tolerance`` (``None`` unless the verdict is ``recommend``)."""
    d = decide_stored(data, tolerance)
    if d.verdict is not Verdict.RECOMMEND:
        return None
    return next((c for c in data.get("configs") or [] if isinstance(c, dict) and c.get("id") == d.recommended), None)


def _base_profile(folder: Folder, base: RunSettings) -> PromptProfile:
    try:
        return folder.profile(base.prompt_profile)
    except ProfileNotFound:
        return default_profile()


def _merge(answer: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> dict[str, Any]:
    """``answer`` with every field ``labels`` holds replaced by the label (objects merged key by key)."""
    out = dict(answer or {})
    for k, v in labels.items():
        out[k] = _merge(out.get(k) if isinstance(out.get(k), Mapping) else None, v) if isinstance(v, Mapping) else v
    return out


def _reference_answers(ref: TuneAnswers | None, sample: Sample, labels: Labels | None, schema: Mapping[str, Any]
                       ) -> tuple[dict[str, Any], str, int, tuple[str, ...]]:
    """The answers everything is scored against: the reference's, with the fields people verified in their
    place; the kind, and how many videos and which fields were human-verified."""
    answers = {rel: a for rel, a in (ref.answers if ref else {}).items() if isinstance(a, dict)}
    if labels is None:
        return answers, "configuration", 0, ()
    labelled = {rel: dict(lab) for rel in sample.rel_paths if (lab := labels(rel))}
    if not labelled:
        return answers, "configuration", 0, ()
    specs = [s for s in fields_of(schema)]
    verified = tuple(s.path for s in specs if any(not is_unknown(field_value(lab, s)) for lab in labelled.values()))
    merged = {**answers, **{rel: _merge(answers.get(rel), lab) for rel, lab in labelled.items()}}
    return merged, "labels", len(labelled), verified


def _fixed_rungs(ladder: list[TuneConfig], base: RunSettings, cascades: Sequence[str] = ()
                 ) -> list[tuple[TuneConfig, Role]]:
    """The ladder with its roles: the reference, its replicate, the current settings, the negative control,
    then the other candidates (each once), then each cascade's first pass and the cascade (the current
    settings for its uncertain answers, as ``gaia run --cascade`` sends them). A folder whose settings
    name a cascade runs that cascade: it is the current rung, and its two passes come right after."""
    ref = ladder[0]
    single, ctrl = current_config(base), control_config(base)
    cur = replace(single, cascade=base.cascade or None)
    rungs = [(ref, Role.REFERENCE), (replace(ref, replicate=1), Role.REPLICATE), (cur, Role.CURRENT),
             (ctrl, Role.CONTROL)]
    ids = {c.id for c, _ in rungs}
    own = [single, cur.first_pass(base)] if cur.cascade else []
    for c in [*own, *ladder[1:]]:
        if c is not None and c.id not in ids:
            rungs.append((c, Role.CANDIDATE))
            ids.add(c.id)
    for spec in cascades:
        cascade = replace(single, cascade=spec)
        first = cascade.first_pass(base)
        for one in (first, cascade):
            if one is not None and one.id not in ids:
                rungs.append((one, Role.CANDIDATE))
                ids.add(one.id)
    return rungs


def _fixed(roles: Sequence[Role], passes: Mapping[int, tuple[int, int]]) -> list[int]:
    """The rungs every tune sends, in order: the reference, its replicate, the current settings (a cascade's
    two passes when the folder runs one) and the negative control."""
    out: list[int] = []
    for i, r in enumerate(roles):
        if r is not Role.CANDIDATE:
            out += [j for j in passes.get(i, (i,)) if j not in out]
    return out


def _passes(configs: Sequence[TuneConfig], base: RunSettings) -> dict[int, tuple[int, int]]:
    """Each cascade's index → the indices of its first pass and of its strong configuration."""
    index = {c.id: i for i, c in enumerate(configs)}
    out = {}
    for i, c in enumerate(configs):
        first = c.first_pass(base)
        if first is not None:
            out[i] = (index[first.id], index[replace(c, cascade=None).id])
    return out


def _price(folder: Folder, configs: Sequence[TuneConfig], base: RunSettings, profile: PromptProfile,
           records: Sequence[Any], on_pricing: Progress | None) -> list[PricedConfig]:
    """Every configuration priced on the sample; a cascade from its passes' prices and the escalation share
    learnt from the folder's cascades, else assumed (``gaia.runs.levers.escalation_share``)."""
    passes = _passes(configs, base)
    singles = [c for i, c in enumerate(configs) if i not in passes]
    priced = dict(zip((c.id for c in singles),
                      price_ladder(folder.path, singles, base, profile, records, on_progress=on_pricing), strict=True))
    out = []
    for i, c in enumerate(configs):
        if i in passes:
            first, strong = configs[passes[i][0]], configs[passes[i][1]]
            share = escalation_share(folder, first.model, parse_cascade(c.cascade or "")[1]).point
            out.append(price_cascade(c, priced[first.id], priced[strong.id], share))
        else:
            out.append(priced[c.id])
    return out


Sent = tuple[PricedConfig, TuneAnswers | None, str | None]


def _send_all(priced: list[PricedConfig], roles: list[Role], runner: TuneRunner, budget: float | None,
              on_progress: Progress | None, passes: Mapping[int, tuple[int, int]] | None = None,
              schema: Mapping[str, Any] | None = None) -> tuple[list[Sent], dict[int, CascadePasses]]:
    """The fixed rungs first (reference, replicate, current, control), then the others cheapest first,
    each only while the budget allows; results in the ladder's order. A cascade is sent as its two passes'
    rows and made out of their answers (``gaia.quality.cascade.compose``), with its passes' record."""
    passes = passes or {}
    fixed = _fixed(roles, passes)
    rest = sorted((i for i, r in enumerate(roles) if i not in fixed and i not in passes),
                  key=lambda i: (priced[i].tune_usd is None, priced[i].tune_usd or 0.0, priced[i].config.id))
    out: dict[int, tuple[PricedConfig, TuneAnswers | None, str | None]] = {}
    spent = 0.0
    order = fixed + rest
    for n, i in enumerate(order):
        p = priced[i]
        if on_progress:
            on_progress(n, len(order))
        if not p.keyframe_sets:
            out[i] = (p, None, "No keyframes: " + "; ".join(p.problems[:3]))
            continue
        left = None if budget is None else max(0.0, budget - spent)
        if cap_problem(p.tune_usd, None if left is None else left + 1e-12) is not None:
            out[i] = (p, None, "Over what is left of the budget.")
            continue
        result = runner(p, max_cost_usd=left)
        spent += result.spent_usd
        out[i] = (p, result, None)
    records: dict[int, CascadePasses] = {}
    for i, (a, b) in passes.items():
        (first, first_out, _), (strong, strong_out, _) = out[a], out[b]
        if first_out is None or strong_out is None:
            missing = first.config.label() if first_out is None else strong.config.label()
            out[i] = (priced[i], None, f"Its pass {missing} was not sent.")
            continue
        composed, answers, record = compose(priced[i], first, first_out, strong, strong_out, schema or {})
        out[i] = (composed, answers, None)
        records[i] = record
    if on_progress:
        on_progress(len(order), len(order))
    return [out[i] for i in range(len(priced))], records


def _simulated(client: Any) -> bool:
    """Whether ``client`` talks to a local stand-in (the emulator) rather than the API."""
    try:
        host = urlparse(str(getattr(client, "base_url", "") or "")).hostname or ""
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


def moment_tolerance(priced: PricedConfig, tolerance_s: float) -> dict[str, float]:
    """How far a configuration's moment may be from the reference's and still match, per video: ``tolerance_s``,
    or half the gap between the configuration's own frames when that is wider (a moment can only be placed on a
    frame it was sent), so moments are matched by time, not by the reference's frame grid."""
    out = {}
    for k in priced.keyframe_sets:
        times = sorted(f.timestamp for f in k.frames)
        gaps = sorted(b - a for a, b in pairwise(times))
        half = gaps[len(gaps) // 2] / 2 if gaps else 0.0
        out[k.rel_path] = max(tolerance_s, half)
    return out


def _score(sent: list[Sent], roles: list[Role], reference: dict[str, Any], schema: Mapping[str, Any], *,
           tolerance_s: float, level: float, kind: str, cascades: Mapping[int, CascadePasses] | None = None
           ) -> tuple[list[ConfigResult], float | None, tuple[str, ...]]:
    """Score every configuration against ``reference``, leaving out the fields with no variance in the ceiling's
    answers; each one's per-video difference to the replicate's score (the ceiling)."""
    replicate = next((out for (_, out, _), r in zip(sent, roles, strict=True) if r is Role.REPLICATE), None)
    ceiling_answers = [*reference.values(), *((replicate.answers.values()) if replicate else [])]
    excluded = tuple(constant_fields(schema, ceiling_answers)) if reference else ()
    cards = [score_answers(schema, reference, out.answers, tolerance_s=moment_tolerance(p, tolerance_s),
                           exclude=excluded, chance_corrected=True) if out and reference else None
             for p, out, _ in sent]
    ceiling_card = next((c for c, r in zip(cards, roles, strict=True) if r is Role.REPLICATE), None)
    ceiling = ceiling_card.score if ceiling_card else None
    results = []
    cascades = cascades or {}
    for i, ((p, out, skipped), role, card) in enumerate(zip(sent, roles, cards, strict=True)):
        per_video: dict[str, float] = {}
        if card and ceiling_card:
            if role in (Role.REPLICATE,) or (role is Role.REFERENCE and kind != "labels"):
                per_video = {rel: 0.0 for rel, v in ceiling_card.per_video.items() if v is not None}  # by definition
            else:
                per_video = {rel: float(v) - float(c) for rel, v in card.per_video.items()
                             if v is not None and (c := ceiling_card.per_video.get(rel)) is not None}
        passes = cascades.get(i)
        measured = passes.usd_per_video if passes else measured_usd_per_video(out, p.config.model)
        results.append(ConfigResult(p, out, card, skipped, role, per_video, measured, level, passes))
    return results, ceiling, excluded


def run_tune(
    folder: Folder | Path | str,
    *,
    runner: TuneRunner | None = None,
    client: Any | None = None,
    n: int = DEFAULT_SAMPLE,
    videos: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    configs: Sequence[TuneConfig] | None = None,
    cascades: Sequence[str] | None = None,
    empty_sample: int = 0,
    budget_usd: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    labels: Labels | None = None,
    level: float = DEFAULT_LEVEL,
    simulated: bool | None = None,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    on_pricing: Progress | None = None,
) -> TuneResult:
    """Tune ``folder``: price a ladder on a sample, send it under ``budget_usd``, measure it against the
    ceiling and the controls, decide, store.

    ``runner`` sends a configuration (default ``ApiTuneRunner`` with ``client``). ``videos`` names the
    sample instead of picking ``n``. ``models`` builds the default ladder on those models;
    ``configs`` replaces the ladder (the first is the reference); the replicate, the current settings
    and the negative control are always added. ``cascades`` (``CHEAP_MODEL:PRESET`` each) adds each
    cascade as one configuration, with its first pass as a row of its own (default: the default ladder's
    one cascade, ``default_cascades``; none with ``configs``). ``empty_sample`` sends that many of
    the likely-empty clips (``gaia.runs.levers.measure_misses``, an ordinary run of those clips) with
    what is left of the budget and reports how many had a subject (``misses``). ``tolerance`` is a share
    of the distance from the negative control to the ceiling; ``level`` the intervals' confidence.
    ``simulated`` marks the scores as coming from a stand-in API (default: the client talks to a local
    address).
    ``on_pricing`` and ``on_progress`` report ``(done, total)`` while pricing and while sending.
    Blocked (nothing sent) when the fixed rungs alone are over the budget or there is no usable
    video; with ``dry_run`` only the priced ladder is returned. The result is stored unless nothing was sent.
    """
    f = Folder.of(folder)
    base = f.settings()
    profile = _base_profile(f, base)
    records = [r for r in scan_folder(f.path).records if not f.selection().video_excluded(r.rel_path)]
    sample = pick_sample(records, n, chosen=videos)
    chosen = [r for r in records if r.rel_path in set(sample.rel_paths)]
    if cascades is None:
        cascades = () if configs else default_cascades(base)
    rungs = _fixed_rungs(list(configs) if configs else default_ladder(base, models), base, cascades)
    roles = [r for _, r in rungs]
    passes = _passes([c for c, _ in rungs], base)
    simulated = _simulated(client) if simulated is None else simulated

    def result(priced: list[PricedConfig], blocked: str | None, **kw: Any) -> TuneResult:
        planned = sum(p.tune_usd or 0.0 for p in priced)
        plain = tuple(ConfigResult(p, None, None, role=r, level=level) for p, r in zip(priced, roles, strict=False))
        return TuneResult(f.path, sample, profile, kw.get("results", plain), kw.get("reference"),
                          kw.get("kind", "configuration"), tolerance, budget_usd, planned, blocked,
                          kw.get("texts", ()), kw.get("decision"), kw.get("ceiling"), kw.get("excluded", ()),
                          kw.get("verified_videos", 0), kw.get("verified_fields", ()), simulated, level,
                          kw.get("misses"))

    if not chosen:
        return result([], "; ".join(sample.problems) or "The folder has no usable video to tune on.")
    priced = _price(f, [c for c, _ in rungs], base, profile, chosen, on_pricing)
    fixed_cost = [priced[i].tune_usd for i in _fixed(roles, passes)]
    if dry_run:
        return result(priced, None)
    why = cap_problem(None if None in fixed_cost else sum(c or 0.0 for c in fixed_cost), budget_usd, digits=4,
                      cap="the budget",
                      what="The reference (asked twice), the current settings and the negative control alone would "
                           "cost about {usd} on the sample, which")
    if why is not None:
        return result(priced, why)
    if runner is None:
        if client is None:
            return result(priced, "No API client to send the tune with.")
        runner = ApiTuneRunner(f, client, base=base)
    sent, cascaded = _send_all(priced, roles, runner, budget_usd, on_progress, passes, profile.schema)
    reference, kind, n_verified, verified = _reference_answers(sent[0][1], sample, labels, profile.schema)
    results, ceiling, excluded = _score(sent, roles, reference, profile.schema, tolerance_s=tolerance_s,
                                        level=level, kind=kind, cascades=cascaded)
    dicts = [r.to_dict() for r in results]
    cur = next(r for r in results if r.role is Role.CURRENT)
    ctrl = next(r for r in results if r.role is Role.CONTROL)
    decision = decide(dicts, current=cur.config.id, control=ctrl.config.id, ceiling=ceiling, tolerance=tolerance,
                      videos=len(sample.rel_paths))
    rec = next((r for r in results if r.config.id == decision.recommended), None)
    texts = tuple(side_by_side(profile.schema, reference, rec.output.answers)) if rec and rec.output else ()
    misses = None
    if empty_sample > 0:
        spent = sum(r.spent_usd for r in results)
        misses = measure_misses_for(f, client, empty_sample, base,
                                    None if budget_usd is None else max(0.0, budget_usd - spent))
    tuned = result(priced, None if reference else "The reference configuration gave no answer to score against.",
                   results=tuple(results), reference=results[0], kind=kind, texts=texts, decision=decision,
                   ceiling=ceiling, excluded=excluded, verified_videos=n_verified, verified_fields=verified,
                   misses=misses)
    save_quality(f, tuned)
    return tuned


def measure_misses_for(folder: Folder, client: Any | None, n: int, settings: RunSettings,
                       max_cost_usd: float | None, on_progress: Any = None) -> dict[str, Any]:
    """Send ``n`` of the likely-empty clips (``gaia.runs.levers.measure_misses``, the one home of the miss sample,
    also behind ``gaia empty-sample``) and say how many had a subject, with its Wilson interval.

    Unlike the tune's configurations this is an ordinary run of those clips with the folder's settings (their
    answers are the clips' results, so nothing is paid for twice), under ``max_cost_usd`` (what is left of the
    tune's budget). The miss rate is kept for the folder; the Estimate page shows it beside the saving.
    """
    out: dict[str, Any] = {"asked": n, "threshold": settings.empty_threshold, "sampled": 0, "spent_usd": 0.0,
                           "text": None, "problem": None}
    if client is None:
        return {**out, "problem": "No API client to send the likely-empty sample with."}
    miss, run = measure_misses(folder, client, sample=n, settings=settings, max_cost_usd=max_cost_usd,
                               on_progress=on_progress)
    problem = None
    if run is not None and run.blocked:
        problem = run.blocked
    elif run is None and not miss.sampled:
        problem = f"No clip is likely empty at the threshold {settings.empty_threshold:g}: nothing to sample."
    return {**out, **miss.to_dict(), "spent_usd": run.spent_usd if run else 0.0,
            "text": miss.describe() if miss.sampled else None, "problem": problem}


# --- storage, reading back, adopting ------------------------------------------------------------------

def quality_path(folder: Folder, prompt_hash: str) -> Path:
    """Where a tune of the profile ``prompt_hash`` is stored (``.gaia/quality/<hash>.json``)."""
    return folder.workdir / QUALITY_DIR / f"{prompt_hash}.json"


def save_quality(folder: Folder | Path | str, result: TuneResult) -> Path:
    """Store a tune's configurations, scores and recommendation under its prompt profile's hash."""
    f = Folder.of(folder)
    path = quality_path(f, result.profile.hash)
    atomic_write_json(path, result.to_dict())
    return path


def stored_quality(folder: Folder | Path | str, prompt_hash: str | None = None) -> dict[str, Any] | None:
    """The stored tune of the folder's current prompt profile (or of ``prompt_hash``), if any.

    A profile adopted from a tune (its compact schema, or the built-in ``compact`` profile, which is
    the default's compact) has no tune of its own: the tune that scored it is returned instead.
    """
    f = Folder.of(folder)
    if prompt_hash is None:
        prompt_hash = _base_profile(f, f.settings()).hash
    data = read_json(f.existing_workdir() / QUALITY_DIR / f"{prompt_hash}.json")
    if isinstance(data, dict):
        return data
    for path in _stores(f):
        data = read_json(path)
        if isinstance(data, dict) and any(isinstance(c, dict) and c.get("prompt_hash") == prompt_hash
                                          for c in data.get("configs") or []):
            return data
    return None


def _stores(folder: Folder) -> list[Path]:
    wd = folder.existing_workdir() / QUALITY_DIR
    return sorted(wd.glob("*.json")) if wd.is_dir() else []


def quality_for(folder: Folder | Path | str, settings: RunSettings | None = None) -> dict[str, Any] | None:
    """The stored score of the configuration matching ``settings`` (default: the folder's), for the
    Estimate page: the stored config dict (``score``, ``usd_per_video``, fields) or ``None``."""
    f = Folder.of(folder)
    settings = settings or f.settings()
    try:
        hash_now = f.profile(settings.prompt_profile).hash
    except ProfileNotFound:
        return None
    for path in _stores(f):
        data = read_json(path)
        for c in (data or {}).get("configs", []) if isinstance(data, dict) else []:
            if c.get("model") == settings.model and c.get("frames") == settings.keyframes.count and \
                    c.get("max_edge") == settings.keyframes.max_edge and c.get("prompt_hash") == hash_now and \
                    (c.get("cascade") or "") == settings.cascade:
                return {**c, "reference_score": (data.get("reference") or {}).get("score"),
                        "ceiling": data.get("ceiling"), "simulated": bool(data.get("simulated"))}
    return None


def adopt_config(folder: Folder | Path | str, config: TuneConfig | Mapping[str, Any]) -> RunSettings:
    """Make ``config`` the folder's run settings (a compact schema is saved as a prompt profile first),
    so ``gaia estimate`` and ``gaia submit`` use it; returns the saved settings. A cascade is saved as the
    settings' cascade entry with its strong configuration; a single configuration clears that entry."""
    f = Folder.of(folder)
    cfg = config if isinstance(config, TuneConfig) else TuneConfig.from_dict(dict(config))
    base = f.settings()
    profile = _base_profile(f, base)
    name = None
    if cfg.schema is SchemaProfile.COMPACT:
        compact = profile_for(cfg, profile)
        f.save_profile(compact)
        name = compact.hash
    settings = cfg.run_settings(base, name)
    settings = replace(settings, cascade=cfg.cascade or "")  # a single configuration adopted means one pass
    f.save_settings(settings)
    return settings
