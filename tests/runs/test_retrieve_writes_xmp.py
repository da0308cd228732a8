"""The Export tab's "Also write them whenever results are retrieved": retrieval writes the XMP sidecars
of the videos it answered when the setting is on, and none when it is off (the default)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import gaia
from gaia.exports.xmp import xmp_path
from gaia.runs.batch import submit
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import watch
from gaia.settings import RunSettings

NAMES = ["a.mp4", "sub/b.mp4"]


@pytest.mark.parametrize("on", [False, True])
def test_retrieval_writes_xmp_only_when_asked(tmp_path, fake_ksets, anthropic_client, on):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES)
    f = gaia.Folder(folder)
    assert f.settings().xmp_on_retrieve is False  # the default writes nothing beside the videos
    if on:
        f.save_settings(replace(f.settings(), xmp_on_retrieve=True))
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    assert submit(folder, plan, anthropic_client).ok
    got = watch(folder, anthropic_client, poll_s=0.1)
    assert got.written == len(NAMES) and not got.problems
    assert [xmp_path(folder / rel).exists() for rel in NAMES] == [on] * len(NAMES)
