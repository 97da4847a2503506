"""Intraday scale (issue 19): backfilling the history store with the demo's 78-snapshot SPX session
(goal: under 20 s on a 2-core machine), and the same through ``mmpos backfill --dask-scheduler`` on a
real dask.distributed LocalCluster with the whole intraday demo (SPX session + BTC day, 173 files).

Copies the committed intraday demo (``data/intraday/``) into a temporary folder (``--generate``:
writes it afresh with :func:`analytics.demo_intraday.write_intraday_data` instead), then runs the command line
``mmpos backfill`` on it, each run on a fresh store, and prints wall-clock seconds, this process's and
its children's CPU seconds, and the machine's load average (a shared machine's wall clock says more
about the neighbours than about mmpos: CPU seconds do not).

    PYTHONPATH=. python benchmarks/bench_intraday.py [--workers 2] [--repeat 1] [--no-dask] [--generate]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _backfill(data: Path, *extra: str) -> tuple[float, float, str]:
    """One ``mmpos backfill`` on a fresh store: wall seconds, CPU seconds, its summary line."""
    from dashboard.cli import main as cli_main

    shutil.rmtree(data / ".mmpos", ignore_errors=True)
    out = io.StringIO()
    cpu0, t0 = _cpu_s(), time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli_main(["backfill", "--data-dir", str(data), "--no-progress", *extra])
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    if code != 0:
        raise SystemExit(f"mmpos backfill failed ({code}): {out.getvalue()}")
    return wall, cpu, out.getvalue().strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    from dashboard.backfill import default_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster run")
    parser.add_argument("--generate", action="store_true", help="write the intraday demo afresh")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mmpos-bench-intraday-") as tmp:
        source = ROOT / "data" / "intraday"
        if args.generate:
            from analytics.demo_intraday import write_intraday_data

            t0 = time.perf_counter()
            write_intraday_data(Path(tmp) / "generated")
            source = Path(tmp) / "generated" / "intraday"
            print(f"generated the intraday demo in {time.perf_counter() - t0:.1f} s")
        spx, every = Path(tmp) / "spx-session", Path(tmp) / "intraday"
        spx.mkdir()
        for p in sorted(source.glob("spx_intraday_*.parquet")):
            shutil.copy2(p, spx / p.name)
        shutil.copytree(source, every)
        n_spx, n_all = len(list(spx.iterdir())), len(list(every.iterdir()))
        print(f"{os.cpu_count()} core(s), {default_workers()} available; load average "
              + " ".join(f"{x:.1f}" for x in os.getloadavg()))

        def report(label: str, folder: Path, *extra: str) -> None:
            runs = [_backfill(folder, *extra) for _ in range(args.repeat)]
            wall, cpu, line = min(runs)
            print(f"{label:<44} best {wall:6.1f} s wall  {cpu:6.1f} s CPU   ({line})")

        report(f"SPX session ({n_spx} snapshots), one process", spx, "--workers", "1")
        if args.workers > 1:
            report(f"SPX session ({n_spx} snapshots), {args.workers} processes", spx, "--workers", str(args.workers))
        if not args.no_dask:
            try:
                from distributed import LocalCluster
            except ImportError:
                print("distributed not installed: no cluster figure (pip install 'mmpos[cluster]')")
                return 0
            t0 = time.perf_counter()
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                print(f"LocalCluster ({args.workers} worker processes) at {cluster.scheduler_address} "
                      f"started in {time.perf_counter() - t0:.1f} s (CPU: the workers' time is not counted)")
                report(f"intraday demo ({n_all} snapshots), --dask-scheduler", every,
                       "--dask-scheduler", cluster.scheduler_address)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
