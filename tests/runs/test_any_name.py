"""Any file name: a Latin-1 name (not UTF-8), a 250-byte name, a newline and a leading dash.

Each is scanned, listed (escaped), extracted, sent in a batch and now against the emulator,
retrieved into its own sidecar and exported in every format, and every page renders the folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gaia._cli import main
from gaia.folder import Folder
from gaia.sidecar import read_sidecar, sidecar_path

ROOT = Path(__file__).resolve().parents[2]
NAMES = [b"caf\xe9.mp4", b"x" * 246 + b".mp4", b"new\nline.mp4", b"-leading.mp4"]


@pytest.fixture
def odd_folder(tmp_path, media_library, api_env) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(media_library["testsrc"], os.path.join(os.fsencode(folder), name))
    f = Folder(folder)
    f.save_settings(f.settings().with_keyframes(count=2))
    return folder


def _names(folder: Path) -> list[str]:
    return [os.fsdecode(n) for n in NAMES]


def test_every_name_goes_from_scan_to_export(odd_folder, tmp_path, capsys, api_env):
    folder = odd_folder
    assert main(["scan", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "caf\\xe9.mp4" in out and "new\\nline.mp4" in out and "-leading.mp4" in out
    assert "4 usable" in out
    assert main(["keyframes", str(folder)]) == 0
    assert "4 of 4 videos have frames" in capsys.readouterr().out

    assert main(["submit", str(folder), "--yes"]) == 0
    api_env.advance_clock(3600)
    assert main(["retrieve", str(folder)]) == 0
    capsys.readouterr()
    for name in _names(folder):
        data = read_sidecar(folder / name)
        assert data and data["video"] == name and "analysis" in data, name
        assert sidecar_path(folder / name).parent == folder
    assert main(["scan", str(folder)]) == 0
    assert "4 analysed with the current settings" in capsys.readouterr().out

    assert main(["export", str(folder), "--format", "csv", "--out", str(tmp_path / "a.csv")]) == 0
    assert b"caf\xe9.mp4" in (tmp_path / "a.csv").read_bytes()  # the file's own bytes, so it can be matched
    assert main(["export", str(folder), "--format", "jsonl", "--out", str(tmp_path / "a.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert {x["video"] for x in lines} == set(_names(folder))  # lossless
    assert main(["export", str(folder), "--format", "xmp"]) == 0
    assert all(os.path.exists(os.fsencode(folder) + b"/" + n + b".xmp") for n in NAMES if len(n) < 200)
    assert main(["export", str(folder), "--format", "camtrap-dp", "--out", str(tmp_path / "dp"),
                 "--latitude", "51.05", "--longitude", "3.72"]) == 0
    assert "caf%E9.mp4" in (tmp_path / "dp" / "media.csv").read_text(encoding="utf-8")


def test_every_name_is_answered_now_and_every_page_renders(odd_folder, capsys, api_env):
    folder = odd_folder
    assert main(["run", str(folder), "--yes"]) == 0
    assert "Answered 4, failed 0" in capsys.readouterr().out
    assert all((read_sidecar(folder / n) or {}).get("video") == n for n in _names(folder))
    for page in sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("[0-9]_*.py")):
        at = AppTest.from_file(str(ROOT / page), default_timeout=120)
        at.session_state["folder"] = str(folder)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
