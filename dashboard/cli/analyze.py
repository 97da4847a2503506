"""``mmpos analyze``: one chain file (or catalog id) under a Scenario, printed as JSON or a table.

Light at import (argparse only): the parser is built for every command, and ``mmpos analyze`` must not
pay for the web stack (``tests/unit/test_cli.py::test_analyze_loads_no_web_stack``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboard.cli.common import add_data_dir_option, add_date_order_option

if TYPE_CHECKING:
    from analytics.scenario import Scenario

NAME = "analyze"
ONE_SHOT = True  # reads, prints and exits (dashboard.cli.ONE_SHOT_COMMANDS)

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


def add_parser(sub: argparse._SubParsersAction) -> None:
    from analytics import conventions
    from analytics.scenario import Scenario, allowed

    p = sub.add_parser("analyze", help="analyze one chain file (or catalog id) and print JSON or a table")
    p.add_argument("path", help="chain file (CBOE, Deribit, canonical table) or a catalog id from `mmpos list`")
    add_data_dir_option(p, "the folder a catalog id names a snapshot of")
    for flag, field, metavar, text in SCENARIO_OPTIONS:
        text = text.format(conventions=", ".join(conventions.NAMES), default=conventions.DEFAULT_CONVENTION,
                           forward=Scenario.forward, iv=Scenario.iv_policy)
        text = f"{text}; allowed: {allowed(field)}".replace("%", "%%")
        p.add_argument(flag, dest=field, metavar=metavar, default=None, help=text,
                       action="append" if field in LIST_OPTIONS else "store")
    p.add_argument("--book", type=Path, default=None, help="positions file for --convention book")
    add_date_order_option(p)
    p.add_argument("--format", choices=("json", "table"), default="json")
    p.add_argument("--indent", type=int, default=None, metavar="N",
                   help="indent the JSON by N spaces per level (default: compact, one line; the compact form is "
                        "written by the json module's C encoder, ~4x faster than an indented one)")


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


def run(args: argparse.Namespace) -> int:
    result = run_analyze(args)
    out = format_table(result) if args.format == "table" else json.dumps(
        result, allow_nan=False, indent=args.indent, separators=None if args.indent is not None else (",", ":"))
    sys.stdout.write(out + "\n")
    return 0
