"""The levers' runs: a likely-empty sample measured against the emulator, the Wilson interval, the cascade's rule."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest

import gaia
from gaia._cli import main
from gaia.labels import effective_analysis
from gaia.pricing.levers import measured_misses, share_to_come, wilson
from gaia.prompts import default_profile
from gaia.runs.escalation import has_subject, uncertain
from gaia.runs.levers import spread_sample
from gaia.sidecar import read_sidecar
from tests.media.empty_clips import trap_folder


def test_wilson_interval_matches_the_textbook_values() -> None:
    lo, hi = wilson(1, 12)
    assert lo == pytest.approx(0.0149, abs=5e-4) and hi == pytest.approx(0.3539, abs=5e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=5e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def _beta_binomial_interval(up: int, n: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """The same interval the slow way: every term of the beta-binomial from the gamma function."""
    a, b = up + 0.5, n - up + 0.5

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    probs = [math.exp(math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1)
                      + log_beta(k + a, m - k + b) - log_beta(a, b)) for k in range(m + 1)]
    cumulative = list(itertools.accumulate(probs))
    low = next(k for k, c in enumerate(cumulative) if c > (1 - level) / 2)
    high = next(k for k, c in enumerate(cumulative) if c >= 1 - (1 - level) / 2)
    return low / m, high / m


def test_the_share_to_come_is_the_beta_binomial_predictive_interval() -> None:
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(1, 30)
        up, m = rng.randint(0, n), rng.randint(1, 200)
        assert share_to_come(up, n, m) == _beta_binomial_interval(up, n, m), (up, n, m)
    # many seen and many to come: no term may vanish (a first term of about 1e-400 once made the range 0 to 100%)
    for up, n, m in ((1000, 1000, 5000), (500, 1000, 5000), (0, 1000, 5000), (3000, 3000, 200)):
        lo, hi = share_to_come(up, n, m)
        assert (lo, hi) == _beta_binomial_interval(up, n, m), (up, n, m)
        assert hi - lo < 0.1, (up, n, m, lo, hi)
    # 3 of 3 escalated says little of 2 videos left: none of them may be; the rate's own interval says 44% at least
    assert share_to_come(3, 3, 2) == (0.0, 1.0) and wilson(3, 3)[0] > 0.4
    # many videos to come: the share's spread is the rate's alone, close to its Wilson interval
    lo, hi = share_to_come(50, 100, 100_000)
    assert lo == pytest.approx(wilson(50, 100)[0], abs=0.01) and hi == pytest.approx(wilson(50, 100)[1], abs=0.01)
    assert share_to_come(0, 0, 5) == (0.0, 1.0) and share_to_come(2, 3, 0) == (0.0, 1.0)


def test_the_share_to_come_holds_what_the_videos_left_do_where_the_rates_interval_does_not() -> None:
    """Simulated pilots (a rate drawn at random, 3 to 10 videos seen, 2 to 90 left): the range for the videos left
    holds their share about 95% of the time; the rate's Wilson interval, used for it before, far less often when
    few videos are left."""
    rng = random.Random(11)
    for n, m in ((3, 10), (5, 20), (10, 90)):
        held = {"to come": 0, "rate": 0}
        for _ in range(2000):
            p = rng.random()
            up, k = sum(rng.random() < p for _ in range(n)), sum(rng.random() < p for _ in range(m))
            for name, (lo, hi) in (("to come", share_to_come(up, n, m)), ("rate", wilson(up, n))):
                held[name] += lo - 1e-9 <= k / m <= hi + 1e-9
        assert held["to come"] / 2000 >= 0.94, (n, m, held)
        if m <= 20:
            assert held["rate"] / 2000 <= 0.93, (n, m, held)


def test_spread_sample_takes_evenly_from_all() -> None:
    items = [f"{i}" for i in range(10)]
    assert spread_sample(items, 3) == ["1", "5", "8"]
    assert spread_sample(items[:2], 5) == ["0", "1"]


def test_uncertain_reads_its_rules_from_the_schema() -> None:
    schema = default_profile().schema
    sure = {"confidence": "high", "subjects": [{"species": "red fox"}], "tags": ["fox"]}
    assert uncertain(sure, schema) is None and has_subject(sure, schema)
    assert uncertain({**sure, "confidence": "low"}, schema) == "low confidence"
    assert uncertain({**sure, "subjects": [{"species": "unknown mammal"}]}, schema) == (
        "species unknown while a subject is present")
    assert uncertain({**sure, "tags": ["frames-disagree"]}, schema) == "the frames disagree"
    assert not has_subject({"subjects": [], "tags": ["no-animals"]}, schema)
    assert uncertain(None, schema) == "no usable first answer"


def test_empty_sample_sends_the_likely_empty_clips_and_keeps_the_miss_rate(tmp_path: Path, api_env,
                                                                         capsys: pytest.CaptureFixture) -> None:
    folder = trap_folder(tmp_path / "trap", extract=False)
    f = gaia.Folder(folder)
    f.set_video_excluded("wind.mp4", True)  # excluded by the user: the sample checks exactly these
    assert main(["empty-sample", str(folder), "--yes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["likely_empty"] == 2 and doc["miss_rate"]["sampled"] == 2
    assert not (folder / "fox.gaia.json").exists()  # only the likely-empty clips were sent
    schema = default_profile().schema
    had = sorted(p.name for p in (folder / "wind.mp4", folder / "light.mp4")
                 if has_subject(effective_analysis(read_sidecar(p)), schema))
    assert sorted(doc["miss_rate"]["videos_with_subject"]) == had
    saved = measured_misses(folder)
    assert saved is not None and saved.sampled == 2 and saved.with_subject == len(had)
    lo, hi = saved.interval
    assert lo <= saved.rate <= hi
