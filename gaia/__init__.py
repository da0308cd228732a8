"""GAIA: a folder of videos in, one structured Claude analysis per video out, at batch prices.

This is the public API the app's pages and the CLI use; its names are pinned by
``tests/test_public_api.py``. GAIA never imports Streamlit.

Names are imported on first use (PEP 562 ``__getattr__``), so a process that needs one part
(a keyframe worker, ``gaia --help``) does not pay for the rest: ``_EXPORTS`` maps each module to
the names it gives the API, and ``gaia.views`` and ``gaia.format`` are the two public submodules.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("format", "views")
_EXPORTS: dict[str, tuple[str, ...]] = {
    "gaia.api.answers": ("parse_answer",),
    "gaia.api.client": ("MissingApiKey", "describe_error", "make_client"),
    "gaia.api.requests": ("build_request", "custom_id_for"),
    "gaia.api.validate": ("RequestProblem",),
    "gaia.emulator": ("EmulatorConfig", "start_emulator"),
    "gaia.exports.camtrap": ("CamtrapDeployment", "CamtrapResult", "export_camtrap_dp", "validate_camtrap_dp"),
    "gaia.exports.xmp": ("XmpError", "XmpResult", "write_xmp_for", "write_xmp_if_enabled", "xmp_path"),
    "gaia.facts": (
        "BATCH_EXPIRY_HOURS", "CACHE_TTLS", "DEFAULT_MODEL", "RESULTS_RETENTION_DAYS", "Catalogue", "ImageTier",
        "ModelFacts", "PriceFileError", "catalogue", "estimate_defaults", "fit_to_tier", "image_tokens", "model_facts",
        "not_offered_reason", "offered_models",
    ),
    "gaia.folder": ("Folder", "FolderBusy"),
    "gaia.labels": (
        "LabelError", "Verified", "clear_verified", "confirm_fields", "effective_analysis", "read_verified",
        "save_verified",
    ),
    "gaia.ledger": ("Ledger",),
    "gaia.media.demo": ("demo_folder_path", "demo_ready", "ensure_demo_folder"),
    "gaia.media.keyframes": ("Keyframe", "KeyframeSet", "cached_keyframes", "extract_keyframes", "thumbnails"),
    "gaia.media.probe": ("ProbeInfo", "probe_file"),
    "gaia.media.scan": (
        "FolderError", "ScanResult", "VideoRecord", "check_folder", "is_allowed", "is_video_name", "scan_folder",
        "subfolders",
    ),
    "gaia.pricing.bill": ("Bill", "BillCsvError", "bill", "read_bill_csv"),
    "gaia.pricing.estimate": ("Assumptions", "Estimate", "estimate_run"),
    "gaia.pricing.explain": ("Explanation",),
    "gaia.pricing.history": ("History", "history"),
    "gaia.pricing.inputs": ("RunInputs", "estimate_folder", "folder_prompt_tokens", "load_run_inputs"),
    "gaia.pricing.limits": ("LimitVerdict", "MaxTokensAdvice", "max_tokens_advice"),
    "gaia.pricing.models": ("ModelRow", "compare_models"),
    "gaia.pricing.output": ("OutputEstimate", "output_estimate"),
    "gaia.pricing.presets": ("PresetCost", "preset_costs"),
    "gaia.pricing.run": ("MONEY_LABELS",),
    "gaia.pricing.scenarios": ("SCENARIO_LABELS", "SCENARIOS", "Scenario"),
    "gaia.pricing.spent": ("ActualCost", "EstimateCheck", "actual_cost", "compare_to_estimate"),
    "gaia.pricing.tokens": ("PromptTokens", "frame_tokens", "prompt_tokens"),
    "gaia.pricing.usage": ("TOKEN_LABELS", "TOKEN_TYPES", "TokenCounts", "UsageCost", "price_tokens", "usage_cost"),
    "gaia.pricing.whatif": ("BudgetResult", "WhatIfPoint", "budget", "what_if"),
    "gaia.prompts": ("ProfileNotFound", "PromptProfile", "compact_profile", "default_profile", "schema_problems"),
    "gaia.quality.ladder": ("SchemaProfile", "TuneConfig", "default_ladder"),
    "gaia.quality.runner": ("ApiTuneRunner", "TuneAnswers", "TuneRunner"),
    "gaia.quality.sample": ("DEFAULT_SAMPLE", "Sample", "pick_sample"),
    "gaia.quality.scoring": ("FieldKind", "FieldScore", "ScoreCard", "fields_of", "score_answers"),
    "gaia.quality.tune": (
        "DEFAULT_TOLERANCE", "ConfigResult", "TuneResult", "adopt_config", "quality_for", "run_tune", "stored_quality",
    ),
    "gaia.runs.batch": ("SubmitResult", "reconcile", "submit", "write_dry_run"),
    "gaia.runs.checkpoints": ("Checkpoint", "Checkpoints"),
    "gaia.runs.failures": ("FailedRequest", "failures", "plan_retry", "retry_failed"),
    "gaia.runs.guard": ("cap_problem",),
    "gaia.runs.now": ("OnlineResult", "estimate_now_usd", "retry_now", "run_now"),
    "gaia.runs.plan": ("PlannedRequest", "SkipKind", "SkippedVideo", "SubmissionPlan", "build_plan", "plan_intents"),
    "gaia.runs.recorder": ("RequestOutcome", "record_message"),
    "gaia.runs.recovery": ("Prepared", "plan_run_now", "plan_submission", "prepare", "recover_interrupted"),
    "gaia.runs.retrieve": ("DEFAULT_POLL_S", "RetrieveResult", "retrieve", "watch"),
    "gaia.runs.status": (
        "COUNTS_NOTE", "BatchStatus", "StatusError", "batch_history", "batch_statuses", "cancel_batch", "ledger_events",
        "refresh_status",
    ),
    "gaia.runs.trial": (
        "DEFAULT_TRIAL_VIDEOS", "MAX_TRIAL_VIDEOS", "RunChoice", "TrialResult", "TrialVideo", "run_choice", "run_trial",
    ),
    "gaia.settings": (
        "DEFAULT_CONCURRENCY", "DEFAULT_FRAME_PRESET", "FRAME_COUNT_STEPS", "FRAME_PRESET_NAMES", "FRAME_PRESETS",
        "MAX_CONCURRENCY", "MAX_EDGE_STEPS", "MAX_FRAME_COUNT", "MAX_JPEG_QUALITY", "MAX_MAX_TOKENS",
        "MIN_JPEG_QUALITY", "STRATEGIES", "FramePreset", "KeyframeSettings", "RunSettings", "Selection",
        "allowed_roots", "frame_preset",
    ),
    "gaia.sidecar": (
        "SidecarCollision", "SidecarError", "read_sidecar", "sidecar_path", "sidecar_state", "write_sidecar",
    ),
    "gaia.views.detail": ("VideoDetail", "video_detail"),
    "gaia.views.exports": ("iter_analyses_jsonl", "rows_csv"),
    "gaia.views.results": ("ResultRow", "filter_rows", "load_results"),
    "gaia.views.review": (
        "FieldView", "Reason", "ReasonKind", "ReviewForm", "ReviewItem", "review_form", "review_queue", "save_review",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_SUBMODULES, *_HOME]


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module like an ordinary import."""
    if name in _SUBMODULES:
        value = importlib.import_module(f"gaia.{name}")
    elif name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    else:
        raise AttributeError(f"module 'gaia' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the module's own, as ``dir(gaia)`` shows them."""
    return sorted({*globals(), *__all__})
