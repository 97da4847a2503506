"""The ``mmpos`` command line: analyze, list, demo-data, fetch, serve.

Heavy modules (dash, plotly) are imported only by the subcommand that needs them, so
``mmpos analyze`` starts quickly. Bad input exits with status 2 and one line on stderr naming the
file and the problem; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from analytics.errors import ChainDataError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse's default status too)
        self.exit(EXIT_BAD_INPUT, f"mmpos: {message}\n")


def _pct_list(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"shocks must be comma-separated percentages, got {text!r}") from exc
    if not vals or any(not math.isfinite(v) or v <= -100 for v in vals):
        raise argparse.ArgumentTypeError(f"shocks must be finite percentages above -100, got {text!r}")
    return vals


def _range_pair(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"spot range must be LO,HI fractions of spot, got {text!r}") from exc
    if not (0 < lo < 1 < hi):
        raise argparse.ArgumentTypeError(f"spot range must bracket 1.0 (e.g. 0.7,1.3), got {text!r}")
    return lo, hi


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from analytics.exposure import CONVENTIONS, DEFAULT_CONVENTION

    parser = _Parser(prog="mmpos", description="Dealer gamma, hedging flows and vega from option chains.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("analyze", help="analyze one chain file (or catalog id) and print JSON or a table")
    p.add_argument("path", help="chain file (CBOE, Deribit, canonical table) or a catalog id from `mmpos list`")
    p.add_argument("--data-dir", type=Path, default=None, help="data directory for catalog ids")
    p.add_argument("--expiry", action="append", default=None, metavar="YYYY-MM-DD",
                   help="expiry to include (repeatable; default: every live expiry)")
    p.add_argument("--max-dte", type=_finite, default=None, metavar="DAYS", help="only expiries within DAYS")
    p.add_argument("--convention", choices=CONVENTIONS, default=DEFAULT_CONVENTION)
    p.add_argument("--book", type=Path, default=None, help="positions file for --convention book")
    p.add_argument("--rate", type=_finite, default=0.0, help="risk-free rate, decimal (default 0)")
    p.add_argument("--div-yield", type=_finite, default=0.0, help="dividend yield, decimal (default 0)")
    p.add_argument("--multiplier", type=_finite, default=None, help="contract multiplier (default: the file's; 100 for CBOE)")
    p.add_argument("--shocks", type=_pct_list, default=None, metavar="PCT,PCT,...",
                   help="spot shocks in percent (default -20..20 step 1)")
    p.add_argument("--horizon-days", type=_finite, default=0.0, metavar="H", help="revalue H days later")
    p.add_argument("--spot-range", type=_range_pair, default=(0.7, 1.3), metavar="LO,HI",
                   help="gamma-profile grid as fractions of spot (default 0.7,1.3)")
    p.add_argument("--grid-points", type=int, default=601, help="points of the gamma-profile grid (default 601)")
    p.add_argument("--vol-shift", type=_finite, default=0.0, metavar="PTS", help="parallel IV shift, vol points")
    p.add_argument("--spot-vol-beta", type=_finite, default=0.0, metavar="BETA",
                   help="IV change in vol points per 1%% spot shock (e.g. -0.5)")
    p.add_argument("--format", choices=("json", "table"), default="json")

    p = sub.add_parser("list", help="list the snapshots in a data directory")
    p.add_argument("--data-dir", type=Path, default=None)

    p = sub.add_parser("demo-data", help="write the deterministic synthetic demo snapshots")
    p.add_argument("--out", type=Path, default=Path("data"))
    p.add_argument("--seed", type=int, default=None)

    p = sub.add_parser("fetch", help="fetch a live snapshot into a data directory (network)")
    p.add_argument("source", choices=("deribit", "cboe"))
    p.add_argument("symbol", help="BTC/ETH for deribit; SPX, NDX, SPY... for cboe")
    p.add_argument("--out", type=Path, default=None, help="data directory (default: the catalog's)")

    p = sub.add_parser("serve", help="serve the dashboard (gunicorn; MMPOS_* settings, see dashboard.config)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--host", default=None, help="interface to bind (default MMPOS_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default MMPOS_PORT or 8050)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the core count, min 2)")
    p.add_argument("--threads", type=int, default=None, help="threads per worker (default 4)")
    p.add_argument("--debug", action="store_true", default=None,
                   help="Dash debug server instead of gunicorn (loopback hosts only)")
    return parser


def _resolve_chain_path(path_or_id: str, data_dir: Path | None) -> Path:
    path = Path(path_or_id)
    if path.exists():
        return path
    from analytics import catalog

    return catalog.resolve(path_or_id, data_dir if data_dir is not None else catalog.default_data_dir())


def run_analyze(args: argparse.Namespace) -> dict[str, Any]:
    from analytics.report import analyze
    from analytics.sources import load_chain

    path = _resolve_chain_path(args.path, args.data_dir)
    chain = load_chain(path, multiplier=args.multiplier)
    if args.book is not None:
        from analytics.sources.book import apply_book, load_book

        chain = apply_book(chain, load_book(args.book))
    result = analyze(
        chain,
        expiries=args.expiry,
        max_dte=args.max_dte,
        convention=args.convention,
        rate=args.rate,
        div_yield=args.div_yield,
        multiplier=args.multiplier,
        shocks_pct=args.shocks,
        horizon_days=args.horizon_days,
        spot_range=args.spot_range,
        grid_points=args.grid_points,
        vol_shift_pts=args.vol_shift,
        spot_vol_beta=args.spot_vol_beta,
    )
    return result.to_dict()


def _usd(x: float | None) -> str:
    if x is None:
        return "n/a"
    a = abs(x)
    for div, suf in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if a >= div:
            return f"{'-' if x < 0 else ''}${a / div:,.2f}{suf}"
    return f"{'-' if x < 0 else ''}${a:,.0f}"


def format_table(d: dict[str, Any]) -> str:
    """A readable terminal summary of the analyze JSON."""
    lines = [
        f"{d['underlying']}  spot {d['spot']:,.2f}  as of {d['as_of']}  ({d['model']}, x{d['multiplier']:g})",
        f"convention: {d['convention']}   sign: positive GEX = dealers long gamma   GEX in USD per 1% move",
        f"expiries: {len(d['expiries'])} ({d['expiries'][0]} .. {d['expiries'][-1]})" if d["expiries"] else "expiries: none",
        "",
        f"  total GEX        {_usd(d['total_gex_usd_per_1pct'])} per 1%",
        f"  zero gamma       {', '.join(f'{z:,.1f}' for z in d['zero_gamma_levels']) or 'none in range'}",
        f"  call wall        {d['call_wall'] if d['call_wall'] is not None else 'n/a'}",
        f"  put wall         {d['put_wall'] if d['put_wall'] is not None else 'n/a'}",
        f"  dealer delta     {d['dealer_delta_units']:,.0f} units",
        f"  net vega         {_usd(d['net_vega_usd_per_vol_pt'])} per vol pt",
        "",
        "  shock %     spot        hedge flow units   hedge flow USD   (+ = dealers buy)",
    ]
    for row in d["hedge_curve"]:
        lines.append(f"  {row['shock_pct']:+7.1f}  {row['spot']:>10,.2f}  {row['hedge_flow_units']:>17,.0f}  "
                     f"{_usd(row['hedge_flow_usd']):>15}")
    lines += ["", "  expiry       DTE     ATM IV   net vega (USD/vol pt)"]
    for row in d["term_structure"]:
        iv = f"{row['atm_iv'] * 100:6.2f}%" if row["atm_iv"] is not None else "   n/a"
        lines.append(f"  {row['expiry']}  {row['days_to_expiry']:7.2f}  {iv}  {_usd(row['net_vega_usd_per_vol_pt']):>12}")
    if d["warnings"]:
        lines += ["", "warnings:"] + [f"  - {w}" for w in d["warnings"]]
    return "\n".join(lines)


_VALUE_OPTIONS = ("--shocks", "--spot-range")


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--shocks -5,-1,1,5`` work: argparse would read ``-5,-1,1,5`` as an option."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _VALUE_OPTIONS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.command == "analyze":
            result = run_analyze(args)
            out = json.dumps(result, indent=1, allow_nan=False) if args.format == "json" else format_table(result)
            sys.stdout.write(out + "\n")
        elif args.command == "list":
            from analytics import catalog

            data_dir = args.data_dir if args.data_dir is not None else catalog.default_data_dir()
            sys.stdout.write(catalog.format_catalog(catalog.scan_catalog(data_dir)) + "\n")
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
            from dashboard.server import serve_command

            return serve_command({k: getattr(args, k) for k in ("data_dir", "host", "port", "workers", "threads",
                                                                "debug")})
    except ChainDataError as exc:
        sys.stderr.write(f"mmpos: {exc}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"mmpos: {where}{exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
