"""Repeated callback requests are answered from the worker's response cache: the same bytes, without
running the callback; a changed file or a request the edge refuses never gets a cached answer."""

from __future__ import annotations

import json
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard import service
from dashboard.app import create_app
from dashboard.http import edge, responses
from dashboard.http.edge import add_user
from dashboard.runtime import config
from dashboard.web import ids
from dashboard.web.callbacks import views
from tests.serving.conftest import DEMO, DEMO_FILES
from tests.serving.test_login import basic

HEADERS = {"Content-Type": "application/json"}


def main_update_body(snapshot: str) -> str:
    """The main update's request body as the page posts it (outputs, the view state input)."""
    outputs = [{"id": o.component_id, "property": o.component_property} for o in views.OUTPUTS.values()]
    return json.dumps({
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [{"id": ids.READY_VIEW_STORE, "property": "data",
                    "value": {"u": "SPX", "snap": snapshot, "preset": "all", "conv": "dealer-long-calls"}}],
        # the result store, then the strike view's zoom, empty
        "state": [{"id": i, "property": p, "value": None} for i, p in (
            (ids.RESULT_STORE, "data"), (ids.STRIKE_ZOOM_STORE, "data"))],
        "changedPropIds": [f"{ids.READY_VIEW_STORE}.data"],
    })


@pytest.fixture
def counted_app(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in DEMO_FILES:
        shutil.copy(DEMO / name, folder / name)
    calls = []
    real = views.render
    monkeypatch.setattr(views, "render", lambda *a: calls.append(a) or real(*a))
    app = create_app(folder)
    entry = service.get_catalog(folder).latest("SPX")  # the newest SPX snapshot
    return app, app.server.test_client(), entry, calls


def test_the_same_callback_request_twice_runs_the_callback_once_and_returns_the_same_bytes(counted_app):
    app, client, entry, calls = counted_app
    body = main_update_body(entry.id)
    first = client.post("/_dash-update-component", data=body, headers=HEADERS)
    second = client.post("/_dash-update-component", data=body, headers=HEADERS)
    assert first.status_code == second.status_code == 200
    assert second.data == first.data and b"gamma-by-strike" in first.data
    assert len(calls) == 1


def test_a_file_replaced_with_its_mtime_kept_is_answered_afresh(counted_app):
    app, client, entry, calls = counted_app
    body = main_update_body(entry.id)
    client.post("/_dash-update-component", data=body, headers=HEADERS)
    stat = entry.path.stat()
    shutil.copy(entry.path, entry.path.with_suffix(".tmp"))
    os.replace(entry.path.with_suffix(".tmp"), entry.path)
    os.utime(entry.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    client.post("/_dash-update-component", data=body, headers=HEADERS)
    assert len(calls) == 2


def test_a_cached_answer_is_never_given_to_a_request_without_a_login(counted_app, tmp_path):
    app, client, entry, calls = counted_app
    users = tmp_path / "users"
    add_user(users, "alice", "correct horse battery")
    edge.install(app.server, config.Settings(auth_file=users))
    body = main_update_body(entry.id)
    signed_in = client.post("/_dash-update-component", data=body, headers={**HEADERS, **basic("alice", "correct horse battery")})
    # a browser of its own: the signed-in one now holds a session cookie (dashboard.http.login)
    anonymous = app.server.test_client().post("/_dash-update-component", data=body, headers=HEADERS)
    assert signed_in.status_code == 200
    assert anonymous.status_code == 401 and b"gamma-by-strike" not in anonymous.data


def post_at_once(app, body: str, n: int) -> list:
    """``n`` identical requests from ``n`` threads, released together."""
    barrier = threading.Barrier(n)

    def one(_):
        client = app.server.test_client()
        barrier.wait()
        return client.post("/_dash-update-component", data=body, headers=HEADERS)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


HOLD_S = 60.0  # the longest a leader is held for its followers (a loaded machine); never reached when it works


def hold_leader(monkeypatch, followers: int) -> list[bool]:
    """Make the first request for a key (the leader) wait until ``followers`` identical requests wait for
    it, so they surely overlap, with no sleep. Returns how each follower's wait ended, in order: True when
    the leader released it, False when it gave up after ``responses.FOLLOWER_WAIT_S``."""
    real = responses.ResponseCache.lead_or_follow
    ended: list[bool] = []
    lock = threading.Lock()
    all_waiting = threading.Event()
    waiting = [0]

    class Followed:
        def __init__(self, event: threading.Event) -> None:
            self.event = event

        def wait(self, timeout: float | None = None) -> bool:
            with lock:
                waiting[0] += 1
                if waiting[0] == followers:
                    all_waiting.set()
            released = self.event.wait(timeout)
            ended.append(released)
            return released

    def lead_or_follow(cache, key):
        event = real(cache, key)
        if event is None:
            all_waiting.wait(HOLD_S)  # the test's counts fail if they never came
            return None
        return Followed(event)

    monkeypatch.setattr(responses.ResponseCache, "lead_or_follow", lead_or_follow)
    return ended


def test_identical_requests_at_the_same_moment_run_the_callback_once_and_share_its_bytes(counted_app, monkeypatch):
    app, client, entry, calls = counted_app
    ended = hold_leader(monkeypatch, followers=7)
    replies = post_at_once(app, main_update_body(entry.id), 8)
    assert [r.status_code for r in replies] == [200] * 8
    assert len({r.data for r in replies}) == 1
    assert len(calls) == 1 and ended == [True] * 7


def test_requests_waiting_for_an_answer_that_is_not_kept_run_the_callback_themselves_at_once(counted_app, monkeypatch):
    app, client, entry, calls = counted_app
    real = views.render

    def uncacheable(*args):  # an answer that depends on more than the body, like the gate's
        responses.skip()
        return real(*args)

    monkeypatch.setattr(views, "render", uncacheable)
    ended = hold_leader(monkeypatch, followers=3)
    replies = post_at_once(app, main_update_body(entry.id), 4)
    assert [r.status_code for r in replies] == [200] * 4
    assert len(calls) == 4
    assert ended == [True] * 3  # released by the leader as it finished, not after FOLLOWER_WAIT_S


def test_requests_waiting_for_one_that_fails_are_released_at_once(counted_app, monkeypatch):
    app, client, entry, calls = counted_app

    def failing(*args):  # outputs Dash cannot serialise: it raises after the callback, the edge answers 500
        calls.append(args)  # (a malformed body no longer reaches the cache: the edge refuses it, 400)
        return {key: object() for key in views.OUTPUTS}

    monkeypatch.setattr(views, "render", failing)
    ended = hold_leader(monkeypatch, followers=3)
    replies = post_at_once(app, main_update_body(entry.id), 4)
    assert [r.status_code for r in replies] == [500] * 4 and len(calls) == 4
    assert ended == [True] * 3  # released by the failed leader, not after FOLLOWER_WAIT_S


@pytest.fixture
def two_workers(counted_app, tmp_path):
    """Two apps over one data folder (two gunicorn workers) sharing a cache folder."""
    from dashboard.runtime.cache import SharedCache

    app, client, entry, calls = counted_app
    service.use_shared_cache(SharedCache(config.Settings(cache_dir=tmp_path / "cache")))
    try:
        other = create_app(app.server.config.get("MMPOS_DATA_DIR"))
        yield client, other.server.test_client(), entry, calls
    finally:
        service.use_shared_cache(None)


def test_a_second_worker_answers_with_the_first_workers_bytes_without_running_the_callback(two_workers):
    first_worker, second_worker, entry, calls = two_workers
    body = main_update_body(entry.id)
    first = first_worker.post("/_dash-update-component", data=body, headers=HEADERS)
    second = second_worker.post("/_dash-update-component", data=body, headers=HEADERS)
    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    assert len(calls) == 1


def test_clearing_the_response_caches_empties_the_shared_one_too(two_workers):
    """What the benchmarks call before measuring an uncached request: no worker answers from a cache."""
    first_worker, second_worker, entry, calls = two_workers
    body = main_update_body(entry.id)
    assert first_worker.post("/_dash-update-component", data=body, headers=HEADERS).status_code == 200
    responses.clear_all()
    assert second_worker.post("/_dash-update-component", data=body, headers=HEADERS).status_code == 200
    assert len(calls) == 2


def test_a_response_that_depends_on_more_than_its_body_is_not_shared(two_workers, monkeypatch):
    first_worker, second_worker, entry, calls = two_workers
    counted = views.render  # counts its calls in ``calls``
    monkeypatch.setattr(views, "render", lambda *a: responses.skip() or counted(*a))
    body = main_update_body(entry.id)
    for worker in (first_worker, second_worker):
        assert worker.post("/_dash-update-component", data=body, headers=HEADERS).status_code == 200
    assert len(calls) == 2
