"""The main update: view state -> analyses (cached) -> the three views, KPI strip, table, header;
then the comparison with the previous snapshot, from a second callback.

One callback owns every panel so one ``analyze()`` feeds them all. Panels whose inputs did not
change since the last render (kept as small keys in the result store) are sent as ``no_update``:
a strike click redraws view 1 and the breakdown only, the USD/units toggle the hedging view only.

The previous snapshot (:func:`dashboard.service.find_previous`: the KPI strip's and the key
levels' changes, the grey previous-net line on the gamma view) is a second analysis; the main
update does not wait for it. When the result store changes, the comparison callback fills it in:
the KPI strip and the key levels again with changes, and the line added to the drawn gamma chart
with a ``Patch`` (the figure is not sent twice). Only the strike view's "change" measure needs the
previous snapshot to draw at all; the main update computes it then.

The charts are the registry's (:data:`dashboard.web.panels.PANELS`): their outputs, what each reads
and how each is built come from there. The callbacks use dictionary outputs (:data:`OUTPUTS`, keyed
by panel name and by the other pieces' names), never output positions. The panels' own choices
(strike measure, term spacing, smile axis, max-pain overlay) are view-state keys like any other;
only the user's zoom on the strike view stays outside the state and is merged in by
:func:`with_display`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, Patch, State, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics.catalog import Catalog, CatalogEntry
from analytics.errors import ChainDataError, ScenarioError
from analytics.fmt import format_stamp
from analytics.headline import NO_PREVIOUS_TEXT, RegimeLine
from analytics.levels import KeyLevels, analysis_regime_line, change_label, key_levels
from analytics.notes import FLOW_SHOCK_PCT
from analytics.previous import Basis
from analytics.report import Analysis
from analytics.trades import MissingTradesError
from dashboard import service
from dashboard.runtime import caches, config
from dashboard.web import figures as fig
from dashboard.web import ids, panels
from dashboard.web.callbacks import export
from dashboard.web.callbacks.controls import CONVENTION_LABELS, scenario_banner
from dashboard.web.inputs import checked as checked_inputs
from dashboard.web.inputs import unexpected
from dashboard.web.layout import TABLE_PAGE_SIZE
from dashboard.web.panels import gamma_figure, snapshot_revision, strike_window, two_line_axis_titles  # noqa: F401
from dashboard.web.state import CHANGE_BASIS_KEY, ZOOM_KEY, ViewState, scenario_from_state

log = logging.getLogger(__name__)

SUMMARY = "summary"  # the KPI strip, key levels, header and notes: every number of the scenario
SUMMARY_READS = (*panels.SCENARIO, "units", CHANGE_BASIS_KEY)


# --------------------------------------------------------------------------- pure helpers


def panel_keys(state: dict[str, Any]) -> dict[str, str]:
    """What each panel (and the summary) depends on, as JSON strings: equal key = nothing to redraw (and
    a cache key). What a chart depends on is its registry entry's ``reads``."""
    reads = {**{p.name: p.reads for p in panels.PANELS}, SUMMARY: SUMMARY_READS}
    return {name: json.dumps({k: state.get(k) for k in fields}, sort_keys=True, default=str)
            for name, fields in reads.items()}


def previous_expiries(state: dict[str, Any], prev_facts: service.ExpiryFacts,
                      live_now: Iterable[dt.date] | None = None) -> list[str] | None:
    """The expiry set to compare against on the previous snapshot (:func:`dashboard.service.previous_expiries`
    of the state's preset and dates)."""
    v = ViewState.of(state)
    return service.previous_expiries(v.preset, v.exp, prev_facts, live_now)


def kpi_values(analysis: Analysis) -> dict[str, Any]:
    """The KPI strip's numbers for one analysis; hedge flows at the chosen horizon. Under a vol
    scenario the total is the scenario profile's at spot (the headline total keeps chain IVs), so
    the total and zero gamma follow the scenario as the profile does."""
    sc = analysis.scenario
    total = (fig.profile_at_spot(analysis.gamma_profile, analysis.spot) if sc.vol
             else analysis.total_gex_usd_per_1pct)
    return fig.kpi_values(
        spot=analysis.spot,
        total_gex_usd_per_1pct=total,
        zero_gamma_levels=analysis.zero_gamma_levels,
        call_wall=analysis.call_wall,
        put_wall=analysis.put_wall,
        dealer_delta_units=analysis.dealer_delta_units,
        net_vega_usd_per_vol_pt=analysis.net_vega_usd_per_vol_pt,
        hedge_curve=analysis.hedge_curve,
    )


def kpi_strip(current: Analysis, previous: Analysis | None, state: dict[str, Any],
              comparison: str | None) -> list:
    """The KPI strip of an analysis, with changes against ``previous`` when given."""
    v = ViewState.of(state)
    cards = fig.kpi_cards(kpi_values(current), kpi_values(previous) if previous is not None else None,
                          underlying=current.underlying, units=v.units)
    # the vol scenario the analysis applied (a clamped shift says what was asked), not the state's ask
    return fig.kpi_strip(cards, horizon_days=float(v.h), vol=current.scenario.vol, comparison=comparison,
                         regime=regime_of(current, previous, pending=comparison is None, basis=v.chg))


PENDING_PREVIOUS = "d/d: computing…"  # what the regime line says until the comparison callback answers


def regime_of(current: Analysis, previous: Analysis | None, *, pending: bool = False,
              basis: Basis = "day") -> RegimeLine:
    """The regime line of the view (:func:`analytics.headline.regime_line`): the snapshot's own headline
    numbers and its band, the change against the comparable previous snapshot's total (on ``basis``)."""
    return analysis_regime_line(current, float(previous.total_gex_usd_per_1pct) if previous is not None else None,
                                no_previous=PENDING_PREVIOUS if pending else NO_PREVIOUS_TEXT,
                                change_label=change_label(basis, previous.as_of if previous is not None else None))


def spot_page(records: list[dict[str, float]], spot: float, page_size: int = TABLE_PAGE_SIZE) -> int:
    """The table page (0-based) holding the strike nearest spot, for rows sorted by strike.

    Examples
    --------
    >>> spot_page([{"strike": float(k)} for k in range(100)], 47.2, page_size=15)
    3
    """
    if not records:
        return 0
    strikes = np.fromiter((r["strike"] for r in records), float, len(records))
    return int(np.argmin(np.abs(strikes - spot))) // page_size


def table_records(by_strike: pd.DataFrame) -> list[dict[str, float]]:
    """Per-strike rows for the grid (its rowData): strikes with any exposure, USD rounded to whole dollars."""
    cols = ["strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"]
    values = by_strike[cols].to_numpy(float)
    keep = (np.abs(values[:, 1:]) > 0.5).any(axis=1)
    values = values[keep][np.argsort(values[keep, 0], kind="stable")]  # numpy only: 5x faster than pandas here
    values[:, 1:] = np.round(values[:, 1:])
    return [dict(zip(cols, row, strict=True)) for row in values.tolist()]


def header_text(analysis: Analysis, entry: CatalogEntry, *, book_file: str | None = None) -> tuple[str, str, str]:
    """Title, snapshot and model lines of the header; ``book_file`` (relative) names the positions file
    when the convention reads one."""
    stamp = format_stamp(analysis.as_of)
    title = f"{analysis.underlying}  ·  spot {analysis.spot:,.2f}"
    snapshot = f"Snapshot {stamp}  ·  {str(entry.path).rsplit('/', 1)[-1]}"
    model = analysis.model_description  # the forward and IV choice in words (analytics.prepare.model_text)
    what = f"positions file {book_file}" if book_file else CONVENTION_LABELS.get(analysis.convention, "")
    convention = f"Convention: {analysis.convention} ({what}) · Model: {model}"
    return title, snapshot, convention


def book_file(catalog: Catalog, analysis: Analysis) -> str | None:
    """The positions file (relative to the data folder) the convention read, if it needs one."""
    from analytics import conventions

    if conventions.POSITIONS not in conventions.get(analysis.convention).needs:
        return None
    book = catalog.book_for(analysis.underlying)
    return None if book is None else str(getattr(book, "rel", None) or book.path.name)


def error_banner(message: str, *, kind: str = "error", title: str = "This snapshot could not be read") -> html.Div:
    return html.Div(className=f"banner banner-{kind}", children=[html.Strong(title + ": "), html.Span(message)])


def notes_banner(warnings: list[str], notes: list | None = None) -> html.Details | None:
    """The data notes: every warning, in order; a structured note (``Analysis.notes``) leads with its
    share of gross GEX, so the reader sees at once how much of the result each one carries."""
    if not warnings:
        return None
    by_message = {n.message: n for n in notes or () if n.share_of_gross is not None}

    def item(w: str) -> html.Li:
        n = by_message.get(w)
        if n is None:
            return html.Li(w)
        share = fig.format_pct(100 * n.share_of_gross, decimals=1)
        flow = (f" ({fig.format_pct(100 * n.share_of_flow, decimals=0)} of the +{FLOW_SHOCK_PCT:g}% flow)"
                if n.share_of_flow is not None else "")
        return html.Li([html.Strong(f"{share} of gross GEX", className="note-share"), f" · {n.summary}{flow}"])

    largest = max((n.share_of_gross for n in by_message.values()), default=0.0)
    return html.Details(
        className="banner banner-info",
        children=[
            html.Summary(f"{len(warnings)} data note{'s' if len(warnings) > 1 else ''} on this snapshot and model"
                         + (f" (the largest touches {fig.format_pct(100 * largest, decimals=1)} of gross GEX)"
                            if largest >= 0.0005 else "")),
            html.Ul([item(w) for w in warnings]),
        ],
    )


Rendered = dict[str, Any]  # the main update's outputs by OUTPUTS key; a key left out is no_update


def header_outputs(header: tuple[str, str, str]) -> Rendered:
    return dict(zip(("title", "snapshot", "convention"), header, strict=True))


def _empty_everything(message: str, *, banner: Any, header: tuple[str, str, str]) -> Rendered:
    empty = fig.empty_figure(message)
    return {**{p.name: empty for p in panels.PANELS}, "kpis": [], "table": [], "table_page": 0,
            **header_outputs(header), "banner": banner, "result": {"spot": None, "keys": {}},
            **levels_dict((fig.key_levels_panel(None, note=message), "", ""))}


@dataclass(frozen=True)
class Analyses:
    current: Analysis
    full: Analysis
    previous: Previous | None = None  # computed by the main update only for the change-by-strike view


@dataclass(frozen=True)
class Previous:
    """The previous snapshot's analysis for the same view, or why there is none to compare with."""

    analysis: Analysis | None
    entry: CatalogEntry | None
    note: str | None
    basis: Basis = "day"  # the view's ``chg``: day over day, or within the session

    @property
    def comparison(self) -> str:
        a = self.analysis
        return fig.comparison_note(a.underlying if a else None, a.as_of if a else None, self.note, basis=self.basis)


def compute(state: dict[str, Any], catalog: Catalog, entry: CatalogEntry, data_dir: str | None) -> Analyses:
    """The analyses one render needs (all cached): :func:`dashboard.service.view_analyses`."""
    got = service.view_analyses(data_dir, entry, scenario_from_state(state))
    return Analyses(got.current, got.full)


def compute_previous(state: dict[str, Any], catalog: Catalog, entry: CatalogEntry, data_dir: str | None) -> Previous:
    """The previous snapshot's analysis for the same view (cached): :func:`dashboard.service.previous_analysis`."""
    v = ViewState.of(state)
    got = service.previous_analysis(data_dir, catalog, entry, scenario_from_state(state), v.preset, v.exp,
                                    basis=v.chg)
    return Previous(got.analysis, got.entry, got.note, v.chg)


def over_budget_banner(cost_s: float, budget_s: float) -> html.Div:
    return error_banner(
        f"this view would take about {cost_s:,.0f} s to compute, more than the {budget_s:g} s a request may "
        "spend (MMPOS_REQUEST_BUDGET_S), and no background job can take it now: pick fewer expiries, a "
        "smaller shock range or no vol scenario, or try again shortly", kind="warn", title="View not computed")


def render(state: dict[str, Any] | None, data_dir: str | None, last_keys: dict[str, str] | None,
           budget_s: float | None = None) -> Rendered:
    """The callback body as a plain function; ``budget_s`` (``MMPOS_REQUEST_BUDGET_S``) bounds the work a
    request may start: a cold view estimated to cost more is refused with a banner (the gate,
    :mod:`dashboard.web.callbacks.work`, hands such views to a background job before they get here)."""
    v = ViewState.of(state) if state else None
    if v is None or not v.u:
        root = Path(service.resolve_data_dir(data_dir)).name  # the folder's name, never its absolute path
        return _empty_everything(
            f"No option-chain files found in {root}",
            banner=error_banner(f"no readable option-chain files in {root}", kind="warn", title="Nothing to show"),
            header=("mmpos", "no snapshot", ""),
        )
    try:
        catalog = service.get_catalog(data_dir, naming=v.snap)  # a snapshot another worker just stored, too
    except ChainDataError as err:  # the folder was removed or cannot be listed
        name = Path(service.resolve_data_dir(data_dir)).name
        return _empty_everything(f"The data folder {name} cannot be read",
                                 banner=error_banner(f"{name}: {err.reason}", title="The data folder cannot be read"),
                                 header=(v.u, "no snapshot", ""))
    entry = catalog.get(v.snap) if v.snap else None
    if entry is None:
        return _empty_everything(
            f"No readable snapshot for {state['u']}",
            banner=error_banner(f"no snapshot for {state['u']}", kind="warn", title="Nothing to show"),
            header=(v.u, "no snapshot", ""),
        )
    many = service.too_many_expiries(entry, v.exp if v.preset == "custom" else None)
    if many:  # refused before a date is parsed: a request is linear in what the chain lists, not what it names
        return _empty_everything("Too many expiries named", banner=error_banner(many, title="Expiries refused"),
                                 header=(v.u, "", ""))
    try:
        cost = service.over_budget(data_dir, entry, scenario_from_state(state), budget_s)
        if cost is not None and budget_s is not None:
            return _empty_everything("View not computed: over the request budget",
                                     banner=over_budget_banner(cost, budget_s), header=(v.u, "", ""))
        got = compute(state, catalog, entry, data_dir)
    except ScenarioError as err:  # a view state the page did not check (dashboard.web.inputs does)
        return _empty_everything("Scenario value refused", banner=error_banner(str(err), title="Scenario value refused"),
                                 header=(v.u, "", ""))
    except MissingTradesError as err:  # the file reads; the flow-inferred model lacks its trades (issue 19)
        return _empty_everything(
            "Flow-inferred has no trades for this snapshot: pick another convention or snapshot",
            banner=error_banner(str(err), kind="warn", title="Flow-inferred not available"),
            header=(v.u, "", f"Convention: {v.conv}"),
        )
    except ChainDataError as err:
        name = str(entry.path).rsplit("/", 1)[-1]
        return _empty_everything(
            f"{name} could not be read: pick another snapshot or underlying",
            banner=error_banner(str(err)),
            header=(v.u, f"Snapshot file {name} (unreadable)", f"Convention: {v.conv}"),
        )
    if v.smode == "change":
        got = dataclasses.replace(got, previous=compute_previous(state, catalog, entry, data_dir))
    return build_panels(state, got, entry, last_keys or {}, data_dir)


def build_figure(panel: str, state: dict[str, Any], got: Analyses) -> dict[str, Any]:
    """One view's figure dict from computed analyses (the registry's builder for ``panel``)."""
    return panels.build(panel, ViewState.of(state), got)


FIGURE_CACHE_SIZE = 64  # figures of recent views per worker: 4 panels x 16 views, ~10-70 KB each (< 5 MB)


@functools.lru_cache(maxsize=FIGURE_CACHE_SIZE)
def _figure_json(panel: str, data_dir: str | None, key: str, mtime_ns: int, inputs: service.NotInKey) -> dict[str, Any]:
    """A panel's figure ready to send, cached by what it depends on: its key, the folder, the file
    version. ``inputs`` carries the (state, analyses, export subtitle) to build it from on a miss;
    the subtitle follows from the key and the file version (underlying, snapshot, convention, expiries)."""
    del data_dir, key, mtime_ns  # the cache key
    state, got, subtitle = inputs.value
    return titled(panel, fig.encode_arrays(build_figure(panel, state, got)), subtitle)


def titled(panel: str, figure: dict[str, Any], subtitle: str) -> dict[str, Any]:
    """A view's figure (fresh: changed in place) with the export subtitle (dashboard.web.callbacks.export)."""
    del panel  # every registered panel is exported with its subtitle
    return export.with_subtitle(figure, subtitle)


def build_panels(state: dict[str, Any], got: Analyses, entry: CatalogEntry, last_keys: dict[str, str],
                 data_dir: str | None = None) -> Rendered:
    """Figures, KPI cards, table and header for computed analyses; unchanged panels stay None.

    The result store names the panels drawn (``drawn``): what the comparison callback completes.
    """
    a = got.current
    keys = panel_keys(state)
    changed = [name for name in keys if keys[name] != last_keys.get(name)]
    subtitle = export.export_labels(state, entry.as_of)[0]
    out: Rendered = {"result": {"spot": a.spot, "underlying": a.underlying, "keys": keys,
                                "rev": snapshot_revision(state), "drawn": changed}}
    mtime = service.entry_key(entry)[1]
    for panel in panels.PANELS:
        if panel.name in changed:
            out[panel.name] = _figure_json(panel.name, data_dir, keys[panel.name], mtime,
                                           service.NotInKey((state, got, subtitle)))
    if SUMMARY in changed:
        out["kpis"] = kpi_strip(a, None, state, None)
        out.update(levels_dict(levels_outputs(key_levels(a, no_previous=PENDING_PREVIOUS), None)))  # the table's rows follow with the comparison
        out.update(header_outputs(header_text(a, entry, book_file=book_file(service.get_catalog(data_dir), a))))
        out["banner"] = notes_banner(list(a.warnings), list(a.notes))
    return out


def levels_outputs(levels: KeyLevels, comparison: str | None) -> tuple[list, str, str]:
    """The key-levels panel, its plain text (what the copy button copies) and the note on changes."""
    return fig.key_levels_panel(levels), levels.to_text(), comparison or "changes: computing…"


def levels_dict(levels: tuple[Any, Any, Any]) -> Rendered:
    """The key-levels outputs by OUTPUTS key."""
    return dict(zip(("levels", "levels_text", "levels_note"), levels, strict=True))


def clear_caches() -> None:
    """Forget cached figures, analyses, catalogs and chains (the benchmark's cold path)."""
    service.clear_caches()  # every registered cache, this module's figures included


caches.register("dashboard.web.callbacks.views.figures", _figure_json.cache_clear)


# --------------------------------------------------------------------------- wiring

OUTPUTS: dict[str, Output] = {
    **{p.name: Output(p.graph_id, "figure") for p in panels.PANELS},
    "kpis": Output(ids.KPI_STRIP, "children"),
    "table": Output(ids.STRIKE_TABLE, "rowData"),
    "table_page": Output(ids.STRIKE_TABLE, "paginationGoTo"),
    "title": Output(ids.HEADER_TITLE, "children"),
    "snapshot": Output(ids.HEADER_SNAPSHOT, "children"),
    "convention": Output(ids.HEADER_CONVENTION, "children"),
    "banner": Output(ids.BANNER, "children"),
    "result": Output(ids.RESULT_STORE, "data"),
    "levels": Output(ids.KEY_LEVELS, "children"),
    "levels_text": Output(ids.KEY_LEVELS_TEXT, "children"),
    "levels_note": Output(ids.KEY_LEVELS_NOTE, "children"),
}


def as_outputs(r: Rendered) -> dict[str, Any]:
    """Every output by key: what ``r`` holds (None and left-out keys: no_update). The banner is cleared
    when the summary was drawn without one."""
    out = {key: no_update if r.get(key) is None else r[key] for key in OUTPUTS}
    if "title" in r:
        out["banner"] = r.get("banner")
    out["result"] = r.get("result") or {}
    return out


def main_update(state: dict[str, Any] | None, result: dict[str, Any] | None, data_dir: str | None,
                budget_s: float | None = None) -> dict[str, Any]:
    """The callback body: check the inputs (:mod:`dashboard.web.inputs`), render, and turn an unexpected
    bug into a short banner (the traceback is logged with the request id) instead of a dead page.

    A refused input is replaced by its default or nearest valid value, and a banner says which."""
    clean, refused = checked_inputs({f"{ids.VIEW_STORE}.data": state, f"{ids.RESULT_STORE}.data": result})
    state, result = clean[f"{ids.VIEW_STORE}.data"], clean[f"{ids.RESULT_STORE}.data"]
    try:
        rendered = render(state, data_dir, (result or {}).get("keys"), budget_s)
    except Exception:  # noqa: BLE001 - deliberately broad: the page must keep serving
        rendered = _empty_everything(
            "Something went wrong drawing this view",
            banner=error_banner(unexpected("Drawing this view"), title="Unexpected error"),
            header=((state or {}).get("u") or "mmpos", "", ""),
        )
    outputs = as_outputs(rendered)
    if refused:
        kept = rendered.get("banner") if "title" in rendered else None
        outputs["banner"] = [*scenario_banner(tuple(refused)), kept]
    return outputs


COMPARISON_OUTPUTS: dict[str, Output] = {
    key: Output(OUTPUTS[key].component_id, OUTPUTS[key].component_property, allow_duplicate=True)
    for key in ("kpis", "gamma", "levels", "levels_text", "levels_note", "table", "table_page")
}
NO_COMPARISON: dict[str, Any] = dict.fromkeys(COMPARISON_OUTPUTS, no_update)


def comparison(state: dict[str, Any] | None, result: dict[str, Any] | None, data_dir: str | None,
               budget_s: float | None = None) -> dict[str, Any]:
    """The second callback's body: the previous snapshot's part of the panels the main update drew.

    The KPI strip and the key levels again, with changes (when the summary was drawn), and a
    ``Patch`` that adds the previous-net line to the gamma chart (when view 1 was drawn in gamma
    mode): the result equals the figure the builder makes with the previous snapshot. With the
    summary come the per-strike table's rows, opened at the page holding spot: rendering them in the
    main update's pass delayed the charts (the table sits below them).
    """
    drawn = set((result or {}).get("drawn") or ())
    snap = ViewState.of(state).snap if state else None
    if not snap or not drawn & {SUMMARY, "gamma"}:
        return dict(NO_COMPARISON)
    catalog = service.get_catalog(data_dir)
    entry = catalog.get(snap)
    if entry is None or service.too_many_expiries(entry, state.get("exp") if state.get("preset") == "custom" else None):
        return dict(NO_COMPARISON)
    try:
        if service.over_budget(data_dir, entry, scenario_from_state(state), budget_s) is not None:
            return dict(NO_COMPARISON)  # the main update refused it with a banner: nothing to complete
        got = compute(state, catalog, entry, data_dir)
    except (ChainDataError, ScenarioError):
        return dict(NO_COMPARISON)  # the main update's banner already says why
    out = dict(NO_COMPARISON)
    if SUMMARY in drawn:
        rows = table_records(got.current.by_strike)
        out.update(table=rows, table_page=spot_page(rows, got.current.spot))
    try:
        previous = compute_previous(state, catalog, entry, data_dir)
    except ChainDataError:
        return out
    if SUMMARY in drawn:
        out["kpis"] = kpi_strip(got.current, previous.analysis, state, previous.comparison)
        out.update(levels_dict(levels_outputs(key_levels(got.current, previous.analysis, basis=previous.basis),
                                              previous.comparison)))
    gamma_mode = ViewState.of(state).smode == "gamma"
    if "gamma" in drawn and gamma_mode:
        out["gamma"] = gamma_patch(state, got.current, previous.analysis)
    return out


def gamma_patch(state: dict[str, Any], current: Analysis, previous: Analysis | None) -> Patch | Any:
    """What turns the drawn view 1 (built without the previous snapshot) into the one with it."""
    if previous is None:
        return no_update
    full = gamma_figure(ViewState.of(state), current, previous)
    line = next((t for t in full["data"] if t.get("name") == fig.PREVIOUS_NET_TRACE_NAME), None)
    if line is None:  # an empty view has nothing to compare
        return no_update
    patch = Patch()  # the y range stays: it fits today's bars, not the previous line
    patch["data"].append(fig.encode_arrays({"data": [line]})["data"][0])
    return patch


def with_display(state: dict[str, Any] | None, zoom: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The view state plus the user's x zoom on the strike view when it was made on this snapshot (the
    one display choice kept outside the state and the URL)."""
    if not state or not isinstance(state, dict):  # main_update refuses a state that is not an object
        return state
    x = (zoom or {}).get("x") if (zoom or {}).get("rev") == snapshot_revision(state) else None
    return {**state, ZOOM_KEY: list(x) if x else None}


def zoom_from_relayout(relayout: dict[str, Any] | None, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The strike view's zoom store after a relayout: ``{"rev", "x"}``; None after a reset.

    Raises PreventUpdate for relayouts that do not touch the x range (a y zoom, a resize).

    Examples
    --------
    >>> zoom_from_relayout({"xaxis.range[0]": 6600, "xaxis.range[1]": 6800}, {"rev": "SPX|s1"})
    {'rev': 'SPX|s1', 'x': [6600.0, 6800.0]}
    >>> zoom_from_relayout({"xaxis.autorange": True}, {"rev": "SPX|s1"}) is None
    True
    """
    relayout = relayout or {}
    if "xaxis.range[0]" in relayout and "xaxis.range[1]" in relayout:
        x = [relayout["xaxis.range[0]"], relayout["xaxis.range[1]"]]
    elif isinstance(relayout.get("xaxis.range"), list):
        x = relayout["xaxis.range"]
    elif relayout.get("xaxis.autorange"):
        return None
    else:
        raise PreventUpdate
    return {"rev": (result or {}).get("rev"), "x": [float(x[0]), float(x[1])]}


def register(app: dash.Dash) -> None:
    """Declare this panel's callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    # the view arrives through the gate (callbacks/work.py, run by the controls callback)
    budget_s = config.from_env().request_budget_s
    @app.callback(output=OUTPUTS, inputs={"state": Input(ids.READY_VIEW_STORE, "data")},
                  state={"result": State(ids.RESULT_STORE, "data"), "zoom": State(ids.STRIKE_ZOOM_STORE, "data")},
                  prevent_initial_call=True)
    def _main(state: dict[str, Any] | None, result: dict[str, Any] | None,
              zoom: dict[str, Any] | None = None) -> dict[str, Any]:
        # the view state and the result are checked inside main_update; the zoom here
        c, _ = checked_inputs({f"{ids.STRIKE_ZOOM_STORE}.data": zoom})
        return main_update(with_display(state, c[f"{ids.STRIKE_ZOOM_STORE}.data"]), result,
                           current_app.config.get("MMPOS_DATA_DIR"), budget_s)

    @app.callback(output=COMPARISON_OUTPUTS, inputs={"result": Input(ids.RESULT_STORE, "data")},
                  state={"state": State(ids.VIEW_STORE, "data"), "zoom": State(ids.STRIKE_ZOOM_STORE, "data")},
                  prevent_initial_call=True)
    def _compare(result: dict[str, Any] | None, state: dict[str, Any] | None,
                 zoom: dict[str, Any] | None = None) -> dict[str, Any]:
        clean, _refused = checked_inputs({f"{ids.RESULT_STORE}.data": result, f"{ids.VIEW_STORE}.data": state,
                                          f"{ids.STRIKE_ZOOM_STORE}.data": zoom})
        try:
            return comparison(with_display(clean[f"{ids.VIEW_STORE}.data"], clean[f"{ids.STRIKE_ZOOM_STORE}.data"]),
                              clean[f"{ids.RESULT_STORE}.data"], current_app.config.get("MMPOS_DATA_DIR"), budget_s)
        except Exception:  # noqa: BLE001 - the current view is drawn; log and leave it without changes
            unexpected("The previous-snapshot comparison")
            return dict(NO_COMPARISON)
