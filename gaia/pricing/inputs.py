"""The estimate of a folder's run, and what it needs, read from its ``Folder`` (nothing is decoded).

``load_run_inputs`` gathers the folder's settings, the keyframes as extracted (with the Keyframes
page's exclusions), its prompt profile, the videos' own frame sizes (for what-if above the
extracted size), the history of past runs of the same prompt and model, and which videos are
already analysed with these settings (an estimate covers the rest).

``estimate_folder`` is the one pipeline from a folder to its ``Estimate``: the Estimate page and
``gaia estimate`` both call it. ``folder_prompt_tokens`` is the one count of the prompt for a
folder: exact (``count_tokens``) when an API client is given, and then kept in the working
folder, so every later figure for the run (Submit's button, ``--max-cost``, the ledger's recorded
estimate, run now, the tune's pricing) uses the same count; approximate, and said so, when no API
has ever counted it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gaia.facts import catalogue
from gaia.folder import Folder
from gaia.media.keyframes import KeyframeSet, cached_keyframes
from gaia.media.scan import VideoRecord, scan_folder
from gaia.pricing.estimate import Estimate, estimate_run
from gaia.pricing.history import History, history
from gaia.pricing.tokens import PromptTokens, prompt_tokens
from gaia.prompts import PromptProfile, default_profile
from gaia.settings import RunSettings, Selection, run_fingerprint
from gaia.sidecar import sidecar_state

if TYPE_CHECKING:
    from anthropic import Anthropic


@dataclass(frozen=True)
class RunInputs:
    """What an estimate of a folder needs, read from its working folder (nothing is decoded).

    ``sets`` are the keyframes as extracted (for ``extracted_for``, the folder's model unless only
    another image tier's frames exist); they are re-priced for ``model``. ``source_sizes`` are the
    videos' own frame sizes (for what-if above the extracted size). ``history`` is empty when the
    folder has no ledger yet, ``None`` when its ledger cannot be read.
    """

    folder: Path
    settings: RunSettings
    model: str
    cache_ttl: str
    profile: PromptProfile
    sets: tuple[KeyframeSet, ...]
    selection: Selection
    history: History | None
    source_sizes: dict[str, tuple[int, int]]
    extracted_for: str
    done: frozenset[str] = frozenset()  # videos whose sidecar holds an analysis with these settings


TOKEN_COUNTS_FILE = "token_counts.json"


def folder_prompt_tokens(folder: Folder | Path | str, profile: PromptProfile, model: str, *,
                         client: Anthropic | None = None) -> PromptTokens:
    """The count of ``profile``'s prompt on ``model`` that every figure for ``folder``'s run uses: exact
    through ``count_tokens`` with a ``client`` (kept in the working folder), else an exact count kept
    from earlier, else the approximation (``exact`` says which)."""
    f = Folder.of(folder)
    if client is not None:
        return prompt_tokens(profile, model, client=client, cache_file=f.workdir / TOKEN_COUNTS_FILE)
    return prompt_tokens(profile, model, cache_file=f.existing_workdir() / TOKEN_COUNTS_FILE)


def estimate_folder(folder: Folder | Path | str | RunInputs, *, client: Anthropic | None = None,
                    max_tokens: int | None = None, output_tokens_default: int | None = None,
                    text_tokens: PromptTokens | None = None, explain: bool = True,
                    selection: Selection | None = None) -> Estimate:
    """The estimate of ``folder``'s next run: its inputs (``load_run_inputs``, or the ``RunInputs`` given),
    the prompt counted by ``folder_prompt_tokens`` (unless ``text_tokens``), and ``max_tokens`` (default:
    the folder's setting), for the folder's selection or the ``selection`` given (videos left out, such as
    likely-empty clips). The Estimate page and ``gaia estimate`` both compute it here."""
    inp = folder if isinstance(folder, RunInputs) else load_run_inputs(folder)
    text = text_tokens or folder_prompt_tokens(inp.folder, inp.profile, inp.model, client=client)
    return estimate_run(inp.sets, model=inp.model, profile=inp.profile, cache_ttl=inp.cache_ttl,
                        selection=inp.selection if selection is None else selection, history=inp.history,
                        output_tokens_default=output_tokens_default,
                        text_tokens=text, source_sizes=inp.source_sizes,
                        max_tokens=max_tokens or inp.settings.max_tokens, done=inp.done, explain=explain)


def _profile(f: Folder, settings: RunSettings) -> PromptProfile:
    try:
        return f.profile(settings.prompt_profile)
    except (KeyError, ValueError, OSError):
        return default_profile()


def _extracted(f: Folder, settings: RunSettings, model: str,
               records: Sequence[VideoRecord]) -> tuple[str, list[KeyframeSet]]:
    """The model whose extracted frames cover the most videos (the folder's and ``model``'s tiers first), and its sets.

    Frames extracted for another image tier still give an estimate: they are re-priced for ``model``.
    """
    cat = catalogue()
    candidates = [settings.model, model]
    seen_tiers = {cat.models[m].image_tier.name for m in candidates if m in cat.models}
    for m in cat.models.values():
        if m.image_tier.name not in seen_tiers:
            seen_tiers.add(m.image_tier.name)
            candidates.append(m.id)
    best: tuple[int, str, list[KeyframeSet]] | None = None
    for m in dict.fromkeys(candidates):
        if m not in cat.models:
            continue
        sets = cached_keyframes(f.path, settings=settings.keyframes, model=m, records=records)
        n = sum(1 for s in sets if s.frames)
        if best is None or n > best[0]:
            best = (n, m, sets)
    return (best[1], best[2]) if best else (model, [])


def _source_sizes(records: Sequence[VideoRecord]) -> dict[str, tuple[int, int]]:
    """rel_path → the video's frame size as shown (rotation applied)."""
    return {r.rel_path: (r.height, r.width) if r.rotation in (90, 270, -90) else (r.width, r.height)
            for r in records if r.width and r.height}


def _history(f: Folder, profile: PromptProfile, model: str) -> History | None:
    try:
        return history(f, prompt_hash=profile.hash, model=model)
    except Exception:  # a damaged ledger: estimate from the defaults
        return None


def _done(f: Folder, settings: RunSettings, profile: PromptProfile, sets: Sequence[KeyframeSet]) -> frozenset[str]:
    """The videos already analysed with these settings (model, prompt, keyframes): a run would skip them."""
    fp = run_fingerprint(settings, profile.hash)
    return frozenset(ks.rel_path for ks in sets if sidecar_state(f.path / ks.rel_path, fp) == "analysed")


def load_run_inputs(folder: Folder | Path | str, *, model: str | None = None, cache_ttl: str | None = None,
                    records: Sequence[VideoRecord] | None = None) -> RunInputs:
    """Settings, keyframes (with the Keyframes page's exclusions), prompt profile and history of ``folder``.

    ``model`` and ``cache_ttl`` default to the folder's saved settings. ``records`` (a scan's
    ``VideoRecord``s) saves a rescan when the caller has one.
    """
    f = Folder.of(folder)
    settings = f.settings()
    model = model or settings.model
    profile = _profile(f, settings)
    recs = list(records) if records is not None else list(scan_folder(f.path).records)
    extracted_for, sets = _extracted(f, settings, model, recs)
    done = _done(f, replace(settings, model=model), profile, sets)
    return RunInputs(f.path, settings, model, cache_ttl or settings.cache_ttl, profile, tuple(sets),
                     f.selection(), _history(f, profile, model), _source_sizes(recs), extracted_for, done)
