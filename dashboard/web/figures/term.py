"""View 3: dealer vega and ATM implied vol by expiry, on a days-to-expiry axis.

Clicking a bar or box-selecting several (``clickmode="event+select"``, ``dragmode="select"``) hands
back each expiry's ISO date in ``customdata[0]``; the selected expiries are drawn full strength and
the rest faded.
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
    format_usd_array,
    iso_dates,
    new_figure,
    robust_bar_width,
)
from dashboard.web.figures.levels import EXPIRY_AXIS_TITLE, expiry_tick_labels

VEGA_AXIS_TITLE = "Net dealer vega (USD per vol point)"
IV_AXIS_TITLE = "ATM implied vol (%)"
DAYS_AXIS_TITLE = "Days to expiry"
TERM_COLUMNS = ("expiry", "days_to_expiry", "atm_iv", "net_vega_usd_per_vol_pt")
UNSELECTED_OPACITY = 0.25


def term_structure_figure(
    term_structure: pd.DataFrame,
    *,
    selected_expiries: Iterable[object] | None = None,
    title: str = "Dealer vega term structure",
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
    uirevision: str | None = None,
    palette: Palette = PALETTE,
    equal_spacing: bool = False,
    as_of: object | None = None,
) -> Figure:
    """Net dealer vega per expiry (bars, USD per vol point) and ATM IV (line, percent, right axis).

    Parameters
    ----------
    term_structure : pandas.DataFrame
        ``expiry, days_to_expiry, atm_iv`` (decimal) ``, net_vega_usd_per_vol_pt``.
    selected_expiries : iterable of date or ISO str, optional
        Expiries in the current selection; None or empty means all (nothing faded).
    title, subtitle, template, height, uirevision, palette
        Styling; see :func:`dashboard.web.figures.common.apply_house_layout`.
    equal_spacing : bool, default False
        One equal-width slot per expiry on a category axis of dates (labels with days from
        ``as_of``) instead of a days-to-expiry axis, where weeklies crowd into a few pixels.

    Returns
    -------
    dict
        A figure dict: bars on ``y``, IV on the secondary ``y2`` axis; ``customdata`` rows are
        ``[expiry_iso, days_to_expiry]``; ``selectedpoints`` marks the selection.

    Examples
    --------
    >>> import datetime as dt
    >>> frame = pd.DataFrame({"expiry": [dt.date(2024, 1, 19), dt.date(2024, 2, 16)],
    ...                       "days_to_expiry": [12.0, 40.0], "atm_iv": [0.12, 0.14],
    ...                       "net_vega_usd_per_vol_pt": [2.5e6, -1.0e6]})
    >>> fig = term_structure_figure(frame, selected_expiries=["2024-02-16"])
    >>> np.round(fig["data"][1]["y"], 6).tolist(), fig["data"][0]["selectedpoints"]
    ([12.0, 14.0], [1])
    """
    missing = [c for c in TERM_COLUMNS if c not in term_structure.columns]
    if missing:
        raise ValueError(
            f"term_structure is missing column(s) {missing}; it has {list(term_structure.columns)}"
        )
    if term_structure.empty:
        return empty_figure(
            "No expiries to show", title=title, subtitle=subtitle, template=template, height=height
        )

    frame = term_structure.sort_values("days_to_expiry")
    days = frame["days_to_expiry"].to_numpy(dtype=float)
    vega = frame["net_vega_usd_per_vol_pt"].to_numpy(dtype=float)
    iv_pct = frame["atm_iv"].to_numpy(dtype=float) * 100
    iso = iso_dates(frame["expiry"])
    customdata = np.column_stack([iso, days.astype(object)])

    selected = None
    if selected_expiries is not None:
        wanted = set(iso_dates(list(selected_expiries)).tolist()) - {""}
        if wanted:
            selected = np.flatnonzero(np.isin(iso, list(wanted))).tolist()
    faded = dict(marker=dict(opacity=UNSELECTED_OPACITY))

    if equal_spacing:
        x = iso
        xaxis = dict(domain=[0.0, 0.94], anchor="y", type="category", title={"text": EXPIRY_AXIS_TITLE},
                     tickmode="array", tickvals=iso.tolist(), ticktext=expiry_tick_labels(frame["expiry"], as_of),
                     automargin=True)
        width = 0.8
    else:
        x = days
        xaxis = dict(domain=[0.0, 0.94], anchor="y", title={"text": DAYS_AXIS_TITLE}, rangemode="tozero")
        width = robust_bar_width(days)
    # a second y axis overlaying the first (what make_subplots(secondary_y=True) builds)
    fig = new_figure(dict(
        xaxis=xaxis,
        yaxis=dict(anchor="x", title={"text": VEGA_AXIS_TITLE}, exponentformat="B", zeroline=True),
        yaxis2=dict(anchor="x", overlaying="y", side="right", title={"text": IV_AXIS_TITLE}, ticksuffix="%",
                    showgrid=False, tickmode="auto", tickformat=".3~g"),
        clickmode="event+select",
        dragmode="select",
        hovermode="closest",
        legend={"title": {"text": ""}},
    ))
    selection = {} if selected is None else {"selectedpoints": selected}
    fig["data"].append(dict(
        type="bar",
        x=x,
        y=vega,
        width=width,
        name="Net dealer vega",
        marker=dict(color=palette.net),
        customdata=customdata,
        text=format_usd_array(vega),
        textposition="none",
        hovertemplate=(
            "<b>%{customdata[0]}</b> (%{customdata[1]:.1f} days)<br>net dealer vega %{text} per vol pt<extra></extra>"
        ),
        **selection,
        unselected=faded,
        xaxis="x",
        yaxis="y",
    ))
    fig["data"].append(dict(
        type="scatter",
        x=x,
        y=iv_pct,
        name="ATM implied vol",
        mode="lines+markers",
        line=dict(color=palette.iv, width=2),
        marker=dict(size=7, color=palette.iv),
        customdata=customdata,
        hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]:.1f} days)<br>ATM IV %{y:.2f}%<extra></extra>",
        **selection,
        unselected=faded,
        connectgaps=False,
        xaxis="x",
        yaxis="y2",
    ))
    return apply_house_layout(
        fig, title=title, subtitle=subtitle, template=template, height=height, uirevision=uirevision
    )
