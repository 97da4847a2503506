"""``mmpos fetch``: a live snapshot from Deribit or CBOE into a data folder (network)."""

from __future__ import annotations

import argparse
import sys

from dashboard.cli.common import add_data_dir_option, refuses_bad_settings

NAME = "fetch"
ONE_SHOT = False


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="fetch a live snapshot into a data directory (network)")
    p.add_argument("source", choices=("deribit", "cboe"))
    p.add_argument("symbol", help="BTC/ETH for deribit; SPX, NDX, SPY... for cboe")
    add_data_dir_option(p, "the folder to write the snapshot to", flag="--out")


@refuses_bad_settings(NAME)
def run(args: argparse.Namespace) -> int:
    from analytics import catalog
    from analytics.sources import fetch
    from dashboard.runtime import config

    out = catalog.resolve_data_dir(args.out)
    base_url = config.setting(f"{args.source}_base_url")  # MMPOS_CBOE_BASE_URL / MMPOS_DERIBIT_BASE_URL
    sys.stdout.write(f"wrote {fetch.fetch(args.source, args.symbol, out, base_url=base_url)}\n")
    return 0
