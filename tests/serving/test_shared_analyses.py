"""The service's analyses go through the shared cache: a second worker process reuses the first one's
analyses instead of computing them (counted calls to ``analyze``), and a changed file or scenario is
computed again; a cold view of a big chain is routed to a background job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from dash import no_update

from analytics.scenario import Scenario
from dashboard import service
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import DEFAULT_BACKGROUND_ROWS, Settings, UnsafeConfigError, from_env
from dashboard.web.callbacks import work
from dashboard.web.state import scenario_from_state
from tests.serving.conftest import DEMO, ROOT

SNAPSHOT = "spx_quotedata_2026-11-20.csv"

# One "worker": analyses two views of the snapshot through the service and counts analyze() calls.
WORKER = """
import json, sys
from analytics.scenario import Scenario
from dashboard import service
calls = []
real = service.analyze
service.analyze = lambda chain, scenario, **kw: calls.append(scenario) or real(chain, scenario, **kw)
data_dir = sys.argv[1]
catalog = service.get_catalog(data_dir)
entry = catalog.entries[0]
views = [Scenario(), Scenario(convention="dealer-short-all", shocks_pct=(-2.0, 2.0))]
totals = [service.analysis_for(data_dir, entry, s).total_gex_usd_per_1pct for s in views]
print(json.dumps({"analyze_calls": len(calls), "totals": totals, "backend": getattr(service.shared_cache(), "backend", None)}))
"""


def run_worker(data_dir, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(data_dir)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def one_snapshot(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(DEMO / SNAPSHOT, folder / SNAPSHOT)
    return folder


def test_a_second_worker_process_reuses_the_first_workers_analyses_through_redis(redis_url, one_snapshot, tmp_path):
    env = {"MMPOS_SHARED_CACHE": "on", "MMPOS_REDIS_URL": redis_url, "MMPOS_CACHE_DIR": str(tmp_path / "unused")}
    first = run_worker(one_snapshot, env)
    second = run_worker(one_snapshot, env)
    assert first["backend"] == second["backend"] == "redis"
    assert first["analyze_calls"] == 2
    assert second["analyze_calls"] == 0
    assert second["totals"] == first["totals"]
    assert not (tmp_path / "unused").exists()


def test_with_the_shared_cache_off_every_worker_computes_its_own(one_snapshot, tmp_path):
    env = {"MMPOS_SHARED_CACHE": "off", "MMPOS_CACHE_DIR": str(tmp_path / "cache")}
    first = run_worker(one_snapshot, env)
    second = run_worker(one_snapshot, env)
    assert first["backend"] is second["backend"] is None
    assert first["analyze_calls"] == second["analyze_calls"] == 2
    assert not (tmp_path / "cache").exists()


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """The service in this process with a shared cache folder of its own; the analyze() calls it makes."""
    calls: list[Scenario] = []
    real = service.analyze
    monkeypatch.setattr(service, "analyze", lambda chain, scenario, **kw: calls.append(scenario) or real(chain, scenario, **kw))
    service.use_shared_cache(SharedCache(Settings(cache_dir=tmp_path / "cache")))
    yield calls
    service.use_shared_cache(None)


def test_an_analysis_in_the_shared_folder_is_not_computed_again_by_a_fresh_process_cache(counted, one_snapshot):
    entry = service.get_catalog(one_snapshot).entries[0]
    first = service.analysis_for(one_snapshot, entry, Scenario())
    service._analysis.cache_clear()  # what a newly started worker has in memory: nothing
    again = service.analysis_for(one_snapshot, entry, Scenario())
    assert len(counted) == 1
    assert again.total_gex_usd_per_1pct == first.total_gex_usd_per_1pct
    assert again.by_strike.equals(first.by_strike)


def test_another_scenario_or_a_rewritten_file_is_computed_again(counted, one_snapshot):
    path = one_snapshot / SNAPSHOT
    entry = service.get_catalog(one_snapshot).entries[0]
    service.analysis_for(one_snapshot, entry, Scenario())
    service.analysis_for(one_snapshot, entry, Scenario(vol_shift_pts=1.0))
    assert len(counted) == 2
    stat = path.stat()
    shutil.copy(DEMO / SNAPSHOT, path)  # same bytes, mtime kept: a new inode/ctime is a new version
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    service._analysis.cache_clear()
    service.analysis_for(one_snapshot, service.get_catalog(one_snapshot).entries[0], Scenario())
    assert len(counted) == 3


def test_the_shared_cache_and_background_jobs_are_on_by_default_and_can_be_turned_off():
    on = from_env({})
    assert on.shared_cache is True and on.background_rows == DEFAULT_BACKGROUND_ROWS
    off = from_env({"MMPOS_SHARED_CACHE": "off", "MMPOS_BACKGROUND_ROWS": "off"})
    assert off.shared_cache is False and off.background_rows is None
    with pytest.raises(UnsafeConfigError):
        from_env({"MMPOS_BACKGROUND_ROWS": "-5"}).checked()


def test_a_cold_view_of_a_big_chain_goes_to_a_background_job_and_a_cached_or_small_one_straight_on(
        counted, one_snapshot):
    entry = service.get_catalog(one_snapshot).entries[0]
    state = {"u": "SPX", "snap": entry.id, "preset": "all", "conv": "dealer-long-calls"}
    ready, pending = work.route(state, str(one_snapshot), min_rows=entry.n_rows)
    assert ready is no_update and pending == state  # cold, and as big as the threshold
    # a second user while that job runs waits for it in the main update rather than starting another
    assert work.route(state, str(one_snapshot), min_rows=entry.n_rows) == (state, no_update)
    assert work.route({**state, "conv": "dealer-short-all"}, str(one_snapshot), min_rows=entry.n_rows)[1] != no_update
    assert work.route(state, str(one_snapshot), min_rows=entry.n_rows + 1) == (state, no_update)  # small
    assert work.route(state, str(one_snapshot), min_rows=None) == (state, no_update)  # jobs off
    service.analysis_for(one_snapshot, entry, scenario_from_state(state))  # what the job does
    assert work.route(state, str(one_snapshot), min_rows=entry.n_rows) == (state, no_update)  # now cached
