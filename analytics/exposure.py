"""Dealer contracts under a sign convention, gamma exposure (GEX) by strike and by expiry, walls.

The conventions themselves (names, labels, sign rules) live in :mod:`analytics.conventions`.

Units: GEX is in USD per 1% move of the underlying,
``GEX_i = s_i * OI_i * m * gamma_i * U_i**2 * 0.01`` with ``s_i`` the convention's sign, ``m`` the
contract multiplier and ``U_i`` the level the option is priced on (spot, or the expiry's forward under
Black-76). Positive GEX = dealers long gamma (they sell rallies and buy dips).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import conventions


def dealer_contracts(side, open_interest, convention: str = conventions.DEFAULT_CONVENTION,
                     position=None) -> np.ndarray:
    """Signed number of contracts held by dealers, per row: the convention's sign rule.

    Parameters
    ----------
    side : array_like
        +1 for calls, -1 for puts.
    open_interest : array_like
        Open interest in contracts (>= 0).
    convention : str
        A name in :mod:`analytics.conventions` (unknown names raise ScenarioError).
    position : array_like, optional
        Signed contracts per row, required for conventions that need a positions file (NaN counts as 0).

    Examples
    --------
    >>> dealer_contracts([1, -1], [10, 20]).tolist()
    [10.0, -20.0]
    >>> dealer_contracts([1, -1], [10, 20], "dealer-short-all").tolist()
    [-10.0, -20.0]
    """
    rule = conventions.get(convention).sign_rule
    pos = None if position is None else np.asarray(position, dtype=float)
    return rule(np.asarray(side, dtype=float), np.asarray(open_interest, dtype=float), pos)


def gex_usd_per_1pct(gamma, contracts, multiplier, level) -> np.ndarray:
    """Dealer GEX in USD per 1% move: ``contracts * multiplier * gamma * level**2 * 0.01``.

    Examples
    --------
    Barchart's ``gamma * OI * S * S`` for one contract of 100 shares:

    >>> float(gex_usd_per_1pct(0.002, 1, 100, 4700.0))
    44180.0
    """
    level = np.asarray(level, dtype=float)
    return np.asarray(contracts, dtype=float) * np.asarray(multiplier, dtype=float) * np.asarray(
        gamma, dtype=float
    ) * level * level * 0.01


def gex_by_strike(strike, side, gex) -> pd.DataFrame:
    """Sum per-row GEX into call, put and net per strike (ascending strikes)."""
    frame = pd.DataFrame({"strike": np.asarray(strike, float), "side": np.asarray(side, float),
                          "gex": np.asarray(gex, float)})
    frame["call_gex_usd_per_1pct"] = np.where(frame["side"] > 0, frame["gex"], 0.0)
    frame["put_gex_usd_per_1pct"] = np.where(frame["side"] < 0, frame["gex"], 0.0)
    out = frame.groupby("strike", sort=True)[["call_gex_usd_per_1pct", "put_gex_usd_per_1pct"]].sum()
    out["net_gex_usd_per_1pct"] = out["call_gex_usd_per_1pct"] + out["put_gex_usd_per_1pct"]
    return out.reset_index()


def gex_by_strike_expiry(strike, expiry, side, gex) -> pd.DataFrame:
    """Call, put and net GEX per (strike, expiry), sorted by strike then expiry."""
    frame = pd.DataFrame({"strike": np.asarray(strike, float), "expiry": pd.to_datetime(expiry).date
                          if not isinstance(expiry, pd.Series) else expiry.dt.date,
                          "side": np.asarray(side, float), "gex": np.asarray(gex, float)})
    frame["call_gex_usd_per_1pct"] = np.where(frame["side"] > 0, frame["gex"], 0.0)
    frame["put_gex_usd_per_1pct"] = np.where(frame["side"] < 0, frame["gex"], 0.0)
    out = frame.groupby(["strike", "expiry"], sort=True)[["call_gex_usd_per_1pct", "put_gex_usd_per_1pct"]].sum()
    out["net_gex_usd_per_1pct"] = out["call_gex_usd_per_1pct"] + out["put_gex_usd_per_1pct"]
    return out.reset_index()


def walls(by_strike: pd.DataFrame) -> tuple[float | None, float | None]:
    """Call wall = strike of the largest call GEX; put wall = strike of the most negative put GEX.

    Returns None for a wall when no strike has call GEX > 0 (put GEX < 0), e.g. under
    ``dealer-short-all`` there is no positive call GEX.

    Examples
    --------
    >>> df = pd.DataFrame({"strike": [90., 100., 110.], "call_gex_usd_per_1pct": [1., 5., 7.],
    ...                    "put_gex_usd_per_1pct": [-9., -3., 0.]})
    >>> walls(df)
    (110.0, 90.0)
    """
    calls = by_strike["call_gex_usd_per_1pct"].to_numpy(float)
    puts = by_strike["put_gex_usd_per_1pct"].to_numpy(float)
    strikes = by_strike["strike"].to_numpy(float)
    call_wall = float(strikes[int(np.argmax(calls))]) if calls.size and calls.max() > 0 else None
    put_wall = float(strikes[int(np.argmin(puts))]) if puts.size and puts.min() < 0 else None
    return call_wall, put_wall
