"""Engine benchmark: option revaluations per second on the full SPX 2024-01-07 chain.

Prints, measured in one run on this machine:
0. the machine's limits, measured here in the same run, every core busy, timed by CPU time (the
   machine may be shared: CPU seconds, not wall, are what the engine was given): (a) the kernel's own
   exp + normal CDF loop (numba; the kernel's compiled ``exp`` and Hart/West CDF of
   :mod:`analytics.grid_kernel`, over in-cache data: what an element costs with no memory traffic, no
   d1 and no sums) and its exp alone (the gamma-only bound); (b) the multiply-add rate (a numba loop of
   dependent multiply-adds per element, vectorised across elements) in GFLOP/s;
1. mmpos's grid engine (the compiled kernel, and the numpy path used for small grids): gamma and delta
   for every option with open interest on a 1201-point spot grid (0.7x-1.3x spot), revaluations per
   second (options x grid points per CPU second x cores; wall-time rates beside them) as best and
   median of several rounds, each as a share of the exp+CDF loop (exp alone for gamma only) and of
   the multiply-add rate (the kernel's flops per element counted in :func:`kernel_flops`), rounds
   interleaving limits and engine; and a 10x larger chain (the SPX chain tiled);
2. the Perfiliev recipe (the loop most public GEX scripts copy): for each spot level, ``df.apply`` a
   Black-Scholes gamma per row with scipy.stats.norm. Too slow to run on all 1201 levels, so it runs on
   a few levels and its per-revaluation rate is extrapolated (stated in the output);
3. a stricter baseline: a Python loop over levels with numpy vectorised over rows;
4. ``mmpos analyze`` on the file as a whole process, including interpreter start-up, in interleaved
   pairs with the floor ``python -c "import numpy, pandas"`` (what any numpy + pandas command pays):
   the child's CPU time (rusage) and wall time, each as the median of the per-pair ratios to the
   floor. Default options (parity forwards, OTM IVs; goals < 0.6 s wall and <= 1.3x the floor),
   ``--forward spot --iv file``, and the file 10x larger (every row ten times, strikes 0.001 apart
   with their OCC symbols; goals < 2 s and <= 2.5x the floor); then the one-off cost of loading the compiled kernel in a fresh process
   (numba import + first call).

5. with ``--stages``: where the CPU of one in-process ``mmpos analyze`` run goes, on the SPX file and the
   10x file (best of a few runs per stage, ``time.process_time``: every thread counted): the load, the
   preparations (the analysis's own and the headline band's other treatments), the grid engine's calls,
   the band's screens, ``to_dict`` (with the per-expiry frames it computes) and the JSON text.

Run: ``.venv/bin/python benchmarks/bench_engine.py`` (or ``make bench``); ``--cli-only`` runs part 4 alone,
``--stages`` part 5 alone.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
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
ROUNDS = 7
CORES = os.cpu_count() or 1


def best_of(fn, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def times_of(fn, repeats: int = 3) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of ``repeats`` calls; CPU is the whole process's (every thread)."""
    out = []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - w0, time.process_time() - c0))
    return out


LIMIT_ELEMENTS = 2048  # per core: three 16 kB arrays, in cache
FMA_DEPTH = 32  # dependent multiply-adds per element of the multiply-add loop


def limit_loops():
    """The limit loops (numba, the kernel's compiler options): exp + CDF, exp alone, multiply-adds.

    The first two call the kernel's own compiled ``exp_nonpositive`` and centred normal CDF
    (:mod:`analytics.grid_kernel`, i.e. :mod:`analytics.pricing`'s formulas), so they do exactly the
    per-element work of the kernel minus d1, the weights and the sums. The third runs ``FMA_DEPTH``
    dependent multiply-adds per element; elements are independent, so LLVM vectorises across them and
    the core overlaps the chains: the multiply-add units' rate.
    """
    import numba

    from analytics import grid_kernel as gk

    opts = {"nogil": True, "fastmath": set(gk.FASTMATH), "error_model": "numpy", "boundscheck": False}
    exp, cdf = gk._exp, gk._centered_cdf
    depth = FMA_DEPTH

    @numba.njit(**opts)
    def exp_cdf(d, e_out, c_out, passes):
        for _ in range(passes):
            for j in range(d.size):
                x = d[j]
                e = exp(-0.5 * x * x)
                e_out[j] = e
                c_out[j] = cdf(x, e)

    @numba.njit(**opts)
    def exp_only(d, e_out, c_out, passes):
        for _ in range(passes):
            for j in range(d.size):
                x = d[j]
                e_out[j] = exp(-0.5 * x * x)

    @numba.njit(**opts)
    def fma(d, e_out, c_out, passes):
        for _ in range(passes):
            for j in range(d.size):
                y = d[j]
                for _k in range(depth):
                    y = y * 0.999 + 0.001
                e_out[j] = y

    return {"exp+CDF": (exp_cdf, 1000, 1), "exp": (exp_only, 2000, 1), "multiply-add": (fma, 500, 2 * depth)}


def limit_rates(pool: ThreadPoolExecutor, loops) -> dict[str, float]:
    """Each limit loop on every core at once, per CPU second x cores (best of 3): exp+CDF and exp in
    elements/s, multiply-add in flop/s."""
    data = [(np.random.default_rng(i).uniform(-8.0, 8.0, LIMIT_ELEMENTS), np.empty(LIMIT_ELEMENTS),
             np.empty(LIMIT_ELEMENTS)) for i in range(CORES)]
    out = {}
    for name, (fn, passes, per_element) in loops.items():
        fn(*data[0], 1)  # compiled on the first call

        def all_cores(fn=fn, passes=passes):
            list(pool.map(lambda arrays: fn(*arrays, passes), data))

        cpu = min(c for _, c in times_of(all_cores))
        out[name] = LIMIT_ELEMENTS * passes * per_element * CORES / cpu * CORES
    return out


def kernel_flops(want_delta: bool) -> int:
    """Floating-point operations per element of :func:`analytics.grid_kernel.sticky_sums` (a
    multiply-add counts 2; floor, max, copysign, abs, compares and bit operations count 0).

    d1 = log_f a + c (1 FMA); -d*d/2 (2 multiplies); ``exp_nonpositive``: range reduction (3 FMAs),
    Horner over ``_EXP_C`` then two more steps, the scale (1 multiply); gex += e w (1 FMA). Delta adds
    the CDF tail's numerator and denominator (Horner over ``HART_P``, ``HART_Q``), e num / den (a
    multiply and a divide), 0.5 - tail (1) and delta += (1 FMA).
    """
    from analytics import grid_kernel as gk
    from analytics.pricing import HART_P, HART_Q

    exp = 2 * 3 + 2 * (len(gk._EXP_C) - 1 + 2) + 1
    gamma = 2 + 2 + exp + 2
    return gamma + (2 * (len(HART_P) - 1) + 2 * (len(HART_Q) - 1) + 2 + 1 + 2 if want_delta else 0)


def rate_line(name: str, revals: int, rounds: list[list[tuple[float, float]]], limits: list[dict[str, float]],
              key: str, flops: int | None) -> str:
    """The engine's rate per CPU second x cores (best, median), the median over rounds of its share of
    the ``key`` loop and (``flops`` per element given) of the multiply-add rate measured in the same
    round, and the wall-time rate (best, median) beside it."""
    cpu = [revals / c * CORES for r in rounds for _, c in r]
    wall = [revals / w for r in rounds for w, _ in r]
    best_in = [(max(revals / c * CORES for _, c in r), lim) for r, lim in zip(rounds, limits, strict=False) if r]
    text = (f"{name:<40s} {max(cpu) / 1e6:6.0f} M/s best, {statistics.median(cpu) / 1e6:6.0f} median (CPU time);"
            f" {100 * statistics.median(b / lim[key] for b, lim in best_in):4.0f}% of the {key} loop")
    if flops:
        share = statistics.median(b * flops / lim["multiply-add"] for b, lim in best_in)
        text += f", {100 * share:3.0f}% of the multiply-add rate ({max(cpu) * flops / 1e9:.0f} GFLOP/s at best)"
    return text + f"; wall time {max(wall) / 1e6:.0f} M/s best, {statistics.median(wall) / 1e6:.0f} median"


def tiled(pos, copies: int):
    """The chain ``copies`` times over (strikes nudged so the rows differ): a 10x larger book."""
    def rep(a, nudge=0.0):
        return np.concatenate([a * (1.0 + nudge * i) for i in range(copies)])
    return replace(pos, level=rep(pos.level), strike=rep(pos.strike, 1e-4), years=rep(pos.years),
                   iv=rep(pos.iv), side=rep(pos.side), rate=rep(pos.rate), carry=rep(pos.carry),
                   weight=rep(pos.weight))


def tiled_cboe_file(src: Path, copies: int, out: Path) -> int:
    """Write ``src`` (a CBOE quote table) with every row ``copies`` times, strikes 0.001 apart (the OCC
    symbols follow: they carry the strike in thousandths). Returns the number of option rows written."""
    lines = src.read_text().split("\n")
    head = next(i for i, line in enumerate(lines) if line.startswith("Expiration Date"))
    header = lines[head].split(",")
    strike_at, calls_at, puts_at = header.index("Strike"), header.index("Calls"), header.index("Puts")
    body = []
    for line in lines[head + 1:]:
        if not line.strip():
            continue
        cells = line.split(",")
        for k in range(copies):
            strike = float(cells[strike_at]) + 0.001 * k
            row = list(cells)
            row[strike_at] = f"{strike:.3f}"
            for at in (calls_at, puts_at):
                row[at] = f"{cells[at][:-8]}{round(strike * 1000):08d}"
            body.append(",".join(row))
    out.write_text("\n".join(lines[:head + 1] + body) + "\n")
    return 2 * len(body)


def cli_command() -> list[str]:
    cmd = [str(ROOT / ".venv" / "bin" / "mmpos")]
    return cmd if Path(cmd[0]).exists() else [sys.executable, "-m", "dashboard.cli"]


FLOOR = [sys.executable, "-c", "import numpy, pandas"]  # what any numpy + pandas command pays


def child_run(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process; CPU from the children's rusage (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_pairs(args: list[str], runs: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """``runs`` interleaved pairs: the floor, then ``mmpos analyze ARGS``, each as a whole process
    (interpreter start-up included): their (wall, CPU) seconds, pair by pair."""
    child_run(FLOOR)  # warm the page cache and the bytecode
    floors, analyses = [], []
    for _ in range(runs):
        floors.append(child_run(FLOOR))
        analyses.append(child_run([*cli_command(), "analyze", *args]))
    return floors, analyses


def bench_cli() -> None:
    def line(label: str, args: list[str], runs: int, goal_s: float | None, goal_ratio: float | None) -> None:
        floors, analyses = cli_pairs(args, runs)
        med = {k: statistics.median(a[k] for a in analyses) for k in (0, 1)}
        ratio = {k: statistics.median(a[k] / f[k] for f, a in zip(floors, analyses, strict=True)) for k in (0, 1)}
        floor = {k: statistics.median(f[k] for f in floors) for k in (0, 1)}
        verdict = "" if goal_s is None else f"; goal < {goal_s:g} s wall: {'MET' if med[0] < goal_s else 'NOT MET'}"
        if goal_ratio is not None:
            verdict += f"; goal <= {goal_ratio:g}x the floor (CPU): {'MET' if ratio[1] <= goal_ratio else 'NOT MET'}"
        print(f"`mmpos analyze {label}`, {runs} pairs with the floor `python -c \"import numpy, pandas\"`:"
              f" CPU median {med[1]:.2f} s = {ratio[1]:.2f}x the floor ({floor[1]:.2f} s),"
              f" wall median {med[0]:.2f} s (best {min(a[0] for a in analyses):.2f}) = {ratio[0]:.2f}x the floor"
              f" ({floor[0]:.2f} s){verdict} (ratios: median of the per-pair ratios)")

    line(SPX.name, [str(SPX)], 9, 0.6, 1.3)
    line(f"{SPX.name} --forward spot --iv file", [str(SPX), "--forward", "spot", "--iv", "file"], 5, None, None)
    with tempfile.TemporaryDirectory(prefix="mmpos-bench-") as tmp:
        big = Path(tmp) / "cboe_spx_10x.csv"
        rows = tiled_cboe_file(SPX, 10, big)
        line(f"<the SPX file 10x: {rows:,} option rows>", [str(big)], 5, 2.0, 2.5)


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

    t0 = time.perf_counter()
    kernel = scenarios.load_kernel()  # the dashboard does this at start-up; the CLI only for huge grids
    print(f"compiled kernel loaded in {time.perf_counter() - t0:.2f} s in this process "
          f"({'numba' if kernel else 'numba missing: numpy path only'})")
    revals = n * GRID
    big = tiled(pos, 10)
    big_factors = np.linspace(0.7, 1.3, 121)
    kernel_choice = scenarios._kernel_for  # the benchmark forces each path in turn

    def run(fn, force_numpy=False):
        if force_numpy:
            scenarios._kernel_for = lambda work: None
        try:
            return times_of(fn)
        finally:
            scenarios._kernel_for = kernel_choice

    names = ("gamma+delta", "gamma only", "numpy path gamma+delta", "numpy path gamma only", "10x chain gamma+delta")
    times: dict[str, list[list[tuple[float, float]]]] = {k: [] for k in names}
    limits: list[dict[str, float]] = []
    loops = limit_loops()
    with ThreadPoolExecutor(max_workers=CORES) as pool:
        scenarios.revalue_grid(pos, factors)  # warm-up (caches, pages)
        for _ in range(ROUNDS):
            limits.append(limit_rates(pool, loops))
            times["gamma+delta"].append(run(lambda: scenarios.revalue_grid(pos, factors)))
            times["gamma only"].append(run(lambda: scenarios.revalue_grid(pos, factors, want_delta=False)))
            times["10x chain gamma+delta"].append(run(lambda: scenarios.revalue_grid(big, big_factors))[:1])
            numpy_round = len(limits) <= 2  # the slow numpy path: two rounds are enough
            times["numpy path gamma+delta"].append(
                run(lambda: scenarios.revalue_grid(pos, factors), True)[:1] if numpy_round else [])
            times["numpy path gamma only"].append(
                run(lambda: scenarios.revalue_grid(pos, factors, want_delta=False), True)[:1] if numpy_round else [])
    units = {"exp+CDF": (1e6, "M elements/s"), "exp": (1e6, "M elements/s"), "multiply-add": (1e9, "GFLOP/s")}
    print(f"machine limits on {CORES} cores, per CPU second x cores, {ROUNDS} rounds: " + "; ".join(
        f"{k} loop best {max(lim[k] for lim in limits) / u:,.0f}, median {statistics.median(lim[k] for lim in limits) / u:,.0f}"
        f" {unit}" for k, (u, unit) in units.items()))
    print(f"kernel flops per element (counted in kernel_flops): gamma+delta {kernel_flops(True)}, "
          f"gamma only {kernel_flops(False)}")
    for name in names:
        count = len(big) * big_factors.size if name.startswith("10x") else revals
        delta = not name.endswith("gamma only")
        flops = None if name.startswith("numpy") else kernel_flops(delta)
        print(rate_line(f"mmpos engine, {name}:", count, times[name], limits, "exp+CDF" if delta else "exp", flops))
    t_engine = min(w for r in times["gamma+delta"] for w, _ in r)
    engine_rate = revals / t_engine

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

    bench_cli()
    probe = ("import time; t0 = time.perf_counter(); import numba; t1 = time.perf_counter(); "
             "from analytics import scenarios; scenarios.load_kernel(); t2 = time.perf_counter(); "
             "print(f'{t1 - t0:.2f} {t2 - t1:.2f}')")
    loads = [subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split() for _ in range(3)]
    imp, first = (statistics.median(float(x[i]) for x in loads) for i in (0, 1))
    print(f"compiled kernel in a fresh process (median of 3): import numba {imp:.2f} s, then module + first "
          f"call from the on-disk cache {first:.2f} s (why a one-shot CLI analyze stays on the numpy path)")


# the calls timed by --stages: (module, function) -> label; a call inside another timed one counts for both
STAGES = (("analytics.sources", "load_chain", "load the file"),
          ("analytics.report", "prepare_for", "preparations (own + band's other treatments)"),
          ("analytics.forwards", "chain_forwards", "  of which: parity fit"),
          ("analytics.prepare", "_otm_ivs", "  of which: OTM IV solves"),
          ("analytics.scenarios", "revalue_grid", "engine: profile, hedge curves, delta now"),
          ("analytics.scenarios", "zero_crossings", "engine: the profile's zero crossings"),
          ("analytics.report", "_headline", "headline band (with its preparations)"),
          ("analytics.scenarios", "zero_gamma_levels", "  of which: band's zero-gamma screens"),
          ("analytics.report.Analysis", "to_dict", "to_dict (with the per-expiry frames)"),
          ("json", "dumps", "JSON text"))


def bench_stages(repeats: int = 4) -> None:
    """Part 5: the CPU of each stage of an in-process ``mmpos analyze`` (the command's own code path,
    ``dashboard.cli.main``), best of ``repeats`` runs per stage, and the whole run's CPU."""
    import functools
    import importlib
    import io

    from dashboard import cli

    spent: dict[str, float] = {}

    def timed(fn, label):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - t0
        return call

    def owner(dotted: str):
        try:
            return importlib.import_module(dotted)
        except ModuleNotFoundError:
            mod, attr = dotted.rsplit(".", 1)
            return getattr(importlib.import_module(mod), attr)

    originals = [(owner(m), f, getattr(owner(m), f), label) for m, f, label in STAGES]
    for obj, name, fn, label in originals:
        setattr(obj, name, timed(fn, label))
    try:
        with tempfile.TemporaryDirectory(prefix="mmpos-bench-") as tmp:
            big = Path(tmp) / "cboe_spx_10x.csv"
            rows = tiled_cboe_file(SPX, 10, big)
            for label, path in ((SPX.name, SPX), (f"the SPX file 10x ({rows:,} option rows)", big)):
                best: dict[str, float] = {}
                first: dict[str, float] = {}
                whole = []
                for _ in range(repeats):
                    spent.clear()
                    t0 = time.process_time()
                    out, sys.stdout = sys.stdout, io.StringIO()
                    try:
                        cli.main(["analyze", str(path)])
                    finally:
                        sys.stdout = out
                    whole.append(time.process_time() - t0)
                    first = first or dict(spent)
                    for k, v in spent.items():
                        best[k] = min(best.get(k, v), v)
                print(f"`mmpos analyze` in process, {label}: CPU in all {whole[0]:.3f} s the first run (the "
                      f"process's first: lazy imports, first calls), {min(whole[1:]):.3f} s the best of {repeats - 1} more")
                for _, _, stage in STAGES:
                    if stage in best:
                        print(f"  {stage:48s} first {first.get(stage, 0.0) * 1e3:8.1f} ms, best {best[stage] * 1e3:8.1f} ms")
    finally:
        for obj, name, fn, _ in originals:
            setattr(obj, name, fn)


if __name__ == "__main__":
    if "--cli-only" in sys.argv[1:]:
        bench_cli()
    elif "--stages" in sys.argv[1:]:
        bench_stages()
    else:
        main()
