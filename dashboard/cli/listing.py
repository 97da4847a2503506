"""``mmpos list``: the snapshots (and positions and unreadable files) of a data folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dashboard.cli.common import add_data_dir_option

NAME = "list"
ONE_SHOT = True


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the snapshots in a data directory")
    add_data_dir_option(p, "the folder to list")
    p.add_argument("--format", choices=("table", "json"), default="table")


def catalog_records(scanned) -> list[dict[str, Any]]:
    """``mmpos list --format json``: one object per file (snapshots newest first, then books, then broken)."""
    records = []
    for e in scanned:
        try:
            rel = e.path.relative_to(scanned.data_dir).as_posix()
        except ValueError:
            rel = str(e.path)
        status = "broken" if e.broken else "book" if e.is_book else "snapshot"
        records.append({
            "id": e.id, "status": status, "underlying": e.underlying,
            "as_of": e.as_of.isoformat() if e.as_of is not None else None,
            "spot": e.spot, "file": rel, "rows": e.n_rows, "expiries": e.n_expiries, "source_kind": e.format,
            "error": e.error,
        })
    return records


def run(args: argparse.Namespace) -> int:
    from analytics import catalog
    from dashboard import service

    scanned = catalog.scan_catalog(service.resolve_data_dir(args.data_dir))
    if args.format == "json":
        sys.stdout.write(json.dumps(catalog_records(scanned), indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write(catalog.format_catalog(scanned) + "\n")
    return 0
