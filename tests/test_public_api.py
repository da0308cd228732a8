"""The public API: the names pages and the CLI may import from ``gaia``, pinned so a change is deliberate."""

from __future__ import annotations

import gaia

EXPECTED = {
    'ActualCost',
    'BatchStatus',
    'Bill',
    'BillCsvError',
    'BudgetResult',
    'Catalogue',
    'DEFAULT_MODEL',
    'Estimate',
    'EstimateCheck',
    'Explanation',
    'FailedRequest',
    'Folder',
    'FolderBusy',
    'FolderError',
    'History',
    'ImageTier',
    'Keyframe',
    'KeyframeSet',
    'KeyframeSettings',
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
    'RequestOutcome',
    'RequestProblem',
    'ResultRow',
    'RetrieveResult',
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
    'VideoDetail',
    'VideoRecord',
    'WhatIfPoint',
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
    'compare_models',
    'compare_to_estimate',
    'custom_id_for',
    'default_profile',
    'demo_folder_path',
    'demo_ready',
    'describe_error',
    'ensure_demo_folder',
    'estimate_defaults',
    'estimate_run',
    'extract_keyframes',
    'failures',
    'filter_rows',
    'fit_to_tier',
    'frame_tokens',
    'history',
    'image_tokens',
    'is_allowed',
    'load_results',
    'load_run_inputs',
    'make_client',
    'model_facts',
    'not_offered_reason',
    'offered_models',
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
    'reconcile',
    'record_message',
    'recover_interrupted',
    'refresh_status',
    'retrieve',
    'retry_failed',
    'retry_now',
    'run_choice',
    'run_now',
    'run_trial',
    'scan_folder',
    'schema_problems',
    'sidecar_path',
    'sidecar_state',
    'subfolders',
    'submit',
    'thumbnails',
    'usage_cost',
    'video_detail',
    'watch',
    'what_if',
    'write_dry_run',
    'write_sidecar',
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
