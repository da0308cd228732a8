"""The top floor: ``gaia.Folder(path, client=None)``, whose verbs are the product's operations.

A script, a notebook, the CLI and the pages hold one object for a folder of videos and ask it to
``scan``, extract ``keyframes``, check for empty clips, ``estimate``, ``plan`` (and ask whether the key may use
its model: ``model_problem``), ``submit``, ``run_now``
(or in a ``cascade``), run a ``trial``, ``watch``, ``retrieve``, ``retry``, read ``results`` and
``spent``, ``tune`` and ``export_xmp``/``export_camtrap``. Each verb has typed parameters and a typed
result and delegates to the function that does the work (``gaia.media``, ``gaia.pricing``,
``gaia.runs``, ``gaia.quality``, ``gaia.exports``, ``gaia.views``): nothing is computed here but the
order in which a cascade's estimate asks for its parts.

This ``Folder`` is the ground-floor working-folder object (``gaia.folder.Folder``: ``.gaia/``,
settings, exclusions, prompt profiles, ledger, locks, sidecar paths) with the verbs added, so
every function that takes a folder takes it too. Only ``gaia/__init__.py`` imports this module;
the packages underneath never do, which keeps the import graph one-way.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gaia import format as fmt
from gaia.api.client import make_client
from gaia.exports.camtrap import CamtrapDeployment, CamtrapResult, export_camtrap_dp
from gaia.exports.xmp import XmpResult, write_xmp_for
from gaia.folder import LOCK_WATCH
from gaia.folder import Folder as WorkingFolder
from gaia.labels import Verified, save_verified
from gaia.media.empty import EmptyScore, empty_scores, likely_empty_reasons
from gaia.media.keyframes import KeyframeSet, cached_keyframes, extract_keyframes, thumbnails
from gaia.media.scan import ScanResult, VideoRecord, scan_folder
from gaia.pricing.bill import Spend, folder_spend
from gaia.pricing.estimate import Estimate, RunInputs, estimate_folder, load_run_inputs
from gaia.pricing.levers import (
    CascadeEstimate,
    EmptySaving,
    MissRate,
    ModelRow,
    cascade_estimate,
    compare_models,
    empty_saving,
    folder_estimator,
    measured_misses,
)
from gaia.pricing.output import MaxTokensAdvice, max_tokens_advice
from gaia.pricing.tokens import PromptTokens, folder_prompt_tokens
from gaia.prompts import PromptProfile
from gaia.quality.sample import DEFAULT_SAMPLE
from gaia.quality.tune import (
    DEFAULT_TOLERANCE,
    Labels,
    TuneConfig,
    TuneResult,
    adopt_config,
    quality_for,
    run_tune,
    stored_quality,
)
from gaia.runs.batch import SubmitResult, submit, write_dry_run
from gaia.runs.cascade import (
    CascadeStep,
    cascade_states,
    cascaded,
    cheap_settings,
    first_pass_marker,
    plan_first_pass,
)
from gaia.runs.checkpoints import NO_CHECKPOINTS, Checkpoints
from gaia.runs.failures import FailedRequest, failures, plan_retry, retry_failed, retry_now
from gaia.runs.guard import send_model_problem
from gaia.runs.levers import CascadeResult, cascade_spent, escalation_share, run_cascade
from gaia.runs.now import OnlineResult, run_now
from gaia.runs.plan import SubmissionPlan
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.retrieve import DEFAULT_POLL_S, RetrieveResult, retrieve, watch
from gaia.runs.status import BatchStatus, batch_statuses, cancel_batch, refresh_status
from gaia.runs.trial import DEFAULT_TRIAL_VIDEOS, TrialResult, TrialUndo, before_trial, run_trial
from gaia.settings import DEFAULT_CONCURRENCY, KeyframeSettings, RunSettings, Selection
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
    ``checkpoints`` (on the verbs that record a send) is for crash tests; leave it out.
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
        """The folder's videos (records, problems and notes), probed in process; each record says whether
        its sidecar answers the saved settings (``sidecar_state``)."""
        return scan_folder(self.path, fingerprint=self.fingerprint(), on_progress=on_progress)

    def thumbnails(self, records: Sequence[VideoRecord], *,
                   on_progress: Progress | None = None) -> dict[str, Path | None]:
        """One small picture per video (relative path → JPEG, ``None`` when none could be made), cached."""
        return thumbnails(self.path, records, on_progress=on_progress)

    def keyframes(self, *, extract: bool = True, settings: KeyframeSettings | None = None, model: str | None = None,
                  records: Sequence[VideoRecord] | None = None, timeout_s: float | None = None,
                  on_progress: Progress | None = None) -> list[KeyframeSet]:
        """Each video's keyframes (with the saved settings unless given ``settings`` and ``model``; of
        ``records``, a scan's, when given): extracted now, or (``extract=False``) only those cached."""
        s = self.settings()
        kf, model = settings or s.keyframes, model or s.model
        if not extract:
            return cached_keyframes(self.path, settings=kf, model=model, records=records)
        return extract_keyframes(self.path, settings=kf, model=model, records=records, on_progress=on_progress,
                                 timeout_s=timeout_s)

    def empty_scores(self, records: Sequence[VideoRecord], *, measure_missing: bool = True,
                     on_progress: Progress | None = None) -> dict[str, EmptyScore]:
        """How likely each video is empty (relative path → score and reason): measured now unless
        ``measure_missing`` is off (then only the cached scores)."""
        return empty_scores(self.path, records, measure_missing=measure_missing, on_progress=on_progress)

    def likely_empty(self, *, threshold: float | None = None, on_progress: Progress | None = None) -> dict[str, str]:
        """The videos likely empty at ``threshold`` (default: the saved one), relative path → reason in words."""
        t = self.settings().empty_threshold if threshold is None else threshold
        return likely_empty_reasons(self.path, threshold=t, on_progress=on_progress)

    def measured_misses(self) -> MissRate | None:
        """The last measured share of likely-empty clips that had a subject (``None`` when never measured)."""
        return measured_misses(self)

    def measure_misses(self, *, sample: int, settings: RunSettings | None = None, max_cost_usd: float | None = None,
                       on_progress: Progress | None = None) -> tuple[MissRate, OnlineResult | None]:
        """Send a spread ``sample`` of the likely-empty clips now and count those whose answer had a subject."""
        from gaia.runs.levers import measure_misses

        return measure_misses(self, self.api(), sample=sample, settings=settings, max_cost_usd=max_cost_usd,
                              on_progress=on_progress)

    # --- cost ------------------------------------------------------------------------------------

    def inputs(self, *, model: str | None = None, cache_ttl: str | None = None,
               records: Sequence[VideoRecord] | None = None) -> RunInputs:
        """What an estimate reads from the folder: settings, keyframes (with exclusions), prompt profile, history."""
        return load_run_inputs(self, model=model, cache_ttl=cache_ttl, records=records)

    def prompt_tokens(self, profile: PromptProfile, model: str) -> PromptTokens:
        """The count of ``profile``'s prompt on ``model``: exact with this folder's client (and kept), else the
        exact count kept from earlier, else the approximation (``exact`` says which)."""
        return folder_prompt_tokens(self, profile, model, client=self.client)

    def estimate(self, *, model: str | None = None, cache_ttl: str | None = None, inputs: RunInputs | None = None,
                 text_tokens: PromptTokens | None = None, output_tokens: int | None = None,
                 max_tokens: int | None = None) -> Estimate:
        """What analysing the folder's extracted keyframes would cost (point, range, scenarios, assumptions,
        warnings): the one estimate the pages and the CLI show, with the prompt counted exactly when this
        folder was given a client. ``inputs`` (from ``inputs()``) and ``text_tokens`` save reading them again."""
        inp = inputs if inputs is not None else self.inputs(model=model, cache_ttl=cache_ttl)
        return estimate_folder(inp, client=self.client, max_tokens=max_tokens, output_tokens_default=output_tokens,
                               text_tokens=text_tokens)

    def compare_models(self, inputs: RunInputs | None = None, *, selection: Selection | None = None,
                       output_tokens: int | None = None, max_tokens: int | None = None) -> list[ModelRow]:
        """The folder's next run priced on every model (cheapest first), on what ``estimate`` prices: the same
        videos (analysed ones left out, ``selection`` or the saved one), answer limit (default: the folder's),
        assumed answer length and prompt count, so the folder's own model's row is the estimate's figure."""
        inp = inputs if inputs is not None else self.inputs()
        return compare_models(inp.sets, profile=inp.profile, reference_model=inp.model, cache_ttl=inp.cache_ttl,
                              selection=inp.selection if selection is None else selection, history=inp.history,
                              output_tokens_default=output_tokens, client=self.client,
                              max_tokens=max_tokens or inp.settings.max_tokens, done=inp.done,
                              source_sizes=inp.source_sizes,
                              prompt_tokens_for=lambda model: self.prompt_tokens(inp.profile, model))

    def estimator(self, inputs: RunInputs | None = None, *, text_tokens: PromptTokens | None = None,
                  output_tokens: int | None = None, max_tokens: int | None = None) -> Callable[[Selection], Estimate]:
        """The folder's one estimate (``estimate``, the prompt counted once) as a function of the selection:
        what it costs with any set of videos and frames left out."""
        return folder_estimator(inputs if inputs is not None else self.inputs(), text_tokens=text_tokens,
                                output_tokens_default=output_tokens, client=self.client, max_tokens=max_tokens)

    def empty_saving(self, likely_empty: Collection[str], *, inputs: RunInputs | None = None,
                     estimator: Callable[[Selection], Estimate] | None = None) -> EmptySaving:
        """What leaving out ``likely_empty`` saves on the run priced by ``estimator`` (default: ``estimator(inputs)``);
        clips already excluded count neither way."""
        selection = inputs.selection if inputs is not None else self.selection()
        return empty_saving(estimator or self.estimator(inputs), selection, likely_empty)

    def cascade_estimate(self, cheap_model: str, cheap_preset: str, *, inputs: RunInputs | None = None,
                         selection: Selection | None = None, output_tokens: int | None = None,
                         on_progress: Progress | None = None,
                         on_second_progress: Progress | None = None) -> CascadeEstimate:
        """What a cascade would cost for the videos still to send (of ``selection``, default the saved one):
        the cheap configuration's estimate (its keyframes extracted when missing, ``on_progress``) and the
        strong one's for the same videos (``on_second_progress``), with the share expected to escalate; and
        what the cascade already cost (a pilot), so the whole cascade is the two together."""
        inp = inputs if inputs is not None else self.inputs()
        cheap = cheap_settings(inp.settings, cheap_model, cheap_preset)
        sel = (selection if selection is not None else inp.selection).without(cascaded(self, cheap_model))
        sets = self.keyframes(settings=cheap.keyframes, model=cheap.model, on_progress=on_progress)
        inp_c = replace(self.inputs(model=cheap.model), sets=tuple(sets), settings=cheap)
        first = self.estimator(inp_c, output_tokens=output_tokens)(sel)
        # The strong configuration priced for every video the cascade may escalate: their frames too.
        strong_sets = self.keyframes(settings=inp.settings.keyframes, model=inp.model, on_progress=on_second_progress)
        strong = self.estimator(replace(inp, sets=tuple(strong_sets)), output_tokens=output_tokens)(sel)
        share = escalation_share(self, cheap_model, cheap_preset, remaining=first.videos)
        spent, spent_videos = cascade_spent(self, cheap_model, cheap_preset)  # its pilot, as gaia spent counts it
        return cascade_estimate(first, strong, share=share.point, share_low=share.low, share_high=share.high,
                                share_source=share.source, spent_usd=spent, spent_videos=spent_videos)

    def max_tokens_advice(self, prompt_hash: str, model: str, current: int) -> MaxTokensAdvice:
        """Whether the answer length limit ``current`` fits the answers this prompt and model gave so far."""
        return max_tokens_advice(self, prompt_hash, model, current)

    def spent(self) -> Spend:
        """What the folder has spent so far (every billed request, every kind)."""
        return folder_spend(self)

    # --- runs ------------------------------------------------------------------------------------

    def plan(self, settings: RunSettings | None = None, *, force: bool = False, limit: int | None = None,
             extract: bool = False, image_source: str = "base64", likely_empty: Mapping[str, str] | None = None,
             on_progress: Progress | None = None) -> SubmissionPlan:
        """What a batch submission would send and what is skipped and why; nothing is sent."""
        return plan_submission(self, settings, force=force, limit=limit, extract=extract, image_source=image_source,
                               client=self.client, likely_empty=likely_empty, on_progress=on_progress)

    def plan_now(self, settings: RunSettings | None = None, *, force: bool = False, limit: int | None = None,
                 extract: bool = False, image_source: str = "base64", likely_empty: Mapping[str, str] | None = None,
                 on_progress: Progress | None = None, like: SubmissionPlan | None = None) -> SubmissionPlan:
        """What a run now would send (the same requests as a batch) and what is skipped and why; nothing is sent.
        ``like``: this folder's batch plan (``plan``) for the same state, settings and ``force``, whose requests,
        batches and estimate are then shared instead of planned again."""
        return plan_run_now(self, settings, limit=limit, force=force, extract=extract, image_source=image_source,
                            likely_empty=likely_empty, on_progress=on_progress, like=like)

    def plan_cascade(self, cheap_model: str, cheap_preset: str, settings: RunSettings | None = None, *,
                     limit: int | None = None, likely_empty: Mapping[str, str] | None = None,
                     on_progress: Progress | None = None) -> SubmissionPlan:
        """A batch cascade's first pass: every video not yet through a cascade with ``cheap_model``, with the
        cheap model at ``cheap_preset`` (its keyframes extracted when missing). Once ``submit`` sends it, each
        retrieval of its results sends the uncertain answers again with ``settings`` (default: the saved ones)."""
        return plan_first_pass(self, settings or self.settings(), cheap_model, cheap_preset, client=self.client,
                               limit=limit, likely_empty=likely_empty, on_progress=on_progress)

    def model_problem(self, send: SubmissionPlan | RunSettings, *, batches: bool,
                      cascade: tuple[str, str] | None = None) -> str | None:
        """Why the API will not take what a send commits to from this folder's key: ``send``'s model (a plan's, or
        the settings a run will send with) and, for a cascade's first pass (a plan of one, or ``cascade``
        ``(cheap_model, preset)`` before the settings), the model its second pass uses; ``batches`` for Message
        Batches, else the Messages API now. The very check ``submit``, ``run_now`` and ``cascade`` make as they
        send (``gaia.runs.guard.send_model_problem``), for a command to say before it asks the user to agree; the
        yes it hears serves that send's own check. ``None`` when the key may, or the endpoint cannot be reached."""
        if isinstance(send, SubmissionPlan):
            model, marker = send.model, send.cascade_pass
        elif cascade is not None:
            model, marker = cascade[0], first_pass_marker(send, *cascade, None)
        else:
            model, marker = send.model, None
        return send_model_problem(self.api(), model, marker, batches=batches, remember=True)

    def cascades(self) -> tuple[CascadeStep, ...]:
        """Where the folder's latest batch cascades stand (first pass in flight, escalated, second pass sent)."""
        return cascade_states(self)

    def submit(self, plan: SubmissionPlan | None = None, *, max_cost_usd: float | None = None,
               dry_run_to: Path | str | None = None, checkpoints: Checkpoints | None = None,
               on_progress: Progress | None = None) -> SubmitResult:
        """Send ``plan`` (a fresh one by default) as batches at half price; ``max_cost_usd`` caps it;
        ``dry_run_to`` writes the requests to that file instead and sends nothing."""
        plan = plan if plan is not None else self.plan()
        dry = Path(dry_run_to) if dry_run_to is not None else None
        client = None if dry is not None else self.api()
        return submit(self, plan, client, dry_run_to=dry, max_cost_usd=max_cost_usd, on_progress=on_progress,
                      checkpoints=checkpoints or NO_CHECKPOINTS)

    def write_dry_run(self, plan: SubmissionPlan, path: Path | str, *, on_progress: Progress | None = None) -> int:
        """Write every request of ``plan`` as JSONL to ``path`` (nothing is sent); the number written."""
        return write_dry_run(plan, Path(path), on_progress=on_progress)

    def run_now(self, plan: SubmissionPlan | None = None, *, max_cost_usd: float | None = None,
                concurrency: int = DEFAULT_CONCURRENCY, stop: threading.Event | None = None,
                checkpoints: Checkpoints | None = None, on_progress: Progress | None = None) -> OnlineResult:
        """Send ``plan`` (a fresh run-now plan by default) through the Messages API now, at standard prices;
        setting ``stop`` lets the requests in flight finish and sends no more."""
        plan = plan if plan is not None else self.plan_now()
        return run_now(self, plan, self.api(), concurrency=concurrency, max_cost_usd=max_cost_usd, stop=stop,
                       checkpoints=checkpoints or NO_CHECKPOINTS, on_progress=on_progress)

    def cascade(self, cheap_model: str, cheap_preset: str, *, settings: RunSettings | None = None,
                limit: int | None = None, concurrency: int = DEFAULT_CONCURRENCY, max_cost_usd: float | None = None,
                likely_empty: Mapping[str, str] | None = None, on_progress: Progress | None = None,
                on_pass: Callable[[int, int, str], None] | None = None,
                checkpoints: Checkpoints | None = None) -> CascadeResult:
        """Run now in two passes: every video with ``cheap_model`` at ``cheap_preset``, then only the uncertain
        answers again with the folder's settings (and those of earlier run-now cascades still waiting for their
        second pass); ``on_pass(n, videos, model)`` says each pass as it starts."""
        return run_cascade(self, self.api(), cheap_model, cheap_preset, settings=settings, limit=limit,
                           concurrency=concurrency, max_cost_usd=max_cost_usd, likely_empty=likely_empty,
                           on_progress=on_progress, on_pass=on_pass, checkpoints=checkpoints or NO_CHECKPOINTS)

    def trial(self, *, n: int = DEFAULT_TRIAL_VIDEOS, profile: PromptProfile | None = None,
              max_cost_usd: float | None = None, on_progress: Progress | None = None) -> TrialResult:
        """Try the saved prompt (or ``profile``) on ``n`` videos now, before sending the whole folder."""
        return run_trial(self.path, self.api(), n=n, profile=profile, max_cost_usd=max_cost_usd,
                         on_progress=on_progress)

    def before_trial(self) -> TrialUndo:
        """Copy the sidecars aside before a trial, so its answers can be kept (``keep``) or discarded (``discard``)."""
        return before_trial(self)

    def status(self, *, refresh: bool = True) -> list[BatchStatus]:
        """The folder's batches, asked of the API first unless ``refresh`` is off."""
        return refresh_status(self.path, self.api()) if refresh else batch_statuses(self)

    def cancel(self, batch_id: str) -> BatchStatus:
        """Ask the API to cancel one of the folder's batches (requests already processed keep their results)."""
        return cancel_batch(self.path, self.api(), batch_id)

    def watch(self, *, poll_s: float = DEFAULT_POLL_S, max_polls: int | None = None,
              on_status: Callable[[list[BatchStatus]], None] | None = None, checkpoints: Checkpoints | None = None,
              on_progress: Progress | None = None) -> RetrieveResult:
        """Wait for the folder's batches to end, retrieving their answers as each ends; ``on_status`` hears
        every poll."""
        return watch(self, self.api(), poll_s=poll_s, max_polls=max_polls, on_status=on_status,
                     checkpoints=checkpoints or NO_CHECKPOINTS, on_progress=on_progress)

    def watching(self) -> AbstractContextManager[None]:
        """Hold the folder's watch lock (one watcher at a time); ``FolderBusy`` while another holds it."""
        return self.lock(LOCK_WATCH, what="watching")

    def retrieve(self, *, batch_ids: Sequence[str] | None = None, checkpoints: Checkpoints | None = None,
                 on_progress: Progress | None = None) -> RetrieveResult:
        """Write the answers of ended batches into sidecars (all, or ``batch_ids``)."""
        return retrieve(self, self.api(), batch_ids=batch_ids, checkpoints=checkpoints or NO_CHECKPOINTS,
                        on_progress=on_progress)

    def failures(self) -> list[FailedRequest]:
        """The requests that failed and have not been answered since."""
        return failures(self)

    def plan_retry(self, *, request_ids: Sequence[int] | None = None,
                   max_tokens: int | None = None) -> list[SubmissionPlan]:
        """What ``retry`` would send (one plan per original run); nothing is sent."""
        return plan_retry(self, request_ids=request_ids, max_tokens=max_tokens)

    def retry(self, *, request_ids: Sequence[int] | None = None, max_cost_usd: float | None = None,
              max_tokens: int | None = None, dry_run_to: Path | str | None = None,
              checkpoints: Checkpoints | None = None, on_progress: Progress | None = None) -> SubmitResult:
        """Send the failed requests (all, or ``request_ids``) again in a new batch."""
        dry = Path(dry_run_to) if dry_run_to is not None else None
        return retry_failed(self, None if dry is not None else self.api(), request_ids=request_ids, dry_run_to=dry,
                            max_cost_usd=max_cost_usd, max_tokens=max_tokens,
                            checkpoints=checkpoints or NO_CHECKPOINTS, on_progress=on_progress)

    def retry_now(self, *, request_ids: Sequence[int] | None = None, max_cost_usd: float | None = None,
                  concurrency: int = DEFAULT_CONCURRENCY, max_tokens: int | None = None,
                  checkpoints: Checkpoints | None = None, on_progress: Progress | None = None) -> list[OnlineResult]:
        """Send the failed requests (all, or ``request_ids``) again now, one run per original run."""
        return retry_now(self, self.api(), request_ids=request_ids, max_cost_usd=max_cost_usd,
                         concurrency=concurrency, max_tokens=max_tokens, checkpoints=checkpoints or NO_CHECKPOINTS,
                         on_progress=on_progress)

    # --- what came back --------------------------------------------------------------------------

    def results(self) -> Results:
        """One row per video: its answer (verified fields laid over), status, cost and model."""
        return Results(tuple(load_results(self.path)))

    def answer(self, rel_path: str) -> dict[str, Any] | None:
        """The sidecar of one video as a dict (``None`` without one); ``SidecarError`` when it is not valid JSON."""
        return read_sidecar(self.video(rel_path))

    def save_review(self, rel_path: str, values: Mapping[str, Any], *, note: str | None = None) -> Verified:
        """Save a person's confirmed or corrected ``values`` (field name → value) for one video as human-verified.

        Checked against the schema the answer was made with; ``LabelError`` lists what is wrong and
        nothing is saved then. Later runs never overwrite them.
        """
        video = self.video(rel_path)
        return save_verified(video, values, note=note, schema=profile_for(self, read_sidecar(video)).schema)

    # --- tuning ----------------------------------------------------------------------------------

    def tune(self, *, n: int = DEFAULT_SAMPLE, videos: Sequence[str] | None = None, models: Sequence[str] | None = None,
             budget_usd: float | None = None, tolerance: float = DEFAULT_TOLERANCE,
             cascades: Sequence[str] | None = None, empty_sample: int = 0, labels: Labels | None = None,
             simulated: bool | None = None, dry_run: bool = False, on_progress: Progress | None = None,
             on_pricing: Progress | None = None) -> TuneResult:
        """Find the cheapest settings that still answer like the richest, on a sample of ``n`` videos
        (or on ``videos``; ``dry_run``: priced only, nothing sent). ``cascades`` (``"MODEL:PRESET"`` each;
        ``None``: the default one, ``[]``: none) are weighed as configurations too; ``empty_sample``
        likely-empty clips are also sent to measure the miss rate. ``labels`` (relative path → verified
        fields) score against people's answers; ``simulated`` says the answers come from the emulator."""
        return run_tune(self, client=None if dry_run else self.api(), n=n, videos=videos, models=models,
                        budget_usd=budget_usd, tolerance=tolerance, cascades=cascades, empty_sample=empty_sample,
                        labels=labels, simulated=simulated, dry_run=dry_run, on_progress=on_progress,
                        on_pricing=on_pricing)

    def stored_tune(self, prompt_hash: str | None = None) -> dict[str, Any] | None:
        """The stored tune of the current prompt profile (or of ``prompt_hash``), if any."""
        return stored_quality(self, prompt_hash)

    def quality(self, settings: RunSettings | None = None) -> dict[str, Any] | None:
        """The tune's stored score of ``settings`` (default: the saved ones), ``None`` when never tuned."""
        return quality_for(self, settings)

    def adopt(self, config: TuneConfig | Mapping[str, Any]) -> RunSettings:
        """Make a tune's configuration the folder's run settings; returns the saved settings."""
        return adopt_config(self, config)

    # --- export ----------------------------------------------------------------------------------

    def export_xmp(self, rel_paths: Sequence[str] | None = None, *, naming: str | None = None,
                   embed: bool = False) -> XmpResult:
        """Write an XMP sidecar beside each analysed video (all, or ``rel_paths``) for photo managers;
        ``embed`` also writes it into each MP4/MOV video (with exiftool)."""
        return write_xmp_for(self, rel_paths, naming=naming, embed=embed)

    def export_camtrap(self, out_dir: Path | str, *, deployment: CamtrapDeployment | None = None,
                       title: str | None = None) -> CamtrapResult:
        """Write the results as a Camtrap DP data package in ``out_dir`` (every video at ``deployment``'s place)."""
        return export_camtrap_dp(self, out_dir, default=deployment, title=title)


    def _repr_html_(self) -> str:
        s = self.settings()
        rows = {"folder": str(self.path), "model": s.model, "frames per video": f"{s.keyframes.count} "
                f"({s.keyframes.strategy})", "prompt profile": s.prompt_profile,
                "spent": fmt.usd(self.spent().total_usd) if self.has_ledger else fmt.usd(0.0)}
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows.items())
        return f"<table>{body}</table>"
