"""Issue 18's smaller page items in a real headless Chromium: the page tabs and the selected segment in
the house colours, and a vol shift input wide enough for what it holds at 800 and 1440 px."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import wait_for, wait_for_charts

pytestmark = pytest.mark.browser

ACCENT = "rgb(11, 92, 171)"  # --accent in assets/style.css
STYLE_JS = """
var el = document.querySelector(arguments[0]); if (!el) return null;
var s = getComputedStyle(el);
return {color: s.color, background: s.backgroundColor, top: s.borderTopColor, topWidth: s.borderTopWidth,
        left: s.borderLeftColor, leftWidth: s.borderLeftWidth};
"""
# an <input>'s text wider than its box: scrollWidth exceeds clientWidth
INPUT_FITS_JS = """
var el = document.getElementById(arguments[0]);
var setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
setter.call(el, arguments[1]);
return [el.scrollWidth, el.clientWidth];
"""


def style(dash_duo, selector: str) -> dict:
    return dash_duo.driver.execute_script(STYLE_JS, selector)


def test_the_selected_tab_and_segment_are_in_the_house_colours(dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir))
    dash_duo.driver.get(dash_duo.server_url + "/?u=SPX&vol=shift:-2")
    wait_for_charts(dash_duo)
    # dcc.Tabs draws a coloured line on the selected tab's top (its `colors`): the page's accent, not Dash's
    tab = style(dash_duo, f"#{ids.TABS} .tab--selected")
    assert tab["top"] == ACCENT and tab["topWidth"] != "0px"
    assert tab["left"] != "rgb(119, 65, 255)"  # Dash 4's purple nowhere on the tab
    # the selected segment: white text on the accent, never purple on dark blue
    for cid in (ids.EXPIRY_PRESET, ids.HORIZON, ids.VOL_MODE, ids.UNITS):
        got = style(dash_duo, f"#{cid} label:has(input:checked)")
        assert (got["color"], got["background"]) == ("rgb(255, 255, 255)", ACCENT), cid
        text = style(dash_duo, f"#{cid} label:has(input:checked) span") or got
        assert text["color"] == "rgb(255, 255, 255)", cid
    dash_duo.driver.save_screenshot("/work/notes/screens/d1-tabs-segments-1440.png")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("width", [800, 1440])
def test_the_vol_shift_input_shows_its_whole_value_and_takes_the_clamped_one(dash_duo, start_app, demo_dir, width):
    start_app(create_app(demo_dir))
    dash_duo.driver.set_window_size(width, 1000)
    # -50 is clamped to the chain's floor (-7.24 on the demo SPX): the input shows it whole, and valid
    # (with step=0.5 Chromium marked it invalid, in red, and Dash sends an invalid number as NaN)
    dash_duo.driver.get(dash_duo.server_url + "/?u=SPX&vol=shift:-50")
    wait_for_charts(dash_duo)
    vol = dash_duo.find_element(f"#{ids.VOL_VALUE}")
    wait_for(dash_duo, lambda: vol.get_attribute("value") == "-7.24", "the clamped shift never reached the input")
    assert dash_duo.driver.execute_script("return arguments[0].validity.valid", vol)
    dash_duo.driver.save_screenshot(f"/work/notes/screens/d1-vol-input-{width}.png")
    for value in ("-7.24", "-50", "-12.5"):
        scroll, client = dash_duo.driver.execute_script(INPUT_FITS_JS, ids.VOL_VALUE, value)
        assert scroll <= client, f"{value!r} is cut at {width} px: {scroll} px of text in a {client} px box"
    # a shift typed to the hundredth is taken as typed (then clamped like any other)
    vol.send_keys(Keys.CONTROL, "a")
    vol.send_keys("-3.25", Keys.ENTER)
    wait_for(dash_duo, lambda: "vol=shift:-3.25" in dash_duo.driver.current_url,
             "a typed -3.25 did not reach the view")
