"""The one guard: a spend cap no data can bypass, and the same messages for every way of sending."""

from __future__ import annotations

import math

import pytest

from gaia.runs.guard import SpendCap, cap_problem


@pytest.mark.parametrize("estimate", [-2.03, math.nan, math.inf, -math.inf])
def test_an_odd_estimate_never_passes_a_cap(estimate):
    why = cap_problem(estimate, 0.01)
    assert why is not None and "not a usable amount" in why


@pytest.mark.parametrize("cap", [-1.0, math.nan])
def test_an_odd_cap_blocks(cap):
    assert "not a usable amount" in (cap_problem(1.0, cap) or "")


def test_cap_messages():
    assert cap_problem(5.0, None) is None
    assert cap_problem(3.0, 4.0) is None
    assert "above your cap of $4.00" in (cap_problem(5.0, 4.0) or "")
    assert "no cost estimate" in (cap_problem(None, 4.0) or "")
    now = cap_problem(5.0, 4.0, what="Sending now would cost about {usd} at standard prices", digits=4) or ""
    assert now.startswith("Sending now would cost about $5.0000") and "above your cap" in now


def test_spend_cap_reserves_requests_in_flight():
    cap = SpendCap(1.0, 0.4)
    assert cap.reserve() and cap.reserve() and not cap.reserve()  # 0.8 reserved; a third would pass 1.0
    cap.settle(0.1, reserved=True)  # cheaper than expected: room again
    assert cap.reserve()
    assert SpendCap(None, None).reserve()


def test_spend_cap_with_a_negative_per_request_estimate_still_stops():
    cap = SpendCap(1.0, -5.0)
    assert not cap.reserve()


def test_a_yes_heard_before_asking_serves_the_next_check_once(emulator, anthropic_client, monkeypatch):
    """A check made before the user is asked (``remember``) keeps the endpoint's yes for the send's own check,
    once and for a while; a refusal is never kept, so a key given access since is heard at once."""
    from gaia.emulator import HttpFault
    from gaia.runs import guard
    from gaia.runs.guard import model_problem

    model = "claude-haiku-4-5"

    def asked() -> int:
        return emulator.calls.get("models.retrieve", 0)

    assert model_problem(anthropic_client, model, batches=True, remember=True) is None and asked() == 1
    assert model_problem(anthropic_client, model, batches=True) is None and asked() == 1  # the send: kept yes
    assert model_problem(anthropic_client, model, batches=True) is None and asked() == 2  # taken: asked again
    monkeypatch.setattr(guard, "KEEP_YES_S", 0.0)  # a yes heard too long ago is not trusted
    assert model_problem(anthropic_client, model, batches=True, remember=True) is None and asked() == 3
    assert model_problem(anthropic_client, model, batches=True) is None and asked() == 4
    monkeypatch.setattr(guard, "KEEP_YES_S", 600.0)
    emulator.update_config(http_faults=[HttpFault(route="models.retrieve", status=404, count=None)])
    assert "does not offer" in (model_problem(anthropic_client, model, batches=True, remember=True) or "")
    emulator.update_config(http_faults=[])
    assert model_problem(anthropic_client, model, batches=True) is None and asked() == 6  # the refusal was not kept


def test_a_capability_refusal_is_not_kept_either():
    """A model whose capabilities say no to batches is refused each time it is asked, and its no is not kept for
    a send now (which it could take): that send asks again."""
    from gaia.runs.guard import model_problem

    class _Client:  # a stand-in whose Models endpoint answers with plain dicts
        def __init__(self) -> None:
            self.asked = 0
            self.models = self

        def retrieve(self, model: str) -> dict:
            self.asked += 1
            return {"id": model, "capabilities": {"batch": {"supported": False}, "image_input": {"supported": True}}}

    client = _Client()
    why = model_problem(client, "claude-haiku-4-5", batches=True, remember=True)
    assert why and "Message Batches" in why and client.asked == 1
    assert model_problem(client, "claude-haiku-4-5", batches=False) is None and client.asked == 2
