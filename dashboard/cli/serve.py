"""``mmpos serve``: the dashboard under gunicorn (:mod:`dashboard.runtime.server`), each worker warming
the opening views (:mod:`dashboard.web.warm`); the app is the composition root's (:mod:`dashboard.runtime.factory`)."""

from __future__ import annotations

import argparse

from dashboard.cli.common import add_data_dir_option, refuses_bad_settings

NAME = "serve"
ONE_SHOT = False
FLAGS = ("data_dir", "host", "port", "workers", "threads", "debug")  # override the MMPOS_* settings when given


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (gunicorn; MMPOS_* settings, see dashboard.runtime.config)")
    add_data_dir_option(p, "the folder of snapshots to serve")
    p.add_argument("--host", default=None, help="interface to bind (default MMPOS_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default MMPOS_PORT or 8050)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: the core count, min 2)")
    p.add_argument("--threads", type=int, default=None, help="threads per worker (default 4)")
    p.add_argument("--debug", action="store_true", default=None,
                   help="Dash debug server instead of gunicorn (loopback hosts only)")


@refuses_bad_settings(NAME)
def run(args: argparse.Namespace) -> int:
    from dashboard.runtime.server import serve_command
    from dashboard.web import warm

    return serve_command({k: getattr(args, k) for k in FLAGS}, worker_started=warm.start)
