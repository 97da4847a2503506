"""The watchlist (``/watchlist``, issue 18) in a real browser: linked from the header, one row per
underlying, sortable, a click opens that underlying's positioning view with its regime line on top.
Screenshots at 800, 1440 and 1920 px of both pages go to /work/notes/screens/w1_*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from analytics.history import HistoryStore
from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.conftest import POLL_S
from tests.conftest import copy_demo_files
from tests.dashboard.test_watchlist import KEEP

pytestmark = pytest.mark.browser

TIMEOUT = 30
SCREENS = Path("/work/notes/screens")
ROWS_JS = """
var api = null;
try { api = window.dash_ag_grid.getApi(arguments[0]); } catch (e) { return null; }
var rows = [];
api.forEachNodeAfterFilterAndSort(function (n) { rows.push(n.data.underlying); });
return rows;
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory, demo_dir) -> Path:
    out = tmp_path_factory.mktemp("watchlist_browser")
    for path in copy_demo_files(demo_dir, out):
        if path.name not in KEEP and path.suffix != ".toml":
            path.unlink()
    with HistoryStore(out) as store:
        store.sync()
    return out


def wait_for(dash_duo, predicate, message: str):
    return WebDriverWait(dash_duo.driver, TIMEOUT, poll_frequency=POLL_S).until(lambda _d: predicate(), message=message)


def rows(dash_duo) -> list[str] | None:
    return dash_duo.driver.execute_script(ROWS_JS, ids.WATCHLIST_GRID)


def shoot(dash_duo, name: str, width: int) -> None:
    dash_duo.driver.set_window_size(width, 1000)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    SCREENS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(SCREENS / f"w1_{name}_{width}.png"))


def test_the_watchlist_sorts_and_a_click_opens_that_underlyings_view(dash_duo, start_app, folder):
    start_app(create_app(folder))
    # linked from the header of the positioning view
    dash_duo.wait_for_element(f"#{ids.NAV_WATCHLIST}", timeout=TIMEOUT).click()
    wait_for(dash_duo, lambda: rows(dash_duo) == ["BTC", "SPX"], "the watchlist never got its two rows")
    assert "/watchlist?u=SPX&snap=spx-" in dash_duo.driver.current_url  # the header link keeps the view's underlying
    assert dash_duo.find_element(".content.watchlist").is_displayed()
    assert not dash_duo.find_element(".content:not(.watchlist)").is_displayed()
    cell = dash_duo.find_element(f"#{ids.WATCHLIST_GRID} .ag-row[row-id='SPX'] .ag-cell[col-id='regime']")
    assert cell.text == "SHORT γ"
    age = dash_duo.find_element(f"#{ids.WATCHLIST_GRID} .ag-row[row-id='SPX'] .ag-cell[col-id='age_hours']")
    assert "wl-stale" in age.get_attribute("class")  # the demo's Friday file is days old at any real clock
    # sort by total GEX (ascending puts SPX's -$86.7bn above BTC's -$19.7m), then descending
    header = f"#{ids.WATCHLIST_GRID} .ag-header-cell[col-id='total_gex_usd_per_1pct'] .ag-header-cell-label"
    dash_duo.find_element(header).click()
    wait_for(dash_duo, lambda: rows(dash_duo) == ["SPX", "BTC"], "sorting by total GEX did not reorder the rows")
    dash_duo.find_element(header).click()
    wait_for(dash_duo, lambda: rows(dash_duo) == ["BTC", "SPX"], "the descending sort did not reorder the rows")
    for width in (800, 1440, 1920):
        shoot(dash_duo, "watchlist", width)
    dash_duo.driver.set_window_size(1440, 1000)
    # a click on SPX's row opens SPX's positioning view
    dash_duo.find_element(f"#{ids.WATCHLIST_GRID} .ag-row[row-id='SPX'] .ag-cell[col-id='spot']").click()
    wait_for(dash_duo, lambda: "u=SPX" in dash_duo.driver.current_url and "/watchlist" not in dash_duo.driver.current_url,
             "the click did not open /?u=SPX")
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_TITLE}", "SPX", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text(f"#{ids.KPI_STRIP} .regime-line", "d/d", timeout=TIMEOUT)
    line = dash_duo.find_element(f"#{ids.KPI_STRIP} .regime-line")
    assert line.get_attribute("data-regime") == "short-gamma"
    assert line.text.replace("\n", " · ") == ("SHORT γ · zero γ 6,943 (+2.8%) · walls 6,800 / 6,600 · net -$86.7bn "
                                              "(-$33.2bn d/d)")
    assert not dash_duo.find_element(".content.watchlist").is_displayed()
    for width in (800, 1440, 1920):
        shoot(dash_duo, "positioning", width)
    assert dash_duo.get_logs() == []


def graph_traces(dash_duo, graph_id: str) -> int:
    return dash_duo.driver.execute_script(
        "var g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot'); return g && g.data ? g.data.length : 0",
        graph_id)


def test_the_watchlist_computes_no_hidden_view_and_the_header_links_keep_the_underlying(dash_duo, start_app, folder):
    start_app(create_app(folder), "/watchlist?u=BTC")
    wait_for(dash_duo, lambda: rows(dash_duo) == ["BTC", "SPX"], "the watchlist never got its two rows")
    dash_duo.driver.execute_script("return new Promise(function (r) { setTimeout(r, 1500); })")
    # the hidden positioning view was not made: no view state, so no header title and no charts
    assert dash_duo.find_element(f"#{ids.HEADER_TITLE}").get_attribute("textContent") == "—"
    assert graph_traces(dash_duo, ids.GAMMA_GRAPH) == 0
    assert dash_duo.driver.current_url.endswith("/watchlist?u=BTC")  # the query is left as it was
    # at 1440 px every column shows whole: the grid does not scroll sideways (the sparkline column was cut)
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(
        "var v = document.querySelector('#' + arguments[0] + ' .ag-center-cols-viewport');"
        "return v.scrollWidth <= v.clientWidth", ids.WATCHLIST_GRID), "the watchlist's columns do not fit at 1440 px")
    # the header's Positioning link keeps the underlying: it opens BTC, not the default SPX
    link = dash_duo.find_element(f"#{ids.NAV_MAIN}")
    assert link.get_attribute("href").endswith("/?u=BTC")
    link.click()
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_TITLE}", "BTC", timeout=TIMEOUT)
    wait_for(dash_duo, lambda: graph_traces(dash_duo, ids.GAMMA_GRAPH) > 0, "the positioning view was not drawn")
    url = dash_duo.driver.current_url
    assert "/watchlist" not in url and "u=BTC" in url
    # ... and the Watchlist link carries the view's query (underlying and snapshot) there and back
    wait_for(dash_duo, lambda: "snap=" in dash_duo.find_element(f"#{ids.NAV_WATCHLIST}").get_attribute("href"),
             "the Watchlist link lost the snapshot")
    dash_duo.find_element(f"#{ids.NAV_WATCHLIST}").click()
    wait_for(dash_duo, lambda: "/watchlist?" in dash_duo.driver.current_url, "the Watchlist link dropped the query")
    assert "u=BTC" in dash_duo.driver.current_url and "snap=btc-" in dash_duo.driver.current_url
    dash_duo.find_element(f"#{ids.NAV_MAIN}").click()
    wait_for(dash_duo, lambda: "/watchlist" not in dash_duo.driver.current_url, "back to the positioning view")
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_TITLE}", "BTC", timeout=TIMEOUT)
    assert dash_duo.find_element(".content:not(.watchlist)").is_displayed()
    assert graph_traces(dash_duo, ids.GAMMA_GRAPH) > 0
    assert dash_duo.get_logs() == []
