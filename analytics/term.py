"""Vega and ATM implied-vol term structure, one row per expiry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.codes import group_medians
from analytics.exposure import expiry_codes
from analytics.smile import otm_iv_by_strike


def atm_iv(strike, iv, side, forward) -> float:
    """ATM implied vol of one expiry: out-of-the-money IVs interpolated linearly at the forward.

    Calls are used at strikes at or above the forward, puts below (the liquid side); where both
    sides quote a strike, the OTM side wins. Returns NaN when the forward lies outside the quoted
    strikes or fewer than one valid IV exists.

    Examples
    --------
    >>> atm_iv([90, 100, 110, 90, 100, 110], [.30, .25, .21, .31, .26, .22], [1, 1, 1, -1, -1, -1], 105.0)
    0.235
    """
    k = np.asarray(strike, float)
    v = np.asarray(iv, float)
    w = np.asarray(side, float)
    f = float(forward)
    otm = np.where(k >= f, w > 0, w < 0)
    ok = otm & np.isfinite(v) & (v > 0)
    if not ok.any():
        ok = np.isfinite(v) & (v > 0)
        if not ok.any():
            return float("nan")
    ks, vs = k[ok], v[ok]
    order = np.argsort(ks, kind="stable")
    ks, vs = ks[order], vs[order]
    uk, first = np.unique(ks, return_index=True)
    counts = np.diff(np.append(first, ks.size))
    uv = np.add.reduceat(vs, first) / counts
    if f < uk[0] or f > uk[-1]:
        return float("nan")
    return round(float(np.interp(f, uk, uv)), 12)


def term_structure(
    expiry: pd.Series,
    days_to_expiry: np.ndarray,
    strike: np.ndarray,
    side: np.ndarray,
    iv: np.ndarray,
    forward: np.ndarray,
    vega_usd_per_vol_pt: np.ndarray,
) -> pd.DataFrame:
    """Per expiry: days to expiry, ATM IV at the forward, net dealer vega (USD per vol point).

    ``vega_usd_per_vol_pt`` is per row, already signed and scaled (dealer contracts x multiplier x
    vega x 0.01). ``days_to_expiry`` is per row (ACT/365 days to settlement; the earliest of an
    expiry's rows is used, i.e. the AM settlement when AM and PM roots share a date). The ATM IV is
    :func:`atm_iv` computed for every expiry at once: OTM IVs averaged per strike, then linear
    interpolation between the two strikes around the forward.
    """
    codes, uniques = expiry_codes(expiry)
    n_exp = len(uniques)
    days = np.asarray(days_to_expiry, float)
    k = np.asarray(strike, float)
    w = np.asarray(side, float)
    v = np.asarray(iv, float)
    fwd_rows = np.asarray(forward, float)
    vega = np.asarray(vega_usd_per_vol_pt, float)

    days_min = np.full(n_exp, np.inf)
    np.minimum.at(days_min, codes, days)
    net_vega = np.bincount(codes, weights=vega, minlength=n_exp)
    dated = codes >= 0
    fwd = group_medians(codes[dated], n_exp, fwd_rows[dated])

    # the smile: OTM IVs averaged per (expiry, strike), sorted (analytics.smile)
    e_idx, k_idx, v_idx = otm_iv_by_strike(codes, k, w, v, fwd)
    atm = np.full(n_exp, np.nan)
    if e_idx.size:
        # position of each forward among its expiry's sorted strikes: one searchsorted on the
        # lexicographic key (expiry code, strike), encoded as code * stride + strike
        exps = np.arange(n_exp)
        starts = np.searchsorted(e_idx, exps, side="left")
        ends = np.searchsorted(e_idx, exps, side="right")
        finite_f = np.where(np.isfinite(fwd), fwd, 0.0)
        stride = 4.0 * (np.abs(k_idx).max() + np.abs(finite_f).max()) + 1.0
        key = e_idx * stride + k_idx
        target = exps * stride + finite_f
        pos = np.searchsorted(key, target, side="left")
        nonempty = ends > starts
        lo = np.clip(pos - 1, 0, e_idx.size - 1)
        hi = np.clip(pos, 0, e_idx.size - 1)
        exact = (pos < ends) & (pos >= starts) & (k_idx[hi] == fwd)
        inside = nonempty & (pos > starts) & (pos < ends)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (fwd - k_idx[lo]) / (k_idx[hi] - k_idx[lo])
            interp = v_idx[lo] + frac * (v_idx[hi] - v_idx[lo])
        atm = np.where(exact, v_idx[hi], np.where(inside, interp, np.nan))
        atm = np.where(nonempty & np.isfinite(fwd), np.round(atm, 12), np.nan)
    out = pd.DataFrame({
        "expiry": list(uniques),
        "days_to_expiry": days_min,
        "atm_iv": atm,
        "net_vega_usd_per_vol_pt": net_vega,
        "forward": fwd,
    })
    return out
