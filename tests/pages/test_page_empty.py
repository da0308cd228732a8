"""The Keyframes page's likely-empty contact sheet: the clips, the saving at the threshold, one click to exclude."""

from __future__ import annotations

from pathlib import Path

import gaia
from gaia.media.empty import empty_scores
from gaia.media.scan import scan_folder
from gaia.pricing.levers import MissRate, save_misses
from gaia.settings import EMPTY_THRESHOLD
from tests.media.empty_clips import trap_folder
from tests.pages._app import page_app

KEYFRAMES = str(Path(__file__).resolve().parents[2] / "pages" / "2_Keyframes.py")


def _folder(tmp_path: Path) -> Path:
    return trap_folder(tmp_path / "trap")


def test_unchecked_clips_get_a_check_button_and_then_a_contact_sheet_with_one_click_exclusion(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    at = page_app(KEYFRAMES, folder).run()
    assert not at.exception
    check = next(b for b in at.button if b.label.startswith("Check 3 clip(s)"))
    check.click().run()
    assert not at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]  # file names are Markdown-escaped
    sheet = [c for c in captions if c.startswith(("wind.mp4 · ", "light.mp4 · ", "fox.mp4 · "))]
    assert sorted(c.split(" · ")[0] for c in sheet) == ["light.mp4", "wind.mp4"], captions
    saving = next(m.value for m in at.markdown if m.value.startswith("At the threshold"))
    assert "leaving out 2 likely-empty clip(s) saves $" in saving and "Misses not measured yet" in saving
    at.button(key="exclude_empty").click().run()
    assert not at.exception
    assert gaia.Folder(folder).selection().excluded_videos == {"wind.mp4", "light.mp4"}
    assert sum(c.value.endswith(" · excluded") for c in at.caption) == 2
    assert "no clip still in the run is likely empty" in next(
        m.value for m in at.markdown if m.value.startswith("At the threshold"))
    at.button(key="include_empty").click().run()
    assert gaia.Folder(folder).selection().excluded_videos == frozenset()


def test_the_threshold_is_the_folders_and_a_measured_miss_rate_shows(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    empty_scores(folder, scan_folder(folder).records)
    save_misses(folder, MissRate(12, 1, ("x.mp4",)))
    at = page_app(KEYFRAMES, folder).run()
    assert at.select_slider(key="empty_threshold").value == EMPTY_THRESHOLD
    text = next(m.value for m in at.markdown if m.value.startswith("At the threshold"))
    assert "1 of 12 sampled likely-empty clips had a subject (8%, 95% interval 1%–35%)" in text
    at.select_slider(key="empty_threshold").set_value(1.0).run()
    assert not at.exception
    assert gaia.Folder(folder).settings().empty_threshold == 1.0


def test_estimate_page_shows_the_saving_at_the_threshold_and_the_measured_misses(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    estimate_page = str(Path(KEYFRAMES).with_name("3_Estimate_cost.py"))
    at = page_app(estimate_page, folder).run()
    assert not at.exception
    assert not any("likely-empty" in c.value for c in at.caption)  # nothing checked: nothing said
    empty_scores(folder, scan_folder(folder).records)
    save_misses(folder, MissRate(10, 0))
    at = page_app(estimate_page, folder).run()
    assert not at.exception
    line = next(c.value for c in at.caption if "likely-empty" in c.value)
    assert "leaving out 2 likely-empty clip(s) saves \\$" in line
    assert "0 of 10 sampled likely-empty clips had a subject (0%, 95% interval 0%–28%)" in line
