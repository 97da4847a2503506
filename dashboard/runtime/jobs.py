"""Background jobs on Celery workers, so more machines can take the work (``MMPOS_JOBS=celery``).

By default a background job (:mod:`dashboard.web.callbacks.work`) runs on the machine that got the
request, through Dash's ``DiskcacheManager``. With ``MMPOS_JOBS=celery`` and ``MMPOS_REDIS_URL`` the
page hands it to Dash's ``CeleryManager`` instead: the job goes to a queue in Redis, any
``mmpos worker`` process (on this machine or another) takes it, writes its progress and result to
Redis, and puts the analyses it computes in the shared cache (Redis too), where every web worker
reads them. Each machine running workers needs the same code and the data folder at the same path
(a shared mount)::

    MMPOS_JOBS=celery MMPOS_REDIS_URL=redis://cache-host:6379/0 mmpos serve --data-dir /srv/mmpos/snapshots
    MMPOS_JOBS=celery MMPOS_REDIS_URL=redis://cache-host:6379/0 mmpos worker --data-dir /srv/mmpos/snapshots
    # or, the same worker with Celery's own command line:
    MMPOS_JOBS=celery MMPOS_REDIS_URL=redis://cache-host:6379/0 MMPOS_DATA_DIR=/srv/mmpos/snapshots \\
        celery -A dashboard.runtime.jobs worker

A Celery worker runs a job by its task name, which Dash derives from the callback's outputs and its
source code; so the worker builds the same dashboard (the composition root's factory, :mod:`dashboard.runtime.factory`), which
declares the background callback and with it the task. ``dashboard.runtime.jobs.app`` is that Celery app,
built on first access (module ``__getattr__``) from the ``MMPOS_*`` environment; importing this module
builds nothing and does not import Celery.

Without a live worker a job would wait in the queue: the page asks Redis first
(:func:`workers_alive`, one ``ZCOUNT`` of the workers' heartbeats) and, with none alive, computes the
view in the request as it would without background jobs, with a warning in the log.

Cancel terminates the task: the worker's pool process running it is stopped (``prefork``, the default
pool; the ``solo`` pool runs a job to its end). A pool process killed mid-job (out of memory) fails
that job: the page hides its panel within a few seconds and keeps the view it had (a job is not
retried elsewhere: one that kills its worker would kill every worker in turn). Messages are JSON
(never pickle: a worker must not run what someone who can write to the queue sends); results and
progress expire after ``MMPOS_CACHE_TIMEOUT``. The Redis database is the one the shared cache uses:
private to the service.

Redis and the web servers start in either order. Dash signs the page's job handles with a secret
every web process must share, kept in Redis (Dash's ``SIGNING_SECRET_KEY``, written once without
expiry, so ``volatile-lru`` never evicts it). Each web process reads it on first use and keeps it
(:class:`CeleryJobs`: no Redis round trip per request once known). Dash alone keeps for the life of
the process whatever it resolved first, its own random secret when Redis did not answer, and the other
processes then refused that process's job handles until it was recycled. Here, while Redis is away, a
process signs with a provisional secret of its own (no job runs then: with Redis away no worker counts
as alive) and asks Redis again at most every ``SECRET_RETRY_S`` (:class:`SigningSecretRetry`, mixed
into the app's ``dash.Dash``). Losing the key under running web servers (``FLUSHDB``, or restarting a
Redis that keeps nothing on disk) still splits them: restart the web servers after that.

``/readyz`` (:mod:`dashboard.http.edge`) reports :func:`health`: the number of live workers, or why Redis
could not say.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dashboard.runtime import config, factory

QUEUE = "mmpos"  # the queue the page sends jobs to and the workers read
WORKERS_KEY = "mmpos:jobs:workers"  # sorted set in Redis: each live worker -> when its last heartbeat runs out
HEARTBEAT_S = 10  # a worker says it is alive this often
HEARTBEAT_TTL_S = 3 * HEARTBEAT_S  # ... and counts as gone this long after it last said so
SECRET_RETRY_S = 2.0  # while Redis is away, a web process asks it for the signing secret at most this often

log = logging.getLogger(__name__)


@functools.cache
def celery_for(redis_url: str, result_expires_s: int = config.DEFAULT_CACHE_TIMEOUT_S) -> Any:
    """The process's ``celery.Celery`` app with its broker and result backend on ``redis_url``.

    One per URL, so the page's background callbacks and the worker's tasks are declared on the same app.
    """
    from celery import Celery

    app = Celery("mmpos", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=result_expires_s,
        worker_prefetch_multiplier=1,  # a long job never holds a second one back on a busy worker
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


class JobTimeLimit(Exception):  # noqa: N818 - what it is, not an error kind
    """A background job ran past its time limit (:func:`time_limit`)."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`JobTimeLimit` in the running code after ``seconds`` (``MMPOS_JOB_TIME_LIMIT``).

    A job runs in the main thread of its own process (a ``DiskcacheManager`` child, a Celery prefork pool
    process), where ``SIGALRM`` can interrupt it between two Python steps; a compiled kernel call finishes
    first (milliseconds). Anywhere else (another thread) there is no limit: a thread cannot be stopped.
    """
    if (seconds is None or threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "setitimer")):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise JobTimeLimit(f"stopped after {seconds:g} s (MMPOS_JOB_TIME_LIMIT)")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def local_manager(folder: Path, expire_s: int) -> Any:
    """Dash's ``DiskcacheManager`` over a ``diskcache`` folder (the default, jobs on this machine), except
    that a job process ending on its own while its result is read is not an error.

    Dash reads a finished job's result and then terminates the job's process: it checks the process
    exists, then lists its children, and a job exiting in between raised ``psutil.NoSuchProcess``,
    a 500 for the page that asked (seen once in 200 cold views at 50 users, ``benchmarks/load.py``).
    """
    import diskcache
    import psutil
    from dash import DiskcacheManager

    class LocalManager(DiskcacheManager):
        def terminate_job(self, job: Any) -> None:
            try:
                super().terminate_job(job)
            except psutil.NoSuchProcess:  # it ended by itself: nothing left to terminate
                pass

    return LocalManager(diskcache.Cache(str(folder)), expire=expire_s)


class ProvisionalSecret(bytes):
    """A signing secret of this process only, used while Redis cannot be asked for the shared one."""


def manager(settings: config.Settings) -> Any:
    """A :class:`CeleryJobs` manager on the Celery app for ``settings.redis_url`` (``MMPOS_JOBS=celery``)."""
    from dash import CeleryManager

    if not settings.redis_url:
        raise config.UnsafeConfigError("MMPOS_JOBS=celery needs MMPOS_REDIS_URL")

    class CeleryJobs(CeleryManager):
        """Dash's ``CeleryManager`` whose job-signing secret is the one in Redis, once Redis answers.

        Dash's own stores the secret with the results' expiry (``MMPOS_CACHE_TIMEOUT``): a web process
        started after that made a new one and disagreed with those started before. Here it is written once
        (``SET NX``), never expires (``PERSIST`` also fixes one an older version wrote), and is read
        with :func:`~dashboard.runtime.cache.quick_redis`, so a Redis that is away delays a page load by
        ``QUICK_TIMEOUT_S`` at most, once per ``SECRET_RETRY_S``.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.redis_url = settings.redis_url
            self.secret: bytes | None = None
            self.provisional: ProvisionalSecret | None = None
            self.retry_at = 0.0

        def get_or_create_signing_secret(self, generate: Any) -> bytes:
            if self.secret is not None:
                return self.secret
            now = time.monotonic()
            if now >= self.retry_at:
                try:
                    from dashboard.runtime.cache import quick_redis

                    pipe = quick_redis(self.redis_url).pipeline(transaction=False)
                    key = self.SIGNING_SECRET_KEY
                    _, secret, _ = pipe.set(key, generate(), nx=True).get(key).persist(key).execute()
                except Exception as exc:  # noqa: BLE001 - Redis away: sign provisionally, ask again later
                    if self.provisional is None:
                        log.warning("cannot read the job-signing secret from Redis (%s): this process signs "
                                    "with its own until Redis answers", type(exc).__name__)
                else:
                    if secret:
                        if self.provisional is not None:
                            log.info("job-signing secret read from Redis: this process signs with it now")
                        self.secret = secret
                        return secret
                self.retry_at = now + SECRET_RETRY_S
            if self.provisional is None:
                self.provisional = ProvisionalSecret(generate())
            return self.provisional

    return CeleryJobs(celery_for(settings.redis_url, settings.cache_timeout_s), expire=settings.cache_timeout_s)


class SigningSecretRetry:
    """Mixin for ``dash.Dash``: a :class:`ProvisionalSecret` is not kept, so the next use asks the
    manager again (which asks Redis at most every ``SECRET_RETRY_S``); the shared one is kept as Dash
    keeps any secret. Wraps Dash's private ``_get_signing_secret`` (Dash 4.x), the one place Dash
    resolves and memoises the secret; ``tests/serving/test_readiness.py`` checks it on a real server.
    """

    def _get_signing_secret(self) -> bytes:
        secret = super()._get_signing_secret()  # type: ignore[misc]
        if isinstance(secret, ProvisionalSecret):
            self._generated_signing_secret = None
        return secret


def worker_app(settings: config.Settings, app_factory: factory.AppFactory | None = None) -> Any:
    """The Celery app a worker runs: the dashboard over ``settings.data_dir`` is built first (by
    ``app_factory``, default the composition root's: :mod:`dashboard.runtime.factory`), so its
    background callback is declared as a task of that app.

    Raises
    ------
    dashboard.runtime.config.UnsafeConfigError
        When ``settings`` do not send jobs to Celery (``MMPOS_JOBS=celery`` and ``MMPOS_REDIS_URL``).
    """
    settings = settings.checked()
    if settings.jobs != "celery":
        raise config.UnsafeConfigError("a worker needs MMPOS_JOBS=celery (and MMPOS_REDIS_URL): with "
                                       f"MMPOS_JOBS={settings.jobs} the page runs its jobs itself")
    if settings.background_rows is None:
        log.warning("MMPOS_BACKGROUND_ROWS=off: the page sends no background jobs to this worker")
    factory.resolve(app_factory)(settings.data_dir, settings=settings)
    app = celery_for(settings.redis_url, settings.cache_timeout_s)
    _heartbeat(app)
    return app


def live_workers(redis_url: str) -> int:
    """How many ``mmpos worker`` processes sent a heartbeat within ``HEARTBEAT_TTL_S`` (one ``ZCOUNT``
    through :func:`~dashboard.runtime.cache.quick_redis`: a Redis away raises within ``QUICK_TIMEOUT_S``)."""
    from dashboard.runtime.cache import (
        quick_redis,  # not at import: `mmpos analyze` reads this module's choices
    )

    return int(quick_redis(redis_url).zcount(WORKERS_KEY, time.time(), "+inf"))


def health(settings: config.Settings) -> dict[str, Any]:
    """Where background jobs run, as ``/readyz`` reports it: ``{"kind": "local"}``, or for Celery
    ``{"kind": "celery", "ok": ..., "workers": n}`` (``workers`` None and ``error`` when Redis cannot
    say). Not ok costs no page: with no live worker a cold view is computed in the request."""
    if settings.jobs != "celery" or not settings.redis_url:
        return {"kind": "local", "ok": True}
    try:
        count = live_workers(settings.redis_url)
    except Exception as exc:  # noqa: BLE001 - any failure is an answer here
        return {"kind": "celery", "ok": False, "workers": None, "error": type(exc).__name__}
    return {"kind": "celery", "ok": count > 0, "workers": count}


def workers_alive(settings: config.Settings) -> bool:
    """True when at least one ``mmpos worker`` has sent a heartbeat within ``HEARTBEAT_TTL_S``
    (False, with a warning, when Redis cannot be asked)."""
    try:
        alive = live_workers(settings.redis_url) > 0
    except Exception as exc:  # noqa: BLE001 - Redis down: the page computes the view itself
        log.warning("cannot ask Redis for live workers (%s): the view is computed in the request",
                    type(exc).__name__)
        return False
    if not alive:
        log.warning("no mmpos worker alive (MMPOS_JOBS=celery): the view is computed in the request")
    return alive


def _heartbeat(app: Any) -> None:
    """From when the worker is ready until it stops: its name in ``WORKERS_KEY``, renewed every
    ``HEARTBEAT_S`` (a thread of the worker's main process, so a long job does not silence it)."""
    from celery import signals

    name = f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()

    def beat() -> None:
        client = app.backend.client
        while not stop.is_set():
            try:
                now = time.time()
                client.zadd(WORKERS_KEY, {name: now + HEARTBEAT_TTL_S})
                client.zremrangebyscore(WORKERS_KEY, "-inf", now)  # workers that died without a word
            except Exception as exc:  # noqa: BLE001 - Redis away for a moment: try again next beat
                log.warning("worker heartbeat failed: %s", type(exc).__name__)
            stop.wait(HEARTBEAT_S)

    def ready(**_: Any) -> None:
        threading.Thread(target=beat, name="mmpos-heartbeat", daemon=True).start()

    def shutting_down(**_: Any) -> None:
        stop.set()
        try:
            app.backend.client.zrem(WORKERS_KEY, name)
        except Exception as exc:  # noqa: BLE001 - it runs out by itself
            log.warning("could not sign the worker off: %s", type(exc).__name__)

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)


@functools.cache
def _env_app() -> Any:
    return worker_app(config.from_env())


def __getattr__(name: str) -> Any:
    if name == "app":  # what `celery -A dashboard.runtime.jobs worker` looks up
        return _env_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
