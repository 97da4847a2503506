"""The ``mmpos`` command line: one module per command, the parser built from them.

====================  ==========================================================
command               module
====================  ==========================================================
analyze               :mod:`dashboard.cli.analyze`
list                  :mod:`dashboard.cli.listing`
demo-data             :mod:`dashboard.cli.demo_data`
fetch                 :mod:`dashboard.cli.fetch`
collect               :mod:`dashboard.cli.collect`
serve                 :mod:`dashboard.cli.serve`
backfill              :mod:`dashboard.cli.backfill`
history               :mod:`dashboard.cli.history`
report                :mod:`dashboard.cli.report`
alerts                :mod:`dashboard.cli.alerts`
worker                :mod:`dashboard.cli.worker`
====================  ==========================================================

Each command module declares ``NAME``, ``ONE_SHOT``, ``add_parser(sub)`` and ``run(args) -> int``, and
imports nothing heavy at module level: every parser is built for every command, and heavy modules
(dash, plotly, numba) are imported only by the command that needs them, so ``mmpos analyze`` starts
quickly. Bad input exits with status 2 and one line on stderr naming the file and the problem; never a
traceback.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from typing import NoReturn

from analytics.errors import ChainDataError
from dashboard.cli import (
    alerts,
    analyze,
    backfill,
    collect,
    demo_data,
    fetch,
    history,
    listing,
    report,
    serve,
    worker,
)
from dashboard.cli.analyze import SCENARIO_OPTIONS, format_table, options_table, run_analyze  # noqa: F401
from dashboard.cli.common import EXIT_BAD_INPUT

COMMANDS = (analyze, listing, demo_data, fetch, collect, serve, backfill, history, report, alerts, worker)  # --help order
BY_NAME = {command.NAME: command for command in COMMANDS}
# Commands that read, print and exit: they run without the cyclic garbage collector, whose passes over
# the ~500 modules being imported cost 30-40 ms of a 0.65 s `mmpos analyze` (benchmarks/bench_engine.py
# --cli-only); reference counting still frees everything else. Long-lived commands turn it back on. As a
# process (run()), they also end without the interpreter's teardown: freeing the ~500 modules and the
# chain cost another ~60 ms after the answer was printed.
ONE_SHOT_COMMANDS = frozenset(command.NAME for command in COMMANDS if command.ONE_SHOT)
# A one-shot process tells numpy (before its import) not to ask the kernel for transparent huge pages: numpy
# madvises every array of 4 MB and more, and where the kernel then compacts memory on a page fault (THP
# "defrag" set to madvise, as on this machine) the engine's short-lived temporaries of a large chain spent
# more time in the kernel than in numpy (`mmpos analyze` on the SPX file 10x: ~1 s of system CPU time).
# A long-lived server keeps numpy's default. The user's own setting of the variable wins.
ONE_SHOT_NUMPY_ENV = ("NUMPY_MADVISE_HUGEPAGE", "0")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse's default status too)
        self.exit(EXIT_BAD_INPUT, f"mmpos: {message}\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``mmpos`` parser. Given the arguments of a run whose first one names a command, only that
    command's parser is built: it alone reads them (argparse builds each of the 11 command parsers in
    about 1 ms, which ``mmpos analyze`` would otherwise pay on every run). Anything else (``--help``,
    no command, an unknown one) gets every command, for their list."""
    parser = _Parser(prog="mmpos", description="Dealer gamma, hedging flows and vega from option chains.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    named = BY_NAME.get(argv[0]) if argv else None
    for command in COMMANDS if named is None else (named,):
        command.add_parser(sub)
    return parser


_VALUE_OPTIONS = tuple(flag for flag, *_ in SCENARIO_OPTIONS)


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--shocks -5,-1,1,5`` or ``--vol-shift -1e3`` work: argparse would read the value as an option."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _VALUE_OPTIONS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def run() -> NoReturn:
    """The ``mmpos`` process (the console script and ``python -m dashboard.cli``).

    :func:`main` on ``sys.argv``; a one-shot command then flushes its output and ends the process at
    once (``os._exit``): nothing is left to save, and the teardown would only free memory the operating
    system takes back anyway. Every other command, an error raised out of :func:`main` and argparse's
    exits end the normal way.
    """
    argv = sys.argv[1:]
    one_shot = bool(argv) and argv[0] in ONE_SHOT_COMMANDS  # the parser has no options before the command
    if one_shot and "numpy" not in sys.modules:
        os.environ.setdefault(*ONE_SHOT_NUMPY_ENV)
    code = main(argv)
    if one_shot:
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # the reader of a pipe went away: what was printed is all it gets
            code = code or EXIT_BAD_INPUT
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if collecting:  # an in-process caller (tests) gets its collector back
            gc.enable()


def _main(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    args = build_parser(argv).parse_args(argv)
    if args.command not in ONE_SHOT_COMMANDS:
        gc.enable()
    try:
        return BY_NAME[args.command].run(args) or 0
    except ChainDataError as exc:
        sys.stderr.write(f"mmpos: {exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"mmpos: {where}{exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
