"""gaia.folder: the core object: working folder (with its read-only fallback), settings, locks, sidecars."""

from __future__ import annotations

import os
import stat

import pytest

from gaia.folder import LOCK_SEND, WORKDIR_NAME, Folder, FolderBusy, fallback_workdir
from gaia.settings import RunSettings


def test_of_accepts_paths_strings_and_folders(tmp_path):
    f = Folder(tmp_path)
    assert Folder.of(f) is f
    assert Folder.of(str(tmp_path)) == f == Folder.of(tmp_path / "." )
    assert os.fspath(f) == str(tmp_path.resolve())


def test_nothing_is_created_until_asked(tmp_path):
    f = Folder(tmp_path)
    assert f.settings() == RunSettings() and not f.has_ledger
    assert not (tmp_path / WORKDIR_NAME).exists()
    assert f.workdir == tmp_path / WORKDIR_NAME and f.workdir.is_dir()


def test_settings_selection_and_profiles_round_trip(tmp_path):
    f = Folder(tmp_path)
    f.save_settings(RunSettings().with_keyframes(count=3))
    assert Folder(tmp_path).settings().keyframes.count == 3
    f.set_video_excluded("a.mp4", True)
    f.set_frame_excluded("b.mp4", 1.23456, True)
    sel = Folder(tmp_path).selection()
    assert sel.video_excluded("a.mp4") and sel.frame_excluded("b.mp4", 1.235)
    assert not f.set_video_excluded("a.mp4", False).video_excluded("a.mp4")
    assert f.fingerprint() == {"model": f.settings().model, "prompt_hash": f.profile().hash,
                               "keyframes": {"strategy": "keyframes", "count": 3, "max_edge": 1024,
                                             "jpeg_quality": 85}}


def test_a_damaged_settings_file_gives_the_defaults(tmp_path):
    f = Folder(tmp_path)
    (f.workdir / "settings.json").write_text("{not json")
    assert f.settings() == RunSettings()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_a_read_only_folder_works_from_the_user_cache(tmp_path):
    videos = tmp_path / "ro"
    videos.mkdir()
    videos.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        f = Folder(videos)
        assert f.workdir == fallback_workdir(f.path) and f.workdir.is_dir()
    finally:
        videos.chmod(stat.S_IRWXU)


def test_one_sender_at_a_time(tmp_path):
    f = Folder(tmp_path)
    with f.lock(LOCK_SEND), pytest.raises(FolderBusy, match="Another GAIA process"), Folder(tmp_path).lock(LOCK_SEND):
        pass
    with Folder(tmp_path).lock(LOCK_SEND):  # released after use
        pass


def test_sidecar_and_relative_paths_use_the_one_rule(tmp_path):
    f = Folder(tmp_path)
    assert f.sidecar("sub/clip.final.mp4") == tmp_path.resolve() / "sub" / "clip.final.gaia.json"
    assert f.rel(tmp_path / "sub" / "clip.mp4") == "sub/clip.mp4"


def test_a_folder_where_dot_gaia_cannot_be_made_works_from_the_user_cache(tmp_path):
    (tmp_path / WORKDIR_NAME).write_text("not a folder")  # mkdir fails as it would in a read-only folder
    f = Folder(tmp_path)
    assert f.workdir == fallback_workdir(f.path) and f.workdir.is_dir()
    f.save_settings(RunSettings(max_tokens=1024))
    assert Folder(tmp_path).settings().max_tokens == 1024
