"""Number formatting shared by every surface that prints mmpos numbers (key-levels text, CLI, dashboard).

One place for the rules a reader relies on:

* USD amounts are compact: 3 significant digits and a k/m/bn/tn suffix (``"-$1.23bn"``); a change
  carries its sign (``"+$32m"``).
* strikes and price levels carry thousands separators and no useless decimals: ``"4,800"``, never
  ``"4800.0"`` beside ``"4,734.7"``;
* nothing prints as ``"-0"``, ``"+0"`` or ``"-0.0%"``: a value that rounds to zero is ``"0"``, unsigned;
* None and NaN print as ``"n/a"``.

Pure functions: plain values in, strings out; no plotting or dash import (the functional core may use
them, the dashboard and the CLI reuse them).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

MISSING = "n/a"
#: A text cell a spreadsheet would run as a formula (OWASP "CSV injection"): it starts with one of these.
FORMULA_START = r"^[=+\-@\t\r]"
#: ... unless it is a plain number (``-12.5``, ``+3e-4``): a number stays a number.
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_FORMULA_START, _PLAIN_NUMBER_RE = re.compile(FORMULA_START), re.compile(_PLAIN_NUMBER)
_SUFFIXES = ("", "k", "m", "bn", "tn")


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
        Prefix positive amounts with ``+`` (for changes and flows).

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
    >>> format_usd(0, signed=True)
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
        Prefix positive numbers with ``+``; a number that rounds to zero gets no sign.

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
    >>> format_number(-0.004, compact=False, signed=True)
    '0.00'
    >>> format_number(float("nan"))
    'n/a'
    """
    value = _as_float(x)
    if not math.isfinite(value):
        return MISSING
    if compact:
        return str(_compact([value], prefix="", signed=signed)[0])
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # rounds to zero: "-0.00" -> "0.00", and no "+"
        return text.lstrip("-")
    return ("+" if signed and value > 0 else "") + text


def format_pct(x: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """Format a number that is already in percent (``-5.0`` means -5%).

    Examples
    --------
    >>> format_pct(-5)
    '-5.0%'
    >>> format_pct(1.25, decimals=2, signed=True)
    '+1.25%'
    >>> format_pct(-0.0, decimals=0, signed=True)
    '0%'
    """
    text = format_number(x, compact=False, decimals=decimals, signed=signed)
    return text if text == MISSING else text + "%"


def format_strike(x: float | None) -> str:
    """Format a strike with thousands separators and without useless decimals (at most 2).

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
        return MISSING
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_level(x: float | None, *, signed: bool = False) -> str:
    """Format a computed price level (zero gamma, spot, a level's change): thousands separators, 1 decimal.

    A strike on the same line uses :func:`format_strike` (``"4,800"`` beside ``"4,734.7"``).

    Examples
    --------
    >>> format_level(4734.6789)
    '4,734.7'
    >>> format_level(12.34, signed=True)
    '+12.3'
    >>> format_level(-0.02, signed=True)
    '0.0'
    """
    return format_number(x, compact=False, decimals=1, signed=signed)


EXCHANGE_TIME_ZONE = "America/New_York"  # the US listed options' clock (analytics.calendars.NYSE_TIME_ZONE)


def format_stamp(ts: object) -> str:
    """A snapshot time as the page, report and CLI show it: ``YYYY-MM-DD HH:MM ZONE``, one style for every
    source. A fixed UTC offset (a parquet file's ``-05:00``) that is New York's offset at that instant is
    shown as New York's zone (EST/EDT: the same instant and wall time); another offset stays ``UTC-05:00``.

    Examples
    --------
    >>> format_stamp(pd.Timestamp("2026-11-20 16:15", tz="America/New_York"))
    '2026-11-20 16:15 EST'
    >>> format_stamp(pd.Timestamp("2026-11-20 16:15-05:00"))
    '2026-11-20 16:15 EST'
    >>> format_stamp(pd.Timestamp("2026-07-20 16:15-05:00")), format_stamp(pd.Timestamp("2026-07-20 08:00", tz="UTC"))
    ('2026-07-20 16:15 UTC-05:00', '2026-07-20 08:00 UTC')
    >>> format_stamp(None), format_stamp(pd.Timestamp("2026-11-20 16:15"))
    ('n/a', '2026-11-20 16:15')
    """
    if ts is None:
        return "n/a"
    stamp = pd.Timestamp(ts)  # type: ignore[arg-type]
    tz = stamp.tzinfo
    if isinstance(tz, dt.timezone) and stamp.utcoffset() != dt.timedelta(0):
        local = stamp.tz_convert(EXCHANGE_TIME_ZONE)
        if local.utcoffset() == stamp.utcoffset():
            stamp = local
    return stamp.strftime("%Y-%m-%d %H:%M %Z").strip()


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
    else:  # lists may hold None (and anything else that is not a number: n/a)
        arr = np.array([_as_float(v) for v in values], dtype=float)
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
    return np.where(finite, labels, MISSING)


def csv_text_cell(value: object) -> object:
    """One CSV cell made inert for spreadsheets: a text starting with ``= + - @``, a tab or a CR gets a
    leading ``'`` (OWASP); numbers, plain-number texts and other values are returned unchanged.

    Examples
    --------
    >>> csv_text_cell("=HYPERLINK(1)"), csv_text_cell("\\tx"), csv_text_cell("-12.5"), csv_text_cell(-3.0)
    ("'=HYPERLINK(1)", "'\\tx", '-12.5', -3.0)
    """
    if isinstance(value, str) and _FORMULA_START.match(value) and not _PLAIN_NUMBER_RE.match(value):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a copy) with every text cell passed through :func:`csv_text_cell`, vectorised over the
    text columns only: numeric columns (negative numbers included) are left as they are.

    Examples
    --------
    >>> f = pd.DataFrame({"name": ["SPX", "=1+2", "@SUM(A1)", "-4"], "x": [-1.5, 2.0, -3.0, 4.0]})
    >>> csv_safe_frame(f).to_dict("list")
    {'name': ['SPX', "'=1+2", "'@SUM(A1)", '-4'], 'x': [-1.5, 2.0, -3.0, 4.0]}
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        text = series.astype("string")  # a number in a text column reads as a plain number: kept
        risky = (text.str.match(FORMULA_START).fillna(False).to_numpy(dtype=bool)
                 & ~text.str.match(_PLAIN_NUMBER).fillna(False).to_numpy(dtype=bool))
        if risky.any():
            out[col] = series.astype(object).where(~risky, "'" + text.astype(object).where(risky, ""))
    return out
