"""Exports that say what they show: every chart's PNG carries the underlying, snapshot time,
convention and expiry set in its title (a subtitle patched onto the drawn figure) and its file name
(the graph's ``toImageButtonOptions``), rewritten after each render.

Runs after the main update (its input is the result store the main update writes), so the figure
builders stay unaware of it; a config is sent only when its file name changed.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, Patch, State, no_update
from flask import current_app

from dashboard import ids, service
from dashboard.figures import graph_config
from dashboard.figures.common import PALETTE, expiry_set_label, export_filename, snapshot_subtitle
from dashboard.inputs import checked as checked_inputs

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


def export_labels(state: dict[str, Any] | None, data_dir: str | None) -> tuple[str, dict[str, str]] | None:
    """The subtitle and each graph's file name for a view state; None when no snapshot is shown."""
    if not state or not state.get("snap"):
        return None
    entry = service.get_catalog(data_dir).get(state["snap"])
    if entry is None:
        return None
    preset, expiries = state.get("preset") or "all", list(state.get("exp") or [])
    subtitle = snapshot_subtitle(str(state.get("u")), entry.as_of, str(state.get("conv")),
                                 expiries=expiry_set_label(preset, expiries))
    names = {gid: export_filename(view, str(state.get("u")), entry.as_of, str(state.get("conv")), preset, expiries)
             for gid, view in GRAPHS}
    return subtitle, names


def export_outputs(state: dict[str, Any] | None, configs: list[dict[str, Any] | None],
                   data_dir: str | None, drawn: list[str] | None = None) -> list[Any]:
    """Configs (only those whose file name changed) then subtitle patches (only on the figures the
    main update just drew: ``drawn`` panel names, None = all), in ``GRAPHS`` order."""
    labels = export_labels(state, data_dir)
    if labels is None:
        return [no_update] * (2 * len(GRAPHS))
    subtitle, names = labels
    out_configs: list[Any] = []
    for (gid, _), config in zip(GRAPHS, configs, strict=True):
        current = ((config or {}).get("toImageButtonOptions") or {}).get("filename")
        out_configs.append(no_update if current == names[gid] else graph_config(names[gid]))
    patches: list[Any] = []
    for gid, _ in GRAPHS:
        if drawn is not None and PANEL_OF[gid] not in drawn:
            patches.append(no_update)  # the figure on the page keeps its subtitle
            continue
        patch = Patch()
        patch["layout"]["title"]["subtitle"] = {"text": subtitle, "font": {"size": 11, "color": PALETTE.muted_text}}
        patch["layout"]["margin"]["t"] = SUBTITLED_TOP_MARGIN_PX  # room for the line above the legend
        patches.append(patch)
    return out_configs + patches


def register(app: dash.Dash) -> None:
    """Declare the export labelling callback on ``app``."""
    @app.callback(
        [Output(gid, "config") for gid, _ in GRAPHS]
        + [Output(gid, "figure", allow_duplicate=True) for gid, _ in GRAPHS],
        Input(ids.RESULT_STORE, "data"),
        State(ids.VIEW_STORE, "data"),
        [State(gid, "config") for gid, _ in GRAPHS],
        prevent_initial_call=True,
    )
    def _export(result: dict[str, Any] | None, state: dict[str, Any] | None, *configs: Any) -> list[Any]:
        clean, _refused = checked_inputs({
            f"{ids.RESULT_STORE}.data": result, f"{ids.VIEW_STORE}.data": state,
            **{f"{gid}.config": c for (gid, _), c in zip(GRAPHS, configs, strict=True)}})
        return export_outputs(clean[f"{ids.VIEW_STORE}.data"], [clean[f"{gid}.config"] for gid, _ in GRAPHS],
                              current_app.config.get("MMPOS_DATA_DIR"), clean[f"{ids.RESULT_STORE}.data"].get("drawn"))
