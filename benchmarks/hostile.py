"""Replay the hostile-HTTP probe of issue #17 against a running ``mmpos serve`` and count what held.

    .venv/bin/python benchmarks/hostile.py [--no-nginx]

It starts its own server: ``mmpos serve`` on the demo data (two SPX snapshots copied to a temp
folder), two workers of 4 threads, a credentials file of five users, on a free port. Each case is tried
and counted ``held`` (the server answered as it should: 4xx for a malformed request, 429 for a guesser,
probes answered, the signed-in user not slowed) or ``failed``:

- login: an 8-thread flood of wrong passwords for two known users from 8 addresses while a signed-in
  user (session cookie, or basic auth on a server without one) posts callbacks: their median before
  and during (held: at most 3x, or 50 ms); the refusal time of unknown and known users (timing
  enumeration; held: within 2x); 60 wrong passwords for one user (held: 429 once each worker
  counted 5, the per-user limit: no Redis here).
- malformed callback bodies (``inputs`` an object, an input without ``id``, an unknown output, an
  input not declared), unknown and ``../`` component-suite paths, the same body as text/plain after
  JSON (response cache), an absolute-form request line naming another host, a 2,000-expiry callback
  body, and malformed files dropped on the upload route (garbage bytes, a truncated CSV, a 5 MB line,
  a CSV of NaNs).
- slow clients: 10 connections sending a body 1 byte every 2 s and 10 sending headers slowly, while
  16 probes ask ``/healthz``, straight at gunicorn (expected to fail: the README says nginx goes in
  front) and through the shipped nginx config (docs/nginx; skipped without nginx or with ``--no-nginx``).

After each case: the server's CPU time (master and workers, psutil) used by that case and the largest
worker RSS. Printed: one line per case, then tried / held / failed and the worst CPU time and RSS.
Requests go to 127.0.0.0/8 only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEMO_FILES = ("spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv")
UPDATE = "/_dash-update-component"
USER, PASSWORD = "alice", "correct horse battery"
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Target:
    port: int
    pid: int  # the gunicorn master
    auth: dict[str, str]

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
                source: str | None = None, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def processes(self) -> list[psutil.Process]:
        master = psutil.Process(self.pid)
        return [master, *master.children(recursive=True)]

    def cpu_s(self) -> float:
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def worst_rss_mb(self) -> float:
        rss = []
        for proc in self.processes()[1:]:
            try:
                rss.append(proc.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
        return max(rss, default=0.0)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def start(workdir: Path) -> tuple[Target, subprocess.Popen]:
    from dashboard.http.edge import add_user

    data = workdir / "data"
    data.mkdir()
    for name in DEMO_FILES:
        shutil.copy(ROOT / "data" / name, data / name)
    users = workdir / "users"
    for user in (USER, "bob", "carol", "dave", "erin"):
        add_user(users, user, PASSWORD)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_WORKERS": str(WORKERS), "MMPOS_THREADS": "4",
           "MMPOS_AUTH_FILE": str(users), "MMPOS_ACCESS_LOG": "", "MMPOS_CACHE_DIR": str(workdir / "cache")}
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--data-dir", str(data), "--port",
                             str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    target = Target(port, proc.pid, basic(USER, PASSWORD))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if len(target.processes()) >= 3 and target.request("GET", "/healthz", timeout=2)[0] == 200:
                return target, proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    raise SystemExit(f"mmpos serve did not start: {(workdir / 'server.log').read_text()[-2000:]}")


# --------------------------------------------------------------------------- callback bodies


def callback_body(deps: list[dict], output_part: str, values: dict[str, object]) -> dict:
    """The body the browser posts for the server callback whose outputs include ``output_part``."""
    spec = next(d for d in deps if d.get("clientside_function") is None and output_part in d["output"])
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]}
               for p in spec["output"].strip(".").split("...")]

    def items(kind: str) -> list[dict]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]

    first = spec["inputs"][0]
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": items("inputs"), "state": items("state"),
            "changedPropIds": [f"{first['id']}.{first['property']}"]}


def main_body(target: Target, deps: list[dict], **state: object) -> bytes:
    from dashboard.web import ids
    from dashboard.web.state import default_state

    key = f"{ids.READY_VIEW_STORE}.data"
    view = default_state(**{"u": "SPX", "snap": "spx-20261120-1615", **state})
    return json.dumps(callback_body(deps, ids.HEDGE_GRAPH + ".figure", {key: view})).encode()


# --------------------------------------------------------------------------- the cases

JSON = {"Content-Type": "application/json"}


def case_login_guesses(t: Target, deps) -> tuple[bool, str]:
    statuses = [t.request("GET", "/", headers=basic("carol", f"guess {i}"), source="127.0.0.21")[0] for i in range(60)]
    first_429 = statuses.index(429) + 1 if 429 in statuses else None
    # counted per worker without Redis: up to workers x MMPOS_LOGIN_PER_USER wrong guesses, then 429
    from dashboard.runtime.config import DEFAULT_LOGIN_USER_FAILURES

    ok = first_429 is not None and first_429 <= WORKERS * DEFAULT_LOGIN_USER_FAILURES + 1 and 200 not in statuses
    return ok, f"first 429 at guess {first_429}; {statuses.count(401)} x 401, {statuses.count(429)} x 429"


def case_login_timing(t: Target, deps) -> tuple[bool, str]:
    def refused_ms(user: str, i: int) -> float:
        t0 = time.perf_counter()
        t.request("GET", "/", headers=basic(user, "wrong"), source=f"127.0.1.{i}")
        return (time.perf_counter() - t0) * 1000

    known = [refused_ms("bob", 10 + i) for i in range(4)]  # under bob's limit of 5
    unknown = [refused_ms(f"nobody{i}", 40 + i) for i in range(4)]
    k, u = statistics.median(known), statistics.median(unknown)
    return 0.5 <= u / k <= 2.0, f"refused: known user median {k:.0f} ms, unknown {u:.0f} ms"


def case_login_flood(t: Target, deps) -> tuple[bool, str]:
    status, headers, _ = t.request("GET", "/", headers=t.auth, source="127.0.2.1")
    cookie = headers.get("set-cookie", "").split(";")[0]
    body = main_body(t, deps)

    def callback_ms() -> float:
        t0 = time.perf_counter()
        signed_in = {"Cookie": cookie} if cookie else t.auth  # basic auth on each request: a server without sessions
        t.request("POST", UPDATE, headers={**JSON, **signed_in}, body=body, source="127.0.2.1")
        return (time.perf_counter() - t0) * 1000

    callback_ms()
    before = statistics.median(callback_ms() for _ in range(15))
    stop = threading.Event()
    refused: list[int] = []

    def flood(i: int) -> None:
        n = 0
        while not stop.is_set() and n < 400:
            victim = ("dave", "erin")[i % 2]  # known users: each guess costs a scrypt check unless refused first
            refused.append(t.request("GET", "/", headers=basic(victim, f"g{n}"), source=f"127.0.3.{i}")[0])
            n += 1

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(1, 9)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    during = statistics.median(callback_ms() for _ in range(15))
    stop.set()
    for th in threads:
        th.join(60)
    counts = {s: refused.count(s) for s in sorted(set(refused))}
    ok = status == 200 and during <= max(50.0, 3 * before)
    return bool(ok), f"signed-in callback median {before:.0f} ms before, {during:.0f} ms during; flood got {counts}"


def case_malformed_bodies(t: Target, deps) -> tuple[bool, str]:
    good = json.loads(main_body(t, deps))
    bodies = {
        "inputs an object": {**good, "inputs": {"id": "x", "property": "y"}},
        "input without id": {**good, "inputs": [{"property": "data", "value": None}]},
        "unknown output": {**good, "output": "nope.children"},
        "input not declared": {**good, "inputs": [{"id": "nope", "property": "data", "value": 1}]},
    }
    got = {name: t.request("POST", UPDATE, headers={**JSON, **t.auth}, body=json.dumps(b).encode())[0]
           for name, b in bodies.items()}
    return all(s == 400 for s in got.values()), str(got)


def case_component_suites(t: Target, deps) -> tuple[bool, str]:
    paths = ("/_dash-component-suites/dash/nothing.js", "/_dash-component-suites/dash/../../../etc/passwd",
             "/_dash-component-suites/nopkg/x.js")
    got = [(t.request("GET", p, headers=t.auth)[0]) for p in paths]
    return all(s == 404 for s in got), str(got)


def case_content_type(t: Target, deps) -> tuple[bool, str]:
    body = main_body(t, deps, h=2)
    first = t.request("POST", UPDATE, headers={**JSON, **t.auth}, body=body)[0]
    plain = t.request("POST", UPDATE, headers={"Content-Type": "text/plain", **t.auth}, body=body)[0]
    return first == 200 and plain == 415, f"as JSON {first}, then as text/plain {plain}"


def case_absolute_form(t: Target, deps) -> tuple[bool, str]:
    auth = t.auth["Authorization"]
    with socket.create_connection(("127.0.0.1", t.port), timeout=10) as sock:
        sock.sendall(f"GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1:{t.port}\r\nAuthorization: {auth}\r\n"
                     "Connection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status == 400, f"GET http://evil.example/ with an allowed Host: {status}"


def case_2000_expiries(t: Target, deps) -> tuple[bool, str]:
    import datetime as dt

    dates = [(dt.date(2026, 11, 23) + dt.timedelta(days=i)).isoformat() for i in range(2000)]
    body = main_body(t, deps, preset="custom", exp=dates)
    t0 = time.perf_counter()
    status, _, reply = t.request("POST", UPDATE, headers={**JSON, **t.auth}, body=body)
    ms = (time.perf_counter() - t0) * 1000
    return status in (200, 204), f"{len(body) / 1024:.0f} KB body: {status} in {ms:.0f} ms ({len(reply) / 1024:.0f} KB)"


def case_malformed_files(t: Target, deps) -> tuple[bool, str]:
    header = (ROOT / "data" / DEMO_FILES[0]).read_bytes()[:4000]
    files = {"garbage": os.urandom(200_000), "truncated CSV": header[:len(header) // 2],
             "5 MB line": b"Strike," + b"9" * 5_000_000 + b"\n", "NaN rows": b"Strike,Bid,Ask\n" + b"nan,nan,nan\n" * 10_000}
    got = {}
    for name, data in files.items():
        status, _, body = t.request("POST", "/_mmpos/upload", headers={"Content-Type": "application/octet-stream",
                                                                        **t.auth}, body=data)
        stored = status == 200 and json.loads(body).get("ok")
        got[name] = f"{status}{' stored' if stored else ''}"
    return all(v in ("200", "400", "413", "415", "422") for v in got.values()), str(got)


def slow_attack(host: str, port: int, host_header: str, wrap: Callable[[socket.socket], socket.socket],
                probe: Callable[[], int]) -> tuple[bool, str]:
    stop = threading.Event()

    def trickle(head: bytes, drip: Callable[[int], bytes]) -> None:
        try:
            sock = wrap(socket.create_connection((host, port), timeout=5))
            sock.sendall(head)
            i = 0
            while not stop.wait(2.0):
                sock.sendall(drip(i))
                i += 1
        except OSError:
            pass

    body_head = (f"POST {UPDATE} HTTP/1.1\r\nHost: {host_header}\r\nContent-Type: application/json\r\n"
                 "Content-Length: 1000\r\n\r\n").encode()
    header_head = f"GET /healthz HTTP/1.1\r\nHost: {host_header}\r\n".encode()
    threads = [threading.Thread(target=trickle, args=(body_head, lambda i: b" "), daemon=True) for _ in range(10)]
    threads += [threading.Thread(target=trickle, args=(header_head, lambda i: f"X-S{i}: {i}\r\n".encode()),
                                 daemon=True) for _ in range(10)]
    for th in threads:
        th.start()
    time.sleep(2.0)
    answered = 0
    for _ in range(16):
        try:
            answered += probe() == 200
        except OSError:
            pass
        time.sleep(1.0)
    stop.set()
    for th in threads:
        th.join(10)
    return answered == 16, f"{answered} of 16 health probes answered"


def case_slow_direct(t: Target, deps) -> tuple[bool, str]:
    return slow_attack("127.0.0.1", t.port, f"127.0.0.1:{t.port}", lambda s: s,
                       lambda: t.request("GET", "/healthz", timeout=5)[0])


def case_slow_nginx(t: Target, deps, workdir: Path) -> tuple[bool, str]:
    from tests.serving.test_nginx import SITE, Nginx

    prefix = workdir / "nginx"
    prefix.mkdir(exist_ok=True)
    nginx = Nginx(prefix, t.port)
    try:
        return slow_attack("127.0.0.1", nginx.https_port, SITE, nginx.tls().wrap_socket,
                           lambda: nginx.request("GET", "/healthz", timeout=5)[0])
    finally:
        nginx.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-nginx", action="store_true", help="skip the slow-client case through nginx")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmpos-hostile-"))
    target, proc = start(work)
    results = []
    try:
        status, _, raw = target.request("GET", "/_dash-dependencies", headers=target.auth)
        deps = json.loads(raw)
        cases: list[tuple[str, Callable]] = [
            ("login: 8-thread flood vs a signed-in user", case_login_flood),
            ("login: unknown vs known user timing", case_login_timing),
            ("login: 60 wrong passwords", case_login_guesses),
            ("malformed callback bodies", case_malformed_bodies),
            ("component-suite paths", case_component_suites),
            ("same body as text/plain after JSON", case_content_type),
            ("absolute-form request target", case_absolute_form),
            ("2,000-expiry callback body", case_2000_expiries),
            ("malformed files uploaded", case_malformed_files),
            ("slow clients straight at gunicorn", case_slow_direct),
        ]
        if not args.no_nginx and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
            cases.append(("slow clients through nginx (docs/nginx)", lambda t, d: case_slow_nginx(t, d, work)))
        for name, case in cases:
            cpu0 = target.cpu_s()
            t0 = time.perf_counter()
            try:
                held, detail = case(target, deps)
            except Exception as exc:  # noqa: BLE001 - a case that breaks is a failed case, the rest go on
                held, detail = False, f"{type(exc).__name__}: {exc}"
            cpu = target.cpu_s() - cpu0
            rss = target.worst_rss_mb()
            results.append((name, held, cpu, rss))
            print(f"{'held  ' if held else 'FAILED'} {name:45s} cpu {cpu:6.2f} s  worker RSS {rss:5.0f} MB  "
                  f"({time.perf_counter() - t0:.1f} s)  {detail}", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    held = sum(1 for r in results if r[1])
    worst_cpu = max(results, key=lambda r: r[2])
    worst_rss = max(results, key=lambda r: r[3])
    print(f"\ntried {len(results)}, held {held}, failed {len(results) - held}; worst server CPU {worst_cpu[2]:.2f} s "
          f"({worst_cpu[0]}); worst worker RSS {worst_rss[3]:.0f} MB ({worst_rss[0]}); load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
