"""No block of six or more lines is written twice in ``gaia/`` or ``pages/``: each piece of logic has one home.

Lines are compared with their whitespace normalised, skipping blank lines and comment-only lines (so a
repeat cannot hide behind a reindent or a comment). A run of ``MIN_LINES`` such lines that appears in two
places (in one file or in two) fails the test, naming both.

Import statements are left out: a module's imports list the names it uses (ruff writes and sorts them),
so two modules that use the same six helpers share an import block without sharing any logic.
``BOILERPLATE`` lists the runs repeated on purpose, each with why it is boilerplate rather than logic
(empty today); ``gaia/pricing/`` is read like every other package.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_LINES = 6

# Runs repeated on purpose: (file, file, first normalised line of the run) -> why it is boilerplate.
BOILERPLATE: dict[tuple[str, str, str], str] = {}


def _import_lines(source: str) -> set[int]:
    """The line numbers of every import statement (all the lines of a parenthesised one)."""
    return {n for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import | ast.ImportFrom)
            for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)}


def _lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, normalised text)`` of the lines that count: not blank, not a comment only, not an import."""
    source = path.read_text(encoding="utf-8")
    imports = _import_lines(source)
    out = []
    for number, raw in enumerate(source.splitlines(), start=1):
        text = " ".join(raw.split())
        if text and not text.startswith("#") and number not in imports:
            out.append((number, text))
    return out


def repeats(files: list[Path], min_lines: int = MIN_LINES, root: Path = ROOT) -> list[tuple[str, int, str, int, str]]:
    """Every run of ``min_lines`` counted lines found in two places: ``(file, line, file, line, first line)``,
    one entry per pair of places (the longest run of a pair is reported once, at its start)."""
    windows: dict[tuple[str, ...], list[tuple[str, int, int]]] = defaultdict(list)
    lines = {}
    for f in files:
        rel = f.relative_to(root).as_posix()
        lines[rel] = _lines(f)
        seq = lines[rel]
        for i in range(len(seq) - min_lines + 1):
            windows[tuple(t for _, t in seq[i:i + min_lines])].append((rel, i, seq[i][0]))
    found = []
    for key, places in windows.items():
        if len(places) < 2:
            continue
        first = places[0]
        for other in places[1:]:
            # report a pair once: skip a window whose predecessor windows also repeat at the same offset
            a, b = first, other
            prev_a = lines[a[0]][a[1] - 1][1] if a[1] > 0 else None
            prev_b = lines[b[0]][b[1] - 1][1] if b[1] > 0 else None
            overlapping = a[0] == b[0] and abs(a[1] - b[1]) < min_lines
            if overlapping or (prev_a is not None and prev_a == prev_b):
                continue
            found.append((a[0], a[2], b[0], b[2], key[0]))
    return sorted(found)


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("gaia/**/*.py"), *ROOT.glob("pages/*.py")])


def test_no_block_of_six_lines_is_written_twice_in_gaia_or_pages():
    found = [r for r in repeats(_sources()) if (r[0], r[2], r[4]) not in BOILERPLATE]
    assert not found, "the same lines in two places (give them one home):\n" + "\n".join(
        f"  {a}:{la} = {b}:{lb}  ({text[:60]})" for a, la, b, lb, text in found)


def test_every_allowed_repeat_is_still_there_and_says_why():
    found = {(r[0], r[2], r[4]) for r in repeats(_sources())}
    for key, why in BOILERPLATE.items():
        assert key in found, f"no longer repeated, drop it from BOILERPLATE: {key}"
        assert re.search(r"\w{4,} .*\w{4,}", why), f"say why {key} is boilerplate"


def test_a_repeat_is_found_across_files_and_within_one_but_not_in_imports(tmp_path):
    block = "\n".join(f"x{i} = compute({i})  # step {i}" for i in range(MIN_LINES))
    names = "from m import (\n" + "".join(f"    name{i},\n" for i in range(MIN_LINES)) + ")\n"
    (tmp_path / "a.py").write_text(f"import os\n{names}{block}\n\n# note\nprint(1)\n{block}\n")
    (tmp_path / "b.py").write_text(names + "def f():\n    " + block.replace("\n", "\n    ") + "\n")
    (tmp_path / "c.py").write_text(names + "\n".join(block.splitlines()[:MIN_LINES - 1]) + "\n")  # too short
    found = repeats(sorted(tmp_path.glob("*.py")), root=tmp_path)
    pairs = [(a, b) for a, _, b, _, _ in found]
    assert ("a.py", "a.py") in pairs and ("a.py", "b.py") in pairs
    assert all("c.py" not in a + b for a, b in pairs)  # the shared import block does not count
