"""The Dash app: ``create_app()``, ``serve()`` for the CLI, and a lazy ``server`` for gunicorn.

    gunicorn -w 2 -b 127.0.0.1:8050 'dashboard.app:server'      # MMPOS_DATA_DIR picks the data

Importing this module builds nothing: ``server`` is created on first access (PEP 562 module
``__getattr__``) from the ``MMPOS_*`` environment (see :mod:`dashboard.config`). ``create_app()``
may be called any number of times in one process; each app serves all its callbacks.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import dash
from flask import Flask

from dashboard import config
from dashboard.callbacks import controls, hover, table, views
from dashboard.layout import build_layout

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
DATA_DIR_KEY = "MMPOS_DATA_DIR"

log = logging.getLogger(__name__)


def create_app(data_dir: str | Path | None = None) -> dash.Dash:
    """Build the dashboard over the option-chain files in ``data_dir``.

    Parameters
    ----------
    data_dir : path, optional
        Folder the catalog scans; default ``$MMPOS_DATA_DIR`` or the analytics default data folder.
        It is kept in the Flask config (``MMPOS_DATA_DIR``), where the callbacks read it.
    """
    if data_dir is None:
        data_dir = config.data_dir_from_env()
    app = dash.Dash(
        __name__,
        title="mmpos · dealer positioning",
        assets_folder=str(ASSETS_DIR),
        update_title=None,
        suppress_callback_exceptions=False,
    )
    app.server.config[DATA_DIR_KEY] = str(data_dir) if data_dir is not None else None
    app.layout = build_layout
    # Callbacks go on this app (app.callback), not into dash.callback's process-wide registry: that
    # registry is emptied by the first app to serve a request, so a second app would get none, and
    # a threaded worker's first requests could race the copy ("Callback function not found").
    for module in (controls, views, hover, table):
        module.register(app)
    return app


def serve(data_dir: Path | None = None, host: str = config.DEFAULT_HOST, port: int = config.DEFAULT_PORT,
          debug: bool = False) -> None:
    """Run the development server (the CLI's ``mmpos serve``).

    Raises
    ------
    SystemExit
        With a readable message if ``debug`` is asked for on a host that is not loopback (Dash debug
        mode runs code the browser sends) or the port is out of range.
    """
    try:
        settings = config.Settings(data_dir=data_dir, host=host, port=port, debug=debug).checked()
    except config.UnsafeConfigError as err:
        raise SystemExit(f"mmpos serve: {err}") from err
    app = create_app(settings.data_dir)
    log.info("serving mmpos on http://%s:%d (debug %s)", settings.host, settings.port, "on" if settings.debug else "off")
    app.run(host=settings.host, port=settings.port, debug=settings.debug)


@functools.cache
def _default_server() -> Flask:
    return create_app().server


def __getattr__(name: str) -> Flask:
    if name == "server":
        return _default_server()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
