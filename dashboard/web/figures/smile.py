"""The IV smile per expiry and max pain per expiry (the trust issue's two views).

* :func:`smile_figure`: implied vol against log-moneyness ``ln(K/F)`` or strike, one line per expiry
  (the nearest :data:`MAX_SMILE_LINES` of the selection; the title says when more were selected), each
  expiry's ATM point (its forward and ATM IV) marked.
* :func:`max_pain_figure`: each expiry's max-pain strike against the spot line, optionally the 25-delta
  risk reversal (vol points) on a second axis.

Both read the columns :class:`analytics.report.Analysis` gives (``smile``: expiry, strike,
log_moneyness, iv; ``by_expiry``: max_pain, rr25_vol_pts) and draw an empty figure that says which
columns are missing when an analysis has none.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.web.figures.common import (
    PALETTE,
    Figure,
    Palette,
    apply_house_layout,
    empty_figure,
    format_strike,
    iso_dates,
    new_figure,
)
from dashboard.web.figures.levels import EXPIRY_AXIS_TITLE, expiry_tick_labels

MAX_SMILE_LINES = 6  # smiles drawn at once: more lines than this cannot be told apart
SMILE_COLUMNS = ("expiry", "strike", "log_moneyness", "iv")
ATM_COLUMNS = ("expiry", "forward", "atm_iv")
MAX_PAIN_COLUMNS = ("expiry", "max_pain")
RR25_COLUMN = "rr25_vol_pts"
SMILE_X_CHOICES: tuple[tuple[str, str], ...] = (("moneyness", "ln(K/F)"), ("strike", "Strike"))
SMILE_X_TITLES = {"moneyness": "Log-moneyness ln(K/F)", "strike": "Strike"}
IV_AXIS_TITLE = "Implied vol (%)"
MAX_PAIN_AXIS_TITLE = "Max-pain strike"
RR25_AXIS_TITLE = "25Δ risk reversal (vol pts)"
# one colour per smile line, nearest expiry darkest
SMILE_COLOURS = ("#1f3a93", "#2e86c1", "#17a589", "#d68910", "#af601a", "#7d3c98")


def _missing(frame: pd.DataFrame | None, columns: Iterable[str]) -> list[str]:
    if frame is None:
        return list(columns)
    return [c for c in columns if c not in frame.columns]


def smile_figure(
    smile: pd.DataFrame | None,
    atm: pd.DataFrame | None = None,
    *,
    x: str = "moneyness",
    selected_expiries: Iterable[object] | None = None,
    spot: float | None = None,
    as_of: object | None = None,
    max_lines: int = MAX_SMILE_LINES,
    title: str = "IV smile by expiry",
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Implied vol (percent) against log-moneyness or strike, one line per expiry, ATM marked.

    Parameters
    ----------
    smile : pandas.DataFrame or None
        ``expiry, strike, log_moneyness, iv`` (decimal), one row per (expiry, strike)
        (:attr:`analytics.report.Analysis.smile`).
    atm : pandas.DataFrame, optional
        ``expiry, forward, atm_iv`` (:attr:`analytics.report.Analysis.term_structure`): each line's ATM
        point, at ``ln(K/F) = 0`` or at the forward.
    x : {"moneyness", "strike"}
        The x axis.
    selected_expiries : iterable of date or ISO str, optional
        The expiries to draw (None: every expiry in ``smile``); the nearest ``max_lines`` are drawn and
        the title says how many were left out.
    spot : float, optional
        Drawn as a dotted line on the strike axis.

    Examples
    --------
    >>> import datetime as dt
    >>> d = [dt.date(2024, 1, 19)] * 3 + [dt.date(2024, 2, 16)] * 3
    >>> s = pd.DataFrame({"expiry": d, "strike": [90.0, 100, 110] * 2, "log_moneyness": [-.1, 0, .1] * 2,
    ...                   "iv": [.25, .2, .22, .24, .21, .22]})
    >>> fig = smile_figure(s, max_lines=1)
    >>> [t["name"] for t in fig["data"]], fig["layout"]["title"]["text"]
    (['2024-01-19'], 'IV smile by expiry (nearest 1 of 2 expiries)')
    """
    if x not in SMILE_X_TITLES:
        raise ValueError(f"x must be one of {', '.join(SMILE_X_TITLES)}, got {x!r}")
    missing = _missing(smile, SMILE_COLUMNS)
    if missing:
        return empty_figure(f"No smile in this analysis (missing {', '.join(missing)})", title=title,
                            template=template, height=height)
    assert smile is not None
    frame = smile[np.isfinite(smile["iv"].to_numpy(float)) & (smile["iv"].to_numpy(float) > 0)]
    iso = iso_dates(frame["expiry"])
    chosen = sorted(set(iso.tolist()) - {""})
    if selected_expiries is not None:
        wanted = set(iso_dates(list(selected_expiries)).tolist()) - {""}
        if wanted:
            chosen = [d for d in chosen if d in wanted]
    if not chosen:
        return empty_figure("No implied vols for the selected expiries", title=title, template=template, height=height)
    drawn = chosen[:max_lines]
    col = "log_moneyness" if x == "moneyness" else "strike"
    fig = new_figure(dict(
        xaxis=dict(title={"text": SMILE_X_TITLES[x]}, zeroline=False),
        yaxis=dict(title={"text": IV_AXIS_TITLE}, ticksuffix="%"),
        hovermode="closest", legend={"title": {"text": ""}},
    ))
    atm_by = {}
    if atm is not None and not _missing(atm, ATM_COLUMNS):
        atm_by = dict(zip(iso_dates(atm["expiry"]).tolist(),
                          zip(atm["forward"].to_numpy(float), atm["atm_iv"].to_numpy(float), strict=True), strict=True))
    atm_x, atm_y, atm_text = [], [], []
    for i, day in enumerate(drawn):
        rows = frame[iso == day].sort_values(col)
        xs = rows[col].to_numpy(float)
        ok = np.isfinite(xs)
        colour = SMILE_COLOURS[i % len(SMILE_COLOURS)]
        fig["data"].append(dict(
            type="scatter", mode="lines+markers", name=day, x=xs[ok], y=100.0 * rows["iv"].to_numpy(float)[ok],
            line=dict(color=colour, width=1.8), marker=dict(size=4, color=colour),
            customdata=np.column_stack([rows["strike"].to_numpy(float)[ok], rows["log_moneyness"].to_numpy(float)[ok]]),
            hovertemplate=f"{day}<br>strike %{{customdata[0]:,.2f}}<br>ln(K/F) %{{customdata[1]:.3f}}"
                          "<br>IV %{y:.2f}%<extra></extra>",
        ))
        forward, atm_iv = atm_by.get(day, (np.nan, np.nan))
        if np.isfinite(atm_iv) and atm_iv > 0 and (x == "moneyness" or np.isfinite(forward)):
            atm_x.append(0.0 if x == "moneyness" else float(forward))
            atm_y.append(100.0 * float(atm_iv))
            atm_text.append(f"{day} ATM (F {format_strike(float(forward)) if np.isfinite(forward) else 'n/a'})")
    if atm_x:
        fig["data"].append(dict(
            type="scatter", mode="markers", name="ATM (forward)", x=np.asarray(atm_x), y=np.asarray(atm_y),
            text=atm_text, marker=dict(symbol="diamond", size=10, color=palette.text, line=dict(width=1, color="white")),
            hovertemplate="%{text}<br>ATM IV %{y:.2f}%<extra></extra>",
        ))
    shapes = []
    if x == "moneyness":
        shapes.append(dict(type="line", name="atm", x0=0, x1=0, xref="x", y0=0, y1=1, yref="y domain",
                           line=dict(color=palette.muted_text, width=1, dash="dot")))
    elif spot is not None and np.isfinite(spot):
        shapes.append(dict(type="line", name="spot", x0=spot, x1=spot, xref="x", y0=0, y1=1, yref="y domain",
                           line=dict(color=palette.muted_text, width=1.2, dash="dot")))
    fig["layout"]["shapes"] = shapes
    shown = f" (nearest {len(drawn)} of {len(chosen)} expiries)" if len(chosen) > len(drawn) else ""
    return apply_house_layout(fig, title=title + shown, template=template, height=height, uirevision=uirevision)


def max_pain_figure(
    by_expiry: pd.DataFrame | None,
    *,
    spot: float | None,
    rr25: bool = True,
    selected_expiries: Iterable[object] | None = None,
    as_of: object | None = None,
    title: str = "Max pain by expiry",
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
) -> Figure:
    """Each expiry's max-pain strike (markers) against spot (a line); the 25-delta risk reversal in
    vol points on a second axis when ``rr25`` and the column is there.

    Expiries with no max pain (no open interest) are left out; the title says how many.

    Parameters
    ----------
    by_expiry : pandas.DataFrame or None
        ``expiry, max_pain`` and optionally ``rr25_vol_pts`` (:attr:`analytics.report.Analysis.by_expiry`).
    spot : float or None
        The underlying's spot, drawn as a horizontal line.
    selected_expiries : iterable of date or ISO str, optional
        The current expiry set: the rest are faded (None or empty: nothing faded).

    Examples
    --------
    >>> import datetime as dt
    >>> f = pd.DataFrame({"expiry": [dt.date(2024, 1, 19), dt.date(2024, 2, 16)], "max_pain": [100.0, float("nan")],
    ...                   "rr25_vol_pts": [-2.5, -3.0]})
    >>> fig = max_pain_figure(f, spot=101.0)
    >>> [t["name"] for t in fig["data"]], fig["data"][0]["y"].tolist(), fig["layout"]["title"]["text"]
    (['Max pain', '25Δ RR (vol pts)'], [100.0], 'Max pain by expiry (1 expiry without open interest left out)')
    """
    missing = _missing(by_expiry, MAX_PAIN_COLUMNS)
    if missing:
        return empty_figure(f"No max pain in this analysis (missing {', '.join(missing)})", title=title,
                            template=template, height=height)
    assert by_expiry is not None
    frame = by_expiry.sort_values("expiry")
    strike = frame["max_pain"].to_numpy(float)
    has = np.isfinite(strike)
    if not has.any():
        return empty_figure("No expiry has open interest to find max pain", title=title, template=template,
                            height=height)
    iso = iso_dates(frame["expiry"])
    labels = expiry_tick_labels(frame["expiry"], as_of)
    selected, wanted = None, set()
    if selected_expiries is not None:
        wanted = set(iso_dates(list(selected_expiries)).tolist()) - {""}
        if wanted and not wanted >= set(iso[has].tolist()):
            selected = np.flatnonzero(np.isin(iso[has], list(wanted))).tolist()
    fig = new_figure(dict(
        xaxis=dict(type="category", title={"text": EXPIRY_AXIS_TITLE}, tickmode="array", tickvals=iso.tolist(),
                   ticktext=labels, categoryorder="array", categoryarray=iso.tolist(), automargin=True),
        yaxis=dict(title={"text": MAX_PAIN_AXIS_TITLE}, tickformat=",.0f"),
        hovermode="x unified", legend={"title": {"text": ""}},
    ))
    pct = 100.0 * (strike[has] / spot - 1.0) if spot else np.full(int(has.sum()), np.nan)
    fig["data"].append(dict(
        type="scatter", mode="markers+lines", name="Max pain", x=iso[has], y=strike[has],
        line=dict(color=palette.net, width=1, dash="dot"), marker=dict(size=9, color=palette.net),
        customdata=np.column_stack([iso[has].astype(object), pct]),
        hovertemplate="max pain %{y:,.2f} (%{customdata[1]:+.1f}% vs spot)<extra></extra>",
        **({"selectedpoints": selected} if selected is not None else {}),
    ))
    if rr25 and RR25_COLUMN in frame.columns:
        rr = frame[RR25_COLUMN].to_numpy(float)
        ok = np.isfinite(rr)
        if ok.any():
            fig["data"].append(dict(  # a line, not bars: bars from 0 cover the max-pain points
                type="scatter", mode="lines+markers", name="25Δ RR (vol pts)", x=iso[ok], y=rr[ok], yaxis="y2",
                line=dict(color=palette.put, width=1.4), marker=dict(symbol="square", size=6, color=palette.put),
                hovertemplate="25Δ RR %{y:+.2f} vol pts<extra></extra>",
                **({"selectedpoints": np.flatnonzero(np.isin(iso[ok], list(wanted))).tolist()}
                   if selected is not None else {}),
            ))
            fig["layout"]["yaxis2"] = dict(title={"text": RR25_AXIS_TITLE, "font": {"color": palette.put}},
                                           overlaying="y", side="right", showgrid=False, zeroline=False,
                                           tickmode="auto", nticks=6, tickformat="+.1f",
                                           tickfont={"color": palette.put})
    if spot is not None and np.isfinite(spot):
        fig["layout"]["shapes"] = [dict(type="line", name="spot", x0=0, x1=1, xref="x domain", y0=spot, y1=spot,
                                        yref="y", line=dict(color=palette.muted_text, width=1.4, dash="dash"))]
        fig["layout"]["annotations"] = [dict(name="spot", x=1, xref="x domain", y=spot, yref="y", xanchor="right",
                                             yanchor="bottom", showarrow=False, text=f"spot {format_strike(spot)}",
                                             font=dict(size=11, color=palette.muted_text))]
    left_out = int((~has).sum())
    note = f" ({left_out} expir{'y' if left_out == 1 else 'ies'} without open interest left out)" if left_out else ""
    return apply_house_layout(fig, title=title + note, template=template, height=height, uirevision=uirevision)
