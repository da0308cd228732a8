"""The one source of truth for API facts: model prices, caching rules, image tiers and hard limits.

Prices and per-model rules live in the data file ``gaia/data/models.toml`` (each row with its
source and as-of date); a user adds or overrides rows in a local ``gaia-prices.toml`` without
touching code. Limits that do not vary by model (batch size, ``custom_id`` form, image caps) are
constants here. The image token formula and the resize rule that every other module uses are here
too, so the keyframe extractor, the cost estimator and the emulator cannot disagree.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "models.toml"
OVERRIDE_ENV = "GAIA_PRICES_FILE"
OVERRIDE_FILENAME = "gaia-prices.toml"

# --- Message Batches API limits (https://platform.claude.com/docs/en/build-with-claude/batch-processing)
# The folder scan's guard against walking a whole disk by mistake: a folder of 100,000 videos scans,
# plans and submits (in batches within the API's limits) with room to spare.
SCAN_VIDEO_LIMIT = 500_000
SCAN_FOLDER_LIMIT = 100_000
BATCH_MAX_REQUESTS = 100_000
BATCH_MAX_BYTES = 256_000_000
BATCH_EXPIRY_HOURS = 24
RESULTS_RETENTION_DAYS = 29
CUSTOM_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# --- Messages API (https://platform.claude.com/docs/en/api/errors, request size limits)
MESSAGES_MAX_BYTES = 32_000_000
# --- Images (https://platform.claude.com/docs/en/build-with-claude/vision)
IMAGE_MAX_DIMENSION = 8000
IMAGE_MAX_DIMENSION_MANY = 2000  # each image when a request holds more than 20
IMAGE_MANY_THRESHOLD = 20
IMAGE_PATCH_PX = 28
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

CACHE_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}  # how long a cache entry lives unread
CACHE_TTLS = tuple(CACHE_TTL_SECONDS)
# A model whose ``retires_on`` date has passed gets this status (whatever the data file says): it stays
# priced, so old bills can be recomputed, but ``offered_models`` leaves it out of every choice for new runs.
RETIRED = "retired"


@dataclass(frozen=True)
class ImageTier:
    """How large an image a model uses before the API downscales it."""

    name: str
    max_edge: int
    max_tokens: int
    source: str = ""


@dataclass(frozen=True)
class ModelFacts:
    """Prices (USD per million tokens, standard rates) and rules for one model."""

    id: str
    display_name: str
    status: str
    input: float
    output: float
    cache_write_5m_multiplier: float
    cache_write_1h_multiplier: float
    cache_read_multiplier: float
    batch_discount: float
    min_cacheable_tokens: int
    image_tier: ImageTier
    context_window: int
    max_images: int
    as_of: str
    source: str
    confirmed: bool = True
    min_cacheable_confirmed: bool = True
    image_tier_confirmed: bool = True
    long_context_threshold: int | None = None
    long_context_input: float | None = None
    long_context_output: float | None = None
    note: str = ""
    cache_read_note: str = ""
    overridden: bool = False
    text_token_factor: float = 1.0
    confirmed_note: str = ""
    retires_on: str = ""
    retirement_source: str = ""

    def retired_as_of(self, day: date | None = None) -> bool:
        """Whether the model is retired on ``day`` (today by default): it is then priced for history only."""
        return bool(self.retires_on) and (day or date.today()).isoformat() >= self.retires_on

    @property
    def retired(self) -> bool:
        """Retired today: requests to it fail, so it must not be offered for new runs."""
        return self.retired_as_of()

    @property
    def retired_on(self) -> str | None:
        """The retirement date (``YYYY-MM-DD``) once it has passed, else ``None``."""
        return self.retires_on if self.retired else None

    @property
    def uncertain(self) -> list[str]:
        """Plain-language list of this row's figures that have no primary source yet."""
        out = []
        if not self.confirmed:
            out.append("prices" + (f" ({self.confirmed_note})" if self.confirmed_note else ""))
        if not self.min_cacheable_confirmed:
            out.append("minimum cacheable prefix")
        if not self.image_tier_confirmed:
            out.append("image resolution tier")
        if self.cache_read_note:
            out.append("cache read price")
        return out

    @property
    def cache_read_price(self) -> float:
        """Cache read price per million tokens at standard rates."""
        return self.input * self.cache_read_multiplier

    def cache_write_price(self, ttl: str) -> float:
        """Cache write price per million tokens for a TTL of ``"5m"`` or ``"1h"``."""
        if ttl not in CACHE_TTLS:
            raise ValueError(f"cache TTL must be one of {CACHE_TTLS}, not {ttl!r}")
        mult = self.cache_write_5m_multiplier if ttl == "5m" else self.cache_write_1h_multiplier
        return self.input * mult


@dataclass(frozen=True)
class Catalogue:
    """Every known model with the defaults and tiers they were built from."""

    models: dict[str, ModelFacts]
    tiers: dict[str, ImageTier]
    defaults: dict[str, Any] = field(default_factory=dict)
    override_file: Path | None = None
    estimates: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> str:
        """The newest as-of date among the price rows (what "prices as of" means for a mix)."""
        return max((m.as_of for m in self.models.values() if m.as_of), default="")


@dataclass(frozen=True)
class EstimateDefaults:
    """Assumptions an estimate uses until the folder has history (all changeable in the data file).

    ``output_tokens`` is the answer length per video without history; ``output_low``/``output_high``
    are the factors giving its range. ``batch_cache_read_share`` is the expected share of requests in
    a batch that read the cached prefix (the batch-processing page says hits are best-effort,
    "typically 30% to 98%"; GAIA takes the middle of that range and shows both ends).
    ``chars_per_token`` is the local approximation of text tokens when ``count_tokens`` is not used.
    ``thinking_models`` think by default (GAIA sends no thinking setting); ``thinking_tokens`` (with
    ``thinking_low``/``thinking_high``) is what an answer of theirs spends thinking until history says.
    """

    output_tokens: int = 2000
    output_low: float = 0.5
    output_high: float = 1.5
    batch_cache_read_share: float = 0.64
    batch_cache_read_share_low: float = 0.30
    batch_cache_read_share_high: float = 0.98
    chars_per_token: float = 3.5
    thinking_models: tuple[str, ...] = ()
    thinking_tokens: int = 0
    thinking_low: int = 0
    thinking_high: int = 0
    source: str = ""


def _override_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get(OVERRIDE_ENV)
    if env:
        return Path(env)
    local = Path.cwd() / OVERRIDE_FILENAME
    return local if local.is_file() else None


class PriceFileError(ValueError):
    """A price override file that cannot be used, with the file, the row and the fix in the message."""


# Keys of a model row that are prices in $/MTok, and multipliers of the input price; checked in every
# override file so no price table can make a cost negative, infinite or NaN (and so bypass a spend cap).
_PRICE_KEYS = ("input", "output", "long_context_input", "long_context_output")
_MULTIPLIER_LIMITS = {
    "cache_write_5m_multiplier": (1.0, 10.0),
    "cache_write_1h_multiplier": (1.0, 10.0),
    "cache_read_multiplier": (0.01, 1.0),
    "batch_discount": (0.01, 1.0),
}
MAX_PRICE_PER_MTOK = 10_000.0
# No price is free: a price of 0 would make every cost 0 and let any run past a spend cap.
MIN_PRICE_PER_MTOK = 0.001
# Whole numbers of a model row and of an image tier, with the values that can make sense.
_COUNT_LIMITS = {
    "min_cacheable_tokens": (0, 1_000_000),
    "long_context_threshold": (1_000, 100_000_000),
    "context_window": (1_000, 100_000_000),
    "max_images": (1, 100_000),
}
_TIER_LIMITS = {"max_edge": (16, 100_000), "max_tokens": (1, 1_000_000)}
_FACTOR_LIMITS = {"text_token_factor": (0.1, 10.0)}
# The [estimates] assumptions: each a positive count, a share or a factor.
_ESTIMATE_LIMITS = {
    "output_tokens_per_video": (1, 1_000_000, True),
    "output_range_low": (0.01, 1.0, False),
    "output_range_high": (1.0, 100.0, False),
    "batch_cache_read_share": (0.0, 1.0, False),
    "batch_cache_read_share_low": (0.0, 1.0, False),
    "batch_cache_read_share_high": (0.0, 1.0, False),
    "chars_per_token": (0.5, 20.0, False),
    "thinking_tokens_per_video": (0, 1_000_000, True),
    "thinking_range_low": (0, 1_000_000, True),
    "thinking_range_high": (0, 1_000_000, True),
}
_REQUIRED_FOR_NEW = ("input", "output", "min_cacheable_tokens", "image_tier")


def _number(value: Any, where: str, lo: float, hi: float, *, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (whole and not isinstance(value, int)):
        raise PriceFileError(f"{where} must be a {'whole ' if whole else ''}number, not {value!r}")
    x = float(value)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise PriceFileError(f"{where} must be between {lo:g} and {hi:g}, not {value!r}")
    return x


def _check_tiers(extra: dict[str, Any], path: Path) -> None:
    tiers = extra.get("image_tiers", {})
    if not isinstance(tiers, dict):
        raise PriceFileError(f"{path}: [image_tiers] must be a table of tiers, not {tiers!r}")
    for name, tier in tiers.items():
        where = f"{path}: image_tiers.{name!r}"
        if not isinstance(tier, dict):
            raise PriceFileError(f"{where} must be a table of keys, not {tier!r}")
        for key, (lo, hi) in _TIER_LIMITS.items():
            if key in tier:
                _number(tier[key], f"{where}.{key}", lo, hi, whole=True)


def _check_estimates(extra: dict[str, Any], path: Path) -> None:
    est = extra.get("estimates", {})
    if not isinstance(est, dict):
        raise PriceFileError(f"{path}: [estimates] must be a table, not {est!r}")
    for key, (lo, hi, whole) in _ESTIMATE_LIMITS.items():
        if key in est:
            _number(est[key], f"{path}: estimates.{key}", lo, hi, whole=whole)
    models = est.get("thinking_models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise PriceFileError(f"{path}: estimates.thinking_models must be a list of model names, not {models!r}")


def _check_merged_row(model_id: str, row: dict[str, Any], path: Path) -> None:
    """What only the merged row can tell: long-context prices are the higher prices past the threshold."""
    where = f"{path}: models.{model_id!r}"
    for long_key, base_key in (("long_context_input", "input"), ("long_context_output", "output")):
        long_price, base = row.get(long_key), row.get(base_key)
        if long_price is not None and isinstance(base, int | float) and long_price < base:
            raise PriceFileError(f"{where}.{long_key} ({long_price:g}) is below its {base_key} price ({base:g}); a "
                                 "long-context price is the higher price past the threshold")
    has_long = row.get("long_context_input") is not None or row.get("long_context_output") is not None
    if has_long and row.get("long_context_threshold") is None:
        raise PriceFileError(f"{where} gives long-context prices without long_context_threshold (the prompt size "
                             "from which they apply)")


def check_override(extra: Any, path: Path, known: dict[str, Any]) -> None:
    """Raise ``PriceFileError`` unless ``extra`` (a parsed override file) is safe to merge.

    Prices must be finite numbers from 0 to ``MAX_PRICE_PER_MTOK``; the batch discount a fraction of
    the standard price (0.01 to 1); cache multipliers within the documented range; a new model must give
    every required key, with a known image tier.
    """
    if not isinstance(extra, dict):
        raise PriceFileError(f"{path}: the file must hold TOML tables")
    models = extra.get("models", {})
    if not isinstance(models, dict):
        raise PriceFileError(f"{path}: [models] must be a table of models, not {models!r}")
    _check_tiers(extra, path)
    for name, tier in (extra.get("image_tiers") or {}).items():
        missing = [k for k in _TIER_LIMITS if k not in tier]
        if name not in known.get("image_tiers", {}) and missing:
            raise PriceFileError(f"{path}: image_tiers.{name!r} is a new tier and must give {', '.join(missing)}")
    tiers = set(known.get("image_tiers", {})) | set(extra.get("image_tiers") or {})
    defaults = extra.get("defaults", {})
    if not isinstance(defaults, dict):
        raise PriceFileError(f"{path}: [defaults] must be a table")
    for key, (lo, hi) in _MULTIPLIER_LIMITS.items():
        if key in defaults:
            _number(defaults[key], f"{path}: defaults.{key}", lo, hi)
    _check_estimates(extra, path)
    for model_id, row in models.items():
        where = f"{path}: models.{model_id!r}"
        if not isinstance(row, dict):
            raise PriceFileError(f"{where} must be a table of keys, not {row!r}")
        for key in _PRICE_KEYS:
            if key in row:
                _number(row[key], f"{where}.{key}", MIN_PRICE_PER_MTOK, MAX_PRICE_PER_MTOK)
        for key, (lo, hi) in _MULTIPLIER_LIMITS.items():
            if key in row:
                _number(row[key], f"{where}.{key}", lo, hi)
        for key, (lo, hi) in _COUNT_LIMITS.items():
            if key in row:
                _number(row[key], f"{where}.{key}", lo, hi, whole=True)
        for key, (lo, hi) in _FACTOR_LIMITS.items():
            if key in row:
                _number(row[key], f"{where}.{key}", lo, hi)
        if "image_tier" in row and (not isinstance(row["image_tier"], str) or row["image_tier"] not in tiers):
            raise PriceFileError(f"{where}.image_tier must be one of {', '.join(sorted(tiers))}, "
                                 f"not {row['image_tier']!r}")
        if model_id not in known.get("models", {}):
            missing = [k for k in _REQUIRED_FOR_NEW if k not in row]
            if missing:
                raise PriceFileError(f"{where} is a new model and must give {', '.join(missing)}")


def _read_override(path: Path, known: dict[str, Any]) -> dict[str, Any]:
    if path.is_dir():
        raise PriceFileError(f"price override {path} is a folder; {OVERRIDE_ENV} must name a TOML file")
    try:
        with path.open("rb") as fh:
            extra = tomllib.load(fh)
    except FileNotFoundError:
        raise PriceFileError(f"price override file {path} does not exist (check {OVERRIDE_ENV})") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PriceFileError(f"cannot read price override file {path}: {exc}") from exc
    check_override(extra, path, known)
    return extra


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_catalogue(override: Path | None = None) -> Catalogue:
    """Read the bundled model table, merged with a user's override file when there is one.

    The override file has the same shape as ``gaia/data/models.toml``; a row for a known model
    changes only the keys it names, a row for a new id adds a model (it must then give at least
    ``input``, ``output``, ``min_cacheable_tokens`` and ``image_tier``).
    """
    with DATA_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    path = _override_path(override)
    overridden: set[str] = set()
    if path is not None:
        extra = _read_override(path, data)
        overridden = set(extra.get("models", {}))
        data = _merge(data, extra)
        for model_id in overridden:
            _check_merged_row(model_id, data["models"][model_id], path)
        try:
            return _build_catalogue(data, path, overridden)
        except PriceFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # one sentence, never a traceback
            raise PriceFileError(f"price override file {path} cannot be used ("
                                 f"{exc}); compare it with gaia/data/models.toml") from exc
    return _build_catalogue(data, path, overridden)


def _build_catalogue(data: dict[str, Any], path: Path | None, overridden: set[str]) -> Catalogue:
    defaults = data.get("defaults", {})
    tiers = {
        name: ImageTier(name=name, max_edge=int(t["max_edge"]), max_tokens=int(t["max_tokens"]),
                        source=t.get("source", ""))
        for name, t in data.get("image_tiers", {}).items()
    }
    models: dict[str, ModelFacts] = {}
    for model_id, row in data.get("models", {}).items():
        try:
            models[model_id] = ModelFacts(
                id=model_id,
                display_name=row.get("display_name", model_id),
                status=row.get("status", "current"),
                input=float(row["input"]),
                output=float(row["output"]),
                cache_write_5m_multiplier=float(
                    row.get("cache_write_5m_multiplier", defaults.get("cache_write_5m_multiplier", 1.25))),
                cache_write_1h_multiplier=float(
                    row.get("cache_write_1h_multiplier", defaults.get("cache_write_1h_multiplier", 2.0))),
                cache_read_multiplier=float(
                    row.get("cache_read_multiplier", defaults.get("cache_read_multiplier", 0.1))),
                batch_discount=float(row.get("batch_discount", defaults.get("batch_discount", 0.5))),
                min_cacheable_tokens=int(row["min_cacheable_tokens"]),
                image_tier=tiers[row["image_tier"]],
                context_window=int(row.get("context_window", 200_000)),
                max_images=int(row.get("max_images", 100)),
                as_of=str(row.get("as_of", "")),
                source=row.get("source", defaults.get("pricing_source", "")),
                confirmed=bool(row.get("confirmed", True)),
                min_cacheable_confirmed=bool(row.get("min_cacheable_confirmed", True)),
                image_tier_confirmed=bool(row.get("image_tier_confirmed", True)),
                long_context_threshold=row.get("long_context_threshold"),
                long_context_input=row.get("long_context_input"),
                long_context_output=row.get("long_context_output"),
                note=row.get("note", ""),
                cache_read_note=row.get("cache_read_note", ""),
                overridden=model_id in overridden,
                text_token_factor=float(row.get("text_token_factor", 1.0)),
                confirmed_note=row.get("confirmed_note", ""),
                retires_on=str(row.get("retires_on", "")),
                retirement_source=str(row.get("retirement_source", "")),
            )
            if models[model_id].retired:
                models[model_id] = dataclasses.replace(models[model_id], status=RETIRED)
        except KeyError as exc:
            raise PriceFileError(f"model {model_id!r} in the price table lacks {exc.args[0]!r}") from exc
    return Catalogue(models=models, tiers=tiers, defaults=defaults, override_file=path,
                     estimates=dict(data.get("estimates", {})))


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return load_catalogue()


def catalogue() -> Catalogue:
    """The catalogue in force for this process (bundled data plus the user's override file)."""
    return _default_catalogue()


def reload_catalogue() -> Catalogue:
    """Forget the cached catalogue and read the data and override files again."""
    _default_catalogue.cache_clear()
    return _default_catalogue()


DEFAULT_MODEL = "claude-sonnet-5-5"


def model_facts(model_id: str, *, cat: Catalogue | None = None) -> ModelFacts:
    """Facts for one model id; raises ``KeyError`` with the known ids when it is not priced."""
    cat = cat or catalogue()
    try:
        return cat.models[model_id]
    except KeyError:
        known = ", ".join(sorted(cat.models))
        raise KeyError(f"unknown model {model_id!r}; known models: {known}") from None


def model_name(model: str | None, *, cat: Catalogue | None = None) -> str:
    """A model's display name from the catalogue, as the pages, the CLI and the guard's messages name it (its id
    when unknown, ``""`` for none)."""
    if not model:
        return ""
    facts = (cat or catalogue()).models.get(model)
    return facts.display_name if facts is not None else model


def offered_models(*, cat: Catalogue | None = None) -> list[ModelFacts]:
    """The models a new run may use: every priced model except the retired ones."""
    cat = cat or catalogue()
    return [m for m in cat.models.values() if not m.retired]


def not_offered_reason(model_id: str, *, cat: Catalogue | None = None) -> str | None:
    """Why ``model_id`` cannot be chosen for a new run (unknown or retired), or ``None`` when it can."""
    cat = cat or catalogue()
    facts = cat.models.get(model_id)
    if facts is None:
        return f"unknown model {model_id!r}; known: {', '.join(sorted(m.id for m in offered_models(cat=cat)))}"
    if facts.retired:
        return (f"{facts.display_name} ({model_id}) was retired on {facts.retires_on}: the API no longer serves it. "
                f"Choose another model (it stays priced for old bills only).")
    return None


def estimate_defaults(*, cat: Catalogue | None = None) -> EstimateDefaults:
    """The estimate assumptions from the data file's ``[estimates]`` table (see ``EstimateDefaults``)."""
    cat = cat or catalogue()
    e = cat.estimates
    base = EstimateDefaults()
    return EstimateDefaults(
        output_tokens=int(e.get("output_tokens_per_video", base.output_tokens)),
        output_low=float(e.get("output_range_low", base.output_low)),
        output_high=float(e.get("output_range_high", base.output_high)),
        batch_cache_read_share=float(e.get("batch_cache_read_share", base.batch_cache_read_share)),
        batch_cache_read_share_low=float(e.get("batch_cache_read_share_low", base.batch_cache_read_share_low)),
        batch_cache_read_share_high=float(e.get("batch_cache_read_share_high", base.batch_cache_read_share_high)),
        chars_per_token=float(e.get("chars_per_token", base.chars_per_token)),
        thinking_models=tuple(str(m) for m in e.get("thinking_models", base.thinking_models)),
        thinking_tokens=int(e.get("thinking_tokens_per_video", base.thinking_tokens)),
        thinking_low=int(e.get("thinking_range_low", base.thinking_low)),
        thinking_high=int(e.get("thinking_range_high", base.thinking_high)),
        source=str(e.get("source", "")),
    )


def image_tokens(width: int, height: int) -> int:
    """Visual tokens for an image the API does not resize: ``ceil(w/28) * ceil(h/28)``."""
    if width <= 0 or height <= 0:
        raise ValueError("image dimensions must be positive")
    return math.ceil(width / IMAGE_PATCH_PX) * math.ceil(height / IMAGE_PATCH_PX)


def fit_to_tier(width: int, height: int, tier: ImageTier, *, max_edge: int | None = None) -> tuple[int, int]:
    """The largest size, aspect kept, that the model uses without downscaling.

    Neither the long edge may exceed the tier's (or the caller's smaller) ``max_edge`` nor the
    visual token count the tier's ``max_tokens``. Images are never enlarged.
    """
    if width <= 0 or height <= 0:
        raise ValueError("image dimensions must be positive")
    edge = min(tier.max_edge, max_edge) if max_edge else tier.max_edge
    scale = min(1.0, edge / max(width, height))
    w = max(1, round(width * scale))
    h = max(1, round(height * scale))
    while image_tokens(w, h) > tier.max_tokens:
        # Shrink by the token ratio, then step down a pixel at a time near the boundary.
        ratio = math.sqrt(tier.max_tokens / image_tokens(w, h))
        step = min(ratio, 1 - 1 / max(w, h))
        w = max(1, math.floor(width * (w / width) * step))
        h = max(1, round(w * height / width))
    return w, h
