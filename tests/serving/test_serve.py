"""``mmpos serve`` as the desk meets it: a real gunicorn on a free port, the edge in front of the app."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from dashboard import cli
from dashboard.runtime import config
from dashboard.runtime.config import DEFAULT_MAX_REQUEST_BYTES
from tests.serving.conftest import WAIT_S, Served


def test_the_page_is_served_by_gunicorn_not_werkzeug(server: Served):
    page = server.get("/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>mmpos" in page.text
    assert page.headers["server"] == "gunicorn"
    assert "Starting gunicorn" in server.log() and "werkzeug" not in server.log().lower()
    assert len(server.worker_pids()) == 2


def test_healthz_is_json_liveness(server: Served):
    reply = server.get("/healthz")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body)["status"] == "ok"


def test_every_response_carries_the_security_headers(server: Served):
    for path in ("/", "/healthz", "/_dash-layout"):
        headers = server.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    page_csp = server.get("/").headers["content-security-policy"]
    assert re.search(r"script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+;", page_csp)  # the page's inline scripts


def test_a_request_id_is_echoed_or_made_and_written_to_the_access_log(server: Served):
    mine = server.get("/healthz", headers={"X-Request-ID": "desk-check-42"})
    assert mine.headers["x-request-id"] == "desk-check-42"
    made = server.get("/healthz", headers={"X-Request-ID": "not a token\u00e9"[:11]})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    server.wait_for_log(r'desk-check-42 - "GET /healthz HTTP/1.1" 200 \d+ \d+ms')  # written after the response


def test_a_host_not_in_the_allow_list_is_refused(server: Served):
    reply = server.get("/", headers={"Host": "attacker.example"})
    assert reply.status == 400 and json.loads(reply.body)["error"] == "host not allowed"
    assert server.get("/", headers={"Host": f"localhost:{server.port}"}).status == 200


def test_an_oversize_post_gets_413_with_a_short_json(server: Served):
    # a callback body is held to MMPOS_MAX_REQUEST_BYTES (dashboard.runtime.config); the edge refuses a larger
    # one from its Content-Length, before reading it: only the first bytes are sent
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/_dash-update-component", skip_host=True)
        for name, value in (("Host", f"127.0.0.1:{server.port}"), ("Content-Type", "application/json"),
                            ("Content-Length", str(DEFAULT_MAX_REQUEST_BYTES + 10))):
            conn.putheader(name, value)
        conn.endheaders(b"{" + b" " * 1024)
        resp = conn.getresponse()
        status, body = resp.status, resp.read()
    finally:
        conn.close()
    assert status == 413 and len(body) < 200
    assert json.loads(body)["error"] == "request too large"


def test_a_malformed_callback_is_a_400_naming_the_problem_and_no_traceback(server: Served):
    log_start = len(server.log())
    reply = server.request("POST", "/_dash-update-component", body=b'{"output": "nope", "inputs": 3}',
                           headers={"Content-Type": "application/json", "X-Request-ID": "broken-callback-1"})
    assert reply.status == 400
    assert json.loads(reply.body) == {"error": "not a callback request: output is not a callback of this page",
                                      "request_id": "broken-callback-1"}
    garbage = server.request("POST", "/_dash-update-component", body=b"not json",
                             headers={"Content-Type": "application/json", "X-Request-ID": "garbage-callback-1"})
    assert garbage.status == 400 and json.loads(garbage.body)["error"] == "bad request"
    # the last request's access-log line comes after anything its handling logged: wait for it, then look
    log = server.wait_for_log(r'garbage-callback-1 - "POST /_dash-update-component')
    assert "Traceback" not in log[log_start:]


def test_a_failing_route_is_a_500_without_exception_text_and_logged_under_its_request_id(caplog):
    from flask import Flask

    from dashboard.http import edge

    app = Flask("broken")

    def broken():
        raise RuntimeError("secret detail /srv/mmpos")

    app.add_url_rule("/broken", "broken", broken)
    edge.install(app, config.Settings())
    with caplog.at_level("ERROR", logger="dashboard.http.edge"):
        reply = app.test_client().get("/broken", headers={"X-Request-ID": "broken-1"})
    assert reply.status_code == 500
    assert reply.get_json() == {"error": "internal error: the server log has the details under this request id",
                                "request_id": "broken-1"}
    record = next(r for r in caplog.records if "request broken-1 failed: GET /broken" in r.getMessage())
    assert record.exc_info is not None  # the details are in the log, not the response


def test_readyz_follows_the_data_folder_away_and_back(server: Served):
    ready = server.get("/readyz")
    assert ready.status == 200 and json.loads(ready.body)["status"] == "ready"
    aside = server.data_dir.with_name("data-aside")
    server.data_dir.rename(aside)
    try:
        replies = [server.get("/readyz") for _ in range(4)]  # both workers answer not ready
        assert {r.status for r in replies} == {503}
        body = json.loads(replies[0].body)
        assert body["status"] == "not ready" and body["checks"]["data"]["ok"] is False
        assert body["checks"]["cache"]["kind"] == "off" and body["checks"]["jobs"]["kind"] == "local"  # tests/conftest.py
        reason = body["reason"]
        assert reason.startswith("data directory not found") and str(aside.parent) not in reason
        assert server.get("/healthz").status == 200  # alive all the same
    finally:
        aside.rename(server.data_dir)
    assert {server.get("/readyz").status for _ in range(4)} == {200}


def _tcp_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the server side of our connection (from /proc/net/tcp); None until accepted."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local, remote = cols[1], cols[2]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            return cols[9] if cols[9] != "0" else None
    return None


def _worker_holding(server: Served, client_port: int, timeout_s: float = WAIT_S) -> int:
    """The pid of the worker that accepted our connection."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        inode = _tcp_inode(server.port, client_port)
        for pid in server.worker_pids() if inode else ():
            try:
                links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
            if f"socket:[{inode}]" in links:
                return pid
        time.sleep(0.05)
    raise AssertionError("no worker accepted the connection")


def test_a_worker_killed_mid_request_costs_that_request_only(server: Served):
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        conn.sendall(f"GET /_dash-layout HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())  # no end yet
        victim = _worker_holding(server, conn.getsockname()[1])
        others = set(server.worker_pids()) - {victim}
        os.kill(victim, signal.SIGKILL)
        try:
            assert conn.recv(1024) == b""  # the half-sent request dies with its worker
        except ConnectionResetError:
            pass
    finally:
        conn.close()
    statuses = [server.get(path).status for path in ("/", "/_dash-layout", "/healthz", "/readyz") * 3]
    assert statuses == [200] * 12
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and (victim in server.worker_pids() or len(server.worker_pids()) < 2):
        time.sleep(0.1)
    assert victim not in server.worker_pids() and len(server.worker_pids()) == 2
    assert others <= set(server.worker_pids())


@pytest.mark.parametrize(("env", "argv", "message"), [
    ({"MMPOS_PORT": "abc"}, [], "MMPOS_PORT must be an integer, got 'abc'"),
    ({}, ["--debug", "--host", "0.0.0.0"], "refusing to run with debug on host '0.0.0.0'"),
    ({"MMPOS_HOST": "10.1.2.3"}, ["--debug"], "refusing to run with debug on host '10.1.2.3'"),
    ({"MMPOS_AUTH_PROXY_HEADER": "X-User"}, [], "needs MMPOS_TRUSTED_PROXIES"),
    ({"MMPOS_TRUSTED_PROXIES": "10.0.0.300"}, [], "MMPOS_TRUSTED_PROXIES"),
    ({"MMPOS_THREADS": "0"}, [], "MMPOS_THREADS must be 1-64"),
    ({"MMPOS_AUTH_FILE": "/nonexistent/users"}, [], "'users' is not a readable file"),
])
def test_a_serve_setting_that_cannot_run_exits_2_with_one_line(monkeypatch, capsys, env, argv, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("mmpos serve: ")


def test_a_bad_port_in_the_environment_does_not_break_other_commands(server: Served, monkeypatch, capsys):
    monkeypatch.setenv("MMPOS_PORT", "abc")
    assert cli.main(["list", "--data-dir", str(server.data_dir)]) == 0
    assert "spx-20261120-1615" in capsys.readouterr().out
