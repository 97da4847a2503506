"""``mmpos backfill``: summarise every snapshot of a data folder into its history store."""

from __future__ import annotations

import argparse
import sys

from dashboard.cli.common import add_data_dir_option, dask_address, int_at_least

NAME = "backfill"
ONE_SHOT = False


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backfill", help="summarise every snapshot into the data folder's history store")
    add_data_dir_option(p, "the folder whose history store to fill")
    p.add_argument("--workers", type=int_at_least(1), default=None,
                   help="local worker processes (default: the cores available; 1 = no pool)")
    p.add_argument("--dask-scheduler", type=dask_address, default=None, metavar="ADDRESS",
                   help="run on a Dask distributed cluster (tcp://host:8786); needs mmpos[cluster]")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from analytics import catalog
    from dashboard.backfill import backfill

    data_dir = catalog.resolve_data_dir(args.data_dir)
    bar = None

    def plan(total: int) -> None:
        nonlocal bar
        if not args.no_progress and total:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="file", desc="backfill", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(1)

    try:
        result = backfill(data_dir, workers=args.workers, scheduler=args.dask_scheduler, progress=progress,
                          on_plan=plan)
    finally:
        if bar is not None:
            bar.close()
    rate = f", {result.snapshots_per_second:.1f} snapshots/s" if result.snapshots else ""
    sys.stdout.write(f"summarised {result.snapshots} snapshot(s), {result.skipped} other file(s) "
                     f"in {result.seconds:.1f} s ({result.engine}{rate}); store: {result.store}\n")
    if result.note:
        sys.stdout.write(f"note: {result.note}\n")
    return 0
