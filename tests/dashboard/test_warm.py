"""Opening views computed before anyone asks (dashboard.web.warm): each underlying's newest snapshot is
warmed once into the shared cache, a new file is warmed when it appears, a view someone else is
computing is left to them, and a broken newest file is skipped without stopping the others."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from analytics.catalog import holder_for
from dashboard import service
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings, from_env
from dashboard.web import warm
from dashboard.web.callbacks.controls import resolve
from dashboard.web.callbacks.views import compute_previous
from dashboard.web.state import default_state, scenario_from_state
from tests.conftest import clear_caches_but_file_loads

SPX_DAYS = ("2026-11-19", "2026-11-20")


@pytest.fixture
def data_dir(tmp_path, demo_dir):
    """Two SPX snapshots and two BTC snapshots of the demo, in a folder a test may add files to."""
    folder = tmp_path / "data"
    folder.mkdir()
    for day in SPX_DAYS:
        shutil.copy(demo_dir / f"spx_quotedata_{day}.csv", folder)
        shutil.copy(demo_dir / f"btc_book_summary_{day}.json", folder)
    return folder


@pytest.fixture
def shared(tmp_path):
    clear_caches_but_file_loads()
    cache = SharedCache(Settings(cache_dir=tmp_path / "cache"))
    service.use_shared_cache(cache)
    yield cache
    service.use_shared_cache(None)
    clear_caches_but_file_loads()


@pytest.fixture
def counted(monkeypatch):
    """The snapshot ids ``analyze`` was called for, in order."""
    calls: list[str] = []
    real = service.analyze
    monkeypatch.setattr(service, "analyze", lambda chain, scenario, **kw: calls.append(
        os.path.basename(str(chain.source))) or real(chain, scenario, **kw))
    return calls


def opening(data_dir, underlying):
    catalog = service.get_catalog(data_dir)
    state = resolve(default_state(u=underlying), catalog).state
    return catalog, catalog.get(state["snap"]), state


def is_cold(data_dir, underlying) -> bool:
    _, entry, state = opening(data_dir, underlying)
    return service.is_cold(data_dir, entry, scenario_from_state(state))


def test_each_underlyings_opening_view_is_warmed_once_with_its_comparison(data_dir, shared, counted):
    assert warm.cold_openings(data_dir) == ["btc-20261120-1400", "spx-20261120-1615"]
    warmer = warm.Warmer(data_dir)
    assert sorted(warmer.pass_once()) == ["btc-20261120-1400", "spx-20261120-1615"]
    assert warm.cold_openings(data_dir) == []
    # the opening view and the previous snapshot's comparison, for each underlying
    assert sorted(counted) == sorted(["spx_quotedata_2026-11-20.csv", "spx_quotedata_2026-11-19.csv",
                                      "btc_book_summary_2026-11-20.json", "btc_book_summary_2026-11-19.json"])
    assert warmer.pass_once() == [] and len(counted) == 4
    # a page opening the view afterwards computes nothing: the previous snapshot's comparison included
    catalog, entry, state = opening(data_dir, "SPX")
    assert compute_previous(state, catalog, entry, str(data_dir)).analysis is not None
    assert len(counted) == 4


def test_a_new_snapshot_is_warmed_when_it_appears(data_dir, shared, counted, demo_dir):
    warmer = warm.Warmer(data_dir)
    warmer.pass_once()
    shutil.copy(demo_dir / "spx_quotedata_2026-11-18.csv", data_dir)  # an older file: nothing new to open
    holder_for(data_dir).refresh()
    assert warmer.pass_once() == []
    text = (data_dir / "spx_quotedata_2026-11-20.csv").read_text()  # Monday's morning snapshot lands
    (data_dir / "spx_quotedata_2026-11-23.csv").write_text(
        text.replace("Date: November 20, 2026 at 4:15 PM EST", "Date: November 23, 2026 at 9:45 AM EST", 1))
    holder_for(data_dir).refresh()
    assert warmer.pass_once() == ["spx-20261123-0945"]
    assert not is_cold(data_dir, "SPX")


def test_a_view_another_worker_claimed_is_left_to_it(data_dir, shared, counted):
    _, entry, state = opening(data_dir, "SPX")
    assert service.claim_background(data_dir, entry, scenario_from_state(state))
    assert warm.Warmer(data_dir).pass_once() == ["btc-20261120-1400"]
    assert "spx_quotedata_2026-11-20.csv" not in counted and is_cold(data_dir, "SPX")


def test_newer_files_that_cannot_be_read_are_skipped_and_every_underlying_is_warmed(data_dir, shared, counted):
    text = (data_dir / "spx_quotedata_2026-11-20.csv").read_text()  # every expiry over by then
    (data_dir / "spx_quotedata_2029-01-05.csv").write_text(
        text.replace("Date: November 20, 2026 at 4:15 PM EST", "Date: January 5, 2029 at 9:45 AM EST", 1))
    (data_dir / "spx_quotedata_2029-01-06.csv").write_text("not a chain\n")
    holder_for(data_dir).refresh()
    assert sorted(warm.Warmer(data_dir).pass_once()) == ["btc-20261120-1400", "spx-20261120-1615"]
    assert not {"spx_quotedata_2029-01-05.csv", "spx_quotedata_2029-01-06.csv"} & set(counted)


def test_warming_needs_the_shared_cache_and_can_be_turned_off():
    assert warm.enabled(from_env({}))
    assert not warm.enabled(from_env({"MMPOS_WARM": "off"}))
    assert not warm.enabled(from_env({"MMPOS_SHARED_CACHE": "off"}))
    assert warm.start(from_env({"MMPOS_WARM": "off"})) is None


def test_the_thread_warms_at_a_lower_priority_and_stops(data_dir, shared):
    warmer = warm.start(Settings(data_dir=data_dir, rescan_s=0.0, cache_dir=None))
    assert warmer is not None
    deadline = time.monotonic() + 60
    while is_cold(data_dir, "SPX") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_cold(data_dir, "SPX")
    thread = next(t for t in threading.enumerate() if t.name == "mmpos-warm")
    assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + warm.NICENESS)
    warmer.stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
