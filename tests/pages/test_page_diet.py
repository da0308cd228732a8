"""The output-token diet and cost-honest defaults on the pages: frame-size presets on Keyframes,
the prompt profile and the answer length limit on Submit."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

import gaia

ROOT = Path(__file__).resolve().parents[2]
KEYFRAMES = str(ROOT / "pages" / "2_Keyframes.py")
SUBMIT = str(ROOT / "pages" / "4_Submit.py")


def _app(path: str, folder: Path) -> AppTest:
    at = AppTest.from_file(path, default_timeout=90)
    at.session_state["folder"] = str(folder)
    return at


def test_keyframes_offers_presets_priced_for_the_folders_videos_and_saves_the_choice(make_folder):
    folder = make_folder({"hd.mp4": "hd"})  # 1280x720
    at = _app(KEYFRAMES, folder).run()
    assert not at.exception
    choice = at.selectbox(key="frame_preset")
    assert choice.value == "balanced" and choice.options[:3] == [
        gaia.views.preset_label(n, gaia.views.preset_rows(gaia.DEFAULT_MODEL, frames=6, current_edge=1024,
                                                          records=gaia.scan_folder(folder).records)[0])
        for n in ("economy", "balanced", "detailed")]
    table = at.dataframe[0].value
    assert list(table["preset"]) == ["economy", "balanced", "detailed"]
    assert list(table["frame"]) == ["512×288", "1024×576", "1280×720"]  # a 720p video is never enlarged
    assert list(table["tokens per frame"]) == [209, 777, 1196]
    assert any("for a 1280×720 video (the folder's most common size)" in c.value for c in at.caption)

    choice.set_value("economy").run()
    assert not at.exception
    saved = json.loads((folder / ".gaia" / "settings.json").read_text())
    assert saved["frame_preset"] == "economy" and saved["keyframes"]["max_edge"] == 512

    at.selectbox(key="frame_preset").set_value("custom").run()
    edge = next(s for s in at.selectbox if s.label == "Max edge (px)")
    edge.set_value(0).run()  # the model's own limit: today's full size, still on offer
    assert not at.exception
    assert gaia.Folder(folder).settings().keyframes.max_edge is None
    table = at.dataframe[0].value
    assert list(table["preset"]) == ["economy", "balanced", "detailed", "custom"]
    assert table["longest edge"].iloc[-1] == "model's full size"
