"""Benchmark: the app's pages on a folder of 2,000 videos, against plain Streamlit pages of the same rows, in one run.

Builds (once, cached in ``bench/.work``) a folder of N tiny clips (hard links of one 2 s 160x120
clip, in subfolders), extracts their keyframes, sends them through the emulator in batches and
retrieves every answer into sidecars, so every page has a full folder to show. Then, in this one
process (Streamlit's ``AppTest``, which runs a page's script as the server would for one session):

- each page (Keyframes, Estimate cost, Submit, Progress, Results, Tune) on a cold first visit (a new session, with
  Streamlit's caches and GAIA's own cleared; modules already imported, as in a server that served a
  page before), on its first visit after opening the folder (caches cleared, then the Select folder page run
  in a new session, untimed, and the page opened in it: what a user does first) and on a second visit in
  the same session;
- baselines: a plain page of ``st.dataframe`` over the same result rows (for Results), and a plain
  ``st.image`` grid of the same frames the Keyframes page shows on its first page (for Keyframes);
- memory (RSS) in fresh processes that stand in for a server: GAIA's pages opened in one session, then in a
  second, against the plain pages the same way (what Streamlit and the libraries hold on their own), and which
  page, if any, loaded the Anthropic SDK (no page should: only sending asks the API).

Prints seconds and the ratios against the goals: every page under 1 s on a second visit and under
2 s on the first; Results within 1.3x the plain dataframe; Keyframes within 1.3x the plain grid;
memory under 250 MB.

Usage: python bench/page_speed.py [--videos 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from gaia.media.keyframes import cached_keyframes, extract_keyframes
from gaia.media.scan import scan_folder
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve
from gaia.runs.status import refresh_status

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import emulator_process, tiny_clip  # noqa: E402  (bench/ is the script's own folder)

WORK = Path(__file__).resolve().parent / ".work"
PAGES = ROOT / "pages"
PAGES_TIMED = ("2_Keyframes.py", "3_Estimate_cost.py", "4_Submit.py", "5_Progress.py", "6_Results.py", "7_Tune.py")


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_folder(n: int) -> Path:
    """N tiny clips with keyframes extracted and every answer retrieved (made once, reused)."""
    import gaia
    from gaia.settings import RunSettings

    folder = WORK / f"pages-{n}"
    done = folder / ".bench-ready"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sample = tiny_clip(WORK / "pages_clip.mp4")
    for i in range(n):
        sub = folder / f"day{i // 200:03d}"
        sub.mkdir(exist_ok=True)
        os.link(sample, sub / f"clip {i:05d}.mp4")
    t0 = time.perf_counter()
    scan = scan_folder(folder)
    settings = gaia.Folder(folder).settings()
    sets = extract_keyframes(folder, settings=settings.keyframes, model=settings.model, records=scan.records)
    print(f"built {n} clips, keyframes extracted in {time.perf_counter() - t0:.1f} s", flush=True)
    with emulator_process(WORK / f"pages-{n}-emulator", ROOT) as client:
        plan = plan_submission(folder, RunSettings(), keyframe_sets=sets)
        sub = submit(folder, plan, client)
        assert sub.ok, sub
        while any(s.running for s in refresh_status(folder, client)):
            time.sleep(0.5)
        res = retrieve(folder, client)
        print(f"{res.written} answers retrieved in {time.perf_counter() - t0:.1f} s in all", flush=True)
    done.write_text("ok")
    return folder


def _plain_table(rows_file: str) -> None:
    import pandas as pd
    import streamlit as st

    st.title("Results")
    df = pd.read_pickle(rows_file)
    st.dataframe(df, hide_index=True, width="stretch")
    query = st.text_input("Search")
    if query:
        st.dataframe(df[df.apply(lambda r: r.astype(str).str.contains(query, case=False).any(), axis=1)])


def _plain_grid(paths_file: str) -> None:
    import json
    from pathlib import Path

    import streamlit as st

    st.title("Keyframes")
    for video in json.loads(Path(paths_file).read_text()):
        st.markdown(f"**{video['name']}**")
        st.image(video["frames"], caption=video["captions"], width=160)


def memory_run(kind: str, folder: Path) -> None:
    """(In a fresh process, a server's stand-in) open every page once per session, in two sessions: GAIA's pages
    (Select folder first) or the plain pages; print the memory after imports, after one session, after two."""
    import streamlit as st  # noqa: F401
    from streamlit.testing.v1 import AppTest

    import gaia  # noqa: F401  (imported before measuring, as a server has)

    start = rss_mb()
    after = []
    sdk_by = "-"  # the first page after which the Anthropic SDK was loaded
    for _ in range(2):
        if kind == "gaia":
            state: dict[str, object] = {"folder": str(folder)}
            for page in ("1_Select_folder.py", *PAGES_TIMED):
                at = AppTest.from_file(str(PAGES / page), default_timeout=300)
                for k, v in state.items():
                    at.session_state[k] = v
                at.run()
                assert not at.exception, (page, [e.message for e in at.exception])
                if "scan" in at.session_state:
                    state["scan"] = at.session_state["scan"]
                if sdk_by == "-" and "anthropic" in sys.modules:
                    sdk_by = page
        else:
            for fn, arg in ((_plain_table, WORK / "pages_rows.pkl"), (_plain_grid, WORK / "pages_grid.json")):
                at = AppTest.from_function(fn, args=(str(arg),), default_timeout=300)
                at.run()
                assert not at.exception, [e.message for e in at.exception]
        after.append(rss_mb())
    print(f"{sdk_by} {start:.0f} {after[0]:.0f} {after[1]:.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run:
        memory_run(args.memory_run[0], Path(args.memory_run[1]))
        return 0
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work skews timings)")
    folder = build_folder(args.videos)

    import json

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import gaia

    os.environ.pop("ANTHROPIC_API_KEY", None)
    start_mb = rss_mb()

    def clear() -> None:
        st.cache_data.clear()
        st.cache_resource.clear()
        gaia.media.keyframes._manifest_memo.clear()
        gaia.sidecar._state_memo.clear()

    def visit(page: str) -> tuple[float, float, float]:
        """A cold first visit (a new session, every cache cleared: Streamlit's and GAIA's own); a first visit after
        opening the folder (every cache cleared, then the Select folder page run in a new session, untimed, as a
        user opens a folder, and the page opened in that session); then a second visit in the same session."""
        clear()
        at = AppTest.from_file(str(PAGES / page), default_timeout=300)
        at.session_state["folder"] = str(folder)
        t0 = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t0
        assert not at.exception, (page, [e.message for e in at.exception])
        clear()
        select = AppTest.from_file(str(PAGES / "1_Select_folder.py"), default_timeout=300)
        select.session_state["folder"] = str(folder)
        select.run()
        assert not select.exception, [e.message for e in select.exception]
        at = AppTest.from_file(str(PAGES / page), default_timeout=300)
        for k in ("folder", "folder_input", "scan"):
            if k in select.session_state:
                at.session_state[k] = select.session_state[k]
        t0 = time.perf_counter()
        at.run()
        first = time.perf_counter() - t0
        assert not at.exception, (page, [e.message for e in at.exception])
        t0 = time.perf_counter()
        at.run()
        second = time.perf_counter() - t0
        return cold, first, second

    def plain(fn, arg: str) -> float:
        at = AppTest.from_function(fn, args=(arg,), default_timeout=300)
        t0 = time.perf_counter()
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return time.perf_counter() - t0

    # The baselines' data: the Results page's rows, and the frames of the Keyframes page's first page.
    rows = gaia.views.load_results(folder, None)
    import pandas as pd

    df = pd.DataFrame(gaia.views.table_records(rows, None), columns=gaia.views.TABLE_COLUMNS).drop(columns="thumbnail")
    rows_file = WORK / "pages_rows.pkl"
    df.to_pickle(rows_file)
    settings = gaia.Folder(folder).settings()
    ksets = cached_keyframes(folder, settings=settings.keyframes, model=settings.model)
    per_page = gaia.views.paging(len(ksets)).per_page
    grid = [{"name": k.rel_path, "frames": [str(f.path) for f in k.frames],
             "captions": [gaia.views.keyframe_caption(f, excluded=False) for f in k.frames]} for k in ksets[:per_page]]
    grid_file = WORK / "pages_grid.json"
    grid_file.write_text(json.dumps(grid))

    pages = list(PAGES_TIMED)
    colds: dict[str, list[float]] = {p: [] for p in pages}
    firsts: dict[str, list[float]] = {p: [] for p in pages}
    seconds: dict[str, list[float]] = {p: [] for p in pages}
    base_table: list[float] = []
    base_grid: list[float] = []
    for p in pages:  # a server that has served a page before: modules imported (not timed)
        visit(p)
    for _ in range(args.repeats):  # in rotation, so passing load weighs on GAIA and the baselines alike
        for p in pages:
            c, f, s = visit(p)
            colds[p].append(c)
            firsts[p].append(f)
            seconds[p].append(s)
        base_table.append(plain(_plain_table, str(rows_file)))
        base_grid.append(plain(_plain_grid, str(grid_file)))
    mem = rss_mb()

    print(f"\n{args.videos} videos, median of {args.repeats}; seconds for the page's script run (AppTest)")
    print("'cold': a new session, nothing read yet; 'first': the first visit after opening the folder on the Select "
          "folder page (every cache cleared before it); 'second': the same session again")
    print(f"{'page':22} {'cold':>7} {'first':>7} {'second':>7}   goals: first < 2 s, second < 1 s")
    for p in pages:
        c, f, s = (statistics.median(x[p]) for x in (colds, firsts, seconds))
        print(f"{p:22} {c:7.2f} {f:7.2f} {s:7.2f}")
    bt, bg = statistics.median(base_table), statistics.median(base_grid)
    rs = statistics.median(seconds["6_Results.py"])
    ks = statistics.median(seconds["2_Keyframes.py"])
    print(f"plain st.dataframe of the same {len(df)} rows: {bt:.2f} s; Results (second visit) / plain: "
          f"{rs / bt:.2f}x (goal <= 1.3x)")
    print(f"plain st.image grid of the same {sum(len(g['frames']) for g in grid)} frames: {bg:.2f} s; Keyframes "
          f"(second visit) / plain: {ks / bg:.2f}x (goal <= 1.3x)")
    print(f"memory of this process: {start_mb:.0f} MB before the pages, {mem:.0f} MB after opening each "
          f"{args.repeats} times")
    import subprocess

    served = {}
    for kind, label in (("gaia", "GAIA's pages (Select folder first)"), ("plain", "the plain table and grid")):
        out = subprocess.run([sys.executable, __file__, "--memory-run", kind, str(folder)], capture_output=True,
                             text=True, check=True).stdout.split()
        sdk_by, (base, one, two) = out[-4], (float(x) for x in out[-3:])
        served[kind] = two
        print(f"server memory, a fresh process serving {label}: {base:.0f} MB with GAIA and Streamlit imported, "
              f"{one:.0f} MB after one session, {two:.0f} MB after a second ({two - one:+.0f} MB)"
              + (" (goal < 250 MB); the Anthropic SDK (some 60 MB) was " + (
                  "not loaded" if sdk_by == "-" else f"loaded by {sdk_by}") if kind == "gaia" else ""))
    gaia_mb, plain_mb = served["gaia"], served["plain"]
    print(f"server memory, GAIA / plain: {gaia_mb / plain_mb:.2f}x ({gaia_mb - plain_mb:+.0f} MB)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
