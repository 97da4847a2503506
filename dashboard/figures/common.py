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

_SUFFIXES = ("", "k", "m", "bn", "tn")
_MISSING = "n/a"


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
FONT_FAMILY = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


# --- number formatting --------------------------------------------------------------------------
def format_usd_array(values: Iterable[float] | np.ndarray, *, signed: bool = False) -> np.ndarray:
    """Format many USD amounts compactly (3 significant digits, k/m/bn/tn), vectorised.

    Parameters
    ----------
    values : array-like of float
        Amounts in USD. NaN and None become ``"n/a"``.
    signed : bool, default False
        Prefix positive amounts with ``+`` (for changes).

    Returns
    -------
    numpy.ndarray of str
        One label per value, e.g. ``"$1.23bn"``, ``"-$450m"``.

    Examples
    --------
    >>> format_usd_array([1.234e9, -4.5e8, 12_345, 0.0, float("nan")]).tolist()
    ['$1.23bn', '-$450m', '$12.3k', '$0', 'n/a']
    """
    return _compact(values, prefix="$", signed=signed)


def format_number_array(values: Iterable[float] | np.ndarray, *, signed: bool = False) -> np.ndarray:
    """Format many plain numbers compactly (3 significant digits, k/m/bn/tn), vectorised.

    Examples
    --------
    >>> format_number_array([-1_234_567, 4_500]).tolist()
    ['-1.23m', '4.5k']
    """
    return _compact(values, prefix="", signed=signed)


def format_usd(x: float | None, *, signed: bool = False) -> str:
    """Format one USD amount compactly: 3 significant digits and a k/m/bn/tn suffix.

    Parameters
    ----------
    x : float or None
        Amount in USD. None and NaN give ``"n/a"``.
    signed : bool, default False
        Prefix positive amounts with ``+`` (for changes against a previous snapshot).

    Returns
    -------
    str

    Examples
    --------
    >>> format_usd(1.234e9)
    '$1.23bn'
    >>> format_usd(-4.5e8)
    '-$450m'
    >>> format_usd(12_345)
    '$12.3k'
    >>> format_usd(999_999)  # rounds up into the next suffix
    '$1m'
    >>> format_usd(950)
    '$950'
    >>> format_usd(2.5e12)
    '$2.5tn'
    >>> format_usd(3.2e7, signed=True)
    '+$32m'
    >>> format_usd(0)
    '$0'
    >>> format_usd(-3e-11)  # float noise
    '$0'
    >>> format_usd(None)
    'n/a'
    """
    return str(_compact([_as_float(x)], prefix="$", signed=signed)[0])


def format_number(x: float | None, *, compact: bool = True, decimals: int = 2, signed: bool = False) -> str:
    """Format a plain number: compact (``"-1.23m"``) or fixed with thousands separators.

    Parameters
    ----------
    x : float or None
        The number. None and NaN give ``"n/a"``.
    compact : bool, default True
        3 significant digits with a k/m/bn/tn suffix; False gives ``f"{x:,.{decimals}f}"``.
    decimals : int, default 2
        Decimals in the fixed (non-compact) form.
    signed : bool, default False
        Prefix positive numbers with ``+``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(-1_234_567)
    '-1.23m'
    >>> format_number(4783.456, compact=False)
    '4,783.46'
    >>> format_number(25, compact=False, decimals=0, signed=True)
    '+25'
    >>> format_number(float("nan"))
    'n/a'
    """
    value = _as_float(x)
    if not math.isfinite(value):
        return _MISSING
    if compact:
        return str(_compact([value], prefix="", signed=signed)[0])
    sign = "+" if signed and value > 0 else ""
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # -0.00 -> 0.00
        text = text.lstrip("-")
    return sign + text


def format_pct(x: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """Format a number that is already in percent (``-5.0`` means -5%).

    Examples
    --------
    >>> format_pct(-5)
    '-5.0%'
    >>> format_pct(1.25, decimals=2, signed=True)
    '+1.25%'
    """
    text = format_number(x, compact=False, decimals=decimals, signed=signed)
    return text if text == _MISSING else text + "%"


def format_strike(x: float | None) -> str:
    """Format a strike or price level without useless decimals.

    Examples
    --------
    >>> format_strike(4800.0)
    '4,800'
    >>> format_strike(61_000.5)
    '61,000.5'
    >>> format_strike(None)
    'n/a'
    """
    value = _as_float(x)
    if not math.isfinite(value):
        return _MISSING
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _as_float(x: float | None) -> float:
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _compact(values: Iterable[float] | np.ndarray, *, prefix: str, signed: bool) -> np.ndarray:
    """Vectorised 3-significant-digit formatting with k/m/bn/tn suffixes."""
    if isinstance(values, (np.ndarray, pd.Series, pd.Index)):
        arr = np.asarray(values, dtype=float).ravel()
    else:  # lists may hold None
        arr = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(arr)
    mag = np.abs(np.where(finite, arr, 0.0))
    # below half a cent (or 1e-9 for plain numbers) is float noise: show it as zero
    mag = np.where(mag < (0.005 if prefix else 1e-9), 0.0, mag)
    nonzero = mag > 0
    # round to 3 significant digits first, so 999_999 becomes 1.00m and not 1000k
    exponent = np.floor(np.log10(np.where(nonzero, mag, 1.0)))
    step = 10.0 ** (exponent - 2)
    rounded = np.where(nonzero, np.round(mag / step) * step, 0.0)
    bucket = np.clip(
        np.floor(np.log10(np.where(rounded > 0, rounded, 1.0)) / 3.0 + 1e-9), 0, len(_SUFFIXES) - 1
    ).astype(int)
    scaled = rounded / 1000.0**bucket
    digits = np.char.mod("%.3g", scaled)
    suffix = np.asarray(_SUFFIXES, dtype=object)[bucket]
    sign = np.where(nonzero & (arr < 0), "-", np.where(signed & nonzero & (arr > 0), "+", ""))
    labels = sign.astype(object) + prefix + digits.astype(object) + suffix
    return np.where(finite, labels, _MISSING)


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
    underlying: str, as_of: pd.Timestamp | dt.datetime | None, convention: str, model: str | None = None
) -> str:
    """One line naming what the numbers are: underlying, snapshot time, sign convention, model.

    Examples
    --------
    >>> snapshot_subtitle("SPX", pd.Timestamp("2024-01-05 15:59", tz="America/New_York"), "dealer-long-calls")
    'SPX · 2024-01-05 15:59 EST · convention: dealer-long-calls'
    """
    parts = [underlying]
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        parts.append(stamp.strftime("%Y-%m-%d %H:%M %Z").strip())
    parts.append(f"convention: {convention}")
    if model:
        parts.append(f"model: {model}")
    return " · ".join(parts)


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
        Title text, and a smaller line under it (what the numbers are: convention, snapshot).
    template : Template, str or dict, optional
        Defaults to :func:`house_template`.
    height : int, optional
        Figure height in pixels; None lets the container decide.
    uirevision : str, optional
        Dash keeps zoom and selection across updates while this stays the same.
    """
    title_spec: dict = {"text": title or ""}
    if subtitle:
        title_spec["subtitle"] = {"text": subtitle, "font": {"size": 12, "color": PALETTE.muted_text}}
    layout = fig["layout"]
    layout["template"] = _template_json(template)
    layout["title"] = title_spec
    if height is not None:
        layout["height"] = height
    if uirevision is not None:
        layout["uirevision"] = uirevision
    return fig


def graph_config(filename: str = "mmpos", *, scale: int = 2) -> dict:
    """The ``config`` for ``dcc.Graph``: PNG export with a file name, no plotly logo.

    Parameters
    ----------
    filename : str
        File name (without extension) of the PNG the camera button saves.
    scale : int, default 2
        Pixel-density multiplier of the export (2 reads well on slides).

    Examples
    --------
    >>> cfg = graph_config("spx-gamma")
    >>> cfg["toImageButtonOptions"]["filename"], cfg["displaylogo"]
    ('spx-gamma', False)
    """
    return {
        "displaylogo": False,
        "responsive": True,
        "displayModeBar": "hover",
        "modeBarButtonsToRemove": ["autoScale2d", "toggleSpikelines"],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": scale},
    }


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
            text=message,
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
        the label before it (text width estimated from its length), else rows are cycled.
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
    for i, (name, x, label, colour, dash) in enumerate(drawn):
        x = float(x)
        slot = i % len(label_rows)
        if span > 0:  # labels start just right of their line; ~6.5 px per character on ~1000 px
            width = (len(label) * 0.0068 + 0.008) * span
            free = [k for k, end in enumerate(row_ends) if end < x]
            slot = free[0] if free else int(np.argmin(row_ends))
            row_ends[slot] = x + width
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
            xanchor="left",
            xshift=3,
            text=label,
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
