"""Fake but honest answers: facts measured from the request's images, poured into its JSON schema.

``frame_facts`` decodes each image (small thumbnails with Pillow) and measures brightness,
dominant named colours and the change from the previous frame. ``answer_text`` turns those facts
into a JSON instance valid against any structured-output schema (objects with required keys and
``additionalProperties: false``, arrays of objects, enums, ``$ref``/``$defs``, ``anyOf``, numeric
and length bounds, common formats), or into a plain sentence when no schema was asked for. Every
answer says it comes from the emulator: its first top-level string starts with ``[GAIA emulator]``.
"""

from __future__ import annotations

import io
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageStat

from gaia.emulator.tokens import BoundedMemo, ImageRef, image_key

MARK = "[GAIA emulator]"
_THUMB = (32, 32)
PALETTE = {
    "black": (15, 15, 15), "white": (240, 240, 240), "grey": (128, 128, 128), "red": (200, 35, 35),
    "orange": (235, 135, 30), "yellow": (230, 215, 60), "green": (50, 150, 50), "blue": (40, 80, 200),
    "sky blue": (125, 185, 235), "brown": (125, 85, 45), "purple": (130, 55, 165), "pink": (235, 145, 185),
}


@dataclass
class FrameFacts:
    """What the emulator 'sees' in one frame."""

    index: int
    time_s: float
    width: int
    height: int
    brightness: float  # 0..100, mean luminance
    colours: list[str]  # dominant named colours, most common first
    change: float | None  # 0..100, mean absolute luminance change from the previous frame

    def brightness_word(self) -> str:
        """``dark``, ``dim``, ``moderately lit`` or ``bright``."""
        b = self.brightness
        return "dark" if b < 20 else "dim" if b < 40 else "moderately lit" if b < 65 else "bright"

    def describe(self) -> str:
        """One sentence about this frame."""
        change = "" if self.change is None else f", {_pct(self.change)} change from the previous frame"
        return (f"Frame at {self.time_s:g} s: {self.brightness_word()} ({self.brightness:.0f}% brightness), "
                f"mostly {', '.join(self.colours[:2])}{change}")


def _pct(value: float) -> str:
    """A percentage with one decimal below 10 %."""
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


_NAMES = list(PALETTE)
_PALETTE_IMAGE: Image.Image | None = None


def _palette_image() -> Image.Image:
    """A "P" image whose palette holds the named colours (padded with the first one)."""
    global _PALETTE_IMAGE
    if _PALETTE_IMAGE is None:
        flat = [c for name in _NAMES for c in PALETTE[name]]
        flat += list(PALETTE[_NAMES[0]]) * (256 - len(_NAMES))
        img = Image.new("P", (1, 1))
        img.putpalette(flat)
        _PALETTE_IMAGE = img
    return _PALETTE_IMAGE


def _colour_names(thumb: Image.Image) -> list[str]:
    """The three most common named colours of an RGB thumbnail (nearest palette colour, in C)."""
    mapped = thumb.quantize(palette=_palette_image(), dither=Image.Dither.NONE)
    counts: dict[str, int] = {}
    for count, index in mapped.getcolors(256) or []:
        slot = int(index) if isinstance(index, int) else 0
        name = _NAMES[slot] if slot < len(_NAMES) else _NAMES[0]
        counts[name] = counts.get(name, 0) + count
    return sorted(counts, key=lambda n: (-counts[n], n))[:3]


_MEASURED = BoundedMemo()


def _measure(data: bytes) -> tuple[float, list[str], Image.Image] | None:
    """Brightness, dominant colours and a grey thumbnail of one image (memoised by content)."""
    key = image_key(data)
    known = _MEASURED.get(key)
    if known is not None:
        return known
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (_THUMB[0] * 4, _THUMB[1] * 4))
            thumb = img.convert("RGB").resize(_THUMB)
    except Exception:  # a bad frame must not sink the answer
        return None
    grey = thumb.convert("L")
    measured = (ImageStat.Stat(grey).mean[0] / 255 * 100, _colour_names(thumb), grey)
    _MEASURED.put(key, measured)
    return measured


def frame_facts(images: list[ImageRef]) -> list[FrameFacts]:
    """Measure every decodable image; unreadable ones are skipped (they were checked before)."""
    out: list[FrameFacts] = []
    previous: Image.Image | None = None
    for i, ref in enumerate(images):
        measured = _measure(ref.data)
        if measured is None:
            continue
        brightness, colours, grey = measured
        change = None
        if previous is not None:
            change = ImageStat.Stat(ImageChops.difference(grey, previous)).mean[0] / 255 * 100
        previous = grey
        time_s = ref.time_s if ref.time_s is not None else float(i)
        out.append(FrameFacts(i, round(time_s, 3), ref.width, ref.height, round(brightness, 1), colours,
                              None if change is None else round(change, 1)))
    return out


class _Filler:
    """Builds a schema instance from frame facts, deterministically for a given rng."""

    def __init__(self, root: dict[str, Any], facts: list[FrameFacts], rng: random.Random) -> None:
        self.root = root
        self.facts = facts
        self.rng = rng
        moments = sorted(facts, key=lambda f: (-(f.change or 0.0), f.index))
        self.moments = moments or []
        colours: dict[str, int] = {}
        for f in facts:
            for rank, c in enumerate(f.colours):
                colours[c] = colours.get(c, 0) + 3 - rank
        self.colours = sorted(colours, key=lambda c: (-colours[c], c)) or ["grey"]
        self.brightness = sum(f.brightness for f in facts) / len(facts) if facts else 50.0
        changes = [f.change for f in facts if f.change is not None]
        self.change = sum(changes) / len(changes) if changes else 0.0
        self.duration = max((f.time_s for f in facts), default=0.0)

    # --- text -----------------------------------------------------------------------------------
    def light(self) -> str:
        b = self.brightness
        return "dark" if b < 20 else "dim" if b < 40 else "moderately lit" if b < 65 else "bright"

    def motion(self) -> str:
        return "lots of movement" if self.change > 12 else "some movement" if self.change > 3 else "little movement"

    def summary(self) -> str:
        n = len(self.facts)
        if not n:
            return f"{MARK} No readable images were sent, so this synthetic answer describes nothing."
        top = self.moments[0]
        peak = (f"; the biggest change ({_pct(top.change)}) is at {top.time_s:g} s"
                if top.change is not None else "")
        return (f"{MARK} {n} frame{'s' if n != 1 else ''} over {self.duration:g} s: a {self.light()} scene "
                f"({self.brightness:.0f}% brightness) dominated by {', '.join(self.colours[:3])}, with "
                f"{self.motion()} between frames ({_pct(self.change)} mean change){peak}. "
                "Synthetic answer from the local emulator, not from Claude.")

    def text_for(self, name: str, item: int | None) -> str:
        key = name.lower()
        frame = self.moments[item % len(self.moments)] if self.moments and item is not None else None
        if "summary" in key or key in ("overview", "caption", "analysis"):
            return self.summary()
        if "scientific" in key or "latin" in key:
            return ""
        if "species" in key or key in ("animal", "kind", "type_of_animal", "subject", "who"):
            return "unidentified animal (emulated)"
        if "setting" in key or "environment" in key or "location" in key or "scene" in key or "place" in key:
            return f"{self.light()} scene in {' and '.join(self.colours[:2])} tones"
        if "behavio" in key or "activity" in key or "action" in key:
            return "moving" if self.change > 3 else "resting"
        if "colou" in key or "color" in key:
            return self.colours[(item or 0) % len(self.colours)]
        if "light" in key or "bright" in key:
            return self.light()
        if key in ("name", "title", "label"):
            return "GAIA emulator clip"
        if frame is not None:
            return frame.describe()
        if "descri" in key or "note" in key or "detail" in key or "reason" in key:
            return f"{MARK} {self.light()} frames, mostly {', '.join(self.colours[:2])}, {self.motion()}"
        return f"{MARK} {name or 'value'}: {self.light()}, {self.colours[0]}"

    def tags(self) -> list[str]:
        return [*self.colours[:3], self.light(), self.motion().replace(" ", "-"), "emulated"]

    # --- schema walk ----------------------------------------------------------------------------
    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            target: Any = self.root
            if not ref.startswith("#"):
                break
            for part in [p for p in ref[1:].split("/") if p]:
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra}
            seen += 1
        return schema

    def value(self, schema: Any, name: str = "", item: int | None = None, depth: int = 0) -> Any:
        if schema is True or not isinstance(schema, dict):
            return self.text_for(name, item)
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.choose(schema["enum"], name, item)
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"] or schema[key]
                return self.value(options[0], name, item, depth)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            merged.update({k: v for k, v in schema.items() if k != "allOf"})
            return self.value(merged, name, item, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self.obj(schema, item, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind == "integer":
            return int(self.number(schema, name, item, integer=True))
        if kind == "number":
            return self.number(schema, name, item, integer=False)
        if kind == "boolean":
            moving = any(w in name.lower() for w in ("mov", "motion", "active", "changing"))
            return moving and self.change > 3
        if kind == "null":
            return None
        return self.string(schema, name, item)

    def choose(self, options: list[Any], name: str, item: int | None) -> Any:
        """An enum value: ``unknown`` or ``low`` confidence when offered (the emulator cannot see much),
        else one picked by how bright the frames are (first = best lit)."""
        key = name.lower()
        if "confiden" in key and "low" in options:
            return "low"
        for honest in ("unknown", "unclear", "other", "none"):
            if honest in options:
                return honest
        bucket = 0 if self.brightness >= 40 else 1 if self.brightness >= 20 else 2
        return options[min(bucket + (item or 0), len(options) - 1)]

    def obj(self, schema: dict[str, Any], item: int | None, depth: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        out = {key: self.value(sub, key, item, depth + 1) for key, sub in props.items()}
        for key in schema.get("required") or []:
            if key not in out:
                out[key] = self.text_for(key, item)
        return out

    def array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        items = schema.get("items", {})
        items_schema = self.resolve(items) if isinstance(items, dict) else {}
        key = name.lower()
        if any(w in key for w in ("concern", "issue", "problem", "warning", "error", "risk")):
            want = 0
        elif "tag" in key or "keyword" in key:
            want = 5
        elif items_schema.get("type") == "object" or "properties" in items_schema:
            want = min(3, max(1, len(self.facts)))
        elif "colou" in key or "color" in key:
            want = min(3, len(self.colours))
        else:
            want = 2
        low = int(schema.get("minItems", 0) or 0)
        high = schema.get("maxItems")
        count = max(low, want)
        if high is not None:
            count = min(count, int(high))
        if depth > 6:
            count = low
        if "tag" in key and items_schema.get("type", "string") == "string" and "enum" not in items_schema:
            tags = list(dict.fromkeys([*self.tags(), f"frames-{len(self.facts)}", "synthetic", "local"]))
            tags += [f"tag-{i}" for i in range(len(tags), count)]
            return tags[:count]
        values = [self.value(items, name, i, depth + 1) for i in range(count)]
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for v in values:
                if v in unique and isinstance(v, str):
                    v = f"{v} ({len(unique) + 1})"
                if v not in unique:
                    unique.append(v)
            values = unique
        return values

    def number(self, schema: dict[str, Any], name: str, item: int | None, *, integer: bool) -> float:
        key = name.lower()
        frame = self.moments[item % len(self.moments)] if self.moments and item is not None else None
        if key.startswith("end") or key in ("until", "to_s", "stop_s"):
            after = [f.time_s for f in self.facts if frame is not None and f.time_s > frame.time_s]
            value: float = min(after) if after else (frame.time_s if frame else self.duration)
        elif "time" in key or key in ("t", "at", "second", "seconds", "start", "start_s", "from_s"):
            value = frame.time_s if frame else (self.moments[0].time_s if self.moments else 0.0)
        elif "count" in key or key in ("n", "number", "quantity", "individuals"):
            value = 1
        elif "confiden" in key or "probab" in key or "score" in key:
            value = 0.5
        elif "bright" in key:
            value = round(self.brightness, 1)
        elif "change" in key or "motion" in key:
            value = round(self.change, 1)
        elif "duration" in key or "length" in key:
            value = self.duration
        else:
            value = len(self.facts)
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        step = 1 if integer else 0.001
        low_gap = 0 if "minimum" in schema else step
        high_gap = 0 if "maximum" in schema else step
        if low is not None and value < low + low_gap:
            value = low + low_gap
        if high is not None and value > high - high_gap:
            value = high - high_gap
        if integer:
            value = round(value)
            if low is not None and value < low:
                value += 1
            if high is not None and value > high:
                value -= 1
        multiple = schema.get("multipleOf")
        if multiple:
            value = round(value / multiple) * multiple
        return value

    def string(self, schema: dict[str, Any], name: str, item: int | None) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            text = "2026-01-01T00:00:00Z"
        elif fmt == "date":
            text = "2026-01-01"
        elif fmt == "time":
            text = "00:00:00Z"
        elif fmt in ("uri", "url"):
            text = "https://example.invalid/gaia-emulator"
        elif fmt == "email":
            text = "emulator@example.invalid"
        elif fmt == "uuid":
            text = "00000000-0000-4000-8000-000000000000"
        else:
            text = self.text_for(name, item)
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, text):
            for candidate in ("a", "A", "0", "a1", "emulator", "x" * 8, "00:00", "0.0"):
                if re.search(pattern, candidate):
                    text = candidate
                    break
        low = int(schema.get("minLength", 0) or 0)
        if len(text) < low:
            text = text + "." * (low - len(text))
        high = schema.get("maxLength")
        if high is not None:
            text = text[: int(high)]
        return text


def schema_instance(schema: dict[str, Any], facts: list[FrameFacts], rng: random.Random) -> Any:
    """An instance of ``schema`` built from ``facts`` whose first top-level string names the emulator."""
    filler = _Filler(schema, facts, rng)
    value = filler.value(schema)
    if isinstance(value, dict) and not any(isinstance(v, str) and v.startswith(MARK) for v in value.values()):
        props = filler.resolve(schema).get("properties") or {}
        for key, v in value.items():
            sub = filler.resolve(props.get(key, {})) if isinstance(props.get(key), dict) else {}
            free = not any(k in sub for k in ("enum", "const", "format", "pattern", "maxLength"))
            if isinstance(v, str) and free:
                value[key] = f"{MARK} {v}"
                break
    return value


def answer_text(schema: dict[str, Any] | None, facts: list[FrameFacts], rng: random.Random) -> str:
    """The answer's text: JSON valid against ``schema``, or a plain summary without one."""
    if schema is None:
        return _Filler({}, facts, rng).summary()
    return json.dumps(schema_instance(schema, facts, rng), ensure_ascii=False)


def thinking_text(facts: list[FrameFacts]) -> str:
    """A short stand-in for a 5.x model's thinking block."""
    lines = [f"{MARK} Thinking about {len(facts)} frame(s)."] + [f.describe() for f in facts[:6]]
    return "\n".join(lines)
