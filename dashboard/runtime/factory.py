"""How the processes that serve the dashboard build it without importing its composition root.

:mod:`dashboard.app` is the composition root: it imports the web, HTTP and runtime layers, so none of
them may import it back. The processes that start below it (``mmpos serve``'s gunicorn master, ``mmpos
worker``, ``celery -A dashboard.runtime.jobs worker``) take the app factory as an argument: the root
passes its own :func:`dashboard.app.create_app` (``dashboard.app.serve``), tests may pass another, and
when none is given the root's is looked up by the name :data:`APP_FACTORY`, the moment a server or a
worker is built (as gunicorn is handed ``dashboard.app:server``): the only reference from below to the
root, and not an import the layers see.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

AppFactory = Callable[..., Any]  # (data_dir, *, settings=None) -> dash.Dash, the edge installed from settings

APP_FACTORY = "dashboard.app:create_app"  # module:attribute of the composition root's factory


def load(spec: str = APP_FACTORY) -> AppFactory:
    """The factory named ``module:attribute`` (default: the composition root's ``create_app``).

    Raises
    ------
    ValueError
        When ``spec`` does not name a callable as ``module:attribute``.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"app factory {spec!r}: expected 'module:attribute'")
    factory = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(factory):
        raise ValueError(f"app factory {spec!r}: {attribute!r} is not a callable of {module_name}")
    return factory


def resolve(factory: AppFactory | None) -> AppFactory:
    """``factory`` when given, else the composition root's (:func:`load`)."""
    return factory if factory is not None else load()
