"""Keyframe extraction: which frames of each video are sent, as JPEGs sized for the chosen model.

The public face of ``gaia.media``'s frame pipeline. Each video is opened once, in-process (PyAV,
``gaia.media.decode``); a strategy (``gaia.media.strategies``) plans the frames: ``keyframes`` (the
default, and the cheapest) takes the codec's own I-frames nearest N evenly spread times, one packet
decoded each; ``uniform`` takes exact frames at N evenly spread times, moving off black lead-in and
tail; ``scene`` keeps the frames after scene changes and tops up so the whole video is covered.
Frames that come back black or near-duplicates (judged on small thumbnails, ``gaia.media.dedupe``)
are replaced in one extra pass at most, from candidates in the widest gaps. Frames come back in
time order with their true presentation times in seconds from the start of playback, scaled so
that the model uses them without downscaling (``gaia.facts.fit_to_tier``), and saved as JPEG.
Results are cached in the folder's ``.gaia/frames/`` keyed by the file's identity and the settings,
so a second run decodes nothing. Videos are processed on every core (a process pool); each video
has a deadline, so one broken file never holds up a run.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import av

from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.folder import Folder
from gaia.format import error_text
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.decode import Deadline, Decoded, DecodeTimeout, VideoDecoder
from gaia.media.dedupe import Signature
from gaia.media.scan import VideoRecord, scan_folder
from gaia.media.strategies import Slot, plan_keyframes, plan_scene, plan_uniform, replacements
from gaia.settings import KeyframeSettings, Selection

Progress = Callable[[int, int], None]

# 2: in-process decoding, true presentation times of I-frames, new replacement rules. Folders
# extracted by version 1 keep their old frames (sidecars point at them) and are re-extracted.
ALGORITHM_VERSION = 2
FRAMES_DIR = "frames"
THUMBS_DIR = "thumbs"
MANIFEST = "manifest.json"
THUMB_EDGE = 192
SCENE_THRESHOLD = 0.3  # FFmpeg's scene score that counts as a cut
DEFAULT_TIMEOUT_S = 120.0  # per video, plus 1 s per minute of duration


@dataclass(frozen=True)
class Keyframe:
    """One extracted frame: its time in the video, its JPEG in the frame cache, its size and tokens."""

    timestamp: float
    path: Path
    width: int
    height: int
    nbytes: int
    tokens: int
    source: str = "keyframe"  # "keyframe" (codec I-frame), "seek" (exact seek) or "scene" (scene change)

    def read_bytes(self) -> bytes:
        """The JPEG bytes."""
        return self.path.read_bytes()


@dataclass(frozen=True)
class KeyframeSet:
    """The frames of one video for one set of settings, in time order, or the reason there are none."""

    video: Path
    rel_path: str
    settings: KeyframeSettings
    model: str
    set_id: str
    frames: tuple[Keyframe, ...] = field(default_factory=tuple)
    problem: str | None = None
    cached: bool = False
    note: str | None = None  # e.g. "3 near-duplicate frames dropped"

    def included_frames(self, selection: Selection | None = None) -> tuple[Keyframe, ...]:
        """The frames the user did not exclude."""
        if selection is None:
            return self.frames
        return tuple(f for f in self.frames if not selection.frame_excluded(self.rel_path, f.timestamp))

    @property
    def tokens(self) -> int:
        """Image tokens of all frames."""
        return sum(f.tokens for f in self.frames)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "video": str(self.video),
            "rel_path": self.rel_path,
            "set_id": self.set_id,
            "model": self.model,
            "settings": asdict(self.settings),
            "problem": self.problem,
            "note": self.note,
            "cached": self.cached,
            "frames": [
                {"timestamp": f.timestamp, "path": str(f.path), "width": f.width, "height": f.height,
                 "bytes": f.nbytes, "tokens": f.tokens, "source": f.source}
                for f in self.frames
            ],
        }


# --------------------------------------------------------------------------------------------
# Identity and cache
# --------------------------------------------------------------------------------------------


def target_size(record: VideoRecord, settings: KeyframeSettings, model: str) -> tuple[int, int]:
    """Frame size (displayed orientation) for this video, settings and model's image tier."""
    tier = model_facts(model).image_tier
    if not record.width or not record.height:
        raise ValueError(f"{record.rel_path} has no known frame size")
    w, h = fit_to_tier(record.width, record.height, tier, max_edge=settings.max_edge)
    # Even dimensions keep every scaler and encoder happy; never below 2 px.
    return max(2, w - w % 2), max(2, h - h % 2)


def keyframe_set_id(record: VideoRecord, settings: KeyframeSettings, model: str) -> str:
    """Stable id of one video's frames for given settings: changes when the file or settings change."""
    w, h = target_size(record, settings, model)
    key = json.dumps(
        [ALGORITHM_VERSION, record.rel_path, record.size, record.mtime_ns, asdict(settings), w, h],
        separators=(",", ":"),
    )
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def _frames_root(folder: Path) -> Path:
    return Folder.of(folder).workdir / FRAMES_DIR


def _load_manifest(record: VideoRecord, out_dir: Path, settings: KeyframeSettings, model: str,
                   set_id: str) -> KeyframeSet | None:
    data = read_json(out_dir / MANIFEST)
    if not isinstance(data, dict) or data.get("set_id") != set_id:
        return None
    frames = []
    for f in data.get("frames", []):
        path = out_dir / f["file"]
        if not path.is_file():
            return None
        frames.append(Keyframe(float(f["timestamp"]), path, int(f["width"]), int(f["height"]),
                               int(f["bytes"]), int(f["tokens"]), f.get("source", "keyframe")))
    return KeyframeSet(record.path, record.rel_path, settings, model, set_id, tuple(frames),
                       data.get("problem"), cached=True, note=data.get("note"))


# --------------------------------------------------------------------------------------------
# One video's extraction (runs inside a worker)
# --------------------------------------------------------------------------------------------


def index_keyframes(path: Path | str, deadline: Deadline | None = None) -> list[float]:
    """Times (s from playback start) of the video stream's I-frames, from the packet index (no decoding)."""
    with VideoDecoder(path, size=(2, 2), deadline=deadline) as dec:
        return list(dec.index().key_times)


def _grab(dec: VideoDecoder, slots: Sequence[Slot]) -> list[Decoded | None]:
    """Decode every slot: I-frames one packet each, then all exact frames in one forward sweep.

    An I-frame that will not decode alone is taken by an exact seek to its time instead.
    """
    out: list[Decoded | None] = [dec.keyframe(s.key) if s.key is not None else None for s in slots]
    exact = [i for i, s in enumerate(slots) if out[i] is None]
    for i, frame in zip(exact, dec.exact([slots[i].time for i in exact]), strict=True):
        out[i] = frame
    return out


@dataclass
class _Pick:
    slot: Slot
    frame: Decoded
    sig: Signature


def _sort_out(slots: Sequence[Slot], frames: Sequence[Decoded | None], kept: list[_Pick], *, skip_black: bool,
              limit: int) -> tuple[list[float], list[float], int]:
    """Add the usable frames to ``kept`` (at most ``limit``).

    Returns the times of the black frames, of the repeated ones, and how many slots gave no frame.
    """
    black: list[float] = []
    dupes: list[float] = []
    failed = 0
    for slot, frame in zip(slots, frames, strict=True):
        if frame is None:
            failed += 1
            continue
        if limit <= 0:
            break
        sig = Signature.of(frame.image)
        if skip_black and sig.black:
            black.append(frame.time)
        elif any(p.frame.time == frame.time for p in kept) or (
                not slot.coverage and any(sig.near(p.sig) for p in kept)):
            dupes.append(frame.time)
        else:
            kept.append(_Pick(slot, frame, sig))
            limit -= 1
    return black, dupes, failed


def _plan(dec: VideoDecoder, settings: KeyframeSettings, duration: float) -> list[Slot]:
    index = dec.index()
    if settings.strategy == "keyframes":
        return plan_keyframes(duration, settings.count, index.keys)
    if settings.strategy == "scene":
        cuts = [t for t, score in dec.scene_scores() if score > SCENE_THRESHOLD]
        return plan_scene(duration, settings.count, cuts)
    return plan_uniform(duration, settings.count)


@dataclass
class _Outcome:
    picks: list[_Pick]
    dupes: int  # near-duplicates dropped
    black: bool  # black frames met
    failed: int  # planned frames that could not be decoded


def _select(dec: VideoDecoder, settings: KeyframeSettings, duration: float) -> _Outcome:
    """The frames to keep: the plan, then at most one extra pass over replacement candidates."""
    n = settings.count
    slots = _plan(dec, settings, duration)
    skip_black = settings.strategy != "scene"
    kept: list[_Pick] = []
    # Scene changes first, so a repeated cut is the one dropped and not the coverage frame.
    order = sorted(range(len(slots)), key=lambda i: slots[i].coverage)
    frames = _grab(dec, slots)
    black, dupes, failed = _sort_out([slots[i] for i in order], [frames[i] for i in order], kept,
                                     skip_black=skip_black, limit=n)
    dropped = len(dupes)
    if len(kept) < n and kept and (black or dupes):
        times = [p.frame.time for p in kept]
        lo = max([0.0, *(t for t in black if t < min(times))])
        hi = min([duration, *(t for t in black if t > max(times))])
        used = {p.slot.key.ts for p in kept if p.slot.key is not None}
        extra = replacements(times, black + dupes, lo, hi, dec.index().keys, used)
        more_black, more_dupes, _ = _sort_out(extra, _grab(dec, extra), kept, skip_black=skip_black,
                                              limit=n - len(kept))
        black += more_black
        dropped += len(more_dupes)
    kept.sort(key=lambda p: p.frame.time)
    return _Outcome(kept, dropped, bool(black), failed)


@dataclass
class _Job:
    path: str
    rel_path: str
    duration: float
    size: tuple[int, int]
    settings: dict[str, Any]
    out_dir: str
    set_id: str
    timeout_s: float


def _extract_job(job: _Job) -> dict[str, Any]:
    """Worker: extract one video's frames into ``job.out_dir`` and return the manifest."""
    settings = KeyframeSettings(**job.settings)
    manifest: dict[str, Any] = {"set_id": job.set_id, "version": ALGORITHM_VERSION, "frames": [], "problem": None}
    if not Path(job.path).exists():
        manifest["problem"] = "missing: the file was moved or deleted after the folder was scanned"
        manifest["transient"] = True
        return manifest
    try:
        with VideoDecoder(job.path, size=job.size, deadline=Deadline(job.timeout_s)) as dec:
            outcome = _select(dec, settings, job.duration)
        kept = outcome.picks
        if not kept:
            manifest["problem"] = ("every frame tried was black" if outcome.black
                                   else "no frame could be decoded (the file may be damaged or truncated)")
            return manifest
        out_dir = Path(job.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, pick in enumerate(kept):
            name = f"frame_{i:02d}_{pick.frame.time:09.3f}.jpg"
            img = pick.frame.image
            target = out_dir / name
            img.save(target, format="JPEG", quality=settings.jpeg_quality)
            manifest["frames"].append({
                "timestamp": round(pick.frame.time, 3), "file": name, "width": img.width, "height": img.height,
                "bytes": target.stat().st_size, "tokens": image_tokens(img.width, img.height),
                "source": pick.slot.source,
            })
        notes = []
        # Counted in frames asked for, never in candidates tried: a note once said "10 near-duplicate frame(s)
        # dropped; 3 of 6 frames kept", more dropped than asked for, because each replacement tried counts too.
        if len(kept) < settings.count:
            notes.append(f"{len(kept)} of {settings.count} frames kept: the video has fewer distinct moments than "
                         "frames asked for (near-duplicates of a kept frame are left out)")
        elif outcome.dupes:
            notes.append("near-duplicate frames were replaced by other moments of the video")
        if outcome.failed:
            notes.append(f"{outcome.failed} frame(s) could not be decoded (the file may be damaged or truncated)")
        if dec.errors:
            notes.append("the decoder reported damage in this file; check the frames for artefacts")
        manifest["note"] = "; ".join(notes) or None
        return manifest
    except DecodeTimeout:
        manifest["problem"] = f"extraction took longer than {job.timeout_s:.0f} s and was stopped"
        manifest["transient"] = True
        return manifest
    except FileNotFoundError:
        manifest["problem"] = "missing: the file was moved or deleted after the folder was scanned"
        manifest["transient"] = True
        return manifest
    except (av.error.FFmpegError, ValueError) as exc:
        manifest["problem"] = f"cannot be decoded (the file may be damaged or truncated): {exc}"
        return manifest
    except Exception as exc:  # a worker must never take the run down
        manifest["problem"] = f"frame extraction failed: {error_text(exc)}"
        manifest["transient"] = True
        return manifest



# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _pool(n: int) -> Executor:
    """A process pool when this is a normal program (the CLI, a script, pytest), else threads.

    Spawned workers re-import the main module. Under Streamlit (and AppTest) ``__main__`` is the
    page being run, which must not run again in a worker, and in an interactive session there is
    no main file at all: there a thread pool is used. The work is mostly in ffmpeg processes and
    in Pillow and numpy calls that release the GIL, so threads keep every core busy too.
    """
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    started = sys.argv[0] if sys.argv else ""
    if main_file and started and Path(main_file).is_file() and Path(main_file).resolve() == Path(started).resolve():
        return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
    return ThreadPoolExecutor(max_workers=n)


def _resolve_records(folder: Path, records: Sequence[VideoRecord] | None) -> list[VideoRecord]:
    if records is None:
        records = scan_folder(folder).records
    return list(records)


def cached_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
) -> list[KeyframeSet]:
    """The keyframe sets already in the cache, decoding nothing.

    Videos not extracted yet come back with no frames and the problem ``"not extracted yet"``;
    videos with a scan problem carry that problem.
    """
    folder = Path(folder)
    root = _frames_root(folder)
    out = []
    for rec in _resolve_records(folder, records):
        if not rec.usable:
            out.append(KeyframeSet(rec.path, rec.rel_path, settings, model, "", problem=rec.problem))
            continue
        set_id = keyframe_set_id(rec, settings, model)
        hit = _load_manifest(rec, root / set_id, settings, model, set_id)
        out.append(hit or KeyframeSet(rec.path, rec.rel_path, settings, model, set_id, problem="not extracted yet"))
    return out


def extract_keyframes(
    folder: Path | str,
    *,
    settings: KeyframeSettings,
    model: str,
    records: Sequence[VideoRecord] | None = None,
    on_progress: Progress | None = None,
    workers: int | None = None,
    timeout_s: float | None = None,
) -> list[KeyframeSet]:
    """Extract (or load from the cache) the keyframes of every video, in the order of ``records``.

    ``records`` defaults to a scan of ``folder``. Videos with a scan problem come back with that
    problem; a video that fails to decode gets a plain-language problem, never an exception.
    ``on_progress(done, total)`` is called as videos finish. ``workers`` defaults to every core.
    """
    folder = Path(folder)
    recs = _resolve_records(folder, records)
    root = _frames_root(folder)
    results: dict[int, KeyframeSet] = {}
    jobs: dict[int, tuple[VideoRecord, _Job]] = {}
    for i, rec in enumerate(recs):
        if not rec.usable or not rec.duration:
            results[i] = KeyframeSet(rec.path, rec.rel_path, settings, model, "", problem=rec.problem or "no duration")
            continue
        set_id = keyframe_set_id(rec, settings, model)
        hit = _load_manifest(rec, root / set_id, settings, model, set_id)
        if hit is not None:
            results[i] = hit
            continue
        limit = timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S + rec.duration / 60
        jobs[i] = (rec, _Job(str(rec.path), rec.rel_path, rec.duration,
                             target_size(rec, settings, model), asdict(settings), str(root / set_id), set_id, limit))
    total = len(recs)
    done = len(results)
    if on_progress:
        on_progress(done, total)

    def finish(i: int, manifest: dict[str, Any]) -> None:
        rec, job = jobs[i]
        out_dir = Path(job.out_dir)
        if not manifest.get("transient"):
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out_dir / MANIFEST, manifest)
        loaded = _load_manifest(rec, out_dir, settings, model, job.set_id) if not manifest.get("transient") else None
        results[i] = replace(loaded, cached=False) if loaded else KeyframeSet(
            rec.path, rec.rel_path, settings, model, job.set_id, problem=manifest.get("problem") or "extraction failed"
        )

    n_workers = max(1, workers or os.cpu_count() or 1)
    if len(jobs) <= 1 or n_workers == 1:
        for i, (_, job) in jobs.items():
            finish(i, _extract_job(job))
            done += 1
            if on_progress:
                on_progress(done, total)
    else:
        with _pool(min(n_workers, len(jobs))) as pool:
            futures = {pool.submit(_extract_job, job): i for i, (_, job) in jobs.items()}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    manifest = fut.result()
                except Exception:  # a crashed worker process
                    manifest = {"problem": "frame extraction crashed: the process decoding it stopped",
                                "transient": True}
                finish(i, manifest)
                done += 1
                if on_progress:
                    on_progress(done, total)
    return [results[i] for i in range(total)]


def thumbnail(folder: Path | str, record: VideoRecord) -> Path | None:
    """A small JPEG of the video, or ``None`` when it cannot be made.

    Cached in ``Folder.preview_cache_dir`` (``.gaia/thumbs/`` once the folder has a working folder,
    else the user cache: looking at a folder writes nothing into it).
    """
    if not record.usable or not record.duration:
        return None
    key = f"{record.rel_path}|{record.size}|{record.mtime_ns}"
    key = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    out = Folder.of(folder).preview_cache_dir(THUMBS_DIR) / f"{key}.jpg"
    if out.is_file():
        return out
    w, h = record.width or 16, record.height or 9
    long_edge = max(w, h)
    size = (max(2, round(THUMB_EDGE * w / long_edge)), max(2, round(THUMB_EDGE * h / long_edge)))
    t = min(record.duration * 0.3, 30.0)  # past any black lead-in, near the start
    try:
        with VideoDecoder(record.path, size=size, deadline=Deadline(20)) as dec:
            key = dec.index().key_before(t)
            frame = (dec.keyframe(key) if key is not None else None) or dec.exact([t])[0]
        if frame is None:
            return None
        _save_jpeg(frame.image, out, quality=80)
    except (DecodeTimeout, av.error.FFmpegError, ValueError, OSError):
        return None
    return out


def _save_jpeg(image: Any, out: Path, *, quality: int) -> None:
    """The one write of a thumbnail: to a temporary name beside ``out``, then renamed over it (a cache: no fsync)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp.jpg")
    try:
        image.save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def frame_thumbnail(folder: Path | str, frame: Path, key: str) -> Path | None:
    """A small JPEG of one extracted keyframe (``frame``), cached beside the video thumbnails under ``key``.

    ``None`` when the frame is gone from the frame cache or cannot be read.
    """
    from PIL import Image

    out = Folder.of(folder).preview_cache_dir(THUMBS_DIR) / f"frame-{key}.jpg"
    if out.is_file():
        return out
    try:
        with Image.open(frame) as im:
            im.thumbnail((THUMB_EDGE, THUMB_EDGE))
            _save_jpeg(im.convert("RGB"), out, quality=70)
    except OSError:
        return None
    return out


def thumbnails(
    folder: Path | str,
    records: Sequence[VideoRecord],
    *,
    on_progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, Path | None]:
    """Thumbnails for many videos (relative path → JPEG path or ``None``), made on every core."""
    out: dict[str, Path | None] = {}
    total = len(records)
    if on_progress:
        on_progress(0, total)
    n = workers or max(1, (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=n) as pool:
        for done, (rec, path) in enumerate(zip(records, pool.map(lambda r: thumbnail(folder, r), records),
                                               strict=True), start=1):
            out[rec.rel_path] = path
            if on_progress:
                on_progress(done, total)
    return out
