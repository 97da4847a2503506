"""The password login under attack (issue #17): failure limits, the same work for unknown users, a
bounded pool of hash checks and the session cookie that spares a signed-in user the hash."""

from __future__ import annotations

import threading
from http.cookies import SimpleCookie

import pytest
from flask import Flask

from dashboard.http import edge, login
from dashboard.http.edge import Credentials, add_user
from dashboard.runtime import config
from tests.serving.conftest import Served, start_server
from tests.serving.test_login import basic

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    work = tmp_path_factory.mktemp("login-limits")
    users = work / "users"
    add_user(users, "alice", PASSWORD)
    add_user(users, "bob", PASSWORD)
    served = start_server(work, {"MMPOS_AUTH_FILE": str(users), "MMPOS_WORKERS": "1",
                                 "MMPOS_LOGIN_PER_USER": "3", "MMPOS_LOGIN_PER_ADDRESS": "6"})
    yield served
    served.stop()


def session_cookie(reply) -> str:
    jar = SimpleCookie(reply.headers["set-cookie"])
    return jar[login.SESSION_COOKIE].value


def test_wrong_passwords_for_one_user_get_429_with_retry_after_even_for_the_right_one(guarded: Served):
    statuses = [guarded.get("/", headers=basic("alice", f"guess {i}"), source="127.0.0.3").status for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    locked = guarded.get("/", headers=basic("alice", PASSWORD), source="127.0.0.4")  # another address too
    assert locked.status == 429 and 1 <= int(locked.headers["retry-after"]) <= config.DEFAULT_LOGIN_WINDOW_S
    assert "too many failed sign-ins" in locked.text


def test_one_address_guessing_many_names_gets_429(guarded: Served):
    statuses = [guarded.get("/", headers=basic(f"user{i}", "x"), source="127.0.0.5").status for i in range(8)]
    assert statuses[:6] == [401] * 6 and statuses[6:] == [429, 429]
    assert guarded.get("/", headers=basic("bob", PASSWORD), source="127.0.0.6").status == 200  # others still sign in


def test_the_session_cookie_keeps_a_signed_in_user_in_while_their_name_is_locked(guarded: Served):
    first = guarded.get("/", headers=basic("bob", PASSWORD), source="127.0.0.7")
    assert first.status == 200
    cookie = session_cookie(first)
    assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
    for i in range(4):  # someone else locks bob's name out
        guarded.get("/", headers=basic("bob", f"guess {i}"), source="127.0.0.8")
    assert guarded.get("/", headers=basic("bob", PASSWORD), source="127.0.0.9").status == 429
    assert guarded.get("/_dash-layout", headers={"Cookie": f"{login.SESSION_COOKIE}={cookie}"}).status == 200
    forged = cookie.rsplit(".", 1)[0] + ".AAAA"
    assert guarded.get("/", headers={"Cookie": f"{login.SESSION_COOKIE}={forged}"}).status == 401


def test_failures_are_counted_in_redis_across_workers(tmp_path, redis_url):
    users = tmp_path / "users"
    add_user(users, "carol", PASSWORD)
    served = start_server(tmp_path, {"MMPOS_AUTH_FILE": str(users), "MMPOS_WORKERS": "2", "MMPOS_REDIS_URL": redis_url,
                                     "MMPOS_LOGIN_PER_USER": "4", "MMPOS_WARM": "off",
                                     "MMPOS_SHARED_CACHE": "on"})
    try:  # one connection each: gunicorn hands them to either worker; a per-worker count would allow 8
        statuses = [served.get("/", headers=basic("carol", f"guess {i}")).status for i in range(6)]
    finally:
        served.stop()
    assert statuses == [401, 401, 401, 401, 429, 429]


# --------------------------------------------------------------------------- in-process


def test_an_unknown_user_costs_the_same_hash_as_a_known_one(tmp_path, monkeypatch):
    users = tmp_path / "users"
    add_user(users, "alice", PASSWORD)
    creds = Credentials(users)
    checked: list[str] = []
    real = edge.check_password_hash
    monkeypatch.setattr(edge, "check_password_hash", lambda h, p: checked.append(h.split("$")[0]) or real(h, p))
    assert not creds.check("mallory", PASSWORD) and not creds.check("alice", "wrong")
    assert len(checked) == 2 and checked[0] == checked[1]  # same method and parameters (scrypt:32768:8:1)
    assert creds.check("alice", PASSWORD) and len(checked) == 3
    assert creds.check("alice", PASSWORD) and len(checked) == 3  # verified once per process


def test_a_hash_check_beyond_the_slots_gets_503_at_once(tmp_path, monkeypatch):
    users = tmp_path / "users"
    add_user(users, "alice", PASSWORD)
    server = Flask("slots")
    server.add_url_rule("/", "index", lambda: "ok")
    edge.install(server, config.Settings(auth_file=users, login_hash_slots=1))
    started, release = threading.Event(), threading.Event()

    def slow_check(hashed, password):
        started.set()
        release.wait(10)
        return False

    monkeypatch.setattr(edge, "check_password_hash", slow_check)
    client = server.test_client()
    first: list[int] = []
    worker = threading.Thread(target=lambda: first.append(client.get("/", headers=basic("alice", "a")).status_code))
    worker.start()
    assert started.wait(10)
    busy = server.test_client().get("/", headers=basic("alice", "b"))
    release.set()
    worker.join(10)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert first == [401]


def test_in_process_counts_are_bounded_and_the_window_ends(monkeypatch):
    counter = login.FailureCounter(config.Settings(login_user_failures=2, login_window_s=60))
    keys = counter.keys("alice", "10.0.0.1")
    counter.failed(keys)
    assert counter.retry_after_s(keys) == 0
    counter.failed(keys)
    assert 59 <= counter.retry_after_s(keys) <= 61
    now = login.time.monotonic()
    monkeypatch.setattr(login.time, "monotonic", lambda: now + 61)
    assert counter.retry_after_s(keys) == 0
    for i in range(login.LOCAL_ENTRIES + 10):
        counter.failed({"addr": f"addr:{i}"})
    assert len(counter._local) == login.LOCAL_ENTRIES
