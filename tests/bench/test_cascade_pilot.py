"""The cascade pilot benchmark's own parts (``bench/cascade_pilot.py``): which pilots ``--every`` evaluates, the
noise control's replicate client, and the per-folder summary it prints."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench import cascade_pilot as cp


def test_every_pilot_is_every_combination_up_to_the_limit_else_the_three_and_a_fixed_sample() -> None:
    five = [f"v{i}.mp4" for i in range(5)]
    every = cp._every_pilot(five, 3, all_up_to=20, sample=12)
    assert len(every) == math.comb(5, 3) == 10 and len({tuple(p) for p in every.values()}) == 10
    assert every["0+2+4"] == ["v0.mp4", "v2.mp4", "v4.mp4"]  # the spread pilot --limit 3 sends is among them
    thirteen = [f"v{i:02d}.mp4" for i in range(13)]
    some = cp._every_pilot(thirteen, 3, all_up_to=20, sample=12)
    assert len(some) == 3 + 12 and all(len(set(p)) == 3 for p in some.values())
    assert len({tuple(sorted(p)) for p in some.values()}) == 15  # no pilot twice
    named = {tuple(p) for p in cp._pilots(thirteen, 3).values()}
    assert named <= {tuple(p) for p in some.values()}  # spread, first and last
    assert some == cp._every_pilot(thirteen, 3, all_up_to=20, sample=12)  # a fixed seed: the same every run
    # a folder with fewer combinations than the sample asks for: all of them beyond spread/first/last, no endless draw
    assert len(cp._every_pilot(five, 3, all_up_to=5, sample=50)) == 10


class _Messages:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def create(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {"ok": True}

    def count_tokens(self, **params: Any) -> int:
        return 7


class _Client:
    def __init__(self, messages: _Messages | None = None, retries: int = 2) -> None:
        self.messages = messages or _Messages()
        self.max_retries = retries

    def with_options(self, max_retries: int) -> _Client:
        return _Client(self.messages, max_retries)


def test_the_replicate_sends_every_message_with_its_own_user_id_and_is_the_client_otherwise() -> None:
    """The emulator seeds every draw with the request's metadata: a replicate whose messages carry their own
    ``metadata.user_id`` is a fresh sample. It must survive ``with_options`` (run now's engine calls it first)."""
    inner = _Client()
    rep = cp._Replicate(inner, "gaia-bench-replicate-1").with_options(max_retries=0)
    rep.messages.create(model="m", max_tokens=5, messages=[], metadata={"user_id": "theirs"})
    rep.messages.create(model="m", max_tokens=5, messages=[])
    assert [p["metadata"] for p in inner.messages.sent] == [{"user_id": "gaia-bench-replicate-1"}] * 2
    assert inner.messages.sent[1]["model"] == "m" and rep.max_retries == 0
    assert rep.messages.count_tokens(model="m") == 7  # everything else is the client's


@dataclass
class _Est:
    total_usd: float
    low_usd: float
    high_usd: float


def test_the_summary_counts_within_ten_percent_the_range_holding_and_the_worst() -> None:
    rows = [{"pilot": p, "actual": 1.0, "est": _Est(t, lo, hi), "predicted": {"est": {cp.STRONG: s}},
             "after": {cp.STRONG: [100]}}
            for p, t, lo, hi, s in (("a", 1.05, 0.9, 1.2, 110), ("b", 0.7, 0.5, 0.8, 100), ("c", 1.1, 1.05, 1.3, 70))]
    text = cp.summary(rows, "est")
    assert text.startswith("within ±10% in 2/3, range holds in 1/3, mean |error| 15.0%, worst -30.0% (pilot b), "
                           "summed -5.0%")  # (1.05 + 0.7 + 1.1) / 3 - 1
    assert text.endswith("the strong pass's output per video: mean |error| 13.3% over 3")


def test_the_defaults_are_three_pilots_a_folder_on_every_folder_with_one_fresh_send() -> None:
    args = cp.parser().parse_args([])
    assert args.folders.split(",") == ["demo", "larger", "kinds", "kinds_b", "same_frames"] == list(cp.FOLDERS)
    got = (args.pilot, args.every, args.all_up_to, args.sample, args.replicates, args.draws)
    assert got == (3, False, 20, 12, 1, 1)
    assert cp.parser().parse_args(["--every"]).every
