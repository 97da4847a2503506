"""Backfill throughput: snapshots per second, in one process, on a local process pool, on a Dask LocalCluster.

Generates the demo month (20 SPX + 20 BTC snapshots) into a temporary folder and copies it into
``--copies`` subfolders (default 5: 200 snapshot files, each a separate file version the store
summarises), then backfills a fresh store with each engine and prints the figures.

    PYTHONPATH=. python benchmarks/bench_backfill.py [--copies 5] [--workers 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.demo import write_demo_data  # noqa: E402
from dashboard.backfill import backfill, default_workers  # noqa: E402


def _fresh(data: Path) -> None:
    shutil.rmtree(data / ".mmpos", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5, help="copies of the 40-snapshot demo month")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-serial", action="store_true", help="skip the one-process baseline")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mmpos-bench-backfill-") as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        month = Path(tmp) / "month"
        files = [p for p in write_demo_data(month) if p.name != "spx_book_demo.csv"]
        for i in range(args.copies):
            folder = data / f"copy-{i:02d}"
            folder.mkdir(parents=True)
            for p in files:
                shutil.copy2(p, folder / p.name)
        n = len(files) * args.copies
        print(f"generated {n} snapshot files in {time.perf_counter() - t0:.1f} s; "
              f"{default_workers()} core(s) available, {args.workers} worker(s)")

        engines: list[tuple[str, dict]] = []
        if not args.skip_serial:
            engines.append(("one process", {"workers": 1}))
        engines.append((f"process pool x{args.workers}", {"workers": args.workers}))
        try:
            from distributed import LocalCluster
        except ImportError:
            LocalCluster = None  # noqa: N806
            print("distributed not installed: no cluster figure (pip install 'mmpos[cluster]')")

        def run(label: str, **kwargs) -> None:
            rates = []
            for _ in range(args.repeat):
                _fresh(data)
                result = backfill(data, **kwargs)
                assert result.snapshots == n, result
                rates.append(result.snapshots_per_second)
            best = max(rates)
            print(f"{label:<34} {n} snapshots  best {n / best:6.1f} s  {best:6.1f} snapshots/s"
                  f"  (runs: {', '.join(f'{r:.1f}' for r in rates)})")

        for label, kwargs in engines:
            run(label, **kwargs)
        if LocalCluster is not None:
            t0 = time.perf_counter()
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                print(f"LocalCluster ({args.workers} worker processes) started in {time.perf_counter() - t0:.1f} s")
                run(f"dask LocalCluster x{args.workers}", scheduler=cluster.scheduler_address)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
