"""Issue 18's smaller page items in a real headless Chromium: the page tabs and the selected segment in
the house colours, a vol shift input wide enough for what it holds at 800 and 1440 px, and the catalog
banner naming an unknown file whole and saying what its start looks like."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import wait_for, wait_for_charts
from tests.conftest import copy_demo_files

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
    start_app(create_app(demo_dir), "/?u=SPX&vol=shift:-2")
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
    start_app(create_app(demo_dir), None)
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


LONG_NAME = "desk_export_from_the_risk_system_" + "x" * 90 + "_final.csv"


def test_the_catalog_banner_shows_an_unknown_files_whole_name_and_what_its_start_looks_like(
        dash_duo, start_app, demo_dir, tmp_path):
    folder = tmp_path / "data"
    copy_demo_files(demo_dir, folder)
    (folder / LONG_NAME).write_text("password,token\nhunter2,SECRET\n")
    start_app(create_app(folder), None)
    dash_duo.driver.set_window_size(800, 1000)
    dash_duo.driver.get(dash_duo.server_url + "/?u=SPX")
    wait_for_charts(dash_duo)
    banner = dash_duo.find_element(f"#{ids.CATALOG_BANNER} .banner")
    text = banner.text
    assert LONG_NAME in text.replace("\n", "")  # the whole name, start included (it wraps)
    assert "unknown format (comma-separated text, 2 fields on its first line, starts '…')" in text
    assert "hunter2" not in text and "password" not in text
    # nothing sticks out of the banner or the page at 800 px
    code = dash_duo.find_element(f"#{ids.CATALOG_BANNER} code")
    inner = dash_duo.driver.execute_script(
        "var r = arguments[0].getBoundingClientRect(), b = arguments[1].getBoundingClientRect();"
        "return [r.left >= b.left, r.right <= b.right, document.documentElement.scrollWidth <= window.innerWidth];",
        code, banner)
    assert inner == [True, True, True]
    dash_duo.driver.save_screenshot("/work/notes/screens/d1-catalog-banner-800.png")
