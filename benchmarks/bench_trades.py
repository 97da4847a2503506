"""Trades benchmark (issue 19): reading Deribit trades and the dealer flow of one snapshot.

1. ``analytics.trades.deribit_trades`` on one fetch's worst case: 50,000 trades (the collector's page
   limit, ``MAX_TRADE_PAGES`` x 1,000), built from the demo's own trades repeated with new ids;
2. ``dealer_flow_by_series`` + ``flow_on_rows`` of those trades onto the demo BTC chain;
3. the demo's whole path for the 2026-11-19 14:00 BTC snapshot: ``service.trades_flow`` (read, dedupe,
   window) and the flow-inferred analysis beside the default convention's (files read afresh each round).

Prints the median and best of ``REPEATS`` rounds. Run: ``.venv/bin/python benchmarks/bench_trades.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics import trades  # noqa: E402
from analytics.scenario import Scenario  # noqa: E402
from analytics.sources import load_chain  # noqa: E402
from dashboard import service  # noqa: E402

DATA = ROOT / "data"
SNAPSHOT = DATA / "btc_book_summary_2026-11-19.json"
TRADES = next(DATA.glob("deribit_btc_trades_*.trades.json"))
N_TRADES = 50_000
REPEATS = 5


def timed(fn, repeats: int = REPEATS) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    demo = json.loads(TRADES.read_text())["result"]["trades"]
    many = [dict(demo[i % len(demo)], trade_id=str(i)) for i in range(N_TRADES)]
    answer = {"result": {"trades": many, "has_more": False}}
    chain = load_chain(SNAPSHOT)
    med, best = timed(lambda: trades.deribit_trades(answer))
    print(f"deribit_trades, {N_TRADES:,} trades: median {med * 1e3:.1f} ms, best {best * 1e3:.1f} ms")
    tape = trades.deribit_trades(answer)
    med, best = timed(lambda: trades.flow_on_rows(chain.rows, trades.dealer_flow_by_series(tape)))
    print(f"dealer flow by series onto the {len(chain.rows)}-row BTC chain: median {med * 1e3:.1f} ms, best {best * 1e3:.1f} ms")

    def demo_path() -> None:
        service._trades_file.cache_clear()  # the trades file read again (only this cache: others are shared)
        service.trades_flow(DATA, load_chain(SNAPSHOT), DATA)

    med, best = timed(demo_path)
    print(f"demo trades_flow ({len(demo):,} trades in the file, cold): median {med * 1e3:.1f} ms, best {best * 1e3:.1f} ms")
    for convention in ("dealer-long-calls", "flow-inferred"):
        def analysis(c: str = convention) -> None:
            service._trades_file.cache_clear()  # analyze_path reads the snapshot afresh; the trades too
            service.analyze_path(SNAPSHOT, Scenario(convention=c))

        med, best = timed(analysis)
        print(f"analyze_path {convention} (cold): median {med * 1e3:.0f} ms, best {best * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
