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
from gaia.pricing.models import usage_cost
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile
from gaia.quality.ladder import (
    PricedConfig,
    Role,
    SchemaProfile,
    TuneConfig,
    control_config,
    current_config,
    default_ladder,
    price_ladder,
    profile_for,
)
from gaia.quality.runner import ApiTuneRunner, TuneAnswers, TuneRunner
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
from gaia.settings import RunSettings

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
                "fields": [f.to_dict() for f in self.card.fields] if self.card else []}


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

    @property
    def spent_usd(self) -> float:
        """What the whole tune cost."""
        return sum(r.spent_usd for r in self.results)

    @property
    def ran(self) -> int:
        """Configurations that were sent."""
        return sum(1 for r in self.results if r.output is not None)

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


def _fixed_rungs(ladder: list[TuneConfig], base: RunSettings) -> list[tuple[TuneConfig, Role]]:
    """The ladder with its roles: the reference, its replicate, the current settings, the negative control,
    then the other candidates (each once)."""
    ref = ladder[0]
    cur, ctrl = current_config(base), control_config(base)
    rungs = [(ref, Role.REFERENCE), (replace(ref, replicate=1), Role.REPLICATE), (cur, Role.CURRENT),
             (ctrl, Role.CONTROL)]
    ids = {c.id for c, _ in rungs}
    for c in ladder[1:]:
        if c.id not in ids:
            rungs.append((c, Role.CANDIDATE))
            ids.add(c.id)
    return rungs


def _send_all(priced: list[PricedConfig], roles: list[Role], runner: TuneRunner, budget: float | None,
              on_progress: Progress | None) -> list[tuple[PricedConfig, TuneAnswers | None, str | None]]:
    """The fixed rungs first (reference, replicate, current, control), then the others cheapest first,
    each only while the budget allows; results in the ladder's order."""
    fixed = [i for i, r in enumerate(roles) if r is not Role.CANDIDATE]
    rest = sorted((i for i, r in enumerate(roles) if r is Role.CANDIDATE),
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
    if on_progress:
        on_progress(len(order), len(order))
    return [out[i] for i in range(len(priced))]


def as_run_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """One tune answer's usage as a run of the folder would be billed for it: the cached prefix read from
    the cache (a run writes it once for all its videos), whichever configuration happened to write it."""
    written = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    return {"input_tokens": int(usage.get("input_tokens") or 0), "output_tokens": int(usage.get("output_tokens") or 0),
            "cache_read_input_tokens": read + written, "cache_creation_input_tokens": 0}


def measured_usd_per_video(output: TuneAnswers | None, model: str) -> float | None:
    """The mean cost per answered video of a configuration's measured usage, priced as a run is sent
    (Batch API with caching, ``as_run_usage``); ``None`` when nothing was measured."""
    if output is None:
        return None
    costs = [float(usage_cost(as_run_usage(u), model, batch=True).total_usd) for rel, u in output.usage.items()
             if isinstance(u, Mapping) and output.answers.get(rel) is not None]
    return sum(costs) / len(costs) if costs else None


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


def _score(sent: list[tuple[PricedConfig, TuneAnswers | None, str | None]], roles: list[Role],
           reference: dict[str, Any], schema: Mapping[str, Any], *, tolerance_s: float, level: float,
           kind: str) -> tuple[list[ConfigResult], float | None, tuple[str, ...]]:
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
    for (p, out, skipped), role, card in zip(sent, roles, cards, strict=True):
        per_video: dict[str, float] = {}
        if card and ceiling_card:
            if role in (Role.REPLICATE,) or (role is Role.REFERENCE and kind != "labels"):
                per_video = {rel: 0.0 for rel, v in ceiling_card.per_video.items() if v is not None}  # by definition
            else:
                per_video = {rel: float(v) - float(c) for rel, v in card.per_video.items()
                             if v is not None and (c := ceiling_card.per_video.get(rel)) is not None}
        results.append(ConfigResult(p, out, card, skipped, role, per_video,
                                    measured_usd_per_video(out, p.config.model), level))
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
    and the negative control are always added. ``tolerance`` is a share of the distance from the
    negative control to the ceiling; ``level`` the intervals' confidence. ``simulated`` marks the
    scores as coming from a stand-in API (default: the client talks to a local address).
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
    rungs = _fixed_rungs(list(configs) if configs else default_ladder(base, models), base)
    roles = [r for _, r in rungs]
    simulated = _simulated(client) if simulated is None else simulated

    def result(priced: list[PricedConfig], blocked: str | None, **kw: Any) -> TuneResult:
        planned = sum(p.tune_usd or 0.0 for p in priced)
        plain = tuple(ConfigResult(p, None, None, role=r, level=level) for p, r in zip(priced, roles, strict=False))
        return TuneResult(f.path, sample, profile, kw.get("results", plain), kw.get("reference"),
                          kw.get("kind", "configuration"), tolerance, budget_usd, planned, blocked,
                          kw.get("texts", ()), kw.get("decision"), kw.get("ceiling"), kw.get("excluded", ()),
                          kw.get("verified_videos", 0), kw.get("verified_fields", ()), simulated, level)

    if not chosen:
        return result([], "; ".join(sample.problems) or "The folder has no usable video to tune on.")
    priced = price_ladder(f.path, [c for c, _ in rungs], base, profile, chosen, on_progress=on_pricing)
    fixed_cost = [p.tune_usd for p, r in zip(priced, roles, strict=True) if r is not Role.CANDIDATE]
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
    sent = _send_all(priced, roles, runner, budget_usd, on_progress)
    reference, kind, n_verified, verified = _reference_answers(sent[0][1], sample, labels, profile.schema)
    results, ceiling, excluded = _score(sent, roles, reference, profile.schema, tolerance_s=tolerance_s,
                                        level=level, kind=kind)
    dicts = [r.to_dict() for r in results]
    cur = next(r for r in results if r.role is Role.CURRENT)
    ctrl = next(r for r in results if r.role is Role.CONTROL)
    decision = decide(dicts, current=cur.config.id, control=ctrl.config.id, ceiling=ceiling, tolerance=tolerance,
                      videos=len(sample.rel_paths))
    rec = next((r for r in results if r.config.id == decision.recommended), None)
    texts = tuple(side_by_side(profile.schema, reference, rec.output.answers)) if rec and rec.output else ()
    tuned = result(priced, None if reference else "The reference configuration gave no answer to score against.",
                   results=tuple(results), reference=results[0], kind=kind, texts=texts, decision=decision,
                   ceiling=ceiling, excluded=excluded, verified_videos=n_verified, verified_fields=verified)
    save_quality(f, tuned)
    return tuned


# --- storage, reading back, adopting ------------------------------------------------------------------

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
                    c.get("max_edge") == settings.keyframes.max_edge and c.get("prompt_hash") == hash_now:
                return {**c, "reference_score": (data.get("reference") or {}).get("score"),
                        "ceiling": data.get("ceiling"), "simulated": bool(data.get("simulated"))}
    return None


def adopt_config(folder: Folder | Path | str, config: TuneConfig | Mapping[str, Any]) -> RunSettings:
    """Make ``config`` the folder's run settings (a compact schema is saved as a prompt profile first),
    so ``gaia estimate`` and ``gaia submit`` use it; returns the saved settings."""
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
    f.save_settings(settings)
    return settings
