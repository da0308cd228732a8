"""Sending a tune configuration on the sample: a sink over run now's engine, answers kept apart from the sidecars.

A tune asks the same videos several times with settings the user has not chosen yet, so its
answers must never become the folder's results. ``ApiTuneRunner`` plans the requests exactly as a
run would (``gaia.runs.recovery.plan_submission`` with ``force``: same prompt, schema, cached prefix
and frames) and sends them through the one sending engine (``gaia.runs.now.send_each``: the same
retry policy, adaptive concurrency and spend guard, ``gaia.runs.guard.SpendCap``, as run now), after the
guard's ``model_problem`` (a configuration whose model the key cannot use is not sent, and says why).
Only where the answers go differs: ``TuneSink`` validates each against the configuration's schema
(``gaia.api.answers.parse_answer``), prices its usage with the one pricing rule
(``gaia.runs.recorder.price_usage``) and writes it to ``.gaia/tune/<config-id>/<video>.json``. No
sidecar is read or written and no ledger request row is made, so no video looks analysed, no
failure shows up among the folder's failures to retry, and crash recovery never sees a tune
answer. What was spent is recorded in the ledger as one run of mode ``tune`` per configuration and
one ``tune_request`` event per billed answer (usage and cost). A stored answer for the same
configuration, prompt and frames is reused instead of paying for it again.

Every configuration is sent with its own ``metadata.user_id`` (``gaia-tune-<config-id>``): a field
the model never reads, so each configuration, and the reference's ``replicate`` (the reference asked
a second time, for the ceiling), is its own sample of the model's answers, even where its frames are
byte for byte another configuration's.

``TuneRunner`` is the seam: anything that, given a priced configuration and a spend cap, returns the
answers per video, their usage and what they cost. Tests hand ``run_tune`` a runner of their own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gaia.api.answers import AnswerChecker, parse_answer
from gaia.api.client import as_dict
from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.ledger import TUNE_MODE, EventKind, Ledger, RequestStatus
from gaia.pricing.models import usage_cost
from gaia.quality.ladder import PricedConfig
from gaia.runs.guard import SpendCap, model_problem
from gaia.runs.now import send_each
from gaia.runs.plan import PlannedRequest, SubmissionPlan
from gaia.runs.recorder import ErrorKind, RequestOutcome, price_usage
from gaia.runs.recovery import plan_submission
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings

TUNE_DIR = "tune"


@dataclass(frozen=True)
class TuneAnswers:
    """What sending one configuration gave: each video's answer (``None`` when it failed), each
    answer's measured usage, what it cost, and why some videos have no answer."""

    answers: dict[str, dict[str, Any] | None]
    spent_usd: float = 0.0
    problems: tuple[str, ...] = ()
    reused: int = 0
    stopped: str | None = None
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)


class TuneRunner(Protocol):
    """Sends one priced configuration on its sample keyframes, spending at most ``max_cost_usd``."""

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        """Answers per video (rel_path → analysis or ``None``) and what they cost."""
        ...


def tune_dir(folder: Folder, config_id: str) -> Path:
    """Where a configuration's tune answers are kept (``.gaia/tune/<config-id>/``)."""
    return folder.workdir / TUNE_DIR / config_id


def answer_path(folder: Folder, config_id: str, rel_path: str) -> Path:
    """The file holding one video's tune answer for one configuration."""
    return tune_dir(folder, config_id) / (rel_path.replace("/", "__") + ".json")


def _stored(folder: Folder, priced: PricedConfig, planned: PlannedRequest) -> dict[str, Any] | None:
    data = read_json(answer_path(folder, priced.config.id, planned.rel_path))
    if not isinstance(data, dict) or not isinstance(data.get("analysis"), dict):
        return None
    if data.get("prompt_hash") != priced.profile.hash or data.get("timestamps") != list(planned.timestamps):
        return None
    return data


def stored_answer(folder: Folder, priced: PricedConfig, planned: PlannedRequest) -> dict[str, Any] | None:
    """The stored answer for this configuration, prompt and very frames, if a tune already paid for it."""
    data = _stored(folder, priced, planned)
    return data["analysis"] if data else None


@dataclass
class _Handle:
    index: int
    planned: PlannedRequest


class TuneSink:
    """The tune's sink for ``send_each``: each answer checked, priced, and kept under ``.gaia/tune/``."""

    def __init__(self, folder: Folder, priced: PricedConfig, settings: RunSettings, ledger: Ledger,
                 run_id: str) -> None:
        self.folder, self.priced, self.settings, self.ledger, self.run_id = folder, priced, settings, ledger, run_id
        self.checker = AnswerChecker(priced.profile.schema)
        self.answers: dict[str, dict[str, Any] | None] = {}
        self.usage: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._n = 0

    def open(self, p: PlannedRequest, estimate_usd: float | None) -> _Handle:
        """A handle for one request (the tune makes no ledger row: its answers are not the folder's)."""
        with self._lock:
            self._n += 1
            return _Handle(self._n, p)

    def answered(self, handle: _Handle, message: Any) -> RequestOutcome:
        """Check the answer against the configuration's schema, price it, keep it, record the spend."""
        p = handle.planned
        data = as_dict(message) or {}
        usage = data.get("usage") or None
        cost = price_usage(usage, self.settings.model, batch=False) or 0.0
        analysis, problem = parse_answer(data, self.priced.profile.schema, validator=self.checker)
        atomic_write_json(answer_path(self.folder, self.priced.config.id, p.rel_path), {
            "rel_path": p.rel_path, "config": self.priced.config.to_dict(), "prompt_hash": self.priced.profile.hash,
            "timestamps": list(p.timestamps), "analysis": analysis, "problem": problem, "usage": usage,
            "cost_usd": cost, "message_id": data.get("id")})
        with self._lock:
            self.answers[p.rel_path] = analysis
            if usage:
                self.usage[p.rel_path] = usage
            if problem:
                self.problems.append(f"{p.rel_path}: {problem}")
            if usage is not None:
                self.ledger.record_event(EventKind.TUNE_REQUEST, json.dumps(
                    {"run_id": self.run_id, "config": self.priced.config.id, "rel_path": p.rel_path,
                     "model": self.settings.model, "usage": usage, "cost_usd": cost}))
        status = RequestStatus.SUCCEEDED if analysis is not None else RequestStatus.FAILED
        return RequestOutcome(handle.index, p.custom_id, p.rel_path, status,
                              None if analysis is not None else ErrorKind.INVALID_ANSWER, problem, cost)

    def failed(self, handle: _Handle, kind: str, reason: str) -> RequestOutcome:
        """No answer: the video scores as unanswered for this configuration."""
        p = handle.planned
        with self._lock:
            self.answers[p.rel_path] = None
            self.problems.append(f"{p.rel_path}: {reason}")
        return RequestOutcome(handle.index, p.custom_id, p.rel_path, RequestStatus.FAILED, kind, reason, 0.0)


class ApiTuneRunner:
    """The default runner: the Messages API through ``client`` and run now's engine, answers under ``.gaia/tune/``."""

    def __init__(self, folder: Folder | Path | str, client: Any, *, base: RunSettings | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, send_options: dict[str, Any] | None = None) -> None:
        self.folder = Folder.of(folder)
        self.client = client
        self.base = base or self.folder.settings()
        self.concurrency = max(1, int(concurrency))
        self.send_options = dict(send_options or {})  # sleep, rng, ... for tests

    def _plan(self, priced: PricedConfig, settings: RunSettings) -> SubmissionPlan:
        return plan_submission(self.folder.path, settings, force=True, profile=priced.profile,
                               keyframe_sets=list(priced.keyframe_sets))

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        """Plan, reuse stored answers, send the rest under the cap, keep every answer in the tune folder."""
        settings = priced.config.run_settings(self.base)
        plan = self._plan(priced, settings)
        problems = [f"{p.rel_path or 'run'}: {p.problem}" for p in plan.problems]
        answers: dict[str, dict[str, Any] | None] = {k.rel_path: None for k in priced.keyframe_sets}
        if plan.blocking_problems:
            return TuneAnswers(answers, problems=tuple(problems), stopped=problems[0] if problems else "blocked")
        usage: dict[str, dict[str, Any]] = {}
        to_send = []
        for p in plan.requests:
            known = _stored(self.folder, priced, p)
            if known is not None:
                answers[p.rel_path] = known["analysis"]
                if isinstance(known.get("usage"), dict):
                    usage[p.rel_path] = known["usage"]
            else:
                to_send.append(p)
        reused = len(plan.requests) - len(to_send)
        if not to_send:
            return TuneAnswers(answers, problems=tuple(problems), reused=reused, usage=usage)
        refused = model_problem(self.client, settings.model, batches=False)  # asked as every send asks it
        if refused is not None:
            return TuneAnswers(answers, problems=(*problems, refused), reused=reused, stopped=refused, usage=usage)
        per_request = (priced.tune_usd or 0.0) / max(1, priced.videos)
        extra = {"metadata": {"user_id": f"gaia-tune-{priced.config.id}"}}
        with self.folder.ledger() as ledger:
            run_id = ledger.new_run(mode=TUNE_MODE, model=settings.model, prompt_hash=priced.profile.hash,
                                    settings={**settings.to_dict(), "tune_config": priced.config.to_dict()},
                                    estimate_usd=per_request * len(to_send), note=priced.config.id)
            sink = TuneSink(self.folder, priced, settings, ledger, run_id)
            sent = send_each(plan, to_send, self.client, sink, cap=SpendCap(max_cost_usd, per_request),
                             concurrency=self.concurrency, extra_params=extra, **self.send_options)
        answers.update(sink.answers)
        usage.update(sink.usage)
        problems += sink.problems + list(sent.problems)
        problems += [f"{rel}: not sent, the spend cap would be passed." for rel in sent.not_sent] if sent.capped else []
        return TuneAnswers(answers, sent.spent_usd, tuple(problems), reused, sent.stopped, usage)


def as_run_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """One tune answer's usage as a run of the folder would be billed for it: the cached prefix read from
    the cache (a run writes it once for all its videos), whichever configuration happened to write it."""
    written = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    return {"input_tokens": int(usage.get("input_tokens") or 0), "output_tokens": int(usage.get("output_tokens") or 0),
            "cache_read_input_tokens": read + written, "cache_creation_input_tokens": 0}


def run_usd(usage: Mapping[str, Any], model: str) -> float:
    """One answer's measured usage priced as a run of the folder is sent: Batch API with caching (``as_run_usage``)."""
    return float(usage_cost(as_run_usage(usage), model, batch=True).total_usd)


def measured_usd_per_video(output: TuneAnswers | None, model: str) -> float | None:
    """The mean cost per answered video of a configuration's measured usage, priced as a run is sent
    (Batch API with caching, ``as_run_usage``); ``None`` when nothing was measured."""
    if output is None:
        return None
    costs = [run_usd(u, model) for rel, u in output.usage.items()
             if isinstance(u, Mapping) and output.answers.get(rel) is not None]
    return sum(costs) / len(costs) if costs else None
