"""``gaia estimate`` gives max_tokens guidance from the folder's past answers."""

from __future__ import annotations

import pytest

import gaia
from gaia._cli import main
from gaia.ledger import RequestIntent
from gaia.media.keyframes import extract_keyframes


def _answers(folder, outputs, *, status="succeeded", error_kind=None):
    f = gaia.Folder(folder)
    s = f.settings()
    with f.ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model=s.model, prompt_hash=f.profile().hash, settings={})
        ids = ledger.add_standard_requests(run_id, [
            RequestIntent(custom_id=f"{status}{i}", rel_path=f"v{i}.mp4", set_id="s", timestamps=(),
                          prompt_hash=f.profile().hash, model=s.model) for i in range(len(outputs))])
        for rid, out in zip(ids, outputs, strict=True):
            ledger.finish_request(rid, status, usage={"input_tokens": 100, "output_tokens": out}, cost_usd=0.01,
                                  error_kind=error_kind)


def test_estimate_text_advises_the_answer_length_limit(make_folder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder({"a.mp4": "testsrc"})
    settings = gaia.Folder(folder).settings().with_keyframes(count=2)
    gaia.Folder(folder).save_settings(settings)
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model, workers=1)
    assert main(["estimate", str(folder)]) == 0
    assert "Answer length limit (max_tokens): 8,192 tokens; no advice yet: 0 answer(s)" in capsys.readouterr().out
    _answers(folder, [700 + 10 * i for i in range(20)])  # p99 = 889.1 -> 1,112 -> 1,280
    assert main(["estimate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "The limit of 8,192 tokens is far above need" in out and "1,280" in out
    _answers(folder, [8192], status="failed", error_kind="max_tokens")
    assert main(["estimate", str(folder)]) == 0
    assert "1 answer(s) were cut off at the limit (8,192 tokens)" in capsys.readouterr().out
