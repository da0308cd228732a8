"""The Select folder and Keyframes pages, each run from its own file with seeded session state (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gaia
from gaia.media.keyframes import cached_keyframes, extract_keyframes
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
SELECT = str(ROOT / "pages" / "1_Select_folder.py")
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")


_app = page_app


def test_select_page_without_a_folder_says_what_to_do():
    at = _app(SELECT).run()
    assert not at.exception
    assert "Type or paste the path" in at.info[0].value


def test_select_page_scans_and_shows_the_table_and_totals(make_folder):
    folder = make_folder({"a.mp4": "testsrc", "sub/b.MOV": "mov", "bad.mp4": "text"})
    at = _app(SELECT, folder).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos"] == "3" and metrics["Usable"] == "2" and metrics["Problems"] == "1"
    df = at.dataframe[0].value
    assert list(df["video"]) == ["a.mp4", "bad.mp4", "sub/b.MOV"]
    assert df.loc[df.video == "bad.mp4", "problem"].item() == "not a video: the file holds text"
    assert df.loc[df.video == "a.mp4", "thumbnail"].item().startswith("data:image/jpeg;base64,")
    assert df.loc[df.video == "a.mp4", "analysis"].item() == "not analysed"


def test_select_page_typing_a_path_validates_it(make_folder, tmp_path):
    at = _app(SELECT).run()
    at.text_input(key="folder_input").set_value(str(tmp_path / "nope")).run()
    assert not at.exception
    assert "no such folder" in at.error[0].value
    folder = make_folder({"a.mp4": "testsrc"})
    at.text_input(key="folder_input").set_value(str(folder)).run()
    assert not at.exception and not at.error
    assert at.session_state["folder"] == str(folder)


def test_select_page_a_mistyped_path_keeps_the_folder_chosen_before(make_folder, tmp_path):
    """Issue 26 item 7: a mistyped path is refused in words; it does not replace the selected folder."""
    folder = make_folder({"a.mp4": "testsrc"})
    at = _app(SELECT, folder).run()
    at.text_input(key="folder_input").set_value(str(tmp_path / "vidoes")).run()
    assert not at.exception
    assert "no such folder" in at.error[0].value
    assert at.session_state["folder"] == str(folder)  # the sidebar and the address keep it
    assert list(at.dataframe[0].value["video"]) == ["a.mp4"]  # and its videos stay on screen


def test_select_page_browses_up_and_into_subfolders(make_folder):
    folder = make_folder({"cats/a.mp4": "testsrc", "dogs/b.mp4": "testsrc"})
    at = _app(SELECT, folder).run()
    at.selectbox(key="subfolder_choice").set_value("dogs").run()
    assert not at.exception
    assert at.session_state["folder"] == str(folder / "dogs")
    assert list(at.dataframe[0].value["video"]) == ["b.mp4"]
    at.button[0].click().run()  # Up one level
    assert at.session_state["folder"] == str(folder)


def test_keyframes_page_without_a_folder_points_back():
    at = _app(KEYFRAMES).run()
    assert not at.exception
    assert "Choose a folder" in at.info[0].value


def test_keyframes_page_extracts_shows_and_excludes(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "cuts", "bad.mp4": "zero"})
    at = _app(KEYFRAMES, folder).run()
    assert not at.exception
    assert "need their keyframes extracted" in at.info[0].value
    calls: list[tuple[int, int]] = []
    real = extract_keyframes

    def counted(*args, on_progress=None, **kwargs):
        def seen(done: int, total: int) -> None:
            calls.append((done, total))
            on_progress(done, total)
        return real(*args, on_progress=seen, **kwargs)

    monkeypatch.setattr(gaia.face, "extract_keyframes", counted)
    at.button[0].click().run()
    assert not at.exception
    # Issue 26 item 6: the bar counts the videos to extract (not the zero-byte file) and moves per video.
    assert calls == [(0, 2), (1, 2), (2, 2)]
    assert at.success[0].value == "Extracted keyframes for 2 video(s)."
    assert not at.info  # nothing left to extract
    sets = cached_keyframes(folder, settings=gaia.Folder(folder).settings().keyframes,
                                 model=gaia.Folder(folder).settings().model)
    n_frames = sum(len(k.frames) for k in sets)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Videos with frames"] == "2 of 3"
    assert metrics["Frames in the run"] == str(n_frames)
    assert len(at.image) == n_frames
    # Exclude one frame and one video: remembered on disk, so across pages and restarts.
    at.checkbox[0].uncheck().run()
    first = sets[0]
    assert gaia.Folder(folder).selection().frame_excluded("a.mp4", first.frames[0].timestamp)
    next(t for t in at.toggle if t.label == "In the run" and t.key.startswith("video_")
         and t.key.endswith(sets[1].set_id)).set_value(False).run()
    assert gaia.Folder(folder).selection().video_excluded("b.mp4")
    fresh = _app(KEYFRAMES, folder).run()  # a new session reads the same choices
    metrics = {m.label: m.value for m in fresh.metric}
    assert metrics["Videos in the run"] == "1"
    assert metrics["Frames in the run"] == str(len(first.frames) - 1)


@pytest.mark.parametrize("count", [2, 3])
def test_keyframes_page_settings_are_saved_for_the_cli(make_folder, count):
    folder = make_folder({"a.mp4": "testsrc"})
    at = _app(KEYFRAMES, folder).run()
    at.number_input[0].set_value(count).run()
    assert not at.exception
    assert gaia.Folder(folder).settings().keyframes.count == count


def test_file_names_with_markup_are_shown_as_written(make_folder):
    name = "my_clip *v2* [x](y) <b>bold</b>.mp4"
    folder = make_folder({name: "testsrc", "bad `tick`.mp4": "zero"})
    settings = gaia.Folder(folder).settings()
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model)
    at = _app(KEYFRAMES, folder).run()
    assert not at.exception
    heads = [m.value for m in at.markdown if "my" in m.value]
    assert heads and r"\*v2\*" in heads[0] and r"\<b\>" in heads[0]  # escaped: rendered literally
    problems = [m.value for m in at.markdown if "tick" in m.value]
    assert problems and r"\`tick\`" in problems[0]
