"""History charts of the report (``mmpos report``): key levels and net vega over the last snapshots.

Plain data in (the frame of :meth:`analytics.history.HistoryStore.history`), figure dict out. These
are the report's own small builders, written while the History tab's figures were being built
elsewhere; the two belong in one home once both exist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.common import (
    PALETTE,
    Figure,
    Palette,
    apply_house_layout,
    empty_figure,
    format_usd_array,
    new_figure,
)

LEVEL_AXIS_TITLE = "Level (underlying's price)"
GEX_AXIS_TITLE = "Total GEX (USD per 1%)"
VEGA_AXIS_TITLE = "Net dealer vega (USD per vol point)"
HISTORY_COLUMNS = ("as_of", "spot", "total_gex_usd_per_1pct", "zero_gamma_levels", "call_wall", "put_wall",
                   "net_vega_usd_per_vol_pt")


def _checked(history: pd.DataFrame) -> None:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}; it has {list(history.columns)}")


def _dates(history: pd.DataFrame) -> np.ndarray:
    """ISO timestamps (minute precision, the snapshot's own zone) for the x axis."""
    return np.array([pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in history["as_of"]], dtype=object)


def key_levels_history_figure(
    history: pd.DataFrame,
    *,
    title: str = "Key levels over time",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Spot, every zero-gamma level, call and put walls (lines, left axis) and total GEX (bars, right axis)
    per snapshot.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per snapshot, oldest first: ``as_of, spot, total_gex_usd_per_1pct, zero_gamma_levels``
        (a sequence each) ``, call_wall, put_wall`` (NaN when none) ``, net_vega_usd_per_vol_pt``.
    title, subtitle, template, height, palette
        Styling; see :func:`dashboard.figures.common.apply_house_layout`.

    Returns
    -------
    dict
        Traces: total GEX bars (``y2``), spot, call wall, put wall lines and zero-gamma markers (``y``).

    Examples
    --------
    >>> frame = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-05 16:00", "2024-01-08 16:00"]),
    ...     "spot": [4700.0, 4750.0], "total_gex_usd_per_1pct": [1e9, -2e9],
    ...     "zero_gamma_levels": [(4650.0,), (4760.0, 4900.0)], "call_wall": [4800.0, 4800.0],
    ...     "put_wall": [4600.0, float("nan")], "net_vega_usd_per_vol_pt": [1e6, 2e6]})
    >>> fig = key_levels_history_figure(frame)
    >>> [t["name"] for t in fig["data"]]
    ['Total GEX', 'Spot', 'Call wall', 'Put wall', 'Zero gamma']
    >>> fig["data"][-1]["y"].tolist()
    [4650.0, 4760.0, 4900.0]
    """
    _checked(history)
    if history.empty:
        return empty_figure("No history for this underlying yet (run mmpos backfill)", title=title,
                            subtitle=subtitle, template=template, height=height)
    x = _dates(history)
    gex = history["total_gex_usd_per_1pct"].to_numpy(float)
    fig = new_figure(dict(
        xaxis=dict(domain=[0.0, 0.92], anchor="y", type="category", title={"text": "Snapshot"}),
        yaxis=dict(anchor="x", title={"text": LEVEL_AXIS_TITLE}, tickformat=",.6~g"),
        yaxis2=dict(anchor="x", overlaying="y", side="right", title={"text": GEX_AXIS_TITLE}, exponentformat="B",
                    showgrid=False, zeroline=True),
        hovermode="x unified",
        barmode="overlay",
    ))
    fig["data"].append(dict(type="bar", x=x, y=gex, name="Total GEX", yaxis="y2", xaxis="x", opacity=0.35,
                            marker=dict(color=np.where(gex >= 0, palette.call, palette.put).tolist()),
                            text=format_usd_array(gex, signed=True), textposition="none",
                            hovertemplate="total GEX %{text} per 1%<extra></extra>"))
    for name, column, color, dash in (("Spot", "spot", palette.spot, "solid"),
                                      ("Call wall", "call_wall", palette.call, "dash"),
                                      ("Put wall", "put_wall", palette.put, "dash")):
        fig["data"].append(dict(type="scatter", mode="lines+markers", x=x, y=history[column].to_numpy(float),
                                name=name, line=dict(color=color, width=2, dash=dash), marker=dict(size=5),
                                connectgaps=False, xaxis="x", yaxis="y",
                                hovertemplate=f"{name.lower()} %{{y:,.2f}}<extra></extra>"))
    zx = [d for d, levels in zip(x, history["zero_gamma_levels"], strict=True) for _ in levels]
    zy = np.array([float(z) for levels in history["zero_gamma_levels"] for z in levels], dtype=float)
    fig["data"].append(dict(type="scatter", mode="markers", x=np.array(zx, dtype=object), y=zy,
                            name="Zero gamma", marker=dict(color=palette.zero_gamma, size=8, symbol="diamond"),
                            xaxis="x", yaxis="y", hovertemplate="zero gamma %{y:,.2f}<extra></extra>"))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def vega_history_figure(
    history: pd.DataFrame,
    *,
    title: str = "Net dealer vega over time",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Net dealer vega (all live expiries, USD per vol point) per snapshot, as bars.

    Examples
    --------
    >>> frame = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-05 16:00"]), "spot": [4700.0],
    ...     "total_gex_usd_per_1pct": [1e9], "zero_gamma_levels": [()], "call_wall": [4800.0],
    ...     "put_wall": [4600.0], "net_vega_usd_per_vol_pt": [-3e6]})
    >>> vega_history_figure(frame)["data"][0]["y"].tolist()
    [-3000000.0]
    """
    _checked(history)
    if history.empty:
        return empty_figure("No history for this underlying yet (run mmpos backfill)", title=title,
                            subtitle=subtitle, template=template, height=height)
    x = _dates(history)
    vega = history["net_vega_usd_per_vol_pt"].to_numpy(float)
    fig = new_figure(dict(
        xaxis=dict(anchor="y", type="category", title={"text": "Snapshot"}),
        yaxis=dict(anchor="x", title={"text": VEGA_AXIS_TITLE}, exponentformat="B", zeroline=True),
        hovermode="x unified",
    ))
    fig["data"].append(dict(type="bar", x=x, y=vega, name="Net dealer vega", marker=dict(color=palette.net),
                            text=format_usd_array(vega, signed=True), textposition="none",
                            hovertemplate="net vega %{text} per vol pt<extra></extra>"))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)
