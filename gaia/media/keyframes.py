"""Keyframe extraction: which frames of each video are sent, as JPEGs sized for the chosen model.

Three strategies. ``keyframes`` (the default, and the cheapest) indexes the codec's own I-frames
without decoding anything (a packet scan), takes the I-frame nearest each of N evenly spread
times, and falls back to an exact seek where I-frames are too sparse; each chosen I-frame is the
only frame decoded for its slot. ``uniform`` takes exact frames at N evenly spread times, moving
off black lead-in and tail. ``scene`` finds scene changes with ffmpeg's scene score and tops them
up to even coverage. Whatever the strategy, frames come back in time order with timestamps in
seconds from the start of playback; near-duplicates (a perceptual hash) are dropped and replaced;
each frame is scaled so that the model uses it without downscaling (``gaia.facts.fit_to_tier``)
and saved as JPEG. Results are cached in the folder's ``.gaia/frames/`` keyed by the file's
identity and the settings, so a second run decodes nothing. Videos are processed on every core (a
process pool); every ffmpeg call has a deadline, so one broken file never hangs a run.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from gaia.facts import fit_to_tier, image_tokens, model_facts
from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.media.probe import ffmpeg_exe
from gaia.media.scan import VideoRecord, scan_folder
from gaia.settings import KeyframeSettings, Selection

Progress = Callable[[int, int], None]

ALGORITHM_VERSION = 1
FRAMES_DIR = "frames"
THUMBS_DIR = "thumbs"
MANIFEST = "manifest.json"
THUMB_EDGE = 192
DUPLICATE_HAMMING = 4  # of 64 bits: structure this close, and ...
DUPLICATE_MEAN_DIFF = 3.0  # ... colour thumbnails this close (mean abs diff, 0-255): a near-duplicate
BLACK_MEAN = 18.0  # mean luma (0-255) below which, with little spread, a frame counts as black
BLACK_STD = 8.0
KEYFRAME_TOLERANCE = 0.5  # of the spacing between targets: an I-frame must lie in its target's own slot
KEYFRAME_PASS_RATIO = 2.0  # decode all I-frames in one pass when there are at most this many per wanted frame
SCENE_THRESHOLD = 0.3  # ffmpeg scene score that counts as a cut
SCENE_OFFSET_S = 0.12  # take the frame just after a cut, not the blended one on it
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
    return hashlib.sha256(key.encode()).hexdigest()[:20]


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
# ffmpeg helpers (run inside worker processes)
# --------------------------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired("ffmpeg", self.seconds)
        return left


def _run(args: list[str], deadline: _Deadline, *, stdout: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
        stdout=stdout, stderr=subprocess.PIPE, timeout=deadline.left(), check=False,
    )


_TB_RE = re.compile(rb"^#tb 0: (\d+)/(\d+)", re.M)


@dataclass(frozen=True)
class _Index:
    """Presentation times (s from playback start) of every frame and of the I-frames, from packets."""

    frames: tuple[float, ...] = ()
    keys: tuple[float, ...] = ()

    def snap(self, t: float) -> float:
        """The time of the frame nearest ``t`` (``t`` itself when the index is empty)."""
        if not self.frames:
            return t
        i = bisect.bisect_left(self.frames, t)
        near = [self.frames[j] for j in (i - 1, i) if 0 <= j < len(self.frames)]
        return min(near, key=lambda f: abs(f - t))


def index_packets(path: Path, start_time: float, deadline: _Deadline) -> _Index:
    """Index the video stream's frames and I-frames by a packet scan: no decoding at all."""
    proc = _run(["-copyts", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
                deadline, stdout=subprocess.PIPE)
    out = proc.stdout
    m = _TB_RE.search(out)
    if proc.returncode != 0 or not m:
        return _Index()
    tb = int(m.group(1)) / int(m.group(2))
    frames, keys = [], []
    for line in out.split(b"\n"):
        if not line or line.startswith(b"#"):
            continue
        parts = line.split(b",")
        if len(parts) < 6:
            continue
        flags = 1  # framecrc omits the flags field when it is exactly "key"
        if len(parts) > 6 and b"F=" in parts[6]:
            with contextlib.suppress(ValueError):
                flags = int(parts[6].split(b"=")[1], 16)
        try:
            t = int(parts[2]) * tb - start_time
        except ValueError:
            continue
        if t < -1e-3 or flags & 4:  # pre-roll or discarded packets are never shown
            continue
        frames.append(t)
        if flags & 1:
            keys.append(t)
    return _Index(tuple(sorted(frames)), tuple(sorted(keys)))


def index_keyframes(path: Path, start_time: float, deadline: _Deadline) -> list[float]:
    """Times (s from playback start) of the video stream's I-frames, from a packet scan (no decoding)."""
    return list(index_packets(path, start_time, deadline).keys)


@dataclass
class _Grab:
    time: float  # seconds from playback start
    exact: bool  # exact seek, or take the I-frame at ``time``
    source: str


def _grab(path: Path, grabs: Sequence[_Grab], size: tuple[int, int], deadline: _Deadline,
          tmp: Path, index: _Index, errors: list[str]) -> list[Any]:
    """Decode one frame per grab in a single ffmpeg run; returns RGB arrays (None where it failed).

    Exact seeks are first snapped to a real frame time from the index, so the timestamp each grab
    carries is the presentation time of the frame it returns.
    """
    import numpy as np

    if not grabs:
        return []
    w, h = size
    args: list[str] = []
    for g in grabs:
        if g.exact:
            g.time = index.snap(g.time)
            # Half a millisecond early: the first frame at or after it is the one at g.time.
            args += ["-ss", f"{max(0.0, g.time - 0.0005):.6f}", "-i", str(path)]
        else:
            # Land exactly on the I-frame: seek to it (plus 1 ms, below any frame duration) and take
            # the first decoded frame. Skipping non-key frames and frame threading means that one
            # frame is the only one decoded.
            args += ["-noaccurate_seek", "-skip_frame", "nokey", "-threads", "1",
                     "-ss", f"{max(0.0, g.time) + 0.001:.6f}", "-i", str(path)]
    outs = []
    for i in range(len(grabs)):
        out = tmp / f"g{i}.rgb"
        outs.append(out)
        args += ["-map", f"{i}:v:0", "-frames:v", "1", "-an", "-sn",
                 "-vf", f"scale={w}:{h}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", str(out)]
    proc = _run(["-loglevel", "error", *args], deadline)
    _note_decode_errors(proc.stderr, errors)
    frames: list[Any] = []
    need = w * h * 3
    for out in outs:
        try:
            data = out.read_bytes()
        except FileNotFoundError:
            frames.append(None)
            continue
        frames.append(np.frombuffer(data[:need], dtype=np.uint8).reshape(h, w, 3) if len(data) >= need else None)
        out.unlink()
    return frames


def _keyframe_pass(path: Path, wanted: Sequence[float], size: tuple[int, int], deadline: _Deadline,
                   index: _Index, tmp: Path, errors: list[str]) -> dict[float, Any] | None:
    """Decode every I-frame in one sequential pass (no seeking) and keep the wanted ones.

    Cheaper than one seek per frame when I-frames are few (long GOPs). Frames are streamed, so
    only the wanted ones are held. Returns ``None`` when the decoded count does not match the
    index (then the caller seeks instead).
    """
    import numpy as np

    w, h = size
    frame_bytes = w * h * 3
    want = {round(t, 6) for t in wanted}
    log = tmp / "pass.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-skip_frame", "nokey", "-i", str(path),
             "-map", "0:v:0", "-an", "-sn", "-vf", f"scale={w}:{h}:flags=area", "-fps_mode", "passthrough",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            stdout=subprocess.PIPE, stderr=err,
        )
    got: dict[float, Any] = {}
    count = 0
    try:
        assert proc.stdout is not None
        while True:
            if time.monotonic() > deadline.end:
                raise subprocess.TimeoutExpired("ffmpeg", deadline.seconds)
            data = proc.stdout.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            if count < len(index.keys) and round(index.keys[count], 6) in want:
                got[index.keys[count]] = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)
            count += 1
        proc.wait(timeout=max(0.1, deadline.left()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with contextlib.suppress(OSError):
        _note_decode_errors(log.read_bytes(), errors)
    if count != len(index.keys):
        return None
    return got


_DECODE_ERROR_MARKERS = (b"error while decoding", b"concealing", b"Invalid NAL", b"corrupt")


def _note_decode_errors(stderr: bytes | None, errors: list[str]) -> None:
    """Remember that the decoder complained: damaged files decode "fine" but show artefacts."""
    if stderr and any(m in stderr for m in _DECODE_ERROR_MARKERS):
        errors.append(stderr.decode("utf-8", "replace").strip().splitlines()[0][:200])


def _grab_cheapest(path: Path, grabs: Sequence[_Grab], size: tuple[int, int], deadline: _Deadline,
                   tmp: Path, index: _Index, errors: list[str]) -> list[Any]:
    """Frames for ``grabs``, choosing per video between one I-frame pass and one seek per frame."""
    keyframe_grabs = [g for g in grabs if not g.exact]
    if keyframe_grabs and len(index.keys) <= KEYFRAME_PASS_RATIO * len(keyframe_grabs):
        decoded = _keyframe_pass(path, [g.time for g in keyframe_grabs], size, deadline, index, tmp, errors)
        if decoded is not None:
            exact = [g for g in grabs if g.exact]
            seeked = dict(zip(map(id, exact), _grab(path, exact, size, deadline, tmp, index, errors), strict=True))
            return [seeked[id(g)] if g.exact else decoded.get(g.time) for g in grabs]
    return _grab(path, grabs, size, deadline, tmp, index, errors)


def _dhash(rgb: Any) -> int:
    """64-bit difference hash of the frame's structure (blind to flat colour)."""
    from PIL import Image

    img = Image.fromarray(rgb).convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    px = list(img.getdata())
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    return bits


@dataclass(frozen=True)
class _Signature:
    """A perceptual signature: structure (dHash) plus colour layout (a 16x16 thumbnail)."""

    dhash: int
    thumb: Any

    @classmethod
    def of(cls, rgb: Any) -> _Signature:
        import numpy as np
        from PIL import Image

        thumb = np.asarray(Image.fromarray(rgb).resize((16, 16), Image.Resampling.BOX), dtype=np.float32)
        return cls(_dhash(rgb), thumb)

    def near(self, other: _Signature) -> bool:
        """Near-duplicates look alike in structure and in colour."""
        if bin(self.dhash ^ other.dhash).count("1") > DUPLICATE_HAMMING:
            return False
        return float(abs(self.thumb - other.thumb).mean()) < DUPLICATE_MEAN_DIFF


def _is_black(rgb: Any) -> bool:
    """Dark and flat: a black lead-in or tail (judged on every 4th pixel, which is plenty and 16x cheaper)."""
    luma = rgb[::4, ::4].mean(axis=2)
    return float(luma.mean()) < BLACK_MEAN and float(luma.std()) < BLACK_STD


def _scene_times(path: Path, start_time: float, deadline: _Deadline) -> list[float]:
    proc = _run(["-i", str(path), "-map", "0:v:0", "-an", "-sn",
                 "-vf", f"scale=160:-2,format=rgb24,select='gt(scene,{SCENE_THRESHOLD})',showinfo", "-f", "null", "-"],
                deadline)
    times = []
    for m in re.finditer(rb"pts_time:\s*([-0-9.]+)", proc.stderr):
        with contextlib.suppress(ValueError):
            times.append(float(m.group(1)) - start_time)
    return sorted(times)


def _even_targets(duration: float, n: int) -> list[float]:
    return [(i + 0.5) * duration / n for i in range(n)]


def _plan_keyframes(duration: float, n: int, keyframes: list[float]) -> list[_Grab]:
    """The I-frame nearest each evenly spread time, or an exact seek where none is near enough.

    "Near enough" means inside the target's own slot (half the spacing either side), and each
    I-frame is used once, so frames stay evenly spread over the video; exact seeks (which decode
    from the previous I-frame, costly with long GOPs) are only needed for slots without one.
    """
    spacing = duration / n
    used: set[float] = set()
    grabs = []
    for t in _even_targets(duration, n):
        free = [k for k in keyframes if k not in used and k < duration]
        best = min(free, key=lambda k: abs(k - t), default=None)
        if best is not None and abs(best - t) <= KEYFRAME_TOLERANCE * spacing:
            used.add(best)
            grabs.append(_Grab(best, exact=False, source="keyframe"))
        else:
            grabs.append(_Grab(t, exact=True, source="seek"))
    return grabs


def _plan_scene(duration: float, n: int, cuts: list[float]) -> list[_Grab]:
    """Frames just after scene changes (and one in the opening shot), topped up to even coverage."""
    times = [min(0.5, duration / (2 * n))] + [c + SCENE_OFFSET_S for c in cuts if c + SCENE_OFFSET_S < duration]
    if len(times) > n:  # keep the cuts that spread best: drop the one closest to a neighbour
        while len(times) > n:
            gaps = [times[i + 1] - times[i] for i in range(len(times) - 1)]
            i = gaps.index(min(gaps)) + 1
            times.pop(i)
    grabs = [_Grab(t, exact=True, source="scene") for t in times]
    while len(grabs) < n:  # top up: middle of the largest gap (including the tail)
        edges = [*sorted(g.time for g in grabs), duration]
        width, i = max((edges[j + 1] - edges[j], j) for j in range(len(edges) - 1))
        grabs.append(_Grab(edges[i] + width / 2, exact=True, source="seek"))
    return sorted(grabs, key=lambda g: g.time)


@dataclass
class _Job:
    path: str
    rel_path: str
    duration: float
    start_time: float
    size: tuple[int, int]
    settings: dict[str, Any]
    out_dir: str
    set_id: str
    timeout_s: float


def _extract_job(job: _Job) -> dict[str, Any]:
    """Worker: extract one video's frames into ``job.out_dir`` and return the manifest."""
    from PIL import Image

    settings = KeyframeSettings(**job.settings)
    path = Path(job.path)
    out_dir = Path(job.out_dir)
    deadline = _Deadline(job.timeout_s)
    n = settings.count
    duration = job.duration
    manifest: dict[str, Any] = {"set_id": job.set_id, "version": ALGORITHM_VERSION, "frames": [], "problem": None}
    tmp = Path(tempfile.mkdtemp(prefix="gaia-kf-"))
    try:
        index = index_packets(path, job.start_time, deadline)
        if settings.strategy == "keyframes":
            grabs = _plan_keyframes(duration, n, list(index.keys))
        elif settings.strategy == "scene":
            grabs = _plan_scene(duration, n, _scene_times(path, job.start_time, deadline))
        else:
            grabs = [_Grab(t, exact=True, source="seek") for t in _even_targets(duration, n)]
        kept: list[tuple[_Grab, Any, _Signature]] = []
        decode_errors: list[str] = []
        dropped_dupes = 0
        seen_black = False
        lo, hi = 0.0, duration  # the span between black lead-in and black tail, as far as seen
        pending = grabs
        for round_no in range(3):
            images = _grab_cheapest(path, pending, job.size, deadline, tmp, index, decode_errors)
            retry: list[_Grab] = []
            black: list[float] = []
            dupes: list[float] = []
            for g, rgb in zip(pending, images, strict=True):
                if rgb is None:
                    if g.exact is False:  # an I-frame that would not decode: try an exact seek instead
                        retry.append(_Grab(g.time, exact=True, source="seek"))
                    continue
                if settings.strategy != "scene" and _is_black(rgb):
                    black.append(g.time)
                    continue
                sig = _Signature.of(rgb)
                if any(sig.near(other) for _, _, other in kept):
                    dupes.append(g.time)
                    dropped_dupes += 1
                    continue
                kept.append((g, rgb, sig))
            seen_black = seen_black or bool(black)
            planned = [k[0].time for k in kept]
            if planned:
                lo = max([lo, *(t for t in black if t < min(planned))])
                hi = min([hi, *(t for t in black if t > max(planned))])
            if round_no < 2:
                for t in black + dupes:  # replace each in the widest gap left, inside the non-black span
                    alt = _replacement_time(t, planned, lo, hi, n)
                    if alt is not None:
                        planned.append(alt)
                        retry.append(_Grab(alt, exact=True, source="seek"))
            if not retry:
                break
            pending = retry
        if not kept:
            manifest["problem"] = ("every frame tried was black" if seen_black
                                   else "no frame could be decoded (the file may be damaged or truncated)")
            return manifest
        kept.sort(key=lambda k: k[0].time)
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, (g, rgb, _) in enumerate(kept):
            name = f"frame_{i:02d}_{g.time:09.3f}.jpg"
            img = Image.fromarray(rgb)
            target = out_dir / name
            img.save(target, format="JPEG", quality=settings.jpeg_quality)
            manifest["frames"].append({
                "timestamp": round(g.time, 3), "file": name, "width": img.width, "height": img.height,
                "bytes": target.stat().st_size, "tokens": image_tokens(img.width, img.height), "source": g.source,
            })
        notes = []
        # Counted in frames asked for, never in candidates tried: a note once said "10 near-duplicate frame(s)
        # dropped; 3 of 6 frames kept", more dropped than asked for, because each replacement tried counts too.
        if len(kept) < n:
            notes.append(f"{len(kept)} of {n} frames kept: the video has fewer distinct moments than frames asked "
                         "for (near-duplicates of a kept frame are left out)")
        elif dropped_dupes:
            notes.append("near-duplicate frames were replaced by other moments of the video")
        if decode_errors:
            notes.append("the decoder reported damage in this file; check the frames for artefacts")
        manifest["note"] = "; ".join(notes) or None
        return manifest
    except subprocess.TimeoutExpired:
        manifest["problem"] = f"extraction took longer than {job.timeout_s:.0f} s and was stopped"
        manifest["transient"] = True
        return manifest
    except Exception as exc:  # a worker must never take the run down
        manifest["problem"] = f"frame extraction failed: {type(exc).__name__}: {exc}"
        manifest["transient"] = True
        return manifest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replacement_time(t: float, kept: Iterable[float], lo: float, hi: float, n: int) -> float | None:
    """The middle of the widest gap between kept frames and the span's ends, unless it is ``t``."""
    edges = sorted([lo, *(k for k in kept if lo < k < hi), hi])
    width, i = max((edges[j + 1] - edges[j], j) for j in range(len(edges) - 1))
    alt = edges[i] + width / 2
    if width < (hi - lo) / (4 * n) or abs(alt - t) < 1e-3:
        return None
    return alt


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
        jobs[i] = (rec, _Job(str(rec.path), rec.rel_path, rec.duration, rec.start_time,
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
                except Exception as exc:  # a crashed worker process
                    manifest = {"problem": f"frame extraction crashed: {type(exc).__name__}", "transient": True}
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
    key = hashlib.sha256(f"{record.rel_path}|{record.size}|{record.mtime_ns}".encode()).hexdigest()[:20]
    out = Folder.of(folder).preview_cache_dir(THUMBS_DIR) / f"{key}.jpg"
    if out.is_file():
        return out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.jpg")
    t = min(record.duration * 0.3, 30.0)  # past any black lead-in, near the start
    scale = f"scale='if(gt(iw,ih),{THUMB_EDGE},-2)':'if(gt(iw,ih),-2,{THUMB_EDGE})'"
    try:
        _run(["-loglevel", "error", "-noaccurate_seek", "-ss", f"{t:.3f}", "-i", str(record.path),
              "-frames:v", "1", "-vf", scale, "-q:v", "5", "-y", str(tmp)], _Deadline(20))
    except (subprocess.TimeoutExpired, OSError):
        return None
    if not tmp.is_file() or tmp.stat().st_size == 0:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None
    os.replace(tmp, out)
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
