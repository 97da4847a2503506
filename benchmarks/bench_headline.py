"""What the headline band costs (issue 16): ``analyze`` on the SPX 2024-01-07 file with and without it.

Prints, measured in one run on this machine (rounds interleave the two variants, so a busy shared
machine slows both alike):

1. ``analyze(chain)`` in process, the chain loaded once, every preparation computed in the call (what
   one ``mmpos analyze`` pays): best and median of several rounds, without the band (``band=False``)
   and with it, and the ratio of the medians;
2. the same with every treatment's preparation cached (what the dashboard pays for a new convention,
   shock set or vol scenario on a file it has open: ``dashboard.service`` caches preparations by file
   version and :func:`analytics.report.preparation`);
3. ``mmpos analyze FILE`` as a whole process (interpreter start-up, imports, load, analyze, JSON),
   median and best of several runs each way; without the band by turning ``analyze``'s ``band``
   default off before the command runs.

Goal: the band adds at most 30% to ``mmpos analyze`` on this file.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_headline.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.report import analyze, preparation, prepare_for  # noqa: E402
from analytics.scenario import Scenario  # noqa: E402
from analytics.sources import load_chain  # noqa: E402

SPX = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
GOAL_RATIO = 1.30
CLI = ("import sys; import analytics.report as r; r.analyze.__kwdefaults__['band'] = sys.argv[1] == 'band'; "
       "sys.argv = ['mmpos', 'analyze', sys.argv[2]]; from dashboard.cli import run; run()")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def line(label: str, without: list[float], with_band: list[float]) -> str:
    a, b = statistics.median(without), statistics.median(with_band)
    return (f"{label:<44} without {1000 * a:7.1f} ms (best {1000 * min(without):6.1f})   with band "
            f"{1000 * b:7.1f} ms (best {1000 * min(with_band):6.1f})   x{b / a:.2f} ({100 * (b / a - 1):+.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    chain = load_chain(SPX)
    analyze(chain)  # warm: the parity fit is made once per chain object, imports, allocator

    def cold(band: bool):
        return lambda: analyze(chain, band=band)

    cache: dict[Scenario, object] = {}

    def cached_prepare(s: Scenario):
        key = preparation(s)
        if key not in cache:
            cache[key] = prepare_for(chain, s)
        return cache[key]

    def warm(band: bool):
        s = Scenario()
        return functools.partial(analyze, chain, s, prepared=cached_prepare(s), prepare=cached_prepare, band=band)

    warm(True)()  # fills the cache of every treatment's preparation
    results = []
    for label, make in (("analyze(chain), preparations computed", cold),
                        ("analyze(chain), preparations cached", warm)):
        without, with_band = [], []
        for _ in range(args.rounds):
            without.append(timed(make(False)))
            with_band.append(timed(make(True)))
        results.append(line(label, without, with_band))
        print(results[-1], flush=True)

    env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_SHARED_CACHE": "off"}

    def cli(variant: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", CLI, variant, str(SPX)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    cli("band")  # page cache, bytecode
    without, with_band = [], []
    for _ in range(args.rounds):
        without.append(cli("none"))
        with_band.append(cli("band"))
    print(line("mmpos analyze SPX (whole process)", without, with_band))
    ratio = statistics.median(with_band) / statistics.median(without)
    print(f"goal: the band adds at most {100 * (GOAL_RATIO - 1):.0f}% to mmpos analyze: "
          f"{'met' if ratio <= GOAL_RATIO else 'NOT met'} (x{ratio:.2f}; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
