"""The top floor: ``gaia.Folder(path, client=None)``, whose verbs are the product's operations.

A script, a notebook, the CLI and the pages hold one object for a folder of videos and ask it to
``scan``, extract ``keyframes``, ``estimate``, ``plan``, ``submit``, ``run_now``, run a ``trial``,
``watch``, ``retrieve``, ``retry``, read ``results`` and ``spent``, ``tune`` and ``export``. Each
verb has typed parameters and a typed result and delegates to the function that does the work
(``gaia.media``, ``gaia.pricing``, ``gaia.runs``, ``gaia.quality``, ``gaia.exports``, ``gaia.views``):
nothing is computed here.

This ``Folder`` is the ground-floor working-folder object (``gaia.folder.Folder``: ``.gaia/``,
settings, exclusions, prompt profiles, ledger, locks, sidecar paths) with the verbs added, so
every function that takes a folder takes it too. Only ``gaia/__init__.py`` imports this module;
the packages underneath never do, which keeps the import graph one-way.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.api.client import make_client
from gaia.exports.camtrap import CamtrapResult, export_camtrap_dp
from gaia.exports.xmp import XmpResult, write_xmp_for
from gaia.folder import Folder as WorkingFolder
from gaia.labels import Verified, save_verified
from gaia.media.keyframes import KeyframeSet, cached_keyframes, extract_keyframes
from gaia.media.scan import ScanResult, scan_folder
from gaia.pricing.bill import Spend, folder_spend
from gaia.pricing.estimate import Estimate, estimate_folder, load_run_inputs
from gaia.quality.sample import DEFAULT_SAMPLE
from gaia.quality.tune import TuneResult, run_tune
from gaia.runs.batch import SubmitResult, submit
from gaia.runs.failures import FailedRequest, failures, retry_failed
from gaia.runs.now import OnlineResult, retry_now, run_now
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.retrieve import DEFAULT_POLL_S, RetrieveResult, retrieve, watch
from gaia.runs.status import BatchStatus, batch_statuses, refresh_status
from gaia.runs.trial import DEFAULT_TRIAL_VIDEOS, TrialResult, TrialUndo, before_trial, run_trial
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings
from gaia.sidecar import read_sidecar
from gaia.views.exports import rows_csv
from gaia.views.results import ResultRow, load_results
from gaia.views.review import profile_for

Progress = Any  # a callable ``(done, total)``; kept loose so a tqdm or Streamlit adapter fits


@dataclass(frozen=True)
class Results(Sequence[ResultRow]):
    """A folder's results, one row per video (``gaia.views.ResultRow``), as a table.

    A sequence of rows; ``to_records`` gives plain dicts and ``to_dataframe`` a pandas
    ``DataFrame`` (pandas is imported only then); in Jupyter it shows as an HTML table.
    """

    rows: tuple[ResultRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __iter__(self) -> Iterator[ResultRow]:
        return iter(self.rows)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per video: path, status, summary, subjects, species, tags, cost, model."""
        return [{"video": r.rel_path, "status": str(r.status), "summary": r.summary, "subjects": r.subjects,
                 "species": ", ".join(r.species), "tags": ", ".join(r.tags), "cost_usd": r.cost_usd,
                 "model": r.model} for r in self.rows]

    def to_dataframe(self) -> Any:
        """The rows as a pandas ``DataFrame`` (one row per video)."""
        import pandas as pd  # type: ignore[import-untyped]

        return pd.DataFrame(self.to_records())

    def to_csv(self) -> str:
        """The rows as the Results page's CSV download."""
        return rows_csv(self.rows)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(k)}</th>" for k in ("video", "status", "summary", "cost"))
        body = "".join(
            f"<tr><td>{html.escape(r.rel_path)}</td><td>{html.escape(str(r.status))}</td>"
            f"<td>{html.escape(r.summary)}</td><td>{html.escape(fmt.usd(r.cost_usd))}</td></tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Folder(WorkingFolder):
    """A folder of videos and everything GAIA does with it; ``client`` talks to the API (made from
    the environment on first paid use when ``None``).

    Every verb reads the folder's saved settings (``settings()``; change them with
    ``save_settings``) unless told otherwise, and reports long work through ``on_progress(done, total)``.
    """

    def __init__(self, path: Path | str, client: Any | None = None) -> None:
        super().__init__(path)
        self.client = client

    def api(self) -> Any:
        """The API client: the one given, or one made from the environment (``MissingApiKey`` without a key)."""
        if self.client is None:
            self.client = make_client()
        return self.client

    # --- media -----------------------------------------------------------------------------------

    def scan(self, *, on_progress: Progress | None = None) -> ScanResult:
        """The folder's videos (records, problems and notes), probed in process."""
        return scan_folder(self.path, on_progress=on_progress)

    def keyframes(self, *, extract: bool = True, on_progress: Progress | None = None) -> list[KeyframeSet]:
        """Each video's keyframes with the saved settings: extracted now, or (``extract=False``) only those cached."""
        s = self.settings()
        if not extract:
            return cached_keyframes(self.path, settings=s.keyframes, model=s.model)
        return extract_keyframes(self.path, settings=s.keyframes, model=s.model, on_progress=on_progress)

    # --- cost ------------------------------------------------------------------------------------

    def estimate(self, *, model: str | None = None, cache_ttl: str | None = None,
                 output_tokens: int | None = None, max_tokens: int | None = None) -> Estimate:
        """What analysing the folder's extracted keyframes would cost (point, range, scenarios, assumptions,
        warnings): ``gaia.estimate_folder``, the one estimate the pages and the CLI show, with the prompt
        counted exactly when this folder was given a client."""
        inp = load_run_inputs(self, model=model, cache_ttl=cache_ttl)
        return estimate_folder(inp, client=self.client, max_tokens=max_tokens, output_tokens_default=output_tokens)

    def spent(self) -> Spend:
        """What the folder has spent so far (every billed request, every kind)."""
        return folder_spend(self)

    # --- runs ------------------------------------------------------------------------------------

    def plan(self, settings: RunSettings | None = None, *, now: bool = False, force: bool = False,
             limit: int | None = None, extract: bool = False,
             on_progress: Progress | None = None) -> SubmissionPlan:
        """What would be sent (as a batch, or ``now``) and what is skipped and why; nothing is sent."""
        if now:
            return plan_run_now(self, settings, limit=limit, force=force, extract=extract, on_progress=on_progress)
        return plan_submission(self, settings, force=force, limit=limit, extract=extract,
                               client=self.client, on_progress=on_progress)

    def submit(self, plan: SubmissionPlan | None = None, *, max_cost_usd: float | None = None,
               dry_run_to: Path | None = None, on_progress: Progress | None = None) -> SubmitResult:
        """Send ``plan`` (a fresh one by default) as batches at half price; ``max_cost_usd`` caps it."""
        plan = plan if plan is not None else self.plan()
        client = None if dry_run_to is not None else self.api()
        return submit(self, plan, client, dry_run_to=dry_run_to, max_cost_usd=max_cost_usd, on_progress=on_progress)

    def run_now(self, plan: SubmissionPlan | None = None, *, max_cost_usd: float | None = None,
                concurrency: int = DEFAULT_CONCURRENCY, on_progress: Progress | None = None) -> OnlineResult:
        """Send ``plan`` (a fresh run-now plan by default) through the Messages API now, at standard prices."""
        plan = plan if plan is not None else self.plan(now=True)
        return run_now(self, plan, self.api(), concurrency=concurrency, max_cost_usd=max_cost_usd,
                       on_progress=on_progress)

    def trial(self, *, n: int = DEFAULT_TRIAL_VIDEOS, max_cost_usd: float | None = None,
              on_progress: Progress | None = None) -> TrialResult:
        """Try the saved prompt on ``n`` videos now, before sending the whole folder."""
        return run_trial(self.path, self.api(), n=n, max_cost_usd=max_cost_usd, on_progress=on_progress)

    def before_trial(self) -> TrialUndo:
        """Copy the sidecars aside before a trial, so its answers can be kept (``keep``) or discarded (``discard``)."""
        return before_trial(self)

    def status(self, *, refresh: bool = True) -> list[BatchStatus]:
        """The folder's batches, asked of the API first unless ``refresh`` is off."""
        return refresh_status(self.path, self.api()) if refresh else batch_statuses(self)

    def watch(self, *, poll_s: float = DEFAULT_POLL_S, max_polls: int | None = None,
              on_progress: Progress | None = None) -> RetrieveResult:
        """Wait for the folder's batches to end, retrieving their answers as each ends."""
        return watch(self, self.api(), poll_s=poll_s, max_polls=max_polls, on_progress=on_progress)

    def retrieve(self, *, batch_ids: Sequence[str] | None = None,
                 on_progress: Progress | None = None) -> RetrieveResult:
        """Write the answers of ended batches into sidecars (all, or ``batch_ids``)."""
        return retrieve(self, self.api(), batch_ids=batch_ids, on_progress=on_progress)

    def failures(self) -> list[FailedRequest]:
        """The requests that failed and have not been answered since."""
        return failures(self)

    def retry(self, *, request_ids: Sequence[int] | None = None, max_cost_usd: float | None = None,
              on_progress: Progress | None = None) -> SubmitResult:
        """Send the failed requests (all, or ``request_ids``) again in a new batch."""
        return retry_failed(self, self.api(), request_ids=request_ids, max_cost_usd=max_cost_usd,
                            on_progress=on_progress)

    def retry_now(self, *, request_ids: Sequence[int] | None = None, max_cost_usd: float | None = None,
                  concurrency: int = DEFAULT_CONCURRENCY, on_progress: Progress | None = None) -> list[OnlineResult]:
        """Send the failed requests (all, or ``request_ids``) again now, one run per original run."""
        return retry_now(self, self.api(), request_ids=request_ids, max_cost_usd=max_cost_usd,
                         concurrency=concurrency, on_progress=on_progress)

    # --- what came back --------------------------------------------------------------------------

    def results(self) -> Results:
        """One row per video: its answer (verified fields laid over), status, cost and model."""
        return Results(tuple(load_results(self.path)))

    def save_review(self, rel_path: str, values: Mapping[str, Any], *, note: str | None = None) -> Verified:
        """Save a person's confirmed or corrected ``values`` (field name → value) for one video as human-verified.

        Checked against the schema the answer was made with; ``LabelError`` lists what is wrong and
        nothing is saved then. Later runs never overwrite them.
        """
        video = self.video(rel_path)
        return save_verified(video, values, note=note, schema=profile_for(self, read_sidecar(video)).schema)

    def tune(self, *, n: int = DEFAULT_SAMPLE, models: Sequence[str] | None = None, budget_usd: float | None = None,
             dry_run: bool = False, on_progress: Progress | None = None) -> TuneResult:
        """Find the cheapest settings that still answer like the richest, on a sample of ``n`` videos."""
        return run_tune(self, client=None if dry_run else self.api(), n=n, models=models, budget_usd=budget_usd,
                        dry_run=dry_run, on_progress=on_progress)

    def export_xmp(self, rel_paths: Sequence[str] | None = None, *, naming: str | None = None) -> XmpResult:
        """Write an XMP sidecar beside each analysed video (all, or ``rel_paths``) for photo managers."""
        return write_xmp_for(self, rel_paths, naming=naming)

    def export_camtrap(self, out_dir: Path | str, *, title: str | None = None) -> CamtrapResult:
        """Write the results as a Camtrap DP data package in ``out_dir``."""
        return export_camtrap_dp(self, out_dir, title=title)

    export = export_xmp

    def _repr_html_(self) -> str:
        s = self.settings()
        rows = {"folder": str(self.path), "model": s.model, "frames per video": f"{s.keyframes.count} "
                f"({s.keyframes.strategy})", "prompt profile": s.prompt_profile,
                "spent": fmt.usd(self.spent().total_usd) if self.has_ledger else fmt.usd(0.0)}
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows.items())
        return f"<table>{body}</table>"
