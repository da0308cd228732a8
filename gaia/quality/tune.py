"""The tune: a ladder run on a sample under a spend cap, scored, stored, and one configuration recommended.

``run_tune`` picks the sample (``gaia.quality.sample``), builds and prices the ladder
(``gaia.quality.ladder``), checks the whole ladder against the budget before sending anything,
then sends the reference first and the others cheapest first through a ``TuneRunner`` (by default
``ApiTuneRunner``: the Messages API, answers under ``.gaia/tune/``, never in the sidecars), skipping a
configuration whose estimate would pass what is left of the budget. Each configuration's answers
are scored against the reference (``gaia.quality.scoring``): the reference configuration's
answers, or the user's verified labels where a ``labels`` function gives them.

The recommendation is the cheapest configuration (by measured cost per video, else the estimate)
whose score is within ``tolerance`` (absolute, on the 0–1 score) of the reference's. Results are
stored per prompt profile in ``.gaia/quality/<profile-hash>.json`` with every configuration's
settings, prompt hash, prices and scores; ``stored_quality`` and ``quality_for`` read them back for
the Estimate page, and ``adopt`` makes a configuration the folder's run settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.scan import scan_folder
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile
from gaia.quality.ladder import (
    PricedConfig,
    SchemaProfile,
    TuneConfig,
    default_ladder,
    price_ladder,
    profile_for,
)
from gaia.quality.runner import ApiTuneRunner, TuneAnswers, TuneRunner
from gaia.quality.sample import DEFAULT_SAMPLE, Sample, pick_sample
from gaia.quality.scoring import DEFAULT_TOLERANCE_S, ScoreCard, score_answers, side_by_side
from gaia.runs.guard import cap_problem
from gaia.settings import RunSettings

QUALITY_DIR = "quality"
DEFAULT_TOLERANCE = 0.10
Progress = Callable[[int, int], None]
# A user's verified labels for a video: a (partial) answer holding only the fields a person checked.
Labels = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class ConfigResult:
    """One configuration after the tune: its price before sending, what it cost, its scores."""

    priced: PricedConfig
    output: TuneAnswers | None
    card: ScoreCard | None
    skipped: str | None = None

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
        """The price per video of a run of the folder with these settings (estimated before sending)."""
        return self.priced.usd_per_video

    @property
    def spent_usd(self) -> float:
        """What sending it on the sample cost."""
        return self.output.spent_usd if self.output else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: settings, prices, score, per-field scores."""
        return {**self.priced.to_dict(), "usd_per_video": self.usd_per_video, "score": self.score,
                "spent_usd": self.spent_usd, "skipped": self.skipped,
                "answered": self.card.answered if self.card else 0,
                "reused": self.output.reused if self.output else 0,
                "run_problems": list(self.output.problems) if self.output else [],
                "fields": [f.to_dict() for f in self.card.fields] if self.card else []}


@dataclass(frozen=True)
class TuneResult:
    """A whole tune: the sample, every configuration, the reference, the recommendation, the spend."""

    folder: Path
    sample: Sample
    profile: PromptProfile
    results: tuple[ConfigResult, ...]
    reference: ConfigResult | None
    reference_kind: str  # "configuration" or "labels"
    recommended: ConfigResult | None
    tolerance: float
    budget_usd: float | None
    planned_usd: float
    blocked: str | None = None
    texts: tuple[dict[str, Any], ...] = ()

    @property
    def spent_usd(self) -> float:
        """What the whole tune cost."""
        return sum(r.spent_usd for r in self.results)

    @property
    def ran(self) -> int:
        """Configurations that were sent."""
        return sum(1 for r in self.results if r.output is not None)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` and the stored file: configs, reference, recommended, spent_usd."""
        ref = self.reference
        return {
            "folder": str(self.folder), "prompt_profile": self.profile.name, "prompt_hash": self.profile.hash,
            "sample": self.sample.to_dict(), "tolerance": self.tolerance, "budget_usd": self.budget_usd,
            "planned_usd": self.planned_usd, "spent_usd": self.spent_usd, "blocked": self.blocked,
            "configs": [r.to_dict() for r in self.results],
            "reference": None if ref is None else {"kind": self.reference_kind, "id": ref.config.id,
                                                    "score": ref.score, "usd_per_video": ref.usd_per_video},
            "recommended": None if self.recommended is None else {
                **self.recommended.config.to_dict(), "score": self.recommended.score,
                "usd_per_video": self.recommended.usd_per_video,
                "prompt_profile": self.recommended.priced.profile.name},
            "texts": list(self.texts),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def cheapest_within(candidates: Iterable[tuple[str, float | None, float | None]], reference_score: float | None,
                    tolerance: float) -> str | None:
    """The rule behind every recommendation: of ``(id, score, usd_per_video)`` candidates, the id of the
    cheapest scored one whose score is at least ``reference_score - tolerance`` (ties: higher score, id)."""
    if reference_score is None:
        return None
    floor = reference_score - tolerance
    good = [(usd, -score, cid) for cid, score, usd in candidates
            if score is not None and usd is not None and score >= floor - 1e-9]
    return min(good)[2] if good else None


def recommend(results: Sequence[ConfigResult], reference: ConfigResult | None, tolerance: float
              ) -> ConfigResult | None:
    """The cheapest scored configuration whose score is at least the reference's minus ``tolerance``."""
    if reference is None:
        return None
    best = cheapest_within(((r.config.id, r.score, r.usd_per_video) for r in results), reference.score, tolerance)
    return next((r for r in results if r.config.id == best), None)


def recommend_stored(data: Mapping[str, Any], tolerance: float) -> dict[str, Any] | None:
    """``recommend`` on a stored tune (``stored_quality``) at another ``tolerance``: the config dict or ``None``."""
    configs = [c for c in data.get("configs") or [] if isinstance(c, dict)]
    ref_score = (data.get("reference") or {}).get("score")
    best = cheapest_within(((str(c.get("id")), c.get("score"), c.get("usd_per_video")) for c in configs),
                           ref_score, tolerance)
    return next((c for c in configs if c.get("id") == best), None)


def _base_profile(folder: Folder, base: RunSettings) -> PromptProfile:
    try:
        return folder.profile(base.prompt_profile)
    except ProfileNotFound:
        return default_profile()


def _reference_answers(ref: ConfigResult | None, sample: Sample, labels: Labels | None
                       ) -> tuple[dict[str, Any], str]:
    if labels is not None:
        labelled = {rel: dict(lab) for rel in sample.rel_paths if (lab := labels(rel))}
        if labelled:
            return labelled, "labels"
    answers = ref.output.answers if ref and ref.output else {}
    return {rel: a for rel, a in answers.items() if isinstance(a, dict)}, "configuration"


def _send_all(priced: list[PricedConfig], runner: TuneRunner, budget: float | None,
              on_progress: Progress | None) -> list[tuple[PricedConfig, TuneAnswers | None, str | None]]:
    """The reference first, then the others cheapest first, each only while the budget allows."""
    order = [priced[0], *sorted(priced[1:], key=lambda p: (p.tune_usd is None, p.tune_usd or 0.0, p.config.id))]
    out: list[tuple[PricedConfig, TuneAnswers | None, str | None]] = []
    spent = 0.0
    for i, p in enumerate(order):
        if on_progress:
            on_progress(i, len(order))
        if not p.keyframe_sets:
            out.append((p, None, "No keyframes: " + "; ".join(p.problems[:3])))
            continue
        left = None if budget is None else budget - spent
        if left is not None and (p.tune_usd is None or p.tune_usd > left + 1e-12):
            out.append((p, None, "Over what is left of the budget."))
            continue
        result = runner(p, max_cost_usd=left)
        spent += result.spent_usd
        out.append((p, result, None))
    if on_progress:
        on_progress(len(order), len(order))
    return out


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
    dry_run: bool = False,
    on_progress: Progress | None = None,
) -> TuneResult:
    """Tune ``folder``: price a ladder on a sample, send it under ``budget_usd``, score, recommend, store.

    ``runner`` sends a configuration (default ``ApiTuneRunner`` with ``client``). ``videos`` names the
    sample instead of picking ``n``. ``models`` builds the default ladder on those models;
    ``configs`` replaces the ladder (the first is the reference). Blocked (nothing sent) when
    the reference alone is over the budget or there is no usable video; with ``dry_run`` only
    the priced ladder is returned. The result is stored unless nothing was sent.
    """
    f = Folder.of(folder)
    base = f.settings()
    profile = _base_profile(f, base)
    records = [r for r in scan_folder(f.path).records if not f.selection().video_excluded(r.rel_path)]
    sample = pick_sample(records, n, chosen=videos)
    chosen = [r for r in records if r.rel_path in set(sample.rel_paths)]
    ladder = list(configs) if configs else default_ladder(base, models)

    def result(priced: list[PricedConfig], blocked: str | None, **kw: Any) -> TuneResult:
        planned = sum(p.tune_usd or 0.0 for p in priced)
        plain = tuple(ConfigResult(p, None, None) for p in priced)
        return TuneResult(f.path, sample, profile, kw.get("results", plain), kw.get("reference"),
                          kw.get("kind", "configuration"), kw.get("recommended"), tolerance, budget_usd, planned,
                          blocked, kw.get("texts", ()))

    if not chosen:
        return result([], "; ".join(sample.problems) or "The folder has no usable video to tune on.")
    priced = price_ladder(f.path, ladder, base, profile, chosen)
    ref_cost = priced[0].tune_usd
    if dry_run:
        return result(priced, None)
    over = cap_problem(ref_cost, budget_usd, digits=4, cap="the budget",
                       what="The reference configuration alone would cost about {usd} on the sample, which")
    if over is not None:
        return result(priced, over)
    if runner is None:
        if client is None:
            return result(priced, "No API client to send the tune with.")
        runner = ApiTuneRunner(f, client, base=base)
    sent = _send_all(priced, runner, budget_usd, on_progress)
    ref_out = sent[0][1]
    ref_stub = ConfigResult(sent[0][0], ref_out, None, sent[0][2])
    reference, kind = _reference_answers(ref_stub, sample, labels)
    results = []
    for p, out, skipped in sent:
        card = score_answers(profile.schema, reference, out.answers, tolerance_s=tolerance_s) \
            if out and reference else None
        results.append(ConfigResult(p, out, card, skipped))
    ref_result = results[0]
    best = recommend(results, ref_result, tolerance)
    texts = tuple(side_by_side(profile.schema, reference, best.output.answers)) if best and best.output else ()
    tuned = result(priced, None if reference else "The reference configuration gave no answer to score against.",
                   results=tuple(results), reference=ref_result, kind=kind, recommended=best, texts=texts)
    save_quality(f, tuned)
    return tuned


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
                return {**c, "reference_score": (data.get("reference") or {}).get("score")}
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
