"""Synthetic Deribit option trades for the BTC demo day (issue 19): what ``flow-inferred`` reads.

Deterministic (seeded, no clock): :func:`btc_trades_json` writes one trades file
(:func:`analytics.trades.trades_file_name`) in the layout ``mmpos collect`` writes, Deribit's
``get_last_trades_by_currency_and_time`` answer (``result.trades``: ``trade_id``,
``instrument_name``, ``direction`` of the taker, ``amount`` = ``contracts`` in BTC, ``price`` in BTC,
``timestamp`` ms, ``iv`` in percent, ``index_price``) plus the ``mmpos`` window.

The window runs from 2026-11-18 08:00 UTC (the settlement before the first snapshot of the UTC day
2026-11-19) to the last BTC demo snapshot (2026-11-20 14:00 UTC), so every BTC snapshot from
2026-11-19 00:00 to 2026-11-20 14:00 has its flow since the open interest.

The model, per UTC day ``d`` of the window (each day its own random stream):

* trades arrive at :data:`TRADES_PER_HOUR` (Poisson), at uniform times;
* the instrument: among the expiries listed that day (:func:`listing`: those of
  :func:`analytics.demo.deribit_expiries`, all settling after the day ends, and their strikes around
  the day's open-interest centre, as in the day's snapshot), weighted towards near expiries and strikes
  near spot; calls 55%;
* the taker: customers lean to buying calls above spot (62%) and selling puts (58% sells), so dealers
  end the day shorter calls and longer puts than the OI convention says;
* size: log-normal, median 8 BTC (blocks and screen trades: about 3% of the demo open interest
  trades a day, near what Deribit prints), in steps of 0.1 (at least 0.1, at most 500);
* price: the demo surface (:func:`analytics.demo._btc_surface`) priced by :func:`analytics.pricing.price`
  on the forward, in BTC, 2% through the mark on the taker's side, on Deribit's ticks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analytics.chain import SECONDS_PER_YEAR
from analytics.pricing import price, side_sign
from analytics.trades import trades_file_name

TRADES_START = pd.Timestamp("2026-11-18 08:00", tz="UTC")
TRADES_END = pd.Timestamp("2026-11-20 14:00", tz="UTC")
TRADES_PER_HOUR = 18.0
CALL_SHARE = 0.55
CALL_BUY_ABOVE_SPOT = 0.62  # customers buy upside calls
CALL_BUY_ELSEWHERE = 0.5
PUT_BUY = 0.42  # customers sell puts more than they buy them
FIRST_TRADE_ID = 421_000_000
SIZE_MEDIAN_BTC = 8.0  # screen trades and blocks together: about 3% of the open interest trades a day
SIZE_SIGMA = 1.1
SIZE_CAP_BTC = 500.0


Surface = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def listing(day: dt.date, center: float, at: pd.Timestamp, *, expiries: Callable[[dt.date], list[dt.date]],
            strikes: Callable[[float, float], np.ndarray], code: Callable[[dt.date], str]) -> pd.DataFrame:
    """The BTC options listed on ``day`` as its snapshot lists them (``expiries(day)``, each with
    ``strikes(center, years)``): Deribit date ``code``, ``strike``, ``years`` from ``at`` to the 08:00 UTC
    settlement, and a trading ``weight`` (near strikes and near expiries trade most)."""
    frames = []
    for expiry in expiries(day):
        settle = pd.Timestamp(dt.datetime.combine(expiry, dt.time(8, 0)), tz="UTC")
        years = (settle - at).total_seconds() / SECONDS_PER_YEAR
        k = strikes(center, years)
        dte = max((expiry - day).days, 1)
        frames.append(pd.DataFrame({"code": code(expiry), "strike": k, "years": years,
                                    "weight": np.exp(-np.abs(np.log(k / center)) / (0.04 + 0.25 * np.sqrt(years)))
                                    / np.sqrt(dte)}))
    return pd.concat(frames, ignore_index=True)


def btc_trades(days: dict[dt.date, tuple[float, float, float]], seed: int, *,
               expiries: Callable[[dt.date], list[dt.date]], strikes: Callable[[float, float], np.ndarray],
               code: Callable[[dt.date], str], surface: Surface, basis_per_year: float,
               start: pd.Timestamp = TRADES_START, end: pd.Timestamp = TRADES_END) -> list[dict]:
    """The demo trades from ``start`` to ``end`` (UTC), oldest first, as Deribit trade objects.

    ``days`` gives per UTC day (spot, open-interest centre, vol shift) as the demo's snapshots use them;
    ``expiries``, ``strikes`` and ``code`` list the day's instruments (:func:`listing`), ``surface(years,
    ln(K/F), vol shift)`` gives the IVs and ``basis_per_year`` the futures basis: the demo's own pieces
    (:mod:`analytics.demo` passes them; this module does not import it, which imports this one).
    """
    out: list[dict] = []
    next_id = FIRST_TRADE_ID
    for day in sorted(days):
        lo = max(start, pd.Timestamp(day, tz="UTC"))
        hi = min(end, pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1))
        if hi <= lo:
            continue
        spot, center, vol_shift = days[day]
        nxt = days.get(day + dt.timedelta(days=1), (spot, center, vol_shift))[0]
        rng = np.random.default_rng([seed, 3, day.toordinal()])
        listed = listing(day, center, pd.Timestamp(dt.datetime.combine(day, dt.time(14, 0)), tz="UTC"),
                         expiries=expiries, strikes=strikes, code=code)
        hours = (hi - lo).total_seconds() / 3600.0
        n = int(rng.poisson(TRADES_PER_HOUR * hours))
        ms = np.sort(rng.integers(int(lo.value // 1_000_000) + 1, int(hi.value // 1_000_000), size=n))
        frac = (ms / 1000.0 - pd.Timestamp(day, tz="UTC").timestamp()) / 86_400.0
        index = spot + (nxt - spot) * frac  # the index drifts from the day's spot to the next day's
        p = listed["weight"].to_numpy()
        pick = rng.choice(len(listed), size=n, p=p / p.sum())
        strike = listed["strike"].to_numpy()[pick]
        years = listed["years"].to_numpy()[pick] + (14 * 3600 - frac * 86_400.0) / SECONDS_PER_YEAR
        is_call = rng.uniform(size=n) < CALL_SHARE
        buy_p = np.where(is_call, np.where(strike > index, CALL_BUY_ABOVE_SPOT, CALL_BUY_ELSEWHERE), PUT_BUY)
        buy = rng.uniform(size=n) < buy_p
        amount = np.clip(np.round(np.exp(np.log(SIZE_MEDIAN_BTC) + SIZE_SIGMA * rng.normal(size=n)), 1), 0.1, SIZE_CAP_BTC)
        forward = index * np.exp(basis_per_year * years)
        iv = surface(years, np.log(strike / forward), vol_shift)
        side = np.where(is_call, "C", "P")
        mark = np.maximum(price(forward, strike, years, iv, side_sign(side)) / forward, 0.0)
        tick = np.where(mark < 0.005, 0.0001, 0.0005)
        paid = np.maximum(np.round(mark * np.where(buy, 1.02, 0.98) / tick) * tick, 0.0001)
        codes = listed["code"].to_numpy()[pick]
        for k in range(n):
            out.append({"trade_id": str(next_id + k), "instrument_name": f"BTC-{codes[k]}-{int(strike[k])}-{side[k]}",
                        "direction": "buy" if buy[k] else "sell", "amount": float(amount[k]),
                        "contracts": float(amount[k]), "price": round(float(paid[k]), 4),
                        "timestamp": int(ms[k]), "iv": round(float(iv[k]) * 100.0, 2),
                        "index_price": round(float(index[k]), 2)})
        next_id += n
    return out


def btc_trades_json(days: dict[dt.date, tuple[float, float, float]], seed: int, **model: Any) -> tuple[str, str]:
    """(file name, text) of the demo trades file (one trade a line, for readable diffs); ``model`` as
    :func:`btc_trades` takes it."""
    trades = btc_trades(days, seed, **model)
    meta = {"source": "deribit", "kind": "trades", "currency": "BTC", "start": TRADES_START.isoformat(),
            "end": TRADES_END.isoformat(), "synthetic": True}
    lines = ",\n".join(json.dumps(t, separators=(",", ":")) for t in trades)
    text = ('{"jsonrpc":"2.0","mmpos":' + json.dumps(meta, separators=(",", ":"))
            + ',"result":{"has_more":false,"trades":[\n' + lines + "\n]}}\n")
    return trades_file_name("BTC", TRADES_START, TRADES_END), text
