"""The dashboard in a real headless Chromium: what only a browser shows (drawing, linking, URL).

Each test starts the app on a demo data folder built for the session, reads what Plotly actually
drew (``gd.data`` / ``gd.layout``) and ends with no browser console errors.
"""

from __future__ import annotations

import json
import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.conftest import JUNK_NAME, POLL_S

pytestmark = pytest.mark.browser

TIMEOUT = 60  # the longest a browser test waits for what must show (a loaded 2-core machine)


READ_GRAPH_JS = """
var gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (!gd || !gd[arguments[1]]) { return null; }
// numpy arrays travel base64-encoded ({dtype, bdata}); plotly decodes them into _fullData
var decode = function (v, full) {
    if (v && typeof v === 'object' && v.bdata !== undefined) { v = full; }
    return ArrayBuffer.isView(v) ? Array.from(v) : v;
};
var plain = function (k, v) { return ArrayBuffer.isView(v) ? Array.from(v) : v; };
if (arguments[1] === 'layout') { return JSON.parse(JSON.stringify(gd.layout, plain)); }
return gd.data.map(function (t, i) {
    var f = (gd._fullData || []).find(function (ff) { return ff.index === i; }) || {};
    var out = {};
    Object.keys(t).forEach(function (k) { out[k] = decode(t[k], f[k]); });
    return JSON.parse(JSON.stringify(out, plain));
});
"""


def graph(dash_duo, graph_id: str, what: str = "data"):
    """What Plotly drew in a dcc.Graph (``data`` with arrays decoded, or ``layout``), as plain JSON."""
    return dash_duo.driver.execute_script(READ_GRAPH_JS, f"#{graph_id}", what)


def drawn_signature(dash_duo, graph_id: str) -> str:
    """A compact fingerprint of a chart's drawn data (x, y and selection of every trace)."""
    data = graph(dash_duo, graph_id) or []
    return json.dumps([[t.get("name"), t.get("x"), t.get("y"), t.get("selectedpoints")] for t in data])


def wait_for(dash_duo, predicate, message: str):
    return WebDriverWait(dash_duo.driver, TIMEOUT, poll_frequency=POLL_S).until(lambda _d: predicate(), message=message)


def wait_for_charts(dash_duo) -> None:
    for graph_id in (ids.GAMMA_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH):
        wait_for(dash_duo, lambda g=graph_id: len(graph(dash_duo, g) or []) > 0, f"{graph_id} never drew")
    dash_duo.wait_for_element(f"#{ids.KPI_STRIP} .kpi", timeout=TIMEOUT)


def wait_for_comparison(dash_duo) -> None:
    """The comparison (d/d: KPI changes, the previous-snapshot ticks on the gamma view) is drawn after the
    charts: a fingerprint taken before it lands differs from every later redraw, and while it runs the
    loading overlay takes clicks."""
    wait_for(dash_duo, lambda: "computing" not in dash_duo.find_element(f"#{ids.KPI_STRIP}").text,
             "the comparison never finished")
    wait_for(dash_duo, lambda: not dash_duo.driver.execute_script(
        "return document.querySelector('#' + arguments[0] + ' [data-dash-is-loading]')", ids.LOADING),
        "the views never stopped loading")


def location_search(dash_duo) -> str:
    return dash_duo.driver.execute_script("return window.location.search")


def click_radio(dash_duo, radio_id: str, value: str) -> None:
    dash_duo.find_element(f"#{radio_id} input[value='{value}']").find_element(By.XPATH, "./ancestor::label").click()


def test_page_loads_with_every_view_drawn_and_a_full_page_screenshot(dash_duo, start_app, demo_dir, artifacts):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for_charts(dash_duo)
    # seven headline cards and one card with the hedge flow at -5%, -1%, +1%, +5%
    assert len(dash_duo.find_elements(f"#{ids.KPI_STRIP} .kpi")) == 8
    assert len(dash_duo.find_elements(f"#{ids.KPI_STRIP} .flow-cell")) == 4
    assert "dealer-long-calls" in dash_duo.find_element(f"#{ids.HEADER_CONVENTION}").text
    assert "Snapshot 2026-11-20 16:15" in dash_duo.find_element(f"#{ids.HEADER_SNAPSHOT}").text
    # the previous day's snapshot exists: the comparison callback adds every KPI's change and the line
    dash_duo.wait_for_contains_text(f"#{ids.KPI_STRIP}", "Changes vs the previous SPX snapshot", timeout=TIMEOUT)
    layout = graph(dash_duo, ids.GAMMA_GRAPH, "layout")
    assert "USD" in layout["yaxis"]["title"]["text"]
    wait_for(dash_duo, lambda: any("previous" in (t.get("name") or "") for t in graph(dash_duo, ids.GAMMA_GRAPH)),
             "the previous snapshot's line never appeared on the gamma chart")
    height = dash_duo.driver.execute_script("return document.documentElement.scrollHeight")
    dash_duo.driver.set_window_size(1440, max(1000, int(height) + 40))
    dash_duo.wait_for_element(f"#{ids.STRIKE_TABLE}")
    dash_duo.driver.save_screenshot(str(artifacts / "dashboard_full_page.png"))
    assert dash_duo.get_logs() == []


def test_changing_the_expiry_set_changes_the_data_of_all_three_charts(dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for_charts(dash_duo)
    wait_for_comparison(dash_duo)
    before = {g: drawn_signature(dash_duo, g) for g in (ids.GAMMA_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH)}
    click_radio(dash_duo, ids.EXPIRY_PRESET, "7d")
    for g, sig in before.items():
        wait_for(dash_duo, lambda g=g, sig=sig: drawn_signature(dash_duo, g) != sig, f"{g} did not change")
    assert "exp=7d" in location_search(dash_duo)
    # the term structure still shows every expiry but marks the selected ones
    term = graph(dash_duo, ids.TERM_GRAPH)
    assert term[0].get("selectedpoints")
    assert len(term[0]["selectedpoints"]) < len(term[0]["x"])
    # the browser's back button returns to every expiry, controls and charts alike
    dash_duo.driver.back()
    wait_for(dash_duo, lambda: drawn_signature(dash_duo, ids.GAMMA_GRAPH) == before[ids.GAMMA_GRAPH], "back did not restore")
    assert dash_duo.find_element(f"#{ids.EXPIRY_PRESET} input[value='all']").is_selected()
    assert dash_duo.get_logs() == []


def test_clicking_a_term_structure_bar_refilters_the_other_views(dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for_charts(dash_duo)
    gamma_before = drawn_signature(dash_duo, ids.GAMMA_GRAPH)
    hedge_before = drawn_signature(dash_duo, ids.HEDGE_GRAPH)
    bars = dash_duo.find_elements(f"#{ids.TERM_GRAPH} .js-plotly-plot .barlayer .point path")
    assert len(bars) > 5
    target = bars[len(bars) // 2]
    wait_for_comparison(dash_duo)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    # a real pointer click on the bar (Plotly's drag layer on top receives it and finds the bar)
    ActionChains(dash_duo.driver).move_to_element(target).click().perform()
    wait_for(dash_duo, lambda: drawn_signature(dash_duo, ids.GAMMA_GRAPH) != gamma_before, "gamma not refiltered")
    wait_for(dash_duo, lambda: drawn_signature(dash_duo, ids.HEDGE_GRAPH) != hedge_before, "hedge not refiltered")
    # the controls follow: preset Custom, one expiry chosen, in the URL too
    assert dash_duo.find_element(f"#{ids.EXPIRY_PRESET} input[value='custom']").is_selected()
    assert re.search(r"[?&]exp=\d{4}-\d{2}-\d{2}(&|$)", location_search(dash_duo))
    term = graph(dash_duo, ids.TERM_GRAPH)
    assert len(term[0]["selectedpoints"]) == 1
    assert dash_duo.get_logs() == []


def test_a_pasted_url_restores_the_view(dash_duo, start_app, demo_dir):
    query = "?u=SPX&snap=spx-20261118-1615&exp=monthly&conv=dealer-short-all&shock=10&h=1&stack=1&units=units"
    start_app(create_app(demo_dir), "/" + query)
    wait_for_charts(dash_duo)
    assert "2026-11-18 16:15" in dash_duo.find_element(f"#{ids.HEADER_SNAPSHOT}").text
    assert "dealer-short-all" in dash_duo.find_element(f"#{ids.HEADER_CONVENTION}").text
    assert dash_duo.find_element(f"#{ids.EXPIRY_PRESET} input[value='monthly']").is_selected()
    assert dash_duo.find_element(f"#{ids.HORIZON} input[value='1']").is_selected()
    assert dash_duo.find_element(f"#{ids.UNITS} input[value='units']").is_selected()
    # stacked by expiry: one bar trace per monthly expiry; hedge curves for +1 day and now, in units
    gamma = graph(dash_duo, ids.GAMMA_GRAPH)
    assert sum(t["type"] == "bar" for t in gamma) >= 2
    hedge_layout = graph(dash_duo, ids.HEDGE_GRAPH, "layout")
    assert "SPX units" in json.dumps(hedge_layout)
    hedge = graph(dash_duo, ids.HEDGE_GRAPH)
    shocks = [t for t in hedge if t.get("x") and max(t["x"]) == 10]
    assert len(shocks) >= 2
    assert location_search(dash_duo) == query
    assert dash_duo.get_logs() == []


def test_a_broken_file_shows_the_banner_and_other_files_still_work(dash_duo, start_app, demo_dir_with_junk):
    start_app(create_app(demo_dir_with_junk), "/?u=SPX")
    wait_for_charts(dash_duo)
    banner = dash_duo.find_element(f"#{ids.CATALOG_BANNER} .banner")
    assert JUNK_NAME in banner.text and "could not be read" in banner.text
    dash_duo.select_dcc_dropdown(f"#{ids.UNDERLYING}", value="BTC")
    wait_for(dash_duo, lambda: "BTC" in dash_duo.find_element(f"#{ids.HEADER_TITLE}").text, "BTC never loaded")
    wait_for(dash_duo, lambda: "u=BTC" in location_search(dash_duo), "URL did not follow")
    wait_for_charts(dash_duo)
    assert JUNK_NAME in dash_duo.find_element(f"#{ids.CATALOG_BANNER}").text
    assert dash_duo.get_logs() == []


def test_clicking_a_strike_shows_its_breakdown_and_hovering_a_shock_marks_its_spot(dash_duo, start_app, demo_dir, artifacts):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for_charts(dash_duo)

    # click the put-wall bar (not the default breakdown strike): the breakdown shows that strike
    put_wall = [s for s in graph(dash_duo, ids.GAMMA_GRAPH, "layout")["shapes"] if s.get("name") == "put wall"][0]["x0"]
    dash_duo.driver.execute_script(
        "var gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "var t = gd.data.findIndex(function (d) { return d.type === 'bar'; });"
        "var f = gd._fullData[t]; var k = Array.from(f.x).indexOf(arguments[1]);"
        "gd.emit('plotly_click', {points: [{curveNumber: t, pointNumber: k, x: f.x[k],"
        " customdata: f.customdata ? f.customdata[k] : null}]});",
        ids.GAMMA_GRAPH,
        put_wall,
    )
    wanted = f"Strike {put_wall:,.0f} "
    wait_for(
        dash_duo,
        lambda: wanted in json.dumps((graph(dash_duo, ids.BREAKDOWN_GRAPH, "layout") or {}).get("title")),
        f"breakdown never showed {wanted}",
    )
    assert len(graph(dash_duo, ids.BREAKDOWN_GRAPH)) == 3
    # ...and view 1 outlines that strike's bars (wait for the redraw before hovering)
    widest_outline = (
        "var gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "var f = gd._fullData.find(function (d) { return d.type === 'bar'; });"
        "var w = f.marker.line.width; var x = Array.from(f.x);"
        "return typeof w === 'number' ? null : x[Array.from(w).indexOf(Math.max.apply(null, Array.from(w)))];"
    )
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(widest_outline, ids.GAMMA_GRAPH) == put_wall,
             "the clicked strike is not highlighted")

    # hover the hedging chart at -5%: the gamma chart gets an "implied spot" line at spot * 0.95
    dash_duo.driver.execute_script(
        "var gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "gd.scrollIntoView({block: 'center'});"
        "var xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, bb = gd.getBoundingClientRect();"
        "var x = bb.left + xa._offset + xa.l2p(-5), y = bb.top + ya._offset + ya._length / 2;"
        "document.elementFromPoint(x, y).dispatchEvent("
        "  new MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true}));",
        ids.HEDGE_GRAPH,
    )

    def marker():
        shapes = (graph(dash_duo, ids.GAMMA_GRAPH, "layout") or {}).get("shapes") or []
        return [s for s in shapes if s.get("name") == "implied spot"]

    wait_for(dash_duo, lambda: marker(), "no implied-spot marker on the gamma chart")
    spot = [s for s in graph(dash_duo, ids.GAMMA_GRAPH, "layout")["shapes"] if s.get("name") == "spot"][0]["x0"]
    assert marker()[0]["x0"] == pytest.approx(spot * 0.95, rel=1e-6)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    dash_duo.driver.save_screenshot(str(artifacts / "dashboard_strike_and_shock_linked.png"))
    assert dash_duo.get_logs() == []
