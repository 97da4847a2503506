"""``mmpos collect``: fetch snapshots on a schedule into a data folder (network; :mod:`dashboard.collect`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from dashboard.cli.common import add_data_dir_option, refuses_bad_settings

NAME = "collect"
ONE_SHOT = False


def _underlyings(text: str) -> tuple[str, ...]:
    from analytics.collect_rules import parse_underlyings

    try:
        return parse_underlyings(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _every(text: str) -> float:
    from analytics.collect_rules import parse_every

    try:
        return parse_every(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_parser(sub: argparse._SubParsersAction) -> None:
    from dashboard.cli.common import int_at_least

    p = sub.add_parser("collect", help="fetch snapshots on a schedule: CBOE in NYSE sessions (+ one after the "
                                       "close), Deribit around the clock (network)")
    p.add_argument("--underlying", type=_underlyings, required=True,
                   help="comma-separated: SPX,NDX (CBOE delayed quotes), BTC,ETH (Deribit)")
    p.add_argument("--every", type=_every, default=None, help="interval: 90s, 5m, 1h (default 5m)")
    add_data_dir_option(p, "the folder the snapshots are written to")
    p.add_argument("--once", action="store_true", help="one pass: fetch what is due now, then exit")
    p.add_argument("--keep-days", type=int_at_least(1), default=None,
                   help="keep every snapshot of N days, then the last of each day (default "
                        "MMPOS_COLLECT_KEEP_DAYS, else all); only the collector's own files are deleted")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)  # mmpos serve's: stop with it


@refuses_bad_settings(NAME)
def run(args: argparse.Namespace) -> int:
    from analytics import catalog
    from analytics.collect_rules import DEFAULT_EVERY_S
    from dashboard.collect import Collector
    from dashboard.runtime import config

    settings = config.from_env()
    data_dir = catalog.resolve_data_dir(args.data_dir)
    keep_days = args.keep_days if args.keep_days is not None else settings.collect_keep_days

    def say(line: str) -> None:
        sys.stdout.write(f"mmpos collect: {line}\n")
        sys.stdout.flush()

    collector = Collector(data_dir, args.underlying, args.every or DEFAULT_EVERY_S, keep_days=keep_days,
                          base_urls={"cboe": settings.cboe_base_url, "deribit": settings.deribit_base_url}, say=say)
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)
        raise SystemExit(0)  # a write under way removes its temporary file on the way out

    signal.signal(signal.SIGTERM, stop)
    parent = args.parent_pid
    try:
        collector.run(once=args.once, should_stop=lambda: parent is not None and os.getppid() != parent)
    except KeyboardInterrupt:
        return 0
    return 0
