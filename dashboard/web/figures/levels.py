"""The 8 a.m. pieces: the key-levels panel, the strike view's other measures (vanna, charm, change
since the previous snapshot) and gamma by expiry.

Pure builders: plain values in, figure dicts (or Dash HTML for the key-levels panel, as the KPI strip)
out. The strike-view figures share :func:`dashboard.web.figures.gamma.gamma_by_strike_figure`'s x window
and reference lines so switching measure keeps the frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import html

from analytics.levels import KeyLevels, StrikeLevel
from dashboard.web.figures.common import (
    LINE_SPOT,
    LINE_ZERO_GAMMA,
    PALETTE,
    Figure,
    Palette,
    add_reference_lines,
    apply_house_layout,
    empty_figure,
    format_number,
    format_pct,
    format_strike,
    format_usd,
    format_usd_array,
    iso_dates,
    new_figure,
    update_axes,
)
from dashboard.web.figures.gamma import STRIKE_AXIS_TITLE

# --- the strike view's measures ----------------------------------------------------------------
# measure -> (column stem of Analysis.vanna_charm_by_strike / by_strike, title, y-axis title)
STRIKE_MEASURES: dict[str, tuple[str, str, str]] = {
    "gamma": ("gex_usd_per_1pct", "Dealer gamma exposure by strike", "GEX (USD per 1% move)"),
    "vanna": ("vanna_usd_per_vol_pt", "Dealer vanna exposure by strike",
              "Vanna (USD delta change per 1 vol point)"),
    "charm": ("charm_usd_per_day", "Dealer charm exposure by strike", "Charm (USD delta change per day)"),
    "change": ("gex_usd_per_1pct", "Net GEX change since the previous snapshot",
               "Net GEX change (USD per 1% move)"),
}
STRIKE_MODE_LABELS: tuple[tuple[str, str], ...] = (
    ("gamma", "Gamma"), ("vanna", "Vanna"), ("charm", "Charm"), ("change", "Change"),
)
CHANGE_TRACE_NAME = "Net GEX change"
EXPIRY_AXIS_TITLE = "Expiry"
EXPIRY_GEX_AXIS_TITLE = "GEX (USD per 1% move)"
MAX_TWO_LINE_TICKS = 12  # more expiries than this: one-line date ticks, tilted by Plotly, days in the hover


def _reference_lines(fig: Figure, spot: float, zero_gamma_levels: Sequence[float],
                     window: tuple[float, float] | None, palette: Palette) -> None:
    lines = [(LINE_SPOT, spot, f"spot {format_strike(spot)}", palette.spot, "solid")]
    lines += [(LINE_ZERO_GAMMA, float(z), f"zero γ {format_strike(round(float(z), 2))}", palette.zero_gamma, "dot")
              for z in zero_gamma_levels or ()]
    add_reference_lines(fig, lines, x_range=window)


def _y_range(values: Iterable[np.ndarray], x: Iterable[np.ndarray],
             window: tuple[float, float] | None) -> list[float] | None:
    """A y range fitting the values inside the x window (0 always in view), 8% padding."""
    kept = [np.zeros(1)]
    for xs, ys in zip(x, values, strict=True):
        inside = np.ones(len(xs), bool) if window is None else (xs >= window[0]) & (xs <= window[1])
        kept.append(ys[inside])
    merged = np.concatenate(kept)
    merged = merged[np.isfinite(merged)]
    lo, hi = float(merged.min()), float(merged.max())
    if hi == lo:
        return None
    pad = 0.08 * (hi - lo)
    return [lo - pad, hi + pad]


def _strike_layout(fig: Figure, y_title: str, window: tuple[float, float] | None, y_range: list[float] | None,
                   ) -> None:
    if window is not None:
        update_axes(fig, "xaxis", range=list(window))
    if y_range is not None:
        update_axes(fig, "yaxis", range=y_range)
    update_axes(fig, "xaxis", title={"text": STRIKE_AXIS_TITLE}, hoverformat=",.6~g",
                unifiedhovertitle=dict(text="<b>Strike %{x:,.6~g}</b>"))
    update_axes(fig, "yaxis", title={"text": y_title}, exponentformat="B", zeroline=True)
    fig["layout"].update(hovermode="x unified", bargap=0.1, barmode="overlay", legend={"title": {"text": ""}})


def exposure_by_strike_figure(
    frame: pd.DataFrame,
    measure: str,
    *,
    spot: float,
    zero_gamma_levels: Sequence[float] = (),
    strike_window: tuple[float, float] | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Call, put and net dealer vanna or charm exposure per strike (bars), spot and zero gamma marked.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``strike`` and ``call_/put_/net_<stem>`` for the measure's stem (:data:`STRIKE_MEASURES`), e.g.
        :attr:`analytics.report.Analysis.vanna_charm_by_strike`.
    measure : {"vanna", "charm"}
    spot, zero_gamma_levels, strike_window
        Reference lines and the initial x range (as the gamma view).

    Returns
    -------
    dict
        A figure dict; bar ``customdata[:, 0]`` is the strike (a click selects it, as on the gamma view).

    Examples
    --------
    >>> f = pd.DataFrame({"strike": [95.0, 100.0], "call_vanna_usd_per_vol_pt": [1e6, 2e6],
    ...                   "put_vanna_usd_per_vol_pt": [-3e6, 0.0], "net_vanna_usd_per_vol_pt": [-2e6, 2e6]})
    >>> fig = exposure_by_strike_figure(f, "vanna", spot=99.0)
    >>> fig["layout"]["yaxis"]["title"]["text"]
    'Vanna (USD delta change per 1 vol point)'
    """
    if measure not in ("vanna", "charm"):
        raise ValueError(f"unknown measure {measure!r}: vanna or charm")
    stem, title, y_title = STRIKE_MEASURES[measure]
    if frame.empty:
        return empty_figure("No open interest in the selected expiries", title=title, subtitle=subtitle,
                            template=template, height=height)
    frame = frame.sort_values("strike")
    strikes = frame["strike"].to_numpy(float)
    unique = np.unique(strikes)
    step = float(np.min(np.diff(unique))) if unique.size > 1 else 1.0
    fig = new_figure()
    ys = []
    for side, label in (("call", "Call"), ("put", "Put"), ("net", "Net")):
        y = frame[f"{side}_{stem}"].to_numpy(float)
        ys.append(y)
        unit = "per vol pt" if measure == "vanna" else "per day"
        fig["data"].append(dict(
            type="bar", x=strikes, y=y, name=f"{label} {measure}", marker=dict(color=getattr(palette, side)),
            opacity=1.0 if side == "net" else 0.7, width=(0.4 if side == "net" else 0.9) * step,
            customdata=strikes[:, None], text=format_usd_array(y), textposition="none",
            hovertemplate=f"{label} {measure}: %{{text}} {unit}<extra></extra>",
        ))
    _reference_lines(fig, spot, zero_gamma_levels, strike_window, palette)
    _strike_layout(fig, y_title, strike_window, _y_range(ys, [strikes] * 3, strike_window))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height,
                              uirevision=uirevision)


def gex_change_by_strike(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Per strike: today's net GEX minus the previous snapshot's (a strike missing on one side had 0).

    Examples
    --------
    >>> now = pd.DataFrame({"strike": [100.0, 105.0], "net_gex_usd_per_1pct": [5.0, 2.0]})
    >>> then = pd.DataFrame({"strike": [95.0, 100.0], "net_gex_usd_per_1pct": [1.0, 7.0]})
    >>> gex_change_by_strike(now, then)["change_usd_per_1pct"].tolist()
    [-1.0, -2.0, 2.0]
    """
    col = "net_gex_usd_per_1pct"
    now = current.groupby("strike")[col].sum()
    then = previous.groupby("strike")[col].sum()
    joined = pd.concat([now.rename("today"), then.rename("previous")], axis=1).fillna(0.0).sort_index()
    joined["change_usd_per_1pct"] = joined["today"] - joined["previous"]
    return joined.rename_axis("strike").reset_index()


def gex_change_figure(
    change: pd.DataFrame | None,
    *,
    spot: float,
    zero_gamma_levels: Sequence[float] = (),
    previous_label: str = "the previous snapshot",
    note: str | None = None,
    strike_window: tuple[float, float] | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Net GEX change per strike since the previous snapshot (:func:`gex_change_by_strike`): green bars
    where dealers gained gamma, red where they lost it. ``change`` None: an empty figure saying ``note``.
    """
    title = STRIKE_MEASURES["change"][1]
    if change is None:
        return empty_figure(note or "No previous snapshot to compare with", title=title, subtitle=subtitle,
                            template=template, height=height)
    if change.empty:
        return empty_figure("No open interest in the selected expiries", title=title, subtitle=subtitle,
                            template=template, height=height)
    strikes = change["strike"].to_numpy(float)
    y = change["change_usd_per_1pct"].to_numpy(float)
    today = change["today"].to_numpy(float)
    before = change["previous"].to_numpy(float)
    unique = np.unique(strikes)
    step = float(np.min(np.diff(unique))) if unique.size > 1 else 1.0
    fig = new_figure()
    fig["data"].append(dict(
        type="bar", x=strikes, y=y, name=CHANGE_TRACE_NAME, width=0.8 * step,
        marker=dict(color=np.where(y >= 0, palette.call, palette.put).tolist()),
        customdata=np.column_stack([strikes, format_usd_array(today), format_usd_array(before)]).astype(object),
        text=format_usd_array(y, signed=True), textposition="none",
        hovertemplate=(f"change: %{{text}}<br>today %{{customdata[1]}}, {previous_label} %{{customdata[2]}}"
                       "<extra></extra>"),
    ))
    _reference_lines(fig, spot, zero_gamma_levels, strike_window, palette)
    _strike_layout(fig, STRIKE_MEASURES["change"][2], strike_window, _y_range([y], [strikes], strike_window))
    fig["layout"]["showlegend"] = False
    return apply_house_layout(fig, title=title, subtitle=subtitle or f"today minus {previous_label}",
                              template=template, height=height, uirevision=uirevision)


# --- gamma by expiry -----------------------------------------------------------------------------


def expiry_tick_labels(expiries: Iterable[object], as_of: object | None = None) -> list[str]:
    """Category labels: ``"Jan 19<br>12d"`` (days from ``as_of``), the year shown when it changes.

    Examples
    --------
    >>> import datetime as dt
    >>> expiry_tick_labels([dt.date(2024, 1, 19), dt.date(2025, 1, 17)], dt.date(2024, 1, 7))
    ['Jan 19<br>12d', "Jan 17 '25<br>376d"]
    """
    stamps = pd.to_datetime(pd.Series(list(expiries), dtype=object))
    base = pd.Timestamp(as_of).tz_localize(None).normalize() if as_of is not None else None
    first_year = stamps.iloc[0].year if len(stamps) else None
    out = []
    for s in stamps:
        label = s.strftime("%b %d") + (s.strftime(" '%y") if s.year != first_year else "")
        if base is not None and len(stamps) <= MAX_TWO_LINE_TICKS:
            label += f"<br>{(s.normalize() - base).days}d"
        out.append(label)
    return out


def gamma_by_expiry_figure(
    by_expiry: pd.DataFrame,
    *,
    selected_expiries: Iterable[object] | None = None,
    as_of: object | None = None,
    title: str = "Dealer gamma by expiry",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Call, put and net GEX per expiry: one equal-width slot per expiry on a category axis of dates.

    Clicking or box-selecting bars hands back each expiry's ISO date in ``customdata[0]`` (the same
    contract as the term-structure view); the selection is drawn full strength, the rest faded.

    Parameters
    ----------
    by_expiry : pandas.DataFrame
        ``expiry, call_gex_usd_per_1pct, put_gex_usd_per_1pct, net_gex_usd_per_1pct``
        (:attr:`analytics.report.Analysis.by_expiry`).
    selected_expiries : iterable of date or ISO str, optional
        The current expiry set; None or empty: all (nothing faded).
    as_of : date-like, optional
        The snapshot time: tick labels then show days to expiry.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pd.DataFrame({"expiry": [dt.date(2024, 1, 19), dt.date(2024, 2, 16)],
    ...                   "call_gex_usd_per_1pct": [2e9, 1e9], "put_gex_usd_per_1pct": [-3e9, -0.5e9],
    ...                   "net_gex_usd_per_1pct": [-1e9, 0.5e9]})
    >>> fig = gamma_by_expiry_figure(f, selected_expiries=["2024-02-16"])
    >>> fig["layout"]["xaxis"]["type"], fig["data"][0]["selectedpoints"]
    ('category', [1])
    """
    if by_expiry.empty:
        return empty_figure("No expiries to show", title=title, subtitle=subtitle, template=template, height=height)
    frame = by_expiry.sort_values("expiry")
    iso = iso_dates(frame["expiry"])
    selected = None
    if selected_expiries is not None:
        wanted = set(iso_dates(list(selected_expiries)).tolist()) - {""}
        if wanted and not wanted >= set(iso.tolist()):
            selected = np.flatnonzero(np.isin(iso, list(wanted))).tolist()
    selection = {} if selected is None else {"selectedpoints": selected}
    customdata = iso[:, None]
    fig = new_figure(dict(
        xaxis=dict(type="category", title={"text": EXPIRY_AXIS_TITLE}, tickmode="array", tickvals=iso.tolist(),
                   ticktext=expiry_tick_labels(frame["expiry"], as_of), automargin=True,
                   unifiedhovertitle=dict(text="<b>%{x}</b>")),
        yaxis=dict(title={"text": EXPIRY_GEX_AXIS_TITLE}, exponentformat="B", zeroline=True),
        barmode="overlay", bargap=0.15, clickmode="event+select", dragmode="select", hovermode="x unified",
        legend={"title": {"text": ""}},
    ))
    for side, label in (("call", "Call GEX"), ("put", "Put GEX"), ("net", "Net GEX")):
        y = frame[f"{side}_gex_usd_per_1pct"].to_numpy(float)
        fig["data"].append(dict(
            type="bar", x=iso, y=y, name=label, marker=dict(color=getattr(palette, side)),
            opacity=1.0 if side == "net" else 0.7, width=0.45 if side == "net" else 0.85,
            customdata=customdata, text=format_usd_array(y), textposition="none",
            hovertemplate=f"{label}: %{{text}}<extra></extra>", **selection,
            unselected=dict(marker=dict(opacity=0.25)),
        ))
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height,
                              uirevision=uirevision)


# --- key levels ----------------------------------------------------------------------------------


def _change(text: str | None) -> str:
    return text if text is not None else "—"


def _strike_row(label: str, w: StrikeLevel, chg: bool) -> dict[str, str]:
    change = None
    if chg:
        moved = "" if w.previous_strike is None or w.previous_strike == w.strike else \
            f"was {format_strike(w.previous_strike)}, "
        change = f"{moved}{format_usd(w.gex_change_usd_per_1pct, signed=True)}"
    return {"item": label, "value": format_strike(w.strike), "detail": format_usd(w.gex_usd_per_1pct),
            "change": _change(change), "kind": w.kind}


def key_levels_rows(kl: KeyLevels) -> list[dict[str, str]]:
    """The key levels as table rows ``{item, value, detail, change, kind}`` (formatted text).

    ``change`` is ``"—"`` without a previous snapshot.
    """
    chg = kl.previous_as_of is not None
    rows: list[dict[str, str]] = []
    for z in kl.zero_gamma:
        rows.append({"item": "Zero gamma", "value": format_strike(round(z.level, 2)),
                     "detail": f"{format_pct(z.distance_pct, decimals=2, signed=True)} vs spot",
                     "change": _change(format_number(z.change, compact=False, signed=True) if chg and z.change
                                       is not None else None), "kind": "zero gamma"})
    if not kl.zero_gamma:
        rows.append({"item": "Zero gamma", "value": "none in range", "detail": "", "change": "—",
                     "kind": "zero gamma"})
    for label, walls in (("Call wall", kl.call_walls), ("Put wall", kl.put_walls)):
        rows += [_strike_row(f"{label} {w.rank}", w, chg) for w in walls]
        if not walls:
            rows.append({"item": label, "value": "none", "detail": "", "change": "—", "kind": label.lower()})
    if kl.abs_gamma is not None:
        rows.append(_strike_row("Abs gamma", kl.abs_gamma, chg))
    flows = [*kl.flows, kl.charm_flow]
    for f in flows:
        label = "Charm to close" if f is kl.charm_flow else f"Flow {format_pct(f.shock_pct, decimals=0, signed=True)}"
        rows.append({"item": label, "value": format_usd(f.usd, signed=True),
                     "detail": f"{format_number(f.units, signed=True)} units",
                     "change": _change(format_usd(f.usd_change, signed=True) if chg else None), "kind": "flow"})
    return rows


def key_levels_panel(kl: KeyLevels | None, *, note: str | None = None) -> list:
    """The key-levels table as Dash HTML (the panel's children), or ``note`` when there is none."""
    if kl is None:
        return [html.Div(note or "—", className="levels-empty")]
    head = html.Tr([html.Th("Level"), html.Th("Value", className="num"), html.Th("", className="num"),
                    html.Th("Change", className="num")])
    body = [html.Tr(className=f"lv-{r['kind'].replace(' ', '-')}", children=[
        html.Td(r["item"]), html.Td(r["value"], className="num"), html.Td(r["detail"], className="num muted"),
        html.Td(r["change"], className="num"),
    ]) for r in key_levels_rows(kl)]
    return [html.Table(className="levels-table", children=[html.Thead(head), html.Tbody(body)])]
