"""Benchmark: estimating a 10,000-video run, against a naive baseline measured in the same run.

The baseline prices every request one by one through ``gaia.pricing.models.usage_cost`` (what a simple
per-request price calculator does); ``estimate_run`` prices identical requests once. Prints the
times and the ratio; the totals must agree to the cent.

    .venv/bin/python bench/bench_cost.py [videos]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.media.keyframes import Keyframe, KeyframeSet
from gaia.pricing.estimate import estimate_run
from gaia.pricing.levers import compare_models, what_if
from gaia.pricing.models import usage_cost
from gaia.pricing.tokens import prompt_tokens
from gaia.prompts import default_profile
from gaia.settings import KeyframeSettings

MODEL = "claude-sonnet-4-5"


def main(n: int) -> None:
    sizes = [(1568, 882), (1280, 720), (882, 1568)]
    sets = [KeyframeSet(Path(f"/v/{i}.mp4"), f"{i}.mp4", KeyframeSettings(), MODEL, str(i),
                        tuple(Keyframe(float(j), Path("/f"), *sizes[i % 3], 1, 0) for j in range(6)))
            for i in range(n)]
    profile = default_profile()
    text = prompt_tokens(profile, MODEL)
    tier = model_facts(MODEL).image_tier

    t0 = time.perf_counter()
    naive = 0.0
    for ks in sets:  # baseline: one usage_cost per request, no cache, batch prices
        img = sum(image_tokens(*fit_to_tier(f.width, f.height, tier)) for f in ks.frames)
        prompt = text.prefix + img + text.instruction + len(ks.frames) * text.label
        naive += usage_cost({"input_tokens": prompt, "output_tokens": 2000}, MODEL, batch=True).total_usd
    t_naive = time.perf_counter() - t0

    t0 = time.perf_counter()
    est = estimate_run(sets, model=MODEL, profile=profile, text_tokens=text, output_tokens_default=2000)
    t_est = time.perf_counter() - t0
    assert abs(est.total_usd["batch"] - naive) < 0.005, (est.total_usd["batch"], naive)

    t0 = time.perf_counter()
    rows = compare_models(sets, profile=profile, reference_model=MODEL, output_tokens_default=2000)
    t_cmp = time.perf_counter() - t0
    t0 = time.perf_counter()
    points = what_if(est, sets)
    t_wi = time.perf_counter() - t0

    print(f"{n} videos: naive per-request batch pricing {t_naive:.3f} s (${naive:,.2f})")
    print(f"estimate_run (4 scenarios, ranges, both TTLs, explanations): {t_est:.3f} s = {t_est / t_naive:.2f}x naive")
    print(f"compare_models ({len(rows)} models): {t_cmp:.3f} s = {t_cmp / t_naive:.2f}x naive")
    print(f"what_if ({len(points)} settings): {t_wi:.3f} s = {t_wi / t_naive:.2f}x naive")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
