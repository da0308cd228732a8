"""Issue 11's four checks, against the emulator and against an independent fake with honest usage.

1. Before any history, the range holds what the run then costs (and is at most 3x wide).
2. After a pilot of 3 videos, the estimate for the remaining videos is within 10% of what they cost.
3. The exact prefix (count_tokens) equals the cache write the API bills.
4. ``gaia spent`` equals the sum of what was billed, within 1%.

The fake (``tests/pricing/_honest_fake.py``) counts tokens by rules of its own, not GAIA's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from gaia.facts import model_facts
from gaia.folder import Folder
from gaia.media.demo import ensure_demo_folder
from gaia.media.keyframes import cached_keyframes, extract_keyframes
from gaia.pricing.bill import folder_spend, history
from gaia.pricing.estimate import Estimate, estimate_run
from gaia.runs.batch import submit
from gaia.runs.now import run_now as send_now
from gaia.runs.recovery import plan_run_now, plan_submission
from gaia.runs.retrieve import retrieve
from gaia.settings import RunSettings, run_fingerprint
from gaia.sidecar import sidecar_state
from tests.pricing._honest_fake import HonestFake, serve
from tests.runs.test_batches import wait_ended

NAMES = [f"clip{i:02d}.mp4" for i in range(12)]
SIZE = (960, 540)  # 35 x 20 = 700 image tokens per frame by GAIA's formula, 691 by the pixel formula


@pytest.fixture
def fake() -> Iterator[tuple[HonestFake, anthropic.Anthropic]]:
    state = HonestFake()
    server, url = serve(state)
    client = anthropic.Anthropic(base_url=url, api_key="test-key", max_retries=0)
    try:
        yield state, client
    finally:
        client.close()
        server.shutdown()


def estimate(folder: Path, ksets: list, client: anthropic.Anthropic) -> Estimate:
    """What ``gaia estimate`` does: the videos not analysed yet, with the folder's history and exact counts."""
    settings = RunSettings()
    profile = Folder(folder).profile("default")
    fp = run_fingerprint(settings, profile.hash)
    done = {k.rel_path for k in ksets if sidecar_state(k.video, fp) == "analysed"}
    return estimate_run(ksets, model=settings.model, profile=profile, cache_ttl=settings.cache_ttl,
                        history=history(folder, profile.hash, settings.model), client=client, done=done,
                        max_tokens=settings.max_tokens)


def run_now(folder: Path, ksets: list, client: anthropic.Anthropic, limit: int | None = None) -> str:
    """Send (the first ``limit`` of) the videos not analysed yet now, one at a time; the run's id."""
    plan = plan_run_now(folder, RunSettings(), limit=limit, keyframe_sets=ksets)
    res = send_now(folder, plan, client, concurrency=1)
    assert res.blocked is None and not res.not_sent, res
    return str(res.run_id)


def batch(folder: Path, ksets: list, client: anthropic.Anthropic) -> str:
    """Submit the videos not analysed yet as a batch, wait, retrieve; the run's id."""
    plan = plan_submission(folder, RunSettings(), keyframe_sets=ksets)
    res = submit(folder, plan, client)
    assert res.ok, res
    wait_ended(client, folder)
    assert retrieve(folder, client).complete
    return plan_run_id(folder)


def plan_run_id(folder: Path) -> str:
    with Folder.of(folder).ledger() as ledger:
        return [r.run_id for r in ledger.requests() if r.batch_id][-1]


def actual(folder: Path, run_id: str) -> float:
    return next(r.actual_usd for r in folder_spend(folder).runs if r.run_id == run_id)


def billed_usd(usages: list[dict], model: str) -> float:
    """What the fake billed, priced from the price table by hand (standard rates, no batch)."""
    f = model_facts(model)
    per = 1e-6
    return sum(u["input_tokens"] * f.input * per
               + u["cache_creation"]["ephemeral_1h_input_tokens"] * f.input * f.cache_write_1h_multiplier * per
               + u["cache_creation"]["ephemeral_5m_input_tokens"] * f.input * f.cache_write_5m_multiplier * per
               + u["cache_read_input_tokens"] * f.input * f.cache_read_multiplier * per
               + u["output_tokens"] * f.output * per for u in usages)


def within(est_usd: float, actual_usd: float) -> float:
    return abs(est_usd - actual_usd) / actual_usd


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo folder (five animal clips the emulator describes as it would real ones), keyframes extracted."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("demo-cache")))
    try:
        folder = ensure_demo_folder()
        extract_keyframes(folder, settings=RunSettings().keyframes, model=RunSettings().model)
        dest = tmp_path_factory.mktemp("demo") / "v"
        shutil.copytree(folder, dest, copy_function=shutil.copy2)
        return dest
    finally:
        mp.undo()


# --- against the emulator: batches (the headline) ------------------------------------------------------

def test_emulator_range_holds_a_batch_before_any_history(demo_copy, emulator, anthropic_client):
    folder = demo_copy
    ksets = cached_keyframes(folder, settings=RunSettings().keyframes, model=RunSettings().model)
    assert len(ksets) == 5 and all(k.frames for k in ksets)
    est = estimate(folder, ksets, anthropic_client)
    s = est.scenario("batch_caching")
    assert est.output.source == "schema" and s.high_usd / s.low_usd <= 3
    cost = actual(folder, batch(folder, ksets, anthropic_client))
    assert s.low_usd <= cost <= s.high_usd, (s.low_usd, cost, s.high_usd)


def test_emulator_prefix_equals_the_billed_cache_write(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES[:3], frames=2, size=SIZE)
    est = estimate(folder, ksets, anthropic_client)
    assert est.text.exact
    batch(folder, ksets, anthropic_client)
    with Folder.of(folder).ledger() as ledger:
        writes = {r.usage["cache_creation_input_tokens"] for r in ledger.usage_rows()} - {0}
    assert writes == {est.text.prefix}


def test_emulator_pilot_calibrates_the_rest_and_spent_adds_up(tmp_path, fake_ksets, emulator, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=4, size=SIZE)
    pilot = run_now(folder, ksets, anthropic_client, limit=3)
    est = estimate(folder, ksets, anthropic_client)
    assert est.videos == 9 and est.done == 3 and est.output.samples == 3
    assert "3 already analysed" in " ".join(est.notes)
    rest = run_now(folder, ksets, anthropic_client)
    assert within(est.total_usd["caching"], actual(folder, rest)) <= 0.10
    spend = folder_spend(folder)
    with Folder.of(folder).ledger() as ledger:
        usages = [r.usage for r in ledger.usage_rows()]
    assert len(usages) == 12 and {r.run_id for r in spend.runs} == {pilot, rest}
    assert within(spend.total_usd, billed_usd(usages, RunSettings().model)) <= 0.01


# --- against the honest fake: run now ---------------------------------------------------------------------

def test_fake_range_holds_and_prefix_is_the_billed_write(tmp_path, fake_ksets, fake):
    state, client = fake
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=4, size=SIZE)
    est = estimate(folder, ksets, client)
    s = est.scenario("caching")
    assert est.text.exact and s.high_usd / s.low_usd <= 3
    cost = actual(folder, run_now(folder, ksets, client))
    assert s.low_usd <= cost <= s.high_usd, (s.low_usd, cost, s.high_usd)
    writes = [u["cache_creation_input_tokens"] for u in state.billed if u["cache_creation_input_tokens"]]
    assert writes == [est.text.prefix]  # one write (sequential requests), exactly the counted prefix
    assert {u["cache_read_input_tokens"] for u in state.billed[1:]} == {est.text.prefix}


def test_fake_pilot_calibrates_the_rest_and_spent_adds_up(tmp_path, fake_ksets, fake):
    state, client = fake
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, NAMES, frames=4, size=SIZE)
    run_now(folder, ksets, client, limit=3)
    est = estimate(folder, ksets, client)
    assert est.videos == 9 and est.output.source == "history" and est.output.samples == 3
    rest = run_now(folder, ksets, client)
    got = actual(folder, rest)
    assert within(est.total_usd["caching"], got) <= 0.10, (est.total_usd["caching"], got)
    assert est.scenario("caching").low_usd <= got <= est.scenario("caching").high_usd
    assert len(state.billed) == 12
    assert within(folder_spend(folder).total_usd, billed_usd(state.billed, RunSettings().model)) <= 0.01
