"""Camtrap DP 1.0 export: deployments, media and observations CSVs plus ``datapackage.json``, validated.

For camera-trap software (camtrapR, Agouti, Wildlife Insights, GBIF). Each subfolder of videos is
one deployment (a camera at a place; the folder's root is one too); each video is a media row;
each subject of an answer is one media-level observation with its species, count and behaviours,
marked ``classificationMethod=machine`` with the model as ``classifiedBy``. Where a person verified
the subjects (``gaia.labels``) the observation is marked ``human`` instead, and the verified values
are the ones exported. A video with no animal gives a ``blank`` observation (``human`` when a
person is visible).

Times: ``media.timestamp`` is when the camera recorded the clip, read from the container
(QuickTime's ``com.apple.quicktime.creationdate`` with its time zone, else ``creation_time``, which
MP4 stores in UTC); a clip without one gets its file's modification time and its deployment gets
``timestampIssues=true``. An observation's ``eventStart``/``eventEnd`` span the moments the answer
places its subject at (its behaviours' ``start_s``/``end_s``, else the notable moments), from the
clip's timestamp; the whole clip when the answer names no moment.

``filePath`` is what the standard defines: the path relative to the package when the package
folder holds the video (``--out`` the video folder), else a ``file:`` URL of the video. The
official pattern forbids ``..`` anywhere in it, so a name such as ``fox..night.mp4`` is written
as a URL with those dots percent-encoded (``fox%2E%2Enight.mp4``, the same file to any URL reader).

Camtrap DP requires each deployment's latitude and longitude; GAIA cannot know them, so they come
from ``CamtrapDeployment`` values the caller passes (the CLI's ``--latitude/--longitude``). Without
them the package is written and does not validate, and ``validate_camtrap_dp`` says which row.

Validation always runs, offline, against the official 1.0 profile and table schemas vendored
unchanged in ``gaia/data/camtrap-dp/`` (tag 1.0 of github.com/tdwg/camtrap-dp, MIT licence beside
them, pinned by SHA-256 in the tests): ``datapackage.json`` against the profile with
``jsonschema``, each CSV against its table schema (header, types, formats, required, unique,
enum, pattern, minimum/maximum, primary and foreign keys, as the Frictionless Table Schema spec
defines them). Two things are adapted in memory, never in the files: the profile's own
``#$defs/version`` reference is read as the JSON pointer ``#/$defs/version`` it means, and its two
references to documents outside the standard (the generic Data Package schema and GeoJSON) are
replaced by ``_EXTERNAL``, the few requirements of those documents GAIA checks without a network.
"""

from __future__ import annotations

import csv
import io
import json
import math
import mimetypes
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import metadata, resources
from pathlib import Path, PurePosixPath
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_text, dumps_json, name_as_uri
from gaia.labels import effective_analysis, verified_of
from gaia.media.scan import scan_folder
from gaia.sidecar import RunBlock, SidecarError, read_sidecar

VERSION = "1.0"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}"
PROFILE_URL = f"{BASE_URL}/camtrap-dp-profile.json"
TABLE_NAMES = ("deployments", "media", "observations")
ROOT_DEPLOYMENT = "(folder)"
VENDORED = ("LICENSE", "camtrap-dp-profile.json", *(f"{t}-table-schema.json" for t in TABLE_NAMES))
DATA_PACKAGE_URL = "https://frictionlessdata.io/schemas/data-package.json"
GEOJSON_URL = "http://json.schemastore.org/geojson.json"
# What GAIA checks of the two documents the profile names outside the standard (no network).
_EXTERNAL: dict[str, dict[str, Any]] = {
    DATA_PACKAGE_URL: {"type": "object", "required": ["resources"], "properties": {
        "name": {"type": "string", "pattern": "^([-a-z0-9._/])+$"},
        "resources": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name"], "anyOf": [{"required": ["path"]}, {"required": ["data"]}]}}}},
    GEOJSON_URL: {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
}
_YEAR_BEFORE_CAMERAS = 1980  # a container date before this is an unset clock (1904 or 1970 epochs)


def _vendored(name: str) -> bytes:
    return resources.files("gaia").joinpath("data", "camtrap-dp", name).read_bytes()


@cache
def official_profile() -> dict[str, Any]:
    """The official Camtrap DP 1.0 profile (a JSON Schema for ``datapackage.json``), as vendored."""
    return json.loads(_vendored("camtrap-dp-profile.json"))


@cache
def _official_schema(name: str) -> str:
    return _vendored(f"{name}-table-schema.json").decode("utf-8")


def table_schema(name: str) -> dict[str, Any]:
    """The official 1.0 Table Schema of Camtrap DP table ``name`` (a fresh copy of the vendored file)."""
    return json.loads(_official_schema(name))


TABLES: dict[str, list[dict[str, Any]]] = {t: table_schema(t)["fields"] for t in TABLE_NAMES}


def schema_url(name: str) -> str:
    """The official URL of table ``name``'s 1.0 schema (what ``datapackage.json`` names)."""
    return f"{BASE_URL}/{name}-table-schema.json"


@dataclass(frozen=True)
class CamtrapDeployment:
    """What a person knows about a camera placement that GAIA cannot see."""

    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    coordinate_uncertainty_m: int | None = None


@dataclass
class CamtrapResult:
    """A written package: its folder, row counts per table, what keeps it from validating (``warnings``)
    and what a reader should know that does not (``notes``: clips whose time is their file's)."""

    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _iso(ts: float | datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` in UTC, or with the time's own offset (``±hh:mm``) when it has one."""
    dt = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if dt.utcoffset() == timedelta(0):
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.replace(microsecond=0).isoformat()


def _parse_iso(text: Any) -> str | None:
    dt = _parse_dt(text)
    return _iso(dt.astimezone(UTC)) if dt else None


def _parse_dt(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip().replace("Z", "+00:00")
    value = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value)  # QuickTime writes +0200
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def recorded_at(video: Path | str) -> datetime | None:
    """When the camera recorded ``video``, from its container's metadata; ``None`` when it does not say.

    QuickTime's ``com.apple.quicktime.creationdate`` keeps the local time zone, so it is preferred;
    ``creation_time`` (MP4/MOV, UTC by the format's definition; Matroska's ``DATE``) is the usual one.
    """
    import av

    try:
        with av.open(str(video), metadata_errors="ignore") as container:
            meta = {str(k).lower(): v for k, v in dict(container.metadata).items()}
            for stream in container.streams:
                for k, v in dict(stream.metadata).items():
                    meta.setdefault(str(k).lower(), v)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    for key in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        dt = _parse_dt(meta.get(key))
        if dt and dt.year >= _YEAR_BEFORE_CAMERAS:
            return dt
    return None


def deployment_id(rel_path: str) -> str:
    """The deployment of a video: its subfolder (``ROOT_DEPLOYMENT`` for the folder itself)."""
    parent = str(PurePosixPath(rel_path).parent)
    return ROOT_DEPLOYMENT if parent in (".", "") else parent


def _field(table: str, name: str) -> dict[str, Any]:
    return next(f for f in TABLES[table] if f["name"] == name)


def file_path(video: Path, package: Path) -> str:
    """``media.filePath`` as Camtrap DP defines it: relative to the package when it holds the video, else a URL.

    The official pattern (no leading ``.``, ``/`` or ``~``, no ``..`` anywhere) is met either way:
    in a URL, dots that touch another dot are percent-encoded.
    """
    pattern = _field("media", "filePath")["constraints"]["pattern"]
    video = Path(video).absolute()
    try:
        rel = video.relative_to(Path(package).absolute()).as_posix()
    except ValueError:
        rel = None
    if rel is not None and re.fullmatch(pattern, rel):
        return name_as_uri(rel)
    return re.sub(r"\.(?=\.)|(?<=\.)\.", "%2E", video.as_uri())


@dataclass(frozen=True)
class _Media:
    rel: str
    path: Path
    start: datetime
    known_time: bool
    duration: float
    data: dict[str, Any] | None


def _span(answer: Mapping[str, Any], name: str, duration: float) -> tuple[float, float]:
    """The seconds of the clip the answer places subject ``name`` at (the whole clip when it names none)."""
    times: list[float] = []
    for b in answer.get("behaviours") or []:
        if isinstance(b, dict) and str(b.get("subject") or "").strip().lower() in (name.lower(), ""):
            times += [t for t in (b.get("start_s"), b.get("end_s")) if isinstance(t, (int, float))]
    if not times:
        times = [m.get("time_s") for m in answer.get("notable_moments") or []
                 if isinstance(m, dict) and isinstance(m.get("time_s"), (int, float))]
    times = [float(t) for t in times if math.isfinite(t) and t >= 0]
    if duration > 0:
        times = [min(t, duration) for t in times]
    if not times:
        return 0.0, max(duration, 0.0)
    return min(times), max(times)


def _observations(m: _Media, dep: str) -> list[dict[str, Any]]:
    answer = effective_analysis(m.data) if m.data else None
    if not answer:
        return []
    run = RunBlock.of(m.data)
    verified = verified_of(m.data)
    human = verified is not None and "subjects" in verified.fields

    def at(seconds: float, up: bool = False) -> str:
        return _iso(m.start + timedelta(seconds=math.ceil(seconds) if up else math.floor(seconds)))

    base = {"deploymentID": dep, "mediaID": m.rel, "eventID": m.rel, "eventStart": at(0),
            "eventEnd": at(m.duration, up=True), "observationLevel": "media",
            "classificationMethod": "human" if human else "machine",
            "classifiedBy": (verified.by if human and verified else run.model) or "",
            "classificationTimestamp": (_parse_iso(verified.at) if human and verified else
                                        _parse_iso(run.analysed_at)) or "",
            "observationComments": answer.get("summary") if isinstance(answer.get("summary"), str) else ""}
    behaviours = [b for b in answer.get("behaviours") or [] if isinstance(b, dict)]
    subjects = [s for s in answer.get("subjects") or [] if isinstance(s, (dict, str))]
    rows = []
    for i, s in enumerate(subjects, start=1):
        s = s if isinstance(s, dict) else {"species": s}
        name = str(s.get("species") or "").strip()
        does = [str(b.get("behaviour")) for b in behaviours if b.get("behaviour") and
                str(b.get("subject") or "").strip().lower() in (name.lower(), "")]
        count = s.get("count")
        first, last = _span(answer, name, m.duration)
        rows.append({**base, "observationID": f"{m.rel}#{i}", "observationType": "animal",
                     "eventStart": at(first), "eventEnd": at(last, up=True),
                     "scientificName": str(s.get("scientific_name") or "").strip(),
                     "count": count if isinstance(count, int) and not isinstance(count, bool) and count >= 1 else "",
                     "behavior": "|".join(dict.fromkeys(does)),
                     "observationTags": f"vernacularName:{name}" if name else ""})
    if answer.get("people_present") is True:
        rows.append({**base, "observationID": f"{m.rel}#human", "observationType": "human"})
    if not rows:
        rows.append({**base, "observationID": f"{m.rel}#blank", "observationType": "blank"})
    return rows


def _write_csv(path: Path, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    names = [f["name"] for f in TABLES[table]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    n_rows = 0
    for row in rows:
        w.writerow([_cell(row.get(n)) for n in names])
        n_rows += 1
    atomic_write_text(path, buf.getvalue())
    return n_rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _media_of(folder: Folder, records: Sequence[Any]) -> list[_Media]:
    out = []
    for rec in records:
        if not getattr(rec, "usable", True):
            continue
        video = folder.video(rec.rel_path)
        try:
            data = read_sidecar(video)
        except SidecarError:
            data = None
        when = recorded_at(video)
        known = when is not None
        if when is None:
            mtime = getattr(rec, "mtime_ns", None)
            when = datetime.fromtimestamp(mtime / 1e9 if mtime else video.stat().st_mtime, UTC)
        when = when.replace(microsecond=0)  # Camtrap DP times are whole seconds; events count from this one
        out.append(_Media(name_as_uri(rec.rel_path), video, when, known, float(getattr(rec, "duration", None) or 0.0),
                          data))
    return out


def export_camtrap_dp(folder: Folder | Path | str, out_dir: Path | str, *, records: Sequence[Any] | None = None,
                      deployments: Mapping[str, CamtrapDeployment] | None = None,
                      default: CamtrapDeployment | None = None, title: str | None = None) -> CamtrapResult:
    """Write a Camtrap DP 1.0 package of ``folder``'s answers into ``out_dir``.

    ``records`` are the folder's scan records (scanned when not given). ``deployments`` maps a
    deployment id (a subfolder, ``ROOT_DEPLOYMENT`` for the root) to what a person knows about
    it; ``default`` fills the rest. Returns row counts and warnings (missing coordinates, clips
    without a recorded time). Validate the result with ``validate_camtrap_dp``.
    """
    folder = Folder.of(folder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if records is None:
        records = scan_folder(folder.path).records
    media = _media_of(folder, records)
    result = CamtrapResult(out)
    by_dep: dict[str, list[_Media]] = {}
    for m in media:
        by_dep.setdefault(deployment_id(m.rel), []).append(m)
    dep_rows = []
    for dep, items in sorted(by_dep.items()):
        info = (deployments or {}).get(dep) or default or CamtrapDeployment()
        if info.latitude is None or info.longitude is None:
            result.warnings.append(f"Deployment {dep!r} has no latitude/longitude; Camtrap DP requires them "
                                   "(pass --latitude and --longitude).")
        unknown = [m for m in items if not m.known_time]
        if unknown:
            result.notes.append(f"Deployment {dep!r}: {len(unknown)} of {len(items)} clip(s) do not record when "
                                   "they were made; their file time is used and timestampIssues is set.")
        dep_rows.append({"deploymentID": dep, "locationID": dep,
                         "locationName": info.location_name or (folder.path.name if dep == ROOT_DEPLOYMENT else dep),
                         "latitude": info.latitude, "longitude": info.longitude,
                         "coordinateUncertainty": info.coordinate_uncertainty_m,
                         "deploymentStart": _iso(min(m.start for m in items)),
                         "deploymentEnd": _iso(max(m.start + timedelta(seconds=math.ceil(m.duration))
                                                   for m in items)),
                         "timestampIssues": bool(unknown)})
    media_rows = [{"mediaID": m.rel, "deploymentID": deployment_id(m.rel), "timestamp": _iso(m.start),
                   "filePath": file_path(m.path, out), "filePublic": False, "fileName": PurePosixPath(m.rel).name,
                   "fileMediatype": _mediatype(m.rel)} for m in media]
    obs_rows = [o for m in media for o in _observations(m, deployment_id(m.rel))]
    result.counts = {"deployments": _write_csv(out / "deployments.csv", "deployments", dep_rows),
                     "media": _write_csv(out / "media.csv", "media", media_rows),
                     "observations": _write_csv(out / "observations.csv", "observations", obs_rows)}
    descriptor = _descriptor(folder, title, media, dep_rows, obs_rows)
    atomic_write_text(out / "datapackage.json", dumps_json(descriptor, indent=2) + "\n")
    return result


def _mediatype(rel: str) -> str:
    guessed = mimetypes.guess_type(PurePosixPath(rel).name)[0] or ""
    return guessed if guessed.startswith("video/") else "video/mp4"


def _descriptor(folder: Folder, title: str | None, media: Sequence[_Media], deps: Sequence[Mapping[str, Any]],
                obs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.path.name.lower()).strip("-") or "gaia-export"
    lats = [d["latitude"] for d in deps if d["latitude"] is not None]
    lons = [d["longitude"] for d in deps if d["longitude"] is not None]
    spatial = None
    if lats and lons:
        w, e, s, n = min(lons), max(lons), min(lats), max(lats)
        spatial = {"type": "Polygon", "bbox": [w, s, e, n],
                   "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    starts = [m.start.astimezone(UTC) for m in media] or [datetime.now(UTC)]
    taxa = sorted({o["scientificName"] for o in obs if o.get("scientificName")})
    return {
        "resources": [{"name": t, "path": f"{t}.csv", "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8", "schema": schema_url(t)}
                      for t in TABLE_NAMES],
        "profile": PROFILE_URL, "name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, folder.path.as_uri())),
        "created": _iso(datetime.now(UTC)), "title": title or f"GAIA analysis of {folder.path.name}",
        "contributors": [{"title": "GAIA (machine classifications)", "role": "contributor"}],
        "sources": [{"title": "GAIA", "version": _gaia_version()}],
        "project": {"title": title or folder.path.name, "samplingDesign": "opportunistic",
                    "captureMethod": ["activityDetection"], "individualAnimals": False,
                    "observationLevel": ["media"]},
        "spatial": spatial,
        "temporal": {"start": _iso(min(starts))[:10], "end": _iso(max(starts))[:10]},
        "taxonomic": [{"scientificName": t} for t in taxa],
    }


def _gaia_version() -> str:
    try:
        return metadata.version("gaia")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- validation against the official schemas ---------------------------------------------------------

_TRUE, _FALSE = ("true", "True", "TRUE", "1"), ("false", "False", "FALSE", "0")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(NaN|INF)")
_INTEGER = re.compile(r"[+-]?\d+")


@cache
def _profile_validator() -> Any:
    import jsonschema  # here, not at import: only an export being checked needs it
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    text = _vendored("camtrap-dp-profile.json").decode("utf-8").replace('"#$defs/', '"#/$defs/')
    profile = json.loads(text)
    registry: Registry = Registry().with_resources(
        (url, Resource.from_contents(schema, default_specification=DRAFT4)) for url, schema in _EXTERNAL.items())
    cls = jsonschema.validators.validator_for(profile)
    return cls(profile, registry=registry)


def _cast(spec: Mapping[str, Any], text: str) -> tuple[Any, str | None]:
    """The typed value of a CSV cell under a Table Schema field, or the reason it is not one."""
    kind = spec.get("type", "string")
    if kind in ("string", "any"):
        return text, None
    if kind == "boolean":
        if text in _TRUE or text in _FALSE:
            return text in _TRUE, None
        return None, "is not a boolean (true or false)"
    if kind == "integer":
        return (int(text), None) if _INTEGER.fullmatch(text) else (None, "is not an integer")
    if kind == "number":
        if not _NUMBER.fullmatch(text):
            return None, "is not a number"
        try:
            return Decimal(text.replace("INF", "Infinity")), None
        except InvalidOperation:
            return None, "is not a number"
    if kind == "datetime":
        fmt = spec.get("format", "default")
        try:
            if fmt in ("default", "any"):
                return datetime.fromisoformat(text.replace("Z", "+00:00")), None
            return datetime.strptime(text, fmt), None
        except ValueError:
            return None, f"is not a date and time in the form {fmt}"
    return text, None


def _check_cell(spec: Mapping[str, Any], text: str) -> tuple[Any, str | None]:
    cons = spec.get("constraints") or {}
    if text == "":
        return None, ("is required but empty" if cons.get("required") else None)
    value, why = _cast(spec, text)
    if why:
        return None, why
    if "enum" in cons and text not in [str(v) for v in cons["enum"]]:
        return value, "is not one of " + ", ".join(str(v) for v in cons["enum"])
    if "pattern" in cons and not re.fullmatch(cons["pattern"], text):
        return value, f"does not match the pattern {cons['pattern']}"
    if isinstance(value, (int, Decimal)) and not (isinstance(value, Decimal) and value.is_nan()):
        if "minimum" in cons and value < Decimal(str(cons["minimum"])):
            return value, f"is below the minimum {cons['minimum']}"
        if "maximum" in cons and value > Decimal(str(cons["maximum"])):
            return value, f"is above the maximum {cons['maximum']}"
    return value, None


def _check_table(path: Path, schema: Mapping[str, Any], problems: list[str]) -> None:
    """Check one CSV against its Table Schema, adding each problem with its row and field."""
    table = path.name
    fields = list(schema.get("fields") or [])
    names = [f["name"] for f in fields]
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{table}: cannot be read ({exc})")
        return
    if not rows or rows[0] != names:
        problems.append(f"{table} row 1: the header is not the official columns in order "
                        f"(expected {', '.join(names)})")
        return
    seen: dict[str, dict[str, int]] = {n: {} for n in names}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(names):
            problems.append(f"{table} row {number}: {len(row)} cells where the schema has {len(names)} fields")
            continue
        for spec, text in zip(fields, row, strict=True):
            name = spec["name"]
            _, why = _check_cell(spec, text)
            if why:
                problems.append(f"{table} row {number}, field {name}: {text!r} {why}")
            if text == "":
                continue
            if (spec.get("constraints") or {}).get("unique") or schema.get("primaryKey") == name:
                if text in seen[name]:
                    problems.append(f"{table} row {number}, field {name}: {text!r} is not unique "
                                    f"(also in row {seen[name][text]})")
                seen[name].setdefault(text, number)


def _check_foreign_keys(paths: Mapping[str, Path], schemas: Mapping[str, Mapping[str, Any]],
                        problems: list[str]) -> None:
    for table, schema in schemas.items():
        for fk in schema.get("foreignKeys") or []:
            ref = fk.get("reference") or {}
            target, target_field, own = ref.get("resource"), ref.get("fields"), fk.get("fields")
            if target not in schemas or not isinstance(own, str) or not isinstance(target_field, str):
                continue
            allowed = _column(paths[target], target_field)
            for number, text in _column_rows(paths[table], own):
                if text and text not in allowed:
                    problems.append(f"{paths[table].name} row {number}, field {own}: {text!r} is not a "
                                    f"{target}.{target_field} in {paths[target].name}")


def _column_rows(path: Path, name: str) -> list[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return [(n, row.get(name) or "") for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _column(path: Path, name: str) -> set[str]:
    return {text for _, text in _column_rows(path, name)}


def validate_camtrap_dp(out_dir: Path | str) -> list[str]:
    """Validate a written package offline against the official 1.0 schemas; the problems in words (empty: valid).

    ``datapackage.json`` is checked against the vendored profile, each table against its vendored
    Table Schema. Each problem names the file, and for a table the row (the header is row 1) and
    the field, e.g. ``media.csv row 3, field filePath: '../a.mp4' does not match the pattern ...``.
    """
    out = Path(out_dir)
    problems: list[str] = []
    try:
        descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"datapackage.json cannot be read ({exc})"]
    for err in sorted(_profile_validator().iter_errors(descriptor), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        problems.append(f"datapackage.json, {where}: {err.message}")
    resources_ = {r.get("name"): r for r in descriptor.get("resources") or [] if isinstance(r, dict)}
    schemas: dict[str, dict[str, Any]] = {}
    paths: dict[str, Path] = {}
    for name in TABLE_NAMES:
        res = resources_.get(name)
        if res is None:
            problems.append(f"datapackage.json: the {name} resource is missing")
            continue
        if res.get("schema") != schema_url(name):
            problems.append(f"datapackage.json, resources/{name}/schema: {res.get('schema')!r} is not the official "
                            f"Camtrap DP {VERSION} schema {schema_url(name)}")
        rel = res.get("path")
        if not isinstance(rel, str) or not re.fullmatch(r"[^./~][^/]*", rel):
            problems.append(f"datapackage.json, resources/{name}/path: {rel!r} is not a file in the package")
            continue
        schemas[name], paths[name] = table_schema(name), out / rel
        _check_table(paths[name], schemas[name], problems)
    _check_foreign_keys(paths, schemas, problems)
    return problems
