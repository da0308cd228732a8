"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB (VmHWM; ``ru_maxrss`` would carry the parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tiny_clip(path: Path) -> Path:
    """A 2 s, 160x120 H.264 test clip at ``path`` (made once): what the large generated folders hard-link."""
    import subprocess

    from gaia.media.probe import ffmpeg_exe

    if not path.exists():
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", "-g", "12", str(path)], check=True)
    return path


@contextlib.contextmanager
def emulator_process(state_dir: Path, root: Path) -> Iterator[Any]:
    """GAIA's emulator in its own process on a free loopback port (as a user runs it), and an SDK client
    talking to it once it answers; the process is ended on exit."""
    import socket
    import subprocess
    import sys
    import time

    import gaia

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = subprocess.Popen([sys.executable, "-m", "gaia", "emulator", "--port", str(port), "--state-dir",
                            str(state_dir), "--delay", "1"], cwd=root, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        client = gaia.make_client(api_key="bench", base_url=f"http://127.0.0.1:{port}", max_retries=3)
        for _ in range(100):
            try:
                client.models.list()
                break
            except Exception:
                time.sleep(0.1)
        yield client
    finally:
        emu.terminate()
        emu.wait(timeout=10)
