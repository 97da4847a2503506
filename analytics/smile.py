"""The volatility smile of each expiry and its 25-delta risk reversal and butterfly.

The smile is one implied vol per (expiry, strike): the out-of-the-money side's IV (calls at strikes at
or above the expiry's forward ``F``, puts below; the mean where two roots quote one strike, e.g. SPX
and SPXW), falling back to any valid IV for an expiry with no OTM quote. It is read from the IVs the
analysis prices with (the IV policy in force, :mod:`analytics.prepare`); :func:`analytics.term.atm_iv`
is the same smile interpolated at ``F``.

Each smile point carries its Black-76 forward call delta ``N(d1)`` with
``d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt T)`` (:func:`analytics.pricing.d1` and
:func:`analytics.pricing.norm_cdf`); the put delta is ``N(d1) - 1``. The 25-delta call is where
``N(d1) = 0.25`` and the 25-delta put where ``N(d1) - 1 = -0.25``; their IVs are interpolated linearly
in delta between the two quoted strikes around that delta, never extrapolated: a 25-delta point beyond
the quoted strikes leaves the risk reversal and butterfly NaN with the reason in a note.

* ``rr25_vol_pts = 100 (iv_25d_call - iv_25d_put)`` (vol points; negative = puts bid over calls)
* ``bf25_vol_pts = 100 ((iv_25d_call + iv_25d_put) / 2 - atm_iv)`` (vol points)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics import pricing
from analytics.exposure import expiry_codes, expiry_strike_key, key_pairs

DELTA_25 = 0.25


def otm_iv_by_strike(codes, strike, side, iv, forward_by_code) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The smile's points for every expiry at once: (expiry code, strike, IV), sorted by code then strike.

    ``codes`` index ``forward_by_code`` (each expiry's forward). Per expiry, the OTM side's valid IVs
    (finite, > 0) averaged per strike; an expiry with no valid OTM IV uses every valid IV.

    Examples
    --------
    >>> e, k, v = otm_iv_by_strike([0, 0, 0, 0], [90, 110, 90, 110], [1, 1, -1, -1], [.3, .2, .32, .22], [100.0])
    >>> k.tolist(), v.tolist()
    ([90.0, 110.0], [0.32, 0.2])
    """
    codes = np.asarray(codes)
    k = np.asarray(strike, float)
    w = np.asarray(side, float)
    v = np.asarray(iv, float)
    fwd = np.asarray(forward_by_code, float)
    n_exp = fwd.size
    valid = np.isfinite(v) & (v > 0) & (codes >= 0)
    f_row = fwd[np.where(codes >= 0, codes, 0)]
    otm = valid & np.where(k >= f_row, w > 0, w < 0)
    has_otm = np.bincount(codes[otm], minlength=n_exp) > 0
    use = otm | (valid & ~has_otm[np.where(codes >= 0, codes, 0)])
    key, strikes = expiry_strike_key(codes[use], k[use])
    per = pd.Series(v[use]).groupby(key, sort=True).mean()
    e, k_per = key_pairs(per.index.to_numpy(), strikes)
    return e, k_per, per.to_numpy(float)


def smile(expiry, strike, side, iv, forward: Mapping | pd.Series, years: Mapping | pd.Series) -> pd.DataFrame:
    """Each expiry's smile: strike, log-moneyness ``ln(K/F)``, IV and Black-76 forward call delta.

    Parameters
    ----------
    expiry, strike, side, iv : array_like
        Per row: expiry (grouped by calendar date, :func:`analytics.exposure.expiry_codes`), strike,
        +1 call / -1 put, and the IV the analysis prices with (decimal).
    forward, years : mapping
        Per expiry date (``datetime.date``): the forward ``F`` and the ACT/365 years to settlement
        (e.g. columns of :func:`analytics.term.term_structure`). An expiry missing from either, or
        with a non-finite value, keeps its points with NaN log-moneyness and delta.

    Returns
    -------
    pandas.DataFrame
        One row per (expiry, strike), sorted: ``expiry``, ``strike``, ``log_moneyness`` (``ln(K/F)``),
        ``iv`` (decimal, the OTM side's, :func:`otm_iv_by_strike`) and ``call_delta`` (``N(d1)``,
        forward delta, undiscounted).

    Examples
    --------
    A flat 20% smile one year out on a forward of 100: the call at 100 has ``N(sigma/2) = N(0.1)``.

    >>> import datetime as dt
    >>> d = dt.date(2025, 1, 17)
    >>> s = smile([d, d, d], [90.0, 100.0, 110.0], [-1, 1, 1], [.2, .2, .2], {d: 100.0}, {d: 1.0})
    >>> s[["strike", "iv"]].to_dict("list"), round(float(s["call_delta"][1]), 6)
    ({'strike': [90.0, 100.0, 110.0], 'iv': [0.2, 0.2, 0.2]}, 0.539828)
    """
    codes, dates = expiry_codes(expiry)
    fwd = np.array([_get(forward, d) for d in dates], dtype=float)
    t = np.array([_get(years, d) for d in dates], dtype=float)
    e, k, v = otm_iv_by_strike(codes, strike, side, iv, fwd)
    f_pt, t_pt = fwd[e], t[e]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(k / f_pt)
        d_1 = pricing.d1(-x, 0.0, v * np.sqrt(t_pt))
    ok = np.isfinite(d_1)
    call_delta = np.full(e.size, np.nan)
    call_delta[ok] = pricing.norm_cdf(d_1[ok])
    return pd.DataFrame({"expiry": dates[e] if e.size else np.array([], dtype=object), "strike": k,
                         "log_moneyness": x, "iv": v, "call_delta": call_delta})


def _get(mapping: Mapping | pd.Series, key) -> float:
    value = mapping.get(key, np.nan)
    return float(value) if value is not None else np.nan


def wings_25d(smile_points: pd.DataFrame, atm_iv: Mapping | pd.Series) -> pd.DataFrame:
    """25-delta call and put IVs, risk reversal and butterfly per expiry of a :func:`smile`.

    For each expiry the smile's strikes are walked in order and the adjacent pair whose call deltas
    bracket the target (0.25 for the call, 0.75 = put delta -0.25 for the put) gives the IV by linear
    interpolation in delta; where several pairs bracket it (a wing whose delta turns back), the pair
    nearest the forward. No bracketing pair (the 25-delta point lies beyond the quoted strikes, or fewer
    than two strikes carry a delta): NaN, never extrapolated, with the reason in ``rr25_note``.

    Parameters
    ----------
    smile_points : pandas.DataFrame
        :func:`smile`'s table (``expiry``, ``strike``, ``log_moneyness``, ``iv``, ``call_delta``), sorted
        by expiry then strike.
    atm_iv : mapping
        Per expiry date: the ATM IV (decimal, :func:`analytics.term.atm_iv`), for the butterfly.

    Returns
    -------
    pandas.DataFrame
        One row per expiry: ``expiry``, ``iv_25d_call``, ``iv_25d_put`` (decimals), ``strike_25d_call``,
        ``strike_25d_put`` (interpolated in delta alike), ``rr25_vol_pts``, ``bf25_vol_pts``, and
        ``rr25_note`` / ``bf25_note`` (missing, or why the value is NaN: both 25-delta points' reasons
        when both are missing).

    Examples
    --------
    One year out on a forward of 100: a flat 20% smile has no risk reversal and no butterfly; a smile
    falling from 26% at 70 to 18% at 130 has puts about 4 vol points over calls at 25 delta.

    >>> import datetime as dt
    >>> d = dt.date(2025, 1, 17)
    >>> k = [70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0]
    >>> sides = [-1, -1, -1, 1, 1, 1, 1]
    >>> flat = wings_25d(smile([d] * 7, k, sides, [.2] * 7, {d: 100.0}, {d: 1.0}), {d: 0.20})
    >>> round(float(flat["rr25_vol_pts"][0]), 12), round(float(flat["bf25_vol_pts"][0]), 12)
    (0.0, 0.0)
    >>> s = smile([d] * 7, k, sides, [.26, .24, .22, .20, .19, .18, .18], {d: 100.0}, {d: 1.0})
    >>> w = wings_25d(s, {d: 0.20})
    >>> round(float(w["rr25_vol_pts"][0]), 2), round(float(w["bf25_vol_pts"][0]), 2), w["rr25_note"][0]
    (-3.99, 0.43, None)
    """
    codes, dates = pd.factorize(smile_points["expiry"], sort=False)
    n_exp = len(dates)
    k = smile_points["strike"].to_numpy(float)
    x = smile_points["log_moneyness"].to_numpy(float)
    v = smile_points["iv"].to_numpy(float)
    cd = smile_points["call_delta"].to_numpy(float)
    out = {"expiry": np.asarray(dates, dtype=object)}
    notes = np.full(n_exp, None, dtype=object)
    for name, target in (("call", DELTA_25), ("put", 1.0 - DELTA_25)):
        iv_at, k_at, found = _at_delta(codes, n_exp, k, x, v, cd, target)
        out[f"iv_25d_{name}"] = iv_at
        out[f"strike_25d_{name}"] = k_at
        reason = _why_missing(codes, n_exp, cd, name, target)
        missing = np.array([n is None for n in notes])
        notes = np.where(found, notes, np.where(missing, reason, notes.astype(str) + "; " + reason)).astype(object)
    atm = np.array([_get(atm_iv, d) for d in dates], dtype=float)
    rr = 100.0 * (out["iv_25d_call"] - out["iv_25d_put"])
    bf = 100.0 * (0.5 * (out["iv_25d_call"] + out["iv_25d_put"]) - atm)
    no_atm = "no ATM IV (the forward lies outside the quoted strikes)"
    bf_notes = notes.copy()
    bf_notes[np.isfinite(rr)] = None
    bf_notes[np.isfinite(rr) & ~np.isfinite(atm)] = no_atm
    return pd.DataFrame({**out, "rr25_vol_pts": rr, "bf25_vol_pts": bf,
                         "rr25_note": notes.astype(object), "bf25_note": bf_notes.astype(object)})


def _at_delta(codes, n_exp, k, x, v, cd, target):
    """IV and strike at call delta ``target`` per expiry (NaN where no adjacent pair brackets it)."""
    same = codes[1:] == codes[:-1]
    a, b = cd[:-1] - target, cd[1:] - target
    with np.errstate(invalid="ignore"):
        brackets = same & np.isfinite(a) & np.isfinite(b) & (a * b <= 0)
    j = np.flatnonzero(brackets)
    iv_at = np.full(n_exp, np.nan)
    k_at = np.full(n_exp, np.nan)
    if j.size:
        # per expiry, the bracketing pair nearest the forward (smallest |mid log-moneyness|)
        dist = np.abs(x[j] + x[j + 1])
        order = np.lexsort((dist, codes[j]))
        j = j[order]
        j = j[np.unique(codes[j], return_index=True)[1]]
        span = cd[j + 1] - cd[j]
        frac = np.divide(target - cd[j], span, out=np.zeros(j.size), where=span != 0)
        iv_at[codes[j]] = v[j] + frac * (v[j + 1] - v[j])
        k_at[codes[j]] = k[j] + frac * (k[j + 1] - k[j])
    return iv_at, k_at, np.isfinite(iv_at)


def _why_missing(codes, n_exp, cd, name, target) -> np.ndarray:
    """Per expiry, why no pair of quoted strikes brackets call delta ``target`` (the 25-delta ``name``)."""
    has = np.isfinite(cd)
    count = np.bincount(codes[has], minlength=n_exp)
    lo = np.full(n_exp, np.inf)
    hi = np.full(n_exp, -np.inf)
    np.minimum.at(lo, codes[has], cd[has])
    np.maximum.at(hi, codes[has], cd[has])
    # call delta falls as the strike rises: every delta above the target puts the point above the
    # highest strike, every delta below it below the lowest
    return np.array([
        f"the 25-delta {name} needs two strikes with an IV and a forward ({c} here)" if c < 2 else
        f"the 25-delta {name} lies {'above the highest' if a > target else 'below the lowest'} quoted strike "
        f"(call deltas quoted {a:.2f} to {b:.2f}): not extrapolated"
        for a, b, c in zip(lo, hi, count, strict=True)], dtype=object)
