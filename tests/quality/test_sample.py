"""The sample: spread over subfolders and durations, deterministic, or the user's own list."""

from __future__ import annotations

from dataclasses import dataclass

from gaia.quality.sample import pick_sample


@dataclass
class V:
    rel_path: str
    duration: float | None
    usable: bool = True


def _folder():
    vids = [V(f"a/clip{i:02d}.mp4", 10.0 + i) for i in range(20)]
    vids += [V(f"b/clip{i:02d}.mp4", 100.0 + 50 * i) for i in range(6)]
    vids += [V("top.mp4", 3.0), V("broken.mp4", None), V("bad.mp4", 5.0, usable=False)]
    return vids


def test_spread_over_subfolders_and_lengths():
    vids = _folder()
    sample = pick_sample(vids, 8)
    assert len(sample.rel_paths) == 8
    groups = {p.split("/")[0] if "/" in p else "." for p in sample.rel_paths}
    assert groups == {"a", "b", "."}
    in_a = sorted(p for p in sample.rel_paths if p.startswith("a/"))
    assert in_a[0] == "a/clip00.mp4" and in_a[-1] == "a/clip19.mp4"  # the shortest and the longest
    assert "broken.mp4" not in sample.rel_paths and "bad.mp4" not in sample.rel_paths
    assert pick_sample(list(reversed(vids)), 8).rel_paths == tuple(sorted(
        sample.rel_paths, key=[v.rel_path for v in reversed(vids)].index))  # same videos whatever the order


def test_deterministic_and_all_when_few():
    vids = _folder()
    assert pick_sample(vids, 12) == pick_sample(vids, 12)
    assert len(pick_sample(vids[:3], 12).rel_paths) == 3


def test_users_list_and_unknown_names():
    sample = pick_sample(_folder(), chosen=["b/clip02.mp4", "./top.mp4", "nope.mp4", "bad.mp4"])
    assert sample.rel_paths == ("b/clip02.mp4", "top.mp4")
    assert len(sample.problems) == 2 and "nope.mp4" in sample.problems[0]
