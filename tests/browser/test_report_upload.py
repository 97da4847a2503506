"""The morning report and files dropped into the page, in headless Chromium with the network closed.

The report must open from a ``file://`` URL and draw every chart without asking the network for
anything (the Performance API lists every request the page made); the page's "Download report"
button must give such a file; a dropped chain file must join the catalog, and hostile files must be
refused with a banner that shows neither their content nor a server path.
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import pytest

from analytics.history import open_store
from dashboard import cli
from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.conftest import ARTIFACTS

REQUESTS_JS = """
return [performance.getEntriesByType('navigation').map(e => e.name),
        performance.getEntriesByType('resource').map(e => e.name)];
"""
#: the report's charts in page order: the three views, then the History tab's three charts
REPORT_CHARTS = ["fig-gamma", "fig-hedge", "fig-term", "fig-history-levels", "fig-history-heatmap", "fig-history-term"]
HEATMAP_JS = """
const g = document.getElementById('fig-history-heatmap');
return [g.data[0].type, g.querySelectorAll('.barlayer .point').length, g.querySelectorAll('.colorbar').length];
"""
CHARTS_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(
  d => [d.id, d.classList.contains('js-plotly-plot') && d.data ? d.data.length : 0]);
"""


@pytest.fixture(autouse=True)
def history_store_outside_the_demo_folder(tmp_path, monkeypatch):
    """The history store the reports read lives in a temporary folder, not in the committed data/."""
    monkeypatch.setenv("MMPOS_STATE_DIR", str(tmp_path / "state"))


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
    assert [c[0] for c in charts] == REPORT_CHARTS
    assert all(n > 0 for _, n in charts), charts
    text = dash_duo.driver.find_element("css selector", "pre.levels").text
    assert "SPX key levels" in text and "zero gamma" in text
    kind, cells, colour_bars = dash_duo.driver.execute_script(HEATMAP_JS)
    assert (kind, colour_bars) == ("bar", 1) and cells > 100  # strike x date cells drawn by the inlined bundle
    for width, height in ((1280, 800), (1600, 1000)):
        dash_duo.driver.set_window_size(width, height)
        dash_duo.driver.execute_script("window.scrollTo(0, 0)")
        dash_duo.driver.save_screenshot(str(artifacts / f"report_spx_{width}.png"))
        dash_duo.driver.execute_script("document.getElementById('fig-history-heatmap').scrollIntoView()")
        dash_duo.driver.save_screenshot(str(artifacts / f"report_spx_history_{width}.png"))
    assert dash_duo.get_logs() == []


DROP_JS = """
const [id, b64, name, type] = arguments;
const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name, {type: type}));
const outer = document.getElementById(id);  // dcc.Upload: the drop zone is the element inside its id
const zone = outer.querySelector('input[type=file]').parentElement;
for (const kind of ['dragenter', 'dragover', 'drop']) {
  zone.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
"""


@pytest.fixture
def own_data_dir(tmp_path, demo_dir, monkeypatch) -> Path:
    """A folder the test may write into: the newest three BTC (any layout) and two SPX demo snapshots;
    the page opens on BTC."""
    monkeypatch.setenv("MMPOS_DEFAULT_UNDERLYING", "BTC")
    out = tmp_path / "data"
    out.mkdir()
    for pattern, n in (("btc_*", 3), ("spx_quotedata_*.csv", 2)):
        for path in sorted(demo_dir.glob(pattern), key=lambda p: p.stem[-10:])[-n:]:  # by the date in the name
            shutil.copy2(path, out / path.name)
    return out


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def drop_file(dash_duo, raw: bytes, name: str, mime: str = "text/csv") -> None:
    dash_duo.driver.execute_script(DROP_JS, ids.UPLOAD, base64.b64encode(raw).decode("ascii"), name, mime)


def test_a_dropped_ndx_file_is_stored_under_a_generated_name_and_opens_in_the_view(
        dash_duo, start_app, own_data_dir, shared_data):
    start_app(create_app(own_data_dir))
    dash_duo.wait_for_text_to_equal(f"#{ids.UNDERLYING}", "BTC", timeout=20)
    before = files_under(own_data_dir)
    drop_file(dash_duo, (shared_data / "cboe_ndx_2022-02-05_lucacastelli.csv").read_bytes(), "ndx.csv")
    dash_duo.wait_for_contains_text(f"#{ids.UPLOAD_BANNER}", "File added", timeout=30)
    added = [p.name for p in files_under(own_data_dir) - before]
    assert len(added) == 1 and re.fullmatch(r"upload-\d{8}-[0-9a-f]{16}--ndx\.csv", added[0])  # the name kept as a label
    assert "NDX snapshot of 2022-02-05 20:26" in dash_duo.find_element(f"#{ids.UPLOAD_BANNER}").text
    dash_duo.wait_for_text_to_equal(f"#{ids.UNDERLYING}", "NDX", timeout=30)
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_TITLE}", "NDX", timeout=30)
    assert "u=NDX" in dash_duo.driver.current_url
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "upload_ndx_1440.png"))
    assert dash_duo.get_logs() == []


HOSTILE = (
    ("garbage.csv", bytes(range(256)) * 64, "application/octet-stream"),
    ("../../evil.csv", b"password,token\nhunter2,SECRET-TOKEN-123\n", "text/csv"),
    ("keys.json", b'{"api_key": "sk-live-0123456789abcdef", "client_secret": "hunter2"}', "application/json"),
)


def test_hostile_files_are_refused_with_a_banner_that_shows_no_content_or_path_and_write_nothing(
        dash_duo, start_app, own_data_dir, tmp_path):
    start_app(create_app(own_data_dir))
    dash_duo.wait_for_text_to_equal(f"#{ids.UNDERLYING}", "BTC", timeout=20)
    before = files_under(tmp_path)
    for name, raw, mime in HOSTILE:
        drop_file(dash_duo, raw, name, mime)
        dash_duo.wait_for_contains_text(f"#{ids.UPLOAD_BANNER}", f"refused ({len(raw):,} bytes):", timeout=20)
        text = dash_duo.find_element(f"#{ids.UPLOAD_BANNER}").text
        assert text.startswith("The dropped file was not added: refused")
        for leak in ("hunter2", "SECRET", "sk-live", "password", "evil", "keys.json", str(tmp_path), "/tmp"):
            assert leak not in text, (name, text)
        assert files_under(tmp_path) == before, name
    assert not list(tmp_path.parent.glob("**/evil.csv"))
    assert dash_duo.get_logs() == []


def test_the_report_button_downloads_a_file_that_opens_offline_and_draws(dash_duo, start_app, own_data_dir,
                                                                         tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with open_store(own_data_dir) as store:  # the page draws the history the store holds (mmpos backfill)
        store.sync()
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    start_app(create_app(own_data_dir))
    dash_duo.wait_for_text_to_equal(f"#{ids.UNDERLYING}", "BTC", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.HEADER_TITLE}", "BTC", timeout=30)
    dash_duo.find_element(f"#{ids.REPORT_BUTTON}").click()
    deadline = time.monotonic() + 60
    got: list[Path] = []
    while time.monotonic() < deadline and not got:
        got = [p for p in downloads.iterdir() if p.suffix == ".html"]
        time.sleep(0.3)
    assert [p.name for p in got] == ["mmpos-report-BTC-20261120-0800.html"] or got and got[0].name.startswith(
        "mmpos-report-BTC-"), got
    assert dash_duo.get_logs() == []
    charts = open_report_offline(dash_duo, got[0])
    assert [c[0] for c in charts] == REPORT_CHARTS
    assert all(n > 0 for _, n in charts), charts
    assert "BTC key levels" in dash_duo.driver.find_element("css selector", "pre.levels").text
    assert "last 3 snapshots" in dash_duo.driver.page_source
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize(("fmt", "magic"), [("pdf", b"%PDF-"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_mmpos_report_prints_pdf_and_png_with_the_local_chromium(demo_dir, tmp_path, fmt, magic):
    out = tmp_path / f"report.{fmt}"
    assert cli.main(["report", "--underlying", "BTC", "--data-dir", str(demo_dir), "--format", fmt,
                     "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic) and out.stat().st_size > 50_000


MODEBAR_JS = """
return Array.from(document.querySelectorAll('#' + arguments[0] + ' .modebar-btn')).map(
  b => (b.getAttribute('data-title') || '') + '|' + (b.getAttribute('data-attr') || '') + '|' +
       (b.getAttribute('data-val') || ''));
"""


def test_the_reports_modebar_has_no_cloud_button(dash_duo, demo_dir, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    out = tmp_path / "report.html"
    assert cli.main(["report", "--underlying", "SPX", "--data-dir", str(demo_dir), "--out", str(out)]) == 0
    charts = open_report_offline(dash_duo, out)
    for element_id, _ in charts:
        element = dash_duo.driver.find_element("id", element_id)
        dash_duo.driver.execute_script("arguments[0].scrollIntoView()", element)
        ActionChains(dash_duo.driver).move_to_element(element).perform()
        buttons = dash_duo.driver.execute_script(MODEBAR_JS, element_id)
        assert any(b.lower().startswith("download plot as a png") for b in buttons), (element_id, buttons)  # drawn
        assert not [b for b in buttons if re.search("cloud|share|chart studio", b, re.I)], (element_id, buttons)
    assert dash_duo.get_logs() == []
