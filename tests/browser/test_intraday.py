"""The Intraday tab in a real headless Chromium: the session heatmap draws, the replay slider moves every
view to that moment, and a snapshot written into the folder mid-test becomes a new column without a reload."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys

from analytics.history import HistoryStore
from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import graph, location_search, wait_for
from tests.intraday_files import write_snapshot

pytestmark = pytest.mark.browser

TIMES = (dt.time(9, 35), dt.time(9, 40), dt.time(9, 45), dt.time(9, 50))


@pytest.fixture
def session_dir(tmp_path, demo_dir) -> Path:
    """Four SPX snapshots of the 2026-11-20 session (open interest growing) and the previous close,
    summarised beforehand (as the collector does)."""
    for i, t in enumerate(TIMES):
        write_snapshot(demo_dir, tmp_path, t, 1.0 + 0.1 * i)
    shutil.copy2(demo_dir / "spx_quotedata_2026-11-19.csv", tmp_path)
    with HistoryStore(tmp_path) as store:
        store.sync()
    return tmp_path


def columns(dash_duo) -> list[str]:
    """The times of the heatmap's columns, in order."""
    data = graph(dash_duo, ids.INTRADAY_GRAPH) or []
    cells = next((t for t in data if t.get("name") == "Net GEX"), None)
    return list(dict.fromkeys(cells["x"])) if cells else []


def test_the_heatmap_draws_the_session_and_the_slider_moves_every_view(dash_duo, start_app, session_dir):
    start_app(create_app(session_dir), "/?u=SPX&tab=intraday")
    wait_for(dash_duo, lambda: len(columns(dash_duo)) == len(TIMES), "the heatmap never drew the four snapshots")
    assert columns(dash_duo)[0] == "2026-11-20 09:35:00"
    names = [t["name"] for t in graph(dash_duo, ids.INTRADAY_GRAPH)]
    assert names == ["Net GEX", "Net GEX scale", "Spot", "Zero gamma", "Call wall", "Put wall"]
    dash_duo.wait_for_contains_text(f"#{ids.INTRADAY_STATUS}", "replay 09:50: snapshot 4 of 4", timeout=10)

    thumb = dash_duo.find_element(f"#{ids.INTRADAY_SLIDER} [role='slider']")
    thumb.send_keys(Keys.HOME)  # back to the open
    wait_for(dash_duo, lambda: "snap=spx-20261120-0935" in location_search(dash_duo), "the slider never chose 09:35")
    assert "tab=intraday" in location_search(dash_duo)
    wait_for(dash_duo, lambda: "09:35" in dash_duo.find_element(f"#{ids.SNAPSHOT}").text,
             "the snapshot control never showed the replayed moment")
    dash_duo.wait_for_contains_text(f"#{ids.INTRADAY_STATUS}", "replay 09:35: snapshot 1 of 4", timeout=10)
    layout = graph(dash_duo, ids.INTRADAY_GRAPH, "layout")
    assert layout["shapes"][0]["x0"] == "2026-11-20 09:35:00"
    assert dash_duo.get_logs() == []


def test_a_snapshot_written_mid_session_is_a_new_column_without_a_reload(dash_duo, start_app, session_dir, demo_dir,
                                                                        monkeypatch):
    monkeypatch.setenv("MMPOS_RESCAN_SECONDS", "1")  # the catalog's rescan (and the tab's watch), shortened
    start_app(create_app(session_dir), "/?u=SPX&tab=intraday&iexp=0dte")
    wait_for(dash_duo, lambda: len(columns(dash_duo)) == len(TIMES), "the heatmap never drew the four snapshots")
    assert "0DTE (2026-11-20)" in graph(dash_duo, ids.INTRADAY_GRAPH, "layout")["title"]["subtitle"]["text"]
    write_snapshot(demo_dir, session_dir, dt.time(9, 55), 1.5)  # the collector's next fetch lands
    wait_for(dash_duo, lambda: columns(dash_duo)[-1:] == ["2026-11-20 09:55:00"],
             "the snapshot that landed never became a column")
    assert len(columns(dash_duo)) == len(TIMES) + 1
    assert dash_duo.get_logs() == []
