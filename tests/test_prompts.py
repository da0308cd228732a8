"""Prompt profiles: the default schema is usable with structured outputs, hashes are stable, storage works."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from gaia.folder import Folder
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile, schema_problems


def _walk_objects(node, out):
    if isinstance(node, dict):
        if node.get("type") == "object":
            out.append(node)
        for value in node.values():
            _walk_objects(value, out)
    elif isinstance(node, list):
        for value in node:
            _walk_objects(value, out)
    return out


def test_default_schema_is_structured_output_ready():
    profile = default_profile()
    assert schema_problems(profile.schema) == []
    objects = _walk_objects(profile.schema, [])
    assert len(objects) >= 5
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])
    text = profile.schema_text
    for bad in ("minimum", "maximum", "minLength", "maxLength", "$ref"):
        assert bad not in text
    for key in ("summary", "subjects", "behaviours", "setting", "notable_moments", "tags"):
        assert key in profile.schema["properties"]
    subject = profile.schema["properties"]["subjects"]["items"]["properties"]
    assert {"species", "count"} <= set(subject)


def test_default_system_prompt_is_substantial_and_about_animals():
    profile = default_profile()
    assert len(profile.system) > 2500  # long enough to be worth caching
    assert "species" in profile.system and "timestamp" in profile.system


def test_example_answer_validates_against_default_schema():
    answer = {
        "summary": "A tabby cat plays with a ball.", "subjects": [
            {"species": "domestic cat, tabby", "scientific_name": "Felis catus", "count": 1, "description": "x"}],
        "behaviours": [{"behaviour": "playing", "subject": "cat", "start_s": 1.0, "end_s": 5.5}],
        "setting": {"environment": "indoor", "place": "living room", "lighting": "daylight", "description": ""},
        "notable_moments": [{"time_s": 2.5, "description": "pounces"}], "people_present": False,
        "welfare_concerns": [], "frame_quality": "good", "confidence": "high", "tags": ["cat", "playing"],
    }
    jsonschema.validate(answer, default_profile().schema)
    bad = dict(answer, extra="nope")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, default_profile().schema)


def test_hash_is_stable_and_content_based():
    a, b = default_profile(), default_profile()
    assert a.hash == b.hash and len(a.hash) == 16
    assert a.renamed("other").hash == a.hash  # name is a label, not the identity
    edited = PromptProfile(a.name, a.system + " Be brief.", a.schema, a.instruction)
    assert edited.hash != a.hash
    schema = copy.deepcopy(a.schema)
    schema["properties"]["tags"]["description"] = "changed"
    assert PromptProfile(a.name, a.system, schema, a.instruction).hash != a.hash
    reordered = dict(reversed(list(a.schema.items())))
    assert PromptProfile(a.name, a.system, reordered, a.instruction).hash == a.hash


@pytest.mark.parametrize("mutate, fragment", [
    (lambda s: s["properties"]["setting"].pop("additionalProperties"), "additionalProperties"),
    (lambda s: s["properties"]["subjects"]["items"]["properties"]["count"].update(minimum=0), "minimum"),
    (lambda s: s["properties"]["summary"].update(maxLength=10), "maxLength"),
    (lambda s: s["properties"]["tags"].update(minItems=3), "minItems"),
    (lambda s: s["properties"].update(loop={"$ref": "#"}), "$ref"),
    (lambda s: s.update(type="array"), "top of the schema"),
])
def test_schema_problems_name_the_fault(mutate, fragment):
    schema = copy.deepcopy(default_profile().schema)
    mutate(schema)
    problems = schema_problems(schema)
    assert problems and any(fragment in p for p in problems), problems


def test_save_list_load(tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    base = default_profile()
    assert [p.name for p in Folder.of(folder).profiles()] == ["default", "compact"]
    assert Folder.of(folder).profile("default") == base
    custom = PromptProfile("birds", "You look at birds." * 50, base.schema, "Describe the birds.")
    path = Folder.of(folder).save_profile(custom)
    assert path == folder / ".gaia" / "prompts" / f"{custom.hash}.json"
    assert Folder.of(folder).profile("birds") == custom
    assert Folder.of(folder).profile(custom.hash) == custom
    assert [p.name for p in Folder.of(folder).profiles()] == ["default", "compact", "birds"]
    with pytest.raises(ProfileNotFound, match="birds"):
        Folder.of(folder).profile("nope")


def test_save_refuses_unusable_schema(tmp_path: Path):
    base = default_profile()
    with pytest.raises(ValueError, match="additionalProperties"):
        Folder.of(tmp_path).save_profile(PromptProfile("x", "s", {"type": "object", "properties": {}}, "i"))
    assert not (tmp_path / ".gaia" / "prompts" / f"{base.hash}.json").exists()


def test_saved_default_shadows_builtin(tmp_path: Path):
    base = default_profile()
    edited = PromptProfile("default", base.system + "\nAlso note the weather.", base.schema, base.instruction)
    Folder.of(tmp_path).save_profile(edited)
    assert Folder.of(tmp_path).profile("default").hash == edited.hash
    assert Folder.of(tmp_path).profile(base.hash).hash == base.hash


def test_the_builtin_compact_profile_keeps_every_scored_field_and_drops_prose():
    from gaia.prompts import builtin_compact_profile, compact_profile
    from gaia.quality.scoring import FieldKind, fields_of

    full, compact = default_profile(), builtin_compact_profile()
    assert compact.name == "compact" and compact.hash != full.hash
    assert schema_problems(compact.schema) == []
    scored = {s.path: s.kind for s in fields_of(full.schema) if s.kind is not FieldKind.TEXT}
    assert scored and {s.path: s.kind for s in fields_of(compact.schema) if s.kind is not FieldKind.TEXT} == scored
    texts = lambda p: {s.path for s in fields_of(p.schema) if s.kind is FieldKind.TEXT}  # noqa: E731
    assert texts(compact) < texts(full) and "summary" in texts(compact)
    assert len(compact.schema_text) < len(full.schema_text)
    # Compacting is done once: the tune's compact of the default IS the built-in; compacting again changes nothing.
    assert compact_profile(full).hash == compact.hash
    assert compact_profile(compact) == compact


def test_compact_is_a_builtin_profile_by_name_and_hash(tmp_path: Path):
    from gaia.prompts import builtin_compact_profile

    f = Folder.of(tmp_path)
    assert f.profile("compact") == builtin_compact_profile() == f.profile(builtin_compact_profile().hash)
    with pytest.raises(ProfileNotFound, match="compact"):
        f.profile("nope")


def _with_defs(animal_ref: str = "#/$defs/animal", animal: dict | None = None) -> dict:
    schema = copy.deepcopy(default_profile().schema)
    schema["$defs"] = {"animal": animal or {"type": "object", "additionalProperties": False,
                                            "required": ["species"], "properties": {"species": {"type": "string"}}}}
    schema["properties"]["subjects"] = {"type": "array", "items": {"$ref": animal_ref}}
    return schema


def test_local_non_recursive_refs_are_accepted_as_the_api_accepts_them():
    assert schema_problems(_with_defs()) == []
    assert schema_problems(_with_defs("#/definitions/animal") | {"definitions": _with_defs()["$defs"]}) == []
    remote = schema_problems(_with_defs("https://example.org/animal.json"))
    assert any("only point to a definition in this schema" in p for p in remote), remote
    assert any("names no definition" in p for p in schema_problems(_with_defs("#/$defs/plant")))
    looping = _with_defs(animal={"type": "object", "additionalProperties": False, "required": ["young"],
                                 "properties": {"young": {"type": "array", "items": {"$ref": "#/$defs/animal"}}}})
    assert any("refers to itself" in p for p in schema_problems(looping))


def test_a_schema_with_refs_is_answered_through_the_sdk(anthropic_client):
    schema = _with_defs()
    reply = anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=4000, messages=[{"role": "user", "content": "Describe the video."}],
        output_config={"format": {"type": "json_schema", "schema": schema}})
    jsonschema.validate(json.loads(reply.content[0].text), schema)
