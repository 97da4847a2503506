"""The strike view's zoom, and the gamma-by-expiry view's selection.

(The panels' own choices, strike measure, term spacing, smile axis, max-pain overlay, are view-state
keys: the controls callback carries them into the state and the URL, and the main update redraws the
panel that reads the changed key only.)

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


def register(app: dash.Dash) -> None:
    """Declare this module's callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(Output(ids.STRIKE_ZOOM_STORE, "data"), Input(ids.GAMMA_GRAPH, "relayoutData"),
                  State(ids.RESULT_STORE, "data"), prevent_initial_call=True)
    def _strike_zoom(relayout: dict[str, Any] | None, result: dict[str, Any] | None) -> dict[str, Any] | None:
        c, _ = checked({f"{ids.GAMMA_GRAPH}.relayoutData": relayout, f"{ids.RESULT_STORE}.data": result})
        return views.zoom_from_relayout(c[f"{ids.GAMMA_GRAPH}.relayoutData"], c[f"{ids.RESULT_STORE}.data"])

    @app.callback(Output(ids.EXPIRIES, "value", allow_duplicate=True),
                  Input(ids.EXPIRY_GRAPH, "clickData"), Input(ids.EXPIRY_GRAPH, "selectedData"),
                  State(ids.EXPIRIES, "value"), prevent_initial_call=True)
    def _expiry_selection(click: dict | None, selected: dict | None, current: list[str] | None) -> list[str]:
        c, _ = checked({f"{ids.EXPIRY_GRAPH}.clickData": click, f"{ids.EXPIRY_GRAPH}.selectedData": selected,
                        f"{ids.EXPIRIES}.value": current})
        selecting = dash.ctx.triggered_id and "selectedData" in dash.ctx.triggered[0]["prop_id"]
        payload = c[f"{ids.EXPIRY_GRAPH}.selectedData"] if selecting else c[f"{ids.EXPIRY_GRAPH}.clickData"]
        return expiries_from_expiry_view(payload, c[f"{ids.EXPIRIES}.value"])
