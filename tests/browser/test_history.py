"""The History tab in a real headless Chromium: three charts, filled lazily; a click opens a snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import graph, location_search, wait_for, wait_for_charts

pytestmark = pytest.mark.browser

HISTORY_GRAPHS = (ids.HISTORY_LEVELS_GRAPH, ids.HISTORY_HEATMAP_GRAPH, ids.HISTORY_TERM_GRAPH)
SPX_FILES = ("spx_table_2026-11-12.parquet", "spx_table_2026-11-13.parquet", "spx_quotedata_2026-11-19.csv",
             "spx_quotedata_2026-11-20.csv")


@pytest.fixture
def history_dir(tmp_path, demo_dir) -> Path:
    """Four SPX days (two Parquet, two CBOE) and one BTC day, with no history store yet."""
    for name in (*SPX_FILES, "btc_book_summary_2026-11-20.json"):
        shutil.copy2(demo_dir / name, tmp_path / name)
    return tmp_path


def snapshot_ids(dash_duo, graph_id: str) -> list[str]:
    return (graph(dash_duo, graph_id, "layout") or {}).get("xaxis", {}).get("categoryarray") or []


def test_the_history_tab_draws_three_charts_over_every_snapshot(dash_duo, start_app, history_dir):
    start_app(create_app(history_dir), "/?u=SPX&tab=history")
    for graph_id in HISTORY_GRAPHS:
        wait_for(dash_duo, lambda g=graph_id: len(snapshot_ids(dash_duo, g)) == len(SPX_FILES),
                 f"{graph_id} never drew the {len(SPX_FILES)} SPX snapshots")
    names = [t["name"] for t in graph(dash_duo, ids.HISTORY_LEVELS_GRAPH)]
    assert names == ["Total GEX", "Spot", "Zero gamma", "Call wall", "Put wall"]
    assert [t["name"] for t in graph(dash_duo, ids.HISTORY_HEATMAP_GRAPH)] == ["Net GEX", "Spot"]
    assert graph(dash_duo, ids.HISTORY_TERM_GRAPH)[0]["name"] == "Net dealer vega"
    wait_for(dash_duo, lambda: dash_duo.find_element(f"#{ids.HISTORY_PROGRESS}").text == "",
             "the progress line never cleared")
    assert dash_duo.get_logs() == []


def test_clicking_a_date_opens_that_snapshot_in_the_main_view(dash_duo, start_app, history_dir):
    start_app(create_app(history_dir), "/?u=SPX&tab=history&hn=5")
    wait_for(dash_duo, lambda: len(snapshot_ids(dash_duo, ids.HISTORY_HEATMAP_GRAPH)) == len(SPX_FILES),
             "the heatmap never drew")
    first = snapshot_ids(dash_duo, ids.HISTORY_HEATMAP_GRAPH)[0]
    cells = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.HISTORY_HEATMAP_GRAPH} .trace.bars .point")
    cell = cells[len(cells) // len(SPX_FILES) // 2]  # the first snapshot's column, near spot
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    ActionChains(dash_duo.driver).move_to_element(cell).click().perform()
    wait_for(dash_duo, lambda: f"snap={first}" in location_search(dash_duo), "the URL never named the snapshot")
    assert "tab=history" not in location_search(dash_duo) and "hn=5" in location_search(dash_duo)
    wait_for_charts(dash_duo)
    assert first.startswith("spx-20261112")
    wait_for(dash_duo, lambda: "2026-11-12" in dash_duo.find_element(f"#{ids.SNAPSHOT}").text,
             "the snapshot control never showed the clicked date")
    assert dash_duo.get_logs() == []
