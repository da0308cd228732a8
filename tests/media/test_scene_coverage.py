"""Issue 26 item 13: the scene strategy covers the video to its end, as the README says, even when its cuts
fill every frame before the last stretch (OpenCV's vtest.avi: cuts every ~10 s, nothing after 69.6 s of 79.5)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import gaia
from gaia.media.keyframes import extract_keyframes
from gaia.media.strategies import plan_scene

VTEST = Path("/tmp/ocvdata/vtest.avi")


@pytest.mark.parametrize("n", [4, 6, 12])  # too many cuts to frame them all (4, 6), or room to spare (12)
def test_the_last_frame_is_no_further_from_the_end_than_an_even_plan_puts_it(n):
    duration = 79.5
    cuts = [10.3, 20.1, 29.98, 39.9, 49.8, 59.6, 69.5]  # the last cut 10 s before the end
    slots = plan_scene(duration, n, cuts)
    times = [s.time for s in slots]
    assert len(times) == n and times == sorted(times)
    assert duration - times[-1] <= duration / (2 * n) + 1e-6
    assert times[0] <= 0.5  # the opening shot stays


def test_when_every_cut_has_its_frame_the_frame_after_the_last_cut_covers_its_shot():
    slots = plan_scene(8.0, 4, [2.0, 4.0, 6.0])
    assert [round(s.time, 2) for s in slots] == [0.5, 2.12, 4.12, 6.12]
    cuts = [10.3, 20.1, 29.98, 39.9, 49.8, 59.6, 69.5]
    assert [round(s.time, 2) for s in plan_scene(79.5, 8, cuts)][-1] == 69.62


@pytest.mark.skipif(not VTEST.is_file(), reason="OpenCV's vtest.avi is not on this machine")
def test_vtest_avi_has_a_frame_in_its_last_ten_seconds(tmp_path):
    shutil.copy(VTEST, tmp_path / "vtest.avi")
    settings = gaia.Folder(tmp_path).settings().with_keyframes(strategy="scene", count=6)
    (kset,) = extract_keyframes(tmp_path, settings=settings.keyframes, model=settings.model, workers=1)
    assert kset.frames and kset.frames[-1].timestamp >= 79.5 - 10
