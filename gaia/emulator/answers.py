"""Fake but honest answers: facts measured from the request's images, poured into its JSON schema.

``frame_facts`` decodes each image (small thumbnails with Pillow) and measures brightness,
dominant named colours and the change from the previous frame. ``answer_text`` turns those facts
into a JSON instance valid against any structured-output schema (objects with required keys and
``additionalProperties: false``, arrays of objects, enums, ``$ref``/``$defs``, ``anyOf``, numeric
and length bounds, common formats), or into a plain sentence when no schema was asked for. Every
answer says it comes from the emulator: its first top-level string starts with ``[GAIA emulator]``.

Answers depend on the pixels the request actually sends (``Sighting``). In each frame the emulator
looks for a subject at the resolution it received: the frame is blurred by a fixed number of
*received* pixels (``BLUR_PX``, the model's eye) and the pixels of the middle band that still stand
out from their row are the subject. A subject that is a few pixels across at the size sent is
blurred into its background and simply not there, so a smaller frame loses what it cannot show.
A subject found is noticed with a probability that grows with its size in received pixels, and
named precisely (a species from its colour) or only coarsely ("mammal", "bird") with a second such
probability; a weaker model needs more pixels for the same chance (``PIXELS_NEEDED``: Haiku >
Sonnet > Opus), so it is noisier on small or faint subjects and as good on large ones, never capped.
Fewer frames show fewer scenes, so what they miss is never reported. The frame quality is read from
the pixels received (their area), the confidence from how sure the sightings were, and a prompt that
asks for brevity (the compact profile) gets a shorter answer: fewer tags, a one-sentence summary.
No threshold here equals a tune ladder level or a frame-size preset edge (a test checks).

Every draw is seeded by the request's content (``request_seed``: the images' bytes, model, prompt,
schema and ``metadata``) and what is drawn, so the same request always gets the same answer, while a
request that differs in anything (another JPEG quality, a replicate's ``metadata.user_id``) is a
new sample: honest run-to-run variation.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageStat

from gaia.emulator.tokens import BoundedMemo, ImageRef, image_key

MARK = "[GAIA emulator]"
_THUMB = (32, 32)
BLUR_PX = 2.7  # the model's eye: detail finer than this many received pixels is blurred away
_SUBJECT_CONTRAST = 58.0  # how far (0..255, any channel) a blurred pixel must stand out from its row
_MIN_SUBJECT_PX = 9.5  # fewer standing-out pixels than this is noise, not a subject
GOOD_AREA_PX = 70_000.0  # frame area (received pixels) from which frames are "good"...
FAIR_AREA_PX = 20_000.0  # ... and "fair"; below, "poor"
MOVING_CHANGE = 3.5  # mean change between frames (0..100) above which something moves
BUSY_CHANGE = 12.5  # ... and above which there is a lot of movement
SURE_HIGH, SURE_MEDIUM = 0.8, 0.5  # mean chance of noticing the subjects for high / medium confidence
_BRIEF = re.compile(r"\bbe brief\b", re.IGNORECASE)  # what a compact prompt asks
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
    subject_colour: str | None = None  # named colour of the pixels that stand out, if any
    subject_share: float = 0.0  # their share of the frame (0..1)
    key: str = ""  # hex digest of the image's bytes (seeds every draw about this frame)

    @property
    def subject_px(self) -> float:
        """The subject's size in pixels at the size the frame was sent."""
        return self.subject_share * self.width * self.height

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


def _nearest_colour(rgb: tuple[float, float, float]) -> str:
    return min(_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(PALETTE[n], rgb, strict=True)))


def _subject(img: Image.Image) -> tuple[str | None, float]:
    """The colour and frame share of what stands out from its row in the middle band (where titles
    and captions are not), looked for at the size received after a blur of ``BLUR_PX`` received
    pixels; ``(None, 0.0)`` when nothing does."""
    w, h = img.size
    arr = np.asarray(img.convert("RGB").filter(ImageFilter.GaussianBlur(BLUR_PX)), dtype=np.float32)
    band = arr[int(h * 0.2): int(h * 0.82) + 1]
    if not band.size:
        return None, 0.0
    median = np.median(band, axis=1, keepdims=True)
    mask = np.abs(band - median).max(axis=2) > _SUBJECT_CONTRAST
    count = int(mask.sum())
    if count < _MIN_SUBJECT_PX:
        return None, 0.0
    mean = band[mask].mean(axis=0)
    return _nearest_colour((float(mean[0]), float(mean[1]), float(mean[2]))), count / float(w * h)


def _measure(data: bytes) -> tuple[float, list[str], Image.Image, str | None, float] | None:
    """Brightness, dominant colours, a grey thumbnail and the subject of one image (memoised)."""
    key = image_key(data)
    known = _MEASURED.get(key)
    if known is not None:
        return known
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
            thumb = rgb.resize(_THUMB)
            colour, share = _subject(rgb)
    except Exception:  # a bad frame must not sink the answer
        return None
    grey = thumb.convert("L")
    measured = (ImageStat.Stat(grey).mean[0] / 255 * 100, _colour_names(thumb), grey, colour, share)
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
        brightness, colours, grey, colour, share = measured
        change = None
        if previous is not None:
            change = ImageStat.Stat(ImageChops.difference(grey, previous)).mean[0] / 255 * 100
        previous = grey
        time_s = ref.time_s if ref.time_s is not None else float(i)
        out.append(FrameFacts(i, round(time_s, 3), ref.width, ref.height, round(brightness, 1), colours,
                              None if change is None else round(change, 1), colour, round(share, 5),
                              image_key(ref.data).hex()))
    return out


# --- what the model "sees": sightings drawn from the frames, the model's acuity and a seed ----------

SPECIES_BY_COLOUR = {
    "black": "crow", "white": "rabbit", "grey": "grey squirrel", "red": "red fox", "orange": "domestic cat",
    "yellow": "canary", "green": "frog", "blue": "blue tit", "sky blue": "budgerigar", "brown": "dog",
    "purple": "beetle", "pink": "pig",
}
COARSE = {
    "crow": "bird", "canary": "bird", "blue tit": "bird", "budgerigar": "bird", "rabbit": "mammal",
    "red fox": "mammal", "domestic cat": "mammal", "dog": "mammal", "pig": "mammal", "grey squirrel": "rodent",
    "frog": "amphibian", "beetle": "insect",
}
# Acuity by model family: how sharp-eyed a model is (0..1); a weaker model needs more received
# pixels for the same chance of noticing or naming a subject (``PIXELS_NEEDED``).
ACUITY = (("haiku", 0.72), ("sonnet", 0.9), ("opus", 0.96), ("fable", 0.98), ("mythos", 0.98))
DEFAULT_ACUITY = 0.9
_ANIMAL_WORDS = re.compile(r"subject|animal|individual|species|behavio|detection|observation|sighting")
SEEN_PX = 190.0  # subject pixels at which a perfectly sharp-eyed model notices it 63% of the time
NAMED_PX = 420.0  # subject pixels at which it names the species 63% of the time


def acuity(model: str | None) -> float:
    """How sharp-eyed the emulated ``model`` is (0..1), by its family name; 0.9 when unknown."""
    name = (model or "").lower()
    return next((a for word, a in ACUITY if word in name), DEFAULT_ACUITY)


def pixels_needed(model: str | None, base_px: float) -> float:
    """The subject size (received pixels) at which ``model`` succeeds 63% of the time: ``base_px``
    scaled up for a weaker model (``base_px / acuity³``)."""
    return base_px / acuity(model) ** 3


def chance(px: float, model: str | None, base_px: float) -> float:
    """The chance ``model`` succeeds on a subject of ``px`` received pixels (0 for none, towards 1 for large)."""
    return 1 - math.exp(-max(0.0, px) / pixels_needed(model, base_px))


def request_seed(*parts: object) -> str:
    """A short seed fixed by a request's content (what decides every draw about its answer)."""
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def _draw(*parts: object) -> float:
    """A uniform 0..1 number fixed by ``parts`` (the same parts always give the same number)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


@dataclass
class Sighting:
    """One kind of animal the emulated model reports: its name, when it is seen, how many."""

    species: str
    times: list[float] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    count: int = 1

    @property
    def moving(self) -> bool:
        """Whether the frames it is seen in change much."""
        return bool(self.changes) and sum(self.changes) / len(self.changes) > MOVING_CHANGE

    @property
    def behaviour(self) -> str:
        """A plain verb phrase for what it does."""
        return "moving across the scene" if self.moving else "resting"


def sightings(facts: list[FrameFacts], model: str | None, seed: str = "") -> tuple[list[Sighting], float]:
    """The animals ``model`` reports from ``facts`` (in order of first sighting) and how sure it is
    (the mean chance of noticing a subject, 0..1). ``seed`` (``request_seed``) makes each request its
    own sample; the chances come only from the pixels received and the model."""
    found: dict[str, Sighting] = {}
    chances = []
    for f in facts:
        if f.subject_colour is None:
            continue
        p_seen = chance(f.subject_px, model, SEEN_PX)
        chances.append(p_seen)
        if _draw(f.key, model, seed, "seen") >= p_seen:
            continue
        p_named = chance(f.subject_px, model, NAMED_PX)
        name = SPECIES_BY_COLOUR.get(f.subject_colour, "animal")
        if _draw(f.key, model, seed, "named") >= p_named:
            name = COARSE.get(name, "animal")
        s = found.setdefault(name, Sighting(name))
        s.times.append(f.time_s)
        s.changes.append(f.change or 0.0)
        if _draw(f.key, model, seed, "count") < (1 - p_named) * 0.5:
            s.count = 2
    return list(found.values()), (sum(chances) / len(chances) if chances else 0.0)


class _Filler:
    """Builds a schema instance from frame facts, deterministically for a given rng."""

    def __init__(self, root: dict[str, Any], facts: list[FrameFacts], rng: random.Random,
                 model: str | None = None, seed: str = "", brief: bool = False) -> None:
        self.root = root
        self.facts = facts
        self.rng = rng
        self.brief = brief
        self.seen, self.sureness = sightings(facts, model, seed)
        self.mode = "frame"  # what an array item index points at: "frame" or "sighting"
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
        return ("lots of movement" if self.change > BUSY_CHANGE else "some movement" if self.change > MOVING_CHANGE
                else "little movement")

    def summary(self) -> str:
        n = len(self.facts)
        if not n:
            return f"{MARK} No readable images were sent, so this synthetic answer describes nothing."
        if self.brief:
            return f"{MARK} A {self.light()} scene. {self.seen_sentence()}".strip()
        top = self.moments[0]
        peak = (f"; the biggest change ({_pct(top.change)}) is at {top.time_s:g} s"
                if top.change is not None else "")
        return (f"{MARK} {n} frame{'s' if n != 1 else ''} over {self.duration:g} s: a {self.light()} scene "
                f"({self.brightness:.0f}% brightness) dominated by {', '.join(self.colours[:3])}, with "
                f"{self.motion()} between frames ({_pct(self.change)} mean change){peak}. "
                f"{self.seen_sentence()}Synthetic answer from the local emulator, not from Claude.")

    def seen_sentence(self) -> str:
        if not self.seen:
            return "No animal is made out. "
        return "Seen: " + ", ".join(s.species for s in self.seen) + ". "

    def sighting(self, item: int | None) -> Sighting | None:
        if self.mode != "sighting" or not self.seen or item is None:
            return None
        return self.seen[item % len(self.seen)]

    def text_for(self, name: str, item: int | None) -> str:
        key = name.lower()
        seen = self.sighting(item)
        if seen is not None and ("species" in key or key in ("animal", "kind", "type_of_animal", "subject", "who")):
            return f"{seen.species} (emulated)"
        if seen is not None and ("behavio" in key or "activity" in key or "action" in key):
            return seen.behaviour
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
            return "moving" if self.change > MOVING_CHANGE else "resting"
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
        species = [s.species.replace(" ", "-") for s in self.seen]
        return [*species, *self.colours[:2], self.light(), self.motion().replace(" ", "-"), "emulated"]

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
            return moving and self.change > MOVING_CHANGE
        if kind == "null":
            return None
        return self.string(schema, name, item)

    def choose(self, options: list[Any], name: str, item: int | None) -> Any:
        """An enum value: ``unknown`` or ``low`` confidence when offered (the emulator cannot see much),
        else one picked by how bright the frames are (first = best lit)."""
        key = name.lower()
        if "confiden" in key and len(options) >= 3:
            return options[0 if self.sureness >= SURE_HIGH else 1 if self.sureness >= SURE_MEDIUM else 2]
        if "quality" in key and len(options) >= 3 and self.facts:
            area = min(f.width * f.height for f in self.facts)
            return options[0 if area >= GOOD_AREA_PX else 1 if area >= FAIR_AREA_PX else 2]
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
            want = (2 if self.brief else 5) + len(self.seen)
        elif (items_schema.get("type") == "object" or "properties" in items_schema) and _ANIMAL_WORDS.search(key):
            want = len(self.seen)
            saved, self.mode = self.mode, "sighting"
            try:
                values = [self.value(items, name, i, depth + 1) for i in range(max(want, int(schema.get("minItems", 0)
                                                                                             or 0)))]
            finally:
                self.mode = saved
            return values
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
        if depth > 7:
            count = low
        if "tag" in key and items_schema.get("type", "string") == "string" and "enum" not in items_schema:
            tags = list(dict.fromkeys([*self.tags(), f"frames-{len(self.facts)}", "synthetic", "local"]))
            if self.brief:
                tags = [t for t in tags if t != "emulated"]
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
        seen = self.sighting(item)
        if seen is not None and (key.startswith("end") or key in ("until", "to_s", "stop_s")):
            value: float = max(seen.times)
        elif seen is not None and ("time" in key or key in ("t", "at", "start", "start_s", "from_s")):
            value = min(seen.times)
        elif seen is not None and ("count" in key or key in ("n", "number", "quantity", "individuals")):
            value = seen.count
        elif key.startswith("end") or key in ("until", "to_s", "stop_s"):
            after = [f.time_s for f in self.facts if frame is not None and f.time_s > frame.time_s]
            value = min(after) if after else (frame.time_s if frame else self.duration)
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


def schema_instance(schema: dict[str, Any], facts: list[FrameFacts], rng: random.Random, *,
                    model: str | None = None, seed: str = "", prompt: str = "") -> Any:
    """An instance of ``schema`` built from ``facts`` (as ``model`` would see them, ``seed`` the
    request's sample) whose first top-level string names the emulator; shorter when ``prompt`` asks for brevity."""
    filler = _Filler(schema, facts, rng, model, seed, bool(_BRIEF.search(prompt)))
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


def answer_text(schema: dict[str, Any] | None, facts: list[FrameFacts], rng: random.Random, *,
                model: str | None = None, seed: str = "", prompt: str = "") -> str:
    """The answer's text: JSON valid against ``schema``, or a plain summary without one; what it
    reports depends on the frames received, ``model``'s acuity, the request's ``seed`` and whether
    ``prompt`` asks for brevity (see ``sightings``)."""
    if schema is None:
        return _Filler({}, facts, rng, model, seed, bool(_BRIEF.search(prompt))).summary()
    return json.dumps(schema_instance(schema, facts, rng, model=model, seed=seed, prompt=prompt), ensure_ascii=False)


def thinking_text(facts: list[FrameFacts]) -> str:
    """A short stand-in for a 5.x model's thinking block."""
    lines = [f"{MARK} Thinking about {len(facts)} frame(s)."] + [f.describe() for f in facts[:6]]
    return "\n".join(lines)
