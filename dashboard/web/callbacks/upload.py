"""The drop zone: a dropped file goes to its own route, is checked and stored by
:func:`dashboard.uploads.store_bytes`; a stored snapshot opens in the main view at once (the URL names
it, the controls follow).

The file does not travel through a Dash callback: a callback body is held to the edge's 1 MiB, and
only ``POST /_mmpos/upload`` takes up to the loaders' 32 MiB (:func:`dashboard.http.edge.allow_body`). In
the browser a clientside callback decodes ``dcc.Upload``'s data URL, posts the bytes there
(``application/octet-stream``: a type another site's page cannot post without the server's CORS
consent, which it never gives), and puts the HTTP status and the route's JSON answer in
``UPLOAD_REPLY_STORE``; a small server callback turns that into the banner and the view's URL.

The banner says what happened without the file's content or a server path; the client's file name
travels in a header and is kept only as a label (:func:`dashboard.uploads.label_slug`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import urllib.parse
from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from flask import Response, current_app, request

from dashboard import service
from dashboard.http import edge
from dashboard.uploads import (
    MAX_UPLOAD_BYTES,
    NAME_HEADER,
    UPLOAD_MIMETYPE,
    UPLOAD_PATH,
    UploadResult,
    store_bytes,
    too_large,
)
from dashboard.web import ids
from dashboard.web.callbacks.navigation import view_with
from dashboard.web.inputs import checked, unexpected
from dashboard.web.state import opening_snapshot, to_query

log = logging.getLogger(__name__)

# dcc.Upload's data URL -> bytes -> POST to the upload route; the reply (status, size, JSON) to the store.
# A file over the route's limit is not sent at all (the route refuses it too). The drop zone's contents
# are emptied so that the same file can be dropped again.
POST_FILE_JS = """
async function (contents, filename) {
    const noUpdate = window.dash_clientside.no_update;
    if (!contents) { return [noUpdate, noUpdate]; }
    const payload = contents.slice(contents.indexOf(",") + 1);
    const size = payload.length / 4 * 3 - (payload.match(/=*$/)[0].length);
    if (size > LIMIT) {  // the route would refuse it: not sent (the banner says why)
        return [{status: 413, size: size, body: null}, null];
    }
    let bytes;
    try {
        const text = atob(payload);
        bytes = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    } catch (err) {
        return [{status: 0, size: 0, body: {ok: false, message: "not a file upload"}}, null];
    }
    const config = JSON.parse(document.getElementById("_dash-config").textContent);
    let status = 0, body = null;
    try {
        const reply = await fetch((config.requests_pathname_prefix || "/") + "PATH", {
            method: "POST", credentials: "same-origin", body: bytes,
            headers: {"Content-Type": "MIMETYPE", "NAME_HEADER": encodeURIComponent(filename || "")}});
        status = reply.status;
        body = await reply.json().catch(() => null);
    } catch (err) {
        status = 0;
    }
    return [{status: status, size: bytes.length, body: body}, null];
}
""".replace("PATH", UPLOAD_PATH).replace("MIMETYPE", UPLOAD_MIMETYPE).replace("LIMIT", str(MAX_UPLOAD_BYTES)).replace(
    "NAME_HEADER", NAME_HEADER)
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(UploadResult))
MAX_NAME_HEADER_CHARS = 1_024  # the client's file name, URI-encoded (only a label is kept of it)


def banner(result: UploadResult) -> html.Div:
    kind, title = (("info", "Already here") if result.already else ("info", "File added")) if result.ok else (
        "error", "The dropped file was not added")
    return html.Div(className=f"banner banner-{kind}", children=[html.Strong(title + ": "), html.Span(result.message)])


def view_of(result: UploadResult, state: dict[str, Any] | None) -> str | Any:
    """The URL query that opens a stored snapshot (the rest of the view kept); no_update otherwise."""
    if not result.ok or not result.underlying:
        return no_update
    return to_query(view_with(state, u=result.underlying, preset="all", exp=[], **opening_snapshot(result.entry_id)))


def result_of(reply: dict[str, Any]) -> UploadResult:
    """What the upload route's answer (``{status, size, body}`` from the page) means for the banner.

    Examples
    --------
    >>> result_of({"status": 200, "size": 5, "body": {"ok": False, "message": "refused: empty file"}}).message
    'refused: empty file'
    >>> result_of({"status": 413, "size": 40 * 2**20, "body": {"error": "request too large"}}).message[:42]
    'refused (41,943,040 bytes): file too large'
    >>> result_of({"status": 0, "size": 10, "body": None}).message
    'not stored: the server could not be reached'
    """
    status, body = reply.get("status"), reply.get("body")
    if status == 200 and isinstance(body, dict):
        return UploadResult(**{k: body.get(k) for k in _RESULT_FIELDS})
    if status == 413:
        return too_large(int(reply.get("size") or 0))
    if status in (401, 403):
        return UploadResult(False, "not stored: sign in again, then drop the file once more")
    if isinstance(body, dict) and body.get("message") and not status:
        return UploadResult(False, str(body["message"]))
    return UploadResult(False, f"not stored: the server answered HTTP {status}" if status
                        else "not stored: the server could not be reached")


def upload(reply: dict[str, Any] | None, state: dict[str, Any] | None) -> tuple[Any, Any]:
    """The callback body: (banner, URL query) for the upload route's answer."""
    if reply is None:
        return no_update, no_update
    result = result_of(reply)
    return banner(result), view_of(result, state)


def receive() -> Response:
    """``POST /_mmpos/upload``: the dropped file's bytes in, the :class:`UploadResult` as JSON out.

    The edge has already refused a body over ``MAX_UPLOAD_BYTES`` (413), a foreign Host and a caller
    without a login (when one is configured).
    """
    if request.mimetype != UPLOAD_MIMETYPE:
        result = UploadResult(False, f"not a file upload (send the file's bytes as {UPLOAD_MIMETYPE})")
        return _json(result, 415)
    try:
        result = store_bytes(request.get_data(cache=False), service.resolve_data_dir(
            current_app.config.get("MMPOS_DATA_DIR")), today=dt.date.today(), client_name=client_name())
    except Exception:  # noqa: BLE001 - the page keeps serving; the reason is in the log (never the content)
        result = UploadResult(False, unexpected("The upload"))
    return _json(result, 200)


def client_name() -> str | None:
    """The dropped file's name on the client (``X-Mmpos-Filename``, URI-encoded): a label only
    (:func:`dashboard.uploads.label_slug` keeps letters, digits and ``. _ -`` of its last part)."""
    raw = request.headers.get(NAME_HEADER, "")[:MAX_NAME_HEADER_CHARS]
    return urllib.parse.unquote(raw) or None


def _json(result: UploadResult, status: int) -> Response:
    response = Response(json.dumps(dataclasses.asdict(result)), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: dash.Dash) -> None:
    """Declare this panel's route and callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    path = app.config.routes_pathname_prefix + UPLOAD_PATH
    app.server.add_url_rule(path, "mmpos_upload", receive, methods=["POST"])
    edge.allow_body(app.server, path, MAX_UPLOAD_BYTES)

    app.clientside_callback(POST_FILE_JS, Output(ids.UPLOAD_REPLY_STORE, "data"), Output(ids.UPLOAD, "contents"),
                            Input(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"), prevent_initial_call=True)

    @app.callback(Output(ids.UPLOAD_BANNER, "children"), Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.UPLOAD_REPLY_STORE, "data"), State(ids.VIEW_STORE, "data"), prevent_initial_call=True)
    def _upload(reply: dict[str, Any] | None, state: dict[str, Any] | None) -> tuple[Any, Any]:
        clean, _refused = checked({f"{ids.UPLOAD_REPLY_STORE}.data": reply, f"{ids.VIEW_STORE}.data": state})
        if clean[f"{ids.UPLOAD_REPLY_STORE}.data"] is None:
            return banner(UploadResult(False, "not a file upload")), no_update
        return upload(clean[f"{ids.UPLOAD_REPLY_STORE}.data"], clean[f"{ids.VIEW_STORE}.data"])
