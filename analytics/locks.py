"""Locks a forked child gets free.

A process forked while another of its threads holds a lock (a Dash background job forked from a
request thread while the catalog's rescan timer or the warmer holds one, a gunicorn worker) inherits the
lock held, and nobody in the child will release it: the child's first use of it hangs. A
:class:`ForkSafeLock` is a ``threading.Lock`` (or ``RLock``) whose inner lock is made anew in the child,
at the fork, by one ``os.register_at_fork`` hook over every live instance. A lock the forking thread
itself holds is kept: that thread goes on in the child and releases what it acquired.

Every lock a forked job can reach is one: module-level (``_LOCK = ForkSafeLock()``) and per instance
(``self._lock = ForkSafeLock(reentrant=True)``) alike.

Examples
--------
>>> lock = ForkSafeLock()
>>> with lock:
...     lock.locked(), lock.acquire(blocking=False)
(True, False)
>>> lock.locked()
False
>>> rlock = ForkSafeLock(reentrant=True)
>>> rlock.acquire() and rlock.acquire()  # re-entrant
True
>>> rlock.release(); rlock.release(); rlock.locked()
False
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

_LIVE: weakref.WeakSet[ForkSafeLock] = weakref.WeakSet()


class ForkSafeLock:
    """A ``threading.Lock`` (``reentrant=True``: an ``RLock``) that is free in a forked child unless the
    forking thread held it: ``with``, :meth:`acquire` (``blocking``, ``timeout``), :meth:`release`,
    :meth:`locked`, as the lock it wraps.

    Parameters
    ----------
    reentrant : bool
        An ``RLock``: the owning thread may acquire it again (and releases it as often).

    Examples
    --------
    >>> lock = ForkSafeLock()
    >>> lock.acquire(timeout=0.1) and lock.acquire(timeout=0.01)
    False
    >>> lock.release()
    >>> lock.release()
    Traceback (most recent call last):
    ...
    RuntimeError: release unlocked lock
    """

    __slots__ = ("__weakref__", "_depth", "_inner", "_owner", "_reentrant")

    def __init__(self, reentrant: bool = False) -> None:
        self._reentrant = reentrant
        self._renew()
        _LIVE.add(self)

    def _renew(self) -> None:
        self._inner: Any = threading.RLock() if self._reentrant else threading.Lock()
        self._owner: int | None = None  # the thread that holds it (written only by the holder)
        self._depth = 0  # how often the holder acquired it

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._inner.acquire(blocking, timeout):
            return False
        self._owner = threading.get_ident()
        self._depth += 1
        return True

    def release(self) -> None:
        if self._depth <= 0 or (self._reentrant and self._owner != threading.get_ident()):
            raise RuntimeError("release unlocked lock")
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
        self._inner.release()

    def locked(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        kind = "reentrant" if self._reentrant else "plain"
        return f"<ForkSafeLock {kind} {'locked' if self.locked() else 'unlocked'}>"


def _free_in_child() -> None:
    """In the forked child (its one thread is the forking one): a new inner lock for every lock another
    thread held or may have been taking, so none stays held by a thread that does not exist here."""
    me = threading.get_ident()
    for lock in list(_LIVE):
        if not (lock._depth and lock._owner == me):
            lock._renew()


os.register_at_fork(after_in_child=_free_in_child)
