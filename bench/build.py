"""Benchmark: building the requests for 2,000 videos x 6 frames and splitting them into batches.

Writes realistic 1568x882 JPEG frames (q85 with camera-like grain, about 150 KB each; a pool of
distinct frames is shared by the videos), plans the run (exact request sizes, split by bytes
under the 256 MB limit), then builds every batch body, in fresh child processes so each peak RSS
is its own:

- GAIA: what ``submit`` does before it sends: each batch's body streamed to a spool file one
  request at a time (``write_batch_body``), the file removed after the batch;
- naive: what passing a list to ``client.messages.batches.create(requests=[...])`` does: each
  batch's requests built as dicts in a list, then the whole body serialised with ``json.dumps``.

Prints MB/s and peak RSS for both and the ratios. Goal: GAIA's peak RSS well under one batch's
size (256 MB).

Usage: python bench/build.py [--videos 2000] [--frames 6] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
POOL = 48  # distinct frames


def _ksets(frames_dir: Path, folder: Path, videos: int, frames: int) -> list:
    import gaia
    from gaia.media.keyframes import Keyframe, KeyframeSet
    from gaia.settings import KeyframeSettings

    pool = sorted(frames_dir.glob("*.jpg"))
    out = []
    for v in range(videos):
        kfs = []
        for i in range(frames):
            path = pool[(v * frames + i) % len(pool)]
            kfs.append(Keyframe(timestamp=2.0 + 5.0 * i, path=path, width=1568, height=882,
                                nbytes=path.stat().st_size, tokens=1792))
        rel = f"d{v // 200:02d}/video {v:05d}.mp4"
        out.append(KeyframeSet(video=folder / rel, rel_path=rel, settings=KeyframeSettings(),
                               model=gaia.limits.DEFAULT_MODEL, set_id=f"s{v}", frames=tuple(kfs)))
    return out


def child(kind: str, frames_dir: Path, folder: Path, videos: int, frames: int) -> dict:
    """Plan and build every batch body the GAIA way or the naive way."""
    from gaia.api.bodies import write_batch_body
    from gaia.api.requests import build_request_for
    from gaia.runs.batch import request_lines as _request_lines
    from gaia.runs.recovery import plan_submission
    from gaia.settings import RunSettings

    ksets = _ksets(frames_dir, folder, videos, frames)
    start = time.perf_counter()
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    planned = time.perf_counter() - start
    spool = folder / "spool.json"
    total = 0
    sizes = []
    for b in plan.batches:
        items = plan.requests[b.start:b.stop]
        if kind == "gaia":
            _count, nbytes = write_batch_body(_request_lines(plan, items, [], [], lambda: None), spool)
        else:
            reqs = [build_request_for(p.rel_path, p.frames, plan.profile, model=plan.model,
                                      cache_ttl=plan.settings.cache_ttl, max_tokens=plan.max_tokens) for p in items]
            body = json.dumps({"requests": reqs}).encode()
            spool.write_bytes(body)
            nbytes = len(body)
            del reqs, body
        assert nbytes == b.nbytes or kind == "naive", (nbytes, b.nbytes)
        sizes.append(nbytes)
        total += nbytes
        spool.unlink()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "plan_seconds": planned, "bytes": total, "batches": len(plan.batches),
            "largest_batch": max(sizes), "requests": len(plan.requests), "peak_rss_mb": peak_rss_mb()}


def make_frames(frames_dir: Path) -> None:
    """A pool of 1568x882 JPEG frames with grain (about 150 KB each at q85)."""
    import numpy as np
    from PIL import Image

    frames_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:882, 0:1568]
    for i in range(POOL):
        base = np.stack([(xx * (i + 1) // 13 + yy // 7) % 256, (yy * (i + 3) // 11) % 256,
                         (xx // 5 + yy // (i + 2)) % 256], axis=-1).astype(np.int16)
        grain = rng.normal(0, 5, base.shape).astype(np.int16)
        img = np.clip(base + grain, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(frames_dir / f"f{i:03d}.jpg", "JPEG", quality=85)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, frames_dir, folder, videos, frames = args.child
        print(json.dumps(child(kind, Path(frames_dir), Path(folder), int(videos), int(frames))))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="gaia-bench-build-"))
    try:
        make_frames(tmp / "frames")
        sizes = [p.stat().st_size for p in (tmp / "frames").glob("*.jpg")]
        print(f"{POOL} distinct frames, median {sorted(sizes)[len(sizes) // 2] / 1e3:.0f} KB; "
              f"{args.videos} videos x {args.frames} frames")
        results = {}
        for kind in ("gaia", "naive"):
            folder = tmp / kind
            folder.mkdir()
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(tmp / "frames"), str(folder),
                                  str(args.videos), str(args.frames)], capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                print(out.stderr)
                return 1
            results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    g, n = results["gaia"], results["naive"]
    print(f"plan: {g['requests']} requests, {g['bytes'] / 1e6:,.0f} MB in {g['batches']} batches "
          f"(largest {g['largest_batch'] / 1e6:.0f} MB), split computed in {g['plan_seconds']:.2f} s without "
          "reading an image")
    for label, r in (("GAIA ", g), ("naive", n)):
        print(f"{label}: {r['bytes'] / 1e6:,.0f} MB in {r['seconds']:.1f} s = {r['bytes'] / 1e6 / r['seconds']:.0f} "
              f"MB/s, peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"GAIA/naive speed: {(g['bytes'] / g['seconds']) / (n['bytes'] / n['seconds']):.2f}x; naive/GAIA peak "
          f"RSS: {n['peak_rss_mb'] / g['peak_rss_mb']:.1f}x")
    share = g["peak_rss_mb"] * 2**20 / g["largest_batch"]
    print(f"GAIA peak RSS is {share:.0%} of the largest batch's size "
          f"(goal: well under it): {'met' if share < 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
