"""The page under the edge's Content-Security-Policy, in a real headless Chromium served by gunicorn."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.serving.conftest import Served

pytestmark = pytest.mark.browser

RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
DRAWN_GRAPHS = """
return Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(gd => gd.data && gd.data.length > 0).length;
"""


def test_the_dashboard_draws_under_the_csp_with_no_violation(server: Served, dash_br):
    assert "content-security-policy" in server.get("/").headers
    dash_br.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
    dash_br.driver.get(server.url + "/")
    WebDriverWait(dash_br.driver, 30).until(lambda d: d.execute_script(DRAWN_GRAPHS) >= 3,
                                            message="the charts never drew under the CSP")
    assert dash_br.driver.execute_script("return window.__cspViolations") == []
    assert dash_br.get_logs() == []
