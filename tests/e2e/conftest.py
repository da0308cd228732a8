"""Browser end-to-end fixtures: the app served headless by ``streamlit run``, and Debian's Chromium.

The app runs as a real server process (``streamlit run app.py`` on a free port, stdout to a log
file, readiness polled on ``/_stcore/health``) with its own cache folder, no API key and no
secrets file, so it is always in demo mode against the local emulator, whose batches end in a
couple of seconds (``GAIA_DEMO_BATCH_SECONDS``). The browser is Debian's Chromium driven by
Playwright through ``executable_path`` (Playwright's own browser download is not used). When
Chromium is missing these tests are skipped with a reason; when it is present they must pass.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT_S = 90
DEMO_BATCH_SECONDS = "4"  # long enough to see a batch running, short enough to wait for
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1400, "height": 1000}
NARROW = {"width": 420, "height": 900}


def chromium_path() -> str | None:
    """Debian's Chromium (or ``GAIA_CHROMIUM``), if installed."""
    override = os.environ.get("GAIA_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AppServer:
    """A running ``streamlit run app.py``: its URL, its cache folder (demo videos) and its log."""

    url: str
    cache_home: Path
    log: Path
    process: subprocess.Popen

    @property
    def demo_folder(self) -> Path:
        """Where this server's demo videos are made."""
        return self.cache_home / "gaia" / "demo-videos"

    def log_tail(self, n: int = 60) -> str:
        """The last lines of the server's output, for failure messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def start_app(tmp: Path, extra_env: dict[str, str] | None = None) -> AppServer:
    """Start the app headless on a free port and wait until ``/_stcore/health`` answers ``ok``."""
    cache_home = tmp / "cache"
    cache_home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GAIA_", "STREAMLIT_"))}
    env.update({"XDG_CACHE_HOME": str(cache_home), "GAIA_DEMO_BATCH_SECONDS": DEMO_BATCH_SECONDS,
                "PYTHONUNBUFFERED": "1", **(extra_env or {})})
    port = free_port()
    log = tmp / "streamlit.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--secrets.files", str(tmp / "no-secrets.toml")]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = AppServer(url=f"http://127.0.0.1:{port}", cache_home=cache_home, log=log, process=proc)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/_stcore/health", timeout=2).text == "ok":
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)  # polling a server process for readiness, not waiting in a test
    stop_app(server)
    raise RuntimeError(f"streamlit did not become healthy in {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}")


# What a user watching the terminal must never see: a Python traceback, Streamlit's warning that a thread
# without a script context called it, or pyarrow failing to convert a table column.
LOG_PROBLEMS = ("Traceback (most recent call last)", "missing ScriptRunContext", "ArrowTypeError",
                "ArrowInvalid")


# Streamlit's own server, when a browser goes away while it answers (a test's page closed): its websocket endpoint
# closes a socket the client already closed, and uvicorn prints that. Nothing of GAIA's runs in it; a user closing
# a tab can see it too, and only Streamlit can remove it.
_STREAMLIT_DISCONNECT = ("starlette_websocket.py", 'Cannot call "send" once a close message has been sent')


def _streamlit_disconnect(lines: list[str], i: int) -> bool:
    """Whether the traceback starting at line ``i``, with those chained to it, is ``_STREAMLIT_DISCONNECT``."""
    chained = ("During handling", "The above exception")
    j = i + 1
    while j < len(lines):
        if lines[j].startswith((" ", "Traceback", *chained)) or not lines[j].strip():
            j += 1
            continue
        k = j + 1  # lines[j] is an exception's own line: the traceback goes on only when one is chained to it
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k < len(lines) and lines[k].startswith(chained):
            j = k
            continue
        break
    block = "\n".join(lines[i:j + 1])
    return all(mark in block for mark in _STREAMLIT_DISCONNECT)


def log_problems(server: AppServer) -> list[str]:
    """The lines of the server's output that show one of ``LOG_PROBLEMS`` (with two lines after each)."""
    try:
        lines = server.log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return ["\n".join(lines[i:i + 3]) for i, line in enumerate(lines) if any(p in line for p in LOG_PROBLEMS)
            and not _streamlit_disconnect(lines, i)]


def stop_app(server: AppServer) -> None:
    """Terminate the server process (kill it if it does not stop)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, or skip every browser test with the reason."""
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    """One headless Chromium for the session, driven by Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[AppServer]:
    """The app, served headless in demo mode for the whole session."""
    # A short, tidy path: it shows in the screenshots (the sidebar and the page captions).
    tmp = Path(tempfile.mkdtemp(prefix="gaia-"))
    server = start_app(tmp)
    try:
        yield server
        stop_app(server)
        # Over the whole browser suite the terminal stays clean: no traceback, no thread calling Streamlit
        # without a script context, no pyarrow conversion error (issue 26, item 12).
        problems = log_problems(server)
        assert not problems, "the Streamlit server printed:\n" + "\n---\n".join(problems[:10])
    finally:
        stop_app(server)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def page(browser, app_server: AppServer) -> Iterator[object]:
    """A fresh browser tab (its own Streamlit session) on a desktop-sized window."""
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()
