"""What several ``mmpos`` commands share: argument types, options and the refusal of a bad setting."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_BAD_INPUT = 2  # bad input, a bad setting: one line on stderr and this status, never a traceback
Run = Callable[[argparse.Namespace], int]


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum`` (one line naming the problem otherwise).

    Examples
    --------
    >>> int_at_least(1)("3"), int_at_least(0)("0")
    (3, 0)
    >>> int_at_least(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be at least 1, got 0
    """
    def whole_number(text: str) -> int:
        try:
            v = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {v}")
        return v

    return whole_number


DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")  # the address forms distributed.Client connects to


def dask_address(text: str) -> str:
    """A Dask scheduler address, ``[scheme://]host:port``, checked before any connection is tried.

    Examples
    --------
    >>> dask_address("tcp://10.0.0.5:8786"), dask_address("scheduler:8786")
    ('tcp://10.0.0.5:8786', 'scheduler:8786')
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    host, colon, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]:8786
    if (scheme not in DASK_SCHEMES or not colon or not host or not port.isdigit()
            or not 1 <= int(port) <= 65535 or any(c in host for c in "/ ?#@")):
        raise argparse.ArgumentTypeError(
            f"not a scheduler address [{'|'.join(DASK_SCHEMES)}://]host:port: {text[:80]!r}")
    return text


def add_data_dir_option(parser: argparse.ArgumentParser, what: str = "the folder of snapshots",
                        flag: str = "--data-dir") -> None:
    """``--data-dir`` (a Path, default None): resolve it with :func:`analytics.catalog.resolve_data_dir`, the one
    rule (the folder given, else ``MMPOS_DATA_DIR``, else the project's ``data/``)."""
    parser.add_argument(flag, type=Path, default=None, help=f"{what} (default: MMPOS_DATA_DIR, else data/)")


def add_date_order_option(parser: argparse.ArgumentParser) -> None:
    """``--date-order dmy|mdy`` on a command that loads a chain file (name and choices: analytics.sources)."""
    from analytics.sources.common import DATE_ORDER_OPTION, DATE_ORDERS

    parser.add_argument(DATE_ORDER_OPTION, dest="date_order", choices=DATE_ORDERS, default=None,
                        help="read numeric dates whose day and month could swap (07/01/2024) day first (dmy) or "
                             "month first (mdy); default: only where the file decides, else refused")


def refuse(command: str, reason: str) -> int:
    """End ``mmpos <command>`` on bad input: one line ``mmpos <command>: <reason>`` on stderr; returns the
    status to exit with (:data:`EXIT_BAD_INPUT`)."""
    sys.stderr.write(f"mmpos {command}: {reason}\n")
    return EXIT_BAD_INPUT


def refuses_bad_settings(command: str) -> Callable[[Run], Run]:
    """Decorate a command's ``run`` that reads the ``MMPOS_*`` settings: a setting that cannot be used
    (:class:`dashboard.runtime.config.UnsafeConfigError`, raised while loading or checking them) ends the
    command with one line on stderr, ``mmpos <command>: <reason>``, and status 2.

    The settings module (pydantic) is imported only when the command runs, so the commands that read no
    setting start without it.
    """
    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        def refusing(args: argparse.Namespace) -> int:
            from dashboard.runtime import config

            try:
                return run(args)
            except config.UnsafeConfigError as err:
                return refuse(command, str(err))

        return refusing

    return decorate
