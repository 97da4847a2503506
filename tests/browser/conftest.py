"""Browser tests: headless Chromium (the shared hook), the app on a free port, the demo data.

``pytest_setup_options`` is copied from ../shared/testing/conftest_browser.py: Debian's chromium and
chromedriver, headless, 1440x1000, no outside DNS. ``start_app`` serves an app on a port the
operating system picked (dash_duo's runner would bind 58050, 58051, ... and fail when another
suite on the same machine holds them). ``demo_dir`` comes from tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

from tests.conftest import copy_demo_files

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
JUNK_NAME = "spx_quotedata_corrupt.csv"


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


@pytest.fixture
def start_app(dash_duo) -> Callable:
    """``start_app(app)`` serves ``app`` through dash_duo on a free port and opens it."""

    def start(app) -> None:
        dash_duo.start_server(app, port=free_port())

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
