"""Vectorised option pricing: one generalised Black-Scholes engine for every number.

Black-Scholes-Merton on spot ``S`` with rate ``r`` and dividend yield ``q`` and Black-76 on a
forward ``F`` are the same formula on an "underlying level" ``U`` with a carry yield:

* BSM:       ``U = S``, carry yield ``q``;  forward = ``S exp((r - q) T)``
* Black-76:  ``U = F``, carry yield ``r``;  greeks are with respect to ``F``

All functions take array-likes, broadcast them once, and return float64 arrays. ``side`` is +1 for a
call and -1 for a put (see :func:`side_sign`). Units: ``iv`` and rates are decimals, ``years`` is an
ACT/365 year fraction, ``vega`` is per 1.00 of volatility (multiply by 0.01 for one vol point),
``charm`` is d(delta)/d(calendar time) per year (the delta an option gains as one year passes).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

SQRT_2PI = math.sqrt(2.0 * math.pi)
IV_MIN = 1e-4
IV_MAX = 5.0  # above this an IV is treated as absurd and re-solved from prices
PRICE_ROUNDING = 1e-12  # a bound on a computed price's rounding, relative to level + strike (implied_vol)

# Hart (1968) algorithm 5666 as given by West (2005), "Better approximations to cumulative normal
# functions": N(-z) = exp(-z^2/2) P(z) / Q(z) for z >= 0, accurate to machine precision (absolute) on
# the whole real line (checked against scipy.special.ndtr in the tests). Its value is that it reuses
# exp(-d1^2/2), which the gamma needs anyway, and runs as a few multiply-adds: about 3x faster than
# scipy's ndtr per element, and no scipy import. Beyond z = HART_CF_FROM West's continued fraction
# keeps the far tail's relative error near 1e-8 (the rational form's drifts to ~1e-6 there).
HART_P = (3.52624965998911e-02, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871,
          221.213596169931, 220.206867912376)
HART_Q = (8.83883476483184e-02, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674,
          637.333633378831, 793.826512519948, 440.413735824752)
HART_CF_FROM = 7.07106781186547


class Greeks(NamedTuple):
    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    vanna: np.ndarray
    charm: np.ndarray


def side_sign(side) -> np.ndarray:
    """Convert ``"C"``/``"P"`` labels (or +/-1) once into a float array of +1/-1.

    Examples
    --------
    >>> side_sign(["C", "P", "c"]).tolist()
    [1.0, -1.0, 1.0]
    """
    arr = np.asarray(side)
    if arr.dtype.kind in "iuf":
        out = np.sign(arr).astype(float)
        if np.any(out == 0):
            raise ValueError("side must be +1 (call) or -1 (put)")
        return out
    # the labels are checked once per distinct value (a chain has two): hashing is ~10x cheaper than
    # string operations on every row
    codes, labels = pd.factorize(arr.ravel(), use_na_sentinel=False)
    upper = np.char.upper(np.asarray(labels).astype(str))
    call = np.char.startswith(upper, "C")
    put = np.char.startswith(upper, "P")
    if not np.all(call | put):
        raise ValueError(f"side must be 'C' or 'P', got {np.asarray(labels, dtype=object)[~(call | put)][0]!r}")
    return np.where(call, 1.0, -1.0)[codes].reshape(arr.shape)


def d1(log_moneyness, carry_drift, vol_sqrt_t):
    """Black-Scholes ``d1 = (log(U/K) + (r - q) t + sigma^2 t / 2) / (sigma sqrt t)``.

    The one place d1 is written: plain arithmetic, so it serves scalars, numpy arrays and the
    compiled grid kernel (:mod:`analytics.grid_kernel`) alike. ``carry_drift`` is ``(r - q) t`` and
    ``vol_sqrt_t`` is ``sigma sqrt(t)``; ``d2 = d1 - vol_sqrt_t``. Since d1 is linear in
    ``log_moneyness``, a spot scaled by ``f`` moves it by ``log(f) / vol_sqrt_t`` (the grid engine's
    sticky-strike shortcut).

    Examples
    --------
    Hull example 15.6 (S=42, K=40, r=10%, sigma=20%, T=0.5): d1 = 0.7693.

    >>> round(d1(math.log(42 / 40), 0.10 * 0.5, 0.2 * math.sqrt(0.5)), 4)
    0.7693
    """
    return (log_moneyness + carry_drift + 0.5 * vol_sqrt_t * vol_sqrt_t) / vol_sqrt_t


def norm_cdf_tail(z, exp_half_z2):
    """``N(-z)`` for ``z >= 0`` given ``exp(-z**2 / 2)`` (Hart/West rational form, :data:`HART_P`).

    Plain arithmetic (scalars, arrays, the compiled kernel). :func:`centered_norm_cdf` is the
    form the grid engine sums; :func:`norm_cdf` keeps the tail's relative accuracy for negative ``x``.

    Examples
    --------
    >>> round(norm_cdf_tail(1.959963984540054, math.exp(-0.5 * 1.959963984540054 ** 2)), 12)
    0.025
    """
    # in place after the first step (the same operations in the same order: one array per polynomial
    # instead of two per step on arrays; scalars and the compiled kernel just rebind)
    num = HART_P[0] * z + HART_P[1]
    for c in HART_P[2:]:
        num *= z
        num += c
    den = HART_Q[0] * z + HART_Q[1]
    for c in HART_Q[2:]:
        den *= z
        den += c
    num *= exp_half_z2
    num /= den
    return num


def centered_norm_cdf(x, exp_half_x2):
    """``N(x) - 0.5`` given ``exp(-x**2 / 2)``: the form the grid engine sums (absolute accuracy).

    Plain arithmetic on :func:`norm_cdf_tail` (scalars, arrays, the compiled kernel).

    Examples
    --------
    >>> x = 1.959963984540054
    >>> round(float(centered_norm_cdf(x, math.exp(-0.5 * x * x))) + 0.5, 12)
    0.975
    """
    return np.copysign(0.5 - norm_cdf_tail(np.abs(x), exp_half_x2), x)


def norm_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / SQRT_2PI


def norm_cdf(x) -> np.ndarray:
    """Standard normal CDF (Hart/West form, no scipy): relative accuracy kept in the lower tail.

    Examples
    --------
    >>> norm_cdf([-1.959963984540054, 0.0, 1.959963984540054]).round(12).tolist()
    [0.025, 0.5, 0.975]
    """
    x = np.asarray(x, dtype=float)
    z = np.abs(x)
    e = np.exp(-0.5 * x * x)
    with np.errstate(invalid="ignore"):
        tail = np.array(norm_cdf_tail(z, e), dtype=float)
        # the continued fraction only where it is used (beyond HART_CF_FROM, and NaN): the same
        # operations on those elements, without five divisions on every other one
        far = ~(z < HART_CF_FROM)
        if far.any():
            zf = z[far]
            tail[far] = e[far] / (zf + 1.0 / (zf + 2.0 / (zf + 3.0 / (zf + 4.0 / (zf + 0.65))))) / SQRT_2PI
    return np.where(x < 0, tail, 1.0 - tail)


def greeks(underlying, strike, years, iv, side, rate=0.0, carry_yield=0.0) -> Greeks:
    """Price and greeks of European options under the generalised Black-Scholes model.

    Parameters
    ----------
    underlying : array_like
        Spot (BSM, with ``carry_yield`` = dividend yield) or forward (Black-76, with
        ``carry_yield`` = ``rate``).
    strike, years, iv : array_like
        Strike, ACT/365 years to settlement (> 0) and volatility as a decimal (> 0).
    side : array_like
        +1 for calls, -1 for puts (:func:`side_sign`).
    rate, carry_yield : array_like
        Continuously compounded rate and carry yield, decimals.

    Returns
    -------
    Greeks
        ``price``, ``delta`` (per 1 unit of underlying), ``gamma`` (per unit, per unit),
        ``vega`` (per 1.00 vol), ``vanna`` (d delta / d vol, per 1.00 vol) and ``charm``
        (d delta / d t as calendar time passes, per year).

    Examples
    --------
    Hull, *Options, Futures and Other Derivatives*, example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5.

    >>> g = greeks(42.0, 40.0, 0.5, 0.2, side_sign(["C", "P"]), rate=0.10)
    >>> np.round(g.price, 2).tolist()
    [4.76, 0.81]
    """
    u, k, t, v, w, r, q = _float_arrays(underlying, strike, years, iv, side, rate, carry_yield)
    p = _priced(u, k, t, v, w, r, q)
    delta = w * p.df_q * p.cdf_w1
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = _gamma_of(p.df_q, p.pdf1, u, p.vol_t)
        vanna = -p.df_q * p.pdf1 * p.d_2 / v
        dd1_dt = ((r - q + 0.5 * v * v) - p.log_m / t) / (2.0 * p.vol_t)
    # charm = -d(delta)/dT ; delta = w df_q N(w d1)  =>  d delta/dT = -q delta + df_q pdf1 dd1/dT
    charm = q * delta - p.df_q * p.pdf1 * dd1_dt
    return Greeks(p.price, delta, gamma, _vega_of(p), vanna, charm)


def _float_arrays(*args) -> tuple[np.ndarray, ...]:
    """The arguments as float arrays broadcast to one shape."""
    return np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))


class _Fixed(NamedTuple):
    """The price's terms that do not depend on the vol (:func:`_fixed`): once per row where many vols
    are priced (:func:`implied_vol`)."""

    sqrt_t: np.ndarray
    log_m: np.ndarray  # log(u / k)
    drift: np.ndarray  # (r - q) t
    df_q: np.ndarray  # e^{-qt}
    spot_dq: np.ndarray  # u e^{-qt}
    strike_dr: np.ndarray  # k e^{-rt}


def _fixed(u, k, t, r, q) -> _Fixed:
    """:class:`_Fixed` of float arrays of one shape."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        df_q = np.exp(-q * t)
        return _Fixed(np.sqrt(t), np.log(u / k), (r - q) * t, df_q, u * df_q, k * np.exp(-r * t))


class _Priced(NamedTuple):
    """What :func:`greeks`, :func:`price_vega`, :func:`price` and :func:`implied_vol` compute the price
    from (one home: :func:`_priced_at`)."""

    sqrt_t: np.ndarray
    vol_t: np.ndarray
    log_m: np.ndarray
    d_2: np.ndarray
    df_q: np.ndarray
    spot_dq: np.ndarray
    pdf1: np.ndarray
    cdf_w1: np.ndarray
    price: np.ndarray


def _priced(u, k, t, v, w, r, q) -> _Priced:
    """The generalised Black-Scholes price ``w (u e^{-qt} N(w d1) - k e^{-rt} N(w d2))`` and its terms, of
    float arrays of one shape."""
    return _priced_at(_fixed(u, k, t, r, q), v, w)


def _priced_at(f: _Fixed, v, w) -> _Priced:
    """:func:`_priced` at vols ``v`` and sides ``w`` from the vol-free terms ``f``."""
    vol_t, d_1 = _d1_at(f, v)
    d_2 = d_1 - vol_t
    pdf1 = norm_pdf(d_1)
    cdf_w1 = norm_cdf(w * d_1)
    return _Priced(f.sqrt_t, vol_t, f.log_m, d_2, f.df_q, f.spot_dq, pdf1, cdf_w1,
                   w * (f.spot_dq * cdf_w1 - f.strike_dr * norm_cdf(w * d_2)))


def _vega_of(p: _Priced):
    """Vega per 1.00 vol from the price's terms."""
    return p.spot_dq * p.pdf1 * p.sqrt_t


def _d1_at(f: _Fixed, v) -> tuple[np.ndarray, np.ndarray]:
    """``(sigma sqrt(t), d1)`` at vols ``v`` from the vol-free terms: what every price and greek starts from."""
    vol_t = v * f.sqrt_t
    with np.errstate(divide="ignore", invalid="ignore"):
        return vol_t, d1(f.log_m, f.drift, vol_t)


def _gamma_of(df_q, pdf1, u, vol_t):
    """Gamma from the carry discount ``exp(-q t)``, the density at d1, the level and ``sigma sqrt(t)``."""
    return df_q * pdf1 / (u * vol_t)


def gamma(underlying, strike, years, iv, rate=0.0, carry_yield=0.0) -> np.ndarray:
    """:func:`greeks`' ``gamma`` alone, by the same operations (the same floats), without the prices,
    the normal CDFs and the other greeks: what a headline treatment's GEX needs.

    Examples
    --------
    >>> g = greeks(42.0, 40.0, 0.5, 0.2, side_sign(["C", "P"]), rate=0.10)
    >>> bool(np.array_equal(gamma(42.0, 40.0, 0.5, 0.2, rate=0.10), g.gamma[0]))
    True
    """
    u, k, t, v, r, q = _float_arrays(underlying, strike, years, iv, rate, carry_yield)
    f = _fixed(u, k, t, r, q)
    vol_t, d_1 = _d1_at(f, v)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gamma_of(f.df_q, norm_pdf(d_1), u, vol_t)


def price_vega(underlying, strike, years, iv, side, rate=0.0, carry_yield=0.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`greeks`' ``price`` and ``vega`` alone, by the same operations (the same floats), without
    the other greeks: what each step of :func:`implied_vol` needs.

    Examples
    --------
    >>> g = greeks(42.0, 40.0, 0.5, 0.2, side_sign(["C", "P"]), rate=0.10)
    >>> p, v = price_vega(42.0, 40.0, 0.5, 0.2, side_sign(["C", "P"]), rate=0.10)
    >>> bool(np.array_equal(p, g.price) and np.array_equal(v, g.vega))
    True
    """
    u, k, t, v, w, r, q = _float_arrays(underlying, strike, years, iv, side, rate, carry_yield)
    p = _priced(u, k, t, v, w, r, q)
    return p.price, _vega_of(p)


def price(underlying, strike, years, iv, side, rate=0.0, carry_yield=0.0) -> np.ndarray:
    """:func:`greeks`' price alone (cheaper than :func:`greeks`), by the same operations."""
    return _priced(*_float_arrays(underlying, strike, years, iv, side, rate, carry_yield)).price


def implied_vol(
    option_price,
    underlying,
    strike,
    years,
    side,
    rate=0.0,
    carry_yield=0.0,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    guess=None,
) -> np.ndarray:
    """Vectorised implied volatility: safeguarded Newton inside a shrinking bisection bracket.

    Returns NaN where no volatility in ``[IV_MIN, IV_MAX]`` reproduces the price (price at or
    below intrinsic value, above the no-arbitrage upper bound, non-finite inputs).

    ``guess`` (array_like, optional): a starting volatility per option, e.g. the IV the file quotes
    beside the price; where it is not a finite value in ``(IV_MIN, IV_MAX)`` (and without it) the start
    is Brenner-Subrahmanyam's ATM approximation clipped to [0.05, 1]. The stopping rule is the same
    either way (price within ``tol`` x vega): a close start takes fewer steps to the same tolerance,
    not to the same last bits.

    Examples
    --------
    >>> p = price(100.0, 100.0, 1.0, 0.25, 1.0)
    >>> round(float(implied_vol(p, 100.0, 100.0, 1.0, 1.0)), 10)
    0.25
    """
    bcast = _float_arrays(option_price, underlying, strike, years, side, rate, carry_yield)
    shape = bcast[0].shape
    p, u, k, t, w, r, q = (np.array(a, dtype=float).ravel() for a in bcast)
    # Brenner-Subrahmanyam start, clipped into the bracket
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.clip(np.sqrt(2 * np.pi / np.where(t > 0, t, 1.0)) * p / np.where(u > 0, u, 1.0), 0.05, 1.0)
    if guess is not None:
        start = np.broadcast_to(np.asarray(guess, dtype=float), shape).ravel()
        with np.errstate(invalid="ignore"):
            sigma = np.where((start > IV_MIN) & (start < IV_MAX), start, sigma)
    # ok: a price strictly between the prices at IV_MIN and IV_MAX (decided after the first evaluation)
    ok = np.isfinite(p) & np.isfinite(u) & (t > 0) & (u > 0) & (k > 0)
    sigma = np.where(ok, sigma, np.nan)
    # the rows still iterating, with their price's vol-free terms (_fixed, once per row), vol and bracket:
    # compressed as rows finish. Each step prices by _priced_at: the floats price_vega gives
    idx = np.flatnonzero(ok)
    s, ww, pp = sigma[idx], w[idx], p[idx]
    lo, hi = np.full(idx.size, IV_MIN), np.full(idx.size, IV_MAX)
    fixed = _fixed(*(a[idx] for a in (u, k, t, r, q)))
    size = u[idx] + k[idx]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for iteration in range(max_iter):
            if not idx.size:
                break
            priced = _priced_at(fixed, s, ww)
            vega, d_2, vol_t = _vega_of(priced), priced.d_2, priced.vol_t
            diff = priced.price - pp
            if iteration < 2:
                # the bracket's prices are needed only where no price so far settles them: the price rises
                # with the vol, so a vol priced below the quote (by more than the prices' rounding) puts it
                # above the price at IV_MIN, one priced above puts it below the price at IV_MAX; most first
                # Newton steps from below overshoot, so the rows left open after the second price are
                # priced there
                margin = PRICE_ROUNDING * size
                if iteration == 0:
                    open_lo, open_hi = ~(diff < -margin), ~(diff > margin)
                else:
                    open_lo &= ~(diff < -margin)
                    open_hi &= ~(diff > margin)
                    outside = _outside_bracket(p, u, k, t, w, r, q, idx, open_lo, open_hi)
                    if outside.any():
                        ok[idx[outside]] = False
                        keep = ~outside
                        fixed = _Fixed(*(a.compress(keep) for a in fixed))
                        idx, s, ww, pp, lo, hi, size, diff, vega, d_2, vol_t = (
                            a.compress(keep) for a in (idx, s, ww, pp, lo, hi, size, diff, vega, d_2, vol_t))
            above = diff > 0
            hi = np.where(above, s, hi)
            lo = np.where(above, lo, s)
            step = s - diff / vega
            gap = np.abs(diff)
            converged = (gap < tol * vega) | (gap < 1e-14 * np.maximum(1.0, pp))
            inside = np.isfinite(step) & (step >= lo) & (step <= hi)
            new = np.where(converged, s, np.where(inside, step, 0.5 * (lo + hi)))
            done = converged | (np.abs(new - s) < 1e-13) | (hi - lo < 1e-13)
            # a Newton step so small that the price at its end is surely within tol x vega: the evaluation
            # that would confirm it is skipped (the vol is the step's end, as that evaluation would keep it)
            near = inside & ~converged
            near[near] = np.abs(step[near] - s[near]) < 1e-4 * s[near]  # the only steps that can settle
            if near.any():
                done[near] |= _step_settles(s[near], (step - s)[near], vega[near], d_2[near], vol_t[near], size[near],
                                            tol)
            if iteration == 0:  # rows finishing at their first price (or all, without a second): their bracket now
                now = done if max_iter > 1 else np.ones_like(done)
                if now.any():
                    outside = np.zeros_like(done)
                    outside[now] = _outside_bracket(p, u, k, t, w, r, q, idx[now], open_lo[now], open_hi[now])
                    ok[idx[outside]] = False
            sigma[idx[done]] = new[done]
            going = ~done
            fixed = _Fixed(*(a.compress(going) for a in fixed))
            idx, s, ww, pp, lo, hi, size = (a.compress(going) for a in (idx, new, ww, pp, lo, hi, size))
            if iteration == 0:
                open_lo, open_hi = open_lo.compress(going), open_hi.compress(going)
    sigma[idx] = s  # rows still going after max_iter: their last vol
    return np.where(ok, sigma, np.nan).reshape(shape)


def _outside_bracket(p, u, k, t, w, r, q, rows, open_lo, open_hi) -> np.ndarray:
    """Of the ``rows`` of the inputs: whose quote ``p`` is not strictly between the prices at ``IV_MIN``
    (priced where ``open_lo``) and ``IV_MAX`` (where ``open_hi``); a bound not priced is settled by a price
    of the solve. The computed price is monotone in the vol only up to its rounding (a deep in-the-money
    price at vol 1 can print an ulp below the one at ``IV_MIN``): a price within :data:`PRICE_ROUNDING` x
    (level + strike) of the quote settles neither bound."""
    out = np.zeros(rows.size, dtype=bool)
    for bound, vol, open_ in ((1.0, IV_MIN, open_lo), (-1.0, IV_MAX, open_hi)):
        if open_.any():
            i = rows[open_]
            with np.errstate(invalid="ignore", over="ignore"):
                at = price(u[i], k[i], t[i], vol, w[i], r[i], q[i])
                out[open_] |= ~(bound * (p[i] - at) > 0)
    return out


def _step_settles(s, delta, vega, d_2, vol_t, size, tol: float) -> np.ndarray:
    """Where a Newton step ``delta`` from ``s`` (where the price's ``d2`` and ``sigma sqrt(T)`` are ``d_2``
    and ``vol_t``; ``size``: level + strike) surely lands within ``tol x vega`` of the quote: its
    second-order residual ``volga delta^2 / 2`` (ten times over, with vega's own change along the step
    bounded) plus the price's rounding (ten ulps of level + strike) below a tenth of ``tol x vega``."""
    d_1 = d_2 + vol_t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        curvature = np.abs(d_1 * d_2 / s)  # volga / vega
        small = (np.abs(delta) < 1e-4 * s) & (curvature * np.abs(delta) < 0.01)
        residual = 5.0 * curvature * vega * delta * delta + 2e-15 * size
        return small & (residual < 0.1 * tol * vega)
