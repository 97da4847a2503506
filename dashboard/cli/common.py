"""What several ``mmpos`` commands share: argument types and options."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def add_date_order_option(parser: argparse.ArgumentParser) -> None:
    """``--date-order dmy|mdy`` on a command that loads a chain file (name and choices: analytics.sources)."""
    from analytics.sources.common import DATE_ORDER_OPTION, DATE_ORDERS

    parser.add_argument(DATE_ORDER_OPTION, dest="date_order", choices=DATE_ORDERS, default=None,
                        help="read numeric dates whose day and month could swap (07/01/2024) day first (dmy) or "
                             "month first (mdy); default: only where the file decides, else refused")
