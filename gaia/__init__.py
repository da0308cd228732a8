"""GAIA: a folder of videos in, one structured Claude analysis per video out, at batch prices.

This is the public API the app's pages and the CLI use; its names are pinned by
``tests/test_public_api.py``. GAIA never imports Streamlit.
"""

from gaia import format, views
from gaia.api.answers import parse_answer
from gaia.api.client import MissingApiKey, describe_error, make_client
from gaia.api.requests import build_request, custom_id_for
from gaia.api.validate import RequestProblem
from gaia.emulator import EmulatorConfig, start_emulator
from gaia.exports.camtrap import CamtrapDeployment, CamtrapResult, export_camtrap_dp, validate_camtrap_dp
from gaia.exports.xmp import XmpError, XmpResult, write_xmp_for, write_xmp_if_enabled, xmp_path
from gaia.facts import (
    BATCH_EXPIRY_HOURS,
    CACHE_TTLS,
    DEFAULT_MODEL,
    RESULTS_RETENTION_DAYS,
    Catalogue,
    ImageTier,
    ModelFacts,
    PriceFileError,
    catalogue,
    estimate_defaults,
    fit_to_tier,
    image_tokens,
    model_facts,
    not_offered_reason,
    offered_models,
)
from gaia.folder import Folder, FolderBusy
from gaia.labels import (
    LabelError,
    Verified,
    clear_verified,
    confirm_fields,
    effective_analysis,
    read_verified,
    save_verified,
)
from gaia.ledger import Ledger
from gaia.media.demo import demo_folder_path, demo_ready, ensure_demo_folder
from gaia.media.keyframes import Keyframe, KeyframeSet, cached_keyframes, extract_keyframes, thumbnails
from gaia.media.probe import ProbeInfo, probe_file
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
from gaia.pricing.bill import Bill, BillCsvError, bill, read_bill_csv
from gaia.pricing.estimate import Assumptions, Estimate, estimate_run
from gaia.pricing.explain import Explanation
from gaia.pricing.history import History, history
from gaia.pricing.inputs import RunInputs, load_run_inputs
from gaia.pricing.models import ModelRow, compare_models
from gaia.pricing.output import OutputEstimate, output_estimate
from gaia.pricing.run import MONEY_LABELS
from gaia.pricing.scenarios import SCENARIO_LABELS, SCENARIOS, Scenario
from gaia.pricing.spent import ActualCost, EstimateCheck, actual_cost, compare_to_estimate
from gaia.pricing.tokens import PromptTokens, frame_tokens, prompt_tokens
from gaia.pricing.usage import TOKEN_LABELS, TOKEN_TYPES, TokenCounts, UsageCost, price_tokens, usage_cost
from gaia.pricing.whatif import BudgetResult, WhatIfPoint, budget, what_if
from gaia.prompts import (
    ProfileNotFound,
    PromptProfile,
    default_profile,
    schema_problems,
)
from gaia.quality.ladder import SchemaProfile, TuneConfig, compact_profile, default_ladder
from gaia.quality.runner import ApiTuneRunner, TuneAnswers, TuneRunner
from gaia.quality.sample import DEFAULT_SAMPLE, Sample, pick_sample
from gaia.quality.scoring import FieldKind, FieldScore, ScoreCard, fields_of, score_answers
from gaia.quality.tune import (
    DEFAULT_TOLERANCE,
    ConfigResult,
    TuneResult,
    adopt_config,
    quality_for,
    run_tune,
    stored_quality,
)
from gaia.runs.batch import SubmitResult, reconcile, submit, write_dry_run
from gaia.runs.checkpoints import Checkpoint, Checkpoints
from gaia.runs.failures import FailedRequest, failures, plan_retry, retry_failed
from gaia.runs.guard import cap_problem
from gaia.runs.now import OnlineResult, estimate_now_usd, retry_now, run_now
from gaia.runs.plan import PlannedRequest, SkipKind, SkippedVideo, SubmissionPlan, build_plan, plan_intents
from gaia.runs.recorder import RequestOutcome, record_message
from gaia.runs.recovery import Prepared, plan_run_now, plan_submission, prepare, recover_interrupted
from gaia.runs.retrieve import DEFAULT_POLL_S, RetrieveResult, retrieve, watch
from gaia.runs.status import (
    COUNTS_NOTE,
    BatchStatus,
    StatusError,
    batch_history,
    batch_statuses,
    cancel_batch,
    ledger_events,
    refresh_status,
)
from gaia.runs.trial import (
    DEFAULT_TRIAL_VIDEOS,
    MAX_TRIAL_VIDEOS,
    RunChoice,
    TrialResult,
    TrialVideo,
    run_choice,
    run_trial,
)
from gaia.settings import (
    DEFAULT_CONCURRENCY,
    FRAME_COUNT_STEPS,
    MAX_CONCURRENCY,
    MAX_EDGE_STEPS,
    MAX_FRAME_COUNT,
    MAX_JPEG_QUALITY,
    MAX_MAX_TOKENS,
    MIN_JPEG_QUALITY,
    STRATEGIES,
    KeyframeSettings,
    RunSettings,
    Selection,
    allowed_roots,
)
from gaia.sidecar import (
    SidecarCollision,
    SidecarError,
    read_sidecar,
    sidecar_path,
    sidecar_state,
    write_sidecar,
)
from gaia.views.detail import VideoDetail, video_detail
from gaia.views.exports import iter_analyses_jsonl, rows_csv
from gaia.views.results import (
    ResultRow,
    filter_rows,
    load_results,
)
from gaia.views.review import (
    FieldView,
    Reason,
    ReasonKind,
    ReviewForm,
    ReviewItem,
    review_form,
    review_queue,
    save_review,
)

__version__ = "0.1.0"

__all__ = [
    "BATCH_EXPIRY_HOURS",
    "CACHE_TTLS",
    "COUNTS_NOTE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MODEL",
    "DEFAULT_POLL_S",
    "DEFAULT_SAMPLE",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TRIAL_VIDEOS",
    "FRAME_COUNT_STEPS",
    "MAX_CONCURRENCY",
    "MAX_EDGE_STEPS",
    "MAX_FRAME_COUNT",
    "MAX_JPEG_QUALITY",
    "MAX_MAX_TOKENS",
    "MAX_TRIAL_VIDEOS",
    "MIN_JPEG_QUALITY",
    "MONEY_LABELS",
    "RESULTS_RETENTION_DAYS",
    "SCENARIOS",
    "SCENARIO_LABELS",
    "STRATEGIES",
    "TOKEN_LABELS",
    "TOKEN_TYPES",
    "ActualCost",
    "ApiTuneRunner",
    "Assumptions",
    "BatchStatus",
    "Bill",
    "BillCsvError",
    "BudgetResult",
    "CamtrapDeployment",
    "CamtrapResult",
    "Catalogue",
    "Checkpoint",
    "Checkpoints",
    "ConfigResult",
    "EmulatorConfig",
    "Estimate",
    "EstimateCheck",
    "Explanation",
    "FailedRequest",
    "FieldKind",
    "FieldScore",
    "FieldView",
    "Folder",
    "FolderBusy",
    "FolderError",
    "History",
    "ImageTier",
    "Keyframe",
    "KeyframeSet",
    "KeyframeSettings",
    "LabelError",
    "Ledger",
    "MissingApiKey",
    "ModelFacts",
    "ModelRow",
    "OnlineResult",
    "OutputEstimate",
    "PlannedRequest",
    "Prepared",
    "PriceFileError",
    "ProbeInfo",
    "ProfileNotFound",
    "PromptProfile",
    "PromptTokens",
    "Reason",
    "ReasonKind",
    "RequestOutcome",
    "RequestProblem",
    "ResultRow",
    "RetrieveResult",
    "ReviewForm",
    "ReviewItem",
    "RunChoice",
    "RunInputs",
    "RunSettings",
    "Sample",
    "ScanResult",
    "Scenario",
    "SchemaProfile",
    "ScoreCard",
    "Selection",
    "SidecarCollision",
    "SidecarError",
    "SkipKind",
    "SkippedVideo",
    "StatusError",
    "SubmissionPlan",
    "SubmitResult",
    "TokenCounts",
    "TrialResult",
    "TrialVideo",
    "TuneAnswers",
    "TuneConfig",
    "TuneResult",
    "TuneRunner",
    "UsageCost",
    "Verified",
    "VideoDetail",
    "VideoRecord",
    "WhatIfPoint",
    "XmpError",
    "XmpResult",
    "__version__",
    "actual_cost",
    "adopt_config",
    "allowed_roots",
    "batch_history",
    "batch_statuses",
    "bill",
    "budget",
    "build_plan",
    "build_request",
    "cached_keyframes",
    "cancel_batch",
    "cap_problem",
    "catalogue",
    "check_folder",
    "clear_verified",
    "compact_profile",
    "compare_models",
    "compare_to_estimate",
    "confirm_fields",
    "custom_id_for",
    "default_ladder",
    "default_profile",
    "demo_folder_path",
    "demo_ready",
    "describe_error",
    "effective_analysis",
    "ensure_demo_folder",
    "estimate_defaults",
    "estimate_now_usd",
    "estimate_run",
    "export_camtrap_dp",
    "extract_keyframes",
    "failures",
    "fields_of",
    "filter_rows",
    "fit_to_tier",
    "format",
    "frame_tokens",
    "history",
    "image_tokens",
    "is_allowed",
    "is_video_name",
    "iter_analyses_jsonl",
    "ledger_events",
    "load_results",
    "load_run_inputs",
    "make_client",
    "model_facts",
    "not_offered_reason",
    "offered_models",
    "output_estimate",
    "parse_answer",
    "pick_sample",
    "plan_intents",
    "plan_retry",
    "plan_run_now",
    "plan_submission",
    "prepare",
    "price_tokens",
    "probe_file",
    "prompt_tokens",
    "quality_for",
    "read_bill_csv",
    "read_sidecar",
    "read_verified",
    "reconcile",
    "record_message",
    "recover_interrupted",
    "refresh_status",
    "retrieve",
    "retry_failed",
    "retry_now",
    "review_form",
    "review_queue",
    "rows_csv",
    "run_choice",
    "run_now",
    "run_trial",
    "run_tune",
    "save_review",
    "save_verified",
    "scan_folder",
    "schema_problems",
    "score_answers",
    "sidecar_path",
    "sidecar_state",
    "start_emulator",
    "stored_quality",
    "subfolders",
    "submit",
    "thumbnails",
    "usage_cost",
    "validate_camtrap_dp",
    "video_detail",
    "views",
    "watch",
    "what_if",
    "write_dry_run",
    "write_sidecar",
    "write_xmp_for",
    "write_xmp_if_enabled",
    "xmp_path",
]
