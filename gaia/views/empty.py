"""The Keyframes page's likely-empty clips: a contact sheet, the threshold's saving, one click to exclude.

Each card is one likely-empty clip at the folder's threshold: the middle of its extracted frames, its
score and the measure's reason. ``saving_text`` says what leaving them out saves, priced by the one
estimate (``gaia.pricing.levers.empty_saving``); ``exclude`` uses the folder's ordinary exclusions,
so the choice shows (and can be undone) like any other video's "In the run" switch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gaia import format as fmt
from gaia.facts import model_name
from gaia.folder import Folder
from gaia.media.empty import EmptyScore, empty_scores, likely_empty
from gaia.media.keyframes import KeyframeSet
from gaia.media.scan import scan_folder
from gaia.pricing.estimate import Estimate, RunInputs
from gaia.pricing.levers import EmptySaving, MissRate, empty_saving, folder_estimator, measured_misses, without
from gaia.pricing.tokens import PromptTokens
from gaia.runs.levers import CascadeResult
from gaia.settings import Selection

THRESHOLD_STEPS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class EmptyCard:
    """One likely-empty clip on the contact sheet."""

    rel_path: str
    image: Path | None  # the middle extracted frame (``None``: no frames)
    score: float
    reason: str
    excluded: bool

    @property
    def caption(self) -> str:
        """``wind.mp4 · 0.98 · Swaying background only`` (``· excluded`` when left out)."""
        return (f"{self.rel_path} · {self.score:.2f} · {self.reason}"
                + (" · excluded" if self.excluded else ""))


def empty_cards(sets: Sequence[KeyframeSet], scores: Mapping[str, EmptyScore], selection: Selection,
                threshold: float) -> list[EmptyCard]:
    """The contact sheet: every likely-empty clip with frames, most certainly empty first."""
    cards = []
    for k in sets:
        s = scores.get(k.rel_path)
        if s is None or not s.likely_empty(threshold) or not k.frames:
            continue
        frame = k.frames[len(k.frames) // 2]
        cards.append(EmptyCard(k.rel_path, frame.path, s.score, s.reason, selection.video_excluded(k.rel_path)))
    return sorted(cards, key=lambda c: (-c.score, c.rel_path))


def to_exclude(cards: Sequence[EmptyCard]) -> list[str]:
    """The clips of the sheet still in the run."""
    return [c.rel_path for c in cards if not c.excluded]


def exclude(folder: Path | str, rel_paths: Collection[str], excluded: bool = True) -> Selection:
    """Exclude (or include again) ``rel_paths`` as whole videos, in one write of the folder's exclusions."""
    f = Folder.of(folder)
    sel = f.selection()
    new = without(sel, rel_paths) if excluded else sel
    if not excluded:
        for rel in rel_paths:
            new = new.with_video(rel, False)
    f.save_selection(new)
    return new


def saving_text(saving: EmptySaving, threshold: float, miss: MissRate | None = None) -> str:
    """What leaving the sheet's clips out saves at ``threshold``, and the measured misses when known."""
    if not saving.clips:
        text = f"At the threshold {threshold:g} no clip still in the run is likely empty."
    else:
        text = (f"At the threshold {threshold:g}, leaving out {saving.clips} likely-empty clip(s) saves "
                f"{fmt.usd(saving.saving_usd)} ({fmt.pct(saving.saving_share)} of {fmt.usd(saving.with_usd)}, "
                "Batch API with caching).")
    if miss is not None and miss.sampled:
        text += f" The measured miss rate: {miss.describe()}."
    else:
        text += (" Misses not measured yet: no sample of these clips has been sent (the Tune page, or gaia tune DIR "
                 "--empty-sample N, sends one and counts those with a subject).")
    return text


def threshold_steps(current: float) -> list[float]:
    """The thresholds offered (the current one included)."""
    return sorted({*THRESHOLD_STEPS, current})


def empty_lever_text(folder: Path | str, inp: RunInputs, est: Estimate, *, text_tokens: PromptTokens | None = None,
                     output_tokens_default: int | None = None) -> str | None:
    """The Estimate page's line on likely-empty clips (checked ones only, nothing decoded): what leaving them
    out saves at the folder's threshold, and the measured miss rate; ``None`` when no clip left is likely empty."""
    threshold = inp.settings.empty_threshold
    rels = {k.rel_path for k in inp.sets}
    records = [r for r in scan_folder(folder).records if r.rel_path in rels]
    flagged = likely_empty(empty_scores(folder, records, measure_missing=False), threshold)
    if not flagged:
        return None
    estimate = folder_estimator(inp, text_tokens=text_tokens, output_tokens_default=output_tokens_default)
    saving = empty_saving(lambda sel: est if sel == inp.selection else estimate(sel), inp.selection, flagged)
    if not saving.clips:
        return None
    return saving_text(saving, threshold, measured_misses(folder)) + " Review them on the Keyframes page."


CASCADE_HELP = ("Every video goes first to the model and frame size chosen here; only answers the schema marks as "
                "uncertain (lowest confidence, species unknown, frames disagreeing) go again to {model} with the "
                "folder's frames. Run here, both are ordinary runs now, at standard prices; saved as the folder's "
                "default, the Batch tab sends the first pass as a batch and retrieving it sends the second. Both "
                "answers stay in the sidecar.")


def cascade_default_model(models: Sequence[str]) -> str:
    """The first pass's default model: the first Haiku offered, else the first model."""
    return next((m for m in models if "haiku" in m), models[0])


def cascade_pass_line(n: int, videos: int, model: str, preset: str) -> str:
    """``Pass 1 of 2: 5 video(s) with Claude Haiku 5.5 at the economy frame size.`` (pass 2: the model its
    cascade recorded as strong, with that configuration's frames, which may be an earlier cascade's)."""
    frames = f"at the {preset} frame size" if n == 1 else "at its strong configuration's frame size"
    return f"Pass {n} of 2: {videos} video(s) with {model_name(model)} {frames}."


def cascade_summary(res: CascadeResult) -> str:
    """``Cascade done: 3 first answers kept, 2 sent again; $0.0235 in both passes.``"""
    word = "done" if res.ok else "ended with problems"
    return (f"Cascade {word}: {len(res.kept)} first answer(s) kept, {len(res.escalated)} sent again; "
            f"{fmt.usd(res.spent_usd)} in both passes.")
