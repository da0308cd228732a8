"""XMP sidecars: GAIA's answer where digiKam, darktable, Lightroom, Immich and exiftool read it.

For each analysed video, an XMP file beside it (``clip.mp4.xmp``, digiKam's and darktable's
naming, or ``clip.xmp`` with ``naming="stem"``) holds the effective answer (verified fields laid
over the analysis, ``gaia.labels``): ``dc:description`` from the summary, ``dc:subject`` from the
tags and species, hierarchical tags in ``lr:hierarchicalSubject`` (``GAIA|Species|Red fox``) and
digiKam's ``digiKam:TagsList`` (``GAIA/Species/Red fox``), and provenance in GAIA's namespace:
model, analysis date, GAIA, and the IPTC digital source type ``trainedAlgorithmicMedia`` for the
text it wrote. That type sits in GAIA's provenance, not in ``Iptc4xmpExt:DigitalSourceType``,
because the latter describes the media itself and the video is a camera's, not a model's.

The video file is never opened for writing. An existing XMP is merged, never replaced: every
property GAIA does not own stays as it was (ratings, a person's keywords and description, other
tools' namespaces); GAIA replaces only its own entries (those under ``GAIA|``, the keywords it
recorded as its own last time, its namespace) and writes ``dc:description`` only when it is empty
or still GAIA's previous summary. Writes are atomic (``gaia.fsutil``). An XMP that cannot be
parsed is left alone and reported.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_bytes, fit_name, read_json
from gaia.labels import effective_analysis, verified_of
from gaia.settings import DEFAULT_XMP_NAMING, XMP_NAMINGS
from gaia.sidecar import VIDEO_KEY, SidecarError, read_sidecar

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "gaia": "urn:x-gaia:xmp:1.0#",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IPTC_TRAINED_ALGORITHMIC = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = "GAIA"
ROOT_TAG = "GAIA"
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'
_RESERVED_PREFIX = re.compile(r"ns\d+$")

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


class XmpError(Exception):
    """An XMP sidecar could not be merged or written; the message names the file and the reason."""


@dataclass(frozen=True)
class XmpContent:
    """What GAIA writes into one XMP sidecar (from the effective answer)."""

    summary: str
    subjects: tuple[str, ...]  # flat keywords: tags and species
    hierarchy: tuple[tuple[str, ...], ...]  # ("GAIA", "Species", "Red fox"), ...
    model: str | None = None
    analysed_at: str | None = None
    verified_fields: tuple[str, ...] = ()
    verified_at: str | None = None


@dataclass
class XmpResult:
    """What ``write_xmp_for`` did: files written, videos skipped (and why), problems (and why)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def xmp_path(video: Path | str, naming: str = DEFAULT_XMP_NAMING) -> Path:
    """The XMP sidecar of ``video``: ``clip.mp4.xmp`` (``"video"``) or ``clip.xmp`` (``"stem"``)."""
    if naming not in XMP_NAMINGS:
        raise ValueError(f"XMP naming must be one of {', '.join(XMP_NAMINGS)}, not {naming!r}")
    video = Path(video)
    return video.with_name(fit_name(video.name, ".xmp") if naming == "video" else fit_name(video.stem, ".xmp"))


def _leaf(text: str) -> str:
    text = " ".join(text.replace("|", "-").replace("/", "-").split())
    return text[:1].upper() + text[1:]


def _strings(items: Any, key: str | None = None) -> list[str]:
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        value = item.get(key) if key and isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
    return out


def content_of(data: Mapping[str, Any]) -> XmpContent | None:
    """The XMP content of a sidecar dict (``None`` when it holds neither an analysis nor labels)."""
    answer = effective_analysis(data)
    if not answer:
        return None
    from_subjects = _strings(answer.get("subjects"), "species") or _strings(answer.get("subjects"))
    species = list(dict.fromkeys(from_subjects))
    tags = list(dict.fromkeys(t.lower() for t in _strings(answer.get("tags"))))
    behaviours = list(dict.fromkeys(_strings(answer.get("behaviours"), "behaviour")))
    setting = answer.get("setting") if isinstance(answer.get("setting"), dict) else {}
    hierarchy: list[tuple[str, ...]] = [(ROOT_TAG, "Species", _leaf(s)) for s in species]
    hierarchy += [(ROOT_TAG, "Behaviour", _leaf(b)) for b in behaviours]
    hierarchy += [(ROOT_TAG, "Setting", _leaf(str(setting[k]))) for k in ("environment", "place")
                  if isinstance(setting.get(k), str) and setting[k].strip() and setting[k] != "unknown"]
    hierarchy += [(ROOT_TAG, "Tags", _leaf(t)) for t in tags]
    summary = answer.get("summary")
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    verified = verified_of(data)
    return XmpContent(
        summary=summary.strip() if isinstance(summary, str) else "",
        subjects=tuple(dict.fromkeys([*tags, *species])),
        hierarchy=tuple(dict.fromkeys(hierarchy)),
        model=run.get("model") if isinstance(run.get("model"), str) else None,
        analysed_at=run.get("analysed_at") if isinstance(run.get("analysed_at"), str) else None,
        verified_fields=tuple(sorted(verified.fields)) if verified else (),
        verified_at=verified.at if verified else None)


# --- reading and changing RDF -------------------------------------------------------------------------


def _descriptions(rdf: ET.Element) -> list[ET.Element]:
    return rdf.findall(_q("rdf:Description"))


def _values(descs: Sequence[ET.Element], name: str) -> list[str]:
    """The items of an array property (or a simple one) wherever it is in the descriptions."""
    qn = _q(name)
    out: list[str] = []
    for d in descs:
        if qn in d.attrib:
            out.append(d.attrib[qn])
        for prop in d.findall(qn):
            items = prop.findall(f"./*/{_q('rdf:li')}")
            if items:
                out += [li.text or "" for li in items]
            elif prop.text and prop.text.strip():
                out.append(prop.text.strip())
    return out


def _lang_default(descs: Sequence[ET.Element], name: str) -> str | None:
    for d in descs:
        for prop in d.findall(_q(name)):
            items = prop.findall(f"./*/{_q('rdf:li')}")
            for li in items:
                if li.get(XML_LANG) == "x-default":
                    return li.text or ""
            if items:
                return items[0].text or ""
        if _q(name) in d.attrib:
            return d.attrib[_q(name)]
    return None


def _remove(descs: Sequence[ET.Element], name: str) -> None:
    qn = _q(name)
    for d in descs:
        d.attrib.pop(qn, None)
        for prop in d.findall(qn):
            d.remove(prop)


def _remove_namespace(descs: Sequence[ET.Element], uri: str) -> None:
    for d in descs:
        for key in [k for k in d.attrib if k.startswith(f"{{{uri}}}")]:
            del d.attrib[key]
        for child in [c for c in d if c.tag.startswith(f"{{{uri}}}")]:
            d.remove(child)


def _array(desc: ET.Element, name: str, kind: str, values: Iterable[str]) -> None:
    values = list(values)
    if not values:
        return
    container = ET.SubElement(ET.SubElement(desc, _q(name)), _q(f"rdf:{kind}"))
    for v in values:
        ET.SubElement(container, _q("rdf:li")).text = v


def _simple(desc: ET.Element, name: str, value: str | None) -> None:
    if value:
        ET.SubElement(desc, _q(name)).text = value


def _set_description(descs: Sequence[ET.Element], desc: ET.Element, text: str) -> None:
    """Set ``dc:description``'s x-default, keeping its other languages."""
    for d in descs:
        for prop in d.findall(_q("dc:description")):
            alt = prop.find(_q("rdf:Alt"))
            if alt is None:
                continue
            for li in alt.findall(_q("rdf:li")):
                if li.get(XML_LANG) == "x-default":
                    li.text = text
                    return
            li = ET.Element(_q("rdf:li"), {XML_LANG: "x-default"})
            li.text = text
            alt.insert(0, li)
            return
    _remove(descs, "dc:description")
    alt = ET.SubElement(ET.SubElement(desc, _q("dc:description")), _q("rdf:Alt"))
    ET.SubElement(alt, _q("rdf:li"), {XML_LANG: "x-default"}).text = text


def _parse(existing: bytes) -> ET.Element:
    """The ``x:xmpmeta`` root of an existing XMP (wrapping a bare ``rdf:RDF``), prefixes kept."""
    for _event, (prefix, uri) in ET.iterparse(_BytesReader(existing), events=("start-ns",)):
        if prefix and prefix not in NS and not _RESERVED_PREFIX.match(prefix) and uri not in NS.values():
            ET.register_namespace(prefix, uri)
    root = ET.fromstring(existing)
    if root.tag == _q("rdf:RDF"):
        meta = ET.Element(_q("x:xmpmeta"))
        meta.append(root)
        return meta
    if root.tag != _q("x:xmpmeta") or root.find(_q("rdf:RDF")) is None:
        raise ValueError("it is not an XMP packet (no x:xmpmeta with rdf:RDF)")
    return root


class _BytesReader:
    """A minimal file object over bytes for ``ET.iterparse``."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk, self._pos = self._data[self._pos:end], min(end, len(self._data))
        return chunk


def render_xmp(content: XmpContent, existing: bytes | None = None, *, now: str | None = None) -> bytes:
    """The XMP packet for ``content``, merged into ``existing`` (another XMP's bytes) when given.

    Raises ``ValueError`` (or ``ET.ParseError``) when ``existing`` is not an XMP packet.
    """
    root = _parse(existing) if existing and existing.strip() else ET.Element(_q("x:xmpmeta"))
    rdf = root.find(_q("rdf:RDF"))
    if rdf is None:
        rdf = ET.SubElement(root, _q("rdf:RDF"))
    descs = _descriptions(rdf) or [ET.SubElement(rdf, _q("rdf:Description"), {_q("rdf:about"): ""})]
    desc = descs[0]
    ours_before = set(_values(descs, "gaia:Subjects"))
    summary_before = (_values(descs, "gaia:Summary") or [None])[0]
    subjects = [s for s in _values(descs, "dc:subject") if s not in ours_before]
    hier = [h for h in _values(descs, "lr:hierarchicalSubject") if not h.startswith(ROOT_TAG + "|")]
    tags_list = [t for t in _values(descs, "digiKam:TagsList") if not t.startswith(ROOT_TAG + "/")]
    description = _lang_default(descs, "dc:description")
    for name in ("dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList", "xmp:MetadataDate"):
        _remove(descs, name)
    _remove_namespace(descs, NS["gaia"])
    new_subjects = [s for s in content.subjects if s not in subjects]
    _array(desc, "dc:subject", "Bag", [*subjects, *new_subjects])
    _array(desc, "lr:hierarchicalSubject", "Bag", [*hier, *("|".join(h) for h in content.hierarchy)])
    _array(desc, "digiKam:TagsList", "Seq", [*tags_list, *("/".join(h) for h in content.hierarchy)])
    if content.summary and (not (description or "").strip() or description == summary_before):
        _set_description(descs, desc, content.summary)
    now = now or datetime.now(UTC).isoformat(timespec="seconds")
    _simple(desc, "xmp:MetadataDate", now)
    _simple(desc, "gaia:Generator", GENERATOR)
    _simple(desc, "gaia:Model", content.model)
    _simple(desc, "gaia:AnalysedAt", content.analysed_at)
    _simple(desc, "gaia:WrittenAt", now)
    _simple(desc, "gaia:DigitalSourceType", IPTC_TRAINED_ALGORITHMIC)
    _simple(desc, "gaia:Summary", content.summary)
    _array(desc, "gaia:Subjects", "Bag", new_subjects)
    _array(desc, "gaia:VerifiedFields", "Bag", content.verified_fields)
    _simple(desc, "gaia:VerifiedAt", content.verified_at)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")


def write_xmp(video: Path | str, data: Mapping[str, Any], *, naming: str = DEFAULT_XMP_NAMING) -> Path | None:
    """Write (merge) the XMP sidecar of ``video`` from its sidecar dict ``data``; ``None`` when no answer.

    Raises ``XmpError`` when an existing XMP cannot be read or parsed (it is left as it was) or the
    new one cannot be written.
    """
    content = content_of(data)
    if content is None:
        return None
    path = xmp_path(video, naming)
    try:
        existing = path.read_bytes() if path.exists() else None
    except OSError as exc:
        raise XmpError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        packet = render_xmp(content, existing)
    except (ET.ParseError, ValueError) as exc:
        raise XmpError(f"{path} exists but is not an XMP file GAIA can merge into ({exc}); left as it was") from exc
    try:
        atomic_write_bytes(path, packet)
    except OSError as exc:
        raise XmpError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_xmp_for(folder: Folder | Path | str, rel_paths: Iterable[str] | None = None, *,
                  naming: str | None = None) -> XmpResult:
    """Write the XMP sidecars of ``rel_paths`` (default: every video with a GAIA sidecar) in ``folder``.

    ``naming`` defaults to the folder's ``xmp_naming`` setting. Per-video problems are collected,
    never raised. This is the one call the retrieval path makes when ``xmp_on_retrieve`` is on
    (see ``write_xmp_if_enabled``).
    """
    folder = Folder.of(folder)
    naming = naming or folder.settings().xmp_naming
    result = XmpResult()
    rels = list(rel_paths) if rel_paths is not None else _analysed_rel_paths(folder)
    for rel in rels:
        video = folder.video(rel)
        try:
            data = read_sidecar(video)
        except SidecarError as exc:
            result.problems.append((rel, str(exc)))
            continue
        if not data:
            result.skipped.append((rel, "no GAIA sidecar"))
            continue
        try:
            written = write_xmp(video, data, naming=naming)
        except XmpError as exc:
            result.problems.append((rel, str(exc)))
            continue
        if written is None:
            result.skipped.append((rel, "no analysis yet"))
        else:
            result.written.append(written)
    return result


def write_xmp_if_enabled(folder: Folder | Path | str, rel_paths: Iterable[str]) -> XmpResult | None:
    """After retrieval: write the XMP sidecars of ``rel_paths`` when the folder's setting asks for it."""
    folder = Folder.of(folder)
    if not folder.settings().xmp_on_retrieve:
        return None
    return write_xmp_for(folder, rel_paths)


def _analysed_rel_paths(folder: Folder) -> list[str]:
    skip = {".gaia"}
    out = []
    for path in sorted(folder.path.rglob("*.gaia.json")):
        if skip & set(path.relative_to(folder.path).parts):
            continue
        data = read_json(path)
        name = data.get(VIDEO_KEY) if isinstance(data, dict) else None
        if isinstance(name, str):
            out.append(folder.rel(path.with_name(name)))
    return out

