"""The emulator's API logic, independent of HTTP: batches, results, messages, tokens, models.

``Emulator`` owns the configuration, the durable ``Store`` and the prompt cache. Batches end
lazily: whenever a call looks at a batch whose end time has passed, every request is processed
then (in submission order, so the first ones write the cache and later ones read it), the results
are written to ``results.jsonl`` in a shuffled order and the record is updated. Per-request draws
(forced outcomes, cache hits, answer shaping) come from ``random.Random`` seeded with the config's
``seed``, the batch's sequence number and the request's index, so a run is reproducible.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import secrets
import string
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gaia.emulator.answers import answer_text, frame_facts, request_seed, schema_instance, thinking_text
from gaia.emulator.config import EmulatorConfig, HttpFault
from gaia.emulator.errors import ApiError, invalid, new_request_id, not_found
from gaia.emulator.state import CacheStore, FileStore, Store
from gaia.emulator.tokens import RequestAnalysis, analyse_request, approx_text_tokens, truncate_to_tokens
from gaia.emulator.validate import (
    check_batch_body,
    check_count_tokens_body,
    check_params,
    check_params_shape,
    is_5x,
    max_output_tokens,
    resolve_model,
)
from gaia.facts import BATCH_EXPIRY_HOURS, RESULTS_RETENTION_DAYS, ModelFacts, catalogue

log = logging.getLogger(__name__)
_ALPHABET = string.ascii_letters + string.digits
OUTCOMES = ("processing", "succeeded", "errored", "canceled", "expired")


def new_id(prefix: str) -> str:
    """A random id like the API's (``msgbatch_…``, ``msg_…``)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def iso(ts: float | None) -> str | None:
    """An ISO 8601 UTC timestamp with ``Z``, or ``None``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Emulator:
    """The state and behaviour behind every endpoint."""

    def __init__(self, state_dir: Path, config: EmulatorConfig) -> None:
        self.state_dir = Path(state_dir)
        self.store = Store(self.state_dir)
        self.cache = CacheStore(self.state_dir / "cache.json")
        self.files = FileStore(self.state_dir / "files")
        self.config = config
        self.base_url = ""
        self._lock = threading.RLock()
        self._faults = [copy.copy(f) for f in config.http_faults]
        self.calls: dict[str, int] = {}

    # --- configuration and faults ----------------------------------------------------------------
    def now(self) -> float:
        """The emulator's clock (wall time plus ``clock_offset_s``)."""
        return time.time() + self.config.clock_offset_s

    def update_config(self, **changes: Any) -> EmulatorConfig:
        """Apply config changes at runtime; new ``http_faults`` replace the remaining ones."""
        with self._lock:
            self.config = self.config.replace(**changes)
            if "http_faults" in changes:
                self._faults = [copy.copy(f) for f in self.config.http_faults]
            return self.config

    def take_fault(self, route: str) -> ApiError | None:
        """Count a call of ``route``; return the injected error for it, consuming one use of its rule."""
        with self._lock:
            self.calls[route] = self.calls.get(route, 0) + 1
            for rule in self._faults:
                if rule.matches(route) and (rule.count is None or rule.count > 0):
                    if rule.count is not None:
                        rule.count -= 1
                    return _fault_error(rule)
        return None

    # --- batches -----------------------------------------------------------------------------------
    def today(self, at: float | None = None) -> date:
        """The emulator's calendar day (UTC) at ``at`` (default: now), for model retirement dates."""
        return datetime.fromtimestamp(self.now() if at is None else at, UTC).date()

    def create_batch(self, body: Any, *, api_version: str | None = None, betas: str | None = None) -> dict[str, Any]:
        """Validate and store a new batch; return its MessageBatch object."""
        requests = check_batch_body(body)
        cfg = self.config
        with self.store.lock:
            seq = self.store.next_seq
            self.store.next_seq += 1
            batch_id = new_id("msgbatch_")
            now = self.now()
            self.store.write_requests(batch_id, requests)
            meta = {
                "id": batch_id, "seq": seq, "n": len(requests), "created_at": now,
                "ends_at": now + cfg.batch_delay_s, "expires_at": now + BATCH_EXPIRY_HOURS * 3600,
                "delay_s": cfg.batch_delay_s, "cancel_delay_s": cfg.cancel_delay_s,
                "rates": cfg.result_rates(), "seed": cfg.seed, "shuffle": cfg.shuffle_results,
                "thinking_blocks": cfg.thinking_blocks, "api_version": api_version, "betas": betas,
                "cancel_initiated_at": None, "cancel_ends_at": None, "ended_at": None, "counts": None,
            }
            self.store.save_meta(meta)
        return self.batch_object(meta)

    def _meta(self, batch_id: str) -> dict[str, Any]:
        meta = self.store.metas.get(batch_id)
        if meta is None:
            raise not_found(f"No message batch with id '{batch_id}' was found")
        self._maybe_finish(meta)
        return meta

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        """The MessageBatch object for ``batch_id`` (404 when unknown)."""
        with self.store.lock:
            return self.batch_object(self._meta(batch_id))

    def list_batches(self, query: dict[str, str]) -> dict[str, Any]:
        """A page of batches, newest first, with the API's cursor fields."""
        with self.store.lock:
            metas = sorted(self.store.metas.values(), key=lambda m: -int(m["seq"]))
            page, has_more = _paginate([m["id"] for m in metas], query)
            data = [self.batch_object(self._meta(i)) for i in page]
        return {"data": data, "has_more": has_more, "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None}

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        """Start canceling; requests not yet done when it ends come back ``canceled``."""
        with self.store.lock:
            meta = self._meta(batch_id)
            if meta["ended_at"] is None and meta["cancel_initiated_at"] is None:
                now = self.now()
                meta["cancel_initiated_at"] = now
                meta["cancel_ends_at"] = now + float(meta.get("cancel_delay_s", 0.0))
                self.store.save_meta(meta)
                obj = self.batch_object(meta)
                obj["processing_status"] = "canceling"
                obj["ended_at"] = None
                obj["results_url"] = None
                return obj
            return self.batch_object(meta)

    def delete_batch(self, batch_id: str) -> dict[str, Any]:
        """Delete an ended batch (400 while it is still processing)."""
        with self.store.lock:
            meta = self._meta(batch_id)
            if meta["ended_at"] is None:
                raise invalid(f"Message batch {batch_id} cannot be deleted while it is processing; "
                              "cancel it first and wait for it to end")
            self.store.delete(batch_id)
        return {"id": batch_id, "type": "message_batch_deleted"}

    def results_file(self, batch_id: str) -> Path:
        """The results JSONL of an ended batch (400 before it ends, 404 once archived)."""
        with self.store.lock:
            meta = self._meta(batch_id)
            if meta["ended_at"] is None:
                raise invalid(f"Message batch {batch_id} has not finished processing; results are "
                              "available once its processing_status is 'ended'")
            if self._archived_at(meta) is not None:
                raise not_found(f"The results of message batch {batch_id} are no longer available "
                                f"(kept {RESULTS_RETENTION_DAYS} days after creation)")
            return self.store.results_path(batch_id)

    def _archived_at(self, meta: dict[str, Any]) -> float | None:
        limit = float(meta["created_at"]) + RESULTS_RETENTION_DAYS * 86400
        return limit if meta["ended_at"] is not None and self.now() >= limit else None

    def batch_object(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The MessageBatch JSON for a stored record."""
        ended = meta["ended_at"] is not None
        counts = dict.fromkeys(OUTCOMES, 0)
        if ended:
            counts.update(meta["counts"])
        else:
            counts["processing"] = int(meta["n"])
        status = "ended" if ended else "canceling" if meta["cancel_initiated_at"] else "in_progress"
        base = self.base_url.rstrip("/")
        return {
            "id": meta["id"], "type": "message_batch", "processing_status": status,
            "request_counts": counts,
            "created_at": iso(meta["created_at"]), "expires_at": iso(meta["expires_at"]),
            "ended_at": iso(meta["ended_at"]), "archived_at": iso(self._archived_at(meta)),
            "cancel_initiated_at": iso(meta["cancel_initiated_at"]),
            "results_url": f"{base}/v1/messages/batches/{meta['id']}/results" if ended else None,
        }

    def _maybe_finish(self, meta: dict[str, Any]) -> None:
        if meta["ended_at"] is not None:
            return
        end = min(float(meta["ends_at"]), float(meta["expires_at"]))
        if meta["cancel_ends_at"] is not None:
            end = min(end, float(meta["cancel_ends_at"]))
        if self.now() >= end:
            self._finish(meta, end)

    def _finish(self, meta: dict[str, Any], end: float) -> None:
        batch_id = meta["id"]
        rates = meta["rates"]
        folder = self.store.batch_dir(batch_id)
        unordered = folder / "results.unordered.tmp"
        offsets: list[tuple[int, int]] = []
        counts = dict.fromkeys(OUTCOMES, 0)
        created = float(meta["created_at"])
        # Cache keys first written by this batch -> index of that request (see ``cache_first_writes``).
        written: dict[str, int] = {}
        with unordered.open("wb") as fh:
            for index, req in enumerate(self.store.iter_requests(batch_id)):
                rng = random.Random(f"{meta['seed']}/{meta['seq']}/{index}")
                done_at = created + rng.random() * float(meta["delay_s"])
                try:
                    result = self._process(req["params"], rates, rng, done_at, meta, (index, written))
                except Exception as exc:  # an emulator bug must not stop the batch from ending
                    log.exception("emulator failed on request %s of %s", req.get("custom_id"), batch_id)
                    result = _errored(ApiError(500, f"[GAIA emulator] internal error: {exc}"))
                counts[result["type"]] += 1
                line = json.dumps({"custom_id": req["custom_id"], "result": result},
                                  separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
                offsets.append((fh.tell(), len(line)))
                fh.write(line)
        order = list(range(len(offsets)))
        if meta.get("shuffle", True) and len(order) > 1:
            random.Random(f"{meta['seed']}/{meta['seq']}/order").shuffle(order)
            if order == sorted(order):
                order.reverse()
        self.store.write_permuted(self.store.results_path(batch_id), unordered, [offsets[i] for i in order])
        unordered.unlink(missing_ok=True)
        with self.cache.lock:
            self.cache.save(self.now())
        meta["ended_at"] = end
        meta["counts"] = counts
        self.store.save_meta(meta)

    def _process(self, params: dict[str, Any], rates: dict[str, float], rng: random.Random,
                 done_at: float, meta: dict[str, Any], order: tuple[int, dict[str, int]]) -> dict[str, Any]:
        draw = rng.random()
        if draw < rates["errored_rate"]:
            kind = "overloaded_error" if rng.random() < 0.5 else "api_error"
            return _errored(ApiError(529 if kind == "overloaded_error" else 500,
                                     "[GAIA emulator] injected failure (errored_rate); retry the request",
                                     error_type=kind))
        if draw < rates["errored_rate"] + rates["expired_rate"] or done_at > float(meta["expires_at"]):
            return {"type": "expired"}
        cancel_at = meta["cancel_initiated_at"]
        if draw < rates["errored_rate"] + rates["expired_rate"] + rates["canceled_rate"] or (
                cancel_at is not None and done_at > float(cancel_at)):
            return {"type": "canceled"}
        try:
            facts = check_params(params, api_version=meta.get("api_version"), today=self.today(done_at),
                                 betas=meta.get("betas"))
            analysis = analyse_request(params, facts, files=self.file_bytes)
        except ApiError as exc:
            return _errored(exc)
        message = self._message(params, facts, analysis, rng, rates, tier="batch", now=done_at,
                                thinking=bool(meta.get("thinking_blocks", True)), order=order)
        return {"type": "succeeded", "message": message}

    # --- messages ----------------------------------------------------------------------------------
    def create_message(self, body: Any, *, api_version: str | None = None) -> dict[str, Any]:
        """``POST /v1/messages``: every rule applies at once (400/404), then a Message."""
        check_params_shape(body, "", in_batch=False)
        if body.get("stream"):
            raise invalid("stream: the GAIA emulator does not stream messages; send stream=false")
        facts = check_params(body, api_version=api_version, today=self.today())
        analysis = analyse_request(body, facts, files=self.file_bytes)
        rng = random.Random(f"{self.config.seed}/messages/{secrets.token_hex(4)}")
        rates = self.config.result_rates()
        rates["cache_hit_rate"] = 1.0
        if body["max_tokens"] == 0:
            return self._prewarm(body, facts, analysis, rng, rates)
        return self._message(body, facts, analysis, rng, rates, tier="standard", now=self.now(),
                             thinking=self.config.thinking_blocks)

    def _prewarm(self, params: dict[str, Any], facts: ModelFacts, analysis: RequestAnalysis,
                 rng: random.Random, rates: dict[str, float]) -> dict[str, Any]:
        """``max_tokens: 0``: the prompt is read and cached, nothing is generated (SDK ``max_tokens`` doc,
        prompt-caching page "pre-warming the cache"): no content, ``stop_reason: "max_tokens"``."""
        usage = self._cache_usage(analysis, facts, "standard", self.now(), rng, rates["cache_hit_rate"], None,
                                  int(rates.get("cache_first_writes", 1)))
        usage["output_tokens"] = 0
        usage["service_tier"] = "standard"
        return {"id": new_id("msg_"), "type": "message", "role": "assistant", "model": params["model"],
                "content": [], "stop_reason": "max_tokens", "stop_sequence": None, "usage": usage}

    def count_tokens(self, body: Any) -> dict[str, int]:
        """``POST /v1/messages/count_tokens``: input tokens, ``cache_control`` ignored."""
        check_count_tokens_body(body)
        params = {"max_tokens": 1, **body}
        facts = resolve_model(params["model"])
        if facts is None or facts.retired_as_of(self.today()):
            raise not_found(f"model: {params['model']}")
        return {"input_tokens": analyse_request(params, facts).total_tokens}

    def _message(self, params: dict[str, Any], facts: ModelFacts, analysis: RequestAnalysis,
                 rng: random.Random, rates: dict[str, float], *, tier: str, now: float,
                 thinking: bool, order: tuple[int, dict[str, int]] | None = None) -> dict[str, Any]:
        usage = self._cache_usage(analysis, facts, tier, now, rng, rates["cache_hit_rate"], order,
                                  int(rates.get("cache_first_writes", 1)))
        frames = frame_facts(analysis.images)
        seed = request_seed(params["model"], analysis.prompt_text, json.dumps(analysis.schema, sort_keys=True),
                            json.dumps(params.get("metadata"), sort_keys=True), *(f.key for f in frames))
        text = answer_text(analysis.schema, frames, rng, model=params["model"], seed=seed,
                           prompt=analysis.prompt_text)
        stop = "end_turn"
        shape = rng.random()
        if shape < rates["malformed_rate"]:
            text = text[: max(1, len(text) // 2)] + ' "[GAIA emulator] malformed on purpose'
        elif shape < rates["malformed_rate"] + rates["refusal_rate"]:
            text = "[GAIA emulator] I can't help with that request (refusal injected by refusal_rate)."
            stop = "refusal"
        elif shape < rates["malformed_rate"] + rates["refusal_rate"] + rates["max_tokens_rate"]:
            text = text[: max(1, len(text) // 3)]
            stop = "max_tokens"
        content: list[dict[str, Any]] = []
        setting = params.get("thinking") if isinstance(params.get("thinking"), dict) else {}
        thinking_on = thinking and is_5x(facts.id) and setting.get("type") != "disabled"
        # The thinking the model did is billed as output whatever is shown; 5.x models return the block's
        # text empty unless ``thinking.display`` is "summarized" (Opus 5.5 overview, "default display").
        thought = thinking_text(frames) if thinking_on else ""
        max_tokens = int(params["max_tokens"])
        thought = truncate_to_tokens(thought, max_tokens, facts.id)
        produced = approx_text_tokens(thought, facts.id)
        if thinking_on:
            content.append({"type": "thinking", "thinking": thought if setting.get("display") == "summarized" else "",
                            "signature": "gaia-emulator-" + secrets.token_hex(16)})
        tool = _tool_to_call(params)
        if content and produced >= max_tokens:
            # Thinking used the whole budget: the answer has no text block at all, as with the API.
            output_tokens = produced
            stop = "max_tokens"
        elif tool is not None and stop == "end_turn":
            call = {"type": "tool_use", "id": new_id("toolu_"), "name": tool["name"],
                    "input": schema_instance(tool.get("input_schema") or {"type": "object"}, frames, rng)}
            content.append(call)
            output_tokens = produced + approx_text_tokens(json.dumps(call["input"]), facts.id)
            stop = "tool_use"
        else:
            budget = max_tokens - produced
            if approx_text_tokens(text, facts.id) > budget:
                text = truncate_to_tokens(text, budget, facts.id)
                stop = "max_tokens"
            content.append({"type": "text", "text": text})
            output_tokens = produced + approx_text_tokens(text, facts.id)
        usage["output_tokens"] = output_tokens
        usage["service_tier"] = tier
        return {
            "id": new_id("msg_"), "type": "message", "role": "assistant", "model": params["model"],
            "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage,
        }

    def _cache_usage(self, analysis: RequestAnalysis, facts: ModelFacts, namespace: str, now: float,
                     rng: random.Random, hit_rate: float, order: tuple[int, dict[str, int]] | None = None,
                     first_writes: int = 1) -> dict[str, Any]:
        """Split input into uncached, cache-write (5m/1h) and cache-read tokens.

        Only breakpoints whose prefix reaches the model's ``min_cacheable_tokens`` count. The
        longest prefix already cached is read with probability ``hit_rate``; every eligible
        breakpoint after it is written, its tokens going to the TTL of the breakpoint closing each
        segment. Inside a batch (``order`` = this request's index and the keys the batch wrote
        first), an entry the batch itself wrote becomes visible only ``first_writes`` requests
        after its first writer. Batch and Messages entries live in separate namespaces: a batch
        does not read what a Messages call wrote (fact sheet §9.3), but later batches read what a
        batch wrote.
        """
        total = analysis.total_tokens
        eligible = [b for b in analysis.breakpoints if b.tokens >= facts.min_cacheable_tokens]
        written = {"5m": 0, "1h": 0}
        read = 0
        with self.cache.lock:
            keys = [f"{namespace}:{b.digest}" for b in eligible]

            def visible(key: str) -> bool:
                if not self.cache.alive(key, now):
                    return False
                if order is None or key not in order[1]:
                    return True
                return order[0] >= order[1][key] + first_writes

            hit = max((i for i, k in enumerate(keys) if visible(k)), default=None)
            start = 0
            if hit is not None and rng.random() < hit_rate:
                read = eligible[hit].tokens
                start = hit + 1
                for i in range(start):
                    self.cache.put(keys[i], eligible[i].ttl, now)
            previous = read
            for i in range(start, len(eligible)):
                written[eligible[i].ttl] += eligible[i].tokens - previous
                previous = eligible[i].tokens
                if order is not None and not self.cache.alive(keys[i], now):
                    order[1].setdefault(keys[i], order[0])
                self.cache.put(keys[i], eligible[i].ttl, now)
            if namespace != "batch" and eligible:
                self.cache.save(now)
        creation = written["5m"] + written["1h"]
        return {
            "input_tokens": total - read - creation,
            "output_tokens": 0,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": written["5m"],
                               "ephemeral_1h_input_tokens": written["1h"]},
            "server_tool_use": None,
            "service_tier": namespace,
        }

    # --- files ------------------------------------------------------------------------------------------
    def upload_file(self, filename: str, mime_type: str, data: bytes, expires_in_seconds: int | None) -> dict[str, Any]:
        """Store an uploaded file and return its FileMetadata."""
        if not data:
            raise invalid("file: the uploaded file is empty")
        if expires_in_seconds is not None and not 3600 <= expires_in_seconds <= 7_776_000:
            raise invalid("expires_in_seconds: must be between 3600 (one hour) and 7776000 (ninety days)")
        now = self.now()
        name = Path(filename or "").name or "unnamed"
        meta = {"id": new_id("file_"), "type": "file", "filename": name, "mime_type": mime_type,
                "size_bytes": len(data), "created": now, "downloadable": False,
                "expires": None if expires_in_seconds is None else now + expires_in_seconds}
        with self.files.lock:
            self.files.save(meta, data)
        return _file_object(meta)

    def _file_meta(self, file_id: str) -> dict[str, Any]:
        meta = self.files.meta(file_id)
        if meta is None or (meta.get("expires") is not None and self.now() >= float(meta["expires"])):
            raise not_found(f"File not found: {file_id}")
        return meta

    def file_metadata(self, file_id: str) -> dict[str, Any]:
        """FileMetadata of one uploaded file (404 when unknown or expired)."""
        return _file_object(self._file_meta(file_id))

    def file_bytes(self, file_id: str) -> tuple[bytes, str]:
        """Bytes and mime type of an uploaded file, for ``{"type": "file"}`` image sources."""
        meta = self._file_meta(file_id)
        return self.files.data(file_id), str(meta["mime_type"])

    def list_files(self, query: dict[str, str]) -> dict[str, Any]:
        """Uploaded files, newest first (one page of at most ``limit``)."""
        ids = [m["id"] for m in self.files.all()
               if m.get("expires") is None or self.now() < float(m["expires"])]
        page, _ = _paginate(ids, {"limit": query.get("limit", "1000")})
        return {"data": [self.file_metadata(i) for i in page], "next_page": None}

    def delete_file(self, file_id: str) -> dict[str, Any]:
        """Delete an uploaded file."""
        self._file_meta(file_id)
        with self.files.lock:
            self.files.delete(file_id)
        return {"id": file_id, "type": "file_deleted"}

    # --- models --------------------------------------------------------------------------------------
    def list_models(self, query: dict[str, str], lifecycles: list[str] | None = None) -> dict[str, Any]:
        """A page of ModelInfo objects built from ``gaia.facts.catalogue()`` (only ``lifecycles`` if given)."""
        infos = {i: model_info(m, self.today()) for i, m in catalogue().models.items()}
        ids = [i for i, info in infos.items() if not lifecycles or info["lifecycle"] in lifecycles]
        page, has_more = _paginate(ids, query)
        return {"data": [infos[i] for i in page], "has_more": has_more,
                "first_id": page[0] if page else None, "last_id": page[-1] if page else None}

    def get_model(self, model_id: str) -> dict[str, Any]:
        """One ModelInfo (404 when the id is not in the catalogue)."""
        facts = resolve_model(model_id)
        if facts is None:
            raise not_found(f"model: {model_id}")
        return model_info(facts, self.today())


def _tool_to_call(params: dict[str, Any]) -> dict[str, Any] | None:
    """The custom tool the emulated model calls, or ``None`` when it answers in text.

    A forced choice (``tool``/``any``) calls that tool (or the first); ``auto`` calls the first
    custom tool unless the request asks for structured output or the last turn already carries a
    ``tool_result``; ``none`` never calls one.
    """
    tools = [t for t in params.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    choice = params.get("tool_choice") if isinstance(params.get("tool_choice"), dict) else {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), tools[0])
    if choice.get("type") == "any":
        return tools[0]
    last = params["messages"][-1].get("content")
    answered = isinstance(last, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last)
    has_format = isinstance(params.get("output_config"), dict) and params["output_config"].get("format")
    return None if answered or has_format else tools[0]


def _paginate(ids: list[str], query: dict[str, str]) -> tuple[list[str], bool]:
    raw = query.get("limit", "20")
    try:
        limit = int(raw)
    except ValueError:
        raise invalid(f"limit: Input should be a valid integer, unable to parse string as an integer: "
                      f"'{raw}'") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be greater than or equal to 1 and less than or equal to 1000")
    after, before = query.get("after_id"), query.get("before_id")
    if after and before:
        # Not documented either way; the SDK's own tests send both: the items strictly between them.
        for name, cursor in (("after_id", after), ("before_id", before)):
            if cursor not in ids:
                raise invalid(f"{name}: no item with id '{cursor}'")
        rest = ids[ids.index(after) + 1: ids.index(before)]
        return rest[:limit], len(rest) > limit
    if after:
        if after not in ids:
            raise invalid(f"after_id: no item with id '{after}'")
        rest = ids[ids.index(after) + 1:]
        return rest[:limit], len(rest) > limit
    if before:
        if before not in ids:
            raise invalid(f"before_id: no item with id '{before}'")
        rest = ids[: ids.index(before)]
        return rest[-limit:], len(rest) > limit
    return ids[:limit], len(ids) > limit


def _errored(exc: ApiError) -> dict[str, Any]:
    return {"type": "errored", "error": {"type": "error", "error": exc.error_object(),
                                         "request_id": new_request_id()}}


def _fault_error(rule: HttpFault) -> ApiError:
    defaults = {429: "[GAIA emulator] injected rate limit: too many requests",
                529: "[GAIA emulator] injected overload: the API is temporarily overloaded",
                500: "[GAIA emulator] injected internal server error"}
    headers = {}
    if rule.retry_after is not None:
        headers["retry-after"] = f"{rule.retry_after:g}"
    if rule.status == 429:
        headers["anthropic-ratelimit-requests-remaining"] = "0"
    message = rule.message or defaults.get(rule.status, f"[GAIA emulator] injected HTTP {rule.status}")
    return ApiError(rule.status, message, headers=headers)


def _file_object(meta: dict[str, Any]) -> dict[str, Any]:
    return {"id": meta["id"], "type": "file", "filename": meta["filename"], "mime_type": meta["mime_type"],
            "size_bytes": meta["size_bytes"], "created_at": iso(meta["created"]),
            "downloadable": meta.get("downloadable", False), "expires_at": iso(meta.get("expires"))}


def _line_of(model_id: str) -> str | None:
    for line in ("haiku", "sonnet", "opus", "fable", "mythos"):
        if f"-{line}-" in model_id:
            return line
    return None


def model_info(facts: ModelFacts, today: date | None = None) -> dict[str, Any]:
    """The Models API object for one catalogue row (capabilities: batch, images, structured output).

    ``lifecycle`` follows the row's ``retires_on`` date (gaia/data/models.toml): ``deprecated``
    before it, ``retired`` from it on (``today`` is the emulator's day).
    """
    yes, no = {"supported": True}, {"supported": False}
    five = is_5x(facts.id)
    lifecycle = "retired" if facts.retired_as_of(today) else "deprecated" if facts.retires_on else "active"
    retires_at = f"{facts.retires_on}T00:00:00Z" if facts.retires_on else None
    created = facts.as_of or "2026-01-01"
    return {
        "id": facts.id, "type": "model", "display_name": facts.display_name,
        "created_at": f"{created}T00:00:00Z", "lifecycle": lifecycle, "deprecated_at": None,
        "retires_at": retires_at,
        "line": _line_of(facts.id), "max_input_tokens": facts.context_window,
        "max_tokens": max_output_tokens(facts.id),
        "capabilities": {
            "batch": yes, "image_input": yes, "structured_outputs": yes, "pdf_input": yes, "citations": yes,
            "code_execution": no,
            "context_management": {"supported": False},
            "effort": {"supported": five, "low": yes if five else no, "medium": yes if five else no,
                       "high": yes if five else no, "max": yes if five else no},
            "server_tools": {"supported": False, "code_execution": no, "web_search": no},
            "thinking": {"supported": True, "types": {
                "adaptive": yes if five else no, "between_tools": yes if five else no,
                "disabled": no if five else yes, "enabled": yes}},
        },
    }
