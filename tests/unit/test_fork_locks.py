"""A forked child (a Dash background job forked from a request thread, a gunicorn worker) never inherits
a lock held by another thread of its parent: nobody would release it in the child, and the child's first
use of it would hang. Every lock a job reaches is an analytics.locks.ForkSafeLock: the analytics' memos
(analytics/prepare.py per_rows, analytics/forwards.py chain_forwards), the kernel load
(analytics/scenarios.py), the catalog's holder (held through a rescan) and the holders' map
(analytics/catalog.py), the cache of loaded files (analytics/catalog_files.py), the shared cache's
opening and its compute locks (dashboard/service.py, dashboard/runtime/cache.py), the costs a worker
measured (dashboard/service.py), the caches' registry and LRU (dashboard/runtime/caches.py).

Each case holds the lock in a thread, forks, and requires the child to finish the operation that needs
it within CHILD_DEADLINE_S (the child is killed after it); a plain ``threading.Lock`` in its place hangs
the child (test_a_plain_lock_held_by_another_thread_at_the_fork_hangs_the_child)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time

import pandas as pd
import pytest

from analytics import catalog, catalog_files, forwards, prepare, scenarios
from analytics.locks import ForkSafeLock
from dashboard import service
from dashboard.http import responses
from dashboard.runtime import caches
from dashboard.runtime.cache import SharedCache
from dashboard.runtime.config import Settings

CHILD_DEADLINE_S = 5.0


def child_finishes(work, deadline_s: float = CHILD_DEADLINE_S) -> bool:
    """Fork; True if the child's main thread ran ``work`` without an error within ``deadline_s`` (else
    the child is killed). Its main thread: a new thread could reuse the holder's id and so "own" an
    inherited re-entrant lock."""
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the work finished
        try:
            work()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - never return into pytest in the child
            os._exit(2)
    deadline = time.monotonic() + deadline_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.01)


@contextlib.contextmanager
def held_by_another_thread(lock):
    """``lock`` held by another thread for the block, released after it."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(5)
    try:
        yield
    finally:
        release.set()
        holder.join(5)


def child_finishes_while_held(lock, work, deadline_s: float = CHILD_DEADLINE_S) -> bool:
    """:func:`child_finishes` forked while another thread holds ``lock`` (released afterwards)."""
    with held_by_another_thread(lock):
        return child_finishes(work, deadline_s)


def _acquire_and_release(module, name: str):
    return lambda: getattr(module, name).acquire() and getattr(module, name).release()


@pytest.mark.parametrize("module, lock, work", [
    (prepare, "_MEMO_LOCK", lambda: prepare.per_rows(pd.DataFrame({"a": [1]}), "k", lambda: 1)),
    (forwards, "_FITS_LOCK", _acquire_and_release(forwards, "_FITS_LOCK")),
    # the lock load_kernel holds for ~1.5 s on the server's background loader thread
    (scenarios, "_KERNEL_LOCK", _acquire_and_release(scenarios, "_KERNEL_LOCK")),
    # held while the process's shared cache (diskcache or Redis) is opened
    (service, "_shared_lock", _acquire_and_release(service, "_shared_lock")),
    (responses, "_SHARED_LOCK", _acquire_and_release(responses, "_SHARED_LOCK")),
    # every registration (a module the job imports first) and clear_caches
    (caches, "_LOCK", lambda: caches.register("tests.fork", lambda: None)),
    # a job asking for the holder of its folder while a request thread creates another
    (catalog, "_HOLDERS_LOCK", lambda: catalog.holder_for(os.getcwd())),
])
def test_a_child_forked_while_a_thread_holds_a_module_lock_does_not_hang(module, lock, work):
    assert child_finishes_while_held(getattr(module, lock), work)


@pytest.fixture
def holder(tmp_path, deribit_ticker_path) -> catalog.CatalogHolder:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(deribit_ticker_path, folder)
    holder = catalog.CatalogHolder(folder, interval_s=3600)
    assert len(holder.get().snapshots()) == 1
    return holder


def test_a_job_forked_during_a_rescan_rescans_its_folder(holder):
    """The rescan timer holds the holder's lock through a rescan; the job's catalog lookup naming a new
    file (``service.get_catalog(..., naming=)``) rescans under it."""
    def rescan() -> None:
        assert len(holder.refresh().snapshots()) == 1

    assert child_finishes_while_held(holder._lock, rescan)


def test_a_job_forked_while_a_thread_reads_the_file_cache_loads_its_chain(deribit_ticker_path):
    def load() -> None:
        assert len(catalog_files.load_path_cached(deribit_ticker_path).rows) > 0

    assert child_finishes_while_held(catalog_files._CACHE._lock, load)


def test_a_job_forked_while_a_thread_records_a_cost_records_its_own():
    def record() -> None:
        service._computed_here.add("tests.fork")
        assert "tests.fork" in service._computed_here

    assert child_finishes_while_held(service._computed_here.lock, record)


def test_a_job_forked_while_a_thread_uses_an_lru_reads_and_writes_it():
    lru = caches.LockedLRU(4)
    lru["a"] = 1

    def use() -> None:
        lru["b"] = 2
        assert lru.get("a") == 1 and lru.pop("b") == 2

    assert child_finishes_while_held(lru._lock, use)


@pytest.fixture
def shared(tmp_path) -> SharedCache:
    return SharedCache(Settings(cache_dir=tmp_path / "cache"))


def test_a_job_forked_while_a_thread_finds_a_compute_lock_computes(shared):
    def compute() -> None:
        assert shared.get_or_compute("tests.fork", lambda: 42) == 42

    assert child_finishes_while_held(shared._locks_guard, compute)


def test_a_job_forked_while_a_thread_computes_a_key_computes_it_too(shared):
    """This process's lock of the key (the cross-process ``lockf`` is never inherited: the parent's
    thread holds only its own here, as a request computing the key before it takes the file lock)."""
    def compute() -> None:
        assert shared.get_or_compute("tests.fork", lambda: 42) == 42

    assert child_finishes_while_held(shared._thread_lock("tests.fork"), compute)


# --------------------------------------------------------------------------- the lock itself


@pytest.mark.slow  # waits out its 1 s deadline by design: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize("make", [threading.Lock, threading.RLock])
def test_a_plain_lock_held_by_another_thread_at_the_fork_hangs_the_child(make):
    """What the cases above guard against (and proof that child_finishes sees a hang)."""
    lock = make()
    assert not child_finishes_while_held(lock, lambda: lock.acquire() and lock.release(), deadline_s=1.0)


@pytest.mark.parametrize("reentrant", [False, True])
def test_a_fork_safe_lock_another_thread_holds_is_free_in_the_child_and_still_held_in_the_parent(reentrant):
    lock = ForkSafeLock(reentrant=reentrant)

    def in_child() -> None:
        assert not lock.locked() and lock.acquire(blocking=False)
        lock.release()

    with held_by_another_thread(lock):
        assert child_finishes(in_child)
        assert lock.locked() and not lock.acquire(blocking=False)  # the parent's holder still has it
    assert lock.acquire(blocking=False)
    lock.release()


@pytest.mark.parametrize("reentrant", [False, True])
def test_a_fork_safe_lock_the_forking_thread_holds_stays_held_and_it_releases_it_in_the_child(reentrant):
    lock = ForkSafeLock(reentrant=reentrant)

    def in_child() -> None:
        assert lock.locked()
        if reentrant:
            assert lock.acquire(blocking=False)  # still its owner
            lock.release()
        else:
            assert not lock.acquire(blocking=False)
        lock.release()  # the with block's release, in the child
        assert not lock.locked() and lock.acquire(blocking=False)
        lock.release()

    with lock:
        assert child_finishes(in_child)
    assert not lock.locked()


def test_a_reentrant_fork_safe_lock_refuses_a_release_by_another_thread():
    lock = ForkSafeLock(reentrant=True)
    errors: list[Exception] = []

    def release() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    with lock:
        other = threading.Thread(target=release)
        other.start()
        other.join(5)
        assert lock.locked()
    assert len(errors) == 1 and not lock.locked()
