"""max_tokens guidance: a limit with headroom from past answers, warnings for cut-off answers and waste."""

from __future__ import annotations

import gaia
from gaia.ledger import RequestIntent
from gaia.pricing.limits import TRUNCATED_KIND, LimitVerdict, advise_max_tokens, max_tokens_advice
from gaia.runs.recorder import ErrorKind


def test_no_history_gives_no_suggestion():
    a = advise_max_tokens([], 8192)
    assert a.verdict is LimitVerdict.NO_HISTORY and a.suggested is None and "0 answer(s)" in a.message
    assert advise_max_tokens([900] * 3, 8192).suggested is None  # too few to say


def test_suggestion_is_p99_with_headroom_rounded_up():
    outs = list(range(1000, 2000, 10))  # 100 answers, p99 = 1980.1
    a = advise_max_tokens(outs, 8192)
    assert a.suggested == 2560  # 1980.1 * 1.25 = 2475.1, rounded up to a multiple of 256
    assert a.verdict is LimitVerdict.FAR_ABOVE and "far above need" in a.message and "2,560" in a.message
    assert advise_max_tokens(outs, 4096).verdict is LimitVerdict.FITS
    assert advise_max_tokens(outs, 2048).verdict is LimitVerdict.TIGHT


def test_cut_off_answers_ask_for_at_least_twice_the_limit_they_hit():
    a = advise_max_tokens([500] * 20, 1024, truncated_at=[1024, 1024])
    assert a.verdict is LimitVerdict.TRUNCATED and a.truncated == 2 and a.suggested == 2048
    assert "2 answer(s) were cut off" in a.message
    assert advise_max_tokens([], 60_000, truncated_at=[60_000]).suggested == gaia.limits.MAX_MAX_TOKENS


def test_the_ledger_kind_for_a_cut_off_answer_is_the_recorders():
    assert TRUNCATED_KIND == ErrorKind.MAX_TOKENS


def _record(ledger, run_id, n, status, output, *, prompt_hash="p1", model="m1", error_kind=None):
    ids = ledger.add_standard_requests(run_id, [
        RequestIntent(rel_path=f"{status}-{output}-{i}.mp4", custom_id=f"{status}{output}x{i}", set_id="s",
                      timestamps=(), prompt_hash=prompt_hash, model=model) for i in range(n)])
    for rid in ids:
        ledger.finish_request(rid, status, usage={"input_tokens": 10, "output_tokens": output}, cost_usd=0.01,
                              error_kind=error_kind)


def test_advice_from_a_folders_ledger_counts_only_this_prompt_and_model(tmp_path):
    f = gaia.Folder(tmp_path)
    with f.ledger() as ledger:
        run_id = ledger.new_run(mode="standard", model="m1", prompt_hash="p1", settings={})
        _record(ledger, run_id, 12, "succeeded", 1000)
        _record(ledger, run_id, 1, "failed", 2000, error_kind=ErrorKind.MAX_TOKENS)
        _record(ledger, run_id, 5, "succeeded", 9000, prompt_hash="other")
        _record(ledger, run_id, 5, "succeeded", 9000, model="m2")
    a = max_tokens_advice(f, "p1", "m1", 2000)
    assert (a.answers, a.longest, a.truncated, a.truncated_at) == (12, 1000, 1, 2000)
    assert a.verdict is LimitVerdict.TRUNCATED and a.suggested == 4096
    assert max_tokens_advice(tmp_path / "empty", "p1", "m1", 2000).verdict is LimitVerdict.NO_HISTORY
