"""The implied-vol solver's shortcuts against its former formulation (kept here verbatim): each bracket
price computed only where the first two prices leave it open, and a Newton step that surely lands within
the tolerance taken without the evaluation that would confirm it. Both must give the former vols exactly."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import pricing
from analytics.pricing import IV_MAX, IV_MIN, price, price_vega


def former_implied_vol(option_price, underlying, strike, years, side, rate=0.0, carry_yield=0.0, *,
                       tol: float = 1e-10, max_iter: int = 100, guess=None) -> np.ndarray:
    """pricing.implied_vol as it was before the shortcuts: both bracket prices on every row, every
    Newton step confirmed by one more evaluation."""
    bcast = pricing._float_arrays(option_price, underlying, strike, years, side, rate, carry_yield)
    shape = bcast[0].shape
    p, u, k, t, w, r, q = (np.array(a, dtype=float).ravel() for a in bcast)
    with np.errstate(invalid="ignore", over="ignore"):
        lo_price = price(u, k, t, IV_MIN, w, r, q)
        hi_price = price(u, k, t, IV_MAX, w, r, q)
        ok = np.isfinite(p) & np.isfinite(u) & (t > 0) & (p > lo_price) & (p < hi_price) & (u > 0) & (k > 0)
    lo = np.full(p.shape, IV_MIN)
    hi = np.full(p.shape, IV_MAX)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.clip(np.sqrt(2 * np.pi / np.where(t > 0, t, 1.0)) * p / np.where(u > 0, u, 1.0), 0.05, 1.0)
    if guess is not None:
        start = np.broadcast_to(np.asarray(guess, dtype=float), shape).ravel()
        with np.errstate(invalid="ignore"):
            sigma = np.where((start > IV_MIN) & (start < IV_MAX), start, sigma)
    sigma = np.where(ok, sigma, np.nan)
    active = ok.copy()
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        s = sigma[idx]
        option_price, vega = price_vega(u[idx], k[idx], t[idx], s, w[idx], r[idx], q[idx])
        diff = option_price - p[idx]
        above = diff > 0
        hi[idx] = np.where(above, s, hi[idx])
        lo[idx] = np.where(above, lo[idx], s)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = s - diff / vega
            converged = (np.abs(diff) < tol * vega) | (np.abs(diff) < 1e-14 * np.maximum(1.0, p[idx]))
        inside = np.isfinite(step) & (step >= lo[idx]) & (step <= hi[idx])
        new = np.where(converged, s, np.where(inside, step, 0.5 * (lo[idx] + hi[idx])))
        sigma[idx] = new
        done = converged | (np.abs(new - s) < 1e-13) | (hi[idx] - lo[idx] < 1e-13)
        active[idx[done]] = False
    return np.where(ok, sigma, np.nan).reshape(shape)


def _random_book(n: int, seed: int):
    """Options across moneyness, time, vol, rates and carry; prices from their vol, plus rows just inside
    and just outside the bracket's prices, at intrinsic, above the bound, NaN and expired."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(50.0, 150.0, n)
    k = u * np.exp(rng.normal(0.0, 0.4, n))
    t = np.exp(rng.uniform(np.log(1e-4), np.log(3.0), n))
    v = np.exp(rng.uniform(np.log(0.02), np.log(3.0), n))
    w = rng.choice([-1.0, 1.0], n)
    r, q = rng.uniform(-0.01, 0.08, n), rng.uniform(0.0, 0.05, n)
    with np.errstate(over="ignore", invalid="ignore"):
        p = price(u, k, t, v, w, r, q)
        lo_p, hi_p = price(u, k, t, IV_MIN, w, r, q), price(u, k, t, IV_MAX, w, r, q)
    edge = rng.integers(0, 8, n)
    p = np.select([edge == 0, edge == 1, edge == 2, edge == 3],
                  [lo_p * (1 + 1e-9), lo_p * (1 - 1e-9), hi_p * (1 - 1e-9), hi_p * (1 + 1e-9)], p)
    p[::97] = np.nan
    t[::89] = 0.0
    return p, u, k, t, w, r, q, v


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("max_iter", [1, 2, 3, 100])  # stopped before, at and after the bracket's last check
def test_the_solver_gives_the_former_formulations_vols_exactly(seed, max_iter):
    p, u, k, t, w, r, q, v = _random_book(20_000, seed)
    rng = np.random.default_rng(seed + 10)
    guesses = (None, v * np.exp(rng.normal(0.0, 0.05, v.size)), np.where(rng.random(v.size) < 0.5, 4.9, 1e-3))
    with np.errstate(over="ignore"):
        for guess in guesses:
            np.testing.assert_array_equal(pricing.implied_vol(p, u, k, t, w, r, q, guess=guess, max_iter=max_iter),
                                          former_implied_vol(p, u, k, t, w, r, q, guess=guess, max_iter=max_iter))


def test_a_quote_just_outside_either_bracket_price_has_no_vol_whichever_side_the_start_prices():
    """A bracket price is left out only where a price of the solve settles it: a start priced above a quote
    just below the price at IV_MIN (or below one just above the price at IV_MAX) still finds no vol, whether
    the solve stops after one step or goes on."""
    u, k, t, w = 100.0, np.array([100.0, 130.0, 70.0]), 0.5, np.array([1.0, 1.0, -1.0])
    lo_p, hi_p = price(u, k, t, IV_MIN, w), price(u, k, t, IV_MAX, w)
    for quote in (lo_p * (1 - 1e-9), hi_p * (1 + 1e-9)):
        for start in (0.01, 0.3, 4.0):
            for max_iter in (1, 2, 100):
                assert np.isnan(pricing.implied_vol(quote, u, k, t, w, guess=start, max_iter=max_iter)).all()
    inside = pricing.implied_vol(lo_p + 0.5 * (hi_p - lo_p), u, k, t, w, guess=0.3)
    assert np.isfinite(inside).all()


def test_the_solver_gives_the_former_formulations_vols_on_the_real_chains(spx_path, ndx_path):
    from analytics.prepare import _quote_mid
    from analytics.report import prepare_for
    from analytics.scenario import Scenario
    from analytics.sources.cboe import load_cboe

    for path in (spx_path, ndx_path):
        chain = load_cboe(path)
        for forward in ("parity", "spot"):
            prep = prepare_for(chain, Scenario(forward=forward, iv_policy="otm"))
            rows = prep.chain.rows
            mid = _quote_mid(rows)
            i = np.flatnonzero(np.isfinite(mid))  # both sides: in-the-money quotes test the bracket
            args = (mid[i], prep.level[i], rows["strike"].to_numpy(float)[i], prep.years[i], prep.side[i],
                    prep.rate[i], prep.carry[i])
            with np.errstate(over="ignore"):
                for guess in (None, rows["iv"].to_numpy(float)[i]):
                    np.testing.assert_array_equal(pricing.implied_vol(*args, guess=guess),
                                                  former_implied_vol(*args, guess=guess))
