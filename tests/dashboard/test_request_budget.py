"""A CPU budget per request (issue #17): no callback starts more work than ``MMPOS_REQUEST_BUDGET_S``.

A cold view estimated (rows x grid points x curves) or measured to cost more goes to a background job
(the gate), or is refused with a banner when none can take it (the main update); a job is stopped at
``MMPOS_JOB_TIME_LIMIT``; a request naming more expiries than the chain lists is refused before a date
is read. CPU is measured with ``time.process_time`` (a loaded machine does not change it), on the real
20,592-row SPX chain copied into ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
from dash import no_update

from dashboard import service
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings
from dashboard.web import ids
from dashboard.web.callbacks import controls, views, work
from dashboard.web.state import (  # the widest shock range
    MAX_SHOCK_RANGE_PCT,
    default_state,
    scenario_from_state,
)
from tests.conftest import clear_caches_but_file_loads, shared_file

CPU_BUDGET_S = 2.0  # issue #17: a replayed hostile request costs at most 2 s of CPU
REAL_SPX = "cboe_spx_2024-01-07_phammings.csv"


@pytest.fixture
def spx_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy2(shared_file(REAL_SPX), folder)
    clear_caches_but_file_loads()
    yield str(folder)
    clear_caches_but_file_loads()


@pytest.fixture
def shared(tmp_path):
    cache = SharedCache(Settings(cache_dir=tmp_path / "cache"))
    service.use_shared_cache(cache)
    yield cache
    service.use_shared_cache(None)


def entry_of(data_dir: str):
    return service.get_catalog(data_dir).entries[0]


def made_up_dates(n: int) -> list[str]:
    return [(dt.date(2024, 1, 8) + dt.timedelta(days=i)).isoformat() for i in range(n)]


def banner_text(rendered: dict) -> str:
    return str(rendered["banner"])


def test_the_request_budget_is_a_setting_with_bounds():
    from dashboard.runtime.config import UnsafeConfigError, from_env

    assert from_env({"MMPOS_REQUEST_BUDGET_S": "2.5"}).request_budget_s == 2.5
    assert from_env({}).request_budget_s <= 5  # a few seconds by default
    with pytest.raises(UnsafeConfigError, match="MMPOS_REQUEST_BUDGET_S"):
        from_env({"MMPOS_REQUEST_BUDGET_S": "0"})


def test_a_cold_view_over_the_budget_is_refused_with_a_banner_and_costs_little_cpu(spx_dir):
    entry = entry_of(spx_dir)
    state = default_state(u=entry.underlying, snap=entry.id, shock=MAX_SHOCK_RANGE_PCT, h=1, vol="beta", volv=-2)
    assert service.estimated_cost_s(entry, scenario_from_state(state)) > 0.05
    start = time.process_time()
    out = views.main_update(state, None, spx_dir, budget_s=0.05)
    spent = time.process_time() - start
    assert "View not computed" in banner_text(out) and "MMPOS_REQUEST_BUDGET_S" in banner_text(out)
    assert spent < CPU_BUDGET_S
    assert not service.is_cached(spx_dir, entry, scenario_from_state(state))  # nothing was analysed
    # the comparison callback, posted directly, starts nothing either
    assert views.comparison(state, {"drawn": [views.SUMMARY, "gamma"]}, spx_dir, budget_s=0.05) == views.NO_COMPARISON


def test_a_view_within_the_budget_is_drawn_and_then_counts_as_cached(spx_dir):
    entry = entry_of(spx_dir)
    state = default_state(u=entry.underlying, snap=entry.id)
    out = views.main_update(state, None, spx_dir, budget_s=600.0)
    assert "View not computed" not in banner_text(out) and out["title"] is not no_update
    assert service.is_cached(spx_dir, entry, scenario_from_state(state))
    # drawn once, it is not refused later even under a small budget (it costs nothing now)
    again = views.main_update(state, None, spx_dir, budget_s=0.001)
    assert "View not computed" not in banner_text(again)


def test_the_estimate_follows_what_this_process_measured(spx_dir):
    entry = entry_of(spx_dir)
    scenario = scenario_from_state(default_state(u=entry.underlying, snap=entry.id))
    before = service.estimated_cost_s(entry, scenario)
    service.record_cost(entry, scenario, 100 * before)  # a machine 100x slower than the model's figure
    assert service.estimated_cost_s(entry, scenario) > 50 * before


def test_the_gate_sends_a_view_over_the_budget_to_a_background_job_whatever_its_rows(spx_dir, shared):
    entry = entry_of(spx_dir)
    state = default_state(u=entry.underlying, snap=entry.id, shock=MAX_SHOCK_RANGE_PCT, h=1)
    few_rows = entry.n_rows + 1  # the chain is under MMPOS_BACKGROUND_ROWS
    assert work.route(state, spx_dir, few_rows, budget_s=600.0) == (state, no_update)
    assert work.route(state, spx_dir, few_rows, budget_s=0.05) == (no_update, state)


def test_a_request_naming_more_expiries_than_the_chain_lists_is_refused_before_any_date_is_read(spx_dir):
    entry = entry_of(spx_dir)
    live = [d.isoformat() for d in service.facts_for(entry).expiries]
    repeated = (live * (2_000 // len(live) + 1))[:2_000]  # every date real, each named ~37 times
    state = default_state(u=entry.underlying, snap=entry.id, preset="custom", exp=repeated)
    start = time.process_time()
    out = views.main_update(state, None, spx_dir, budget_s=600.0)
    assert time.process_time() - start < CPU_BUDGET_S
    assert "Expiries refused" in banner_text(out) and f"lists {len(live)} " in banner_text(out)


def test_the_controls_keep_each_named_expiry_once_whatever_the_request_repeats(spx_dir):
    entry = entry_of(spx_dir)
    live = [d.isoformat() for d in service.facts_for(entry).expiries]
    previous = default_state(u=entry.underlying, snap=entry.id, preset="custom", exp=(live[:3] * 700)[:2_000])
    at = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}
    out = controls.update(f"{ids.CONVENTION}.value", {f"{ids.CONVENTION}.value": "dealer-short-all"}, previous,
                          spx_dir)
    assert out[at["store"]]["exp"] == live[:3]


@pytest.mark.parametrize("source", ["real", "demo"])
def test_a_replayed_hostile_request_costs_at_most_two_seconds_of_cpu_end_to_end(spx_dir, demo_files, tmp_path, source):
    """2,000 made-up expiry dates through the controls, the main update and the comparison, as the probe
    posted them, on the real SPX chain and on the demo's."""
    if source == "demo":
        spx_dir = str(tmp_path / "demo")
        (tmp_path / "demo").mkdir()
        shutil.copy2(demo_files["spx_quotedata_2026-11-20.csv"], spx_dir)
    entry = entry_of(spx_dir)
    dates = made_up_dates(2_000)
    previous = default_state(u=entry.underlying, snap=entry.id)
    hostile = default_state(u=entry.underlying, snap=entry.id, preset="custom", exp=dates)
    start = time.process_time()
    controls.update(f"{ids.EXPIRIES}.value", {f"{ids.EXPIRIES}.value": dates}, previous, spx_dir)
    views.main_update(hostile, None, spx_dir, budget_s=3.0)
    views.comparison(hostile, {"drawn": [views.SUMMARY]}, spx_dir, budget_s=3.0)
    assert time.process_time() - start < CPU_BUDGET_S


def test_a_background_job_past_its_time_limit_is_stopped_and_the_view_then_refused(spx_dir, shared, monkeypatch):
    entry = entry_of(spx_dir)
    state = default_state(u=entry.underlying, snap=entry.id)
    scenario = scenario_from_state(state)
    assert service.claim_background(spx_dir, entry, scenario)

    def endless(*args, **kwargs):
        while True:  # pure Python: what the limit has to stop
            sum(range(10_000))

    monkeypatch.setattr(service, "view_analysis_for", endless)
    monkeypatch.setattr(service, "ROW_POINTS_PER_S", 1e15)  # the model alone would let the view in
    monkeypatch.setattr(service, "PARSE_ROWS_PER_S", 1e15)
    assert service.estimated_cost_s(entry, scenario) < 0.01
    steps: list[tuple[str, str, str]] = []
    assert work.run_job(steps.append, state, spx_dir, limit_s=0.5) == state
    assert steps and steps[-1][0] == "1"  # stopped in the analysis
    assert not service.being_computed(spx_dir, entry, scenario)  # the claim is let go
    assert service.measured_too_slow(spx_dir, entry, scenario) == 0.5
    out = views.main_update(state, None, spx_dir, budget_s=0.4)  # over 0.4 s as measured, not as estimated
    assert "View not computed" in banner_text(out)
