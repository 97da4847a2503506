"""Catalog scan benchmark: the first scan of a data folder in a fresh process (what ``mmpos serve`` does
before it is ready, and what every new worker pays), then a rescan, then the cost per file by kind.

Each round starts a new Python process (imports done, the Arrow allocator set as the server sets it), so
nothing is cached: it times ``scan_catalog(data_dir)`` (wall and CPU seconds), a rescan with the previous
catalog (every file unchanged: ``stat`` calls only), and then each file described again on its own (the
loader cache cleared first): canonical Parquet tables described from Arrow
(``analytics.catalog_files.quick_facts``) and the same tables loaded in full, and the other files (vendor
CSV/JSON, positions), which are always loaded. Prints the median of the rounds.

With ``--readiness`` it also starts ``python -m dashboard.cli serve --data-dir DATA --port 8093`` (fresh
``MMPOS_CACHE_DIR`` and ``MMPOS_STATE_DIR``) and times it until ``/readyz`` answers 200 on the loopback.

Run: ``.venv/bin/python benchmarks/bench_catalog_scan.py [--data-dir data] [--rounds 3] [--readiness]`` (it measures the
tree it sits in: a copy placed in an older checkout measures that one, without the quick rows).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(data_dir: str) -> dict[str, float]:
    """One fresh process: the first scan, a rescan, then per-file description times (ms)."""
    sys.path.insert(0, str(ROOT))
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())  # as dashboard.runtime.server does
    from analytics import catalog_scan
    from analytics.catalog import clear_cache, scan_catalog

    wall, cpu = time.perf_counter(), time.process_time()
    catalog = scan_catalog(data_dir)
    out = {"files": len(catalog), "broken": len(catalog.broken()),
           "first_wall_s": time.perf_counter() - wall, "first_cpu_s": time.process_time() - cpu}
    wall = time.perf_counter()
    scan_catalog(data_dir, previous=catalog)
    out["rescan_ms"] = 1000 * (time.perf_counter() - wall)

    clear_cache()
    root = Path(data_dir).resolve()
    has_quick = "quick" in inspect.signature(catalog_scan._describe).parameters  # (a tree from before it)
    per: dict[str, list[tuple[float, float]]] = {"table_quick": [], "table_loaded": [], "other_loaded": []}
    for found in catalog_scan._walk(root):
        if found.refused is not None:
            continue
        is_table = found.rel.endswith(".parquet")
        ways = [("table_quick", True), ("table_loaded", False)] if is_table else [("other_loaded", False)]
        for name, quick in ways:
            if quick and not has_quick:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            catalog_scan._describe(found, root, **({"quick": quick} if has_quick else {}))
            per[name].append((1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)))
        clear_cache()
    for name, times in per.items():
        out[f"{name}_n"] = len(times)
        out[f"{name}_ms"] = statistics.mean(t for t, _ in times) if times else float("nan")
        out[f"{name}_cpu_ms"] = statistics.mean(c for _, c in times) if times else float("nan")
    return out


def readiness_s(data_dir: str, port: int, timeout_s: float = 180.0) -> float:
    """Seconds from starting ``mmpos serve`` (this tree, fresh cache and state folders) until ``/readyz``
    answers 200 on the loopback; the server is stopped after."""
    import tempfile
    import urllib.error
    import urllib.request

    with tempfile.TemporaryDirectory(prefix="bench-ready-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_CACHE_DIR": f"{tmp}/cache", "MMPOS_STATE_DIR": f"{tmp}/state"}
        start = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--data-dir", data_dir,
                                   "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - start < timeout_s:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                        if answer.status == 200:
                            return time.perf_counter() - start
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited ({server.returncode}) before it was ready")
                time.sleep(0.05)
            raise RuntimeError(f"not ready after {timeout_s:g} s")
        finally:
            server.terminate()  # graceful; a server still warming up may take a while, then it is killed
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readiness", action="store_true",
                        help="also time `mmpos serve` until /readyz answers (fresh cache and state folders)")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.data_dir)))
        return
    rounds = []
    for _ in range(args.rounds):
        done = subprocess.run([sys.executable, __file__, "--child", "--data-dir", args.data_dir], check=True,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    first = rounds[0]
    print(f"data folder: {args.data_dir} ({first['files']} files, {first['broken']} broken); "
          f"median of {len(rounds)} fresh processes; load average {os.getloadavg()[0]:.2f}")
    print(f"first scan: wall {med('first_wall_s'):.2f} s, CPU {med('first_cpu_s'):.2f} s, "
          f"{1000 * med('first_wall_s') / first['files']:.1f} ms per file")
    print(f"rescan (nothing changed): {med('rescan_ms'):.1f} ms")
    print("per file, described on its own (mean wall / CPU ms):")
    for name, label in (("table_quick", "Parquet table, quick (Arrow facts)"),
                        ("table_loaded", "Parquet table, loaded in full"),
                        ("other_loaded", "other files (vendor CSV/JSON, positions), loaded")):
        print(f"  {label:52s} {med(name + '_ms'):6.1f} / {med(name + '_cpu_ms'):5.1f} ms  x {first[name + '_n']}")
    if args.readiness:
        ready = [readiness_s(args.data_dir, args.port) for _ in range(args.rounds)]
        print(f"`mmpos serve --data-dir {args.data_dir}` ready (/readyz 200) after: median {statistics.median(ready):.2f} s "
              f"({', '.join(f'{r:.2f}' for r in ready)})")


if __name__ == "__main__":
    main()
