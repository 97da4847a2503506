"""``mmpos backfill``: fill a data folder's history store, on local cores or on a Dask cluster.

Workers only compute (:func:`analytics.summary.summarize_file`, a plain function of a path); the parent
process receives every result and is the only writer of the store, so SQLite never sees concurrent
writers. Results are written as they arrive, so an interrupted backfill keeps what it finished.

Progress is kept in the store too (:meth:`analytics.history.HistoryStore.record_backfill`: pid, host,
n of m, when last updated, finished), so a History tab open on the same folder says "backfill
running: n of m" while a backfill started from a terminal runs, and draws the snapshots as they land.

* ``workers=1``: in this process, one file after the other.
* ``workers=N``: a :class:`concurrent.futures.ProcessPoolExecutor` of N processes (``spawn``: a worker
  never inherits the parent's threads or locks).
* ``scheduler="tcp://host:8786"``: a Dask distributed cluster (``pip install 'mmpos[cluster]'``). The
  workers read the files by path, so they must see the data folder at the same path (a shared
  filesystem); the store stays on the machine that runs the command.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from analytics.history import BackfillProgress, HistoryStore, StoredVersion
from analytics.summary import Outcome, summarize_file

DASK_CONNECT_TIMEOUT_S = 5.0  # a scheduler that does not answer within this is reported, not waited for

Progress = Callable[[int, int], None]


def default_workers() -> int:
    """Cores this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill did: files summarised (snapshots and skipped files), time, where the store is."""

    summarised: int
    snapshots: int
    skipped: int
    seconds: float
    store: str
    engine: str
    note: str | None = None

    @property
    def snapshots_per_second(self) -> float:
        return self.snapshots / self.seconds if self.seconds > 0 else float("inf")


def _in_process(todo: list[StoredVersion]) -> Iterator[tuple[StoredVersion, Outcome]]:
    for fv in todo:
        yield fv, summarize_file(fv.path, root=fv.root)


def _process_pool(workers: int) -> Callable[[list[StoredVersion]], Iterator[tuple[StoredVersion, Outcome]]]:
    def compute(todo: list[StoredVersion]) -> Iterator[tuple[StoredVersion, Outcome]]:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
            futures = {pool.submit(summarize_file, str(fv.path), root=str(fv.root)): fv for fv in todo}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    return compute


def _dask(scheduler: Any) -> Callable[[list[StoredVersion]], Iterator[tuple[StoredVersion, Outcome]]]:
    def compute(todo: list[StoredVersion]) -> Iterator[tuple[StoredVersion, Outcome]]:
        try:
            from distributed import Client
            from distributed import as_completed as dask_completed
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("--dask-scheduler needs the cluster extra: pip install 'mmpos[cluster]'") from exc
        try:
            client = Client(scheduler, set_as_default=False, timeout=DASK_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:  # distributed's default waits 30-60 s, then a traceback
            raise ConnectionError(f"no Dask scheduler answers at {scheduler} within {DASK_CONNECT_TIMEOUT_S:g} s "
                                  f"({type(exc).__name__})") from None
        with client:
            paths = [str(fv.path) for fv in todo]
            futures = client.map(summarize_file, paths, key=[f"mmpos-summary-{fv.rel_path}-{fv.version}" for fv in todo],
                                 pure=False, root=str(todo[0].root))  # one folder: every read confined to it
            by_key = {f.key: fv for f, fv in zip(futures, todo, strict=True)}
            for fut in dask_completed(futures, loop=client.loop):
                yield by_key[fut.key], fut.result()
                fut.release()

    return compute


def _counted(compute, total: int, progress: Progress | None, counts: dict[str, int]):
    """``compute`` that also counts snapshots and skipped files and reports progress (after each file
    is stored: the store's :meth:`~HistoryStore.sync` writes a pair before asking for the next)."""

    def wrapped(todo: list[StoredVersion]) -> Iterator[tuple[StoredVersion, Outcome]]:
        for i, (fv, outcome) in enumerate(compute(todo), start=1):
            counts["snapshots" if outcome.summary is not None else "skipped"] += 1
            yield fv, outcome
            if progress is not None:
                progress(i, total)

    return wrapped


def _recorded(store: HistoryStore, total: int, progress: Progress | None) -> Progress:
    """A progress callback that first keeps ``done of total`` in the store's backfill row, then calls
    ``progress``; the row is started now."""
    row = BackfillProgress.start(total, time.time())
    store.record_backfill(row)

    def report(done: int, of: int) -> None:
        store.record_backfill(replace(row, done=done, updated_at=time.time()))
        if progress is not None:
            progress(done, of)

    return report


def _finish(store: HistoryStore) -> None:
    """Mark this process's backfill row finished (done, interrupted or failed alike)."""
    row = store.backfill()
    if row is not None and row.pid == os.getpid() and not row.finished:
        store.record_backfill(replace(row, finished=True, updated_at=time.time()))


def backfill(
    data_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    store_dir: str | Path | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Summarise every new or changed file of ``data_dir`` into its history store.

    Parameters
    ----------
    data_dir : path-like
        The data folder.
    workers : int, optional
        Local processes (default: the cores available; 1 = in this process). Ignored with ``scheduler``.
    scheduler : str or object, optional
        A Dask scheduler address (``tcp://host:8786``) or anything :class:`distributed.Client` accepts
        (a ``LocalCluster``).
    store_dir : path-like, optional
        Where the store lives (default: see :func:`analytics.history.default_store_dir`).
    progress : callable, optional
        Called as ``progress(done, total)`` after each file is stored (and its progress kept in the
        store's backfill row, which the History tab reads).
    on_plan : callable, optional
        Called once with the number of files to summarise, before any work.

    Returns
    -------
    BackfillResult
    """
    start = time.perf_counter()
    with HistoryStore(data_dir, store_dir) as store:
        todo = store.stale()
        if on_plan is not None:
            on_plan(len(todo))
        n_workers = default_workers() if workers is None else max(1, int(workers))
        if scheduler is not None:
            engine, compute = f"dask {scheduler if isinstance(scheduler, str) else type(scheduler).__name__}", _dask(scheduler)
        elif n_workers == 1 or len(todo) <= 1:
            engine, compute = "in process", _in_process
        else:
            engine, compute = f"{min(n_workers, len(todo))} local processes", _process_pool(n_workers)
        counts = {"snapshots": 0, "skipped": 0}
        done = 0
        if todo:
            try:
                done = store.sync(_counted(compute, len(todo), _recorded(store, len(todo), progress), counts))
            finally:
                _finish(store)
        return BackfillResult(
            summarised=done, snapshots=counts["snapshots"], skipped=counts["skipped"],
            seconds=time.perf_counter() - start,
            store=str(store.store_dir) if store.store_dir is not None else "memory", engine=engine, note=store.note,
        )
