"""Exports that say what they show: every chart's PNG carries the underlying, snapshot time,
convention and expiry set in its title (a subtitle in the figure's layout) and its file name (the
graph's ``toImageButtonOptions``).

The subtitle goes out in each figure of the main update (:mod:`dashboard.web.callbacks.views`), so the
figure builders stay unaware of it; a graph's config goes out with the new view state from the
controls callback (:mod:`dashboard.web.callbacks.controls`), before the figures, only when its file
name changed, and is copied into the drawn chart in the browser (:data:`SYNC_EXPORT_NAMES`). A
callback after the main update used to patch both in: a changed config makes Plotly draw a chart
again from scratch, four charts right after the first paint.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, no_update

from dashboard.web import ids
from dashboard.web.figures import graph_config
from dashboard.web.figures.common import (
    PALETTE,
    escape_text,
    expiry_set_label,
    export_filename,
    snapshot_subtitle,
)
from dashboard.web.panels import PANELS
from dashboard.web.state import ViewState

SUBTITLED_TOP_MARGIN_PX = 130  # the house template's 112 px plus one subtitle line

# graph id -> the view's name in file names: every registered panel (dashboard.web.panels)
GRAPHS: tuple[tuple[str, str], ...] = tuple((p.graph_id, p.export) for p in PANELS)
# graph id -> the main update's panel name (the result store lists the panels it drew)
PANEL_OF: dict[str, str] = {p.graph_id: p.name for p in PANELS}


def export_labels(state: dict[str, Any], as_of: Any) -> tuple[str, dict[str, str]]:
    """The subtitle and each panel's export file name (by panel name) for a view state on a snapshot
    taken at ``as_of``."""
    v = ViewState.of(state)
    subtitle = snapshot_subtitle(str(v.u), as_of, str(v.conv), expiries=expiry_set_label(v.preset, v.exp))
    names = {PANEL_OF[gid]: export_filename(view, str(v.u), as_of, str(v.conv), v.preset, v.exp)
             for gid, view in GRAPHS}
    return subtitle, names


def with_subtitle(figure: dict[str, Any], subtitle: str) -> dict[str, Any]:
    """``figure`` (a freshly built dict: changed in place) with the export subtitle under its title."""
    layout = figure.setdefault("layout", {})
    title = layout.get("title")
    layout["title"] = {**(title if isinstance(title, dict) else {"text": title} if title else {}),
                       "subtitle": {"text": escape_text(subtitle), "font": {"size": 11, "color": PALETTE.muted_text}}}
    layout["margin"] = {**(layout.get("margin") or {}), "t": SUBTITLED_TOP_MARGIN_PX}  # room above the legend
    return figure


def config_outputs(state: dict[str, Any] | None, previous: dict[str, Any] | None, catalog: Any) -> list[Any]:
    """Each graph's config in ``GRAPHS`` order for a new view state: sent only when its file name
    differs from the one of the ``previous`` state (the controls callback sends them, before the
    figures; :func:`register` puts them into the drawn charts)."""
    def names(s: dict[str, Any] | None) -> dict[str, str] | None:
        snap = ViewState.of(s).snap if s else None
        entry = catalog.get(snap) if snap else None
        return None if entry is None else export_labels(s, entry.as_of)[1]

    new, old = names(state), names(previous) or {}
    if new is None:
        return [no_update] * len(GRAPHS)
    return [no_update if old.get(PANEL_OF[gid]) == new[PANEL_OF[gid]] else graph_config(new[PANEL_OF[gid]])
            for gid, _ in GRAPHS]


# A graph's new config reaches Plotly only with its next figure, and then Plotly, finding its
# context changed, draws the chart from scratch and then once more (newPlot, then react). Copying
# the file name into the drawn chart's context at once (in the browser) makes that next draw a
# plain update, and the camera button names the file right away.
SYNC_EXPORT_NAMES = """
function () {
    var ids = %s, names = [];
    for (var i = 0; i < ids.length; i++) {
        var host = document.getElementById(ids[i]), config = arguments[i];
        var gd = host && host.querySelector('.js-plotly-plot');
        var options = config && config.toImageButtonOptions;
        if (gd && gd._context && options) {
            gd._context.toImageButtonOptions = JSON.parse(JSON.stringify(options));
            names.push(options.filename);
        }
    }
    return names;
}
"""


def register(app: dash.Dash) -> None:
    """Declare the clientside copy of each graph's export name into its drawn chart."""
    app.clientside_callback(
        SYNC_EXPORT_NAMES % json.dumps([gid for gid, _ in GRAPHS]),
        Output(ids.EXPORT_SYNC_STORE, "data"),
        [Input(gid, "config") for gid, _ in GRAPHS],
        prevent_initial_call=True,
    )
