"""The public API is typed for real: mypy accepts the typical calls and rejects a wrong keyword."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
MYPY = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary", "--cache-dir",
        str(ROOT / ".mypy_cache")]

pytest.importorskip("mypy")


def _mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MYPY, *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_face_and_typical_calls_type_check():
    res = _mypy(ROOT / "gaia" / "face.py", HERE / "typical_calls.py")
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_wrong_keyword_to_a_public_function_fails_the_check():
    res = _mypy(HERE / "wrong_keyword.py")
    assert res.returncode == 1, res.stdout + res.stderr
    assert 'Unexpected keyword argument "forse" for "plan" of "Folder"' in res.stdout
    assert 'Unexpected keyword argument "max_cost" for "submit" of "Folder"' in res.stdout
    assert 'Unexpected keyword argument "allowed_root" for "check_folder"' in res.stdout
