"""The 8 a.m. view in a real headless Chromium: key-levels copy, gamma by expiry, change mode, zoom.

Screenshots of SPX and BTC at 1280x800 and 1600x1000 go to ``tests/artifacts/levels_*.png``.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import (
    TIMEOUT,
    drawn_signature,
    graph,
    location_search,
    wait_for,
    wait_for_charts,
)

pytestmark = pytest.mark.browser

READ_CLIPBOARD_JS = """
var done = arguments[arguments.length - 1];
navigator.clipboard.readText().then(done, function (err) { done('ERROR ' + err); });
"""


def click_radio(dash_duo, radio_id: str, value: str) -> None:
    """Click a radio option after scrolling it to mid-screen (the sticky header covers the top)."""
    option = dash_duo.find_element(f"#{radio_id} input[value='{value}']").find_element(By.XPATH, "./ancestor::label")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
    option.click()


def open_page(dash_duo, start_app, demo_dir, search: str = "?u=SPX") -> None:
    start_app(create_app(demo_dir), "/" + search)
    wait_for_charts(dash_duo)
    wait_for(dash_duo, lambda: len(graph(dash_duo, ids.EXPIRY_GRAPH) or []) > 0, "gamma by expiry never drew")


def test_the_copy_button_puts_the_key_levels_text_with_changes_on_the_clipboard(dash_duo, start_app, demo_dir):
    open_page(dash_duo, start_app, demo_dir)
    dash_duo.wait_for_contains_text(f"#{ids.KEY_LEVELS_NOTE}", "Changes vs the previous SPX snapshot", timeout=TIMEOUT)
    table = dash_duo.find_element(f"#{ids.KEY_LEVELS}").text
    assert "Zero gamma" in table and "Call wall 3" in table and "Put wall 1" in table and "Charm to close" in table
    origin = dash_duo.server_url.rstrip("/")
    dash_duo.driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    dash_duo.find_element(f"#{ids.KEY_LEVELS_COPY}").click()
    expected = dash_duo.driver.execute_script(
        f"return document.getElementById('{ids.KEY_LEVELS_TEXT}').textContent")
    wait_for(dash_duo, lambda: dash_duo.driver.execute_async_script(READ_CLIPBOARD_JS) == expected,
             "the clipboard does not hold the key-levels text")
    copied = dash_duo.driver.execute_async_script(READ_CLIPBOARD_JS)
    assert copied.startswith("SPX key levels, 2026-11-20 16:15")
    assert "changes vs 2026-11-19 16:15" in copied and re.search(r"zero gamma +[\d,.]+ \([+-][\d.]+% vs spot\)", copied)
    assert "flow -1%" in copied and "flow +2%" in copied and "charm to close" in copied
    assert dash_duo.get_logs() == []


def test_clicking_a_gamma_by_expiry_bar_refilters_every_view(dash_duo, start_app, demo_dir):
    open_page(dash_duo, start_app, demo_dir)
    views = (ids.GAMMA_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH, ids.BREAKDOWN_GRAPH)
    before = {g: drawn_signature(dash_duo, g) for g in views}
    bars = dash_duo.find_elements(f"#{ids.EXPIRY_GRAPH} .js-plotly-plot .barlayer .trace:nth-of-type(3) .point path")
    assert len(bars) == 29  # one net bar per expiry
    target = bars[1]
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    ActionChains(dash_duo.driver).move_to_element(target).click().perform()
    for g in (ids.GAMMA_GRAPH, ids.HEDGE_GRAPH, ids.TERM_GRAPH):
        wait_for(dash_duo, lambda g=g: drawn_signature(dash_duo, g) != before[g], f"{g} not refiltered")
    assert dash_duo.find_element(f"#{ids.EXPIRY_PRESET} input[value='custom']").is_selected()
    assert re.search(r"[?&]exp=\d{4}-\d{2}-\d{2}(&|$)", location_search(dash_duo))
    wait_for(dash_duo, lambda: len(graph(dash_duo, ids.EXPIRY_GRAPH)[0].get("selectedpoints") or []) == 1,
             "the expiry view does not mark the one expiry chosen")
    assert len(graph(dash_duo, ids.TERM_GRAPH)[0]["selectedpoints"]) == 1
    assert dash_duo.get_logs() == []


def test_the_change_mode_shows_the_net_gex_change_per_strike(dash_duo, start_app, demo_dir):
    open_page(dash_duo, start_app, demo_dir)
    click_radio(dash_duo, ids.STRIKE_MODE, "change")
    wait_for(dash_duo, lambda: [t.get("name") for t in graph(dash_duo, ids.GAMMA_GRAPH)] == ["Net GEX change"],
             "the strike view did not switch to the change")
    layout = graph(dash_duo, ids.GAMMA_GRAPH, "layout")
    assert layout["yaxis"]["title"]["text"] == "Net GEX change (USD per 1% move)"
    # the mode stays through a control change (wait for the redraw itself: the trace name is the same before)
    before = drawn_signature(dash_duo, ids.GAMMA_GRAPH)
    click_radio(dash_duo, ids.EXPIRY_PRESET, "30d")
    wait_for(dash_duo, lambda: "exp=30d" in location_search(dash_duo), "preset not applied")
    wait_for(dash_duo, lambda: drawn_signature(dash_duo, ids.GAMMA_GRAPH) != before, "gamma not redrawn")
    wait_for(dash_duo, lambda: [t.get("name") for t in graph(dash_duo, ids.GAMMA_GRAPH)] == ["Net GEX change"],
             "the change mode was lost on a preset change")
    click_radio(dash_duo, ids.STRIKE_MODE, "vanna")
    wait_for(dash_duo, lambda: "vol point" in graph(dash_duo, ids.GAMMA_GRAPH, "layout")["yaxis"]["title"]["text"],
             "vanna not drawn")
    assert dash_duo.get_logs() == []


def test_zoom_on_the_strike_view_survives_a_preset_change(dash_duo, start_app, demo_dir):
    open_page(dash_duo, start_app, demo_dir)
    x_range = f"return document.querySelector('#{ids.GAMMA_GRAPH} .js-plotly-plot').layout.xaxis.range"
    opened = dash_duo.driver.execute_script(x_range)
    # a real box zoom: drag across the middle third of the plot area
    area = dash_duo.find_element(f"#{ids.GAMMA_GRAPH} .js-plotly-plot")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", area)
    width = area.size["width"]
    (ActionChains(dash_duo.driver).move_to_element(area).move_by_offset(-width // 6, 0).click_and_hold()
     .move_by_offset(width // 9, 5).move_by_offset(width // 9, 5).release().perform())
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(x_range) != opened, "the drag did not zoom")
    zoom = dash_duo.driver.execute_script(x_range)
    assert zoom[1] - zoom[0] < (opened[1] - opened[0]) / 2
    before = drawn_signature(dash_duo, ids.GAMMA_GRAPH)
    click_radio(dash_duo, ids.EXPIRY_PRESET, "7d")
    wait_for(dash_duo, lambda: drawn_signature(dash_duo, ids.GAMMA_GRAPH) != before, "gamma not redrawn")
    dash_duo.wait_for_contains_text(f"#{ids.KEY_LEVELS_NOTE}", "Changes vs", timeout=TIMEOUT)
    assert dash_duo.driver.execute_script(x_range) == zoom, "the zoom was lost on a preset change"
    click_radio(dash_duo, ids.STRIKE_MODE, "charm")
    wait_for(dash_duo, lambda: "per day" in graph(dash_duo, ids.GAMMA_GRAPH, "layout")["yaxis"]["title"]["text"],
             "charm not drawn")
    assert dash_duo.driver.execute_script(x_range) == zoom, "the zoom was lost on a measure change"
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("underlying", ["SPX", "BTC"])
def test_screenshots_at_laptop_and_desk_sizes(dash_duo, start_app, demo_dir, artifacts, underlying):
    open_page(dash_duo, start_app, demo_dir, f"?u={underlying}")
    dash_duo.wait_for_contains_text(f"#{ids.KEY_LEVELS_NOTE}", "Changes vs", timeout=TIMEOUT)
    for width, height in ((1280, 800), (1600, 1000)):
        dash_duo.driver.set_window_size(width, height)
        dash_duo.driver.execute_script("window.dispatchEvent(new Event('resize'))")
        dash_duo.driver.execute_script("window.scrollTo(0, 0)")
        wait_for(dash_duo, lambda w=width: dash_duo.driver.execute_script("return window.innerWidth") <= w, "no resize")
        dash_duo.driver.save_screenshot(str(artifacts / f"levels_{underlying}_{width}x{height}.png"))
        full = dash_duo.driver.execute_script("return document.documentElement.scrollHeight")
        dash_duo.driver.set_window_size(width, int(full) + 40)
        dash_duo.driver.save_screenshot(str(artifacts / f"levels_{underlying}_{width}_full.png"))
    assert dash_duo.get_logs() == []
