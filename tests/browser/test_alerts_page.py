"""Alerts on the page in a real headless Chromium: each logged alert of the underlying as a dated line."""

from __future__ import annotations

import shutil

import pytest

from dashboard import alerts
from dashboard.app import create_app
from dashboard.runtime import config
from dashboard.web import ids
from tests.browser.test_dashboard import wait_for

pytestmark = pytest.mark.browser


def test_a_logged_alert_shows_as_a_dated_line(dash_duo, start_app, demo_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv"):
        shutil.copy2(demo_dir / name, data / name)
    (tmp_path / "alerts.toml").write_text("[rules.wall_move]\n")  # no channel: logged, shown
    [sent] = alerts.check(data, alerts.load_config(tmp_path / "alerts.toml"), config.Settings())
    assert sent.status == "logged"  # the demo's put wall moves from 6,700 to 6,600 on 2026-11-20
    start_app(create_app(data), "/?u=SPX")
    wait_for(dash_duo, lambda: "put wall" in dash_duo.find_element(f"#{ids.ALERT_LINES}").text,
             "the alert line never showed")
    assert dash_duo.find_element(f"#{ids.ALERT_LINES} li").text == \
        "2026-11-20 16:15 EST SPX: put wall 6,700 -> 6,600 (since 2026-11-19)"
    assert dash_duo.get_logs() == []
