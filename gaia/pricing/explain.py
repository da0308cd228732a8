"""What the numbers mean: plain-language findings computed from a bill or an estimate.

Each ``Explanation`` is one finding (where the money goes, what caching did or will do and why,
what the Batch API saves, the biggest lever left) with its dollar effect when it has one. Every
figure in the text is formatted by ``gaia.format``. The levers of an estimate (fewer frames,
smaller frames, shorter answers) are priced by the estimate itself and handed in as ``Lever``s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gaia.facts import ModelFacts
from gaia.format import pct, usd
from gaia.pricing.cache import CacheInfo, breakeven_share, other_ttl
from gaia.pricing.run import MONEY_LABELS
from gaia.pricing.scenarios import HEADLINE_SCENARIO, Scenario, scenario
from gaia.pricing.usage import TOKEN_LABELS, TOKEN_TYPES, TokenCounts


@dataclass(frozen=True)
class Explanation:
    """One plain-language finding computed from the numbers, with its dollar effect when it has one."""

    key: str
    title: str
    text: str
    usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Lever:
    """One change to a run and what it would save (in the headline scenario)."""

    saving_usd: float
    what: str  # e.g. "sending 3 frames per video instead of 6"


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def explain_bill(tokens: TokenCounts, scenarios: Sequence[Scenario]) -> list[Explanation]:
    """What a bill's numbers mean: where the money went, what caching did and why, what is left to save."""
    bc = scenario(tuple(scenarios), HEADLINE_SCENARIO).cost
    batch = scenario(tuple(scenarios), "batch")
    total = bc.total_usd
    if total <= 0:
        return []
    shares = bc.shares()
    order = sorted((t for t in TOKEN_TYPES if bc.usd.get(t) > 0), key=lambda t: -bc.usd.get(t))
    out = [Explanation("money", "Where the money goes", "With the Batch API and caching: " + ", ".join(
        f"{TOKEN_LABELS[t].lower()} {pct(shares[t])} ({usd(bc.usd.get(t))})" for t in order) + ".", None)]
    cached = tokens.cache_writes + tokens.cache_read
    if cached and tokens.prompt:
        saving = batch.total_usd - total
        out.append(Explanation(
            "caching", "What caching did",
            f"The cached prefix is {pct(cached / tokens.prompt)} of the input tokens ({cached:,.0f} of "
            f"{tokens.prompt:,.0f}); {pct(tokens.cache_read / cached)} of it was read back from the cache. Caching "
            f"saved {usd(saving)}: {pct(_share(saving, batch.cost.input_usd))} of the input cost but only "
            f"{pct(saving / batch.total_usd)} of the bill, because input is {pct(1 - shares['output'])} of the cost "
            f"and output {pct(shares['output'])}.", saving))
    if bc.output_usd:
        half_out = bc.output_usd / 2
        out.append(Explanation(
            "lever", "The biggest lever left" if shares["output"] >= 0.5 else "Output",
            f"Output costs {usd(bc.output_usd)}; answers half as long (fewer or shorter fields in the schema) "
            f"would save {usd(half_out)}, {pct(half_out / total)} of the bill. A cheaper model saves on "
            "every token type at once.", half_out))
    return out


def _money(total_usd: float, money: Mapping[str, float]) -> Explanation:
    order = sorted(money.items(), key=lambda kv: -kv[1])
    total = total_usd or 1.0
    parts = ", ".join(f"{MONEY_LABELS[k].lower()} {pct(v / total)} ({usd(v)})" for k, v in order)
    return Explanation(
        "money", "Where the money goes",
        f"With the Batch API and caching the run costs {usd(total_usd)}: {parts}. "
        f"{MONEY_LABELS[order[0][0]]} is the largest part; that is where savings count most.", None)


def _caching(batch_usd: float, headline_usd: float, prefix_usd: float, c: CacheInfo,
             ttl_totals: Mapping[str, float], f: ModelFacts) -> Explanation:
    if not c.caches:
        return Explanation("caching", "What caching saves, and why", c.message + " Lengthening the prompt only "
                           "to reach the minimum rarely pays: the added tokens are billed on every request.", 0.0)
    saving = batch_usd - headline_usd
    source = "from your history" if c.read_share_source == "history" else "assumed; the docs say 30% to 98%"
    text = (f"The cacheable part of each request is the system prompt + schema, {c.prefix_tokens:,} tokens or "
            f"{pct(c.cacheable_share)} of its input; the frames differ per video and are never read back. "
            f"In a batch about {pct(c.read_share_batch)} of requests read the cache ({source}), "
            f"so caching {'saves' if saving >= 0 else 'costs an extra'} {usd(abs(saving))} "
            f"({pct(abs(saving) / (batch_usd or 1))} of the batch cost); "
            f"the prefix costs {usd(prefix_usd)} instead of {usd(prefix_usd + saving)}.")
    other = other_ttl(c.ttl)
    diff = ttl_totals[other] - ttl_totals[c.ttl]
    w1, w5, rd = f.cache_write_1h_multiplier, f.cache_write_5m_multiplier, f.cache_read_multiplier
    text += (f" A {other} cache would cost {usd(abs(diff))} {'more' if diff > 0 else 'less'} at the same hit "
             f"share. A 1-hour write costs {w1:g}x input and pays off when more than {pct(breakeven_share(w1, rd))} "
             f"of requests read it ({pct(breakeven_share(w5, rd))} for {w5:g}x 5-minute writes); but a batch often "
             "runs longer than 5 minutes, so a 5-minute entry expires between requests and hits less often. "
             "The docs recommend 1 hour for batches.")
    return Explanation("caching", "What caching saves, and why", text, saving)


def _lever(levers: Sequence[Lever], total_usd: float) -> Explanation | None:
    ranked = sorted(levers, key=lambda lv: -lv.saving_usd)
    if not ranked or ranked[0].saving_usd <= 0:
        return None
    best = ranked[0]
    rest = "; ".join(f"{lv.what}: {usd(lv.saving_usd)}" for lv in ranked[1:] if lv.saving_usd > 0)
    return Explanation("lever", "The biggest lever left",
                       f"{best.what[0].upper()}{best.what[1:]} would save {usd(best.saving_usd)} "
                       f"({pct(best.saving_usd / (total_usd or 1.0))} of the batch + caching cost)."
                       + (f" Other levers: {rest}." if rest else "")
                       + " Changing the model is often bigger still: see the model comparison.", best.saving_usd)


def explain_estimate(scenarios: Sequence[Scenario], money: Mapping[str, float], cache: CacheInfo,
                     ttl_totals: Mapping[str, float], f: ModelFacts, levers: Sequence[Lever]) -> list[Explanation]:
    """What an estimate means: where the money goes, what caching and the Batch API save, the biggest lever left.

    ``money`` is the headline scenario's part → USD; ``levers`` the priced alternatives.
    """
    sc = tuple(scenarios)
    head = scenario(sc, HEADLINE_SCENARIO).total_usd
    batch = scenario(sc, "batch").total_usd
    batch_saving = scenario(sc, "standard").total_usd - batch
    out = [_money(head, money), _caching(batch, head, money["prefix"], cache, ttl_totals, f),
           Explanation("batch", "What the Batch API saves",
                       f"The Batch API halves every token type: {usd(batch_saving)} less than sending the same "
                       "requests one by one, at the price of waiting (most batches end within an hour, "
                       "at most 24 h).", batch_saving)]
    lever = _lever(levers, head)
    if lever is not None:
        out.append(lever)
    return out
