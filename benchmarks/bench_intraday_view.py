"""Intraday heatmap draw time for a full session (goal: under 1 s).

Builds a 78-snapshot SPX session (09:35 to 16:00 New York, every 5 minutes) from the committed demo
close re-stamped at each time with its open interest scaled (``tests/intraday_files.py``), or reads
``--data`` (any folder, e.g. the intraday demo), backfills its history store, then times:

* the Intraday tab's draw callback body (:func:`dashboard.web.callbacks.intraday.draw`: the session's
  summaries read from the store, shaped, the figure built and encoded), cold and warm, all expiries and 0DTE;
* Plotly drawing that figure in headless Chromium (``Plotly.newPlot`` of the page's own plotly.js
  basic bundle), when Chromium and chromedriver are installed.

    PYTHONPATH=. python benchmarks/bench_intraday_view.py [--data DIR [--in-place] --underlying SPX --snapshot ID]
        [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.backfill import backfill  # noqa: E402
from dashboard.web.callbacks import intraday as cb  # noqa: E402
from dashboard.web.state import default_state  # noqa: E402

SESSION_TIMES = [(dt.datetime(2026, 11, 20, 9, 35) + dt.timedelta(minutes=5 * i)).time() for i in range(78)]


def write_full_session(out: Path) -> None:
    """78 snapshots of the 2026-11-20 SPX session, open interest swinging +-30% through the day."""
    from tests.intraday_files import write_snapshot

    for i, t in enumerate(SESSION_TIMES):
        write_snapshot(ROOT / "data", out, t, 1.0 + 0.3 * np.sin(i / 12.0))


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """(first call, median of the next ``repeat``) in seconds, and the last result."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), out


def chromium_draw_ms(figure: dict, repeat: int) -> list[float] | None:
    """``Plotly.newPlot`` of ``figure`` in headless Chromium at 1440 px, milliseconds per draw."""
    chrome, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chrome or not driver_path:
        print("chromium or chromedriver not found: no browser figure")
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    from dashboard.runtime.assets import PLOTLY_BUNDLE

    options = Options()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1000",
                "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    with tempfile.TemporaryDirectory(prefix="mmpos-bench-intraday-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text("<html><body><div id='g' style='width:1380px;height:600px'></div><script>"
                        + PLOTLY_BUNDLE.read_text(encoding="utf-8") + "</script><script>window.FIG = "
                        + json.dumps(figure, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
                        + ";</script></body></html>")
        driver = webdriver.Chrome(options=options)
        try:
            driver.get(page.as_uri())
            out = []
            for _ in range(repeat + 1):
                ms = driver.execute_async_script(
                    "const done = arguments[0]; Plotly.purge('g'); const t0 = performance.now();"
                    "Plotly.newPlot('g', window.FIG.data, window.FIG.layout, {responsive: false})"
                    ".then(() => requestAnimationFrame(() => done(performance.now() - t0)));")
                out.append(float(ms))
            return out[1:]  # the first includes parsing the bundle's lazy parts
        finally:
            driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder holding a session (default: 78 SPX snapshots made here)")
    parser.add_argument("--underlying", default="SPX")
    parser.add_argument("--snapshot", default=None, help="a snapshot id of the session (default: the newest)")
    parser.add_argument("--in-place", action="store_true",
                        help="use --data as it is, with its history store (else a copy is backfilled afresh)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mmpos-bench-intraday-") as tmp:
        data = args.data if args.data is not None and args.in_place else Path(tmp) / "data"
        if args.data is not None and args.in_place:
            pass
        elif args.data is None:
            data.mkdir()
            t0 = time.perf_counter()
            write_full_session(data)
            print(f"wrote {len(SESSION_TIMES)} SPX snapshots of 2026-11-20 in {time.perf_counter() - t0:.1f} s")
        else:
            shutil.copytree(args.data, data, ignore=shutil.ignore_patterns(".mmpos"))
        t0 = time.perf_counter()
        result = backfill(data, workers=args.workers)
        print(f"backfill: {result.snapshots} snapshots "
              f"in {time.perf_counter() - t0:.1f} s ({args.workers} workers)")

        from dashboard import service

        t0 = time.perf_counter()
        service.get_catalog(data)  # the page's catalog is scanned at start and on its timer, not per draw
        print(f"catalog scan (once per process, not part of a draw): {time.perf_counter() - t0:.1f} s")
        for expiries in ("all", "0dte"):
            state = default_state(u=args.underlying, snap=args.snapshot, tab="intraday", iexp=expiries)
            first, warm, out = timed(lambda s=state: cb.draw(s, str(data)), args.repeat)
            fig = out["figure"]
            n_cells = len(fig["data"][0].get("x", [])) if fig["data"] else 0
            size_kb = len(json.dumps(fig, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))) / 1024
            print(f"draw callback ({expiries:>4}): {len(out['ids'])} snapshots, {n_cells} cells, {size_kb:.0f} KB JSON; "
                  f"first {first * 1000:.0f} ms, warm median {warm * 1000:.0f} ms (of {args.repeat})")
        state = default_state(u=args.underlying, snap=args.snapshot, tab="intraday")
        figure = cb.draw(state, str(data))["figure"]
        drawn = chromium_draw_ms(figure, args.repeat)
        if drawn:
            print(f"Chromium Plotly.newPlot: median {statistics.median(drawn):.0f} ms, max {max(drawn):.0f} ms "
                  f"(of {len(drawn)}; 1380x600 plot)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
