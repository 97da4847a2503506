"""Vanna and charm exposure by strike: dealer dollar-delta change per vol point and per day.

Checked against central finite differences of delta: vol bumped by +/- 1 vol point, calendar time
moved by +/- 1 day, per option, weighted by the dealer's contracts x multiplier x level, summed per strike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import exposure, pricing, scenarios
from analytics.report import positions_from_prepared, prepare_chain
from analytics.sources.cboe import load_cboe

DAY = 1.0 / 365.0


def fd_by_strike(pos: scenarios.Positions, vol_pts: float = 1.0, days: float = 1.0) -> pd.DataFrame:
    """Per strike, central differences of dealer dollar delta scaled to 1 vol point and to 1 day.

    ``vanna = sum w U (delta(iv + h) - delta(iv - h)) / 2h`` with h in vol points, ``charm`` the same over
    calendar time (``years - h days`` minus ``years + h days``), and the gross ``|.|`` sums of the
    per-option terms (the scale a truncation error is measured against when calls and puts cancel).
    """

    def delta(iv=None, years=None):
        return pricing.greeks(pos.level, pos.strike, pos.years if years is None else years,
                              pos.iv if iv is None else iv, pos.side, pos.rate, pos.carry).delta

    usd = pos.weight * pos.level
    h_vol, h_t = vol_pts / 100.0, days * DAY
    vanna = usd * (delta(iv=pos.iv + h_vol) - delta(iv=pos.iv - h_vol)) / (2.0 * vol_pts)
    charm = usd * (delta(years=pos.years - h_t) - delta(years=pos.years + h_t)) / (2.0 * days)
    frame = pd.DataFrame({"strike": pos.strike, "vanna": vanna, "charm": charm,
                          "vanna_gross": np.abs(vanna), "charm_gross": np.abs(charm)})
    return frame.groupby("strike", sort=True).sum()


def assert_matches(got: pd.DataFrame, fd: pd.DataFrame, tol: float) -> None:
    """Exposures equal the finite differences within ``tol`` of each strike's gross exposure."""
    assert got.index.tolist() == fd.index.tolist()
    for greek, col in (("vanna", "net_vanna_usd_per_vol_pt"), ("charm", "net_charm_usd_per_day")):
        err = np.abs(got[col].to_numpy() - fd[greek].to_numpy())
        assert np.all(err <= tol * fd[f"{greek}_gross"].to_numpy()), (greek, (err / fd[f"{greek}_gross"]).max())


def synthetic_positions(n: int = 300, seed: int = 3, black76: bool = False) -> scenarios.Positions:
    rng = np.random.default_rng(seed)
    years = rng.uniform(10 * DAY, 1.5, n)
    level = 100.0 * np.exp(0.02 * years) if black76 else np.full(n, 100.0)
    return scenarios.Positions(
        spot=100.0, level=level, strike=rng.choice(np.arange(80.0, 125.0, 5.0), n), years=years,
        iv=rng.uniform(0.12, 0.6, n), side=rng.choice([-1.0, 1.0], n), rate=np.full(n, 0.03),
        carry=np.full(n, 0.03 if black76 else 0.01), weight=rng.normal(0, 1000, n),
    )


@pytest.mark.parametrize("black76", [False, True])
def test_vanna_and_charm_by_strike_match_one_vol_point_and_one_day_differences_of_delta(black76):
    pos = synthetic_positions(black76=black76)
    assert_matches(exposure.vanna_charm_by_strike(pos).set_index("strike"), fd_by_strike(pos), tol=3e-3)


@pytest.mark.parametrize("black76", [False, True])
def test_the_finite_differences_converge_on_vanna_and_charm_as_the_bump_shrinks(black76):
    # what is left at 1 vol point / 1 day is truncation (O(h^2)): a tenth of the bump leaves ~1/100
    pos = synthetic_positions(black76=black76)
    assert_matches(exposure.vanna_charm_by_strike(pos).set_index("strike"),
                   fd_by_strike(pos, vol_pts=0.1, days=0.1), tol=5e-5)


def test_call_and_put_columns_split_the_net_by_side():
    pos = synthetic_positions()
    got = exposure.vanna_charm_by_strike(pos).set_index("strike")
    calls_only = exposure.vanna_charm_by_strike(pos.take(pos.side > 0)).set_index("strike")
    for greek in ("vanna_usd_per_vol_pt", "charm_usd_per_day"):
        np.testing.assert_allclose(got[f"call_{greek}"] + got[f"put_{greek}"], got[f"net_{greek}"])
        np.testing.assert_allclose(got.loc[calls_only.index, f"call_{greek}"], calls_only[f"net_{greek}"])


def test_units_are_usd_per_vol_point_and_per_day_for_one_contract():
    g = pricing.greeks(4700.0, 4750.0, 30 / 365, 0.15, 1.0)
    assert float(exposure.vanna_usd_per_vol_pt(g.vanna, 2, 100, 4700.0)) == pytest.approx(
        2 * 100 * float(g.vanna) * 0.01 * 4700.0)
    assert float(exposure.charm_usd_per_day(g.charm, 2, 100, 4700.0)) == pytest.approx(
        2 * 100 * float(g.charm) / 365 * 4700.0)


def test_dealer_short_options_flip_the_sign_of_every_exposure():
    pos = synthetic_positions()
    flipped = scenarios.Positions(**{**pos.__dict__, "weight": -pos.weight})
    a = exposure.vanna_charm_by_strike(pos).set_index("strike")
    b = exposure.vanna_charm_by_strike(flipped).set_index("strike")
    pd.testing.assert_frame_equal(a, -b)


@pytest.fixture(scope="module")
def spx_positions(spx_path):
    prep = prepare_chain(load_cboe(spx_path))
    return positions_from_prepared(prep, "dealer-long-calls")


STRIKES = [4600.0, 4700.0, 4750.0, 4800.0]


def test_spx_vanna_and_charm_match_one_vol_point_and_one_day_differences_at_a_few_strikes(spx_positions):
    # a one-day central difference needs time on both sides: expiries within a week (the Jan-08
    # weekly has 1.2 days left) are left out of this comparison
    pos = spx_positions.take(np.isin(spx_positions.strike, STRIKES) & (spx_positions.years > 7 * DAY))
    got = exposure.vanna_charm_by_strike(pos).set_index("strike")
    assert got.index.tolist() == STRIKES
    assert_matches(got, fd_by_strike(pos), tol=3e-3)
    assert np.all(np.abs(got["net_vanna_usd_per_vol_pt"]) > 1e6)  # real exposures, not sums of zeros


def test_spx_vanna_and_charm_converge_on_every_expiry_at_a_few_strikes(spx_positions):
    pos = spx_positions.take(np.isin(spx_positions.strike, STRIKES))
    got = exposure.vanna_charm_by_strike(pos).set_index("strike")
    assert_matches(got, fd_by_strike(pos, vol_pts=0.01, days=0.01), tol=2e-5)
