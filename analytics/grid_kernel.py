"""The grid engine's fused kernel: one pass per (grid point x option) element, compiled by numba.

Each element costs one ``d1`` (:func:`analytics.pricing.d1`), one ``exp(-d1**2 / 2)`` and, for the
delta, one normal CDF (:func:`analytics.pricing.centered_norm_cdf`), accumulated straight into the
grid point's sums: no temporaries, no BLAS. The pricing formulas are pricing.py's own functions,
compiled here; this module adds only the loops and a vectorisable ``exp``.

Loop order: options outside, grid points inside. The inner loop has no reduction (each grid point
owns its accumulator), so it vectorises without ``fastmath`` re-association; the only fast-math flag
is ``contract`` (fused multiply-add), which keeps the results within 1e-12 of the numpy path (tested
in ``tests/unit/test_grid_kernel.py``). The kernels release the GIL: :mod:`analytics.scenarios` runs
them on its thread pool (numba's own parallel layer is not safe for concurrent callers).

Loading costs ~1.5 s per process (numba's import ~0.4 s, and its target set-up on the first call ~1 s,
which imports scipy.linalg), so :mod:`analytics.scenarios` imports this module only when the work
repays it, or in a long-lived process at its first big grid (``scenarios.load_kernel_on_demand``). Compiled code is cached on disk (``cache=True``) next to
this file, or in numba's user-wide cache (``NUMBA_CACHE_DIR``) when the package directory is read-only;
with no writable location at all the kernels compile in memory on first use.
"""

from __future__ import annotations

import math
import types as types_

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from analytics import pricing
from analytics.scenario import MIN_IV

FASTMATH = frozenset({"contract"})


def _jit(fn):
    opts = {"fastmath": set(FASTMATH), "error_model": "numpy", "nogil": True, "boundscheck": False}
    try:
        return numba.njit(cache=True, **opts)(fn)
    except RuntimeError:  # no writable cache location (read-only package, no NUMBA_CACHE_DIR)
        return numba.njit(cache=False, **opts)(fn)


@intrinsic
def _bits_as_float(typingctx, bits):
    """Reinterpret an int64's bits as a float64 (an LLVM bitcast: free, and vectorises)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_LN2_HI = 6.93147180369123816490e-01  # Cody-Waite split of log(2): hi has trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_MIN = -708.0  # below this exp(x) is subnormal; counted as 0 (terms < 1e-307)
# Taylor coefficients 1/k!, k = 12..2: on |r| <= log(2)/2 the truncation error is < 2e-16 relative
_EXP_C = tuple(1.0 / math.factorial(k) for k in range(12, 1, -1))


def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (the ``exp(-d1**2 / 2)`` of every element), ~1 ulp, vectorisable.

    ``x = n log 2 + r`` with ``|r| <= log(2)/2``; ``exp(r)`` by Horner's rule; ``2**n`` built from its
    exponent bits. libm's ``exp`` is a scalar call that LLVM cannot vectorise (4-5x slower here).
    """
    n = math.floor(x * _INV_LN2 + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _EXP_C[0]
    for c in _EXP_C[1:]:
        p = p * r + c
    p = (p * r + 1.0) * r + 1.0
    scale = _bits_as_float((int(max(n, -1022.0)) + 1023) << 52)
    return p * scale if x > _EXP_MIN else 0.0


_exp = _jit(exp_nonpositive)
_d1 = _jit(pricing.d1)
_tail = _jit(pricing.norm_cdf_tail)


def _with_compiled_helpers(fn, **helpers):
    """``fn`` (a pricing formula) with the pricing helpers it calls swapped for their compiled forms."""
    return types_.FunctionType(fn.__code__, {**fn.__globals__, **helpers}, fn.__name__)


_centered_cdf = _jit(_with_compiled_helpers(pricing.centered_norm_cdf, norm_cdf_tail=_tail))


@_jit
def sticky_sums(log_f, inv, b, gamma_w, disc_w, want_delta, gex, delta):
    """Sticky strike: ``gex[j] = sum_i gamma_w_i e_ij``, ``delta[j] = sum_i disc_w_i (N(d1_ij) - 1/2)``.

    ``d1_ij = log_f_j inv_i + b_i`` and ``e_ij = exp(-d1_ij**2 / 2)``; ``gex`` and ``delta`` are
    overwritten (``delta`` untouched when ``want_delta`` is false).
    """
    m = log_f.size
    for j in range(m):
        gex[j] = 0.0
        delta[j] = 0.0
    for i in range(inv.size):
        a = inv[i]
        c = b[i]
        gw = gamma_w[i]
        if want_delta:
            dw = disc_w[i]
            for j in range(m):
                d = log_f[j] * a + c
                e = _exp(-0.5 * d * d)
                gex[j] += e * gw
                delta[j] += _centered_cdf(d, e) * dw
        else:
            for j in range(m):
                d = log_f[j] * a + c
                gex[j] += _exp(-0.5 * d * d) * gw


@_jit
def scenario_sums(log_f, bump, iv, min_iv, log_m, drift, sqrt_t, level_w, disc_w, want_delta, gex, delta):
    """Vol scenario: IV ``max(iv_i + bump_j, min_iv)`` per element, then the full ``d1``.

    ``gex[j] = sum_i level_w_i e_ij / (sigma_ij sqrt t_i)`` (the caller divides by sqrt(2 pi)) and
    ``delta[j]`` as in :func:`sticky_sums`.
    """
    m = log_f.size
    for j in range(m):
        gex[j] = 0.0
        delta[j] = 0.0
    for i in range(iv.size):
        v = iv[i]
        lm = log_m[i]
        dr = drift[i]
        st = sqrt_t[i]
        lw = level_w[i]
        dw = disc_w[i]
        for j in range(m):
            vol_t = max(v + bump[j], min_iv) * st
            d = _d1(log_f[j] + lm, dr, vol_t)
            e = _exp(-0.5 * d * d)
            gex[j] += e / vol_t * lw
            if want_delta:
                delta[j] += _centered_cdf(d, e) * dw


def vol_scenario_sums(vol, factors, log_f, iv, log_m, drift, sqrt_t, level_w, disc_w, want_delta, gex, delta):
    """:func:`scenario_sums` for a :class:`analytics.scenario.VolScenario` at the spot ``factors`` (``log_f``
    their logs): the vol scenario's IV change per grid point and its floor come from the one value."""
    scenario_sums(log_f, vol.bump_for_factors(factors), iv, MIN_IV, log_m, drift, sqrt_t, level_w, disc_w,
                  want_delta, gex, delta)


def warm_up() -> None:
    """Run each kernel once on tiny inputs: loads (or compiles) the machine code and numba's target."""
    one = np.ones(1)
    out = np.empty(1), np.empty(1)
    sticky_sums(one, one, one, one, one, True, *out)
    scenario_sums(one, one, one, 0.01, one, one, one, one, one, True, *out)
