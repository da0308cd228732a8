"""The public API: the names pages and the CLI may import from ``gaia``, pinned so a change is deliberate."""

from __future__ import annotations

import gaia

EXPECTED = {
    'BatchStatus',
    'Bill',
    'BillCsvError',
    'CACHE_TTLS',
    'EmptySaving',
    'empty_saving',
    'empty_scores',
    'folder_estimator',
    'measured_misses',
    'run_cascade',
    'plan_cascade',
    'CAMTRAP_VERSION',
    'ConfigResult',
    'TUNE_PRICES',
    'Verdict',
    'COUNTS_NOTE',
    'CSV_COLUMNS',
    'CamtrapDeployment',
    'Checkpoints',
    'DEFAULT_CONCURRENCY',
    'DEFAULT_FRAME_PRESET',
    'DEFAULT_MODEL',
    'DEFAULT_POLL_S',
    'DEFAULT_SAMPLE',
    'DEFAULT_TOLERANCE',
    'DEFAULT_TRIAL_VIDEOS',
    'DISK_FULL',
    'EmulatorConfig',
    'EmulatorHandle',
    'Estimate',
    'FRAME_PRESETS',
    'FailedRequest',
    'Folder',
    'FolderBusy',
    'FolderError',
    'HEADLINE_SCENARIO',
    'HttpFault',
    'KeyframeSet',
    'KeyframeSettings',
    'LOCK_WATCH',
    'LabelError',
    'MAX_CONCURRENCY',
    'MAX_FRAME_COUNT',
    'MAX_JPEG_QUALITY',
    'MAX_MAX_TOKENS',
    'MAX_TRIAL_VIDEOS',
    'MIN_JPEG_QUALITY',
    'MONEY_LABELS',
    'MissingApiKey',
    'ModelRow',
    'NO_CHECKPOINTS',
    'OnlineResult',
    'PriceFileError',
    'ProfileNotFound',
    'PromptProfile',
    'RESULTS_RETENTION_DAYS',
    'Results',
    'RetrieveResult',
    'RunSettings',
    'SCENARIOS',
    'SCENARIO_LABELS',
    'STRATEGIES',
    'ScanResult',
    'SidecarError',
    'Spend',
    'SubmissionPlan',
    'SubmitResult',
    'TOKEN_LABELS',
    'TOKEN_TYPES',
    'TokenCounts',
    'TrialResult',
    'TrialUndo',
    'TuneResult',
    'VideoRecord',
    'XMP_NAMINGS',
    '__version__',
    'adopt_config',
    'allowed_roots',
    'batch_statuses',
    'bill',
    'budget',
    'cached_keyframes',
    'cancel_batch',
    'cap_problem',
    'catalogue',
    'check_folder',
    'compare_models',
    'default_profile',
    'demo_folder_path',
    'demo_ready',
    'describe_error',
    'disk_full',
    'ensure_demo_folder',
    'estimate_now_usd',
    'estimate_folder',
    'estimate_run',
    'export_camtrap_dp',
    'extract_keyframes',
    'failures',
    'folder_prompt_tokens',
    'folder_spend',
    'format',
    'frame_preset',
    'image_tokens',
    'is_allowed',
    'is_video_name',
    'load_run_inputs',
    'make_client',
    'max_tokens_advice',
    'model_facts',
    'not_offered_reason',
    'other_ttl',
    'output_estimate',
    'plan_retry',
    'plan_run_now',
    'plan_submission',
    'prompt_tokens',
    'quality_for',
    'read_bill_csv',
    'read_sidecar',
    'refresh_status',
    'retrieve',
    'retry_failed',
    'retry_now',
    'run_choice',
    'run_now',
    'run_trial',
    'run_tune',
    'scan_folder',
    'schema_problems',
    'serve_forever',
    'start_emulator',
    'stored_quality',
    'subfolders',
    'submit',
    'thumbnails',
    'validate_camtrap_dp',
    'views',
    'watch',
    'what_if',
    'write_dry_run',
    'write_xmp_for',
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
