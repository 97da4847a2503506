"""What the watchlist (``/watchlist``, issue 18) costs to draw with 20 underlyings.

A temporary folder gets 20 underlyings made from the demo generator's canonical tables (the committed
``data/spx_table_*.parquet`` and ``btc_table_*.parquet``, the ``underlying`` column renamed: ``SPX01``..,
``BTC01``..), two sessions each so every row has a day-over-day change, and its history store is filled
first (``HistoryStore.sync``, not timed: what ``mmpos backfill`` or the History tab do). Then, timed:

1. **cold**: no cache at all (every opening view analysed in the request): what the page would pay if
   nothing were warmed;
2. **warmed, fresh worker**: the opening views in the shared cache (a folder, as ``mmpos serve`` without
   Redis; the warmer, :mod:`dashboard.web.warm`, put them there), this process's LRU empty: a new
   gunicorn worker's first ``/watchlist``;
3. **warmed, same worker**: the views in this process's LRU too (a second visit).

Each figure is the rows callback's whole server-side work (catalog, opening views, cached analyses,
key levels, history totals, sparklines) plus the JSON the grid receives. Then, with ``--browser``
(headless Chromium, as the browser tests run it), the page in a browser: from navigating to
``/watchlist`` to the grid showing its 20 rows, on an app serving the warmed caches (werkzeug, one
process). Goal: under 1.5 s warmed.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_watchlist.py [--rounds N] [--browser]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.history import HistoryStore  # noqa: E402
from dashboard import service  # noqa: E402
from dashboard.runtime.cache import SharedCache  # noqa: E402
from dashboard.runtime.config import Settings  # noqa: E402
from dashboard.web.callbacks import views  # noqa: E402
from dashboard.web.callbacks.watchlist import watchlist_records  # noqa: E402
from dashboard.web.warm import opening_view, warm_view  # noqa: E402

GOAL_S = 1.5
UNDERLYINGS = 20
SESSIONS = ("2026-11-09", "2026-11-10")


def make_folder(out: Path, n: int = UNDERLYINGS) -> Path:
    """``n`` underlyings (half from the SPX demo table, half from BTC's), two sessions each."""
    data = ROOT / "data"
    for i in range(n):
        base = "spx" if i % 2 == 0 else "btc"
        name = f"{base.upper()}{i // 2 + 1:02d}"
        for day in SESSIONS:
            frame = pd.read_parquet(data / f"{base}_table_{day}.parquet")
            frame["underlying"] = name
            frame.to_parquet(out / f"{name.lower()}_table_{day}.parquet", index=False)
    return out


def timed(now: pd.Timestamp, data_dir: Path) -> tuple[float, int, int]:
    started = time.perf_counter()
    rows, notes = watchlist_records(data_dir, now)
    payload = json.dumps(rows)
    return time.perf_counter() - started, len(rows), len(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = parser.parse_args()
    now = pd.Timestamp.now(tz="UTC")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = make_folder(Path(tmp))
        started = time.perf_counter()
        with HistoryStore(data_dir) as store:
            store.sync()
        print(f"folder: {UNDERLYINGS} underlyings x {len(SESSIONS)} snapshots; history store filled in "
              f"{time.perf_counter() - started:.1f} s (not timed below)")

        service.use_shared_cache(None)
        cold = []
        for _ in range(args.rounds):
            views.clear_caches()
            cold.append(timed(now, data_dir))
        print(f"cold (nothing cached): median {statistics.median(t for t, _, _ in cold):.2f} s, "
              f"best {min(t for t, _, _ in cold):.2f} s, {cold[0][1]} rows, {cold[0][2] / 1024:.0f} KB JSON")

        with tempfile.TemporaryDirectory() as cache_dir:
            service.use_shared_cache(SharedCache(Settings(cache_dir=Path(cache_dir))))
            views.clear_caches()
            catalog = service.get_catalog(data_dir)
            started = time.perf_counter()
            for underlying in catalog.underlyings():
                state = opening_view(catalog, underlying)
                if state is not None:
                    warm_view(state, data_dir)
            print(f"warming the {len(catalog.underlyings())} opening views (the warmer's work, not timed): "
                  f"{time.perf_counter() - started:.1f} s")
            fresh = []
            for _ in range(args.rounds):
                views._figure_json.cache_clear()
                service._analysis.cache_clear()
                service._prepared.cache_clear()
                fresh.append(timed(now, data_dir))
            same = [timed(now, data_dir) for _ in range(args.rounds)]
            drawn = browser_rounds(data_dir, args.rounds) if args.browser else []
            service.use_shared_cache(None)
        for label, got in (("warmed, fresh worker (shared cache)", fresh), ("warmed, same worker (LRU)", same)):
            median = statistics.median(t for t, _, _ in got)
            print(f"{label}: median {median:.3f} s, best {min(t for t, _, _ in got):.3f} s "
                  f"({'meets' if median < GOAL_S else 'MISSES'} the {GOAL_S} s goal)")
        if drawn:
            median = statistics.median(drawn)
            print(f"browser, navigation to {UNDERLYINGS} rows drawn (warmed): median {median:.2f} s, best "
                  f"{min(drawn):.2f} s ({'meets' if median < GOAL_S else 'MISSES'} the {GOAL_S} s goal)")


ROWS_DRAWN_JS = """
try { var api = window.dash_ag_grid.getApi(arguments[0]); } catch (e) { return null; }
return document.querySelectorAll('#' + arguments[0] + ' .ag-center-cols-container .ag-row').length >= arguments[1]
    ? performance.now() : null;
"""


def browser_rounds(data_dir: Path, rounds: int) -> list[float]:
    """Seconds from navigation start to every row drawn, per fresh page load of ``/watchlist``."""
    import socket
    import threading

    from selenium import webdriver
    from selenium.webdriver.support.ui import WebDriverWait

    from dashboard.app import create_app
    from dashboard.web import ids
    from tests.browser.conftest import pytest_setup_options

    app = create_app(str(data_dir))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    threading.Thread(target=lambda: app.run(host="127.0.0.1", port=port, threaded=True), daemon=True).start()
    driver = webdriver.Chrome(options=pytest_setup_options())
    out = []
    try:
        for i in range(rounds + 1):  # the first load fetches and compiles the scripts: not counted
            driver.get(f"http://127.0.0.1:{port}/watchlist?r={i}")
            at = WebDriverWait(driver, 60, poll_frequency=0.02).until(
                lambda d: d.execute_script(ROWS_DRAWN_JS, ids.WATCHLIST_GRID, UNDERLYINGS))
            if i:
                out.append(at / 1000.0)
    finally:
        driver.quit()
    return out


if __name__ == "__main__":
    main()
