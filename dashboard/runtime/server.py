"""Production serving: ``mmpos serve`` runs gunicorn in-process, never the Werkzeug development server.

:class:`DashboardServer` is a ``gunicorn.app.base.BaseApplication`` serving ``create_app(...).server``
with the edge (:mod:`dashboard.http.edge`) installed from the same :class:`~dashboard.runtime.config.Settings`:

- ``gthread`` workers: one process per core (at least 2), ``MMPOS_THREADS`` threads each;
- a request running longer than ``timeout_s`` costs its worker (the master starts another), and
  every worker is recycled after ``max_requests`` (+ up to 10 % jitter, so they do not all restart
  together); SIGTERM stops gracefully within ``graceful_timeout_s``;
- the app is loaded once in the master and forked (``preload_app``), with the first catalog scan done
  there, so a worker that dies or is recycled serves again in well under a second;
- each worker starts its warming thread as it is forked (:mod:`dashboard.runtime.warm`: each underlying's
  newest snapshot's opening view computed before anyone asks);
- the access log (stdout by default) carries the request id and the signed-in user:
  ``127.0.0.1 7f3c… alice "GET /healthz HTTP/1.1" 200 63 1ms``.

``--debug`` is the one exception: on a loopback host only, it runs Dash's debug server.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from dashboard.http import edge
from dashboard.runtime import config

ACCESS_LOG_FORMAT = '%(h)s %({mmpos.request_id}e)s %({mmpos.user}e)s "%(r)s" %(s)s %(b)s %(M)sms'
WORKER_CLASS = "gthread"
JITTER_FRACTION = 0.1

log = logging.getLogger(__name__)


def gunicorn_options(settings: config.Settings) -> dict[str, Any]:
    """The gunicorn settings for ``settings`` (what ``mmpos serve`` runs with).

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
        "post_fork": _worker_started(settings),
    }
    if settings.trusted_proxies:  # X-Forwarded-Proto (https) believed only from these
        options["forwarded_allow_ips"] = ",".join(settings.trusted_proxies)
    return options


def _worker_started(settings: config.Settings):
    def post_fork(server, worker) -> None:  # gunicorn calls it in each new worker process
        from dashboard.runtime import warm

        warm.start(settings)

    return post_fork


class DashboardServer(BaseApplication):
    """gunicorn serving the dashboard built from ``settings``."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return build_server(self.settings)


def use_system_allocator_for_arrow() -> None:
    """Arrow (parquet files, pandas' string columns) allocates from the C library, not its own
    mimalloc pool: the pool kept ~35-55 MB per process after the first scan of the demo folder (40
    files) for ~6 MB Arrow ever held at once (``bench_dashboard.py``'s memory figure: 388 -> 351 MB
    after 200 views). Call it before anything reads a file (the pool is chosen on first use)."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def build_server(settings: config.Settings):
    """The Flask server of a dashboard over ``settings.data_dir``, with the edge, ready for traffic.

    The first catalog scan and Dash's one-time server set-up run here, before any request, so the
    first burst of callbacks never meets a half-registered app (Dash flags its set-up as done before
    doing it, which threads racing on a cold worker used to see as "Callback function not found").
    """
    from analytics import scenarios
    from analytics.catalog import holder_for
    from analytics.errors import ChainDataError
    from dashboard.app import create_app

    use_system_allocator_for_arrow()
    scenarios.load_kernel()  # the compiled grid kernel, loaded once before the workers fork
    app = create_app(settings.data_dir)
    server = edge.install(app.server, settings)
    setup = getattr(app, "_setup_server", None)
    if callable(setup):
        with server.test_request_context("/"):
            setup()
    try:
        holder_for(server.config.get(edge.DATA_DIR_KEY) or settings.data_dir, settings.rescan_s).get()
    except ChainDataError as exc:  # /readyz reports it; the server still starts and recovers on its own
        log.warning("data folder not ready: %s", exc.reason)
    return server


def run(settings: config.Settings) -> None:
    """Serve until stopped (SIGTERM/SIGINT: graceful). ``settings`` must be :meth:`checked`."""
    if settings.debug:  # loopback only (Settings.checked): Dash's debug server, reloader off
        from dashboard.app import create_app

        app = create_app(settings.data_dir)
        edge.install(app.server, settings)
        log.warning("debug mode: Werkzeug development server on http://%s:%d, for this machine only",
                    settings.host, settings.port)
        app.run(host=settings.host, port=settings.port, debug=True, use_reloader=False)
        return
    DashboardServer(settings).run()


def serve_command(cli_values: dict[str, Any]) -> int:
    """``mmpos serve``: settings from the environment, overridden by the CLI flags that were given.

    Returns
    -------
    int
        2 (one line on stderr) for a configuration that cannot run, else 0 after a clean stop.
    """
    try:
        settings = config.from_env().override(**cli_values).checked()
    except config.UnsafeConfigError as err:
        sys.stderr.write(f"mmpos serve: {err}\n")
        return 2
    run(settings)
    return 0
