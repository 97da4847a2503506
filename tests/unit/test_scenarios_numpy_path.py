"""The grid engine's numpy path (what a one-shot ``mmpos analyze`` runs): tiles of options x grid points.

Its sums equal the per-option greeks summed, on real chains with several tiles of options; a grid
point's value does not depend on the block, thread or call it is computed in; the sums over options
(BLAS ddot on pieces of at most ``_CHUNK`` options) never wake BLAS's own threads; and
:func:`scenarios.zero_gamma_levels` (bounds from a few computed grid points) finds the full profile's
levels.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from analytics import scenarios
from analytics.report import positions_from_prepared, prepare_chain
from analytics.scenario import VolScenario
from analytics.sources.cboe import load_cboe
from tests.unit.test_engine import random_positions, reference_totals

VOLS = [scenarios.NO_VOL_SCENARIO, VolScenario(shift_pts=2.0, spot_vol_beta=-0.5)]


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


@pytest.fixture(scope="module")
def ndx(ndx_path):
    return load_cboe(ndx_path)


@pytest.fixture
def numpy_path(monkeypatch):
    monkeypatch.setattr(scenarios, "_kernel_for", lambda work: None)


def book(chain, copies: int = 1) -> scenarios.Positions:
    """The chain's options with open interest (``copies`` times, strikes nudged: a larger book)."""
    pos_all = positions_from_prepared(prepare_chain(chain), "dealer-long-calls")
    pos = pos_all.take(pos_all.weight != 0)
    if copies == 1:
        return pos
    rep = {k: np.tile(getattr(pos, k), copies) for k in ("level", "years", "iv", "side", "rate", "carry", "weight")}
    strike = np.concatenate([pos.strike + 0.001 * i for i in range(copies)])
    return scenarios.Positions(spot=pos.spot, strike=strike, **rep)


def assert_sums_equal(got, ref, scale):
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("vol", VOLS, ids=["sticky", "vol scenario"])
@pytest.mark.parametrize("name", ["spx", "ndx"])
def test_real_chains_sums_equal_the_per_option_greeks_summed(numpy_path, request, name, vol):
    pos = book(request.getfixturevalue(name))
    assert len(pos) > 6000  # SPX: two chunks of options
    factors = np.linspace(0.7, 1.3, 25)
    gex, delta = scenarios.revalue_grid(pos, factors, vol=vol)
    gex_only, none = scenarios.revalue_grid(pos, factors, vol=vol, want_delta=False)
    ivs = [vol.bumped_iv(pos.iv, (f - 1.0) * 100.0) for f in factors]
    ref_gex, ref_delta = reference_totals(pos, factors, ivs)
    assert none is None
    np.testing.assert_array_equal(gex_only, gex)
    assert_sums_equal(gex, ref_gex, np.abs(ref_gex).max())
    assert_sums_equal(delta, ref_delta, np.abs(pos.weight).sum())


@pytest.mark.parametrize("n", [1, 7, 300, 20_000])
def test_small_and_large_books_equal_the_per_option_greeks_summed(numpy_path, n):
    pos = random_positions(n, seed=n)
    factors = np.array([0.83, 1.0, 1.17])
    for vol in VOLS:
        gex, delta = scenarios.revalue_grid(pos, factors, vol=vol)
        ref_gex, ref_delta = reference_totals(pos, factors, [vol.bumped_iv(pos.iv, (f - 1.0) * 100.0)
                                                            for f in factors])
        assert_sums_equal(gex, ref_gex, np.abs(ref_gex).max())
        assert_sums_equal(delta, ref_delta, np.abs(pos.weight).sum())


@pytest.mark.parametrize("vol", VOLS, ids=["sticky", "vol scenario"])
def test_a_grid_points_value_does_not_depend_on_its_block(numpy_path, vol):
    pos = random_positions(20_000, seed=3)  # three chunks of options
    k = scenarios._Constants.of(pos)
    factors = np.linspace(0.7, 1.3, 61)  # split over the pool, several tile rows per block
    gex, delta = scenarios._revalue(k, factors, vol, True)
    alone = [scenarios._revalue(k, factors[i:i + 1], vol, True) for i in range(factors.size)]
    np.testing.assert_array_equal(gex, np.concatenate([g for g, _ in alone]))
    np.testing.assert_array_equal(delta, np.concatenate([d for _, d in alone]))
    np.testing.assert_array_equal(scenarios._revalue(k, factors, vol, False)[0], gex)


def _thread_ticks() -> dict[str, int]:
    """CPU clock ticks (user + system) of each thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        out[tid] = int(fields[11]) + int(fields[12])
    return out


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread CPU times from Linux's /proc")
def test_the_sums_over_options_never_wake_blas_threads(numpy_path, monkeypatch):
    """The engine splits grid points over its own pool; BLAS's threads (alive before the call) must
    not work too. Shown able to fail: rows of more than 10,000 options do wake OpenBLAS's."""
    monkeypatch.setattr(scenarios, "_WORKERS", 1)  # no pool: every thread but this one is someone else's
    pos = random_positions(40_000, seed=5)
    factors = np.linspace(0.8, 1.2, 60)
    me = str(threading.get_native_id())

    def others_ticks() -> int:
        """Other threads' ticks while this one spends at least 10 ticks (0.1 s) in the engine."""
        scenarios.revalue_grid(pos, factors[:2])  # warm-up
        before = _thread_ticks()
        for _ in range(100):
            scenarios.revalue_grid(pos, factors)
            after = _thread_ticks()
            if after[me] - before[me] >= 10:
                break
        return sum(after[t] - before[t] for t in before if t != me and t in after)

    assert others_ticks() <= 1
    if len(_thread_ticks()) > 1:  # BLAS runs threads here: the check can fail
        monkeypatch.setattr(scenarios, "_CHUNK", 20_000)
        assert others_ticks() >= 3


@pytest.mark.parametrize("copies", [1, 3])
def test_zero_gamma_levels_are_the_full_profiles_on_real_chains(spx, ndx, copies):
    factors = np.linspace(0.7, 1.3, 601)
    for chain in (spx, ndx):
        pos = book(chain, copies)
        for horizon in (0.0, 3.0):
            p = pos.at_horizon(horizon)
            full = scenarios.zero_crossings(p, factors, scenarios.revalue_grid(p, factors, want_delta=False)[0])
            assert scenarios.zero_gamma_levels(p, factors) == full


def test_zero_gamma_levels_are_the_full_profiles_on_random_books():
    levels = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        pos = random_positions(int(rng.integers(2, 3000)), seed=seed, black76=bool(seed % 2))
        pos = scenarios.Positions(**{**pos.__dict__, "weight": pos.weight + (seed % 5 - 2) * 200.0})
        factors = np.linspace(0.7, 1.3, int(rng.choice([301, 601, 1201])))
        full = scenarios.zero_crossings(pos, factors, scenarios.revalue_grid(pos, factors, want_delta=False)[0])
        assert scenarios.zero_gamma_levels(pos, factors) == full
        levels += len(full)
    assert levels >= 10  # books whose profile does cross zero


def test_zero_gamma_levels_of_an_unsorted_grid_are_its_full_profiles():
    pos = random_positions(500, seed=2)
    factors = np.linspace(1.3, 0.7, 601)  # descending: the binned search needs ascending factors
    full = scenarios.zero_crossings(pos, factors, scenarios.revalue_grid(pos, factors, want_delta=False)[0])
    assert scenarios.zero_gamma_levels(pos, factors) == full
