"""The fused compiled kernel and the numpy path give the pre-kernel engine's numbers to 1e-12.

The oracle below is the grid engine as it was before the kernel (numpy blocks, BLAS matrix-vector
sums, the Hart CDF as ~30 in-place passes), kept here verbatim in its formulas. Both of today's paths
are forced in turn and compared with it on the SPX file and on synthetic BSM and Black-76 books, under
sticky strike and under a vol scenario (shift and spot-vol beta).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from analytics import pricing, scenarios
from analytics.report import positions_from_prepared, prepare_chain
from analytics.scenario import VolScenario
from analytics.sources.cboe import load_cboe
from tests.conftest import ROOT
from tests.unit.test_engine import random_positions

SQRT_2PI = np.sqrt(2.0 * np.pi)
OLD_HART_P = (3.52624965998911e-02, 0.700383064443688, 6.37396220353165, 33.912866078383, 112.079291497871,
              221.213596169931, 220.206867912376)
OLD_HART_Q = (8.83883476483184e-02, 1.75566716318264, 16.064177579207, 86.7807322029461, 296.564248779674,
              637.333633378831, 793.826512519948, 440.413735824752)


def old_centered_norm_cdf(x, e):
    z = np.abs(x)
    num = z * OLD_HART_P[0] + OLD_HART_P[1]
    for c in OLD_HART_P[2:]:
        num *= z
        num += c
    den = z * OLD_HART_Q[0] + OLD_HART_Q[1]
    for c in OLD_HART_Q[2:]:
        den *= z
        den += c
    num *= e
    num /= den
    np.subtract(0.5, num, out=num)
    return np.copysign(num, x, out=num)


def old_engine(pos, factors, vol_shift_pts=0.0, spot_vol_beta=0.0, want_delta=True, block=1 << 18):
    """revalue_grid of commit 9490aff (before the kernel), one block of rows at a time."""
    inv = 1.0 / (pos.iv * np.sqrt(pos.years))
    b = (np.log(pos.level / pos.strike) + (pos.rate - pos.carry + 0.5 * pos.iv ** 2) * pos.years) * inv
    disc_w = pos.weight * np.exp(-pos.carry * pos.years)
    gamma_w = disc_w * pos.level * inv / SQRT_2PI
    offset = float(0.5 * disc_w.sum() - disc_w[pos.side < 0].sum())
    scenario = bool(vol_shift_pts) or bool(spot_vol_beta)
    rows = max(1, block // len(pos))
    gex, delta = [], []
    for start in range(0, factors.size, rows):
        f = factors[start:start + rows]
        log_f = np.log(f)
        if not scenario:
            d1 = np.multiply.outer(log_f, inv) + b
            e = np.exp(-0.5 * np.square(d1))
            gex.append(0.01 * f * (e @ gamma_w))
        else:
            bump = (vol_shift_pts + spot_vol_beta * (f - 1.0) * 100.0) / 100.0
            sigma = np.maximum(np.add.outer(bump, pos.iv), scenarios.MIN_IV)
            vol_t = sigma * np.sqrt(pos.years)
            d1 = np.add.outer(log_f, np.log(pos.level / pos.strike))
            d1 += (pos.rate - pos.carry) * pos.years + 0.5 * sigma ** 2 * pos.years
            d1 /= vol_t
            e = np.exp(-0.5 * np.square(d1))
            gex.append(0.01 * f * ((e / vol_t) @ (disc_w * pos.level)) / SQRT_2PI)
        if want_delta:
            delta.append(old_centered_norm_cdf(d1, e) @ disc_w + offset)
    return np.concatenate(gex), (np.concatenate(delta) if want_delta else None)


def assert_equal_to_1e12(got, want):
    """Relative 1e-12; where the profile crosses zero, 1e-12 of the profile's scale."""
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.fixture(scope="module")
def spx_positions(spx_path):
    pos = positions_from_prepared(prepare_chain(load_cboe(spx_path)), "dealer-long-calls")
    return pos.take(pos.weight != 0)


@pytest.fixture(params=["compiled kernel", "numpy path"])
def engine_path(request, monkeypatch):
    if request.param == "compiled kernel":
        kernel = scenarios.load_kernel()
        assert kernel is not None, "numba is a dependency: the compiled kernel must load"
        monkeypatch.setattr(scenarios, "_kernel_for", lambda work: kernel)
    else:
        monkeypatch.setattr(scenarios, "_kernel_for", lambda work: None)
    return request.param


SCENARIOS = [(0.0, 0.0), (2.0, -0.5), (-3.0, 0.0), (0.0, 0.8)]


@pytest.mark.parametrize("vol_shift_pts, spot_vol_beta", SCENARIOS)
def test_spx_profile_and_delta_equal_the_pre_kernel_engine(spx_positions, engine_path, vol_shift_pts,
                                                           spot_vol_beta):
    factors = np.linspace(0.7, 1.3, 241)
    gex, delta = scenarios.revalue_grid(spx_positions, factors, vol=VolScenario(vol_shift_pts, spot_vol_beta))
    want_gex, want_delta = old_engine(spx_positions, factors, vol_shift_pts, spot_vol_beta)
    assert_equal_to_1e12(gex, want_gex)
    assert_equal_to_1e12(delta, want_delta)
    gamma_only, none = scenarios.revalue_grid(spx_positions, factors, vol=VolScenario(vol_shift_pts, spot_vol_beta), want_delta=False)
    assert none is None
    assert_equal_to_1e12(gamma_only, want_gex)


@pytest.mark.parametrize("black76", [False, True])
@pytest.mark.parametrize("vol_shift_pts, spot_vol_beta", SCENARIOS)
def test_synthetic_books_equal_the_pre_kernel_engine(engine_path, black76, vol_shift_pts, spot_vol_beta):
    pos = random_positions(3000, seed=11, black76=black76)
    factors = np.concatenate([np.linspace(0.5, 1.6, 999), [1.0]])  # odd sizes: ragged thread blocks
    gex, delta = scenarios.revalue_grid(pos, factors, vol=VolScenario(vol_shift_pts, spot_vol_beta))
    want_gex, want_delta = old_engine(pos, factors, vol_shift_pts, spot_vol_beta)
    assert_equal_to_1e12(gex, want_gex)
    assert_equal_to_1e12(delta, want_delta)


def test_kernel_exp_is_accurate_to_a_few_ulp_down_to_underflow():
    kernel = scenarios.load_kernel()
    x = -np.concatenate([np.linspace(0, 745, 200_001), np.random.default_rng(3).exponential(20, 50_000)])
    got = np.array([kernel._exp(v) for v in x[::50]])
    want = np.exp(x[::50])
    normal = want > 1e-300
    np.testing.assert_allclose(got[normal], want[normal], rtol=5e-16, atol=0)
    assert np.all(np.abs(got[~normal]) < 1e-300)


def test_small_grids_stay_on_numpy_and_large_ones_load_the_kernel_by_themselves(monkeypatch):
    monkeypatch.setattr(scenarios, "_kernel", None)
    assert scenarios._kernel_for(601 * 20_000) is None  # an SPX analyze: not worth numba's start-up
    assert scenarios._kernel_for(scenarios._KERNEL_LOAD_WORK) is scenarios.load_kernel()
    assert scenarios._kernel_for(scenarios._KERNEL_ELEMENTS) is not None  # loaded: used from then on
    assert scenarios._kernel_for(1) is None  # a single revaluation stays on numpy


@pytest.mark.slow  # many seconds of a core: make test runs it, make test-fast leaves it out
def test_a_server_loads_the_kernel_in_the_background_at_its_first_big_grid_only():
    """mmpos serve's workers (load_kernel_on_demand): small grids never import numba (~115 MB of RSS);
    the first big one is computed on numpy while the kernel loads on a thread, later ones use it."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from analytics import scenarios
        from tests.unit.test_engine import random_positions
        scenarios.load_kernel_on_demand(min_work=4 * 101 * 300)
        pos = random_positions(300, seed=1)
        small = scenarios.revalue_grid(pos, np.linspace(0.9, 1.1, 100))
        print("numba" in sys.modules, scenarios._background_load is None)
        big = scenarios.revalue_grid(pos, np.linspace(0.9, 1.1, 101))
        scenarios._background_load.join()
        print("numba" in sys.modules, scenarios._kernel is not None)
        again = scenarios.revalue_grid(pos, np.linspace(0.9, 1.1, 101))
        print(float(np.max(np.abs(again[0] - big[0]) / np.max(np.abs(big[0])))) < 1e-12)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "True", "True", "True", "True"]


@pytest.mark.slow  # many seconds of a core: make test runs it, make test-fast leaves it out
def test_the_kernel_compiles_uncached_when_no_cache_directory_is_writable():
    code = textwrap.dedent("""
        import numba.core.caching as caching
        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # renamed across numba versions
        impl._locator_classes = []  # every locator refuses (read-only tree, no cache dir)
        from analytics import grid_kernel
        assert type(grid_kernel.sticky_sums._cache).__name__ == "NullCache", grid_kernel.sticky_sums._cache
        print("uncached")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "uncached"


def test_analyze_imports_neither_scipy_nor_numba_for_the_engine():
    code = textwrap.dedent("""
        import sys
        from analytics import pricing, scenarios
        assert "scipy" not in sys.modules and "numba" not in sys.modules, "engine imports"
        import numpy as np
        pos = scenarios.Positions(spot=100.0, level=np.full(2, 100.0), strike=np.array([90.0, 110.0]),
                                  years=np.full(2, 0.1), iv=np.full(2, 0.2), side=np.ones(2),
                                  rate=np.zeros(2), carry=np.zeros(2), weight=np.array([1.0, -1.0]))
        f = np.linspace(0.7, 1.3, 601)
        gex, _ = scenarios.revalue_grid(pos, f, want_delta=False)
        print(len(scenarios.zero_crossings(pos, f, gex)), pricing.implied_vol(2.0, 100.0, 100.0, 0.1, 1.0) > 0)
        assert "scipy" not in sys.modules and "numba" not in sys.modules, "engine calls"
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["1", "True"]


def test_brent_root_takes_the_same_steps_as_scipy_brentq():
    from scipy.optimize import brentq

    cases = [(lambda x: x ** 3 - 2 * x - 5, 2.0, 3.0), (lambda x: np.cos(x) - x, 0.0, 1.0),
             (lambda x: np.exp(x) - 1e3, 0.0, 10.0), (lambda x: np.tanh(50 * (x - 0.3)), -1.0, 1.0)]
    for fn, a, b in cases:
        for xtol, rtol in ((1e-10, 1e-12), (2e-12, 4 * np.finfo(float).eps)):
            want, info = brentq(fn, a, b, xtol=xtol, rtol=rtol, full_output=True)
            calls = []
            got = scenarios.brent_root(lambda x, fn=fn, calls=calls: calls.append(x) or fn(x), a, b, xtol=xtol, rtol=rtol)
            assert got == want and len(calls) == info.function_calls
    with pytest.raises(ValueError, match="signs"):
        scenarios.brent_root(lambda x: x * x + 1, -1.0, 1.0)


def test_pricing_normal_cdf_matches_scipy_absolutely_and_in_the_lower_tail():
    from scipy.special import ndtr

    x = np.concatenate([np.linspace(-38.4, 38.4, 400_001), np.random.default_rng(2).normal(0, 4, 100_000)])
    want = ndtr(x)
    got = pricing.norm_cdf(x)
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-16)
    tail = (x < 0) & (want > 1e-300)  # below, ndtr's subnormals are 0 here
    np.testing.assert_allclose(got[tail], want[tail], rtol=1e-8, atol=0)
    assert np.isnan(pricing.norm_cdf(np.nan)) and pricing.norm_cdf(-np.inf) == 0 and pricing.norm_cdf(np.inf) == 1
