"""The per-strike table's CSV download (full precision, named after the view)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.errors import ChainDataError
from dashboard import ids, service
from dashboard.inputs import checked as checked_inputs
from dashboard.state import scenario_from_state


def csv_filename(state: dict[str, Any], as_of_iso: str) -> str:
    """e.g. ``mmpos_SPX_2026-11-20T1615_dealer-long-calls_by_strike.csv``."""
    stamp = as_of_iso[:16].replace(":", "")
    return f"mmpos_{state.get('u')}_{stamp}_{state.get('conv')}_by_strike.csv"


def strike_csv(state: dict[str, Any] | None, data_dir: str | None) -> dict[str, Any]:
    """The ``dcc.Download`` payload for the current view's per-strike exposure."""
    if not state or not state.get("snap"):
        raise PreventUpdate
    entry = service.get_catalog(data_dir).get(state["snap"])
    if entry is None:
        raise PreventUpdate
    try:
        analysis = service.analysis_for(data_dir, entry, scenario_from_state(state))
    except ChainDataError as err:
        raise PreventUpdate from err  # the banner already says why
    frame = analysis.by_strike.sort_values("strike")
    return dcc.send_data_frame(frame.to_csv, csv_filename(state, analysis.as_of.isoformat()), index=False)


def register(app: dash.Dash) -> None:
    """Declare this panel's callback on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(
        Output(ids.CSV_DOWNLOAD, "data"),
        Input(ids.CSV_BUTTON, "n_clicks"),
        State(ids.VIEW_STORE, "data"),
        prevent_initial_call=True,
    )
    def _download(clicks: int, state: dict[str, Any] | None) -> dict[str, Any]:
        clean, _refused = checked_inputs({f"{ids.CSV_BUTTON}.n_clicks": clicks, f"{ids.VIEW_STORE}.data": state})
        return strike_csv(clean[f"{ids.VIEW_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"))
