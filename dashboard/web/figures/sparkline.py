"""A sparkline as a small inline SVG (a ``data:`` URI an ``<img>`` shows): plain numbers in, text out.

Built on the server so the grid's cell renderer only places an image (assets/watchlist.js): nothing to
lay out or measure in the browser, the same picture in every browser and in a screenshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import numpy as np

SPARK_WIDTH_PX, SPARK_HEIGHT_PX = 110, 26
UP, DOWN, ZERO_LINE = "#067647", "#b42318", "#9aa5b1"  # the page's --up and --down (assets/style.css)


def sparkline_uri(values: Sequence[float | None], *, width: int = SPARK_WIDTH_PX, height: int = SPARK_HEIGHT_PX) -> str:
    """The SVG of ``values`` (oldest first; None/NaN skipped) as a ``data:image/svg+xml`` URI: a line,
    the zero line when the range crosses it, a dot on the newest value coloured by its sign; ``""``
    with fewer than two finite values.

    Examples
    --------
    >>> sparkline_uri([1.0])
    ''
    >>> uri = sparkline_uri([-2e9, -1e9, 5e8])
    >>> uri.startswith("data:image/svg+xml,") and "polyline" in uri
    True
    """
    y = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 2:
        return ""
    pad = 3.0
    lo, hi = float(min(y.min(), 0.0) if y.min() < 0 < y.max() else y.min()), float(y.max())
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    xs = pad + np.arange(y.size) * (width - 2 * pad) / (y.size - 1)
    ys = pad + (hi - y) * (height - 2 * pad) / (hi - lo)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    colour = UP if y[-1] > 0 else DOWN
    zero = ""
    if lo < 0 < hi:
        z = pad + hi * (height - 2 * pad) / (hi - lo)
        zero = f'<line x1="0" x2="{width}" y1="{z:.1f}" y2="{z:.1f}" stroke="{ZERO_LINE}" stroke-dasharray="2,2"/>'
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
           f'{zero}<polyline fill="none" stroke="#0b5cab" stroke-width="1.5" points="{points}"/>'
           f'<circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2.5" fill="{colour}"/></svg>')
    return "data:image/svg+xml," + quote(svg)
