"""Vega and ATM implied-vol term structure, one row per expiry."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    vega x 0.01). ``days_to_expiry`` is per row (ACT/365 days to settlement; the first of an
    expiry's rows is used, i.e. the earliest settlement when AM and PM roots share a date).
    """
    frame = pd.DataFrame({
        "expiry": pd.to_datetime(expiry).dt.date.to_numpy(),
        "days": np.asarray(days_to_expiry, float),
        "strike": np.asarray(strike, float),
        "side": np.asarray(side, float),
        "iv": np.asarray(iv, float),
        "forward": np.asarray(forward, float),
        "vega": np.asarray(vega_usd_per_vol_pt, float),
    })
    grouped = frame.groupby("expiry", sort=True)
    out = grouped.agg(days_to_expiry=("days", "min"), net_vega_usd_per_vol_pt=("vega", "sum"),
                      forward=("forward", "median"))
    atm = {
        exp: atm_iv(g["strike"].to_numpy(), g["iv"].to_numpy(), g["side"].to_numpy(), float(g["forward"].median()))
        for exp, g in grouped
    }
    out["atm_iv"] = pd.Series(atm)
    out = out.reset_index()
    return out[["expiry", "days_to_expiry", "atm_iv", "net_vega_usd_per_vol_pt", "forward"]]
