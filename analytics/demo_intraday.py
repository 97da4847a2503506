"""Synthetic intraday demo data: one SPX-like session at 5-minute steps and one BTC-like UTC day at
15-minute steps, written beside the daily demo files (:mod:`analytics.demo`) in ``data/intraday/``.

Everything is deterministic (a fixed seed, no clock) and consistent with the daily files around it:

* **SPX, the session of Friday 2026-11-20**, 09:35 .. 16:00 New York (78 snapshots). The daily file of
  that day (16:15) is the after-close snapshot of the same session. Open interest is the settled figure
  CBOE publishes before the open, so every intraday snapshot carries the daily file's open interest on
  the daily file's listing, plus the same-day SPXW expiry (live until 16:00, settled in the 16:15 file).
  Spot runs from the previous close (the 19 November file's spot) to the day's close (the 16:15 file's
  spot): a Brownian bridge plus a morning rally through the zero-gamma level and a sell-off into the
  close. IVs come from the daily model's surface at each moment's spot and time to settlement.
* **BTC, the UTC day 2026-11-19**, 00:00 .. 23:45 (96 steps; 14:00 is the daily
  ``btc_book_summary_2026-11-19.json`` itself, so 95 files). Spot runs through the daily files' spots
  (18 November 14:00, 19 November 14:00, 20 November 14:00). Deribit open interest moves through the
  day: it drifts linearly from the model's figure of one daily file to the next on the 19 November
  listing (the 08:00 expiry of the 19th, listed the day before, is there until it settles).

To keep ``data/`` small, the intraday files list only the nearer expiries: those settling within
:data:`NEAR_EXPIRY_DAYS` calendar days of the session (SPX 11-20 .. 12-24, BTC 11-19 .. 12-18); the file
names say so (``_near35d``). They are compact canonical Parquet tables (:func:`analytics.demo.write_frame_parquet`).

Examples
--------
>>> [t.strftime("%H:%M") for t in spx_session_times()[[0, 1, -1]]], len(spx_session_times())
(['09:35', '09:40', '16:00'], 78)
>>> len(btc_day_times()), btc_day_times()[0].strftime("%Y-%m-%d %H:%M %Z")
(95, '2026-11-19 00:00 UTC')
>>> intraday_file_name("SPX", pd.Timestamp("2026-11-20 09:35", tz="America/New_York"))
'intraday/spx_intraday_2026-11-20_0935_near35d.parquet'
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from analytics import demo
from analytics.chain import NEW_YORK, SECONDS_PER_YEAR
from analytics.pricing import greeks, side_sign

INTRADAY_DIR = "intraday"  # under the data folder (the catalog walks it too)
SPX_SESSION = demo.DEMO_DAYS[-1]  # Friday 2026-11-20: its 16:15 daily file is the after-close snapshot
SPX_STEP_MINUTES = 5
SPX_FIRST = dt.time(9, 35)
SPX_LAST = dt.time(16, 0)
BTC_DAY = demo.DEMO_DAYS[-2]  # the UTC day 2026-11-19 (its 14:00 daily file is one of the steps)
BTC_STEP_MINUTES = 15
NEAR_EXPIRY_DAYS = 35  # intraday files list the expiries settling within this many calendar days
SPX_RALLY = 0.0175  # the morning rally's peak above the bridge (log), through the zero-gamma level
SPX_INTRADAY_VOL = 0.0011  # per 5-minute step (log), about 1%/day
BTC_INTRADAY_VOL = 0.0025  # per 15-minute step (log), about 2.5%/day


def spx_session_times() -> pd.DatetimeIndex:
    """The SPX intraday snapshots' times: every 5 minutes, 09:35 .. 16:00 New York on :data:`SPX_SESSION`."""
    start = pd.Timestamp(dt.datetime.combine(SPX_SESSION, SPX_FIRST)).tz_localize(NEW_YORK)
    end = pd.Timestamp(dt.datetime.combine(SPX_SESSION, SPX_LAST)).tz_localize(NEW_YORK)
    return pd.date_range(start, end, freq=f"{SPX_STEP_MINUTES}min")


def btc_day_times() -> pd.DatetimeIndex:
    """The BTC intraday snapshots' times: every 15 minutes of the UTC day :data:`BTC_DAY`, without 14:00
    (the daily file)."""
    start = pd.Timestamp(dt.datetime.combine(BTC_DAY, dt.time(0, 0))).tz_localize("UTC")
    times = pd.date_range(start, periods=24 * 60 // BTC_STEP_MINUTES, freq=f"{BTC_STEP_MINUTES}min")
    return times[times != pd.Timestamp(dt.datetime.combine(BTC_DAY, demo.BTC_SNAPSHOT_TIME)).tz_localize("UTC")]


def intraday_file_name(underlying: str, at: pd.Timestamp) -> str:
    """The file of one intraday snapshot, relative to the data folder (local time of the venue: New York
    for SPX, UTC for BTC), naming the expiry restriction."""
    local = at.tz_convert(NEW_YORK if underlying == "SPX" else "UTC")
    return f"{INTRADAY_DIR}/{underlying.lower()}_intraday_{local:%Y-%m-%d_%H%M}_near{NEAR_EXPIRY_DAYS}d.parquet"


def _bridge(rng: np.random.Generator, n: int, step_vol: float) -> np.ndarray:
    """A Brownian bridge in log space over ``n`` steps: 0 at both ends (``n + 1`` points)."""
    w = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, step_vol, n))])
    return w - np.linspace(0.0, 1.0, n + 1) * w[-1]


def spx_session_path(prev_close: float, close: float, rng: np.random.Generator) -> np.ndarray:
    """SPX spot at each of :func:`spx_session_times`: from ``prev_close`` (before the open) to ``close``
    (the 16:00 snapshot), a bridge plus a morning rally (peaking near 11:30) that fades by the close."""
    times = spx_session_times()
    n = len(times)
    frac = np.arange(1, n + 1) / n  # 09:35 is one step after the previous close
    bump = SPX_RALLY * np.sin(np.pi * np.clip(frac / 0.75, 0.0, 1.0)) ** 2  # 0 at the open, gone by 14:50
    log_path = np.log(prev_close) + frac * np.log(close / prev_close) + _bridge(rng, n, SPX_INTRADAY_VOL)[1:] + bump
    log_path[-1] = np.log(close)
    return np.round(np.exp(log_path), 4)


def spx_intraday_frame(listing: pd.DataFrame, at: pd.Timestamp, spot: float) -> pd.DataFrame:
    """The canonical table of one SPX intraday snapshot: the day's listing and settled open interest
    (:func:`analytics.demo.spx_listing`), its live nearer expiries priced at ``spot`` and ``at``."""
    settle = pd.DatetimeIndex(listing["settle"])
    near = (settle > at) & (listing["expiry"] <= pd.Timestamp(SPX_SESSION + dt.timedelta(days=NEAR_EXPIRY_DAYS)))
    q = listing.loc[np.asarray(near)].reset_index(drop=True)
    years = (pd.DatetimeIndex(q["settle"]) - at).total_seconds().to_numpy() / SECONDS_PER_YEAR
    strike = q["strike"].to_numpy()
    shift = float(np.clip(-1.2 * np.log(spot / demo.SPX_START), -0.03, 0.05))  # as the daily model
    iv = demo._spx_surface(years, np.log(strike / spot), shift)
    sides = []
    for side in ("C", "P"):
        w = side_sign(np.full(len(q), side))
        bid, ask, _, _ = demo.spx_bid_ask(greeks(spot, strike, years, iv, w).price)
        sides.append(pd.DataFrame({
            "expiry": q["expiry"].dt.strftime("%Y-%m-%d"), "strike": strike, "side": side,
            "open_interest": q[f"oi_{side}"].to_numpy(), "root": q["root"],
            "settlement": pd.DatetimeIndex(q["settle"]).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "iv": np.round(iv, 4), "bid": np.round(bid, 2), "ask": np.round(ask, 2),
        }))
    return _canonical(pd.concat(sides, ignore_index=True), "SPX", at, spot, demo.SPX_MULTIPLIER)


def _canonical(rows: pd.DataFrame, underlying: str, at: pd.Timestamp, spot: float, multiplier: float) -> pd.DataFrame:
    rows = rows.sort_values(["expiry", "strike", "root", "side"], kind="stable").reset_index(drop=True)
    out = pd.DataFrame({"underlying": underlying, "as_of": at.isoformat(), "spot": spot}, index=rows.index)
    out = pd.concat([out, rows], axis=1)
    for col in ("bid", "ask", "mark", "forward"):
        if col not in out:
            out[col] = np.nan
    out["multiplier"] = multiplier
    return out


def btc_day_path(anchors: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    """BTC spot every 15 minutes from 18 November 14:00 to 20 November 14:00 UTC (193 points) through
    the three daily files' spots ``anchors`` (18th, 19th, 20th at 14:00): two Brownian bridges."""
    steps = 24 * 60 // BTC_STEP_MINUTES
    parts = []
    for a, b in zip(anchors[:-1], anchors[1:], strict=True):
        frac = np.linspace(0.0, 1.0, steps + 1)
        parts.append(np.log(a) + frac * np.log(b / a) + _bridge(rng, steps, BTC_INTRADAY_VOL))
    log_path = np.concatenate([parts[0], parts[1][1:]])
    return np.round(np.exp(log_path), 2)


def btc_intraday_listing(seed: int, centers: tuple[float, float, float]) -> pd.DataFrame:
    """The contracts of the BTC intraday day: the 19 November listing and, until it settles at 08:00,
    the 19 November expiry listed the day before; with the model's open interest of each of the three
    daily files around the day (columns ``oi_<side>_<k>``, k = 0, 1, 2 for the 18th, 19th, 20th).
    On the 19th's listing, ``oi_<side>_1`` is the daily file's open interest."""
    before = demo.btc_listing(BTC_DAY - dt.timedelta(days=1), centers[0])
    q = pd.concat([before[before["expiry"] == pd.Timestamp(BTC_DAY)], demo.btc_listing(BTC_DAY, centers[1])],
                  ignore_index=True)
    for k, (day, center) in enumerate(zip((BTC_DAY - dt.timedelta(days=1), BTC_DAY, BTC_DAY + dt.timedelta(days=1)),
                                          centers, strict=True)):
        oi = demo.btc_open_interest(q, day, seed, center)
        for side in ("C", "P"):
            q[f"oi_{side}_{k}"] = oi[side]
    return q


def btc_intraday_frame(listing: pd.DataFrame, at: pd.Timestamp, spot: float) -> pd.DataFrame:
    """The canonical table of one BTC intraday snapshot: the live nearer expiries of
    :func:`btc_intraday_listing`, open interest drifting linearly from one daily file's model figure to
    the next, priced with Black-76 at ``spot`` (forwards in contango) and ``at``."""
    settle = pd.DatetimeIndex(listing["settle"])
    near = (settle > at) & (listing["expiry"] <= pd.Timestamp(BTC_DAY + dt.timedelta(days=NEAR_EXPIRY_DAYS)))
    q = listing.loc[np.asarray(near)].reset_index(drop=True)
    noon = pd.Timestamp(dt.datetime.combine(BTC_DAY, demo.BTC_SNAPSHOT_TIME)).tz_localize("UTC")
    w = (at - noon).total_seconds() / 86400.0  # -14/24 .. +10/24 of the way to the neighbouring daily file
    lo, hi, frac = (0, 1, 1.0 + w) if w < 0 else (1, 2, w)
    years = (pd.DatetimeIndex(q["settle"]) - at).total_seconds().to_numpy() / SECONDS_PER_YEAR
    strike = q["strike"].to_numpy()
    friday = (q["expiry"].dt.day_of_week == 4).to_numpy()
    forward = spot * np.exp(demo.BTC_BASIS_PER_YEAR * years)
    forward = np.where(friday, np.round(forward * 2.0) / 2.0, forward)  # futures print on 0.5, as the daily files
    shift = float(np.clip(-0.6 * np.log(spot / demo.BTC_START), -0.05, 0.08))  # as the daily model
    iv = np.round(demo._btc_surface(years, np.log(strike / forward), shift), 4)
    sides = []
    for side in ("C", "P"):
        oi = np.round((1.0 - frac) * q[f"oi_{side}_{lo}"].to_numpy() + frac * q[f"oi_{side}_{hi}"].to_numpy(), 1)
        usd = greeks(forward, strike, years, iv, side_sign(np.full(len(q), side))).price
        mark = np.round(np.maximum(usd / forward, 0.0), 8)
        bid, ask, _ = demo.btc_marks(mark)
        sides.append(pd.DataFrame({
            "expiry": q["expiry"].dt.strftime("%Y-%m-%d"), "strike": strike, "side": side, "open_interest": oi,
            "root": "BTC",
            "settlement": pd.DatetimeIndex(q["settle"]).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
            "iv": iv, "bid": np.where(bid >= 0.0001, bid * forward, np.nan), "ask": ask * forward,
            "mark": mark * forward, "forward": forward,
        }))
    return _canonical(pd.concat(sides, ignore_index=True), "BTC", at, spot, 1.0)


def write_intraday_data(out_dir: Path, seed: int = demo.DEFAULT_SEED) -> list[Path]:
    """Write the intraday demo files into ``out_dir/intraday`` (SPX session first, then the BTC day, in
    time order), deterministically; return their paths.

    The spots and open-interest centres around them are the demo month's (:func:`analytics.demo.demo_paths`
    with the same ``seed``): ``mmpos demo-data`` writes the month (:func:`analytics.demo.write_demo_data`)
    and then these.
    """
    paths = demo.demo_paths(seed)
    spx_spots = (float(paths.spx[-2]), float(paths.spx[-1]))  # the previous close and the close of the 20th
    spx_center = float(paths.spx_center[-1])
    btc_spots = tuple(float(x) for x in paths.btc[-3:])  # 18, 19 and 20 November at 14:00 UTC
    btc_centers = tuple(float(x) for x in paths.btc_center[-3:])
    folder = Path(out_dir) / INTRADAY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    spx_listing = demo.spx_listing(SPX_SESSION, seed, spx_center)
    spx_path = spx_session_path(spx_spots[0], spx_spots[1], rng=np.random.default_rng([seed, 1, SPX_SESSION.toordinal(), 5]))
    for at, spot in zip(spx_session_times(), spx_path, strict=True):
        written.append(demo.write_frame_parquet(spx_intraday_frame(spx_listing, at, float(spot)),
                                                Path(out_dir) / intraday_file_name("SPX", at)))
    btc_listing = btc_intraday_listing(seed, (btc_centers[0], btc_centers[1], btc_centers[2]))
    grid_start = pd.Timestamp(dt.datetime.combine(BTC_DAY - dt.timedelta(days=1), demo.BTC_SNAPSHOT_TIME)).tz_localize("UTC")
    btc_path = btc_day_path((btc_spots[0], btc_spots[1], btc_spots[2]), np.random.default_rng([seed, 2, BTC_DAY.toordinal(), 15]))
    for at in btc_day_times():
        spot = float(btc_path[int((at - grid_start).total_seconds()) // (60 * BTC_STEP_MINUTES)])
        written.append(demo.write_frame_parquet(btc_intraday_frame(btc_listing, at, spot),
                                                Path(out_dir) / intraday_file_name("BTC", at)))
    return written
