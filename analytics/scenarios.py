"""Spot scenarios from ONE gamma engine: GEX and dealer delta over a spot grid, zero-gamma levels,
hedge curves.

Every level a scenario moves is scaled by the same factor ``f = S1 / S0``: spot for BSM rows, the
expiry's forward for Black-76 rows. Revaluation is full (not a Taylor expansion): each option's gamma
and delta are recomputed at the shocked level with its own IV (sticky strike) or with the scenario's
IV (parallel shift in vol points plus a spot-vol beta: ``dIV = shift + beta * shock_pct`` vol points).

The grid engine needs one ``exp`` and one normal CDF per (grid point x option) element, summed over
options:

* ``GEX(f)  = 0.01 f sum_i w_i exp(-q_i t_i) U_i / (sigma_i sqrt(t_i) sqrt(2 pi)) exp(-d1_ij**2 / 2)``
* ``D(f)    = sum_i w_i exp(-q_i t_i) N(d1_ij) - sum_{puts} w_i exp(-q_i t_i)``

with ``w_i`` the dealer's signed contracts times the multiplier. Two paths compute the same sums (to
1e-12, tested): the fused compiled kernel of :mod:`analytics.grid_kernel` (one pass per element, near
the machine's ``exp`` throughput) for large grids, and numpy blocks for small ones, so a short CLI run
never pays numba's import. Blocks run on a thread pool (both release the GIL), so both cores of a
small machine work; the pool lives for one call only. The numpy path works a block in cache-sized
tiles of options x grid points. Neighbouring options with the same ``d1`` at every spot (a strike's
call and put under one IV) are one element, their weights summed. No BLAS call may start BLAS's own
threads: they would stack on the engine's (1.5-3x slower on large chains); the numpy path's sums are
BLAS dot products short enough to run on the calling thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal, overload

import numpy as np

from analytics import pricing
from analytics.locks import ForkSafeLock
from analytics.scenario import MIN_IV, NO_VOL_SCENARIO, VolScenario  # noqa: F401 - MIN_IV: the floor, re-exported

# numpy path: a block of grid points is worked in tiles of _CHUNK options x as many grid points as make
# _TILE_ELEMENTS elements (gamma only, sticky strike: two scratch arrays reused) or _DELTA_TILE_ELEMENTS
# (the normal CDF's and the vol scenario's dozen temporaries), so every pass over a tile runs in cache
# (one pass over a row of the 10x SPX file, 111k options, ran from memory at ~3x the cost). _CHUNK sets
# the order a grid point's sum adds its options in: one value for every caller.
# A tile's sums over options are numpy's vecdot: BLAS's ddot per row, 2x einsum's speed on a tile. OpenBLAS
# runs ddot on the calling thread up to 10,000 elements and wakes its own threads above (measured: their
# CPU time stays 0 at 8,192; at 10,001 the call costs 9x the CPU): _CHUNK must stay below (tested).
_CHUNK = 8192
_TILE_ELEMENTS = 1 << 16
_DELTA_TILE_ELEMENTS = 1 << 14
_WORKERS = max(1, min(8, os.cpu_count() or 1))
_SPLIT_ELEMENTS = 1 << 16  # numpy path: a call with fewer elements runs on the calling thread only
# compiled kernel: a call with less work (elements, a delta element counting _DELTA_COST) runs on the
# calling thread: ~2 ms on one core, about what starting the pool's threads costs on a busy machine
# (a hedge curve of the real SPX file, 41 shocks x 15k options, is 1.7 ms alone and no faster split)
_KERNEL_SPLIT_WORK = 3 << 20
# The compiled kernel is used for calls of at least _KERNEL_ELEMENTS work once loaded. Loading it
# costs ~1.5 s per process (numba's import 0.4 s, its target set-up on the first call ~1 s, which
# imports scipy.linalg), so revalue_grid loads it by itself only for a call worth _KERNEL_LOAD_WORK
# numpy-gamma elements (~1.5 s of numpy work; a delta element costs _DELTA_COST of them): a one-shot
# CLI run stays on numpy; a long-lived server lowers the bar (load_kernel_on_demand, SERVER_LOAD_WORK).
_KERNEL_ELEMENTS = 1 << 14
_KERNEL_LOAD_WORK = 1 << 28
# A long-lived process (the dashboard server) that called load_kernel_on_demand() starts loading the
# kernel in the background on the first call of at least this work (~15 ms of numpy on one core: the
# real 15k-option SPX file's 601-point profile is 37M; the demo data's largest call 0.5M, so a worker
# on the demo data never loads it). The kernel costs ~115 MB of RSS per process (numba, llvmlite and
# LLVM's code generator, loaded even when the machine code comes from the on-disk cache).
SERVER_LOAD_WORK = 1 << 22
_DELTA_COST = 4
# held while the kernel loads (~1.5 s, on a background thread in a server): a child forked meanwhile
# (a background job) gets its own, or its first big grid would wait for ever
_KERNEL_LOCK = ForkSafeLock()
_kernel = None  # the module analytics.grid_kernel once load_kernel() has run
_load_work = _KERNEL_LOAD_WORK  # a call of this work loads the kernel (load_kernel_on_demand lowers it)
_background_load: threading.Thread | None = None  # load_kernel_on_demand's loader, once started


# a dot product per row of a (the last axis): BLAS ddot, on the calling thread within _CHUNK elements
_dot_rows: Callable[[np.ndarray, np.ndarray], np.ndarray] = np.vecdot


def _dot(a: np.ndarray, w: np.ndarray) -> float:
    """``a . w`` of two 1-D arrays: :func:`_dot_rows` on pieces of ``_CHUNK`` elements (one BLAS thread)."""
    whole = a.size - a.size % _CHUNK
    total = float(_dot_rows(a[:whole].reshape(-1, _CHUNK), w[:whole].reshape(-1, _CHUNK)).sum()) if whole else 0.0
    return total + float(_dot_rows(a[whole:], w[whole:]))


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


def scenario_iv(iv: np.ndarray, shock_pct, vol: VolScenario = NO_VOL_SCENARIO) -> np.ndarray:
    """IV after a vol scenario: ``iv + (shift_pts + spot_vol_beta * shock_pct) / 100``, floored
    (:meth:`analytics.scenario.VolScenario.bumped_iv`).

    Broadcasts ``shock_pct`` (grid) against ``iv`` (options): returns shape (grid, options) when
    ``shock_pct`` is an array.

    Examples
    --------
    >>> scenario_iv(np.array([0.20]), -10.0, VolScenario(shift_pts=1.0, spot_vol_beta=-0.5)).round(4).tolist()
    [0.26]
    """
    return vol.bumped_iv(iv, shock_pct)


def load_kernel():
    """Import and warm the compiled grid kernel now (~1.5 s once per process); None without numba.

    :func:`revalue_grid` loads it by itself when a call is large enough to repay the cost; a
    long-lived process (the dashboard server) calls :func:`load_kernel_on_demand` instead, which loads
    it in the background at the first big grid. The machine code comes from numba's on-disk cache
    after the first run (compiling costs ~3 s).
    """
    global _kernel
    with _KERNEL_LOCK:
        if _kernel is None:
            try:
                from analytics import grid_kernel
            except ImportError:  # numba missing or broken: the numpy path computes the same sums
                return None
            grid_kernel.warm_up()
            _kernel = grid_kernel
        return _kernel


def load_kernel_on_demand(min_work: int = SERVER_LOAD_WORK) -> None:
    """A long-lived process: load the compiled kernel on a background thread at the first call of at
    least ``min_work`` (:data:`SERVER_LOAD_WORK`), instead of at start-up.

    That call, and every call until the kernel is ready, take the numpy path (the same sums to 1e-12):
    no request waits for numba's ~1.5 s start-up, and a process that only ever sees small grids (the
    demo data) never carries the kernel's ~115 MB. Call it after forking (each worker loads its own).
    """
    global _load_work
    _load_work = min_work


def _start_background_load() -> None:
    global _background_load
    with _KERNEL_LOCK:
        if _background_load is None:
            _background_load = threading.Thread(target=load_kernel, name="mmpos-kernel-load", daemon=True)
            _background_load.start()


def _kernel_for(work: int):
    """The compiled kernel if this call should use it (see ``_KERNEL_LOAD_WORK``), else None."""
    if _kernel is not None:
        return _kernel if work >= _KERNEL_ELEMENTS else None
    if work < _load_work:
        return None
    if _load_work >= _KERNEL_LOAD_WORK:  # a one-shot run: a call this big repays loading it now
        return load_kernel()
    _start_background_load()
    return None


@dataclass(frozen=True)
class _Constants:
    """Per-option constants of one call.

    Sticky strike: ``d1 = log(f) * inv + b`` (``b`` is :func:`analytics.pricing.d1` at ``f = 1``; d1
    is linear in log-moneyness). Vol scenario: ``d1 = pricing.d1(log(f) + log_m, drift, iv_j sqrt_t)``.
    """

    inv: np.ndarray  # 1 / (sigma sqrt t)
    b: np.ndarray  # d1 at f = 1
    gamma_w: np.ndarray  # GEX weight: w exp(-q t) U inv / sqrt(2 pi)
    disc_w: np.ndarray  # delta weight: w exp(-q t)
    iv: np.ndarray
    log_m: np.ndarray  # log(U / K)
    drift: np.ndarray  # (r - q) t
    sqrt_t: np.ndarray
    level_w: np.ndarray  # w exp(-q t) U
    delta_offset: float  # 0.5 sum(disc_w) - sum over puts of disc_w

    @classmethod
    def of(cls, pos: Positions) -> _Constants:
        iv = np.ascontiguousarray(pos.iv, dtype=float)  # the kernel compiles for contiguous float64
        sqrt_t = np.sqrt(pos.years)
        vol_t = iv * sqrt_t
        log_m = np.log(pos.level / pos.strike)
        drift = (pos.rate - pos.carry) * pos.years
        inv = 1.0 / vol_t
        disc_w = pos.weight * np.exp(-pos.carry * pos.years)
        level_w = disc_w * pos.level
        delta_offset = float(0.5 * disc_w.sum() - disc_w[pos.side < 0].sum())
        gamma_w = level_w * inv / pricing.SQRT_2PI
        # neighbours whose d1 is the same function of the spot factor (a strike's call and put under one IV:
        # the OTM policy) have the same exp(-d1^2/2) and N(d1) at every grid point: one element each, their
        # weights summed (the put's delta offset is counted above); inv and b are functions of these four
        same = iv[1:] == iv[:-1]
        for a in (sqrt_t, log_m, drift):
            same &= a[1:] == a[:-1]
        if same.any():
            first = np.r_[True, ~same]
            group = np.cumsum(first) - 1
            at = np.flatnonzero(first)
            inv, iv, log_m, drift, sqrt_t, vol_t = (a.take(at) for a in (inv, iv, log_m, drift, sqrt_t, vol_t))
            gamma_w, disc_w, level_w = (np.bincount(group, weights=w) for w in (gamma_w, disc_w, level_w))
        b = pricing.d1(log_m, drift, vol_t)
        return cls(inv=inv, b=b, gamma_w=gamma_w, disc_w=disc_w, iv=iv, log_m=log_m, drift=drift, sqrt_t=sqrt_t,
                   level_w=level_w, delta_offset=delta_offset)


def _block_sums(k: _Constants, factors: np.ndarray, vol: VolScenario, want_delta: bool,
                keep: list[np.ndarray] | None = None):
    """GEX and delta sums (before scaling) for a block of grid factors: the numpy path.

    ``vol`` moves the IVs per grid point (an empty one: sticky strike). The block is worked in tiles
    of :data:`_CHUNK` options x a few grid points, whose temporaries stay in the core's cache: each
    element's ``d1``, ``exp(-d1**2 / 2)`` and normal CDF are today's operations, and a grid point's
    sum adds the chunks' sums in option order, so a grid point's value is the same whichever block,
    thread or tile rows it is computed in. ``keep`` (sticky strike only): one array of the options per
    grid point, to receive every element's ``exp(-d1**2 / 2)`` (:func:`zero_gamma_levels` bounds the
    profile between computed points with them; a row each, not one block: numpy asks the kernel for
    huge pages for arrays of 4 MB and more, and a long-lived server keeps that default).
    """
    log_f = np.log(factors)
    sticky = not vol
    m, n = factors.size, k.inv.size
    gex, delta = np.zeros(m), np.zeros(m)
    width = min(n, _CHUNK)  # options per tile: as many grid points as fill it (a small book: many)
    rows = max(1, min(m, (_DELTA_TILE_ELEMENTS if want_delta or not sticky else _TILE_ELEMENTS) // width))
    if sticky:  # scratch for a tile's d1 and exp(-d1^2/2), reused tile after tile
        scratch = np.empty((2, rows * width))
    for s in range(0, n, _CHUNK):
        part = slice(s, s + _CHUNK)
        c = k.inv[part].size
        for r in range(0, m, rows):
            at = slice(r, r + rows)
            h = log_f[at].size
            if sticky:  # d1 = log(f) inv + b: one multiply-add per element
                d1, e = (buf[:h * c].reshape(h, c) for buf in scratch)
                np.multiply.outer(log_f[at], k.inv[part], out=d1)
                d1 += k.b[part]
            else:  # IV varies with the grid point: the full d1 per element
                vol_t = vol.bumped_iv(k.iv[part], (factors[at] - 1.0) * 100.0)
                vol_t *= k.sqrt_t[part]
                d1 = pricing.d1(np.add.outer(log_f[at], k.log_m[part]), k.drift[part], vol_t)
                e = np.empty_like(d1)
            np.square(d1, out=e)
            e *= -0.5
            np.exp(e, out=e)  # exp(-d1^2/2)
            if keep is not None:
                for i in range(h):
                    keep[r + i][part] = e[i]
            if sticky:
                gex[at] += _dot_rows(e, k.gamma_w[part])
            else:
                gex[at] += _dot_rows(e / vol_t, k.level_w[part])
            if want_delta:
                delta[at] += _dot_rows(pricing.centered_norm_cdf(d1, e), k.disc_w[part])
    if not sticky:
        gex /= pricing.SQRT_2PI
    return gex, (delta if want_delta else None)


@overload
def revalue_grid(pos: Positions, factors, *, vol: VolScenario = ...,
                 want_delta: Literal[True] = ...) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def revalue_grid(pos: Positions, factors, *, vol: VolScenario = ...,
                 want_delta: bool) -> tuple[np.ndarray, np.ndarray | None]: ...


def revalue_grid(
    pos: Positions,
    factors,
    *,
    vol: VolScenario = NO_VOL_SCENARIO,
    want_delta: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Total dealer GEX (USD per 1%) and dealer delta (units) at each spot factor ``S1/S0``.

    Parameters
    ----------
    pos : Positions
        The dealer's options (see :func:`analytics.report.positions_from_prepared`).
    factors : array_like
        Spot multipliers, e.g. ``np.linspace(0.7, 1.3, 601)``.
    vol : VolScenario
        Vol scenario: IV moves by ``shift_pts + spot_vol_beta * shock_pct`` vol points.

    Returns
    -------
    gex_usd_per_1pct, dealer_delta_units : ndarray
        GEX at ``S1`` in USD per 1% (``gamma * S1**2 * 0.01`` summed with signs) and dealer delta.
    """
    factors = np.atleast_1d(np.asarray(factors, dtype=float))
    if len(pos) == 0:
        return np.zeros_like(factors), (np.zeros_like(factors) if want_delta else None)
    return _revalue(_Constants.of(pos), factors, vol, want_delta)


def _revalue(consts: _Constants, factors: np.ndarray, vol: VolScenario,
             want_delta: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`revalue_grid` of options whose per-option constants are computed (at least one option)."""
    n = consts.inv.size
    elements = factors.size * n
    cost = elements * (_DELTA_COST if want_delta else 1)
    kernel = _kernel_for(cost)
    if kernel is not None:  # one fused pass per element, rows split evenly across the cores
        rows_per_block = -(-factors.size // _WORKERS) if cost >= _KERNEL_SPLIT_WORK else factors.size
    else:  # enough work: every core a share of the grid points (each works its share in tiles)
        rows_per_block = -(-factors.size // _WORKERS) if elements >= _SPLIT_ELEMENTS else max(1, factors.size)
    starts = range(0, factors.size, rows_per_block)

    def work(start: int):
        block = factors[start:start + rows_per_block]
        if kernel is None:
            return _block_sums(consts, block, vol, want_delta)
        return _kernel_sums(kernel, consts, block, vol, want_delta)

    if len(starts) > 1 and _WORKERS > 1:
        # a short-lived pool per call: no process-wide threads to leak across fork() (gunicorn) or
        # to be killed by a test runner; starting two threads costs ~0.1 ms against tens of ms of work
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(starts)), thread_name_prefix="mmpos-engine") as pool:
            parts = list(pool.map(work, starts))
    else:
        parts = [work(s) for s in starts]
    sums = np.concatenate([p[0] for p in parts])
    gex = 0.01 * factors * sums
    delta = np.concatenate([p[1] for p in parts]) + consts.delta_offset if want_delta else None
    return gex, delta


def _kernel_sums(kernel, k: _Constants, factors: np.ndarray, vol: VolScenario, want_delta: bool):
    """GEX and delta sums for a block of grid factors: the compiled path (same sums as :func:`_block_sums`)."""
    log_f = np.log(factors)
    gex = np.empty_like(factors)
    delta = np.empty_like(factors)
    want_delta = bool(want_delta)  # one compiled signature: numpy bools would compile another
    if not vol:
        kernel.sticky_sums(log_f, k.inv, k.b, k.gamma_w, k.disc_w, want_delta, gex, delta)
    else:
        kernel.vol_scenario_sums(vol, factors, log_f, k.iv, k.log_m, k.drift, k.sqrt_t, k.level_w, k.disc_w,
                                 want_delta, gex, delta)
        gex /= pricing.SQRT_2PI
    return gex, (delta if want_delta else None)


def row_greeks(pos: Positions, factor: float = 1.0, *, vol: VolScenario = NO_VOL_SCENARIO):
    """Per-option greeks at one spot factor ``S1/S0`` (every level scaled by it, as on the grid), from
    the same pricing formula: used where per-row numbers are needed (data notes' share of a flow)."""
    iv = vol.bumped_iv(pos.iv, (factor - 1.0) * 100.0) if vol else pos.iv
    return pricing.greeks(pos.level * factor, pos.strike, pos.years, iv, pos.side, pos.rate, pos.carry)


def zero_crossings(
    pos: Positions,
    factors: np.ndarray,
    gex: np.ndarray,
    *,
    vol: VolScenario = NO_VOL_SCENARIO,
) -> list[float]:
    """Every spot level where total GEX changes sign on the grid, root-solved between grid points.

    Returns spot levels (not factors), ascending. A grid point where GEX is exactly 0 counts once.
    """
    return _crossings(pos, None, factors, gex, vol)


def _crossings(pos: Positions, consts: _Constants | None, factors, gex, vol: VolScenario) -> list[float]:
    """:func:`zero_crossings`, with the per-option constants when the caller has them."""
    factors = np.asarray(factors, dtype=float)
    gex = np.asarray(gex, dtype=float)
    s = np.sign(gex)
    out: list[float] = []
    if not s.any():  # no exposure at all (e.g. zero open interest): no level to report
        return out
    exact = np.flatnonzero(s == 0)
    brackets = np.flatnonzero(s[:-1] * s[1:] < 0)
    if consts is None:
        consts = _Constants.of(pos)  # once for every evaluation of the root search

    def total(f: float) -> float:
        return float(_revalue(consts, np.array([f]), vol, False)[0][0])

    for i in brackets:
        root = brent_root(total, factors[i], factors[i + 1], xtol=1e-10, rtol=1e-12, maxiter=100)
        out.append(root * pos.spot)
    out.extend(float(factors[i] * pos.spot) for i in exact)
    return sorted(out)


SCREEN_STEP = 64  # zero_gamma_levels: grid points between the first ones computed (then halved where needed)
SCREEN_LEAF = 5  # ... down to intervals this short, whose grid points are then all computed


def zero_gamma_levels(pos: Positions, factors, *, vol: VolScenario = NO_VOL_SCENARIO,
                      step: int = SCREEN_STEP) -> list[float]:
    """:func:`zero_crossings` of the gamma profile on ``factors`` without computing every grid point:
    the same levels as ``zero_crossings(pos, factors, revalue_grid(pos, factors, want_delta=False)[0])``
    for a caller that needs the levels only (the headline band's other treatments).

    Under sticky strike the profile is computed at every ``step``-th grid point (and the last). Between
    two computed points each option's ``exp(-d1**2 / 2)`` lies between its values at the ends (or reaches
    its maximum, 1, where ``d1`` changes sign in between: it is unimodal in log spot), which bounds the
    total from below and above. Where the bounds share a sign no grid point in between can change
    sign; elsewhere the interval is halved (its middle grid point computed) until it is settled or
    :data:`SCREEN_LEAF` points short, and then every grid point in it is computed. Every crossing is
    root-solved on the full profile, as :func:`zero_crossings` does. A vol scenario (IV moving with
    spot) computes the whole grid.

    Examples
    --------
    >>> one = np.ones(2)
    >>> pos = Positions(spot=100.0, level=100 * one, strike=np.array([90.0, 110.0]), years=0.1 * one,
    ...                 iv=0.2 * one, side=one, rate=0 * one, carry=0 * one, weight=np.array([100.0, -100.0]))
    >>> f = np.linspace(0.7, 1.3, 601)
    >>> zero_gamma_levels(pos, f) == zero_crossings(pos, f, revalue_grid(pos, f, want_delta=False)[0])
    True
    """
    factors = np.asarray(factors, dtype=float)
    if len(pos) == 0 or vol or factors.size <= 2 * step or not np.all(factors[1:] > factors[:-1]):
        return zero_crossings(pos, factors, revalue_grid(pos, factors, want_delta=False, vol=vol)[0], vol=vol)
    k = _Constants.of(pos)
    abs_w = np.abs(k.gamma_w)
    log_f = np.log(factors)
    sums = np.full(factors.size, np.nan)  # the profile's sums (before scaling) at computed grid points
    gex = np.full(factors.size, np.nan)
    e_at: dict[int, np.ndarray] = {}  # grid point -> exp(-d1^2/2) of every option there (a computed row)
    spread_at: dict[int, float] = {}  # ... and sum |w| exp(-d1^2/2)
    # d1 = log(f) inv + b rises through 0 at log(f) = -b / inv: each option's grid interval for it, and the
    # options in bin order, so an interval's candidates for a sign change of d1 are one slice
    zero_bin = np.searchsorted(log_f, -k.b / k.inv).astype(np.int16 if factors.size < 32_000 else np.int32)
    by_bin = np.argsort(zero_bin, kind="stable")
    bin_start = np.searchsorted(zero_bin[by_bin], np.arange(factors.size + 2))
    inv_by_bin, b_by_bin, w_by_bin = k.inv[by_bin], k.b[by_bin], k.gamma_w[by_bin]

    def compute(points: list[int]) -> None:
        # _block_sums' values (hence signs) at these points: the grid's; it keeps every element's e
        at = np.asarray(points, dtype=np.intp)
        e = [np.empty(k.inv.size) for _ in points]
        sums[at] = _block_sums(k, factors[at], NO_VOL_SCENARIO, False, keep=e)[0]
        gex[at] = 0.01 * factors[at] * sums[at]
        for i, p in enumerate(points):
            e_at[p], spread_at[p] = e[i], _dot(e[i], abs_w)

    gap = np.empty(k.inv.size)  # |e_lo - e_hi| of one interval, a buffer reused

    def settled(lo: int, hi: int) -> bool:
        # Each option's e lies between its ends' values, min = (e_lo + e_hi - |e_lo - e_hi|) / 2 and
        # max = (... + |...|) / 2, so the total lies within mid -/+ sum |w| |e_lo - e_hi| / 2 of the ends'
        # mean; an option whose d1 changes sign in between reaches 1 instead of the larger end.
        e_lo, e_hi = e_at[lo], e_at[hi]
        np.subtract(e_lo, e_hi, out=gap)
        np.abs(gap, out=gap)
        half_gap = 0.5 * _dot(gap, abs_w)
        mid = 0.5 * (sums[lo] + sums[hi])
        low, high = mid - half_gap, mid + half_gap
        spread = 0.5 * (spread_at[lo] + spread_at[hi]) + half_gap  # sum |w| max(e_lo, e_hi)
        near = slice(bin_start[lo], bin_start[hi + 2])  # in bin order: every option whose d1 can change sign
        d_lo = log_f[lo] * inv_by_bin[near] + b_by_bin[near]  # the grid's d1 (the same operations)
        d_hi = log_f[hi] * inv_by_bin[near] + b_by_bin[near]
        crossing = d_lo * d_hi <= 0.0
        if crossing.any():
            at = by_bin[near][crossing]
            lift = w_by_bin[near][crossing] * (1.0 - np.maximum(e_lo[at], e_hi[at]))  # e reaches 1 in between
            up, down = float(np.maximum(lift, 0.0).sum()), float(np.minimum(lift, 0.0).sum())
            low += down
            high += up
            spread += up - down
        slack = 1e-9 * spread  # rounding: a bound this close to 0 settles nothing
        return bool(low > slack or high < -slack)

    first = np.unique(np.r_[np.arange(0, factors.size, step), factors.size - 1]).tolist()
    compute(first)
    cells = list(zip(first[:-1], first[1:], strict=True))
    leaves = []
    while cells:
        rest = []
        for lo, hi in cells:
            if settled(lo, hi):
                gex[lo + 1:hi] = gex[lo]  # a stand-in of the right sign: no grid point between changes it
            elif hi - lo <= SCREEN_LEAF:
                leaves.append((lo, hi))
            else:
                rest.append((lo, hi))
        needed = {p for cell in rest for p in cell}
        for p in [p for p in e_at if p not in needed]:  # rows no interval left to settle ends on go
            del e_at[p]
        mids = [(lo + hi) // 2 for lo, hi in rest]  # halve the rest: a few intervals near the zero crossings
        if mids:
            compute(mids)
        cells = [half for (lo, hi), mid in zip(rest, mids, strict=True) for half in ((lo, mid), (mid, hi))]
    points = np.array([p for lo, hi in leaves for p in range(lo + 1, hi)], dtype=int)
    if points.size:  # on this thread: a few points, no pool (the sums are _revalue's)
        gex[points] = 0.01 * factors[points] * _block_sums(k, factors[points], NO_VOL_SCENARIO, False)[0]
    return _crossings(pos, k, factors, gex, NO_VOL_SCENARIO)


def brent_root(fn: Callable[[float], float], a: float, b: float, *, xtol: float = 2e-12,
               rtol: float = 4 * np.finfo(float).eps, maxiter: int = 100) -> float:
    """A root of ``fn`` in ``[a, b]`` (signs must differ at the ends) by Brent's method.

    The same iteration and stopping rule as ``scipy.optimize.brentq`` (a port of its C ``brentq``:
    inverse quadratic interpolation / secant steps guarded by bisection), so the engine needs no
    scipy import; ``|root - true root| <= xtol + rtol * |root|``.

    Examples
    --------
    >>> round(brent_root(lambda x: x * x - 2.0, 0.0, 2.0), 12)
    1.414213562373
    """
    xpre, xcur = float(a), float(b)
    fpre, fcur = fn(xpre), fn(xcur)
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if (fpre > 0) == (fcur > 0):
        raise ValueError("f(a) and f(b) must have different signs")
    xblk = fblk = spre = scur = 0.0
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and (fpre > 0) != (fcur > 0):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # secant
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # inverse quadratic interpolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry  # accept the interpolation step
            else:
                spre = scur = sbis  # bisect
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = fn(xcur)
    return xcur
