"""Views only read: building every page's view models on an analysed folder leaves it byte-identical.

The folder has answers (a batch through the emulator), failures, a ledger, keyframes and human
labels. The thumbnails the Results table shows are made by ``gaia.media`` (a cache); they are made
once first, so what is checked is that the view models themselves write nothing.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import gaia
from gaia import views as V
from gaia.runs.batch import submit
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.runs.status import batch_statuses, refresh_status
from gaia.settings import RunSettings

NAMES = ["a.mp4", "sub/b c.mp4", "d.mp4"]


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _render_everything(folder: Path) -> int:
    """Every view model a page builds for ``folder``; how many were built."""
    f = gaia.Folder(folder)
    rows = V.load_results(folder)
    built = [rows, V.results_metrics(rows), V.facets(rows), V.table_records(rows, None),
             V.rows_csv(rows), "".join(V.iter_analyses_jsonl(folder, rows)),
             V.batch_costs(folder), V.batch_timings(folder), V.folder_token(folder), V.spent_metric(folder),
             V.verified_labels(folder), V.where_files_go(folder), V.review_queue(folder),
             V.profile_outputs(folder, f.settings().model)]
    statuses = batch_statuses(folder)
    built += [V.batch_metrics(statuses), *(V.card_metrics(s) for s in statuses)]
    for r in rows:
        built += [V.video_detail(folder, r.rel_path), V.review_form(folder, r.rel_path), V.thumbnail_url(folder, r)]
        if r.set_id:
            built.append(V.frames_of(folder, r.set_id))
    return len(built)


def test_rendering_every_view_model_changes_no_file(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    emulator.update_config(errored_rate=0.34, seed=1)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert submit(folder, plan, anthropic_client).ok
    deadline = time.monotonic() + 15
    while any(s.running for s in refresh_status(folder, anthropic_client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    retrieve(folder, anthropic_client)
    answered = [r.rel_path for r in V.load_results(folder) if r.status == "analysed"]
    assert answered and failures(folder)  # both kinds of row are rendered
    gaia.Folder(folder).save_review(answered[0], {"summary": "Checked by a person."})
    _render_everything(folder)  # makes the thumbnail cache (gaia.media) once

    before = _snapshot(folder)
    assert _render_everything(folder) > 20
    assert _snapshot(folder) == before
