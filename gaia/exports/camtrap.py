"""Camtrap DP 1.0 export: deployments, media and observations CSVs plus ``datapackage.json``.

For camera-trap software (camtrapR, Agouti, Wildlife Insights, GBIF). Each subfolder of videos is
one deployment (a camera at a place; the folder's root is one too); each video is a media row
(its time is the file's modification time, the only capture time GAIA knows); each subject of an
answer is one media-level observation with its species, count and behaviours, marked
``classificationMethod=machine`` with the model as ``classifiedBy``. Where a person verified the
subjects (``gaia.labels``) the observation is marked ``human`` instead, and the verified values
are the ones exported. A video with no animal gives a ``blank`` observation (``human`` when a
person is visible).

Camtrap DP requires each deployment's latitude and longitude; GAIA cannot know them, so they come
from ``CamtrapDeployment`` values the caller passes (the CLI's ``--latitude/--longitude``). Without them
the package is written but does not validate, and ``validate_camtrap_dp`` says why.
``datapackage.json`` names the official 1.0 profile and table schemas by URL, as the standard
asks; ``validate_camtrap_dp`` validates offline with ``frictionless`` against GAIA's rendering of
those tables (``TABLES``: every 1.0 column, in order, with its type and constraints).
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_text, dumps_json, name_as_uri
from gaia.labels import effective_analysis, verified_of
from gaia.media.scan import scan_folder
from gaia.sidecar import SidecarError, read_sidecar

VERSION = "1.0"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}"
PROFILE_URL = f"{BASE_URL}/camtrap-dp-profile.json"
ROOT_DEPLOYMENT = "(folder)"
_DT = {"type": "datetime", "format": "%Y-%m-%dT%H:%M:%S%z"}


def _f(name: str, kind: str = "string", *, required: bool = False, **constraints: Any) -> dict[str, Any]:
    spec: dict[str, Any] = dict(_DT) if kind == "datetime" else {"type": kind}
    spec["name"] = name
    spec["constraints"] = {"required": required, **constraints}
    return spec


# The 1.0 tables: every column in the standard's order, with types and constraints.
TABLES: dict[str, list[dict[str, Any]]] = {
    "deployments": [
        _f("deploymentID", required=True, unique=True), _f("locationID"), _f("locationName"),
        _f("latitude", "number", required=True, minimum=-90, maximum=90),
        _f("longitude", "number", required=True, minimum=-180, maximum=180),
        _f("coordinateUncertainty", "integer", minimum=1),
        _f("deploymentStart", "datetime", required=True), _f("deploymentEnd", "datetime", required=True),
        _f("setupBy"), _f("cameraID"), _f("cameraModel"), _f("cameraDelay", "integer", minimum=0),
        _f("cameraHeight", "number", minimum=0), _f("cameraDepth", "number", minimum=0),
        _f("cameraTilt", "integer", minimum=-90, maximum=90), _f("cameraHeading", "integer", minimum=0, maximum=360),
        _f("detectionDistance", "number", minimum=0), _f("timestampIssues", "boolean"), _f("baitUse", "boolean"),
        _f("featureType"), _f("habitat"), _f("deploymentGroups"), _f("deploymentTags"), _f("deploymentComments"),
    ],
    "media": [
        _f("mediaID", required=True, unique=True), _f("deploymentID", required=True),
        _f("captureMethod", enum=["activityDetection", "timeLapse"]), _f("timestamp", "datetime", required=True),
        _f("filePath", required=True), _f("filePublic", "boolean", required=True), _f("fileName"),
        _f("fileMediatype", required=True, pattern="^(image|video|audio)/.*$"), _f("exifData", "object"),
        _f("favorite", "boolean"), _f("mediaComments"),
    ],
    "observations": [
        _f("observationID", required=True, unique=True), _f("deploymentID", required=True), _f("mediaID"),
        _f("eventID"), _f("eventStart", "datetime", required=True), _f("eventEnd", "datetime", required=True),
        _f("observationLevel", required=True, enum=["media", "event"]),
        _f("observationType", required=True, enum=["animal", "human", "vehicle", "blank", "unknown", "unclassified"]),
        _f("cameraSetupType", enum=["setup", "calibration"]), _f("scientificName"), _f("count", "integer", minimum=1),
        _f("lifeStage", enum=["adult", "subadult", "juvenile"]), _f("sex", enum=["female", "male"]), _f("behavior"),
        _f("individualID"), _f("individualPositionRadius", "number", minimum=0),
        _f("individualPositionAngle", "number", minimum=-90, maximum=90), _f("individualSpeed", "number", minimum=0),
        _f("bboxX", "number", minimum=0, maximum=1), _f("bboxY", "number", minimum=0, maximum=1),
        _f("bboxWidth", "number", minimum=1e-15, maximum=1), _f("bboxHeight", "number", minimum=1e-15, maximum=1),
        _f("classificationMethod", enum=["human", "machine"]), _f("classifiedBy"),
        _f("classificationTimestamp", "datetime"), _f("classificationProbability", "number", minimum=0, maximum=1),
        _f("observationTags"), _f("observationComments"),
    ],
}
_KEYS: dict[str, dict[str, Any]] = {
    "deployments": {"primaryKey": "deploymentID"},
    "media": {"primaryKey": "mediaID", "foreignKeys": [
        {"fields": "deploymentID", "reference": {"resource": "deployments", "fields": "deploymentID"}}]},
    "observations": {"primaryKey": "observationID", "foreignKeys": [
        {"fields": "deploymentID", "reference": {"resource": "deployments", "fields": "deploymentID"}},
        {"fields": "mediaID", "reference": {"resource": "media", "fields": "mediaID"}}]},
}


def table_schema(name: str) -> dict[str, Any]:
    """GAIA's Table Schema of Camtrap DP table ``name`` (for offline validation)."""
    return {"fields": TABLES[name], "missingValues": [""], **_KEYS[name]}


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
    """A written package: its folder, row counts per table, and what keeps it from validating."""

    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _iso(ts: float | datetime) -> str:
    dt = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _iso(dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def deployment_id(rel_path: str) -> str:
    """The deployment of a video: its subfolder (``ROOT_DEPLOYMENT`` for the folder itself)."""
    parent = str(PurePosixPath(rel_path).parent)
    return ROOT_DEPLOYMENT if parent in (".", "") else parent


@dataclass(frozen=True)
class _Media:
    rel: str
    start: float
    duration: float
    data: dict[str, Any] | None


def _observations(m: _Media, dep: str) -> list[dict[str, Any]]:
    answer = effective_analysis(m.data) if m.data else None
    if not answer:
        return []
    run = m.data.get("run") if m.data and isinstance(m.data.get("run"), dict) else {}
    verified = verified_of(m.data)
    human = verified is not None and "subjects" in verified.fields
    base = {"deploymentID": dep, "mediaID": m.rel, "eventID": m.rel, "eventStart": _iso(m.start),
            "eventEnd": _iso(m.start + m.duration), "observationLevel": "media",
            "classificationMethod": "human" if human else "machine",
            "classifiedBy": (verified.by if human and verified else run.get("model")) or "",
            "classificationTimestamp": (_parse_iso(verified.at) if human and verified else
                                        _parse_iso(run.get("analysed_at"))) or "",
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
        rows.append({**base, "observationID": f"{m.rel}#{i}", "observationType": "animal",
                     "scientificName": str(s.get("scientific_name") or "").strip(),
                     "count": count if isinstance(count, int) and count >= 1 else "",
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
        try:
            data = read_sidecar(folder.video(rec.rel_path))
        except SidecarError:
            data = None
        mtime = getattr(rec, "mtime_ns", None)
        start = mtime / 1e9 if mtime else folder.video(rec.rel_path).stat().st_mtime
        out.append(_Media(name_as_uri(rec.rel_path), start, float(getattr(rec, "duration", None) or 0.0), data))
    return out


def export_camtrap_dp(folder: Folder | Path | str, out_dir: Path | str, *, records: Sequence[Any] | None = None,
                      deployments: Mapping[str, CamtrapDeployment] | None = None,
                      default: CamtrapDeployment | None = None, title: str | None = None) -> CamtrapResult:
    """Write a Camtrap DP 1.0 package of ``folder``'s answers into ``out_dir``.

    ``records`` are the folder's scan records (scanned when not given). ``deployments`` maps a
    deployment id (a subfolder, ``ROOT_DEPLOYMENT`` for the root) to what a person knows about
    it; ``default`` fills the rest. Returns row counts and warnings (missing coordinates).
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
        dep_rows.append({"deploymentID": dep, "locationID": dep,
                         "locationName": info.location_name or (folder.path.name if dep == ROOT_DEPLOYMENT else dep),
                         "latitude": info.latitude, "longitude": info.longitude,
                         "coordinateUncertainty": info.coordinate_uncertainty_m,
                         "deploymentStart": _iso(min(m.start for m in items)),
                         "deploymentEnd": _iso(max(m.start + m.duration for m in items))})
    media_rows = [{"mediaID": m.rel, "deploymentID": deployment_id(m.rel), "timestamp": _iso(m.start),
                   "filePath": m.rel, "filePublic": False, "fileName": PurePosixPath(m.rel).name,
                   "fileMediatype": mimetypes.guess_type(m.rel)[0] or "video/mp4"} for m in media]
    media_rows = [{**r, "fileMediatype": r["fileMediatype"] if r["fileMediatype"].startswith("video/")
                   else "video/mp4"} for r in media_rows]
    obs_rows = [o for m in media for o in _observations(m, deployment_id(m.rel))]
    result.counts = {"deployments": _write_csv(out / "deployments.csv", "deployments", dep_rows),
                     "media": _write_csv(out / "media.csv", "media", media_rows),
                     "observations": _write_csv(out / "observations.csv", "observations", obs_rows)}
    descriptor = _descriptor(folder, title, media, dep_rows, obs_rows)
    atomic_write_text(out / "datapackage.json", dumps_json(descriptor, indent=2) + "\n")
    return result


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
    starts = [m.start for m in media] or [datetime.now(UTC).timestamp()]
    taxa = sorted({o["scientificName"] for o in obs if o.get("scientificName")})
    return {
        "resources": [{"name": t, "path": f"{t}.csv", "profile": "tabular-data-resource", "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8", "schema": schema_url(t)}
                      for t in ("deployments", "media", "observations")],
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


def validate_camtrap_dp(out_dir: Path | str) -> list[str]:
    """Validate a written package offline with ``frictionless``; the problems in plain words (empty: valid).

    The official schema URLs in ``datapackage.json`` are replaced by GAIA's rendering of the same
    tables (no network), and the profile by the generic data-package one. Raises ``RuntimeError``
    when ``frictionless`` is not installed.
    """
    try:
        import frictionless
    except ImportError as exc:  # an optional dependency: requirements-dev.txt installs it
        raise RuntimeError("validating needs the frictionless package (pip install frictionless)") from exc
    out = Path(out_dir)
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    descriptor.pop("profile", None)
    for res in descriptor.get("resources", []):
        if res.get("name") in TABLES:
            res["schema"] = table_schema(res["name"])
    package = frictionless.Package(descriptor, basepath=str(out))
    report = package.validate()
    problems = []
    for task in report.tasks:
        for err in task.errors:
            problems.append(f"{task.name}: {err.message}")
    problems += [e.message for e in report.errors]
    return problems
