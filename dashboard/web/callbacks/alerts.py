"""The underlying's latest alerts on the page: one dated line each, from the alert sent-log
(:func:`dashboard.alerts.recent_alerts`), under the banners; nothing when none was ever logged.

The answer depends on the sent-log, which the response cache's key (the request body and the data
folder's files) does not see: an alert logged a moment after a snapshot lands would stay hidden
behind the answer cached when the page first asked. So it is never kept (:func:`responses.skip`);
reading the log costs about a millisecond."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, html
from flask import current_app

from dashboard import alerts
from dashboard.http import responses
from dashboard.web import ids
from dashboard.web.inputs import checked


def alert_lines(state: dict[str, Any] | None, data_dir: str | None) -> list[Any]:
    """The alert list of the view's underlying (an empty list: the slot stays hidden)."""
    lines = alerts.recent_alerts(data_dir, (state or {}).get("u"))
    if not lines:
        return []
    return [html.Div(className="banner banner-info", children=[
        html.Strong("Alerts"),
        html.Ul([html.Li(line) for line in lines], className="alert-list"),
    ])]


def register(app: dash.Dash) -> None:
    """Declare this module's callback on ``app``."""
    @app.callback(Output(ids.ALERT_LINES, "children"), Input(ids.VIEW_STORE, "data"))
    def _alerts(state: dict[str, Any] | None) -> list[Any]:
        responses.skip()
        c, _ = checked({f"{ids.VIEW_STORE}.data": state})
        return alert_lines(c[f"{ids.VIEW_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"))
