"""Spot scenarios from ONE gamma engine: GEX and dealer delta over a spot grid, zero-gamma levels,
hedge curves.

Every level a scenario moves is scaled by the same factor ``f = S1 / S0``: spot for BSM rows, the
expiry's forward for Black-76 rows. Revaluation is full (not a Taylor expansion): each option's gamma
and delta are recomputed at the shocked level with its own IV (sticky strike) or with the scenario's
IV (parallel shift in vol points plus a spot-vol beta: ``dIV = shift + beta * shock_pct`` vol points).

The grid engine is vectorised over (grid point x option) blocks. Per block it needs one ``exp`` and
one normal CDF per element; the sums over options are matrix-vector products:

* ``GEX(f)  = 0.01 f sum_i w_i exp(-q_i t_i) U_i / (sigma_i sqrt(t_i) sqrt(2 pi)) exp(-d1_ij**2 / 2)``
* ``D(f)    = sum_i w_i exp(-q_i t_i) N(d1_ij) - sum_{puts} w_i exp(-q_i t_i)``

with ``w_i`` the dealer's signed contracts times the multiplier. Blocks run on a thread pool (numpy
releases the GIL), so both cores of a small machine work; the pool lives for one call only.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from analytics import pricing

SQRT_2PI = np.sqrt(2.0 * np.pi)
MIN_IV = 0.01  # floor for scenario vols (1 vol point)
_BLOCK_ELEMENTS = 1 << 18  # elements per block: fits in L2/L3 cache, enough work to amortise overhead
_WORKERS = max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class Positions:
    """Flat arrays the engine prices: one entry per option row with a non-zero position.

    ``level`` is the price level each option is written on (spot, or forward for Black-76), ``years``
    the ACT/365 time to settlement, ``weight`` the dealer's signed contracts x multiplier.
    """

    spot: float
    level: np.ndarray
    strike: np.ndarray
    years: np.ndarray
    iv: np.ndarray
    side: np.ndarray
    rate: np.ndarray
    carry: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.level.size)

    def take(self, mask: np.ndarray) -> Positions:
        return replace(self, **{k: getattr(self, k)[mask] for k in
                                ("level", "strike", "years", "iv", "side", "rate", "carry", "weight")})

    def at_horizon(self, horizon_days: float) -> Positions:
        """Positions ``horizon_days`` later: time shortened, options settled in between removed."""
        if not horizon_days:
            return self
        years = self.years - float(horizon_days) / 365.0
        live = years > 0
        out = self.take(live)
        return replace(out, years=years[live])


def scenario_iv(iv: np.ndarray, shock_pct, vol_shift_pts: float = 0.0, spot_vol_beta: float = 0.0) -> np.ndarray:
    """IV after a vol scenario: ``iv + (vol_shift_pts + spot_vol_beta * shock_pct) / 100``, floored.

    Broadcasts ``shock_pct`` (grid) against ``iv`` (options): returns shape (grid, options) when
    ``shock_pct`` is an array.

    Examples
    --------
    >>> scenario_iv(np.array([0.20]), -10.0, vol_shift_pts=1.0, spot_vol_beta=-0.5).round(4).tolist()
    [0.26]
    """
    bump = (vol_shift_pts + spot_vol_beta * np.asarray(shock_pct, dtype=float)) / 100.0
    return np.maximum(np.add.outer(bump, iv) if np.ndim(bump) else iv + bump, MIN_IV)


# Hart (1968) algorithm 5666 as given by West (2005), "Better approximations to cumulative normal
# functions": N(-z) = exp(-z^2/2) P(z) / Q(z) for z >= 0, accurate to machine precision (absolute) on
# the whole real line (checked against scipy.special.ndtr in the tests). Its value is that it reuses
# exp(-d1^2/2), which the gamma needs anyway, and runs as a few SIMD multiply-adds: about 3x faster
# than scipy's ndtr per element.
_HART_P = (3.52624965998911e-02, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871,
           221.213596169931, 220.206867912376)
_HART_Q = (8.83883476483184e-02, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674,
           637.333633378831, 793.826512519948, 440.413735824752)


def centered_norm_cdf(x: np.ndarray, exp_half_x2: np.ndarray | None = None) -> np.ndarray:
    """``N(x) - 0.5`` for the standard normal CDF ``N``, given ``exp(-x**2 / 2)`` if already known.

    Examples
    --------
    >>> float(centered_norm_cdf(np.array([1.959963984540054]))[0] + 0.5)
    0.975
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-0.5 * x * x) if exp_half_x2 is None else exp_half_x2
    z = np.abs(x)
    num = z * _HART_P[0]
    num += _HART_P[1]
    for c in _HART_P[2:]:
        num *= z
        num += c
    den = z * _HART_Q[0]
    den += _HART_Q[1]
    for c in _HART_Q[2:]:
        den *= z
        den += c
    num *= e
    num /= den  # N(-|x|)
    np.subtract(0.5, num, out=num)
    return np.copysign(num, x, out=num)


def _block_sums(pos: Positions, factors: np.ndarray, sigma: np.ndarray | None, want_delta: bool):
    """GEX and delta totals for a block of grid factors (rows of the block matrix)."""
    log_f = np.log(factors)
    disc_w = pos.weight * np.exp(-pos.carry * pos.years)  # dealer weight x exp(-q t)
    if sigma is None:  # sticky strike: per-option constants, d1 = log_f * inv + b
        inv = 1.0 / (pos.iv * np.sqrt(pos.years))
        b = (np.log(pos.level / pos.strike) + (pos.rate - pos.carry + 0.5 * pos.iv ** 2) * pos.years) * inv
        d1 = np.multiply.outer(log_f, inv)
        d1 += b
        e = np.square(d1)
        e *= -0.5
        np.exp(e, out=e)  # exp(-d1^2/2)
        gex = 0.01 * factors * (e @ (disc_w * pos.level * inv / SQRT_2PI))
    else:  # IV varies with the grid point: full formula per element
        vol_t = sigma * np.sqrt(pos.years)
        d1 = (np.log(pos.level / pos.strike)[None, :] + log_f[:, None]
              + (pos.rate - pos.carry)[None, :] * pos.years + 0.5 * sigma ** 2 * pos.years) / vol_t
        e = np.exp(-0.5 * d1 * d1)
        gex = 0.01 * factors * ((e / vol_t) @ (disc_w * pos.level)) / SQRT_2PI
    delta = None
    if want_delta:
        # sum_i w_i N(d1) - sum_puts w_i  with  N(d1) = 0.5 + centered_norm_cdf(d1)
        delta = centered_norm_cdf(d1, e) @ disc_w + 0.5 * disc_w.sum() - disc_w[pos.side < 0].sum()
    return gex, delta


def revalue_grid(
    pos: Positions,
    factors,
    *,
    vol_shift_pts: float = 0.0,
    spot_vol_beta: float = 0.0,
    want_delta: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Total dealer GEX (USD per 1%) and dealer delta (units) at each spot factor ``S1/S0``.

    Parameters
    ----------
    pos : Positions
        The dealer's options (see :func:`analytics.report.positions_from_chain`).
    factors : array_like
        Spot multipliers, e.g. ``np.linspace(0.7, 1.3, 601)``.
    vol_shift_pts, spot_vol_beta : float
        Vol scenario: IV moves by ``vol_shift_pts + spot_vol_beta * shock_pct`` vol points.

    Returns
    -------
    gex_usd_per_1pct, dealer_delta_units : ndarray
        GEX at ``S1`` in USD per 1% (``gamma * S1**2 * 0.01`` summed with signs) and dealer delta.
    """
    factors = np.atleast_1d(np.asarray(factors, dtype=float))
    n = len(pos)
    if n == 0:
        return np.zeros_like(factors), (np.zeros_like(factors) if want_delta else None)
    scenario = bool(vol_shift_pts) or bool(spot_vol_beta)
    rows_per_block = max(1, _BLOCK_ELEMENTS // n)
    starts = range(0, factors.size, rows_per_block)

    def work(start: int):
        f = factors[start:start + rows_per_block]
        sigma = scenario_iv(pos.iv, (f - 1.0) * 100.0, vol_shift_pts, spot_vol_beta) if scenario else None
        if sigma is not None and sigma.ndim == 1:
            sigma = np.broadcast_to(sigma, (f.size, n))
        return _block_sums(pos, f, sigma, want_delta)

    if len(starts) > 1 and _WORKERS > 1:
        # a short-lived pool per call: no process-wide threads to leak across fork() (gunicorn) or
        # to be killed by a test runner; starting two threads costs ~0.1 ms against tens of ms of work
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(starts)), thread_name_prefix="mmpos-engine") as pool:
            parts = list(pool.map(work, starts))
    else:
        parts = [work(s) for s in starts]
    gex = np.concatenate([p[0] for p in parts])
    delta = np.concatenate([p[1] for p in parts]) if want_delta else None
    return gex, delta


def row_greeks(pos: Positions, factor: float = 1.0, *, vol_shift_pts: float = 0.0, spot_vol_beta: float = 0.0):
    """Per-option greeks at one spot factor, from the same pricing formula (for by-strike views)."""
    iv = scenario_iv(pos.iv, (factor - 1.0) * 100.0, vol_shift_pts, spot_vol_beta) \
        if (vol_shift_pts or spot_vol_beta) else pos.iv
    return pricing.greeks(pos.level * factor, pos.strike, pos.years, iv, pos.side, pos.rate, pos.carry)


def zero_crossings(
    pos: Positions,
    factors: np.ndarray,
    gex: np.ndarray,
    *,
    vol_shift_pts: float = 0.0,
    spot_vol_beta: float = 0.0,
) -> list[float]:
    """Every spot level where total GEX changes sign on the grid, root-solved between grid points.

    Returns spot levels (not factors), ascending. A grid point where GEX is exactly 0 counts once.
    """
    factors = np.asarray(factors, dtype=float)
    gex = np.asarray(gex, dtype=float)
    s = np.sign(gex)
    out: list[float] = []
    exact = np.flatnonzero(s == 0)
    brackets = np.flatnonzero(s[:-1] * s[1:] < 0)

    def total(f: float) -> float:
        return float(revalue_grid(pos, [f], vol_shift_pts=vol_shift_pts, spot_vol_beta=spot_vol_beta,
                                  want_delta=False)[0][0])

    for i in brackets:
        root = brentq(total, factors[i], factors[i + 1], xtol=1e-10, rtol=1e-12, maxiter=100)
        out.append(root * pos.spot)
    out.extend(float(factors[i] * pos.spot) for i in exact)
    return sorted(out)
