"""``/readyz`` reports every piece a server uses (the data folder, the shared cache, the Celery workers)
and is 503 only for what stops pages (dashboard/http/edge.py ``readiness``); a web server started before
Redis signs its job handles with the secret every process shares once Redis answers (dashboard/runtime/jobs.py).

A real ``mmpos serve`` in Celery mode whose Redis port nobody listens on at first; the tests start and
stop a real redis-server on that port under it.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dash import CeleryManager, _callback_signing

from dashboard.http import edge
from dashboard.runtime import jobs
from dashboard.runtime.cache import QUICK_TIMEOUT_S
from dashboard.runtime.config import Settings, from_env
from tests.serving.conftest import (
    DEMO,
    DEMO_FILES,
    WAIT_S,
    Served,
    free_port,
    start_redis,
    start_server,
    stop_redis,
)
from tests.serving.test_celery_jobs import Page, start_worker, stop
from tests.serving.test_faults import controls, main_update
from tests.serving.test_hostile_http import state

SECRET_KEY = CeleryManager.SIGNING_SECRET_KEY


@pytest.fixture(scope="module")
def redis_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def late_env(redis_port) -> dict[str, str]:
    return {"MMPOS_JOBS": "celery", "MMPOS_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "MMPOS_BACKGROUND_ROWS": "0", "MMPOS_WORKERS": "1", "MMPOS_SHARED_CACHE": "on"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, late_env) -> Iterator[Served]:
    """``mmpos serve`` started while nothing listens on its Redis port."""
    server = start_server(tmp_path_factory.mktemp("late-redis"), late_env)
    yield server
    server.stop()


def readyz(served: Served) -> tuple[int, dict[str, Any], str]:
    reply = served.get("/readyz")
    return reply.status, json.loads(reply.body), reply.text


def assert_pages_answer(served: Served, **view: Any) -> None:
    """The page loads, and a view no one computed before is drawn in the request (its title shows the
    spot; the banner holds at most the snapshot's data notes, never an error)."""
    assert served.get("/").status == 200
    deps = json.loads(served.get("/_dash-dependencies").body)
    made, banner = controls(served, deps)
    assert banner == "[]"
    title, banner = main_update(served, deps, {**made, **view})
    assert title.startswith("SPX  ·  spot ") and "banner-error" not in banner and "banner-warn" not in banner


def test_without_redis_the_server_is_degraded_not_unready_and_pages_still_answer(served, redis_port):
    status, body, text = readyz(served)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["data"]["ok"] and body["checks"]["cache"] == {
        "kind": "redis", "ok": False, "error": "ConnectionError"}
    assert body["checks"]["jobs"] == {"kind": "celery", "ok": False, "workers": None, "error": "ConnectionError"}
    assert "shared cache (redis) unusable" in body["reason"] and "cold views are computed in the request" in body["reason"]
    assert str(redis_port) not in text and "127.0.0.1" not in text  # no host of the service
    assert_pages_answer(served, shock=15)


def test_a_server_started_before_redis_signs_with_the_shared_secret_once_redis_answers(served, redis_port, late_env,
                                                                                    tmp_path):
    Page(served)  # a page load while Redis is away: Dash resolves the signing secret now, and used to keep it
    proc = start_redis(redis_port, tmp_path)
    try:
        time.sleep(jobs.SECRET_RETRY_S)  # the server may ask Redis again from now on
        status, body, _ = readyz(served)
        assert status == 200 and body["status"] == "degraded" and body["reason"].startswith("no mmpos worker alive")
        assert body["checks"]["cache"]["ok"] and body["checks"]["cache"]["latency_ms"] < 1000 * QUICK_TIMEOUT_S
        assert body["checks"]["jobs"] == {"kind": "celery", "ok": False, "workers": 0}
        pages = [Page(served) for _ in range(3)]
        store = redis.Redis(port=redis_port)
        secret = store.get(SECRET_KEY)
        assert secret and store.ttl(SECRET_KEY) == -1  # never expires, so volatile-lru never evicts it
        for page in pages:  # signed with what every other web process reads from Redis
            assert _callback_signing.unsign(secret, _callback_signing.END_SCOPE, page.end_id) is not None
        worker = start_worker(served, late_env, tmp_path / "worker.log")
        try:
            status, body, _ = readyz(served)
            assert status == 200 and body["status"] == "ready" and "reason" not in body
            assert body["checks"]["jobs"] == {"kind": "celery", "ok": True, "workers": 1}
            view, handles = pages[0].start_job(state(conv="dealer-short-all"))  # not the warmed default view
            assert view["conv"] == "dealer-short-all"  # a real convention, kept by the page (not reset to the default)
            _, result = pages[0].poll(view, handles, timeout_s=WAIT_S)
        finally:
            stop(worker)
    finally:
        stop_redis(proc)
    assert result == view


def test_with_redis_stopped_under_it_the_server_is_degraded_and_pages_still_answer(served, redis_port, tmp_path):
    proc = start_redis(redis_port, tmp_path)
    try:
        Page(served)  # a page load with Redis up: the server has talked to it
        assert readyz(served)[1]["checks"]["cache"]["ok"]
    finally:
        stop_redis(proc)
    status, body, _ = readyz(served)
    assert status == 200 and body["status"] == "degraded" and not body["checks"]["cache"]["ok"]
    assert_pages_answer(served, shock=10)


def test_a_redis_that_never_answers_costs_readiness_its_short_timeout_not_a_hang(tmp_path, monkeypatch):
    for name in DEMO_FILES:
        shutil.copy(DEMO / name, tmp_path / name)
    asked_workers = []
    real_live_workers = jobs.live_workers
    monkeypatch.setattr(jobs, "live_workers", lambda url: asked_workers.append(url) or real_live_workers(url))
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = from_env({"MMPOS_JOBS": "celery", "MMPOS_REDIS_URL": f"redis://127.0.0.1:{silent.getsockname()[1]}/0"})
        status, body = edge.readiness(tmp_path, settings)
    # the PING gave up on its QUICK_TIMEOUT_S (no hang), and Redis was not asked again for the workers
    assert status == 200 and body["status"] == "degraded" and body["checks"]["cache"]["error"] == "TimeoutError"
    assert asked_workers == [] and body["checks"]["jobs"]["workers"] is None


def test_a_local_server_with_its_cache_folder_gone_is_degraded_and_an_unusable_data_folder_is_503(tmp_path):
    for name in DEMO_FILES:
        shutil.copy(DEMO / name, tmp_path / name)
    settings = Settings(cache_dir=tmp_path / "cache")
    status, body = edge.readiness(tmp_path, settings)
    assert (status, body["checks"]["cache"]["kind"], body["checks"]["jobs"]) == (200, "folder", {"kind": "local", "ok": True})
    assert body["status"] == "degraded" and "shared cache (folder) unusable" in body["reason"]
    (tmp_path / "cache").mkdir()
    assert edge.readiness(tmp_path, settings)[1]["status"] == "ready"
    assert edge.readiness(tmp_path, Settings(shared_cache=False))[1]["checks"]["cache"] == {"kind": "off", "ok": True}
    status, body = edge.readiness(tmp_path / "gone", settings)
    assert status == 503 and body["status"] == "not ready" and re.match("data directory not found", body["reason"])
