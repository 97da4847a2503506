"""Browser tests: headless Chromium (the shared hook), the app on a free port, the demo data.

``pytest_setup_options`` is copied from ../shared/testing/conftest_browser.py: Debian's chromium and
chromedriver, headless, 1440x1000, no outside DNS. ``start_app`` serves an app on a port the
operating system picked (dash_duo's runner would bind 58050, 58051, ... and fail when another
suite on the same machine holds them). ``demo_dir`` comes from tests/conftest.py.

``dash_duo`` here replaces dash's own: each test still gets its own app server, but the Chromium is
the test process's one, started once (~1.5 s a start and ~0.5 s a quit saved per test) and put back
to a fresh browser's state before every test (:func:`reset_browser`); after a failed test it is
replaced by a new one, so a broken page cannot reach the next test.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from dash.testing.browser import Browser
from dash.testing.composite import DashComposite
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.action_chains import ActionChains

from tests.conftest import copy_demo_files

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
JUNK_NAME = "spx_quotedata_corrupt.csv"
PAGE_TIMEOUT_S = 60  # the longest start_app waits for the page's Dash renderer (a loaded 2-core machine)
POLL_S = 0.1  # how often a test's waits look again (selenium's default, 0.5 s, added ~0.25 s to every wait)


def pytest_setup_options():
    # Dash's browser fixture takes these ChromeOptions and adds its own flags on top.
    options = Options()
    chrome = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium")
    if chrome:
        options.binary_location = chrome
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
        "--no-first-run",
        "--disable-extensions",
        "--disable-component-update",
        "--disable-background-networking",
        # closed network: resolve every non-local host to NOTFOUND inside Chromium
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    return options


def free_port() -> int:
    """A TCP port nobody listens on now: bind port 0 on loopback and read back what the OS chose."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_browser(config, download_path: str) -> Browser:
    """A Chromium driven as dash's own ``dash_duo`` fixture would start it (same options and hook)."""
    return Browser(
        browser=config.getoption("webdriver"),
        remote=config.getoption("remote"),
        remote_url=config.getoption("remote_url"),
        headless=config.getoption("headless"),
        options=config.hook.pytest_setup_options(),
        download_path=download_path,
        percy_assets_root=config.getoption("percy_assets"),
        percy_finalize=config.getoption("nopercyfinalize"),
        pause=config.getoption("pause"),
    )


class ProcessBrowser:
    """The test process's one Chromium, and the window size it had when new (put back per test)."""

    def __init__(self, config, download_path: str) -> None:
        self.config, self.download_path = config, download_path
        self.browser: Browser | None = None
        self.window: dict[str, int] = {}

    def get(self) -> Browser:
        if self.browser is not None and not alive(self.browser):
            self.replace()
        if self.browser is None:
            self.browser = new_browser(self.config, self.download_path)
            self.window = self.browser.driver.get_window_size()
        return self.browser

    def replace(self) -> None:
        """Quit this Chromium (after a failed test, or when it died); the next test starts a new one."""
        if self.browser is not None:
            self.browser.__exit__(None, None, None)
            self.browser = None


def alive(browser: Browser) -> bool:
    try:
        browser.driver.window_handles  # noqa: B018  (a round trip to the browser)
        return True
    except WebDriverException:
        return False


def reset_browser(browser: Browser, window: dict[str, int], download_path: str) -> None:
    """Put a used Chromium back to what a new one shows a test: one blank tab at the first size, no
    cookies or granted permissions, downloads to ``download_path``, the mouse at the corner with
    nothing pressed, and no console entry left over (what ``get_logs`` reads)."""
    driver = browser.driver
    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Browser.resetPermissions", {})
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_path})
    ActionChains(driver).reset_actions()
    driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 0, "y": 0})
    driver.set_window_size(window["width"], window["height"])
    driver.get_log("browser")  # read = emptied


@pytest.fixture(scope="session")
def process_browser(request, tmp_path_factory):
    chrome = ProcessBrowser(request.config, str(tmp_path_factory.mktemp("download")))
    yield chrome
    chrome.replace()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if outcome.get_result().failed:
        item.stash[FAILED] = True


@pytest.fixture
def dash_duo(request, dash_thread_server, process_browser, tmp_path) -> DashComposite:
    """dash's ``dash_duo`` (its app runner, its browser methods) on the process's Chromium."""
    download_path = tmp_path / "download"
    download_path.mkdir()
    browser = process_browser.get()
    try:
        reset_browser(browser, process_browser.window, str(download_path))
    except WebDriverException:  # a browser that cannot be put back is replaced, not handed on
        process_browser.replace()
        browser = process_browser.get()
        reset_browser(browser, process_browser.window, str(download_path))
    duo = DashComposite.__new__(DashComposite)
    duo.__dict__.update(browser.__dict__)  # the driver and its settings; _url and _last_ts start empty
    duo._url, duo._last_ts, duo._download_path = "", 0, str(download_path)
    duo.server = dash_thread_server
    yield duo
    if request.node.stash.get(FAILED, False):
        process_browser.replace()
        return
    try:
        duo.driver.get("about:blank")  # leave the page before its server stops (no polls at a dead port)
    except WebDriverException:
        process_browser.replace()


@pytest.fixture
def start_app(dash_duo) -> Callable:
    """``start_app(app, path)`` serves ``app`` through dash_duo on a free port and opens ``path`` there
    (the page's Dash renderer loaded); with ``path=None`` it opens nothing (a test that sizes the window
    first opens the page itself)."""

    def start(app, path: str | None = "/") -> None:
        dash_duo.start_server(app, navigate=False, port=free_port())
        dash_duo._url = dash_duo.server.url  # what DashComposite.start_server sets, without its visit to "/"
        if path is not None:
            dash_duo.wait_for_page(dash_duo.server_url + path, timeout=PAGE_TIMEOUT_S)

    return start


@pytest.fixture(scope="session")
def demo_dir_with_junk(tmp_path_factory, demo_dir) -> Path:
    """The demo's days in vendor layouts (five SPX, two BTC) plus one file no loader can read: a fresh
    folder is loaded cold, and the whole month (41 files) would also push the demo month out of the
    process's cache of loaded files."""
    out = tmp_path_factory.mktemp("demo_junk")
    copy_demo_files(demo_dir, out, only=("spx_quotedata_*.csv", "btc_book_summary_*.json"))  # no data/.mmpos
    (out / JUNK_NAME).write_text("this is not,a CBOE quote table\n\x00\x01 garbage,,,\n")
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
