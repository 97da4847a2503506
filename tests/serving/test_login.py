"""The optional login: basic auth from a hashed credentials file, or a trusted proxy's user header."""

from __future__ import annotations

import base64
import json
import re

import pytest

from dashboard.http.edge import Credentials, add_user
from tests.serving.conftest import Served, start_server

PROXY = "127.0.0.2"  # the test connects from here to play the reverse proxy (all of 127/8 is loopback)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    work = tmp_path_factory.mktemp("login")
    users = work / "users"
    add_user(users, "alice", "correct horse battery")
    served = start_server(work, {"MMPOS_AUTH_FILE": str(users), "MMPOS_AUTH_PROXY_HEADER": "X-Remote-User",
                                 "MMPOS_TRUSTED_PROXIES": PROXY, "MMPOS_WORKERS": "1"})
    yield served
    served.stop()


def test_without_credentials_the_page_asks_for_a_login(guarded: Served):
    reply = guarded.get("/")
    assert reply.status == 401 and reply.headers["www-authenticate"].startswith('Basic realm="mmpos"')
    assert json.loads(reply.body)["error"] == "sign in required"
    assert guarded.get("/_dash-layout").status == 401


def test_a_wrong_password_or_unknown_user_is_refused(guarded: Served):
    assert guarded.get("/", headers=basic("alice", "Tr0ub4dor")).status == 401
    assert guarded.get("/", headers=basic("mallory", "correct horse battery")).status == 401


def test_the_right_password_opens_the_page_and_names_the_user_in_the_access_log(guarded: Served):
    reply = guarded.get("/", headers={**basic("alice", "correct horse battery"), "X-Request-ID": "alice-login-1"})
    assert reply.status == 200 and "<title>mmpos" in reply.text
    guarded.wait_for_log(re.escape('alice-login-1 alice "GET / HTTP/1.1" 200'))


def test_health_probes_need_no_login(guarded: Served):
    assert guarded.get("/healthz").status == 200 and guarded.get("/readyz").status == 200


def test_the_proxy_user_header_counts_only_from_a_trusted_proxy(guarded: Served):
    spoofed = guarded.get("/", headers={"X-Remote-User": "alice"})  # from 127.0.0.1: not the proxy
    assert spoofed.status == 401
    via_proxy = guarded.get("/", headers={"X-Remote-User": "bob"}, source=PROXY)
    assert via_proxy.status == 200
    assert guarded.get("/", headers={"X-Remote-User": ""}, source=PROXY).status == 401


def test_credentials_are_reread_when_the_file_changes(tmp_path):
    users = tmp_path / "users"
    add_user(users, "alice", "first password")
    creds = Credentials(users)
    assert creds.check("alice", "first password") and not creds.check("alice", "second password")
    add_user(users, "alice", "second password")
    assert creds.check("alice", "second password") and not creds.check("alice", "first password")
    assert users.stat().st_mode & 0o777 == 0o600
    assert "first password" not in users.read_text() and users.read_text().startswith("alice:scrypt:")
