"""Plotly figures for the Estimate cost and Tune pages (UI layer only: numbers and labels come from ``gaia``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

import gaia

MONEY_LABELS, SCENARIO_LABELS, TOKEN_LABELS, TOKEN_TYPES = (gaia.limits.MONEY_LABELS, gaia.limits.SCENARIO_LABELS,
                                                        gaia.limits.TOKEN_LABELS, gaia.limits.TOKEN_TYPES)

SCENARIO_COLOURS = {"standard": "#9e9e9e", "caching": "#64b5f6", "batch": "#81c784", "batch_caching": "#2e7d32"}
PART_COLOURS = {"images": "#42a5f5", "text": "#ab47bc", "prefix": "#ffa726", "output": "#ef5350"}


def _layout(fig: go.Figure, *, y_title: str = "USD", height: int = 360) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title=y_title,
                      legend={"orientation": "h", "y": -0.2})
    return fig


def scenario_bars(est: Any) -> go.Figure:
    """Grouped bars: each token type's cost (and the total) under the four scenarios."""
    fig = go.Figure()
    cats = [TOKEN_LABELS[t] for t in TOKEN_TYPES] + ["Total"]
    for s in est.scenarios:
        ys = [s.cost.usd.get(t) for t in TOKEN_TYPES] + [s.total_usd]
        fig.add_bar(name=s.label, x=cats, y=ys, marker_color=SCENARIO_COLOURS[s.key],
                    hovertemplate="%{x}<br>%{fullData.name}: $%{y:,.4f}<extra></extra>")
    fig.update_layout(barmode="group")
    return _layout(fig)


def money_chart(est: Any, scenario: str = "batch_caching") -> go.Figure:
    """Horizontal bars: where the money goes (images, text, prefix, output) in one scenario."""
    parts = est.money[scenario]
    total = sum(parts.values()) or 1.0
    keys = sorted(parts, key=lambda k: parts[k])
    fig = go.Figure(go.Bar(
        x=[parts[k] for k in keys], y=[MONEY_LABELS[k] for k in keys], orientation="h",
        marker_color=[PART_COLOURS[k] for k in keys],
        text=[gaia.format.pct(parts[k] / total) for k in keys], textposition="auto",
        hovertemplate="%{y}: $%{x:,.4f}<extra></extra>"))
    fig.update_layout(title=SCENARIO_LABELS[scenario])
    return _layout(fig, y_title="", height=280)


def model_chart(rows: Sequence[Any], reference: str) -> go.Figure:
    """Horizontal bars per model (names readable on a phone): the run's cost with the Batch API + caching
    (and standard, faded), on a log axis labelled in dollars at powers of ten ($0.01, $0.1, $1…)."""
    names = [r.display_name + ("" if r.confirmed and not r.uncertain else " ⚠") for r in rows]
    fig = go.Figure()
    fig.add_bar(name=SCENARIO_LABELS["standard"], y=names, x=[r.usd["standard"] for r in rows], orientation="h",
                marker_color=SCENARIO_COLOURS["standard"], opacity=0.45,
                hovertemplate="%{y}: $%{x:,.4f}<extra>%{fullData.name}</extra>")
    fig.add_bar(name=SCENARIO_LABELS["batch_caching"], y=names, x=[r.usd["batch_caching"] for r in rows],
                orientation="h", hovertemplate="%{y}: $%{x:,.4f}<extra>%{fullData.name}</extra>",
                marker_color=[("#c62828" if r.model == reference else SCENARIO_COLOURS["batch_caching"]) for r in rows])
    fig.update_layout(barmode="group", yaxis={"autorange": "reversed", "automargin": True})
    fig.update_xaxes(type="log", dtick=1, tickprefix="$", tickformat="~g", title="USD (log scale)")
    return _layout(fig, y_title="", height=max(300, 70 + 46 * len(rows)))


def what_if_chart(points: Sequence[Any], scenario: str = "batch_caching",
                  current: tuple[int, int] | None = None) -> go.Figure:
    """Lines: the run's cost against frames per video, one line per longest frame edge."""
    fig = go.Figure()
    for edge in sorted({p.max_edge for p in points}):
        pts = sorted((p for p in points if p.max_edge == edge), key=lambda p: p.frames)
        fig.add_scatter(x=[p.frames for p in pts], y=[p.usd[scenario] for p in pts], mode="lines+markers",
                        name=f"≤ {edge} px (~{pts[0].tokens_per_frame:,.0f} tok/frame)",
                        hovertemplate="%{x} frames: $%{y:,.2f}<extra>%{fullData.name}</extra>")
    if current is not None:
        frames, usd = current
        fig.add_scatter(x=[frames], y=[usd], mode="markers", name="current settings",
                        marker={"size": 14, "symbol": "star", "color": "#c62828"})
    fig.update_xaxes(title="frames per video")
    fig.update_layout(title=SCENARIO_LABELS[scenario])
    return _layout(fig, height=380)


ROLE_STYLE = {  # marker per configuration role on the Tune chart
    gaia.views.ROLE_REFERENCE: {"color": "#1565c0", "symbol": "diamond", "size": 14},
    gaia.views.ROLE_REPLICATE: {"color": "#1565c0", "symbol": "diamond-open", "size": 14},
    gaia.views.ROLE_CURRENT: {"color": "#ef6c00", "symbol": "square", "size": 14},
    gaia.views.ROLE_CONTROL: {"color": "#000000", "symbol": "x", "size": 12},
    gaia.views.ROLE_RECOMMENDED: {"color": "#c62828", "symbol": "star", "size": 18},
    gaia.views.ROLE_OTHER: {"color": "#757575", "symbol": "circle", "size": 10},
}


def pareto_chart(points: Sequence[Any], floor: float | None = None) -> go.Figure:
    """Each configuration's paired difference to the ceiling (with its interval as error bars) against its
    measured $ per video: the Pareto front as a line in cost order, the ceiling at 0, the tolerance below it,
    the current settings and the negative control marked."""
    fig = go.Figure()
    front = [p for p in points if p.on_front and p.diff is not None]
    if len(front) > 1:
        fig.add_scatter(x=[p.usd_per_video for p in front], y=[p.diff for p in front], mode="lines",
                        name="Pareto front", line={"color": "#81c784", "width": 2, "dash": "dot"}, hoverinfo="skip")
    for role, style in ROLE_STYLE.items():
        pts = [p for p in points if p.role == role and p.diff is not None and p.usd_per_video is not None]
        if not pts:
            continue
        fig.add_scatter(
            x=[p.usd_per_video for p in pts], y=[p.diff for p in pts], mode="markers",
            name=gaia.views.ROLE_LABELS[role] or "other configurations", text=[p.label for p in pts], marker=style,
            error_y={"type": "data", "symmetric": False, "array": [(p.ci_high or p.diff) - p.diff for p in pts],
                     "arrayminus": [p.diff - (p.ci_low or p.diff) for p in pts], "thickness": 1.5},
            hovertemplate="%{text}<br>$%{x:,.5f} a video, %{y:+.3f} against the ceiling<extra></extra>")
    fig.add_hline(y=0, line={"color": "#1565c0", "width": 1}, annotation_text="ceiling (reference asked twice)",
                  annotation_position="top left")
    if floor is not None:
        fig.add_hline(y=floor, line={"color": "#c62828", "width": 1, "dash": "dash"},
                      annotation_text="tolerance", annotation_position="bottom right")
    fig.update_xaxes(title="USD per video, measured (Batch API + caching)", tickprefix="$", tickformat=",.4~f",
                     nticks=6, rangemode="tozero")
    return _layout(fig, y_title="difference to the ceiling", height=420)


def loss_heatmap(labels: Sequence[str], fields: Sequence[str], grid: Sequence[Sequence[float | None]]) -> go.Figure:
    """Each configuration's loss per field (0: as good as the reference; 1: everything lost)."""
    fig = go.Figure(go.Heatmap(z=[list(r) for r in grid], x=list(fields), y=list(labels), zmin=0, zmax=1,
                               colorscale="Reds", colorbar={"title": "loss"},
                               hovertemplate="%{y}<br>%{x}: loss %{z:.3f}<extra></extra>"))
    return _layout(fig, y_title="", height=120 + 32 * len(labels))


__all__ = ["loss_heatmap", "model_chart", "money_chart", "pareto_chart", "scenario_bars", "what_if_chart"]
