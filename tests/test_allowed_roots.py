"""Allowed root folders: when configured, the app opens no folder outside them (gaia.settings / gaia.media.scan)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gaia
from gaia.media.scan import FolderError, check_folder, is_allowed
from gaia.settings import allowed_roots


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for d in ("videos/cats", "videos/dogs", "private"):
        (tmp_path / d).mkdir(parents=True)
    return tmp_path


def test_no_roots_configured_means_no_limit(monkeypatch, tree):
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    assert allowed_roots() == ()
    assert check_folder(tree / "private", allowed_roots=allowed_roots()) == (tree / "private").resolve()


def test_roots_come_from_the_environment_and_the_app_config(monkeypatch, tree):
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", f"{tree / 'videos'}{os.pathsep}{os.pathsep} {tree / 'videos'} ")
    assert allowed_roots() == ((tree / "videos").resolve(),)  # blanks and duplicates dropped
    assert allowed_roots([str(tree / "private")]) == ((tree / "videos").resolve(), (tree / "private").resolve())
    assert allowed_roots(f"{tree / 'private'}") == ((tree / "videos").resolve(), (tree / "private").resolve())


def test_home_is_expanded(monkeypatch, tree):
    monkeypatch.setenv("HOME", str(tree))
    monkeypatch.delenv("GAIA_ALLOWED_ROOTS", raising=False)
    assert allowed_roots(["~/videos"]) == ((tree / "videos").resolve(),)


def test_inside_a_root_is_accepted_outside_is_refused_before_any_lookup(tree):
    roots = allowed_roots([str(tree / "videos")])
    assert check_folder(tree / "videos" / "cats", allowed_roots=roots) == (tree / "videos" / "cats").resolve()
    assert check_folder(tree / "videos", allowed_roots=roots) == (tree / "videos").resolve()
    with pytest.raises(FolderError, match="outside the folders this GAIA server may open") as err:
        check_folder(tree / "private", allowed_roots=roots)
    assert str(tree / "videos") in str(err.value)  # says where to look instead
    # A missing folder outside the roots gets the same refusal, not "no such folder": nothing leaks.
    with pytest.raises(FolderError, match="outside the folders"):
        check_folder(tree / "private" / "nope", allowed_roots=roots)


def test_dot_dot_and_symlinks_cannot_escape(tree):
    roots = allowed_roots([str(tree / "videos")])
    with pytest.raises(FolderError, match="outside"):
        check_folder(f"{tree / 'videos'}/../private", allowed_roots=roots)
    (tree / "videos" / "escape").symlink_to(tree / "private")
    with pytest.raises(FolderError, match="outside"):
        check_folder(tree / "videos" / "escape", allowed_roots=roots)
    assert not is_allowed(tree / "videos" / "escape", roots)
    assert not is_allowed(tree, roots)  # the parent of a root is outside it
    # A sibling whose name merely starts with the root's name is outside too.
    (tree / "videos-other").mkdir()
    assert not is_allowed(tree / "videos-other", roots)


def test_malformed_paths_get_plain_messages(tree):
    roots = allowed_roots([str(tree / "videos")])
    with pytest.raises(FolderError, match="Enter a folder path"):
        check_folder("   ", allowed_roots=roots)
    with pytest.raises(FolderError, match="NUL"):
        check_folder("/tmp/\x00x", allowed_roots=roots)
    (tree / "videos" / "file.txt").write_text("x")
    with pytest.raises(FolderError, match="a file, not a folder"):
        check_folder(tree / "videos" / "file.txt", allowed_roots=roots)
    with pytest.raises(FolderError, match="no such folder"):
        check_folder(tree / "videos" / "nope", allowed_roots=roots)
    with pytest.raises(FolderError, match="home folder"):
        check_folder("~no-such-user-gaia/videos")
    with pytest.raises(FolderError, match="outside"):
        check_folder("~no-such-user-gaia/videos", allowed_roots=roots)
    with pytest.raises(FolderError):
        check_folder("/" + "x" * 5000)  # too long for the file system: a message, not a crash


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_without_permission_says_so(tree):
    locked = tree / "videos" / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(FolderError, match="permission denied"):
            check_folder(locked)
    finally:
        locked.chmod(0o755)


def test_a_folder_without_permission_says_so_even_as_root(monkeypatch, tree):
    import gaia.media.scan

    monkeypatch.setattr(gaia.media.scan.os, "access", lambda *_a, **_k: False)
    with pytest.raises(FolderError, match="permission denied"):
        check_folder(tree / "videos")


def test_public_names():
    assert gaia.allowed_roots is allowed_roots and gaia.is_allowed is is_allowed
