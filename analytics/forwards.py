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

No fitted rate below ``MIN_RATE`` is a rate either: on an American-style chain (a root outside
``EUROPEAN_ROOTS``) it is early-exercise value (in-the-money puts worth more than parity makes ``C - P``
fall faster than ``D``), and such expiries are flagged ``early_exercise``; they too take ``D`` from the
term structure and fit ``F`` only, so the carry (rate minus dividend yield) is what their forwards say.

A short expiry's slope says little about ``D`` (``rT`` is a few basis points): below
``DISCOUNT_MIN_YEARS`` (when longer expiries exist), or where a fit's rate exceeds ``MAX_ABS_RATE``
(or lies below ``MIN_RATE``),
``D`` comes from the median rate of the fits from ``DISCOUNT_MIN_YEARS`` to a year (else the given
rate) and only ``F`` is fitted.

Where fewer than ``MIN_PARITY_STRIKES`` strikes are two-sided, or the estimate leaves the sanity
bounds (``0 < D <= MAX_DISCOUNT``, ``|ln(F/S)| <= BASIS_BOUND_BASE + BASIS_BOUND_PER_YEAR * T``), the
expiry falls back to spot with the given rate and yield: ``F = S e^{(r - q) T}``, ``D = e^{-r T}``.

Every expiry of a chain is fitted at once (:func:`parity_fits`, segmented arrays, no per-expiry
``np.median``), each to the last bit as :func:`parity_fit` fits it alone.
"""

from __future__ import annotations

import functools
import weakref
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from analytics.chain import OptionChain
from analytics.codes import sorted_group_medians
from analytics.locks import ForkSafeLock

MIN_PARITY_STRIKES = 5  # fewer two-sided strikes than this: fall back to spot
BAND_STDEVS = 2.0  # half-width of the strike band, in straddle-implied standard deviations of ln K
OUTLIER_MADS = 4.0  # residuals beyond this many (scaled) MADs are dropped before the final fit
MAX_DISCOUNT = 1.5
DISCOUNT_MIN_YEARS = 1 / 12  # shorter expiries take D from the longer ones' rate; only F is fitted
MAX_ABS_RATE = 0.25  # a fitted rate beyond this is slope noise: D is taken from the term structure
MIN_RATE = -0.01  # nor is a fitted rate below this a rate (early-exercise value, stale quotes)
BASIS_BOUND_BASE = 0.10  # |ln(F/S)| allowed at T = 0 ...
BASIS_BOUND_PER_YEAR = 0.20  # ... plus this much per year to expiry
FORWARD_BASIS_TOLERANCE = 0.002  # forward vs spot beyond carry by more than this: stale spot or dividend
STALE_SPOT_MIN_BASIS = 0.003  # the near expiries' forwards all this far (one sign) from spot beyond carry: stale spot
STALE_SPOT_EXPIRIES = 3  # how many of the nearest parity expiries must agree (at least 2 must exist)
BASIS_FIT_YEARS = 0.25  # expiries whose ln(F/S) is fitted by a line in T (beyond: curved rate/dividend terms)
THEIL_SEN_MAX_POINTS = 400  # above this, the start's slopes come from an evenly spaced subset (pairs grow as n^2)
_SELECT_MIN_SIZE = 4096  # medians of longer arrays select within a sampled bracket instead of sorting all

ForwardMethod = Literal["parity", "fallback", "spot-carry", "exchange"]
FORWARD_COLUMNS: tuple[str, ...] = ("expiry", "years", "forward", "discount", "implied_rate",
                                    "forward_basis_pct", "n_strikes", "method", "discount_fixed", "early_exercise")
# cash-settled index roots: European exercise; any other root of a US chain is taken as American
EUROPEAN_ROOTS: frozenset[str] = frozenset({"SPX", "SPXW", "SPXPM", "NDX", "NDXP", "RUT", "RUTW", "VIX", "VIXW",
                                            "XSP", "DJX", "MXEA", "MXEF", "XEO"})


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
    slope = _median_slope(x, y)
    return slope, _median(y - slope * x)


@functools.cache
def _pair_index() -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` of every pair ``i < j`` of ``THEIL_SEN_MAX_POINTS`` points, ordered by ``j`` (``j = 1``
    once, ``j = 2`` twice, ...): the pairs of the first ``m`` points are the first ``m (m - 1) / 2``."""
    n = np.arange(THEIL_SEN_MAX_POINTS)
    j = np.repeat(n, n)
    return np.arange(j.size) - np.repeat(n * (n - 1) // 2, n), j


def _median_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The Theil-Sen slope of :func:`theil_sen` (float arrays)."""
    step = max(1, -(-x.size // THEIL_SEN_MAX_POINTS))
    x, y = x[::step], y[::step]
    i = _pair_index()[0][: x.size * (x.size - 1) // 2]
    times = np.arange(x.size)  # point j pairs with the j points before it
    dx = np.repeat(x, times)
    dx -= x[i]
    dy = np.repeat(y, times)
    dy -= y[i]
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        ok = dx != 0
        return _median(dy[ok] / dx[ok])  # np.median's rule: NaN if any slope is NaN
    # pairs of one strike (two roots) have no slope: NaN here, as no other slope can be
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.divide(dy, dx, out=dy)
    no_slope = dx == 0
    n_slopes = slopes.size - np.count_nonzero(no_slope)
    if n_slopes < slopes.size:
        slopes[no_slope] = np.nan
    return _select_median(slopes, n_slopes) if n_slopes >= _SELECT_MIN_SIZE else _median(slopes, n_slopes)


def _segment_median_slopes(x: np.ndarray, y: np.ndarray, count: np.ndarray) -> np.ndarray:
    """:func:`_median_slope` of each segment of finite ``x`` and ``y`` (consecutive segments of
    ``count`` points, two distinct ``x`` at least): the short segments' pairs in one set of arrays,
    the long ones one by one."""
    slope = np.empty(count.size)
    end = np.cumsum(count)
    start = end - count
    n_pairs = count * (count - 1) // 2
    short = (count <= THEIL_SEN_MAX_POINTS) & (n_pairs < _SELECT_MIN_SIZE)
    for g in np.flatnonzero(~short).tolist():
        slope[g] = _median_slope(x[start[g]:end[g]], y[start[g]:end[g]])
    if not short.any():
        return slope
    pairs = n_pairs[short]
    offset = np.repeat(start[short], pairs)
    i, j = (offset + np.concatenate([ij[:p] for p in pairs.tolist()]) for ij in _pair_index())
    dx = x[j] - x[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = (y[j] - y[i]) / dx
    slopes[dx == 0] = np.nan  # pairs of one strike have no slope
    pair_end = np.cumsum(pairs)
    n_slopes = np.add.reduceat(dx != 0, pair_end - pairs)
    slope[short] = _sorted_medians(_sort_segments(slopes, pair_end), pairs, n_slopes)
    return slope


def _median(values: np.ndarray, n: int | None = None) -> float:
    """``np.median`` of a 1-D float array (NaN if empty or any value is NaN), from a sort: numpy's
    vectorised sort beats ``np.median``'s partition and its per-call overhead here. With ``n``, the
    median of the ``n`` values that are not NaN."""
    ordered = np.sort(values)
    if n is None:
        n = values.size
        if n == 0 or np.isnan(ordered[-1]):
            return np.nan
    return np.nan if n == 0 else _middle(ordered, (n - 1) // 2, n // 2)


def _select_median(values: np.ndarray, n: int) -> float:
    """The median of the ``n`` values of a long 1-D float array that are not NaN, exactly, without
    sorting it all: an evenly spaced sample brackets the median, the values below the bracket are
    counted and the bracket alone is sorted, which gives the middle values. A bracket that misses
    them falls back to a sort."""
    lo, hi = (n - 1) // 2, n // 2
    sample = np.sort(values[:: values.size // 512])  # NaN last
    middle = int(np.count_nonzero(~np.isnan(sample))) // 2
    a, b = sample[max(middle - 24, 0)], sample[middle + 24]
    below = values < a
    n_below = int(np.count_nonzero(below))
    inside = values.compress((values <= b) ^ below)  # faster than boolean indexing
    if n_below <= lo and n_below + inside.size > hi:
        return _middle(np.sort(inside), lo - n_below, hi - n_below)
    return _median(values, n)


def _middle(ordered: np.ndarray, lo: int, hi: int) -> float:
    """The median from the two middle values of a sorted array, as ``np.median`` averages them."""
    return float(ordered[lo]) if lo == hi else float((ordered[lo] + ordered[hi]) / 2)


def _sorted_medians(ordered: np.ndarray, count: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Median of each segment of ``ordered`` (consecutive segments of ``count`` > 0 values, each sorted
    ascending with NaN last), as ``np.median`` gives it: the middle value, or the mean of the two; NaN
    where a segment holds a NaN. With ``valid``, the median of each segment's first ``valid`` (> 0)
    values, the ones that are not NaN."""
    end = np.cumsum(count)
    start = end - count
    n = count if valid is None else valid
    lo, hi = ordered[start + (n - 1) // 2], ordered[start + n // 2]
    with np.errstate(over="ignore"):
        middle = np.where(n % 2 == 1, lo, (lo + hi) / 2)
    return middle if valid is not None else np.where(np.isnan(ordered[end - 1]), np.nan, middle)


def _sort_segments(values: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A copy of ``values`` with each segment (``values[end[g - 1]:end[g]]``) sorted ascending, NaN
    last: numpy's sort of each segment in place beats a segmented sort here."""
    out = values.copy()
    bounds = np.concatenate(([0], end)).tolist()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        out[lo:hi].sort()
    return out


def _segment_medians(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``np.median`` of each segment of ``values`` (consecutive segments of ``count`` > 0 values)."""
    return _sorted_medians(_sort_segments(values, np.cumsum(count)), count)


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
    k = np.asarray(strike, dtype=float).ravel()
    forward, disc, n_used = parity_fits(k, call_mid, put_mid, spread, [k.size],
                                        None if discount is None else [discount])
    return float(forward[0]), float(disc[0]), int(n_used[0])


def parity_fits(strike, call_mid, put_mid, spread, count, discount=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`parity_fit` of many expiries at once, each exactly as :func:`parity_fit` fits it alone.

    Parameters
    ----------
    strike, call_mid, put_mid, spread : array_like
        The expiries' entries one after the other: the first ``count[0]`` entries are the first
        expiry's, and so on.
    count : array_like of int
        Entries per expiry (0 allowed).
    discount : array_like, optional
        A known discount factor per expiry: only ``F`` is fitted.

    Returns
    -------
    (forward, discount, n_used)
        Arrays, one entry per expiry.

    Notes
    -----
    The band, the starts, the medians and the inlier sets of every expiry are computed together on
    arrays holding one segment per expiry (an expiry leaves them once its inlier set is stable); the
    weighted least-squares solutions and the long Theil-Sen starts run per expiry, with the same numpy
    reductions as a lone fit, so every result equals the lone fit's to the last bit. Where an expiry
    has fewer than ``MIN_PARITY_STRIKES`` distinct distances from the at-the-money strike in log strike
    (strikes in exact geometric symmetry) the band takes every strike.

    Examples
    --------
    >>> k = np.array([90.0, 95, 100, 105, 110])
    >>> f, d, n = parity_fits(np.r_[k, k], np.r_[np.maximum(101 - k, 0), 0.98 * np.maximum(99 - k, 0)] + 2,
    ...                       np.r_[np.maximum(k - 101, 0), 0.98 * np.maximum(k - 99, 0)] + 2, np.full(10, 0.1), [5, 5])
    >>> f.round(6).tolist(), d.round(6).tolist(), n.tolist()
    ([101.0, 99.0], [1.0, 0.98], [5, 5])
    """
    return _fit_bands(_parity_bands(strike, call_mid, put_mid, spread, count), discount)


class _Bands(NamedTuple):
    """The strikes each expiry's fit uses (:func:`_parity_bands`), one segment per fitted expiry."""

    n_groups: int  # expiries asked for
    fitted: np.ndarray  # the expiries with enough strikes to fit, ascending: segment g is fitted[g]
    k: np.ndarray
    y: np.ndarray  # C - P
    spread: np.ndarray
    group: np.ndarray  # segment of each entry
    counts: np.ndarray  # entries per segment (>= MIN_PARITY_STRIKES)
    strike_id: np.ndarray  # one id per distinct (expiry, strike)
    id_group: np.ndarray  # the expiry (0 .. n_groups - 1) of each strike id


def _parity_bands(strike, call_mid, put_mid, spread, count) -> _Bands:
    """Two-sided strikes (finite, ``MIN_PARITY_STRIKES`` distinct at least) in the band around the
    at-the-money strike, of every expiry: the part of :func:`parity_fit` that the discount does not
    change."""
    count = np.asarray(count, dtype=np.int64)
    n_groups = count.size
    group = np.repeat(np.arange(n_groups), count)
    k = np.asarray(strike, dtype=float).ravel()
    call, put = np.asarray(call_mid, dtype=float).ravel(), np.asarray(put_mid, dtype=float).ravel()
    spread = np.asarray(spread, dtype=float).ravel()
    y = call - put
    ok = np.isfinite(k) & np.isfinite(y) & np.isfinite(spread)
    if not ok.all():
        k, call, put, y, spread, group = (a[ok] for a in (k, call, put, y, spread, group))
    spread = np.maximum(spread, 1e-12)
    # distinct strikes: one id per (expiry, strike)
    bounds = np.concatenate(([0], np.cumsum(np.bincount(group, minlength=n_groups)))).tolist()
    order = np.empty(k.size, dtype=np.intp)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        order[lo:hi] = lo + np.argsort(k[lo:hi])
    ks, gs = k[order], group[order]
    new_id = np.ones(k.size, dtype=bool)
    new_id[1:] = (ks[1:] != ks[:-1]) | (gs[1:] != gs[:-1])
    strike_id = np.empty(k.size, dtype=np.int64)
    strike_id[order] = np.cumsum(new_id) - 1
    id_group = gs[new_id]
    enough = np.bincount(id_group, minlength=n_groups) >= MIN_PARITY_STRIKES
    fitted = np.flatnonzero(enough)
    n_fit = fitted.size
    if not enough.all():
        keep = enough[group]
        k, call, put, y, spread, strike_id, group = (a[keep] for a in (k, call, put, y, spread, strike_id, group))
    group = (np.cumsum(enough) - 1)[group]
    if n_fit == 0:
        return _Bands(n_groups, fitted, k, y, spread, group, np.zeros(0, dtype=np.int64), strike_id, id_group)
    start = np.searchsorted(group, np.arange(n_fit))
    # band around the at-the-money strike, BAND_STDEVS straddle-implied standard deviations wide:
    # C + P at K0 ~ D K0 sigma sqrt(T) sqrt(2 / pi); K0 is the first smallest |C - P| of its expiry
    abs_y = np.abs(y)
    at_min = abs_y == np.minimum.reduceat(abs_y, start)[group]
    i0 = np.minimum.reduceat(np.where(at_min, np.arange(k.size), k.size), start)
    k0 = k[i0]
    sd = (call[i0] + put[i0]) / k0 * np.sqrt(np.pi / 2.0)
    dist = np.abs(np.log(k / k0[group]))
    nth = _nth_distinct(dist, np.bincount(group, minlength=n_fit), MIN_PARITY_STRIKES)
    half_width = np.where(nth > BAND_STDEVS * sd, nth, BAND_STDEVS * sd)
    band = dist <= half_width[group] * (1 + 1e-12)
    k, y, spread, strike_id, group = (a[band] for a in (k, y, spread, strike_id, group))
    return _Bands(n_groups, fitted, k, y, spread, group, np.bincount(group, minlength=n_fit), strike_id, id_group)


def _fit_bands(bands: _Bands, discount=None, which=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The robust fit of every expiry (or of the expiries ``which``, a mask) on its band: Theil-Sen
    start (median with a known slope), then inverse-spread weighted least squares on the inliers until
    the inlier set is stable. Expiries leave the arrays as their inlier sets settle."""
    n_groups, fitted, k, y, spread, group, count, strike_id, id_group = bands
    forward, disc = np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    n_used = np.zeros(n_groups, dtype=np.int64)
    if which is not None:
        asked = np.asarray(which, dtype=bool)[fitted]
        keep = asked[group]
        k, y, spread, strike_id, group = (a.compress(keep) for a in (k, y, spread, strike_id, group))
        group = (np.cumsum(asked) - 1)[group]
        fitted, count = fitted[asked], count[asked]
    if fitted.size == 0:
        return forward, disc, n_used

    def n_strikes(ids: np.ndarray, expiries: np.ndarray) -> np.ndarray:
        """Distinct strikes of each of these expiries among the entries of these strike ids."""
        present = np.zeros(id_group.size, dtype=bool)
        present[ids] = True
        return np.bincount(id_group[present], minlength=n_groups)[expiries]

    end = np.cumsum(count)
    start = end - count
    if discount is None:
        slope = _segment_median_slopes(k, y, count)
        intercept = _segment_medians(y - slope[group] * k, count)
    else:
        known = np.asarray(discount, dtype=float).ravel()[fitted]
        slope = -known
        intercept = _segment_medians(y + known[group] * k, count)
    w2 = spread ** -2.0  # least squares on residuals / spread
    floor = 1e-9 * (1.0 + np.maximum.reduceat(np.abs(y), start) / np.minimum.reduceat(spread, start))
    inlier = np.ones(k.size, dtype=bool)
    for iteration in range(5):
        resid = (y - (intercept[group] + slope[group] * k)) / spread
        g_in, r_in = group.compress(inlier), resid.compress(inlier)
        n_in = np.bincount(g_in, minlength=fitted.size)
        med = _segment_medians(r_in, n_in)
        mad = 1.4826 * _segment_medians(np.abs(r_in - med[g_in]), n_in)
        tol = OUTLIER_MADS * mad + floor
        new = np.abs(resid - med[group]) <= tol[group]
        new = np.where((n_strikes(strike_id.compress(new), fitted) < MIN_PARITY_STRIKES)[group], inlier, new)
        changed = np.logical_or.reduceat(new != inlier, start)
        # the weighted solutions per expiry, with a lone fit's reductions (BLAS dot products and numpy's
        # pairwise sums are not reproducible on segmented arrays); after the first round an unchanged
        # inlier set gives the solution it gave the round before, bit for bit: no need to solve again
        g_new = group.compress(new)
        bounds = np.concatenate(([0], np.cumsum(np.bincount(g_new, minlength=fitted.size)))).tolist()
        kn, yn, wn = (a.compress(new) for a in (k, y, w2))
        solve = np.flatnonzero(changed | (iteration == 0)).tolist()
        if discount is None:
            for g in solve:
                lo, hi = bounds[g], bounds[g + 1]
                slope[g], intercept[g] = _weighted_line(kn[lo:hi], yn[lo:hi], wn[lo:hi])
        else:  # np.average(y - slope k, weights=w2), as numpy computes it
            weighted = (yn - slope[g_new] * kn) * wn
            for g in solve:
                lo, hi = bounds[g], bounds[g + 1]
                intercept[g] = weighted[lo:hi].sum() / wn[lo:hi].sum()
        going = changed if iteration < 4 else np.zeros(fitted.size, dtype=bool)
        inlier = new
        done = fitted[~going]
        with np.errstate(divide="ignore", invalid="ignore"):
            forward[done] = np.where(slope[~going] != 0, intercept[~going] / -slope[~going], np.nan)
        disc[done] = -slope[~going]
        n_used[done] = n_strikes(strike_id.compress(inlier), done)
        if not going.any():
            break
        keep = going[group]
        k, y, spread, w2, strike_id, inlier, group = (a.compress(keep) for a in (k, y, spread, w2, strike_id, inlier, group))
        group = (np.cumsum(going) - 1)[group]
        fitted, slope, intercept, floor, count = (a[going] for a in (fitted, slope, intercept, floor, count))
        end = np.cumsum(count)
        start = end - count
    return forward, disc, n_used


def _nth_distinct(values: np.ndarray, count: np.ndarray, nth: int) -> np.ndarray:
    """The ``nth`` smallest distinct value of each segment of ``values`` (consecutive segments of
    ``count`` > 0 values), or its largest where it has fewer."""
    end = np.cumsum(count)
    start = end - count
    v = _sort_segments(values, end)
    first = np.ones(v.size, dtype=bool)
    first[1:] = v[1:] != v[:-1]
    first[start] = True
    rank = np.cumsum(first)  # 1-based rank of each distinct value within its segment, after the offset
    group = np.repeat(np.arange(count.size), count)
    out = v[end - 1].copy()
    pick = first & (rank - rank[start][group] + 1 == nth)
    out[group[pick]] = v[pick]
    return out


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
    empty = pd.DataFrame(columns=[*keys, "years", "call_mid", "put_mid", "spread"])
    quoted = _quoted(rows)
    if quoted.size == 0:  # no quotes at all (e.g. a table with IVs only): every expiry falls back
        return empty
    years = chain.years_to_settlement()
    pairs = _pair_means(rows, quoted, [rows["strike"].to_numpy(float), rows["expiry"].to_numpy(), _root_codes(rows)],
                        years)
    if pairs is None:  # a mean of 3+ rows: pandas' compensated sum, exactly
        return _two_sided_pairs_by_pivot(rows, quoted, years, keys, empty)
    first, means = pairs
    out = rows[keys].iloc[first].reset_index(drop=True)
    for name in ("years", "call_mid", "put_mid", "spread"):
        out[name] = means[name]
    return out


def _quoted(rows: pd.DataFrame) -> np.ndarray:
    """Positions of the rows quoted on both sides of the book (bid > 0, ask > 0, ask >= bid)."""
    bid, ask = rows["bid"].to_numpy(float), rows["ask"].to_numpy(float)
    return np.flatnonzero((bid > 0) & (ask > 0) & (ask >= bid))


def _root_codes(rows: pd.DataFrame) -> np.ndarray:
    """Each row's root as an integer, in the roots' sorted order (the order pandas' pivot_table gives)."""
    return pd.factorize(rows["root"], sort=True)[0]


def _pair_means(rows: pd.DataFrame, quoted: np.ndarray, keys: list[np.ndarray],
                years: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The two-sided pairs of :func:`two_sided_pairs` as arrays, sorted by ``keys`` (one value per row
    of each; the last key first, as ``np.lexsort``) that together identify (root, expiry, strike).

    Returns the position in ``rows`` of each pair's first quoted row and the pairs' ``call_mid``,
    ``put_mid``, ``spread`` (and ``years`` where given), or None where a contract has 3+ rows.
    """
    bid, ask = rows["bid"].to_numpy(float)[quoted], rows["ask"].to_numpy(float)[quoted]
    values = {"mid": 0.5 * (bid + ask), "spread": ask - bid}
    if years is not None:
        values["years"] = years[quoted]
    is_call = (rows["side"] == "C").to_numpy(bool)[quoted]
    side_mask = {"C": is_call, "P": ~is_call}
    keys = [key[quoted] for key in keys]
    order = np.argsort(keys[0], kind="stable")  # np.lexsort(keys), with narrow integer keys radix-sorted
    for key in keys[1:]:
        if key.dtype.kind in "iu" and key.size:
            key = key.astype(np.promote_types(np.min_scalar_type(key.min()), np.min_scalar_type(key.max())))
        order = order[np.argsort(key[order], kind="stable")]
    starts = np.ones(order.size, dtype=bool)
    for key in keys:
        k = key[order]
        starts[1:] &= k[1:] == k[:-1]
    starts = ~starts
    starts[0] = True
    group = np.empty(order.size, dtype=np.intp)
    group[order] = np.cumsum(starts) - 1
    n_groups = int(starts.sum())
    side_group = {side: group.compress(mask) for side, mask in side_mask.items()}
    count = {side: np.bincount(g, minlength=n_groups) for side, g in side_group.items()}
    if max(count["C"].max(), count["P"].max()) > 2:
        return None

    def mean(side: str, name: str) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.bincount(side_group[side], weights=values[name].compress(side_mask[side]),
                               minlength=n_groups) / count[side]

    both = (count["C"] > 0) & (count["P"] > 0)
    means = {"call_mid": mean("C", "mid")[both], "put_mid": mean("P", "mid")[both],
             "spread": (mean("C", "spread") + mean("P", "spread"))[both]}
    if years is not None:
        means["years"] = mean("C", "years")[both]
    return quoted[order[starts][both]], means


def _two_sided_pairs_by_pivot(rows: pd.DataFrame, quoted: np.ndarray, years: np.ndarray, keys: list[str],
                              empty: pd.DataFrame) -> pd.DataFrame:
    bid, ask = rows["bid"].to_numpy(float)[quoted], rows["ask"].to_numpy(float)[quoted]
    side = np.where(rows["side"].to_numpy()[quoted] == "C", "C", "P")
    q = rows[keys].iloc[quoted].assign(side=side, years=years[quoted], mid=0.5 * (bid + ask), spread=ask - bid)
    wide = q.pivot_table(index=keys, columns="side", values=["mid", "spread", "years"], aggfunc="mean")
    if "C" not in wide["mid"] or "P" not in wide["mid"]:
        return empty
    return pd.DataFrame({
        "years": wide["years"]["C"], "call_mid": wide["mid"]["C"], "put_mid": wide["mid"]["P"],
        "spread": wide["spread"]["C"] + wide["spread"]["P"],
    }).dropna().reset_index()


def _pairs_by_expiry(chain: OptionChain, expiries: np.ndarray, row_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided pairs sorted by expiry, root and strike: per pair its expiry's position in
    ``expiries`` (sorted dates; ``row_code`` is each row's), and its strike, call mid, put mid and
    spread as columns."""
    rows = chain.rows
    quoted = _quoted(rows)
    strike = rows["strike"].to_numpy(float)
    if quoted.size:
        roots = _root_codes(rows)
        pairs = _pair_means(rows, quoted, [strike, row_code * (roots.max() + 2) + roots + 1])
        if pairs is not None:
            first, means = pairs
            return row_code[first], np.column_stack([strike[first], means["call_mid"], means["put_mid"],
                                                     means["spread"]])
    table = two_sided_pairs(chain).sort_values("expiry", kind="stable")  # no quotes, or the pivot's means
    code = np.searchsorted(expiries, table["expiry"].to_numpy(dtype=expiries.dtype))
    return code, table[["strike", "call_mid", "put_mid", "spread"]].to_numpy(float)


def _is_american(chain: OptionChain) -> bool:
    """A US-listed chain (Black-Scholes-Merton; Deribit's are European) with a root outside
    ``EUROPEAN_ROOTS`` (single stocks, ETFs: American exercise)."""
    return chain.model == "bsm" and not set(chain.rows["root"].unique().astype(str)) <= EUROPEAN_ROOTS


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of datetime64 ``values``, without its sort where they are
    already sorted."""
    ticks = values.view(np.int64)  # datetime64: NaT is the smallest, where np.unique puts it last
    if values.size > 1 and (ticks[1:] >= ticks[:-1]).all() and not np.isnat(values[0]):
        change = np.ones(values.size, dtype=bool)
        change[1:] = ticks[1:] != ticks[:-1]
        return values[change], np.cumsum(change) - 1
    return np.unique(values, return_inverse=True)


def expiry_forwards(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0,
                    years: np.ndarray | None = None) -> pd.DataFrame:
    """Forward and discount factor of every expiry of ``chain`` from put-call parity.

    Parameters
    ----------
    chain : OptionChain
        A chain with bid and ask prices (roots of the same expiry date are pooled; AM and PM settlement
        of one day differ by hours of carry).
    rate, div_yield : float
        Continuously compounded, decimals: the fallback ``F = S e^{(r - q) T}``, ``D = e^{-r T}``.
    years : ndarray, optional
        ``chain.years_to_settlement()`` computed before (a caller's, e.g. the engine inputs'): not
        computed again.

    Returns
    -------
    DataFrame
        One row per expiry (ascending): ``expiry``, ``years`` (ACT/365 to the latest settlement of the
        day), ``forward``, ``discount``, ``implied_rate`` (``-ln(D) / T``), ``forward_basis_pct``
        (``100 (F/S - 1)``), ``n_strikes`` used in the fit, ``method`` (``"parity"`` or ``"fallback"``),
        ``discount_fixed`` (True where ``D`` came from the reference rate and only ``F`` was fitted),
        ``early_exercise`` (True where an American chain's free fit read early exercise as a rate below
        ``MIN_RATE``).
    """
    spot = float(chain.spot)
    rows = chain.rows
    expiries, row_code = _sorted_codes(rows["expiry"].to_numpy())
    if expiries.size and np.isnat(expiries[-1]):  # rows without an expiry date belong to none
        expiries = expiries[:-1]
    if expiries.size == 0:
        return pd.DataFrame.from_records([], columns=list(FORWARD_COLUMNS))
    # years to the latest settlement of each expiry date
    by_code = np.argsort(row_code, kind="stable")
    row_count = np.bincount(row_code)[: expiries.size]
    ordered = (chain.years_to_settlement() if years is None else np.asarray(years))[by_code][: row_count.sum()]
    t = np.fmax.reduceat(ordered, np.cumsum(row_count) - row_count)
    code, pairs = _pairs_by_expiry(chain, expiries, row_code)
    dated = code < expiries.size
    strike, call_mid, put_mid, spread = pairs[dated].T
    bands = _parity_bands(strike, call_mid, put_mid, spread, np.bincount(code[dated], minlength=expiries.size))

    def sane_fits(forward: np.ndarray, discount: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.isfinite(forward) & np.isfinite(discount) & (0 < discount) & (discount <= MAX_DISCOUNT)
                    & (forward > 0) & (np.abs(np.log(forward / spot)) <= BASIS_BOUND_BASE + BASIS_BOUND_PER_YEAR * t))

    fwd, disc, n = _fit_bands(bands)
    sane = sane_fits(fwd, disc)
    # the discount of short expiries (and of any sane fit with an absurd rate) comes from the term
    # structure: the median rate of the sane fits from DISCOUNT_MIN_YEARS to a year, else the given rate
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(sane, -np.log(disc) / t, np.nan)
    early = sane & (rates < MIN_RATE) & _is_american(chain)
    plausible = sane & (MIN_RATE <= rates) & (rates <= MAX_ABS_RATE)
    ref = rates[plausible & (DISCOUNT_MIN_YEARS <= t) & (t <= 1.0)]
    ref = ref if ref.size else rates[plausible & (t >= DISCOUNT_MIN_YEARS)]
    ref_rate = float(np.median(ref)) if ref.size else float(rate)
    fixed = sane & (((t < DISCOUNT_MIN_YEARS) & bool(ref.size)) | ~plausible)
    if fixed.any():
        fit = _fit_bands(bands, np.exp(-ref_rate * t), which=fixed)
        fwd, disc, n = (np.where(fixed, a, b) for a, b in zip(fit, (fwd, disc, n), strict=True))
        sane = np.where(fixed, sane_fits(fwd, disc), sane)
    fwd = np.where(sane, fwd, spot * np.exp((rate - div_yield) * t))
    disc = np.where(sane, disc, np.exp(-rate * t))
    columns = (expiries, t, fwd, disc, -np.log(disc) / t, 100.0 * (fwd / spot - 1.0), np.where(sane, n, 0),
               np.where(sane, "parity", "fallback"), fixed & sane, early)
    return pd.DataFrame(dict(zip(FORWARD_COLUMNS, columns, strict=True)), copy=False)


_FITS: dict[int, dict[tuple[float, float], pd.DataFrame]] = {}  # id(chain) -> (rate, yield) -> table
_FITS_LOCK = ForkSafeLock()  # a forked child gets its own


def chain_forwards(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0,
                   years: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`expiry_forwards` of ``chain`` (``years``: its ``years_to_settlement()``, where the caller
    has them), fitted once per chain object and (rate, yield).

    The catalog caches one chain object per file version, so every scenario of the page (expiry set,
    shocks, vol scenario) reuses one fit; the entry goes when the chain object does. The table is
    shared: treat it as read-only.
    """
    key = (float(rate), float(div_yield))
    with _FITS_LOCK:
        table = _FITS.get(id(chain), {}).get(key)
    if table is None:
        table = expiry_forwards(chain, rate=rate, div_yield=div_yield, years=years)
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
    forward = np.broadcast_to(level, t.shape) * np.exp((np.asarray(rate) - carry) * t)
    implied_rate = np.broadcast_to(np.asarray(rate, dtype=float), t.shape)
    # one row per expiry date, ascending (rows without one belong to none), as a groupby on the column:
    # the latest settlement, the median forward and rate (group_medians), the first row's method
    codes, dates = pd.factorize(np.asarray(expiry), sort=True)
    kept = codes >= 0
    codes = codes[kept]
    by_code = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[by_code], np.arange(len(dates)))
    years_max = np.fmax.reduceat(t[kept][by_code], starts) if len(dates) else np.empty(0)
    method = np.asarray(method, dtype=object)
    methods = (np.full(len(dates), method.item(), dtype=object) if method.ndim == 0 else
               np.broadcast_to(method, t.shape)[kept][by_code[starts]])
    out = pd.DataFrame({"expiry": dates, "years": years_max,
                        "forward": sorted_group_medians(codes, by_code, starts, forward[kept]),
                        "implied_rate": sorted_group_medians(codes, by_code, starts, implied_rate[kept]),
                        "method": methods})
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


def quotes_spot(forwards: pd.DataFrame, spot: float, *, rate: float = 0.0, div_yield: float = 0.0) -> float | None:
    """The spot the option quotes imply, where the near expiries' parity forwards say ``spot`` is stale.

    A header spot printed after hours or pre-market (a live last trade) beside quotes of the last
    session moves every near forward alike from it beyond carry. Where each of the nearest
    ``STALE_SPOT_EXPIRIES`` parity expiries (two at least, within ``BASIS_FIT_YEARS``) sits more than
    ``STALE_SPOT_MIN_BASIS`` from ``spot`` beyond the chain's carry, all on one side, the spot the
    quotes imply is ``spot e^m`` with ``m`` the median of their excess ``ln(F/S) - b T``
    (:func:`spot_basis`); else None. A dividend paid before the first expiry looks the same.

    Examples
    --------
    >>> t = np.array([0.003, 0.006, 0.009, 0.05])
    >>> f = pd.DataFrame({"years": t, "forward": 101.5 * np.exp(0.05 * t), "method": "parity"})
    >>> round(quotes_spot(f, 100.0), 6)
    101.5
    >>> quotes_spot(f, 101.5) is None
    True
    """
    _, _, excess = spot_basis(forwards, spot, rate=rate, div_yield=div_yield)
    near = excess[np.isfinite(excess)][:STALE_SPOT_EXPIRIES]
    if near.size < 2 or not (np.all(near > STALE_SPOT_MIN_BASIS) or np.all(near < -STALE_SPOT_MIN_BASIS)):
        return None
    return float(spot) * float(np.exp(np.median(near)))


def respot(forwards: pd.DataFrame, spot: float, *, rate: float = 0.0, div_yield: float = 0.0) -> pd.DataFrame:
    """A copy of an :func:`expiry_forwards` table on another ``spot``: fallback expiries' forwards
    ``S e^{(r - q) T}`` and every ``forward_basis_pct`` recomputed; parity fits unchanged."""
    out = forwards.copy()
    fallback = (out["method"] == "fallback").to_numpy()
    t = out["years"].to_numpy(float)
    out["forward"] = np.where(fallback, float(spot) * np.exp((rate - div_yield) * t), out["forward"].to_numpy(float))
    out["forward_basis_pct"] = 100.0 * (out["forward"].to_numpy(float) / float(spot) - 1.0)
    return out
