"""The main update: view state -> analyses (cached) -> the three views, KPI strip, table, header;
then the comparison with the previous snapshot, from a second callback.

One callback owns every panel so one ``analyze()`` feeds them all. Panels whose inputs did not
change since the last render (kept as small keys in the result store) are sent as ``no_update``:
a strike click redraws view 1 and the breakdown only, the USD/units toggle the hedging view only.

The previous snapshot (the KPI strip's changes, the grey previous-net line on the gamma view) is
a second analysis; the main update does not wait for it. When the result store changes, the
comparison callback fills it in: the KPI strip again with changes, and the line added to the drawn
gamma chart with a ``Patch`` (the figure is not sent twice).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, Patch, State, html, no_update
from flask import current_app

from analytics.catalog import Catalog, CatalogEntry
from analytics.errors import ChainDataError
from analytics.report import Analysis
from dashboard import figures as fig
from dashboard import ids, service
from dashboard.callbacks.controls import CONVENTION_LABELS
from dashboard.layout import FIGURE_HEIGHT
from dashboard.state import scenario_from_state

log = logging.getLogger(__name__)

PANELS = ("gamma", "breakdown", "hedge", "term", "summary")


# --------------------------------------------------------------------------- pure helpers


# What each panel reads from the state. The analysis of the selection depends on every base field;
# view 1 does not read the shock grid or the horizon, and the term structure and the strike
# breakdown read neither those nor the vol scenario.
_BASE = ("u", "snap", "preset", "exp", "conv", "shock", "h", "vol", "volv")
PANEL_FIELDS: dict[str, tuple[str, ...]] = {
    "summary": _BASE,
    "hedge": (*_BASE, "units"),
    "gamma": ("u", "snap", "preset", "exp", "conv", "vol", "volv", "stack", "strike"),
    "breakdown": ("u", "snap", "preset", "exp", "conv", "strike"),
    "term": ("u", "snap", "preset", "exp", "conv"),
}


def panel_keys(state: dict[str, Any]) -> dict[str, str]:
    """What each panel depends on, as JSON strings: equal key = nothing to redraw (and a cache key)."""
    return {
        panel: json.dumps({k: state.get(k) for k in fields}, sort_keys=True, default=str)
        for panel, fields in PANEL_FIELDS.items()
    }


def previous_expiries(state: dict[str, Any], prev_facts: service.ExpiryFacts) -> list[str] | None:
    """The expiry set to compare against on the previous snapshot.

    A named preset is re-resolved on the previous snapshot's date (\"next 7 days\" then); a custom
    set keeps the dates still live then. ``[]`` means there is nothing comparable.
    """
    preset = state.get("preset") or "all"
    if preset == "all":
        return None
    if preset != "custom":
        return [d.isoformat() for d in prev_facts.resolve(preset)]
    live = {d.isoformat() for d in prev_facts.expiries}
    return [d for d in state.get("exp") or [] if d in live]


def kpi_values(analysis: Analysis) -> dict[str, Any]:
    """The KPI strip's numbers for one analysis; hedge flows at the chosen horizon."""
    return fig.kpi_values(
        spot=analysis.spot,
        total_gex_usd_per_1pct=analysis.total_gex_usd_per_1pct,
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
    cards = fig.kpi_cards(kpi_values(current), kpi_values(previous) if previous is not None else None,
                          underlying=current.underlying)
    return fig.kpi_strip(cards, horizon_days=float(state.get("h") or 0), vol_mode=state.get("vol"),
                         vol_value=float(state.get("volv") or 0.0), comparison=comparison)


def table_records(by_strike: pd.DataFrame) -> list[dict[str, float]]:
    """Per-strike rows for the DataTable: strikes with any exposure, USD rounded to whole dollars."""
    cols = ["strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"]
    frame = by_strike[cols]
    nonzero = (frame[cols[1:]].abs().to_numpy() > 0.5).any(axis=1)
    frame = frame.loc[nonzero].sort_values("strike")
    out = frame.round({c: 0 for c in cols[1:]})
    return out.to_dict(orient="records")


def header_text(analysis: Analysis, entry: CatalogEntry) -> tuple[str, str, str]:
    stamp = analysis.as_of.strftime("%Y-%m-%d %H:%M %Z").strip()
    title = f"{analysis.underlying}  ·  spot {analysis.spot:,.2f}"
    snapshot = f"Snapshot {stamp}  ·  {str(entry.path).rsplit('/', 1)[-1]}"
    model = analysis.model_description  # the forward and IV choice in words (analytics.prepare.model_text)
    convention = f"Convention: {analysis.convention} ({CONVENTION_LABELS.get(analysis.convention, '')}) · {model}"
    return title, snapshot, convention


def error_banner(message: str, *, kind: str = "error", title: str = "This snapshot could not be read") -> html.Div:
    return html.Div(className=f"banner banner-{kind}", children=[html.Strong(title + ": "), html.Span(message)])


def notes_banner(warnings: list[str]) -> html.Details | None:
    if not warnings:
        return None
    return html.Details(
        className="banner banner-info",
        children=[
            html.Summary(f"{len(warnings)} data note{'s' if len(warnings) > 1 else ''} from loading this snapshot"),
            html.Ul([html.Li(w) for w in warnings]),
        ],
    )


@dataclass
class Rendered:
    """Everything the main callback outputs, by panel; ``None`` panels become no_update."""

    gamma: Any = None
    breakdown: Any = None
    hedge: Any = None
    term: Any = None
    kpis: Any = None
    table: Any = None
    header: tuple[str, str, str] | None = None
    banner: Any = None
    result: dict[str, Any] = field(default_factory=dict)


def _empty_everything(message: str, *, banner: Any, header: tuple[str, str, str]) -> Rendered:
    empty = fig.empty_figure(message)
    return Rendered(
        gamma=empty, breakdown=empty, hedge=empty, term=empty, kpis=[], table=[], header=header, banner=banner,
        result={"spot": None, "keys": {}},
    )


@dataclass(frozen=True)
class Analyses:
    current: Analysis
    full: Analysis


@dataclass(frozen=True)
class Previous:
    """The previous snapshot's analysis for the same view, or why there is none to compare with."""

    analysis: Analysis | None
    entry: CatalogEntry | None
    note: str | None

    @property
    def comparison(self) -> str:
        a = self.analysis
        return fig.comparison_note(a.underlying if a else None, a.as_of if a else None, self.note)


def compute(state: dict[str, Any], catalog: Catalog, entry: CatalogEntry, data_dir: str | None) -> Analyses:
    """The analyses one render needs (all cached): the selection and the full chain (term view)."""
    scenario = scenario_from_state(state)
    current = service.analysis_for(data_dir, entry, scenario)
    full = current if scenario.expiries is None else service.term_analysis_for(data_dir, entry, scenario)
    return Analyses(current, full)


def compute_previous(state: dict[str, Any], catalog: Catalog, entry: CatalogEntry, data_dir: str | None) -> Previous:
    """The previous snapshot's analysis for the same view (cached): hedge flows at the KPI shocks only."""
    previous_entry = service.previous_entry(catalog, entry)
    if previous_entry is None or previous_entry.broken:
        return Previous(None, previous_entry, None)
    try:
        prev_exp = previous_expiries(state, service.facts_for(previous_entry))
        if prev_exp == []:
            return Previous(None, previous_entry, "none of the selected expiries was live in the previous snapshot")
        scenario = scenario_from_state(state).replace(expiries=prev_exp)
        return Previous(service.kpi_analysis_for(data_dir, previous_entry, scenario), previous_entry, None)
    except ChainDataError as err:
        return Previous(None, previous_entry, f"previous snapshot not comparable: {err}")


def render(state: dict[str, Any] | None, data_dir: str | None, last_keys: dict[str, str] | None) -> Rendered:
    """The callback body as a plain function."""
    if not state or not state.get("u"):
        root = service.resolve_data_dir(data_dir)
        return _empty_everything(
            f"No option-chain files found in {root}",
            banner=error_banner(f"no readable option-chain files in {root}", kind="warn", title="Nothing to show"),
            header=("mmpos", "no snapshot", ""),
        )
    catalog = service.get_catalog(data_dir)
    entry = catalog.get(state.get("snap")) if state.get("snap") else None
    if entry is None:
        return _empty_everything(
            f"No readable snapshot for {state['u']}",
            banner=error_banner(f"no snapshot for {state['u']}", kind="warn", title="Nothing to show"),
            header=(state["u"], "no snapshot", ""),
        )
    try:
        got = compute(state, catalog, entry, data_dir)
    except ChainDataError as err:
        name = str(entry.path).rsplit("/", 1)[-1]
        return _empty_everything(
            f"{name} could not be read: pick another snapshot or underlying",
            banner=error_banner(str(err)),
            header=(state["u"], f"Snapshot file {name} (unreadable)", f"Convention: {state.get('conv')}"),
        )
    return build_panels(state, got, entry, last_keys or {}, data_dir)


def build_figure(panel: str, state: dict[str, Any], got: Analyses) -> dict[str, Any]:
    """One view's figure dict from computed analyses (pure: calls the figure builders)."""
    a = got.current
    if panel == "gamma":
        return gamma_figure(state, a, None)
    if panel == "breakdown":
        strike = state.get("strike")
        if strike is None and not a.by_strike.empty:  # until a bar is clicked: the largest |net GEX| strike
            net = a.by_strike["net_gex_usd_per_1pct"].abs()
            strike = float(a.by_strike.loc[net.idxmax(), "strike"])
        title = f"Strike {fig.format_strike(strike)} by expiry" if strike is not None else None
        return fig.strike_breakdown_figure(a.by_strike_expiry, strike, title=title, height=FIGURE_HEIGHT["breakdown"])
    if panel == "hedge":
        return two_line_axis_titles(fig.hedge_curve_figure(
            a.hedge_curves,
            gamma_profile=a.gamma_profile,
            spot=a.spot,
            zero_gamma_levels=a.zero_gamma_levels,
            units=state.get("units") or "usd",
            underlying=a.underlying,
            height=FIGURE_HEIGHT["hedge"],
            uirevision=f"{state.get('u')}|{state.get('snap')}",
        ))
    if panel == "term":
        return fig.term_structure_figure(
            got.full.term_structure,
            selected_expiries=[d.isoformat() for d in a.expiries] if state.get("preset") != "all" else None,
            height=FIGURE_HEIGHT["term"],
            uirevision=f"{state.get('u')}|{state.get('snap')}",
        )
    raise ValueError(f"unknown panel {panel!r}")


def gamma_figure(state: dict[str, Any], a: Analysis, previous: Analysis | None) -> dict[str, Any]:
    """View 1, with the previous snapshot's net GEX line when ``previous`` is given."""
    return fig.gamma_by_strike_figure(
        a.by_strike,
        spot=a.spot,
        zero_gamma_levels=a.zero_gamma_levels,
        call_wall=a.call_wall,
        put_wall=a.put_wall,
        previous_net=previous.by_strike[["strike", "net_gex_usd_per_1pct"]] if previous is not None else None,
        by_strike_expiry=a.by_strike_expiry,
        stack_by_expiry=bool(state.get("stack")),
        highlight_strike=state.get("strike"),
        height=FIGURE_HEIGHT["gamma"],
        uirevision=f"{state.get('u')}|{state.get('snap')}",
    )


class _NotInKey:
    """Carries values through ``functools.lru_cache`` without being part of the key (all compare equal)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NotInKey)


FIGURE_CACHE_SIZE = 64  # figures of recent views per worker: 4 panels x 16 views, ~10-70 KB each (< 5 MB)


@functools.lru_cache(maxsize=FIGURE_CACHE_SIZE)
def _figure_json(panel: str, data_dir: str | None, key: str, mtime_ns: int, inputs: _NotInKey) -> dict[str, Any]:
    """A panel's figure ready to send, cached by what it depends on: its key, the folder, the file
    version. ``inputs`` carries the (state, analyses) to build it from on a miss."""
    del data_dir, key, mtime_ns  # the cache key
    state, got = inputs.value
    return fig.encode_arrays(build_figure(panel, state, got))


def build_panels(state: dict[str, Any], got: Analyses, entry: CatalogEntry, last_keys: dict[str, str],
                 data_dir: str | None = None) -> Rendered:
    """Figures, KPI cards, table and header for computed analyses; unchanged panels stay None.

    The result store names the panels drawn (``drawn``): what the comparison callback completes.
    """
    a = got.current
    keys = panel_keys(state)
    changed = {p: keys[p] != last_keys.get(p) for p in PANELS}
    out = Rendered(result={"spot": a.spot, "underlying": a.underlying, "keys": keys,
                           "drawn": [p for p in PANELS if changed[p]]})
    mtime = service.entry_key(entry)[1]
    for panel in ("gamma", "breakdown", "hedge", "term"):
        if changed[panel]:
            setattr(out, panel, _figure_json(panel, data_dir, keys[panel], mtime, _NotInKey((state, got))))
    if changed["summary"]:
        out.kpis = kpi_strip(a, None, state, None)
        out.table = table_records(a.by_strike)
        out.header = header_text(a, entry)
        out.banner = notes_banner(list(a.warnings))
    return out


def clear_caches() -> None:
    """Forget cached figures, analyses, catalogs and chains (the benchmark's cold path)."""
    _figure_json.cache_clear()
    service.clear_caches()


def two_line_axis_titles(figure: dict[str, Any]) -> dict[str, Any]:
    """Break long y-axis titles before their unit (``"Total GEX<br>(USD per 1%)"``) for stacked rows."""
    layout = figure["layout"]
    for name, axis in list(layout.items()):
        if not (name == "yaxis" or (name.startswith("yaxis") and name[5:].isdigit())):
            continue
        text = ((axis or {}).get("title") or {}).get("text")
        if text and "<br>" not in text:
            layout[name] = fig.merge(axis, {"title": {"text": text.replace(" (", "<br>(", 1)}})
    return figure


# --------------------------------------------------------------------------- wiring

OUTPUTS = (
    Output(ids.GAMMA_GRAPH, "figure"),
    Output(ids.BREAKDOWN_GRAPH, "figure"),
    Output(ids.HEDGE_GRAPH, "figure"),
    Output(ids.TERM_GRAPH, "figure"),
    Output(ids.KPI_STRIP, "children"),
    Output(ids.STRIKE_TABLE, "data"),
    Output(ids.HEADER_TITLE, "children"),
    Output(ids.HEADER_SNAPSHOT, "children"),
    Output(ids.HEADER_CONVENTION, "children"),
    Output(ids.BANNER, "children"),
    Output(ids.RESULT_STORE, "data"),
)


def as_outputs(r: Rendered) -> list[Any]:
    keep = lambda x: no_update if x is None else x  # noqa: E731
    header = r.header or (None, None, None)
    summary_done = r.header is not None
    return [
        keep(r.gamma), keep(r.breakdown), keep(r.hedge), keep(r.term), keep(r.kpis), keep(r.table),
        keep(header[0]), keep(header[1]), keep(header[2]),
        r.banner if summary_done else no_update,
        r.result,
    ]


def main_update(state: dict[str, Any] | None, result: dict[str, Any] | None, data_dir: str | None) -> list[Any]:
    """The callback body: render, and turn an unexpected bug into a banner (logged) instead of a dead page."""
    try:
        rendered = render(state, data_dir, (result or {}).get("keys"))
    except Exception as err:  # noqa: BLE001 - deliberately broad: the page must keep serving
        log.exception("main update failed for state %s", state)
        rendered = _empty_everything(
            "Something went wrong drawing this view",
            banner=error_banner(f"{type(err).__name__}: {err}", title="Unexpected error (logged)"),
            header=((state or {}).get("u") or "mmpos", "", ""),
        )
    return as_outputs(rendered)


COMPARISON_OUTPUTS = (
    Output(ids.KPI_STRIP, "children", allow_duplicate=True),
    Output(ids.GAMMA_GRAPH, "figure", allow_duplicate=True),
)


def comparison(state: dict[str, Any] | None, result: dict[str, Any] | None, data_dir: str | None) -> list[Any]:
    """The second callback's body: the previous snapshot's part of the panels the main update drew.

    The KPI strip again, with changes (when the summary was drawn), and a ``Patch`` that adds the
    previous-net line to the gamma chart and widens its y range to fit the line (when view 1 was
    drawn): the result equals the figure the builder makes with the previous snapshot.
    """
    drawn = set((result or {}).get("drawn") or ())
    if not state or not state.get("snap") or not drawn & {"summary", "gamma"}:
        return [no_update, no_update]
    catalog = service.get_catalog(data_dir)
    entry = catalog.get(state["snap"])
    if entry is None:
        return [no_update, no_update]
    try:
        got = compute(state, catalog, entry, data_dir)
        previous = compute_previous(state, catalog, entry, data_dir)
    except ChainDataError:
        return [no_update, no_update]  # the main update's banner already says why
    kpis = kpi_strip(got.current, previous.analysis, state, previous.comparison) if "summary" in drawn else no_update
    return [kpis, gamma_patch(state, got.current, previous.analysis) if "gamma" in drawn else no_update]


def gamma_patch(state: dict[str, Any], current: Analysis, previous: Analysis | None) -> Patch | Any:
    """What turns the drawn view 1 (built without the previous snapshot) into the one with it."""
    if previous is None:
        return no_update
    full = gamma_figure(state, current, previous)
    line = next((t for t in full["data"] if t.get("name") == fig.PREVIOUS_NET_TRACE_NAME), None)
    if line is None:  # an empty view has nothing to compare
        return no_update
    patch = Patch()
    patch["data"].append(fig.encode_arrays({"data": [line]})["data"][0])
    y_range = full["layout"].get("yaxis", {}).get("range")
    if y_range is not None:
        patch["layout"]["yaxis"]["range"] = y_range
    return patch


def register(app: dash.Dash) -> None:
    """Declare this panel's callbacks on ``app`` (each app gets its own: see dashboard.app)."""
    @app.callback(*OUTPUTS, Input(ids.READY_VIEW_STORE, "data"), State(ids.RESULT_STORE, "data"),
                  prevent_initial_call=True)  # the view arrives through the gate (callbacks/work.py)
    def _main(state: dict[str, Any] | None, result: dict[str, Any] | None) -> list[Any]:
        return main_update(state, result, current_app.config.get("MMPOS_DATA_DIR"))

    @app.callback(*COMPARISON_OUTPUTS, Input(ids.RESULT_STORE, "data"), State(ids.VIEW_STORE, "data"),
                  prevent_initial_call=True)
    def _compare(result: dict[str, Any] | None, state: dict[str, Any] | None) -> list[Any]:
        try:
            return comparison(state, result, current_app.config.get("MMPOS_DATA_DIR"))
        except Exception:  # noqa: BLE001 - the current view is drawn; log and leave it without changes
            log.exception("previous-snapshot comparison failed for state %s", state)
            return [no_update, no_update]
