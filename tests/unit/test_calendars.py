"""Exchange calendars and monthly expiry rules (analytics.calendars), checked against known dates."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.calendars import (
    deribit_monthly_expiry,
    is_trading_day,
    last_friday,
    month_end_trading_day,
    monthly_equity_expiry,
    nyse_holidays,
    previous_trading_day,
    third_friday,
    trading_days_between,
)
from dashboard.web.state import monthly_expiries

D = dt.date
ROOT = Path(__file__).resolve().parents[2]

# NYSE full-day closures 2026-2029 as published by the exchange (the list the demo generator typed by hand)
NYSE_CLOSURES_2026_2029 = {
    D(2026, 1, 1), D(2026, 1, 19), D(2026, 2, 16), D(2026, 4, 3), D(2026, 5, 25), D(2026, 6, 19), D(2026, 7, 3),
    D(2026, 9, 7), D(2026, 11, 26), D(2026, 12, 25),
    D(2027, 1, 1), D(2027, 1, 18), D(2027, 2, 15), D(2027, 3, 26), D(2027, 5, 31), D(2027, 6, 18), D(2027, 7, 5),
    D(2027, 9, 6), D(2027, 11, 25), D(2027, 12, 24),
    D(2028, 1, 17), D(2028, 2, 21), D(2028, 4, 14), D(2028, 5, 29), D(2028, 6, 19), D(2028, 7, 4), D(2028, 9, 4),
    D(2028, 11, 23), D(2028, 12, 25),
    D(2029, 1, 1), D(2029, 1, 15), D(2029, 2, 19), D(2029, 3, 30), D(2029, 5, 28), D(2029, 6, 19), D(2029, 7, 4),
    D(2029, 9, 3), D(2029, 11, 22), D(2029, 12, 25),
}


def test_third_and_last_fridays():
    assert third_friday(2026, 11) == D(2026, 11, 20)
    assert third_friday(2024, 3) == D(2024, 3, 15)
    assert last_friday(2026, 11) == D(2026, 11, 27)
    assert last_friday(2027, 4) == D(2027, 4, 30)


def test_third_friday_is_a_friday_between_the_15th_and_21st_and_the_last_friday_is_in_the_last_week():
    for year in range(2020, 2032):
        for month in range(1, 13):
            third, last = third_friday(year, month), last_friday(year, month)
            assert third.weekday() == 4 and 15 <= third.day <= 21
            assert last.weekday() == 4 and last.month == month and (last + dt.timedelta(days=7)).month != month


def test_nyse_holidays_2026_to_2029_are_the_published_closures():
    assert set(nyse_holidays(D(2026, 1, 1), D(2029, 12, 31))) == NYSE_CLOSURES_2026_2029


def test_holidays_beyond_2029_are_known_without_a_typed_list():
    assert not is_trading_day(D(2035, 12, 25))  # Christmas, a Tuesday
    assert not is_trading_day(D(2040, 3, 30))  # Good Friday 2040
    assert is_trading_day(D(2040, 3, 29))


def test_one_off_closures_come_from_the_maintained_calendar():
    assert not is_trading_day(D(2025, 1, 9))  # national day of mourning, President Carter
    assert not is_trading_day(D(2012, 10, 30))  # Hurricane Sandy


def test_a_holiday_friday_moves_the_us_monthly_to_the_trading_day_before():
    assert monthly_equity_expiry(2025, 4) == D(2025, 4, 17)  # Good Friday 2025-04-18
    assert monthly_equity_expiry(2027, 6) == D(2027, 6, 17)  # Juneteenth observed on Friday 2027-06-18
    assert monthly_equity_expiry(2026, 11) == D(2026, 11, 20)
    assert previous_trading_day(D(2026, 11, 28)) == D(2026, 11, 27)


def test_deribit_monthlies_stay_on_the_last_friday_even_on_an_nyse_holiday():
    assert deribit_monthly_expiry(2026, 12) == D(2026, 12, 25)


def test_month_end_and_trading_days_skip_weekends_and_holidays():
    assert month_end_trading_day(2026, 5) == D(2026, 5, 29)
    assert trading_days_between(D(2026, 11, 25), D(2026, 11, 30)) == [D(2026, 11, 25), D(2026, 11, 27), D(2026, 11, 30)]
    assert trading_days_between(D(2026, 11, 28), D(2026, 11, 29)) == []


def test_a_date_outside_the_calendar_span_is_refused_with_the_span():
    with pytest.raises(ValueError, match=r"outside the NYSE calendar span 1990-01-01 \.\. 2075-12-31"):
        is_trading_day(D(2080, 1, 2))


def test_dashboard_monthlies_follow_a_good_friday_move_for_a_chain_without_am_roots():
    expiries = [D(2025, 4, 11), D(2025, 4, 17), D(2025, 4, 25), D(2025, 5, 16)]
    assert monthly_expiries(expiries) == [D(2025, 4, 17), D(2025, 5, 16)]


def test_importing_the_calendars_module_does_not_load_exchange_calendars():
    code = "import analytics.calendars, sys; print('exchange_calendars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_monthly_presets_of_an_ordinary_chain_do_not_load_exchange_calendars():
    code = ("import datetime as dt, sys; from dashboard.web.state import monthly_expiries; "
            "monthly_expiries([dt.date(2026, 11, 19), dt.date(2026, 11, 20), dt.date(2026, 12, 18)]); "
            "print('exchange_calendars' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_session_bounds_on_disk_equal_the_library_and_spare_the_import(tmp_path, monkeypatch):
    """The session bounds kept on disk are exchange_calendars' own, and a process that finds them there
    answers quotes_session_close without importing the library (the 0.5 s of a weekend `mmpos analyze`)."""
    import os

    from analytics import calendars

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(calendars.CALENDAR_CACHE_ENV, raising=False)
    calendars._session_bounds.cache_clear()
    try:
        built = calendars._session_bounds()  # builds from the library and writes the file
        path = calendars._bounds_cache_path()
        assert path is not None and path.is_file() and str(path).startswith(str(tmp_path))
        cal = calendars.nyse_calendar()
        assert (built[0] == pd.DatetimeIndex(cal.opens).as_unit("ns").asi8).all()
        assert (built[1] == pd.DatetimeIndex(cal.closes).as_unit("ns").asi8).all()
        calendars._session_bounds.cache_clear()
        again = calendars._session_bounds()  # read back from the file
        assert (again[0] == built[0]).all() and (again[1] == built[1]).all()
    finally:
        calendars._session_bounds.cache_clear()
    probe = ("import sys, pandas as pd; from analytics.calendars import quotes_session_close as q; "
             "print(q(pd.Timestamp('2024-01-07 10:52', tz='America/New_York'))); "
             "print('exchange_calendars' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                         cwd=ROOT).stdout.split("\n")
    assert out[:2] == ["2024-01-05 16:00:00-05:00", "False"]


def test_a_corrupt_session_file_is_rebuilt_from_the_library(tmp_path, monkeypatch):
    from analytics import calendars

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(calendars.CALENDAR_CACHE_ENV, raising=False)
    path = calendars._bounds_cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz")
    calendars._session_bounds.cache_clear()
    try:
        assert str(calendars.quotes_session_close(pd.Timestamp("2024-01-07 10:52", tz="America/New_York"))) == \
            "2024-01-05 16:00:00-05:00"
        with np.load(path) as got:
            assert got["closes"].size > 20_000
    finally:
        calendars._session_bounds.cache_clear()


def test_threads_asking_for_the_calendar_at_once_build_it_once_without_a_warning(monkeypatch):
    """A server's first requests ask for the calendar from several threads. Each build silences the
    library's pandas deprecation warning with ``warnings.catch_warnings``, which swaps the process's one
    filter list: two overlapping builds restored each other's filters and the warning reached the log
    (seen in the browser tests). The calendar is now built once, under a lock."""
    import threading
    import time
    import warnings

    import exchange_calendars

    from analytics import calendars

    real = exchange_calendars.get_calendar
    builds = []

    def slow_build(*args, **kwargs):  # every thread is inside a build at once, unless they are serialised
        builds.append(threading.get_ident())
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(exchange_calendars, "get_calendar", slow_build)
    calendars._built_nyse_calendar.cache_clear()
    start = threading.Barrier(4)
    got, errors = [], []

    def ask():
        start.wait()
        try:
            got.append(calendars.nyse_calendar())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning that gets out fails the asking thread
            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        calendars._built_nyse_calendar.cache_clear()
    assert errors == [] and len(builds) == 1 and len(got) == 4 and all(c is got[0] for c in got)
