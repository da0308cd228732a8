"""``gaia cost`` (bill check, JSON, CSV) and ``gaia estimate DIR`` on a real folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gaia
from gaia._cli import main
from gaia.media.keyframes import extract_keyframes

BILL = ["cost", "--model", "claude-sonnet-4-5", "--input-tokens", "365624", "--cache-write-1h-tokens", "106920",
        "--cache-read-tokens", "416988", "--output-tokens", "611412"]


def _block(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end]


def test_bill_check_prints_the_production_bill(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BILL) == 0
    out = capsys.readouterr().out
    block = _block(out, "Batch API + caching")
    # gaia.format.usd: cents from $1, three significant digits below (the one money rule).
    for line, amount in (("Input, not cached", "$0.548"), ("Cache write (1 h)", "$0.321"), ("Cache read", "$0.0625"),
                         ("Output", "$4.59"), ("Total", "$5.52")):
        row = next(r for r in block.splitlines() if r.strip().startswith(line))
        assert row.rstrip().endswith(amount), row
    assert "Prices as of 2026-" in out
    assert "$11.84" in _block(out, "Standard\n")
    assert "$5.92" in _block(out, "Batch API  (")
    assert "$11.03" in _block(out, "Prompt caching")


def test_bill_check_json_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BILL, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    bc = next(s for s in doc["scenarios"] if s["key"] == "batch_caching")
    assert round(bc["total_usd"], 2) == 5.52
    assert round(bc["breakdown"]["usd"]["cache_write_1h"], 2) == 0.32
    assert doc["prices_as_of"] and doc["model"] == "claude-sonnet-4-5"


def test_bill_check_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "usage.csv"
    csv.write_text("date,model,input_tokens,cache_write_1h_tokens,cache_read_tokens,output_tokens\n"
                   "2026-10-01,claude-sonnet-4-5,300000,100000,400000,600000\n"
                   "2026-10-02,claude-sonnet-4-5,65624,6920,16988,11412\n")
    assert main(["cost", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "2026-10-01 to 2026-10-02" in out
    assert _block(out, "Batch API + caching").splitlines()[-1].rstrip().endswith("$5.52")
    assert main(["cost", "--csv", str(csv), "--json", "--per-row"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["bills"]) == 2 and "input" in doc["csv_columns"]


def test_bill_check_errors_are_plain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--model", "claude-nope", "--output-tokens", "5"]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["cost", "--output-tokens", "5"]) == 2
    assert "--model" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("model,colour\nclaude-sonnet-4-5,blue\n")
    assert main(["cost", "--csv", str(bad)]) == 2
    assert "no token columns" in capsys.readouterr().err


def test_help_documents_the_csv_columns(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    out = capsys.readouterr().out
    assert "cache_write_1h_tokens" in out and "example:" in out


def test_estimate_folder_text_and_json(make_folder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    settings = gaia.Folder(folder).settings().with_keyframes(count=3)
    gaia.Folder(folder).save_settings(settings)
    sets = extract_keyframes(folder, settings=settings.keyframes, model=settings.model, workers=1)
    assert all(s.frames for s in sets)
    gaia.Folder(folder).set_video_excluded("b.mp4", True)
    assert main(["estimate", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["videos"] == 1 and doc["frames"] == 3  # b.mp4 excluded on the Keyframes page
    assert doc["model"] == settings.model and doc["prices_as_of"]
    assert doc["text_tokens"]["exact"] is False
    assert [s["key"] for s in doc["scenarios"]] == ["standard", "caching", "batch", "batch_caching"]
    expected = sum(f.tokens for f in sets[0].frames)
    assert doc["image_tokens"] == expected
    assert main(["estimate", str(folder), "--model", "claude-haiku-5-5", "--compare", "--budget", "1"]) == 0
    out = capsys.readouterr().out
    assert "Claude Haiku 5.5" in out and "Batch API + caching" in out and "Prices as of" in out
    assert "APPROXIMATE" in out and "Claude Sonnet 4.6" in out  # the comparison table
    assert "Claude Sonnet 4.5" not in out  # retired on 2026-11-30: not offered for new runs
    assert "Under $1.00" in out


def test_estimate_without_keyframes_says_so(make_folder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder({"a.mp4": "testsrc"})
    assert main(["estimate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "extract them first" in out and "not extracted yet" in out


def test_estimate_counts_exactly_with_a_key(make_folder, emulator, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from gaia.pricing.tokens import clear_count_cache

    clear_count_cache()
    folder = make_folder({"a.mp4": "testsrc"})
    settings = gaia.Folder(folder).settings().with_keyframes(count=2)
    gaia.Folder(folder).save_settings(settings)
    extract_keyframes(folder, settings=settings.keyframes, model=settings.model, workers=1)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    assert main(["estimate", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["text_tokens"]["exact"] is True and doc["text_tokens"]["source"] == "count_tokens"
    assert (gaia.Folder(folder).workdir / "token_counts.json").is_file()
    clear_count_cache()
