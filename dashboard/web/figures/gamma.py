"""View 1: dealer gamma exposure by strike, and the by-expiry breakdown of one strike.

Pure builders: DataFrames and floats in, a plain figure dict out (see :mod:`.common`). Sign convention: positive GEX means
dealers are long gamma (their hedging damps moves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.web.figures.common import (
    LINE_CALL_WALL,
    LINE_MARKER_SPOT,
    LINE_PUT_WALL,
    LINE_SPOT,
    LINE_ZERO_GAMMA,
    PALETTE,
    Figure,
    Palette,
    add_reference_lines,
    apply_house_layout,
    empty_figure,
    format_strike,
    format_usd_array,
    iso_dates,
    merge,
    new_figure,
    update_axes,
)

GEX_AXIS_TITLE = "Dealer GEX (USD per 1% move)"
STRIKE_AXIS_TITLE = "Strike"
BY_STRIKE_COLUMNS = ("strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct")
BY_STRIKE_EXPIRY_COLUMNS = ("strike", "expiry", *BY_STRIKE_COLUMNS[1:])
HIGHLIGHT_LINE_WIDTH = 2.5
PREVIOUS_NET_TRACE_NAME = "Net GEX (previous snapshot)"

_SIDES = (
    ("call", "Call GEX", "call_gex_usd_per_1pct"),
    ("put", "Put GEX", "put_gex_usd_per_1pct"),
    ("net", "Net GEX", "net_gex_usd_per_1pct"),
)


def default_strike_window(
    spot: float,
    strikes: np.ndarray,
    *,
    half_width_pct: float = 15.0,
    include: Sequence[float | None] = (),
    include_limit_pct: float = 30.0,
) -> tuple[float, float] | None:
    """The strike range shown by default: spot +/- ``half_width_pct``, widened to show markers.

    Levels in ``include`` (walls, zero-gamma levels) are brought into view when they lie within
    ``include_limit_pct`` of spot; the range is padded by one strike step so edge bars are whole.

    Parameters
    ----------
    spot : float
    strikes : numpy.ndarray
        Strikes present in the data (used for the padding and as a fallback).
    half_width_pct : float, default 15
    include : sequence of float or None
    include_limit_pct : float, default 30

    Returns
    -------
    (low, high) or None
        None when there is nothing to frame (no strikes and no usable spot).

    Examples
    --------
    >>> default_strike_window(100.0, np.arange(50.0, 151.0, 5.0), include=[75.0, 200.0])
    (70.0, 120.0)
    """
    strikes = np.asarray(strikes, dtype=float)
    strikes = strikes[np.isfinite(strikes)]
    if spot is None or not math.isfinite(float(spot)) or spot <= 0:
        if strikes.size == 0:
            return None
        lo, hi = float(strikes.min()), float(strikes.max())
    else:
        lo, hi = spot * (100 - half_width_pct) / 100, spot * (100 + half_width_pct) / 100
        marks = np.asarray([np.nan if m is None else m for m in include], dtype=float)
        marks = marks[np.isfinite(marks) & (np.abs(marks / spot - 1) * 100 <= include_limit_pct)]
        if marks.size:
            lo, hi = min(lo, float(marks.min())), max(hi, float(marks.max()))
    inside = np.unique(strikes[(strikes >= lo) & (strikes <= hi)])
    step = float(np.median(np.diff(inside))) if inside.size > 1 else 0.0
    if step <= 0:
        step = 0.005 * (hi - lo) if hi > lo else 1.0
    return float(lo - step), float(hi + step)


WALL_REACH = 2.0  # a wall within this many strike windows of spot is brought into the view (5% -> 10%)


def view_strike_window(spot: float, half_width_pct: float,
                       walls: Sequence[float | None] = ()) -> tuple[float, float] | None:
    """The strike views' opening range, on the page and in the report: spot +/- ``half_width_pct``,
    widened to show a call or put wall lying within ``WALL_REACH`` times that of spot.

    Examples
    --------
    >>> [round(x, 3) for x in view_strike_window(100.0, 5.0, walls=[108.0, 85.0])]  # 108 is within 10%, 85 not
    [94.935, 108.065]
    """
    return default_strike_window(spot, np.empty(0), half_width_pct=half_width_pct, include=walls,
                                 include_limit_pct=WALL_REACH * half_width_pct)


def gamma_by_strike_figure(
    by_strike: pd.DataFrame,
    *,
    spot: float,
    zero_gamma_levels: Sequence[float],
    call_wall: float | None,
    put_wall: float | None,
    previous_net: pd.DataFrame | None = None,
    by_strike_expiry: pd.DataFrame | None = None,
    stack_by_expiry: bool = False,
    highlight_strike: float | None = None,
    marker_spot: float | None = None,
    strike_window: tuple[float, float] | None = None,
    title: str = "Dealer gamma exposure by strike",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Call, put and net dealer GEX per strike, with spot, zero-gamma levels and the walls.

    Parameters
    ----------
    by_strike : pandas.DataFrame
        Columns ``strike, call_gex_usd_per_1pct, put_gex_usd_per_1pct, net_gex_usd_per_1pct``.
    spot : float
        Current spot; drawn as a solid line.
    zero_gamma_levels : sequence of float
        Every spot level where total GEX crosses zero (may be empty); one dotted line each.
    call_wall, put_wall : float or None
        Strikes of the largest call GEX and the most negative put GEX.
    previous_net : pandas.DataFrame, optional
        ``strike, net_gex_usd_per_1pct`` from the previous snapshot, drawn as grey ticks.
    by_strike_expiry : pandas.DataFrame, optional
        ``strike, expiry, call_gex_usd_per_1pct, put_gex_usd_per_1pct, net_gex_usd_per_1pct``;
        needed when ``stack_by_expiry``.
    stack_by_expiry : bool, default False
        Draw net GEX stacked by expiry (one bar trace per expiry, barmode relative) plus a marker
        for the total, instead of call/put/net bars.
    highlight_strike : float, optional
        Strike whose bars get an outline (the clicked strike).
    marker_spot : float, optional
        An implied spot (from hovering the hedge chart), drawn as a dashed orange line.
    strike_window : (float, float), optional
        Initial x range. Default: :func:`default_strike_window` (spot +/- 15%, widened to show walls
        and zero-gamma levels within 30%). All strikes stay in the figure: zoom out to see them.
    title, subtitle : str, optional
        Subtitle is the place for the convention and snapshot (see ``snapshot_subtitle``).
    template, height, uirevision, palette
        Styling; see :func:`dashboard.web.figures.common.apply_house_layout`.

    Returns
    -------
    dict
        A figure dict. Bar ``customdata[:, 0]`` is the strike; in stacked mode ``customdata[:, 1]`` is the expiry
        (ISO string). Reference lines are ``layout.shapes`` named ``spot``, ``zero gamma``,
        ``call wall``, ``put wall`` and ``implied spot``.

    Examples
    --------
    >>> frame = pd.DataFrame({"strike": [95.0, 100.0, 105.0],
    ...                       "call_gex_usd_per_1pct": [1e6, 3e6, 2e6],
    ...                       "put_gex_usd_per_1pct": [-4e6, -2e6, -0.5e6],
    ...                       "net_gex_usd_per_1pct": [-3e6, 1e6, 1.5e6]})
    >>> fig = gamma_by_strike_figure(frame, spot=101.0, zero_gamma_levels=[98.5],
    ...                              call_wall=100.0, put_wall=95.0)
    >>> [t["name"] for t in fig["data"]]
    ['Call GEX', 'Put GEX', 'Net GEX']
    >>> sorted(s["name"] for s in fig["layout"]["shapes"])
    ['call wall', 'put wall', 'spot', 'zero gamma']
    """
    _require_columns(by_strike, BY_STRIKE_COLUMNS, "by_strike")
    if stack_by_expiry:
        if by_strike_expiry is None:
            raise ValueError("stack_by_expiry=True needs by_strike_expiry")
        _require_columns(by_strike_expiry, BY_STRIKE_EXPIRY_COLUMNS, "by_strike_expiry")
    drawn = by_strike_expiry if stack_by_expiry else by_strike
    if drawn.empty:
        return empty_figure(
            "No open interest in the selected expiries",
            title=title,
            subtitle=subtitle,
            template=template,
            height=height,
        )

    fig = new_figure()
    if stack_by_expiry:
        strikes = _add_stacked_bars(fig, by_strike_expiry, palette)
        # one legend entry per expiry: a vertical, scrollable legend on the right
        fig["layout"].update(
            barmode="relative",
            legend=dict(orientation="v", x=1.01, xanchor="left", y=1.0, yanchor="top", font=dict(size=11)),
        )
    else:
        strikes = _add_side_bars(fig, by_strike, palette)
        fig["layout"]["barmode"] = "overlay"

    if previous_net is not None and not previous_net.empty:
        fig["data"].append(previous_net_trace(previous_net, palette=palette))

    if highlight_strike is not None:
        _outline_strike(fig, float(highlight_strike), palette)

    levels = [float(z) for z in (zero_gamma_levels or [])]
    lines = [(LINE_SPOT, spot, f"spot {format_strike(spot)}", palette.spot, "solid")]
    lines += [
        (LINE_ZERO_GAMMA, z, f"zero γ {format_strike(round(z, 2))}", palette.zero_gamma, "dot")
        for z in levels
    ]
    lines += [
        (LINE_CALL_WALL, call_wall, f"call wall {format_strike(call_wall)}", palette.call, "dash"),
        (LINE_PUT_WALL, put_wall, f"put wall {format_strike(put_wall)}", palette.put, "dash"),
        (
            LINE_MARKER_SPOT,
            marker_spot,
            f"shock spot {format_strike(_round_or_none(marker_spot))}",
            palette.marker_spot,
            "dash",
        ),
    ]
    window = strike_window or default_strike_window(
        spot, strikes, include=[call_wall, put_wall, *levels, marker_spot]
    )
    add_reference_lines(fig, lines, x_range=window)
    if window is not None:
        update_axes(fig, "xaxis", range=list(window))
        y_range = _y_range_in_window(fig, window, stacked=stack_by_expiry)
        if y_range is not None:
            update_axes(fig, "yaxis", range=y_range)

    update_axes(
        fig,
        "xaxis",
        title={"text": STRIKE_AXIS_TITLE},
        hoverformat=",.6~g",
        unifiedhovertitle=dict(text="<b>Strike %{x:,.6~g}</b>"),
    )
    update_axes(fig, "yaxis", title={"text": GEX_AXIS_TITLE}, exponentformat="B", zeroline=True)
    layout = fig["layout"]
    layout.update(hovermode="x unified", bargap=0.1)
    layout["legend"] = merge(layout.get("legend") or {}, {"title": {"text": ""}})
    return apply_house_layout(
        fig, title=title, subtitle=subtitle, template=template, height=height, uirevision=uirevision
    )


def strike_breakdown_figure(
    by_strike_expiry: pd.DataFrame,
    strike: float | None,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Call, put and net dealer GEX of one strike, per expiry (the "breakdown by expiry" panel).

    Parameters
    ----------
    by_strike_expiry : pandas.DataFrame
        ``strike, expiry, call_gex_usd_per_1pct, put_gex_usd_per_1pct, net_gex_usd_per_1pct``.
    strike : float or None
        The clicked strike; None gives a prompt to click one.
    title, subtitle, template, height, palette
        Styling; the default title names the strike.

    Returns
    -------
    dict
        A figure dict: grouped bars on a category x axis of ISO expiry dates in calendar order;
        ``customdata`` rows are ``[strike, expiry]``.

    Examples
    --------
    >>> import datetime as dt
    >>> frame = pd.DataFrame({"strike": [100.0, 100.0, 105.0],
    ...                       "expiry": [dt.date(2024, 2, 16), dt.date(2024, 1, 19), dt.date(2024, 1, 19)],
    ...                       "call_gex_usd_per_1pct": [1e6, 2e6, 5e6],
    ...                       "put_gex_usd_per_1pct": [-3e6, -1e6, 0.0],
    ...                       "net_gex_usd_per_1pct": [-2e6, 1e6, 5e6]})
    >>> list(strike_breakdown_figure(frame, 100.0)["data"][2]["x"])
    ['2024-01-19', '2024-02-16']
    """
    if strike is None:
        return empty_figure(
            "Click a strike bar to see its GEX by expiry",
            title=title,
            subtitle=subtitle,
            template=template,
            height=height,
        )
    _require_columns(by_strike_expiry, BY_STRIKE_EXPIRY_COLUMNS, "by_strike_expiry")
    strike = float(strike)
    rows = by_strike_expiry[np.isclose(by_strike_expiry["strike"].to_numpy(dtype=float), strike)]
    title = title or f"Strike {format_strike(strike)}: dealer GEX by expiry"
    if rows.empty:
        return empty_figure(
            f"No open interest at strike {format_strike(strike)} in the selected expiries",
            title=title,
            subtitle=subtitle,
            template=template,
            height=height,
        )
    rows = rows.assign(_iso=iso_dates(rows["expiry"]))
    per_expiry = rows.groupby("_iso", sort=True)[[c for _, _, c in _SIDES]].sum()
    expiries = per_expiry.index.to_numpy(dtype=object)
    customdata = np.column_stack([np.full(expiries.size, strike, dtype=object), expiries])

    fig = new_figure()
    for side, name, column in _SIDES:
        y = per_expiry[column].to_numpy(dtype=float)
        fig["data"].append(dict(
            type="bar",
            x=expiries,
            y=y,
            name=name,
            marker=dict(color=getattr(palette, side)),
            customdata=customdata,
            text=format_usd_array(y),
            textposition="none",
            hovertemplate=f"{name}: %{{text}}<extra></extra>",
        ))
    update_axes(fig, "xaxis", type="category", categoryorder="array", categoryarray=expiries,
                title={"text": "Expiry"},
                unifiedhovertitle=dict(text=f"<b>%{{x}}</b> · strike {format_strike(strike)}"))
    update_axes(fig, "yaxis", title={"text": GEX_AXIS_TITLE}, exponentformat="B", zeroline=True)
    fig["layout"].update(barmode="group", hovermode="x unified", bargap=0.25, bargroupgap=0.05)
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


# --- helpers ------------------------------------------------------------------------------------
def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(frame.columns)}")


def _round_or_none(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def previous_net_trace(previous_net: pd.DataFrame, *, palette: Palette = PALETTE) -> dict:
    """The previous snapshot's net GEX by strike: a grey tick over each strike's bar on the gamma view.

    Ticks, not a line: GEX exists at listed strikes only, and a line between them draws values (and
    swings through zero) at prices where there is no strike.

    Its own function so the comparison, computed after the main view, can be added to a drawn
    chart (a Dash ``Patch``) without rebuilding the figure.

    Parameters
    ----------
    previous_net : pandas.DataFrame
        ``strike, net_gex_usd_per_1pct`` of the previous snapshot.
    """
    _require_columns(previous_net, ("strike", "net_gex_usd_per_1pct"), "previous_net")
    prev = previous_net.sort_values("strike")
    prev_y = prev["net_gex_usd_per_1pct"].to_numpy(dtype=float)
    return dict(
        type="scatter",
        x=prev["strike"].to_numpy(dtype=float),
        y=prev_y,
        name=PREVIOUS_NET_TRACE_NAME,
        mode="markers",
        marker=dict(symbol="line-ew", size=10, color=palette.previous, line=dict(color=palette.previous, width=2.2)),
        customdata=prev["strike"].to_numpy(dtype=float)[:, None],
        text=format_usd_array(prev_y),
        hovertemplate="Net, previous: %{text}<extra></extra>",
    )


def _add_side_bars(fig: Figure, by_strike: pd.DataFrame, palette: Palette) -> np.ndarray:
    frame = by_strike.sort_values("strike")
    strikes = frame["strike"].to_numpy(dtype=float)
    customdata = strikes[:, None]
    unique = np.unique(strikes)
    step = float(np.min(np.diff(unique))) if unique.size > 1 else 1.0
    for side, name, column in _SIDES:
        y = frame[column].to_numpy(dtype=float)
        is_net = side == "net"
        fig["data"].append(dict(
            type="bar",
            x=strikes,
            y=y,
            name=name,
            marker=dict(color=getattr(palette, side)),
            opacity=1.0 if is_net else 0.7,
            width=0.4 * step if is_net else 0.9 * step,
            customdata=customdata,
            text=format_usd_array(y),
            textposition="none",
            hovertemplate=f"{name}: %{{text}}<extra></extra>",
        ))
    return strikes


def _add_stacked_bars(fig: Figure, by_strike_expiry: pd.DataFrame, palette: Palette) -> np.ndarray:
    frame = by_strike_expiry.assign(_iso=iso_dates(by_strike_expiry["expiry"]))
    # several rows of one (strike, expiry) are summed, never dropped
    frame = frame.groupby(["_iso", "strike"], as_index=False, sort=True)["net_gex_usd_per_1pct"].sum()
    expiries = frame["_iso"].unique()
    colours = (
        sample_colorscale("Viridis", list(np.linspace(0.0, 0.9, len(expiries))))
        if len(expiries) > 1
        else [palette.net]
    )
    labels = format_usd_array(frame["net_gex_usd_per_1pct"].to_numpy(dtype=float))
    bars = []
    for (iso, part), colour in zip(frame.groupby("_iso", sort=True), colours, strict=True):
        strikes = part["strike"].to_numpy(dtype=float)
        bars.append(dict(
            type="bar",
            x=strikes,
            y=part["net_gex_usd_per_1pct"].to_numpy(dtype=float),
            name=str(iso),
            legendgroup="expiries",
            marker=dict(color=colour),
            customdata=np.column_stack(
                [strikes.astype(object), np.full(strikes.size, iso, dtype=object)]
            ),
            text=labels[part.index.to_numpy()],
            textposition="none",
            hovertemplate=f"{iso}: %{{text}}<extra></extra>",
        ))
    fig["data"].extend(bars)
    total = frame.groupby("strike", sort=True)["net_gex_usd_per_1pct"].sum()
    total_strikes = total.index.to_numpy(dtype=float)
    fig["data"].append(dict(
        type="scatter",
        x=total_strikes,
        y=total.to_numpy(dtype=float),
        name="Net GEX (all shown expiries)",
        mode="markers",
        marker=dict(symbol="line-ew", size=6, line=dict(width=1.2, color=palette.text)),
        customdata=total_strikes[:, None],
        text=format_usd_array(total.to_numpy(dtype=float)),
        hovertemplate="Net, total: %{text}<extra></extra>",
    ))
    return frame["strike"].to_numpy(dtype=float)


def _outline_strike(fig: Figure, strike: float, palette: Palette) -> None:
    for trace in fig["data"]:
        if trace["type"] != "bar":
            continue
        hit = np.isclose(np.asarray(trace["x"], dtype=float), strike)
        line = dict(color=palette.text, width=np.where(hit, HIGHLIGHT_LINE_WIDTH, 0.0))
        trace["marker"] = merge(trace.get("marker") or {}, {"line": line})


def _y_range_in_window(fig: Figure, window: tuple[float, float], *, stacked: bool) -> list[float] | None:
    """A y range that fits today's data inside the x window (so far wings do not set the scale, nor
    does the previous snapshot's line: it may run off the chart)."""
    lo, hi = window
    values = [np.zeros(1)]
    stacked_x, stacked_y = [], []
    for trace in fig["data"]:
        if trace.get("name") == PREVIOUS_NET_TRACE_NAME:
            continue
        x = np.asarray(trace["x"], dtype=float)
        y = np.asarray(trace["y"], dtype=float)
        inside = (x >= lo) & (x <= hi)
        if stacked and trace["type"] == "bar":
            stacked_x.append(x[inside])
            stacked_y.append(y[inside])
        else:
            values.append(y[inside])
    if stacked_x:
        frame = pd.DataFrame({"x": np.concatenate(stacked_x), "y": np.concatenate(stacked_y)})
        values.append(frame["y"].clip(lower=0).groupby(frame["x"]).sum().to_numpy())
        values.append(frame["y"].clip(upper=0).groupby(frame["x"]).sum().to_numpy())
    merged = np.concatenate(values)
    merged = merged[np.isfinite(merged)]
    ymin, ymax = float(merged.min()), float(merged.max())
    if ymax == ymin:
        return None
    pad = 0.08 * (ymax - ymin)
    return [ymin - pad, ymax + pad]
