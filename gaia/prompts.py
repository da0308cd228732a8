"""Prompt profiles: the system prompt, the output JSON schema and the instruction sent with every video.

A ``PromptProfile`` is the part of a request that is the same for every video of a run. Its
``hash`` (sha256 of the canonical JSON of system prompt, schema and instruction) identifies it in
the ledger, in each sidecar's ``run.fingerprint`` and in the saved profiles, so editing any word of
the prompt or schema makes earlier analyses "stale" rather than silently mixing two prompts. The
default profile describes animal and pet videos. Profiles a user edits in the app are saved in the
folder's working folder under ``.gaia/prompts/<hash>.json``; the name is a label, the hash is the
identity. The schema must be usable with structured outputs (``output_config.format``):
``additionalProperties: false`` on every object, no numeric or length bounds, no recursion;
``schema_problems`` says in plain words what an edited schema breaks.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from gaia.fsutil import atomic_write_json, read_json

PROMPTS_DIR = "prompts"
DEFAULT_PROFILE_NAME = "default"
COMPACT_PROFILE_NAME = "compact"
COMPACT_SUFFIX = "-compact"
HASH_LENGTH = 16
# Field names that hold prose (free text people read, never scored): ``compact_profile`` drops the
# plain-string ones (the summary stays), ``gaia.quality.scoring`` leaves them unscored.
PROSE_NAMES = re.compile(r"descri|summary|note|comment|reason|scientific|explan|caption|detail")
COMPACT_NOTE = ("\n\nBe brief: the summary is one short sentence, and fields that describe in prose are left "
                "out of this output schema on purpose.")

# Keywords structured outputs do not support (numeric and length bounds, recursion helpers).
_UNSUPPORTED_KEYWORDS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "maxItems", "minProperties", "maxProperties",
)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: the same text for the same value."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class PromptProfile:
    """What every request of a run shares: system prompt, output schema and the final instruction.

    ``name`` is a label for people; ``hash`` is the identity used by the ledger and sidecars.
    ``schema`` is a dict and therefore not hashable itself; profiles compare by value.
    """

    name: str
    system: str
    schema: dict[str, Any] = field(hash=False)
    instruction: str

    # Both are computed once per profile (a plan asks for them once per request: 100,000 times on a
    # folder of 100,000 videos); a profile is never changed in place.
    @cached_property
    def hash(self) -> str:
        """Short hex sha256 of the canonical JSON of system, schema and instruction (name excluded)."""
        text = canonical_json({"system": self.system, "schema": self.schema, "instruction": self.instruction})
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]

    @cached_property
    def schema_text(self) -> str:
        """The schema as stable, readable JSON text (what goes into the cached system prefix)."""
        return json.dumps(self.schema, indent=1, sort_keys=True, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with the hash for reference."""
        return {"name": self.name, "hash": self.hash, "system": self.system, "schema": self.schema,
                "instruction": self.instruction}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptProfile:
        """Build from ``to_dict`` output (a stored ``hash`` is ignored; it is always recomputed)."""
        try:
            return cls(name=str(data.get("name") or DEFAULT_PROFILE_NAME), system=str(data["system"]),
                       schema=dict(data["schema"]), instruction=str(data["instruction"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a prompt profile: missing or invalid {exc}") from exc

    def renamed(self, name: str) -> PromptProfile:
        """The same profile under another label (same hash)."""
        return PromptProfile(name=name, system=self.system, schema=self.schema, instruction=self.instruction)


class ProfileNotFound(KeyError):
    """No saved profile has the name or hash asked for."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "prompt profile not found"


# --- the default profile: animal and pet videos ---------------------------------------------------

DEFAULT_SYSTEM = """\
You are GAIA, a careful video analyst specialised in animals and pets. You receive a handful of \
still frames taken from one video, in time order, each labelled with its timestamp in the video \
(minutes:seconds). You never see the video itself, hear its sound or read its file name: \
everything you report must be supported by what is visible in these frames.

Your analysis is stored as structured data next to the video and is used to search, sort and \
summarise large personal and professional video libraries (pet owners, animal shelters, \
veterinary practices, wildlife and trail cameras, farms, zoos, nature filmmakers). People rely on \
it to find "every clip where the two cats play together" or "the night the fox came to the \
garden", so precision matters more than eloquence.

How to look at the frames:
- Treat the frames as a sparse sample of a continuous video. Things may happen between frames; \
do not invent them. When a behaviour is only suggested by a change between two frames (an \
animal is at the door in one frame and outside in the next), describe it as likely, not certain.
- Use the timestamps. A moment you mention must carry the time of the frame that shows it, in \
seconds from the start of the video (for "Frame 3 at 01:12.5" that is 72.5).
- Count individuals carefully. The same animal seen in several frames is one individual; tell \
individuals apart by size, colour, markings, collars or harnesses and position. If you cannot \
tell whether two sightings are the same animal, give the smallest count consistent with the \
frames and say so in the subject's description.
- Identify species and, when clear, breed or type (for example "domestic cat, tabby", "dog, \
border collie type", "red fox", "European robin"). Use common English names; add the \
scientific name only when you are confident. When unsure, go one level up ("small songbird", \
"rodent", "dog, mixed breed") rather than guessing a precise breed.
- Describe behaviour with plain, specific verbs: sleeping, grooming, eating, drinking, playing \
with a toy, chasing, stalking, digging, scratching, begging, barking or meowing (only if the \
posture clearly shows vocalising), tail wagging, interacting with a person, interacting with \
another animal, resting, walking, running, hiding, fleeing. Note signs of stress, fear, \
aggression, injury, limping, or illness (hunched posture, flattened ears, raised hackles, \
wounds, discharge) factually and without diagnosing.
- Describe the setting: indoors or outdoors, the kind of place (living room, kitchen, garden, \
yard, street, field, forest, farm, shelter kennel, veterinary clinic, zoo enclosure, water), \
the time of day and lighting if visible (daylight, night, infrared trail-camera footage), and \
notable objects (toys, food bowls, litter box, furniture, fences, vehicles).
- People may appear. Mention them only as they relate to the animals ("a person throws a \
ball"), never identify them, and never guess names, ages, ethnicity or other personal traits.
- Frames can be dark, blurred, overexposed, letterboxed or nearly identical. Say so in the \
summary when it limits what you can see, and lower your confidence accordingly.
- If no animal is visible at all, say that plainly: leave the subject list empty, describe \
what the video shows instead, and add the tag "no-animals".

Tags help people filter a library. Give between three and twelve short, lower-case tags, \
hyphenated when they have several words ("cat", "tabby", "playing", "indoor", "night", \
"two-animals", "person-present", "trail-camera"). Prefer general, reusable tags over one-off \
phrases. Always include each species you report as a tag.

The summary is two to four sentences a person can read in ten seconds: who is in the video, \
what they do, where, and anything remarkable. Write it in English, in the present tense, \
without speculation about things outside the frames.

Confidence is one of "high", "medium" or "low": high when the frames are clear and the \
content unambiguous, low when the frames are poor or the interpretation uncertain.

Answer only with one JSON object that follows the output schema given below exactly: every \
required field present, no extra fields, no commentary before or after it, no Markdown."""

DEFAULT_INSTRUCTION = (
    "Analyse the video from the frames above, following your instructions and the output schema. "
    "Report times in seconds from the start of the video, using the frame timestamps."
)


def _obj(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "required": list(properties), "additionalProperties": False}
    if description:
        out["description"] = description
    return out


def default_schema() -> dict[str, Any]:
    """The default output schema for animal and pet videos (a fresh dict each call)."""
    subject = _obj({
        "species": {"type": "string", "description": "Common name, with breed or type when clear."},
        "scientific_name": {"type": "string", "description": "Scientific name when confident, else empty."},
        "count": {"type": "integer", "description": "How many distinct individuals of this kind appear."},
        "description": {"type": "string", "description": "Colour, markings, size, age class, accessories."},
    })
    behaviour = _obj({
        "behaviour": {"type": "string", "description": "A plain, specific verb phrase, e.g. 'chasing a ball'."},
        "subject": {"type": "string", "description": "Which subject does it (species or short description)."},
        "start_s": {"type": "number", "description": "Time of the first frame showing it, in seconds."},
        "end_s": {"type": "number", "description": "Time of the last frame showing it, in seconds."},
    })
    moment = _obj({
        "time_s": {"type": "number", "description": "Time of the frame showing the moment, in seconds."},
        "description": {"type": "string", "description": "What happens at that moment."},
    })
    setting = _obj({
        "environment": {"type": "string", "enum": ["indoor", "outdoor", "mixed", "unknown"]},
        "place": {"type": "string", "description": "Kind of place, e.g. living room, garden, forest, kennel."},
        "lighting": {"type": "string", "description": "Daylight, artificial light, night, infrared, ..."},
        "description": {"type": "string", "description": "Notable objects and surroundings."},
    })
    return _obj({
        "summary": {"type": "string", "description": "Two to four sentences: who, what, where, anything notable."},
        "subjects": {"type": "array", "items": subject, "description": "Animals seen; empty when none."},
        "behaviours": {"type": "array", "items": behaviour},
        "setting": setting,
        "notable_moments": {"type": "array", "items": moment},
        "people_present": {"type": "boolean", "description": "Whether any person is visible."},
        "welfare_concerns": {"type": "array", "items": {"type": "string"},
                             "description": "Visible signs of injury, illness, stress or danger; empty if none."},
        "frame_quality": {"type": "string", "enum": ["good", "fair", "poor"]},
        "confidence": {"type": "string", "enum": ["high", "medium", "low"]},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Three to twelve lower-case tags."},
    }, description="Analysis of one animal or pet video from its keyframes.")


def default_profile() -> PromptProfile:
    """The built-in profile for animal and pet videos."""
    return PromptProfile(name=DEFAULT_PROFILE_NAME, system=DEFAULT_SYSTEM, schema=default_schema(),
                         instruction=DEFAULT_INSTRUCTION)


def _is_prose(name: str, node: Any) -> bool:
    return (isinstance(node, dict) and node.get("type") == "string" and not node.get("enum")
            and bool(PROSE_NAMES.search(name.lower())) and "summary" not in name.lower())


def _compact_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = dict(node)
    props = node.get("properties")
    if isinstance(props, dict):
        kept = {k: _compact_node(v) for k, v in props.items() if not _is_prose(k, v)}
        out["properties"] = kept
        if isinstance(node.get("required"), list):
            out["required"] = [k for k in node["required"] if k in kept]
    if isinstance(node.get("items"), dict):
        out["items"] = _compact_node(node["items"])
    return out


def compact_profile(profile: PromptProfile) -> PromptProfile:
    """``profile`` with the prose fields (descriptions, notes, scientific names) dropped from its
    schema and a request to keep the summary short: the scored fields stay, the answer shrinks.

    Compacting a compact profile changes nothing (same hash), so a tune of it or a second compaction
    finds the same profile.
    """
    system = profile.system if profile.system.endswith(COMPACT_NOTE) else profile.system + COMPACT_NOTE
    compact = profile.name == COMPACT_PROFILE_NAME or profile.name.endswith(COMPACT_SUFFIX)
    return PromptProfile(name=profile.name if compact else profile.name + COMPACT_SUFFIX, system=system,
                         schema=_compact_node(profile.schema), instruction=profile.instruction)


def builtin_compact_profile() -> PromptProfile:
    """The built-in ``compact`` profile: the default one, compacted (``compact_profile``)."""
    return compact_profile(default_profile()).renamed(COMPACT_PROFILE_NAME)


def builtin_profiles() -> list[PromptProfile]:
    """The profiles GAIA ships: ``default`` (full schema) and ``compact``."""
    return [default_profile(), builtin_compact_profile()]


# --- schema checks ----------------------------------------------------------------------------------

def schema_problems(schema: Any) -> list[str]:
    """What keeps ``schema`` from being used with structured outputs, in plain words (empty when fine).

    Checks: a JSON object at the top with ``type: object``; ``additionalProperties: false`` on every
    object; no numeric or length bounds; ``minItems`` only 0 or 1; ``$ref`` only to this schema's own
    definitions (``#/$defs/Name`` or ``#/definitions/Name``), never recursive, as the API accepts
    them (the SDK's ``transform_schema`` keeps such references as they are); and that it is a valid
    JSON Schema at all.
    """
    if not isinstance(schema, dict):
        return ["The schema must be a JSON object."]
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append('The top of the schema must be {"type": "object", ...}.')

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(node, dict):
            return
        is_object = node.get("type") == "object" or "properties" in node
        if is_object and node.get("additionalProperties") is not False:
            problems.append(f'{where}: every object needs "additionalProperties": false.')
        for key in _UNSUPPORTED_KEYWORDS:
            if key in node and not isinstance(node.get(key), dict):
                problems.append(f'{where}: "{key}" is not supported by structured outputs; remove it.')
        if "minItems" in node and node["minItems"] not in (0, 1):
            problems.append(f'{where}: "minItems" may only be 0 or 1.')
        if "$ref" in node:
            ref = node["$ref"]
            local = _LOCAL_REF.match(ref) if isinstance(ref, str) else None
            if local is None:
                problems.append(f'{where}: "$ref" may only point to a definition in this schema '
                                f'("#/$defs/Name"), not {ref!r}.')
            elif not isinstance(schema.get(local.group(1)), dict) or local.group(2) not in schema[local.group(1)]:
                problems.append(f'{where}: "$ref" {ref!r} names no definition in "{local.group(1)}".')
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    walk(sub, f"{where}.{name}")
            elif key in ("items", "anyOf", "allOf", "oneOf", "$defs", "definitions", "not"):
                if isinstance(value, dict) and key in ("$defs", "definitions"):
                    for name, sub in value.items():
                        walk(sub, f"{where}.{key}.{name}")
                else:
                    walk(value, f"{where}.{key}" if key != "items" else f"{where}[]")

    walk(schema, "schema")
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        for name in defs if isinstance(defs, dict) else {}:
            if _refers_to_itself(schema, key, name):
                problems.append(f'schema.{key}.{name}: it refers to itself; recursive schemas are not supported '
                                "by structured outputs.")
    try:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError and anything odd in user input
        problems.append(f"Not a valid JSON Schema: {getattr(exc, 'message', exc)}")
    return problems


_LOCAL_REF = re.compile(r"^#/(\$defs|definitions)/([^/]+)$")


def _local_refs(node: Any) -> set[tuple[str, str]]:
    """The ``(container, name)`` of every local ``$ref`` inside ``node``."""
    out: set[tuple[str, str]] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        match = _LOCAL_REF.match(ref) if isinstance(ref, str) else None
        if match:
            out.add((match.group(1), match.group(2)))
        for value in node.values():
            out |= _local_refs(value)
    elif isinstance(node, list):
        for item in node:
            out |= _local_refs(item)
    return out


def _refers_to_itself(schema: dict[str, Any], key: str, name: str) -> bool:
    todo, seen = list(_local_refs(schema[key][name])), set()
    while todo:
        current = todo.pop()
        if current == (key, name):
            return True
        container = schema.get(current[0])
        if current in seen or not isinstance(container, dict) or current[1] not in container:
            continue
        seen.add(current)
        todo.extend(_local_refs(container[current[1]]))
    return False


# --- storage ------------------------------------------------------------------------------------------

def save_profile(directory: Path, profile: PromptProfile) -> Path:
    """Save ``profile`` as ``<directory>/<hash>.json`` (a folder's ``.gaia/prompts/``); returns the path.

    Saving the same content again only updates its name and time. Raises ``ValueError`` listing the
    schema's problems when it cannot be used with structured outputs.
    """
    problems = schema_problems(profile.schema)
    if problems:
        raise ValueError("the output schema cannot be used: " + " ".join(problems))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{profile.hash}.json"
    data = profile.to_dict()
    data["saved_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    atomic_write_json(path, data)
    return path


def _saved(directory: Path) -> list[tuple[str, PromptProfile]]:
    if not directory.is_dir():
        return []
    out: list[tuple[str, PromptProfile]] = []
    for path in directory.glob("*.json"):
        data = read_json(path)
        if not isinstance(data, dict):
            continue
        try:
            profile = PromptProfile.from_dict(data)
        except ValueError:
            continue
        out.append((str(data.get("saved_at") or ""), profile))
    out.sort(key=lambda item: item[0])
    return out


def list_profiles(directory: Path) -> list[PromptProfile]:
    """The built-in profiles first (default, compact), then the folder's saved ones, oldest saved first."""
    builtins = builtin_profiles()
    same = {(b.hash, b.name) for b in builtins}
    saved = [p for _, p in _saved(directory) if (p.hash, p.name) not in same]
    return [*builtins, *saved]


def load_profile(directory: Path, name: str | None = None) -> PromptProfile:
    """A profile saved in ``directory`` by hash or by name (the most recently saved of that name wins).

    ``"default"`` (or ``None``/empty) and ``"compact"`` give the built-in profiles unless the user
    saved one under that name. Raises ``ProfileNotFound`` naming the known profiles otherwise.
    """
    name = (name or DEFAULT_PROFILE_NAME).strip()
    saved = _saved(directory)
    for _, profile in saved:
        if profile.hash == name:
            return profile
    for _, profile in reversed(saved):
        if profile.name == name:
            return profile
    for builtin in builtin_profiles():
        if name in (builtin.name, builtin.hash):
            return builtin
    known = ", ".join(sorted({p.name for _, p in saved} | {DEFAULT_PROFILE_NAME, COMPACT_PROFILE_NAME}))
    raise ProfileNotFound(f"no prompt profile named {name!r}; known profiles: {known}")
