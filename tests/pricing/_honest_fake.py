"""An independent fake of the Messages API with honest usage, to check GAIA's money against.

It shares no token-counting code with GAIA (nor with GAIA's emulator): text is counted by its own
rule (words and punctuation, 3 tokens per 4), images by the pixel formula of the vision docs
(``w * h / 750`` after a downscale to 1568 px on the long edge), every request carries a few
system-added tokens that are not part of the prefix, and the cached prefix is the structured-output
schema plus the system blocks up to the ``cache_control`` breakpoint. The first request with a
prefix writes the cache (with its TTL), later ones read it while it lives. Each answer's output
varies per video (from a hash of its images), thinking included for models that think. It serves
``POST /v1/messages`` and ``POST /v1/messages/count_tokens`` on a local port, so the official SDK
talks to it through ``base_url``; ``billed`` keeps every usage it returned.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

OVERHEAD = 5  # system-added tokens per request, outside the cached prefix
_WORD = re.compile(r"\w+|[^\w\s]")


def text_tokens(text: str) -> int:
    """The fake's own text rule: words and punctuation marks, 3 tokens per 4."""
    return math.ceil(len(_WORD.findall(text)) * 3 / 4)


def image_tokens(data: bytes) -> int:
    """The vision docs' pixel formula, after a downscale to 1568 px on the long edge."""
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
    scale = min(1.0, 1568 / max(w, h))
    return math.ceil((w * scale) * (h * scale) / 750)


def _instance(schema: Any) -> Any:
    """A minimal value valid against ``schema``."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: _instance(v) for k, v in (schema.get("properties") or {}).items()}
    return {"array": [], "string": "x", "number": 0, "integer": 0, "boolean": False}.get(kind)


class HonestFake:
    """The fake's state: the cache (prefix digest → expiry) and every usage it billed."""

    def __init__(self, *, answer_tokens: tuple[int, int] = (350, 900), thinking_tokens: tuple[int, int] = (50, 350)):
        self.cache: dict[str, float] = {}
        self.billed: list[dict[str, Any]] = []
        self.answer_tokens = answer_tokens
        self.thinking_tokens = thinking_tokens
        self.lock = threading.Lock()

    def count(self, body: dict[str, Any]) -> tuple[int, int, str, str | None, bytes]:
        """(all input tokens, prefix tokens, prefix digest, prefix TTL, the images' bytes)."""
        digest = hashlib.sha256(str(body.get("model")).encode())
        total = prefix = OVERHEAD
        ttl: str | None = None
        fmt = (body.get("output_config") or {}).get("format")
        blocks: list[dict[str, Any]] = []
        if fmt:
            blocks.append({"type": "text", "text": json.dumps(fmt, separators=(",", ":"), sort_keys=True)})
        system = body.get("system") or []
        blocks += [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
        cached = 0
        for block in blocks:
            total += text_tokens(block["text"])
            digest.update(block["text"].encode())
            if block.get("cache_control"):
                cached, ttl = total, block["cache_control"].get("ttl", "5m")
        images = b""
        for msg in body.get("messages") or []:
            content = msg["content"]
            for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
                if block["type"] == "image":
                    data = base64.b64decode(block["source"]["data"])
                    images += hashlib.sha256(data).digest()
                    total += image_tokens(data)
                else:
                    total += text_tokens(block["text"])
        prefix = cached - OVERHEAD if cached else 0
        return total, prefix, digest.hexdigest(), ttl, images

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A Message with honest usage: cache write or read of the prefix, output varying per video."""
        total, prefix, key, ttl, images = self.count(body)
        now = time.monotonic()
        read = write = 0
        with self.lock:
            if prefix:
                if self.cache.get(key, 0) > now:
                    read = prefix
                else:
                    write = prefix
                self.cache[key] = now + (3600 if ttl == "1h" else 300)
        h = int.from_bytes(hashlib.sha256(images).digest()[:4], "big")
        lo, hi = self.answer_tokens
        out = lo + h % (hi - lo)
        if str(body.get("model")).count("-5"):  # the 5.x models think by default
            tlo, thi = self.thinking_tokens
            out += tlo + (h >> 8) % (thi - tlo)
        out = min(out, int(body.get("max_tokens") or out))
        usage = {"input_tokens": total - read - write, "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": read, "output_tokens": out,
                 "cache_creation": {"ephemeral_5m_input_tokens": write if ttl != "1h" else 0,
                                    "ephemeral_1h_input_tokens": write if ttl == "1h" else 0}}
        with self.lock:
            self.billed.append(usage)
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
        return {"id": f"msg_fake{len(self.billed)}", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": json.dumps(_instance(schema))}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": usage}


class _Handler(BaseHTTPRequestHandler):
    fake: HonestFake

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        path = self.path.split("?")[0]
        if path == "/v1/messages/count_tokens":
            doc, status = {"input_tokens": self.fake.count(body)[0]}, 200
        elif path == "/v1/messages":
            doc, status = self.fake.message(body), 200
        else:
            doc, status = {"type": "error", "error": {"type": "not_found_error", "message": path}}, 404
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(fake: HonestFake) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``fake`` on a free local port; returns the server (``shutdown()`` it) and its base URL."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
