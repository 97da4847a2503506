"""``mmpos worker``: a Celery worker taking the page's background jobs (``MMPOS_JOBS=celery``,
``MMPOS_REDIS_URL``); the Celery app is :func:`dashboard.runtime.jobs.worker_app`'s."""

from __future__ import annotations

import argparse

from dashboard.cli.common import add_data_dir_option, refuses_bad_settings

NAME = "worker"
ONE_SHOT = False
POOLS = ("prefork", "solo", "threads")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``mmpos worker``'s command line (on the ``mmpos`` parser's subcommands)."""
    p = sub.add_parser("worker", help="run background jobs for `mmpos serve` (MMPOS_JOBS=celery, MMPOS_REDIS_URL)")
    add_data_dir_option(p, "the folder of snapshots (the same as the server's)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="jobs at once (default: the core count, min 2)")
    p.add_argument("--pool", choices=POOLS, default=POOLS[0],
                   help="prefork (default: a job can be cancelled), solo (one job, in the worker's process), threads")


@refuses_bad_settings(NAME)
def run(args: argparse.Namespace) -> int:
    """A Celery worker taking the page's background jobs until stopped (SIGTERM: warm stop).

    Returns
    -------
    int
        2 (one line on stderr) for a configuration that cannot run, else Celery's exit status.
    """
    from dashboard.runtime import config, jobs

    settings = config.from_env().override(data_dir=args.data_dir)
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise config.UnsafeConfigError(f"concurrency must be 1-64, got {args.concurrency}")
    app = jobs.worker_app(settings)
    concurrency = args.concurrency or config.default_workers()
    argv = ["worker", "--loglevel", "INFO", "--queues", jobs.QUEUE, "--pool", args.pool,
            "--concurrency", str(1 if args.pool == "solo" else concurrency), "--without-gossip", "--without-mingle"]
    try:
        app.worker_main(argv)
    except SystemExit as done:
        return int(done.code or 0)
    return 0
