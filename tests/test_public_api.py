"""The public API: the names pages and the CLI may import from ``gaia``, pinned so a change is deliberate."""

from __future__ import annotations

import gaia

EXPECTED = {
    'ActualCost',
    'BatchStatus',
    'Bill',
    'BillCsvError',
    'BudgetResult',
    'CamtrapResult',
    'Catalogue',
    'DEFAULT_MODEL',
    'CamtrapDeployment',
    'Estimate',
    'EstimateCheck',
    'Explanation',
    'FailedRequest',
    'FieldView',
    'Folder',
    'FolderBusy',
    'FolderError',
    'History',
    'ImageTier',
    'Keyframe',
    'KeyframeSet',
    'KeyframeSettings',
    'LabelError',
    'Ledger',
    'MissingApiKey',
    'ModelFacts',
    'ModelRow',
    'OnlineResult',
    'OutputEstimate',
    'PlannedRequest',
    'ProbeInfo',
    'ProfileNotFound',
    'PromptProfile',
    'PromptTokens',
    'Reason',
    'ReasonKind',
    'RequestOutcome',
    'RequestProblem',
    'ResultRow',
    'RetrieveResult',
    'ReviewForm',
    'ReviewItem',
    'RunChoice',
    'RunInputs',
    'RunSettings',
    'SCENARIOS',
    'ScanResult',
    'Scenario',
    'Selection',
    'SidecarCollision',
    'SidecarError',
    'SkippedVideo',
    'SubmissionPlan',
    'SubmitResult',
    'TokenCounts',
    'TrialResult',
    'TrialVideo',
    'UsageCost',
    'Verified',
    'VideoDetail',
    'VideoRecord',
    'WhatIfPoint',
    'XmpError',
    'XmpResult',
    '__version__',
    'actual_cost',
    'allowed_roots',
    'batch_history',
    'batch_statuses',
    'bill',
    'budget',
    'build_request',
    'cached_keyframes',
    'cancel_batch',
    'catalogue',
    'check_folder',
    'clear_verified',
    'compare_models',
    'compare_to_estimate',
    'confirm_fields',
    'custom_id_for',
    'default_profile',
    'demo_folder_path',
    'demo_ready',
    'describe_error',
    'effective_analysis',
    'ensure_demo_folder',
    'estimate_defaults',
    'estimate_run',
    'export_camtrap_dp',
    'extract_keyframes',
    'failures',
    'filter_rows',
    'fit_to_tier',
    'frame_tokens',
    'history',
    'image_tokens',
    'is_allowed',
    'iter_analyses_jsonl',
    'load_results',
    'load_run_inputs',
    'make_client',
    'model_facts',
    'parse_answer',
    'plan_intents',
    'plan_retry',
    'plan_run_now',
    'plan_submission',
    'price_tokens',
    'probe_file',
    'prompt_tokens',
    'read_bill_csv',
    'read_sidecar',
    'read_verified',
    'reconcile',
    'record_message',
    'recover_interrupted',
    'refresh_status',
    'retrieve',
    'retry_failed',
    'retry_now',
    'review_form',
    'review_queue',
    'rows_csv',
    'run_choice',
    'run_now',
    'run_trial',
    'save_review',
    'save_verified',
    'scan_folder',
    'schema_problems',
    'sidecar_path',
    'sidecar_state',
    'subfolders',
    'submit',
    'thumbnails',
    'usage_cost',
    'validate_camtrap_dp',
    'video_detail',
    'watch',
    'what_if',
    'write_dry_run',
    'write_sidecar',
    'write_xmp_for',
    'write_xmp_if_enabled',
    'xmp_path',
}


def test_public_names_are_exactly_the_curated_ones():
    assert set(gaia.__all__) == EXPECTED
    assert len(gaia.__all__) == len(EXPECTED)  # no name listed twice


def test_every_public_name_exists_and_public_functions_are_typed_and_documented():
    import inspect

    for name in gaia.__all__:
        obj = getattr(gaia, name)
        if inspect.isfunction(obj):
            assert obj.__doc__, f"gaia.{name} has no docstring"
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, f"gaia.{name} has no return type"
            for p in sig.parameters.values():
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    assert p.annotation is not inspect.Parameter.empty, f"gaia.{name}({p.name}) is untyped"


def test_every_module_opens_with_a_docstring():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("gaia/**/*.py"), *root.glob("pages/*.py"), root / "app.py", *root.glob("bench/*.py")]
    missing = [str(f.relative_to(root)) for f in files if not ast.get_docstring(ast.parse(f.read_text()))]
    assert not missing, missing
