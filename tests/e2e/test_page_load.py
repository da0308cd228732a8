"""Page load for a folder of 1,000 videos whose scan is cached: measured in the browser and reported.

The folder holds 1,000 hard links of one small clip (no disk space, distinct names); the probe
cache is filled beforehand through ``scan_folder`` with one real probe reused for every
file, exactly as a previous visit would have left it. The test checks that the page shows all
1,000 videos, and records the times (it asserts no speed: timings go to
``test-results/page-load.json`` and the test output; see the README for the figures).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import gaia
import gaia.media.scan
from gaia.media.probe import probe_file
from gaia.media.scan import scan_folder
from tests import videos as media
from tests.e2e.conftest import ROOT, AppServer
from tests.e2e.helpers import LONG, fresh_text, wait_idle

pytestmark = pytest.mark.e2e

N_VIDEOS = 1000


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 hard links of one clip in nested folders, with the scan already cached."""
    clip = media.make("testsrc", tmp_path_factory.mktemp("one-clip") / "clip.mp4")
    folder = tmp_path_factory.mktemp("thousand") / "videos"
    for i in range(N_VIDEOS):
        dest = folder / f"camera_{i // 100:02d}" / f"clip_{i:04d}.mp4"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(clip, dest)
    info = probe_file(clip)
    assert gaia.Folder(folder).workdir.is_dir()  # as after an earlier visit that extracted: the cache lives in .gaia/
    mp = pytest.MonkeyPatch()
    mp.setattr(gaia.media.scan, "probe_file", lambda _path: info)  # every link is the same file
    try:
        scan = scan_folder(folder, fingerprint=gaia.Folder(folder).fingerprint())
    finally:
        mp.undo()
    assert len(scan.usable) == N_VIDEOS
    return folder


def test_cached_scan_of_1000_videos_loads_in_the_browser(page: Page, app_server: AppServer, big_folder: Path) -> None:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    page.goto(app_server.url)
    wait_idle(page)
    timings["app_ready_s"] = time.perf_counter() - t0

    field = page.get_by_label("Folder", exact=True)
    field.fill(str(big_folder))
    t1 = time.perf_counter()
    field.press("Enter")
    videos = page.get_by_test_id("stMetric").filter(has_text="Videos")
    expect(videos).to_contain_text(re.compile(r"1,?000"), timeout=LONG)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=LONG)
    wait_idle(page)
    timings["folder_entered_to_table_s"] = time.perf_counter() - t1
    timings["navigation_to_table_s"] = time.perf_counter() - t0
    expect(page.get_by_test_id("stMetric").filter(has_text="Problems")).to_contain_text("0")
    expect(fresh_text(page, "Probing videos")).to_have_count(0)
    expect(fresh_text(page, "Show thumbnails")).to_be_visible()  # 1,000 rows: thumbnails on request

    # Back to the page later in the same session (the scan is kept for the session).
    t3 = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Keyframes").click()
    expect(page.get_by_role("heading", name="Keyframes", exact=True)).to_be_visible(timeout=LONG)
    expect(fresh_text(page, "Show thumbnails")).to_have_count(0, timeout=LONG)  # the Select page is gone
    expect(page.get_by_role("button", name=re.compile(r"Extract keyframes for 1,?000 video"))).to_be_visible(
        timeout=LONG)
    wait_idle(page)
    timings["keyframes_page_s"] = time.perf_counter() - t3
    t2 = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Select folder").click()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=LONG)
    expect(videos).to_contain_text(re.compile(r"1,?000"))
    wait_idle(page)
    timings["revisit_to_table_s"] = time.perf_counter() - t2

    report = {"videos": N_VIDEOS, **{k: round(v, 3) for k, v in timings.items()}}
    out = ROOT / "test-results" / "page-load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\npage load, {N_VIDEOS} cached videos: {report}")
