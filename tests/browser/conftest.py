"""Browser tests: headless Chromium (the shared hook) and a demo data folder built per session.

``pytest_setup_options`` is copied from ../shared/testing/conftest_browser.py: Debian's chromium and
chromedriver, headless, 1440x1000, no outside DNS.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

from analytics.demo import write_demo_data

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


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Five days of demo SPX and BTC snapshots plus the SPX positions file."""
    out = tmp_path_factory.mktemp("demo")
    write_demo_data(out)
    return out


@pytest.fixture(scope="session")
def demo_dir_with_junk(tmp_path_factory, demo_dir) -> Path:
    """The demo folder plus one file no loader can read."""
    out = tmp_path_factory.mktemp("demo_junk")
    for path in demo_dir.iterdir():
        shutil.copy2(path, out / path.name)
    (out / JUNK_NAME).write_text("this is not,a CBOE quote table\n\x00\x01 garbage,,,\n")
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
