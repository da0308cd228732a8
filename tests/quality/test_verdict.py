"""The verdict: recommend only what is cheaper and within the tolerance; say so when the scorer cannot tell."""

from __future__ import annotations

from gaia.quality.verdict import Verdict, decide, interval


def c(cid: str, role: str, usd: float, diff: float, low: float, high: float, sd: float = 0.1) -> dict:
    return {"id": cid, "label": f"label {cid}", "role": role, "measured_usd_per_video": usd, "diff": diff,
            "ci_low": low, "ci_high": high, "sd": sd}


BASE = [c("ref", "reference", 0.02, 0.0, 0.0, 0.0), c("rep", "replicate", 0.02, 0.0, 0.0, 0.0),
        c("cur", "current", 0.01, -0.01, -0.03, 0.01), c("ctrl", "negative control", 0.005, -0.6, -0.7, -0.5)]


def test_recommends_the_cheapest_within_the_tolerance():
    configs = [*BASE, c("a", "candidate", 0.004, -0.02, -0.05, 0.0), c("b", "candidate", 0.002, -0.2, -0.3, -0.1)]
    d = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=12)
    assert d.verdict is Verdict.RECOMMEND and d.recommended == "a"
    assert abs(d.tolerance_abs - 0.06) < 1e-9  # a tenth of the control-to-ceiling distance (0.6)
    assert "60% cheaper" in d.text


def test_keeps_when_every_cheaper_one_loses_more_and_never_recommends_the_dearer():
    configs = [*BASE, c("b", "candidate", 0.002, -0.2, -0.3, -0.1), c("rich", "candidate", 0.05, 0.0, -0.01, 0.01)]
    d = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=12)
    assert d.verdict is Verdict.KEEP and d.recommended is None


def test_undetermined_says_how_many_more_videos_would_decide():
    configs = [*BASE, c("a", "candidate", 0.004, -0.02, -0.12, 0.05, sd=0.2)]
    d = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=5)
    # margin |-0.02 + 0.06| = 0.04; (1.645 * 0.2 / 0.04)^2 = 67.6 -> 68 videos, 63 more
    assert d.verdict is Verdict.UNDETERMINED and d.videos_needed == 68 and d.more_videos == 63
    assert "63 more video(s)" in d.text


def test_a_control_not_below_the_ceiling_means_the_scorer_cannot_tell():
    blind = [*BASE[:3], c("ctrl", "negative control", 0.005, 0.0, -0.01, 0.01),
             c("a", "candidate", 0.001, 0.0, 0.0, 0.0)]
    d = decide(blind, current="cur", control="ctrl", ceiling=1.0, tolerance=0.1, videos=12)
    assert d.verdict is Verdict.UNDETERMINED and d.recommended is None and "cannot tell" in d.text


def test_current_settings_that_lose_more_than_the_tolerance_are_said_in_words():
    configs = [c("ref", "reference", 0.02, 0.0, 0.0, 0.0), c("cur", "current", 0.01, -0.3, -0.4, -0.2),
               c("ctrl", "negative control", 0.005, -0.6, -0.7, -0.5)]
    d = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=12)
    assert d.current_loses and "lose more than the tolerance" in d.text and d.recommended is None


def test_interval_of_paired_differences():
    iv = interval({"a": -0.1, "b": 0.1, "c": 0.0})
    assert iv.diff == 0.0 and iv.low < 0 < iv.high and iv.videos == 3 and abs(iv.sd - 0.1) < 1e-9
    assert interval({}).diff is None


def test_a_sample_too_small_for_an_interval_recommends_nothing_and_says_how_many_more():
    configs = [*BASE, c("a", "candidate", 0.004, 0.0, 0.0, 0.0, sd=0.0)]  # agrees on every video: zero width
    small = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=3)
    assert small.verdict is Verdict.UNDETERMINED and small.recommended is None and small.more_videos == 2
    assert "fewer than 5 videos" in small.text and "label a" in small.text
    enough = decide(configs, current="cur", control="ctrl", ceiling=0.9, tolerance=0.1, videos=5)
    assert enough.verdict is Verdict.RECOMMEND and enough.recommended == "a"
