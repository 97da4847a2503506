"""The History tab while an ``mmpos backfill`` started from a terminal fills the same store, and while new
files land, in Chromium."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time

import pytest

from analytics.history import BackfillProgress, HistoryStore
from analytics.summary import summarize_file
from dashboard.app import create_app
from dashboard.web import ids
from tests.browser import test_history
from tests.browser.test_dashboard import wait_for
from tests.browser.test_history import HISTORY_GRAPHS, SPX_FILES, snapshot_ids

pytestmark = pytest.mark.browser
history_dir = test_history.history_dir  # four SPX days and one BTC day, no history store yet


@pytest.fixture
def backfill_process():
    """A live process on this machine standing in for the terminal's ``mmpos backfill``."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc
    proc.kill()
    proc.wait()


def test_the_tab_shows_a_terminal_backfill_and_draws_what_it_stored(dash_duo, start_app, history_dir,
                                                                      backfill_process, artifacts):
    with HistoryStore(history_dir) as store:  # the backfill has stored two of the five files
        todo = store.stale()
        for fv in todo[:2]:
            store.put(fv, summarize_file(fv.path))
        row = dataclasses.replace(BackfillProgress.start(total=len(todo), now=time.time()),
                                  pid=backfill_process.pid, done=2)
        store.record_backfill(row)
    start_app(create_app(history_dir), "/?u=SPX&tab=history")
    dash_duo.wait_for_contains_text(f"#{ids.HISTORY_PROGRESS}", "backfill running: 2 of 5 data files summarised",
                                    timeout=20)
    stored = len([fv for fv in todo[:2] if fv.rel_path.startswith("spx")])
    wait_for(dash_duo, lambda: len(snapshot_ids(dash_duo, ids.HISTORY_LEVELS_GRAPH)) == stored,
             "the charts never drew what the backfill had stored")
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.driver.save_screenshot(str(artifacts / "history_backfill_running_1280.png"))

    with HistoryStore(history_dir) as store:  # the backfill ends
        store.sync()
        store.record_backfill(dataclasses.replace(row, done=len(todo), finished=True, updated_at=time.time()))
    for graph_id in HISTORY_GRAPHS:
        wait_for(dash_duo, lambda g=graph_id: len(snapshot_ids(dash_duo, g)) == len(SPX_FILES),
                 f"{graph_id} never drew every SPX snapshot once the backfill ended")
    wait_for(dash_duo, lambda: dash_duo.find_element(f"#{ids.HISTORY_PROGRESS}").text == "",
             "the progress line never cleared")
    assert dash_duo.get_logs() == []


def test_a_file_that_lands_while_the_tab_stays_open_is_summarised_and_drawn(dash_duo, start_app, history_dir,
                                                                            demo_dir, monkeypatch):
    from dashboard.web import layout

    monkeypatch.setattr(layout, "HISTORY_IDLE_MS", 1000)  # the idle tick, shortened for the test
    start_app(create_app(history_dir), "/?u=SPX&tab=history")
    wait_for(dash_duo, lambda: len(snapshot_ids(dash_duo, ids.HISTORY_LEVELS_GRAPH)) == len(SPX_FILES),
             "the charts never drew the SPX snapshots")
    wait_for(dash_duo, lambda: dash_duo.find_element(f"#{ids.HISTORY_PROGRESS}").text == "",
             "the progress line never cleared")
    shutil.copy2(demo_dir / "spx_quotedata_2026-11-18.csv", history_dir)  # the desk's next file lands
    wait_for(dash_duo, lambda: "spx-20261118-1615" in snapshot_ids(dash_duo, ids.HISTORY_LEVELS_GRAPH),
             "a file that landed while the tab was open was never drawn")
    assert dash_duo.get_logs() == []
