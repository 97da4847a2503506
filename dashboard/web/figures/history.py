"""The history tab's three views, over the last N snapshots of one underlying.

* :func:`levels_history_figure`: spot, every zero-gamma level, the call and put walls (price, right
  axis) and total GEX (bars, left axis) per snapshot;
* :func:`strike_heatmap_figure`: net GEX by strike bucket x snapshot around spot, on a zero-centred
  diverging scale (short gamma in the put colour, long gamma in the call colour), spot drawn over it;
* :func:`term_history_figure`: net dealer vega (bars) and ATM implied vol at constant maturities
  (lines, right axis) per snapshot.

:func:`history_view_figures` draws all three from one :class:`analytics.history_window.HistoryWindow`, with
:func:`history_subtitle` saying what they show (every expiry, the summaries' convention by its registry
label): the History tab and the morning report both draw their history charts with it.

The x axis of all three is categorical: one slot per snapshot, its value the catalog id of the
snapshot (so a click on any point or heatmap cell hands the id back in ``x``: see
:data:`CUSTOMDATA_SNAPSHOT`), its tick label the snapshot date. Weekends take no room.

Pure functions: plain data in, figure dicts out; no dash import, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import conventions
from analytics.history_window import HistoryWindow
from dashboard.web.figures.common import (
    PALETTE,
    Figure,
    Palette,
    apply_house_layout,
    empty_figure,
    format_strike,
    format_usd_array,
    new_figure,
)

#: where a click finds the snapshot id: the point's ``x`` (categorical axis of catalog ids)
CUSTOMDATA_SNAPSHOT = "x"
LEVELS_COLUMNS = ("snapshot_id", "as_of", "spot", "zero_gamma_levels", "call_wall", "put_wall",
                  "total_gex_usd_per_1pct")
TERM_COLUMNS = ("snapshot_id", "days_to_expiry", "atm_iv")
GEX_AXIS_TITLE = "Total GEX<br>USD per 1%"
PRICE_AXIS_TITLE = "Spot and levels"
VEGA_AXIS_TITLE = "Net vega<br>USD per vol pt"
IV_AXIS_TITLE = "ATM implied vol (%)"
STRIKE_AXIS_TITLE = "Strike"
#: constant maturities (calendar days) at which the ATM IV term is read over time
IV_TENORS_DAYS: tuple[int, ...] = (7, 30, 90)
#: the heatmap spans spot's range over the window +/- this many daily moves (realised), within bounds
HEATMAP_BAND_DAILY_MOVES = 5.0
HEATMAP_BAND_PCT_BOUNDS = (3.0, 20.0)
HEATMAP_MAX_ROWS = 60
#: strikes whose |net GEX| reaches this share of the largest set the finest bucket (their usual spacing)
HEATMAP_SIGNIFICANT_SHARE = 0.02
#: vertical domains of the two panels of the levels and term charts (paper fractions)
PRICE_PANEL = (0.36, 1.0)
FLOW_PANEL = (0.0, 0.27)
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0)
#: the history views, in page order (keys of :func:`history_view_figures`)
HISTORY_VIEWS: tuple[str, ...] = ("levels", "heatmap", "term")
#: the expiry set every stored summary covers (see :func:`analytics.summary.summarize_chain`)
SUMMARY_EXPIRIES = "all expiries"


def date_labels(as_of: Sequence[pd.Timestamp] | pd.Series) -> list[str]:
    """Tick labels of snapshots: ``Nov 16``, or ``Nov 16 14:00`` when a day holds several.

    Examples
    --------
    >>> ts = [pd.Timestamp("2026-11-16 16:15"), pd.Timestamp("2026-11-17 09:00"), pd.Timestamp("2026-11-17 16:15")]
    >>> date_labels(ts)
    ['Nov 16', 'Nov 17 09:00', 'Nov 17 16:15']
    """
    stamps = [pd.Timestamp(t) for t in as_of]
    days = pd.Series([t.date() for t in stamps])
    repeated = days.duplicated(keep=False).to_numpy()
    return [t.strftime("%b %d %H:%M") if rep else t.strftime("%b %d") for t, rep in zip(stamps, repeated, strict=True)]


def _category_axis(ids: Sequence[str], labels: Sequence[str],
                   as_of: Sequence[pd.Timestamp] | pd.Series | None = None) -> dict:
    """A categorical x axis over snapshot ids, labelled by date (at most ~12 labels shown); with
    ``as_of``, the first label and each one starting a new year carry the year on a second line."""
    n = len(ids)
    every = max(1, int(np.ceil(n / 12)))
    shown = list(range(n - 1, -1, -every))[::-1]  # always label the newest snapshot
    text = [labels[i] for i in shown]
    if as_of is not None:
        stamps = list(as_of)
        years = [pd.Timestamp(stamps[i]).year for i in shown]
        text = [f"{t}<br>{y}" if k == 0 or y != years[k - 1] else t
                for k, (t, y) in enumerate(zip(text, years, strict=True))]
    return dict(type="category", categoryorder="array", categoryarray=list(ids),
                tickmode="array", tickvals=[ids[i] for i in shown], ticktext=text)


def _check(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(frame.columns)}")


def levels_history_figure(
    history: pd.DataFrame,
    *,
    title: str = "Key levels over time",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Spot, zero-gamma levels and walls (top panel) and total GEX (bars, bottom panel) per snapshot.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per snapshot, oldest first, with :data:`LEVELS_COLUMNS` (``zero_gamma_levels`` a
        sequence per row, possibly empty; walls NaN when none).
    title, subtitle, template, height, palette
        Styling; see :func:`dashboard.web.figures.common.apply_house_layout`.

    Returns
    -------
    dict
        Traces: total GEX (bars, ``y2``, the lower panel), spot, zero gamma (every level of every
        snapshot, markers), call wall, put wall (lines, ``y``, the upper panel). ``x`` is the snapshot
        id on every trace.

    Examples
    --------
    >>> frame = pd.DataFrame({"snapshot_id": ["a", "b"], "as_of": pd.to_datetime(["2026-11-16", "2026-11-17"]),
    ...     "spot": [100.0, 101.0], "zero_gamma_levels": [(98.0,), (97.0, 104.0)], "call_wall": [105.0, 105.0],
    ...     "put_wall": [95.0, float("nan")], "total_gex_usd_per_1pct": [-1e9, 2e9]})
    >>> fig = levels_history_figure(frame)
    >>> [t["name"] for t in fig["data"]]
    ['Total GEX', 'Spot', 'Zero gamma', 'Call wall', 'Put wall']
    >>> fig["data"][2]["x"], fig["data"][2]["y"].tolist()
    (['a', 'b', 'b'], [98.0, 97.0, 104.0])
    """
    _check(history, LEVELS_COLUMNS, "history")
    if history.empty:
        return empty_figure("No snapshot summarised yet", title=title, subtitle=subtitle, template=template,
                            height=height)
    ids = history["snapshot_id"].astype(str).tolist()
    labels = date_labels(history["as_of"])
    gex = history["total_gex_usd_per_1pct"].to_numpy(float)
    spot = history["spot"].to_numpy(float)
    zg_x = [i for i, levels in zip(ids, history["zero_gamma_levels"], strict=True) for _ in (levels or ())]
    zg_y = np.array([float(z) for levels in history["zero_gamma_levels"] for z in (levels or ())])
    fig = new_figure(dict(
        xaxis=dict(_category_axis(ids, labels, history["as_of"]), anchor="y2"),
        yaxis=dict(anchor="x", domain=list(PRICE_PANEL), title={"text": PRICE_AXIS_TITLE}, tickformat=",.0f"),
        yaxis2=dict(anchor="x", domain=list(FLOW_PANEL), title={"text": GEX_AXIS_TITLE}, exponentformat="B",
                    zeroline=True, tickmode="auto", nticks=4),
        hovermode="x unified",
        bargap=0.35,
    ))
    fig["data"].append(dict(
        type="bar", x=ids, y=gex, name="Total GEX", yaxis="y2",
        marker=dict(color=np.where(gex >= 0, palette.long_gamma_fill, palette.short_gamma_fill).tolist(),
                    line=dict(color=np.where(gex >= 0, palette.call, palette.put).tolist(), width=1)),
        text=format_usd_array(gex, signed=True), textposition="none",
        hovertemplate="total GEX %{text} per 1%<extra></extra>",
    ))
    fig["data"].append(dict(
        type="scatter", x=ids, y=spot, name="Spot", yaxis="y", mode="lines+markers",
        line=dict(color=palette.spot, width=2), marker=dict(size=6),
        hovertemplate="spot %{y:,.2f}<extra></extra>",
    ))
    fig["data"].append(dict(
        type="scatter", x=zg_x, y=zg_y, name="Zero gamma", yaxis="y", mode="markers",
        marker=dict(symbol="diamond", size=9, color=palette.zero_gamma, line=dict(color="white", width=1)),
        hovertemplate="zero gamma %{y:,.0f}<extra></extra>",
    ))
    for column, name, colour in (("call_wall", "Call wall", palette.call), ("put_wall", "Put wall", palette.put)):
        fig["data"].append(dict(
            type="scatter", x=ids, y=history[column].to_numpy(float), name=name, yaxis="y",
            mode="lines+markers", line=dict(color=colour, width=2, dash="dash", shape="hv"),
            marker=dict(size=5, color=colour), connectgaps=False,
            hovertemplate=f"{name.lower()} %{{y:,.0f}}<extra></extra>",
        ))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def _nice_step(span: float, max_rows: int) -> float:
    """The smallest 1/2/2.5/5 x 10^k step that cuts ``span`` into at most ``max_rows`` rows.

    Examples
    --------
    >>> _nice_step(670.0, 60), _nice_step(24000.0, 60)
    (20.0, 500.0)
    """
    raw = max(span, 1e-9) / max_rows
    scale = 10.0 ** np.floor(np.log10(raw))
    return float(next(m * scale for m in (*_NICE_STEPS, 10.0) if m * scale >= raw))


def heatmap_band_pct(spots: Sequence[float] | np.ndarray) -> float:
    """How far around spot (percent) the heatmap reaches: :data:`HEATMAP_BAND_DAILY_MOVES` realised
    daily moves (standard deviation of log spot changes), within :data:`HEATMAP_BAND_PCT_BOUNDS`.

    Examples
    --------
    >>> heatmap_band_pct([100.0, 101.0, 100.0, 101.0]), heatmap_band_pct([100.0])
    (5.7, 3.0)
    """
    s = np.asarray(spots, dtype=float)
    moves = np.diff(np.log(s[s > 0]))
    daily = float(np.std(moves, ddof=1)) * 100.0 if len(moves) > 1 else 0.0
    lo, hi = HEATMAP_BAND_PCT_BOUNDS
    return float(np.clip(HEATMAP_BAND_DAILY_MOVES * daily, lo, hi).round(1))


def bucket_strikes(strikes: np.ndarray, net_gex: np.ndarray, low: float, high: float,
                   max_rows: int = HEATMAP_MAX_ROWS) -> tuple[np.ndarray, np.ndarray, float]:
    """Net GEX summed into regular strike buckets between ``low`` and ``high``.

    The step is the smallest round number giving at most ``max_rows`` buckets and no finer than the
    usual spacing of the strikes that carry GEX (so a chain listed every 25 points with a few 5-point
    strikes is not drawn as stripes of empty rows).

    Parameters
    ----------
    strikes : ndarray, shape (k,)
    net_gex : ndarray, shape (n, k)
        Net GEX per snapshot (rows) and strike (columns).
    low, high : float
        Strike range kept.
    max_rows : int
        At most this many buckets (the step is a 1/2/2.5/5 x 10^k number).

    Returns
    -------
    centres : ndarray, shape (m,)
        Bucket centres (multiples of the step).
    summed : ndarray, shape (n, m)
        Net GEX of the strikes nearest each centre.
    step : float

    Examples
    --------
    >>> c, z, step = bucket_strikes(np.array([95.0, 99.0, 100.0, 101.0]), np.array([[1.0, 2.0, 3.0, 4.0]]), 90, 110, 4)
    >>> c.tolist(), z.tolist(), step
    ([90.0, 95.0, 100.0, 105.0, 110.0], [[0.0, 1.0, 9.0, 0.0, 0.0]], 5.0)
    """
    strikes = np.asarray(strikes, float)
    peak = np.max(np.abs(net_gex), axis=0) if net_gex.size else np.zeros(len(strikes))
    significant = np.unique(strikes[peak >= HEATMAP_SIGNIFICANT_SHARE * (peak.max() if peak.size else 0.0)])
    spacing = float(np.median(np.diff(significant))) if len(significant) > 2 else 0.0
    step = _nice_step(max(high - low, spacing * max_rows), max_rows)
    centres = np.arange(np.floor(low / step), np.ceil(high / step) + 1) * step
    idx = np.rint(np.asarray(strikes, float) / step).astype(np.int64) - int(np.floor(low / step))
    keep = (idx >= 0) & (idx < len(centres))
    summed = np.zeros((net_gex.shape[0], len(centres)))
    np.add.at(summed, (slice(None), idx[keep]), net_gex[:, keep])
    return centres, summed, step


def _diverging_scale(palette: Palette) -> list[list]:
    return [[0.0, palette.put], [0.5, "#F7F7F7"], [1.0, palette.call]]


def strike_heatmap_figure(
    snapshot_ids: Sequence[str],
    as_of: Sequence[pd.Timestamp],
    strikes: np.ndarray,
    net_gex: np.ndarray,
    spots: np.ndarray,
    *,
    band_pct: float | None = None,
    title: str = "Net GEX by strike over time",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Net dealer GEX by strike bucket (rows) and snapshot (columns), spot drawn over it.

    Parameters
    ----------
    snapshot_ids, as_of : sequence
        One per snapshot (oldest first): catalog id (the x category) and snapshot time (the label).
    strikes : ndarray, shape (k,)
    net_gex : ndarray, shape (n, k)
        Net GEX (USD per 1% move) per snapshot and strike (0 where unlisted).
    spots : ndarray, shape (n,)
    band_pct : float, optional
        Strikes within spot's range over the window +/- this percent; default :func:`heatmap_band_pct`.
    title, subtitle, template, height, palette
        Styling.

    Returns
    -------
    dict
        The cells (one bar per snapshot and strike bucket, coloured by net GEX on a scale centred on 0
        with a symmetric range) and a spot line.

    Examples
    --------
    >>> fig = strike_heatmap_figure(["a", "b"], pd.to_datetime(["2026-11-16", "2026-11-17"]),
    ...     np.array([95.0, 100.0, 105.0]), np.array([[-1.0, 2.0, 0.5], [-2.0, 1.0, 0.0]]), np.array([100.0, 101.0]),
    ...     band_pct=5)
    >>> cells = fig["data"][0]["marker"]
    >>> cells["cmid"], cells["cmin"], cells["cmax"], fig["data"][1]["name"]
    (0.0, -2.0, 2.0, 'Spot')
    """
    ids = [str(i) for i in snapshot_ids]
    if not ids or len(strikes) == 0:
        return empty_figure("No snapshot summarised yet", title=title, subtitle=subtitle, template=template,
                            height=height)
    spots = np.asarray(spots, float)
    band = heatmap_band_pct(spots) if band_pct is None else float(band_pct)
    low, high = np.nanmin(spots) * (1 - band / 100), np.nanmax(spots) * (1 + band / 100)
    centres, z, step = bucket_strikes(np.asarray(strikes, float), np.asarray(net_gex, float), low, high)
    top = float(np.max(np.abs(z))) or 1.0
    labels = date_labels(as_of)
    fig = new_figure(dict(
        xaxis=dict(_category_axis(ids, labels, as_of), showgrid=False),
        yaxis=dict(title={"text": f"{STRIKE_AXIS_TITLE} (buckets of {format_strike(step)})"}, tickformat=",.0f",
                   showgrid=False, range=[low, high]),
        hovermode="closest",
        barmode="overlay",
        bargap=0.0,
    ))
    # drawn as one bar per cell (base = bucket bottom, height = step): a heatmap the page's plotly.js
    # basic bundle draws (it has no heatmap trace), with a colour bar, exact cells and a click per cell
    n, m = z.shape
    fig["data"].append(dict(
        type="bar", x=np.repeat(ids, m).tolist(), y=np.full(n * m, step), base=np.tile(centres - step / 2, n),
        width=1.0, name="Net GEX", showlegend=False, customdata=np.tile(centres, n),
        marker=dict(color=z.ravel(), colorscale=_diverging_scale(palette), cmid=0.0, cmin=-top, cmax=top,
                    line=dict(width=0), showscale=True,
                    colorbar=dict(title={"text": "Net GEX<br>USD per 1%", "side": "top"}, exponentformat="B",
                                  thickness=12, len=0.9)),
        text=format_usd_array(z.ravel(), signed=True), textposition="none",
        hovertemplate="strike %{customdata:,.0f}<br>net GEX %{text} per 1%<extra></extra>",
    ))
    fig["data"].append(dict(
        type="scatter", x=ids, y=spots, name="Spot", mode="lines+markers",
        line=dict(color=palette.spot, width=2.5), marker=dict(size=6, color=palette.spot,
                                                               line=dict(color="white", width=1.5)),
        hovertemplate="spot %{y:,.2f}<extra></extra>", showlegend=True,
    ))
    fig["layout"]["legend"] = {"x": 0.0, "y": 1.01, "xanchor": "left", "yanchor": "bottom"}
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def iv_at_tenors(term: pd.DataFrame, snapshot_ids: Sequence[str],
                 tenors_days: Sequence[int] = IV_TENORS_DAYS) -> np.ndarray:
    """ATM IV (decimal) per snapshot at constant maturities, linear in days between listed expiries.

    NaN where a tenor lies outside a snapshot's listed (interpolable) expiries.

    Examples
    --------
    >>> term = pd.DataFrame({"snapshot_id": ["a", "a"], "days_to_expiry": [10.0, 40.0], "atm_iv": [0.2, 0.3]})
    >>> np.round(iv_at_tenors(term, ["a", "b"], (7, 30)), 4).tolist()
    [[nan, 0.2667], [nan, nan]]
    """
    _check(term, TERM_COLUMNS, "term")
    out = np.full((len(snapshot_ids), len(tenors_days)), np.nan)
    usable = term[np.isfinite(term["atm_iv"].to_numpy(float))]
    groups = dict(tuple(usable.groupby("snapshot_id", sort=False)))
    tenors = np.asarray(tenors_days, float)
    for i, sid in enumerate(snapshot_ids):
        g = groups.get(sid)
        if g is None or g.empty:
            continue
        g = g.sort_values("days_to_expiry")
        days, iv = g["days_to_expiry"].to_numpy(float), g["atm_iv"].to_numpy(float)
        inside = (tenors >= days[0]) & (tenors <= days[-1])
        out[i, inside] = np.interp(tenors[inside], days, iv)
    return out


def term_history_figure(
    history: pd.DataFrame,
    term: pd.DataFrame,
    *,
    tenors_days: Sequence[int] = IV_TENORS_DAYS,
    title: str = "Net vega and ATM IV term over time",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """ATM IV at constant maturities (lines, top panel) and net dealer vega (bars, bottom panel) per snapshot.

    Parameters
    ----------
    history : pandas.DataFrame
        ``snapshot_id, as_of, net_vega_usd_per_vol_pt``, one row per snapshot, oldest first.
    term : pandas.DataFrame
        Long format ``snapshot_id, days_to_expiry, atm_iv`` (decimal).
    tenors_days : sequence of int
        Constant maturities of the IV lines.

    Examples
    --------
    >>> hist = pd.DataFrame({"snapshot_id": ["a"], "as_of": pd.to_datetime(["2026-11-16"]),
    ...                      "net_vega_usd_per_vol_pt": [-3e6]})
    >>> term = pd.DataFrame({"snapshot_id": ["a", "a"], "days_to_expiry": [5.0, 100.0], "atm_iv": [0.1, 0.2]})
    >>> [t["name"] for t in term_history_figure(hist, term)["data"]]
    ['Net dealer vega', 'ATM IV 7d', 'ATM IV 30d', 'ATM IV 90d']
    """
    _check(history, ("snapshot_id", "as_of", "net_vega_usd_per_vol_pt"), "history")
    if history.empty:
        return empty_figure("No snapshot summarised yet", title=title, subtitle=subtitle, template=template,
                            height=height)
    ids = history["snapshot_id"].astype(str).tolist()
    vega = history["net_vega_usd_per_vol_pt"].to_numpy(float)
    fig = new_figure(dict(
        xaxis=dict(_category_axis(ids, date_labels(history["as_of"]), history["as_of"]), anchor="y2"),
        yaxis=dict(anchor="x", domain=list(PRICE_PANEL), title={"text": IV_AXIS_TITLE}, ticksuffix="%",
                   tickformat=".3~g"),
        yaxis2=dict(anchor="x", domain=list(FLOW_PANEL), title={"text": VEGA_AXIS_TITLE}, exponentformat="B",
                    zeroline=True, tickmode="auto", nticks=4),
        hovermode="x unified",
        bargap=0.35,
    ))
    fig["data"].append(dict(
        type="bar", x=ids, y=vega, name="Net dealer vega", yaxis="y2",
        marker=dict(color=palette.net, opacity=0.55),
        text=format_usd_array(vega, signed=True), textposition="none",
        hovertemplate="net vega %{text} per vol pt<extra></extra>",
    ))
    ivs = iv_at_tenors(term, ids, tenors_days) * 100.0
    shades = (palette.iv, palette.marker_spot, palette.zero_gamma, palette.previous)
    for j, days in enumerate(tenors_days):
        fig["data"].append(dict(
            type="scatter", x=ids, y=ivs[:, j], name=f"ATM IV {days}d", yaxis="y", mode="lines+markers",
            line=dict(color=shades[j % len(shades)], width=2), marker=dict(size=5), connectgaps=False,
            hovertemplate=f"ATM IV {days}d %{{y:.2f}}%<extra></extra>",
        ))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def history_subtitle(underlying: str, n_snapshots: int, conventions_used: Sequence[str], *,
                     view_convention: str | None = None, view_expiries: str | None = None) -> str:
    """What the history charts show: the underlying, how many snapshots, every expiry and the
    convention of the stored summaries (its registry label); and the snapshot view's convention or
    expiry set when it shows another.

    Parameters
    ----------
    underlying : str
    n_snapshots : int
    conventions_used : sequence of str
        Convention names of the summaries drawn (:attr:`analytics.history_window.HistoryWindow.conventions`).
    view_convention : str, optional
        The convention of the snapshot view beside the charts; named when not among ``conventions_used``.
    view_expiries : str, optional
        The snapshot view's expiry set in words, when it is not every expiry.

    Examples
    --------
    >>> history_subtitle("SPX", 20, ["dealer-long-calls"])
    'SPX · last 20 snapshots · all expiries · Dealers long calls, short puts'
    >>> history_subtitle("BTC", 1, ["dealer-long-calls"], view_convention="dealer-short-all",
    ...                  view_expiries="expiries 7d (2)")
    'BTC · last 1 snapshot · all expiries · Dealers long calls, short puts (snapshot view: Dealers short calls and puts, expiries 7d (2))'
    """
    labels = conventions.labels()
    parts = [underlying, f"last {n_snapshots} snapshot{'' if n_snapshots == 1 else 's'}", SUMMARY_EXPIRIES]
    parts += [labels.get(c, c) for c in conventions_used]
    text = " · ".join(parts)
    other = [labels.get(view_convention, view_convention)] if (
        view_convention and view_convention not in conventions_used) else []
    other += [view_expiries] if view_expiries else []
    return f"{text} (snapshot view: {', '.join(other)})" if other else text


def history_view_figures(
    window: HistoryWindow,
    *,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    palette: Palette = PALETTE,
) -> dict[str, Figure]:
    """The three history views of one window, by :data:`HISTORY_VIEWS` name.

    Parameters
    ----------
    window : analytics.history_window.HistoryWindow
        What the store holds of one underlying's last snapshots (:meth:`HistoryStore.window`).
    subtitle : str, optional
        Default: :func:`history_subtitle` of the window.
    template, height, palette
        Styling, the same for the three.

    Returns
    -------
    dict
        ``{"levels": ..., "heatmap": ..., "term": ...}``: :func:`levels_history_figure`,
        :func:`strike_heatmap_figure` and :func:`term_history_figure`.
    """
    if subtitle is None:
        subtitle = history_subtitle(window.underlying, len(window.levels), window.conventions)
    style = dict(subtitle=subtitle, template=template, height=height, palette=palette)
    m = window.matrix
    return {
        "levels": levels_history_figure(window.levels, **style),
        "heatmap": strike_heatmap_figure(window.snapshot_ids, list(m.dates), m.strikes, m.net_gex, m.spots, **style),
        "term": term_history_figure(window.levels, window.term, **style),
    }
