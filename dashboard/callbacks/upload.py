"""The drop zone: a dropped file is checked and stored by :func:`dashboard.uploads.store_upload`; a
stored snapshot opens in the main view at once (the URL names it, the controls follow).

The banner says what happened without the file's content, the client's file name or a server path.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from flask import current_app

from dashboard import ids, service
from dashboard.inputs import checked, unexpected
from dashboard.state import default_state, to_query
from dashboard.uploads import UploadResult, store_upload

log = logging.getLogger(__name__)


def banner(result: UploadResult) -> html.Div:
    kind, title = ("info", "File added") if result.ok else ("error", "The dropped file was not added")
    return html.Div(className=f"banner banner-{kind}", children=[html.Strong(title + ": "), html.Span(result.message)])


def view_of(result: UploadResult, state: dict[str, Any] | None) -> str | Any:
    """The URL query that opens a stored snapshot (the rest of the view kept); no_update otherwise."""
    if not result.ok or not result.underlying:
        return no_update
    base = {**default_state(), **(state or {})}
    return to_query({**base, "u": result.underlying, "snap": result.entry_id, "preset": "all", "exp": [],
                     "strike": None})


def upload(contents: str | None, state: dict[str, Any] | None, data_dir: str | None, *,
           today: dt.date) -> tuple[Any, Any, Any]:
    """The callback body: (banner, URL query, the drop zone's contents emptied so the same file can be
    dropped again)."""
    if contents is None:
        return no_update, no_update, no_update
    result = store_upload(contents, service.resolve_data_dir(data_dir), today=today)
    return banner(result), view_of(result, state), None


def register(app: dash.Dash) -> None:
    """Declare this panel's callback on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(Output(ids.UPLOAD_BANNER, "children"), Output(ids.URL, "search", allow_duplicate=True),
                  Output(ids.UPLOAD, "contents"), Input(ids.UPLOAD, "contents"), State(ids.VIEW_STORE, "data"), prevent_initial_call=True)
    def _upload(contents: str | None, state: dict[str, Any] | None) -> tuple[Any, Any, Any]:
        clean, refused = checked({f"{ids.UPLOAD}.contents": contents, f"{ids.VIEW_STORE}.data": state})
        if clean[f"{ids.UPLOAD}.contents"] is None:
            return banner(UploadResult(False, "not a file upload")), no_update, None
        contents, state = clean[f"{ids.UPLOAD}.contents"], clean[f"{ids.VIEW_STORE}.data"]
        try:
            return upload(contents, state, current_app.config.get("MMPOS_DATA_DIR"), today=dt.date.today())
        except Exception:  # noqa: BLE001 - the page keeps serving; the reason is in the log (never the content)
            return banner(UploadResult(False, unexpected("The upload"))), no_update, None
