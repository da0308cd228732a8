"""The API emulator through the official SDK: batch lifecycle, validation, usage, answers, faults."""

from __future__ import annotations

import base64
import io
import time

import anthropic
from PIL import Image

from gaia.emulator import EmulatorHandle


def jpeg_b64(color: tuple[int, int, int] = (40, 150, 40), size: tuple[int, int] = (64, 48)) -> str:
    """A tiny solid-colour JPEG, base64-encoded."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def params(model: str = "claude-sonnet-5-5", **extra: object) -> dict[str, object]:
    """Minimal valid Messages params with one image."""
    return {
        "model": model,
        "max_tokens": 2000,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Frame at 0 s"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": jpeg_b64()}},
            {"type": "text", "text": "Describe the video."},
        ]}],
        **extra,
    }


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 10.0) -> object:
    """Poll until the batch has ended."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


def test_batch_round_trip(emulator: EmulatorHandle, anthropic_client: anthropic.Anthropic) -> None:
    requests = [{"custom_id": f"video-{i}", "params": params()} for i in range(5)]
    batch = anthropic_client.messages.batches.create(requests=requests)
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 5
    ended = wait_ended(anthropic_client, batch.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.succeeded == 5
    assert ended.results_url.startswith(emulator.base_url)
    results = list(anthropic_client.messages.batches.results(batch.id))
    assert sorted(r.custom_id for r in results) == [f"video-{i}" for i in range(5)]
    assert [r.custom_id for r in results] != [f"video-{i}" for i in range(5)]
