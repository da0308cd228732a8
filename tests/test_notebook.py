"""The notebook (``examples/explore.ipynb``) runs from top to bottom against the emulator, and its
outputs are not committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "explore.ipynb"


def test_the_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c.get("outputs") and c.get("execution_count") is None for c in code)


@pytest.mark.slow
def test_the_notebook_runs_against_the_emulator(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the demo clips, made for this test
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    text = json.dumps(outputs)
    assert "error" not in {o.get("output_type") for out in outputs.values() for o in out}
    assert "Submitted 5 request(s)" in text and "Wrote 5 answer(s)" in text
    assert "<table>" in text  # the Folder and the estimate show as HTML
    assert "text/html" in text and "data:image/jpeg;base64," in text  # keyframes shown inline
    assert "application/vnd.plotly.v1+json" in text  # the estimate as a plotly chart
