"""What a shared-cache hit costs against computing the analysis, per chain size.

    .venv/bin/python benchmarks/bench_cache.py [--runs 7]

For the demo SPX and BTC snapshots and the real files in ../shared/data: the analysis' pickled size,
``compute`` (``analyze`` on an already parsed chain: the cheapest miss; a worker that has not parsed
the file yet also pays the parse, ``parse`` below), and a hit through the shared cache (read + unpickle)
in the cache folder and, when ``redis-server`` is installed, in a private Redis on a free port.
Medians of ``--runs``. A hit pays wherever it is well under ``compute``: that decides whether
:mod:`dashboard.service` stores an analysis.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.catalog import clear_cache  # noqa: E402
from analytics.scenario import Scenario  # noqa: E402
from dashboard import service  # noqa: E402
from dashboard.runtime.cache import SharedCache, cache_key  # noqa: E402
from dashboard.runtime.config import Settings  # noqa: E402

DEMO = ROOT / "data"
SHARED = ROOT.parent / "shared" / "data"
CHAINS = (
    (DEMO, "btc-20261120-1400"),
    (DEMO, "spx-20261120-1615"),
    (SHARED, "btc-20240312-0557"),
    (SHARED, "ndx-20220205-2026"),
    (SHARED, "spx-20240107-1052"),
)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def start_redis() -> tuple[subprocess.Popen, str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    service.use_shared_cache(None)
    redis = start_redis()
    tmp = Path(tempfile.mkdtemp(prefix="mmpos-bench-cache-"))
    caches = {"folder": SharedCache(Settings(cache_dir=tmp))}
    if redis is not None:
        caches["redis"] = SharedCache(Settings(redis_url=redis[1]))
    try:
        print(f"{'chain':22s} {'rows':>6s} {'pickle':>9s} {'parse':>8s} {'compute':>8s} "
              + " ".join(f"{name + ' hit':>10s}" for name in caches))
        for folder, entry_id in CHAINS:
            entry = service.get_catalog(folder).get(entry_id)
            if entry is None:
                print(f"{entry_id:22s} missing from {folder}")
                continue
            chain = service.load_chain(entry)

            def parse():
                clear_cache()
                service.load_chain(entry)  # noqa: B023

            parse_ms = median_ms(parse, min(args.runs, 3))
            analysis = service.analyze(chain, Scenario())
            compute_ms = median_ms(lambda: service.analyze(chain, Scenario()), args.runs)  # noqa: B023
            blob = pickle.dumps(analysis, protocol=pickle.HIGHEST_PROTOCOL)
            hits = []
            for cache in caches.values():
                key = cache_key("bench", entry_id)
                cache.set(key, analysis)
                hits.append(median_ms(lambda: cache.get(key), args.runs))  # noqa: B023
            print(f"{entry_id:22s} {len(chain.rows):6d} {len(blob) / 1e3:7.0f}KB {parse_ms:6.0f}ms {compute_ms:6.1f}ms "
                  + " ".join(f"{h:8.2f}ms" for h in hits))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if redis is not None:
            redis[0].terminate()
            redis[0].wait(timeout=10)


if __name__ == "__main__":
    main()
