"""The same run priced otherwise (``gaia.pricing.levers``): what-if and budget over frames per video x
longest edge, and the same run on every model with its own resize rule and prices.
"""

from __future__ import annotations

import pytest

from gaia.facts import model_facts
from gaia.pricing.estimate import estimate_run
from gaia.pricing.levers import budget, compare_models, edge_steps, what_if
from gaia.settings import FRAME_COUNT_STEPS, MAX_EDGE_STEPS
from tests.pricing.helpers import TEXT, kset, profile


def test_what_if_and_budget() -> None:
    sets = [kset(f"v{i}.mp4", [(1568, 882)] * 4) for i in range(5)]
    sizes = {f"v{i}.mp4": (1920, 1080) for i in range(5)}
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT,
                       output_tokens_default=500)
    pts = what_if(est, sets, frame_counts=(1, 2, 4, 8), max_edges=(512, 1024, 1568), source_sizes=sizes)
    assert len(pts) == 12
    grid = {(p.frames, p.max_edge): p.usd["batch_caching"] for p in pts}
    assert grid[(4, 1568)] == pytest.approx(est.total_usd["batch_caching"], rel=0.01)
    assert grid[(1, 512)] < grid[(2, 512)] < grid[(2, 1024)] < grid[(8, 1568)]
    limit = (grid[(4, 1024)] + grid[(8, 1024)]) / 2
    res = budget(limit, est, sets, points=pts)
    assert res.best is not None and res.best.usd["batch_caching"] <= limit
    assert all(p.image_tokens_per_video <= res.best.image_tokens_per_video for p in res.options)
    none = budget(0.0001, est, sets, points=pts)
    assert none.best is None and "Nothing fits" in none.message


def test_edge_steps_come_from_the_settings_and_stop_at_the_models_tier() -> None:
    sonnet_4_5 = model_facts("claude-sonnet-4-5")  # 1568-px tier
    steps = edge_steps(sonnet_4_5)
    assert steps[-1] == 1568 and set(steps) <= {*MAX_EDGE_STEPS, 1568}
    assert [e for e in MAX_EDGE_STEPS if e <= 1568] == steps
    assert edge_steps(model_facts("claude-sonnet-5-5"))[-1] == model_facts("claude-sonnet-5-5").image_tier.max_edge
    assert edge_steps(sonnet_4_5, (512, 4000)) == [512]  # chosen steps above the tier are dropped
    # What-if's default grid is the settings' frame counts x these edges.
    sets = [kset("a.mp4", [(1568, 882)] * 2)]
    est = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT)
    pts = what_if(est, sets)
    assert {p.frames for p in pts} == set(FRAME_COUNT_STEPS) and {p.max_edge for p in pts} <= set(steps)


def test_compare_models_haiku_5_5_is_about_a_thirtieth_of_sonnet_4_5() -> None:
    sets = [kset(f"v{i}.mp4", [(1280, 720)] * 6, model="claude-sonnet-5-5") for i in range(3)]
    rows = compare_models(sets, profile=profile(), reference_model="claude-sonnet-4-5", output_tokens_default=1000)
    by = {r.model: r for r in rows}
    assert {"claude-haiku-5-5", "claude-sonnet-4-5", "claude-opus-5-5"} <= set(by)
    assert by["claude-sonnet-4-5"].relative == pytest.approx(1.0)
    # Input $0.10 vs $3 and output $0.50 vs $15: 1/30 at list prices (text tokens differ a little).
    assert 1 / 40 < by["claude-haiku-5-5"].relative < 1 / 20
    assert rows == sorted(rows, key=lambda r: r.usd["batch_caching"])
    assert by["claude-sonnet-4-5"].max_edge == 1568 and by["claude-sonnet-5-5"].max_edge == 2576
    assert by["claude-haiku-4-5"].min_cacheable == 4096


def test_a_cascade_after_a_pilot_prices_its_passes_with_the_one_output_estimate_and_says_what_it_cannot_tell() -> None:
    """The cascade's passes are two ordinary estimates: after a pilot whose answers saw fewer frames than the videos
    left will send, each pass's output per video follows the frames (``from_history``, the one computation), and
    when the range is wide the note names both things a pilot teaches: the share sent again and the answers' length."""
    from gaia.pricing.bill import History
    from gaia.pricing.levers import cascade_estimate
    from gaia.pricing.output import from_history

    sets = [kset(f"v{i}.mp4", [(512, 288)] * 6) for i in range(4)]
    pilot = History(output_tokens=(300, 560, 790), output_frames=(1, 4, 6))
    cheap = estimate_run(sets, model="claude-haiku-4-5", profile=profile(), text_tokens=TEXT, history=pilot)
    strong = estimate_run(sets, model="claude-sonnet-4-5", profile=profile(), text_tokens=TEXT, history=pilot)
    expected = from_history([300, 560, 790], remaining=4, frames=[1, 4, 6], to_send=[6] * 4)
    assert cheap.output.point == pytest.approx(expected.point) and cheap.output.point > 550  # the mean is 550
    unframed = estimate_run(sets, model="claude-haiku-4-5", profile=profile(), text_tokens=TEXT,
                            history=History(output_tokens=(300, 560, 790)))
    assert unframed.output.point == pytest.approx(550)
    learnt = {"share": 1.0, "share_low": 0.44, "share_high": 1.0, "share_source": "learnt from 3 video(s)"}
    c = cascade_estimate(cheap, strong, **learnt)  # type: ignore[arg-type]
    u = cascade_estimate(unframed, strong, **learnt)  # type: ignore[arg-type]
    assert c.first_usd > u.first_usd  # longer answers expected for the videos left
    assert not c.can_tell and c.note is not None
    assert c.note.startswith("Cannot tell this cost to within ±10%: the share of first answers sent again is learnt "
                             "from 3 video(s), so for the 4 video(s) left it could be anywhere from 44% to 100%")
    spread = max(o.high - o.point for o in (cheap.output, strong.output)) / cheap.output.point
    assert f"the answers' length, most of the bill, is learnt from the answers so far (3 in the pass with the " \
           f"fewest), so it could be {spread:.0%} shorter or longer" in c.note
    # before any answer: the length is predicted, and said so
    fresh = estimate_run(sets, model="claude-haiku-4-5", profile=profile(), text_tokens=TEXT)
    assert "predicted, not measured" in (cascade_estimate(fresh, strong, share=0.3, share_low=0.1, share_high=0.6,
                                                          share_source="assumed").note or "")
