"""What an estimate reads from a folder: settings, keyframes, profile, source sizes, history."""

from __future__ import annotations

from pathlib import Path

from gaia.folder import Folder
from gaia.media.scan import scan_folder
from gaia.pricing.history import History
from gaia.pricing.inputs import load_run_inputs


def test_load_run_inputs_takes_a_folder_a_path_or_a_string(make_folder) -> None:
    root = make_folder({"a.mp4": "testsrc"})
    folder = Folder.of(root)
    folder.save_settings(folder.settings().with_keyframes(count=2))
    records = scan_folder(root).records
    by_folder = load_run_inputs(folder, records=records)
    assert by_folder == load_run_inputs(root, records=records) == load_run_inputs(str(root), records=records)
    assert by_folder.folder == folder.path and by_folder.model == folder.settings().model
    assert by_folder.settings.keyframes.count == 2
    assert [s.rel_path for s in by_folder.sets] == ["a.mp4"] and not by_folder.sets[0].frames  # not extracted yet
    w, h = by_folder.source_sizes["a.mp4"]
    assert w > 0 and h > 0
    # Nothing sent yet: an empty history, not an error.
    assert by_folder.history == History(model=by_folder.model, prompt_hash=by_folder.profile.hash)
    assert load_run_inputs(folder, records=records, model="claude-haiku-5-5", cache_ttl="5m").cache_ttl == "5m"


def test_a_damaged_ledger_leaves_the_estimate_on_its_defaults(make_folder) -> None:
    root = make_folder({"a.mp4": "testsrc"})
    folder = Folder.of(root)
    ledger = Path(folder.ledger_path)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"this is not a database")
    assert folder.has_ledger
    inp = load_run_inputs(folder, records=scan_folder(root).records)  # does not raise
    assert inp.history is None or (not inp.history.output_tokens and not inp.history.cache_read_shares)
