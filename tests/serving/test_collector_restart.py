"""``mmpos serve`` with ``MMPOS_COLLECT`` (issue 19): the collector child is started again when it dies.

A real ``mmpos serve`` (gunicorn) whose collector fetches from a local port where nothing listens
(each pass is one failure, written to the status file with the collector's pid): the test kills that
pid and polls the status file until another collector process has written it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.collect import read_status
from tests.serving.conftest import BOOT_TIMEOUT_S, ROOT, WAIT_S, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie is gone too


def _poll(what, timeout_s: float, why: str, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    pytest.fail(f"{why} within {timeout_s:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def _collector_pid(data: Path, other_than: int | None = None) -> int | None:
    status = read_status(data)
    pid = int(status["pid"]) if status and status.get("pid") else None
    return pid if pid and pid != other_than and _alive(pid) else None


def test_a_killed_collector_is_started_again_and_stopped_with_the_server(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MMPOS_WORKERS": "1", "MMPOS_THREADS": "2",
           "MMPOS_COLLECT": "BTC@30s", "MMPOS_DERIBIT_BASE_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens
    env.pop("MMPOS_STATE_DIR", None)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--data-dir", str(data), "--port",
                                 str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        first = _poll(lambda: _collector_pid(data), BOOT_TIMEOUT_S, "no collector wrote its status", log)
        os.kill(first, signal.SIGKILL)
        second = _poll(lambda: _collector_pid(data, other_than=first), WAIT_S, "the killed collector did not come back",
                       log)
        assert second != first
        assert "restarting it in 1 s (restart 1 in a row)" in log.read_text(errors="replace")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    _poll(lambda: not _alive(second), WAIT_S, "the collector outlived the server", log)
