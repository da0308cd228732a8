"""gaia.views: result rows from sidecars and the ledger, filters, facets, exports, one video, page helpers."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import gaia
from gaia.media.keyframes import THUMB_EDGE, THUMBS_DIR, extract_keyframes
from gaia.runs.batch import submit as submit_batch
from gaia.runs.failures import failures
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.runs.status import batch_statuses, refresh_status
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, write_sidecar
from gaia.views import detail as D
from gaia.views import exports as E
from gaia.views import progress as P
from gaia.views import results as R
from gaia.views import submit as S


def _analysis(summary: str, species: list[tuple[str, int]], tags: list[str]) -> dict:
    return {"summary": summary, "tags": tags,
            "subjects": [{"species": s, "scientific_name": "", "count": n, "description": ""} for s, n in species]}


def _record(rel: str, problem: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(rel_path=rel, usable=problem is None, problem=problem)


def _sidecar(folder: Path, rel: str, analysis: dict, **run) -> None:
    video = folder / rel
    video.parent.mkdir(parents=True, exist_ok=True)
    video.touch()
    write_sidecar(video, {"analysis": analysis, "run": {"model": "claude-sonnet-4-6", "cost_usd": 0.01,
                                                        "analysed_at": "2026-11-24T10:00:00+00:00", **run}})


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list]:
    folder = tmp_path / "lib"
    _sidecar(folder, "cats/tom.mp4", _analysis("Two cats on a sofa.", [("domestic cat", 2)], ["Cat", "sofa", "cat"]))
    _sidecar(folder, "garden/fox.mp4", _analysis("A red fox at night.", [("red fox", 1)], ["fox", "night", "garden"]),
             model="claude-haiku-4-5", cost_usd=0.002)
    _sidecar(folder, "garden/dog.mp4", _analysis("=HYPERLINK(\"http://x\") a dog", [("dog", 1), ("domestic cat", 1)],
                                                 ["dog", "garden"]))
    (folder / "new.mp4").touch()
    (folder / "odd.mp4").touch()
    (folder / "odd.gaia.json").write_text("{not json")
    records = [_record("cats/tom.mp4"), _record("garden/fox.mp4"), _record("garden/dog.mp4"), _record("new.mp4"),
               _record("odd.mp4"), _record("broken.mp4", "damaged")]
    return folder, records


def test_rows_from_sidecars_with_every_status(library):
    folder, records = library
    rows = {r.rel_path: r for r in R.load_results(folder, records)}
    assert [r for r in rows] == sorted(rows)
    tom = rows["cats/tom.mp4"]
    assert tom.status == "analysed" and tom.summary == "Two cats on a sofa."
    assert tom.subjects == "2 × domestic cat" and tom.species == ("domestic cat",)
    assert tom.tags == ("Cat", "sofa", "cat")  # spelled as written, exact duplicates dropped, in order
    assert tom.cost_usd == 0.01 and tom.model == "claude-sonnet-4-6"
    assert rows["garden/dog.mp4"].subjects == "dog, domestic cat"
    assert rows["new.mp4"].status == "not analysed"
    assert rows["odd.mp4"].status == "failed" and "cannot be read" in rows["odd.mp4"].error
    assert rows["broken.mp4"].status == "unusable" and rows["broken.mp4"].error == "damaged"


def test_the_results_figures_add_up_to_the_folders_videos(library):
    """Issue 15 item 3: "Analysed 6 of 8 · Failed 0 · In flight 0 · Not analysed 0" hid the 2 unusable files."""
    folder, records = library
    figures = {m.label: m.value for m in R.results_metrics(R.load_results(folder, records))}
    parts = ("Analysed", "Failed", "In flight", "Not analysed", "Unusable")
    assert [figures[p] for p in parts] == ["3", "1", "0", "1", "1"]  # every status shown, zero or not
    assert sum(int(figures[p]) for p in parts) == int(figures["Videos"]) == len(records)


def test_rows_survive_an_edited_schema(tmp_path):
    folder = tmp_path / "v"
    _sidecar(folder, "a.mp4", {"caption": "Just a caption", "subjects": ["heron", 3, None], "tags": "not-a-list"})
    _sidecar(folder, "b.mp4", {"count": 3})
    rows = {r.rel_path: r for r in R.load_results(folder, [_record("a.mp4"), _record("b.mp4")])}
    assert rows["a.mp4"].summary == "Just a caption" and rows["a.mp4"].species == ("heron",)
    assert rows["a.mp4"].tags == ()
    assert rows["b.mp4"].status == "analysed" and rows["b.mp4"].summary == ""


def test_filters_and_search(library):
    folder, records = library
    rows = R.load_results(folder, records)
    fields = {f.path: f for f in R.results_facets(folder)}
    tags, species = fields["tags"], fields["subjects[].species"]

    def names(**kw):
        return [r.rel_path for r in R.filter_rows(rows, **kw)]

    assert len(names()) == len(rows)
    assert names(statuses=["analysed"]) == ["cats/tom.mp4", "garden/dog.mp4", "garden/fox.mp4"]
    assert names(chosen={tags: ["garden"]}) == ["garden/dog.mp4", "garden/fox.mp4"]
    assert names(chosen={tags: ["garden", "night"]}) == ["garden/fox.mp4"]  # every tag chosen
    assert names(chosen={species: ["Domestic Cat", "red fox"]}) == ["cats/tom.mp4", "garden/dog.mp4", "garden/fox.mp4"]
    assert names(models=["claude-haiku-4-5"]) == ["garden/fox.mp4"]
    assert names(text="SOFA cats") == ["cats/tom.mp4"]  # every word, case-insensitive
    assert names(text="garden night") == ["garden/fox.mp4"]  # path and analysis together
    assert names(text="damaged") == ["broken.mp4"]  # errors are searchable too
    assert names(text="zebra") == []
    assert names(statuses=["analysed"], chosen={tags: ["garden"]}, text="dog") == ["garden/dog.mp4"]


def test_facets_and_totals(library):
    folder, records = library
    rows = R.load_results(folder, records)
    fields = R.results_facets(folder)
    assert {"tags", "subjects[].species", "confidence", "people_present"} <= {f.path for f in fields}  # the schema's
    f = R.facets(rows, fields)
    assert f["status"] == [("analysed", 3), ("failed", 1), ("not analysed", 1), ("unusable", 1)]
    assert f["tags"][0] == ("garden", 2)
    assert dict(f["subjects[].species"])["domestic cat"] == 2
    assert dict(f["model"]) == {"claude-sonnet-4-6": 2, "claude-haiku-4-5": 1}
    t = R.totals(rows)
    assert t["analysed"] == 3 and t["videos"] == 6
    assert t["cost_usd"] == pytest.approx(0.022) and t["mean_cost_usd"] == pytest.approx(0.022 / 3)


def test_csv_export_rows_columns_and_formula_guard(library):
    folder, records = library
    tags = next(f for f in R.results_facets(folder) if f.path == "tags")
    rows = R.filter_rows(R.load_results(folder, records), chosen={tags: ["garden"]})
    got = list(csv.DictReader(io.StringIO(E.rows_csv(rows))))
    assert list(got[0]) == list(E.CSV_COLUMNS)
    assert [r["video"] for r in got] == ["garden/dog.mp4", "garden/fox.mp4"]
    assert got[0]["summary"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert got[0]["species"] == '["dog", "domestic cat"]' and got[1]["tags"] == '["fox", "night", "garden"]'
    assert float(got[1]["cost_usd"]) == pytest.approx(0.002)


def test_jsonl_export_streams_analysed_rows_only(library):
    folder, records = library
    rows = R.load_results(folder, records)
    lines = [json.loads(x) for x in E.iter_analyses_jsonl(folder, rows)]
    assert [x["video"] for x in lines] == ["cats/tom.mp4", "garden/dog.mp4", "garden/fox.mp4"]
    assert lines[2]["analysis"]["summary"] == "A red fox at night." and lines[2]["run"]["model"] == "claude-haiku-4-5"
    assert E.analyses_jsonl(folder, rows) == "".join(E.iter_analyses_jsonl(folder, rows))


def test_helpers_for_the_pages():
    running = SimpleNamespace(running=True)
    ended = SimpleNamespace(running=False)
    assert P.refresh_interval([ended, ended]) is None
    assert P.refresh_interval([ended, running]) == P.POLL_API_S
    assert P.refresh_interval([running], emulator=True) == P.POLL_EMULATOR_S


def test_whole_cycle_rows_detail_thumbnail_and_history(tmp_path, fake_ksets, anthropic_client, emulator):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "sub/b.mp4", "c.mp4"], frames=3)
    emulator.update_config(errored_rate=0.34, seed=1)
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    submit_batch(folder, plan, anthropic_client)
    deadline = time.monotonic() + 15
    while any(s.running for s in refresh_status(folder, anthropic_client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    got = retrieve(folder, anthropic_client)
    assert got.written and got.failed

    records = [_record(k.rel_path) for k in ksets]
    rows = {r.rel_path: r for r in R.load_results(folder, records)}
    failed = {f.rel_path: f for f in failures(folder)}
    assert {r for r, row in rows.items() if row.status == "failed"} == set(failed)
    for rel, f in failed.items():
        assert rows[rel].error == f.reason and rows[rel].batch_id == f.batch_id
    ok = next(r for r in rows.values() if r.status == "analysed")
    assert ok.batch_id and ok.custom_id and len(ok.timestamps) == 3 and ok.cost_usd > 0

    # The frames the sidecar names are not in GAIA's frame cache (fake sets live elsewhere): the detail says so.
    d = D.video_detail(folder, ok.rel_path)
    assert d.analysis == read_sidecar(folder / ok.rel_path)["analysis"]
    assert d.run.custom_id == ok.custom_id and [a["status"] for a in d.attempts] == ["succeeded"]
    assert d.frames == () and "no longer in GAIA's frame cache" in d.frames_note

    timings = P.batch_timings(folder)
    assert len(timings) == 1 and timings[0].requests == 3 and timings[0].seconds >= 0
    costs = P.batch_costs(folder)
    assert len(costs) == 1 and costs[0].actual_usd > 0 and costs[0].estimate_usd is not None


def test_the_cost_chart_compares_the_estimate_of_the_processed_requests_only(tmp_path, fake_ksets, anthropic_client,
                                                                              emulator):
    """Issue 15 item 6: after a cancel, a 2-request estimate stood against a 1-request actual."""
    folder = tmp_path / "v"
    plan = plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4", "b.mp4"]))
    submit_batch(folder, plan, anthropic_client)
    deadline = time.monotonic() + 15
    while any(s.running for s in refresh_status(folder, anthropic_client)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    retrieve(folder, anthropic_client)
    (whole,) = P.batch_costs(folder)
    with gaia.Folder(folder).ledger() as ledger:  # as if the batch had been canceled before b.mp4 was processed
        ledger._conn.execute("UPDATE requests SET status='failed', error_kind='canceled', cost_usd=NULL "
                             "WHERE rel_path='b.mp4'")
    (cut,) = P.batch_costs(folder)
    assert cut.estimate_usd == pytest.approx(whole.estimate_usd / 2)
    assert cut.actual_usd < whole.actual_usd


def test_detail_frames_and_thumbnail_from_the_frame_cache(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    s = gaia.Folder(folder).settings()
    (kset,) = extract_keyframes(folder, settings=s.keyframes, model=s.model)
    sent = [kset.frames[0].timestamp, kset.frames[-1].timestamp]
    _sidecar(folder, "a.mp4", _analysis("x", [], []), keyframe_set=kset.set_id, keyframe_timestamps=sent)
    d = D.video_detail(folder, "a.mp4")
    assert [f.timestamp for f in d.frames] == sorted(sent) and all(f.path.is_file() for f in d.frames)
    (row,) = R.load_results(folder, [_record("a.mp4")])
    url = D.thumbnail_url(folder, row)
    assert url and url.startswith("data:image/jpeg;base64,")
    from PIL import Image

    thumb = next((gaia.Folder(folder).workdir / THUMBS_DIR).glob("frame-*.jpg"))
    with Image.open(thumb) as im:
        assert max(im.size) <= THUMB_EDGE
    assert D.thumbnail_url(folder, R.ResultRow("b.mp4", "not analysed")) is None


def test_folder_token_changes_with_the_ledger_and_settings(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"])
    before = S.folder_token(folder)
    gaia.Folder(folder).save_settings(RunSettings().with_keyframes(count=3))
    after_settings = S.folder_token(folder)
    assert after_settings != before
    submit_batch(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client)
    assert S.folder_token(folder) != after_settings


def test_progress_figures_while_nothing_has_ended(tmp_path, fake_ksets, anthropic_client, emulator):
    """Issue 15 item 6: "Results retrieved 0 of 0 ended" while a batch runs."""
    emulator.update_config(batch_delay_s=60)
    folder = tmp_path / "v"
    submit_batch(folder, plan_submission(folder, RunSettings(), keyframe_sets=fake_ksets(folder, ["a.mp4"])),
                anthropic_client)
    figures = {m.label: m.value for m in P.batch_metrics(batch_statuses(folder))}
    assert figures["Running"] == "1" and figures["Results retrieved"] == "none ended yet"


def test_facets_come_from_the_folders_schema_not_from_fixed_names(tmp_path):
    from dataclasses import replace

    from gaia.prompts import PromptProfile

    folder = tmp_path / "birds"
    schema = {"type": "object", "additionalProperties": False, "required": ["summary", "habitat", "colours"],
              "properties": {"summary": {"type": "string"},
                             "habitat": {"type": "string", "enum": ["wetland", "forest"]},
                             "colours": {"type": "array", "items": {"type": "string"}}}}
    f = gaia.Folder(folder)
    folder.mkdir()
    f.save_profile(PromptProfile("birds", "Describe the bird.", schema, "Answer."))
    f.save_settings(replace(f.settings(), prompt_profile="birds"))
    _sidecar(folder, "heron.mp4", {"summary": "A heron.", "habitat": "wetland", "colours": ["Grey", "white"]})
    _sidecar(folder, "jay.mp4", {"summary": "A jay.", "habitat": "forest", "colours": ["blue", "white"]})
    fields = {fc.path: fc for fc in R.results_facets(folder)}
    assert set(fields) == {"habitat", "colours"} and fields["colours"].every and not fields["habitat"].every
    rows = R.load_results(folder)
    counts = R.facets(rows, list(fields.values()))
    assert dict(counts["colours"]) == {"white": 2, "grey": 1, "blue": 1} and "tags" not in counts
    shown = R.filter_rows(rows, chosen={fields["colours"]: ["white", "grey"]})
    assert [r.rel_path for r in shown] == ["heron.mp4"]
    assert [r.rel_path for r in R.filter_rows(rows, chosen={fields["habitat"]: ["forest", "desert"]})] == ["jay.mp4"]


def test_a_video_never_sent_keeps_no_search_text_and_is_found_by_its_path(make_folder):
    """Most of a 100,000-video folder is not sent yet: such a row holds no text of its own for the search, which
    still finds it by its path (any case) and a failed one by its error too."""
    folder = make_folder({"Cam A/Clip One.mp4": "testsrc", "b.mp4": "text"})
    rows = {r.rel_path: r for r in R.load_results(folder)}
    plain, bad = rows["Cam A/Clip One.mp4"], rows["b.mp4"]
    assert plain.search_text == "" and plain.searched_text == "cam a/clip one.mp4"
    assert R.filter_rows(rows.values(), text="clip ONE") == [plain]
    assert R.filter_rows(rows.values(), text="cam a/clip one.mp4") == [plain]
    assert bad.searched_text.startswith("b.mp4 ") and R.filter_rows(rows.values(), text="holds text") == [bad]
    assert R.filter_rows(rows.values(), text="b.mp4 text") == [bad]
