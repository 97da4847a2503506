"""The Intraday view: net dealer GEX by strike (rows) through one session (columns), on a diverging scale
centred at zero, with spot, the zero-gamma level nearest spot and the call and put walls drawn through
time, and the replayed moment marked.

Pure: plain data in (:class:`analytics.intraday.SessionMatrix` and the snapshot ids), a figure dict
out; no dash import, no clock. The cells are bars (one per snapshot and strike bucket), the way the
History tab's heatmap is drawn: the page's plotly.js basic bundle has no heatmap trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from analytics.intraday import SessionMatrix
from dashboard.web.figures.common import (
    PALETTE,
    Figure,
    Palette,
    apply_house_layout,
    empty_figure,
    escape_text,
    format_strike,
    format_usd_array,
    new_figure,
)
from dashboard.web.figures.history import bucket_strikes

TITLE = "Net GEX by strike through the session (USD per 1% move)"
#: at most this many strike rows (buckets of a round step, no finer than the listed strikes' spacing)
MAX_ROWS = 100
#: the walls' lines, darker than the cells' call/put colours so they read over them
CALL_WALL_LINE = "#00664A"
PUT_WALL_LINE = "#8F3B00"
COLORBAR_TITLE = "Net GEX<br>USD per 1%"
DEFAULT_STEP_MS = 5 * 60 * 1000  # a column's width when the session has one snapshot


def expiry_label(matrix: SessionMatrix) -> str:
    """What the cells cover: ``all expiries`` or ``0DTE (2026-11-20)`` (each snapshot's 0DTE expiry set).

    Examples
    --------
    >>> from analytics.intraday import session_matrix
    >>> expiry_label(session_matrix([]))
    'all expiries'
    """
    if matrix.expiries != "0dte":
        return "all expiries"
    dates = sorted({d for ds in matrix.zero_dte_expiries for d in ds})
    return f"0DTE ({', '.join(dates)})" if dates else "0DTE"


def local_times(matrix: SessionMatrix) -> list[str]:
    """Each snapshot's time in the session's time zone, as the date axis reads it (no offset)."""
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in matrix.times]


def column_width_ms(matrix: SessionMatrix) -> float:
    """A column's width: the usual step between snapshots (the median), in milliseconds."""
    if len(matrix.times) < 2:
        return float(DEFAULT_STEP_MS)
    steps = np.diff(matrix.times.as_unit("ms").asi8).astype(float)
    return float(np.median(steps[steps > 0])) if np.any(steps > 0) else float(DEFAULT_STEP_MS)


def intraday_figure(
    matrix: SessionMatrix,
    snapshot_ids: Sequence[str],
    *,
    selected: int | None = None,
    strike_window: tuple[float, float] | None = None,
    subtitle: str | None = None,
    title: str = TITLE,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
    max_rows: int = MAX_ROWS,
) -> Figure:
    """Net GEX by strike bucket x time, spot, zero gamma and walls as lines, the replayed time marked.

    Parameters
    ----------
    matrix : SessionMatrix
        One session's snapshots (:func:`analytics.intraday.session_matrix`).
    snapshot_ids : sequence of str
        One catalog id per snapshot (a click on a column hands it back in ``customdata[1]``).
    selected : int, optional
        The replayed snapshot's position: a vertical line marks it.
    strike_window : (low, high), optional
        Strikes shown; default: spot's range over the session +/- 5%.
    subtitle, title, template, height, palette
        Styling.
    max_rows : int
        At most this many strike buckets.

    Returns
    -------
    dict
        Traces ``Net GEX`` (cells, colour bar centred at 0 with a symmetric range), ``Spot``,
        ``Zero gamma``, ``Call wall``, ``Put wall``; the x axis is time in the session's zone.

    Examples
    --------
    >>> from analytics.intraday import session_matrix
    >>> intraday_figure(session_matrix([]), [])["layout"]["annotations"][0]["text"]
    'No snapshot of this session summarised yet'
    """
    ids = [str(i) for i in snapshot_ids]
    if matrix.empty or len(matrix.strikes) == 0:
        return empty_figure("No snapshot of this session summarised yet", title=title, subtitle=subtitle,
                            template=template, height=height)
    if len(ids) != len(matrix.files):
        raise ValueError(f"{len(ids)} snapshot ids for {len(matrix.files)} snapshots")
    spot = np.asarray(matrix.spot, float)
    low, high = strike_window or (float(np.nanmin(spot)) * 0.95, float(np.nanmax(spot)) * 1.05)
    gex = np.nan_to_num(matrix.net_gex, nan=0.0)  # a strike a snapshot does not list holds no GEX
    centres, z, step = bucket_strikes(matrix.strikes, gex, low, high, max_rows)
    top = float(np.max(np.abs(z))) if z.size else 0.0
    top = top or 1.0
    times = local_times(matrix)
    n, m = z.shape
    zone = str(matrix.times.tz) if matrix.times.tz is not None else "UTC"
    fig = new_figure(dict(
        xaxis=dict(type="date", title={"text": f"Time ({escape_text(zone)})"}, tickformat="%H:%M",
                   hoverformat="%H:%M", showgrid=False,
                   range=_time_range(matrix, column_width_ms(matrix))),
        yaxis=dict(title={"text": f"Strike (buckets of {format_strike(step)})"}, tickformat=",.0f",
                   showgrid=False, range=[low, high]),
        hovermode="closest",
        barmode="overlay",
        bargap=0.0,
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "bottom"},
        margin={"r": 90},
    ))
    cell_ids = np.repeat(np.asarray(ids, dtype=object), m)
    fig["data"].append(dict(
        type="bar", x=np.repeat(np.asarray(times, dtype=object), m).tolist(), y=np.full(n * m, step),
        base=np.tile(centres - step / 2, n), width=np.full(n * m, column_width_ms(matrix)), name="Net GEX",
        showlegend=False, customdata=np.column_stack([np.tile(centres, n), cell_ids]).tolist(),
        marker=dict(color=z.ravel(), colorscale=[[0.0, palette.put], [0.5, "#F7F7F7"], [1.0, palette.call]],
                    cmid=0.0, cmin=-top, cmax=top, line=dict(width=0), showscale=True,
                    colorbar=dict(title={"text": COLORBAR_TITLE, "side": "top"}, exponentformat="B",
                                  thickness=12, len=0.85, y=0.45)),
        text=format_usd_array(z.ravel(), signed=True), textposition="none",
        hovertemplate="%{x|%H:%M}<br>strike %{customdata[0]:,.0f}<br>net GEX %{text} per 1%<extra></extra>",
    ))
    lines = (
        ("Spot", spot, dict(color=palette.spot, width=2.5), "lines+markers", "spot %{y:,.2f}"),
        ("Zero gamma", matrix.zero_gamma, dict(color=palette.zero_gamma, width=2.5, dash="dot"), "lines",
         "zero gamma (all expiries) %{y:,.0f}" if matrix.expiries == "0dte" else "zero gamma %{y:,.0f}"),
        ("Call wall", matrix.call_wall, dict(color=CALL_WALL_LINE, width=2, dash="dash", shape="hv"), "lines",
         "call wall %{y:,.0f}"),
        ("Put wall", matrix.put_wall, dict(color=PUT_WALL_LINE, width=2, dash="dash", shape="hv"), "lines",
         "put wall %{y:,.0f}"),
    )
    for name, y, line, mode, hover in lines:
        shown = "Zero gamma (all expiries)" if name == "Zero gamma" and matrix.expiries == "0dte" else name
        fig["data"].append(dict(
            type="scatter", x=times, y=np.asarray(y, float), name=shown, mode=mode, line=line, connectgaps=False,
            marker=dict(size=5, color=palette.spot, line=dict(color="white", width=1)),
            hovertemplate=f"%{{x|%H:%M}}<br>{hover}<extra></extra>",
        ))
    if selected is not None and 0 <= selected < n:
        fig["layout"]["shapes"] = [dict(type="line", xref="x", yref="paper", x0=times[selected], x1=times[selected],
                                        y0=0, y1=1, line=dict(color=palette.text, width=1.5, dash="longdash"))]
        fig["layout"]["annotations"] = [dict(
            xref="x", yref="paper", x=times[selected], y=1.0, yanchor="bottom", showarrow=False,
            text=f"replay {matrix.times[selected].strftime('%H:%M')}", font=dict(size=11, color=palette.text),
            bgcolor="rgba(255,255,255,0.85)")]
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def _time_range(matrix: SessionMatrix, width_ms: float) -> list[str]:
    """The x range: the first column's left edge to the last's right edge."""
    half = np.timedelta64(int(width_ms / 2), "ms")
    first = matrix.times[0].tz_localize(None).to_datetime64() - half
    last = matrix.times[-1].tz_localize(None).to_datetime64() + half
    return [str(np.datetime_as_string(first, unit="s")).replace("T", " "),
            str(np.datetime_as_string(last, unit="s")).replace("T", " ")]


def session_subtitle(matrix: SessionMatrix, convention_label: str) -> str:
    """The subtitle: underlying, session, snapshot count, expiries, convention (plain text).

    Examples
    --------
    >>> from analytics.intraday import session_matrix
    >>> session_subtitle(session_matrix([], underlying="SPX", session="2026-11-20"), "dealers long calls")
    'SPX · session 2026-11-20 · 0 snapshots · all expiries · dealers long calls'
    """
    n = len(matrix.files)
    return (f"{matrix.underlying} · session {matrix.session} · {n} snapshot{'s' if n != 1 else ''} · "
            f"{expiry_label(matrix)} · {convention_label}")
