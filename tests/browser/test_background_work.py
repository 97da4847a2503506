"""A cold analysis of a big chain runs as a background job: the page shows its progress, can cancel
it, and draws the view when it is done (dashboard/web/callbacks/work.py)."""

from __future__ import annotations

import time

import pytest

from dashboard import service
from dashboard.app import create_app
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings
from dashboard.web import ids
from tests.browser.test_dashboard import graph, wait_for, wait_for_charts

pytestmark = pytest.mark.browser
SLOW_S = 1.5  # every analysis takes this long here: long enough to watch, short enough for a test


@pytest.fixture
def slow_background(monkeypatch, tmp_path):
    """Every cold view goes through a background job; each analysis takes SLOW_S seconds."""
    monkeypatch.setenv("MMPOS_SHARED_CACHE", "on")
    monkeypatch.setenv("MMPOS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MMPOS_BACKGROUND_ROWS", "0")
    service.use_shared_cache(SharedCache(Settings(cache_dir=tmp_path / "cache")))
    real = service.analyze
    monkeypatch.setattr(service, "analyze", lambda chain, scenario, **kw: time.sleep(SLOW_S) or real(chain, scenario, **kw))
    yield
    service.use_shared_cache(None)


def open_default_spx_view(dash_duo, start_app, demo_dir) -> None:
    """Serve the demo and stay on the page ``start_server`` opened: the default SPX view.

    Opening ``/?u=SPX`` after it raced with that first page: when its gate had already claimed the
    job for the same view, the second page rightly waited for that job without a panel of its own."""
    start_app(create_app(demo_dir))
    wait_for(dash_duo, lambda: dash_duo.find_element(f"#{ids.UNDERLYING}").text.strip().startswith("SPX"),
             "the page did not open on the default SPX view")


def panel_shown(dash_duo) -> bool:
    return dash_duo.find_element(f"#{ids.WORK_PANEL}").value_of_css_property("display") != "none"


def test_a_slow_analysis_shows_its_progress_then_draws_the_view(dash_duo, start_app, demo_dir, slow_background,
                                                                 artifacts):
    open_default_spx_view(dash_duo, start_app, demo_dir)
    wait_for(dash_duo, lambda: panel_shown(dash_duo), "the work panel never showed")
    wait_for(dash_duo, lambda: "Analysing the selected expiries" in dash_duo.find_element(f"#{ids.WORK_TEXT}").text,
             "the job's progress never showed")
    assert dash_duo.find_element(f"#{ids.WORK_PROGRESS}").get_attribute("value") == "1"
    dash_duo.driver.save_screenshot(str(artifacts / "background_progress.png"))
    assert not graph(dash_duo, ids.GAMMA_GRAPH)  # nothing drawn while the job runs
    wait_for_charts(dash_duo)
    wait_for(dash_duo, lambda: not panel_shown(dash_duo), "the work panel stayed")
    assert dash_duo.get_logs() == []


def test_cancel_stops_the_job_and_hides_the_panel(dash_duo, start_app, demo_dir, slow_background):
    open_default_spx_view(dash_duo, start_app, demo_dir)
    wait_for(dash_duo, lambda: panel_shown(dash_duo), "the work panel never showed")
    dash_duo.find_element(f"#{ids.WORK_CANCEL}").click()
    wait_for(dash_duo, lambda: not panel_shown(dash_duo), "cancel did not hide the panel")
    time.sleep(SLOW_S * 3)  # a job that went on would have finished and drawn by now
    assert not graph(dash_duo, ids.GAMMA_GRAPH)
    assert dash_duo.get_logs() == []
