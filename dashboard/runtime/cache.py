"""One results cache shared by every worker: a folder on this machine, or Redis for several machines.

gunicorn workers share no memory, so each used to compute (and hold) every analysis itself. A
:class:`SharedCache` (Flask-Caching) stores computed values where every worker sees them:

- by default a ``FileSystemCache`` under ``MMPOS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mmpos`` or
  ``~/.cache/mmpos``, created mode 0700): safe across processes (each entry is written to a temporary
  file and renamed), at most ``cache_threshold`` entries (the oldest go first);
- Redis when ``MMPOS_REDIS_URL`` is set (``redis://host:6379/0``, ``rediss://`` for TLS): shared by
  several machines; give the Redis server a ``maxmemory`` with ``volatile-lru`` so it stays bounded
  (every entry here expires, so entries go first, never the Celery job queue kept in the same Redis).

Size limits: an entry expires after ``cache_timeout_s`` (default one hour), and a value larger than
``cache_max_item_bytes`` pickled (default 64 MiB) is not stored at all (it is returned, uncached).
Values are pickled: the folder and the Redis database must be private to the service (whoever can
write them can run code in it). A cache that fails (Redis down, disk full) never fails a request: the
value is computed and the failure logged.

A value is computed once, not once per waiting request: :meth:`SharedCache.get_or_compute` holds a
lock for its key while computing (a thread lock in the process, then a lock every worker sees: a
``lockf`` on one of :data:`LOCK_STRIPES` files beside the folder, or a Redis lock that expires after
``COMPUTE_LOCK_S``), and whoever waited reads the stored value. Fifty users opening the same new
view on two workers cost one analysis, not eight (one per thread).

Keys are built with :func:`cache_key` from hashable parts; a caller puts into them everything the
value depends on (for an analysis: the file's :class:`~analytics.catalog.FileVersion`, the expiry set
and the whole Scenario).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import pickle
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from flask_caching import Cache

from analytics.locks import ForkSafeLock
from dashboard.runtime import config

KEY_PREFIX = "mmpos:"
LOCK_STRIPES = 256  # lock files beside the cache folder (a fixed number: the folder never grows with them)
COMPUTE_LOCK_S = 60  # longest wait for another worker's computation (then compute here); = request timeout
# the longest a quick question to Redis waits (a readiness probe, the live-worker count, the job-signing
# secret): asked on requests and every few seconds by load balancers, never held up by a Redis away
QUICK_TIMEOUT_S = 0.5
_MISSING = object()
T = TypeVar("T")

log = logging.getLogger(__name__)
_INSTANCES: weakref.WeakSet[SharedCache] = weakref.WeakSet()


def jobs_dir(settings: config.Settings) -> Path:
    """The folder of background jobs (Dash's ``DiskcacheManager``), beside the cache folder."""
    folder = settings.cache_dir or default_cache_dir()
    return folder.with_name(folder.name + ".jobs")


def responses_dir(settings: config.Settings) -> Path:
    """The folder of callback responses shared by the workers (:mod:`dashboard.http.responses`), beside the
    cache folder: apart, so many short-lived responses never push analyses out of its entry limit."""
    folder = settings.cache_dir or default_cache_dir()
    return folder.with_name(folder.name + ".responses")


def _reset_after_fork() -> None:
    for cache in list(_INSTANCES):
        cache._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmpos``, else ``~/.cache/mmpos``."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "mmpos"


def cache_key(namespace: str, *parts: Any) -> str:
    """A stable key for ``parts`` (their ``repr``, hashed): the same in every process and machine.

    Parts must have a deterministic ``repr`` (numbers, strings, tuples, frozen dataclasses, named
    tuples); never sets or objects whose repr holds an address.

    Examples
    --------
    >>> cache_key("analysis", "spx-20261120-1615", (0.0, 1.0)) == cache_key("analysis", "spx-20261120-1615", (0.0, 1.0))
    True
    >>> cache_key("analysis", 1)[:9]
    'analysis:'
    """
    digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:40]
    return f"{namespace}:{digest}"


def flask_caching_config(settings: config.Settings) -> dict[str, Any]:
    """The Flask-Caching configuration for ``settings`` (Redis when a URL is set, else a folder)."""
    common = {"CACHE_DEFAULT_TIMEOUT": settings.cache_timeout_s, "CACHE_KEY_PREFIX": KEY_PREFIX}
    if settings.redis_url:
        return {**common, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url}
    folder = settings.cache_dir or default_cache_dir()
    return {**common, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(folder),
            "CACHE_THRESHOLD": settings.cache_threshold}


@functools.cache
def quick_redis(redis_url: str) -> Any:
    """A ``redis.Redis`` client for short questions: it waits ``QUICK_TIMEOUT_S`` at most to connect and
    for each reply, and never retries, so a Redis that is down or unreachable costs that, not redis-py's
    5 s and three retries. One per URL and process (redis-py opens new connections in a forked child)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(redis_url, socket_timeout=QUICK_TIMEOUT_S, socket_connect_timeout=QUICK_TIMEOUT_S,
                                retry=Retry(NoBackoff(), 0))


def health(settings: config.Settings) -> dict[str, Any]:
    """The shared cache as ``/readyz`` reports it (no path, no host name, no secret).

    Returns
    -------
    dict
        ``kind``: ``off`` (``MMPOS_SHARED_CACHE=off``), ``folder`` or ``redis``; ``ok``: False when
        the cache cannot be used (a folder that is gone or not writable, a Redis that does not answer a
        ``PING`` within ``QUICK_TIMEOUT_S``), with ``error``; for Redis, ``latency_ms`` of the ``PING``.
        A cache that is not ok costs each worker its own computations, never a request (every
        failure of :class:`SharedCache` falls back to computing the value).
    """
    if not settings.shared_cache:
        return {"kind": "off", "ok": True}
    if not settings.redis_url:
        folder = settings.cache_dir or default_cache_dir()
        if os.access(folder, os.W_OK | os.X_OK):
            return {"kind": "folder", "ok": True}
        return {"kind": "folder", "ok": False, "error": "the cache folder is gone or not writable"}
    start = time.perf_counter()
    try:
        quick_redis(settings.redis_url).ping()
    except Exception as exc:  # noqa: BLE001 - any failure is an answer here
        return {"kind": "redis", "ok": False, "error": type(exc).__name__}  # its text names the host
    return {"kind": "redis", "ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 2)}


class SharedCache:
    """Get, set and get-or-compute pickled values in the shared cache.

    Parameters
    ----------
    settings : dashboard.runtime.config.Settings, optional
        Default :func:`dashboard.runtime.config.from_env`.
    server : flask.Flask, optional
        The app to register with (``app.server``); a private one is made when None (CLI, tests).
    """

    def __init__(self, settings: config.Settings | None = None, server: Flask | None = None) -> None:
        self.settings = settings or config.from_env()
        cfg = flask_caching_config(self.settings)
        self.backend = "redis" if self.settings.redis_url else "filesystem"
        if self.backend == "filesystem":
            Path(cfg["CACHE_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        app = server or Flask("mmpos-cache")
        with app.app_context():
            # the backend itself (cachelib): Flask-Caching's proxy would look it up in whichever app
            # is current, which inside a request is the dashboard's, not the one it was made for
            self._cache = Cache(app=app, config=cfg).cache
        self._folder = Path(cfg["CACHE_DIR"]) if self.backend == "filesystem" else None
        self._thread_locks: weakref.WeakValueDictionary[str, ForkSafeLock] = weakref.WeakValueDictionary()
        self._locks_guard = ForkSafeLock()
        self._redis: Any = None
        _INSTANCES.add(self)

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or None (missing, expired, or the cache failed)."""
        value = self._load(key)
        return None if value is _MISSING else value

    def _load(self, key: str) -> Any:
        try:
            blob = self._cache.get(key)
        except Exception as exc:  # a cache must never fail a request
            log.warning("shared cache (%s) read failed: %s", self.backend, type(exc).__name__)
            return _MISSING
        if blob is None:
            return _MISSING
        try:
            return pickle.loads(blob)
        except Exception as exc:  # a value written by another version of the code
            log.warning("shared cache entry %s unreadable (%s): recomputed", key, type(exc).__name__)
            return _MISSING

    def set(self, key: str, value: Any, timeout_s: int | None = None) -> bool:
        """Store ``value``; False when it is too large or the cache failed (the caller goes on)."""
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(blob) > self.settings.cache_max_item_bytes:
            log.info("shared cache: %s is %d bytes, over the %d-byte limit: not stored", key, len(blob),
                     self.settings.cache_max_item_bytes)
            return False
        try:
            return bool(self._cache.set(key, blob, timeout=timeout_s))
        except Exception as exc:
            log.warning("shared cache (%s) write failed: %s", self.backend, type(exc).__name__)
            return False

    def get_or_compute(self, key: str, compute: Callable[[], T], timeout_s: int | None = None) -> T:
        """The cached value of ``key``, else ``compute()`` stored and returned.

        Concurrent callers for one key (threads of this process, other workers) wait for the first
        one's result instead of computing it again.
        """
        value = self._load(key)
        if value is not _MISSING:
            return value
        with self._computing(key):
            value = self._load(key)  # stored by whoever held the lock before us
            if value is not _MISSING:
                return value
            value = compute()
            self.set(key, value, timeout_s)
            return value

    @contextlib.contextmanager
    def _computing(self, key: str) -> Iterator[None]:
        """Hold ``key``'s compute lock: this process's, then the one shared by every worker."""
        with self._thread_lock(key), self._shared_lock(key):
            yield

    def _thread_lock(self, key: str) -> ForkSafeLock:
        """This process's lock of ``key`` (one while anyone holds or waits for it)."""
        with self._locks_guard:
            lock = self._thread_locks.get(key)
            if lock is None:
                lock = self._thread_locks[key] = ForkSafeLock()
            return lock

    @contextlib.contextmanager
    def _shared_lock(self, key: str) -> Iterator[None]:
        try:
            held = self._acquire_shared(key)
        except Exception as exc:  # no lock costs a duplicate computation, never the request
            log.warning("shared cache (%s) lock failed: %s", self.backend, type(exc).__name__)
            held = None
        try:
            yield
        finally:
            if held is not None:
                with contextlib.suppress(Exception):
                    held()

    def _acquire_shared(self, key: str) -> Callable[[], None] | None:
        """Take the cross-process lock of ``key``; return its release (None: not held)."""
        stripe = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % LOCK_STRIPES
        if self._folder is not None:
            folder = self._folder.with_name(self._folder.name + ".locks")
            folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(folder / f"{stripe:03d}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            # a POSIX record lock: released by the kernel if this worker dies, and never inherited by a
            # process forked meanwhile (a background job), unlike flock
            fcntl.lockf(fd, fcntl.LOCK_EX)
            return lambda: os.close(fd)
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url, socket_timeout=COMPUTE_LOCK_S + 5)
        lock = self._redis.lock(f"{KEY_PREFIX}lock:{key}", timeout=COMPUTE_LOCK_S, blocking_timeout=COMPUTE_LOCK_S)
        return lock.release if lock.acquire() else None

    def add(self, key: str, value: Any, timeout_s: int | None = None) -> bool:
        """Store ``value`` only if ``key`` is not stored yet (atomic on Redis); True when stored."""
        try:
            return bool(self._cache.add(key, pickle.dumps(value), timeout=timeout_s))
        except Exception as exc:
            log.warning("shared cache (%s) add failed: %s", self.backend, type(exc).__name__)
            return False

    def contains(self, key: str) -> bool:
        """True when ``key`` is stored (False when the cache failed)."""
        try:
            return bool(self._cache.has(key))
        except Exception as exc:
            log.warning("shared cache (%s) lookup failed: %s", self.backend, type(exc).__name__)
            return False

    def _after_fork(self) -> None:
        """In a forked child (a background job), a Redis client of its own (the locks are
        :class:`~analytics.locks.ForkSafeLock`: free in the child)."""
        self._redis = None

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except Exception as exc:
            log.warning("shared cache (%s) delete failed: %s", self.backend, type(exc).__name__)

    def clear(self) -> None:
        """Remove every entry (of this prefix on Redis)."""
        try:
            self._cache.clear()
        except Exception as exc:
            log.warning("shared cache (%s) clear failed: %s", self.backend, type(exc).__name__)
