"""Request building: shape, cached prefix, frame order and labels, exact sizes, splitting, answer parsing."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import httpx2
import pytest

from gaia.api.answers import AnswerChecker, parse_answer
from gaia.api.bodies import BatchSlice, SpoolBody, batch_byte_budget, split_batches, write_batch_body
from gaia.api.requests import build_request, custom_id_for, dumps, frame_label, request_size_for, sniff_media_type
from gaia.api.validate import check_request_shape, keyframe_problems, model_problems
from gaia.facts import CUSTOM_ID_PATTERN, DEFAULT_MODEL
from gaia.prompts import default_profile
from gaia.settings import Selection

GOOD = {
    "summary": "A cat.", "subjects": [{"species": "cat", "scientific_name": "", "count": 1, "description": ""}],
    "behaviours": [], "setting": {"environment": "indoor", "place": "", "lighting": "", "description": ""},
    "notable_moments": [], "people_present": False, "welfare_concerns": [], "frame_quality": "good",
    "confidence": "high", "tags": ["cat"],
}


@pytest.mark.parametrize("rel", ["a.mp4", "with space/ü 猫.MOV", "x" * 500, "dots.in.name.mp4"])
def test_custom_id_is_short_stable_and_never_the_path(rel):
    cid = custom_id_for(rel)
    assert CUSTOM_ID_PATTERN.match(cid) and cid == custom_id_for(rel)
    assert rel not in cid
    retry = custom_id_for(rel, 2)
    assert retry != cid and retry.startswith(cid) and CUSTOM_ID_PATTERN.match(retry)
    assert custom_id_for(rel + "x") != cid


@pytest.mark.parametrize("t, label", [(0, "Frame 1 at 00:00.0"), (12.44, "Frame 1 at 00:12.4"),
                                      (72.5, "Frame 1 at 01:12.5"), (3723.4, "Frame 1 at 1:02:03.4"),
                                      (59.96, "Frame 1 at 01:00.0")])
def test_frame_label(t, label):
    assert frame_label(1, t) == label


def test_build_request_shape(tmp_path, fake_ksets):
    ks = fake_ksets(tmp_path, ["a.mp4"], frames=3)[0]
    shuffled = replace(ks, frames=tuple(reversed(ks.frames)))  # built in time order whatever the input order
    profile = default_profile()
    req = build_request(shuffled, profile, model=DEFAULT_MODEL, cache_ttl="1h", max_tokens=1000)
    assert req["custom_id"] == custom_id_for("a.mp4")
    p = req["params"]
    assert p["model"] == DEFAULT_MODEL and p["max_tokens"] == 1000
    system = p["system"]
    assert system[0]["text"] == profile.system and "cache_control" not in system[0]
    assert json.loads(system[1]["text"].split("\n", 1)[1]) == profile.schema
    assert system[1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert p["output_config"] == {"format": {"type": "json_schema", "schema": profile.schema}}
    for forbidden in ("tool_choice", "tools", "temperature", "top_p", "top_k", "stream", "thinking"):
        assert forbidden not in p
    content = p["messages"][0]["content"]
    assert [b["type"] for b in content] == ["text", "image"] * 3 + ["text"]
    assert [b["text"] for b in content[0:6:2]] == ["Frame 1 at 00:01.5", "Frame 2 at 00:03.5", "Frame 3 at 00:05.5"]
    for block, frame in zip(content[1:6:2], ks.frames, strict=True):
        assert block["source"]["media_type"] == "image/jpeg"
        assert base64.b64decode(block["source"]["data"]) == frame.path.read_bytes()
    assert content[-1]["text"] == profile.instruction
    assert check_request_shape(p) == []
    five = build_request(ks, profile, model=DEFAULT_MODEL, cache_ttl="5m")["params"]["system"][1]["cache_control"]
    assert five["ttl"] == "5m"
    with pytest.raises(ValueError):
        build_request(ks, profile, model=DEFAULT_MODEL, cache_ttl="2h")


def test_prefix_is_identical_across_videos(tmp_path, fake_ksets):
    a, b = fake_ksets(tmp_path, ["a.mp4", "b/c.mp4"])
    pa = build_request(a, default_profile(), model=DEFAULT_MODEL, cache_ttl="1h")["params"]
    pb = build_request(b, default_profile(), model=DEFAULT_MODEL, cache_ttl="1h")["params"]
    assert dumps(pa["system"]) == dumps(pb["system"])
    assert pa["messages"] != pb["messages"]


def test_selection_leaves_out_excluded_frames(tmp_path, fake_ksets):
    ks = fake_ksets(tmp_path, ["a.mp4"], frames=3)[0]
    sel = Selection(excluded_frames={"a.mp4": frozenset({3.5})})
    content = build_request(ks, default_profile(), model=DEFAULT_MODEL, cache_ttl="1h",
                            selection=sel)["params"]["messages"][0]["content"]
    assert [b["text"] for b in content if b["type"] == "text"][:2] == ["Frame 1 at 00:01.5", "Frame 2 at 00:05.5"]


def test_request_size_is_exact_without_reading_images(tmp_path, fake_ksets):
    for ks in fake_ksets(tmp_path, ["a.mp4", "ü b/ä.MOV"], frames=4, size=(97, 61)):
        real = len(dumps(build_request(ks, default_profile(), model=DEFAULT_MODEL, cache_ttl="1h")))
        for f in ks.frames:
            f.path.rename(f.path.with_suffix(".gone"))
        assert request_size_for(ks.rel_path, ks.frames, default_profile(), model=DEFAULT_MODEL, cache_ttl="1h") == real


def test_request_size_is_the_whole_requests_serialized_length_for_any_frames_and_options(tmp_path):
    """``request_size_for`` adds up the request without frames and each frame's items instead of serializing the
    whole request for every video: the same number of bytes, frame counts 0-12, times past an hour and out of order,
    a retry's longer custom_id, another answer limit, frames referenced by file id."""
    from gaia.api.requests import _params_how
    from gaia.media.keyframes import Keyframe

    profile = default_profile()
    for n in (0, 1, 3, 12):
        frames = tuple(Keyframe(t, tmp_path / f"f{i}.jpg", 97, 61, 1000 + 37 * i, 10)
                       for i, t in enumerate([3725.46, 0.0, 12.05, 59.99, 600.0, 7.5, 1.25, 3599.96, 2.0, 4.0,
                                              5.0, 6.0][:n]))
        for how in ({"model": DEFAULT_MODEL, "cache_ttl": "1h"},
                    {"model": DEFAULT_MODEL, "cache_ttl": "5m", "attempt": 3, "max_tokens": 777}):
            for by_file in (False, True):
                source = ({"type": "file", "file_id": "file_" + "0" * 40} if by_file else
                          {"type": "base64", "media_type": "image/jpeg", "data": ""})
                whole = len(dumps({"custom_id": custom_id_for("x/ü.mp4", how.get("attempt", 1)),
                                   "params": _params_how(frames, profile, how, lambda f, s=source: s)}))
                if not by_file:
                    whole += sum(len(base64.b64encode(b"\0" * f.nbytes)) for f in frames)
                assert request_size_for("x/ü.mp4", frames, profile, by_file=by_file, **how) == whole


def test_split_batches():
    budget = batch_byte_budget(1000)
    assert budget == 980
    assert split_batches([], max_bytes=1000) == []
    slices = split_batches([300] * 7, max_bytes=1000)
    assert [s.count for s in slices] == [3, 3, 1] and [s.reason for s in slices] == ["bytes", "bytes", "end"]
    assert all(s.nbytes <= budget for s in slices)
    assert slices[0].nbytes == len(b'{"requests":[') + 3 * 300 + 2 + len(b"]}")
    assert [s.count for s in split_batches([10] * 5, max_bytes=10_000, max_requests=2)] == [2, 2, 1]
    assert split_batches([10] * 5, max_bytes=10_000, max_requests=2)[0].reason == "count"
    huge = split_batches([5000, 10, 10], max_bytes=1000)  # a request too big alone still gets its own batch
    assert huge[0] == BatchSlice(0, 1, 5000 + 15, "bytes")
    # Default limits come from gaia.facts: 150 requests of 1.6 MB fit one 256 MB batch, 160 do not.
    assert len(split_batches([1_600_000] * 150)) == 1 and len(split_batches([1_600_000] * 160)) == 2


def test_write_batch_body_and_spool_streams_with_content_length(tmp_path):
    lines = [dumps({"custom_id": f"v{i}", "params": {"x": "é" * i}}) for i in range(5)]
    path = tmp_path / "body.json"
    count, size = write_batch_body(iter(lines), path)
    data = json.loads(path.read_bytes())
    assert count == 5 and size == path.stat().st_size and [r["custom_id"] for r in data["requests"]][-1] == "v4"
    seen = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen["length"] = request.headers.get("content-length")
        seen["body"] = request.read()
        return httpx2.Response(200, json={})

    body = SpoolBody(path)
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        client.post("http://x/", content=body)
        assert seen["length"] == str(size) and seen["body"] == path.read_bytes()
        client.post("http://x/", content=body)  # re-readable: a retry sends the whole body again
        assert seen["body"] == path.read_bytes()


def _message(text=None, stop="end_turn", thinking=False):
    content = []
    if thinking:
        content.append({"type": "thinking", "thinking": "hmm", "signature": "s"})
    if text is not None:
        content.append({"type": "text", "text": text})
    return {"content": content, "stop_reason": stop, "usage": {"output_tokens": 12}}


def test_parse_answer():
    schema = default_profile().schema
    assert parse_answer(_message(json.dumps(GOOD), thinking=True), schema) == (GOOD, None)
    assert parse_answer(_message("```json\n" + json.dumps(GOOD) + "\n```"), schema)[0] == GOOD
    analysis, problem = parse_answer(_message(json.dumps(GOOD), stop="refusal"), schema)
    assert analysis is None and "declined" in problem
    analysis, problem = parse_answer(_message(json.dumps(GOOD)[:50], stop="max_tokens"), schema)
    assert analysis is None and "max_tokens" in problem and "12 tokens" in problem
    assert "not valid JSON" in parse_answer(_message("Sure! Here it is"), schema)[1]
    assert "no text block" in parse_answer(_message(None, thinking=True), schema)[1]
    bad = dict(GOOD, subjects=[{"species": "cat", "scientific_name": "", "count": "two", "description": ""}])
    problem = parse_answer(_message(json.dumps(bad)), schema)[1]
    assert "subjects/0/count" in problem and "integer" in problem
    assert "not an object" in parse_answer(_message("[1]"), schema)[1]


def test_parse_answer_accepts_sdk_message_objects():
    from anthropic.types import Message

    msg = Message.model_validate({
        "id": "m", "type": "message", "role": "assistant", "model": DEFAULT_MODEL, "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 2},
        "content": [{"type": "thinking", "thinking": "x", "signature": "s"},
                    {"type": "text", "text": json.dumps(GOOD)}],
    })
    assert parse_answer(msg, default_profile().schema) == (GOOD, None)


def test_check_request_shape_flags_what_the_api_rejects():
    bad = {"max_tokens": 0, "temperature": 0.2, "tool_choice": {"type": "tool", "name": "x"},
           "messages": [{"content": [{"type": "image", "source": {"media_type": "image/bmp"}}]}]}
    problems = " | ".join(check_request_shape(bad))
    for word in ("temperature", "tool_choice", "max_tokens", "image/bmp"):
        assert word in problems


def test_keyframe_problems(tmp_path, fake_ksets):
    ks = fake_ksets(tmp_path, ["a.mp4"], frames=3)[0]
    assert keyframe_problems(ks, model=DEFAULT_MODEL) == []
    none = replace(ks, frames=())
    assert "no keyframes" in keyframe_problems(none, model=DEFAULT_MODEL)[0].problem
    allout = Selection(excluded_frames={"a.mp4": frozenset({1.5, 3.5, 5.5})})
    assert "excluded" in keyframe_problems(ks, model=DEFAULT_MODEL, selection=allout)[0].problem
    big = replace(ks, frames=tuple(replace(f, width=9000) for f in ks.frames))
    assert "8000 px" in keyframe_problems(big, model=DEFAULT_MODEL)[0].problem
    many = replace(ks, frames=tuple(replace(ks.frames[0], timestamp=float(i), width=2100) for i in range(21)))
    assert "2000 px" in keyframe_problems(many, model=DEFAULT_MODEL)[0].problem
    too_many = replace(ks, frames=tuple(replace(ks.frames[0], timestamp=float(i)) for i in range(101)))
    assert "100 images" in keyframe_problems(too_many, model="claude-haiku-4-5")[0].problem
    ks.frames[0].path.unlink()
    assert "1 frame file(s) are missing" in keyframe_problems(ks, model=DEFAULT_MODEL)[0].problem
    rest = replace(ks, frames=ks.frames[1:])
    assert "on its own" in keyframe_problems(rest, model=DEFAULT_MODEL, nbytes=10**9)[0].problem
    assert not any(p.blocking for p in keyframe_problems(ks, model=DEFAULT_MODEL))


def test_model_problems():
    assert model_problems(DEFAULT_MODEL) == []
    unknown = model_problems("claude-nope-1")
    assert unknown and unknown[0].blocking and "unknown model" in unknown[0].problem


def test_sniff_media_type(tmp_path, fake_ksets):
    ks = fake_ksets(tmp_path, ["a.mp4"], frames=1)[0]
    assert sniff_media_type(ks.frames[0].read_bytes()) == "image/jpeg"
    assert sniff_media_type(b"\x89PNG\r\n\x1a\nxxxx") == "image/png"
    assert sniff_media_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_media_type(b"hello") is None


def test_no_model_gets_a_rejected_shape(tmp_path, fake_ksets):
    from gaia.facts import catalogue

    ks = fake_ksets(tmp_path, ["a.mp4"], frames=2)[0]
    for model in catalogue().models:
        params = build_request(ks, default_profile(), model=model, cache_ttl="1h")["params"]
        assert check_request_shape(params) == [], model
        assert "tool_choice" not in params and "output_config" in params


def test_answer_checker_agrees_with_jsonschema():
    import copy
    import random

    import jsonschema


    schema = default_profile().schema
    checker = AnswerChecker(schema)
    assert checker.fast is not None  # the default schema takes the fast path
    reference = jsonschema.Draft202012Validator(schema)
    rng = random.Random(3)
    odd_values = [None, True, False, 0, 1, 1.0, 2.5, -3, "", "x", [], [1], {}, {"a": 1}, "indoor", "high"]

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, (*prefix, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from paths(v, (*prefix, i))

    base = copy.deepcopy(GOOD)
    base["behaviours"] = [{"behaviour": "b", "subject": "s", "start_s": 1, "end_s": 2.5}]
    base["notable_moments"] = [{"time_s": 3, "description": "d"}]
    all_paths = [p for p in paths(base) if p]
    checked = {True: 0, False: 0}
    for _ in range(3000):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 2)):
            path = rng.choice(all_paths)
            parent = doc
            try:
                for key in path[:-1]:
                    parent = parent[key]
                action = rng.random()
                if action < 0.6:
                    parent[path[-1]] = rng.choice(odd_values)
                elif action < 0.8 and isinstance(parent, dict):
                    del parent[path[-1]]
                elif isinstance(parent, dict):
                    parent["extra_" + str(rng.randint(0, 3))] = 1
            except (KeyError, IndexError, TypeError):
                continue
        valid = reference.is_valid(doc)
        assert (checker.problem(doc) is None) == valid, doc
        checked[valid] += 1
    assert checked[True] > 50 and checked[False] > 500
    for value in (True, 1.0, 2):  # bool is no integer; 1.0 is one
        doc = copy.deepcopy(base)
        doc["subjects"][0]["count"] = value
        assert (checker.problem(doc) is None) == reference.is_valid(doc)


def test_answer_checker_falls_back_for_other_keywords():

    schema = {"type": "object", "additionalProperties": False, "required": ["a"],
              "properties": {"a": {"type": "string", "pattern": "^x"}}}
    checker = AnswerChecker(schema)
    assert checker.fast is None
    assert checker.problem({"a": "xy"}) is None
    assert "does not match" in checker.problem({"a": "y"})
