"""Engine benchmark: option revaluations per second on the full SPX 2024-01-07 chain.

Prints, measured in one run on this machine:
1. mmpos's grid engine: gamma and delta for every option with open interest on a 1201-point spot grid
   (0.7x-1.3x spot), revaluations per second (options x grid points / wall time, best of several runs);
2. the Perfiliev recipe (the loop most public GEX scripts copy): for each spot level, ``df.apply`` a
   Black-Scholes gamma per row with scipy.stats.norm. Too slow to run on all 1201 levels, so it runs on
   a few levels and its per-revaluation rate is extrapolated (stated in the output);
3. a stricter baseline: a Python loop over levels with numpy vectorised over rows;
4. ``mmpos analyze`` on the file as a whole process (median of 5), including interpreter start-up.

Run: ``.venv/bin/python benchmarks/bench_engine.py`` (or ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics import scenarios  # noqa: E402
from analytics.report import positions_from_prepared, prepare_chain  # noqa: E402
from analytics.sources.cboe import load_cboe  # noqa: E402

SPX = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
GRID = 1201


def best_of(fn, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def perfiliev_gamma_ex(s, k, vol, t, oi):  # the recipe's calcGammaEx, per row
    if t == 0 or vol == 0:
        return 0
    d1 = (np.log(s / k) + (0.5 * vol**2) * t) / (vol * np.sqrt(t))
    gamma = norm.pdf(d1) / (s * vol * np.sqrt(t))
    return oi * 100 * s * s * 0.01 * gamma


def main() -> None:
    chain = load_cboe(SPX)
    prep = prepare_chain(chain)
    pos_all = positions_from_prepared(prep, "dealer-long-calls")
    pos = pos_all.take(pos_all.weight != 0)
    factors = np.linspace(0.7, 1.3, GRID)
    n = len(pos)
    print(f"chain: {SPX.name}: {len(chain.rows):,} live option rows, {n:,} with open interest; "
          f"grid {GRID} spot levels; cores {os.cpu_count()}")

    scenarios.revalue_grid(pos, factors)  # warm-up (thread pool, caches)
    t_engine = best_of(lambda: scenarios.revalue_grid(pos, factors))
    t_gamma_only = best_of(lambda: scenarios.revalue_grid(pos, factors, want_delta=False))
    revals = n * GRID
    engine_rate = revals / t_engine
    print(f"mmpos engine, gamma+delta: {t_engine * 1e3:8.1f} ms  -> {engine_rate / 1e6:8.1f} M revaluations/s")
    print(f"mmpos engine, gamma only : {t_gamma_only * 1e3:8.1f} ms  -> {revals / t_gamma_only / 1e6:8.1f} M revaluations/s")

    # Perfiliev recipe: per level, df.apply over rows (gamma only), on a sample of levels
    df = pd.DataFrame({"K": pos.strike, "iv": pos.iv, "t": pos.years, "oi": np.abs(pos.weight) / 100})
    sample_levels = factors[[0, GRID // 2, -1]] * chain.spot
    t0 = time.perf_counter()
    for level in sample_levels:
        df.apply(lambda x, s=level: perfiliev_gamma_ex(s, x["K"], x["iv"], x["t"], x["oi"]), axis=1).sum()
    t_loop = time.perf_counter() - t0
    loop_rate = n * len(sample_levels) / t_loop
    print(f"Perfiliev per-level df.apply loop: {loop_rate / 1e3:8.1f} k revaluations/s "
          f"(measured on {len(sample_levels)} of {GRID} levels; full grid would take ~{revals / loop_rate:,.0f} s)")
    print(f"  speed-up of mmpos over that loop: {engine_rate / loop_rate:,.0f}x")

    # stricter: loop over levels, numpy over rows (gamma and delta)
    def level_loop():
        sq = np.sqrt(pos.years)
        for f in factors:
            s = pos.level * f
            d1 = (np.log(s / pos.strike) + 0.5 * pos.iv**2 * pos.years) / (pos.iv * sq)
            (pos.weight * norm.pdf(d1) / (s * pos.iv * sq) * s * s * 0.01).sum()
            (pos.weight * np.where(pos.side > 0, norm.cdf(d1), norm.cdf(d1) - 1)).sum()

    t_level = best_of(level_loop, repeats=3)
    print(f"per-level loop, numpy over rows (gamma+delta): {revals / t_level / 1e6:8.1f} M revaluations/s "
          f"-> mmpos is {t_level / t_engine:,.1f}x faster")

    cmd = [str(ROOT / ".venv" / "bin" / "mmpos"), "analyze", str(SPX)]
    if not Path(cmd[0]).exists():
        cmd = [sys.executable, "-m", "dashboard.cli", "analyze", str(SPX)]
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
    print(f"`mmpos analyze {SPX.name}` whole process: median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f}, 5 runs)")


if __name__ == "__main__":
    main()
