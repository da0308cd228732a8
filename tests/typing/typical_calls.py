"""Typical calls a script or notebook makes, checked by mypy (``scripts/test.sh``; ``tests/typing/test_mypy.py``).

Never run: each line only has to type-check, so a renamed parameter, a wrong keyword or a changed
result type in the public API fails the check.
"""

from __future__ import annotations

from pathlib import Path

import gaia


def typical(path: Path) -> None:
    folder = gaia.Folder(path)
    scan: gaia.ScanResult = folder.scan()
    records: list[gaia.VideoRecord] = list(scan.records)
    sets: list[gaia.KeyframeSet] = folder.keyframes(extract=False)
    est: gaia.Estimate = folder.estimate(model=gaia.DEFAULT_MODEL)
    total: float = est.scenario(gaia.HEADLINE_SCENARIO).total_usd
    plan: gaia.SubmissionPlan = folder.plan(limit=len(records) or None)
    why: str | None = gaia.cap_problem(plan.estimate_usd, 5.0)
    sent: gaia.SubmitResult = folder.submit(plan, max_cost_usd=5.0)
    now: gaia.OnlineResult = folder.run_now(max_cost_usd=1.0, concurrency=gaia.DEFAULT_CONCURRENCY)
    trial: gaia.TrialResult = folder.trial(n=2)
    got: gaia.RetrieveResult = folder.watch(poll_s=1.0, max_polls=3)
    batches: list[gaia.BatchStatus] = folder.status(refresh=False)
    again: gaia.SubmitResult = folder.retry(max_cost_usd=1.0)
    rows: gaia.Results = folder.results()
    spent: gaia.Spend = folder.spent()
    tuned: gaia.TuneResult = folder.tune(n=3, budget_usd=0.5, dry_run=True)
    xmp = folder.export_xmp()
    settings: gaia.RunSettings = folder.settings()
    folder.save_settings(settings)
    direct = gaia.plan_submission(path, settings, force=False, limit=2)
    gaia.submit(path, direct, None, dry_run_to=path / "dry.jsonl")
    print(sets, total, why, sent, now, trial, got, batches, again, rows.to_records(), spent, tuned, xmp)
    print(gaia.format.usd(total), gaia.views.results_metrics)
