"""The ``mmpos`` command line: analyze, list, demo-data, fetch, serve, backfill, history.

Heavy modules (dash, plotly) are imported only by the subcommand that needs them, so
``mmpos analyze`` starts quickly. Bad input exits with status 2 and one line on stderr naming the
file and the problem; never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from analytics.errors import ChainDataError

if TYPE_CHECKING:
    from analytics.scenario import Scenario

EXIT_BAD_INPUT = 2
# Commands that read, print and exit: they run without the cyclic garbage collector, whose passes over
# the ~500 modules being imported cost 30-40 ms of a 0.65 s `mmpos analyze` (benchmarks/bench_engine.py
# --cli-only); reference counting still frees everything else. Long-lived commands turn it back on. As a
# process (run()), they also end without the interpreter's teardown: freeing the ~500 modules and the
# chain cost another ~60 ms after the answer was printed.
ONE_SHOT_COMMANDS = frozenset({"analyze", "list"})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse's default status too)
        self.exit(EXIT_BAD_INPUT, f"mmpos: {message}\n")


# The analyze options that make up the Scenario: (flag, Scenario field, metavar, help). Values go to
# Scenario.from_mapping as typed, so every check and every bound lives in analytics/scenario.py.
SCENARIO_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("--expiry", "expiries", "YYYY-MM-DD", "expiry to include (repeatable; default: every live expiry)"),
    ("--max-dte", "max_dte", "DAYS", "only expiries within DAYS calendar days"),
    ("--convention", "convention", "NAME", "dealer sign convention (default {default})"),
    ("--rate", "rate", "R", "risk-free rate, decimal (default 0)"),
    ("--div-yield", "div_yield", "Q", "dividend yield, decimal (default 0)"),
    ("--multiplier", "multiplier", "M", "contract multiplier (default: the file's; 100 for CBOE)"),
    ("--shocks", "shocks_pct", "PCT,PCT,...", "spot shocks in percent (default -20..20 step 1)"),
    ("--horizon-days", "horizon_days", "H", "revalue H days later"),
    ("--spot-range", "spot_range", "LO,HI", "gamma-profile grid as fractions of spot (default 0.7,1.3)"),
    ("--grid-points", "grid_points", "N", "points of the gamma-profile grid (default 601)"),
    ("--vol-shift", "vol_shift_pts", "PTS", "parallel IV shift, vol points"),
    ("--spot-vol-beta", "spot_vol_beta", "BETA", "IV change in vol points per 1% spot shock (e.g. -0.5)"),
    ("--forward", "forward", "spot|parity", "price on spot with --rate/--div-yield, or on each expiry's put-call-parity forward (default {forward})"),
    ("--iv", "iv_policy", "file|otm", "each side's own file IV, or one IV per strike from the out-of-the-money side (default {iv})"),
    ("--include-adjusted", "adjusted_deliverables", "ROOT=UNITS,...", "price an adjusted-deliverable root (AMD1, SPY1) on what one contract delivers, e.g. AMD1=172 shares: strike and premiums per share, multiplier 172 (default: left out, counted in the warnings)"),
    ("--without-note", "without_notes", "CODE", "leave out the rows of this data-repair note (repeatable; a treatment of the headline band)"),
)
LIST_OPTIONS = frozenset({"expiries", "without_notes"})  # repeatable flags: one value each


def options_table() -> str:
    """The README's table of analyze options and what each allows (from the Scenario's rules).

    Examples
    --------
    >>> options_table().splitlines()[5]
    '| `--rate` | -1 to 1 (decimal, 0.05 = 5%) |'
    """
    from analytics.scenario import allowed

    rows = [f"| `{flag}` | {allowed(field)} |" for flag, field, _, _ in SCENARIO_OPTIONS]
    return "\n".join(["| option | allowed |", "|---|---|", *rows])


def add_date_order_option(parser: argparse.ArgumentParser) -> None:
    """``--date-order dmy|mdy`` on a command that loads a chain file (name and choices: analytics.sources)."""
    from analytics.sources.common import DATE_ORDER_OPTION, DATE_ORDERS

    parser.add_argument(DATE_ORDER_OPTION, dest="date_order", choices=DATE_ORDERS, default=None,
                        help="read numeric dates whose day and month could swap (07/01/2024) day first (dmy) or "
                             "month first (mdy); default: only where the file decides, else refused")


def build_parser() -> argparse.ArgumentParser:
    from analytics import conventions
    from analytics.scenario import Scenario, allowed
    from dashboard.runtime import jobs

    parser = _Parser(prog="mmpos", description="Dealer gamma, hedging flows and vega from option chains.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("analyze", help="analyze one chain file (or catalog id) and print JSON or a table")
    p.add_argument("path", help="chain file (CBOE, Deribit, canonical table) or a catalog id from `mmpos list`")
    p.add_argument("--data-dir", type=Path, default=None, help="data directory for catalog ids")
    for flag, field, metavar, text in SCENARIO_OPTIONS:
        text = text.format(conventions=", ".join(conventions.NAMES), default=conventions.DEFAULT_CONVENTION,
                           forward=Scenario.forward, iv=Scenario.iv_policy)
        text = f"{text}; allowed: {allowed(field)}".replace("%", "%%")
        p.add_argument(flag, dest=field, metavar=metavar, default=None, help=text,
                       action="append" if field in LIST_OPTIONS else "store")
    p.add_argument("--book", type=Path, default=None, help="positions file for --convention book")
    add_date_order_option(p)
    p.add_argument("--format", choices=("json", "table"), default="json")

    p = sub.add_parser("list", help="list the snapshots in a data directory")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = sub.add_parser("demo-data", help="write the deterministic synthetic demo snapshots")
    p.add_argument("--out", type=Path, default=Path("data"))
    p.add_argument("--seed", type=int, default=None)

    p = sub.add_parser("fetch", help="fetch a live snapshot into a data directory (network)")
    p.add_argument("source", choices=("deribit", "cboe"))
    p.add_argument("symbol", help="BTC/ETH for deribit; SPX, NDX, SPY... for cboe")
    p.add_argument("--out", type=Path, default=None, help="data directory (default: the catalog's)")

    p = sub.add_parser("serve", help="serve the dashboard (gunicorn; MMPOS_* settings, see dashboard.runtime.config)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--host", default=None, help="interface to bind (default MMPOS_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default MMPOS_PORT or 8050)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the core count, min 2)")
    p.add_argument("--threads", type=int, default=None, help="threads per worker (default 4)")
    p.add_argument("--debug", action="store_true", default=None,
                   help="Dash debug server instead of gunicorn (loopback hosts only)")
    _add_history_commands(sub)
    _add_report_command(sub)
    jobs.add_worker_parser(sub)  # mmpos worker: Celery background jobs (dashboard/runtime/jobs.py)
    return parser


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The Scenario the analyze options ask for (ScenarioError names a refused value and its range)."""
    from analytics.scenario import Scenario

    return Scenario.from_mapping({field: getattr(args, field) for _, field, _, _ in SCENARIO_OPTIONS})


def run_analyze(args: argparse.Namespace) -> dict[str, Any]:
    from dashboard import service

    scenario = scenario_from_args(args)
    return service.analyze_path(args.path, scenario, data_dir=args.data_dir, book=args.book,
                                date_order=args.date_order).to_dict()


def format_table(d: dict[str, Any]) -> str:
    """A readable terminal summary of the analyze JSON (numbers by :mod:`analytics.fmt`: strikes as
    ``4,800``, levels as ``4,734.7``, USD compact, never a ``-0``)."""
    from analytics.fmt import format_level, format_number, format_pct, format_usd

    spot = d["spot"]
    delta = d["dealer_delta_units"]
    lines = [
        f"{d['underlying']}  spot {format_number(spot, compact=False)}  as of {d['as_of']}  "
        f"({d['model']}, x{d['multiplier']:g})",
        f"convention: {d['convention']}   sign: positive GEX = dealers long gamma   GEX in USD per 1% move",
        f"expiries: {len(d['expiries'])} ({d['expiries'][0]} .. {d['expiries'][-1]})" if d["expiries"] else "expiries: none",
        "",
        f"  total GEX        {format_usd(d['total_gex_usd_per_1pct'])} per 1%",
        f"  zero gamma       {', '.join(format_level(z) for z in d['zero_gamma_levels']) or 'none in range'}",
        *([f"  regime           {_headline_line(d['headline'])}"] if d.get("headline") else []),
        f"  call wall        {_walls_line(d['call_walls'])}",
        f"  put wall         {_walls_line(d['put_walls'])}",
        f"  dealer delta     {format_usd(delta * spot if delta is not None else None)} "
        f"({format_number(delta, compact=False, decimals=0)} units; the convention's, not a position)",
        f"  net vega         {format_usd(d['net_vega_usd_per_vol_pt'])} per vol pt",
        "",
        "  shock %     spot        hedge flow units   hedge flow USD   (+ = dealers buy)",
    ]
    for row in d["hedge_curve"]:
        lines.append(f"  {format_pct(row['shock_pct'], signed=True):>7}  "
                     f"{format_number(row['spot'], compact=False):>10}  "
                     f"{format_number(row['hedge_flow_units'], compact=False, decimals=0, signed=True):>17}  "
                     f"{format_usd(row['hedge_flow_usd'], signed=True):>15}")
    lines += ["", "  expiry       DTE     ATM IV   net vega (USD/vol pt)"]
    for row in d["term_structure"]:
        iv = f"{format_pct(row['atm_iv'] * 100, decimals=2):>7}" if row["atm_iv"] is not None else "    n/a"
        lines.append(f"  {row['expiry']}  {row['days_to_expiry']:7.2f}  {iv}  "
                     f"{format_usd(row['net_vega_usd_per_vol_pt']):>12}")
    if d["warnings"]:
        lines += ["", "warnings:"] + [f"  - {w['message']}" for w in d["warnings"]]
    return "\n".join(lines)


def _headline_line(h: dict[str, Any]) -> str:
    """The regime and the band of the headline over its treatments (analytics.headline's rule)."""
    from analytics.fmt import format_level, format_usd

    lo, hi = h["total_gex_band_usd_per_1pct"]
    zero = h["zero_gamma_band"]
    zero_text = "none in range" if zero is None else f"{format_level(zero[0])} .. {format_level(zero[1])}"
    n = len(h["treatments"])
    return (f"{h['regime']}  (total {format_usd(lo)} .. {format_usd(hi)} per 1%, zero gamma {zero_text}; "
            f"{n} treatment{'s' if n != 1 else ''})")


def _walls_line(walls: list[dict[str, Any]]) -> str:
    """The wall, its GEX and its runner-up's share of it: ``4,800  $1.2bn  (next 4,700 at 93%)``."""
    from analytics.fmt import format_strike, format_usd

    if not walls:
        return format_strike(None)
    top = walls[0]
    text = f"{format_strike(top['strike'])}  {format_usd(top['gex_usd_per_1pct'])}"
    if len(walls) > 1:
        text += f"  (runner-up {format_strike(walls[1]['strike'])} at {100 * walls[1]['share_of_top']:.0f}%)"
    return text


# --------------------------------------------------------------------------- history: list json, backfill, history

HISTORY_COMMANDS = ("backfill", "history")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _add_history_commands(sub) -> None:
    p = sub.add_parser("backfill", help="summarise every snapshot into the data folder's history store")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local worker processes (default: the cores available; 1 = no pool)")
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask distributed cluster (tcp://host:8786); needs mmpos[cluster]")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("history", help="print an underlying's key levels over time (from the history store)")
    p.add_argument("underlying", help="ticker, e.g. SPX or BTC")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--last", type=_positive_int, default=None, metavar="N", help="only the last N snapshots")
    p.add_argument("--format", choices=("json", "csv"), default="json")


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


def history_records(frame) -> list[dict[str, Any]]:
    """The key levels of :meth:`analytics.history.HistoryStore.history` as JSON-ready objects."""
    from analytics.history import TOP_WALLS

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


def _run_history_command(args: argparse.Namespace) -> None:
    from analytics import catalog

    data_dir = args.data_dir if args.data_dir is not None else catalog.default_data_dir()
    if args.command == "backfill":
        from dashboard.backfill import backfill

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
        return
    from analytics.history import open_store

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


# --------------------------------------------------------------------------- report: the morning HTML file

REPORT_FORMATS = ("html", "pdf", "png")  # pdf/png: the HTML printed by a local headless Chromium, offline
REPORT_PNG_WINDOW = (1280, 4400)  # CSS pixels of the PNG: the report's width, and tall enough for all of it
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_TIMEOUT_S = 120


def render_with_chromium(html_path: Path, out: Path, fmt: str) -> None:
    """Print the report to PDF or PNG with a local headless Chromium, the network closed (every host name
    resolves to nothing), the charts drawn first (virtual time).

    Raises
    ------
    ChainDataError
        No Chromium on PATH, or it wrote nothing (the message says what to do instead).
    """
    import shutil
    import subprocess

    chrome = next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)
    if chrome is None:
        raise ChainDataError(f"--format {fmt} needs Chromium on PATH (Debian: apt-get install chromium); "
                             "--format html needs nothing")
    target = ([f"--print-to-pdf={out}", "--no-pdf-header-footer"] if fmt == "pdf" else
              [f"--screenshot={out}", f"--window-size={REPORT_PNG_WINDOW[0]},{REPORT_PNG_WINDOW[1]}",
               "--hide-scrollbars"])
    out.unlink(missing_ok=True)
    subprocess.run([chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
                    "--virtual-time-budget=10000", *target, html_path.resolve().as_uri()],
                   check=False, capture_output=True, timeout=CHROMIUM_TIMEOUT_S)
    if not out.is_file() or out.stat().st_size == 0:
        raise ChainDataError(f"Chromium did not write the {fmt.upper()} (try --format html)", path=out)


def _add_report_command(sub) -> None:
    from analytics import conventions

    p = sub.add_parser("report", help="write a self-contained HTML report of one snapshot (opens offline)")
    p.add_argument("--underlying", required=True, help="ticker, e.g. SPX or BTC")
    p.add_argument("--snapshot", default=None, metavar="ID", help="catalog id from `mmpos list` (default: newest)")
    p.add_argument("--expiries", nargs="+", default=None, metavar="YYYY-MM-DD",
                   help="expiries to include (default: every live expiry)")
    p.add_argument("--convention", default=None, metavar="NAME",
                   help=f"dealer sign convention (default {conventions.DEFAULT_CONVENTION})")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--history", type=_positive_int, default=None, metavar="N",
                   help="snapshots in the history charts (default 20)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="html")
    p.add_argument("--out", type=Path, required=True, help="file to write (e.g. report.html)")


def _run_report_command(args: argparse.Namespace) -> None:
    import datetime as dt

    from analytics.scenario import Scenario
    from dashboard import service

    scenario = Scenario.from_mapping({"expiries": args.expiries, "convention": args.convention})
    entry = service.report_entry(args.data_dir, args.underlying, args.snapshot)
    page = service.report_for(
        args.data_dir, entry, scenario,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        history_last=args.history or service.REPORT_HISTORY_SNAPSHOTS)
    if args.format == "html":
        args.out.write_text(page, encoding="utf-8")
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mmpos-report-") as tmp:
            html_path = Path(tmp) / "report.html"
            html_path.write_text(page, encoding="utf-8")
            render_with_chromium(html_path, args.out, args.format)
    sys.stdout.write(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)\n")


_VALUE_OPTIONS = ("--shocks", "--spot-range")


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
    code = main(argv)
    if argv and argv[0] in ONE_SHOT_COMMANDS:  # the parser has no options before the command
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
    args = build_parser().parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    if args.command not in ONE_SHOT_COMMANDS:
        gc.enable()
    try:
        if args.command == "analyze":
            result = run_analyze(args)
            out = json.dumps(result, indent=1, allow_nan=False) if args.format == "json" else format_table(result)
            sys.stdout.write(out + "\n")
        elif args.command == "list":
            from analytics import catalog
            from dashboard import service

            scanned = catalog.scan_catalog(service.resolve_data_dir(args.data_dir))
            if args.format == "json":
                sys.stdout.write(json.dumps(catalog_records(scanned), indent=1, allow_nan=False) + "\n")
            else:
                sys.stdout.write(catalog.format_catalog(scanned) + "\n")
        elif args.command == "demo-data":
            from analytics import demo

            kwargs = {} if args.seed is None else {"seed": args.seed}
            for path in demo.write_demo_data(args.out, **kwargs):
                sys.stdout.write(f"wrote {path}\n")
        elif args.command == "fetch":
            from analytics import catalog
            from analytics.sources import fetch

            out = args.out if args.out is not None else catalog.default_data_dir()
            sys.stdout.write(f"wrote {fetch.fetch(args.source, args.symbol, out)}\n")
        elif args.command == "serve":
            from dashboard.runtime.server import serve_command
            from dashboard.web import warm

            return serve_command({k: getattr(args, k) for k in ("data_dir", "host", "port", "workers", "threads",
                                                                "debug")}, worker_started=warm.start)
        elif args.command == "worker":
            from dashboard.runtime.jobs import worker_command

            return worker_command(args)
        elif args.command in HISTORY_COMMANDS:
            _run_history_command(args)
        elif args.command == "report":
            _run_report_command(args)
    except ChainDataError as exc:
        sys.stderr.write(f"mmpos: {exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"mmpos: {where}{exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    return 0

