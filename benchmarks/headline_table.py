"""The headline with its band for every chain file: the real files in ../shared/data and the demo files
in data/ (issue 16's closing table).

One markdown row per file, default scenario (parity forwards, OTM IVs, dealer-long-calls): the regime,
the total GEX band over the treatments (USD per 1% move; the analysis's own total in brackets), the
zero-gamma band (each treatment's level nearest spot) and its distance from spot, the call and put
walls with their runner-up's share of the wall's GEX, and the treatments whose walls differ from the
analysis's own. Files that are not option chains (a positions file, a reference table) are skipped
and listed below the table.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/headline_table.py [FILE ...]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.errors import ChainDataError  # noqa: E402
from analytics.fmt import format_level, format_strike, format_usd  # noqa: E402
from analytics.report import analyze  # noqa: E402
from analytics.sources import load_chain  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PATTERNS = ((SHARED, ("cboe_*.csv", "deribit_*.csv")),
            (ROOT / "data", ("*_quotedata_*.csv", "*_table_*.parquet", "*_book_summary_*.json")))
HEADER = ("| file | regime | total GEX band, USD per 1% (own) | zero-gamma band (vs spot) | call wall (runner-up) "
          "| put wall (runner-up) | walls moved under |")


def files() -> list[Path]:
    return [p for folder, globs in PATTERNS for g in globs for p in sorted(folder.glob(g))]


def wall_text(walls: list[dict]) -> str:
    if not walls:
        return "none"
    text = format_strike(walls[0]["strike"])
    if len(walls) > 1:
        text += f" ({format_strike(walls[1]['strike'])} at {100 * walls[1]['share_of_top']:.1f}%)"
    return text


def row(path: Path) -> str:
    a = analyze(load_chain(path), shocks_pct=(0.0,))
    h = a.headline
    d = a.to_dict()
    lo, hi = h.total_gex_band_usd_per_1pct
    if h.zero_gamma_band is None:
        zero = "none in range"
    else:
        z0, z1 = h.zero_gamma_band
        zero = (f"{format_level(z0)} .. {format_level(z1)} ({100 * (z0 / a.spot - 1):+.2f}% .. "
                f"{100 * (z1 / a.spot - 1):+.2f}%)")
    own = h.treatments[0]
    moved = [t.name for t in h.treatments[1:] if (t.call_wall, t.put_wall) != (own.call_wall, own.put_wall)]
    return (f"| {path.name} | {h.regime} | {format_usd(lo)} .. {format_usd(hi)} ({format_usd(a.total_gex_usd_per_1pct)}) "
            f"| {zero} | {wall_text(d['call_walls'])} | {wall_text(d['put_walls'])} | {', '.join(moved) or '-'} |")


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or files()
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    skipped = []
    for path in paths:
        try:
            print(row(path), flush=True)
        except ChainDataError as err:
            skipped.append(f"{path.name}: {err}")
    if skipped:
        print("\nskipped: " + "; ".join(skipped))


if __name__ == "__main__":
    main(sys.argv[1:])
