"""The Intraday tab: one session's net GEX by strike x time, a replay slider, 0DTE or every expiry.

Three callbacks, each a thin wrapper around a plain function tested as such:

* :func:`fill_step` (on a ``dcc.Interval`` while the tab is open) summarises the chosen snapshot's
  session into the history store a few files per tick (:func:`dashboard.service.intraday_fill`), then
  keeps watching at the catalog's rescan interval: a snapshot that lands changes its answer, and the
  heatmap gains the column without a reload.
* :func:`draw` draws the session from what the store holds (:func:`dashboard.service.intraday_session`,
  :func:`dashboard.web.figures.intraday.intraday_figure`) and sets the slider: one step per snapshot,
  at the chosen snapshot.
* :func:`navigate` turns a slider move (or a click on a column) into "select that snapshot" and the
  expiry toggle into its view
  state key (``iexp``) by writing the URL, as the History tab's clicks do: the controls callback reads
  it into the view state, so every other view redraws for that moment and a shared link keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics import conventions
from analytics.errors import ChainDataError
from dashboard import service
from dashboard.runtime import config
from dashboard.web import ids, layout
from dashboard.web.callbacks.navigation import triggered_prop, url_of, view_with
from dashboard.web.figures import intraday as ifig
from dashboard.web.figures.common import empty_figure, encode_arrays
from dashboard.web.figures.gamma import view_strike_window
from dashboard.web.inputs import checked, unexpected
from dashboard.web.state import INTRADAY_EXPIRY_CHOICES, ViewState, default_state, opening_snapshot

#: snapshots summarised per tick while a session fills (each ~0.3-0.8 s)
FILES_PER_TICK = 2
TAB = "intraday"


# --------------------------------------------------------------------------- fill


def fill_step(state: dict[str, Any] | None, data_dir: str | None,
              max_files: int = FILES_PER_TICK) -> dict[str, Any] | None:
    """Summarise the next few snapshots of the state's session; what :func:`dashboard.service.intraday_fill`
    says (None when the tab is closed or there is nothing to anchor on)."""
    if not state or state.get("tab") != TAB or not state.get("u"):
        return None
    return service.intraday_fill(data_dir, state["u"], state.get("snap"), max_files)


def tick_ms(fill: dict[str, Any] | None) -> int:
    """The next tick: quick while the session fills, at the catalog's rescan interval once it is complete.

    Examples
    --------
    >>> tick_ms({"done": 1, "total": 3}) == layout.HISTORY_FILL_MS
    True
    """
    if fill and fill.get("done", 0) < fill.get("total", 0):
        return layout.HISTORY_FILL_MS
    return layout.poll_ms()


# --------------------------------------------------------------------------- draw


def slider_marks(times: Sequence[Any], max_marks: int = 8) -> dict[int, str]:
    """Slider marks: the first snapshot and the first of each hour (thinned to ``max_marks``), as ``HH:MM``.

    Examples
    --------
    >>> import pandas as pd
    >>> ts = pd.date_range("2026-11-20 09:35", "2026-11-20 11:20", freq="5min")
    >>> slider_marks(ts)
    {0: '09:35', 5: '10:00', 17: '11:00'}
    """
    hours = [(t.date(), t.hour) for t in times]
    firsts = [i for i, h in enumerate(hours) if i == 0 or h != hours[i - 1]]
    every = -(-len(firsts) // max_marks) if firsts else 1
    return {i: times[i].strftime("%H:%M") for i in firsts[::every]}


def strike_window(matrix: Any) -> tuple[float, float] | None:
    """The strikes shown: the union over the session of the strike views' window at each time
    (:func:`dashboard.web.figures.gamma.view_strike_window`: spot +/- ``MMPOS_STRIKE_WINDOW_PCT``,
    widened to a wall just outside it)."""
    pct = config.strike_window_pct()
    windows = [view_strike_window(s, pct, walls=(c, p)) for s, c, p in
               zip(matrix.spot, matrix.call_wall, matrix.put_wall, strict=True)]
    kept = [w for w in windows if w is not None]
    return (min(w[0] for w in kept), max(w[1] for w in kept)) if kept else None


def status_text(view: service.IntradaySession, fill: dict[str, Any] | None) -> str:
    """The line under the toggle: the replayed moment, and how far the session is summarised."""
    m = view.matrix
    parts = []
    if view.selected is not None:
        parts.append(f"replay {m.times[view.selected].strftime('%H:%M')}: snapshot {view.selected + 1} of "
                     f"{len(view.snapshot_ids)} (every view shows this moment)")
    total = (fill or {}).get("total", view.total)
    if view.done < total:
        parts.append(f"{view.done} of {total} snapshots of the session summarised; the heatmap fills in as they are")
    return " · ".join(parts)


def draw(state: dict[str, Any] | None, data_dir: str | None, fill: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tab's figure, slider (max, marks, value), snapshot ids and status for a view state."""
    state = {**default_state(), **(state or {})}
    v = ViewState.of(state)
    if not v.u:
        raise PreventUpdate
    view = service.intraday_session(data_dir, v.u, v.snap, v.iexp)
    if view is None:
        return {"figure": empty_figure("No snapshot of this underlying", title=ifig.TITLE), "ids": [], "max": 0,
                "marks": {}, "value": None, "status": ""}
    m = view.matrix
    label = conventions.labels().get(m.conventions[0], m.conventions[0]) if m.conventions else ""
    figure = ifig.intraday_figure(m, view.snapshot_ids, selected=view.selected,
                                  strike_window=strike_window(m) if not m.empty else None,
                                  subtitle=ifig.session_subtitle(m, label), height=layout.INTRADAY_FIGURE_HEIGHT)
    return {"figure": encode_arrays(figure), "ids": view.snapshot_ids, "max": max(len(view.snapshot_ids) - 1, 0),
            "marks": slider_marks(m.times) if not m.empty else {}, "value": view.selected,
            "status": status_text(view, fill)}


# --------------------------------------------------------------------------- slider and toggle -> URL


def clicked_snapshot(payload: dict[str, Any] | None, snapshot_ids: Sequence[str]) -> int | None:
    """The position of the snapshot a click on the heatmap names (``customdata`` = [strike, snapshot id]).

    Examples
    --------
    >>> clicked_snapshot({"points": [{"customdata": [6800.0, "b"]}]}, ["a", "b"]), clicked_snapshot(None, ["a"])
    (1, None)
    """
    points = (payload or {}).get("points") or []
    data = points[0].get("customdata") if points else None
    snap = data[1] if isinstance(data, list) and len(data) > 1 else None
    return list(snapshot_ids).index(snap) if isinstance(snap, str) and snap in snapshot_ids else None


def navigate(trigger: str | None, expiries: Any, position: Any, snapshot_ids: list[str] | None,
             state: dict[str, Any] | None, search: str | None, click: dict[str, Any] | None = None) -> Any:
    """The URL after the slider, a click on a column or the expiry toggle (``no_update`` when it names
    the same view).

    The slider and a click select that snapshot (the strike zoom and clicked strike belong to the
    previous snapshot: dropped); the toggle sets ``iexp``.
    """
    if trigger == f"{ids.INTRADAY_GRAPH}.clickData":
        position, trigger = clicked_snapshot(click, snapshot_ids or []), f"{ids.INTRADAY_SLIDER}.value"
    if not state:
        raise PreventUpdate
    s = view_with(state)
    if trigger == f"{ids.INTRADAY_EXPIRIES}.value":
        if expiries not in INTRADAY_EXPIRY_CHOICES or expiries == s.get("iexp"):
            raise PreventUpdate
        s["iexp"] = expiries
    elif trigger == f"{ids.INTRADAY_SLIDER}.value":
        chosen = snapshot_ids or []
        if not isinstance(position, int) or not 0 <= position < len(chosen) or chosen[position] == s.get("snap"):
            raise PreventUpdate
        s.update(opening_snapshot(chosen[position]))
    else:
        raise PreventUpdate
    return url_of(s, search)


def register(app: dash.Dash) -> None:
    """Declare the Intraday tab's callbacks on ``app``."""

    @app.callback(
        Output(ids.INTRADAY_FILL_STORE, "data"),
        Output(ids.INTRADAY_TICK, "disabled"),
        Output(ids.INTRADAY_TICK, "interval"),
        Input(ids.INTRADAY_TICK, "n_intervals"),
        Input(ids.VIEW_STORE, "data"),
        State(ids.INTRADAY_FILL_STORE, "data"),
    )
    def _fill(n, state, previous):
        c, _ = checked({f"{ids.INTRADAY_TICK}.n_intervals": n, f"{ids.VIEW_STORE}.data": state,
                        f"{ids.INTRADAY_FILL_STORE}.data": previous})
        state, previous = c[f"{ids.VIEW_STORE}.data"], c[f"{ids.INTRADAY_FILL_STORE}.data"]
        if not state or state.get("tab") != TAB:
            return no_update, True, no_update
        try:
            fill = fill_step(state, current_app.config.get("MMPOS_DATA_DIR"))
        except ChainDataError:
            return no_update, False, layout.poll_ms()  # an unreadable anchor: the draw says so; try again later
        return (no_update if fill == previous else fill), False, tick_ms(fill)

    @app.callback(
        Output(ids.INTRADAY_GRAPH, "figure"),
        Output(ids.INTRADAY_SLIDER, "max"),
        Output(ids.INTRADAY_SLIDER, "marks"),
        Output(ids.INTRADAY_SLIDER, "value"),
        Output(ids.INTRADAY_IDS_STORE, "data"),
        Output(ids.INTRADAY_EXPIRIES, "value"),
        Output(ids.INTRADAY_STATUS, "children"),
        Input(ids.VIEW_STORE, "data"),
        Input(ids.INTRADAY_FILL_STORE, "data"),
    )
    def _draw(state, fill):
        c, _ = checked({f"{ids.VIEW_STORE}.data": state, f"{ids.INTRADAY_FILL_STORE}.data": fill})
        state, fill = c[f"{ids.VIEW_STORE}.data"], c[f"{ids.INTRADAY_FILL_STORE}.data"]
        if not state or state.get("tab") != TAB:
            raise PreventUpdate
        try:
            out = draw(state, current_app.config.get("MMPOS_DATA_DIR"), fill)
        except ChainDataError as err:
            out = {"figure": empty_figure(f"The snapshot cannot be read: {err.reason}", title=ifig.TITLE), "ids": [],
                   "max": 0, "marks": {}, "value": None, "status": ""}
        except Exception:  # noqa: BLE001 - the Intraday view must never take the page down
            return (empty_figure("The intraday view could not be drawn", title=ifig.TITLE), 0, {}, None, [],
                    no_update, unexpected("Drawing the intraday view"))
        return (out["figure"], out["max"], out["marks"], out["value"], out["ids"], state.get("iexp", "all"),
                out["status"])

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.INTRADAY_EXPIRIES, "value"),
        Input(ids.INTRADAY_SLIDER, "value"),
        Input(ids.INTRADAY_GRAPH, "clickData"),
        State(ids.INTRADAY_IDS_STORE, "data"),
        State(ids.VIEW_STORE, "data"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def _navigate(expiries, position, click, snapshot_ids, state, search):
        c, _ = checked({f"{ids.INTRADAY_EXPIRIES}.value": expiries, f"{ids.INTRADAY_SLIDER}.value": position,
                        f"{ids.INTRADAY_GRAPH}.clickData": click,
                        f"{ids.INTRADAY_IDS_STORE}.data": snapshot_ids, f"{ids.VIEW_STORE}.data": state,
                        f"{ids.URL}.search": search})
        return navigate(triggered_prop(), c[f"{ids.INTRADAY_EXPIRIES}.value"], c[f"{ids.INTRADAY_SLIDER}.value"],
                        c[f"{ids.INTRADAY_IDS_STORE}.data"], c[f"{ids.VIEW_STORE}.data"], c[f"{ids.URL}.search"],
                        c[f"{ids.INTRADAY_GRAPH}.clickData"])
