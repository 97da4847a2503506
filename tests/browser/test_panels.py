"""A shared link restores every view parameter (issue 15), in a real headless Chromium.

The link names the strike measure, the term view's equal spacing, a clicked strike, the smile's x axis
and the max-pain overlay; the page opens with each control set, each chart drawn in it, and the
address keeping them. A screenshot of the new panels at 1440 px goes to ``tests/artifacts/panels_1440.png``.
"""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import TIMEOUT, graph, location_search, wait_for, wait_for_charts

pytestmark = pytest.mark.browser

LINK = "?u=SPX&strike=6800&smode=vanna&tspace=1&smx=strike&mprr=0"


def checked_values(dash_duo, control_id: str) -> list[str]:
    return [e.get_attribute("value") for e in dash_duo.find_elements(f"#{control_id} input:checked")]


def test_a_link_restores_the_strike_measure_spacing_strike_and_the_new_panels_choices(dash_duo, start_app, demo_dir,
                                                                                      artifacts):
    start_app(create_app(demo_dir), "/" + LINK)
    wait_for_charts(dash_duo)
    for graph_id in (ids.SMILE_GRAPH, ids.MAX_PAIN_GRAPH):
        wait_for(dash_duo, lambda g=graph_id: graph(dash_duo, g, "layout") is not None, f"{graph_id} never drew")
    # the controls show the link's choices
    assert checked_values(dash_duo, ids.STRIKE_MODE) == ["vanna"]
    assert checked_values(dash_duo, ids.TERM_SPACING) == ["equal"]
    assert checked_values(dash_duo, ids.SMILE_X) == ["strike"]
    assert checked_values(dash_duo, ids.MAX_PAIN_RR) == []
    # ... and the charts are drawn in them
    wait_for(dash_duo, lambda: "vol point" in graph(dash_duo, ids.GAMMA_GRAPH, "layout")["yaxis"]["title"]["text"],
             "the strike view is not in its vanna measure")
    assert graph(dash_duo, ids.TERM_GRAPH, "layout")["xaxis"]["type"] == "category"
    assert "Strike 6,800" in graph(dash_duo, ids.BREAKDOWN_GRAPH, "layout")["title"]["text"]
    smile_axis = graph(dash_duo, ids.SMILE_GRAPH, "layout")["xaxis"].get("title") or {}
    smile_drawn = bool(graph(dash_duo, ids.SMILE_GRAPH))
    assert not smile_drawn or smile_axis.get("text") == "Strike"  # an analysis without a smile says so instead
    assert not any(t.get("yaxis") == "y2" for t in graph(dash_duo, ids.MAX_PAIN_GRAPH) or [])  # no RR overlay
    # the address keeps every parameter (nothing was rewritten away)
    search = location_search(dash_duo)
    for part in ("strike=6800", "smode=vanna", "tspace=1", "smx=strike", "mprr=0"):
        assert part in search, part
    # a choice made on the page goes into the address too
    option = dash_duo.find_element(f"#{ids.SMILE_X} input[value='moneyness']")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
    option.find_element("xpath", "./ancestor::label").click()
    wait_for(dash_duo, lambda: "smx=" not in location_search(dash_duo), "the smile axis did not reach the address")
    dash_duo.wait_for_contains_text(f"#{ids.KEY_LEVELS_NOTE}", "Changes vs", timeout=TIMEOUT)
    # the two new panels at 1440 px, as a trader sees them
    card = dash_duo.find_element(f"#{ids.SMILE_GRAPH}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -150)", card)
    dash_duo.driver.save_screenshot(str(artifacts / "panels_1440.png"))
    assert dash_duo.get_logs() == []
