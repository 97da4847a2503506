"""The process's one Chromium (tests/browser/conftest.py) is put back to a new browser's state before
each test: what one test leaves (window size, tabs, cookies, a granted permission, console errors) must
not reach the next."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from tests.browser.conftest import reset_browser

pytestmark = pytest.mark.browser

CLIPBOARD_PERMISSION_JS = """
const done = arguments[arguments.length - 1];
navigator.permissions.query({name: 'clipboard-read'}).then(p => done(p.state));
"""


@pytest.fixture
def origin(tmp_path):
    """A page on a local origin (a permission is granted per origin)."""
    (tmp_path / "index.html").write_text("<title>page</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_reset_undoes_what_a_test_leaves_in_the_browser(dash_duo, process_browser, origin, tmp_path):
    driver = dash_duo.driver
    first = process_browser.window
    assert driver.get_window_size() == first and driver.current_url == "about:blank"
    driver.get(origin + "/")
    untouched = driver.execute_async_script(CLIPBOARD_PERMISSION_JS)
    # what a test may leave behind
    driver.execute_cdp_cmd("Network.setCookie", {"name": "left", "value": "1", "url": origin})
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin, "permissions": ["clipboardReadWrite"]})
    assert driver.execute_async_script(CLIPBOARD_PERMISSION_JS) == "granted" != untouched
    driver.execute_script("console.error('left behind')")
    driver.set_window_size(800, 600)
    driver.switch_to.new_window("tab")
    assert len(driver.window_handles) == 2
    assert driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]

    reset_browser(dash_duo, first, str(tmp_path))

    assert len(driver.window_handles) == 1
    assert driver.current_url == "about:blank"
    assert driver.get_window_size() == first
    assert driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"] == []
    assert dash_duo.get_logs() == []
    driver.get(origin + "/")
    assert driver.execute_async_script(CLIPBOARD_PERMISSION_JS) == untouched
