"""The Intraday view: net dealer GEX by strike (rows) through one session (columns), on a diverging scale
centred at zero, with spot, the zero-gamma level nearest spot and the call and put walls drawn through
time, and the replayed moment marked.

Pure: plain data in (:class:`analytics.intraday.SessionMatrix` and the snapshot ids), a figure dict
out; no dash import, no clock. The page's plotly.js basic bundle has no heatmap trace, and 78 x 30
cells drawn as bars (the History tab's way) took ~0.8 s in Chromium: the cells are one PNG image placed
on the axes (:func:`cells_png`, drawn in ~0.1 s);
an invisible line through the cells' centres carries the hover (time, strike, GEX) and the click
(the snapshot id); one invisible point carries the colour bar.
"""

from __future__ import annotations

import base64
import struct
import zlib
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
    format_usd,
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
#: the cell image is scaled up (whole pixels per cell) to about this size, so the browser's smoothing
#: of a stretched image blurs nothing but a cell's edge
IMAGE_TARGET_PX = (1400, 700)
ZERO_COLOUR = "#F7F7F7"
MAX_MARKED_TIMES = 24  # spot's line marks each snapshot up to this many (78 markers hid the cells)


#: the colours span +-this quantile of the cells' |GEX| (a few cells at spot near the close, where 0DTE
#: gamma explodes, would otherwise wash every other cell out); the colour bar says when it caps
COLOUR_QUANTILE = 0.99


def colour_range(z: np.ndarray) -> tuple[float, bool]:
    """The half-range of the colour scale (centred at 0) and whether it is below the largest cell: the
    :data:`COLOUR_QUANTILE` of the non-zero cells' |GEX|.

    Examples
    --------
    >>> colour_range(np.array([[1.0, -2.0], [0.0, 2.0]]))
    (2.0, False)
    >>> top, capped = colour_range(np.r_[np.ones(200), 50.0])
    >>> round(top, 2), capped
    (1.0, True)
    """
    size = np.abs(np.asarray(z, dtype=float))
    size = size[np.isfinite(size) & (size > 0)]
    if size.size == 0:
        return 1.0, False
    top = float(np.quantile(size, COLOUR_QUANTILE, method="inverted_cdf"))
    return top, top < float(size.max())


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def cell_colours(z: np.ndarray, top: float, palette: Palette = PALETTE) -> np.ndarray:
    """RGB (uint8) of each value on the diverging scale: the put colour at ``-top``, :data:`ZERO_COLOUR`
    at 0, the call colour at ``+top``, linear between (the colour bar's scale, centred at zero).

    Examples
    --------
    >>> cell_colours(np.array([-2.0, 0.0, 2.0]), 2.0).tolist()
    [[213, 94, 0], [247, 247, 247], [0, 158, 115]]
    """
    t = np.clip(np.asarray(z, dtype=float) / (top or 1.0), -1.0, 1.0)[..., None]
    zero, call, put = _rgb(ZERO_COLOUR), _rgb(palette.call), _rgb(palette.put)
    rgb = np.where(t >= 0, zero + t * (call - zero), zero + (-t) * (put - zero))
    return np.rint(rgb).astype(np.uint8)


def png_bytes(rgba: np.ndarray) -> bytes:
    """A PNG file of an ``(h, w, 4)`` uint8 RGBA array (stdlib zlib; no imaging library needed)."""
    h, w, _ = rgba.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgba.reshape(h, w * 4)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def cells_png(z: np.ndarray, slots: np.ndarray, n_slots: int, top: float, palette: Palette = PALETTE) -> tuple[str, int]:
    """The cells as a PNG data URI: column ``slots[i]`` of ``n_slots`` holds snapshot ``i`` (``z[i]``,
    strike rows bottom to top), a slot without a snapshot is transparent; and the pixels per cell row.

    Returns
    -------
    (str, int)
        ``data:image/png;base64,...`` (highest strike in the top row) and the pixel height of a row.
    """
    n, m = z.shape
    rgba = np.zeros((m, n_slots, 4), dtype=np.uint8)
    rgba[:, slots, :3] = cell_colours(z.T[::-1], top, palette)
    rgba[:, slots, 3] = 255
    fx = max(1, IMAGE_TARGET_PX[0] // max(n_slots, 1))
    fy = max(1, IMAGE_TARGET_PX[1] // max(m, 1))
    big = np.repeat(np.repeat(rgba, fy, axis=0), fx, axis=1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(big)).decode("ascii"), fy


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
    """A column's width: the usual step between snapshots (the lower median: a missed fetch does not
    widen it), in milliseconds."""
    if len(matrix.times) < 2:
        return float(DEFAULT_STEP_MS)
    steps = np.diff(matrix.times.as_unit("ms").asi8).astype(float)
    steps = np.sort(steps[steps > 0])
    return float(steps[(len(steps) - 1) // 2]) if len(steps) else float(DEFAULT_STEP_MS)  # the lower median


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
        The cells as a layout image (colours centred at 0, symmetric range); traces ``Net GEX`` (the
        cells' hover and click: time, strike, GEX; ``customdata`` = [strike bucket, snapshot id]),
        ``Net GEX scale`` (the colour bar), ``Spot``, ``Zero gamma``, ``Call wall``, ``Put wall``; the
        x axis is time in the session's zone.

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
    top, capped = colour_range(z)
    times = local_times(matrix)
    n, m = z.shape
    zone = str(matrix.times.tz) if matrix.times.tz is not None else "UTC"
    fig = new_figure(dict(
        xaxis=dict(type="date", title={"text": f"Time ({escape_text(zone)})"}, tickformat="%H:%M",
                   hoverformat="%H:%M", showgrid=False,
                   range=_time_range(matrix, column_width_ms(matrix)), layer="above traces"),
        yaxis=dict(title={"text": f"Strike (buckets of {format_strike(step)})"}, tickformat=",.0f",
                   showgrid=False, range=[low, high]),
        hovermode="closest",
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "bottom"},
        margin={"r": 90},
    ))
    width_ms = column_width_ms(matrix)
    offsets_ms = (matrix.times - matrix.times[0]).total_seconds().to_numpy() * 1000.0
    slots = np.rint(offsets_ms / width_ms).astype(np.int64)  # a missed fetch leaves its slot empty
    source, _ = cells_png(z, slots, int(slots.max()) + 1, top, palette)
    first_edge = _time_range(matrix, width_ms)[0]
    fig["layout"]["images"] = [dict(source=source, xref="x", yref="y", x=first_edge, y=float(centres[-1] + step / 2),
                                    sizex=width_ms * (int(slots.max()) + 1), sizey=step * m, sizing="stretch",
                                    xanchor="left", yanchor="top", layer="below")]
    cell_ids = np.repeat(np.asarray(ids, dtype=object), m)
    # the hover (and click) of every cell: an invisible line through the cells' centres (one path; a marker
    # per cell cost ~0.1-0.2 s more in Chromium)
    fig["data"].append(dict(
        type="scatter", mode="lines", x=np.repeat(np.asarray(times, dtype=object), m).tolist(),
        y=np.tile(centres, n), name="Net GEX", showlegend=False, line=dict(color="rgba(0,0,0,0)", width=1),
        customdata=np.column_stack([np.tile(centres, n), cell_ids]).tolist(),
        text=format_usd_array(z.ravel(), signed=True),
        hovertemplate="%{x|%H:%M}<br>strike %{customdata[0]:,.0f}<br>net GEX %{text} per 1%<extra></extra>",
    ))
    # the colour bar of the cells' scale (one invisible point)
    fig["data"].append(dict(
        type="scatter", mode="markers", x=[times[0]], y=[float(centres[0])], name="Net GEX scale", showlegend=False,
        hoverinfo="skip",
        marker=dict(color=[0.0], colorscale=[[0.0, palette.put], [0.5, ZERO_COLOUR], [1.0, palette.call]],
                    cmid=0.0, cmin=-top, cmax=top, opacity=0, size=1, showscale=True,
                    colorbar=dict(title={"text": COLORBAR_TITLE + (f"<br>full colour beyond<br>±{format_usd(top)}"
                                                                  if capped else ""), "side": "top"},
                                  exponentformat="B",
                                  thickness=12, len=0.85, y=0.45)),
    ))
    lines = (
        ("Spot", spot, dict(color=palette.spot, width=2.5), "lines+markers" if n <= MAX_MARKED_TIMES else "lines",
         "spot %{y:,.2f}"),
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
