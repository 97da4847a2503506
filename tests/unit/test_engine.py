"""The one gamma engine: grid revaluation vs per-row greeks, zero crossings, hedge curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import forwards, pricing, scenarios
from analytics.report import analyze, positions_from_prepared, prepare_chain
from analytics.scenario import VolScenario
from analytics.sources.cboe import load_cboe

# the classic recipe the reference values on real files were published with: spot, r = q = 0, file IVs
CLASSIC = {"forward": "spot", "iv_policy": "file"}


def random_positions(n: int = 400, *, seed: int = 7, black76: bool = False) -> scenarios.Positions:
    rng = np.random.default_rng(seed)
    spot = 100.0
    years = rng.uniform(1 / 365, 2.0, n)
    rate = np.full(n, 0.03)
    carry = np.full(n, 0.03 if black76 else 0.01)
    level = spot * np.exp(0.02 * years) if black76 else np.full(n, spot)
    return scenarios.Positions(
        spot=spot, level=level, strike=rng.uniform(60, 150, n), years=years, iv=rng.uniform(0.08, 0.9, n),
        side=rng.choice([-1.0, 1.0], n), rate=rate, carry=carry, weight=rng.normal(0, 1000, n),
    )


def reference_totals(pos: scenarios.Positions, factors, iv=None):
    gex, delta = [], []
    for j, f in enumerate(factors):
        sig = pos.iv if iv is None else iv[j]
        g = pricing.greeks(pos.level * f, pos.strike, pos.years, sig, pos.side, pos.rate, pos.carry)
        gex.append(float(np.sum(pos.weight * g.gamma * (pos.level * f) ** 2 * 0.01)))
        delta.append(float(np.sum(pos.weight * g.delta)))
    return np.array(gex), np.array(delta)


@pytest.mark.parametrize("black76", [False, True])
def test_grid_engine_matches_per_option_greeks_summed(black76):
    pos = random_positions(black76=black76)
    factors = np.linspace(0.7, 1.3, 1201)  # several thread blocks
    gex, delta = scenarios.revalue_grid(pos, factors)
    ref_gex, ref_delta = reference_totals(pos, factors)
    np.testing.assert_allclose(gex, ref_gex, rtol=1e-10, atol=1e-9 * np.abs(ref_gex).max())
    np.testing.assert_allclose(delta, ref_delta, rtol=1e-10, atol=1e-9 * np.abs(ref_delta).max())


def test_vol_scenario_moves_every_iv_by_shift_plus_beta_times_shock():
    pos = random_positions(120)
    factors = np.array([0.9, 1.0, 1.1])
    gex, delta = scenarios.revalue_grid(pos, factors, vol=VolScenario(2.0, -0.5))
    ivs = [np.maximum(pos.iv + (2.0 - 0.5 * (f - 1) * 100) / 100, scenarios.MIN_IV) for f in factors]
    ref_gex, ref_delta = reference_totals(pos, factors, ivs)
    np.testing.assert_allclose(gex, ref_gex, rtol=1e-10)
    np.testing.assert_allclose(delta, ref_delta, rtol=1e-10)


def test_horizon_shortens_time_and_drops_options_settling_in_between():
    pos = random_positions(50)
    later = pos.at_horizon(10)
    assert len(later) == int((pos.years > 10 / 365).sum())
    np.testing.assert_allclose(later.years, pos.years[pos.years > 10 / 365] - 10 / 365)


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


@pytest.fixture(scope="module")
def ndx(ndx_path):
    return load_cboe(ndx_path)


@pytest.fixture(scope="module")
def spx_classic(spx):
    """``analyze(spx, **CLASSIC)`` once for the module (three tests read it; none changes it)."""
    return analyze(spx, **CLASSIC)


def test_spx_2024_01_07_gamma_flip_lands_near_4734(spx_classic):
    a = spx_classic
    assert len(a.zero_gamma_levels) == 1
    assert a.zero_gamma_levels[0] == pytest.approx(4734, abs=5)
    # dealers short gamma at spot, long above the flip (orientation: published -20.7bn with file IV)
    assert -21.5e9 < a.total_gex_usd_per_1pct < -19.5e9


def test_ndx_2022_02_05_profile_crosses_zero_three_times(ndx):
    a = analyze(ndx, **CLASSIC)
    assert len(a.zero_gamma_levels) == 3
    np.testing.assert_allclose(a.zero_gamma_levels, [14775, 16168, 16355], atol=15)
    # each level is a real root of the same engine's profile
    prep = prepare_chain(ndx, **CLASSIC)
    pos = positions_from_prepared(prep, "dealer-long-calls")
    gross = np.abs(pos.weight).sum() * 1.0
    for z in a.zero_gamma_levels:
        g, _ = scenarios.revalue_grid(pos, [z / ndx.spot], want_delta=False)
        assert abs(g[0]) < 1e-6 * gross * ndx.spot


def test_zero_crossings_finds_every_sign_change_not_only_the_first():
    # two blocks of options: long gamma near 90, short gamma near 110 -> profile crosses between
    strikes = np.array([80.0, 90.0, 110.0, 120.0])
    pos = scenarios.Positions(
        spot=100.0, level=np.full(4, 100.0), strike=strikes, years=np.full(4, 0.1), iv=np.full(4, 0.1),
        side=np.ones(4), rate=np.zeros(4), carry=np.zeros(4), weight=np.array([1.0, -1.0, 1.0, -1.0]) * 1e4,
    )
    f = np.linspace(0.7, 1.3, 601)
    gex, _ = scenarios.revalue_grid(pos, f, want_delta=False)
    zeros = scenarios.zero_crossings(pos, f, gex)
    sign_changes = int((np.sign(gex[:-1]) * np.sign(gex[1:]) < 0).sum())
    assert sign_changes >= 3 and len(zeros) == sign_changes
    assert zeros == sorted(zeros)


def test_totals_agree_with_an_independent_row_loop(spx):
    """Headline total, dealer delta and vega recomputed row by row with math.erf, no numpy."""
    a = analyze(spx, expiries=["2024-01-19"], **CLASSIC)
    prep = prepare_chain(spx.select(expiries=["2024-01-19"]), **CLASSIC)
    rows = prep.chain.rows
    s = spx.spot
    total = delta = vega = 0.0
    for i, row in enumerate(rows.itertuples()):
        t, v = prep.years[i], prep.iv[i]
        sign = 1.0 if row.side == "C" else -1.0
        d1 = (math.log(s / row.strike) + 0.5 * v * v * t) / (v * math.sqrt(t))
        pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
        contracts = row.open_interest * sign  # dealer-long-calls
        total += contracts * 100 * pdf / (s * v * math.sqrt(t)) * s * s * 0.01
        delta += contracts * 100 * (cdf if sign > 0 else cdf - 1)
        vega += contracts * 100 * s * pdf * math.sqrt(t) * 0.01
    assert a.total_gex_usd_per_1pct == pytest.approx(total, rel=1e-9)
    assert a.by_strike["net_gex_usd_per_1pct"].sum() == pytest.approx(total, rel=1e-9)
    assert a.dealer_delta_units == pytest.approx(delta, rel=1e-9)
    assert a.net_vega_usd_per_vol_pt == pytest.approx(vega, rel=1e-9)
    # the profile at the current spot is the same engine's number
    at_spot = np.interp(s, a.gamma_profile["spot"], a.gamma_profile["gex_usd_per_1pct"])
    assert at_spot == pytest.approx(total, rel=2e-3)


@pytest.mark.parametrize("model", [CLASSIC, {}], ids=["spot-file", "default"])
def test_hedge_curve_is_minus_the_change_in_dealer_delta(spx, model):
    shocks = [-5.0, -1.0, 0.0, 1.0, 5.0]
    a = analyze(spx, shocks_pct=shocks, **model)
    curve = a.hedge_curve
    assert curve["shock_pct"].tolist() == shocks
    assert curve.loc[curve.shock_pct == 0, "hedge_flow_units"].abs().max() < 1e-6 * abs(a.dealer_delta_units)
    prep = prepare_chain(spx, **model, forwards=None if model else forwards.chain_forwards(spx))
    pos = positions_from_prepared(prep, "dealer-long-calls")
    for row in curve.itertuples():
        g = pricing.greeks(pos.level * (1 + row.shock_pct / 100), pos.strike, pos.years, pos.iv, pos.side,
                           pos.rate, pos.carry)
        d1 = float(np.sum(pos.weight * g.delta))
        assert row.hedge_flow_units == pytest.approx(-(d1 - a.dealer_delta_units), rel=1e-8, abs=1e-3)
        assert row.hedge_flow_usd == pytest.approx(row.hedge_flow_units * spx.spot * (1 + row.shock_pct / 100))
    # short gamma at spot: a small rally makes dealers buy, a small drop makes them sell
    assert curve.set_index("shock_pct").loc[-1.0, "hedge_flow_units"] < 0


def test_one_day_horizon_drops_the_next_expiry_and_shows_the_charm_flow(spx):
    a = analyze(spx, shocks_pct=[0.0], horizon_days=1.5, compare_horizons_days=(0.0,))
    assert set(a.hedge_curves) == {1.5, 0.0}
    overnight = a.hedge_curves[1.5]["hedge_flow_units"].iloc[0]
    assert abs(overnight) > 0  # charm + the 2024-01-08 expiry settling
    assert a.hedge_curves[0.0]["hedge_flow_units"].iloc[0] == pytest.approx(0, abs=1e-3)


def test_walls_follow_the_expiry_set(spx, spx_classic):
    everything = spx_classic
    weekly = analyze(spx, expiries=["2024-01-08"], **CLASSIC)
    # (put wall 4,700 with the file's Friday IVs run from the Sunday stamp: Monday's ATM gamma too high)
    assert everything.call_wall == 4800.0 and everything.put_wall == 4600.0
    bs = weekly.by_strike
    assert weekly.call_wall == float(bs.loc[bs.call_gex_usd_per_1pct.idxmax(), "strike"])
    assert weekly.put_wall == float(bs.loc[bs.put_gex_usd_per_1pct.idxmin(), "strike"])


def test_conventions_flip_signs_as_documented(spx):
    base = analyze(spx, expiries=["2024-01-19"])
    short = analyze(spx, expiries=["2024-01-19"], convention="dealer-short-all")
    long_ = analyze(spx, expiries=["2024-01-19"], convention="dealer-long-all")
    assert short.total_gex_usd_per_1pct == pytest.approx(-long_.total_gex_usd_per_1pct)
    calls = base.by_strike["call_gex_usd_per_1pct"].sum()
    puts = base.by_strike["put_gex_usd_per_1pct"].sum()
    assert long_.total_gex_usd_per_1pct == pytest.approx(calls - puts)
    assert short.call_wall is None  # no positive call gamma when dealers are short everything


def test_term_structure_has_one_row_per_expiry_with_atm_vol_near_the_money(spx, spx_classic):
    a = spx_classic  # file IVs: the ATM IV is bracketed by the file's quotes near spot
    ts = a.term_structure
    assert ts["expiry"].tolist() == a.expiries
    assert ts["days_to_expiry"].is_monotonic_increasing
    assert ts["atm_iv"].between(0.03, 0.4).all()
    assert ts["net_vega_usd_per_vol_pt"].sum() == pytest.approx(a.net_vega_usd_per_vol_pt, rel=1e-9)
    # ATM IV of the 2024-01-19 monthly lies between the OTM quotes around spot
    rows = spx.rows[(spx.rows.expiry == pd.Timestamp("2024-01-19")) & (spx.rows.root == "SPXW")]
    near = rows[(rows.strike - spx.spot).abs() < 30]
    iv = ts.set_index("expiry").loc[pd.Timestamp("2024-01-19").date(), "atm_iv"]
    assert near.iv.min() <= iv <= near.iv.max()


def test_the_engines_normal_cdf_matches_scipy_to_machine_precision():
    from scipy.special import ndtr

    x = np.concatenate([np.linspace(-45, 45, 400_001), np.random.default_rng(1).normal(0, 4, 100_000)])
    e = np.exp(-0.5 * x * x)
    np.testing.assert_allclose(pricing.centered_norm_cdf(x, e) + 0.5, ndtr(x), rtol=0, atol=5e-16)
    # symmetric: N(-x) = 1 - N(x)
    np.testing.assert_allclose(pricing.centered_norm_cdf(-x, e), -pricing.centered_norm_cdf(x, e), atol=0)


def test_vectorised_term_structure_equals_atm_iv_expiry_by_expiry(spx, ndx):
    from analytics import term

    for chain in (spx, ndx):
        prep = prepare_chain(chain)
        rows = prep.chain.rows
        ts = term.term_structure(rows["expiry"], prep.years * 365, rows["strike"].to_numpy(float), prep.side,
                                 prep.iv, prep.level, np.zeros(len(rows)))
        for exp, grp in rows.groupby("expiry"):
            idx = grp.index.to_numpy()
            ref = term.atm_iv(grp["strike"], prep.iv[idx], prep.side[idx], chain.spot)
            got = ts.set_index("expiry").loc[exp.date(), "atm_iv"]
            assert got == pytest.approx(ref, rel=1e-12, nan_ok=True), exp


def test_gex_by_expiry_sums_to_the_total_and_matches_the_strike_expiry_grid(spx):
    a = analyze(spx)
    assert a.by_expiry["expiry"].tolist() == a.expiries
    assert a.by_expiry["net_gex_usd_per_1pct"].sum() == pytest.approx(a.total_gex_usd_per_1pct, rel=1e-9)
    jan19 = a.by_strike_expiry[a.by_strike_expiry.expiry == pd.Timestamp("2024-01-19").date()]
    row = a.by_expiry.set_index("expiry").loc[pd.Timestamp("2024-01-19").date()]
    assert row["call_gex_usd_per_1pct"] == pytest.approx(jan19["call_gex_usd_per_1pct"].sum())
    assert row["put_gex_usd_per_1pct"] == pytest.approx(jan19["put_gex_usd_per_1pct"].sum())


def test_concurrent_callers_do_not_share_scratch_buffers():
    from concurrent.futures import ThreadPoolExecutor

    books = [random_positions(300 + 50 * i, seed=i) for i in range(6)]
    factors = np.linspace(0.8, 1.2, 1001)
    serial = [scenarios.revalue_grid(p, factors) for p in books]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda p: scenarios.revalue_grid(p, factors), books * 3))
    for i, (gex, delta) in enumerate(parallel):
        np.testing.assert_array_equal(gex, serial[i % 6][0])
        np.testing.assert_array_equal(delta, serial[i % 6][1])


def test_a_chain_without_open_interest_has_no_zero_gamma_levels_and_says_why(spx):
    rows = spx.rows.copy()
    rows["open_interest"] = 0.0
    a = analyze(spx.with_rows(rows), expiries=["2024-01-19"])
    assert a.zero_gamma_levels == []
    assert a.total_gex_usd_per_1pct == 0 and a.call_wall is None and a.put_wall is None
    assert any("zero open interest" in w for w in a.warnings)
    assert (a.hedge_curve["hedge_flow_units"] == 0).all()


def test_neighbours_with_one_d1_are_one_element_with_their_weights_summed():
    pos = random_positions(300, seed=11)
    # every option twice in a row, the twin on the other side with its own weight (a strike's call and
    # put under one IV): the engine merges each pair, the totals are those of the rows one by one
    twin = scenarios.Positions(spot=pos.spot, **{k: np.repeat(getattr(pos, k), 2) for k in
                                                  ("level", "strike", "years", "iv", "rate", "carry")},
                               side=np.ravel(np.c_[pos.side, -pos.side]),
                               weight=np.ravel(np.c_[pos.weight, 0.5 * pos.weight]))
    assert scenarios._Constants.of(twin).inv.size == len(pos)
    f = np.linspace(0.7, 1.3, 61)
    gex, delta = scenarios.revalue_grid(twin, f)
    ref_gex, ref_delta = reference_totals(twin, f)
    np.testing.assert_allclose(gex, ref_gex, rtol=1e-10, atol=1e-9 * np.abs(ref_gex).max())
    np.testing.assert_allclose(delta, ref_delta, rtol=1e-10, atol=1e-9 * np.abs(ref_delta).max())
    vol = VolScenario(shift_pts=1.0, spot_vol_beta=-0.3)
    bumped = [vol.bumped_iv(twin.iv, (x - 1.0) * 100.0) for x in f]
    gex_v, delta_v = scenarios.revalue_grid(twin, f, vol=vol)
    ref_gex_v, ref_delta_v = reference_totals(twin, f, iv=bumped)
    np.testing.assert_allclose(gex_v, ref_gex_v, rtol=1e-10, atol=1e-9 * np.abs(ref_gex_v).max())
    np.testing.assert_allclose(delta_v, ref_delta_v, rtol=1e-10, atol=1e-9 * np.abs(ref_delta_v).max())


@pytest.mark.parametrize("convention", ["dealer-long-calls", "dealer-short-all", "dealer-long-all"])
def test_walls_of_rows_are_the_by_strike_frames_walls(spx, convention):
    from analytics import exposure

    prep = prepare_chain(spx)
    pos = positions_from_prepared(prep, convention)
    g = pricing.gamma(prep.level, pos.strike, prep.years, prep.iv, prep.rate, prep.carry)
    gex = exposure.gex_usd_per_1pct(g, pos.weight / prep.multiplier, prep.multiplier, prep.level)
    frame = exposure.gex_by_strike(pos.strike, prep.side, gex)
    assert exposure.walls_of_rows(pos.strike, prep.side, gex) == exposure.walls(frame)
