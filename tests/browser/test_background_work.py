"""A cold analysis of a big chain runs as a background job: the page shows its progress, can cancel
it, and draws the view when it is done (dashboard/web/callbacks/work.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard import service
from dashboard.app import create_app
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings
from dashboard.web import ids
from tests.browser.test_dashboard import graph, wait_for, wait_for_charts

pytestmark = pytest.mark.browser
HOLD_S = 60.0  # the longest an analysis waits for the test to release it (never reached when it works)


@dataclass
class HeldAnalyses:
    """Every analysis (in the job's process) notes ``start <pid>`` in :attr:`log`, waits until the test
    calls :meth:`release`, then notes ``done <pid>``: the test decides when a job may finish."""

    log: Path
    gate: Path

    def release(self) -> None:
        self.gate.touch()

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def pids(self) -> set[int]:
        return {int(line.split()[1]) for line in self.lines() if line.startswith("start ")}


def _note(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(f"{text} {os.getpid()}\n")


@pytest.fixture
def slow_background(monkeypatch, tmp_path) -> Iterator[HeldAnalyses]:
    """Every cold view goes through a background job; each analysis is held until the test releases it."""
    monkeypatch.setenv("MMPOS_SHARED_CACHE", "on")
    monkeypatch.setenv("MMPOS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MMPOS_BACKGROUND_ROWS", "0")
    service.use_shared_cache(SharedCache(Settings(cache_dir=tmp_path / "cache")))
    held = HeldAnalyses(tmp_path / "analyses.log", tmp_path / "release")
    real = service.analyze

    def analyze(chain, scenario, **kw):
        _note(held.log, "start")
        deadline = time.monotonic() + HOLD_S
        while not held.gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        result = real(chain, scenario, **kw)
        _note(held.log, "done")
        return result

    monkeypatch.setattr(service, "analyze", analyze)
    yield held
    held.release()  # nothing left waiting
    service.use_shared_cache(None)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def open_default_spx_view(dash_duo, start_app, demo_dir) -> None:
    """Serve the demo and stay on the page ``start_server`` opened: the default SPX view.

    Opening ``/?u=SPX`` after it raced with that first page: when its gate had already claimed the
    job for the same view, the second page rightly waited for that job without a panel of its own."""
    start_app(create_app(demo_dir))
    wait_for(dash_duo, lambda: dash_duo.find_element(f"#{ids.UNDERLYING}").text.strip().startswith("SPX"),
             "the page did not open on the default SPX view")


def panel_shown(dash_duo) -> bool:
    return dash_duo.find_element(f"#{ids.WORK_PANEL}").value_of_css_property("display") != "none"


def test_a_slow_analysis_shows_its_progress_then_draws_the_view(dash_duo, start_app, demo_dir, slow_background,
                                                                 artifacts):
    open_default_spx_view(dash_duo, start_app, demo_dir)
    wait_for(dash_duo, lambda: panel_shown(dash_duo), "the work panel never showed")
    wait_for(dash_duo, lambda: "Analysing the selected expiries" in dash_duo.find_element(f"#{ids.WORK_TEXT}").text,
             "the job's progress never showed")
    assert dash_duo.find_element(f"#{ids.WORK_PROGRESS}").get_attribute("value") == "1"
    dash_duo.driver.save_screenshot(str(artifacts / "background_progress.png"))
    assert not graph(dash_duo, ids.GAMMA_GRAPH)  # nothing drawn while the job runs
    slow_background.release()
    wait_for_charts(dash_duo)
    wait_for(dash_duo, lambda: not panel_shown(dash_duo), "the work panel stayed")
    assert dash_duo.get_logs() == []


def test_cancel_stops_the_job_and_hides_the_panel(dash_duo, start_app, demo_dir, slow_background):
    open_default_spx_view(dash_duo, start_app, demo_dir)
    wait_for(dash_duo, lambda: panel_shown(dash_duo), "the work panel never showed")
    wait_for(dash_duo, lambda: slow_background.pids(), "the job's analysis never started")
    dash_duo.find_element(f"#{ids.WORK_CANCEL}").click()
    wait_for(dash_duo, lambda: not panel_shown(dash_duo), "cancel did not hide the panel")
    # the held analysis cannot end by itself: its process ending means the job was stopped
    wait_for(dash_duo, lambda: not any(alive(pid) for pid in slow_background.pids()), "the job's process lived on")
    assert not any(line.startswith("done ") for line in slow_background.lines())
    assert not graph(dash_duo, ids.GAMMA_GRAPH)
    assert dash_duo.get_logs() == []
