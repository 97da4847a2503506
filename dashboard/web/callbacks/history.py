"""The History tab: its state in the URL, the lazy fill of the history store, its three charts.

Three callbacks, each a thin wrapper around a plain function tested as such:

* :func:`navigate` keeps the tab and the depth (last N snapshots) in the URL like the rest of the
  view state, and turns a click on any history chart into "open that snapshot in the main view". It
  writes only the URL; the controls callback reads it back into the view-state store, as on a back or
  forward navigation, so every control follows.
* :func:`fill_step` summarises at most :data:`FILES_PER_TICK` new or changed data files per tick of
  an interval while the History tab is open, so the first visit (every snapshot analysed once, ~0.4 s
  each) shows "n of m summarised" and draws what is there, and no request runs for long: the main
  view never waits for the history. Once everything is summarised the tick slows down
  (:func:`tick_interval`) rather than stopping, so a file that lands or a backfill started while the
  tab stays open shows without reopening it.
  While an ``mmpos backfill`` of the same folder runs (its progress row in the store is fresh), the
  step computes nothing and the line says "backfill running: n of m" instead, the charts filling in
  as the backfill stores each file.
* :func:`history_figures` draws the charts from what the store holds (never computing: ``refresh=False``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.history import HistoryStore, data_files
from dashboard import service
from dashboard.web import ids, layout
from dashboard.web.callbacks.navigation import triggered_prop, url_of, view_with
from dashboard.web.figures import history as hfig
from dashboard.web.figures.common import encode_arrays, expiry_set_label
from dashboard.web.inputs import checked, unexpected
from dashboard.web.layout import HISTORY_FIGURE_HEIGHT
from dashboard.web.state import TAB_CHOICES, default_state, from_query, history_depth, opening_snapshot

log = logging.getLogger(__name__)

#: data files summarised per interval tick (each ~0.2-0.5 s on the demo): short requests, steady progress
FILES_PER_TICK = 2
GRAPHS = (ids.HISTORY_LEVELS_GRAPH, ids.HISTORY_HEATMAP_GRAPH, ids.HISTORY_TERM_GRAPH)


# --------------------------------------------------------------------------- tab, depth and clicks <-> URL


def clicked_snapshot(payload: dict[str, Any] | None) -> str | None:
    """The snapshot id a click on a history chart hands back (the categorical ``x``), or None.

    Examples
    --------
    >>> clicked_snapshot({"points": [{"x": "spx-20261116-1615", "y": 6700.0}]})
    'spx-20261116-1615'
    >>> clicked_snapshot({"points": []}), clicked_snapshot(None)
    (None, None)
    """
    points = (payload or {}).get("points") or []
    x = points[0].get(hfig.CUSTOMDATA_SNAPSHOT) if points else None
    return x if isinstance(x, str) and x else None


def navigate(trigger: str | None, search: str | None, tab: str | None, depth: Any, click: dict | None,
             store: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    """``(tab, depth, URL search)`` after one input changed; ``no_update`` where nothing changes.

    The URL (first load, back/forward) sets the tab and the depth controls; a tab or depth change
    writes the URL; a click on a history chart writes the URL with that snapshot and the main tab.
    """
    if trigger is None or trigger == f"{ids.URL}.search":
        state = from_query(search)
        return state["tab"], state["hn"], no_update
    state = view_with(store or from_query(search))
    if trigger == f"{ids.TABS}.value":
        state["tab"] = tab if tab in TAB_CHOICES else "main"
    elif trigger == f"{ids.HISTORY_DEPTH}.value":
        state["hn"] = history_depth(depth)
    else:  # a click on one of the history graphs
        snap = clicked_snapshot(click)
        if snap is None:
            raise PreventUpdate
        state.update(opening_snapshot(snap), tab="main")
    return state["tab"], state["hn"], url_of(state, search)


# --------------------------------------------------------------------------- lazy fill


def fill_step(data_dir: str | None, max_files: int = FILES_PER_TICK, *, now: float | None = None) -> dict[str, int]:
    """Summarise at most ``max_files`` stale data files into the history store; count what is left.

    When a backfill of the store is running (:meth:`analytics.history.BackfillProgress.is_running`
    at ``now``, default the clock), nothing is summarised here: its own count is returned.

    Returns
    -------
    dict
        ``{"done": files up to date, "total": data files}`` after this step; or, while a backfill
        runs, ``{"done": n, "total": m, "backfill_pid": pid}`` of that backfill.
    """
    with HistoryStore(service.resolve_data_dir(data_dir)) as store:
        running = store.backfill()
        if running is not None and running.is_running(time.time() if now is None else now):
            return {"done": running.done, "total": running.total, "backfill_pid": running.pid}
        stale = store.stale()
        for fv in stale[:max(max_files, 0)]:
            store.put(fv, store.summarize(fv))
        left = max(len(stale) - max(max_files, 0), 0)
        total = len(data_files(store.data_dir))
    return {"done": max(total - left, 0), "total": total}


def fill_complete(fill: dict[str, int] | None) -> bool:
    """Every file summarised and no backfill running: the tab only watches for new files (slow tick).

    Examples
    --------
    >>> fill_complete({"done": 4, "total": 4}), fill_complete({"done": 4, "total": 4, "backfill_pid": 7})
    (True, False)
    """
    return bool(fill) and "backfill_pid" not in fill and fill.get("done", 0) >= fill.get("total", 0)


def tick_interval(fill: dict[str, int] | None) -> int:
    """Milliseconds to the next fill step: quick while summarising or a backfill runs, slow once done.

    Examples
    --------
    >>> tick_interval({"done": 2, "total": 4}), tick_interval({"done": 4, "total": 4})
    (400, 15000)
    """
    return layout.HISTORY_IDLE_MS if fill_complete(fill) else layout.HISTORY_FILL_MS


def progress_text(fill: dict[str, int] | None) -> str:
    """What the progress line says.

    Examples
    --------
    >>> progress_text({"done": 12, "total": 42})
    '12 of 42 data files summarised: each snapshot is analysed once, then kept (data/.mmpos)'
    >>> progress_text({"done": 42, "total": 42})
    ''
    >>> progress_text({"done": 5, "total": 60, "backfill_pid": 4242})
    'backfill running: 5 of 60 data files summarised (mmpos backfill, process 4242); the charts fill in as it goes'
    """
    if fill and "backfill_pid" in fill:
        return (f"backfill running: {fill['done']} of {fill['total']} data files summarised (mmpos backfill, "
                f"process {fill['backfill_pid']}); the charts fill in as it goes")
    if not fill or fill.get("done", 0) >= fill.get("total", 0):
        return ""
    return (f"{fill['done']} of {fill['total']} data files summarised: each snapshot is analysed once, "
            "then kept (data/.mmpos)")


# --------------------------------------------------------------------------- charts


def depth_limit(depth: Any) -> int | None:
    """The ``last_n`` of a depth (None for all).

    Examples
    --------
    >>> depth_limit(20), depth_limit("all")
    (20, None)
    """
    value = history_depth(depth)
    return None if value == "all" else int(value)


def history_figures(state: dict[str, Any] | None, data_dir: str | None) -> list[dict]:
    """The three history figures of a view state's underlying and depth, from the stored summaries.

    The subtitle says they cover every expiry in the summaries' convention, and names the snapshot
    view's convention or expiry set when it shows another.
    """
    state = {**default_state(), **(state or {})}
    underlying = state.get("u")
    if not underlying:
        raise PreventUpdate
    window = service.history_window(data_dir, underlying, depth_limit(state.get("hn")), refresh=False)
    preset = state.get("preset") or "all"
    subtitle = hfig.history_subtitle(
        underlying, len(window.levels), window.conventions, view_convention=state.get("conv"),
        view_expiries=None if preset == "all" else expiry_set_label(preset, state.get("exp") or ()))
    figures = hfig.history_view_figures(window, subtitle=subtitle, height=HISTORY_FIGURE_HEIGHT)
    return [encode_arrays(figures[name]) for name in hfig.HISTORY_VIEWS]


def register(app: dash.Dash) -> None:
    """Declare the History tab's callbacks on ``app``."""
    @app.callback(
        Output(ids.TABS, "value"),
        Output(ids.HISTORY_DEPTH, "value"),
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.URL, "search"),
        Input(ids.TABS, "value"),
        Input(ids.HISTORY_DEPTH, "value"),
        *(Input(g, "clickData") for g in GRAPHS),
        State(ids.VIEW_STORE, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def _navigate(search, tab, depth, *rest):
        *clicks, store = rest
        c, _ = checked({f"{ids.URL}.search": search, f"{ids.TABS}.value": tab, f"{ids.HISTORY_DEPTH}.value": depth,
                        f"{ids.VIEW_STORE}.data": store,
                        **{f"{g}.clickData": click for g, click in zip(GRAPHS, clicks, strict=True)}})
        trigger = triggered_prop()
        click = next((c[f"{g}.clickData"] for g in GRAPHS if trigger == f"{g}.clickData"), None)
        return navigate(trigger, c[f"{ids.URL}.search"], c[f"{ids.TABS}.value"], c[f"{ids.HISTORY_DEPTH}.value"],
                        click, c[f"{ids.VIEW_STORE}.data"])

    @app.callback(
        Output(ids.HISTORY_FILL_STORE, "data"),
        Output(ids.HISTORY_FILL_TICK, "disabled"),
        Output(ids.HISTORY_FILL_TICK, "interval"),
        Output(ids.HISTORY_PROGRESS, "children"),
        Input(ids.HISTORY_FILL_TICK, "n_intervals"),
        Input(ids.VIEW_STORE, "data"),
        State(ids.HISTORY_FILL_STORE, "data"),
    )
    def _fill(_n, state, previous):
        c, _ = checked({f"{ids.HISTORY_FILL_TICK}.n_intervals": _n, f"{ids.VIEW_STORE}.data": state,
                        f"{ids.HISTORY_FILL_STORE}.data": previous})
        state, previous = c[f"{ids.VIEW_STORE}.data"], c[f"{ids.HISTORY_FILL_STORE}.data"]
        if not state or state.get("tab") != "history":
            return no_update, True, no_update, no_update
        try:
            fill = fill_step(current_app.config.get("MMPOS_DATA_DIR"))
        except Exception:  # noqa: BLE001 - the history must never take the page down
            return no_update, True, no_update, unexpected("Filling the history store")
        return (no_update if fill == previous else fill), False, tick_interval(fill), progress_text(fill)

    @app.callback(
        *(Output(g, "figure") for g in GRAPHS),
        Input(ids.VIEW_STORE, "data"),
        Input(ids.HISTORY_FILL_STORE, "data"),
    )
    def _draw(state, _fill):
        c, _ = checked({f"{ids.VIEW_STORE}.data": state, f"{ids.HISTORY_FILL_STORE}.data": _fill})
        state = c[f"{ids.VIEW_STORE}.data"]
        if not state or state.get("tab") != "history":
            raise PreventUpdate
        return history_figures(state, current_app.config.get("MMPOS_DATA_DIR"))
