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
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from analytics import pricing

SQRT_2PI = np.sqrt(2.0 * np.pi)
MIN_IV = 0.01  # floor for scenario vols (1 vol point)
_BLOCK_ELEMENTS = 1 << 18  # elements per block: fits in L2/L3 cache, enough work to amortise overhead
_WORKERS = max(1, min(8, os.cpu_count() or 1))
_SPLIT_ELEMENTS = 1 << 16  # a call with fewer elements runs on the calling thread only


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


def centered_norm_cdf(
    x: np.ndarray,
    exp_half_x2: np.ndarray | None = None,
    *,
    out: np.ndarray | None = None,
    scratch: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``N(x) - 0.5`` for the standard normal CDF ``N``, given ``exp(-x**2 / 2)`` if already known.

    ``out`` receives the result and ``scratch`` provides two work arrays of the same shape (the grid
    engine reuses its buffers); by default fresh arrays are allocated.

    Examples
    --------
    >>> float(centered_norm_cdf(np.array([1.959963984540054]))[0] + 0.5)
    0.975
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-0.5 * x * x) if exp_half_x2 is None else exp_half_x2
    z, den = scratch if scratch is not None else (np.empty_like(x), np.empty_like(x))
    num = out if out is not None else np.empty_like(x)
    np.abs(x, out=z)
    np.multiply(z, _HART_P[0], out=num)
    num += _HART_P[1]
    for c in _HART_P[2:]:
        num *= z
        num += c
    np.multiply(z, _HART_Q[0], out=den)
    den += _HART_Q[1]
    for c in _HART_Q[2:]:
        den *= z
        den += c
    num *= e
    num /= den  # N(-|x|)
    np.subtract(0.5, num, out=num)
    return np.copysign(num, x, out=num)


class _Workspace:
    """Scratch arrays for one block of the grid engine, reused across blocks and calls.

    Fresh multi-megabyte arrays are handed out by the allocator as new pages (mmap), and touching
    them costs page faults that can take longer than the arithmetic; a few kept buffers avoid it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._arrays = [np.empty(size) for _ in range(5)]

    def views(self, rows: int, cols: int) -> list[np.ndarray]:
        return [a[: rows * cols].reshape(rows, cols) for a in self._arrays]


_SPARE: list[_Workspace] = []
_SPARE_LOCK = threading.Lock()


@contextmanager
def _workspace(size: int):
    """Borrow a workspace of at least ``size`` elements (thread-safe; bounded number kept)."""
    with _SPARE_LOCK:
        ws = next((w for w in _SPARE if w.size >= size), None)
        if ws is not None:
            _SPARE.remove(ws)
    if ws is None:
        ws = _Workspace(max(size, _BLOCK_ELEMENTS))
    try:
        yield ws
    finally:
        with _SPARE_LOCK:
            if len(_SPARE) < 2 * _WORKERS:
                _SPARE.append(ws)


@dataclass(frozen=True)
class _Constants:
    """Per-option constants of one call: ``d1 = log(f) * inv + b`` under sticky strike."""

    inv: np.ndarray  # 1 / (sigma sqrt t)
    b: np.ndarray  # d1 at f = 1
    gamma_w: np.ndarray  # GEX weight: w exp(-q t) U inv / sqrt(2 pi)
    disc_w: np.ndarray  # delta weight: w exp(-q t)
    delta_offset: float  # 0.5 sum(disc_w) - sum over puts of disc_w

    @classmethod
    def of(cls, pos: Positions) -> _Constants:
        inv = 1.0 / (pos.iv * np.sqrt(pos.years))
        b = (np.log(pos.level / pos.strike) + (pos.rate - pos.carry + 0.5 * pos.iv ** 2) * pos.years) * inv
        disc_w = pos.weight * np.exp(-pos.carry * pos.years)
        return cls(inv=inv, b=b, gamma_w=disc_w * pos.level * inv / SQRT_2PI, disc_w=disc_w,
                   delta_offset=float(0.5 * disc_w.sum() - disc_w[pos.side < 0].sum()))


def _block_sums(pos: Positions, k: _Constants, factors: np.ndarray, sigma: np.ndarray | None,
                want_delta: bool, ws: _Workspace):
    """GEX and delta totals for a block of grid factors (rows of the block matrix)."""
    log_f = np.log(factors)
    d1, e, c, z, den = ws.views(factors.size, len(pos))
    if sigma is None:  # sticky strike: d1 = log_f * inv + b, one multiply-add per element
        np.multiply.outer(log_f, k.inv, out=d1)
        d1 += k.b
        np.square(d1, out=e)
        e *= -0.5
        np.exp(e, out=e)  # exp(-d1^2/2)
        gex = 0.01 * factors * (e @ k.gamma_w)
    else:  # IV varies with the grid point: full formula per element
        vol_t = sigma * np.sqrt(pos.years)
        np.add.outer(log_f, np.log(pos.level / pos.strike), out=d1)
        d1 += (pos.rate - pos.carry) * pos.years + 0.5 * sigma ** 2 * pos.years
        d1 /= vol_t
        np.square(d1, out=e)
        e *= -0.5
        np.exp(e, out=e)
        np.divide(e, vol_t, out=c)
        gex = 0.01 * factors * (c @ (k.disc_w * pos.level)) / SQRT_2PI
    delta = None
    if want_delta:
        # sum_i w_i N(d1) - sum_puts w_i  with  N(d1) = 0.5 + centered_norm_cdf(d1)
        delta = centered_norm_cdf(d1, e, out=c, scratch=(z, den)) @ k.disc_w + k.delta_offset
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
        The dealer's options (see :func:`analytics.report.positions_from_prepared`).
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
    if factors.size * n >= _SPLIT_ELEMENTS:  # enough work to give every core a share
        rows_per_block = min(rows_per_block, -(-factors.size // _WORKERS))
    starts = range(0, factors.size, rows_per_block)
    consts = _Constants.of(pos)

    def work(start: int):
        f = factors[start:start + rows_per_block]
        sigma = scenario_iv(pos.iv, (f - 1.0) * 100.0, vol_shift_pts, spot_vol_beta) if scenario else None
        if sigma is not None and sigma.ndim == 1:
            sigma = np.broadcast_to(sigma, (f.size, n))
        with _workspace(f.size * n) as ws:
            return _block_sums(pos, consts, f, sigma, want_delta, ws)

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
    if not s.any():  # no exposure at all (e.g. zero open interest): no level to report
        return out
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
