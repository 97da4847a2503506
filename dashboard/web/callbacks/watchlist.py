"""The watchlist (``/watchlist``, issue 18): one row per underlying of the data folder, the review's first screen.

:func:`watchlist_records` builds the rows from what the page's opening view of each underlying draws
(:func:`dashboard.web.warm.opening_view`; the analyses are the ones
:func:`dashboard.web.warm.warm_view` warms into the caches: :func:`dashboard.service.view_analyses`
and :func:`dashboard.service.previous_analysis`) and the history store's totals (read, never
filled: ``refresh=False``). A row's numbers come from :func:`analytics.watchlist.watchlist_row`.

Two callbacks: the page switch (a clientside class on the page root: ``/watchlist`` shows the grid, every
other path the positioning view; the header's links keep the URL's query plus the view's underlying and
snapshot, so the view travels between the pages) with the grid's rows, and a click on a row, which opens that
underlying's view (``/?u=UNDERLYING``) by writing the URL the controls callback reads. On ``/watchlist``
the controls callback makes no positioning view (:func:`dashboard.web.callbacks.controls.update`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, State
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.errors import ChainDataError, ScenarioError
from analytics.history import open_store
from analytics.watchlist import watchlist_row
from dashboard import service
from dashboard.web import ids
from dashboard.web.figures.sparkline import sparkline_uri
from dashboard.web.inputs import checked, unexpected
from dashboard.web.layout import WATCHLIST_PATH
from dashboard.web.state import scenario_from_state
from dashboard.web.warm import opening_view

log = logging.getLogger(__name__)

def is_watchlist(pathname: str | None) -> bool:
    """Whether ``pathname`` is the watchlist's (under any prefix).

    Examples
    --------
    >>> is_watchlist("/watchlist"), is_watchlist("/desk/watchlist/"), is_watchlist("/")
    (True, True, False)
    """
    return (pathname or "").rstrip("/").endswith("/" + WATCHLIST_PATH)


def watchlist_records(data_dir: str | None, now: pd.Timestamp) -> tuple[list[dict[str, Any]], list[str]]:
    """The grid's rows (one per underlying, in the catalog's order) and a note per underlying left out
    (its newest snapshot unreadable). Reads the cached analyses and the history store; computes only
    what no cache holds."""
    catalog = service.get_catalog(data_dir)
    try:
        with open_store(service.resolve_data_dir(data_dir)) as store:
            totals = store.totals(refresh=False)
    except ChainDataError as err:
        log.info("watchlist without sparklines: %s", err)
        totals = {}
    rows, notes = [], []
    for underlying in catalog.underlyings():
        try:
            state = opening_view(catalog, underlying)
            entry = catalog.get(state["snap"]) if state is not None else None
            if state is None or entry is None:
                notes.append(f"{underlying}: no readable snapshot")
                continue
            scenario = scenario_from_state(state)  # what the warmer computed (dashboard.web.warm.warm_view)
            current = service.view_analyses(data_dir, entry, scenario).current
            previous = service.previous_analysis(data_dir, catalog, entry, scenario, state.get("preset"),
                                                 state.get("exp")).analysis
        except (ChainDataError, ScenarioError) as err:
            notes.append(f"{underlying}: {err}")
            continue
        row = watchlist_row(str(state["snap"]), current, previous, totals.get(underlying.upper(), []), now)
        record = row.to_record()
        record["spark"] = sparkline_uri(row.history_total_gex_usd_per_1pct)
        record["href"] = "?" + urlencode({"u": underlying})
        rows.append(record)
    return rows, notes


def register(app: dash.Dash) -> None:
    """Declare the page switch, the rows and the row click on ``app``."""
    app.clientside_callback(
        f"""function (pathname, search, state) {{
            var on = (pathname || "").replace(/\\/+$/, "").endsWith("/{WATCHLIST_PATH}");
            var params = new URLSearchParams(search || "");
            if (state && state.u && state.snap) {{ params.set("u", state.u); params.set("snap", state.snap); }}
            var query = params.toString() ? "?" + params.toString() : "";
            return [on ? "page page-watchlist" : "page", on ? "nav-link" : "nav-link active",
                    on ? "nav-link active" : "nav-link", "./" + query, "{WATCHLIST_PATH}" + query];
        }}""",
        Output(ids.PAGE, "className"), Output(ids.NAV_MAIN, "className"), Output(ids.NAV_WATCHLIST, "className"),
        Output(ids.NAV_MAIN, "href"), Output(ids.NAV_WATCHLIST, "href"),
        Input(ids.URL, "pathname"), Input(ids.URL, "search"), Input(ids.VIEW_STORE, "data"),
    )

    @app.callback(Output(ids.WATCHLIST_GRID, "rowData"), Output(ids.WATCHLIST_NOTE, "children"),
                  Input(ids.URL, "pathname"))
    def _rows(pathname: str | None) -> tuple[Any, Any]:
        pathname = checked({f"{ids.URL}.pathname": pathname})[0][f"{ids.URL}.pathname"]
        if not is_watchlist(pathname):
            raise PreventUpdate
        try:
            rows, notes = watchlist_records(current_app.config.get("MMPOS_DATA_DIR"), pd.Timestamp.now(tz="UTC"))
        except ChainDataError as err:
            return [], f"The data folder cannot be read: {err.reason}"
        except Exception:  # noqa: BLE001 - the page must keep serving; the traceback goes to the log
            return [], unexpected("Building the watchlist")
        return rows, ("Left out: " + "; ".join(notes)) if notes else ""

    @app.callback(Output(ids.URL, "pathname", allow_duplicate=True), Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.WATCHLIST_GRID, "cellClicked"), State(ids.URL, "pathname"), prevent_initial_call=True)
    def _open(cell: dict[str, Any] | None, pathname: str | None) -> tuple[Any, Any]:
        clean, _ = checked({f"{ids.WATCHLIST_GRID}.cellClicked": cell, f"{ids.URL}.pathname": pathname})
        cell, pathname = clean[f"{ids.WATCHLIST_GRID}.cellClicked"], clean[f"{ids.URL}.pathname"]
        underlying = (cell or {}).get("rowId")
        if not underlying or not is_watchlist(pathname):
            raise PreventUpdate
        base = (pathname or "/").rstrip("/")[: -len(WATCHLIST_PATH)] or "/"
        return base, "?" + urlencode({"u": underlying})


