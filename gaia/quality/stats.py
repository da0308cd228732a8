"""The tune's statistics: bootstrap intervals, chance-corrected agreement and the sample size that would decide.

``bootstrap_ci`` is the percentile bootstrap of a mean (resampling videos, seeded, so the same
numbers give the same interval). ``chance_agreement`` and ``cohen_kappa`` are Cohen's: observed
agreement corrected by the agreement two raters with the same marginals would reach by chance;
``kappa_terms`` splits kappa into one term per item whose mean is kappa, so a categorical field can
take part in a per-video paired difference. ``videos_needed`` is how many videos an interval of the
observed per-video spread needs to clear a margin.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence

DEFAULT_LEVEL = 0.90
DEFAULT_RESAMPLES = 2000


def z_for(level: float) -> float:
    """The two-sided normal quantile for a confidence ``level`` (0.90 → 1.645)."""
    return statistics.NormalDist().inv_cdf(0.5 + level / 2)


def bootstrap_ci(values: Sequence[float], *, level: float = DEFAULT_LEVEL, resamples: int = DEFAULT_RESAMPLES,
                 seed: int | str = 0) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the mean of ``values`` (``None`` when empty)."""
    xs = [float(v) for v in values]
    if not xs:
        return None
    n = len(xs)
    if min(xs) == max(xs):
        return xs[0], xs[0]
    rng = random.Random(seed)
    means = sorted(sum(xs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    lo = means[max(0, math.floor(tail * resamples))]
    hi = means[min(resamples - 1, math.ceil((1 - tail) * resamples) - 1)]
    return lo, hi


def chance_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """The agreement two raters with ``a``'s and ``b``'s marginals reach by chance: Σ p_a(k)·p_b(k)."""
    if not a or len(a) != len(b):
        raise ValueError("two ratings of the same, non-empty set of items are needed")
    ca, cb, n = Counter(a), Counter(b), len(a)
    return sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)


def kappa_terms(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[float] | None:
    """One term per item, ``(agree − p_e) / (1 − p_e)``, whose mean is Cohen's kappa; ``None`` when
    chance agreement is 1 (both raters always give the one same answer: nothing to measure)."""
    pe = chance_agreement(a, b)
    if pe >= 1 - 1e-12:
        return None
    return [((1.0 if x == y else 0.0) - pe) / (1 - pe) for x, y in zip(a, b, strict=True)]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two ratings of the same items (``None`` when it is undefined)."""
    terms = kappa_terms(a, b)
    return None if terms is None else sum(terms) / len(terms)


def videos_needed(sd: float, margin: float, *, level: float = DEFAULT_LEVEL) -> int | None:
    """How many videos make the interval's half-width (``z·sd/√n``) smaller than ``margin`` (the
    distance from the observed mean to the line to clear); ``None`` when no number would (zero margin)."""
    if margin <= 0 or not math.isfinite(margin):
        return None
    if sd <= 0:
        return 1
    return max(1, math.ceil((z_for(level) * sd / margin) ** 2))
