"""The public API: the names pages and the CLI may import from ``gaia``, pinned so a change is deliberate;
every one of them used by a page, the CLI or the notebook; and the pages and the CLI reaching GAIA only
through it (``gaia``, its four namespaces, and the CLI's own ``gaia._cli`` helpers)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import gaia
from tests.test_imports import _imports

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = ("gaia.views", "gaia.format", "gaia.limits", "gaia.emulator")  # the public modules below ``gaia``


def _front_ends() -> dict[Path, str]:
    """The pages, the app, the CLI and the notebook's code cells: everything that uses the public face."""
    files = [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py", *sorted((ROOT / "gaia" / "_cli").glob("*.py"))]
    out = {f: f.read_text(encoding="utf-8") for f in files}
    nb = json.loads((ROOT / "examples" / "explore.ipynb").read_text(encoding="utf-8"))
    out[ROOT / "examples" / "explore.ipynb"] = "\n\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return out


def _gaia_names_used(source: str) -> set[str]:
    """The names of ``gaia`` a piece of code uses: ``gaia.NAME`` and ``from gaia import NAME``."""
    tree = ast.parse(source)
    used = {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "gaia"}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module == "gaia" and not n.level:
            used.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module in NAMESPACES:
            used.add(n.module.split(".")[1])
    return used

EXPECTED = {
    # the face and the four public namespaces
    "Folder", "Results", "views", "format", "limits", "emulator", "__version__",
    # what the verbs return, and the records a page builds
    "BatchStatus", "Bill", "CamtrapDeployment", "CascadeEstimate", "ConfigResult", "EmptySaving", "Estimate",
    "ModelRow", "OnlineResult", "PromptProfile", "RetrieveResult", "RunSettings", "ScanResult", "Spend",
    "SubmissionPlan", "SubmitResult", "TokenCounts", "TrialResult", "TrialUndo", "TuneResult", "Verdict",
    # the errors a caller catches
    "BillCsvError", "FolderBusy", "FolderError", "LabelError", "MissingApiKey", "ProfileNotFound", "SidecarError",
    # the operations of no folder: the client, choosing a folder, the demo, the models and their prices, the cap
    "make_client", "describe_error", "allowed_roots", "check_folder", "is_allowed", "subfolders",
    "demo_folder_path", "demo_ready", "ensure_demo_folder", "catalogue", "model_facts", "not_offered_reason",
    "image_tokens", "other_ttl", "output_estimate", "what_if", "budget", "bill", "read_bill_csv",
    "frame_preset", "parse_cascade", "default_profile", "schema_problems", "run_choice", "estimate_now_usd",
    "cap_problem",
}


def test_public_names_are_exactly_the_curated_ones():
    assert set(gaia.__all__) == EXPECTED
    assert len(gaia.__all__) == len(EXPECTED)  # no name listed twice


def test_every_public_name_exists_and_public_functions_are_typed_and_documented():
    import inspect

    for name in gaia.__all__:
        obj = getattr(gaia, name)
        if inspect.isfunction(obj):
            assert obj.__doc__, f"gaia.{name} has no docstring"
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, f"gaia.{name} has no return type"
            for p in sig.parameters.values():
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    assert p.annotation is not inspect.Parameter.empty, f"gaia.{name}({p.name}) is untyped"


def test_every_module_opens_with_a_docstring():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("gaia/**/*.py"), *root.glob("pages/*.py"), root / "app.py", *root.glob("bench/*.py")]
    missing = [str(f.relative_to(root)) for f in files if not ast.get_docstring(ast.parse(f.read_text()))]
    assert not missing, missing


def test_the_public_names_are_about_sixty():
    assert 50 <= len(gaia.__all__) <= 65, len(gaia.__all__)


def test_every_public_name_is_used_by_a_page_the_cli_or_the_notebook():
    used: set[str] = set()
    for source in _front_ends().values():
        used |= _gaia_names_used(source)
    unused = sorted(set(gaia.__all__) - used)
    assert not unused, f"public names no page, CLI module or notebook cell uses: {unused}"


def test_pages_and_the_cli_use_only_the_public_face():
    """No page, the app or a CLI module imports a module of GAIA other than ``gaia``, its namespaces and (the
    CLI) its own helpers, nor uses a name of ``gaia`` that is not public."""
    public = set(gaia.__all__)
    wrong = []
    for path, source in _front_ends().items():
        if path.suffix != ".py":
            continue
        rel = path.relative_to(ROOT).as_posix()
        allowed = ("gaia", *NAMESPACES) + (("gaia._cli",) if rel.startswith("gaia/_cli/") else ())
        for module, names in _imports(ast.parse(source), "gaia._cli.x" if rel.startswith("gaia/") else "x", False):
            if module != "gaia" and not module.startswith("gaia."):
                continue
            ok = module in allowed or (rel.startswith("gaia/_cli/") and module.startswith("gaia._cli."))
            if module == "gaia":
                ok = all(n in public for n in names) if names else True
            if not ok:
                wrong.append(f"{rel}: from {module} import {', '.join(names)}")
        wrong += [f"{rel}: gaia.{name}" for name in sorted(_gaia_names_used(source) - public - {"_cli"})]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_internal_import():
    assert ("gaia.fsutil", ["display_name"]) in _imports(ast.parse("from gaia.fsutil import display_name"), "x", False)
    assert "scan_folder" in _gaia_names_used("import gaia\ngaia.scan_folder('.')")
    assert re.search("limits", " ".join(_gaia_names_used("from gaia.limits import MAX_FRAME_COUNT")))
