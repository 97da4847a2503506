"""Flow-inferred (Deribit trades, issue 19) in a real headless Chromium: the BTC demo's key-levels card
shows the OI convention and the flow-inferred model side by side, and choosing the model redraws the
view under it. A screenshot goes to ``tests/artifacts/flow_inferred_btc.png``."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import TIMEOUT, wait_for_charts

pytestmark = pytest.mark.browser


def test_btc_shows_the_two_models_side_by_side_and_the_model_can_be_chosen(dash_duo, start_app, demo_dir, artifacts):
    start_app(create_app(demo_dir), "/?u=BTC")
    wait_for_charts(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ids.FLOW_COMPARE}", "of open interest", timeout=TIMEOUT)
    block = dash_duo.find_element(f"#{ids.FLOW_COMPARE}").text
    assert "OI convention vs flow-inferred (Deribit trades)" in block
    for row in ("Total GEX (USD per 1%)", "Zero gamma", "Call wall", "Put wall", "Dealer flow at -1% (USD)"):
        assert row in block
    assert "from 2026-11-20 08:00 to 14:00 UTC, customers as takers" in block
    dash_duo.driver.execute_script(f"document.getElementById('{ids.FLOW_COMPARE}').scrollIntoView()")
    dash_duo.driver.save_screenshot(str(artifacts / "flow_inferred_btc.png"))
    dash_duo.driver.get(dash_duo.server_url + "/?u=BTC&conv=flow-inferred")
    wait_for_charts(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_CONVENTION}", "Flow-inferred (Deribit trades)", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []
