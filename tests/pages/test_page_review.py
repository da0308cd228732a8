"""The Results page's Review and Export tabs: correct a field in the queue, save it verified, export it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import gaia
from gaia.labels import effective_analysis, read_verified
from gaia.media.keyframes import extract_keyframes
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.sidecar import read_sidecar, write_sidecar
from gaia.views import iter_analyses_jsonl, load_results, review_queue, rows_csv

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "6_Results.py")


@pytest.fixture
def analysed(make_folder, emulator, monkeypatch) -> Path:
    """Two videos analysed through the emulator; the first one's answer made uncertain."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    folder = make_folder({"cat.mp4": "testsrc", "dog.mov": "mov"})
    f = gaia.Folder(folder)
    f.save_settings(f.settings().with_keyframes(count=2))
    extract_keyframes(folder, settings=f.settings().keyframes, model=f.settings().model)
    client = emulator.client(max_retries=0)
    assert submit(folder, plan_submission(folder), client).ok
    emulator.advance_clock(3600)
    retrieve(folder, client)
    data = read_sidecar(folder / "cat.mp4")
    analysis = {**data["analysis"], "confidence": "low",
                "setting": {**data["analysis"]["setting"], "environment": "unknown"}}
    write_sidecar(folder / "cat.mp4", {"analysis": analysis})
    return folder


def save(at: AppTest):
    """The form's "Save as verified" button."""
    return next(b for b in at.button if b.label == "Save as verified")


def page(folder: Path, section: str = "review") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["folder"] = str(folder)
    at.session_state["results_section"] = section  # the Results page shows one section at a time
    return at.run()


def test_correct_a_field_in_the_queue_and_see_it_verified_and_exported(analysed):
    at = page(analysed)
    assert not at.exception
    queue = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert queue["video"].iloc[0] == "cat.mp4" and "low confidence" in queue["why"].iloc[0]
    assert at.selectbox(key="review_video").value == "cat.mp4"
    env = at.selectbox(key="review::cat.mp4::setting.environment")
    assert env.value == "unknown"
    env.set_value("outdoor")
    save(at).click().run()
    assert not at.exception
    assert any("as verified" in s.value for s in at.success)
    verified = read_verified(analysed / "cat.mp4")
    assert verified is not None and verified.fields["setting.environment"] == "outdoor"
    assert effective_analysis(read_sidecar(analysed / "cat.mp4"))["setting"]["environment"] == "outdoor"
    # every field of the form was checked by a person: the video leaves the queue
    queue_now = [d.value for d in at.dataframe if "why" in d.value.columns]
    assert not queue_now or "cat.mp4" not in set(queue_now[0]["video"])
    assert "cat.mp4" not in [it.rel_path for it in review_queue(analysed)]
    jsonl = "".join(iter_analyses_jsonl(analysed, load_results(analysed)))
    assert '"environment": "outdoor"' in jsonl
    assert "setting.environment" in rows_csv(load_results(analysed))


def test_the_form_fits_each_field_and_shows_the_frames_beside_it(analysed):
    """Issue 26 item 5: no raw JSON. Lists are multiselects with the schema's choices and free entry, arrays of
    objects (subjects, behaviours, moments) are table editors with typed columns, the frames the model saw are
    beside the form with their times, and a bad value is refused in a sentence."""
    at = page(analysed)
    assert not at.exception
    assert not [t for t in at.text_area if t.key and t.key.startswith("review::")]  # nothing as JSON text
    tags = at.multiselect(key="review::cat.mp4::tags")
    answer = read_sidecar(analysed / "cat.mp4")["analysis"]
    assert tags.value == answer["tags"] and set(answer["tags"]) <= set(tags.options)
    assert tags.proto.accept_new_options
    editors = {d.key for d in at.dataframe if d.proto.editing_mode}  # table editors (st.data_editor)
    assert {"review::cat.mp4::subjects", "review::cat.mp4::behaviours", "review::cat.mp4::notable_moments"} <= editors
    ts = read_sidecar(analysed / "cat.mp4")["run"]["keyframe_timestamps"]
    captions = [c for im in at.image for c in im.captions]
    assert captions == [gaia.format.position(t) for t in ts]  # the frames, at their times, beside the form
    tags.set_value(["cat", "sofa", "my own tag"])
    save(at).click().run()
    assert not at.exception
    verified = read_verified(analysed / "cat.mp4")
    assert verified is not None and verified.fields["tags"] == ["cat", "sofa", "my own tag"]
    assert at.session_state["results_section"] == "review"  # saving keeps you on Review...
    assert any("as verified" in s.value for s in at.success)  # ...and says so there


def test_a_bad_value_is_refused_in_a_sentence_and_nothing_saved(analysed):
    form = gaia.views.review_form(analysed, "cat.mp4")
    values, problems = gaia.views.form_values(form, {
        "subjects": [{"species": "cat", "scientific_name": "", "count": 1.5, "description": ""}],
        "notable_moments": [{"time_s": 3.0, "description": "b"}, {"time_s": 2.0, "description": "a"},
                            {"time_s": 2.3, "description": "c"}, {"time_s": None, "description": None}]})
    assert problems == ["subjects, row 1: “count” must be a whole number."]
    assert [m["time_s"] for m in values["notable_moments"]] == [2.0, 2.3, 3.0]  # in time order, empty row dropped
    with pytest.raises(gaia.LabelError, match=r"^setting.environment must be one of: indoor, outdoor"):
        gaia.Folder(analysed).save_review("cat.mp4", {"setting.environment": "on the moon"})
    assert read_verified(analysed / "cat.mp4") is None


def test_exports_tab_writes_xmp_and_builds_a_camtrap_package(analysed):
    at = page(analysed, "export")
    at.toggle(key="export_xmp_on_retrieve").set_value(True).run()
    assert gaia.Folder(analysed).settings().xmp_on_retrieve is True
    at.button(key="export_xmp").click().run()
    assert any("2 XMP sidecar(s) written" in s.value for s in at.success)
    assert (analysed / "cat.mp4.xmp").is_file() and (analysed / "dog.mov.xmp").is_file()
    assert "GAIA|" not in (analysed / "cat.mp4.xmp").read_text()  # Category|Value by default
    at.text_input(key="export_xmp_root").set_value("GAIA").run()
    assert gaia.Folder(analysed).settings().xmp_root == "GAIA"
    at.button(key="export_xmp").click().run()
    assert "<rdf:li>GAIA|" in (analysed / "cat.mp4.xmp").read_text()
    assert at.button(key="export_camtrap_zip").disabled  # GAIA cannot know where the camera stood
    at.number_input(key="export_lat").set_value(51.05)
    at.number_input(key="export_lon").set_value(3.72).run()
    at.button(key="export_camtrap_zip").click().run()
    assert not at.exception
    assert any("validates against the official Camtrap DP" in s.value for s in at.success)
    assert at.get("download_button")


def test_each_section_computes_only_what_it_shows_once_for_every_session(analysed, monkeypatch):
    """Issue 28: the Videos section builds no review queue; the rows are read once per state of the folder and its
    sidecars and shared by sessions (none holds rows of its own); a save in one session is read again by all."""
    calls = {"queue": 0, "rows": 0}
    real_queue, real_rows = gaia.views.review_queue, gaia.views.load_results

    def counted_queue(*args, **kwargs):
        calls["queue"] += 1
        return real_queue(*args, **kwargs)

    read = []

    def counted_rows(*args, **kwargs):
        calls["rows"] += 1
        read.append(real_rows(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(gaia.views, "review_queue", counted_queue)
    monkeypatch.setattr(gaia.views, "load_results", counted_rows)
    videos = page(analysed, "videos")
    assert not videos.exception
    assert next(r for r in videos.dataframe if "video" in r.value.columns).value["video"].tolist() == [
        "cat.mp4", "dog.mov"]
    assert calls == {"queue": 0, "rows": 1}
    videos.run()  # a second visit
    assert calls == {"queue": 0, "rows": 1}
    for key in ("results_rows", "review_queue", "results_thumbs"):
        assert key not in videos.session_state  # no session keeps rows of its own
    review = page(analysed, "review")  # another session, on Review: the rows are shared, the queue built now
    assert not review.exception
    assert calls == {"queue": 1, "rows": 1}
    review.selectbox(key="review::cat.mp4::setting.environment").set_value("outdoor")
    save(review).click().run()
    assert not review.exception and any("as verified" in s.value for s in review.success)
    assert calls["rows"] == 2  # the save had the sidecars read again, once...
    assert "setting.environment" in next(r for r in read[-1] if r.rel_path == "cat.mp4").verified
    videos.run()  # ...for every session: the first one shows those rows without reading them itself
    assert not videos.exception and calls == {"queue": 2, "rows": 2}
