"""Benchmark: retrieving 10,000 batch results into sidecars, GAIA against the naive way, in one run.

Starts the emulator in its own process (``gaia emulator``), submits one batch of N requests for N
fake videos (one small frame each) from folder A, waits for it to end, then measures in fresh
child processes (so each peak RSS is its own):

- GAIA: ``retrieve`` into folder A: streams the results, validates each answer against the
  schema, writes each sidecar atomically through ``write_sidecar`` and records it in the ledger;
- naive: ``list(client.messages.batches.results(id))`` (every result in memory), then for each
  result ``json.loads``, the same schema validation (a prebuilt validator) and ``write_sidecar``
  into folder B, one after the other (no ledger, so no crash safety).

Prints results per second and peak RSS for both, and the ratios. Goals: GAIA at least 1,000
results/s and peak RSS under 250 MB.

Usage: python bench/retrieve.py [--n 10000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emulator_process, peak_rss_mb

from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.runs.status import refresh_status

ROOT = Path(__file__).resolve().parent.parent


def child_gaia(folder: Path, base_url: str) -> dict:
    """Retrieve with GAIA; returns counts, seconds and peak RSS."""
    import gaia

    client = gaia.make_client(api_key="bench", base_url=base_url, max_retries=0)
    start = time.perf_counter()
    res = retrieve(folder, client)
    seconds = time.perf_counter() - start
    return {"results": res.written + res.failed, "written": res.written, "seconds": seconds,
            "peak_rss_mb": peak_rss_mb()}


def child_naive(folder: Path, base_url: str, batch_id: str, names_file: Path) -> dict:
    """The naive way: every result into a list, then validate and write each sidecar."""
    import anthropic
    import jsonschema

    from gaia.prompts import default_profile
    from gaia.sidecar import write_sidecar

    by_id = json.loads(names_file.read_text())  # custom_id -> relative path, as the submission made them
    validator = jsonschema.Draft202012Validator(default_profile().schema)
    client = anthropic.Anthropic(api_key="bench", base_url=base_url, max_retries=0)
    start = time.perf_counter()
    results = list(client.messages.batches.results(batch_id))
    written = 0
    for item in results:
        if item.result.type != "succeeded":
            continue
        msg = item.result.message
        text = next(b.text for b in msg.content if b.type == "text")
        analysis = json.loads(text)
        validator.validate(analysis)
        write_sidecar(folder / by_id[item.custom_id], {"analysis": analysis, "run": {
            "model": msg.model, "custom_id": item.custom_id, "batch_id": batch_id,
            "usage": msg.usage.model_dump(exclude_none=True)}})
        written += 1
    seconds = time.perf_counter() - start
    return {"results": len(results), "written": written, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="results (default 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "gaia":
            print(json.dumps(child_gaia(Path(rest[0]), rest[1])))
        else:
            print(json.dumps(child_naive(Path(rest[0]), rest[1], rest[2], Path(rest[3]))))
        return 0

    from PIL import Image

    import gaia
    from gaia.media.keyframes import Keyframe, KeyframeSet
    from gaia.settings import KeyframeSettings, RunSettings

    tmp = Path(tempfile.mkdtemp(prefix="gaia-bench-retrieve-"))
    with emulator_process(tmp / "emulator", ROOT) as client:
        base_url = str(client.base_url).rstrip("/")
        folder_a, folder_b = tmp / "gaia", tmp / "naive"
        names = [f"d{i // 500:02d}/clip {i:05d}.mp4" for i in range(args.n)]
        frame = tmp / "frame.jpg"
        Image.new("RGB", (64, 48), (120, 80, 40)).save(frame, "JPEG", quality=85)
        kf = Keyframe(timestamp=1.0, path=frame, width=64, height=48, nbytes=frame.stat().st_size, tokens=12)
        ksets = []
        for n, rel in enumerate(names):
            for folder in (folder_a, folder_b):
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_bytes(b"")
            ksets.append(KeyframeSet(video=folder_a / rel, rel_path=rel, settings=KeyframeSettings(),
                                     model=gaia.limits.DEFAULT_MODEL, set_id=f"s{n}", frames=(kf,)))
        names_file = tmp / "names.json"
        t0 = time.perf_counter()
        plan = plan_submission(folder_a, RunSettings(), keyframe_sets=ksets)
        sub = submit(folder_a, plan, client)
        assert sub.ok, sub
        print(f"submitted {sub.sent} requests in {len(sub.batches)} batch(es), {plan.total_bytes / 1e6:.0f} MB, "
              f"in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        while any(s.running for s in refresh_status(folder_a, client)):
            time.sleep(0.5)
        print(f"batch ended after {time.perf_counter() - t0:.1f} s (emulator)")
        batch_id = sub.batches[0].batch_id
        # Request ids are scoped to the folder and the run (``Ledger.request_scope``): the naive way is
        # handed the map from id to video that the submission used, as any client of its own would keep.
        from gaia.api.requests import custom_id_for

        scope = gaia.Folder(folder_a).ledger().request_scope(sub.run_id)
        names_file.write_text(json.dumps({custom_id_for(n, scope=scope): n for n in names}))
        naive = _run_child("naive", str(folder_b), base_url, batch_id, str(names_file))
        ours = _run_child("gaia", str(folder_a), base_url)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work skews timings)")
    for label, r in (("GAIA ", ours), ("naive", naive)):
        print(f"{label}: {r['results']} results ({r['written']} sidecars) in {r['seconds']:.2f} s = "
              f"{r['results'] / r['seconds']:,.0f} results/s, peak RSS {r['peak_rss_mb']:.0f} MB")
    speed = (ours["results"] / ours["seconds"]) / (naive["results"] / naive["seconds"])
    print(f"GAIA/naive speed: {speed:.2f}x; naive/GAIA peak RSS: {naive['peak_rss_mb'] / ours['peak_rss_mb']:.2f}x")
    ok_speed = ours["results"] / ours["seconds"] >= 1000
    ok_rss = ours["peak_rss_mb"] < 250
    print(f"goal >= 1,000 results/s: {'met' if ok_speed else 'MISSED'}; goal peak RSS < 250 MB: "
          f"{'met' if ok_rss else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
