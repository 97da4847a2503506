"""Exports that say what they show: every chart's PNG carries the underlying, snapshot time,
convention and expiry set in its title (a subtitle in the figure's layout) and its file name (the
graph's ``toImageButtonOptions``).

Both go out with the main update's figures (:mod:`dashboard.callbacks.views`), so the figure builders
stay unaware of them; a graph's config is sent only when its file name changed (the result store
keeps the names drawn). A callback after the main update used to patch them in: a changed config
makes Plotly draw a chart again from scratch, four charts right after the first paint.
"""

from __future__ import annotations

from typing import Any

from dash import no_update

from dashboard import ids
from dashboard.figures import graph_config
from dashboard.figures.common import PALETTE, expiry_set_label, export_filename, snapshot_subtitle

SUBTITLED_TOP_MARGIN_PX = 130  # the house template's 112 px plus one subtitle line

# graph id -> the view's name in file names
GRAPHS: tuple[tuple[str, str], ...] = (
    (ids.GAMMA_GRAPH, "gamma-by-strike"),
    (ids.BREAKDOWN_GRAPH, "strike-breakdown"),
    (ids.HEDGE_GRAPH, "hedging-curves"),
    (ids.TERM_GRAPH, "vega-term-structure"),
)
# graph id -> the main update's panel name (the result store lists the panels it drew)
PANEL_OF: dict[str, str] = {ids.GAMMA_GRAPH: "gamma", ids.BREAKDOWN_GRAPH: "breakdown", ids.HEDGE_GRAPH: "hedge",
                            ids.TERM_GRAPH: "term"}


def export_labels(state: dict[str, Any], as_of: Any) -> tuple[str, dict[str, str]]:
    """The subtitle and each panel's export file name (by panel name) for a view state on a snapshot
    taken at ``as_of``."""
    preset, expiries = state.get("preset") or "all", list(state.get("exp") or [])
    subtitle = snapshot_subtitle(str(state.get("u")), as_of, str(state.get("conv")),
                                 expiries=expiry_set_label(preset, expiries))
    names = {PANEL_OF[gid]: export_filename(view, str(state.get("u")), as_of, str(state.get("conv")), preset, expiries)
             for gid, view in GRAPHS}
    return subtitle, names


def with_subtitle(figure: dict[str, Any], subtitle: str) -> dict[str, Any]:
    """``figure`` (a freshly built dict: changed in place) with the export subtitle under its title."""
    layout = figure.setdefault("layout", {})
    title = layout.get("title")
    layout["title"] = {**(title if isinstance(title, dict) else {"text": title} if title else {}),
                       "subtitle": {"text": subtitle, "font": {"size": 11, "color": PALETTE.muted_text}}}
    layout["margin"] = {**(layout.get("margin") or {}), "t": SUBTITLED_TOP_MARGIN_PX}  # room above the legend
    return figure


def config_outputs(names: dict[str, str], last_names: dict[str, str] | None) -> list[Any]:
    """Each graph's config in ``GRAPHS`` order: sent only when its file name changed (a new config
    makes Plotly draw the chart from scratch)."""
    last = last_names or {}
    return [no_update if last.get(PANEL_OF[gid]) == names[PANEL_OF[gid]] else graph_config(names[PANEL_OF[gid]])
            for gid, _ in GRAPHS]
