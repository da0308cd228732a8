"""Shared fixtures: synthetic videos, a clean environment, and (below) the API emulator."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import pytest

from gaia.emulator import EmulatorConfig, EmulatorHandle, start_emulator
from gaia.media.keyframes import extract_keyframes
from gaia.pricing.tokens import clear_count_cache
from tests import videos as media


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees a real key, a real endpoint, a user's price overrides or the user's cache."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "GAIA_PRICES_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    clear_count_cache()  # exact prompt counts are kept per process: each test asks the API afresh


@pytest.fixture(autouse=True)
def no_logs_gte_error(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test that logs an ERROR (or worse) record, unless it is marked ``allow_error_logs``
    (a test that provokes an error on purpose and checks it is logged)."""
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [r for when in ("setup", "call") for r in caplog.get_records(when) if r.levelno >= logging.ERROR]
    assert not errors, "ERROR log records:\n" + "\n".join(f"{r.name}: {r.getMessage()}" for r in errors)


@pytest.fixture(scope="session")
def media_library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every synthetic video kind (see tests/videos.py), built once per session."""
    return media.build_library(tmp_path_factory.mktemp("media"))


@pytest.fixture
def make_folder(tmp_path: Path, media_library: dict[str, Path]) -> Callable[..., Path]:
    """``make_folder({"a.mp4": "testsrc", "sub/b.MOV": "mov"})`` copies videos into a fresh folder."""

    def _make(layout: dict[str, str], name: str = "videos") -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        for rel, kind in layout.items():
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(media_library[kind], dest)
        return root

    return _make


# --- API emulator fixtures (gaia.emulator) -------------------------------------------------------


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    """A running API emulator (state in ``tmp_path``; batches end 0.3 s after creation)."""
    handle = start_emulator(state_dir=tmp_path / "emulator-state", config=EmulatorConfig(batch_delay_s=0.3))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def anthropic_client(emulator: EmulatorHandle) -> Iterator[anthropic.Anthropic]:
    """The official SDK client pointed at ``emulator`` (no retries, so faults surface at once)."""
    client = anthropic.Anthropic(base_url=emulator.base_url, api_key="test-key", max_retries=0)
    try:
        yield client
    finally:
        client.close()


# --- batches: keyframe sets without video decoding (requests, ledger, submit/retrieve tests) -------


@pytest.fixture
def fake_ksets() -> Callable[..., list]:
    """``fake_ksets(folder, ["a.mp4", "sub/b c.MOV"], frames=3)`` writes an (empty) video file and
    small real JPEG frames for each name and returns their ``KeyframeSet``s, without decoding video."""
    from PIL import Image

    from gaia.facts import DEFAULT_MODEL, image_tokens
    from gaia.media.keyframes import Keyframe, KeyframeSet
    from gaia.settings import KeyframeSettings

    def _make(folder: Path, names: list[str], *, frames: int = 3, size: tuple[int, int] = (64, 48),
              model: str = DEFAULT_MODEL, settings: KeyframeSettings | None = None) -> list[KeyframeSet]:
        settings = settings or KeyframeSettings()
        out = []
        for n, rel in enumerate(names):
            video = folder / rel
            video.parent.mkdir(parents=True, exist_ok=True)
            if not video.exists():
                video.write_bytes(b"")
            fdir = folder / ".gaia" / "test-frames" / f"{n:05d}"
            fdir.mkdir(parents=True, exist_ok=True)
            kfs = []
            for i in range(frames):
                path = fdir / f"{i}.jpg"
                Image.new("RGB", size, ((40 * i + 7 * n) % 256, (90 + n) % 256, (200 - 30 * i) % 256)).save(
                    path, "JPEG", quality=80)
                kfs.append(Keyframe(timestamp=1.5 + 2.0 * i, path=path, width=size[0], height=size[1],
                                    nbytes=path.stat().st_size, tokens=image_tokens(*size)))
            out.append(KeyframeSet(video=video, rel_path=rel, settings=settings, model=model,
                                   set_id=f"set{n:05d}", frames=tuple(kfs)))
        return out

    return _make


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> EmulatorHandle:
    """The CLI and the pages talk to the test emulator as if it were the real API (through the
    environment, as the SDK reads it)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture
def ready_folder(make_folder: Callable[..., Path]) -> Callable[[dict[str, str]], Path]:
    """``ready_folder({"a.mp4": "testsrc"})``: a folder whose keyframes (2 per video) are extracted
    with its saved settings."""
    import gaia

    def _make(layout: dict[str, str]) -> Path:
        folder = make_folder(layout)
        gaia.Folder(folder).save_settings(gaia.Folder(folder).settings().with_keyframes(count=2))
        settings = gaia.Folder(folder).settings()
        sets = extract_keyframes(folder, settings=settings.keyframes, model=settings.model)
        assert all(k.frames for k in sets if k.problem is None)
        return folder

    return _make


# --- Cost and prices (gaia.pricing, gaia.facts) ------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_price_catalogue() -> Iterator[None]:
    """No test sees prices another test loaded from an override file (the catalogue is cached)."""
    from gaia.facts import _default_catalogue

    yield
    _default_catalogue.cache_clear()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo folder of this test's own (with a cache of its own), so a test may analyse it."""
    from gaia.media.demo import ensure_demo_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dest = tmp_path / "demo"
    shutil.copytree(ensure_demo_folder(), dest, copy_function=shutil.copy2)
    return dest
