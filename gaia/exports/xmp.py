"""XMP sidecars: GAIA's answer where digiKam, darktable, Lightroom, Immich and exiftool read it.

For each analysed video, an XMP file beside it (``clip.mp4.xmp``, digiKam's and darktable's
naming, or ``clip.xmp`` with ``naming="stem"``) holds the effective answer (verified fields laid
over the analysis, ``gaia.labels``): ``dc:description`` from the summary, ``dc:subject`` from the
tags and species, hierarchical tags in ``lr:hierarchicalSubject`` as ``Category|Value``
(``Species|Red Fox``, what camtrapR and digiKam read) and digiKam's ``digiKam:TagsList``
(``Species/Red Fox``), under an optional root (the ``xmp_root`` setting: ``GAIA`` gives
``GAIA|Species|Red Fox``), and provenance in GAIA's namespace:
model, analysis date, GAIA, and the IPTC digital source type ``trainedAlgorithmicMedia`` for the
text it wrote. That type sits in GAIA's provenance, not in ``Iptc4xmpExt:DigitalSourceType``,
because the latter describes the media itself and the video is a camera's, not a model's.

Labels go out exactly as verified: case and spelling kept (``Straße``, ``Red Fox``). Only what XML
cannot hold is changed: control characters (other than tab and line breaks), which XML 1.0 forbids
even as character references, are dropped, so expat, libxml2 and exiv2 read every file; and a ``|``
or ``/`` inside a hierarchical keyword's level becomes ``-``, since those separate the levels.

The video file is never opened for writing, unless asked (``embed_xmp``, ``gaia export --format xmp
--embed``): then the same packet, merged into the video's own XMP, is written into MP4 and MOV
files (the formats whose XMP box photo managers read) with exiftool, into a copy beside the
video that replaces it only once the write succeeded, so a failed write leaves the video as it
was. AVI, MPG and other containers are refused in a sentence (their XMP stays in the sidecar).
An existing XMP is merged, never replaced: every
property GAIA does not own stays as it was (ratings, a person's keywords and description, other
tools' namespaces); GAIA replaces only its own entries (the keywords and hierarchical keywords it
recorded as its own last time, those under ``GAIA|`` that earlier versions wrote, its namespace)
and writes ``dc:description`` only when it is empty
or still GAIA's previous summary. Writes are atomic (``gaia.fsutil``). An XMP that cannot be
parsed is left alone and reported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_bytes, fit_name, read_json
from gaia.labels import effective_analysis, verified_of
from gaia.runs.renames import reidentify
from gaia.settings import DEFAULT_XMP_NAMING, DEFAULT_XMP_ROOT, XMP_NAMINGS
from gaia.sidecar import VIDEO_KEY, RunBlock, SidecarError, read_sidecar

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
LEGACY_ROOT = "GAIA"  # the root every hierarchical keyword had before the root became a setting
# What XML 1.0 cannot carry, not even as a character reference: C0 controls but tab, LF and CR;
# lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
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
    hierarchy: tuple[tuple[str, ...], ...]  # ("Species", "Red Fox"), ...: category and value, no root
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
    embedded: list[Path] = field(default_factory=list)  # videos the XMP was also written into (``embed``)


def xmp_path(video: Path | str, naming: str = DEFAULT_XMP_NAMING) -> Path:
    """The XMP sidecar of ``video``: ``clip.mp4.xmp`` (``"video"``) or ``clip.xmp`` (``"stem"``)."""
    if naming not in XMP_NAMINGS:
        raise ValueError(f"XMP naming must be one of {', '.join(XMP_NAMINGS)}, not {naming!r}")
    video = Path(video)
    return video.with_name(fit_name(video.name, ".xmp") if naming == "video" else fit_name(video.stem, ".xmp"))


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters but tab and line breaks)."""
    return _NOT_XML.sub("", text)


def _level(text: str) -> str:
    """One level of a hierarchical keyword: as written, with the level separators ``|`` and ``/`` as ``-``."""
    return text.replace("|", "-").replace("/", "-").strip()


def root_levels(root: str) -> tuple[str, ...]:
    """The levels of a keyword root setting (``"GAIA"`` or ``"GAIA|"`` -> ``("GAIA",)``; ``""`` -> none)."""
    return tuple(p.strip() for p in xml_text(root).replace("/", "-").split("|") if p.strip())


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
    tags = list(dict.fromkeys(_strings(answer.get("tags"))))
    behaviours = list(dict.fromkeys(_strings(answer.get("behaviours"), "behaviour")))
    setting = answer.get("setting") if isinstance(answer.get("setting"), dict) else {}
    hierarchy: list[tuple[str, ...]] = [("Species", _level(s)) for s in species]
    hierarchy += [("Behaviour", _level(b)) for b in behaviours]
    hierarchy += [("Setting", _level(str(setting[k]))) for k in ("environment", "place")
                  if isinstance(setting.get(k), str) and setting[k].strip() and setting[k] != "unknown"]
    hierarchy += [("Tags", _level(t)) for t in tags]
    summary = answer.get("summary")
    run = RunBlock.of(data)
    verified = verified_of(data)
    return XmpContent(
        summary=summary.strip() if isinstance(summary, str) else "",
        subjects=tuple(dict.fromkeys([*tags, *species])),
        hierarchy=tuple(dict.fromkeys(hierarchy)),
        model=run.model,
        analysed_at=run.analysed_at,
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
        ET.SubElement(container, _q("rdf:li")).text = xml_text(v)


def _simple(desc: ET.Element, name: str, value: str | None) -> None:
    if value:
        ET.SubElement(desc, _q(name)).text = xml_text(value)


def _set_description(descs: Sequence[ET.Element], desc: ET.Element, text: str) -> None:
    """Set ``dc:description``'s x-default, keeping its other languages."""
    for d in descs:
        for prop in d.findall(_q("dc:description")):
            alt = prop.find(_q("rdf:Alt"))
            if alt is None:
                continue
            for li in alt.findall(_q("rdf:li")):
                if li.get(XML_LANG) == "x-default":
                    li.text = xml_text(text)
                    return
            li = ET.Element(_q("rdf:li"), {XML_LANG: "x-default"})
            li.text = xml_text(text)
            alt.insert(0, li)
            return
    _remove(descs, "dc:description")
    alt = ET.SubElement(ET.SubElement(desc, _q("dc:description")), _q("rdf:Alt"))
    ET.SubElement(alt, _q("rdf:li"), {XML_LANG: "x-default"}).text = xml_text(text)


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


def render_xmp(content: XmpContent, existing: bytes | None = None, *, now: str | None = None,
               root: str = DEFAULT_XMP_ROOT) -> bytes:
    """The XMP packet for ``content``, merged into ``existing`` (another XMP's bytes) when given.

    ``root`` (the ``xmp_root`` setting) goes before every hierarchical keyword (none by default).

    Raises ``ValueError`` (or ``ET.ParseError``) when ``existing`` is not an XMP packet.
    """
    meta = _parse(existing) if existing and existing.strip() else ET.Element(_q("x:xmpmeta"))
    rdf = meta.find(_q("rdf:RDF"))
    if rdf is None:
        rdf = ET.SubElement(meta, _q("rdf:RDF"))
    descs = _descriptions(rdf) or [ET.SubElement(rdf, _q("rdf:Description"), {_q("rdf:about"): ""})]
    desc = descs[0]
    ours_before = set(_values(descs, "gaia:Subjects"))
    hier_before = set(_values(descs, "gaia:HierarchicalSubjects"))
    summary_before = (_values(descs, "gaia:Summary") or [None])[0]
    subjects = [s for s in _values(descs, "dc:subject") if s not in ours_before]
    hier = [h for h in _values(descs, "lr:hierarchicalSubject")
            if h not in hier_before and not h.startswith(LEGACY_ROOT + "|")]
    tags_before = {h.replace("|", "/") for h in hier_before}
    tags_list = [t for t in _values(descs, "digiKam:TagsList")
                 if t not in tags_before and not t.startswith(LEGACY_ROOT + "/")]
    description = _lang_default(descs, "dc:description")
    for name in ("dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList", "xmp:MetadataDate"):
        _remove(descs, name)
    _remove_namespace(descs, NS["gaia"])
    new_subjects = [xml_text(s) for s in content.subjects if xml_text(s) not in subjects]
    _array(desc, "dc:subject", "Bag", [*subjects, *new_subjects])
    levels = root_levels(root)
    paths = [tuple(xml_text(x) for x in (*levels, *h)) for h in content.hierarchy]
    new_hier = list(dict.fromkeys(p for p in ("|".join(p) for p in paths) if p not in hier))
    _array(desc, "lr:hierarchicalSubject", "Bag", [*hier, *new_hier])
    new_tags = list(dict.fromkeys(p for p in ("/".join(p) for p in paths) if p not in tags_list))
    _array(desc, "digiKam:TagsList", "Seq", [*tags_list, *new_tags])
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
    _array(desc, "gaia:HierarchicalSubjects", "Bag", new_hier)
    _array(desc, "gaia:VerifiedFields", "Bag", content.verified_fields)
    _simple(desc, "gaia:VerifiedAt", content.verified_at)
    ET.indent(meta, space=" ")
    body = ET.tostring(meta, encoding="unicode")
    return (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")


def write_xmp(video: Path | str, data: Mapping[str, Any], *, naming: str = DEFAULT_XMP_NAMING,
              root: str = DEFAULT_XMP_ROOT) -> Path | None:
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
        packet = render_xmp(content, existing, root=root)
    except (ET.ParseError, ValueError) as exc:
        raise XmpError(f"{path} exists but is not an XMP file GAIA can merge into ({exc}); left as it was") from exc
    try:
        atomic_write_bytes(path, packet)
    except OSError as exc:
        raise XmpError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_xmp_for(folder: Folder | Path | str, rel_paths: Iterable[str] | None = None, *,
                  naming: str | None = None, root: str | None = None, embed: bool = False) -> XmpResult:
    """Write the XMP sidecars of ``rel_paths`` (default: every video with a GAIA sidecar) in ``folder``.

    ``naming`` defaults to the folder's ``xmp_naming`` setting, ``root`` to its ``xmp_root``.
    With ``embed`` the XMP also goes into each MP4/MOV video (``embed_xmp``); a refusal or failure
    is a problem of that video. Per-video problems are collected, never raised. This is the one
    call the retrieval path makes when ``xmp_on_retrieve`` is on (see ``write_xmp_if_enabled``).
    """
    folder = Folder.of(folder)
    saved = folder.settings()
    naming = naming or saved.xmp_naming
    root = saved.xmp_root if root is None else root
    result = XmpResult()
    rels = list(rel_paths) if rel_paths is not None else _analysed_rel_paths(folder)
    for rel in rels:
        video = folder.video(rel)
        if _outside(folder, video):
            result.problems.append((rel, "it is a link to a file outside the folder; GAIA writes nothing for "
                                         "files outside the folder it was given"))
            continue
        try:
            data = read_sidecar(video)
        except SidecarError as exc:
            result.problems.append((rel, str(exc)))
            continue
        if not data:
            result.skipped.append((rel, "no GAIA sidecar"))
            continue
        try:
            written = write_xmp(video, data, naming=naming, root=root)
        except XmpError as exc:
            result.problems.append((rel, str(exc)))
            continue
        if written is None:
            result.skipped.append((rel, "no analysis yet"))
            continue
        result.written.append(written)
        if embed:
            try:
                embed_xmp(video, data, root=root)
            except XmpError as exc:
                result.problems.append((rel, str(exc)))
            else:
                result.embedded.append(video)
                reidentify(folder, rel)  # GAIA rewrote the file itself: answers in flight still belong to it
    return result


EMBED_SUFFIXES = (".mp4", ".m4v", ".mov")
EXIFTOOL_MISSING = ("writing XMP into a video needs exiftool, which is not installed "
                    "(Debian/Ubuntu: apt install libimage-exiftool-perl; macOS: brew install exiftool)")


def embed_xmp(video: Path | str, data: Mapping[str, Any], *, root: str = DEFAULT_XMP_ROOT) -> Path | None:
    """Write GAIA's XMP into the MP4/MOV ``video`` itself, merged into the XMP it already holds.

    The write goes to a copy beside the video (exiftool, the one tool that writes MP4 XMP safely),
    which replaces the video only once the write succeeded; the video keeps its modification time.
    Returns the video, or ``None`` when ``data`` holds no answer. Raises ``XmpError`` in a sentence
    for another container, without exiftool, or when the write fails (the video is then untouched).
    """
    video = Path(video)
    if video.suffix.lower() not in EMBED_SUFFIXES:
        kind = video.suffix.lstrip(".").upper() or "a file without an extension"
        raise XmpError(f"XMP can be written into MP4 and MOV videos only; {video.name} is {kind}, "
                       "so its XMP stays in the sidecar beside it")
    content = content_of(data)
    if content is None:
        return None
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        raise XmpError(EXIFTOOL_MISSING)
    tmp = video.with_name(f".{video.stem}.gaia-embed{video.suffix}")
    packet_file = video.with_name(f".{video.stem}.gaia-embed.xmp")
    try:
        own = subprocess.run([exiftool, "-b", "-XMP", str(video)], capture_output=True, timeout=120)
        try:
            packet = render_xmp(content, own.stdout if own.returncode == 0 and own.stdout.strip() else None, root=root)
        except (ET.ParseError, ValueError) as exc:
            raise XmpError(f"the XMP inside {video.name} cannot be merged ({exc}); the video is untouched") from exc
        before = video.stat()
        shutil.copy2(video, tmp)
        atomic_write_bytes(packet_file, packet)
        done = subprocess.run([exiftool, "-q", "-q", "-overwrite_original", f"-XMP<={packet_file}", str(tmp)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            why = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
            raise XmpError(f"exiftool could not write XMP into {video.name} ({why}); the video is untouched")
        os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(tmp, video)
    except subprocess.TimeoutExpired as exc:
        raise XmpError(f"exiftool took too long writing XMP into {video.name}; the video is untouched") from exc
    except OSError as exc:
        raise XmpError(f"cannot write XMP into {video.name}: {exc.strerror or exc}; the video is untouched") from exc
    finally:
        tmp.unlink(missing_ok=True)
        packet_file.unlink(missing_ok=True)
    return video


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
        if isinstance(name, str):  # lexically: a link to a file elsewhere keeps the name it has here
            out.append(path.with_name(name).relative_to(folder.path).as_posix())
    return out


def _outside(folder: Folder, video: Path) -> bool:
    """Whether ``video`` is a link (or lies under one) that leads out of ``folder``."""
    try:
        video.resolve().relative_to(folder.path.resolve())
    except ValueError:
        return True
    return False

