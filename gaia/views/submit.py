"""What the Submit page shows of a plan: its figures and tables, a starting spend cap, a token for page caches.

The spend-cap check itself is ``gaia.runs.guard.cap_problem`` (the one check for every way of
paying); ``folder_token`` changes whenever the folder's settings, selection, frame cache or ledger
change, so a page can keep a plan until then.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.api.validate import RequestProblem
from gaia.facts import model_name
from gaia.folder import Folder
from gaia.fsutil import display_name
from gaia.media.keyframes import FRAMES_DIR
from gaia.pricing.estimate import Estimate
from gaia.pricing.levers import CascadeEstimate
from gaia.runs.plan import SubmissionPlan
from gaia.views.common import Metric


def folder_token(folder: Path | str) -> str:
    """Changes whenever the folder's settings, selection, frame cache or ledger change (for page caches)."""
    wd = Folder.of(folder).existing_workdir()
    parts = []
    for name in ("settings.json", "selection.json", FRAMES_DIR, "ledger.sqlite3", "ledger.sqlite3-wal", "prompts"):
        try:
            st_ = (wd / name).stat()
            parts.append(f"{name}:{st_.st_mtime_ns}:{st_.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)


DRY_RUN_DOWNLOAD_LIMIT = 200_000_000  # above this, the dry run is written to disk only (browsers choke)
SKIP_KINDS = {"analysed": ("already analysed with these settings", ":material/task_alt:"),
              "in_flight": ("already in a batch awaiting results", ":material/hourglass_top:"),
              "excluded": ("excluded by you on the Keyframes page", ":material/visibility_off:"),
              "problem": ("unusable files", ":material/warning:")}


def plan_caption(plan: SubmissionPlan) -> str:
    """The settings the plan sends with: model, prompt profile, frames, cache TTL, answer limit (Markdown)."""
    s = plan.settings
    return (f"Model **{model_name(s.model)}** · prompt profile “{plan.profile.name}” ({plan.profile.hash}) · "
            f"{s.keyframes.count} frames per video ({s.keyframes.strategy}) · cache TTL {s.cache_ttl} · "
            f"answers up to {fmt.tokens(plan.max_tokens)} tokens.")


def plan_metrics(plan: SubmissionPlan) -> list[Metric]:
    """What will be sent: videos, frames, upload size, batches, skipped."""
    return [
        Metric("Videos to send", str(len(plan.requests))),
        Metric("Frames", fmt.tokens(plan.n_frames), help=f"{fmt.tokens(plan.image_tokens)} image tokens"),
        Metric("Upload size", fmt.size(plan.total_bytes), help="The requests as sent, images base64-encoded."),
        Metric("Batches", str(len(plan.batches))),
        Metric("Skipped", str(len(plan.skipped)), help="Already analysed, already sent, excluded, or unusable."),
    ]


def problem_records(problems: Iterable[RequestProblem]) -> list[dict[str, str]]:
    """Problems as table rows: video, problem, fix."""
    return [{"video": display_name(p.rel_path) if p.rel_path else "(whole run)", "problem": p.problem, "fix": p.fix}
            for p in problems]


ROWS_PER_PAGE = 1_000  # a table of requests or skipped videos shows this many rows at a time (100,000 would not load)


def request_records(plan: SubmissionPlan, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    """The requests that will be sent (those from ``start`` to ``stop``: a page of the table), one row each, with
    the batch each goes in."""
    starts = [b.start for b in plan.batches]
    rows = []
    for i in range(start, len(plan.requests) if stop is None else min(stop, len(plan.requests))):
        r = plan.requests[i]
        b = bisect.bisect_right(starts, i) - 1
        batch = plan.batches[b].index + 1 if b >= 0 and i < plan.batches[b].stop else None
        rows.append({"video": display_name(r.rel_path), "frames": len(r.frames),
                     "at": ", ".join(fmt.position(t) for t in r.timestamps),
                     "image tokens": r.image_tokens, "size": fmt.size(r.nbytes), "batch": batch,
                     "custom_id": r.custom_id})
    return rows


def rows_caption(start: int, stop: int, total: int) -> str:
    """``Rows 1,001–2,000 of 20,000.`` under a table shown a page at a time."""
    return f"Rows {start + 1:,}–{min(stop, total):,} of {total:,}."


def batch_records(plan: SubmissionPlan) -> list[dict[str, Any]]:
    """How the run splits: one row per batch with its share of the size limit."""
    return [{"batch": b.index + 1, "requests": b.n_requests, "size": fmt.size(b.nbytes),
             "share of the size limit": b.nbytes / plan.max_batch_bytes, "why it ends here": b.reason_text}
            for b in plan.batches]


def scenario_records(est: Estimate) -> list[dict[str, Any]]:
    """The four ways to send the run, with the one GAIA uses ticked."""
    return [{"scenario": sc.label, "total (USD)": sc.total_usd, "per video (USD)": sc.per_video_usd,
             "range": f"{fmt.usd(sc.low_usd)} – {fmt.usd(sc.high_usd)}",
             "this run": "✓" if sc.key == "batch_caching" else ""} for sc in est.scenarios]


def submit_label(plan: SubmissionPlan, cascade: CascadeEstimate | None = None) -> str:
    """The submit button's label (a cascade's: its first pass, and what both passes are expected to cost)."""
    if not plan.requests:
        return "Nothing to submit"
    first = "the cascade's first pass, " if plan.cascade_pass is not None else ""
    both = " for both passes" if cascade is not None else ""
    return (f"Submit {first}{len(plan.requests)} video(s) in {len(plan.batches)} batch(es) · about "
            f"{fmt.usd(cascade.submit_usd if cascade is not None else plan.estimate_usd)}{both}")


def default_cap(estimate_usd: float | None, *, margin: float = 1.2, floor: float = 1.0) -> float:
    """A spend cap to start from: the estimate plus a margin, at least ``floor``."""
    return float(max(floor, round((estimate_usd or floor) * margin, 2)))
