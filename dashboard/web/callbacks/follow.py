"""New snapshots while the page is open: a notice, and the opt-in "follow newest" mode.

A ``dcc.Interval`` asks every rescan interval (:func:`dashboard.web.layout.poll_ms`) for the data
folder's newest snapshot of the shown underlying: a cheap question (the catalog holder's last scan,
rescanned on its timer: :class:`analytics.catalog.CatalogHolder`; identical polls are answered from the
response cache, whose key holds the folder's state). The first poll remembers the newest snapshot
per underlying (``KNOWN_NEWEST_STORE``); a later one that finds another, newer one says so in a notice
with a link that opens it, or, with "follow newest" on (the ``follow`` view-state key, so in the URL),
opens it at once by writing the URL (the controls follow). A file dropped in the folder by hand, by a
fetch job or uploaded from another browser is seen alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
from dash import Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.catalog import Catalog
from analytics.errors import ChainDataError
from dashboard import service
from dashboard.web import ids
from dashboard.web.callbacks.navigation import view_with
from dashboard.web.inputs import checked
from dashboard.web.state import ViewState, opening_snapshot, to_query


def _stamp(entry: Any) -> str:
    return entry.as_of.strftime("%Y-%m-%d %H:%M %Z").strip() if entry.as_of is not None else "?"


def poll(state: Mapping[str, Any] | None, known: Mapping[str, str] | None,
         catalog: Catalog) -> tuple[Any, Any, Any]:
    """(notice, known newest per underlying, URL query) after one poll. Pure given the catalog.

    No view yet: nothing. The first poll for an underlying remembers its newest snapshot. A newer one
    since, not the snapshot shown: the notice (a link opening it), or with ``follow`` the URL that opens it.
    """
    if not state or not state.get("u"):
        raise PreventUpdate
    v = ViewState.of(state)
    newest = catalog.latest(v.u)
    if newest is None:
        raise PreventUpdate
    seen = dict(known or {})
    if v.u not in seen:
        seen[v.u] = str(newest.id)
        return [], seen, no_update
    if str(newest.id) == seen[v.u]:
        return no_update, no_update, no_update
    shown = catalog.get(v.snap) if v.snap else None
    if shown is not None and str(shown.id) == str(newest.id):  # already on it (opened meanwhile)
        seen[v.u] = str(newest.id)
        return [], seen, no_update
    if shown is not None and shown.as_of is not None and newest.as_of is not None and newest.as_of <= shown.as_of:
        seen[v.u] = str(newest.id)
        return no_update, seen, no_update
    query = to_query(view_with(state, **opening_snapshot(str(newest.id))))
    if v.follow:
        seen[v.u] = str(newest.id)
        return [], seen, query
    notice = html.Div(className="banner banner-info new-snapshot", children=[
        html.Strong("New snapshot available: "),
        html.Span(f"{v.u} {_stamp(newest)} "),
        dcc.Link("Open it", href=query, className="open-newest"),
        html.Span(" (tick \"Follow newest\" to open new snapshots by themselves)"),
    ])
    return [notice], no_update, no_update


def register(app: dash.Dash) -> None:
    """Declare the poll on ``app``."""

    @app.callback(
        Output(ids.NEW_SNAPSHOT_NOTICE, "children"),
        Output(ids.KNOWN_NEWEST_STORE, "data"),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.CATALOG_POLL, "n_intervals"),
        State(ids.VIEW_STORE, "data"),
        State(ids.KNOWN_NEWEST_STORE, "data"),
        prevent_initial_call=True,
    )
    def _poll(n: int | None, state: dict[str, Any] | None, known: dict[str, str] | None) -> tuple[Any, Any, Any]:
        clean, refused = checked({f"{ids.CATALOG_POLL}.n_intervals": n, f"{ids.VIEW_STORE}.data": state,
                                  f"{ids.KNOWN_NEWEST_STORE}.data": known})
        if refused:
            raise PreventUpdate
        try:
            catalog = service.get_catalog(current_app.config.get("MMPOS_DATA_DIR"))
        except ChainDataError:
            raise PreventUpdate from None
        return poll(clean[f"{ids.VIEW_STORE}.data"], clean[f"{ids.KNOWN_NEWEST_STORE}.data"], catalog)
