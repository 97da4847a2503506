"""The dashboard's speed and memory, each figure printed against its goal.

    .venv/bin/python benchmarks/bench_dashboard.py [--runs 20] [--paint-runs 7] [--views 200]
                                                   [--skip-paint] [--skip-memory] [--trace]

Server time (Flask's test client, i.e. the server's whole share of an update: callback lookup,
analyses, figure builders, JSON serialisation), in a process set up as ``mmpos serve`` sets up its
workers, and with the compiled grid kernel loaded (a worker loads it in the background at its first
big grid, ``analytics.scenarios.load_kernel_on_demand``: a worker that served the real file has it;
demo-data grids are too small to load it):

* main update, new view: the analyses and figures of this view are not cached, in this process nor
  in the shared cache (e.g. the first look at another convention, shock grid, horizon or vol
  scenario); the file is parsed and its selection's prepared pricing inputs are cached
  (``dashboard.service._prepared``). Goal: median < 60 ms on the demo SPX snapshot (``data/``),
  < 100 ms on ``../shared/data/cboe_spx_2024-01-07_phammings.csv``;
* strike click: view 1 and the breakdown redrawn, the rest ``no_update``, a different strike each
  run. Goal: median < 20 ms;
* for information: a new view whose expiry selection or pricing inputs (forward, IV policy, rate,
  yield) are new too (prepared inputs computed), the new view on the grid engine's numpy path (a
  process that never loaded the kernel: what this benchmark measured before 2026-11-30), cold start
  (every cache emptied), warm (the same view again), and the previous-snapshot comparison, a second
  callback the main view does not wait for.

First paint (headless Debian Chromium through selenium, as the browser tests): from navigation to
every chart drawn and the KPI strip filled, read with the Performance API (``performance.now()``
since the navigation started), a fresh browser profile (empty cache) per run, the app served by a
threaded werkzeug server on loopback. Goal: median < 1.5 s. For information, the page's main-thread
CPU time until then (Chromium's TaskDuration in thread ticks, of which script): on a shared machine
it moves far less than the wall time, so it shows what a change to the page saves. ``--trace`` prints
the last run's requests and long tasks (main thread > 50 ms) in time order, until a second after
the paint: which round trip waits for which render pass.

Memory: a fresh process (one worker set up as ``mmpos serve`` sets it up: the grid kernel, ~115 MB of
numba, llvmlite and LLVM, loads only at a grid of ``scenarios.SERVER_LOAD_WORK``, which no demo view
reaches), with an empty shared cache (every view computed), serves ``--views`` different views of the
demo data (main update and comparison each). Goal: RSS < 350 MB after them. The caches that bound it:
``dashboard.service`` (analyses 48, prepared chains 8, catalogs 4, expiry facts 64 entries),
``dashboard.web.callbacks.views.FIGURE_CACHE_SIZE`` figures, ``dashboard.app.COMPRESSED_CACHE_ENTRIES``
compressed static files.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics import scenarios  # noqa: E402
from dashboard import service  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.http import responses  # noqa: E402
from dashboard.web import ids  # noqa: E402
from dashboard.web.callbacks import controls, views  # noqa: E402
from dashboard.web.state import scenario_from_state  # noqa: E402

DEMO = ROOT / "data"
REAL_SPX = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
FIGURE_OUTPUTS = (ids.GAMMA_GRAPH, ids.BREAKDOWN_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH)
GOALS_MS = {"demo new view": 60.0, "real new view": 100.0, "strike click": 20.0, "first paint": 1500.0}
MEMORY_GOAL_MB = 350.0


def callback_request(app, input_id: str, state_id: str, input_value, state_value) -> dict:
    """The JSON body the browser posts for the server callback whose first input is ``input_id``.data
    when that input changed (any other input at None)."""
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    spec = next(d for d in deps if d.get("clientside_function") is None and d["inputs"][0]["id"] == input_id)
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]}
        for part in spec["output"].strip(".").split("...")
    ]
    return {
        "output": spec["output"],
        "outputs": outputs,
        "inputs": [{"id": d["id"], "property": d["property"], "value": input_value if d["id"] == input_id else None}
                   for d in spec["inputs"]],
        # the named state first; any later states (display choices) at their defaults
        "state": [{"id": d["id"], "property": d["property"], "value": state_value if d["id"] == state_id else None}
                  for d in spec["state"]],
        "changedPropIds": [f"{input_id}.data"],
    }


def main_request(app, state: dict, result: dict | None = None) -> dict:
    """The main update drawing ``state`` without the gate (as after a background job: what it costs)."""
    return callback_request(app, ids.READY_VIEW_STORE, ids.RESULT_STORE, state, result)


def comparison_request(app, state: dict, result: dict) -> dict | None:
    try:
        return callback_request(app, ids.RESULT_STORE, ids.VIEW_STORE, result, state)
    except StopIteration:  # an app without the comparison callback (before it existed)
        return None


def timed_post(client, body: dict) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    response = client.post("/_dash-update-component", json=body)
    elapsed = time.perf_counter() - t0
    if response.status_code not in (200, 204):
        raise SystemExit(f"update failed: HTTP {response.status_code}: {response.data[:300]!r}")
    return elapsed, response.data


def clear_view_caches(*, prepared: bool = False) -> None:
    """Forget this view's figures, analyses (in-process and in the shared cache) and responses, keep the
    parsed files and the catalog: a "new view" computes its analyses. ``prepared``: forget the prepared
    pricing inputs too (a new expiry selection or new pricing inputs)."""
    views._figure_json.cache_clear()
    service._analysis.cache_clear()
    if prepared:
        service._prepared.cache_clear()
    shared = service.shared_cache()
    if shared is not None:
        shared.clear()
    responses.clear_all()  # a repeated request would be answered from the response cache


@contextlib.contextmanager
def numpy_engine():
    """The grid engine as in a process that never loaded the compiled kernel (a one-shot CLI run)."""
    saved = scenarios._kernel
    scenarios._kernel = None
    try:
        yield
    finally:
        scenarios._kernel = saved


def new_view_times(client, body: dict, runs: int, *, prepared: bool = False) -> list[float]:
    out = []
    for _ in range(runs):
        clear_view_caches(prepared=prepared)
        out.append(timed_post(client, body)[0])
    return out


def load_text() -> str:
    """The machine's 1/5/15-minute load averages (2 cores shared by several engineers: say how busy)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:7.1f} ms  (min {min(xs) * 1e3:6.1f}, max {max(xs) * 1e3:6.1f})"


def verdict(value: float, goal: float, unit: str = "ms") -> str:
    return f"goal < {goal:g} {unit}: {'MET' if value < goal else 'NOT MET'}"


def bench_server(data_dir: Path, search: str, runs: int, label: str, goal_key: str) -> None:
    app = create_app(data_dir)
    client = app.server.test_client()
    client.get("/")  # app setup outside the timings
    state = controls.update(None, {f"{ids.URL}.search": search}, None, str(data_dir))[0]
    entry = service.get_catalog(data_dir).get(state["snap"])
    chain = service.load_chain(entry)
    body = main_request(app, state)

    cold_start, new_view, warm, compare = [], [], [], []
    payload = b""
    for _ in range(runs):
        views.clear_caches()  # figures, analyses, catalog, parsed files
        elapsed, payload = timed_post(client, body)
        cold_start.append(elapsed)
    result = json.loads(payload)["response"][ids.RESULT_STORE]["data"]
    compare_body = comparison_request(app, state, result)
    for _ in range(runs):
        clear_view_caches()
        elapsed, _ = timed_post(client, body)
        new_view.append(elapsed)
        if compare_body is not None:
            elapsed, _ = timed_post(client, compare_body)
            compare.append(elapsed)
    timed_post(client, body)
    for _ in range(runs):
        elapsed, _ = timed_post(client, body)
        warm.append(elapsed)
    new_selection = new_view_times(client, body, runs, prepared=True)
    with numpy_engine():
        numpy_path = new_view_times(client, body, runs)
    analyses = []  # the analytics' share of a new view: the same analyses, called directly
    catalog = service.get_catalog(data_dir)
    for _ in range(runs):
        clear_view_caches()
        t0 = time.perf_counter()
        views.compute(state, catalog, entry, str(data_dir))
        analyses.append(time.perf_counter() - t0)

    analysis = service.analysis_for(str(data_dir), entry, scenario_from_state(state))
    strikes = analysis.by_strike.sort_values("net_gex_usd_per_1pct")["strike"].tolist()[:runs]
    clicks = []
    for strike in strikes:
        elapsed, _ = timed_post(client, main_request(app, {**state, "strike": strike}, result))
        clicks.append(elapsed)

    response = json.loads(payload)["response"]
    sizes = {gid: len(json.dumps(response[gid]["figure"], separators=(",", ":"))) for gid in FIGURE_OUTPUTS
             if gid in response}
    print(f"\n{label}: {entry.path.name}  ({len(chain.rows):,} rows, {len(chain.expiries)} expiries, all selected; "
          f"load average {load_text()} after the runs)")
    print(f"  main update, new view   ({runs} runs): {ms(new_view)}   "
          f"{verdict(statistics.median(new_view) * 1e3, GOALS_MS[goal_key])}")
    print(f"  strike click            ({len(clicks)} runs): {ms(clicks)}   "
          f"{verdict(statistics.median(clicks) * 1e3, GOALS_MS['strike click'])}")
    print(f"    of which the analyses (views.compute, analytics):  {ms(analyses)}")
    print(f"  new view, new expiry selection or pricing inputs:     {ms(new_selection)}   (no goal)")
    print(f"  new view, grid engine's numpy path (kernel not loaded): {ms(numpy_path)}   (no goal)")
    if compare:
        print(f"  comparison (2nd callback, new view; not waited for): {ms(compare)}")
    print(f"  main update, cold start ({runs} runs): {ms(cold_start)}   (every cache emptied; no goal)")
    print(f"  main update, warm       ({runs} runs): {ms(warm)}   (no goal)")
    print("  figures JSON: " + ", ".join(f"{k} {v / 1e3:.1f} KB" for k, v in sizes.items())
          + f"; total {sum(sizes.values()) / 1e3:.1f} KB (goal < 500 KB)")


# --------------------------------------------------------------------------- first paint

DRAWN_JS = (
    """
var done = arguments[arguments.length - 1];
var ids = arguments[0];
function drawn() {
    var kpi = document.querySelector('#KPI .kpi');
    return kpi && ids.every(function (id) {
        var gd = document.querySelector('#' + id + ' .js-plotly-plot');
        return gd && gd.data && gd.data.length > 0 && gd._fullLayout;
    });
}
(function poll() {
    if (drawn()) {
        var bytes = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
            .reduce(function (s, e) { return s + (e.transferSize || 0); }, 0);
        done([performance.now(), bytes]);
    } else { requestAnimationFrame(poll); }
})();
"""
).replace("KPI", ids.KPI_STRIP)
# --trace: long tasks (> 50 ms of main thread) recorded from the page's first script on
LONG_TASKS_OBSERVER = """
window.__mmposLongTasks = [];
new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { window.__mmposLongTasks.push([Math.round(e.startTime), Math.round(e.duration)]); });
}).observe({type: 'longtask', buffered: true});
"""
TIMELINE_JS = """
return performance.getEntriesByType('resource').map(function (e) {
    return [e.name.split('/').pop().slice(0, 50), Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize];
});
"""


def chromium_options(profile: str):
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,1000", "--no-first-run", "--disable-extensions", "--disable-sync",
                "--disable-component-update", "--disable-background-networking", f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    return options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def print_trace(driver, drawn_ms: float) -> None:
    """The last run's resource timeline and long tasks, in time order, until ``drawn_ms`` and a second after."""
    time.sleep(1.0)  # what follows the paint (the comparison callback, late renders)
    rows = [(start, end, "fetch", f"{name} {size} B") for name, start, end, size in driver.execute_script(TIMELINE_JS)]
    rows += [(start, start + dur, "long task", f"{dur} ms") for start, dur in
             driver.execute_script("return window.__mmposLongTasks || []")]
    print(f"  trace of the last run (ms since navigation; drawn at {drawn_ms:.0f}):")
    for start, end, kind, what in sorted(rows):
        print(f"    {start:6.0f} {end:6.0f}  {kind:9s} {what}")


def bench_first_paint(runs: int, screenshot: Path | None, timeline: bool = False, trace: bool = False) -> None:
    from selenium import webdriver
    from werkzeug.serving import make_server

    app = create_app(DEMO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/?u=SPX"
    times, transferred, cpu, script = [], [], [], []
    try:
        for run in range(runs + 1):  # run 0 warms the server's caches (analyses, compressed files)
            with tempfile.TemporaryDirectory(prefix="mmpos-chromium-") as profile:
                driver = webdriver.Chrome(options=chromium_options(profile))
                try:
                    driver.set_script_timeout(60)
                    driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
                    if trace:
                        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LONG_TASKS_OBSERVER})
                    driver.get(url)
                    now_ms, bytes_in = driver.execute_async_script(DRAWN_JS, list(FIGURE_OUTPUTS))
                    metrics = {m["name"]: m["value"]
                               for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
                    if run:
                        times.append(now_ms / 1e3)
                        transferred.append(bytes_in)
                        cpu.append(metrics["TaskDuration"])
                        script.append(metrics["ScriptDuration"])
                    if timeline and run == runs:
                        print("  resource timeline of the last run (name, start ms, end ms, bytes):")
                        for row in driver.execute_script(TIMELINE_JS):
                            print("   ", *row)
                    if trace and run == runs:
                        print_trace(driver, now_ms)
                    if screenshot is not None and run == runs:
                        time.sleep(1.0)  # let the comparison callback land
                        driver.save_screenshot(str(screenshot))
                finally:
                    driver.quit()
    finally:
        server.shutdown()
    median_ms = statistics.median(times) * 1e3
    print(f"\nFirst paint, demo SPX, headless Chromium, empty cache ({runs} runs): {ms(times)}   "
          f"{verdict(median_ms, GOALS_MS['first paint'])}")
    print(f"  main-thread CPU until then: {ms(cpu)}, of which script median {statistics.median(script) * 1e3:.0f} ms")
    print(f"  transferred over the wire per load: {statistics.median(transferred) / 1e6:.2f} MB")
    if screenshot is not None:
        print(f"  screenshot of the last run: {screenshot}")


# --------------------------------------------------------------------------- memory


def distinct_views(data_dir: Path, n: int) -> list[dict]:
    """``n`` different view states over the demo data (snapshots x presets x conventions x scenarios)."""
    catalog = service.get_catalog(data_dir)
    snaps = [(u, str(e.id)) for u in catalog.underlyings() for e in catalog.snapshots(u) if not e.broken]
    combos = itertools.product(snaps, ("all", "7d", "30d", "monthly"), ("dealer-long-calls", "dealer-short-all"),
                               (20, 10), (("none", 0.0), ("shift", 2.0)), (0, 1))
    out = []
    for (u, snap), preset, conv, shock, (vol, volv), h in combos:
        query = f"?u={u}&snap={snap}&exp={preset}&conv={conv}&shock={shock}&h={h}"
        if vol != "none":
            query += f"&vol={vol}:{volv:g}"
        out.append(query)
        if len(out) == n:
            break
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_worker(n: int) -> None:
    """Runs in its own process: serve ``n`` different views, print the RSS as JSON."""
    from dashboard.runtime.server import use_system_allocator_for_arrow

    use_system_allocator_for_arrow()  # as mmpos serve does before forking its workers
    scenarios.load_kernel_on_demand()  # as mmpos serve: the kernel loads at the first big grid (none in the demo)
    app = create_app(DEMO)
    client = app.server.test_client()
    client.get("/")
    before = rss_mb()
    queries = distinct_views(DEMO, n)
    for query in queries:
        state = controls.update(None, {f"{ids.URL}.search": query}, None, str(DEMO))[0]
        _, payload = timed_post(client, main_request(app, state))
        result = json.loads(payload)["response"][ids.RESULT_STORE]["data"]
        compare = comparison_request(app, state, result)
        if compare is not None:
            timed_post(client, compare)
    print(json.dumps({"views": len(queries), "rss_before_mb": before, "rss_after_mb": rss_mb(),
                      "kernel_loaded": scenarios._kernel is not None}))


def bench_memory(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mmpos-bench-cache-") as cache:  # every view computed, none read
        out = subprocess.run([sys.executable, __file__, "--memory-worker", str(n)], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_CACHE_DIR": cache})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nMemory, one worker, demo data, empty shared cache: RSS {got['rss_before_mb']:.0f} MB after start-up, "
          f"{got['rss_after_mb']:.0f} MB after {got['views']} different views "
          f"(grid kernel {'loaded' if got['kernel_loaded'] else 'not loaded: no grid was big enough'})   "
          f"{verdict(got['rss_after_mb'], MEMORY_GOAL_MB, 'MB')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--paint-runs", type=int, default=7)
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--real-spx", type=Path, default=REAL_SPX, help="the real SPX file (default: %(default)s)")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-paint", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--screenshot", type=Path, default=None, help="save a PNG of the page after the last paint")
    parser.add_argument("--timeline", action="store_true", help="print the last paint's resource timeline")
    parser.add_argument("--trace", action="store_true",
                        help="print the last paint's requests and long tasks (main thread > 50 ms) in time order")
    parser.add_argument("--memory-worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker is not None:
        memory_worker(args.memory_worker)
        return 0
    if not (args.skip_server and args.skip_paint):
        scenarios.load_kernel_on_demand()  # as mmpos serve sets up its workers
        print(f"grid engine as in a worker of mmpos serve: numpy for the demo data's grids, the compiled kernel "
              f"for the real file's; load average {load_text()}")
    if not args.skip_server:
        bench_server(DEMO, "?u=SPX", args.runs, "SPX demo", "demo new view")
        if args.real_spx.exists():
            scenarios.load_kernel()  # what the worker's first big grid started in the background
            with tempfile.TemporaryDirectory(prefix="mmpos-bench-") as tmp:
                real = Path(tmp)  # the file alone in a temporary folder (the catalog scans folders)
                shutil.copy2(args.real_spx, real / args.real_spx.name)
                bench_server(real, "?u=SPX", args.runs, "SPX real file", "real new view")
    if not args.skip_paint:
        bench_first_paint(args.paint_runs, args.screenshot, args.timeline, args.trace)
    if not args.skip_memory:
        bench_memory(args.views)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
