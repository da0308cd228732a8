"""The tune's statistics against answers known in advance."""

from __future__ import annotations

import pytest

from gaia.quality.stats import bootstrap_ci, chance_agreement, cohen_kappa, kappa_terms, videos_needed, z_for


def test_bootstrap_interval_of_a_mean_matches_the_normal_one_and_is_a_point_for_constants():
    values = [0.0, 1.0] * 50  # mean 0.5, standard error 0.05025
    low, high = bootstrap_ci(values, level=0.90, resamples=4000, seed=1)
    half = 1.6449 * 0.5025 / 10
    assert low == pytest.approx(0.5 - half, abs=0.012) and high == pytest.approx(0.5 + half, abs=0.012)
    assert bootstrap_ci([0.3] * 7) == (0.3, 0.3)
    assert bootstrap_ci([]) is None
    assert bootstrap_ci(values, seed=2) == bootstrap_ci(values, seed=2)  # seeded: the same numbers, the same interval


def test_cohen_kappa_of_the_textbook_table():
    # 50 items: both "yes" 20, A yes/B no 5, A no/B yes 10, both "no" 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert chance_agreement(a, b) == pytest.approx(0.5)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    terms = kappa_terms(a, b)
    assert terms is not None and sum(terms) / len(terms) == pytest.approx(0.4)  # per-item terms average to kappa
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa(["x"] * 4, ["x"] * 4) is None  # nothing varies: nothing to measure


def test_videos_needed_from_the_observed_spread():
    assert z_for(0.90) == pytest.approx(1.6449, abs=1e-4)
    assert videos_needed(0.2, 0.1) == 11  # (1.645 * 0.2 / 0.1)^2 = 10.8
    assert videos_needed(0.0, 0.1) == 1
    assert videos_needed(0.2, 0.0) is None
