"""The README stays true: its two commands, every CLI command, every screenshot and setting it names."""

from __future__ import annotations

import re
from pathlib import Path

from gaia._cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_two_commands_open_the_readme():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/streamlit run app.py",
        "bash scripts/test.sh",
    ]
    assert README.index("```bash") < 600  # at the top
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()  # CI runs the README's test command


def test_every_cli_command_is_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:
        assert f"`gaia {name}" in README, name


def test_every_screenshot_exists():
    shots = re.findall(r"docs/screenshots/[\w-]+\.png", README)
    assert {"docs/screenshots/" + n for n in ("select.png", "keyframes.png", "estimate.png", "submit.png",
                                               "progress.png", "results.png")} <= set(shots)
    for shot in shots:
        assert (ROOT / shot).is_file(), shot


def test_settings_it_names_exist_in_the_code():
    code = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("gaia/**/*.py"), ROOT / "pages" / "_ui.py",
                                                              ROOT / "tests" / "e2e" / "conftest.py"])
    for name in re.findall(r"`(GAIA_[A-Z_]+)`", README):
        assert name in code, name


def test_every_option_in_the_cli_table_exists():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    rows = re.findall(r"^\| `gaia ([\w-]+)([^`]*)`", README, re.M)
    assert {name for name, _ in rows} == set(sub.choices)  # one row per command
    for name, usage in rows:
        known = sub.choices[name]._option_string_actions
        for flag in re.findall(r"--[a-z0-9-]+", usage):
            assert flag in known, f"gaia {name} {flag}"


def _architecture() -> str:
    return README[README.index("## How it is built"):README.index("## Development")]


def test_the_architecture_table_names_only_real_modules_and_every_package():
    section = _architecture()
    named = set(re.findall(r"`(gaia/[\w/]+(?:\.py|/))`", section))
    assert named, "the architecture section names no module"
    for path in named:
        assert (ROOT / path).exists(), f"the README names {path}, which does not exist"
    for pkg in (ROOT / "gaia").iterdir():
        if pkg.is_dir() and (pkg / "__init__.py").is_file():
            assert f"gaia/{pkg.name}/" in named, f"gaia/{pkg.name}/ is missing from the architecture table"


def test_the_architecture_table_lists_each_subpackage_module():
    section = _architecture()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"\| `gaia/(\w+)/` \| (.*?) \|\n", section)}
    for pkg in ("media", "pricing", "api", "runs"):
        for module in (ROOT / "gaia" / pkg).glob("*.py"):
            if module.stem != "__init__":
                assert f"`{module.stem}`" in rows[pkg], f"gaia/{pkg}/{module.name} is not in the README's table"
