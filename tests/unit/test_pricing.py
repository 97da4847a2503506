"""Greeks three ways: published reference values, central finite differences, identities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import pricing
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def vollib_cases() -> pd.DataFrame:
    raw = json.loads(shared_file("vollib_bs_reference_test_data.json").read_text())
    return pd.DataFrame(raw["data"], columns=raw["columns"])


def test_prices_and_greeks_match_the_vollib_reference_table(vollib_cases):
    c = vollib_cases
    for side, prefix, price_col in ((1.0, "C", "bs_call"), (-1.0, "P", "bs_put")):
        g = pricing.greeks(c.S, c.K, c.t, c.v, side, rate=c.R)
        np.testing.assert_allclose(g.price, c[price_col], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(g.delta, c[prefix + "D"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g.gamma, c[prefix + "G"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g.vega, c[prefix + "V"], rtol=1e-6, atol=1e-6)
    assert len(c) == 101


HAUG = {  # greek name in the CSV -> how to get it from pricing.greeks
    "delta": lambda g: g.delta,
    "gamma": lambda g: g.gamma,
    "vega": lambda g: g.vega,
}


def test_greeks_match_quantlib_haug_values():
    table = pd.read_csv(shared_file("quantlib_haug_greek_values.csv"), comment="#")
    checked = 0
    for row in table.itertuples():
        if row.greek not in HAUG:
            continue
        side = 1.0 if row.type == "call" else -1.0
        g = pricing.greeks(row.spot, row.strike, row.t, row.vol, side, rate=row.r, carry_yield=row.q)
        assert float(HAUG[row.greek](g)) == pytest.approx(row.expected, abs=1e-4), row
        checked += 1
    assert checked == 6


def test_hull_example_prices():
    g = pricing.greeks(42.0, 40.0, 0.5, 0.2, [1.0, -1.0], rate=0.10)
    np.testing.assert_allclose(g.price, [4.7594, 0.8086], atol=5e-5)


GRID = np.array(np.meshgrid(
    [60.0, 95.0, 100.0, 108.0, 150.0],  # spot
    [0.02, 0.25, 1.0, 3.0],  # years
    [0.08, 0.3, 0.9],  # vol
    [1.0, -1.0],  # side
    [0.0, 0.05],  # rate
    [0.0, 0.03],  # carry yield
)).reshape(6, -1)


def test_delta_gamma_vega_vanna_charm_match_central_finite_differences():
    s, t, v, w, r, q = GRID
    k = 100.0
    g = pricing.greeks(s, k, t, v, w, r, q)
    hs = 1e-5 * s
    up = pricing.greeks(s + hs, k, t, v, w, r, q)
    dn = pricing.greeks(s - hs, k, t, v, w, r, q)
    np.testing.assert_allclose(g.delta, (up.price - dn.price) / (2 * hs), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.gamma, (up.delta - dn.delta) / (2 * hs), rtol=1e-5, atol=1e-8)
    hv = 1e-5
    vu = pricing.greeks(s, k, t, v + hv, w, r, q)
    vd = pricing.greeks(s, k, t, v - hv, w, r, q)
    np.testing.assert_allclose(g.vega, (vu.price - vd.price) / (2 * hv), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g.vanna, (vu.delta - vd.delta) / (2 * hv), rtol=1e-5, atol=1e-6)
    ht = 1e-5 * t
    later = pricing.greeks(s, k, t - ht, v, w, r, q)  # calendar time passes: T shrinks
    earlier = pricing.greeks(s, k, t + ht, v, w, r, q)
    np.testing.assert_allclose(g.charm, (later.delta - earlier.delta) / (2 * ht), rtol=1e-5, atol=1e-6)


def test_black76_on_a_forward_equals_bsm_with_the_carry_folded_in():
    s, t, v, r, q = 100.0, 0.75, 0.25, 0.04, 0.01
    fwd = s * np.exp((r - q) * t)
    bsm = pricing.greeks(s, 95.0, t, v, 1.0, r, q)
    b76 = pricing.greeks(fwd, 95.0, t, v, 1.0, r, r)
    assert float(b76.price) == pytest.approx(float(bsm.price), rel=1e-12)


positive = st.floats(min_value=0.05, max_value=5.0)


@settings(max_examples=200, deadline=None)
@given(
    s=st.floats(min_value=10, max_value=1000),
    k_ratio=st.floats(min_value=0.5, max_value=2.0),
    t=st.floats(min_value=1 / 365, max_value=5.0),
    v=st.floats(min_value=0.02, max_value=2.0),
    r=st.floats(min_value=-0.01, max_value=0.1),
    q=st.floats(min_value=0.0, max_value=0.08),
)
def test_call_put_identities_hold(s, k_ratio, t, v, r, q):
    k = s * k_ratio
    call = pricing.greeks(s, k, t, v, 1.0, r, q)
    put = pricing.greeks(s, k, t, v, -1.0, r, q)
    # delta parity: call delta - put delta = exp(-qT); gammas and vegas are equal
    assert float(call.delta - put.delta) == pytest.approx(np.exp(-q * t), abs=1e-12)
    assert float(call.gamma) == pytest.approx(float(put.gamma), rel=1e-12, abs=1e-300)
    assert float(call.vega) == pytest.approx(float(put.vega), rel=1e-12, abs=1e-300)
    # price parity
    assert float(call.price - put.price) == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-8 * s)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(min_value=1, max_value=7), m=st.integers(min_value=1, max_value=5))
def test_greeks_broadcast_like_a_ufunc(n, m):
    s = np.linspace(80, 120, n)[:, None]
    k = np.linspace(90, 110, m)[None, :]
    g = pricing.greeks(s, k, 0.5, 0.2, 1.0)
    assert g.gamma.shape == (n, m) and g.gamma.dtype == np.float64
    one = pricing.greeks(float(s[-1, 0]), float(k[0, -1]), 0.5, 0.2, 1.0)
    assert float(g.delta[-1, -1]) == pytest.approx(float(one.delta), rel=1e-15)


def test_implied_vol_recovers_the_vol_across_a_grid():
    s, t, v, w, r, q = GRID
    prices = pricing.price(s, 100.0, t, v, w, r, q)
    solved = pricing.implied_vol(prices, s, 100.0, t, w, r, q)
    # where the price carries time value above numerical noise, the vol comes back
    vega = pricing.greeks(s, 100.0, t, v, w, r, q).vega
    ok = vega > 1e-4
    assert ok.sum() > 0.6 * ok.size
    np.testing.assert_allclose(solved[ok], v[ok], rtol=1e-6)


def test_implied_vol_is_nan_below_intrinsic_or_above_the_upper_bound():
    out = pricing.implied_vol([0.5, 200.0, np.nan], 100.0, 90.0, 0.5, 1.0)
    assert np.isnan(out).all()


def test_side_labels_become_signs_once():
    assert pricing.side_sign(np.array(["C", "P"])).tolist() == [1.0, -1.0]
    with pytest.raises(ValueError, match="side"):
        pricing.side_sign(["X"])


def test_gamma_alone_is_the_greeks_gamma_to_the_last_bit():
    rng = np.random.default_rng(3)
    n = 5000
    u, k = rng.uniform(50, 150, n), rng.uniform(40, 160, n)
    t, v = rng.uniform(1e-4, 3.0, n), rng.uniform(0.01, 2.0, n)
    r, q = rng.uniform(-0.01, 0.08, n), rng.uniform(0.0, 0.05, n)
    assert np.array_equal(pricing.gamma(u, k, t, v, r, q), pricing.greeks(u, k, t, v, np.ones(n), r, q).gamma)


def test_norm_cdf_takes_the_continued_fraction_exactly_where_the_rational_form_stops():
    """Beyond HART_CF_FROM (and for NaN) West's continued fraction, computed there only; elsewhere the
    rational form: each element what the two formulas give it, whatever the shape."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0.0, 4.0, 4000), [pricing.HART_CF_FROM, -pricing.HART_CF_FROM, 40.0, -40.0,
                                                      np.inf, -np.inf, np.nan, 0.0]])
    z, e = np.abs(x), np.exp(-0.5 * x * x)
    with np.errstate(invalid="ignore"):
        far = e / (z + 1.0 / (z + 2.0 / (z + 3.0 / (z + 4.0 / (z + 0.65))))) / pricing.SQRT_2PI
        tail = np.where(z < pricing.HART_CF_FROM, pricing.norm_cdf_tail(z, e), far)
    expected = np.where(x < 0, tail, 1.0 - tail)
    assert np.array_equal(pricing.norm_cdf(x), expected, equal_nan=True)
    assert np.array_equal(pricing.norm_cdf(x.reshape(2, -1)), expected.reshape(2, -1), equal_nan=True)
    z8, e8 = 8.0, np.exp(-32.0)  # a scalar beyond the switch: the continued fraction, a 0-d answer
    assert pricing.norm_cdf(-8.0) == e8 / (z8 + 1.0 / (z8 + 2.0 / (z8 + 3.0 / (z8 + 4.0 / (z8 + 0.65))))) / pricing.SQRT_2PI
    assert pricing.norm_cdf(-8.0).shape == pricing.norm_cdf(0.0).shape == ()


def test_price_vega_is_greeks_price_and_vega_to_the_bit():
    s, t, v, w, r, q = GRID
    p, vega = pricing.price_vega(s, 100.0, t, v, w, r, q)
    g = pricing.greeks(s, 100.0, t, v, w, r, q)
    np.testing.assert_array_equal(p, g.price)
    np.testing.assert_array_equal(vega, g.vega)


def test_a_starting_guess_reaches_the_same_vol_within_the_solvers_tolerance():
    s, t, v, w, r, q = GRID
    prices = pricing.price(s, 100.0, t, v, w, r, q)
    plain = pricing.implied_vol(prices, s, 100.0, t, w, r, q)
    near = pricing.implied_vol(prices, s, 100.0, t, w, r, q, guess=v * 1.01)
    far = pricing.implied_vol(prices, s, 100.0, t, w, r, q, guess=np.where(v > 0.5, 4.9, 1e-3))
    for solved in (near, far):
        np.testing.assert_array_equal(np.isnan(solved), np.isnan(plain))
        # price within tol x vega at both: the vols agree to ~1e-10 (wider where vega is tiny: the bracket's
        # width and the price's own rounding stop those first)
        vega = pricing.greeks(s, 100.0, t, plain, w, r, q).vega
        ok = np.isfinite(plain) & (vega > 1e-2)
        assert np.abs(solved[ok] - plain[ok]).max() < 2e-10


def test_a_guess_outside_the_bracket_or_missing_falls_back_to_the_generic_start():
    p = pricing.price(100.0, 100.0, 1.0, 0.25, 1.0)
    plain = pricing.implied_vol(p, 100.0, 100.0, 1.0, 1.0)
    for guess in (np.nan, 0.0, -1.0, pricing.IV_MAX, 50.0):
        assert float(pricing.implied_vol(p, 100.0, 100.0, 1.0, 1.0, guess=guess)) == float(plain)


def test_the_otm_solve_from_the_file_ivs_equals_the_generic_start_on_the_real_chains(spx_path, ndx_path):
    from analytics.prepare import _quote_mid
    from analytics.report import prepare_for
    from analytics.scenario import Scenario
    from analytics.sources.cboe import load_cboe

    for path in (spx_path, ndx_path):
        chain = load_cboe(path)
        for forward in ("parity", "spot"):
            prep = prepare_for(chain, Scenario(forward=forward, iv_policy="otm"))
            rows = prep.chain.rows
            k = rows["strike"].to_numpy(float)
            f = prep.level * np.exp((prep.rate - prep.carry) * prep.years)
            mid = _quote_mid(rows)
            i = np.flatnonzero((prep.side * (k - f) >= 0) & np.isfinite(mid))
            args = (mid[i], prep.level[i], k[i], prep.years[i], prep.side[i], prep.rate[i], prep.carry[i])
            with np.errstate(over="ignore"):
                plain = pricing.implied_vol(*args)
                started = pricing.implied_vol(*args, guess=rows["iv"].to_numpy(float)[i])
            np.testing.assert_array_equal(np.isnan(started), np.isnan(plain))
            assert np.nanmax(np.abs(started - plain)) <= 1.5e-10
