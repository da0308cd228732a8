"""After a pilot, the estimate of the rest follows the frames each video will send: answers describe what they
were shown, so a folder whose rest shows more frames than its pilot did gets longer answers, and the estimate
says so. Against the emulator, whose answers come from the frames it is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import gaia
from gaia._cli import main

# Sorted by name, the first three send few frames (a still scene: 1; a box for 2 s in a still scene: 2; four
# solid colours: 4), the other three six each: a pilot of the first three (``--limit 3``) saw fewer frames than
# the rest will send.
LAYOUT = {"a_static.mp4": "static", "b_cuts.mp4": "cuts", "c_testsrc.mp4": "testsrc", "d_distinct.mp4": "distinct",
          "e_hd.mp4": "hd", "f_black_edges.mp4": "black_edges"}


def _json(args: list[str], capsys: pytest.CaptureFixture) -> dict[str, Any]:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _outputs(folder: Path) -> dict[str, tuple[int, int]]:
    """rel_path → (frames sent, output tokens) of each answer."""
    from gaia.pricing.models import usage_tokens

    with gaia.Folder(folder).ledger() as ledger:
        return {r.rel_path: (len(r.timestamps), int(usage_tokens(r.usage).output)) for r in ledger.requests()
                if r.usage and r.status == "succeeded"}


def test_after_a_pilot_the_estimate_of_the_rest_follows_its_frames(make_folder, api_env,
                                                                     capsys: pytest.CaptureFixture) -> None:
    folder = make_folder(LAYOUT)
    _json(["run", str(folder), "--yes", "--limit", "3", "--json"], capsys)
    pilot = _outputs(folder)
    assert sorted(pilot) == ["a_static.mp4", "b_cuts.mp4", "c_testsrc.mp4"]
    assert len({frames for frames, _out in pilot.values()}) == 3  # the pilot saw three frame counts
    pilot_mean = sum(out for _frames, out in pilot.values()) / 3
    doc = _json(["estimate", str(folder), "--json"], capsys)
    out = doc["output_tokens"]
    estimate = next(s for s in doc["scenarios"] if s["key"] == "caching")  # a run now, with caching
    assert main(["estimate", str(folder)]) == 0
    words = capsys.readouterr().out
    spent = gaia.Folder(folder).spent().total_usd
    _json(["run", str(folder), "--yes", "--json"], capsys)
    actual = gaia.Folder(folder).spent().total_usd - spent
    rest = {k: v for k, v in _outputs(folder).items() if k not in pilot}
    rest_frames = sum(frames for frames, _out in rest.values()) / len(rest)
    rest_mean = sum(out for _frames, out in rest.values()) / len(rest)
    assert rest_mean > 1.3 * pilot_mean  # the rest shows more, and says more
    # The estimate follows the frames: the rest sends 2 more frames per video than the pilot did.
    assert out["source"] == "history" and out["samples"] == 3
    assert out["frames_gap"] == pytest.approx(rest_frames - sum(f for f, _o in pilot.values()) / 3)
    assert out["per_frame_tokens"] > 0 and out["point"] > 1.2 * pilot_mean
    assert out["low"] <= rest_mean <= out["high"]
    assert "more frame(s) each on average" in words, words
    # The rest's cost: within ±10% of what it cost (the pilot's mean alone is about 20% short), range holding it.
    assert abs(estimate["total_usd"] - actual) <= 0.10 * actual, (estimate, actual)
    assert estimate["low_usd"] <= actual <= estimate["high_usd"]
