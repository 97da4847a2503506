"""The Dash app: ``create_app()``, ``serve()`` for the CLI, and a lazy ``server`` for gunicorn.

    mmpos serve --data-dir data                                 # gunicorn, see dashboard.runtime.server
    gunicorn -w 2 -b 127.0.0.1:8050 'dashboard.app:server'      # the same app, MMPOS_* settings

Importing this module builds nothing: ``server`` is created on first access (PEP 562 module
``__getattr__``) from the ``MMPOS_*`` environment (see :mod:`dashboard.runtime.config`). ``create_app()``
may be called any number of times in one process; each app serves all its callbacks.
"""

from __future__ import annotations

import functools
import logging
import weakref
from pathlib import Path

import dash
from flask import Flask, Response, request

from dashboard.http import edge, responses
from dashboard.runtime import caches, config, jobs
from dashboard.runtime.assets import ASSETS_DIR, PLOTLY_BUNDLE, REGENERATOR_RUNTIME  # noqa: F401 - re-exported
from dashboard.web import warm
from dashboard.web.callbacks import (
    alerts,
    collect_status,
    controls,
    display,
    export,
    flow,
    follow,
    history,
    hover,
    intraday,
    report,
    table,
    upload,
    views,
    watchlist,
    work,
)
from dashboard.web.layout import build_layout

DROPPED_SCRIPTS = ("/deps/polyfill@",)  # script URLs containing one of these are left off the page
DATA_DIR_KEY = edge.DATA_DIR_KEY  # where the data folder is kept in the Flask config

log = logging.getLogger(__name__)

# Static files: compressed once, kept compressed, cached by the browser for a year. Their URLs
# change with their content (Dash fingerprints component suites, ``?m=<mtime>`` on assets), so a
# long max-age never serves a stale file.
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
STATIC_MAX_AGE_S = 365 * 24 * 3600
COMPRESSED_CACHE_ENTRIES = 64  # ~25 files per page, < 2 MB compressed in all (plotly.js is ~1 MB)
COMPRESS_CONFIG = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],  # every browser sends both; brotli is smaller and faster here
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_CACHE_KEY": lambda req: f"{req.method} {req.full_path}",
}


class CompressedStatic:
    """flask-compress's cache backend: keeps the compressed bytes of static GETs only (bounded LRU,
    registered in :mod:`dashboard.runtime.caches` as ``dashboard.app.compressed_static``).

    Callback responses differ per request and are compressed every time (and never stored).
    """

    def __init__(self, max_entries: int = COMPRESSED_CACHE_ENTRIES) -> None:
        self._entries = caches.LockedLRU(max_entries)
        _COMPRESSED.add(self)

    @staticmethod
    def _static(key: str) -> bool:
        _algorithm, _, request_line = key.partition(";")
        method, _, path = request_line.partition(" ")
        return method == "GET" and path.startswith(STATIC_PREFIXES)

    def get(self, key: str) -> bytes | None:
        if not self._static(key):
            return None
        return self._entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        if self._static(key):
            self._entries[key] = value

    def clear(self) -> None:
        self._entries.clear()


_COMPRESSED: weakref.WeakSet[CompressedStatic] = weakref.WeakSet()


def _clear_compressed() -> None:
    for cache in list(_COMPRESSED):
        cache.clear()


caches.register("dashboard.app.compressed_static", _clear_compressed)


def _cache_static_for_a_year(response: Response) -> Response:
    """Long cache headers on static files whose URL names their version (``?m=`` or a fingerprint)."""
    # Dash marks fingerprinted component suites itself; its unversioned async chunks keep their ETag
    if request.method == "GET" and request.path.startswith("/assets/") and response.status_code == 200:
        if "m" in request.args:
            response.cache_control.no_cache = None  # Flask's send_file asks to revalidate every time
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE_S
    return response


def _server() -> Flask:
    server = Flask(__name__)
    server.config.update(COMPRESS_CONFIG, COMPRESS_CACHE_BACKEND=CompressedStatic)
    server.after_request(_cache_static_for_a_year)
    return server


class _Dash(jobs.SigningSecretRetry, dash.Dash):
    """``dash.Dash`` whose page leaves out the scripts named in ``DROPPED_SCRIPTS`` (and whose job-signing
    secret follows Redis: :class:`dashboard.runtime.jobs.SigningSecretRetry`)."""

    def interpolate_index(self, **kwargs) -> str:
        kwargs["scripts"] = "\n".join(line for line in kwargs["scripts"].split("\n")
                                      if not any(name in line for name in DROPPED_SCRIPTS))
        return super().interpolate_index(**kwargs)


def create_app(data_dir: str | Path | None = None, *, settings: config.Settings | None = None) -> dash.Dash:
    """Build the dashboard over the option-chain files in ``data_dir``.

    Parameters
    ----------
    data_dir : path, optional
        Folder the catalog scans; default ``$MMPOS_DATA_DIR`` or the analytics default data folder.
        It is kept in the Flask config (``MMPOS_DATA_DIR``), where the callbacks read it.
    settings : dashboard.runtime.config.Settings, optional
        What the HTTP edge enforces (default :func:`dashboard.runtime.config.from_env`).
    """
    if data_dir is None:
        data_dir = config.data_dir_from_env()
    app = _Dash(
        __name__,
        server=_server(),
        compress=True,  # flask-compress: plotly.js goes out at ~1 MB instead of 4.8 MB
        title="mmpos · dealer positioning",
        assets_folder=str(ASSETS_DIR),
        update_title=None,
        suppress_callback_exceptions=False,
    )
    app.server.config[DATA_DIR_KEY] = str(data_dir) if data_dir is not None else None
    edge.install(app.server, settings)  # health, headers, Host check, size limit, login (dashboard.http.edge)
    edge.declare_callbacks(app.server, app.callback_map)  # callback bodies checked against these
    responses.install(app.server)  # repeated callback requests answered from a cache (after the edge)
    app.layout = build_layout
    # Callbacks go on this app (app.callback), not into dash.callback's process-wide registry: that
    # registry is emptied by the first app to serve a request, so a second app would get none, and
    # a threaded worker's first requests could race the copy ("Callback function not found").
    for module in (controls, views, hover, table, export, display, history, intraday, work, report, upload,
                   alerts, watchlist, follow, flow, collect_status):
        module.register(app)
    return app


def serve(data_dir: Path | None = None, host: str = config.DEFAULT_HOST, port: int = config.DEFAULT_PORT,
          debug: bool = False) -> None:
    """Serve the dashboard with gunicorn (:mod:`dashboard.runtime.server`); ``MMPOS_*`` fill the other settings.

    Raises
    ------
    SystemExit
        With a readable message if ``debug`` is asked for on a host that is not loopback (Dash debug
        mode runs code the browser sends), the port is out of range, or another setting cannot run.
        (``mmpos serve`` goes through :func:`dashboard.runtime.server.serve_command`, which exits 2.)
    """
    from dashboard.runtime import server as gunicorn_server  # not at import: `server` here is the Flask app

    try:
        settings = config.from_env().override(data_dir=data_dir, host=host, port=port, debug=debug).checked()
    except config.UnsafeConfigError as err:
        raise SystemExit(f"mmpos serve: {err}") from err
    gunicorn_server.run(settings, create_app, warm.start)


@functools.cache
def _default_server() -> Flask:
    return create_app().server


def __getattr__(name: str) -> Flask:
    if name == "server":
        return _default_server()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
