"""Pages on a large folder hold what they show, not the folder: long tables a page at a time, one plan kept per
folder state (an outdated one dropped at once, not held until the memo fills)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import gaia
from tests.pages._app import page_app

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "pages" / "4_Submit.py")
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")
SELECT = str(ROOT / "pages" / "1_Select_folder.py")


def test_a_result_for_a_folder_state_left_behind_is_dropped_not_kept(tmp_path):
    import streamlit as st

    from pages._ui import per_folder_state

    st.cache_resource.clear()
    folder = tmp_path / "v"
    folder.mkdir()
    gaia.Folder(folder).save_settings(gaia.Folder(folder).settings())

    class Plan:  # stands for a plan of 100,000 requests
        pass

    made: list[int] = []

    def plan(_folder: Path) -> Plan:
        made.append(1)
        return Plan()

    first = per_folder_state(folder, plan, folder, key=("batch",))
    assert per_folder_state(folder, plan, folder, key=("batch",)) is first and len(made) == 1
    other = per_folder_state(folder, plan, folder, key=("force",))  # another key: kept beside it
    gone, kept = weakref.ref(first), weakref.ref(other)
    del first, other
    gaia.Folder(folder).save_settings(gaia.Folder(folder).settings().with_keyframes(count=2))
    per_folder_state(folder, plan, folder, key=("batch",))
    gc.collect()
    assert len(made) == 3 and gone() is None  # the plan for the settings left behind is no longer held
    assert kept() is not None  # nothing asked for the other key since: it waits for its own next call
    st.cache_resource.clear()


def _requests_table(at):
    """The table whose columns are those of the requests (the page's other tables have other columns)."""
    (df,) = [d.value for d in at.dataframe if "custom_id" in d.value.columns]
    return df


def test_the_submit_pages_tables_show_a_page_of_rows_at_a_time(api_env, ready_folder, monkeypatch):
    import streamlit as st

    folder = ready_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "testsrc"})
    monkeypatch.setattr(gaia.views, "ROWS_PER_PAGE", 2)
    st.cache_resource.clear()
    at = page_app(SUBMIT, folder).run()
    assert not at.exception, at.exception
    requests = _requests_table(at)
    assert list(requests["video"]) == ["a.mp4", "b.mp4"]
    assert any(c.value == "Rows 1–2 of 3." for c in at.caption)
    at.number_input(key="requests_page").set_value(2).run()
    assert not at.exception, at.exception
    assert list(_requests_table(at)["video"]) == ["c.mp4"]
    assert list(_requests_table(at)["batch"]) == [1]
    assert any(c.value == "Rows 3–3 of 3." for c in at.caption)


def test_request_rows_of_a_page_are_those_rows_of_the_whole_table():
    from types import SimpleNamespace as NS

    from gaia.views import request_records

    reqs = [NS(rel_path=f"v{i}.mp4", frames=(1, 2), timestamps=(1.0, 2.0), image_tokens=10, nbytes=100,
               custom_id=f"id{i}") for i in range(7)]
    plan = NS(requests=reqs, batches=[NS(index=0, start=0, stop=3), NS(index=1, start=3, stop=7)])
    whole = request_records(plan)
    assert [r["batch"] for r in whole] == [1, 1, 1, 2, 2, 2, 2]
    assert request_records(plan, 2, 5) == whole[2:5] and request_records(plan, 5, 99) == whole[5:]


def test_the_keyframes_page_names_a_bounded_number_of_videos_without_frames(ready_folder, monkeypatch):
    folder = ready_folder({"good.mp4": "testsrc", "bad1.mp4": "zero", "bad2.mp4": "text", "bad3.mp4": "zero"})
    monkeypatch.setattr(gaia.views, "PROBLEMS_SHOWN", 2)
    at = page_app(KEYFRAMES, folder).run()
    assert not at.exception, at.exception
    listed = [m.value for m in at.markdown if m.value.startswith("- **bad")]
    assert len(listed) == 1 and listed[0].count("\n- ") == 1  # two names, in one block
    assert any(c.value.startswith("… and 1 more") for c in at.caption)
    assert any(el.label == "3 video(s) without frames, and why" for el in at.expander)


def test_the_select_pages_table_shows_a_page_of_videos_at_a_time(make_folder, monkeypatch):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc", "c.mp4": "zero"})
    monkeypatch.setattr(gaia.views, "ROWS_PER_PAGE", 2)
    at = page_app(SELECT, folder).run()
    assert not at.exception, at.exception
    (df,) = [d.value for d in at.dataframe]
    assert len(df) == 2 and any(c.value == "Rows 1–2 of 3." for c in at.caption)
    at.number_input(key="scan_page").set_value(2).run()
    assert not at.exception, at.exception
    (df,) = [d.value for d in at.dataframe]
    assert len(df) == 1 and any(c.value == "Rows 3–3 of 3." for c in at.caption)
    assert any(el.label == "1 video(s) cannot be used, and why" for el in at.expander)  # counts stay whole
