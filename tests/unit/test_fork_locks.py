"""A forked child (a Dash background job forked from a worker thread, a gunicorn worker) never inherits
a held lock of the analytics' shared memos: it would never be released in the child, and the child's
first preparation would hang (analytics/prepare.py per_rows, analytics/forwards.py chain_forwards), nor its
first big grid while the compiled kernel loads (analytics/scenarios.py), nor its first use of the shared
cache while another thread was making it (dashboard/service.py, dashboard/http/responses.py). One helper
makes each such lock: analytics.locks.fork_safe_lock."""

from __future__ import annotations

import os
import signal
import threading

import pandas as pd
import pytest

from analytics import forwards, prepare, scenarios
from analytics.locks import fork_safe_lock
from dashboard import service
from dashboard.http import responses


def _acquire_and_release(module, name: str):
    return lambda: getattr(module, name).acquire() and getattr(module, name).release()


def child_finishes(work) -> bool:
    """Fork while another thread holds the lock ``work`` needs; True if the child's main thread got
    through within 10 s (its main thread: a new thread could reuse the holder's id and so "own" an
    inherited re-entrant lock)."""
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the work finished
        try:
            signal.alarm(10)  # a hang ends the child with SIGALRM
            work()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - never return into pytest in the child
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("module, lock, work", [
    (prepare, "_MEMO_LOCK", lambda: prepare.per_rows(pd.DataFrame({"a": [1]}), "k", lambda: 1)),
    (forwards, "_FITS_LOCK", _acquire_and_release(forwards, "_FITS_LOCK")),
    # the lock load_kernel holds for ~1.5 s on the server's background loader thread
    (scenarios, "_KERNEL_LOCK", _acquire_and_release(scenarios, "_KERNEL_LOCK")),
    # held while the process's shared cache (diskcache or Redis) is opened
    (service, "_shared_lock", _acquire_and_release(service, "_shared_lock")),
    (responses, "_SHARED_LOCK", _acquire_and_release(responses, "_SHARED_LOCK")),
])
def test_a_child_forked_while_a_thread_holds_the_lock_does_not_hang(module, lock, work):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with getattr(module, lock):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(5)
    try:
        assert child_finishes(work)
    finally:
        release.set()
        holder.join(5)


@pytest.mark.parametrize("make", [threading.Lock, threading.RLock])
def test_a_fork_safe_lock_is_a_new_free_lock_in_the_child_and_unchanged_in_the_parent(make):
    ns: dict = {}
    lock = fork_safe_lock(ns, "_LOCK", make)
    assert ns["_LOCK"] is lock

    def in_child() -> None:
        assert ns["_LOCK"] is not lock and ns["_LOCK"].acquire(blocking=False)

    with lock:  # held at the fork
        assert child_finishes(in_child)
    assert ns["_LOCK"] is lock and lock.acquire(blocking=False)  # the parent's binding never changes
    lock.release()
