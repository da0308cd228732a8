"""The demo folder (gaia.media.demo): generated once into the user's cache, usable videos with scenes and text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gaia
from gaia.media import demo
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.settings import KeyframeSettings


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated demo folder shared by this module's read-only tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("demo-cache")))
    try:
        calls: list[tuple[int, int]] = []
        folder = demo.ensure_demo_folder(on_progress=lambda d, t: calls.append((d, t)))
        assert calls[0] == (0, len(demo.DEMO_CLIPS)) and calls[-1] == (len(demo.DEMO_CLIPS),) * 2
        return folder
    finally:
        mp.undo()


def test_demo_folder_lives_in_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert demo.demo_folder_path() == tmp_path / "gaia" / "demo-videos"
    assert not demo.demo_ready()


def test_demo_clips_scan_as_usable_videos_with_the_planned_durations(demo_dir):
    assert demo.demo_ready(demo_dir)
    scan = scan_folder(demo_dir)
    assert [r.rel_path for r in scan.records] == sorted(c.file_name for c in demo.DEMO_CLIPS)
    assert not scan.problems
    by_name = {c.file_name: c for c in demo.DEMO_CLIPS}
    for r in scan.records:
        assert (r.width, r.height) == (demo.WIDTH, demo.HEIGHT)
        assert r.duration == pytest.approx(by_name[r.rel_path].duration, abs=0.2)


def test_second_call_reuses_the_folder_without_regenerating(demo_dir, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(demo_dir.parents[1]))
    before = {p.name: p.stat().st_mtime_ns for p in demo_dir.iterdir()}
    monkeypatch.setattr(demo, "_render_clip", lambda *a: pytest.fail("regenerated a ready demo folder"))
    assert demo.ensure_demo_folder() == demo_dir
    assert {p.name: p.stat().st_mtime_ns for p in demo_dir.iterdir()} == before


def test_scene_strategy_finds_the_hard_cuts(demo_dir):
    """Each clip's scenes change at known times: the scene strategy puts a frame just after each cut."""
    clip = next(c for c in demo.DEMO_CLIPS if c.file_name == "dog_in_the_garden.mp4")
    cuts = np.cumsum([s.seconds for s in clip.scenes])[:-1]
    scan = scan_folder(demo_dir)
    rec = [r for r in scan.records if r.rel_path == clip.file_name]
    sets = extract_keyframes(demo_dir, settings=KeyframeSettings(strategy="scene", count=4),
                                  model=gaia.limits.DEFAULT_MODEL, records=rec, workers=1)
    stamps = [f.timestamp for f in sets[0].frames]
    assert not sets[0].problem, sets[0].problem
    for cut in cuts:
        assert any(0 <= t - cut < 0.5 for t in stamps), (cut, stamps)


def test_frames_differ_between_scenes_and_show_text(demo_dir):
    from moviepy import VideoFileClip

    clip = demo.DEMO_CLIPS[0]
    with VideoFileClip(str(demo_dir / clip.file_name)) as v:
        a, b = v.get_frame(0.5), v.get_frame(clip.scenes[0].seconds + 0.5)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 30  # a different scene, not a small change
    top = a[10:50, :, :].astype(int)  # the title band: white text on the scene colour
    assert (top.min(axis=2) > 230).sum() > 200


def test_without_a_font_file_titles_are_drawn_with_pillow(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "demo_font", lambda: None)
    monkeypatch.setattr(demo, "DEMO_CLIPS", demo.DEMO_CLIPS[:1])
    folder = demo.ensure_demo_folder()
    from moviepy import VideoFileClip

    with VideoFileClip(str(folder / demo.DEMO_CLIPS[0].file_name)) as v:
        frame = v.get_frame(0.5)
    assert (frame[10:60, :, :].astype(int).min(axis=2) > 230).sum() > 100
    assert demo.demo_ready(folder)


def test_force_regenerates_and_no_temporary_folder_is_left(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_CLIPS", demo.DEMO_CLIPS[:1])
    folder = demo.ensure_demo_folder()
    (folder / "stale.gaia.json").write_text("{}")
    assert demo.ensure_demo_folder(force=True) == folder
    assert not (folder / "stale.gaia.json").exists()
    assert [p.name for p in folder.parent.iterdir()] == ["demo-videos"]


def test_a_failed_generation_leaves_no_half_made_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def boom(*_a):
        raise OSError("disk full")

    monkeypatch.setattr(demo, "_render_clip", boom)
    with pytest.raises(OSError, match="disk full"):
        demo.ensure_demo_folder()
    assert not demo.demo_ready()
    assert list((tmp_path / "gaia").iterdir()) == []


def test_cli_demo_prints_the_folder(monkeypatch, tmp_path, capsys):
    from gaia._cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_CLIPS", demo.DEMO_CLIPS[:1])
    assert main(["demo"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "gaia" / "demo-videos")
    assert demo.demo_ready()
    assert main(["demo", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["videos"] == [demo.DEMO_CLIPS[0].file_name]


def test_cli_demo_reports_an_unwritable_cache(monkeypatch, tmp_path, capsys):
    from gaia._cli import main

    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert main(["demo"]) == 1
    assert "could not be made" in capsys.readouterr().err


def test_without_system_fonts_the_font_streamlit_ships_is_used(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "SYSTEM_FONTS", ())
    font = demo.demo_font()
    assert font is not None and "SourceSans" in font  # found without importing streamlit
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_CLIPS", demo.DEMO_CLIPS[:1])
    folder = demo.ensure_demo_folder()
    from moviepy import VideoFileClip

    with VideoFileClip(str(folder / demo.DEMO_CLIPS[0].file_name)) as v:
        frame = v.get_frame(0.5)
    assert (frame[10:60, :, :].astype(int).min(axis=2) > 230).sum() > 100  # the title is there
