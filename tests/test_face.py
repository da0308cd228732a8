"""The face: ``gaia.Folder(path, client)`` runs the product's operations by its verbs (against the emulator),
is itself a working folder every function accepts, and shows as HTML in Jupyter."""

from __future__ import annotations

from dataclasses import replace

import gaia
from gaia.emulator import HttpFault
from gaia.exports.xmp import xmp_path


def test_the_verbs_from_scan_to_export(make_folder, emulator, anthropic_client, tmp_path):
    path = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "testsrc"})
    folder = gaia.Folder(path, client=anthropic_client)
    folder.save_settings(folder.settings().with_keyframes(count=2))
    assert gaia.Folder.of(folder) is folder and gaia.Folder.of(path) == folder  # one working folder
    assert [r.rel_path for r in folder.scan().records] == ["a.mp4", "b.mp4", "c.mp4"]
    assert all(k.frames for k in folder.keyframes())
    assert folder.estimate().videos == 3 and "<table>" in folder.estimate()._repr_html_()
    assert folder.tune(n=2, dry_run=True).results  # priced, nothing sent
    assert emulator.calls.get("messages.create", 0) == 0

    undo = folder.before_trial()
    trial = folder.trial(n=1, max_cost_usd=1.0)
    assert trial.blocked is None and trial.run.succeeded == 1
    assert undo.discard([v.rel_path for v in trial.videos]) == 1  # the trial's answer taken back

    emulator.update_config(http_faults=[HttpFault(route="messages.create", status=529, count=None, retry_after=0)])
    failed = folder.run_now(folder.plan_now(limit=1), max_cost_usd=1.0)
    assert failed.failed == 1 and len(folder.failures()) == 1
    emulator.update_config(http_faults=[])
    (again,) = folder.retry_now(max_cost_usd=1.0)
    assert again.succeeded == 1 and folder.failures() == []

    sent = folder.submit(max_cost_usd=1.0)
    assert sent.ok and sent.sent == 2 and [s.running for s in folder.status(refresh=False)] == [True]
    got = folder.watch(poll_s=0.1, max_polls=200)
    assert got.written == 2 and folder.retrieve().written == 0  # nothing twice
    results = folder.results()
    assert [r.status for r in results] == ["analysed"] * 3 and len(results.to_dataframe()) == 3
    assert "<table>" in results._repr_html_() and results.to_csv().startswith("video,")
    assert folder.spent().total_usd > 0 and "spent" in folder._repr_html_()

    folder.save_review("a.mp4", {"summary": "Checked."})
    assert gaia.views.load_results(path)[0].verified == ("summary",)
    assert len(folder.export_xmp().written) == 3 and xmp_path(path / "a.mp4").exists()
    assert folder.export_camtrap(tmp_path / "pkg").out_dir.exists()


def test_paid_verbs_refuse_a_cap_they_cannot_check(make_folder, emulator, anthropic_client):
    folder = gaia.Folder(make_folder({"a.mp4": "testsrc"}), client=anthropic_client)
    folder.save_settings(replace(folder.settings(), max_tokens=1024))
    folder.keyframes()
    assert "not a usable amount" in (folder.submit(max_cost_usd=float("nan")).blocked or "")
    assert "not a usable amount" in (folder.run_now(max_cost_usd=-1.0).blocked or "")
    assert sum(emulator.calls.get(r, 0) for r in ("messages.create", "batches.create")) == 0


def test_the_model_comparison_prices_what_the_estimate_prices(make_folder, emulator, anthropic_client):
    path = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "testsrc"})
    folder = gaia.Folder(path, client=anthropic_client)
    folder.save_settings(replace(folder.settings().with_keyframes(count=2), max_tokens=1024))
    folder.keyframes()
    assert folder.run_now(folder.plan_now(limit=1), max_cost_usd=1.0).succeeded == 1  # one video analysed
    est = gaia.Folder(path).estimate()
    assert est.videos == 2 and est.done == 1
    rows = {r.model: r for r in gaia.Folder(path).compare_models()}
    own = rows[folder.settings().model]
    # The folder's own model's row is the estimate's figure: analysed videos out, the folder's answer limit.
    assert own.usd[gaia.limits.HEADLINE_SCENARIO] == est.scenario(gaia.limits.HEADLINE_SCENARIO).total_usd
    assert own.relative == 1.0
