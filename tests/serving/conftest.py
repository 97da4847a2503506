"""A real ``mmpos serve`` (gunicorn) in a subprocess on a free port, and a small HTTP client for it.

Each server costs a few seconds to boot (Dash import, app, first scan): the default one is shared by
the whole session and every test puts back whatever it changes.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.conftest import pytest_setup_options  # noqa: F401  (headless Chromium for dash_br)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data"
DEMO_FILES = ("spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv")
BOOT_TIMEOUT_S = 60.0
# The longest a test waits for what must happen (a job's result, a process's end): generous, because a
# loaded 2-core machine can be ten times slower than an idle one, and free when it happens sooner.
WAIT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Served:
    """One running ``mmpos serve``."""

    port: int
    proc: subprocess.Popen
    log_path: Path
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
                source: str | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2 * WAIT_S,
                                          source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **(headers or {})})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = WAIT_S) -> str:
        """The log once ``pattern`` (a regular expression) is in it: a line written after the response
        (the access log) is polled for, never slept for."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"{pattern!r} not in the server log within {timeout:.0f} s:\n{text[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(workdir: Path, env_extra: dict[str, str] | None = None, *args: str,
                 prefix: tuple[str, ...] = ()) -> Served:
    """Copy two demo snapshots into ``workdir/data`` and serve them; waits for ``/healthz``.

    ``prefix`` runs the server through a wrapper command (e.g. ``setpriv`` dropping capabilities)."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        shutil.copy(DEMO / name, data_dir / name)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_WORKERS": "2", "MMPOS_THREADS": "2",
           "MMPOS_RESCAN_SECONDS": "0", **(env_extra or {})}
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "dashboard.cli", "serve", "--data-dir", str(data_dir), "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    served = Served(port, proc, log_path, data_dir)
    workers = int(env["MMPOS_WORKERS"])
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mmpos serve exited with {proc.returncode}:\n{served.log()[-3000:]}")
        try:
            if len(served.worker_pids()) == workers and served.get("/healthz").status == 200:
                return served
        except OSError:
            pass
        time.sleep(0.2)
    served.stop()
    pytest.fail(f"mmpos serve did not answer /healthz within {BOOT_TIMEOUT_S:.0f} s:\n{served.log()[-3000:]}")


def start_redis(port: int, folder: Path) -> subprocess.Popen:
    """A real redis-server (Debian's) on ``port`` of 127.0.0.1, no persistence; waits until it accepts."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: `make test` installs it (apt-get install redis-server)")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=5)
    pytest.fail(f"redis-server did not accept connections on port {port} within 10 s")


def stop_redis(proc: subprocess.Popen) -> None:
    """Stop a redis-server started by :func:`start_redis` (by its pid)."""
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free port for the session; stopped by its pid."""
    port = free_port()
    proc = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    stop_redis(proc)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """``mmpos serve`` with the default edge (no login), two workers (shared by the modules here)."""
    served = start_server(tmp_path_factory.mktemp("serve"))
    yield served
    served.stop()
