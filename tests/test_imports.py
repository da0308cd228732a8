"""GAIA's import graph: no cycles between its modules, and importing ``gaia`` never imports Streamlit.

The graph is read from the source with ``ast`` (every ``import`` statement in a module, at module
level AND inside functions, since an import inside a function is the usual way to hide a cycle).
Imports under ``if TYPE_CHECKING:`` are left out: they never run. An edge goes to the module named
(``from gaia.media import scan`` names ``gaia.media.scan``; ``from gaia import Folder`` names
``gaia``), not to the parent packages Python also initialises on the way, which every module
shares.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gaia"


def module_name(path: Path) -> str:
    """``gaia/media/scan.py`` → ``gaia.media.scan``; ``gaia/media/__init__.py`` → ``gaia.media``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the ``gaia`` package by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, here: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every import statement that can run (relative ones resolved)."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".") if is_package else here.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """For every gaia module, the gaia modules it imports."""
    modules = all_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, names in _imports(tree, name, path.name == "__init__.py"):
            if target != "gaia" and not target.startswith("gaia."):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            if subs:
                graph[name].update(subs)
            if len(subs) < len(names) or not names:
                known = target
                while known not in modules and "." in known:
                    known = known.rsplit(".", 1)[0]
                graph[name].add(known)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(out)


def test_the_graph_sees_function_level_and_relative_imports():
    src = ("import os\nfrom gaia.folder import Folder\n\ndef f():\n    from gaia.media import scan\n"
           "    import gaia.ledger\n\nif TYPE_CHECKING:\n    from gaia.runs import batch\n"
           "from . import fsutil\n")
    found = _imports(ast.parse(src), "gaia.sidecar", False)
    assert ("gaia.folder", ["Folder"]) in found
    assert ("gaia.media", ["scan"]) in found  # inside a function
    assert ("gaia.ledger", []) in found
    assert ("gaia", ["fsutil"]) in found  # relative
    assert all(m != "gaia.runs" for m, _ in found)  # TYPE_CHECKING only


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_gaia_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles in gaia:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_importing_gaia_does_not_import_streamlit():
    code = "import sys, gaia, gaia._cli; sys.exit(1 if 'streamlit' in sys.modules else 0)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "gaia imported streamlit"
