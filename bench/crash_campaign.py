"""Crash campaign: kill ``gaia submit`` and ``gaia run`` (SIGKILL and SIGTERM) at random moments, settle the
folder with the ordinary commands, and count from the emulator's billing log what was lost, written to the
wrong video, or paid twice beyond the requests that were in flight when the process died.

Usage: ``python bench/crash_campaign.py [--kills 102] [--per-trial 3] [--videos 4] [--seed 1]``. Each trial
uses a fresh folder and a fresh emulator (its own billing log) and kills its command ``--per-trial`` times
in a row (alternating SIGKILL and SIGTERM) before settling; trials alternate batch and run now. Bounded:
every command has a timeout, a process that does not stop 30 s after SIGTERM is counted as hung and
killed, and the campaign stops after ``--kills``. Prints one line per trial and the totals.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gaia.emulator import EmulatorConfig, start_emulator  # noqa: E402
from gaia.folder import Folder  # noqa: E402
from gaia.pricing.bill import POSSIBLY_BILLED_KINDS, folder_spend  # noqa: E402
from gaia.sidecar import read_sidecar  # noqa: E402
from tests import videos as media  # noqa: E402

KINDS = ("testsrc", "bframes", "cuts", "rotated", "static", "hd")


def gaia(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gaia", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def settle(folder: Path, mode: str, env: dict[str, str]) -> None:
    """Send what is left and collect every answer, as a user would after a crash."""
    for _ in range(2):
        if mode == "batch":
            gaia(["submit", str(folder), "--yes"], env)
            gaia(["watch", str(folder), "--poll", "0.2"], env)
        else:
            gaia(["run", str(folder), "--yes"], env)
            gaia(["watch", str(folder), "--poll", "0.2"], env)


def count(folder: Path, names: list[str], billed: list[tuple[str, str]]) -> dict[str, float]:
    keys = Counter(k for _, k in billed)
    extra = sum(n - 1 for n in keys.values())
    lost = [n for n in names if not (read_sidecar(folder / n) or {}).get("analysis")]
    wrong = 0
    possibly = 0
    expected_usd = 0.0
    with Folder(folder).ledger() as ledger:
        for n in names:
            run = (read_sidecar(folder / n) or {}).get("run") or {}
            row = ledger.request(int(run["request_id"])) if run.get("request_id") else None
            if run and (row is None or row.rel_path != n or row.custom_id != run.get("custom_id")):
                wrong += 1
        for r in ledger.requests():
            interrupted = r.usage is None and r.error_kind in POSSIBLY_BILLED_KINDS and r.cost_usd
            if interrupted or r.possibly_billed_usd:
                possibly += 1
                expected_usd += (r.cost_usd or 0.0 if interrupted else 0.0) + (r.possibly_billed_usd or 0.0)
    spent = folder_spend(folder)
    return {"billed": len(billed), "videos": len(names), "lost": len(lost), "wrong": wrong, "extra": extra,
            "possibly_billed": possibly, "paid_twice_beyond": max(0, extra - possibly),
            "spent_counts_possibly": int(abs(spent.possibly_billed_usd - expected_usd) < 1e-9)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=102)
    ap.add_argument("--per-trial", type=int, default=3)
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="gaia-crash-"))
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(work / "cache")
    env.pop("GAIA_PRICES_FILE", None)
    template = work / "template"
    names = [f"clip{i}{'.mp4'}" for i in range(args.videos)]
    for name, kind in zip(names, KINDS, strict=False):
        media.make(kind, template / name)
    totals: Counter[str] = Counter()
    started = time.monotonic()
    try:
        i = 0
        while totals["kills"] < args.kills:
            mode = ("batch", "now")[i % 2]
            folder = work / f"t{i:03d}"
            shutil.copytree(template, folder)
            emu = start_emulator(state_dir=work / f"emu{i:03d}", config=EmulatorConfig(
                batch_delay_s=0.5, messages_latency_s=rng.uniform(0.2, 1.0)))
            env.update(ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=emu.base_url)
            try:
                cmd = ["submit", str(folder), "--yes"] if mode == "batch" else \
                    ["run", str(folder), "--yes", "--concurrency", "2"]
                codes = []
                for j in range(args.per_trial):
                    sig = (signal.SIGKILL, signal.SIGTERM)[(i + j) % 2]
                    proc = subprocess.Popen([sys.executable, "-m", "gaia", *cmd], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(rng.uniform(1.0, 3.5))
                    proc.send_signal(sig)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        totals["hung"] += 1
                        proc.kill()
                        proc.wait()
                    codes.append(f"{signal.Signals(sig).name}:{proc.returncode}")
                    totals["kills"] += 1
                    totals[f"{mode}-{signal.Signals(sig).name}"] += 1
                settle(folder, mode, env)
                row = count(folder, names, emu.billed)
            finally:
                emu.stop()
            row.update(trial=i, mode=mode, kills=codes)
            print(json.dumps(row), flush=True)
            for k in ("lost", "wrong", "extra", "possibly_billed", "paid_twice_beyond", "billed", "videos"):
                totals[k] += int(row[k])
            totals["spent_ok"] += int(row["spent_counts_possibly"])
            totals["trials"] += 1
            shutil.rmtree(folder, ignore_errors=True)
            i += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"totals": dict(totals), "seconds": round(time.monotonic() - started, 1)}), flush=True)
    bad = totals["lost"] + totals["wrong"] + totals["paid_twice_beyond"] + totals["hung"] + (
        totals["trials"] - totals["spent_ok"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
