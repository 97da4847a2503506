"""Request-size limits per route, through the real gunicorn: every callback body is held to
``MMPOS_MAX_REQUEST_BYTES`` (1 MiB), and only the dropped-file route (``POST /_mmpos/upload``) takes a
file as large as the loaders accept (32 MiB). A refused body gets a short JSON 413 without exception
text; a file just under the limit is stored and listed (dashboard/http/edge.py, dashboard/web/callbacks/upload.py)."""

from __future__ import annotations

import http.client
import json

import pytest

from analytics.sources.common import MAX_FILE_BYTES
from dashboard.runtime.config import DEFAULT_MAX_REQUEST_BYTES
from dashboard.uploads import UPLOAD_MIMETYPE, UPLOAD_PATH
from tests.serving.conftest import Served
from tests.serving.test_hostile_http import EXCEPTION_TEXT

UPDATE = "/_dash-update-component"
UPLOAD = "/" + UPLOAD_PATH
ROWS = 64  # contracts in the big file; a filler column (ignored by the loader) makes up its size


def canonical_table(total_bytes: int) -> bytes:
    """A valid canonical table (underlying ZZZ, out of the way of the demo views) of exactly ``total_bytes``."""
    header = b"underlying,as_of,spot,expiry,strike,side,open_interest,iv,filler\n"
    rows = [f"ZZZ,2026-11-20T16:15:00-05:00,100,2026-12-18,{90 + i // 2},{'CP'[i % 2]},{100 + i},0.2,".encode()
            for i in range(ROWS)]
    room = total_bytes - len(header) - sum(len(r) + 1 for r in rows)
    per_row, extra = divmod(room, ROWS)
    body = b"".join(r + b"x" * (per_row + (1 if i < extra else 0)) + b"\n" for i, r in enumerate(rows))
    return header + body


def post(server: Served, path: str, body: bytes, content_type: str, chunked: bool = False) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        headers = {"Host": f"127.0.0.1:{server.port}", "Content-Type": content_type}
        if chunked:
            conn.request("POST", path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                         headers=headers, encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (BrokenPipeError, ConnectionResetError):  # the server answered 413 and closed before the body was sent
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def assert_short_413(status: int, body: bytes, limit: int) -> None:
    assert status == 413
    reply = json.loads(body)
    assert reply["error"] == "request too large" and reply["limit_bytes"] == limit
    assert len(body) < 200 and EXCEPTION_TEXT.search(body.decode()) is None


@pytest.mark.parametrize("chunked", [False, True], ids=["with Content-Length", "chunked"])
def test_a_callback_body_over_one_mebibyte_gets_a_short_json_413(server: Served, chunked):
    body = b'{"output": "x", "inputs": [], "pad": "' + b" " * DEFAULT_MAX_REQUEST_BYTES + b'"}'
    assert_short_413(*post(server, UPDATE, body, "application/json", chunked=chunked), DEFAULT_MAX_REQUEST_BYTES)


def test_a_file_just_under_the_loaders_limit_is_stored_through_the_upload_route(server: Served):
    raw = canonical_table(MAX_FILE_BYTES - 1024)
    assert len(raw) > 30 * DEFAULT_MAX_REQUEST_BYTES  # far beyond what any other route accepts
    before = set(server.data_dir.iterdir())
    try:
        status, body = post(server, UPLOAD, raw, UPLOAD_MIMETYPE)
        reply = json.loads(body)
        assert status == 200 and reply["ok"], reply
        assert reply["underlying"] == "ZZZ" and reply["message"].startswith("added as upload-")
        added = set(server.data_dir.iterdir()) - before
        assert [p.name for p in added] == [reply["name"]] and (server.data_dir / reply["name"]).read_bytes() == raw
    finally:
        for path in set(server.data_dir.iterdir()) - before:
            path.unlink()


@pytest.mark.parametrize("chunked", [False, True], ids=["with Content-Length", "chunked"])
def test_a_file_over_the_limit_gets_413_and_nothing_is_written(server: Served, chunked):
    before = set(server.data_dir.rglob("*"))
    status, body = post(server, UPLOAD, canonical_table(MAX_FILE_BYTES + 1), UPLOAD_MIMETYPE, chunked=chunked)
    assert_short_413(status, body, MAX_FILE_BYTES)
    assert set(server.data_dir.rglob("*")) == before


def test_the_upload_route_takes_only_the_files_bytes_never_a_form_another_site_could_post(server: Served):
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"):
        status, body = post(server, UPLOAD, canonical_table(4096), content_type)
        assert status == 415 and json.loads(body)["ok"] is False, content_type


def test_a_refused_upload_is_a_short_reason_without_content_or_path(server: Served):
    status, body = post(server, UPLOAD, b"password,token\nhunter2,SECRET\n", UPLOAD_MIMETYPE)
    reply = json.loads(body)
    assert status == 200 and reply["ok"] is False and reply["message"].startswith("refused (30 bytes):")
    for leak in ("hunter2", "SECRET", str(server.data_dir)):
        assert leak not in reply["message"]
    assert EXCEPTION_TEXT.search(body.decode()) is None
