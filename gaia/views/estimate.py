"""What the Estimate cost page shows beside the charts: model labels, the output-token figure, its tables."""

from __future__ import annotations

from typing import Any

from gaia import format as fmt
from gaia.facts import catalogue
from gaia.pricing.bill import History
from gaia.pricing.estimate import MONEY_LABELS, Estimate
from gaia.pricing.levers import ModelRow
from gaia.pricing.models import TOKEN_LABELS, TOKEN_TYPES
from gaia.pricing.tokens import other_ttl


def model_label(model: str) -> str:
    """A model's name for a picker: ``Claude X (deprecated) ⚠`` (⚠: a price or rule without a primary source)."""
    f = catalogue().models[model]
    return f"{f.display_name}{'' if f.status == 'current' else f' ({f.status})'}{' ⚠' if f.uncertain else ''}"


def nothing_to_estimate(est: Estimate) -> str:
    """Why an estimate covers no video, in the words the CLI uses: everything is analysed already, or no video
    has keyframes (or every one is excluded)."""
    if est.done:
        return (f"Every video with keyframes is already analysed with these settings ({est.done}); nothing is left "
                "to estimate. Results shows the analyses; Submit's “Send again” pays for fresh ones.")
    return ("No video has keyframes yet (or every video is excluded). Extract them on the Keyframes page; the "
            "estimate follows the frames and videos you keep there.")


def mean_output(history: History | None) -> int | None:
    """The output tokens per video the estimate takes from past answers for this prompt and model: their
    mean, which is what predicts a total (``None`` without history)."""
    if history is None or not history.output_tokens:
        return None
    return round(sum(history.output_tokens) / len(history.output_tokens))


def used_token_types(est: Estimate) -> list[str]:
    """The token types any scenario of the estimate uses."""
    return [t for t in TOKEN_TYPES if any(s.cost.tokens.get(t) for s in est.scenarios)]


def scenario_table(est: Estimate) -> list[dict[str, Any]]:
    """The four scenarios with totals, savings, ranges and the cost of each token type used."""
    rows = []
    for s in est.scenarios:
        row: dict[str, Any] = {
            "scenario": s.label, "total (USD)": round(s.total_usd, 4), "per video (USD)": round(s.per_video_usd, 5),
            "saving vs standard (USD)": round(s.saving_usd, 4), "saving (%)": round(s.saving_pct, 1),
            "range (USD)": f"{fmt.usd(s.low_usd)} – {fmt.usd(s.high_usd)}"}
        for t in used_token_types(est):
            row[f"{TOKEN_LABELS[t].lower()} (USD)"] = round(s.cost.usd.get(t), 4)
        rows.append(row)
    return rows


def token_counts_text(est: Estimate) -> str:
    """The token counts per scenario in one sentence."""
    used = used_token_types(est)
    return "Token counts by type: " + "; ".join(
        f"{s.label}: " + ", ".join(f"{TOKEN_LABELS[t].lower()} {fmt.tokens(s.cost.tokens.get(t))}" for t in used
                                   if s.cost.tokens.get(t))
        for s in est.scenarios) + ". Cache writes and reads are expected values (hit share × requests)."


def money_records(est: Estimate, scenario: str = "batch_caching") -> list[dict[str, Any]]:
    """Where the money goes in one scenario: part, USD, share, largest first."""
    total = est.scenario(scenario).total_usd or 1
    return [{"part": MONEY_LABELS[k], "USD": round(v, 4), "share (%)": round(100 * v / total, 1)}
            for k, v in sorted(est.money[scenario].items(), key=lambda kv: -kv[1])]


def model_records(rows: list[ModelRow], reference: ModelRow) -> list[dict[str, Any]]:
    """The same run on every model, one row each."""
    return [{
        "model": r.display_name + (" ⚠" if r.uncertain else ""),
        "status": r.status,
        "batch + caching (USD)": round(r.usd["batch_caching"], 4),
        "standard (USD)": round(r.usd["standard"], 4),
        f"× {reference.display_name}": round(r.relative, 3),
        "caches prefix": "yes" if r.caches else f"no (needs {fmt.tokens(r.min_cacheable)})",
        "sees frames at": (f"{r.frame_size[0]}×{r.frame_size[1]}" if r.frame_size else fmt.MISSING)
        + (" (downscaled)" if r.downscaled else ""),
        "image tier": f"{r.max_edge} px",
        "image tokens": r.image_tokens,
        "uncertain": ", ".join(r.uncertain),
        "prices as of": r.as_of,
    } for r in rows]


def ttl_text(est: Estimate, ttl: str) -> str:
    """What the other cache lifetime would cost instead."""
    other = other_ttl(ttl)
    diff = est.ttl_totals[other] - est.ttl_totals[ttl]
    return (f"With a {other} cache instead of {ttl}: {fmt.usd(est.ttl_totals[other])} with the Batch API + caching "
            f"({'+' if diff >= 0 else '−'}{fmt.usd(abs(diff))}).")
