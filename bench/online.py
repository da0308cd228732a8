"""Benchmark: run now (``send_now``) against the emulator: throughput, and how concurrency adapts to 429s.

The emulator runs in this process (a threaded HTTP server) with a fixed answer latency standing in
for the model's time to answer (``--latency``, default 0.2 s). Three measurements, in one run:

1. baseline: the same requests sent one at a time (``concurrency=1``), answers per second;
2. GAIA at ``--concurrency`` (default 8): answers per second and the speed-up over the baseline
   (ideally close to the concurrency, since the emulator's latency dominates);
3. GAIA against a rate limit: a token bucket in front of the emulator's ``POST /v1/messages``
   (``--rate`` requests per second, default 15, about half what GAIA reaches unhindered) answers
   429 with ``retry-after``/``retry-after-ms`` when empty; prints the throughput against the limit,
   how many calls met a 429, and the timeline of the limit on requests in flight (halved once per
   wave of 429s, one step back up per window of successful calls); then the same requests through a
   plain pool of the same size relying on the SDK's own retries, for comparison.

Every request is a real GAIA request (fake videos with three small JPEG frames each) through the
official SDK, validated and written to a sidecar and the ledger.

Usage: python bench/online.py [--n 200] [--concurrency 8] [--latency 0.2] [--rate 15] [--burst 4]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fake_sets(folder: Path, n: int, frames: int = 3) -> list:
    """``n`` fake videos (empty files) with small real JPEG frames, as ``KeyframeSet``s."""
    from PIL import Image

    from gaia.facts import DEFAULT_MODEL, image_tokens
    from gaia.media.keyframes import Keyframe, KeyframeSet
    from gaia.settings import KeyframeSettings

    out = []
    for i in range(n):
        rel = f"clip_{i:05d}.mp4"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"")
        fdir = folder / ".gaia" / "bench-frames" / f"{i:05d}"
        fdir.mkdir(parents=True, exist_ok=True)
        kfs = []
        for j in range(frames):
            path = fdir / f"{j}.jpg"
            Image.new("RGB", (96, 64), ((37 * i) % 256, (11 * j + 90) % 256, (200 - 40 * j) % 256)).save(path, "JPEG")
            kfs.append(Keyframe(timestamp=1.0 + 2.0 * j, path=path, width=96, height=64,
                                nbytes=path.stat().st_size, tokens=image_tokens(96, 64)))
        out.append(KeyframeSet(video=folder / rel, rel_path=rel, settings=KeyframeSettings(), model=DEFAULT_MODEL,
                               set_id=f"s{i:05d}", frames=tuple(kfs)))
    return out


def one_run(root: Path, name: str, n: int, client, concurrency: int):
    """Plan and run ``n`` fresh videos in a folder of their own; returns (result, seconds)."""
    from gaia.runs.now import run_now
    from gaia.runs.recovery import plan_run_now
    from gaia.settings import RunSettings

    folder = root / name
    sets = fake_sets(folder, n)
    plan = plan_run_now(folder, RunSettings(), keyframe_sets=sets)
    assert len(plan.requests) == n, plan.problems
    start = time.perf_counter()
    res = run_now(folder, plan, client, concurrency=concurrency)
    seconds = time.perf_counter() - start
    assert res.succeeded == n and res.failed == 0, res.to_dict()
    return res, seconds


def naive_run(root: Path, n: int, client, concurrency: int) -> tuple[int, int, float]:
    """The same requests through a fixed thread pool, no adaptation; returns (answered, failed, seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    import anthropic

    from gaia.api.requests import build_request
    from gaia.prompts import default_profile
    from gaia.settings import RunSettings

    sets = fake_sets(root / "naive", n)
    settings = RunSettings()
    profile = default_profile()

    def send(ks) -> bool:
        params = build_request(ks, profile, model=settings.model, cache_ttl=settings.cache_ttl)["params"]
        try:
            client.messages.create(**params)
            return True
        except anthropic.RateLimitError:
            return False

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(send, sets))
    return sum(done), len(done) - sum(done), time.perf_counter() - start


class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``; ``take`` returns a 429 when empty."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        from gaia.emulator.errors import ApiError

        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return None
            wait = (1.0 - self.tokens) / self.rate
        return ApiError(429, "[bench] rate limit: too many requests per second",
                        headers={"retry-after": str(max(1, round(wait))), "retry-after-ms": str(round(wait * 1000))})


def main() -> int:
    from gaia.emulator import EmulatorConfig, start_emulator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="requests per GAIA run (the baseline sends a quarter)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--latency", type=float, default=0.2, help="the emulator's seconds per answer")
    ap.add_argument("--rate", type=float, default=15.0, help="the rate limit: requests per second")
    ap.add_argument("--burst", type=int, default=4, help="the rate limit's burst")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gaia-bench-online-"))
    emu = start_emulator(state_dir=root / "emulator", config=EmulatorConfig(messages_latency_s=args.latency))
    client = emu.client()
    try:
        n_base = max(4, args.n // 4)
        _base, base_s = one_run(root, "baseline", n_base, client, 1)
        base_rate = n_base / base_s
        print(f"baseline, 1 at a time: {n_base} answers in {base_s:.2f} s = {base_rate:.1f} answers/s "
              f"(emulator latency {args.latency:.2f} s per answer)")

        res, secs = one_run(root, "gaia", args.n, client, args.concurrency)
        rate = args.n / secs
        print(f"GAIA, {args.concurrency} at a time: {args.n} answers in {secs:.2f} s = {rate:.1f} answers/s "
              f"({rate * 60:.0f}/min); {rate / base_rate:.2f}x the baseline (ideal {args.concurrency}x); "
              f"peak in flight {res.peak_in_flight}")

        # A rate limit as the API has one: a token bucket of --rate requests per second (burst --burst),
        # answering 429 with retry-after(-ms) = the time until the next token, in front of the emulator.
        limiter = TokenBucket(args.rate, args.burst)
        plain = emu.emulator.take_fault
        emu.emulator.take_fault = lambda route: plain(route) or (limiter.take() if route == "messages.create"
                                                                   else None)
        calls_before = emu.calls.get("messages.create", 0)
        res, secs = one_run(root, "pushback", args.n, client, args.concurrency)
        emu.emulator.take_fault = plain
        calls = emu.calls.get("messages.create", 0) - calls_before
        rate = args.n / secs
        print(f"GAIA at {args.concurrency} against a rate limit of {args.rate:g} requests/s (burst {args.burst}): "
              f"{args.n} answers in {secs:.2f} s = {rate:.1f} answers/s ({100 * rate / args.rate:.0f}% of the "
              f"limit); {res.throttled} x 429 met over {calls} calls ({100 * res.throttled / max(1, calls):.1f}%), "
              f"{res.failed} failed")
        cuts = sum(1 for c in res.concurrency if c.reason == "HTTP 429")
        ups = sum(1 for c in res.concurrency if c.reason == "calls succeed")
        print(f"  concurrency: started at {res.max_concurrency}, lowest {res.lowest_concurrency}, ended at "
              f"{res.concurrency[-1].limit}; {cuts} cuts (halving), {ups} steps back up (+1 per window of successes)")
        timeline = " ".join(f"{c.at_s:.1f}s:{c.limit}" for c in res.concurrency[:60])
        more = f" ... ({len(res.concurrency) - 60} more)" if len(res.concurrency) > 60 else ""
        print(f"  timeline (seconds into the run: limit): {timeline}{more}")
        # For comparison: a plain thread pool of the same size leaning on the SDK's own retries.
        limiter = TokenBucket(args.rate, args.burst)
        emu.emulator.take_fault = lambda route: plain(route) or (limiter.take() if route == "messages.create"
                                                                   else None)
        calls_before = emu.calls.get("messages.create", 0)
        ok, failed, secs = naive_run(root, args.n, emu.client(max_retries=2), args.concurrency)
        emu.emulator.take_fault = plain
        calls = emu.calls.get("messages.create", 0) - calls_before
        print(f"naive pool of {args.concurrency} with the SDK's retries (2, honouring retry-after): {ok} answers, "
              f"{failed} failed with 429 in {secs:.2f} s; {calls - args.n if not failed else calls - ok} x 429 "
              f"over {calls} calls ({100 * (calls - ok) / max(1, calls):.1f}%)")
    finally:
        emu.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
