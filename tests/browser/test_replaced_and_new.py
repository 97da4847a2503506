"""Issue #18 in a real headless Chromium: a clamped vol shift from a link says so (banner, rewritten URL,
cards); a dropped file opens and keeps its name, a second drop says "Already here"; a file landing in
the data folder raises the "new snapshot" notice, and "follow newest" opens it by itself."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.test_dashboard import location_search, wait_for, wait_for_charts
from tests.browser.test_report_upload import drop_file

pytestmark = pytest.mark.browser


def test_a_link_asking_a_vol_shift_the_chain_cannot_take_gets_a_banner_and_a_rewritten_url(
        dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir), "/?u=SPX&vol=shift:-50")
    wait_for_charts(dash_duo)
    dash_duo.wait_for_contains_text(f"#{ids.CATALOG_BANNER}", "vol shift -50 is out of range for this chain",
                                    timeout=20)
    wait_for(dash_duo, lambda: re.fullmatch(r"\?u=SPX&snap=spx-\d{8}-\d{4}&vol=shift:-7\.\d+",
                                            location_search(dash_duo)) is not None,
             "the URL was not rewritten to the vol shift drawn")
    drawn = location_search(dash_duo).rsplit(":", 1)[1]
    assert f"using {drawn}" in dash_duo.find_element(f"#{ids.CATALOG_BANNER}").text
    dash_duo.wait_for_contains_text(f"#{ids.KPI_STRIP}", f"vols {drawn} pts (asked -50, clamped", timeout=20)
    assert dash_duo.find_element(f"#{ids.VOL_VALUE}").get_attribute("value") == drawn
    assert dash_duo.get_logs() == []


@pytest.fixture
def spx_folder(tmp_path, demo_dir, monkeypatch) -> Path:
    """The SPX demo quote tables but the newest (dropped in by the test); a rescan every second."""
    monkeypatch.setenv("MMPOS_RESCAN_SECONDS", "1")
    out = tmp_path / "data"
    out.mkdir()
    for path in sorted(demo_dir.glob("spx_quotedata_*.csv"))[:-1]:
        shutil.copy2(path, out / path.name)
    return out


def test_a_dropped_file_opens_keeps_its_name_and_a_second_drop_says_already_here(
        dash_duo, start_app, spx_folder, shared_data):
    start_app(create_app(spx_folder), "/?u=SPX")
    wait_for_charts(dash_duo)
    raw = (shared_data / "cboe_spx_2024-01-07_phammings.csv").read_bytes()
    drop_file(dash_duo, raw, "my desk's SPX (Jan 7).csv")
    dash_duo.wait_for_contains_text(f"#{ids.UPLOAD_BANNER}", "File added", timeout=30)
    wait_for(dash_duo, lambda: "snap=spx-20240107-1052" in location_search(dash_duo), "the upload did not open")
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_SNAPSHOT}", "2024-01-07 10:52", timeout=30)
    assert "my_desk_s_SPX_Jan_7 (uploaded)" in dash_duo.find_element(f"#{ids.SNAPSHOT}").text
    drop_file(dash_duo, raw, "again.csv")
    dash_duo.wait_for_contains_text(f"#{ids.UPLOAD_BANNER}", "Already here", timeout=30)
    assert len(list(spx_folder.glob("upload-*"))) == 1
    assert dash_duo.get_logs() == []


# A dcc.Store renders nothing: its data is read from the renderer's state (window.store, paths.strs: id -> path)
STORE_DATA_JS = """
const state = window.store.getState();
let node = state.layout;
for (const key of state.paths.strs[arguments[0]] || []) { node = node && node[key]; }
return node && node.props ? node.props.data : null;
"""


def test_a_file_landing_in_the_folder_raises_the_notice_and_follow_newest_opens_the_next(
        dash_duo, start_app, spx_folder, demo_dir):
    start_app(create_app(spx_folder), "/?u=SPX")
    wait_for_charts(dash_duo)
    shown = location_search(dash_duo)
    newest = sorted(demo_dir.glob("spx_quotedata_*.csv"))[-1]
    dash_duo.wait_for_element(f"#{ids.KPI_STRIP} .kpi", timeout=20)
    # the first catalog poll remembers the newest snapshot (its store's data, read from Dash's own state)
    wait_for(dash_duo, lambda: (dash_duo.driver.execute_script(STORE_DATA_JS, ids.KNOWN_NEWEST_STORE) or {}).get("SPX"),
             "no catalog poll remembered the newest snapshot")
    shutil.copy2(newest, spx_folder / newest.name)
    dash_duo.wait_for_contains_text(f"#{ids.NEW_SNAPSHOT_NOTICE}", "New snapshot available: SPX 2026-11-20 16:15",
                                    timeout=15)
    assert location_search(dash_duo) == shown  # a notice only: the view stays
    dash_duo.find_element(f"#{ids.FOLLOW} input[value='follow']").click()
    wait_for(dash_duo, lambda: "follow=1" in location_search(dash_duo), "follow newest is not in the URL")
    later = spx_folder / "spx_quotedata_2026-11-23.csv"  # the same quotes, stamped the next Monday
    text = newest.read_text()
    later.write_text(text.replace("November 20, 2026", "November 23, 2026", 1))
    wait_for(dash_duo, lambda: "snap=spx-20261123" in location_search(dash_duo), "follow newest did not open it")
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_SNAPSHOT}", "2026-11-23", timeout=20)
    assert dash_duo.get_logs() == []
