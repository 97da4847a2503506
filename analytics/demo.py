"""Synthetic demo data: twenty trading days of an SPX-like index chain and a BTC-like Deribit chain.

Everything here is made up, deterministically: a fixed seed drives every random draw, no clock is
read, and rerunning :func:`write_demo_data` gives byte-identical files. Each day draws from its own
random stream (seeded by the seed, the underlying and the date), so writing a few days gives the
same files as writing them all. The newest days (SPX: the week 2026-11-16 .. 11-20; BTC: 11-19 and
11-20) are written in the formats real sources publish, so the demo exercises the same loaders as real
downloads; the older days are the same model written as compact canonical Parquet tables, quotes
included, which keeps twenty days of history under 5 MB:

* ``spx_quotedata_<date>.csv``: the CBOE delayed quote table layout (title line with ``Last:``,
  ``"Date: ..."`` line, the 22-column header, call and put side by side, SPX and SPXW rows
  interleaved), one file per trading day 2026-11-16 .. 2026-11-20, snapshot 16:15 New York.
* ``btc_book_summary_<date>.json``: the Deribit ``public/get_book_summary_by_currency?kind=option``
  JSON response, one file per day (2026-11-19 and 11-20), snapshot 14:00 UTC.
* ``spx_table_<date>.parquet``, ``btc_table_<date>.parquet``: the older days as canonical tables
  (:mod:`analytics.sources.table`), the live rows the vendor file's loader gives, with the columns the
  analytics use: bid/ask (and the Deribit mark), so the default model (parity forwards, OTM IVs)
  analyses every day the same way; no settled rows.
* ``deribit_btc_trades_20261118T080000Z_20261120T140000Z.trades.json``: Deribit option trades
  (taker's side tagged) from the settlement before the UTC day 2026-11-19 to the last BTC snapshot,
  for the ``flow-inferred`` convention (:mod:`analytics.demo_trades`).
* ``spx_book_demo.csv``: a small desk positions file (``underlying,expiry,strike,side,quantity``).

The model (see ``data/README.md`` for the numbers):

* spot: a mean-reverting random walk in log space (SPX ~0.9%/day near 6,700; BTC ~2.5%/day near
  95,000);
* volatility: ``iv = atm(T) + slope * z + wing * (sqrt(z^2 + c^2) - c)`` with
  ``z = ln(K / F) / sqrt(T)`` (a hyperbolic, SVI-like smile in standardised moneyness) and an
  upward-sloping ``atm(T)``;
* prices: Black-Scholes with r = q = 0 on spot (SPX) and Black-76 on each expiry's forward with
  r = 0 (BTC, forwards in contango, prices in coin = USD price / forward);
* open interest: a Laplace-shaped density in log-moneyness around a reference level, puts heavier
  below and calls above, multiplied on round strikes, times contract-stable log-normal noise (the same
  contract keeps its OI from day to day up to a small drift), scaled per expiry type.

Examples
--------
>>> [d.isoformat() for d in trading_days_between(dt.date(2026, 11, 25), dt.date(2026, 11, 30))]
['2026-11-25', '2026-11-27', '2026-11-30']
>>> spx_expiries(dt.date(2026, 11, 20))[:3]
[(datetime.date(2026, 11, 20), 'SPX'), (datetime.date(2026, 11, 20), 'SPXW'), (datetime.date(2026, 11, 23), 'SPXW')]
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np
import pandas as pd
from scipy.special import ndtri

from analytics.calendars import (
    deribit_monthly_expiry,
    is_trading_day,
    month_end_trading_day,
    monthly_equity_expiry,
    previous_trading_day,
    trading_days_between,
)
from analytics.chain import NEW_YORK, SECONDS_PER_YEAR
from analytics.pricing import greeks, side_sign

DEFAULT_SEED = 20261332  # picked for a calm month: see data/README.md
# Twenty weekdays ending Friday 2026-11-20: none is an NYSE holiday, and BTC snapshots share the dates.
DEMO_DAYS: tuple[dt.date, ...] = tuple(pd.bdate_range("2026-10-26", "2026-11-20").date)
#: The newest days are written in the vendors' layouts (CBOE CSV, Deribit JSON); older ones as Parquet.
VENDOR_LAYOUT_DAYS = 5  # SPX: the newest week as CBOE quote tables
BTC_VENDOR_LAYOUT_DAYS = 2  # BTC: the newest two days as Deribit book summaries (~0.35 MB each)
SPX_SNAPSHOT_TIME = dt.time(16, 15)  # New York, after the 16:00 close
BTC_SNAPSHOT_TIME = dt.time(14, 0)  # UTC
BTC_TRADES_DAY = dt.date(2026, 11, 19)  # the UTC day with Deribit trades (analytics.demo_trades)
SPX_START = 6700.0
BTC_START = 95000.0
BTC_CALL_TILT = 1.3  # weight of BTC calls above the OI centre (puts below: 1.3)
BTC_BASIS_PER_YEAR = 0.07  # futures contango, continuously compounded
SPX_MULTIPLIER = 100.0
OI_CENTER_HALFLIFE_DAYS = 1.0  # open interest is built around an exponential average of past spots
SPX_OI_WIDTH = 0.03  # log-moneyness width of the OI density at zero time to expiry (grows with sd)
SPX_PUT_TILT = 1.25  # weight of puts below the OI centre (calls above: 1.0)
SPX_PUT_TAIL = 0.45  # weight of the broad far-OTM put (tail hedge) component of SPX OI

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + k
    return idx // 12, idx % 12 + 1


def spx_expiries(day: dt.date) -> list[tuple[dt.date, str]]:
    """SPX-like listed expiries on ``day`` as sorted ``(expiry date, root)`` pairs.

    ``SPXW`` (PM-settled): every trading day from ``day`` to the end of next week, Friday weeklies for
    seven weeks, the last trading day of the next three months and of the next four quarter months,
    and the third Friday of the next five months. ``SPX`` (AM-settled): third-Friday monthlies for
    twelve months, March/June/September quarterlies for eighteen months and December LEAPs for two
    years. A holiday Friday moves the expiry to the trading day before (June 2027: Thursday the 17th).
    """
    out: set[tuple[dt.date, str]] = set()
    end_next_week = day + dt.timedelta(days=7 + (4 - day.weekday()) % 7)
    out.update((d, "SPXW") for d in trading_days_between(day, end_next_week))
    friday = day + dt.timedelta(days=(4 - day.weekday()) % 7)
    for w in range(7):
        out.add((previous_trading_day(friday + dt.timedelta(weeks=w)), "SPXW"))
    for k in range(4):
        y, m = _add_months(day.year, day.month, k)
        if k < 3:
            out.add((month_end_trading_day(y, m), "SPXW"))
    for k in range(13):
        y, m = _add_months(day.year, day.month, k)
        third = monthly_equity_expiry(y, m)
        if third < day:
            continue
        out.add((third, "SPX"))
        if k <= 4:
            out.add((third, "SPXW"))
    for k in range(13, 26):
        y, m = _add_months(day.year, day.month, k)
        if m in (3, 6, 9, 12) and (k <= 19 or m == 12):
            out.add((monthly_equity_expiry(y, m), "SPX"))
    for k in range(12):
        y, m = _add_months(day.year, day.month, k)
        if m in (3, 6, 9, 12):
            out.add((month_end_trading_day(y, m), "SPXW"))
    return sorted(out)


def deribit_expiries(day: dt.date) -> list[dt.date]:
    """Deribit-style BTC expiries listed at 14:00 UTC on ``day`` (all settle 08:00 UTC).

    Dailies for the next four calendar days, the next four Fridays, the last Fridays of the next
    three months and of the next four quarter months (March, June, September, December).
    """
    out = {day + dt.timedelta(days=i) for i in range(1, 5)}
    friday = day + dt.timedelta(days=(4 - day.weekday()) % 7)
    if friday <= day:
        friday += dt.timedelta(weeks=1)
    out.update(friday + dt.timedelta(weeks=w) for w in range(4))
    quarters = 0
    for k in range(13):
        y, m = _add_months(day.year, day.month, k)
        last_fri = deribit_monthly_expiry(y, m)
        if last_fri <= day:
            continue
        if k <= 3:
            out.add(last_fri)
        if m in (3, 6, 9, 12) and quarters < 4:
            out.add(last_fri)
            quarters += 1
    return sorted(out)


def deribit_code(day: dt.date) -> str:
    """Deribit's date code: ``27NOV26``, ``4DEC26`` (no leading zero).

    Examples
    --------
    >>> deribit_code(dt.date(2026, 12, 4))
    '4DEC26'
    """
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


# --------------------------------------------------------------------------- model pieces


def smile_iv(log_moneyness, years, atm, slope, wing, curvature=0.25, floor=0.05, cap=3.0) -> np.ndarray:
    """Hyperbolic smile in standardised moneyness ``z = ln(K/F) / sqrt(T)``.

    ``iv = atm + slope * z + wing * (sqrt(z^2 + c^2) - c)``, clipped to ``[floor, cap]``. Left wing
    slope ``slope - wing``, right wing slope ``slope + wing``.

    Examples
    --------
    >>> float(smile_iv(0.0, 0.25, 0.15, -0.3, 0.2)[()])
    0.15
    """
    k, t, a, s, w = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (log_moneyness, years, atm, slope, wing)))
    z = k / np.sqrt(np.maximum(t, 1e-6))
    c = float(curvature)
    return np.clip(a + s * z + w * (np.sqrt(z * z + c * c) - c), floor, cap)


def _contract_noise(seed: int, *keys: np.ndarray) -> np.ndarray:
    """Standard normal draws that depend only on (seed, keys): the same contract, the same draw.

    A vectorised splitmix64 hash of the integer keys, mapped to N(0, 1) with the inverse CDF.
    """
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        h = np.full(np.broadcast(*keys).shape, np.uint64(seed) & mask, dtype=np.uint64)
        for key in keys:
            h = h ^ (np.asarray(key).astype(np.int64).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    u = ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)
    return ndtri(u)


def _grid(spot: float, tiers: list[tuple[float, float, float]]) -> np.ndarray:
    """Union of strike grids: each tier ``(step, low_fraction, high_fraction)`` of spot."""
    parts = []
    for step, lo, hi in tiers:
        start = np.ceil(spot * lo / step) * step
        stop = np.floor(spot * hi / step) * step
        if stop >= start:
            parts.append(np.arange(start, stop + step / 2, step))
    return np.unique(np.round(np.concatenate(parts), 6))


def _split_open_interest(group: np.ndarray, total: np.ndarray, lam_side: np.ndarray,
                         lam_both: np.ndarray) -> np.ndarray:
    """Share ``total`` (per row, constant within a group) of a group's OI in proportion to ``lam``."""
    norm = np.bincount(group, weights=lam_both)[group]
    return total * lam_side / norm


def _expiry_scale(seed: int, day_idx: int, *keys: np.ndarray) -> np.ndarray:
    """Per-expiry OI multiplier: a stable log-normal level, growing a little each day (new positions)."""
    level = np.exp(0.25 * _contract_noise(seed + 3, *keys))
    growth = 1.0 + day_idx * (0.01 + 0.01 * _contract_noise(seed + 5, *keys))
    return level * growth


def _walk(rng: np.random.Generator, start: float, daily_vol: float, n: int, pull: float = 0.4) -> np.ndarray:
    """Log-spot path that wanders but is pulled back towards ``start`` (an AR(1) in log space)."""
    steps = rng.normal(0.0, daily_vol, n)
    x = np.zeros(n)
    level = 0.0
    for i in range(n):
        level = (1.0 - pull) * level + steps[i]
        x[i] = level
    return start * np.exp(x)


def _oi_centers(path: np.ndarray, start: float, halflife_days: float = OI_CENTER_HALFLIFE_DAYS) -> np.ndarray:
    """Where open interest was built before each day: an exponential average of log spot up to the day
    before (``path[i]`` is day ``i``'s spot), starting from ``start``.

    Examples
    --------
    >>> np.round(_oi_centers(np.array([100.0, 121.0, 100.0]), 100.0, 1.0), 6).tolist()
    [100.0, 100.0, 110.0]
    """
    keep = 0.5 ** (1.0 / halflife_days)
    level = np.log(start)
    out = np.empty(len(path))
    for i, s in enumerate(path):
        out[i] = np.exp(level)
        level = keep * level + (1.0 - keep) * np.log(s)
    return out


def _num(values, dp: int) -> np.ndarray:
    """Format numbers like CBOE's download: rounded, trailing zeros stripped (``0.05``, ``0``, ``-1.1``)."""
    arr = np.round(np.asarray(values, dtype=float), dp) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = pd.Series(np.char.mod(f"%.{dp}f", arr))
    if dp:
        text = text.str.rstrip("0").str.rstrip(".")
    return text.replace({"-0": "0"}).to_numpy()


def _to_tick(price, tick, up: bool) -> np.ndarray:
    f = np.ceil if up else np.floor
    return np.round(f(np.round(np.asarray(price) / tick, 6)) * tick, 4)


# --------------------------------------------------------------------------- SPX


def _spx_strikes(spot: float, years: float) -> np.ndarray:
    """Listed strikes: 5-pt near the money for short expiries, then 25/50/100 (250 for LEAPs)."""
    sd = 0.15 * np.sqrt(max(years, 1.0 / 365.0))
    if years > 0.75:
        tiers = [(50.0, 0.92, 1.08), (100.0, 0.8, 1.2), (250.0, 0.5, 1.5)]
    else:
        mid = min(0.10, max(0.03, 2.5 * sd))
        far = min(0.20, max(0.06, 4.0 * sd))
        low = max(0.5, 1.0 - max(0.15, 7.0 * sd))
        high = min(1.3, 1.0 + max(0.06, 3.0 * sd))
        tiers = [(25.0, 1 - mid, 1 + mid), (50.0, 1 - far, 1 + far), (100.0, low, high)]
        if years < 0.1:
            near = 0.01 if years < 8.0 / 365.0 else 0.015
            tiers.append((5.0, 1 - near, 1 + near))
    return _grid(spot, tiers)


def _spx_expiry_weight(expiry: dt.date, root: str, day: dt.date) -> float:
    """Total OI scale (contracts) for one (expiry, root) before the strike density."""
    monthly = expiry == monthly_equity_expiry(expiry.year, expiry.month)
    quarter = expiry.month in (3, 6, 9, 12)
    month_end = expiry == month_end_trading_day(expiry.year, expiry.month)
    dte = (expiry - day).days
    if root == "SPX":
        w = 1.6e6 if (quarter and monthly) else 0.9e6
        if dte > 200:
            w *= 0.45 if expiry.month == 12 else 0.2
        elif dte > 100:
            w *= 0.5
    elif month_end and quarter:
        w = 3.5e5
    elif month_end:
        w = 2.2e5
    elif monthly:
        w = 2.0e5 if dte < 100 else 4e4
    elif expiry.weekday() == 4 or (expiry + dt.timedelta(days=1)).weekday() == 4 and not is_trading_day(
        expiry + dt.timedelta(days=1)
    ):
        w = 1.6e5 if dte < 30 else 4e4
    else:
        w = 6e4 if dte <= 7 else 2e4
    return w


def _spx_surface(years: np.ndarray, log_m: np.ndarray, day_shift: float) -> np.ndarray:
    atm = 0.118 + day_shift + 0.055 * (1.0 - np.exp(-years / 0.8)) + 0.02 * np.exp(-years * 365.0 / 3.0)
    slope = -0.23 - 0.05 * np.exp(-years / 0.3)
    return smile_iv(log_m, years, atm, slope, 0.16, curvature=0.2, floor=0.075, cap=2.5)


def spx_listing(day: dt.date, seed: int, oi_center: float = SPX_START) -> pd.DataFrame:
    """The SPX-like contracts listed on ``day`` with their open interest (settled overnight, so the same
    all session): one row per (expiry, root, strike), sorted, with ``years`` to settlement from the day's
    16:15 New York snapshot (negative once settled), ``settle`` (the instant) and ``oi_C`` / ``oi_P``.

    Strikes are listed, and open interest is built, around ``oi_center`` (where the market has traded).
    """
    as_of = pd.Timestamp(dt.datetime.combine(day, SPX_SNAPSHOT_TIME)).tz_localize(NEW_YORK)
    frames = []
    for expiry, root in spx_expiries(day):
        settle_local = dt.time(9, 30) if root == "SPX" else dt.time(16, 0)
        settle = pd.Timestamp(dt.datetime.combine(expiry, settle_local)).tz_localize(NEW_YORK)
        expiry_years = (settle - as_of).total_seconds() / SECONDS_PER_YEAR
        strikes = _spx_strikes(oi_center, max(expiry_years, 0.0))  # listed around where OI was built
        frames.append(pd.DataFrame({
            "expiry": pd.Timestamp(expiry), "root": root, "years": expiry_years, "strike": strikes,
            "weight": _spx_expiry_weight(expiry, root, day), "settle": settle,
        }))
    q = pd.concat(frames, ignore_index=True).sort_values(["expiry", "strike", "root"], kind="stable")
    q = q.reset_index(drop=True)
    n = len(q)
    years = q["years"].to_numpy()
    t = np.maximum(years, 1.0 / (365.0 * 24.0))
    strike = q["strike"].to_numpy()

    # open interest: contract-stable noise, density around the level where it was built
    exp_key = (q["expiry"].to_numpy().astype("datetime64[D]").astype(np.int64))
    root_key = (q["root"] == "SPX").to_numpy().astype(np.int64)
    k_key = np.round(strike).astype(np.int64)
    sd = 0.15 * np.sqrt(np.maximum(t, 2.0 / 365.0))
    x = np.log(strike / oi_center)
    width = SPX_OI_WIDTH + 1.0 * sd
    roundness = np.select(
        [k_key % 500 == 0, k_key % 100 == 0, k_key % 50 == 0, k_key % 25 == 0], [5.0, 3.0, 1.8, 1.0], 0.3
    )
    day_idx = (day - DEMO_DAYS[0]).days
    keys = (exp_key, root_key, k_key)
    lam = {}
    for side, tilt, tail in (("C", np.where(x > 0, 1.0, 0.3), 0.0), ("P", np.where(x < 0, SPX_PUT_TILT, 0.3), SPX_PUT_TAIL)):
        side_key = np.full(n, 1 if side == "C" else 2)
        noise = _contract_noise(seed, *keys, side_key)
        drift = _contract_noise(seed + 1 + day_idx, *keys, side_key)
        shape = np.exp(-np.abs(x) / width) * tilt + tail * np.exp(-np.abs(x) / 0.2) * (x < 0)
        lam[side] = shape * roundness * np.exp(0.7 * noise + 0.05 * drift)
    group = q.groupby(["expiry", "root"], sort=False).ngroup().to_numpy()
    total = q["weight"].to_numpy() * _expiry_scale(seed, day_idx, exp_key, root_key)
    for side in ("C", "P"):
        oi = _split_open_interest(group, total, lam[side], lam["C"] + lam["P"])
        oi = np.floor(oi)
        q[f"oi_{side}"] = np.where(oi < 3, 0.0, oi)
    q["width"] = width
    return q


def spx_bid_ask(mid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CBOE-like quotes around a model price: ``(bid, ask, tick, half spread)``; ticks 0.05 below 3.00,
    else 0.10.

    Examples
    --------
    >>> [round(float(v[0]), 4) for v in spx_bid_ask([12.34])]
    [12.0, 12.6, 0.1, 0.2535]
    """
    mid = np.asarray(mid, dtype=float)
    tick = np.where(mid < 3.0, 0.05, 0.10)
    half = np.maximum(0.5 * tick, 0.012 * mid + 0.03 * np.sqrt(mid))
    bid = np.maximum(_to_tick(mid - half, tick, up=False), 0.0)
    ask = np.maximum(_to_tick(mid + half, tick, up=True), 0.05)
    return bid, ask, tick, half


def spx_quote_table(day: dt.date, spot: float, prev_close: float, day_shift: float, seed: int,
                    rng: np.random.Generator, oi_center: float = SPX_START) -> str:
    """The CBOE quote-table text of one SPX-like snapshot (16:15 New York on ``day``).

    Strikes are listed, and open interest is built, around ``oi_center`` (:func:`spx_listing`).
    """
    as_of = pd.Timestamp(dt.datetime.combine(day, SPX_SNAPSHOT_TIME)).tz_localize(NEW_YORK)
    q = spx_listing(day, seed, oi_center)
    n = len(q)
    years = q["years"].to_numpy()
    live = years > 0
    t = np.maximum(years, 1.0 / (365.0 * 24.0))
    strike = q["strike"].to_numpy()
    log_m = np.log(strike / spot)
    iv = _spx_surface(t, log_m, day_shift)
    k_key = np.round(strike).astype(np.int64)
    width = q["width"].to_numpy()
    out = {}
    for side in ("C", "P"):
        oi = q[f"oi_{side}"].to_numpy()
        w = side_sign(np.full(n, side))
        g = greeks(spot, strike, t, iv, w)
        mid = np.where(live, g.price, np.maximum(w * (spot - strike), 0.0))
        bid, ask, tick, half = spx_bid_ask(mid)
        volume = rng.poisson(oi * np.where(live, 0.04, 0.0) * np.exp(-np.abs(log_m) / (2 * width)))
        traded = volume > 0
        last = np.where(traded, np.maximum(_to_tick(mid + half * rng.uniform(-1, 1, n), tick, up=False), 0.05), 0.0)
        net = np.where(traded, np.round(last * rng.normal(0.0, 0.08, n), 2), 0.0)
        symbol = (q["root"] + pd.Series(pd.to_datetime(q["expiry"]).dt.strftime("%y%m%d")) + side
                  + cast("pd.Series[str]", pd.Series(np.char.zfill((k_key * 1000).astype(str), 8)))).to_numpy()
        out[side] = {
            "sym": symbol, "last": _num(last, 2), "net": _num(net, 2), "bid": _num(bid, 2), "ask": _num(ask, 2),
            "vol": _num(volume, 0), "iv": _num(np.where(live, iv, 0.0), 4),
            "delta": _num(np.where(live, g.delta, 0.0), 4), "gamma": _num(np.where(live, g.gamma, 0.0), 4),
            "oi": _num(oi, 0),
        }
    exp_text = pd.to_datetime(q["expiry"]).dt.strftime("%a %b %d %Y").to_numpy()
    cols: list[np.ndarray] = [exp_text]
    for key in ("sym", "last", "net", "bid", "ask", "vol", "iv", "delta", "gamma", "oi"):
        cols.append(out["C"][key])
    cols.append(np.char.mod("%.2f", strike))
    for key in ("sym", "last", "net", "bid", "ask", "vol", "iv", "delta", "gamma", "oi"):
        cols.append(out["P"][key])
    body = pd.DataFrame(dict(enumerate(cols))).astype(str).agg(",".join, axis=1)
    change = spot - prev_close
    stamp = f"{as_of:%B} {day.day}, {day.year} at {as_of.hour % 12 or 12}:{as_of:%M %p} {as_of.tzname()}"
    head = [
        "",
        f"S&P 500 INDEX,Last: {spot:.4f},Change:  {change:.4f}",
        f'"Date: {stamp}",Bid: {spot - 0.85:.2f},Ask: {spot + 0.85:.2f},Size: 1*1,Volume: 0',
        "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
        "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest",
    ]
    return "\n".join(head + body.tolist()) + "\n"


# --------------------------------------------------------------------------- BTC (Deribit)


def _btc_strikes(spot: float, years: float) -> np.ndarray:
    sd = 0.5 * np.sqrt(max(years, 1.0 / 365.0))
    if years < 5.0 / 365.0:
        tiers = [(1000.0, 1 - 2.0 * sd, 1 + 2.0 * sd), (2000.0, 1 - 3.2 * sd, 1 + 3.2 * sd)]
    elif years < 40.0 / 365.0:
        tiers = [(1000.0, 1 - 1.2 * sd, 1 + 1.2 * sd), (5000.0, 1 - 2.8 * sd, 1 + 3.2 * sd)]
    else:
        tiers = [(2500.0, 1 - 0.5 * sd, 1 + 0.6 * sd), (5000.0, max(0.45, 1 - 1.6 * sd), 1 + 1.8 * sd),
                 (10000.0, max(0.35, 1 - 2.2 * sd), min(3.0, 1 + 3.5 * sd))]
    return _grid(spot, tiers)


def _btc_surface(years: np.ndarray, log_m: np.ndarray, day_shift: float) -> np.ndarray:
    atm = 0.43 + day_shift + 0.08 * (1.0 - np.exp(-years / 0.4)) + 0.04 * np.exp(-years * 365.0 / 4.0)
    slope = -0.09 + 0.10 * (1.0 - np.exp(-years / 0.25))  # put skew short-dated, call skew further out
    return smile_iv(log_m, years, atm, slope, 0.12, curvature=0.3, floor=0.2, cap=3.0)


def _btc_expiry_weight(expiry: dt.date, day: dt.date) -> float:
    dte = (expiry - day).days
    last_fri = expiry == deribit_monthly_expiry(expiry.year, expiry.month)
    if last_fri and expiry.month in (3, 6, 9, 12):
        return 3.2e4 if dte < 200 else 1.4e4
    if last_fri:
        return 1.6e4
    if expiry.weekday() == 4:
        return 5e3
    return 1.2e3


def btc_listing(day: dt.date, oi_center: float = BTC_START) -> pd.DataFrame:
    """The BTC-like contracts listed at 14:00 UTC on ``day``: one row per (expiry, strike), with ``years``
    to settlement (08:00 UTC) from that snapshot and ``settle`` (the instant). Strikes are listed around
    ``oi_center``."""
    as_of = pd.Timestamp(dt.datetime.combine(day, BTC_SNAPSHOT_TIME)).tz_localize("UTC")
    frames = []
    for expiry in deribit_expiries(day):
        settle = pd.Timestamp(dt.datetime.combine(expiry, dt.time(8, 0))).tz_localize("UTC")
        years = (settle - as_of).total_seconds() / SECONDS_PER_YEAR
        strikes = _btc_strikes(oi_center, years)
        frames.append(pd.DataFrame({"expiry": pd.Timestamp(expiry), "years": years, "strike": strikes,
                                    "weight": _btc_expiry_weight(expiry, day), "settle": settle}))
    return pd.concat(frames, ignore_index=True)


def btc_open_interest(q: pd.DataFrame, day: dt.date, seed: int, oi_center: float = BTC_START) -> dict[str, np.ndarray]:
    """Open interest in coins (``{"C": ..., "P": ...}``) of the contracts ``q`` (:func:`btc_listing`)
    as the model builds it on ``day`` around ``oi_center``: the daily file's figures on its own listing."""
    n = len(q)
    t = q["years"].to_numpy()
    strike = q["strike"].to_numpy()
    exp_key = q["expiry"].to_numpy().astype("datetime64[D]").astype(np.int64)
    k_key = np.round(strike).astype(np.int64)
    x = np.log(strike / oi_center)
    width = 0.03 + 0.35 * 0.5 * np.sqrt(np.maximum(t, 1.0 / 365.0))
    roundness = np.select([k_key % 10000 == 0, k_key % 5000 == 0], [3.0, 1.8], 0.8)
    group = q.groupby("expiry", sort=False).ngroup().to_numpy()
    day_idx = (day - DEMO_DAYS[0]).days
    lam = {}
    for side, tilt in (("C", np.where(x > 0, BTC_CALL_TILT, 0.4)), ("P", np.where(x < 0, 1.3, 0.25))):
        side_key = np.full(n, 1 if side == "C" else 2)
        noise = _contract_noise(seed + 7, exp_key, k_key, side_key)
        drift = _contract_noise(seed + 101 + day_idx, exp_key, k_key, side_key)
        lam[side] = np.exp(-np.abs(x) / width) * tilt * roundness * np.exp(0.6 * noise + 0.05 * drift)
    weight = np.array([_btc_expiry_weight(e.date(), day) for e in q["expiry"]])
    total = weight * _expiry_scale(seed + 7, day_idx, exp_key)
    out = {}
    for side in ("C", "P"):
        oi = np.round(_split_open_interest(group, total, lam[side], lam["C"] + lam["P"]), 1)
        out[side] = np.where(oi < 0.5, 0.0, oi)
    return out


def btc_marks(mark) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deribit-like quotes around a mark price in coin: ``(bid, ask, tick)``; ticks 0.0001 below 0.005,
    else 0.0005 (a bid under one tick is no bid: NaN is the caller's to set)."""
    mark = np.asarray(mark, dtype=float)
    tick = np.where(mark < 0.005, 0.0001, 0.0005)
    half = np.maximum(tick, 0.03 * mark + 0.0004)
    bid = _to_tick(mark - half, tick, up=False)
    ask = _to_tick(mark + half, tick, up=True)
    return bid, np.maximum(ask, 0.0001), tick


def btc_book_summary(day: dt.date, spot: float, day_shift: float, seed: int, rng: np.random.Generator,
                     oi_center: float = BTC_START) -> str:
    """The Deribit ``get_book_summary_by_currency`` JSON text of one BTC-like snapshot (14:00 UTC).

    Strikes are listed, and open interest is built, around ``oi_center`` (where the market has traded).
    """
    as_of = pd.Timestamp(dt.datetime.combine(day, BTC_SNAPSHOT_TIME)).tz_localize("UTC")
    ms = int(as_of.value // 1_000_000)
    q = btc_listing(day, oi_center)
    n = len(q)
    t = q["years"].to_numpy()
    strike = q["strike"].to_numpy()
    forward = spot * np.exp(BTC_BASIS_PER_YEAR * t)
    iv = _btc_surface(t, np.log(strike / forward), day_shift)
    synthetic = (q["expiry"].dt.day_of_week != 4).to_numpy()
    codes = np.array([deribit_code(d.date()) for d in q["expiry"]])
    records = []
    open_interest = btc_open_interest(q, day, seed, oi_center)
    per_side = {}
    for side in ("C", "P"):
        oi = open_interest[side]
        w = side_sign(np.full(n, side))
        usd = greeks(forward, strike, t, iv, w).price
        mark = np.maximum(usd / forward, 0.0)
        bid, ask, tick = btc_marks(mark)
        has_bid = (bid >= 0.0001) & (rng.uniform(size=n) > 0.05)
        volume = np.round(rng.poisson(oi * 0.03) * 0.1 * 10, 1)
        traded = volume > 0
        last = np.round(mark * (1 + 0.05 * rng.normal(size=n)), 4)
        per_side[side] = dict(oi=oi, mark=mark, bid=np.where(has_bid, bid, np.nan), ask=ask,
                              volume=volume, last=np.where(traded, np.maximum(last, 0.0001), np.nan),
                              change=np.where(traded, np.round(rng.normal(0, 8, n), 4), np.nan))
    est_delivery = round(spot * (1 - 0.0004), 2)
    for i in range(n):
        index = f"{'SYN.' if synthetic[i] else ''}BTC-{codes[i]}"
        fwd = float(forward[i]) if synthetic[i] else round(float(forward[i]) * 2) / 2
        for side in ("C", "P"):
            s = per_side[side]
            bid_i = None if np.isnan(s["bid"][i]) else float(s["bid"][i])
            ask_i = float(s["ask"][i])
            last_i = None if np.isnan(s["last"][i]) else float(s["last"][i])
            records.append({
                "volume_usd": round(float(s["volume"][i]) * float(s["mark"][i]) * spot, 2),
                "volume": float(s["volume"][i]),
                "underlying_price": fwd,
                "underlying_index": index,
                "quote_currency": "BTC",
                "price_change": None if last_i is None else float(s["change"][i]),
                "open_interest": float(s["oi"][i]),
                "mid_price": None if bid_i is None else round(0.5 * (bid_i + ask_i), 5),
                "mark_price": round(float(s["mark"][i]), 8),
                "mark_iv": round(float(iv[i]) * 100.0, 2),
                "low": last_i,
                "last": last_i,
                "interest_rate": 0.0,
                "instrument_name": f"BTC-{codes[i]}-{int(strike[i])}-{side}",
                "high": last_i,
                "estimated_delivery_price": est_delivery,
                "creation_timestamp": ms,
                "bid_price": bid_i,
                "base_currency": "BTC",
                "ask_price": ask_i,
            })
    lines = [json.dumps(r, separators=(",", ":"), allow_nan=False) for r in records]
    us_out = ms * 1000
    tail = f'],"usIn":{us_out - 2_871},"usOut":{us_out},"usDiff":2871,"testnet":false}}'
    return '{"jsonrpc":"2.0","result":[\n' + ",\n".join(lines) + "\n" + tail + "\n"


# --------------------------------------------------------------------------- book and driver


def spx_demo_book(day: dt.date) -> str:
    """A small SPX desk positions file (CSV ``underlying,expiry,strike,side,quantity,root``; + = long)."""
    pairs = [e for e in spx_expiries(day) if (e[0] - day).days > 6]
    dec = next(d for d, r in pairs if d.month == 12 and r == "SPX")
    jan = next(d for d, r in pairs if d.month == 1 and r == "SPX")
    wk = next(d for d, r in pairs if r == "SPXW" and d.weekday() == 4)
    rows = [
        ("SPX", dec, 6000, "P", -1500), ("SPX", dec, 6500, "P", 800), ("SPX", dec, 7000, "C", -1200),
        ("SPX", jan, 6200, "P", -900), ("SPX", jan, 7200, "C", 600), ("SPXW", wk, 6700, "C", -400),
        ("SPXW", wk, 6700, "P", -400), ("SPXW", wk, 6500, "P", 250),
    ]
    lines = ["underlying,expiry,strike,side,quantity,root"]
    lines += [f"SPX,{d.isoformat()},{k},{s},{q},{r}" for r, d, k, s, q in rows]
    return "\n".join(lines) + "\n"


def _day_rng(seed: int, underlying: int, day: dt.date) -> np.random.Generator:
    """The random stream of one (underlying, day): independent of which other days are written."""
    return np.random.default_rng([seed, underlying, day.toordinal()])


def write_table_parquet(chain, path: Path) -> Path:
    """Write a chain as a compact canonical Parquet table (the columns the analytics use), deterministically.

    Strings are dictionary-encoded, numbers kept as float64 (the vendor file's printed values), zstd
    compressed; no pandas metadata, so the bytes depend only on the data and the pyarrow version.
    """
    from analytics.sources.table import chain_to_frame

    return write_frame_parquet(chain_to_frame(chain), path)


def write_frame_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write a canonical table frame (:func:`analytics.sources.table.chain_to_frame`'s columns) as
    :func:`write_table_parquet` does: the columns the analytics use, the quote columns that hold a value."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = ["underlying", "as_of", "spot", "expiry", "strike", "side", "open_interest", "root", "settlement",
               "iv", "multiplier"]
    # the quotes the default model (parity forwards, OTM IVs) reads, so these days are analysed like the
    # vendor files
    columns[-1:-1] = [c for c in ("bid", "ask", "mark", "forward") if frame[c].notna().any()]
    table = pa.table({c: pa.array(frame[c].tolist()) for c in columns})
    pq.write_table(table, path, compression="zstd", compression_level=19,
                   use_dictionary=["underlying", "as_of", "expiry", "side", "root", "settlement"])
    return path


def demo_file_name(underlying: str, day: dt.date) -> str:
    """The demo file of one underlying and day: vendor layout for the newest days, Parquet before.

    Examples
    --------
    >>> demo_file_name("SPX", DEMO_DAYS[-1]), demo_file_name("BTC", DEMO_DAYS[0])
    ('spx_quotedata_2026-11-20.csv', 'btc_table_2026-10-26.parquet')
    >>> demo_file_name("SPX", DEMO_DAYS[-5]), demo_file_name("BTC", DEMO_DAYS[-3])
    ('spx_quotedata_2026-11-16.csv', 'btc_table_2026-11-18.parquet')
    """
    if underlying == "SPX":
        vendor = day >= DEMO_DAYS[-VENDOR_LAYOUT_DAYS]
        return f"spx_quotedata_{day.isoformat()}.csv" if vendor else f"spx_table_{day.isoformat()}.parquet"
    vendor = day >= DEMO_DAYS[-BTC_VENDOR_LAYOUT_DAYS]
    return f"btc_book_summary_{day.isoformat()}.json" if vendor else f"btc_table_{day.isoformat()}.parquet"


class DemoPaths(NamedTuple):
    """The month's spot paths and where open interest was built each day (:func:`write_demo_data`):
    ``spx[i + 1]`` is day ``i``'s SPX close (``spx[0]`` the close before the month), ``btc[i]`` day
    ``i``'s BTC spot at 14:00 UTC, ``*_center[i]`` day ``i``'s open-interest centre."""

    spx: np.ndarray
    btc: np.ndarray
    spx_center: np.ndarray
    btc_center: np.ndarray


def demo_paths(seed: int = DEFAULT_SEED) -> DemoPaths:
    """The spot paths of the demo month (one stream seeded by ``seed``), shared by the daily files and
    the intraday demo (:mod:`analytics.demo_intraday`), which runs between them."""
    rng = np.random.default_rng(seed)
    n = len(DEMO_DAYS)
    spx = _walk(rng, SPX_START, 0.009, n + 1)
    btc = _walk(rng, BTC_START, 0.025, n)
    return DemoPaths(spx, btc, _oi_centers(spx[1:], SPX_START), _oi_centers(btc, BTC_START))


def write_demo_data(out_dir: Path, seed: int = DEFAULT_SEED,
                    days: tuple[dt.date, ...] | list[dt.date] | None = None) -> list[Path]:
    """Write the demo snapshots into ``out_dir``, deterministically; return the paths written.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory to write into (created if missing). Existing demo files are overwritten;
        other files are left alone.
    seed : int
        Seed of every random draw. The same seed gives byte-identical files.
    days : sequence of datetime.date, optional
        Only these of :data:`DEMO_DAYS` (default: all twenty). A day's files are the same whichever
        other days are written.

    Returns
    -------
    list of pathlib.Path
        Per day an SPX and a BTC snapshot (:func:`demo_file_name`: CBOE quote tables and Deribit book
        summaries for the newest days, canonical Parquet tables before), SPX first, oldest first;
        then one SPX positions file. (``mmpos demo-data`` then writes the intraday demo,
        :func:`analytics.demo_intraday.write_intraday_data`.)
    """
    from analytics.sources.cboe import read_cboe_text
    from analytics.sources.deribit import read_deribit_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(DEMO_DAYS if days is None else days)
    unknown = wanted - set(DEMO_DAYS)
    if unknown:
        raise ValueError(f"not demo days: {sorted(unknown)}")
    spx, btc, spx_center, btc_center = demo_paths(seed)
    spx_vol_shift = np.clip(-1.2 * np.log(spx[1:] / SPX_START), -0.03, 0.05)
    btc_vol_shift = np.clip(-0.6 * np.log(btc / BTC_START), -0.05, 0.08)
    written: list[Path] = []

    def write(underlying: str, day: dt.date, text: str) -> None:
        path = out_dir / demo_file_name(underlying, day)
        if path.suffix == ".parquet":
            read = read_cboe_text if underlying == "SPX" else read_deribit_text
            write_table_parquet(read(text, path.with_suffix(".txt")), path)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)

    for i, day in enumerate(DEMO_DAYS):
        if day in wanted:
            write("SPX", day, spx_quote_table(day, float(spx[i + 1]), float(spx[i]), float(spx_vol_shift[i]), seed,
                                              _day_rng(seed, 1, day), float(spx_center[i])))
    for i, day in enumerate(DEMO_DAYS):
        if day in wanted:
            write("BTC", day, btc_book_summary(day, float(btc[i]), float(btc_vol_shift[i]), seed,
                                               _day_rng(seed, 2, day), float(btc_center[i])))
    trades_days = {day: (float(btc[i]), float(btc_center[i]), float(btc_vol_shift[i]))
                   for i, day in enumerate(DEMO_DAYS) if day >= BTC_TRADES_DAY - dt.timedelta(days=1)}
    # the BTC trades of the demo day (analytics.demo_trades), written (before the positions file) when
    # that day is: beside the BTC snapshots, for the flow-inferred convention
    if BTC_TRADES_DAY in wanted:
        from analytics.demo_trades import btc_trades_json

        name, text = btc_trades_json(trades_days, seed, expiries=deribit_expiries, strikes=_btc_strikes,
                                     code=deribit_code, surface=_btc_surface, basis_per_year=BTC_BASIS_PER_YEAR)
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
        written.append(out_dir / name)
    path = out_dir / "spx_book_demo.csv"
    # dated on the first vendor-layout day, so every position's expiry is live in the newest week
    path.write_text(spx_demo_book(DEMO_DAYS[-VENDOR_LAYOUT_DAYS]), encoding="utf-8", newline="\n")
    written.append(path)
    return written


# --------------------------------------------------------------------------- shape statistics


def shape_stats(chain) -> dict[str, float]:
    """Shape of a chain, to compare demo snapshots with real files (see ``data/README.md``).

    Gamma from :func:`analytics.pricing.greeks` with the file's IV (Black-Scholes on spot with
    r = q = 0, or Black-76 on the row's forward); rows without a usable IV count with zero gamma.
    GEX per row is ``sign * OI * multiplier * gamma * U^2 * 0.01`` (calls +, puts -; ``U`` the spot or
    forward), in USD per 1% move.

    Returns
    -------
    dict
        ``n_expiries``, ``median_strikes_per_expiry``, ``near_oi_share`` (share of OI with strike within
        10% of spot), ``put_call_oi`` (put OI / call OI), ``gex_usd_per_1pct``, ``gross_gex_usd_per_1pct``
        (sum of ``|per-row GEX|``) and ``net_to_gross_gex``.
    """
    rows = chain.rows
    years = chain.years_to_settlement()
    iv = rows["iv"].to_numpy(dtype=float)
    usable = np.isfinite(iv) & (iv > 0) & (years > 0)
    level = rows["forward"].to_numpy(dtype=float) if chain.model == "black76" else np.full(len(rows), chain.spot)
    sign = side_sign(rows["side"].to_numpy())
    strike = rows["strike"].to_numpy(dtype=float)
    gamma = greeks(level, strike, np.where(usable, years, 1.0), np.where(usable, iv, 0.2), sign).gamma
    gamma = np.where(usable, gamma, 0.0)
    oi = rows["open_interest"].to_numpy(dtype=float)
    gex = sign * oi * rows["multiplier"].to_numpy(dtype=float) * gamma * level**2 * 0.01
    near = np.abs(strike / chain.spot - 1.0) <= 0.10
    gross = float(np.abs(gex).sum())
    return {
        "n_expiries": float(rows["expiry"].nunique()),
        "median_strikes_per_expiry": float(rows.groupby("expiry")["strike"].nunique().median()),
        "near_oi_share": float(oi[near].sum() / oi.sum()),
        "put_call_oi": float(oi[sign < 0].sum() / oi[sign > 0].sum()),
        "gex_usd_per_1pct": float(gex.sum()),
        "gross_gex_usd_per_1pct": gross,
        "net_to_gross_gex": float(gex.sum() / gross) if gross > 0 else 0.0,
    }
