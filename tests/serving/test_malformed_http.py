"""Malformed requests get 4xx, never 500, and leave no traceback in the log (issue #17).

Found by a probe: three malformed callback bodies (``inputs`` as an object, an input without ``id``,
an unknown output) each gave 500; unknown or ``../`` paths under ``/_dash-component-suites/`` gave 500
with a 3 KB traceback listing every registered file; a body refused as text/plain got 200 once the
same bytes had been answered as JSON (the response cache ignored the Content-Type); and a request line
``GET http://evil.example/ HTTP/1.1`` with an allowed Host header was served.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.serving.conftest import Served
from tests.serving.test_hostile_http import CONTROLS, MAIN, UPDATE, callback_body, deps_of, state


def good_body(deps) -> dict:
    return callback_body(deps, MAIN, {MAIN: state()})


def malformed(deps) -> dict[str, dict]:
    body = good_body(deps)
    other = callback_body(deps, CONTROLS, {CONTROLS: "?u=SPX"})
    return {
        "inputs an object": {**body, "inputs": {"id": "x", "property": "y"}},
        "an input without id": {**body, "inputs": [{"property": i["property"], "value": i.get("value")}
                                                   for i in body["inputs"]]},
        "an unknown output": {**body, "output": "no-such-component.children"},
        "an input the callback does not declare": {**body, "inputs": [{"id": "nope", "property": "data", "value": 1}]},
        "inputs of another callback": {**body, "inputs": other["inputs"]},
        "state a string": {**body, "state": "x"},
        "changedPropIds an object": {**body, "changedPropIds": {"a": 1}},
        "output a number": {**body, "output": 5},
        "outputs without property": {**body, "outputs": {"id": "x"}},
        "a list in an input's place": {**body, "inputs": [[1, 2]]},
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from dashboard.app import create_app
    from tests.serving.conftest import DEMO, DEMO_FILES

    folder = tmp_path_factory.mktemp("malformed") / "data"
    folder.mkdir()
    for name in DEMO_FILES:
        (folder / name).write_bytes((DEMO / name).read_bytes())
    return create_app(folder).server.test_client()


def test_malformed_callback_bodies_get_400_naming_the_problem(client):
    deps = deps_of(client)
    assert client.post(UPDATE, json=good_body(deps)).status_code == 200
    answers = {name: client.post(UPDATE, json=body) for name, body in malformed(deps).items()}
    wrong = {name: (r.status_code, r.get_data(as_text=True)[:200]) for name, r in answers.items()
             if r.status_code != 400 or "not a callback request" not in r.get_json()["error"]}
    assert wrong == {}


def test_the_same_body_as_text_plain_gets_415_after_it_was_answered_as_json(client):
    data = json.dumps(good_body(deps_of(client))).encode()
    assert client.post(UPDATE, data=data, headers={"Content-Type": "application/json"}).status_code == 200
    assert client.post(UPDATE, data=data, headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post(UPDATE, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415


def test_unknown_component_suite_paths_get_404(client):
    for path in ("/_dash-component-suites/dash/no-such-file.js", "/_dash-component-suites/dash/../../../etc/passwd",
                 "/_dash-component-suites/dash/..%2F..%2Fsetup.py", "/_dash-component-suites/nopkg/x.js"):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert "registered" not in reply.get_data(as_text=True)


def raw_request(served: Served, data: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    return int(reply.split(b" ", 2)[1]), reply


def test_through_gunicorn_malformed_requests_get_4xx_and_no_traceback_is_logged(server: Served):
    log_start = len(server.log())
    deps = json.loads(server.get("/_dash-dependencies").body)
    statuses = {}
    for name, body in malformed(deps).items():
        statuses[name] = server.request("POST", UPDATE, body=json.dumps(body).encode(),
                                        headers={"Content-Type": "application/json"}).status
    for path in ("/_dash-component-suites/dash/nothing.js", "/_dash-component-suites/dash/../../etc/passwd"):
        statuses[path] = server.get(path).status
    host = f"127.0.0.1:{server.port}".encode()
    statuses["absolute-form evil host"], evil = raw_request(
        server, b"GET http://evil.example/ HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    statuses["absolute-form allowed host"], _ = raw_request(
        server, b"GET http://" + host + b"/healthz HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    statuses["absolute-form page, allowed"], _ = raw_request(
        server, b"GET http://localhost/ HTTP/1.1\r\nHost: " + host + b"\r\nX-Request-ID: malformed-last-1\r\n"
                b"Connection: close\r\n\r\n")
    server.wait_for_log(r"malformed-last-1 ")  # the last request's access line: what its handling logged is before it
    assert {k: v for k, v in statuses.items() if not k.startswith("absolute")} == {
        k: (400 if k in malformed(deps) else 404) for k in statuses if not k.startswith("absolute")}
    assert statuses["absolute-form evil host"] == 400 and b"host not allowed" in evil
    assert statuses["absolute-form allowed host"] == 200 and statuses["absolute-form page, allowed"] == 200
    new_log = server.log()[log_start:]
    assert "Traceback" not in new_log and "registered" not in new_log
