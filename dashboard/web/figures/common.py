"""What every figure shares: number formatting, the house template, reference lines, empty states.

Everything here is pure: plain values in, strings/dicts out. No dash import, no module-level
mutable state, no clock.

Figures are plain dicts ``{"data": [trace, ...], "layout": {...}}`` in the form plotly.js reads:
building and validating ``go.Figure`` objects cost about half of a page update, so the builders
skip it and ``tests/dashboard/test_figures.py`` validates every figure with ``go.Figure(fig)``
(STYLE.md convention 6). Traces hold numpy arrays; :func:`encode_arrays` turns them into
plotly.js typed arrays (base64), as ``go.Figure.to_plotly_json`` does, when a figure is sent.

Customdata contract (what a click or hover hands back to a callback):

* gamma by strike and strike breakdown: ``customdata[CUSTOMDATA_STRIKE]`` is the strike; in the
  stacked-by-expiry and breakdown views ``customdata[CUSTOMDATA_EXPIRY]`` is the expiry as an ISO
  date string.
* hedge curves and the GEX-vs-spot profile: ``customdata[CUSTOMDATA_SHOCK_PCT]`` is the shock in
  percent, ``customdata[CUSTOMDATA_IMPLIED_SPOT]`` the spot it implies.
* term structure: ``customdata[CUSTOMDATA_TERM_EXPIRY]`` is the expiry as an ISO date string.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import to_typed_array_spec

from analytics.fmt import (  # the one number formatter; re-exported for the figure builders  # noqa: F401
    format_level,
    format_number,
    format_number_array,
    format_pct,
    format_stamp,
    format_strike,
    format_usd,
    format_usd_array,
)

# --- customdata column positions -------------------------------------------------------------
CUSTOMDATA_STRIKE = 0
CUSTOMDATA_EXPIRY = 1
CUSTOMDATA_SHOCK_PCT = 0
CUSTOMDATA_IMPLIED_SPOT = 1
CUSTOMDATA_TERM_EXPIRY = 0

# --- names of reference lines (layout.shapes[].name), for tests and clientside code -----------
LINE_SPOT = "spot"
LINE_ZERO_GAMMA = "zero gamma"
LINE_CALL_WALL = "call wall"
LINE_PUT_WALL = "put wall"
LINE_MARKER_SPOT = "implied spot"



@dataclass(frozen=True)
class Palette:
    """Colour-blind-aware colours (Okabe-Ito based) used by every view."""

    call: str = "#009E73"  # bluish green
    put: str = "#D55E00"  # vermillion
    net: str = "#1F3A5F"  # dark blue
    previous: str = "#7F8C8D"  # grey
    spot: str = "#222222"
    zero_gamma: str = "#CC79A7"  # reddish purple
    marker_spot: str = "#E69F00"  # orange
    iv: str = "#0072B2"  # blue
    long_gamma_fill: str = "rgba(0, 158, 115, 0.15)"
    short_gamma_fill: str = "rgba(213, 94, 0, 0.15)"
    grid: str = "#E6E9ED"
    axis_line: str = "#B8C0C8"
    text: str = "#1E2A36"
    muted_text: str = "#5B6773"


PALETTE = Palette()


def escape_text(text: object) -> str:
    """Data text (a name, a file label, a message) made inert for Plotly, whose titles, annotations,
    trace names, hover templates and hover texts read a subset of HTML (``<a href>`` draws a link):
    ``&``, ``<`` and ``>`` become entities, which Plotly shows as the characters. The one escape for
    every data text a figure places; text the builders write themselves (``<b>``, ``<br>``) is not data.

    Examples
    --------
    >>> escape_text('<a href="https://evil.example/">CLICK</a> & co')
    '&lt;a href="https://evil.example/"&gt;CLICK&lt;/a&gt; &amp; co'
    >>> escape_text("SPX")
    'SPX'
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_array(values: np.ndarray) -> np.ndarray:
    """:func:`escape_text` over an object array of texts (hover ``text`` arrays)."""
    out = np.asarray(values, dtype=object).astype(str)
    out = np.char.replace(np.char.replace(np.char.replace(out, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    return out.astype(object)
FONT_FAMILY = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def horizon_label(days: float) -> str:
    """Legend label for a hedge-curve horizon.

    Examples
    --------
    >>> horizon_label(0.0), horizon_label(1.0), horizon_label(5), horizon_label(0.5)
    ('now', '+1 day', '+5 days', '+0.5 days')
    """
    days = float(days)
    if days == 0:
        return "now"
    text = f"{days:g}"
    unit = "day" if abs(days) == 1 else "days"
    return f"{'+' if days > 0 else ''}{text} {unit}"


def iso_dates(values: Iterable[object]) -> np.ndarray:
    """ISO ``YYYY-MM-DD`` strings for dates, datetimes or date-like strings (vectorised).

    Examples
    --------
    >>> iso_dates([dt.date(2024, 1, 19), "2024-02-16"]).tolist()
    ['2024-01-19', '2024-02-16']
    """
    stamps = pd.to_datetime(pd.Series(list(values), dtype=object), errors="coerce")
    return stamps.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)


def snapshot_subtitle(
    underlying: str, as_of: pd.Timestamp | dt.datetime | None, convention: str, model: str | None = None,
    *, expiries: str | None = None,
) -> str:
    """One line naming what the numbers are: underlying, snapshot time, sign convention, expiries, model.

    Examples
    --------
    >>> snapshot_subtitle("SPX", pd.Timestamp("2024-01-05 15:59", tz="America/New_York"), "dealer-long-calls")
    'SPX · 2024-01-05 15:59 EST · convention: dealer-long-calls'
    >>> snapshot_subtitle("BTC", None, "book", expiries="all expiries (12)")
    'BTC · convention: book · all expiries (12)'
    """
    parts = [underlying]
    if as_of is not None:
        parts.append(format_stamp(as_of))
    parts.append(f"convention: {convention}")
    if expiries:
        parts.append(expiries)
    if model:
        parts.append(f"model: {model}")
    return " · ".join(parts)


def expiry_set_label(preset: str, expiries: Sequence[str]) -> str:
    """The expiry set in words, for export titles and the CSV (``"next 30 days: 9 expiries"``).

    Examples
    --------
    >>> expiry_set_label("all", ["2026-11-23", "2026-12-18"])
    'all expiries (2)'
    >>> expiry_set_label("custom", ["2026-11-27", "2026-12-04", "2026-12-18"])
    'expiries 2026-11-27 … 2026-12-18 (3)'
    >>> expiry_set_label("custom", ["2026-11-27"]), expiry_set_label("7d", ["2026-11-23"])
    ('expiry 2026-11-27', 'expiries 7d (1)')
    """
    dates = sorted(expiries or ())
    if preset == "all":
        return f"all expiries ({len(dates)})"
    if preset != "custom":
        return f"expiries {preset} ({len(dates)})"
    if len(dates) == 1:
        return f"expiry {dates[0]}"
    return f"expiries {dates[0]} … {dates[-1]} ({len(dates)})" if dates else "no expiries"


#: each panel's view name in PNG/CSV file names (the camera button, :func:`export_filename`), by panel name
#: (:mod:`dashboard.web.panels`): the page's panels and the report's charts of the same views read it here
EXPORT_NAMES: dict[str, str] = {
    "gamma": "gamma-by-strike",
    "expiry": "gamma-by-expiry",
    "breakdown": "strike-breakdown",
    "hedge": "hedging-curves",
    "term": "vega-term-structure",
    "smile": "iv-smile",
    "max_pain": "max-pain",
}


def export_filename(view: str, underlying: str, as_of: pd.Timestamp | dt.datetime | None, convention: str,
                    preset: str, expiries: Sequence[str]) -> str:
    """A PNG/CSV file name (no extension) naming the view, underlying, snapshot, convention and expiries.

    Examples
    --------
    >>> export_filename("gamma", "SPX", pd.Timestamp("2026-11-20 16:15", tz="America/New_York"),
    ...                 "dealer-long-calls", "custom", ["2026-11-27", "2026-12-18"])
    'mmpos_SPX_2026-11-20T1615_dealer-long-calls_exp-2026-11-27-to-2026-12-18-2_gamma'
    >>> export_filename("hedge", "BTC", None, "book", "30d", ["2026-11-27"])
    'mmpos_BTC_book_exp-30d_hedge'
    """
    dates = sorted(expiries or ())
    if preset == "custom" and dates:
        exp = f"exp-{dates[0]}" + (f"-to-{dates[-1]}-{len(dates)}" if len(dates) > 1 else "")
    else:
        exp = f"exp-{preset or 'all'}"
    stamp = pd.Timestamp(as_of).strftime("%Y-%m-%dT%H%M") if as_of is not None else None
    parts = ["mmpos", underlying, stamp, convention, exp, view]
    text = "_".join(str(p) for p in parts if p)
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


# --- layout -------------------------------------------------------------------------------------
def house_template(palette: Palette = PALETTE) -> go.layout.Template:
    """The light, desk-friendly template every view uses (a fresh object on every call).

    Returns
    -------
    plotly.graph_objects.layout.Template
    """
    axis = dict(
        gridcolor=palette.grid,
        linecolor=palette.axis_line,
        zerolinecolor=palette.axis_line,
        zerolinewidth=1,
        showline=True,
        ticks="outside",
        tickcolor=palette.axis_line,
        title=dict(font=dict(size=13, color=palette.muted_text)),
        automargin=True,
    )
    return go.layout.Template(
        layout=dict(
            font=dict(family=FONT_FAMILY, size=13, color=palette.text),
            paper_bgcolor="white",
            plot_bgcolor="white",
            colorway=[
                palette.net,
                palette.call,
                palette.put,
                palette.iv,
                palette.marker_spot,
                palette.zero_gamma,
                palette.previous,
            ],
            xaxis=axis,
            yaxis=axis,
            hoverlabel=dict(font=dict(family=FONT_FAMILY, size=12), bgcolor="white"),
            legend=dict(
                orientation="h",
                x=0.0,
                xanchor="left",
                y=1.01,
                yanchor="bottom",
                bgcolor="rgba(255,255,255,0)",
                font=dict(size=12),
            ),
            title=dict(
                x=0.0,
                xanchor="left",
                xref="container",
                y=1.0,
                yanchor="top",
                yref="container",
                pad=dict(t=12, l=12),
                font=dict(size=16),
            ),
            margin=dict(l=70, r=30, t=112, b=55),
        )
    )


Figure = dict  # a plain plotly.js figure: {"data": [trace dicts], "layout": {...}}


@functools.lru_cache(maxsize=1)
def _shared_house_template() -> dict:
    """The default palette's template as a plain dict, built once and shared by every figure (read
    only: figures are serialised, never edited after they are built)."""
    return house_template().to_plotly_json()


def _template_json(template: go.layout.Template | str | dict | None) -> dict:
    if template is None:
        return _shared_house_template()
    if isinstance(template, str):
        return pio.templates[template].to_plotly_json()
    return template if isinstance(template, dict) else template.to_plotly_json()


def new_figure(layout: dict | None = None) -> Figure:
    """An empty figure dict, optionally with a starting layout."""
    return {"data": [], "layout": dict(layout or {})}


def update_axes(fig: Figure, axis: str, **props: object) -> Figure:
    """Merge ``props`` into every ``axis`` (``"xaxis"`` or ``"yaxis"``) of the layout, as
    ``go.Figure.update_xaxes`` does: ``xaxis``, ``xaxis2``, ... (``xaxis`` always exists)."""
    layout = fig["layout"]
    names = [k for k in layout if k == axis or (k.startswith(axis) and k[len(axis):].isdigit())] or [axis]
    for name in names:
        layout[name] = merge(layout.get(name) or {}, props)
    return fig


def merge(base: dict, update: dict) -> dict:
    """A copy of ``base`` with ``update`` merged in, nested dicts merged key by key.

    Examples
    --------
    >>> merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4})
    {'a': {'b': 1, 'c': 3}, 'd': 4}
    """
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def encode_arrays(fig: Figure) -> Figure:
    """The figure ready to send: numeric numpy arrays of its traces as plotly.js typed arrays.

    The same base64 form ``go.Figure.to_plotly_json`` produces (much smaller and faster to encode
    than JSON lists of floats). Works on a copy of the traces; the layout is shared.

    Examples
    --------
    >>> encode_arrays({"data": [{"type": "bar", "y": np.array([1.0, 2.0])}], "layout": {}})["data"][0]["y"]
    {'dtype': 'f8', 'bdata': 'AAAAAAAA8D8AAAAAAAAAQA=='}
    """
    return {**fig, "data": [_encoded(t) for t in fig.get("data", [])]}


def _encoded(value: object) -> object:
    if isinstance(value, dict):
        return {k: _encoded(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "fiub":
        if value.dtype != np.float64:  # plotly narrows integers to the smallest type that holds them
            return to_typed_array_spec(value)
        spec = {"dtype": "f8", "bdata": base64.b64encode(np.ascontiguousarray(value)).decode("ascii")}
        if value.ndim > 1:
            spec["shape"] = str(value.shape)[1:-1]
        return spec
    return value


def apply_house_layout(
    fig: Figure,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | dict | None = None,
    height: int | None = None,
    uirevision: str | None = None,
) -> Figure:
    """Apply the house template, title and common layout to ``fig`` (in place) and return it.

    Parameters
    ----------
    fig : dict
        A figure dict (see :func:`new_figure`).
    title, subtitle : str, optional
        Title text, and a smaller line under it (what the numbers are: convention, snapshot): plain
        text (they carry names from the data), escaped here (:func:`escape_text`).
    template : Template, str or dict, optional
        Defaults to :func:`house_template`.
    height : int, optional
        Figure height in pixels; None lets the container decide.
    uirevision : str, optional
        Dash keeps zoom and selection across updates while this stays the same.
    """
    title_spec: dict = {"text": escape_text(title or "")}
    if subtitle:
        title_spec["subtitle"] = {"text": escape_text(subtitle), "font": {"size": 12, "color": PALETTE.muted_text}}
    layout = fig["layout"]
    layout["template"] = _template_json(template)
    layout["title"] = title_spec
    if height is not None:
        layout["height"] = height
    if uirevision is not None:
        layout["uirevision"] = uirevision
    return fig


LABEL_PLOT_WIDTH_PX = 520.0  # plot width of the narrowest line-labelled panel at a 1280 px window

# Modebar buttons no view needs. The cloud/Chart Studio ones would offer an upload of a positions
# view to a third party: they are removed everywhere, and their config switches are off as well.
MODEBAR_REMOVED: tuple[str, ...] = (
    "sendDataToCloud", "editInChartStudio", "autoScale2d", "toggleSpikelines", "lasso2d", "zoomIn2d", "zoomOut2d",
)


def graph_config(filename: str = "mmpos", *, scale: int = 2, static: bool = False) -> dict:
    """The ``config`` for ``dcc.Graph``: PNG export with a file name, no plotly logo, nothing that
    sends a chart to the cloud, and a short modebar (it sits over the title of a narrow panel).

    Parameters
    ----------
    filename : str
        File name (without extension) of the PNG the camera button saves.
    scale : int, default 2
        Pixel-density multiplier of the export (2 reads well on slides).
    static : bool, default False
        For a page printed to PDF or PNG (the report's static export): no modebar at all.

    Examples
    --------
    >>> cfg = graph_config("spx-gamma")
    >>> cfg["toImageButtonOptions"]["filename"], cfg["displaylogo"], cfg["showSendToCloud"]
    ('spx-gamma', False, False)
    """
    return {
        "displaylogo": False,
        "responsive": True,
        "displayModeBar": False if static else "hover",
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "showLink": False,
        "modeBarButtonsToRemove": list(MODEBAR_REMOVED),
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": scale},
    }


def two_line_axis_titles(figure: Figure) -> Figure:
    """Break long y-axis titles before their unit (``"Total GEX<br>(USD per 1%)"``) for stacked rows
    (the hedge view's two y axes, on the page and in the report, would overlap otherwise)."""
    layout = figure["layout"]
    for name, axis in list(layout.items()):
        if not (name == "yaxis" or (name.startswith("yaxis") and name[5:].isdigit())):
            continue
        text = ((axis or {}).get("title") or {}).get("text")
        if text and "<br>" not in text:
            layout[name] = merge(axis, {"title": {"text": text.replace(" (", "<br>(", 1)}})
    return figure


def empty_figure(
    message: str,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    template: go.layout.Template | str | None = None,
    height: int | None = None,
) -> Figure:
    """A blank figure that says why there is nothing to draw (no data, an error).

    Parameters
    ----------
    message : str
        Text shown in the middle of the plot area.
    title, subtitle : str, optional
    template : Template or str, optional
    height : int, optional

    Returns
    -------
    dict
        A figure dict (see :func:`new_figure`).

    Examples
    --------
    >>> fig = empty_figure("No options left after filtering")
    >>> fig["layout"]["annotations"][0]["text"], len(fig["data"])
    ('No options left after filtering', 0)
    """
    fig = new_figure({
        "annotations": [dict(
            font=dict(size=15, color=PALETTE.muted_text),
            name="empty",
            showarrow=False,
            text=escape_text(message),
            x=0.5,
            xref="paper",
            y=0.5,
            yref="paper",
        )],
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
    })
    return apply_house_layout(fig, title=title, subtitle=subtitle, template=template, height=height)


def add_reference_lines(
    fig: Figure,
    lines: Sequence[tuple[str, float | None, str, str, str]],
    *,
    row: int | str | None = None,
    col: int | None = None,
    x_range: tuple[float, float] | None = None,
    label_rows: Sequence[float] = (0.995, 0.94, 0.885, 0.83, 0.775, 0.72),
    plot_width_px: float = LABEL_PLOT_WIDTH_PX,
) -> Figure:
    """Add labelled vertical lines, labels staggered so close lines stay readable.

    Parameters
    ----------
    fig : dict
        A figure dict, changed in place.
    lines : sequence of (name, x, label, colour, dash)
        ``name`` goes into ``layout.shapes[].name`` (see the ``LINE_*`` constants); lines whose x is
        None or not finite are skipped.
    row, col : optional
        Subplot to draw in (``row="all"`` spans every row), as in ``fig.add_vline``.
    x_range : (float, float), optional
        The visible x range; with it each label takes the highest row where it does not overlap
        the label before it (text width estimated from its length), else rows are cycled. A label
        that would run past the right edge is drawn to the left of its line instead (not clipped).
    plot_width_px : float
        The plot width the label widths are estimated for: the narrowest panel at 1280 px, so
        labels that clear each other there clear everywhere wider.
    label_rows : sequence of float
        Label heights (top of the label) as fractions of the plot height; labels sit inside the
        plot so they never collide with the legend above it.
    """
    drawn = [ln for ln in lines if ln[1] is not None and math.isfinite(float(ln[1]))]
    drawn.sort(key=lambda ln: float(ln[1]))
    span = abs(x_range[1] - x_range[0]) if x_range is not None else 0.0
    row_ends = [-math.inf] * len(label_rows)
    # Which subplots the lines cross: the (x, y) axis pairs of the traces (row="all"), the first
    # one, or the given row. Shapes and labels are built as plain dicts and added in one layout
    # update: fig.add_vline per line costs milliseconds each on a figure full of traces.
    pairs = list(dict.fromkeys((t.get("xaxis") or "x", t.get("yaxis") or "y") for t in fig["data"])) or [("x", "y")]
    if row is None:
        pairs = pairs[:1]
    elif row != "all":
        pairs = [pairs[int(row) - 1]] if int(row) - 1 < len(pairs) else pairs[:1]
    shapes, annotations = [], []
    right_edge = max(x_range) if x_range is not None else math.inf
    for i, (name, x, label, colour, dash) in enumerate(drawn):
        x = float(x)
        slot = i % len(label_rows)
        leftward = False
        if span > 0:  # labels start just right of their line; ~6.5 px per character, 3 px apart
            width = (len(label) * 6.5 + 8.0) / plot_width_px * span
            leftward = x + width > right_edge
            start, end = (x - width, x) if leftward else (x, x + width)
            free = [k for k, row_end in enumerate(row_ends) if row_end < start]
            slot = free[0] if free else int(np.argmin(row_ends))
            row_ends[slot] = end
        line = dict(color=colour, width=1.6 if name == LINE_SPOT else 1.3, dash=dash)
        for xa, ya in pairs:
            shapes.append(dict(type="line", name=name, x0=x, x1=x, xref=xa, y0=0, y1=1, yref=f"{ya} domain",
                               line=line, layer="above"))
        annotations.append(dict(
            name=name,
            x=x,
            xref=pairs[0][0],
            yref="paper",
            y=label_rows[slot],
            yanchor="top",
            xanchor="right" if leftward else "left",
            xshift=-3 if leftward else 3,
            text=escape_text(label),
            showarrow=False,
            font=dict(size=11, color=colour),
            bgcolor="rgba(255,255,255,0.7)",
            borderpad=1,
        ))
    if shapes:
        layout = fig["layout"]
        layout["shapes"] = list(layout.get("shapes") or []) + shapes
        layout["annotations"] = list(layout.get("annotations") or []) + annotations
    return fig


def robust_bar_width(x: np.ndarray, fraction: float = 0.8) -> np.ndarray:
    """Per-bar widths from the gap to the nearest neighbour (vectorised), for uneven x spacing.

    Examples
    --------
    >>> robust_bar_width(np.array([1.0, 2.0, 10.0])).tolist()
    [0.8, 0.8, 6.4]
    """
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return np.full(x.size, 1.0 * fraction)
    order = np.argsort(x)
    xs = x[order]
    gaps = np.diff(xs)
    gaps = np.where(gaps > 0, gaps, np.nan)
    left = np.concatenate([[np.nan], gaps])
    right = np.concatenate([gaps, [np.nan]])
    nearest = np.fmin(left, right)
    fallback = np.nanmin(gaps) if np.isfinite(gaps).any() else 1.0
    nearest = np.where(np.isfinite(nearest), nearest, fallback)
    width = np.empty_like(x)
    width[order] = nearest * fraction
    return width
