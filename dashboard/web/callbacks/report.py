"""The "Download report" button: the morning report (dashboard.report_html) of the view on screen.

The same file as ``mmpos report`` for the same snapshot, expiry set, convention and scenario, built by
:func:`dashboard.service.report_for` and sent through ``dcc.Download``; its history charts show what
the history store holds (the page does not wait for the store to summarise new files).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import dash
from dash import Input, Output, State, dcc, html, no_update
from flask import current_app

from analytics.errors import ChainDataError
from dashboard import service
from dashboard.web import ids
from dashboard.web.inputs import checked, unexpected
from dashboard.web.state import scenario_from_state

log = logging.getLogger(__name__)


def report_filename(underlying: str, as_of: Any) -> str:
    """``mmpos-report-SPX-20240105-1559.html``.

    Examples
    --------
    >>> import pandas as pd
    >>> report_filename("SPX", pd.Timestamp("2024-01-05 15:59", tz="America/New_York"))
    'mmpos-report-SPX-20240105-1559.html'
    """
    return f"mmpos-report-{underlying}-{as_of:%Y%m%d-%H%M}.html"


def _status(message: str) -> html.Div:
    return html.Div(className="banner banner-error", children=[html.Strong("No report: "), html.Span(message)])


def download(state: dict[str, Any] | None, data_dir: str | None, *, now: dt.datetime) -> tuple[Any, Any]:
    """The callback body: (``dcc.Download`` data, status banner)."""
    if not state or not state.get("snap"):
        return no_update, _status("no snapshot selected")
    entry = service.get_catalog(data_dir).get(state["snap"])
    if entry is None or not entry.is_snapshot:
        return no_update, _status("the selected snapshot is no longer in the data folder")
    try:
        page = service.report_for(data_dir, entry, scenario_from_state(state),
                                  generated_at=now.strftime("%Y-%m-%d %H:%M UTC"), sync_history=False)
    except ChainDataError as err:
        return no_update, _status(err.reason)
    return dcc.send_string(page, report_filename(entry.underlying or "snapshot", entry.as_of), type="text/html"), []


def register(app: dash.Dash) -> None:
    """Declare this panel's callback on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(Output(ids.REPORT_DOWNLOAD, "data"), Output(ids.REPORT_STATUS, "children"),
                  Input(ids.REPORT_BUTTON, "n_clicks"), State(ids.VIEW_STORE, "data"), prevent_initial_call=True)
    def _download(n_clicks: int, state: dict[str, Any] | None) -> tuple[Any, Any]:
        clean, _refused = checked({f"{ids.REPORT_BUTTON}.n_clicks": n_clicks, f"{ids.VIEW_STORE}.data": state})
        try:
            return download(clean[f"{ids.VIEW_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"),
                            now=dt.datetime.now(dt.UTC))
        except Exception:  # noqa: BLE001 - the page keeps serving; the reason is in the log
            return no_update, _status(unexpected("The report"))
