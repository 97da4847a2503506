"""The rules of ``mmpos collect`` (issue 19, intraday snapshots), pure: no clock, no network, no files.

* what to collect: ``"SPX,NDX,BTC"`` and an interval ``"5m"`` (:func:`parse_collect`,
  :func:`parse_every`); a Deribit option currency (:data:`DERIBIT_CURRENCIES`) is fetched from Deribit,
  anything else from CBOE's delayed quotes (:func:`source_of`);
* when: Deribit trades around the clock, so every interval after the last fetch; CBOE's underlyings
  only inside an NYSE session (the bounds come from ``exchange_calendars``:
  :func:`analytics.calendars._session_bounds`), plus one snapshot after each close
  (:data:`AFTER_CLOSE_S` after it: CBOE's feed lags the market by :data:`CBOE_DELAY_S`, so that
  snapshot carries the closing quotes) and nothing on weekends and holidays (:func:`next_fetch_ns`);
* after a failure: exponential backoff from :data:`BACKOFF_BASE_S` capped at :data:`BACKOFF_CAP_S`,
  never sooner than the server's ``Retry-After`` (:func:`backoff_s`);
* what to keep: every snapshot of the last N days, and before that the last of each session day
  (:func:`to_delete`), among the files the collector wrote (named ``collect_...``:
  :func:`collected_name`).

Instants are UTC nanoseconds (``int``) or aware timestamps; nothing here reads the time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analytics.calendars import NYSE_TIME_ZONE

DERIBIT_CURRENCIES = frozenset({"BTC", "ETH", "SOL"})  # fetched from Deribit; every other name from CBOE
SOURCES = ("cboe", "deribit")
DEFAULT_EVERY_S = 300.0
EVERY_LIMITS_S = (30.0, 86_400.0)  # CBOE's delayed feed refreshes about once a minute; a day at most
CBOE_DELAY_S = 15 * 60  # CBOE's delayed quotes lag the market by 15 minutes
AFTER_CLOSE_S = CBOE_DELAY_S + 5 * 60  # the snapshot after a close: the closing quotes have arrived by then
BACKOFF_BASE_S = 15.0
BACKOFF_CAP_S = 15 * 60.0
RETRY_AFTER_CAP_S = 3600.0  # a server asking for longer is asked again after an hour
COLLECT_PREFIX = "collect_"  # the collector's files, the only ones its retention step deletes
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$", re.I)
_NAME = re.compile(r"^collect_(?:cboe_([a-z0-9]+)|deribit_([a-z0-9]+)_book_summary)_(\d{8}T\d{6}Z)\.json$")
_SYMBOL = re.compile(r"^[A-Z0-9]{1,10}$")
NS = 1_000_000_000


def source_of(underlying: str) -> str:
    """``"deribit"`` for a Deribit option currency, else ``"cboe"``.

    Examples
    --------
    >>> source_of("btc"), source_of("SPX")
    ('deribit', 'cboe')
    """
    return "deribit" if underlying.strip().upper() in DERIBIT_CURRENCIES else "cboe"


def parse_underlyings(text: str) -> tuple[str, ...]:
    """``"SPX, ndx,BTC"`` -> ``("SPX", "NDX", "BTC")`` (upper case, duplicates dropped, order kept).

    Raises
    ------
    ValueError
        No name, or a name that is not 1-10 letters or digits.
    """
    out: list[str] = []
    for part in text.split(","):
        name = part.strip().upper().lstrip("_^")
        if not name:
            continue
        if not _SYMBOL.match(name):
            raise ValueError(f"not an underlying: {part.strip()[:20]!r} (letters and digits, e.g. SPX or BTC)")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("no underlying given (e.g. SPX,BTC)")
    return tuple(out)


def parse_every(text: str) -> float:
    """An interval as seconds: ``"5m"`` -> 300, ``"90s"`` -> 90, ``"1h"`` -> 3600, ``"120"`` -> 120.

    Raises
    ------
    ValueError
        Not a number with an optional s/m/h unit, or outside :data:`EVERY_LIMITS_S`.

    Examples
    --------
    >>> parse_every("5m"), parse_every("90s"), parse_every("1h")
    (300.0, 90.0, 3600.0)
    """
    found = _EVERY.match(text)
    if not found:
        raise ValueError(f"not an interval: {text.strip()[:20]!r} (e.g. 5m, 90s, 1h)")
    seconds = float(found.group(1)) * _UNITS[(found.group(2) or "s").lower()]
    lo, hi = EVERY_LIMITS_S
    if not lo <= seconds <= hi:
        raise ValueError(f"interval {text.strip()!r} is outside {lo:g} s to {hi / 3600:g} h")
    return seconds


def parse_collect(text: str) -> tuple[tuple[str, ...], float]:
    """``MMPOS_COLLECT``: ``"SPX,BTC@5m"`` -> ``(("SPX", "BTC"), 300.0)``; without ``@`` every
    :data:`DEFAULT_EVERY_S`.

    Examples
    --------
    >>> parse_collect("SPX,BTC@5m"), parse_collect("ndx")
    ((('SPX', 'BTC'), 300.0), (('NDX',), 300.0))
    """
    names, sep, every = text.partition("@")
    return parse_underlyings(names), parse_every(every) if sep else DEFAULT_EVERY_S


def next_fetch_ns(source: str, last_ns: int | None, every_ns: int, opens: np.ndarray, closes: np.ndarray,
                  after_close_ns: int = AFTER_CLOSE_S * NS) -> int:
    """The earliest instant (UTC ns) the next snapshot is due, given the last one taken at ``last_ns``.

    Deribit (``source="deribit"``): ``last + every``. CBOE: the next in-session instant ``last + every``
    while that is before the session's close; else the snapshot after that close (``close +
    after_close_ns``) if not taken yet; else the next session's open (a weekend or holiday has no
    session, so nothing falls on it). With no last snapshot, at once (the minimum ``int64``): a
    collector started outside a session first takes the last session's closing quotes.

    Parameters
    ----------
    source : {"cboe", "deribit"}
    last_ns : int or None
        The last successful snapshot.
    every_ns : int
        The interval.
    opens, closes : numpy.ndarray
        Every session's open and close, UTC ns, ascending (:func:`analytics.calendars._session_bounds`).
    after_close_ns : int
        How long after a close its snapshot is taken.
    """
    if last_ns is None:
        return int(np.iinfo(np.int64).min)
    if source == "deribit":
        return last_ns + every_ns
    i = int(np.searchsorted(opens, last_ns, side="right")) - 1  # the last session opened at or before last
    if i >= 0 and last_ns < closes[i]:  # taken inside session i
        candidate = last_ns + every_ns
        return candidate if candidate < closes[i] else int(closes[i]) + after_close_ns
    if i >= 0 and last_ns < closes[i] + after_close_ns:  # between the close and its snapshot
        return int(closes[i]) + after_close_ns
    return int(opens[i + 1]) if i + 1 < opens.size else int(np.iinfo(np.int64).max)


def backoff_s(failures: int, retry_after_s: float | None = None, *, base_s: float = BACKOFF_BASE_S,
              cap_s: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait after ``failures`` failures in a row: ``base * 2**(failures-1)`` capped at ``cap``,
    and at least the server's ``Retry-After`` (itself capped at :data:`RETRY_AFTER_CAP_S`).

    Examples
    --------
    >>> [backoff_s(n) for n in (1, 2, 3, 10)], backoff_s(1, retry_after_s=120)
    ([15.0, 30.0, 60.0, 900.0], 120.0)
    """
    if failures < 1:
        return 0.0
    wait = min(cap_s, base_s * math.pow(2.0, min(failures - 1, 62)))
    if retry_after_s is not None and retry_after_s > 0:
        wait = max(wait, min(float(retry_after_s), RETRY_AFTER_CAP_S))
    return wait


def session_day(underlying: str, stamp: pd.Timestamp | dt.datetime) -> dt.date:
    """The day a snapshot belongs to: New York's date for a CBOE underlying (a snapshot after the close
    keeps its session's date), UTC's for a Deribit one."""
    t = pd.Timestamp(stamp)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    zone = "UTC" if source_of(underlying) == "deribit" else NYSE_TIME_ZONE
    return t.tz_convert(zone).date()


def to_delete(items: Sequence[tuple[str, pd.Timestamp | dt.datetime]], now: pd.Timestamp | dt.datetime,
              keep_days: float) -> list[int]:
    """The positions in ``items`` (underlying, UTC time of the snapshot) the retention rule removes.

    Every snapshot of the last ``keep_days`` days (``stamp >= now - keep_days``) is kept; before that,
    only the last snapshot of each underlying's session day (:func:`session_day`).

    Examples
    --------
    >>> ts = [pd.Timestamp(f"2025-06-0{d} {h}:00", tz="UTC") for d in (2, 3) for h in (14, 18)]
    >>> to_delete([("BTC", t) for t in ts], pd.Timestamp("2025-06-10", tz="UTC"), keep_days=2)
    [0, 2]
    """
    if not items:
        return []
    now_t = pd.Timestamp(now)
    now_t = now_t.tz_localize("UTC") if now_t.tzinfo is None else now_t
    cutoff = now_t - pd.Timedelta(days=float(keep_days))
    stamps = [pd.Timestamp(t) if pd.Timestamp(t).tzinfo else pd.Timestamp(t).tz_localize("UTC") for _, t in items]
    last_of_day: dict[tuple[str, dt.date], int] = {}
    for k, ((underlying, _), t) in enumerate(zip(items, stamps, strict=True)):
        key = (underlying.upper(), session_day(underlying, t))
        best = last_of_day.get(key)
        if best is None or t >= stamps[best]:
            last_of_day[key] = k
    kept = set(last_of_day.values())
    return [k for k, t in enumerate(stamps) if t < cutoff and k not in kept]


def trades_to_delete(names: Iterable[str], now: pd.Timestamp | dt.datetime, keep_days: float) -> list[str]:
    """The collector's trades files (``collect_deribit_<cur>_trades_<start>_<end>.trades.json``) whose
    window ended more than ``keep_days`` before ``now``: the older days keep their last snapshot, not
    their trades (flow-inferred then says it has none for them).

    Examples
    --------
    >>> names = ["collect_deribit_btc_trades_20250601T080000Z_20250601T081500Z.trades.json",
    ...          "collect_deribit_btc_trades_20250609T080000Z_20250609T081500Z.trades.json",
    ...          "deribit_btc_trades_20250601T080000Z_20250601T081500Z.trades.json"]
    >>> trades_to_delete(names, pd.Timestamp("2025-06-10", tz="UTC"), keep_days=3)
    ['collect_deribit_btc_trades_20250601T080000Z_20250601T081500Z.trades.json']
    """
    from analytics.trades import window_of_name

    now_t = pd.Timestamp(now)
    cutoff = (now_t.tz_localize("UTC") if now_t.tzinfo is None else now_t) - pd.Timedelta(days=float(keep_days))
    out = []
    for name in names:
        window = window_of_name(name) if name.startswith(COLLECT_PREFIX) else None
        if window is not None and window[1] < cutoff:
            out.append(name)
    return out


def collected_name(name: str) -> tuple[str, pd.Timestamp] | None:
    """(underlying, UTC time) of a file the collector wrote (``collect_cboe_spx_20250602T141500Z.json``,
    ``collect_deribit_btc_book_summary_20250602T141500Z.json``), or None for any other name.

    Examples
    --------
    >>> collected_name("collect_cboe_spx_20250602T141500Z.json")
    ('SPX', Timestamp('2025-06-02 14:15:00+0000', tz='UTC'))
    >>> collected_name("cboe_spx_20250602T141500Z.json") is None
    True
    """
    found = _NAME.match(name)
    if not found:
        return None
    underlying = (found.group(1) or found.group(2)).upper()
    try:
        return underlying, pd.Timestamp(dt.datetime.strptime(found.group(3), "%Y%m%dT%H%M%SZ"), tz="UTC")
    except ValueError:
        return None


def collected_files(names: Iterable[str]) -> list[tuple[str, str, pd.Timestamp]]:
    """(name, underlying, time) of every collector-written name among ``names``, others left out."""
    out = []
    for name in names:
        parsed = collected_name(name)
        if parsed is not None:
            out.append((name, *parsed))
    return out
