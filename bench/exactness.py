"""Check on real videos that every extracted frame is exactly the frame it claims to be.

For each video in DIR and each strategy (``keyframes``, ``uniform``, ``scene``), GAIA extracts the
frames (fresh cache), then FFmpeg's command-line decoder decodes the video in one plain pass from
the start and the check of the test suite (``tests/media/frames_check.py``) compares: the claimed
time is a real frame time and the picture is that frame, up to JPEG. Files whose decoder reports
damage are held to the looser rule for damaged files (concealment depends on where decoding began).
Frames are sized as GAIA sizes them by default (``--max-edge`` picks another long edge, e.g. 320 to
have small real videos scaled down too). Not a timed benchmark: it prints what it found and exits 1
when a frame is not exact.

Usage: python bench/exactness.py DIR [--frames 6] [--max-edge PX]
(Debian's opencv-doc package has real ones: ``apt-get download opencv-doc`` and ``dpkg-deb -x``;
its examples/data holds tree.avi, vtest.avi, Megamind.avi and the damaged Megamind_bugy.avi.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gaia
from gaia.media.keyframes import extract_keyframes
from gaia.media.scan import scan_folder
from gaia.settings import KeyframeSettings
from tests.media.frames_check import frame_errors

MODEL = "claude-sonnet-4-5"
STRATEGIES = ("keyframes", "uniform", "scene")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--max-edge", type=int, default=KeyframeSettings().max_edge,
                    help="longest frame edge in px (default: GAIA's default)")
    args = ap.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        records = scan_folder(args.folder).records
        for rec in records:
            if not rec.usable:
                print(f"{rec.rel_path}: not usable ({rec.problem})")
                continue
            shutil.copy2(args.folder / rec.rel_path, work / Path(rec.rel_path).name)
        for strategy in STRATEGIES:
            shutil.rmtree(work / ".gaia", ignore_errors=True)
            settings = KeyframeSettings(count=args.frames, strategy=strategy, max_edge=args.max_edge)
            sets = extract_keyframes(work, settings=settings, model=MODEL)
            for kset in sets:
                damaged = bool(kset.note and "damage" in kset.note)
                errors = frame_errors(kset, damaged=damaged)
                bad += bool(errors)
                times = ", ".join(gaia.format.position(f.timestamp) for f in kset.frames)
                verdict = "exact" if not errors else f"{len(errors)} NOT EXACT"
                flag = " [damaged]" if damaged else ""
                print(f"{strategy:9s} {kset.rel_path:22s} {len(kset.frames)} frames ({times}){flag}: {verdict}")
                for e in errors:
                    print("    " + e)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
