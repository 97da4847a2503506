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
from analytics.codes import pair_key, split_key


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
    """Sum per-row GEX into call, put and net per strike (ascending strikes).

    Examples
    --------
    >>> gex_by_strike([105.0, 100.0, 105.0], [1, -1, -1], [3.0, -2.0, -1.0]).to_dict("list")["net_gex_usd_per_1pct"]
    [-2.0, 2.0]
    """
    return _sum_by_key(np.asarray(strike, float), None, side, gex)


def walls_of_rows(strike, side, gex) -> tuple[float | None, float | None]:
    """:func:`walls` of ``gex_by_strike(strike, side, gex)``, from its sums without building the frame
    (a headline treatment needs the walls only).

    The sums are first added plainly (``np.bincount``): where a side's wall stands out from every
    other strike (and from zero) by more than the two summations can differ (``2 (n + 2) eps`` times
    the sum of the magnitudes added), it is the wall of the compensated sums; else those decide."""
    strike = np.asarray(strike, float)
    quick = _walls_of_plain_sums(strike, side, gex)
    if quick is not None:
        return quick
    return _walls_of_sums(strike, side, gex)


def _walls_of_plain_sums(strike: np.ndarray, side, gex) -> tuple[float | None, float | None] | None:
    """:func:`walls_of_rows` from plain per-strike sums where they settle both walls, else None."""
    codes, values = pd.factorize(strike, sort=True)
    w = np.asarray(side, float)
    g = np.asarray(gex, float)
    kept = codes >= 0  # a missing strike is no group
    if not kept.all():
        codes, w, g = codes[kept], w[kept], g[kept]
    n = len(values)
    if n == 0:
        return None
    slack = 2.0 * (np.bincount(codes, minlength=n) + 2) * np.finfo(float).eps
    out: list[float | None] = []
    for sign, mine in ((1.0, w > 0), (-1.0, w < 0)):  # calls: the largest sum; puts: the most negative
        part = np.where(mine, g, 0.0)
        sums = sign * np.bincount(codes, weights=part, minlength=n)
        error = slack * np.bincount(codes, weights=np.abs(part), minlength=n)
        high = sums + error
        if not (np.isfinite(sums).all() and np.isfinite(error).all()):
            return None
        if not (high > 0).any():  # no strike's sum can be positive: no wall
            out.append(None)
            continue
        top = int(np.argmax(sums))
        low = sums[top] - error[top]
        high[top] = -np.inf
        if not (low > 0 and low > high.max()):
            return None
        out.append(float(values[top]))
    return out[0], out[1]


def _walls_of_sums(strike: np.ndarray, side, gex) -> tuple[float | None, float | None]:
    """:func:`walls_of_rows` from the compensated sums of :func:`gex_by_strike` (the reference)."""
    strikes, calls, puts = _strike_sums(strike, side, gex)
    call_at, put_at = top_wall_positions(calls, puts, 1)
    def first(at: np.ndarray) -> float | None:
        return float(strikes[at[0]]) if at.size and at[0] >= 0 else None

    return first(call_at), first(put_at)


def _strike_sums(strike: np.ndarray, side, gex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascending strikes and their call and put GEX sums: :func:`gex_by_strike`'s columns."""
    out = _key_sums(strike, None, side, gex)
    return out[0], out[2], out[3]


def _sum_by_key(strike: np.ndarray, expiry, side, gex) -> pd.DataFrame:
    """Call, put and net GEX per strike, or per (strike, expiry date) when ``expiry`` is given, sorted."""
    strikes, dates, calls, puts = _key_sums(strike, expiry, side, gex)
    out = pd.DataFrame({"strike": strikes})
    if expiry is not None:
        out["expiry"] = dates
    out["call_gex_usd_per_1pct"] = calls
    out["put_gex_usd_per_1pct"] = puts
    out["net_gex_usd_per_1pct"] = out["call_gex_usd_per_1pct"] + out["put_gex_usd_per_1pct"]
    return out


def _key_sums(strike: np.ndarray, expiry, side, gex):
    """Per strike, or per (strike, expiry date) when ``expiry`` is given, sorted: the strikes, dates
    (None without ``expiry``), and call and put GEX sums.

    pandas' groupby sums (compensated, in row order) over one integer key per group: the numbers of a
    groupby on the strike (and date) columns themselves, without hashing floats and date objects.
    Rows with a missing strike or expiry are left out, as groupby leaves them out.
    """
    k_codes, k_values = pd.factorize(strike, sort=True)
    if expiry is None:
        e_codes, dates = np.zeros_like(k_codes), np.empty(1, dtype=object)
    else:
        e_codes, dates = expiry_codes(expiry)
    n_exp = max(len(dates), 1)
    grouped = (k_codes >= 0) & (e_codes >= 0)
    w = np.asarray(side, float)[grouped]
    g = np.asarray(gex, float)[grouped]
    frame = pd.DataFrame({"call_gex_usd_per_1pct": np.where(w > 0, g, 0.0),
                          "put_gex_usd_per_1pct": np.where(w < 0, g, 0.0)})
    sums = frame.groupby(pair_key(k_codes[grouped], e_codes[grouped], n_exp), sort=True).sum()
    k_at, e_at = split_key(sums.index.to_numpy(), n_exp)
    return (np.asarray(k_values, float)[k_at], None if expiry is None else dates[e_at],
            sums["call_gex_usd_per_1pct"].to_numpy(), sums["put_gex_usd_per_1pct"].to_numpy())


def expiry_codes(expiry) -> tuple[np.ndarray, np.ndarray]:
    """Each row's expiry as a code into its calendar dates, ascending (``-1`` for a missing one).

    The dates are ``datetime.date`` objects (a timezone-aware expiry gives its local date, as
    ``.dt.date`` does); only the distinct dates are converted, not every row.

    Examples
    --------
    >>> codes, dates = expiry_codes(["2024-01-19 16:00", "2024-01-12 09:30", "2024-01-19 09:30"])
    >>> codes.tolist(), [d.isoformat() for d in dates]
    ([1, 0, 1], ['2024-01-12', '2024-01-19'])
    """
    when = pd.to_datetime(expiry if isinstance(expiry, pd.Series) else pd.Series(expiry))
    if when.dt.tz is not None:
        when = when.dt.tz_localize(None)
    codes, days = pd.factorize(when.to_numpy("datetime64[D]"), sort=True)
    return codes, np.array([d.date() for d in pd.DatetimeIndex(days)], dtype=object)


def expiry_strike_key(codes: np.ndarray, strike: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row for its (expiry code, strike) pair, ordered as the pairs sort (expiry, then
    strike), and the distinct strikes it indexes (:func:`key_pairs` reads a key back): a groupby on the
    key has the groups, order and sums (row order within a group) of a groupby on the two columns,
    without building their MultiIndex. ``codes`` >= 0 and ``strike`` without NaN (rows a groupby keeps).

    Examples
    --------
    >>> key, strikes = expiry_strike_key(np.array([1, 0, 1, 1]), np.array([95.0, 100.0, 90.0, 95.0]))
    >>> key.tolist(), strikes.tolist()
    ([4, 2, 3, 4], [90.0, 95.0, 100.0])
    >>> [a.tolist() for a in key_pairs(np.array([2, 3, 4]), strikes)]
    [[0, 1, 1], [100.0, 90.0, 95.0]]
    """
    k_codes, k_values = pd.factorize(np.asarray(strike, float), sort=True)
    return pair_key(codes, k_codes, len(k_values)), np.asarray(k_values, float)


def key_pairs(key: np.ndarray, strikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The expiry codes and strikes of :func:`expiry_strike_key`'s ``key`` values."""
    e_at, k_at = split_key(key, len(strikes))
    return e_at, strikes[k_at]


def gex_by_strike_expiry(strike, expiry, side, gex) -> pd.DataFrame:
    """Call, put and net GEX per (strike, expiry), sorted by strike then expiry (``expiry`` grouped by
    calendar date, :func:`expiry_codes`)."""
    return _sum_by_key(np.asarray(strike, float), expiry, side, gex)


TOP_WALLS = 3  # walls listed per side with their runners-up (the JSON's call_walls/put_walls)


def top_wall_positions(call_gex, put_gex, n: int = TOP_WALLS) -> tuple[np.ndarray, np.ndarray]:
    """Where the walls are along the last axis (strikes, ascending): the positions of the ``n`` largest
    call GEX (> 0) and of the ``n`` most negative put GEX (< 0), strongest first, ties to the lower
    strike; -1 where fewer strikes qualify (NaN never does). Leading axes (e.g. snapshots) are kept:
    ``(..., strikes)`` in, ``(..., min(n, strikes))`` out, each row ranked on its own.

    Examples
    --------
    >>> calls, puts = top_wall_positions([[1., 5., 7.], [0., np.nan, 2.]], [[-9., -3., 0.], [0., 0., 0.]], 2)
    >>> calls.tolist(), puts.tolist()
    ([[2, 1], [2, -1]], [[0, 1], [-1, -1]])
    """
    def top(key: np.ndarray) -> np.ndarray:
        # the n most negative keys (< 0 only); a stable sort over ascending strikes gives ties to the lower
        key = np.where(key < 0, key, np.inf)  # NaN < 0 is False: never a wall
        if n == 1 and key.shape[-1]:  # argmin takes the first of equal keys: the same rule without the sort
            order = np.argmin(key, axis=-1, keepdims=True)
        else:
            order = np.argsort(key, axis=-1, kind="stable")[..., :n]
        return np.where(np.take_along_axis(key, order, axis=-1) < np.inf, order, -1)

    return top(-np.asarray(call_gex, dtype=float)), top(np.asarray(put_gex, dtype=float))


def top_walls(by_strike: pd.DataFrame, n: int = TOP_WALLS) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The ``n`` strikes with the largest call GEX (> 0) and the ``n`` with the most negative put GEX
    (< 0), strongest first, as ``(strike, GEX)``; ties go to the lower strike (:func:`top_wall_positions`).
    The first of each is the wall (:func:`walls`); the second its runner-up.

    Examples
    --------
    >>> df = pd.DataFrame({"strike": [90., 100., 110.], "call_gex_usd_per_1pct": [1., 5., 7.],
    ...                    "put_gex_usd_per_1pct": [-9., -3., 0.]})
    >>> top_walls(df, 2)
    ([(110.0, 7.0), (100.0, 5.0)], [(90.0, -9.0), (100.0, -3.0)])
    """
    strikes = by_strike["strike"].to_numpy(float)
    calls = by_strike["call_gex_usd_per_1pct"].to_numpy(float)
    puts = by_strike["put_gex_usd_per_1pct"].to_numpy(float)
    call_at, put_at = top_wall_positions(calls, puts, n)
    return ([(float(strikes[i]), float(calls[i])) for i in call_at if i >= 0],
            [(float(strikes[i]), float(puts[i])) for i in put_at if i >= 0])


def walls(by_strike: pd.DataFrame) -> tuple[float | None, float | None]:
    """Call wall = strike of the largest call GEX; put wall = strike of the most negative put GEX
    (the first of :func:`top_walls`).

    Returns None for a wall when no strike has call GEX > 0 (put GEX < 0), e.g. under
    ``dealer-short-all`` there is no positive call GEX.

    Examples
    --------
    >>> df = pd.DataFrame({"strike": [90., 100., 110.], "call_gex_usd_per_1pct": [1., 5., 7.],
    ...                    "put_gex_usd_per_1pct": [-9., -3., 0.]})
    >>> walls(df)
    (110.0, 90.0)
    """
    calls, puts = top_walls(by_strike, 1)
    return (calls[0][0] if calls else None), (puts[0][0] if puts else None)


# --- vanna and charm exposure by strike ---------------------------------------------------------
# Same pattern as GEX: dealer-signed contracts x multiplier x greek, scaled to a change in dealers'
# dollar delta (delta in units of the underlying x the level U_i the option is written on).


def vanna_usd_per_vol_pt(vanna, contracts, multiplier, level) -> np.ndarray:
    """Dealer vanna exposure: USD delta change per +1 vol point, ``contracts * m * vanna * 0.01 * U``.

    ``vanna`` is d(delta)/d(vol) per 1.00 of volatility (:func:`analytics.pricing.greeks`); times 0.01
    it is the change in delta (units of the underlying) for one vol point, times ``U`` (spot, or the
    expiry's forward under Black-76) a dollar-delta change. Positive = dealers' delta rises when IV
    rises by one point (they then sell that many USD of the underlying to stay hedged).

    Examples
    --------
    One SPX contract (x100) with vanna 0.5 per 1.00 vol at a level of 4,700:

    >>> float(vanna_usd_per_vol_pt(0.5, 1, 100, 4700.0))
    2350.0
    """
    return np.asarray(contracts, dtype=float) * np.asarray(multiplier, dtype=float) * np.asarray(
        vanna, dtype=float
    ) * 0.01 * np.asarray(level, dtype=float)


def charm_usd_per_day(charm, contracts, multiplier, level) -> np.ndarray:
    """Dealer charm exposure: USD delta change per calendar day, ``contracts * m * charm / 365 * U``.

    ``charm`` is the delta an option gains as one year of calendar time passes
    (:func:`analytics.pricing.greeks`); divided by 365 it is the delta change (units of the underlying)
    over one day at unchanged spot and IV, times ``U`` a dollar-delta change. Positive = dealers' delta
    rises overnight (their hedge flow is the opposite sign: they sell).

    Examples
    --------
    >>> float(charm_usd_per_day(-0.73, 10, 100, 4700.0))
    -9400.0
    """
    return np.asarray(contracts, dtype=float) * np.asarray(multiplier, dtype=float) * np.asarray(
        charm, dtype=float
    ) / 365.0 * np.asarray(level, dtype=float)


def vanna_charm_by_strike(positions, factor: float = 1.0) -> pd.DataFrame:
    """Call, put and net dealer vanna and charm exposure per strike, from the pricing engine.

    Parameters
    ----------
    positions : analytics.scenarios.Positions
        The dealer's options (``analytics.report.positions_from_prepared``): level, strike, years, iv,
        side, rate, carry and ``weight`` = dealer-signed contracts x multiplier.
    factor : float, default 1.0
        Spot factor ``S1 / S0`` at which to evaluate (every level scaled by it, IVs kept).

    Returns
    -------
    pandas.DataFrame
        Ascending ``strike`` and ``call_/put_/net_vanna_usd_per_vol_pt`` (USD delta change per +1 vol
        point, :func:`vanna_usd_per_vol_pt`) and ``call_/put_/net_charm_usd_per_day`` (USD delta change
        per calendar day, :func:`charm_usd_per_day`).

    Examples
    --------
    Dealers long 1 at-the-money 3-month call on 100 shares (20% vol, r = q = 0): vanna is
    ``-pdf(d1) d2 / sigma = 0.0996`` per 1.00 vol, so +1 vol point adds 0.0996 shares = $9.96 of delta.

    >>> from analytics.scenarios import Positions
    >>> one = np.ones(1)
    >>> pos = Positions(spot=100.0, level=100 * one, strike=100 * one, years=0.25 * one, iv=0.2 * one,
    ...                 side=one, rate=0 * one, carry=0 * one, weight=100 * one)
    >>> vanna_charm_by_strike(pos).round(2).to_dict("records")[0]["net_vanna_usd_per_vol_pt"]
    9.96
    """
    from analytics import pricing  # kept local: the module's imports belong to the convention code

    level = np.asarray(positions.level, dtype=float) * float(factor)
    g = pricing.greeks(level, positions.strike, positions.years, positions.iv, positions.side,
                       positions.rate, positions.carry)
    weight = np.asarray(positions.weight, dtype=float)
    per_row = {
        "vanna_usd_per_vol_pt": vanna_usd_per_vol_pt(g.vanna, weight, 1.0, level),
        "charm_usd_per_day": charm_usd_per_day(g.charm, weight, 1.0, level),
    }
    side = np.asarray(positions.side, dtype=float)
    frame = pd.DataFrame({"strike": np.asarray(positions.strike, dtype=float)})
    cols = []
    for name, values in per_row.items():
        frame[f"call_{name}"] = np.where(side > 0, values, 0.0)
        frame[f"put_{name}"] = np.where(side < 0, values, 0.0)
        cols += [f"call_{name}", f"put_{name}"]
    out = frame.groupby("strike", sort=True)[cols].sum()
    for name in per_row:
        out[f"net_{name}"] = out[f"call_{name}"] + out[f"put_{name}"]
    order = [f"{part}_{name}" for name in per_row for part in ("call", "put", "net")]
    return out[order].reset_index()
