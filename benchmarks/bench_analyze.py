"""``analyze()`` in process (issue 15): the chain loaded once, every preparation computed in the call (the
headline band's three other treatments included), on the SPX demo file and the real CBOE SPX file.

Prints, per file: the median and best of several rounds of ``analyze(chain)`` (with the band) and of
``analyze(chain, band=False)``, the ratio of the medians, and the four treatments' ``prepare_for`` times
(what the band repeats). The rounds interleave the variants, so a busy shared machine slows both alike;
the load average is printed beside the figures.

Treatment-independent work (row groups, years to settlement, side signs, placeholder detection per
forward, the expiry selection) is computed once per chain's rows (:func:`analytics.prepare.per_rows`);
a new chain object starts empty. So each round also times ``analyze`` on a fresh copy of the chain (a new
rows frame: nothing computed yet, the parity fit included; what one ``mmpos analyze`` pays), the copy
not timed.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_analyze.py [--rounds N]``; against another checkout
(the same script, that checkout's code): ``PYTHONPATH=OTHER .venv/bin/python benchmarks/bench_analyze.py
--code OTHER``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = {"SPX demo (data/spx_quotedata_2026-11-20.csv)": ROOT / "data" / "spx_quotedata_2026-11-20.csv",
         "CBOE SPX 2024-01-07 (shared)": ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose analytics is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from analytics.report import analyze, prepare_for
    from analytics.scenario import Scenario
    from analytics.sources import load_chain

    print(f"code: {args.code.resolve()}; load {os.getloadavg()[0]:.2f}")
    for label, path in FILES.items():
        chain = load_chain(path)
        analyze(chain)  # warm: the parity fit (once per chain object), imports, allocator, per-rows values
        band, plain, cold = [], [], []
        treatments = {(f, i): [] for f in ("parity", "spot") for i in ("otm", "file")}
        for _ in range(args.rounds):
            fresh = dataclasses.replace(chain, rows=chain.rows.copy())
            cold.append(timed(functools.partial(analyze, fresh)))
            band.append(timed(functools.partial(analyze, chain)))
            plain.append(timed(functools.partial(analyze, chain, band=False)))
            for (f, i), times in treatments.items():
                times.append(timed(functools.partial(prepare_for, chain, Scenario(forward=f, iv_policy=i))))
        a, b = statistics.median(band), statistics.median(plain)
        print(f"{label}: {len(chain.rows):,} rows")
        print(f"  analyze(fresh copy)        median {1000 * statistics.median(cold):7.1f} ms  "
              f"best {1000 * min(cold):7.1f} ms")
        print(f"  analyze(chain)             median {1000 * a:7.1f} ms  best {1000 * min(band):7.1f} ms")
        print(f"  analyze(chain, band=False) median {1000 * b:7.1f} ms  best {1000 * min(plain):7.1f} ms  "
              f"band x{a / b:.2f}")
        print("  prepare_for per treatment  " + "  ".join(
            f"{f}/{i} {1000 * statistics.median(t):.1f} ms" for (f, i), t in treatments.items()))
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
