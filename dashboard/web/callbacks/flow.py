"""The flow-inferred comparison in the key-levels card (issue 19): the OI convention the model starts
from and "flow-inferred (Deribit trades)" side by side, with the share of open interest the flow
explains. Drawn after the main update (the view's result store), only for a snapshot with trades
files of its underlying beside it; without them the block stays empty, and where they do not cover
the window it says so."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State
from flask import current_app

from analytics import conventions
from analytics.errors import ChainDataError, ScenarioError
from analytics.levels import key_levels
from dashboard import service
from dashboard.web import ids
from dashboard.web.figures.flow import flow_compare_block, flow_rows
from dashboard.web.inputs import checked as checked_inputs
from dashboard.web.inputs import unexpected
from dashboard.web.state import ViewState, scenario_from_state


def flow_compare(state: dict[str, Any] | None, data_dir: str | None) -> list:
    """The block's children for the view ``state`` (empty: nothing to compare)."""
    snap = ViewState.of(state).snap if state else None
    if not snap:
        return []
    entry = service.get_catalog(data_dir).get(snap)
    if entry is None:
        return []
    try:
        got = service.flow_comparison(data_dir, entry, scenario_from_state(state))
    except (ChainDataError, ScenarioError):
        return []  # the main update's banner says why the view has no numbers
    if got is None:
        return []
    base = key_levels(got.base)
    flow = key_levels(got.flow) if got.flow is not None else None
    rows = flow_rows(base, got.base.total_gex_usd_per_1pct, flow,
                     got.flow.total_gex_usd_per_1pct if got.flow is not None else None)
    window = (f"from {got.start:%Y-%m-%d %H:%M} to {got.end:%H:%M} UTC" if got.start is not None and got.end is not None
              else None)
    label = f"OI: {conventions.get(conventions.DEFAULT_CONVENTION).label}"
    return flow_compare_block(rows, base_label=label, share=got.share, trades=got.trades, window=window,
                              message=got.message)


def register(app: dash.Dash) -> None:
    """Declare this block's callback on ``app``."""
    @app.callback(Output(ids.FLOW_COMPARE, "children"), Input(ids.RESULT_STORE, "data"),
                  State(ids.VIEW_STORE, "data"), prevent_initial_call=True)
    def _flow(result: dict[str, Any] | None, state: dict[str, Any] | None) -> list:
        clean, _refused = checked_inputs({f"{ids.RESULT_STORE}.data": result, f"{ids.VIEW_STORE}.data": state})
        try:
            return flow_compare(clean[f"{ids.VIEW_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"))
        except Exception:  # noqa: BLE001 - the view is drawn; log and leave the block empty
            unexpected("The flow-inferred comparison")
            return []
