"""The guard: the one check between a plan and the money, for every way of sending.

``send_problem`` says why a plan must not be sent at all (blocking problems, nothing to send);
``folder_problem`` why its answers could not be delivered (a read-only folder), before anything is paid for;
``cap_problem`` why a spend cap blocks it; ``model_problem`` why the API will not take the model from this
key (its Models endpoint, asked as a send starts and never while planning, so browsing never loads the SDK; a
command asks it once more before asking the user to agree, and the yes it heard then serves the send).
A cap cannot be bypassed by odd data: an estimate that is missing, negative, infinite or not a number blocks a
capped run with a plain message, and so does a cap that is itself negative or not a number. ``SpendCap``
holds the cap while a run is sending: each request reserves its expected cost before it goes, so money spent
plus requests in flight never pass the cap.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from gaia.api.client import field
from gaia.api.validate import RequestProblem
from gaia.facts import model_name
from gaia.folder import Folder
from gaia.runs.escalation import PASS_KEY, CascadePass


def _usable(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x) and x >= 0


def send_problem(problems: Sequence[RequestProblem], n_requests: int, *, nothing: str) -> str | None:
    """Why a plan must not be sent: its blocking problems, or ``nothing`` when it has no request."""
    blocking = [p.problem for p in problems if p.blocking]
    if blocking:
        return "; ".join(blocking)
    return nothing if n_requests == 0 else None


def folder_problem(folder: Folder) -> str | None:
    """Why answers sent now could not be delivered into ``folder``: it is read-only (``None`` when writable)."""
    if folder.writable:
        return None
    return (f"{folder.path} is read-only, and GAIA writes each answer next to its video: nothing was sent (the "
            "answers would be paid for and not delivered). Make the folder writable, or copy the videos to a "
            "writable folder, and try again.")


# A yes the Models endpoint gave a check made before the user was asked (``remember``), kept for the send that
# follows, once and for a while: per client (a command's, a page action's) and model. A refusal, or an endpoint
# that could not be reached, is never kept: the next check asks again.
KEEP_YES_S = 600.0
_yes: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, Any]]] = weakref.WeakKeyDictionary()
_yes_lock = threading.Lock()


def _take_yes(client: Any, model: str) -> tuple[float, Any] | None:
    """The yes kept for ``client`` and ``model`` (when it was heard, what was said), taken so it serves once;
    ``None`` when there is none, or it was heard too long ago."""
    try:
        with _yes_lock:
            kept = _yes.get(client, {}).pop(model, None)
    except TypeError:  # a client that cannot be referred to weakly: nothing is kept for it
        return None
    return kept if kept is not None and time.monotonic() - kept[0] < KEEP_YES_S else None


def _keep_yes(client: Any, model: str, heard: float, info: Any) -> None:
    with contextlib.suppress(TypeError), _yes_lock:
        _yes.setdefault(client, {})[model] = (heard, info)


def model_problem(client: Any, model: str, *, batches: bool, remember: bool = False) -> str | None:
    """Why the API will not take ``model`` from this key: what its Models endpoint says, asked as a send starts.

    The one check of the model against the API, made by both transports (``gaia.runs.batch.submit``,
    ``gaia.runs.now.run_now``) after the local checks and before anything is created or paid for: a model the
    endpoint does not offer to this key, or whose capabilities say no images (or, for ``batches``, no Message
    Batches), refuses the send in words. When the endpoint cannot be reached nothing is concluded (``None``: the
    send itself will tell). GAIA's own facts about the model are checked earlier, while planning
    (``gaia.api.validate.model_problems``). ``remember``: a check made before asking the user to agree to a send
    (``gaia.Folder.model_problem``); a yes is kept for that send's own check, which then asks nothing.
    """
    import anthropic  # sending loads the SDK anyway; planning never asks here

    name = model_name(model)
    kept = _take_yes(client, model)
    try:
        heard, info = kept if kept is not None else (time.monotonic(), client.models.retrieve(model))
    except anthropic.NotFoundError:
        return (f"The API does not offer {name} ({model}) to this key, so nothing was sent. Choose another model "
                "and send again.")
    except Exception:
        return None
    caps = field(info, "capabilities")  # an SDK object, or a plain dict from a stand-in
    wanted = (("batch", "the Message Batches API"),) if batches else ()
    missing = [words for name, words in (*wanted, ("image_input", "images"))
               if field(field(caps, name), "supported", True) is False]
    if not missing:
        if remember:
            _keep_yes(client, model, heard, info)
        return None
    return (f"The API says {name} does not support {' or '.join(missing)}, so nothing was sent. Choose another "
            "model" + (" (or send it now, without a batch)" if missing == ["the Message Batches API"] else "")
            + " and send again.")


def send_model_problem(client: Any, model: str, cascade_pass: Mapping[str, Any] | None, *, batches: bool,
                       remember: bool = False) -> str | None:
    """``model_problem`` for what a send commits to: its own model and, for a cascade's first pass, the strong
    model its second pass will use (asked before the first pass goes, so a cascade never pays for a first pass
    whose second the key cannot send). The one check both transports make as they send, and a command makes
    (``remember``) before it asks the user to agree."""
    step = CascadePass.of({PASS_KEY: cascade_pass}) if cascade_pass else None
    why = model_problem(client, model, batches=batches, remember=remember)
    if why is None and step is not None and step.number == 1 and step.strong.model != model:
        why = model_problem(client, step.strong.model, batches=batches, remember=remember)
        why = None if why is None else f"The cascade's second pass: {why}"
    return why


def cap_problem(estimate_usd: float | None, cap_usd: float | None, *,
                what: str = "The estimated cost {usd}", digits: int = 2, cap: str = "your cap") -> str | None:
    """Why a spend cap of ``cap_usd`` blocks sending what is estimated at ``estimate_usd``.

    The one spend-cap check: every way of paying (submit, run now, trial, retry, tune) and every
    page and CLI command that shows it asks here. ``None`` when there is no cap or the estimate is
    within it. ``what`` words the estimate (``{usd}`` is replaced by the amount, shown with
    ``digits`` decimals) and ``cap`` the limit ("your cap", "the budget").
    """
    if cap_usd is None:
        return None
    if not _usable(cap_usd):
        return f"The spend cap {cap_usd!r} is not a usable amount of dollars (it must be zero or more)."
    if estimate_usd is None:
        return f"A spend cap of ${cap_usd:,.2f} was set but there is no cost estimate to check it against."
    if not _usable(estimate_usd):
        return (f"The cost estimate ({estimate_usd!r}) is not a usable amount (negative or not a number: check the "
                f"price overrides), so the spend cap of ${cap_usd:,.2f} cannot be checked; nothing was sent.")
    if estimate_usd > cap_usd:
        return f"{what.format(usd=f'${estimate_usd:,.{digits}f}')} is above {cap} of ${cap_usd:,.2f}."
    return None


class SpendCap:
    """A spend cap held while requests are sent (thread-safe); no cap when ``cap_usd`` is ``None``.

    ``reserve`` sets aside one request's expected cost (``per_request_usd``) before it is sent and
    refuses when spent plus reserved would pass the cap; ``settle`` releases the reservation and
    adds what the answer really cost. An unusable per-request estimate counts as the whole cap.
    """

    def __init__(self, cap_usd: float | None, per_request_usd: float | None) -> None:
        self.cap_usd = cap_usd
        self.estimate_usd = per_request_usd  # as given, for the ledger
        per = per_request_usd or 0.0
        self.per_request_usd = per if _usable(per) else (cap_usd or 0.0) + 1.0
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        """Reserve one request's expected cost; ``False`` when that would pass the cap."""
        if self.cap_usd is None:
            return True
        with self._lock:
            if self.spent + self.reserved + self.per_request_usd > self.cap_usd + 1e-12:
                return False
            self.reserved += self.per_request_usd
            return True

    def release(self) -> None:
        """Give back one reservation (the request was not sent)."""
        if self.cap_usd is not None:
            with self._lock:
                self.reserved = max(0.0, self.reserved - self.per_request_usd)

    def settle(self, cost_usd: float | None, *, reserved: bool) -> None:
        """Record what one answer cost, releasing its reservation when it had one."""
        with self._lock:
            if reserved and self.cap_usd is not None:
                self.reserved = max(0.0, self.reserved - self.per_request_usd)
            self.spent += cost_usd or 0.0

    @property
    def stop_reason(self) -> str:
        """Why the run stopped at the cap, in words."""
        return (f"Stopped at the spend cap of ${self.cap_usd or 0:.2f}: ${self.spent:.4f} spent, and the next "
                "request would likely pass it.")
