"""What the Submit page shows beside the plan: the spend-cap check and a token for page caches.

``cap_problem`` says why a spend cap blocks submitting; ``folder_token`` changes whenever the
folder's settings, selection, frame cache or ledger change, so a page can keep a plan until then.
"""

from __future__ import annotations

from pathlib import Path

from gaia import format as fmt
from gaia.folder import Folder
from gaia.media.keyframes import FRAMES_DIR


def cap_problem(estimate_usd: float | None, cap_usd: float | None) -> str | None:
    """Why a spend cap blocks submitting (``None`` when there is no cap or the estimate is within it)."""
    if cap_usd is None:
        return None
    if estimate_usd is None:
        return f"A spend cap of {fmt.usd(cap_usd)} is set but there is no cost estimate to check it against."
    if estimate_usd > cap_usd:
        return (f"The estimated cost {fmt.usd(estimate_usd)} is above your cap of {fmt.usd(cap_usd)}. Raise the "
                "cap, or send fewer videos or frames (Keyframes page).")
    return None


def folder_token(folder: Path | str) -> str:
    """Changes whenever the folder's settings, selection, frame cache or ledger change (for page caches)."""
    wd = Folder.of(folder).existing_workdir()
    parts = []
    for name in ("settings.json", "selection.json", FRAMES_DIR, "ledger.sqlite3", "ledger.sqlite3-wal", "prompts"):
        try:
            st_ = (wd / name).stat()
            parts.append(f"{name}:{st_.st_mtime_ns}:{st_.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)
