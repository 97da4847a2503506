"""The morning report and files dropped into the page, in headless Chromium with the network closed.

The report must open from a ``file://`` URL and draw every chart without asking the network for
anything (the Performance API lists every request the page made); the page's "Download report"
button must give such a file; a dropped chain file must join the catalog, and hostile files must be
refused with a banner that shows neither their content nor a server path.
"""

from __future__ import annotations

import time
from pathlib import Path

from dashboard import cli

REQUESTS_JS = """
return [performance.getEntriesByType('navigation').map(e => e.name),
        performance.getEntriesByType('resource').map(e => e.name)];
"""
CHARTS_JS = """
return Array.from(document.querySelectorAll('.chart')).map(
  d => [d.id, d.classList.contains('js-plotly-plot') && d.data ? d.data.length : 0]);
"""


def open_report_offline(dash_duo, path: Path) -> list[list]:
    """Open a report file in the test browser; returns [element id, traces drawn] per chart, after
    checking that every request the page made stayed in the file (file: or data: URLs)."""
    dash_duo.driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + 20
    charts: list[list] = []
    while time.monotonic() < deadline:
        charts = dash_duo.driver.execute_script(CHARTS_JS)
        if charts and all(n > 0 for _, n in charts):
            break
        time.sleep(0.2)
    navigation, resources = dash_duo.driver.execute_script(REQUESTS_JS)
    assert navigation == [path.resolve().as_uri()]
    assert [r for r in resources if not r.startswith(("data:", "file:", "blob:"))] == []
    return charts


def test_mmpos_report_opens_offline_and_draws_every_chart(dash_duo, demo_dir, tmp_path, artifacts):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--underlying", "SPX", "--data-dir", str(demo_dir), "--out", str(out)]) == 0
    charts = open_report_offline(dash_duo, out)
    assert [c[0] for c in charts] == ["fig-gamma", "fig-hedge", "fig-term", "fig-history-levels", "fig-history-vega"]
    assert all(n > 0 for _, n in charts), charts
    text = dash_duo.driver.find_element("css selector", "pre.levels").text
    assert "SPX key levels" in text and "zero gamma" in text
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.driver.save_screenshot(str(artifacts / "report_spx_1280.png"))
    assert dash_duo.get_logs() == []
