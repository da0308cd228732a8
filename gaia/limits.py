"""The numbers, lists and labels a page's widgets, the CLI's options and a script read: limits, defaults,
presets and labels, in one public place (``gaia.limits``).

Nothing is defined here: each name has its one home (``gaia.facts`` and its data file for the API's
facts, ``gaia.settings`` for the settings' bounds and defaults, the module of the operation for its
own defaults and labels), and this module only gathers them so that ``gaia`` exports one name for all
of them instead of each at the top level. Change a number in its home; this list follows.
"""

from __future__ import annotations

from gaia.exports.camtrap import VERSION as CAMTRAP_VERSION
from gaia.facts import CACHE_TTLS, DEFAULT_MODEL, RESULTS_RETENTION_DAYS
from gaia.media.scan import VIDEO_EXTENSIONS
from gaia.pricing.bill import CSV_COLUMNS
from gaia.pricing.estimate import MONEY_LABELS
from gaia.pricing.models import HEADLINE_SCENARIO, SCENARIO_LABELS, SCENARIOS, TOKEN_LABELS, TOKEN_TYPES
from gaia.quality.sample import DEFAULT_SAMPLE
from gaia.quality.tune import DEFAULT_TOLERANCE, TUNE_PRICES
from gaia.runs.levers import DEFAULT_MISS_SAMPLE
from gaia.runs.retrieve import DEFAULT_POLL_S
from gaia.runs.status import COUNTS_NOTE
from gaia.runs.trial import DEFAULT_TRIAL_VIDEOS, MAX_TRIAL_VIDEOS
from gaia.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FRAME_PRESET,
    FRAME_PRESETS,
    MAX_CONCURRENCY,
    MAX_FRAME_COUNT,
    MAX_JPEG_QUALITY,
    MAX_MAX_TOKENS,
    MIN_JPEG_QUALITY,
    MIN_MAX_TOKENS,
    STRATEGIES,
    XMP_NAMINGS,
)

__all__ = [
    "CACHE_TTLS",
    "CAMTRAP_VERSION",
    "COUNTS_NOTE",
    "CSV_COLUMNS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FRAME_PRESET",
    "DEFAULT_MISS_SAMPLE",
    "DEFAULT_MODEL",
    "DEFAULT_POLL_S",
    "DEFAULT_SAMPLE",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TRIAL_VIDEOS",
    "FRAME_PRESETS",
    "HEADLINE_SCENARIO",
    "MAX_CONCURRENCY",
    "MAX_FRAME_COUNT",
    "MAX_JPEG_QUALITY",
    "MAX_MAX_TOKENS",
    "MAX_TRIAL_VIDEOS",
    "MIN_JPEG_QUALITY",
    "MIN_MAX_TOKENS",
    "MONEY_LABELS",
    "RESULTS_RETENTION_DAYS",
    "SCENARIOS",
    "SCENARIO_LABELS",
    "STRATEGIES",
    "TOKEN_LABELS",
    "TOKEN_TYPES",
    "TUNE_PRICES",
    "VIDEO_EXTENSIONS",
    "XMP_NAMINGS",
]
