"""Long work leaves the request: the cold analysis of a big chain runs as a Dash background job,
with progress and a cancel button, and the main update draws it from the shared cache when done.

Every view state goes through a small gate (:func:`gate`) on its way to the main update, run by the
controls callback that makes the state (``controls -> VIEW_STORE + READY_VIEW_STORE -> main update``;
a gate callback of its own after the controls cost the first paint a round trip and a render pass):

- a view that is cheap (a chain under ``MMPOS_BACKGROUND_ROWS`` rows whose estimated or measured cost
  is within ``MMPOS_REQUEST_BUDGET_S``: :func:`dashboard.service.over_budget`) or already in the shared
  cache is drawn at once (a view over the budget that no job can take is refused by the main update,
  with a banner);
- otherwise the first user to ask hands it to a background job (``PENDING_VIEW_STORE``); users asking
  for the same view while that job runs go straight on, and their main update waits for the job's
  result (the shared cache's compute lock) instead of forking a job each. The job parses the file
  and computes the analyses in another process, storing them in the shared cache
  (:func:`dashboard.service.shared_cache`), showing each step in the work panel; when done it passes
  the view on (``DONE_VIEW_STORE``, then a clientside check that it is still the view chosen, into
  ``READY_VIEW_STORE``, the main update's input), and
  the main update finds everything cached. Cancel stops the job and keeps the view drawn before;
  another cold view chosen meanwhile replaces the job (dash-renderer cancels the old one); a cheap
  view chosen meanwhile is drawn at once, and the job's late result is dropped in the browser (no
  extra request per view change).

A job runs at most ``MMPOS_JOB_TIME_LIMIT`` seconds (:func:`dashboard.runtime.jobs.time_limit`); one
stopped there marks its view too slow in the shared cache, so no request computes it either.

Jobs run through Dash's ``DiskcacheManager`` in a folder beside the cache folder
(:func:`dashboard.runtime.cache.jobs_dir`), on this machine; with ``MMPOS_JOBS=celery`` through Dash's
``CeleryManager`` on Redis instead, taken by ``mmpos worker`` processes on any machine
(:mod:`dashboard.runtime.jobs`). Without a shared cache (``MMPOS_SHARED_CACHE=off``)
or with ``MMPOS_BACKGROUND_ROWS=off`` every view goes straight to the main update.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, no_update

from analytics.errors import ChainDataError, ScenarioError
from dashboard import service
from dashboard.http import responses
from dashboard.runtime import config, jobs
from dashboard.runtime.cache import jobs_dir
from dashboard.web import ids
from dashboard.web.inputs import checked as checked_inputs
from dashboard.web.state import scenario_from_state

log = logging.getLogger(__name__)

POLL_MS = 300  # how often the page asks a running job for its progress
STEPS = 3


def route(state: dict[str, Any] | None, data_dir: str | None, min_rows: int | None,
          runner_alive: Callable[[], bool] = lambda: True, budget_s: float | None = None) -> tuple[Any, Any]:
    """(ready, pending): the view passed on now, or handed to a background job (when ``runner_alive()``:
    with Celery, a worker is there to take it). A cold view goes to a job when its chain has ``min_rows``
    rows or more, or when its estimated or measured cost passes ``budget_s`` (``MMPOS_REQUEST_BUDGET_S``:
    :func:`dashboard.service.over_budget`), whatever its rows."""
    if not state or not state.get("snap") or min_rows is None:
        return state, no_update
    entry = service.get_catalog(data_dir, naming=state["snap"]).get(state["snap"])
    if entry is None or entry.broken:
        return state, no_update
    try:
        scenario = scenario_from_state(state)
    except (ScenarioError, ValueError, TypeError):
        return state, no_update  # the main update says what is wrong
    if entry.n_rows < min_rows and service.over_budget(data_dir, entry, scenario, budget_s) is None:
        return state, no_update
    if (service.is_cold(data_dir, entry, scenario) and runner_alive()
            and service.claim_background(data_dir, entry, scenario)):
        return no_update, state
    return state, no_update  # cached, or another user's job is computing it: the main update waits for it


def run_job(set_progress, state: dict[str, Any], data_dir: str | None,
            limit_s: float | None = None) -> dict[str, Any]:
    """The background job: parse, analyse the selection, analyse the whole chain (term view); stopped after
    ``limit_s`` (``MMPOS_JOB_TIME_LIMIT``: :func:`dashboard.runtime.jobs.time_limit`). A stopped job marks
    the view too slow (:func:`dashboard.service.mark_too_slow`) and lets go of it, so the main update refuses
    it with a banner instead of computing it in the request."""
    entry = service.get_catalog(data_dir, naming=state.get("snap")).get(state.get("snap"))
    if entry is None:
        return state
    name = str(entry.path).rsplit("/", 1)[-1]
    scenario = None
    try:
        if service.too_many_expiries(entry, state.get("exp") if state.get("preset") == "custom" else None):
            return state  # the main update says why
        scenario = scenario_from_state(state)
        with jobs.time_limit(limit_s):
            set_progress(("0", str(STEPS), f"Reading {name} ({entry.n_rows:,} rows)"))
            service.load_chain(entry)
            set_progress(("1", str(STEPS), f"Analysing the selected expiries of {name}"))
            service.view_analysis_for(data_dir, entry, scenario)
            set_progress(("2", str(STEPS), f"Analysing every expiry of {name} (term structure)"))
            if scenario.expiries is not None:
                service.term_analysis_for(data_dir, entry, scenario)
            set_progress(("3", str(STEPS), f"Drawing {name}"))
    except jobs.JobTimeLimit as stopped:
        log.warning("background analysis of %s %s", name, stopped)
        if scenario is not None:
            service.mark_too_slow(data_dir, entry, scenario, float(limit_s or 0))
            service.release_background(data_dir, entry, scenario)
    except (ChainDataError, ScenarioError):
        pass  # the main update shows the banner
    except Exception:  # noqa: BLE001 - the main update retries in the request and shows what failed
        log.exception("background analysis failed for state %s", state)
    return state


def manager(settings: config.Settings, data_dir: str | None = None) -> Any:
    """The background-callback manager ``settings`` ask for: Celery on Redis (``MMPOS_JOBS=celery``),
    else a ``DiskcacheManager`` in a folder of :func:`dashboard.runtime.cache.jobs_dir` per data folder:
    Dash keys a job by its callback and arguments (the view state, which does not name the folder), so
    two servers of one machine over different folders would otherwise read each other's results."""
    if settings.jobs == "celery":
        return jobs.manager(settings)
    instance = str(Path(data_dir).resolve()) if data_dir else "default"
    folder = jobs_dir(settings) / hashlib.sha256(instance.encode()).hexdigest()[:16]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return jobs.local_manager(folder, settings.cache_timeout_s)


def background_min_rows(settings: config.Settings) -> int | None:
    """Rows from which a cold view runs as a background job; None: never (no shared cache for its
    result, or ``MMPOS_BACKGROUND_ROWS=off``)."""
    return settings.background_rows if settings.shared_cache else None


def gate(settings: config.Settings) -> Callable[[Any, str | None], tuple[Any, Any]]:
    """The gate under ``settings``: ``(state, data_dir) -> (ready, pending)``, what the controls
    callback (:mod:`dashboard.web.callbacks.controls`) does with each new view state.

    The raw state goes on when the inputs check refuses it (the main update reports what it refuses);
    routing reads the checked one. A view handed to a job must not be answered from the response
    cache later (the job's result lands in the shared cache): :func:`dashboard.http.responses.skip`.
    """
    min_rows = background_min_rows(settings)
    runner_alive = functools.partial(jobs.workers_alive, settings) if settings.jobs == "celery" else (lambda: True)

    def _route(state: Any, data_dir: str | None) -> tuple[Any, Any]:
        if min_rows is None:
            return state, no_update  # no background jobs: every view goes straight on
        clean, refused = checked_inputs({f"{ids.VIEW_STORE}.data": state})
        if refused:
            return state, no_update
        try:
            ready, pending = route(clean[f"{ids.VIEW_STORE}.data"], data_dir, min_rows, runner_alive,
                                   settings.request_budget_s)
        except ChainDataError:
            return state, no_update
        if pending is not no_update:
            responses.skip()
            return no_update, pending
        return state, no_update

    return _route


def register(app: dash.Dash) -> None:
    """Declare the background job on ``app`` (the gate runs inside the controls callback: :func:`gate`)."""
    settings = config.from_env()
    if background_min_rows(settings) is None:
        return  # no background jobs: the gate passes every view on

    # a finished job's view is drawn only if it is still the one chosen (in the browser: no request)
    app.clientside_callback(
        "function (done, current) { return JSON.stringify(done) === JSON.stringify(current) ? done"
        " : window.dash_clientside.no_update; }",
        Output(ids.READY_VIEW_STORE, "data", allow_duplicate=True),
        Input(ids.DONE_VIEW_STORE, "data"), State(ids.VIEW_STORE, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.DONE_VIEW_STORE, "data"),
        Input(ids.PENDING_VIEW_STORE, "data"),
        background=True,
        manager=manager(settings, app.server.config.get("MMPOS_DATA_DIR")),
        interval=POLL_MS,
        running=[(Output(ids.WORK_PANEL, "style"), {"display": "flex"}, {"display": "none"}),
                 (Output(ids.WORK_CANCEL, "disabled"), False, True)],
        progress=[Output(ids.WORK_PROGRESS, "value"), Output(ids.WORK_PROGRESS, "max"),
                  Output(ids.WORK_TEXT, "children")],
        cancel=[Input(ids.WORK_CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def _work(set_progress, state: dict[str, Any] | None) -> Any:
        clean, refused = checked_inputs({f"{ids.PENDING_VIEW_STORE}.data": state})
        state = None if refused else clean[f"{ids.PENDING_VIEW_STORE}.data"]
        if not state:
            return no_update
        return run_job(set_progress, state, app.server.config.get("MMPOS_DATA_DIR"), settings.job_time_limit_s)
