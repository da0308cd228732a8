"""Exactly two modules send paid requests: the batch transport and run now's engine (a static reading of gaia/)."""

from __future__ import annotations

import ast
from pathlib import Path

import gaia

SENDERS = {"gaia/runs/batch.py", "gaia/runs/now.py"}
ROOT = Path(gaia.__file__).resolve().parent


def _chain(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join(reversed(parts))


def _sends(tree: ast.AST) -> list[str]:
    """The paid calls in one module: ``…messages.create(``, ``…messages.batches.create(`` or a raw
    ``.post("/v1/messages…")``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        chain = _chain(node.func)
        if chain.endswith(("messages.create", "messages.batches.create")):
            found.append(chain)
        elif node.func.attr == "post" and node.args and isinstance(node.args[0], ast.Constant) \
                and str(node.args[0].value).startswith("/v1/messages"):
            found.append(f"post {node.args[0].value}")
    return found


def senders() -> dict[str, list[str]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.startswith("gaia/emulator/"):  # the stand-in API answers requests; it sends none
            continue
        calls = _sends(ast.parse(path.read_text(encoding="utf-8")))
        if calls:
            out[rel] = calls
    return out


def test_exactly_the_two_transports_send_paid_requests():
    assert set(senders()) == SENDERS


def test_the_scan_sees_a_third_sender():
    rogue = ast.parse("def go(client):\n    return client.messages.create(model='m', max_tokens=1, messages=[])\n")
    batch = ast.parse("client.messages.batches.create(requests=[])\n")
    raw = ast.parse("client.post('/v1/messages/batches', cast_to=object)\n")
    assert _sends(rogue) == ["messages.create"]
    assert _sends(batch) == ["messages.batches.create"]
    assert _sends(raw) == ["post /v1/messages/batches"]
