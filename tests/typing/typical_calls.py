"""Typical calls a script or notebook makes, checked by mypy (``scripts/test.sh``; ``tests/typing/test_mypy.py``).

Never run: each line only has to type-check, so a renamed parameter, a wrong keyword or a changed
result type in the public API fails the check.
"""

from __future__ import annotations

from pathlib import Path

import gaia


def typical(path: Path) -> None:
    folder = gaia.Folder(path, client=gaia.make_client())
    scan: gaia.ScanResult = folder.scan()
    records = list(scan.records)
    thumbs = folder.thumbnails(scan.usable)
    sets = folder.keyframes(extract=False, records=records)
    scores = folder.empty_scores(records, measure_missing=False)
    empty: dict[str, str] = folder.likely_empty(threshold=0.8)
    saving: gaia.EmptySaving = folder.empty_saving(list(empty))
    inputs = folder.inputs(model=gaia.limits.DEFAULT_MODEL)
    est: gaia.Estimate = folder.estimate(inputs=inputs, text_tokens=folder.prompt_tokens(inputs.profile, inputs.model))
    total: float = est.scenario(gaia.limits.HEADLINE_SCENARIO).total_usd
    priced: gaia.Estimate = folder.estimator(inputs, output_tokens=400)(inputs.selection.without(empty))
    rows: list[gaia.ModelRow] = folder.compare_models(inputs, output_tokens=800)
    cheaper = gaia.budget(2.0, est, inputs.sets)
    cascade = folder.cascade_estimate(*gaia.parse_cascade("claude-haiku-5-5:economy"), inputs=inputs)
    advice = folder.max_tokens_advice(inputs.profile.hash, inputs.model, gaia.limits.MAX_MAX_TOKENS)
    plan: gaia.SubmissionPlan = folder.plan(limit=len(records) or None, likely_empty=empty)
    why: str | None = gaia.cap_problem(plan.estimate_usd, 5.0)
    dry: int = folder.write_dry_run(plan, path / "dry.jsonl")
    sent: gaia.SubmitResult = folder.submit(plan, max_cost_usd=5.0)
    now_plan: gaia.SubmissionPlan = folder.plan_now(limit=1)
    choice = gaia.run_choice(now_plan, concurrency=gaia.limits.DEFAULT_CONCURRENCY)
    now: gaia.OnlineResult = folder.run_now(now_plan, max_cost_usd=1.0, concurrency=gaia.limits.DEFAULT_CONCURRENCY)
    two = folder.cascade("claude-haiku-5-5", "economy", max_cost_usd=1.0)
    undo: gaia.TrialUndo = folder.before_trial()
    trial: gaia.TrialResult = folder.trial(n=2, profile=gaia.default_profile())
    with folder.watching():
        got: gaia.RetrieveResult = folder.watch(poll_s=1.0, max_polls=3)
    batches: list[gaia.BatchStatus] = folder.status(refresh=False)
    canceled: gaia.BatchStatus = folder.cancel("msgbatch_1")
    fetched: gaia.RetrieveResult = folder.retrieve(batch_ids=["msgbatch_1"])
    again: gaia.SubmitResult = folder.retry(max_cost_usd=1.0, max_tokens=4096)
    again_now: list[gaia.OnlineResult] = folder.retry_now(request_ids=[1], max_cost_usd=1.0)
    retry_plans: list[gaia.SubmissionPlan] = folder.plan_retry()
    results: gaia.Results = folder.results()
    answer = folder.answer("a.mp4")
    spent: gaia.Spend = folder.spent()
    tuned: gaia.TuneResult = folder.tune(n=3, budget_usd=0.5, tolerance=gaia.limits.DEFAULT_TOLERANCE, dry_run=True)
    stored = folder.stored_tune()
    quality = folder.quality()
    if tuned.recommended is not None:
        adopted: gaia.RunSettings = folder.adopt(tuned.recommended.config)
        print(adopted)
    xmp = folder.export_xmp(naming="video")
    pkg = folder.export_camtrap(path / "pkg", deployment=gaia.CamtrapDeployment(51.0, 3.7))
    settings: gaia.RunSettings = folder.settings()
    folder.save_settings(settings)
    print(thumbs, sets, scores, saving, total, priced, rows, cheaper, cascade, advice, why, dry, sent, choice, now,
          two, undo, trial, got, batches, canceled, fetched, again, again_now, retry_plans, results.to_records(),
          answer, spent, stored, quality, xmp, pkg)
    print(gaia.format.usd(total), gaia.views.results_metrics, gaia.limits.FRAME_PRESETS)
