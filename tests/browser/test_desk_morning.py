"""Issue 18 ("The desk's morning") on the page, in headless Chromium: nothing in the KPI strip is cut
off, no sideways scroll at 800 px, a selected segment reads white on the accent even while hovered
or focused; and the screenshots of the positioning view at 800, 1440 and 1920 px a trader looks at."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import click_radio, wait_for_charts
from tests.browser.test_page_ux import LEGEND_OVER_TITLE_JS

pytestmark = pytest.mark.browser

# every leaf text in the KPI strip whose text is wider than its box (cut off or ending in "...")
CUT_KPI_TEXT_JS = """
var out = [];
document.querySelectorAll('#' + arguments[0] + ' *').forEach(function (e) {
  if (e.children.length === 0 && e.textContent.trim() && e.scrollWidth > e.clientWidth + 1)
    out.push([e.className, e.textContent, e.scrollWidth, e.clientWidth]);
});
return out;
"""
SCROLL_JS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
# the selected option of a segmented control: its text colour and its background
SELECTED_JS = """
var label = document.querySelector('#' + arguments[0] + ' label:has(input:checked)');
var text = label.querySelector('.dash-options-list-option-text') || label;
return [getComputedStyle(text).color, getComputedStyle(label).backgroundColor];
"""
NONE_IN_RANGE_JS = """
var value = Array.from(document.querySelectorAll('#' + arguments[0] + ' .kpi-value'))[2];
value.textContent = 'none in range';  // the zero-gamma KPI's text when no zero gamma lies in the shock range
return [value.scrollWidth, value.clientWidth, value.getBoundingClientRect().height];
"""


@pytest.mark.parametrize("width", [800, 1440, 1920])
def test_the_positioning_view_at_a_desk_width(dash_duo, start_app, demo_dir, artifacts, width):
    start_app(create_app(demo_dir), None)
    dash_duo.driver.set_window_size(width, 1000)
    dash_duo.driver.get(dash_duo.server_url + "/?u=SPX")
    wait_for_charts(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ids.KPI_STRIP}", "Changes vs the previous", timeout=20)
    assert dash_duo.driver.execute_script(CUT_KPI_TEXT_JS, ids.KPI_STRIP) == []
    scroll_width, client_width = dash_duo.driver.execute_script(SCROLL_JS)
    assert scroll_width <= client_width, f"the page scrolls sideways at {width} px: {scroll_width} > {client_width}"
    dash_duo.driver.save_screenshot(str(artifacts / f"desk_morning_positioning_{width}.png"))
    cut = dash_duo.driver.execute_script(NONE_IN_RANGE_JS, ids.KPI_STRIP)
    assert cut[0] <= cut[1], f"'none in range' cut at {width} px: {cut}"
    assert dash_duo.driver.execute_script(LEGEND_OVER_TITLE_JS) == [], f"legend over a title at {width} px"
    assert dash_duo.get_logs() == []


def test_a_selected_segment_reads_white_on_the_accent_while_hovered_and_focused(dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for_charts(dash_duo)
    click_radio(dash_duo, ids.HORIZON, "1")  # clicked: the option is hovered and its input focused
    label = dash_duo.find_element(f"#{ids.HORIZON} label:has(input:checked)")
    ActionChains(dash_duo.driver).move_to_element(label).perform()
    text, background = dash_duo.driver.execute_script(SELECTED_JS, ids.HORIZON)
    assert (text, background) == ("rgb(255, 255, 255)", "rgb(11, 92, 171)")  # white on --accent #0b5cab


HISTORY_TOP_JS = """
var card = document.querySelector('.history-controls');
return card ? Math.round(card.getBoundingClientRect().top + window.scrollY) : null;
"""


def test_the_history_tab_opens_near_the_top_with_only_the_underlying_above_it(dash_duo, start_app, demo_dir,
                                                                             artifacts):
    start_app(create_app(demo_dir), None)
    dash_duo.driver.set_window_size(1440, 900)
    dash_duo.driver.get(dash_duo.server_url + "/?u=SPX")
    wait_for_charts(dash_duo)
    dash_duo.find_element(".tab-history").click()
    dash_duo.wait_for_element(".history-controls", timeout=20)
    top = dash_duo.driver.execute_script(HISTORY_TOP_JS)
    assert top is not None and top < 420, f"the History tab's own controls start {top} px down"
    assert dash_duo.find_element(f"#{ids.UNDERLYING}").is_displayed()
    assert not dash_duo.find_element(f"#{ids.SNAPSHOT}").is_displayed()
    dash_duo.driver.save_screenshot(str(artifacts / "desk_morning_history_1440.png"))
    dash_duo.find_element(".page-tabs .tab:not(.tab-history)").click()
    dash_duo.wait_for_element(f"#{ids.SNAPSHOT}", timeout=20)
    assert dash_duo.find_element(f"#{ids.SNAPSHOT}").is_displayed()  # back on Positioning: all controls
