"""Sending a tune configuration on the sample, with its answers kept apart from the folder's sidecars.

A tune asks the same videos several times with settings the user has not chosen yet, so its
answers must never become the folder's results: ``ApiTuneRunner`` plans the requests exactly as a run
would (``gaia.runs.batch.plan_submission`` with ``force``: same prompt, schema, cached prefix and
frames), sends them through the Messages API now, validates each answer against the
configuration's schema (``gaia.api.requests.parse_answer``), prices its usage at standard rates
(``gaia.pricing.usage.usage_cost``) and writes it to ``.gaia/tune/<config-id>/<video>.json``. No
sidecar is read or written and no ledger request row is made, so no video looks analysed, no
failure shows up among the folder's failures to retry, and crash recovery never sees a tune
answer. What was spent is recorded in the ledger as one run of mode ``tune`` per configuration and
one ``tune_request`` event per billed answer (usage and cost). A stored answer for the same
configuration, prompt and frames is reused instead of paying for it again.

``TuneRunner`` is the seam: anything that, given a priced configuration and a spend cap, returns the
answers per video and what they cost. Tests hand ``run_tune`` a runner of their own.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gaia.api.answers import AnswerChecker, parse_answer
from gaia.api.client import describe_error
from gaia.api.requests import build_request_for
from gaia.api.retry import DEFAULT_RETRY, ErrorClass, classify
from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.ledger import EventKind
from gaia.pricing.usage import usage_cost
from gaia.quality.ladder import PricedConfig
from gaia.runs.plan import PlannedRequest
from gaia.runs.recovery import plan_submission
from gaia.settings import DEFAULT_CONCURRENCY, RunSettings

TUNE_DIR = "tune"
TUNE_MODE = "tune"


@dataclass(frozen=True)
class TuneAnswers:
    """What sending one configuration gave: each video's answer (``None`` when it failed), what it
    cost, and why some videos have no answer."""

    answers: dict[str, dict[str, Any] | None]
    spent_usd: float = 0.0
    problems: tuple[str, ...] = ()
    reused: int = 0
    stopped: str | None = None


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


def stored_answer(folder: Folder, priced: PricedConfig, planned: PlannedRequest) -> dict[str, Any] | None:
    """The stored answer for this configuration, prompt and very frames, if a tune already paid for it."""
    data = read_json(answer_path(folder, priced.config.id, planned.rel_path))
    if not isinstance(data, dict) or not isinstance(data.get("analysis"), dict):
        return None
    if data.get("prompt_hash") != priced.profile.hash or data.get("timestamps") != list(planned.timestamps):
        return None
    return data["analysis"]


@dataclass
class _Spend:
    cap: float | None
    per_request: float
    spent: float = 0.0
    reserved: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self) -> bool:
        with self.lock:
            if self.cap is not None and self.spent + self.reserved + self.per_request > self.cap + 1e-12:
                return False
            self.reserved += self.per_request
            return True

    def settle(self, cost: float) -> None:
        with self.lock:
            self.reserved = max(0.0, self.reserved - self.per_request)
            self.spent += cost


class ApiTuneRunner:
    """The default runner: the Messages API through ``client``, answers under ``.gaia/tune/``."""

    def __init__(self, folder: Folder | Path | str, client: Any, *, base: RunSettings | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, sleep: Callable[[float], None] = time.sleep) -> None:
        self.folder = Folder.of(folder)
        self.client = client
        self.base = base or self.folder.settings()
        self.concurrency = max(1, int(concurrency))
        self.sleep = sleep

    def __call__(self, priced: PricedConfig, *, max_cost_usd: float | None) -> TuneAnswers:
        """Plan, reuse stored answers, send the rest under the cap, keep every answer in the tune folder."""
        settings = priced.config.run_settings(self.base)
        plan = plan_submission(self.folder.path, settings, force=True, profile=priced.profile,
                               keyframe_sets=list(priced.keyframe_sets))
        problems = [f"{p.rel_path or 'run'}: {p.problem}" for p in plan.problems]
        if plan.blocking_problems:
            return TuneAnswers({k.rel_path: None for k in priced.keyframe_sets}, problems=tuple(problems),
                             stopped=problems[0] if problems else "blocked")
        answers: dict[str, dict[str, Any] | None] = {k.rel_path: None for k in priced.keyframe_sets}
        to_send = []
        for p in plan.requests:
            known = stored_answer(self.folder, priced, p)
            if known is not None:
                answers[p.rel_path] = known
            else:
                to_send.append(p)
        reused = len(plan.requests) - len(to_send)
        if not to_send:
            return TuneAnswers(answers, problems=tuple(problems), reused=reused)
        per_request = (priced.tune_usd or 0.0) / max(1, priced.videos)
        spend = _Spend(max_cost_usd, per_request)
        checker = AnswerChecker(priced.profile.schema)
        with self.folder.ledger() as ledger:
            run_id = ledger.new_run(mode=TUNE_MODE, model=settings.model, prompt_hash=priced.profile.hash,
                                    settings={**settings.to_dict(), "tune_config": priced.config.to_dict()},
                                    estimate_usd=per_request * len(to_send), note=priced.config.id)
            lock = threading.Lock()

            def one(p: PlannedRequest) -> None:
                if not spend.reserve():
                    with lock:
                        problems.append(f"{p.rel_path}: not sent, the spend cap would be passed.")
                    return
                analysis, cost, problem, usage = self._ask(priced, settings, p, checker)
                spend.settle(cost)
                with lock:
                    answers[p.rel_path] = analysis
                    if problem:
                        problems.append(f"{p.rel_path}: {problem}")
                    if usage is not None:
                        ledger.record_event(EventKind.TUNE_REQUEST, json.dumps(
                            {"run_id": run_id, "config": priced.config.id, "rel_path": p.rel_path,
                             "model": settings.model, "usage": usage, "cost_usd": cost}))

            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(to_send))) as pool:
                list(pool.map(one, to_send))
        stopped = next((p for p in problems if "spend cap" in p), None)
        return TuneAnswers(answers, spend.spent, tuple(problems), reused, stopped)

    def _ask(self, priced: PricedConfig, settings: RunSettings, p: PlannedRequest, checker: AnswerChecker
             ) -> tuple[dict[str, Any] | None, float, str | None, dict[str, Any] | None]:
        """Send one request (retrying what the retry policy allows); (analysis, cost, problem, usage)."""
        import anthropic

        params = build_request_for(p.rel_path, p.frames, priced.profile, model=settings.model,
                                   cache_ttl=settings.cache_ttl, max_tokens=settings.max_tokens)["params"]
        rng = random.Random(p.rel_path)
        attempt = 0
        while True:
            try:
                message = self.client.messages.create(**params)
                break
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                attempt += 1
                if classify(exc) in (ErrorClass.FATAL, ErrorClass.REJECTED) or DEFAULT_RETRY.gives_up(exc, attempt):
                    return None, 0.0, describe_error(exc), None
                self.sleep(DEFAULT_RETRY.wait_s(exc, attempt, rng))
        data = message if isinstance(message, Mapping) else message.model_dump(mode="json")
        usage = data.get("usage") or None
        cost = float(usage_cost(usage, settings.model, batch=False).total_usd) if usage else 0.0
        analysis, problem = parse_answer(data, priced.profile.schema, validator=checker)
        atomic_write_json(answer_path(self.folder, priced.config.id, p.rel_path), {
            "rel_path": p.rel_path, "config": priced.config.to_dict(), "prompt_hash": priced.profile.hash,
            "timestamps": list(p.timestamps), "analysis": analysis, "problem": problem, "usage": usage,
            "cost_usd": cost, "message_id": data.get("id")})
        return analysis, cost, problem, usage
