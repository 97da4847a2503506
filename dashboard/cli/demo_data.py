"""``mmpos demo-data``: write the deterministic synthetic demo snapshots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.cli.common import int_at_least

NAME = "demo-data"
ONE_SHOT = False


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-data", help="write the deterministic synthetic demo snapshots")
    p.add_argument("--out", type=Path, default=Path("data"))
    p.add_argument("--seed", type=int_at_least(0), default=None)


def run(args: argparse.Namespace) -> int:
    from analytics import demo, demo_intraday

    kwargs = {} if args.seed is None else {"seed": args.seed}
    # the month, then the intraday session and day between its files (data/intraday/)
    for path in [*demo.write_demo_data(args.out, **kwargs), *demo_intraday.write_intraday_data(args.out, **kwargs)]:
        sys.stdout.write(f"wrote {path}\n")
    return 0
