"""``mmpos serve`` warms each underlying's opening view as it starts and as new files land
(dashboard.web.warm, started in every gunicorn worker): the shared cache holds the view before any page
asks for it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from analytics.catalog import holder_for
from dashboard import service
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings
from dashboard.web import warm
from tests.serving.conftest import Served, start_server

WARM_TIMEOUT_S = 60.0


@pytest.fixture
def cache_dir(tmp_path):
    folder = tmp_path / "cache"
    service.use_shared_cache(SharedCache(Settings(cache_dir=folder)))  # this process reads the server's cache
    yield folder
    service.use_shared_cache(None)
    service.clear_caches()


def cold_openings(data_dir) -> list[str]:
    holder_for(data_dir).refresh()  # this process's catalog sees the files the test added
    return warm.cold_openings(data_dir)


def wait_until_warm(data_dir) -> None:
    deadline = time.monotonic() + WARM_TIMEOUT_S
    while (cold := cold_openings(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert cold == [], f"the opening views of {cold} were not warmed within {WARM_TIMEOUT_S:.0f} s"


def warming_threads(served: Served) -> dict[int, list[int]]:
    """Each worker's threads running below its CPU priority (worker pid -> thread ids): the warming
    thread lowers its own (``warm.lower_priority``) as its first step, and nothing else in a worker
    does. Threads the warming thread starts (the engine's short-lived pool, the kernel's loader)
    inherit its priority, so a worker may list more than one while it computes."""
    found: dict[int, list[int]] = {}
    for pid in served.worker_pids():
        base = os.getpriority(os.PRIO_PROCESS, pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                if os.getpriority(os.PRIO_PROCESS, int(task.name)) > base:
                    found.setdefault(pid, []).append(int(task.name))
            except OSError:  # the thread ended meanwhile
                pass
    return found


def test_the_server_warms_the_opening_view_at_start_and_when_a_new_file_lands(tmp_path, cache_dir):
    served = start_server(tmp_path / "serve", {"MMPOS_SHARED_CACHE": "on", "MMPOS_CACHE_DIR": str(cache_dir),
                                               "MMPOS_RESCAN_SECONDS": "1"})
    try:
        assert cold_openings(served.data_dir) in (["spx-20261120-1615"], [])  # warming, or done already
        wait_until_warm(served.data_dir)
        deadline = time.monotonic() + WARM_TIMEOUT_S
        while len(warming_threads(served)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        # a warming thread in each worker (what the test below proves absent)
        assert sorted(warming_threads(served)) == sorted(served.worker_pids())
        text = (served.data_dir / "spx_quotedata_2026-11-20.csv").read_text()  # Monday's first snapshot lands
        (served.data_dir / "spx_quotedata_2026-11-23.csv").write_text(
            text.replace("Date: November 20, 2026 at 4:15 PM EST", "Date: November 23, 2026 at 9:45 AM EST", 1))
        assert cold_openings(served.data_dir) == ["spx-20261123-0945"]
        wait_until_warm(served.data_dir)
        assert "Traceback" not in served.log()
    finally:
        served.stop()


def test_the_server_does_not_warm_with_warming_off(tmp_path, cache_dir):
    served = start_server(tmp_path / "serve", {"MMPOS_SHARED_CACHE": "on", "MMPOS_CACHE_DIR": str(cache_dir),
                                               "MMPOS_WARM": "off"})
    try:
        assert served.get("/healthz").status == 200 and len(served.worker_pids()) == 2
        # a warmer starts as its worker forks, before the worker answers: proven absent, not waited for
        assert warming_threads(served) == {}
        assert cold_openings(served.data_dir) == ["spx-20261120-1615"]
    finally:
        served.stop()
