"""The page's opening views computed before anyone asks: each underlying's newest snapshot.

A new chain file lands before the morning review; the first trader to open it would wait for its
cold analysis (1-2 s for a real 20k-row SPX chain, as a background job with a progress panel; longer
on a busy machine). Instead a thread in every web worker (:func:`start`, from gunicorn's
``post_fork``) looks at the catalog every few seconds and, for each underlying whose newest readable
snapshot it has not seen yet, computes what that underlying's opening view draws (the state
``/?u=UNDERLYING`` resolves to: :func:`opening_view`): the analysis of the selection, the term
structure's, and the previous snapshot's comparison. They land in the shared cache
(:func:`dashboard.service.shared_cache`), where every worker's page finds them.

One worker computes each snapshot: it claims the view as a page's background job would
(:func:`dashboard.service.claim_background`), so a trader who opens the view meanwhile waits for the
same computation instead of starting another, and the other workers' warmers skip it. The thread runs
at a lower CPU priority (``nice`` +:data:`NICENESS`) so requests come first. A file that fails to load
is skipped (the page shows why when it is opened). Each worker tries a snapshot version once: one
that another worker claimed, or that could not be claimed (the shared cache unreachable), is left to
the page.

Off without a shared cache (each worker would compute for itself alone) and with ``MMPOS_WARM=off``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.catalog import Catalog, FileVersion
from analytics.errors import ChainDataError, ScenarioError
from dashboard import service
from dashboard.runtime import config
from dashboard.web.state import default_state, scenario_from_state

log = logging.getLogger(__name__)

NICENESS = 10  # the warming thread's CPU priority below the request threads' (Linux: per thread)
MIN_INTERVAL_S = 1.0  # the catalog is looked at no more often than this


def opening_view(catalog: Catalog, underlying: str) -> dict[str, Any] | None:
    """The view state ``/?u=UNDERLYING`` opens on (newest readable snapshot, default expiry set,
    convention, shocks and models), or None when the underlying has no readable snapshot."""
    state = service.resolve_view(default_state(u=underlying), catalog,
                                 preferred_underlying=config.default_underlying()).state
    entry = catalog.get(state["snap"]) if state.get("snap") else None
    return None if entry is None or entry.broken else state


def warm_view(state: dict[str, Any], data_dir: str | Path | None) -> bool:
    """Compute what the page draws for ``state`` into the caches; False when it is cached already or
    another worker (or a page's background job) is computing it."""
    catalog = service.get_catalog(data_dir)
    entry = catalog.get(state["snap"])
    if entry is None or entry.broken:
        return False
    scenario = scenario_from_state(state)
    if not service.is_cold(data_dir, entry, scenario) or not service.claim_background(data_dir, entry, scenario):
        return False
    service.view_analyses(data_dir, entry, scenario)
    service.previous_analysis(data_dir, catalog, entry, scenario, state.get("preset"), state.get("exp"))
    return True


def cold_openings(data_dir: str | Path | None) -> list[str]:
    """The newest snapshots (ids) whose opening view is not in the shared cache yet: what warming has
    left to do (every one of them without a shared cache)."""
    catalog = service.get_catalog(data_dir)
    cold = []
    for underlying in catalog.underlyings():
        state = opening_view(catalog, underlying)
        if state is None:
            continue
        scenario = scenario_from_state(state)
        if service.shared_cache() is None or service.is_cold(data_dir, catalog.get(state["snap"]), scenario):
            cold.append(str(state["snap"]))
    return cold


@dataclass
class Warmer:
    """Warms each underlying's opening view once per snapshot version (one per worker process).

    Parameters
    ----------
    data_dir : path-like or None
        The data folder (None: the default one).
    interval_s : float
        Seconds between two looks at the catalog (at least :data:`MIN_INTERVAL_S`).
    """

    data_dir: str | Path | None
    interval_s: float = MIN_INTERVAL_S
    seen: set[tuple[str, FileVersion | None]] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def pass_once(self) -> list[str]:
        """Look at the catalog once and warm what is new; returns the snapshot ids this call computed."""
        try:
            catalog = service.get_catalog(self.data_dir)
        except ChainDataError:
            return []  # the folder is missing: /readyz says so; look again later
        warmed = []
        for underlying in catalog.underlyings():
            snapshot = underlying
            try:
                state = opening_view(catalog, underlying)
                if state is None:
                    continue
                snapshot = str(state["snap"])
                version = service.entry_key(catalog.get(snapshot))
                if version in self.seen:
                    continue
                self.seen.add(version)
                started = time.perf_counter()
                if warm_view(state, self.data_dir):
                    warmed.append(snapshot)
                    log.info("warmed the opening view of %s in %.2f s", snapshot, time.perf_counter() - started)
            except (ChainDataError, ScenarioError) as err:  # the page says what is wrong when it is opened
                log.info("not warming %s: %s", snapshot, err)
            except Exception:  # noqa: BLE001 - a warming failure must never stop the thread or the server
                log.exception("warming the opening view of %s failed", snapshot)
        return warmed

    def run(self) -> None:
        """Warm until :attr:`stop` is set (the thread's body), at a lower CPU priority."""
        lower_priority()
        while not self.stop.is_set():
            self.pass_once()
            self.stop.wait(self.interval_s)


def lower_priority() -> None:
    """This thread at ``nice`` +:data:`NICENESS` (Linux schedules threads one by one; elsewhere a no-op)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError) as err:  # not Linux, or not allowed
        log.debug("warming thread keeps its priority: %s", err)


def enabled(settings: config.Settings) -> bool:
    """True when ``settings`` warm opening views: ``MMPOS_WARM`` on and a shared cache to put them in."""
    return settings.warm and settings.shared_cache


def start(settings: config.Settings) -> Warmer | None:
    """Start this process's warming thread (a daemon) when :func:`enabled`; returns its warmer. Also
    starts the alert thread beside it when alerts are configured (:func:`dashboard.alerts.start`)."""
    from dashboard import alerts

    alerts.start(settings)
    if not enabled(settings):
        return None
    warmer = Warmer(settings.data_dir, interval_s=max(MIN_INTERVAL_S, settings.rescan_s))
    threading.Thread(target=warmer.run, name="mmpos-warm", daemon=True).start()
    return warmer
