"""Benchmark: a folder of 100,000 videos scans and plans, and the app's pages open on it, in one run.

Builds (once, cached in ``bench/.work``) N hard links of one tiny clip in folders of 500, and gives
each its keyframes the quick way: GAIA extracts the first video's frames, and every other video gets
the same frames (hard links) under its own set id, which is exactly what extracting identical
clips would write. Then measures, in this process:

- the first scan (every file probed) and a rescan of the unchanged folder;
- ``plan_submission`` over the whole folder: requests, batches (each within the API's limits);
- each page opened in three sessions one after another (Streamlit's ``AppTest``; each session's pages kept open),
  Select folder first, in a fresh process that does nothing else (a server's), with its time and that process's
  memory after each page, and what each further session adds (it must not grow with the folder).

Baseline in the same run: the same scan and plan at N/10 videos (a tenth of the folder), to show
the cost grows with the folder, not faster. Goals: no stop before N videos; batches within
``gaia.facts.BATCH_MAX_REQUESTS`` and ``BATCH_MAX_BYTES``; memory after the pages under 500 MB.

Usage: python bench/scale.py [--videos 100000] [--no-pages]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from gaia.media.keyframes import cached_keyframes, extract_keyframes
from gaia.media.scan import scan_folder
from gaia.runs.recovery import plan_submission

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import tiny_clip  # noqa: E402  (bench/ is the script's own folder)

from gaia.media.keyframes import MANIFEST_INDEX, _frames_root  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work"


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


LINKS_PER_FILE = 30_000  # a file system allows some 65,000 links to one file


def _source(path: Path, i: int) -> Path:
    """``path``, or for every further ``LINKS_PER_FILE`` links a copy of it to link to."""
    k = i // LINKS_PER_FILE
    if k == 0:
        return path
    copy = path.with_name(f"{path.stem}.copy{k}{path.suffix}")
    if not copy.exists():
        shutil.copyfile(path, copy)
    return copy


def build(n: int) -> Path:
    """N hard links of one clip with their keyframes in the frame cache (made once)."""
    import gaia
    from gaia.media.keyframes import MANIFEST, keyframe_set_id

    folder = WORK / f"scale-{n}"
    if (folder / ".bench-ready").exists():
        if not (_frames_root(folder) / MANIFEST_INDEX).is_file():  # built before the manifest index existed
            _index(folder)
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    clip = folder.parent / f"scale_clip-{n}.mp4"  # a source of its own per folder: links to one file are limited
    shutil.copyfile(tiny_clip(WORK / "scale_clip.mp4"), clip)
    for i in range(n):
        sub = folder / f"cam{i // 500:04d}"
        if i % 500 == 0:
            sub.mkdir()
        os.link(_source(clip, i), sub / f"clip {i:06d}.mp4")
    t0 = time.perf_counter()
    records = scan_folder(folder).records
    print(f"built {n:,} links; first scan {time.perf_counter() - t0:.1f} s", flush=True)
    settings = gaia.Folder(folder).settings()
    (first,) = extract_keyframes(folder, settings=settings.keyframes, model=settings.model, records=records[:1])
    manifest = json.loads((first.frames[0].path.parent / MANIFEST).read_text())
    root = _frames_root(folder)
    for i, rec in enumerate(records[1:], start=1):
        set_id = keyframe_set_id(rec, settings.keyframes, settings.model)
        out = root / set_id
        out.mkdir(parents=True, exist_ok=True)
        for f in first.frames:
            os.link(_source(f.path, i), out / f.path.name)
        (out / MANIFEST).write_text(json.dumps({**manifest, "set_id": set_id}))
    _index(folder)
    (folder / ".bench-ready").write_text("ok")
    return folder


def _index(folder: Path) -> None:
    """The folder's manifest index, as extraction writes it beside the manifests (read here once, in this process)."""
    import gaia

    settings = gaia.Folder(folder).settings()
    t0 = time.perf_counter()
    cached_keyframes(folder, settings=settings.keyframes, model=settings.model)
    print(f"manifest index written in {time.perf_counter() - t0:.1f} s", flush=True)


def scan_and_plan(folder: Path) -> tuple[float, float, float, object]:

    t0 = time.perf_counter()
    scan = scan_folder(folder)
    rescan = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = plan_submission(folder)
    planned = time.perf_counter() - t0
    return rescan, planned, len(scan.records), plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--pages-only", type=Path, help="only open the pages on this built folder (a fresh process)")
    args = parser.parse_args()
    if args.pages_only:
        pages_only(args.pages_only)
        return 0
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work skews timings)")
    from gaia.facts import BATCH_MAX_BYTES, BATCH_MAX_REQUESTS

    small = build(args.videos // 10)
    big = build(args.videos)
    rows = []
    for folder in (small, big):
        rescan, planned, found, plan = scan_and_plan(folder)
        sizes = [(b.n_requests, b.nbytes) for b in plan.batches]
        ok = all(r <= BATCH_MAX_REQUESTS and nb <= BATCH_MAX_BYTES for r, nb in sizes)
        rows.append((found, rescan, planned))
        print(f"{found:>7,} videos: rescan {rescan:6.1f} s, plan {planned:6.1f} s, {len(plan.requests):,} requests in "
              f"{len(plan.batches)} batches (largest {max(r for r, _ in sizes):,} requests, "
              f"{max(nb for _, nb in sizes) / 1e6:.0f} MB; within the API's limits: {ok}); notes: "
              f"{scan_folder(folder).limited or 'none'}", flush=True)
    (n1, r1, p1), (n2, r2, p2) = rows
    print(f"{n2 / n1:.0f}x the videos: rescan {r2 / r1:.1f}x, plan {p2 / p1:.1f}x the time (linear would be "
          f"{n2 / n1:.0f}x)")
    if args.no_pages:
        return 0
    # The pages in a process of their own, as a server that only serves them (this one holds the plans above).
    import subprocess

    subprocess.run([sys.executable, __file__, "--pages-only", str(big)], check=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


def pages_only(folder: Path) -> None:
    """Open each page once on ``folder`` in one session (AppTest), in this fresh process: time and memory."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import gaia  # noqa: F401  (imported before measuring, as a server has)

    st.cache_resource.clear()
    before = rss_mb()
    sessions = []
    for n in (1, 2, 3):  # three sessions one after another: the first visits, then what each further one adds
        start = rss_mb()
        state: dict[str, object] = {"folder": str(folder)}
        kept = []  # a session's pages stay open (as in a browser tab) until the session is done
        for page in ("1_Select_folder.py", "2_Keyframes.py", "3_Estimate_cost.py", "4_Submit.py", "5_Progress.py",
                     "6_Results.py", "7_Tune.py"):
            at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=900)
            for k, v in state.items():
                at.session_state[k] = v
            t0 = time.perf_counter()
            at.run()
            problems = [e.message for e in at.exception]
            if "scan" in at.session_state:  # the session's scan, as the Select page leaves it for the others
                state["scan"] = at.session_state["scan"]
            kept.append(at)
            if n < 3:
                print(f"session {n} {page:22} {time.perf_counter() - t0:6.1f} s "
                      f"{'OK' if not problems else problems[0][:80]}; server memory now {rss_mb():.0f} MB", flush=True)
        sessions.append((kept, rss_mb() - start))
    n = sum(1 for _ in folder.rglob("*.mp4"))
    after = rss_mb()
    print(f"server memory: {before:.0f} MB with GAIA and Streamlit imported, {after:.0f} MB after three sessions "
          f"(goal < 500 MB); each session added {', '.join(f'{d:+.0f} MB' for _, d in sessions)}; "
          f"{(after - before) * 1024 * 1024 / max(1, n) / 1024:.1f} KB a video above the imports, all pages and "
          f"Streamlit's own included ({n:,} videos; aim <= 2 KB)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
