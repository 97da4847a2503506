"""N desk users at once against ``mmpos serve`` (gunicorn), replaying what a real browser posts.

    .venv/bin/python benchmarks/load.py [--sessions 1,10,50] [--data demo,real] [--think 1.0]
                                        [--workers 0] [--threads 0] [--short]

For each data folder (``demo``: the committed ``data/``; ``real``: ``../shared/data``, read in place):

1. **Capture.** ``mmpos serve`` starts on a free port and headless Chromium (Debian's, through
   selenium with Chrome's performance log) does what a desk user does: loads the page on SPX
   (``/?u=SPX``; the real SPX file has 20,592 rows), picks the "Next 30 days" expiry set, another
   dealer convention, another snapshot (another underlying where SPX has only one: NDX, 18,386 rows). Every
   ``POST /_dash-update-component`` body the page sends is read from the log
   (``Network.requestWillBeSent``; ``Network.getRequestPostData`` when Chrome left it out) with its URL, in order,
   grouped by step. Nothing is guessed: the bodies are the browser's own, for that folder's ids.
2. **Load.** For each N, a fresh server (fresh shared-cache folder, so the first user of a view pays
   for it) and N concurrent sessions (asyncio + httpx, one connection pool per session). Each session
   loads the page (``GET /``, ``/_dash-layout``, ``/_dash-dependencies``) and replays the page's
   callbacks for that step one after the other, as the browser chains them, then waits ``--think``
   seconds (uniform 0.5x-1.5x, seeded) before the next step: expiry set, convention, snapshot.
3. **Report.** Latency p50/p95/max per kind of request: ``main`` (the main update: every view, the
   KPIs and the table), ``compare`` (previous snapshot), ``other`` callbacks, ``page`` (the three
   GETs), ``job`` (a background job of a cold big-chain view, from its start to its answer, polled
   every 0.3 s as the page does; ``poll`` each poll), ``step`` (a whole control change: its
   callbacks one after the other, as an upper bound of what the user waits for); errors (any status other than 200/204, or a failed connection); the RSS of every gunicorn
   worker after the run (and its peak, ``VmHWM``). Goal: 50 sessions, main p95 < 1 s, 0 errors,
   RSS per worker < 400 MB.

**Opening views warmed first.** Each server of step 2 runs as deployed, warming every underlying's
opening view (``dashboard.web.warm``); the sessions start once that is done, as a desk arrives after the
morning's files landed (the time it took is printed). ``--no-warm`` (``MMPOS_WARM=off``): the first
user of each opening view pays for it too.

``--warm-pass``: after each N, the same sessions again on the same server (every view computed by
then): the difference to the first pass is what cold views cost (real data, 50 users, 2026-11-30:
main p95 669 ms cold, 88 ms warm).

``--short`` (``make bench``): N = 1 and 10 on the demo data only, think time 0.3 s.
The machine may be shared: the load average at start and end is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = {"demo": ROOT / "data", "real": ROOT.parent / "shared" / "data"}
UPDATE = "/_dash-update-component"
PAGE_GETS = ("/", "/_dash-layout", "/_dash-dependencies")
MAIN_OUTPUT = "view-result.data"  # only the main update writes the result store
COMPARE_OUTPUT = "kpi-strip.children@"  # the comparison callback's duplicate output
GOAL_P95_S = 1.0
GOAL_RSS_MB = 400.0
BOOT_TIMEOUT_S = 90.0
WARM_TIMEOUT_S = 300.0  # longest wait for the opening views to be warmed
GATE_OUTPUT = "pending-view-state.data"  # the gate: straight on, or a background job (callbacks/work.py)
PENDING_ID = "pending-view-state"
JOB_OUTPUT = "done-view-state.data"  # the background job's start
JOB_POLL_S = 0.3  # dashboard.web.callbacks.work.POLL_MS
JOB_TIMEOUT_S = 60.0
IDLE_S = 1.0  # the page is settled when no callback was sent or pending for this long


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    cache_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def worker_rss_mb(self) -> list[tuple[float, float]]:
        """(RSS, peak RSS) in MB of every worker now."""
        out = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            kb = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
                  if line.startswith(("VmRSS", "VmHWM"))}
            out.append((kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.cache_dir, ignore_errors=True)


def start_server(data_dir: Path, workers: int, threads: int, warm: bool = True) -> Server:
    """``mmpos serve`` on a free port over ``data_dir``, with a fresh shared-cache folder; waits for it
    (and, with ``warm``, until every underlying's opening view is warmed: :func:`wait_for_openings`)."""
    import httpx

    port = free_port()
    cache_dir = Path(tempfile.mkdtemp(prefix="mmpos-load-cache-"))
    log = cache_dir.with_suffix(".log")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_CACHE_DIR": str(cache_dir / "c"),
           "MMPOS_SHARED_CACHE": "on", "MMPOS_ACCESS_LOG": "", "MMPOS_WARM": "on" if warm else "off"}
    if workers:
        env["MMPOS_WORKERS"] = str(workers)
    if threads:
        env["MMPOS_THREADS"] = str(threads)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--data-dir", str(data_dir),
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, port, cache_dir, log)
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mmpos serve exited:\n{log.read_text()[-2000:]}")
        try:
            if server.worker_pids() and httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                if warm:
                    wait_for_openings(server, data_dir)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"mmpos serve did not become ready:\n{log.read_text()[-2000:]}")


def wait_for_openings(server: Server, data_dir: Path) -> None:
    """Wait until the server's warming threads (dashboard.web.warm) have put every underlying's opening view
    in its shared cache, as they would have long before the desk arrives; prints how long it took."""
    from dashboard import service
    from dashboard.runtime.cache import SharedCache
    from dashboard.runtime.config import Settings
    from dashboard.web import warm

    service.use_shared_cache(SharedCache(Settings(cache_dir=server.cache_dir / "c")))
    t0 = time.perf_counter()
    try:
        while (cold := warm.cold_openings(data_dir)) and time.perf_counter() - t0 < WARM_TIMEOUT_S:
            time.sleep(0.25)
    finally:
        service.use_shared_cache(None)
        service.clear_caches()
    state = f"still cold: {', '.join(cold)}" if cold else "all warm"
    print(f"    opening views of {data_dir.name}/ warmed by the server in {time.perf_counter() - t0:.1f} s ({state})")


# --------------------------------------------------------------------------- capture in Chromium


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1000",
                "--no-first-run", "--disable-extensions", "--disable-component-update",
                "--disable-background-networking", "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options)


class Recorder:
    """The callback requests Chromium sends, read from its performance log."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.bodies: dict[str, str] = {}
        self.order: list[str] = []
        self.pending: set[str] = set()
        self.last_event = time.monotonic()

    def poll(self) -> None:
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            params = msg.get("params", {})
            rid = params.get("requestId")
            url = urlsplit(params["request"]["url"]) if msg["method"] == "Network.requestWillBeSent" else None
            if url is not None and url.path == UPDATE and params["request"]["method"] == "POST":
                body = params["request"].get("postData")
                if body is None:
                    body = self.driver.execute_cdp_cmd("Network.getRequestPostData", {"requestId": rid})["postData"]
                self.bodies[rid] = {"path": f"{url.path}?{url.query}" if url.query else url.path, "body": body}
                self.order.append(rid)
                self.pending.add(rid)
                self.last_event = time.monotonic()
            elif msg["method"] in ("Network.loadingFinished", "Network.loadingFailed") and rid in self.pending:
                self.pending.discard(rid)
                self.last_event = time.monotonic()

    def settle(self, timeout_s: float = 60.0) -> list[dict[str, str]]:
        """Wait until the page is idle; return the bodies sent since the last call."""
        start = len(self.order)
        self.last_event = time.monotonic()  # the action just taken: its requests follow within IDLE_S
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if not self.pending and time.monotonic() - self.last_event > IDLE_S:
                break
            time.sleep(0.1)
        new = self.order[start:]
        return [self.bodies[r] for r in new]


def pick_dropdown(driver, component_id: str, index: int) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#{component_id}").click()
    time.sleep(0.2)
    options = driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option")
    options[min(index, len(options) - 1)].click()


def capture(url: str, underlying: str = "SPX") -> list[dict]:
    """The page's callback bodies for: load (``?u=underlying``), expiry set, convention, snapshot
    (Chromium). With one snapshot of the underlying, the last step picks another underlying."""
    from selenium.webdriver.common.by import By

    driver = chromium()
    try:
        rec = Recorder(driver)
        driver.get(f"{url}/?u={underlying}")
        steps = [{"step": "load", "bodies": rec.settle()}]
        driver.find_element(By.XPATH, "//*[@id='expiry-preset']//input[@value='30d']/ancestor::label").click()
        steps.append({"step": "expiry set: next 30 days", "bodies": rec.settle()})
        pick_dropdown(driver, "convention", 1)
        steps.append({"step": "convention", "bodies": rec.settle()})
        driver.find_element(By.CSS_SELECTOR, "#snapshot").click()
        time.sleep(0.2)
        several = len(driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option")) > 1
        driver.find_element(By.CSS_SELECTOR, "#snapshot").click()  # close it again
        time.sleep(0.2)
        if several:
            pick_dropdown(driver, "snapshot", 1)
            steps.append({"step": "snapshot", "bodies": rec.settle()})
        else:  # one snapshot of this underlying (the real SPX file): the next underlying's latest instead
            pick_dropdown(driver, "underlying", 1 if underlying != "BTC" else 2)
            steps.append({"step": "snapshot (another underlying)", "bodies": rec.settle()})
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            print(f"  browser errors during capture: {errors[:3]}")
        return steps
    finally:
        driver.quit()


# --------------------------------------------------------------------------- load


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"main": [], "compare": [], "other": [],
                                                                        "page": [], "job": [], "poll": [], "step": []})
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)


def kind_of(request: dict[str, str]) -> str:
    output = json.loads(request["body"]).get("output", "")
    if MAIN_OUTPUT in output:
        return "main"
    if COMPARE_OUTPUT in output:
        return "compare"
    return "other"


async def session(url: str, steps: list[dict], think_s: float, seed: int, results: Results) -> None:
    import httpx

    rng = random.Random(seed)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "br, gzip"}
    async with httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        await asyncio.sleep(rng.uniform(0, think_s))  # users do not all click in the same millisecond
        for i, step in enumerate(steps):
            if i:
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            if step["step"] == "load":
                for path in PAGE_GETS:
                    await timed(client.get(path), "page", path, results)
            t_step = time.perf_counter()
            job_wanted = False
            for request in step["bodies"]:
                if any(f"{arg}=" in request["path"] for arg in ("cacheKey", "job")):
                    continue  # the capture's polls of its own background job: this session polls its own
                output = json.loads(request["body"]).get("output", "")
                if output.startswith(JOB_OUTPUT) and not job_wanted:
                    continue  # the gate passed this session's view on: the page would start no job
                response = await timed(client.post(request["path"], content=request["body"], headers=headers),
                                       kind_of(request), step["step"], results)
                if GATE_OUTPUT in output and response is not None and response.status_code == 200:
                    job_wanted = PENDING_ID in response.json().get("response", {})
                if response is not None and response.status_code == 200 and b'"cacheKey"' in response.content:
                    await follow_job(client, request, response.json(), headers, step["step"], results)
            if step["step"] != "load":
                results.add("step", time.perf_counter() - t_step)


async def timed(request, kind: str, what: str, results: Results):
    import httpx

    t0 = time.perf_counter()
    try:
        response = await request
    except httpx.HTTPError as exc:
        results.errors.append(f"{what}: {type(exc).__name__}")
        return None
    results.add(kind, time.perf_counter() - t0)
    if response.status_code not in (200, 204):
        results.errors.append(f"{what}: HTTP {response.status_code}")
    return response


async def follow_job(client, request: dict[str, str], handles: dict, headers: dict[str, str], what: str,
                     results: Results) -> None:
    """Poll a background job as dash-renderer does (its handles in the URL, input values nulled)
    until it answers; its whole duration is recorded as ``job``."""
    body = json.loads(request["body"])
    for part in ("inputs", "state"):
        for item in body.get(part) or []:
            item["value"] = None
    sep = "&" if "?" in request["path"] else "?"
    path = f"{request['path']}{sep}cacheKey={handles['cacheKey']}&job={handles['job']}"
    t0 = time.perf_counter()
    deadline = t0 + JOB_TIMEOUT_S
    while time.perf_counter() < deadline:
        await asyncio.sleep(JOB_POLL_S)
        response = await timed(client.post(path, content=json.dumps(body), headers=headers), "poll", what, results)
        if response is None or response.status_code != 200 or b'"response"' in response.content:
            results.add("job", time.perf_counter() - t0)
            return
    results.errors.append(f"{what}: background job still running after {JOB_TIMEOUT_S:.0f} s")


async def run_sessions(url: str, steps: list[dict], n: int, think_s: float) -> tuple[Results, float]:
    results = Results()
    t0 = time.perf_counter()
    await asyncio.gather(*(session(url, steps, think_s, seed, results) for seed in range(n)))
    return results, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,50", help="comma-separated N")
    parser.add_argument("--data", default="demo,real", help="comma-separated: demo, real")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a user's steps (mean)")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: mmpos serve's default)")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker (0: mmpos serve's default)")
    parser.add_argument("--short", action="store_true", help="N = 1, 10 on the demo data, think 0.3 s (make bench)")
    parser.add_argument("--save-payloads", type=Path, help="also write the captured bodies to this JSON file")
    parser.add_argument("--no-warm", action="store_true",
                        help="MMPOS_WARM=off: the first user of each opening view pays for it too")
    parser.add_argument("--warm-pass", action="store_true",
                        help="after each N, run the sessions again on the same server (views computed) for comparison")
    args = parser.parse_args()
    if args.short:
        args.sessions, args.data, args.think = "1,10", "demo", 0.3
    counts = [int(n) for n in args.sessions.split(",")]
    print(f"mmpos load: {os.cpu_count()} cores, load average {load_average()} at start")
    failed = False
    for name in args.data.split(","):
        folder = DATA[name]
        server = start_server(folder, args.workers, args.threads, warm=False)
        try:
            t0 = time.perf_counter()
            steps = capture(server.url)
            per_step = ", ".join(f"{s['step']}: {len(s['bodies'])}" for s in steps)
            print(f"\n[{name}] {folder}: captured {sum(len(s['bodies']) for s in steps)} callback bodies in "
                  f"{time.perf_counter() - t0:.1f} s ({per_step}); {len(server.worker_pids())} workers")
        finally:
            server.stop()
        if args.save_payloads:
            args.save_payloads.write_text(json.dumps(steps, indent=1))
        print(f"{'N':>3s} {'kind':8s} {'count':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}   errors  wall s  "
              "RSS MB per worker (peak)")
        for n in counts:
            server = start_server(folder, args.workers, args.threads, warm=not args.no_warm)
            try:
                results, wall = asyncio.run(run_sessions(server.url, steps, n, args.think))
                rss = server.worker_rss_mb()
                warm = asyncio.run(run_sessions(server.url, steps, n, args.think))[0] if args.warm_pass else None
            finally:
                server.stop()
            for kind, values in results.latencies.items():
                if not values and kind in ("job", "poll"):
                    continue
                line = (f"{n:3d} {kind:8s} {len(values):6d} {pct(values, .5) * 1e3:8.0f} {pct(values, .95) * 1e3:8.0f} "
                        f"{max(values, default=float('nan')) * 1e3:8.0f}")
                if kind == "main":
                    line += (f"   {len(results.errors):6d} {wall:7.1f}  "
                             + ", ".join(f"{r:.0f} ({p:.0f})" for r, p in rss))
                print(line)
            if warm is not None:
                main = warm.latencies["main"]
                print(f"{n:3d} {'warm':8s} {len(main):6d} {pct(main, .5) * 1e3:8.0f} {pct(main, .95) * 1e3:8.0f} "
                      f"{max(main, default=float('nan')) * 1e3:8.0f}   {len(warm.errors):6d}  (main, second pass on the same server)")
                results.errors += warm.errors
            for err in sorted(set(results.errors))[:5]:
                print(f"      error: {err} (x{results.errors.count(err)})")
            main_p95 = pct(results.latencies["main"], .95)
            ok = main_p95 < GOAL_P95_S and not results.errors and all(r < GOAL_RSS_MB for r, _ in rss)
            failed |= bool(results.errors)  # the exit status: errors only (latency depends on the machine's load)
            print(f"    goal (main p95 < {GOAL_P95_S * 1e3:.0f} ms, 0 errors, RSS < {GOAL_RSS_MB:.0f} MB): "
                  f"{'met' if ok else 'NOT met'}")
    print(f"\nload average {load_average()} at end")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
