"""The demo folder, made once for the quality tests and copied into each test's own folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import gaia


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clips, generated once per session in a cache of their own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("demo-cache")))
        return gaia.ensure_demo_folder()


@pytest.fixture
def demo_copy(tmp_path: Path, demo_source: Path) -> Callable[[], Path]:
    """``demo_copy()``: a fresh copy of the demo folder for this test."""

    def _copy() -> Path:
        dest = tmp_path / "demo"
        shutil.copytree(demo_source, dest)
        return dest

    return _copy
