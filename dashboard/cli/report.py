"""``mmpos report``: the self-contained morning report of one snapshot (HTML; PDF or PNG through a local
headless Chromium)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.errors import ChainDataError
from dashboard.cli.common import add_data_dir_option, int_at_least, refuses_bad_settings

NAME = "report"
ONE_SHOT = False

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


def add_parser(sub: argparse._SubParsersAction) -> None:
    from analytics import conventions

    p = sub.add_parser("report", help="write a self-contained HTML report of one snapshot (opens offline)")
    p.add_argument("--underlying", required=True, help="ticker, e.g. SPX or BTC")
    p.add_argument("--snapshot", default=None, metavar="ID", help="catalog id from `mmpos list` (default: newest)")
    p.add_argument("--expiries", nargs="+", default=None, metavar="YYYY-MM-DD",
                   help="expiries to include (default: every live expiry)")
    p.add_argument("--convention", default=None, metavar="NAME",
                   help=f"dealer sign convention (default {conventions.DEFAULT_CONVENTION})")
    add_data_dir_option(p)
    p.add_argument("--history", type=int_at_least(1), default=None, metavar="N",
                   help="snapshots in the history charts (default 20)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="html")
    p.add_argument("--out", type=Path, required=True, help="file to write (e.g. report.html)")


@refuses_bad_settings(NAME)  # the report's strike window is MMPOS_STRIKE_WINDOW_PCT's
def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from analytics.scenario import Scenario
    from dashboard import service

    scenario = Scenario.from_mapping({"expiries": args.expiries, "convention": args.convention})
    entry = service.report_entry(args.data_dir, args.underlying, args.snapshot)
    page = service.report_for(
        args.data_dir, entry, scenario,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        history_last=args.history or service.REPORT_HISTORY_SNAPSHOTS, static=args.format != "html")
    if args.format == "html":
        args.out.write_text(page, encoding="utf-8")
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mmpos-report-") as tmp:
            html_path = Path(tmp) / "report.html"
            html_path.write_text(page, encoding="utf-8")
            render_with_chromium(html_path, args.out, args.format)
    sys.stdout.write(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)\n")
    return 0
