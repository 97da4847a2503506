"""The registry of this process's caches: every in-process cache registers how to empty it here.

:func:`clear_all` is what :func:`dashboard.service.clear_caches` calls (benchmarks measure the cold
path with it; tests start from nothing). A cache registers itself where it is declared, so a process
empties exactly the caches it has loaded (a ``mmpos analyze`` process never imports the page's
response cache), and no module has to import the modules above it to reach their caches.

Examples
--------
>>> hits = []
>>> register("doctest.example", lambda: hits.append("cleared"))
>>> "doctest.example" in registered()
True
>>> clear("doctest.example"); hits
['cleared']
>>> unregister("doctest.example")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cachetools

from analytics.locks import ForkSafeLock

_CLEARERS: dict[str, Callable[[], None]] = {}
_LOCK = ForkSafeLock()


def register(name: str, clear_fn: Callable[[], None]) -> None:
    """Declare the cache ``name`` (dotted, by its module: ``"dashboard.service.analysis"``) and how to
    empty it. Registering a name again replaces its function (a module reloaded)."""
    with _LOCK:
        _CLEARERS[name] = clear_fn


def unregister(name: str) -> None:
    with _LOCK:
        _CLEARERS.pop(name, None)


def registered() -> tuple[str, ...]:
    """The names of the caches this process has declared, sorted."""
    with _LOCK:
        return tuple(sorted(_CLEARERS))


def clear(name: str) -> None:
    """Empty the cache ``name`` (KeyError when no such cache is registered)."""
    with _LOCK:
        clear_fn = _CLEARERS[name]
    clear_fn()


def clear_all() -> None:
    """Empty every registered cache of this process."""
    with _LOCK:
        clearers = list(_CLEARERS.values())
    for clear_fn in clearers:
        clear_fn()


class LockedLRU(cachetools.LRUCache):
    """A :class:`cachetools.LRUCache` whose reads and writes hold a lock (the page's threads share it).

    ``getsizeof`` bounds it by bytes as well as by entries when given (``maxsize`` is then the byte
    budget and ``max_entries`` the count).
    """

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None,
                 max_entries: int | None = None) -> None:
        super().__init__(maxsize, getsizeof=getsizeof)
        self._lock = ForkSafeLock(reentrant=True)
        self._max_entries = max_entries

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            return super().get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)
            while self._max_entries is not None and len(self) > self._max_entries:
                self.popitem()

    def pop(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            return super().pop(key, default)

    def clear(self) -> None:
        with self._lock:
            super().clear()


def lru(name: str, maxsize: int, *, getsizeof: Callable[[Any], int] | None = None,
        max_entries: int | None = None) -> LockedLRU:
    """A new thread-safe LRU (:class:`LockedLRU`) registered as ``name``."""
    cache = LockedLRU(maxsize, getsizeof=getsizeof, max_entries=max_entries)
    register(name, cache.clear)
    return cache
