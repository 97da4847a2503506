"""Module-level locks a forked child gets afresh.

A process forked while another of its threads holds a lock (a Dash background job forked from a
worker thread, a gunicorn worker) inherits the lock held, and nobody in the child will release it:
the child's first use of it hangs. :func:`fork_safe_lock` binds a new lock to the module's name in
the child, at the fork (``os.register_at_fork``). Code that holds the lock in the forking thread itself
keeps and releases the object it acquired (``with`` holds it), so the swap never breaks a held block.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

L = TypeVar("L")


def fork_safe_lock(namespace: MutableMapping[str, Any], name: str, make: Callable[[], L]) -> L:
    """A new lock ``make()`` for ``namespace[name]`` (a module's ``globals()``), bound anew in each forked child.

    Examples
    --------
    >>> import threading
    >>> ns: dict = {}
    >>> lock = fork_safe_lock(ns, "_LOCK", threading.RLock)
    >>> ns["_LOCK"] is lock and lock.acquire() and lock.acquire()  # re-entrant
    True
    """
    def renew() -> None:
        namespace[name] = make()

    renew()
    os.register_at_fork(after_in_child=renew)
    return namespace[name]
