"""The intraday demo (analytics/demo_intraday.py, committed in data/intraday/): one SPX session at
5-minute steps during which spot crosses zero gamma, one BTC UTC day at 15-minute steps, consistent
with the daily files around them. That the committed files are the generator's is checked with the
rest of data/ (tests/unit/test_demo_data.py, slow)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.demo_intraday import (
    INTRADAY_DIR,
    NEAR_EXPIRY_DAYS,
    btc_day_times,
    intraday_file_name,
    spx_session_times,
)
from analytics.report import analyze
from analytics.sources import load_chain


def _columns(folder, underlying, times, columns=("as_of", "spot", "expiry", "forward")) -> list[pd.DataFrame]:
    """The few columns the checks read of each file (loading 173 chains costs ~7 s of a core)."""
    out = []
    for t in times:
        frame = pd.read_parquet(folder / intraday_file_name(underlying, t), columns=[c for c in columns
                                                                                     if underlying == "BTC" or c != "forward"])
        frame.attrs["name"] = intraday_file_name(underlying, t)
        out.append(frame)
    return out


@pytest.fixture(scope="module")
def spx_session(demo_data_dir):
    return _columns(demo_data_dir, "SPX", spx_session_times())


@pytest.fixture(scope="module")
def btc_day(demo_data_dir):
    return _columns(demo_data_dir, "BTC", btc_day_times())


def _chain(folder, underlying, hm):
    day = "2026-11-20" if underlying == "SPX" else "2026-11-19"
    return load_chain(folder / INTRADAY_DIR / f"{underlying.lower()}_intraday_{day}_{hm}_near{NEAR_EXPIRY_DAYS}d.parquet")


def test_the_spx_session_is_78_snapshots_every_5_minutes_from_0935_to_1600_new_york(demo_data_dir, spx_session):
    stamps = [pd.Timestamp(f["as_of"].iloc[0]) for f in spx_session]
    assert len(stamps) == 78 and all(len(set(f["as_of"])) == 1 for f in spx_session)
    assert stamps[0] == pd.Timestamp("2026-11-20 09:35", tz="America/New_York")
    assert stamps[-1] == pd.Timestamp("2026-11-20 16:00", tz="America/New_York")
    assert set(np.diff([s.value for s in stamps])) == {5 * 60 * 10**9}
    assert len(list((demo_data_dir / INTRADAY_DIR).glob("spx_*.parquet"))) == 78
    chain = _chain(demo_data_dir, "SPX", "1200")  # and the loader reads them as such
    assert (chain.underlying, chain.as_of, chain.model) == ("SPX", pd.Timestamp("2026-11-20 12:00", tz="America/New_York"), "bsm")


def test_the_btc_day_is_every_15_minutes_of_the_utc_day_with_the_daily_file_as_its_1400_step(demo_data_dir, btc_day):
    stamps = [pd.Timestamp(f["as_of"].iloc[0]) for f in btc_day]
    stamps.append(load_chain(demo_data_dir / "btc_book_summary_2026-11-19.json").as_of)
    assert sorted(stamps) == list(pd.date_range("2026-11-19 00:00", "2026-11-19 23:45", freq="15min", tz="UTC"))
    assert len(list((demo_data_dir / INTRADAY_DIR).glob("btc_*.parquet"))) == 95
    assert all(f["forward"].notna().all() for f in btc_day)  # priced with Black-76 on each expiry's forward
    assert _chain(demo_data_dir, "BTC", "0915").model == "black76"


def test_spot_crosses_zero_gamma_during_the_spx_session(demo_data_dir):
    """By the engine's own zero-gamma level (the lowest crossing of the gamma profile), at the open, every
    10 minutes from 11:00 to 12:30 (the generator's morning rally peaks near 11:30) and at the close: spot
    starts the session below it (dealers short gamma), trades above it around midday, and closes below it
    again. (Every 10 minutes of the session, 40 analyses, shows the same; these 11 are enough to prove it.)"""
    times = spx_session_times()
    side = []
    for t in [times[0], *[t for t in times[::2] if dt.time(11) <= t.time() <= dt.time(12, 30)], times[-1]]:
        chain = _chain(demo_data_dir, "SPX", t.strftime("%H%M"))
        # the level analyze() gives under its default scenario; no headline band (the other treatments' levels,
        # computed after it) nor hedge curves, which this test does not read: a third of the time
        zero_gamma = analyze(chain, band=False, shocks_pct=(0.0,)).zero_gamma_levels
        side.append(np.sign(chain.spot - min(zero_gamma)))
    side = np.array(side)
    assert side[0] == -1 and side[-1] == -1
    assert (side == 1).sum() >= 2
    crossings = np.flatnonzero(np.diff(side) != 0)
    assert len(crossings) >= 2  # up through it, and back down


def test_the_spx_session_runs_from_the_previous_close_to_the_close_with_the_daily_open_interest(demo_data_dir, spx_session):
    daily = load_chain(demo_data_dir / "spx_quotedata_2026-11-20.csv")
    prev = load_chain(demo_data_dir / "spx_quotedata_2026-11-19.csv")
    spots = np.array([f["spot"].iloc[0] for f in spx_session])
    assert spots[-1] == pytest.approx(daily.spot, abs=1e-4)  # the 16:00 close is the after-close file's spot
    assert abs(spots[0] / prev.spot - 1) < 0.005  # the first 5 minutes from the previous close
    assert np.abs(np.diff(np.log(spots))).max() < 0.006  # no jump between steps
    key = ["expiry", "root", "strike", "side"]
    first, before_close, close = (_chain(demo_data_dir, "SPX", hm) for hm in ("0935", "1555", "1600"))
    for chain in (first, close):
        both = chain.rows.merge(daily.rows, on=key, suffixes=("", "_daily"))
        # CBOE open interest is settled overnight: the same all session as in the day's file
        assert (both["open_interest"] == both["open_interest_daily"]).all()
        assert len(both) == (chain.rows["expiry"] > pd.Timestamp("2026-11-20")).sum()
    # the 0DTE expiry (SPXW 20 Nov, settled in the 16:15 file) is live until 16:00
    assert pd.Timestamp("2026-11-20") in set(before_close.rows["expiry"])
    assert pd.Timestamp("2026-11-20") not in set(close.rows["expiry"])


def test_intraday_files_list_only_the_nearer_expiries_and_their_names_say_so(spx_session, btc_day):
    for frame in spx_session + btc_day:
        as_of = pd.Timestamp(frame["as_of"].iloc[0])
        assert (pd.to_datetime(frame["expiry"]).max() - pd.Timestamp(as_of.date())).days <= NEAR_EXPIRY_DAYS
        assert f"_near{NEAR_EXPIRY_DAYS}d" in frame.attrs["name"]


def test_btc_open_interest_drifts_smoothly_through_the_daily_file(demo_data_dir):
    daily = load_chain(demo_data_dir / "btc_book_summary_2026-11-19.json")
    key = ["expiry", "strike", "side"]
    for hm in ("1345", "1415"):
        chain = _chain(demo_data_dir, "BTC", hm)
        both = chain.rows.merge(daily.rows, on=key, suffixes=("", "_daily"))
        assert len(both) == len(chain.rows)
        moved = (both["open_interest"] - both["open_interest_daily"]).abs()
        assert moved.max() > 0  # Deribit OI changes through the day ...
        assert moved.sum() < 0.02 * both["open_interest_daily"].sum()  # ... by a little in 15 minutes
        assert abs(chain.spot / daily.spot - 1) < 0.01
    # the 08:00 expiry of the 19th (listed the day before) is there until it settles
    assert pd.Timestamp("2026-11-19") in set(_chain(demo_data_dir, "BTC", "0000").rows["expiry"])
    assert pd.Timestamp("2026-11-19") not in set(_chain(demo_data_dir, "BTC", "0800").rows["expiry"])


def test_an_intraday_frame_is_deterministic_and_priced_at_its_own_moment():
    from analytics import demo
    from analytics.demo_intraday import SPX_SESSION, spx_intraday_frame

    listing = demo.spx_listing(SPX_SESSION, demo.DEFAULT_SEED, 6750.0)
    at = spx_session_times()[0]
    a = spx_intraday_frame(listing, at, 6770.0)
    assert a.equals(spx_intraday_frame(listing, at, 6770.0))
    later = spx_intraday_frame(listing, at + dt.timedelta(hours=6), 6770.0)
    same = a.merge(later, on=["expiry", "root", "strike", "side"], suffixes=("", "_later"))
    zero_dte = same[same["expiry"] == "2026-11-20"]
    # six hours of time value gone from the same-day options at the same spot
    assert (zero_dte["ask_later"] <= zero_dte["ask"]).all() and (zero_dte["ask_later"] < zero_dte["ask"]).any()
