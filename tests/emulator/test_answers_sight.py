"""The emulator answers from what it is shown: fewer or smaller frames miss more, weaker models are
less precise, and the same request always gets the same answer."""

from __future__ import annotations

import io
import json
import random

from PIL import Image, ImageDraw

from gaia.emulator.answers import MARK, acuity, answer_text, frame_facts, sightings
from gaia.emulator.tokens import ImageRef
from gaia.prompts import default_schema

SCENES = [((40, 120, 50), (140, 90, 40)), ((60, 150, 200), (250, 230, 60)), ((20, 60, 140), (250, 150, 30))]


def _frames(n: int, edge: int) -> list[ImageRef]:
    """``n`` frames over three scenes (a coloured disc on a plain background), ``edge`` px wide."""
    out = []
    h = edge * 9 // 16
    for i in range(n):
        bg, fg = SCENES[i * len(SCENES) // n]
        img = Image.new("RGB", (edge, h), bg)
        r = edge // 10
        x = edge * (i + 1) // (n + 1)
        ImageDraw.Draw(img).ellipse((x - r, h // 2 - r, x + r, h // 2 + r), fill=fg)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(ImageRef(buf.getvalue(), "image/jpeg", edge, h, 0, i * 0.5, f"f{i}"))
    return out


def _species(n: int, edge: int, model: str) -> set[str]:
    seen, _ = sightings(frame_facts(_frames(n, edge)), model)
    return {s.species for s in seen}


def test_the_subject_is_found_and_named_from_its_colour():
    facts = frame_facts(_frames(6, 480))
    assert all(f.subject_colour is not None and f.subject_px > 1000 for f in facts)
    assert _species(12, 480, "claude-opus-5-5") >= {"dog", "canary", "domestic cat"}


def test_fewer_and_smaller_frames_miss_more_and_weaker_models_are_coarser():
    rich = _species(12, 480, "claude-sonnet-5-5")
    assert len(_species(2, 480, "claude-sonnet-5-5") & rich) < len(rich)  # two frames cannot show three scenes
    small = [frame_facts(_frames(12, 96))]
    assert small[0][0].subject_px < frame_facts(_frames(12, 480))[0].subject_px / 10
    _, sure_small = sightings(small[0], "claude-sonnet-5-5")
    _, sure_big = sightings(frame_facts(_frames(12, 480)), "claude-sonnet-5-5")
    assert sure_small < sure_big
    assert acuity("claude-haiku-5-5") < acuity("claude-sonnet-5-5") < acuity("claude-opus-5-5")
    coarse = {"mammal", "bird", "rodent", "amphibian", "insect", "animal"}

    def coarse_names(model: str) -> int:  # over eleven frame sizes, so many draws
        return sum(len(_species(12, edge, model) & coarse) for edge in range(320, 481, 16))

    assert coarse_names("claude-haiku-5-5") > coarse_names("claude-sonnet-5-5") > coarse_names("claude-opus-5-5")


def test_deterministic_valid_and_still_says_it_is_emulated():
    import jsonschema

    facts = frame_facts(_frames(6, 384))
    a = answer_text(default_schema(), facts, random.Random(1), model="claude-haiku-5-5")
    b = answer_text(default_schema(), facts, random.Random(2), model="claude-haiku-5-5")
    assert a == b
    data = json.loads(a)
    jsonschema.validate(data, default_schema())
    assert data["summary"].startswith(MARK)
    assert data["subjects"] and all("(emulated)" in s["species"] for s in data["subjects"])
    assert {s["species"].split(" (")[0].replace(" ", "-") for s in data["subjects"]} <= set(data["tags"])
    assert data["frame_quality"] == "good"
    tiny = json.loads(answer_text(default_schema(), frame_facts(_frames(6, 128)), random.Random(1)))
    assert tiny["frame_quality"] == "poor"
