"""The emulator answers from what it is shown: fewer or smaller frames miss more, weaker models are
less precise, and the same request always gets the same answer."""

from __future__ import annotations

import io
import json
import random

from PIL import Image, ImageDraw

from gaia.emulator.answers import MARK, acuity, answer_text, chance, frame_facts, request_seed, sightings
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

    def coarse_names(model: str) -> int:  # over twenty-one small frame sizes, so many draws
        return sum(len(_species(12, edge, model) & coarse) for edge in range(96, 257, 8))

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


def _tiny_subject(edge: int) -> list[ImageRef]:
    """One scene: a small bright dot (1/80 of the width across) on grass, sent ``edge`` px wide."""
    h = edge * 9 // 16
    img = Image.new("RGB", (edge, h), (40, 120, 50))
    r = max(1, edge // 160)
    ImageDraw.Draw(img).ellipse((edge // 2 - r, h // 2 - r, edge // 2 + r, h // 2 + r), fill=(250, 230, 60))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return [ImageRef(buf.getvalue(), "image/jpeg", edge, h, 0, 0.0, "f0")]


def test_a_subject_too_small_at_the_size_received_is_not_there():
    big, small = frame_facts(_tiny_subject(1536))[0], frame_facts(_tiny_subject(240))[0]
    assert big.subject_colour == "yellow" and big.subject_px > 50
    assert small.subject_colour is None and small.subject_px == 0  # blurred into the grass at 240 px


def test_a_weaker_model_is_noisier_on_small_subjects_not_capped_on_large_ones():
    haiku, sonnet = "claude-haiku-5-5", "claude-sonnet-5-5"
    assert chance(20_000, haiku, 190) > 0.99 and chance(20_000, sonnet, 190) > 0.99  # no cap
    assert chance(150, haiku, 190) < chance(150, sonnet, 190) - 0.15  # small: the weaker model misses more


def test_each_request_is_its_own_sample_and_the_same_request_the_same_answer():
    facts = frame_facts(_frames(12, 112))
    runs = {tuple(sorted(s.species for s in sightings(facts, "claude-haiku-5-5", request_seed(i))[0]))
            for i in range(12)}
    assert len(runs) > 1  # run-to-run variation between requests...
    same = {tuple(sorted(s.species for s in sightings(facts, "claude-haiku-5-5", request_seed(3))[0]))
            for _ in range(3)}
    assert len(same) == 1  # ...and none for one request


def test_a_prompt_asking_for_brevity_gets_a_shorter_answer():
    facts = frame_facts(_frames(6, 384))
    full = json.loads(answer_text(default_schema(), facts, random.Random(1), model="claude-sonnet-5-5"))
    brief = json.loads(answer_text(default_schema(), facts, random.Random(1), model="claude-sonnet-5-5",
                                   prompt="Describe it. Be brief: the summary is one short sentence."))
    assert len(brief["summary"]) < len(full["summary"]) / 2 and len(brief["tags"]) < len(full["tags"])


def test_no_threshold_equals_a_ladder_level_or_a_preset_edge():
    import ast
    from pathlib import Path

    import gaia.emulator.answers as answers
    from gaia.quality.ladder import CONTROL_FRAMES, EDGE_LEVELS, FRAME_LEVELS, REFERENCE_FRAMES
    from gaia.settings import DEFAULT_FRAME_COUNT, DEFAULT_MAX_EDGE, FRAME_PRESETS

    levels = {*FRAME_LEVELS, *(e for e in EDGE_LEVELS if e), *(p.max_edge for p in FRAME_PRESETS), REFERENCE_FRAMES,
              CONTROL_FRAMES, DEFAULT_FRAME_COUNT, DEFAULT_MAX_EDGE, 384, 192}  # 384/192: the old ladder's sizes
    tree = ast.parse(Path(answers.__file__).read_text(encoding="utf-8"))
    thresholds = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(x, ast.Call) and getattr(x.func, "id", "") == "len" for x in sides):
                continue  # counting options or items, not perceiving
            thresholds += [x.value for x in sides if isinstance(x, ast.Constant) and isinstance(x.value, int | float)]
    for node in tree.body:  # module-level constants
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant | ast.Tuple):
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            thresholds += [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, int | float)]
    assert thresholds and not {t for t in thresholds if not isinstance(t, bool)} & levels
