"""The per-strike grid's wiring: its CSV download (full precision, named after the view, with the
view's context in constant columns) and its quick filter (in the browser: no round trip)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.errors import ChainDataError
from analytics.fmt import csv_safe_frame
from analytics.report import Analysis
from dashboard import service
from dashboard.web import ids
from dashboard.web.figures.common import expiry_set_label, export_filename
from dashboard.web.inputs import checked as checked_inputs
from dashboard.web.state import scenario_from_state

# what every CSV row says about the view it came from (constant columns after the numbers)
CONTEXT_COLUMNS: tuple[str, ...] = ("underlying", "spot", "snapshot", "convention", "expiries", "scenario")


def csv_filename(state: dict[str, Any], as_of: Any) -> str:
    """e.g. ``mmpos_SPX_2026-11-20T1615_dealer-long-calls_exp-7d_by-strike.csv``."""
    return export_filename("by-strike", str(state.get("u")), as_of, str(state.get("conv")),
                           state.get("preset") or "all", state.get("exp") or []) + ".csv"


def scenario_text(analysis: Analysis) -> str:
    """The scenario and model of an analysis in one line (the CSV's ``scenario`` column).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> from analytics.scenario import Scenario
    >>> scenario_text(NS(scenario=Scenario(vol_shift_pts=2, horizon_days=1), model_description="black-76"))
    'vols +2 pts; horizon +1 day; model: black-76'
    """
    sc = analysis.scenario
    parts = list(sc.words())  # the one describer (analytics.scenario.describe_scenario)
    parts.append(f"model: {analysis.model_description or sc.forward + ', iv=' + sc.iv_policy}")
    return "; ".join(parts) if len(parts) > 1 else "chain IVs, now; " + parts[0]


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
    frame = analysis.by_strike.sort_values("strike").assign(
        underlying=analysis.underlying,
        spot=analysis.spot,
        snapshot=analysis.as_of.isoformat(),
        convention=analysis.convention,
        expiries=expiry_set_label(state.get("preset") or "all", [d.isoformat() for d in analysis.expiries]),
        scenario=scenario_text(analysis),
    )
    # names are checked at load; a text cell a spreadsheet would run as a formula is neutralised anyway
    return dcc.send_data_frame(csv_safe_frame(frame).to_csv, csv_filename(state, analysis.as_of), index=False)


# The strike finder's text becomes the grid's quick filter (AG Grid refilters and returns to page 1).
QUICK_FILTER = """
function (text, options) {
    return Object.assign({}, options, {quickFilterText: text || ''});
}
"""


# The row of the strike nearest spot (the one views.spot_page opens the grid at: the first of equals)
# gets the class "spot-row", whatever the sort; spot comes from the main update's result store.
MARK_SPOT = """
function (rows, result) {
    var spot = result && result.spot, best = null;
    (rows || []).forEach(function (r) {
        if (spot != null && (best === null || Math.abs(r.strike - spot) < Math.abs(best - spot))) { best = r.strike; }
    });
    return best === null ? {} : {'spot-row': 'params.data.strike === ' + JSON.stringify(best)};
}
"""


def register(app: dash.Dash) -> None:
    """Declare this panel's callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    app.clientside_callback(
        QUICK_FILTER,
        Output(ids.STRIKE_TABLE, "dashGridOptions"),
        Input(ids.STRIKE_FILTER, "value"),
        State(ids.STRIKE_TABLE, "dashGridOptions"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        MARK_SPOT,
        Output(ids.STRIKE_TABLE, "rowClassRules"),
        Input(ids.STRIKE_TABLE, "rowData"),
        State(ids.RESULT_STORE, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.CSV_DOWNLOAD, "data"),
        Input(ids.CSV_BUTTON, "n_clicks"),
        State(ids.VIEW_STORE, "data"),
        prevent_initial_call=True,
    )
    def _download(clicks: int, state: dict[str, Any] | None) -> dict[str, Any]:
        clean, _refused = checked_inputs({f"{ids.CSV_BUTTON}.n_clicks": clicks, f"{ids.VIEW_STORE}.data": state})
        return strike_csv(clean[f"{ids.VIEW_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"))
