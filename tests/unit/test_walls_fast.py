"""A headline treatment's walls from plain per-strike sums where they settle them (analytics.exposure.
walls_of_rows), else from the compensated sums: always the walls of the compensated sums."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import exposure, pricing
from analytics.report import positions_from_prepared, prepare_for
from analytics.scenario import Scenario
from analytics.sources import load_chain
from tests.conftest import shared_file


@pytest.mark.parametrize("seed", range(6))
def test_the_walls_are_those_of_the_compensated_sums_near_ties_and_all(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = 4000
    strike = rng.choice(np.arange(50.0, 150.0, 2.5), n)
    strike[rng.random(n) < 0.01] = np.nan
    side = rng.choice([-1.0, 1.0], n)
    gex = rng.lognormal(0.0, 2.0, n) * rng.choice([-1.0, 1.0], n, p=[0.1, 0.9]) * np.where(side > 0, 1.0, -1.0)
    # near ties: the largest call strike's rows copied onto another strike in another order (equal sums
    # up to rounding) and a sum of terms that cancel to about zero
    calls = side > 0
    sums = {k: gex[calls & (strike == k)].sum() for k in np.unique(strike[calls & ~np.isnan(strike)])}
    top = max(sums, key=sums.get)
    twin = (strike == top) & calls
    if seed % 2:
        strike = np.r_[strike, np.full(twin.sum(), top + 0.5)]
        side = np.r_[side, side[twin]]
        gex = np.r_[gex, gex[twin][::-1] * (1 + 1e-16 * (seed % 3))]
    if seed == 4:
        gex = np.where(side < 0, np.abs(gex), gex)  # no negative put GEX: no put wall
    if seed == 5:
        gex[::7] = np.nan  # NaN sums are never a wall
    taken = []
    quick = exposure._walls_of_plain_sums
    monkeypatch.setattr(exposure, "_walls_of_plain_sums", lambda *a: taken.append(quick(*a)) or taken[-1])
    assert exposure.walls_of_rows(strike, side, gex) == exposure._walls_of_sums(strike, side, gex)
    if seed in (0, 2, 4):
        assert taken[-1] is not None  # clear walls: the plain sums settle them


@pytest.mark.parametrize("name", ["cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv",
                                  "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv"])
def test_every_treatments_walls_are_those_of_the_compensated_sums_on_the_real_chains(name):
    chain = load_chain(shared_file(name))
    settled = 0
    for forward in ("parity", "spot"):
        for iv_policy in ("otm", "file"):
            for convention in ("dealer-long-calls", "dealer-short-all", "dealer-long-all"):
                s = Scenario(forward=forward, iv_policy=iv_policy, convention=convention)
                prep = prepare_for(chain, s)
                pos = positions_from_prepared(prep, convention)
                strike = prep.chain.rows["strike"].to_numpy(float)
                gamma = pricing.gamma(prep.level, strike, prep.years, prep.iv, prep.rate, prep.carry)
                gex = exposure.gex_usd_per_1pct(gamma, pos.weight / prep.multiplier, prep.multiplier, prep.level)
                walls = exposure._walls_of_plain_sums(strike, prep.side, gex)
                settled += walls is not None
                assert exposure.walls_of_rows(strike, prep.side, gex) == exposure._walls_of_sums(strike, prep.side, gex)
    assert settled >= 10  # of 12: real walls stand out


def test_a_wall_the_plain_sums_lose_in_rounding_is_found_by_the_compensated_ones():
    """Strike 100: a call of 1e16, a hundred of 1 and a short 1e16: added plainly the ones vanish (0), the
    compensated sum keeps them (100), above strike 110's 50: the wall is 100 (and 90 the put wall)."""
    strike = np.r_[np.full(102, 100.0), 110.0, 90.0]
    side = np.r_[np.ones(103), -1.0]
    gex = np.r_[1e16, np.ones(100), -1e16, 50.0, -5.0]
    assert exposure._walls_of_sums(strike, side, gex) == (100.0, 90.0)
    assert exposure.walls_of_rows(strike, side, gex) == (100.0, 90.0)
