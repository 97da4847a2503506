"""Production serving: ``mmpos serve`` runs gunicorn in-process, never the Werkzeug development server.

:class:`DashboardServer` is a ``gunicorn.app.base.BaseApplication`` serving the app its factory builds from
the same :class:`~dashboard.runtime.config.Settings` (the edge, :mod:`dashboard.http.edge`, included). The
factory and what each worker starts are handed in by the layer above (``mmpos serve``, ``dashboard.app.serve``;
default: the composition root's factory by name, :mod:`dashboard.runtime.factory`, and nothing started):

- ``gthread`` workers: one process per core (at least 2), ``MMPOS_THREADS`` threads each;
- a request running longer than ``timeout_s`` costs its worker (the master starts another), and
  every worker is recycled after ``max_requests`` (+ up to 10 % jitter, so they do not all restart
  together); SIGTERM stops gracefully within ``graceful_timeout_s``;
- the app is loaded once in the master and forked (``preload_app``), with the first catalog scan done
  there, so a worker that dies or is recycled serves again in well under a second;
- each worker runs ``worker_started(settings)`` as it is forked (``mmpos serve`` passes the warming
  thread's start, :func:`dashboard.web.warm.start`: each underlying's newest snapshot's opening view
  computed before anyone asks);
- with ``MMPOS_COLLECT`` set (``SPX,BTC@5m``), ONE ``mmpos collect`` child process runs beside the
  server (:func:`collector_command`, started by :func:`run` in the gunicorn master before the workers
  are forked, stopped with the server; it also stops on its own when its parent is gone), never one
  per worker; a thread of the master (:class:`CollectorSupervisor`) starts it again when it dies, after
  1, 2, 4 ... s (at most 5 minutes; a child that ran a minute starts the count over);
- the access log (stdout by default) carries the request id and the signed-in user:
  ``127.0.0.1 7f3c… alice "GET /healthz HTTP/1.1" 200 63 1ms``.

``--debug`` is the one exception: on a loopback host only, it runs Dash's debug server.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from dashboard.runtime import config, factory

ACCESS_LOG_FORMAT = '%(h)s %({mmpos.request_id}e)s %({mmpos.user}e)s "%(r)s" %(s)s %(b)s %(M)sms'
WORKER_CLASS = "gthread"
JITTER_FRACTION = 0.1

log = logging.getLogger(__name__)


WorkerStarted = Callable[[config.Settings], None]


def gunicorn_options(settings: config.Settings, worker_started: WorkerStarted | None = None) -> dict[str, Any]:
    """The gunicorn settings for ``settings`` (what ``mmpos serve`` runs with); ``worker_started`` runs
    in each worker as it is forked.

    Examples
    --------
    >>> opts = gunicorn_options(config.Settings(workers=3, port=9000))
    >>> opts["bind"], opts["workers"], opts["worker_class"], opts["max_requests_jitter"]
    (['127.0.0.1:9000'], 3, 'gthread', 1000)
    """
    host = settings.host
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    options: dict[str, Any] = {
        "bind": [f"{bind_host}:{settings.port}"],
        "workers": settings.worker_count(),
        "worker_class": WORKER_CLASS,
        "threads": settings.threads,
        "timeout": settings.timeout_s,
        "graceful_timeout": settings.graceful_timeout_s,
        "keepalive": 5,
        "max_requests": settings.max_requests,
        "max_requests_jitter": int(settings.max_requests * JITTER_FRACTION),
        "preload_app": True,
        "accesslog": settings.access_log or None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "control_socket_disable": True,  # no runtime-management socket in $HOME
        "proc_name": "mmpos",
        "post_fork": _post_fork(settings, worker_started),
    }
    if settings.trusted_proxies:  # X-Forwarded-Proto (https) believed only from these
        options["forwarded_allow_ips"] = ",".join(settings.trusted_proxies)
    return options


def _post_fork(settings: config.Settings, worker_started: WorkerStarted | None):
    def post_fork(server, worker) -> None:  # gunicorn calls it in each new worker process
        if worker_started is not None:
            worker_started(settings)

    return post_fork


class DashboardServer(BaseApplication):
    """gunicorn serving the dashboard built from ``settings``."""

    def __init__(self, settings: config.Settings, app_factory: factory.AppFactory | None = None,
                 worker_started: WorkerStarted | None = None) -> None:
        self.settings = settings
        self.app_factory = app_factory
        self.worker_started = worker_started
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings, self.worker_started).items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return build_server(self.settings, self.app_factory)


def use_system_allocator_for_arrow() -> None:
    """Arrow (parquet files, pandas' string columns) allocates from the C library, not its own
    mimalloc pool: the pool kept ~35-55 MB per process after the first scan of the demo folder (40
    files) for ~6 MB Arrow ever held at once (``bench_dashboard.py``'s memory figure: 388 -> 351 MB
    after 200 views). Call it before anything reads a file (the pool is chosen on first use)."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def build_server(settings: config.Settings, app_factory: factory.AppFactory | None = None):
    """The Flask server of a dashboard over ``settings.data_dir``, with the edge, ready for traffic.

    ``app_factory`` builds the Dash app (default: the composition root's, :mod:`dashboard.runtime.factory`).

    The first catalog scan and Dash's one-time server set-up run here, before any request, so the
    first burst of callbacks never meets a half-registered app (Dash flags its set-up as done before
    doing it, which threads racing on a cold worker used to see as "Callback function not found").
    """
    from analytics import scenarios
    from analytics.catalog import holder_for
    from analytics.errors import ChainDataError

    use_system_allocator_for_arrow()
    scenarios.load_kernel_on_demand()  # the compiled grid kernel: each worker loads it at its first big grid
    app = factory.resolve(app_factory)(settings.data_dir, settings=settings)
    server = app.server
    setup = getattr(app, "_setup_server", None)
    if callable(setup):
        with server.test_request_context("/"):
            setup()
    try:
        holder_for(server.config.get(config.DATA_DIR_KEY) or settings.data_dir, settings.rescan_s).get()
    except ChainDataError as exc:  # /readyz reports it; the server still starts and recovers on its own
        log.warning("data folder not ready: %s", exc.reason)
    return server


def collector_command(settings: config.Settings, parent_pid: int) -> list[str] | None:
    """The ``mmpos collect`` command line ``MMPOS_COLLECT`` asks for (None when unset), run with this
    interpreter; it stops when ``parent_pid`` is no longer its parent.

    Examples
    --------
    >>> cmd = collector_command(config.Settings(collect="SPX,BTC@5m", data_dir="/d"), 42)
    >>> cmd[1:]
    ['-m', 'dashboard.cli', 'collect', '--underlying', 'SPX,BTC', '--every', '300s', '--parent-pid', '42', '--data-dir', '/d']
    """
    if not settings.collect:
        return None
    from analytics.collect_rules import parse_collect

    underlyings, every_s = parse_collect(settings.collect)
    cmd = [sys.executable, "-m", "dashboard.cli", "collect", "--underlying", ",".join(underlyings),
           "--every", f"{every_s:g}s", "--parent-pid", str(parent_pid)]
    if settings.data_dir is not None:
        cmd += ["--data-dir", str(settings.data_dir)]
    return cmd


def start_collector(settings: config.Settings) -> subprocess.Popen | None:
    """Start the ``MMPOS_COLLECT`` child process (None when unset); the environment passes on (the
    base URLs, the state folder, the retention days)."""
    cmd = collector_command(settings, os.getpid())
    if cmd is None:
        return None
    log.info("starting the collector: %s", " ".join(cmd[3:]))
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def stop_collector(child: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """SIGTERM the collector and wait for it (SIGKILL after ``timeout_s``)."""
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


RESTART_BASE_S = 1.0  # the first restart of a crashed collector waits this long, then twice as long each time
RESTART_CAP_S = 300.0
RESTART_RESET_S = 60.0  # a collector that ran this long before it died starts the backoff over
SUPERVISE_POLL_S = 0.5


class CollectorSupervisor:
    """Keeps the ``MMPOS_COLLECT`` child running: a thread of the serving process polls it every
    ``poll_s`` and starts it again when it has exited, after ``base_s * 2**(n-1)`` seconds for the n-th
    restart in a row (capped at ``cap_s``; a child that ran ``reset_s`` before it died counts as the
    first again). ``start`` is the function starting one child (:func:`start_collector`'s)."""

    def __init__(self, start: Callable[[], subprocess.Popen | None], *, poll_s: float = SUPERVISE_POLL_S,
                 base_s: float = RESTART_BASE_S, cap_s: float = RESTART_CAP_S, reset_s: float = RESTART_RESET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._start, self.poll_s, self.base_s, self.cap_s, self.reset_s = start, poll_s, base_s, cap_s, reset_s
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.restarts = 0  # in a row
        self.restarts_total = 0
        self.child = start()
        self._started_at = clock()
        self._thread: threading.Thread | None = None
        if self.child is not None:
            self._thread = threading.Thread(target=self._watch, name="mmpos-collector-supervisor", daemon=True)
            self._thread.start()

    def restart_delay_s(self, restarts_in_a_row: int) -> float:
        """Seconds before the ``restarts_in_a_row``-th restart (1-based)."""
        from analytics.collect_rules import backoff_s

        return backoff_s(restarts_in_a_row, base_s=self.base_s, cap_s=self.cap_s)

    def check(self) -> bool:
        """One poll: start the child again if it has exited (after its delay); True when it restarted."""
        with self._lock:
            child = self.child
            if self._stop.is_set() or child is None or child.poll() is None:
                return False
            ran_s = self._clock() - self._started_at
            self.restarts = 1 if ran_s >= self.reset_s else self.restarts + 1
            delay = self.restart_delay_s(self.restarts)
            log.warning("the collector (pid %d) exited with %s after %.0f s; restarting it in %g s (restart %d in a row)",
                        child.pid, child.returncode, ran_s, delay, self.restarts)
        if self._stop.wait(delay):
            return False
        with self._lock:
            if self._stop.is_set():
                return False
            self.child = self._start()
            self._started_at = self._clock()
            self.restarts_total += 1
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except OSError as exc:  # could not start it: try again at the next poll, after the backoff
                log.error("cannot restart the collector: %s", exc)

    def stop(self) -> None:
        """Stop watching, then stop the child (:func:`stop_collector`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            stop_collector(self.child)


def run(settings: config.Settings, app_factory: factory.AppFactory | None = None,
        worker_started: WorkerStarted | None = None) -> None:
    """Serve until stopped (SIGTERM/SIGINT: graceful). ``settings`` must be :meth:`checked`; ``app_factory``
    builds the app (default: the composition root's, :mod:`dashboard.runtime.factory`); ``worker_started``
    runs in each gunicorn worker as it is forked. ``MMPOS_COLLECT`` runs one collector process beside
    the server for as long as it runs, started again with backoff when it dies (:class:`CollectorSupervisor`)."""
    supervisor = CollectorSupervisor(lambda: start_collector(settings))
    try:
        _serve(settings, app_factory, worker_started)
    finally:
        supervisor.stop()


def _serve(settings: config.Settings, app_factory: factory.AppFactory | None,
           worker_started: WorkerStarted | None) -> None:
    if settings.debug:  # loopback only (Settings.checked): Dash's debug server, reloader off
        app = factory.resolve(app_factory)(settings.data_dir, settings=settings)
        log.warning("debug mode: Werkzeug development server on http://%s:%d, for this machine only",
                    settings.host, settings.port)
        app.run(host=settings.host, port=settings.port, debug=True, use_reloader=False)
        return
    DashboardServer(settings, app_factory, worker_started).run()


def serve_command(cli_values: dict[str, Any], app_factory: factory.AppFactory | None = None,
                  worker_started: WorkerStarted | None = None) -> int:
    """``mmpos serve``: settings from the environment, overridden by the CLI flags that were given.

    Returns
    -------
    int
        2 (one line on stderr) when the port is taken, else 0 after a clean stop.

    Raises
    ------
    dashboard.runtime.config.UnsafeConfigError
        A setting that cannot run (``mmpos serve`` prints it as one line and exits 2:
        :func:`dashboard.cli.common.refuses_bad_settings`).
    """
    settings = config.from_env().override(**cli_values).checked()
    busy = port_in_use(settings.host, settings.port)
    if busy:
        sys.stderr.write(f"mmpos serve: {busy}\n")
        return 2
    run(settings, app_factory, worker_started)
    return 0


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (one line), or None: a bind attempt before gunicorn starts (gunicorn
    itself retries for 5 s and then prints a dozen lines of log). The address is released at once."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot bind {host}:{port}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"{host}:{port} is in use (another server is listening there)"
            return f"cannot bind {host}:{port}: {exc.strerror or exc}"
    return None
