"""View 2: what dealers must trade if spot moves, and total GEX as a function of spot.

Top row: hedge flow against the spot shock in percent, one curve per horizon ("now", "+1 day").
Bottom row, same x axis: total dealer GEX at the shocked spot, shaded where dealers are long gamma
(their hedging damps moves) or short gamma (it amplifies them), with every zero crossing marked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.web.figures.common import (
    LINE_SPOT,
    LINE_ZERO_GAMMA,
    PALETTE,
    Figure,
    Palette,
    add_reference_lines,
    apply_house_layout,
    empty_figure,
    escape_text,
    format_number_array,
    format_pct,
    format_strike,
    format_usd_array,
    horizon_label,
    merge,
    new_figure,
    update_axes,
)

SHOCK_AXIS_TITLE = "Spot shock (%)"
PROFILE_AXIS_TITLE = "Total GEX (USD per 1%)"
PROFILE_TRACE_NAME = "Total GEX"
ZERO_GAMMA_TRACE_NAME = "Zero gamma"
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def hedge_axis_title(units: Literal["usd", "units"], underlying: str = "SPX") -> str:
    """The y-axis title of the hedge-flow row, with its unit and sign convention.

    Examples
    --------
    >>> hedge_axis_title("usd")
    'Dealer hedge flow (USD; + = dealers buy)'
    >>> hedge_axis_title("units", "BTC")
    'Dealer hedge flow (BTC units; + = dealers buy)'
    """
    unit = "USD" if units == "usd" else f"{underlying} units"
    return f"Dealer hedge flow ({unit}; + = dealers buy)"


# axes of the two rows: hedge flow (row 1) above total GEX vs spot (row 2)
_ROW = {1: {"xaxis": "x", "yaxis": "y"}, 2: {"xaxis": "x2", "yaxis": "y2"}}


def hedge_curve_figure(
    hedge_curves: Mapping[float, pd.DataFrame],
    *,
    gamma_profile: pd.DataFrame | None,
    spot: float,
    zero_gamma_levels: Sequence[float],
    units: Literal["usd", "units"] = "usd",
    underlying: str = "SPX",
    shock_range: tuple[float, float] | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
    adv_units: float | None = None,
) -> Figure:
    """Hedge flow vs spot shock per horizon, over total GEX vs the same shock axis.

    Parameters
    ----------
    hedge_curves : mapping of float to pandas.DataFrame
        Horizon in days -> frame with columns ``shock_pct`` (percent: -5.0 is -5%), ``spot``,
        ``hedge_flow_units`` and ``hedge_flow_usd`` (positive = dealers buy).
    gamma_profile : pandas.DataFrame or None
        ``spot, gex_usd_per_1pct``: total GEX as a function of spot. Drawn against
        ``(spot / spot0 - 1) * 100`` so it shares the shock axis.
    spot : float
        Today's spot (shock 0).
    zero_gamma_levels : sequence of float
        Spot levels where total GEX crosses zero; each gets a marker and a line across both rows.
    units : {"usd", "units"}, default "usd"
        Plot ``hedge_flow_usd`` or ``hedge_flow_units``.
    underlying : str, default "SPX"
        Names the unit when ``units="units"``.
    shock_range : (float, float), optional
        Initial x range in percent; default: the range of the hedge curves.
    title, subtitle, template, height, uirevision, palette
        Styling; see :func:`dashboard.web.figures.common.apply_house_layout`.
    adv_units : float, optional
        The underlying's average daily volume (units per day). When given, a right axis
        (``yaxis3``) reads the flow row as percent of ADV: flow units / ADV, or in USD mode flow USD /
        (ADV x today's spot), on a range locked to the left axis.

    Returns
    -------
    dict
        A figure dict. Curve and profile ``customdata`` rows are ``[shock_pct, implied_spot, horizon_days]`` (the
        profile and zero-gamma markers have no horizon column), so a hover can mark the implied spot
        on the gamma-by-strike view.

    Examples
    --------
    >>> curve = pd.DataFrame({"shock_pct": [-1.0, 0.0, 1.0], "spot": [99.0, 100.0, 101.0],
    ...                       "dealer_delta_units": [10.0, 0.0, -10.0],
    ...                       "hedge_flow_units": [-10.0, 0.0, 10.0],
    ...                       "hedge_flow_usd": [-990.0, 0.0, 1010.0]})
    >>> fig = hedge_curve_figure({0.0: curve, 1.0: curve}, gamma_profile=None, spot=100.0,
    ...                          zero_gamma_levels=[])
    >>> [t["name"] for t in fig["data"]]
    ['now', '+1 day']
    """
    title = title or f"{underlying}: dealer hedging vs spot shock"
    curves = {float(h): c for h, c in hedge_curves.items() if c is not None and not c.empty}
    has_profile = gamma_profile is not None and not gamma_profile.empty
    if not curves and not has_profile:
        return empty_figure(
            "No hedge curve for this selection",
            title=title,
            subtitle=subtitle,
            template=template,
            height=height,
        )
    if units not in ("usd", "units"):
        raise ValueError(f"units must be 'usd' or 'units', not {units!r}")
    flow_column = "hedge_flow_usd" if units == "usd" else "hedge_flow_units"

    # two rows sharing the shock axis (the layout make_subplots(rows=2, shared_xaxes=True) builds, without
    # its cost): hedge flow on top, total GEX vs spot beneath
    fig = new_figure(dict(
        xaxis=dict(anchor="y", domain=[0.0, 1.0], matches="x2", showticklabels=False),
        xaxis2=dict(anchor="y2", domain=[0.0, 1.0]),
        yaxis=dict(anchor="x", domain=[0.4172, 1.0]),
        yaxis2=dict(anchor="x2", domain=[0.0, 0.3572]),
    ))
    colours = (palette.net, palette.iv, palette.marker_spot, palette.zero_gamma, palette.previous)
    shock_extent: list[float] = []
    for i, horizon in enumerate(sorted(curves)):
        curve = curves[horizon]
        shock = _shock_in_percent(curve, spot)
        implied = curve["spot"].to_numpy(dtype=float) if "spot" in curve.columns else spot * (1 + shock / 100)
        flow = curve[flow_column].to_numpy(dtype=float)
        size = format_usd_array(np.abs(flow)) if units == "usd" else format_number_array(np.abs(flow))
        verb = np.where(flow > 0, "dealers buy ", "dealers sell ").astype(object)
        suffix = "" if units == "usd" else f" {escape_text(underlying)}"
        text = np.where(flow == 0, "no flow", verb + size.astype(object) + suffix)
        text = np.where(np.isfinite(flow), text, "n/a")
        label = horizon_label(horizon)
        fig["data"].append(dict(
            type="scatter",
            x=shock,
            y=flow,
            name=label,
            mode="lines",
            line=dict(
                color=colours[i % len(colours)],
                width=2.4 if horizon == 0 else 1.8,
                dash=_DASHES[i % len(_DASHES)],
            ),
            customdata=np.column_stack([shock, implied, np.full(shock.size, horizon)]),
            text=text,
            hovertemplate=(
                f"<b>{label}</b>: %{{text}}<br>shock %{{customdata[0]:+.2f}}%"
                " → spot %{customdata[1]:,.2f}<extra></extra>"
            ),
            **_ROW[1],
        ))
        shock_extent += [float(np.nanmin(shock)), float(np.nanmax(shock))]

    levels = [float(z) for z in (zero_gamma_levels or []) if z is not None and math.isfinite(float(z))]
    zero_shocks = (np.asarray(levels) / spot - 1) * 100 if levels else np.empty(0)
    profile_shock = np.zeros(1)
    if has_profile:
        profile_shock = _add_profile(fig, gamma_profile, spot, palette)
        if levels:
            fig["data"].append(dict(
                type="scatter",
                x=zero_shocks,
                y=np.zeros(zero_shocks.size),
                name=ZERO_GAMMA_TRACE_NAME,
                mode="markers",
                marker=dict(
                    symbol="diamond", size=10, color=palette.zero_gamma, line=dict(width=1, color="white")
                ),
                customdata=np.column_stack([zero_shocks, levels]),
                hovertemplate=(
                    "zero gamma at spot %{customdata[1]:,.2f} (%{customdata[0]:+.2f}%)<extra></extra>"
                ),
                **_ROW[2],
            ))

    lines = [(LINE_SPOT, 0.0, f"spot {format_strike(spot)}", palette.spot, "solid")]
    lines += [
        (
            LINE_ZERO_GAMMA,
            zs,
            f"zero γ {format_strike(round(z, 2))} ({format_pct(zs, signed=True)})",
            palette.zero_gamma,
            "dot",
        )
        for z, zs in zip(levels, zero_shocks, strict=True)
    ]
    if shock_range is None and not shock_extent:
        shock_extent = [float(np.nanmin(profile_shock)), float(np.nanmax(profile_shock))]
    x_range = shock_range or (min(shock_extent), max(shock_extent))
    add_reference_lines(fig, lines, row="all", x_range=x_range)

    update_axes(fig, "xaxis", range=list(x_range), ticksuffix="%", zeroline=False)
    layout = fig["layout"]
    layout["xaxis2"] = merge(layout["xaxis2"], {"title": {"text": SHOCK_AXIS_TITLE}})
    layout["yaxis"] = merge(layout["yaxis"], dict(title={"text": escape_text(hedge_axis_title(units, underlying))}, zeroline=True,
                                                  zerolinewidth=1.5, exponentformat="B"))
    layout["yaxis2"] = merge(layout["yaxis2"], dict(title={"text": PROFILE_AXIS_TITLE}, zeroline=True,
                                                    zerolinewidth=1.5, exponentformat="B"))
    layout["hovermode"] = "x"
    layout["legend"] = {"title": {"text": ""}}
    if adv_units and adv_units > 0 and curves:
        _add_adv_axis(fig, [c[flow_column].to_numpy(dtype=float) for c in curves.values()],
                      100.0 / (adv_units * (spot if units == "usd" else 1.0)), x_range)
    return apply_house_layout(
        fig, title=title, subtitle=subtitle, template=template, height=height, uirevision=uirevision
    )


ADV_AXIS_TITLE = "% of avg daily volume"


def _add_adv_axis(fig: Figure, flows: Sequence[np.ndarray], pct_per_flow: float, x_range: Sequence[float]) -> None:
    """A right axis over the flow row in percent of ADV: both axes get fixed ranges, the right one the
    left one's times ``pct_per_flow``, so a tick on either reads the same curve. plotly.js draws an
    axis only for a trace on it: an invisible two-point trace (no hover, no legend) holds it."""
    values = np.concatenate([f[np.isfinite(f)] for f in flows] + [np.zeros(1)])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.06 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    layout = fig["layout"]
    layout["yaxis"] = merge(layout["yaxis"], {"range": [lo, hi], "autorange": False})
    layout["yaxis3"] = dict(anchor="x", overlaying="y", side="right", range=[lo * pct_per_flow, hi * pct_per_flow],
                            title={"text": ADV_AXIS_TITLE}, ticksuffix="%", showgrid=False, zeroline=False,
                            tickformat=".3~g", tickmode="auto", nticks=6)
    fig["data"].append(dict(type="scatter", x=np.asarray(x_range, dtype=float), y=np.array([lo, hi]) * pct_per_flow,
                            name=ADV_AXIS_TITLE, mode="markers", marker=dict(opacity=0), hoverinfo="skip",
                            showlegend=False, xaxis="x", yaxis="y3"))


def _shock_in_percent(curve: pd.DataFrame, spot: float) -> np.ndarray:
    """``shock_pct`` in percent; guards against a frame that carries it as a fraction.

    When the frame's own ``spot`` column says ``spot = spot0 * (1 + shock)`` rather than
    ``spot0 * (1 + shock / 100)``, the shock was a fraction and is scaled to percent.
    """
    shock = curve["shock_pct"].to_numpy(dtype=float)
    if "spot" not in curve.columns or not math.isfinite(spot) or spot <= 0:
        return shock
    shocked = curve["spot"].to_numpy(dtype=float)
    as_pct = np.allclose(spot * (1 + shock / 100), shocked, rtol=1e-6, equal_nan=True)
    as_fraction = np.allclose(spot * (1 + shock), shocked, rtol=1e-6, equal_nan=True)
    return shock * 100 if as_fraction and not as_pct else shock


def _add_profile(fig: Figure, profile: pd.DataFrame, spot: float, palette: Palette) -> np.ndarray:
    frame = profile.sort_values("spot")
    levels = frame["spot"].to_numpy(dtype=float)
    gex = frame["gex_usd_per_1pct"].to_numpy(dtype=float)
    shock = (levels / spot - 1) * 100
    for name, part, fill in (
        ("Long γ: damps moves", np.where(gex > 0, gex, 0.0), palette.long_gamma_fill),
        ("Short γ: amplifies moves", np.where(gex < 0, gex, 0.0), palette.short_gamma_fill),
    ):
        fig["data"].append(dict(
            type="scatter",
            x=shock,
            y=part,
            name=name,
            mode="lines",
            line=dict(width=0),
            fill="tozeroy",
            fillcolor=fill,
            hoverinfo="skip",
            **_ROW[2],
        ))
    fig["data"].append(dict(
        type="scatter",
        x=shock,
        y=gex,
        name=PROFILE_TRACE_NAME,
        mode="lines",
        line=dict(color=palette.net, width=2),
        customdata=np.column_stack([shock, levels]),
        text=format_usd_array(gex),
        hovertemplate=(
            "total GEX %{text} per 1%<br>shock %{customdata[0]:+.2f}%"
            " → spot %{customdata[1]:,.2f}<extra></extra>"
        ),
        **_ROW[2],
    ))
    return shock
