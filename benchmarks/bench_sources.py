"""Loader benchmark: ``load_chain`` on the SPX 2024-01-07 CBOE file and on a 10x larger copy.

The 10x file is the SPX file with every option row ten times, strikes 0.001 apart (their OCC symbols
follow), written to a temporary directory (never kept; a row repeated exactly is refused). Prints the
median and best wall time and the CPU time of each load (after one warm-up load), the CPU time of the
first load in a fresh process (what one ``mmpos analyze`` pays: median of ``FRESH`` processes; CPU
counts every thread), and the growth factor from 1x to 10x (linear growth is 10). Then the put-call-parity forward fit of the SPX chain
(``analytics.forwards.expiry_forwards``, median of interleaved rounds) beside the per-expiry loop it
replaced (kept as the test oracle in ``tests/unit/test_forwards_fast.py``).

Run: ``.venv/bin/python benchmarks/bench_sources.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.forwards import expiry_forwards  # noqa: E402
from analytics.sources import load_chain  # noqa: E402
from tests.unit.test_forwards_fast import ref_expiry_forwards  # noqa: E402

SPX = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
REPEATS = 5
FRESH = 5
FIT_ROUNDS = 21


def ten_times(src: Path, out: Path) -> Path:
    """``src`` with every row ten times, strikes 0.001 apart (``bench_engine.tiled_cboe_file``)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_engine import tiled_cboe_file

    tiled_cboe_file(src, 10, out)
    return out


def timed(path: Path) -> tuple[float, float, float, int]:
    """Median wall, best wall and median CPU seconds of ``REPEATS`` loads, and the row count."""
    rows = len(load_chain(path).rows)
    wall, cpu = [], []
    for _ in range(REPEATS):
        w, c = time.perf_counter(), time.process_time()
        load_chain(path)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), min(wall), statistics.median(cpu), rows


def first_load_cpu(path: Path) -> float:
    """Median CPU seconds of the first ``load_chain`` in ``FRESH`` fresh processes (imports excluded)."""
    probe = ("import time\nfrom analytics.sources import load_chain\nt = time.process_time()\n"
             f"load_chain({str(path)!r})\nprint(time.process_time() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout) for _ in range(FRESH)]
    return statistics.median(runs)


def forward_fit_ms(chain) -> tuple[float, float]:
    """Median ms of ``expiry_forwards`` and of the per-expiry loop, rounds interleaved (a shared machine)."""
    fast, loop = [], []
    for _ in range(FIT_ROUNDS):
        for fn, out in ((expiry_forwards, fast), (ref_expiry_forwards, loop)):
            t0 = time.perf_counter()
            fn(chain)
            out.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(fast), 1e3 * statistics.median(loop)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = ten_times(SPX, Path(tmp) / "spx_10x.csv")
        results = {"1x": timed(SPX), "10x": timed(big)}
        first = {"1x": first_load_cpu(SPX), "10x": first_load_cpu(big)}
    for name, (med, best, cpu, rows) in results.items():
        print(f"load_chain SPX {name:>3} ({rows:>6} rows): median {med * 1e3:7.1f} ms, best {best * 1e3:7.1f} ms, "
              f"cpu {cpu * 1e3:7.1f} ms; first load in a fresh process: cpu {first[name] * 1e3:7.1f} ms")
    print(f"growth 1x -> 10x (median wall): {results['10x'][0] / results['1x'][0]:.1f}x (linear: 10x)")
    chain = load_chain(SPX)
    fast, loop = forward_fit_ms(chain)
    print(f"parity forwards, SPX 2024-01-07 ({chain.rows['expiry'].nunique()} expiries): {fast:.1f} ms "
          f"(per-expiry loop: {loop:.1f} ms, {loop / fast:.1f}x)")


if __name__ == "__main__":
    main()
