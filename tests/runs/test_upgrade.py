"""Upgrading keeps what was paid for: folders analysed by earlier versions stay analysed.

Each earlier on-disk format is made the way the earlier code wrote it (commit 8db9d3d, before frame
presets): its CLI saved no ``settings.json``; its app saved settings without ``frame_preset`` and
with ``max_edge: null`` (the model's full size, then the default); its ledger recorded each run's
settings in that same form plus ``prompt_profile_name`` and ``image_source``; its sidecars hold
``run.fingerprint`` with ``max_edge: null``. A dry-run submit by today's version must plan nothing
and leave every sidecar byte for byte as it was.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from gaia._cli import main
from gaia.folder import Folder
from gaia.ledger import LEDGER_FILE
from gaia.settings import DEFAULT_MAX_EDGE, SETTINGS_FILE, RunSettings

LAYOUT = {"a.mp4": "testsrc", "sub/b.mp4": "mov"}


def _old_settings_dict(settings: RunSettings) -> dict:
    """``RunSettings.to_dict`` as commit 8db9d3d wrote it: ``asdict`` of model, keyframes, TTL, profile, limit."""
    kf = settings.keyframes
    return {"model": settings.model,
            "keyframes": {"strategy": kf.strategy, "count": kf.count, "max_edge": kf.max_edge,
                          "jpeg_quality": kf.jpeg_quality},
            "cache_ttl": settings.cache_ttl, "prompt_profile": settings.prompt_profile,
            "max_tokens": settings.max_tokens}


@pytest.fixture(scope="module")
def analysed_at_full_size(tmp_path_factory, media_library) -> Path:
    """A folder analysed at the earlier default (full-size frames), through the CLI, against the emulator."""
    from gaia.emulator import EmulatorConfig, start_emulator

    folder = tmp_path_factory.mktemp("old") / "videos"
    for rel, kind in LAYOUT.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(media_library[kind], folder / rel)
    old = RunSettings().with_keyframes(max_edge=None, count=2)
    Folder(folder).save_settings(old)
    handle = start_emulator(state_dir=folder.parent / "emulator", config=EmulatorConfig(batch_delay_s=0.2))
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("ANTHROPIC_API_KEY", "test-key")
        mp.setenv("ANTHROPIC_BASE_URL", handle.base_url)
        assert main(["submit", str(folder), "--yes"]) == 0
        assert main(["watch", str(folder), "--poll", "0.2"]) == 0
    finally:
        mp.undo()
        handle.stop()
    work = Folder(folder).workdir
    (work / SETTINGS_FILE).unlink()  # the earlier CLI saved no settings file
    with sqlite3.connect(work / LEDGER_FILE) as db:  # and recorded run settings in the earlier form
        db.execute("UPDATE runs SET settings_json=?", (json.dumps(
            {**_old_settings_dict(old), "prompt_profile_name": "default", "image_source": "base64"}),))
    return folder


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _sidecars(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.gaia.json")
            if ".gaia" not in p.relative_to(folder).parts}


FORMATS = {
    "no settings file, earlier ledger": dict(settings=False, ledger=True),
    "settings without presets, earlier ledger": dict(settings=True, ledger=True),
    "no settings file, no ledger": dict(settings=False, ledger=False),
    "settings without presets, no ledger": dict(settings=True, ledger=False),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_an_earlier_folder_stays_analysed_and_a_dry_run_sends_nothing(name, analysed_at_full_size, tmp_path,
                                                                       capsys):
    fmt = FORMATS[name]
    folder = _copy(analysed_at_full_size, tmp_path / "videos")
    work = folder / ".gaia"
    if fmt["settings"]:  # the earlier app saved settings: no preset, null edge
        (work / SETTINGS_FILE).write_text(json.dumps(_old_settings_dict(
            RunSettings().with_keyframes(max_edge=None, count=2))))
    if not fmt["ledger"]:
        (work / LEDGER_FILE).unlink()
    before = _sidecars(folder)
    assert len(before) == 2

    settings = Folder(folder).settings()
    assert settings.keyframes.max_edge is None and settings.keyframes.count == 2

    capsys.readouterr()
    out = tmp_path / "requests.jsonl"
    main(["submit", str(folder), "--dry-run", str(out), "--json"])  # exit 1: nothing to send
    doc = json.loads(capsys.readouterr().out)
    assert doc["plan"]["videos"] == 0 and doc["result"]["dry_run_requests"] == 0
    assert {s["kind"] for s in doc["plan"]["skipped"]} == {"analysed"}
    assert not out.exists() or not out.read_text().strip()
    assert _sidecars(folder) == before


def test_a_folder_without_answers_gets_todays_defaults(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    assert Folder(folder).settings() == RunSettings()
    assert RunSettings().keyframes.max_edge == DEFAULT_MAX_EDGE
    work = Folder(folder).workdir  # settings from before presets, nothing ever sent: the new default edge
    (work / SETTINGS_FILE).write_text(json.dumps(_old_settings_dict(RunSettings().with_keyframes(max_edge=None))))
    assert Folder(folder).settings().keyframes.max_edge == DEFAULT_MAX_EDGE


def test_a_setting_changed_after_the_upgrade_is_kept(analysed_at_full_size, tmp_path):
    folder = _copy(analysed_at_full_size, tmp_path / "videos")
    f = Folder(folder)
    f.save_settings(f.settings().with_preset("economy"))
    assert Folder(folder).settings().keyframes.max_edge == 512
