"""The cascade's rules and records, light enough for the recorder: which first answers escalate, and what a run
and a sidecar keep of a cascade.

``uncertain`` is the rule, read from the schema: a ``confidence`` enum whose answer is its lowest
value, a subject whose species (or type) is missing, unknown or only coarse ("mammal"), or an answer
that says the frames disagree (a ``frames_disagree`` boolean, or a tag ``frames-disagree``).
``CascadePass`` is what the ledger keeps in a cascade run's settings (``SentSettings.cascade_pass``): which
pass it is, the cheap configuration, the strong settings the second pass uses, the spend cap for both
passes, and for a second pass (or a first-pass run sending videos again, a retry) the cascade's first run.
A restarted process reads it to continue a batch cascade (``gaia.runs.cascade``). ``cascade_block`` is
the sidecar's record of a first pass (``cascade``): its answer, whether and why it was escalated, and for
a kept answer the fingerprint it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gaia.folder import Folder
from gaia.settings import RunSettings, read_settings_data, run_fingerprint
from gaia.sidecar import CASCADE_KEY, STANDS_FOR_KEY

UNKNOWN_WORDS = ("unknown", "unidentified", "unclear", "unsure", "not sure", "?")
COARSE_NAMES = ("animal", "mammal", "bird", "reptile", "fish", "insect")
PASS_KEY = "cascade_pass"  # the key of a run's stored settings that marks it as a cascade pass


def subject_lists(schema: Mapping[str, Any]) -> list[str]:
    """Top-level properties that are lists of objects (the subjects an answer found)."""
    props = schema.get("properties") or {}
    return [k for k, v in props.items() if isinstance(v, Mapping) and v.get("type") == "array"
            and isinstance(v.get("items"), Mapping) and v["items"].get("type") == "object"]


def has_subject(analysis: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> bool:
    """Whether an answer reports a subject: any top-level list of objects in ``schema`` is not empty."""
    if not isinstance(analysis, Mapping):
        return False
    return any(analysis.get(k) for k in subject_lists(schema))


def uncertain(analysis: Mapping[str, Any] | None, schema: Mapping[str, Any]) -> str | None:
    """Why a first-pass answer should go to the stronger configuration, or ``None`` when it is sure enough."""
    if not isinstance(analysis, Mapping):
        return "no usable first answer"
    props = schema.get("properties") or {}
    conf = props.get("confidence")
    if isinstance(conf, Mapping) and conf.get("enum") and analysis.get("confidence") == conf["enum"][-1]:
        return f"{conf['enum'][-1]} confidence"
    for key in subject_lists(schema):
        item_props = (props[key].get("items") or {}).get("properties") or {}
        name = next((n for n in ("species", "type", "kind", "name") if n in item_props), None)
        for subject in analysis.get(key) or []:
            if name is None or not isinstance(subject, Mapping):
                continue
            value = str(subject.get(name) or "").replace("(emulated)", "").strip().lower()
            if not value or any(w in value for w in UNKNOWN_WORDS) or value in COARSE_NAMES:
                return f"{name} unknown while a subject is present"
    if analysis.get("frames_disagree") is True or "frames-disagree" in (analysis.get("tags") or []):
        return "the frames disagree"
    return None


@dataclass(frozen=True)
class CascadePass:
    """One pass of a batch cascade as its run records it (``number`` 1: the cheap pass, 2: the escalated clips)."""

    number: int
    cheap_model: str
    cheap_preset: str
    strong: RunSettings
    max_cost_usd: float | None = None  # the user's cap for both passes together
    first_run: str | None = None  # a second pass, or a first pass sending videos again: the cascade's first run

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept in the run's settings."""
        return {"pass": self.number, "cheap_model": self.cheap_model, "cheap_preset": self.cheap_preset,
                "strong": self.strong.to_dict(), "max_cost_usd": self.max_cost_usd, "first_run": self.first_run}

    @classmethod
    def of(cls, stored: Any) -> CascadePass | None:
        """Read it back from a run's settings (``None`` for a run that is no cascade pass, or an odd record)."""
        data = stored.get(PASS_KEY) if isinstance(stored, Mapping) else None
        if not isinstance(data, Mapping) or data.get("pass") not in (1, 2):
            return None
        try:
            strong = RunSettings.from_dict(dict(data.get("strong") or {}), sent_before=True)
        except (TypeError, ValueError):
            return None
        cap = data.get("max_cost_usd")
        first = data.get("first_run")
        return cls(int(data["pass"]), str(data.get("cheap_model") or ""), str(data.get("cheap_preset") or ""),
                   strong, float(cap) if isinstance(cap, int | float) and not isinstance(cap, bool) else None,
                   first if isinstance(first, str) else None)

    def retried(self, run_id: str) -> CascadePass:
        """The record of a run sending again requests of this pass's run ``run_id``: the same pass, configuration
        and cap, in the same cascade (a first pass's retry names the cascade's first run, as a second pass does),
        so a retried first answer is checked for escalation like the others and a retried second answer is the
        strong one."""
        first = self.first_run if self.number == 2 or self.first_run else run_id
        return CascadePass(self.number, self.cheap_model, self.cheap_preset, self.strong, self.max_cost_usd, first)

    def stands_for(self, prompt_hash: str) -> dict[str, Any]:
        """The fingerprint a kept first answer counts as: the strong settings' with the run's prompt."""
        return run_fingerprint(self.strong, prompt_hash)


def cascade_block(analysis: Any, run: Any, *, cheap_model: str, cheap_preset: str, reason: str | None,
                  stands_for: dict[str, Any]) -> dict[str, Any]:
    """The sidecar's ``cascade`` record of one first answer (``reason`` ``None``: kept, standing for ``stands_for``)."""
    return {CASCADE_KEY: {"cheap_model": cheap_model, "cheap_preset": cheap_preset,
                          "first": {"analysis": analysis, "run": run}, "escalated": reason is not None,
                          "reason": reason, STANDS_FOR_KEY: None if reason is not None else stands_for}}


def keep_strong_settings(folder: Folder, strong: RunSettings) -> None:
    """With no settings file, the folder's settings would be read from its answers, most of which a cascade's
    cheap pass made (and the second pass's would then look stale): keep the strong settings as the folder's."""
    if read_settings_data(folder.existing_workdir()) is None:
        folder.save_settings(strong)
