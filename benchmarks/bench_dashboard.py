"""Server time of the dashboard's main update, and the JSON weight of the page's figures.

    .venv/bin/python benchmarks/bench_dashboard.py [--runs 20] [--data-dir DIR]

What is timed is a real ``POST /_dash-update-component`` for the main callback (view state ->
the three views, breakdown, KPI strip, table, header) through Flask's test client: callback
lookup, the analyses, the figure builders and JSON serialisation, i.e. the server's whole share
of a page update. The view is the SPX demo snapshot (newest), all expiries, default convention.

Three cache states, each ``--runs`` times, median reported:

* cold start: every cache emptied (files re-parsed, catalog rescanned, analyses, figures);
* cold view:  files loaded, but the analyses and figures of this view are new (e.g. the first
  look at another convention);
* warm:       the same view again (what a second trader, the back button or a pasted link get);

and one interaction: clicking a new strike (view 1 and the breakdown redrawn, the rest sent as
``no_update``; a different strike each run so no figure comes from the cache).

With ``../shared/data/cboe_spx_2024-01-07_phammings.csv`` beside the checkout (the real SPX file,
55 expiries) the same is measured on it too, from a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.demo import write_demo_data  # noqa: E402
from dashboard import ids, service  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.callbacks import controls, views  # noqa: E402
from dashboard.state import scenario_from_state  # noqa: E402

REAL_SPX = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
FIGURE_OUTPUTS = (ids.GAMMA_GRAPH, ids.BREAKDOWN_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH)


def main_callback_request(app, state: dict, result: dict | None = None) -> dict:
    """The JSON body the browser posts for the main update (outputs read from /_dash-dependencies)."""
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    main = next(d for d in deps if any(i["id"] == ids.VIEW_STORE for i in d["inputs"]))
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in main["output"].strip(".").split("...")
    ]
    return {
        "output": main["output"],
        "outputs": outputs,
        "inputs": [{"id": ids.VIEW_STORE, "property": "data", "value": state}],
        "state": [{"id": ids.RESULT_STORE, "property": "data", "value": result}],
        "changedPropIds": [f"{ids.VIEW_STORE}.data"],
    }


def timed_post(client, body: dict) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    response = client.post("/_dash-update-component", json=body)
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise SystemExit(f"main update failed: HTTP {response.status_code}: {response.data[:300]!r}")
    return elapsed, response.data


def figures_bytes(payload: bytes) -> dict[str, int]:
    response = json.loads(payload)["response"]
    return {gid: len(json.dumps(response[gid]["figure"], separators=(",", ":"))) for gid in FIGURE_OUTPUTS
            if gid in response}


def bench(data_dir: Path, search: str, runs: int, label: str) -> None:
    app = create_app(data_dir)
    client = app.server.test_client()
    client.get("/")  # app setup (callback registration) outside the timings
    state = controls.update(None, {f"{ids.URL}.search": search}, None, str(data_dir))[0]
    entry = service.get_catalog(data_dir).get(state["snap"])
    chain = service.load_chain(entry)
    body = main_callback_request(app, state)

    cold_start, cold_view, warm = [], [], []
    payload = b""
    for _ in range(runs):
        views.clear_caches()  # figures, analyses, catalog, parsed files
        elapsed, payload = timed_post(client, body)
        cold_start.append(elapsed)
    for _ in range(runs):
        views._figure_json.cache_clear()
        service._analysis.cache_clear()
        elapsed, _ = timed_post(client, body)
        cold_view.append(elapsed)
    timed_post(client, body)
    for _ in range(runs):
        elapsed, _ = timed_post(client, body)
        warm.append(elapsed)

    result = json.loads(payload)["response"][ids.RESULT_STORE]["data"]
    a = service.analysis_for(str(data_dir), entry, scenario_from_state(state))
    strikes = a.by_strike.sort_values("net_gex_usd_per_1pct")["strike"].tolist()[:runs]
    clicks = []
    for strike in strikes:
        elapsed, _ = timed_post(client, main_callback_request(app, {**state, "strike": strike}, result))
        clicks.append(elapsed)

    sizes = figures_bytes(payload)
    ms = lambda xs: f"median {statistics.median(xs) * 1e3:7.1f} ms  (min {min(xs) * 1e3:6.1f}, max {max(xs) * 1e3:6.1f})"  # noqa: E731
    print(f"\n{label}: {entry.path.name}  ({len(chain.rows):,} rows, {len(chain.expiries)} expiries, all selected)")
    print(f"  main update, cold start ({runs} runs): {ms(cold_start)}")
    print(f"  main update, cold view  ({runs} runs): {ms(cold_view)}")
    print(f"  main update, warm       ({runs} runs): {ms(warm)}")
    print(f"  strike click            ({len(clicks)} runs): {ms(clicks)}")
    print("  figures JSON: " + ", ".join(f"{k} {v / 1e3:.1f} KB" for k, v in sizes.items())
          + f"; total {sum(sizes.values()) / 1e3:.1f} KB (goal < 500 KB)")
    print(f"  whole response (figures + KPI strip + table + header): {len(payload) / 1e3:.1f} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=None, help="use this folder instead of fresh demo data")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mmpos-bench-") as tmp:
        demo = args.data_dir or Path(tmp, "demo")
        if args.data_dir is None:
            demo.mkdir()
            write_demo_data(demo)
        bench(demo, "?u=SPX", args.runs, "SPX demo")
        if REAL_SPX.exists():
            real = Path(tmp, "real")
            real.mkdir()
            shutil.copy2(REAL_SPX, real / REAL_SPX.name)
            bench(real, "?u=SPX", args.runs, "SPX real file")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
