"""Hovering a shock on the hedging view marks the spot it implies on the gamma view.

Clientside only: the browser moves one named shape with ``Plotly.relayout`` on the drawn gamma
chart; nothing goes to the server and no figure is rebuilt. The marker is dropped when the pointer
leaves the hedging chart (``clear_on_unhover``) and whenever view 1 is redrawn.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State

from dashboard.web import ids

# assets/linking.js defines window.dash_clientside.mmpos.markShockSpot
MARK_SHOCK_SPOT = ClientsideFunction(namespace="mmpos", function_name="markShockSpot")


def register(app: dash.Dash) -> None:
    """Declare this panel's callback on ``app`` (each app gets its own: see dashboard.app)."""
    app.clientside_callback(
        MARK_SHOCK_SPOT,
        Output(ids.SHOCK_MARKER_STORE, "data"),
        Input(ids.HEDGE_GRAPH, "hoverData"),
        State(ids.RESULT_STORE, "data"),
        State(ids.GAMMA_GRAPH, "id"),
        prevent_initial_call=True,
    )
