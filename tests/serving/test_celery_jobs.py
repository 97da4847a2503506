"""Scale-out background jobs: with ``MMPOS_JOBS=celery`` a real ``mmpos serve`` hands a cold view to
Dash's ``CeleryManager`` on a real redis-server, and a real ``mmpos worker`` (another process, as it
would be on another machine) computes it into the shared cache; cancel stops a running job
(dashboard/runtime/jobs.py).

The browser's background-callback protocol is spoken as dash-renderer speaks it: the page's signed
``end_id``, the job's signed ``cacheKey``/``job`` handles polled until the result arrives, and
``cancelJob`` on the Cancel button's request.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from dashboard.runtime import jobs
from dashboard.runtime.config import UnsafeConfigError, from_env
from dashboard.web import ids
from dashboard.web.state import to_query
from tests.serving.conftest import BOOT_TIMEOUT_S, ROOT, WAIT_S, Served, start_server
from tests.serving.test_hostile_http import CONTROLS, UPDATE, callback_body, state

GATE = CONTROLS  # the gate runs in the controls callback (callbacks/work.py), first input the URL
READY = f"{ids.READY_VIEW_STORE}.data"  # its output to the main update
JOB = f"{ids.PENDING_VIEW_STORE}.data"  # the background callback's input
CANCEL = f"{ids.WORK_CANCEL}.n_clicks"
JOB_DB = 5  # a Redis database of its own: the other serving tests share the server
SLOW_JOB = """  # a worker whose every analysis of the selection takes 30 s: long enough to cancel
import time
from dashboard import service
real = service.view_analysis_for
service.view_analysis_for = lambda *a, **k: time.sleep(30) or real(*a, **k)
from dashboard.cli import main
raise SystemExit(main())
"""


@pytest.fixture(scope="module")
def jobs_env(redis_url) -> dict[str, str]:
    url = re.sub(r"/\d+$", f"/{JOB_DB}", redis_url)
    redis.Redis.from_url(url).flushdb()
    # warming off: these tests need the opening view cold (dashboard.web.warm would compute it at start)
    return {"MMPOS_JOBS": "celery", "MMPOS_REDIS_URL": url, "MMPOS_BACKGROUND_ROWS": "0", "MMPOS_WORKERS": "1",
            "MMPOS_SHARED_CACHE": "on", "MMPOS_WARM": "off"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, jobs_env):
    server = start_server(tmp_path_factory.mktemp("celery-serve"), jobs_env)
    yield server
    server.stop()


def start_worker(served: Served, env_extra: dict[str, str], log_path: Path, *, slow: bool = False):
    """``mmpos worker`` (one prefork child) on the server's data folder; waits until Celery says ready and
    the worker's first heartbeat is in Redis (what the page's gate asks, ``jobs.workers_alive``: the beat
    starts on Celery's ready signal, just after the log line, and a loaded machine can run a check between)."""
    code = ["-c", SLOW_JOB] if slow else ["-m", "dashboard.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, *code, "worker", "--data-dir", str(served.data_dir), "--concurrency", "1"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mmpos worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if " ready." in log_path.read_text(errors="replace") and jobs.live_workers(env_extra["MMPOS_REDIS_URL"]):
            return proc
        time.sleep(0.2)
    stop(proc)
    pytest.fail(f"mmpos worker was not ready within {BOOT_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the worker's own session: it and its pool child
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class Page:
    """One page load's callback requests (the signed ``end_id`` dash-renderer echoes on each)."""

    def __init__(self, served: Served) -> None:
        self.served = served
        html = served.get("/").text
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', html, re.S)
        self.end_id = json.loads(config.group(1))["end_id"]
        self.deps = json.loads(served.get("/_dash-dependencies").body)

    def post(self, first_input: str, values: dict[str, Any], output: str | None = None,
             **args: str) -> tuple[int, dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in {"endId": self.end_id, **args}.items())
        body = callback_body(self.deps, first_input, values, output=output)
        reply = self.served.request("POST", f"{UPDATE}?{query}", body=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json"})
        return reply.status, (json.loads(reply.body) if reply.body.strip() else {})

    def open(self, view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Open ``view``'s link: the view state the page makes of it and where the gate sent it."""
        status, reply = self.post(GATE, {GATE: to_query(view)}, output=READY)
        assert status == 200, reply
        return reply["response"][ids.VIEW_STORE]["data"], reply["response"]

    def start_job(self, view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The gate hands ``view`` to a background job: the view state and the job's signed handles."""
        made, gate = self.open(view)
        assert gate.get(ids.PENDING_VIEW_STORE, {}).get("data") == made, "the gate did not hand the view to a job"
        assert ids.READY_VIEW_STORE not in gate  # nothing drawn until the job is done
        status, handles = self.post(JOB, {JOB: made})
        assert status == 200 and {"cacheKey", "job"} <= handles.keys(), handles
        return made, handles

    def poll_once(self, view: dict[str, Any], handles: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One of the page's polls of a running job (every ``work.POLL_MS``)."""
        status, reply = self.post(JOB, {JOB: view}, cacheKey=handles["cacheKey"], job=handles["job"])
        assert status in (200, 204), reply
        return status, reply

    def poll(self, view: dict[str, Any], handles: dict[str, Any], timeout_s: float) -> tuple[list[Any], Any]:
        """(progress texts seen, the job's result) polling as the page does; the result is None when the
        job ended without one (cancelled)."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, reply = self.poll_once(view, handles)
            if "progress" in reply:
                seen.append(reply["progress"][f"{ids.WORK_TEXT}.children"])
            if "response" in reply:
                return seen, reply["response"][ids.DONE_VIEW_STORE]["data"]
            if status == 204:
                return seen, None
            time.sleep(0.2)
        pytest.fail(f"the job gave no result within {timeout_s:.0f} s (progress seen: {seen})")


def test_celery_jobs_need_redis_and_the_shared_cache():
    assert from_env({}).jobs == "local"
    with pytest.raises(UnsafeConfigError, match="MMPOS_REDIS_URL"):
        from_env({"MMPOS_JOBS": "celery"}).checked()
    with pytest.raises(UnsafeConfigError, match="MMPOS_SHARED_CACHE"):
        from_env({"MMPOS_JOBS": "celery", "MMPOS_REDIS_URL": "redis://h:6379/0", "MMPOS_SHARED_CACHE": "off"}).checked()
    with pytest.raises(UnsafeConfigError, match="MMPOS_JOBS"):
        from_env({"MMPOS_JOBS": "cluster"}).checked()


def test_a_worker_refuses_to_start_when_jobs_stay_local(capsys):
    from dashboard.cli import main

    assert main(["worker"]) == 2
    assert "MMPOS_JOBS=celery" in capsys.readouterr().err


def test_a_cold_view_is_computed_by_the_celery_worker_into_the_shared_cache(served, jobs_env, tmp_path):
    analyses = redis.Redis.from_url(jobs_env["MMPOS_REDIS_URL"])
    before = set(analyses.keys("mmpos:analysis:*"))
    worker = start_worker(served, jobs_env, tmp_path / "worker.log")
    try:
        assert jobs.workers_alive(from_env(jobs_env))  # its heartbeat is in Redis
        page, view = Page(served), state(conv="dealer-short-all")
        view, handles = page.start_job(view)
        _progress, result = page.poll(view, handles, timeout_s=WAIT_S)  # a demo chain: too quick to see steps
    finally:
        stop(worker)
    assert result == view  # the job passed the view on: the main update draws it from the shared cache
    log = (tmp_path / "worker.log").read_text()
    assert re.search(r"Task background_callback_\w+\[[-\w]+\] succeeded", log), log[-2000:]
    assert set(analyses.keys("mmpos:analysis:*")) - before  # the view's analysis, written by the worker
    # the same view asked again is cached: the gate passes it straight to the main update
    made, gate = page.open(view)
    assert made == view and gate[ids.READY_VIEW_STORE]["data"] == view
    assert ids.PENDING_VIEW_STORE not in gate


def test_cancel_stops_the_job_running_on_the_worker(served, jobs_env, tmp_path):
    worker = start_worker(served, jobs_env, tmp_path / "worker.log", slow=True)
    try:
        page, view = Page(served), state(conv="dealer-long-all")
        view, handles = page.start_job(view)
        deadline = time.monotonic() + WAIT_S
        while "Analysing the selected" not in str(page.poll_once(view, handles)[1].get("progress")):
            assert time.monotonic() < deadline, "the job never started on the worker"
            time.sleep(0.2)
        status, _ = page.post(CANCEL, {CANCEL: 1}, cancelJob=handles["job"])
        assert status in (200, 204)
        progress, result = page.poll(view, handles, timeout_s=WAIT_S)  # a job going on ends in 30 s
        log_text = (tmp_path / "worker.log").read_text()
    finally:
        stop(worker)
    assert result is None  # no result: the page keeps the view it had
    assert "Terminating" in log_text, log_text[-2000:]
    assert not re.search(r"Task background_callback_\w+\[[-\w]+\] succeeded", log_text)


def test_without_a_live_worker_a_cold_view_is_computed_in_the_request_not_queued(served, jobs_env, tmp_path):
    settings = from_env(jobs_env)
    worker = start_worker(served, jobs_env, tmp_path / "worker.log")
    try:
        assert jobs.workers_alive(settings)
    finally:
        stop(worker)  # it signs off as it stops
    assert not jobs.workers_alive(settings)
    page, view = Page(served), state(conv="dealer-long-calls", shock=10)  # cold: no test computed it
    made, gate = page.open(view)
    assert gate[ids.READY_VIEW_STORE]["data"] == made
    assert ids.PENDING_VIEW_STORE not in gate
