"""Display choices outside the view state, and the gamma-by-expiry view's selection.

* The strike view's measure (gamma / vanna / charm / change) and the term view's "equal spacing"
  redraw their own view only (:func:`dashboard.web.callbacks.views.redraw_view`); the main update reads
  them as states, so every later redraw keeps them.
* A zoom on the strike view is kept with the snapshot it was made on (``STRIKE_ZOOM_STORE``) and
  reapplied by every redraw of that snapshot.
* Clicking or box-selecting bars on the gamma-by-expiry view sets the expiry set the way the term
  view does: the chosen ISO dates go into the expiries control, whose change the controls callback
  turns into a custom set (:mod:`dashboard.web.callbacks.controls`), URL and every view included.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate
from flask import current_app

from dashboard.web import ids
from dashboard.web.callbacks import views
from dashboard.web.inputs import checked
from dashboard.web.state import expiries_from_selection


def expiries_from_expiry_view(payload: dict[str, Any] | None, current: list[str] | None) -> list[str]:
    """The expiries control's new value for a click or box-selection on the gamma-by-expiry view.

    Raises
    ------
    PreventUpdate
        Nothing selected (a cleared selection) or the same set as now.
    """
    chosen = expiries_from_selection(payload)
    if not chosen or chosen == sorted(current or []):
        raise PreventUpdate
    return chosen


def strike_view(state: dict[str, Any] | None, mode: str | None, data_dir: str | None,
                zoom: dict[str, Any] | None = None) -> Any:
    """The strike view redrawn in measure ``mode`` (keeping the user's x zoom of this snapshot)."""
    return views.redraw_view("gamma", views.with_display(state, mode, None, zoom), data_dir)


def term_view(state: dict[str, Any] | None, spacing: list[str] | None, data_dir: str | None) -> Any:
    """The term view redrawn with or without equal spacing."""
    return views.redraw_view("term", views.with_display(state, None, spacing), data_dir)


def register(app: dash.Dash) -> None:
    """Declare this module's callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(Output(ids.GAMMA_GRAPH, "figure", allow_duplicate=True), Input(ids.STRIKE_MODE, "value"),
                  State(ids.VIEW_STORE, "data"), State(ids.STRIKE_ZOOM_STORE, "data"), prevent_initial_call=True)
    def _strike_mode(mode: str | None, state: dict[str, Any] | None, zoom: dict[str, Any] | None) -> Any:
        c, _ = checked({f"{ids.STRIKE_MODE}.value": mode, f"{ids.VIEW_STORE}.data": state,
                        f"{ids.STRIKE_ZOOM_STORE}.data": zoom})
        return strike_view(c[f"{ids.VIEW_STORE}.data"], c[f"{ids.STRIKE_MODE}.value"],
                           current_app.config.get("MMPOS_DATA_DIR"), c[f"{ids.STRIKE_ZOOM_STORE}.data"])

    @app.callback(Output(ids.STRIKE_ZOOM_STORE, "data"), Input(ids.GAMMA_GRAPH, "relayoutData"),
                  State(ids.RESULT_STORE, "data"), prevent_initial_call=True)
    def _strike_zoom(relayout: dict[str, Any] | None, result: dict[str, Any] | None) -> dict[str, Any] | None:
        c, _ = checked({f"{ids.GAMMA_GRAPH}.relayoutData": relayout, f"{ids.RESULT_STORE}.data": result})
        return views.zoom_from_relayout(c[f"{ids.GAMMA_GRAPH}.relayoutData"], c[f"{ids.RESULT_STORE}.data"])

    @app.callback(Output(ids.TERM_GRAPH, "figure", allow_duplicate=True), Input(ids.TERM_SPACING, "value"),
                  State(ids.VIEW_STORE, "data"), prevent_initial_call=True)
    def _term_spacing(spacing: list[str] | None, state: dict[str, Any] | None) -> Any:
        c, _ = checked({f"{ids.TERM_SPACING}.value": spacing, f"{ids.VIEW_STORE}.data": state})
        return term_view(c[f"{ids.VIEW_STORE}.data"], c[f"{ids.TERM_SPACING}.value"],
                         current_app.config.get("MMPOS_DATA_DIR"))

    @app.callback(Output(ids.EXPIRIES, "value", allow_duplicate=True),
                  Input(ids.EXPIRY_GRAPH, "clickData"), Input(ids.EXPIRY_GRAPH, "selectedData"),
                  State(ids.EXPIRIES, "value"), prevent_initial_call=True)
    def _expiry_selection(click: dict | None, selected: dict | None, current: list[str] | None) -> list[str]:
        c, _ = checked({f"{ids.EXPIRY_GRAPH}.clickData": click, f"{ids.EXPIRY_GRAPH}.selectedData": selected,
                        f"{ids.EXPIRIES}.value": current})
        selecting = dash.ctx.triggered_id and "selectedData" in dash.ctx.triggered[0]["prop_id"]
        payload = c[f"{ids.EXPIRY_GRAPH}.selectedData"] if selecting else c[f"{ids.EXPIRY_GRAPH}.clickData"]
        return expiries_from_expiry_view(payload, c[f"{ids.EXPIRIES}.value"])
