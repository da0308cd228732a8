"""Small view models every page uses: a headline figure, model names, and images as data URLs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from gaia.facts import catalogue

# A grey placeholder for a video without a thumbnail (what ``st.column_config.ImageColumn`` shows).
NO_PREVIEW = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='64' height='40'>"
              "<rect width='64' height='40' rx='4' fill='%23eeeeee'/><path d='M26 14h12v12H26z' fill='none' "
              "stroke='%23bbbbbb' stroke-width='2'/></svg>")


@dataclass(frozen=True)
class Metric:
    """One headline figure as a page shows it (``st.metric``): label, formatted value, optional help/delta."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None


def model_name(model: str | None) -> str:
    """A model's display name from the catalogue (its id when unknown, ``""`` for none)."""
    if not model:
        return ""
    models = catalogue().models
    return models[model].display_name if model in models else model


def models_in_order() -> list[str]:
    """Model ids as a picker lists them: current models first, then cheapest input price, then id."""
    models = catalogue().models
    return sorted(models, key=lambda m: (models[m].status != "current", models[m].input, m))


def image_data_url(path: Path | None) -> str | None:
    """A small JPEG as a data URL (what ``st.column_config.ImageColumn`` needs); ``None`` if unreadable."""
    if path is None:
        return None
    try:
        return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
    except OSError:
        return None
