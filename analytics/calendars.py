"""Exchange calendars and monthly expiry rules: NYSE trading days, US equity-option and Deribit monthlies.

Holidays come from the maintained ``exchange_calendars`` package (calendar ``XNYS``: the NYSE's
full-day closures, rules and one-off closures such as national days of mourning), never from a list
typed here. It costs a few tenths of a second to import and build, so it is loaded on the first
question that needs it (``mmpos analyze`` never asks) and kept for the process
(:func:`nyse_calendar`). The week-of-month rules are pandas' ``WeekOfMonth``/``LastWeekOfMonth``
offsets and need no calendar.

=============================== ==============================================================
rule                            function
=============================== ==============================================================
NYSE trading day                :func:`is_trading_day`, :func:`trading_days_between`,
                                :func:`previous_trading_day`
NYSE session of a snapshot      :func:`quotes_session_close`: None inside a session, else the
                                close of the last session at or before the instant
US monthly equity/index option  :func:`monthly_equity_expiry`: the third Friday, moved to the
                                trading day before when the exchange is closed (Good Friday
                                2025-04-18 -> Thursday 2025-04-17; Juneteenth 2027-06-18 -> 17th)
Deribit monthly                 :func:`deribit_monthly_expiry`: the last Friday (Deribit trades
                                every day; settlement 08:00 UTC)
a chain's monthlies             :func:`monthly_expiries`
an expiry preset's dates        :func:`preset_expiries` (0dte, 7d, 30d, monthly, all)
=============================== ==============================================================

Examples
--------
>>> third_friday(2026, 11), last_friday(2026, 11)
(datetime.date(2026, 11, 20), datetime.date(2026, 11, 27))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.locks import ForkSafeLock

#: The span the NYSE calendar is built for; a date outside it is refused (ValueError).
CALENDAR_FIRST_DAY = dt.date(1990, 1, 1)
CALENDAR_LAST_DAY = dt.date(2075, 12, 31)
NYSE_CALENDAR_CODE = "XNYS"
NYSE_TIME_ZONE = "America/New_York"
REGULAR_OPEN = dt.time(9, 30)  # a weekday instant from REGULAR_OPEN to EARLY_CLOSE (the NYSE's earliest close)
EARLY_CLOSE = dt.time(13, 0)  # is taken as in session without loading the calendar (a holiday there goes unseen)
CALENDAR_CACHE_ENV = "MMPOS_CALENDAR_CACHE"  # "off": build the session bounds from the library every process
_THIRD_FRIDAY = pd.offsets.WeekOfMonth(week=2, weekday=4)
_LAST_FRIDAY = pd.offsets.LastWeekOfMonth(weekday=4)


def nyse_calendar() -> Any:
    """The ``exchange_calendars`` XNYS calendar over ``CALENDAR_FIRST_DAY .. CALENDAR_LAST_DAY``.

    Imported and built on first use (about 0.3 s import + 0.2 s build on an idle machine), then
    kept for the process. Built once even when several threads ask at once (a server's first
    requests): ``warnings.catch_warnings`` swaps the process's one filter list, so two builds
    overlapping in two threads could restore each other's filters and let the library's warning out.
    """
    with _CALENDAR_LOCK:
        return _built_nyse_calendar()


_CALENDAR_LOCK = ForkSafeLock()


@cache
def _built_nyse_calendar() -> Any:
    import exchange_calendars  # heavy: only the demo generator and the dashboard's presets need it

    with warnings.catch_warnings():  # exchange_calendars 4.13 still reads Series.values (pandas 3.1 warns)
        warnings.filterwarnings("ignore", message=r"Series\.values returning an ndarray that drops timezone")
        return exchange_calendars.get_calendar(
            NYSE_CALENDAR_CODE, start=CALENDAR_FIRST_DAY.isoformat(), end=CALENDAR_LAST_DAY.isoformat()
        )


@cache
def _sessions() -> tuple[np.ndarray, frozenset[dt.date]]:
    days = pd.DatetimeIndex(nyse_calendar().sessions).tz_localize(None).normalize()
    return days.to_numpy(dtype="datetime64[D]"), frozenset(days.date)


@cache
def _session_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Every session's open and close, UTC nanoseconds, ascending.

    Kept on disk beside the user's caches (:func:`_bounds_cache_path`), keyed by the installed
    ``exchange_calendars`` files, so a process that only asks "which session do these quotes belong
    to" (``mmpos analyze`` on a weekend file) reads 340 KB instead of importing and building the
    calendar (about 0.5 s). The library stays the only source: the file is its output, rebuilt
    whenever the library changes, and a file that cannot be read or written is simply skipped.
    """
    path = _bounds_cache_path()
    if path is not None:
        try:
            with np.load(path) as got:
                return got["opens"].copy(), got["closes"].copy()
        except (OSError, ValueError, KeyError):
            pass
    cal = nyse_calendar()
    opens = pd.DatetimeIndex(cal.opens).as_unit("ns").asi8.copy()
    closes = pd.DatetimeIndex(cal.closes).as_unit("ns").asi8.copy()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as out:
                np.savez(out, opens=opens, closes=closes)
            os.replace(tmp, path)  # atomic: a reader sees the old file or the whole new one
        except OSError:
            pass
    return opens, closes


def nyse_session_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Every NYSE session's open and close as UTC nanoseconds, ascending (a copy: callers may keep it)."""
    opens, closes = _session_bounds()
    return opens.copy(), closes.copy()


def _bounds_cache_path() -> Path | None:
    """Where the session bounds are kept: ``$XDG_CACHE_HOME/mmpos-calendars`` (``~/.cache`` by default;
    beside, never inside, the shared results cache folder ``mmpos``, whose clearing would trip on it;
    ``MMPOS_CALENDAR_CACHE=off`` turns it off), named by the calendar, its span and the installed
    library's location and modification time (found without importing it)."""
    if os.environ.get(CALENDAR_CACHE_ENV, "").lower() in ("off", "0", "no", "false"):
        return None
    spec = importlib.util.find_spec("exchange_calendars")
    if spec is None or spec.origin is None:
        return None
    try:
        stamp = os.stat(spec.origin).st_mtime_ns
    except OSError:
        return None
    where = hashlib.sha256(f"{spec.origin}|{stamp}".encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmpos-calendars"
    return base / f"{NYSE_CALENDAR_CODE}-{CALENDAR_FIRST_DAY:%Y}-{CALENDAR_LAST_DAY:%Y}-{where}.npz"


def quotes_session_close(instant: pd.Timestamp) -> pd.Timestamp | None:
    """None when ``instant`` lies inside an NYSE session, else the close of the last session at or
    before it (America/New_York): the session whose quotes a snapshot stamped then carries.

    A weekday instant from 09:30 to 13:00 New York time (the earliest close) is taken as in session
    without the calendar (it costs about 0.5 s to load): a full-day holiday there goes unseen.

    Examples
    --------
    >>> quotes_session_close(pd.Timestamp("2024-01-05 11:00", tz="America/New_York")) is None
    True
    >>> str(quotes_session_close(pd.Timestamp("2024-01-07 10:52", tz="America/New_York")))
    '2024-01-05 16:00:00-05:00'
    >>> str(quotes_session_close(pd.Timestamp("2023-11-24 15:00", tz="America/New_York")))  # day after Thanksgiving
    '2023-11-24 13:00:00-05:00'
    """
    t = pd.Timestamp(instant)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    local = t.tz_convert(NYSE_TIME_ZONE)
    if local.weekday() < 5 and REGULAR_OPEN <= local.time() < EARLY_CLOSE:
        return None
    _check_span(local.date())
    opens, closes = _session_bounds()
    ns = t.tz_convert("UTC").as_unit("ns").value
    i = int(np.searchsorted(closes, ns, side="right")) - 1  # the last close at or before the instant
    if i + 1 < opens.size and opens[i + 1] <= ns:
        return None  # inside the next session
    if i < 0:
        raise ValueError(f"no NYSE session closes on or before {local.isoformat()} in the calendar span")
    return pd.Timestamp(closes[i], tz="UTC").tz_convert(NYSE_TIME_ZONE)


def _check_span(day: dt.date) -> None:
    if not CALENDAR_FIRST_DAY <= day <= CALENDAR_LAST_DAY:
        raise ValueError(
            f"{day.isoformat()} is outside the NYSE calendar span "
            f"{CALENDAR_FIRST_DAY.isoformat()} .. {CALENDAR_LAST_DAY.isoformat()}"
        )


def is_trading_day(day: dt.date) -> bool:
    """True on NYSE trading days (sessions of ``exchange_calendars``' XNYS).

    Examples
    --------
    >>> is_trading_day(dt.date(2026, 11, 26)), is_trading_day(dt.date(2026, 11, 27))  # Thanksgiving
    (False, True)
    """
    _check_span(day)
    return day in _sessions()[1]


def trading_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE trading days from ``start`` to ``end``, both included.

    Examples
    --------
    >>> [d.isoformat() for d in trading_days_between(dt.date(2026, 11, 25), dt.date(2026, 11, 30))]
    ['2026-11-25', '2026-11-27', '2026-11-30']
    """
    _check_span(start)
    _check_span(end)
    sessions = _sessions()[0]
    lo = int(np.searchsorted(sessions, np.datetime64(start, "D"), side="left"))
    hi = int(np.searchsorted(sessions, np.datetime64(end, "D"), side="right"))
    return [d.item() for d in sessions[lo:hi]]


def nyse_holidays(start: dt.date, end: dt.date) -> list[dt.date]:
    """Weekdays from ``start`` to ``end`` (both included) on which the NYSE is closed all day.

    Examples
    --------
    >>> [d.isoformat() for d in nyse_holidays(dt.date(2027, 12, 20), dt.date(2028, 1, 20))]
    ['2027-12-24', '2028-01-17']
    """
    trading = set(trading_days_between(start, end))
    days = pd.bdate_range(start, end).date
    return [d for d in days if d not in trading]


def previous_trading_day(day: dt.date) -> dt.date:
    """``day`` itself when the NYSE trades that day, else the last trading day before it.

    Examples
    --------
    >>> previous_trading_day(dt.date(2027, 6, 18))  # Juneteenth observed
    datetime.date(2027, 6, 17)
    """
    _check_span(day)
    sessions = _sessions()[0]
    i = int(np.searchsorted(sessions, np.datetime64(day, "D"), side="right")) - 1
    if i < 0:
        raise ValueError(f"no NYSE trading day on or before {day.isoformat()} in the calendar span")
    return sessions[i].item()


def third_friday(year: int, month: int) -> dt.date:
    """The third Friday of a month (the standard US monthly expiry before holiday adjustment).

    Examples
    --------
    >>> third_friday(2024, 3)
    datetime.date(2024, 3, 15)
    """
    return (pd.Timestamp(year, month, 1) - pd.Timedelta(days=1) + _THIRD_FRIDAY).date()


def last_friday(year: int, month: int) -> dt.date:
    """The last Friday of a month.

    Examples
    --------
    >>> last_friday(2027, 4)
    datetime.date(2027, 4, 30)
    """
    return (pd.Timestamp(year, month, 1) - pd.Timedelta(days=1) + _LAST_FRIDAY).date()


def monthly_equity_expiry(year: int, month: int) -> dt.date:
    """The US monthly equity/index option expiry: the third Friday, or the trading day before it
    when the NYSE is closed that Friday.

    Examples
    --------
    >>> monthly_equity_expiry(2025, 4), monthly_equity_expiry(2026, 11)
    (datetime.date(2025, 4, 17), datetime.date(2026, 11, 20))
    """
    return previous_trading_day(third_friday(year, month))


def deribit_monthly_expiry(year: int, month: int) -> dt.date:
    """Deribit's monthly expiry: the last Friday of the month (no holiday moves it).

    Examples
    --------
    >>> deribit_monthly_expiry(2026, 12)
    datetime.date(2026, 12, 25)
    """
    return last_friday(year, month)


def month_end_trading_day(year: int, month: int) -> dt.date:
    """The last NYSE trading day of a month (SPXW end-of-month expiry).

    Examples
    --------
    >>> month_end_trading_day(2026, 1)
    datetime.date(2026, 1, 30)
    """
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return previous_trading_day(first_next - dt.timedelta(days=1))


# --------------------------------------------------------------------------- expiry presets

#: The expiry presets :func:`preset_expiries` knows (``custom`` and ``all``: every expiry given).
EXPIRY_PRESETS: tuple[str, ...] = ("0dte", "7d", "30d", "monthly", "all", "custom")


def monthly_expiries(
    expiries: Iterable[dt.date], *, am_settled: Iterable[dt.date] = (), deribit: bool = False
) -> list[dt.date]:
    """Expiries that are monthlies (the rules live in :mod:`analytics.calendars`).

    US listings: the monthly equity-option expiry (the third Friday, or the NYSE trading day before
    it when the exchange is closed that Friday), or any date carrying an AM-settled root (the SPX
    monthly keeps its AM root when it moves). Deribit: the last Friday of the month. The NYSE
    calendar is consulted only for a date in the three days before an unlisted third Friday, so
    most chains never load it.

    Examples
    --------
    >>> d = [dt.date(2024, 1, 12), dt.date(2024, 1, 19), dt.date(2024, 3, 28)]
    >>> monthly_expiries(d, am_settled=[dt.date(2024, 3, 28)])
    [datetime.date(2024, 1, 19), datetime.date(2024, 3, 28)]
    >>> monthly_expiries([dt.date(2026, 3, 20), dt.date(2026, 3, 27)], deribit=True)
    [datetime.date(2026, 3, 27)]
    >>> monthly_expiries([dt.date(2025, 4, 11), dt.date(2025, 4, 17)])  # Good Friday moves it
    [datetime.date(2025, 4, 17)]
    """
    am = set(am_settled)
    listed = sorted(set(expiries))
    out = []
    for d in listed:
        if deribit:
            if d == deribit_monthly_expiry(d.year, d.month):
                out.append(d)
            continue
        third = third_friday(d.year, d.month)
        moved = (
            d < third <= d + dt.timedelta(days=3)
            and third not in listed
            and d == monthly_equity_expiry(d.year, d.month)
        )
        if d == third or d in am or moved:
            out.append(d)
    return out


def preset_expiries(
    preset: str,
    expiries: Iterable[dt.date],
    as_of: dt.date,
    *,
    monthlies: Iterable[dt.date] = (),
) -> list[dt.date]:
    """The live expiries a preset selects, relative to the snapshot date ``as_of`` (not the clock).

    ``0dte`` is the expiries on the snapshot date, or the first live expiry date when none settles
    that day (a weekend snapshot); ``7d``/``30d`` are expiries within that many calendar days;
    ``monthly`` the dates in ``monthlies``; ``all`` and ``custom`` everything. A preset that would
    select nothing falls back to the first live expiry, so the views are never empty.

    Examples
    --------
    >>> e = [dt.date(2024, 1, 8), dt.date(2024, 1, 12), dt.date(2024, 1, 19), dt.date(2024, 2, 16)]
    >>> [d.day for d in preset_expiries("7d", e, dt.date(2024, 1, 7))]
    [8, 12]
    >>> [d.day for d in preset_expiries("0dte", e, dt.date(2024, 1, 7))]
    [8]
    """
    live = sorted(set(expiries))
    if not live:
        return []
    if preset == "0dte":
        upcoming = [d for d in live if d >= as_of] or live
        chosen = [d for d in upcoming if d == upcoming[0]]
    elif preset == "7d":
        chosen = [d for d in live if (d - as_of).days <= 7]
    elif preset == "30d":
        chosen = [d for d in live if (d - as_of).days <= 30]
    elif preset == "monthly":
        wanted = set(monthlies)
        chosen = [d for d in live if d in wanted]
    else:
        chosen = live
    return chosen or [live[0]]
