"""Forward and discount factor per expiry from the chain itself (put-call parity).

For European options on one expiry, ``C(K) - P(K) = D (F - K)``: regressing the mid-price difference
on the strike gives ``D = -slope`` and ``F = intercept / D``. The CBOE VIX white paper's forward rule
(``F = K0 + e^{rT} (C - P)`` at the strike where ``|C - P|`` is smallest) is the one-strike version of
it with a given rate; the regression estimates the rate too.

Robustness, per expiry:

* only strikes quoted on both sides (bid > 0 and ask > 0 for the call and the put of the same root);
* a band around the at-the-money strike ``K0`` (smallest ``|C - P|``): two straddle-implied standard
  deviations in log strike, widened to at least ``MIN_PARITY_STRIKES`` strikes (deep in-the-money quotes
  are wide, stale, or carry early-exercise value);
* weights ``1 / spread`` on the residuals (spread of ``C - P`` = call spread + put spread);
* a Theil-Sen start, then weighted least squares on the strikes whose residual is within
  ``OUTLIER_MADS`` median absolute deviations, repeated until the inlier set is stable.

A short expiry's slope says little about ``D`` (``rT`` is a few basis points): below
``DISCOUNT_MIN_YEARS`` (when longer expiries exist), or where a fit's rate exceeds ``MAX_ABS_RATE``,
``D`` comes from the median rate of the fits from ``DISCOUNT_MIN_YEARS`` to a year (else the given
rate) and only ``F`` is fitted.

Where fewer than ``MIN_PARITY_STRIKES`` strikes are two-sided, or the estimate leaves the sanity
bounds (``0 < D <= MAX_DISCOUNT``, ``|ln(F/S)| <= BASIS_BOUND_BASE + BASIS_BOUND_PER_YEAR * T``), the
expiry falls back to spot with the given rate and yield: ``F = S e^{(r - q) T}``, ``D = e^{-r T}``.
"""

from __future__ import annotations

import threading
import weakref
from typing import Literal

import numpy as np
import pandas as pd

from analytics.chain import OptionChain

MIN_PARITY_STRIKES = 5  # fewer two-sided strikes than this: fall back to spot
BAND_STDEVS = 2.0  # half-width of the strike band, in straddle-implied standard deviations of ln K
OUTLIER_MADS = 4.0  # residuals beyond this many (scaled) MADs are dropped before the final fit
MAX_DISCOUNT = 1.5
DISCOUNT_MIN_YEARS = 1 / 12  # shorter expiries take D from the longer ones' rate; only F is fitted
MAX_ABS_RATE = 0.25  # a fitted rate beyond this is slope noise: D is taken from the term structure
BASIS_BOUND_BASE = 0.10  # |ln(F/S)| allowed at T = 0 ...
BASIS_BOUND_PER_YEAR = 0.20  # ... plus this much per year to expiry
FORWARD_BASIS_TOLERANCE = 0.002  # forward vs spot beyond carry by more than this: stale spot or dividend
BASIS_FIT_YEARS = 0.25  # expiries whose ln(F/S) is fitted by a line in T (beyond: curved rate/dividend terms)
THEIL_SEN_MAX_POINTS = 400  # above this, the start's slopes come from an evenly spaced subset (pairs grow as n^2)

ForwardMethod = Literal["parity", "fallback", "spot-carry", "exchange"]
FORWARD_COLUMNS: tuple[str, ...] = ("expiry", "years", "forward", "discount", "implied_rate",
                                    "forward_basis_pct", "n_strikes", "method", "discount_fixed")


def theil_sen(x, y) -> tuple[float, float]:
    """Median of the pairwise slopes and the median intercept: a line that ignores up to ~29% outliers.

    The slopes are those of every pair of points up to ``THEIL_SEN_MAX_POINTS`` points, else of every
    pair of an evenly spaced subset of that many (every ``ceil(n / THEIL_SEN_MAX_POINTS)``-th point), so
    the cost stays linear in a chain's size; the intercept's median takes every point.

    Examples
    --------
    >>> theil_sen([0.0, 1, 2, 3, 4], [1.0, 3, 5, 100, 9])
    (2.0, 1.0)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    step = max(1, -(-x.size // THEIL_SEN_MAX_POINTS))
    i, j = (step * ij for ij in np.triu_indices(len(x[::step]), k=1))
    dx = x[j] - x[i]
    ok = dx != 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok]))
    return slope, float(np.median(y - slope * x))


def parity_fit(strike, call_mid, put_mid, spread, discount: float | None = None) -> tuple[float, float, int]:
    """Robust weighted fit of ``C - P = D (F - K)`` on one expiry's two-sided strikes.

    Parameters
    ----------
    strike, call_mid, put_mid : array_like
        One entry per (root, strike) pair quoted on both sides.
    spread : array_like
        Bid-ask spread of ``C - P`` (call spread + put spread), > 0; residual weights are ``1 / spread``.
    discount : float, optional
        A known discount factor: only ``F`` is fitted (a short expiry's slope is too noisy to give ``D``).

    Returns
    -------
    (forward, discount, n_used)
        NaN forward and discount where fewer than ``MIN_PARITY_STRIKES`` strikes are usable.

    Examples
    --------
    >>> k = np.array([90.0, 95, 100, 105, 110])
    >>> f, d, n = parity_fit(k, 0.99 * np.maximum(101 - k, 0) + 2, 0.99 * np.maximum(k - 101, 0) + 2,
    ...                      np.full(5, 0.1))
    >>> round(f, 6), round(d, 6), n
    (101.0, 0.99, 5)
    """
    k = np.asarray(strike, dtype=float)
    y = np.asarray(call_mid, dtype=float) - np.asarray(put_mid, dtype=float)
    spread = np.asarray(spread, dtype=float)
    ok = np.isfinite(k) & np.isfinite(y) & np.isfinite(spread)
    k, y, spread = k[ok], y[ok], np.maximum(spread[ok], 1e-12)
    if np.unique(k).size < MIN_PARITY_STRIKES:
        return np.nan, np.nan, 0
    # band around the at-the-money strike, BAND_STDEVS straddle-implied standard deviations wide:
    # C + P at K0 ~ D K0 sigma sqrt(T) sqrt(2 / pi)
    i0 = int(np.argmin(np.abs(y)))
    k0 = k[i0]
    straddle = np.asarray(call_mid, dtype=float)[ok][i0] + np.asarray(put_mid, dtype=float)[ok][i0]
    sd = straddle / k0 * np.sqrt(np.pi / 2.0)
    dist = np.abs(np.log(k / k0))
    half_width = max(BAND_STDEVS * sd, np.sort(np.unique(dist))[MIN_PARITY_STRIKES - 1])
    band = dist <= half_width * (1 + 1e-12)
    k, y, spread = k[band], y[band], spread[band]
    # Theil-Sen start (median with a known slope), then inverse-spread weighted least squares on the
    # inliers until the inlier set is stable
    if discount is None:
        slope, intercept = theil_sen(k, y)
    else:
        slope, intercept = -float(discount), float(np.median(y + discount * k))
    inlier = np.ones(k.size, dtype=bool)
    for _ in range(5):
        resid = (y - (intercept + slope * k)) / spread
        med = np.median(resid[inlier])
        mad = 1.4826 * np.median(np.abs(resid[inlier] - med))
        tol = OUTLIER_MADS * mad + 1e-9 * (1.0 + np.abs(y).max() / spread.min())
        new = np.abs(resid - med) <= tol
        if np.unique(k[new]).size < MIN_PARITY_STRIKES:
            new = inlier
        w2 = spread[new] ** -2.0  # least squares on residuals / spread
        if discount is None:
            slope, intercept = _weighted_line(k[new], y[new], w2)
        else:
            intercept = float(np.average(y[new] - slope * k[new], weights=w2))
        if np.array_equal(new, inlier):
            break
        inlier = new
    discount = -float(slope)
    forward = float(intercept) / discount if discount != 0 else np.nan
    return forward, discount, int(np.unique(k[inlier]).size)


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Slope and intercept minimising ``sum w (y - a - b x)^2`` (closed form, centred; ``np.polyfit``'s
    answer with weights ``sqrt(w)`` at a tenth of its overhead)."""
    sw = w.sum()
    xm, ym = (w @ x) / sw, (w @ y) / sw
    dx = x - xm
    slope = float((w * dx) @ (y - ym) / ((w * dx) @ dx))
    return slope, float(ym - slope * xm)


def two_sided_pairs(chain: OptionChain) -> pd.DataFrame:
    """Call and put of the same (root, expiry, strike) both quoted (bid > 0, ask >= bid): mids and spread.

    One row per pair, sorted by root, expiry and strike: ``years`` (the call's), ``call_mid``,
    ``put_mid`` and ``spread`` (call spread + put spread). A contract quoted on several rows takes the
    mean of its rows.
    """
    rows = chain.rows
    keys = ["root", "expiry", "strike"]
    bid, ask = rows["bid"].to_numpy(float), rows["ask"].to_numpy(float)
    quoted = (bid > 0) & (ask > 0) & (ask >= bid)
    empty = pd.DataFrame(columns=[*keys, "years", "call_mid", "put_mid", "spread"])
    if not quoted.any():  # no quotes at all (e.g. a table with IVs only): every expiry falls back
        return empty
    q = rows.loc[quoted, keys]
    bid, ask = bid[quoted], ask[quoted]
    values = {"years": chain.years_to_settlement()[quoted], "mid": 0.5 * (bid + ask), "spread": ask - bid}
    is_call = (rows["side"].to_numpy() == "C")[quoted]
    # groups of (root, expiry, strike) in sorted order: the order pandas' pivot_table gives
    root_codes, _ = pd.factorize(q["root"], sort=True)
    expiry, strike = q["expiry"].to_numpy(), q["strike"].to_numpy(float)
    order = np.lexsort((strike, expiry, root_codes))
    sorted_keys = (root_codes[order], expiry[order], strike[order])
    starts = np.ones(order.size, dtype=bool)
    for k in sorted_keys:
        starts[1:] &= k[1:] == k[:-1]
    starts = ~starts
    starts[0] = True
    group = np.empty(order.size, dtype=np.intp)
    group[order] = np.cumsum(starts) - 1
    n_groups = int(starts.sum())
    count = {side: np.bincount(group[mask], minlength=n_groups) for side, mask in (("C", is_call), ("P", ~is_call))}
    if max(count["C"].max(), count["P"].max()) > 2:  # a mean of 3+ rows: pandas' compensated sum, exactly
        return _two_sided_pairs_by_pivot(q.assign(side=np.where(is_call, "C", "P"), **values), keys, empty)

    def mean(side: str, name: str) -> np.ndarray:
        mask = is_call if side == "C" else ~is_call
        with np.errstate(invalid="ignore"):
            return np.bincount(group[mask], weights=values[name][mask], minlength=n_groups) / count[side]

    both = (count["C"] > 0) & (count["P"] > 0)
    first = order[starts][both]
    out = q.iloc[first].reset_index(drop=True)
    out["years"] = mean("C", "years")[both]
    out["call_mid"] = mean("C", "mid")[both]
    out["put_mid"] = mean("P", "mid")[both]
    out["spread"] = (mean("C", "spread") + mean("P", "spread"))[both]
    return out


def _two_sided_pairs_by_pivot(q: pd.DataFrame, keys: list[str], empty: pd.DataFrame) -> pd.DataFrame:
    wide = q.pivot_table(index=keys, columns="side", values=["mid", "spread", "years"], aggfunc="mean")
    if "C" not in wide["mid"] or "P" not in wide["mid"]:
        return empty
    return pd.DataFrame({
        "years": wide["years"]["C"], "call_mid": wide["mid"]["C"], "put_mid": wide["mid"]["P"],
        "spread": wide["spread"]["C"] + wide["spread"]["P"],
    }).dropna().reset_index()


def expiry_forwards(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0) -> pd.DataFrame:
    """Forward and discount factor of every expiry of ``chain`` from put-call parity.

    Parameters
    ----------
    chain : OptionChain
        A chain with bid and ask prices (roots of the same expiry date are pooled; AM and PM settlement
        of one day differ by hours of carry).
    rate, div_yield : float
        Continuously compounded, decimals: the fallback ``F = S e^{(r - q) T}``, ``D = e^{-r T}``.

    Returns
    -------
    DataFrame
        One row per expiry (ascending): ``expiry``, ``years`` (ACT/365 to the latest settlement of the
        day), ``forward``, ``discount``, ``implied_rate`` (``-ln(D) / T``), ``forward_basis_pct``
        (``100 (F/S - 1)``), ``n_strikes`` used in the fit, ``method`` (``"parity"`` or ``"fallback"``),
        ``discount_fixed`` (True where ``D`` came from the reference rate and only ``F`` was fitted).
    """
    spot = float(chain.spot)
    rows = chain.rows
    years_all = pd.Series(chain.years_to_settlement(), index=rows.index)
    exp_years = years_all.groupby(rows["expiry"]).max()
    pairs = two_sided_pairs(chain)
    columns = pairs[["strike", "call_mid", "put_mid", "spread"]].to_numpy(float)
    by_expiry = {e: columns[i] for e, i in pairs.groupby("expiry").indices.items()} if len(pairs) else {}

    def fit(expiry, t, discount=None):
        p = by_expiry.get(expiry)
        f, d, n = (np.nan, np.nan, 0) if p is None else parity_fit(*p.T, discount)
        sane = (np.isfinite(f) and np.isfinite(d) and 0 < d <= MAX_DISCOUNT and f > 0
                and abs(np.log(f / spot)) <= BASIS_BOUND_BASE + BASIS_BOUND_PER_YEAR * t)
        return f, d, n, sane

    free = {e: fit(e, t) for e, t in exp_years.items()}
    # the discount of short expiries (and of any sane fit with an absurd rate) comes from the term
    # structure: the median rate of the sane fits from DISCOUNT_MIN_YEARS to a year, else the given rate
    rates = {e: -np.log(r[1]) / exp_years[e] for e, r in free.items() if r[3]}
    ref = [r for e, r in rates.items() if DISCOUNT_MIN_YEARS <= exp_years[e] <= 1.0 and abs(r) <= MAX_ABS_RATE]
    ref = ref or [r for e, r in rates.items() if exp_years[e] >= DISCOUNT_MIN_YEARS and abs(r) <= MAX_ABS_RATE]
    ref_rate = float(np.median(ref)) if ref else float(rate)
    records = []
    for expiry, t in exp_years.items():
        fwd, disc, n, sane = free[expiry]
        fixed = sane and ((t < DISCOUNT_MIN_YEARS and bool(ref)) or abs(rates[expiry]) > MAX_ABS_RATE)
        if fixed:
            fwd, disc, n, sane = fit(expiry, t, np.exp(-ref_rate * t))
        if not sane:
            fwd, disc, n = spot * np.exp((rate - div_yield) * t), np.exp(-rate * t), 0
        records.append({"expiry": expiry, "years": float(t), "forward": float(fwd), "discount": float(disc),
                        "implied_rate": float(-np.log(disc) / t), "forward_basis_pct": 100.0 * (fwd / spot - 1.0),
                        "n_strikes": int(n), "method": "parity" if sane else "fallback",
                        "discount_fixed": bool(fixed and sane)})
    return pd.DataFrame.from_records(records, columns=list(FORWARD_COLUMNS))


_FITS: dict[int, dict[tuple[float, float], pd.DataFrame]] = {}  # id(chain) -> (rate, yield) -> table
_FITS_LOCK = threading.Lock()


def chain_forwards(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0) -> pd.DataFrame:
    """:func:`expiry_forwards` of ``chain``, fitted once per chain object and (rate, yield).

    The catalog caches one chain object per file version, so every scenario of the page (expiry set,
    shocks, vol scenario) reuses one fit; the entry goes when the chain object does. The table is
    shared: treat it as read-only.
    """
    key = (float(rate), float(div_yield))
    with _FITS_LOCK:
        table = _FITS.get(id(chain), {}).get(key)
    if table is None:
        table = expiry_forwards(chain, rate=rate, div_yield=div_yield)
        with _FITS_LOCK:
            if id(chain) not in _FITS:
                _FITS[id(chain)] = {}
                weakref.finalize(chain, _FITS.pop, id(chain), None)
            _FITS[id(chain)][key] = table
    return table


def model_forwards(expiry, years, level, rate, carry, spot: float, method) -> pd.DataFrame:
    """The forward and discount factor each expiry was priced with, from the engine's per-row inputs.

    ``F = level e^{(r - q) T}`` and ``D = e^{-r T}`` (the generalised Black-Scholes inputs of
    :mod:`analytics.pricing`), one row per expiry date: ``years`` to its latest settlement (PM beside AM
    roots), ``D`` there, and the median of its rows' ``F`` (every row of a parity or spot expiry has the
    same; a Deribit file's rows carry the ``underlying_price`` of their own quote time).

    Returns
    -------
    DataFrame
        ``expiry``, ``years``, ``forward``, ``discount``, ``implied_rate``, ``forward_basis_pct``
        (``100 (F/S - 1)``), ``method`` (``"parity"``/``"fallback"`` under the parity choice,
        ``"spot-carry"`` on spot with the given rate and yield, ``"exchange"`` for a file's own forward).

    Examples
    --------
    >>> f = model_forwards(["2024-01-19"] * 2, [0.5, 0.5], 100.0, 0.05, 0.01, 100.0, "spot-carry")
    >>> [round(float(f[c].iloc[0]), 4) for c in ("forward", "discount", "forward_basis_pct")]
    [102.0201, 0.9753, 2.0201]
    """
    t = np.asarray(years, dtype=float)
    frame = pd.DataFrame({"expiry": np.asarray(expiry), "years": t,
                          "forward": np.broadcast_to(level, t.shape) * np.exp((np.asarray(rate) - carry) * t),
                          "implied_rate": np.broadcast_to(np.asarray(rate, dtype=float), t.shape),
                          "method": np.broadcast_to(np.asarray(method, dtype=object), t.shape)})
    out = frame.groupby("expiry", sort=True).agg(years=("years", "max"), forward=("forward", "median"),
                                                 implied_rate=("implied_rate", "median"),
                                                 method=("method", "first")).reset_index()
    out.insert(3, "discount", np.exp(-out["implied_rate"] * out["years"]))
    out.insert(5, "forward_basis_pct", 100.0 * (out["forward"] / float(spot) - 1.0))
    return out


def implied_carry(forwards: pd.DataFrame, spot: float) -> pd.DataFrame:
    """Per parity expiry: implied rate ``r = -ln(D)/T`` and dividend yield ``q = r - ln(F/S)/T``."""
    f = forwards.loc[forwards["method"] == "parity"]
    q = f["implied_rate"] - np.log(f["forward"] / float(spot)) / f["years"]
    return pd.DataFrame({"expiry": f["expiry"], "years": f["years"], "implied_rate": f["implied_rate"],
                         "implied_yield": q}).reset_index(drop=True)


def spot_basis(forwards: pd.DataFrame, spot: float, *, rate: float = 0.0,
               div_yield: float = 0.0) -> tuple[float, float, np.ndarray]:
    """How far the parity forwards sit from the header spot beyond carry.

    Fits ``ln(F/S) = a + b T`` (Theil-Sen) over the parity expiries up to ``BASIS_FIT_YEARS``: ``b`` is
    the chain's own carry (rate minus yield, per year) and ``a`` the basis no carry explains, a stale
    spot (every expiry shifted alike) or a dividend paid before the first expiry. With fewer than three
    such expiries ``b`` is the given ``rate - div_yield``.

    Returns
    -------
    (a, b, excess)
        ``excess`` is ``ln(F/S) - b T`` per row of ``forwards`` (NaN for fallback rows and beyond the
        fit window, where the term structure of rates and dividends bends the line).

    Examples
    --------
    >>> t = np.array([0.01, 0.02, 0.05, 0.1])
    >>> f = pd.DataFrame({"years": t, "forward": 100 * np.exp(-0.003 + 0.04 * t), "method": "parity"})
    >>> a, b, _ = spot_basis(f, 100.0)
    >>> round(a, 6), round(b, 6)
    (-0.003, 0.04)
    """
    t = forwards["years"].to_numpy(float)
    x = np.log(forwards["forward"].to_numpy(float) / float(spot))
    use = (forwards["method"] == "parity").to_numpy() & (t <= BASIS_FIT_YEARS)
    if not use.any():
        return np.nan, np.nan, np.full(t.size, np.nan)
    if use.sum() >= 3:
        b, a = theil_sen(t[use], x[use])
    else:
        b = float(rate) - float(div_yield)
        a = float(np.median(x[use] - b * t[use]))
    return float(a), float(b), np.where(use, x - b * t, np.nan)
