"""GAIA: a folder of videos in, one structured Claude analysis per video out, at batch prices.

This is the public API the app's pages, the CLI and the notebook use, imported eagerly so that a
type checker, an editor and a static reading of the imports all see what each name is. Its
names are pinned by ``tests/test_public_api.py``; each is used by a page, the CLI or the notebook.

Start from ``gaia.Folder(path, client=None)``: its verbs are the product's operations (``scan``,
``keyframes``, ``estimate``, ``plan``, ``submit``, ``run_now``, ``trial``, ``watch``, ``retrieve``,
``retry``, ``results``, ``spent``, ``tune``, ``export``). The functions below it are the same
operations with every option, the record types they return, the errors, and the facts and limits
the pages' widgets use. ``gaia.views`` (what a page or the CLI shows) and ``gaia.format`` (money,
durations, sizes) are the two public submodules. GAIA never imports Streamlit.
"""

from __future__ import annotations

from gaia import format, views
from gaia.api.client import MissingApiKey, describe_error, make_client
from gaia.emulator import EmulatorConfig, EmulatorHandle, HttpFault, serve_forever, start_emulator
from gaia.exports.camtrap import VERSION as CAMTRAP_VERSION
from gaia.exports.camtrap import CamtrapDeployment, export_camtrap_dp, validate_camtrap_dp
from gaia.exports.xmp import write_xmp_for
from gaia.face import Folder, Results
from gaia.facts import (
    CACHE_TTLS,
    DEFAULT_MODEL,
    RESULTS_RETENTION_DAYS,
    PriceFileError,
    catalogue,
    image_tokens,
    model_facts,
    not_offered_reason,
)
from gaia.folder import LOCK_WATCH, FolderBusy
from gaia.fsutil import DISK_FULL, disk_full
from gaia.labels import LabelError
from gaia.media.demo import demo_folder_path, demo_ready, ensure_demo_folder
from gaia.media.empty import empty_scores
from gaia.media.keyframes import KeyframeSet, cached_keyframes, extract_keyframes, thumbnails
from gaia.media.scan import (
    FolderError,
    ScanResult,
    VideoRecord,
    check_folder,
    is_allowed,
    is_video_name,
    scan_folder,
    subfolders,
)
from gaia.pricing.bill import CSV_COLUMNS, Bill, BillCsvError, Spend, bill, folder_spend, read_bill_csv
from gaia.pricing.estimate import MONEY_LABELS, Estimate, estimate_folder, estimate_run, load_run_inputs
from gaia.pricing.levers import (
    EmptySaving,
    ModelRow,
    budget,
    compare_models,
    empty_saving,
    folder_estimator,
    measured_misses,
    what_if,
)
from gaia.pricing.models import HEADLINE_SCENARIO, SCENARIO_LABELS, SCENARIOS, TOKEN_LABELS, TOKEN_TYPES, TokenCounts
from gaia.pricing.output import max_tokens_advice, output_estimate
from gaia.pricing.tokens import folder_prompt_tokens, other_ttl, prompt_tokens
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile, schema_problems
from gaia.quality.sample import DEFAULT_SAMPLE
from gaia.quality.tune import (
    DEFAULT_TOLERANCE,
    TUNE_PRICES,
    ConfigResult,
    TuneResult,
    adopt_config,
    quality_for,
    run_tune,
    stored_quality,
)
from gaia.quality.verdict import Verdict
from gaia.runs.batch import SubmitResult, submit, write_dry_run
from gaia.runs.cascade import plan_cascade
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.failures import FailedRequest, failures, plan_retry, retry_failed
from gaia.runs.guard import cap_problem
from gaia.runs.levers import run_cascade
from gaia.runs.now import OnlineResult, estimate_now_usd, retry_now, run_now
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.retrieve import DEFAULT_POLL_S, RetrieveResult, retrieve, watch
from gaia.runs.status import COUNTS_NOTE, BatchStatus, batch_statuses, cancel_batch, refresh_status
from gaia.runs.trial import DEFAULT_TRIAL_VIDEOS, MAX_TRIAL_VIDEOS, TrialResult, TrialUndo, run_choice, run_trial
from gaia.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FRAME_PRESET,
    FRAME_PRESETS,
    MAX_CONCURRENCY,
    MAX_FRAME_COUNT,
    MAX_JPEG_QUALITY,
    MAX_MAX_TOKENS,
    MIN_JPEG_QUALITY,
    STRATEGIES,
    XMP_NAMINGS,
    KeyframeSettings,
    RunSettings,
    allowed_roots,
    frame_preset,
)
from gaia.sidecar import SidecarError, read_sidecar

__version__ = "0.1.0"

# Grouped in the module docstring's order: the face, errors, client, folders, settings and limits, media,
# cost, runs, answers (kept sorted here, as ruff asks).
__all__ = [
    "CACHE_TTLS",
    "CAMTRAP_VERSION",
    "COUNTS_NOTE",
    "CSV_COLUMNS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FRAME_PRESET",
    "DEFAULT_MODEL",
    "DEFAULT_POLL_S",
    "DEFAULT_SAMPLE",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TRIAL_VIDEOS",
    "DISK_FULL",
    "FRAME_PRESETS",
    "HEADLINE_SCENARIO",
    "LOCK_WATCH",
    "MAX_CONCURRENCY",
    "MAX_FRAME_COUNT",
    "MAX_JPEG_QUALITY",
    "MAX_MAX_TOKENS",
    "MAX_TRIAL_VIDEOS",
    "MIN_JPEG_QUALITY",
    "MONEY_LABELS",
    "NO_CHECKPOINTS",
    "RESULTS_RETENTION_DAYS",
    "SCENARIOS",
    "SCENARIO_LABELS",
    "STRATEGIES",
    "TOKEN_LABELS",
    "TOKEN_TYPES",
    "TUNE_PRICES",
    "XMP_NAMINGS",
    "BatchStatus",
    "Bill",
    "BillCsvError",
    "CamtrapDeployment",
    "Checkpoints",
    "ConfigResult",
    "EmptySaving",
    "EmulatorConfig",
    "EmulatorHandle",
    "Estimate",
    "FailedRequest",
    "Folder",
    "FolderBusy",
    "FolderError",
    "HttpFault",
    "KeyframeSet",
    "KeyframeSettings",
    "LabelError",
    "MissingApiKey",
    "ModelRow",
    "OnlineResult",
    "PriceFileError",
    "ProfileNotFound",
    "PromptProfile",
    "Results",
    "RetrieveResult",
    "RunSettings",
    "ScanResult",
    "SidecarError",
    "Spend",
    "SubmissionPlan",
    "SubmitResult",
    "TokenCounts",
    "TrialResult",
    "TrialUndo",
    "TuneResult",
    "Verdict",
    "VideoRecord",
    "__version__",
    "adopt_config",
    "allowed_roots",
    "batch_statuses",
    "bill",
    "budget",
    "cached_keyframes",
    "cancel_batch",
    "cap_problem",
    "catalogue",
    "check_folder",
    "compare_models",
    "default_profile",
    "demo_folder_path",
    "demo_ready",
    "describe_error",
    "disk_full",
    "empty_saving",
    "empty_scores",
    "ensure_demo_folder",
    "estimate_folder",
    "estimate_now_usd",
    "estimate_run",
    "export_camtrap_dp",
    "extract_keyframes",
    "failures",
    "folder_estimator",
    "folder_prompt_tokens",
    "folder_spend",
    "format",
    "frame_preset",
    "image_tokens",
    "is_allowed",
    "is_video_name",
    "load_run_inputs",
    "make_client",
    "max_tokens_advice",
    "measured_misses",
    "model_facts",
    "not_offered_reason",
    "other_ttl",
    "output_estimate",
    "plan_cascade",
    "plan_retry",
    "plan_run_now",
    "plan_submission",
    "prompt_tokens",
    "quality_for",
    "read_bill_csv",
    "read_sidecar",
    "refresh_status",
    "retrieve",
    "retry_failed",
    "retry_now",
    "run_cascade",
    "run_choice",
    "run_now",
    "run_trial",
    "run_tune",
    "scan_folder",
    "schema_problems",
    "serve_forever",
    "start_emulator",
    "stored_quality",
    "subfolders",
    "submit",
    "thumbnails",
    "validate_camtrap_dp",
    "views",
    "watch",
    "what_if",
    "write_dry_run",
    "write_xmp_for",
]
