"""A forked child (a Dash background job forked from a worker thread, a gunicorn worker) never inherits
a held lock of the analytics' shared memos: it would never be released in the child, and the child's
first preparation would hang (analytics/prepare.py per_rows, analytics/forwards.py chain_forwards), nor its
first big grid while the compiled kernel loads (analytics/scenarios.py). One helper makes each such lock:
analytics.locks.fork_safe_lock."""

from __future__ import annotations

import os
import signal
import threading

import pandas as pd
import pytest

from analytics import forwards, prepare, scenarios
from analytics.locks import fork_safe_lock


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
    (forwards, "_FITS_LOCK", lambda: forwards._FITS_LOCK.acquire() and forwards._FITS_LOCK.release()),
    # the lock load_kernel holds for ~1.5 s on the server's background loader thread
    (scenarios, "_KERNEL_LOCK", lambda: scenarios._KERNEL_LOCK.acquire() and scenarios._KERNEL_LOCK.release()),
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
