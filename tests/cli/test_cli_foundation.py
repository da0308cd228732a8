"""The ``gaia`` command: scan and keyframes output, exit codes, help with examples on every command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gaia._cli import build_parser, main
from gaia.media.keyframes import cached_keyframes
from gaia.settings import KeyframeSettings


def test_scan_json_is_one_document_with_every_record(make_folder, capsys):
    folder = make_folder({"a.mp4": "testsrc", "sub/b.mov": "mov", "bad.mp4": "zero"})
    assert main(["scan", str(folder), "--json"]) == 0  # per-file problems are not fatal
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["videos"] == 3 and doc["summary"]["problems"] == 1
    by = {v["rel_path"]: v for v in doc["videos"]}
    assert by["bad.mp4"]["problem"] == "empty file (zero bytes)" and not by["bad.mp4"]["usable"]
    assert by["sub/b.mov"]["sidecar"].endswith("sub/b.gaia.json")
    assert by["a.mp4"]["width"] == 320 and by["a.mp4"]["sidecar_state"] == "none"


def test_scan_table_names_problems(make_folder, capsys):
    folder = make_folder({"a.mp4": "testsrc", "song.mp4": "audio_only"})
    assert main(["scan", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "song.mp4: no video stream (audio only)" in out
    assert "2 videos, 1 usable, 1 with problems" in out


def test_scan_of_a_missing_folder_fails_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(tmp_path / "missing")])
    assert exc.value.code == 2
    assert "no such folder" in capsys.readouterr().err


def test_keyframes_json_and_settings_flags(make_folder, capsys):
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "text"})
    assert main(["keyframes", str(folder), "--count", "3", "--max-edge", "160", "--strategy", "uniform",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    a, b = doc["videos"]
    assert len(a["frames"]) == 3 and a["frames"][0]["width"] == 160 and a["frames"][0]["height"] == 120
    assert [f["timestamp"] for f in a["frames"]] == sorted(f["timestamp"] for f in a["frames"])
    assert b["problem"] == "not a video: the file holds text"
    # The second run is served from the cache.
    assert main(["keyframes", str(folder), "--count", "3", "--max-edge", "160", "--strategy", "uniform"]) == 0
    assert "(cached)" in capsys.readouterr().out


def test_keyframes_rejects_bad_settings_plainly(make_folder, capsys):
    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["keyframes", str(folder), "--count", "0"]) == 2
    assert "frame count must be between 1 and" in capsys.readouterr().err
    assert main(["keyframes", str(folder), "--model", "claude-nonexistent"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_keyframes_settings_become_the_folders_unless_told_not_to(make_folder):
    import gaia

    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["keyframes", str(folder), "--count", "2", "--no-save"]) == 0
    assert gaia.Folder(folder).settings().keyframes.count == KeyframeSettings().count
    assert main(["keyframes", str(folder), "--count", "2"]) == 0
    assert gaia.Folder(folder).settings().keyframes.count == 2  # so estimate and submit use these frames
    sets = cached_keyframes(folder, settings=gaia.Folder(folder).settings().keyframes,
                                 model=gaia.Folder(folder).settings().model)
    assert len(sets[0].frames) == 2


def test_every_command_has_help_with_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"scan", "keyframes"} <= set(sub.choices)
    for name, cmd in sub.choices.items():
        text = cmd.format_help()
        assert "example:" in text and f"gaia {name}" in text, name


def test_python_dash_m_gaia_runs(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    proc = subprocess.run([sys.executable, "-m", "gaia", "scan", str(folder), "--json"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["usable"] == 1


def test_importing_gaia_does_not_import_streamlit():
    code = "import sys, gaia, gaia._cli; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_keyframes_preset_names_the_frame_size_and_is_saved(make_folder, capsys):
    import gaia

    folder = make_folder({"hd.mp4": "hd"})  # 1280x720
    assert main(["keyframes", str(folder), "--preset", "economy", "--count", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["frame_preset"] == "economy" and doc["settings"]["max_edge"] == 512
    assert (doc["videos"][0]["frames"][0]["width"], doc["videos"][0]["frames"][0]["height"]) == (512, 288)
    assert gaia.Folder(folder).settings().frame_preset == "economy"
    assert main(["keyframes", str(folder), "--max-edge", "0", "--count", "1"]) == 0  # the model's full size
    assert "(frame size: custom)" in capsys.readouterr().out
    assert gaia.Folder(folder).settings().keyframes.max_edge is None
    with pytest.raises(SystemExit):
        main(["keyframes", str(folder), "--preset", "huge"])
    with pytest.raises(SystemExit):
        main(["keyframes", str(folder), "--preset", "economy", "--max-edge", "800"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_keyframes_help_lists_the_presets_with_their_tokens():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = sub.choices["keyframes"].format_help()
    assert "--preset economy" in text
    for line, (name, tokens) in zip([x for x in text.splitlines() if " px " in x],
                                    [("economy", "209"), ("balanced", "777"), ("detailed", "1792")], strict=True):
        assert name in line and tokens in line
