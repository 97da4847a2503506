"""``mmpos history``: an underlying's key levels over time, from the history store (JSON or CSV)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from analytics.errors import ChainDataError
from dashboard.cli.common import add_data_dir_option, int_at_least

NAME = "history"
ONE_SHOT = False


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="print an underlying's key levels over time (from the history store)")
    p.add_argument("underlying", help="ticker, e.g. SPX or BTC")
    add_data_dir_option(p)
    p.add_argument("--last", type=int_at_least(1), default=None, metavar="N", help="only the last N snapshots")
    p.add_argument("--format", choices=("json", "csv"), default="json")


def history_records(frame) -> list[dict[str, Any]]:
    """The key levels of :meth:`analytics.history.HistoryStore.history` as JSON-ready objects."""
    from analytics.exposure import TOP_WALLS

    out = []
    for rec in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for key, value in rec.items():
            if key == "as_of":
                row[key] = value.isoformat()
            elif key == "zero_gamma_levels":
                row[key] = [float(z) for z in value]
            elif key in ("call_wall", "put_wall"):
                continue  # the first of call_walls/put_walls, written below with its GEX
            elif key in ("call_walls", "put_walls"):
                side = key.split("_")[0]
                for i in range(TOP_WALLS):
                    strike, gex = value[i] if i < len(value) else (None, None)
                    name = f"{side}_wall" if i == 0 else f"{side}_wall_{i + 1}"
                    row[name] = strike
                    row[f"{name}_gex_usd_per_1pct"] = gex
            elif isinstance(value, float) and not math.isfinite(value):
                row[key] = None
            else:
                row[key] = value
        out.append(row)
    return out


def run(args: argparse.Namespace) -> int:
    from analytics import catalog
    from analytics.history import open_store

    data_dir = catalog.resolve_data_dir(args.data_dir)
    with open_store(data_dir) as store:
        frame = store.history(args.underlying, args.last)
        if store.note:
            sys.stderr.write(f"mmpos: note: {store.note}\n")
    if frame.empty:
        raise ChainDataError(f"no snapshot of {args.underlying!r} in {data_dir}")
    records = history_records(frame)
    if args.format == "json":
        sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
    else:
        import csv

        from analytics.fmt import csv_text_cell

        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for rec in records:  # a text cell a spreadsheet would run as a formula is neutralised (file names)
            writer.writerow({k: ";".join(f"{z:.6g}" for z in v) if isinstance(v, list) else csv_text_cell(v)
                             for k, v in rec.items()})
    return 0
