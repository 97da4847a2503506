"""The per-strike grid (dash-ag-grid) in a real browser: it opens at the page holding spot, a sort
returns it to its first page with the arrow beside the sorted column's title, the strike finder
filters it, and a 1440 px screenshot shows it to a person."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.web import ids
from tests.browser.conftest import POLL_S

pytestmark = pytest.mark.browser

TIMEOUT = 20
SCREENS = "/work/notes/screens"
NET = "net_gex_usd_per_1pct"

# What the grid shows, from AG Grid's own API (rows after filter and sort, the current page).
GRID_JS = """
var api = null;
try { api = window.dash_ag_grid.getApi(arguments[0]); } catch (e) { return null; }  // not drawn yet
var rows = [];
api.forEachNodeAfterFilterAndSort(function (n) { rows.push(n.data); });
var size = api.paginationGetPageSize(), page = api.paginationGetCurrentPage();
return {page: page, pages: api.paginationGetTotalPages(), rows: rows, shown: rows.slice(page * size, (page + 1) * size)};
"""
# Where the sort arrow and the title of a header cell are drawn (left/right edges, px).
ARROW_JS = """
var cell = document.querySelector(arguments[0]);
var arrow = cell && Array.from(cell.querySelectorAll('.ag-sort-indicator-icon')).find(function (e) {
    return !e.classList.contains('ag-hidden') && e.getBoundingClientRect().width > 0; });
var title = cell && cell.querySelector('.ag-header-cell-text');
if (!arrow || !title) { return null; }
var a = arrow.getBoundingClientRect(), t = title.getBoundingClientRect(), c = cell.getBoundingClientRect();
return {arrow: [a.left, a.right], title: [t.left, t.right], cell: [c.left, c.right]};
"""


def grid(dash_duo) -> dict | None:
    return dash_duo.driver.execute_script(GRID_JS, ids.STRIKE_TABLE)


def wait_for(dash_duo, predicate, message: str):
    return WebDriverWait(dash_duo.driver, TIMEOUT, poll_frequency=POLL_S).until(lambda _d: predicate(), message=message)


def marked(dash_duo) -> list[float]:
    """The strikes of the drawn rows marked as nearest spot."""
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' .ag-center-cols-container .spot-row'))"
        ".map(r => window.dash_ag_grid.getApi(arguments[1]).getRowNode(r.getAttribute('row-id')).data.strike);",
        f"#{ids.STRIKE_TABLE}", ids.STRIKE_TABLE)


def header_cell(col: str) -> str:
    return f"#{ids.STRIKE_TABLE} .ag-header-cell[col-id='{col}']"


def test_the_strike_grid_opens_at_spot_sorts_back_to_page_one_and_finds_strikes(dash_duo, start_app, demo_dir):
    start_app(create_app(demo_dir), "/?u=SPX")
    wait_for(dash_duo, lambda: (grid(dash_duo) or {}).get("rows"), "the grid never got its rows")
    spot = float(re.search(r"spot ([\d,.]+)", dash_duo.find_element(f"#{ids.HEADER_TITLE}").text)[1].replace(",", ""))
    strikes = [r["strike"] for r in grid(dash_duo)["rows"]]
    assert strikes == sorted(strikes)
    at_spot = min(strikes, key=lambda k: abs(k - spot))
    # first draw: the page holding the strike nearest spot (not page 1 of a chain that starts far below)
    wait_for(dash_duo, lambda: at_spot in [r["strike"] for r in grid(dash_duo)["shown"]], "not opened at spot")
    assert grid(dash_duo)["page"] > 0
    # and marks that row (one row, the same strike)
    wait_for(dash_duo, lambda: marked(dash_duo) == [at_spot], "the strike nearest spot is not marked")
    # the USD columns carry their units in the titles and show whole dollars
    assert "Net GEX (USD per 1%)" in dash_duo.find_element(header_cell(NET)).text
    cell = dash_duo.find_element(f"#{ids.STRIKE_TABLE} .ag-row:not(.ag-hidden) .ag-cell[col-id='{NET}']").text
    assert re.fullmatch(r"[−-]?\$[\d,]+", cell), cell
    dash_duo.driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'end'})",
                                   ids.STRIKE_TABLE)
    dash_duo.driver.save_screenshot(f"{SCREENS}/grid_1440.png")

    # a sort goes back to page 1 (the DataTable stayed on the page it was on)
    dash_duo.find_element(header_cell(NET)).click()
    wait_for(dash_duo, lambda: grid(dash_duo)["page"] == 0, "sorting did not return to the first page")
    got = grid(dash_duo)
    nets = [r[NET] for r in got["rows"]]
    assert nets == sorted(nets) and got["shown"] == got["rows"][:len(got["shown"])]
    # its arrow sits beside that column's own title, inside that header cell
    where = dash_duo.driver.execute_script(ARROW_JS, header_cell(NET))
    assert where is not None, "no sort arrow drawn on the sorted column"
    assert where["cell"][0] <= where["arrow"][0] and where["arrow"][1] <= where["cell"][1]
    assert min(abs(where["arrow"][1] - where["title"][0]), abs(where["title"][1] - where["arrow"][0])) < 12, where
    assert dash_duo.driver.execute_script(ARROW_JS, header_cell("strike")) is None  # no arrow elsewhere

    # the strike finder: the quick filter keeps strikes containing the text, whatever the dollars say
    dash_duo.find_element(f"#{ids.STRIKE_FILTER}").send_keys("675")
    wait_for(dash_duo, lambda: 0 < len(grid(dash_duo)["rows"]) < len(strikes), "the quick filter did nothing")
    kept = sorted(r["strike"] for r in grid(dash_duo)["rows"])
    assert kept == [k for k in strikes if "675" in f"{k:g}"]
    assert grid(dash_duo)["page"] == 0
    dash_duo.driver.save_screenshot(f"{SCREENS}/grid_1440_sorted_filtered.png")
    assert dash_duo.get_logs() == []
