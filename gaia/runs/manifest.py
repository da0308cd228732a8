"""Batch manifests: a small copy, outside the ledger, of every batch this folder may have in flight.

Written (atomically, in ``.gaia/manifests/``) once a batch's intent is in the ledger and before the
batch is created, with the run, the request count, the custom_ids and the videos they stand for, and
the batch id once the API gives it. If the ledger is then emptied, deleted or set aside as damaged,
``restore`` puts those intents back before anything is sent, so reconciliation finds (and proves, by
custom_ids) the batches already paid for instead of sending their videos again. A manifest is removed
once its batch is settled in the ledger (results all recorded, or never created).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gaia.folder import Folder
from gaia.fsutil import atomic_write_json, read_json
from gaia.ledger import BatchState, EventKind, Ledger, RequestIntent, ResultsState, RunRow
from gaia.sidecar import SidecarError, read_sidecar

MANIFESTS_DIR = "manifests"


def manifest_path(folder: Folder, run_id: str, local_id: int) -> Path:
    """Where the manifest of one batch intent lives."""
    return folder.workdir / MANIFESTS_DIR / f"{run_id}-{local_id:06d}.json"


def write_manifest(folder: Folder, run: RunRow | None, local_id: int, fingerprint: str | None,
                   intents: list[RequestIntent], *, batch_id: str | None = None, path: Path | None = None) -> Path:
    """Write (or rewrite, with its ``batch_id``) one batch's manifest; returns its path."""
    path = path or manifest_path(folder, run.run_id if run else "run", local_id)
    atomic_write_json(path, {
        "run": asdict(run) if run else None, "fingerprint": fingerprint, "batch_id": batch_id,
        "requests": [{**asdict(i), "timestamps": list(i.timestamps)} for i in intents]})
    return path


def manifests(folder: Folder) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable manifest of the folder, oldest name first."""
    box = folder.existing_workdir() / MANIFESTS_DIR
    out = []
    for path in sorted(box.glob("*.json")) if box.is_dir() else ():
        data = read_json(path)
        if isinstance(data, dict) and isinstance(data.get("requests"), list) and data.get("fingerprint"):
            out.append((path, data))
    return out


def restore_from_sidecars(folder: Folder, ledger: Ledger) -> int:
    """Once per ledger that starts empty in a folder with answers (the ledger was emptied, deleted or set
    aside): put back each sidecar's answered request (its run, usage and cost), so what was spent and
    what was answered are not forgotten. Returns how many were restored."""
    if ledger.meta("sidecars_read"):
        return 0
    if ledger.runs():  # a ledger in use holds its own history
        ledger.set_meta("sidecars_read", "1")
        return 0
    from gaia.media.scan import list_videos

    restored = 0
    with contextlib.suppress(OSError, ValueError):
        for path, _ in list_videos(folder.path):
            try:
                data = read_sidecar(path)
            except SidecarError:
                continue
            run = (data or {}).get("run")
            if isinstance(run, dict) and "analysis" in (data or {}):
                restored += ledger.restore_answer(run, path.relative_to(folder.path).as_posix())
    ledger.set_meta("sidecars_read", "1")
    if restored:
        ledger.record_event(EventKind.LEDGER_REBUILT, f"{restored} answered request(s) were restored into the "
                            "ledger from the sidecars (what was spent and answered is not forgotten).")
    return restored


def restore(folder: Folder, ledger: Ledger) -> int:
    """Put back every manifest's batch the ledger no longer knows (an emptied, deleted or damaged
    ledger), as a pending intent (or, with its batch id, a batch to prove at retrieval); remove the
    manifests of batches the ledger has settled. Returns how many batches were restored."""
    restore_from_sidecars(folder, ledger)
    found = manifests(folder)
    if not found:
        return 0
    by_fp = {b.fingerprint: b for b in ledger.batches() if b.fingerprint}
    answered = {(r.run_id, r.custom_id) for r in ledger.requests(status="succeeded")}
    restored = 0
    for path, data in found:
        row = by_fp.get(data["fingerprint"])
        run = data.get("run") or {}
        settled = row is not None and (row.state == BatchState.ABANDONED or row.results_state == ResultsState.DONE)
        # Every answer of the batch is back from the sidecars: it ended and was delivered, nothing is in flight.
        delivered = bool(data["requests"]) and all((run.get("run_id"), r.get("custom_id")) in answered
                                                   for r in data["requests"])
        if settled or delivered:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if row is not None:
            continue
        intents = [RequestIntent(**{**r, "timestamps": tuple(r.get("timestamps") or ())}) for r in data["requests"]]
        run_id = ledger.new_run(mode=run.get("mode") or "batch", model=run.get("model") or "",
                                prompt_hash=run.get("prompt_hash") or "", settings=run.get("settings") or {},
                                retry_of=run.get("retry_of"), estimate_usd=run.get("estimate_usd"),
                                run_id=run.get("run_id"))
        local_id = ledger.add_batch_intent(run_id, intents)
        if data.get("batch_id"):
            ledger.mark_batch_submitted(local_id, {"id": data["batch_id"]}, matched_by="manifest")
        restored += 1
    if restored:
        ledger.record_event(EventKind.LEDGER_REBUILT, f"{restored} batch(es) in flight were restored into the ledger "
                            "from .gaia/manifests/ before anything was sent; each is proven by its custom_ids before "
                            "its results are written.")
    return restored

