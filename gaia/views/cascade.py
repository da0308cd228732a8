"""A batch cascade in words and numbers, for ``gaia retrieve``/``gaia status`` and the Progress page.

``cascade_step_line`` says where one cascade stands after a retrieval; ``cascade_cards`` is the
Progress page's view of the latest cascades (``gaia.runs.cascade.cascade_states``): the pass each is
in, a progress fraction per pass, and a sentence. ``cascade_failed_text`` and ``cascade_retry_line`` say
what becomes of a cascade's failed requests when they are sent again (``gaia run --cascade``, the Run now
tab, ``gaia run --retry-failed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gaia.facts import model_name
from gaia.runs.cascade import CascadeStep, cascade_states
from gaia.runs.escalation import PASS_KEY, CascadePass
from gaia.runs.levers import CascadeResult
from gaia.runs.now import OnlineResult
from gaia.runs.plan import SubmissionPlan


def cascade_step_line(c: CascadeStep) -> str:
    """One sentence: where a batch cascade stands after a retrieval."""
    cheap, strong = model_name(c.cheap_model), model_name(c.strong_model)
    if c.resent:
        return (f"Cascade pass 1 of 2 ({cheap}): {c.resent} video(s) whose batch was never created sent "
                "again; the second pass is sent once their answers are retrieved.")
    if c.waiting:
        return (f"Cascade pass 1 of 2 ({cheap}): {c.waiting} of {c.first_videos} answer(s) still to come; "
                "the second pass is sent once all are retrieved.")
    if c.blocked:
        return c.blocked
    if c.unsent:
        return (f"Cascade pass 1 of 2 ({cheap}): {c.unsent} video(s) whose batch was never created are sent "
                "again at the next retrieval.")
    up = len(c.escalated)
    failed = (f" {c.failed} first-pass request(s) failed: 'gaia retry' sends them again as the first pass, and "
              "their uncertain answers go to the second pass at the next retrieval." if c.failed else "")
    failed += (f" {c.taken} video(s) whose first-pass request failed went with a later submission."
               if c.taken else "")
    if not up:
        answered = c.first_videos - c.failed - c.taken
        if c.failed:
            return (f"Cascade pass 1 of 2 ({cheap}): {answered} of {c.first_videos} first "
                    f"answer(s) back, none uncertain.{failed}")
        if c.taken:
            return (f"Cascade done: {answered} of {c.first_videos} first answer(s) from {cheap}, all sure enough; "
                    f"no second pass was needed.{failed}")
        return (f"Cascade done: all {c.first_videos} first answer(s) from {cheap} were sure enough; "
                "no second pass was needed.")
    if c.sent:
        return (f"Cascade pass 2 of 2: {c.sent} uncertain answer(s) of {c.first_videos} sent again with "
                f"{strong} in a new batch.{failed}")
    return (f"Cascade pass 2 of 2: {up} uncertain answer(s) of {c.first_videos} "
            f"{'sent again' if c.done else 'to send again'} with {strong}.{failed}")


@dataclass(frozen=True)
class CascadeCard:
    """One batch cascade on the Progress page: its heading, each pass's progress (0..1) and text."""

    heading: str
    first_fraction: float
    first_text: str
    second_fraction: float
    second_text: str
    done: bool
    between_passes: bool = False  # the first pass is through, and escalated videos wait for their second pass


def cascade_cards(folder: Path | str) -> list[CascadeCard]:
    """The latest batch cascades of ``folder``, newest first."""
    out = []
    for c in reversed(cascade_states(folder)):
        n = max(c.first_videos, 1)
        cheap, strong = model_name(c.cheap_model), model_name(c.strong_model)
        first_done = c.first_videos - c.waiting
        first_done -= c.unsent
        first_text = (f"Pass 1 of 2, {cheap}: {first_done} of {c.first_videos} answer(s) back"
                      + ("" if c.waiting else f"; {len(c.escalated)} uncertain")
                      + (f"; {c.unsent} whose batch was never created go again at the next retrieval"
                         if c.unsent else "")
                      + (f"; {c.failed} failed (a retry sends them as the first pass)" if c.failed else "")
                      + (f"; {c.taken} failed and went with a later submission" if c.taken else ""))
        up = len(c.escalated)
        if c.waiting or c.unsent:
            second_fraction, second_text = 0.0, "Pass 2 of 2 waits for every first answer."
        elif not up and c.failed:
            second_fraction, second_text = 0.0, "Pass 2 of 2: nothing uncertain yet; the failed first answers wait "\
                                                "for a retry."
        elif not up:
            second_fraction, second_text = 1.0, "Pass 2 of 2: nothing to send again; every first answer was sure."
        else:
            answered = c.sent - c.second_open
            second_fraction = answered / up if c.sent else 0.0
            second_text = (f"Pass 2 of 2, {strong}: {answered} of {up} uncertain video(s) answered again"
                           if c.sent else f"Pass 2 of 2, {strong}: {up} uncertain video(s) to send again "
                           "(sent when the results are retrieved)")
        state = "done" if c.done else ("pass 1 of 2" if c.waiting or c.unsent else "pass 2 of 2")
        out.append(CascadeCard(f"Cascade {cheap} → {strong}: {state}", first_done / n, first_text,
                               min(1.0, second_fraction), second_text, c.done,
                               between_passes=not c.waiting and not c.unsent and not c.done and c.sent < up))
    return out



def cascade_batch_text(plan: SubmissionPlan) -> str:
    """What the Batch tab sends when the folder's settings hold a cascade: its first pass, and what follows."""
    step = CascadePass.of({PASS_KEY: plan.cascade_pass})
    strong = step.strong.model if step else "the folder's model"
    preset = step.cheap_preset if step else "cheap"
    return (f"Cascade on (the folder's settings): this batch is its first pass, every video with {plan.model} at the "
            f"{preset} frame size. When its results are retrieved (Progress page), only the uncertain answers go "
            f"again, as a second batch, with {strong} and the folder's frames. Turn it off under Run now → Cascade.")


def cascade_failed_text(res: CascadeResult) -> str | None:
    """What becomes of a cascade run now's failed requests when sent again (``None`` when none failed)."""
    first = res.first.failed
    second = sum(r.failed for r in res.seconds)
    if not first and not second:
        return None
    out = []
    if first:
        out.append(f"{first} first-pass request(s) failed. Sent again now, they go as this cascade's first pass, "
                   "with the cheap settings, and their uncertain answers go to the second pass right after, under "
                   "what the spend cap has left; moved into a batch, the second pass follows when its results "
                   "are retrieved.")
    if second:
        out.append(f"{second} second-pass request(s) failed: sent again, they go as the second pass, with the "
                   "folder's settings.")
    return " ".join(out)


def cascade_retry_line(res: OnlineResult) -> str | None:
    """Which cascade pass a run sent again now went as (``None`` for a plain run)."""
    if res.cascade_pass == 1:
        return ("Cascade pass 1 of 2, sent again with the cheap settings: a cascade run now sends its uncertain "
                "answers to the second pass right after (below); a batch cascade at the next retrieval.")
    if res.cascade_pass == 2:
        return "Cascade pass 2 of 2: uncertain first answers sent with the folder's settings."
    return None
