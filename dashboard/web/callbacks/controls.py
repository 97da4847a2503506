"""Controls <-> view-state store <-> URL, in one consolidated callback (no cycles).

Every way of changing the view funnels through :func:`next_state`: the URL (first load, back and
forward), each control, a click or box-select on the term structure, a click on a gamma bar. It
returns the new state, which becomes the store (the single source of truth), the URL query string
and every control's value, so the controls always follow the store. A Dash callback may use the
same property as input and output, which is what lets this one callback own both directions
without a circular-dependency error.

The same response carries what the first paint would otherwise wait for in later round trips: the
new state through the gate (:func:`gated`: on to the main update, or to a background job) and each
chart's export file name (:func:`dashboard.web.callbacks.export.config_outputs`), before the figures.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from analytics import conventions as conventions_mod
from analytics.catalog import Catalog
from analytics.errors import ChainDataError
from analytics.fmt import format_stamp
from dashboard import service
from dashboard.runtime import config
from dashboard.uploads import original_name
from dashboard.web import ids
from dashboard.web.callbacks import export, work
from dashboard.web.callbacks.navigation import triggered_prop
from dashboard.web.callbacks.watchlist import is_watchlist
from dashboard.web.inputs import checked as checked_inputs
from dashboard.web.inputs import unexpected
from dashboard.web.panels import CHOICES
from dashboard.web.state import (
    PRESETS,
    VOL_MODES,
    ViewState,
    checked_state,
    decode_query,
    default_state,
    expiries_from_selection,
    from_query,
    opening_snapshot,
    scenario_from_state,
    strike_from_click,
    to_query,
)

log = logging.getLogger(__name__)

# The URL's parts whose change is a navigation (first load, back/forward, a header link, a watchlist row):
# the state is read from the query string.
NAVIGATION = (f"{ids.URL}.search", f"{ids.URL}.pathname")

PRESET_LABELS = dict(PRESETS)
CONVENTION_LABELS = conventions_mod.labels()

# Inputs of the consolidated callback, in order: (component id, property)
CONTROL_INPUTS: tuple[tuple[str, str], ...] = (
    (ids.URL, "search"),
    (ids.URL, "pathname"),  # the page: /watchlist computes no positioning view (see :func:`update`)
    (ids.UNDERLYING, "value"),
    (ids.SNAPSHOT, "value"),
    (ids.EXPIRY_PRESET, "value"),
    (ids.EXPIRIES, "value"),
    (ids.CONVENTION, "value"),
    (ids.SHOCK_RANGE, "value"),
    (ids.HORIZON, "value"),
    (ids.VOL_MODE, "value"),
    (ids.VOL_VALUE, "value"),
    (ids.STACK, "value"),
    (ids.FOLLOW, "value"),
    (ids.UNITS, "value"),
    (ids.FORWARD, "value"),
    (ids.IV_POLICY, "value"),
    (ids.TERM_GRAPH, "clickData"),
    (ids.TERM_GRAPH, "selectedData"),
    (ids.GAMMA_GRAPH, "clickData"),
    # the panels' own choices (dashboard.web.panels: strike measure, term spacing, smile axis, ...)
    *((c.control_id, "value") for c in CHOICES),
)


def apply_input(state: dict[str, Any], trigger: str, value: Any) -> dict[str, Any]:
    """The state after one control changed (``trigger`` is ``"<id>.<property>"``). Pure."""
    s = dict(state)
    s["exp"] = list(state.get("exp") or [])
    if trigger == f"{ids.UNDERLYING}.value":
        if value != s.get("u"):
            s.update(u=value, **opening_snapshot(None))
            if s.get("preset") == "custom":
                s.update(preset="all", exp=[])
    elif trigger == f"{ids.SNAPSHOT}.value":
        if value != s.get("snap"):
            s.update(opening_snapshot(value))
    elif trigger == f"{ids.EXPIRY_PRESET}.value":
        if value in PRESET_LABELS:
            s["preset"] = value
    elif trigger == f"{ids.EXPIRIES}.value":
        chosen = sorted({str(v) for v in (value or [])})
        s.update(preset="custom", exp=chosen) if chosen else s.update(preset="all", exp=[])
    elif trigger == f"{ids.CONVENTION}.value":
        if value:
            s["conv"] = value
    elif trigger == f"{ids.SHOCK_RANGE}.value":
        if value:
            s["shock"] = float(value)
    elif trigger == f"{ids.HORIZON}.value":
        s["h"] = 1 if value == 1 else 0
    elif trigger == f"{ids.VOL_MODE}.value":
        mode = value if value in VOL_MODES else "none"
        if mode != s.get("vol"):  # a shift in vol points is not a beta: the number starts again at 0
            s.update(vol=mode, volv=0.0)
    elif trigger == f"{ids.VOL_VALUE}.value":
        try:
            s["volv"] = float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            s["volv"] = 0.0
    elif trigger == f"{ids.FOLLOW}.value":
        s["follow"] = bool(value) and "follow" in value
    elif trigger == f"{ids.STACK}.value":
        s["stack"] = bool(value) and "stack" in value
    elif trigger == f"{ids.UNITS}.value":
        s["units"] = "units" if value == "units" else "usd"
    elif trigger == f"{ids.FORWARD}.value":
        if value:
            s["fwd"] = value
    elif trigger == f"{ids.IV_POLICY}.value":
        if value:
            s["iv"] = value
    elif trigger in (f"{ids.TERM_GRAPH}.clickData", f"{ids.TERM_GRAPH}.selectedData"):
        chosen = expiries_from_selection(value)
        if chosen:
            s.update(preset="custom", exp=chosen)
    elif trigger == f"{ids.GAMMA_GRAPH}.clickData":
        strike = strike_from_click(value)
        s["strike"] = None if strike is None or strike == s.get("strike") else strike
    else:
        for choice in CHOICES:
            if trigger == f"{choice.control_id}.value":
                s[choice.key] = choice.to_state(value)
    return s


@dataclass(frozen=True)
class Resolved:
    """A normalised state and what the controls need to show it."""

    state: dict[str, Any]
    underlyings: list[str]
    snapshots: list[dict[str, Any]]
    expiry_options: list[dict[str, Any]]
    expiry_placeholder: str
    conventions: list[str]
    notices: tuple[str, ...] = ()  # scenario values refused and replaced by the nearest valid ones
    replaced: tuple[str, ...] = ()  # parts of the link (underlying, snapshot, convention) no longer valid


def _snapshot_label(entry: Any) -> str:
    stamp = format_stamp(entry.as_of) if entry.as_of is not None else "?"
    spot = f" · spot {entry.spot:,.2f}" if entry.spot else ""
    name = original_name(entry.path)  # a dropped file: the name it had on the desk's machine
    return f"{stamp}{spot}" + (f" · {name} (uploaded)" if name else "")


def snapshot_options(entries: list[Any], groups: list[tuple[Any, list[Any]]], selected: str | None) -> list[dict[str, Any]]:
    """The snapshot list: a session's snapshots are one "day", shown by its newest snapshot with the
    count (``2026-11-20 16:15 EST · spot 6,753.87 · session 2026-11-20: 79 snapshots``); an earlier
    snapshot of a session appears only while it is the one selected (``· 12 of 79 in session ...``),
    so the list stays one line per day however often snapshots are collected. A session of one
    snapshot keeps its plain label; an unreadable file is listed as such."""
    where: dict[str, tuple[Any, int, int]] = {}
    for session, group in groups:
        for k, e in enumerate(group):
            where[str(e.id)] = (session, k, len(group))
    options = []
    for e in entries:
        key = str(e.id)
        label = _snapshot_label(e) + (" · unreadable" if e.broken else "")
        session, k, n = where.get(key, (None, 0, 1))
        if n > 1 and k == 0:
            label += f" · session {session.isoformat()}: {n} snapshots"
        elif n > 1:
            if key != selected:
                continue
            label += f" · {n - k} of {n} in session {session.isoformat()}"
        options.append({"label": label, "value": key})
    return options


def _expiry_label(d, facts: service.ExpiryFacts) -> str:
    days = (d - facts.as_of).days
    tag = " · M" if d in facts.monthlies else ""
    return f"{d.isoformat()} {d.strftime('%a')} · {days}d{tag}"


def resolve(state: dict[str, Any], catalog: Catalog) -> Resolved:
    """Make a state valid against the catalog and resolve its expiry preset
    (:func:`dashboard.service.resolve_view`, with :func:`dashboard.runtime.config.default_underlying`
    first), plus the labels and options the controls show. Pure given the catalog."""
    got = service.resolve_view(state, catalog, preferred_underlying=config.default_underlying())
    s = got.state
    snapshots = snapshot_options(got.entries, service.session_groups(catalog, s["u"]) if s["u"] else [], s["snap"])
    replaced = got.replaced
    if not s["snap"]:
        return Resolved(s, got.underlyings, snapshots, [], "no snapshot", got.conventions, replaced=replaced)
    if got.facts is None:  # the main update shows the reason in the error banner; the controls stay usable
        reason = got.error.reason if got.error is not None else "unreadable file"
        return Resolved(s, got.underlyings, snapshots, [], f"file could not be read ({reason})", got.conventions,
                        replaced=replaced)
    facts = got.facts
    options = [{"label": _expiry_label(d, facts), "value": d.isoformat()} for d in facts.expiries]
    n = len(s["exp"])
    span = f" ({s['exp'][0]} … {s['exp'][-1]})" if n > 1 else (f" ({s['exp'][0]})" if n else "")
    placeholder = f"{PRESET_LABELS[s['preset']]}: {n} of {len(facts.expiries)} expiries{span}"
    return Resolved(s, got.underlyings, snapshots, options, placeholder, got.conventions, replaced=replaced)


def next_state(trigger: str | None, inputs: Mapping[str, Any], previous: dict[str, Any] | None,
               catalog: Catalog) -> Resolved:
    """The consolidated transition: URL on first load / navigation, otherwise the one changed input."""
    link_notes: list[str] = []
    if trigger is None or trigger in NAVIGATION or not previous:
        state, link_notes = decode_query(inputs.get(f"{ids.URL}.search"))
        if trigger not in (None, *NAVIGATION) and trigger in inputs:
            state = apply_input(state, trigger, inputs[trigger])
    else:
        state = apply_input({**default_state(), **previous}, trigger, inputs.get(trigger))
    state["volasked"] = None  # said only by the transition that clamps (below); the URL names what is drawn
    unknown: tuple[str, ...] = ()
    if state.get("conv") not in conventions_mod.NAMES:  # a link naming a convention that does not exist
        unknown = (f"convention {str(state.get('conv'))[:40]!r} does not exist; showing "
                   f"{conventions_mod.DEFAULT_CONVENTION}",)
        state = {**state, "conv": conventions_mod.DEFAULT_CONVENTION}
    state, notices = checked_state(state)
    resolved = resolve(state, catalog)
    clamped = applied_vol(resolved.state, catalog)
    if clamped is not None:
        resolved = dataclasses.replace(resolved, state=clamped[0])
        notices.append(clamped[1])
    return dataclasses.replace(resolved, notices=tuple(link_notes + notices), replaced=unknown + resolved.replaced)


def applied_vol(state: dict[str, Any], catalog: Catalog) -> tuple[dict[str, Any], str] | None:
    """The state with the vol shift the engine applies to its snapshot, and the banner's note; None when
    the shift applies as asked (:func:`dashboard.service.applied_scenario`: a negative shift may not take
    the chain's lowest IV below its floor). The asked value stays in the state (``volasked``, not in
    the URL) so the cards say what was asked and what is drawn."""
    if state.get("vol") != "shift" or not (state.get("volv") or 0.0) < 0 or not state.get("snap"):
        return None
    entry = catalog.get(state["snap"])
    if entry is None:
        return None
    scenario, why = service.applied_scenario(catalog.data_dir, entry, scenario_from_state(state))
    if why is None:
        return None
    out = {**state, "volv": scenario.vol_shift_pts, "volasked": scenario.asked_vol_shift_pts}
    return out, f"{why}; using {scenario.vol_shift_pts:g}"


def catalog_banner(catalog: Catalog) -> list:
    """A warning naming the files the catalog could not read (relative names and reasons only, never
    content or absolute paths; capped, the rest counted), while everything else keeps working."""
    summary = catalog.broken_summary()
    if not summary.total:
        return []
    items = [html.Li([html.Code(rel), f": {reason}"]) for rel, reason in summary.shown]
    if summary.n_more:
        items.append(html.Li(f"... and {summary.more_text}"))
    what = "1 file in the data folder could not be read and is" if summary.total == 1 else (
        f"{summary.total:,} files in the data folder could not be read and are")
    return [
        html.Div(
            className="banner banner-warn",
            children=[
                html.Strong(f"{what} left out; everything else works."),
                html.Ul(items),
            ],
        )
    ]


def scenario_banner(notices: tuple[str, ...]) -> list:
    """A warning naming each scenario value that was refused and the nearest valid value used."""
    if not notices:
        return []
    return [html.Div(className="banner banner-warn", children=[
        html.Strong("Scenario value refused; the view uses the nearest valid value: "),
        html.Ul([html.Li(n) for n in notices]),
    ])]


def link_banner(replaced: tuple[str, ...]) -> list:
    """A warning naming each part of the link that no longer exists and what is shown instead."""
    if not replaced:
        return []
    return [html.Div(className="banner banner-warn link-banner", children=[
        html.Strong("This link names something that is not here; showing the nearest valid view "
                    "(the address now names it): "),
        html.Ul([html.Li(r) for r in replaced]),
    ])]


def control_outputs(resolved: Resolved) -> dict[str, Any]:
    """Control properties that show a resolved state (what the controls follow)."""
    v = ViewState.of(resolved.state)
    return {
        "u_options": [{"label": u, "value": u} for u in resolved.underlyings],
        "u": v.u,
        "snap_options": resolved.snapshots,
        "snap": v.snap,
        "preset": v.preset,
        "exp_options": resolved.expiry_options,
        "exp": list(v.exp) if v.preset == "custom" else [],
        "exp_placeholder": resolved.expiry_placeholder,
        "conv_options": [{"label": CONVENTION_LABELS.get(c, c), "value": c} for c in resolved.conventions],
        "conv": v.conv,
        "shock": int(v.shock) if float(v.shock).is_integer() else v.shock,
        "h": int(v.h),
        "vol": v.vol,
        "volv": v.volv,
        "volv_disabled": v.vol == "none",
        "stack": ["stack"] if v.stack else [],
        "follow": ["follow"] if v.follow else [],
        "units": v.units,
        "fwd": v.fwd,
        "iv": v.iv,
        **{c.key: c.to_control(getattr(v, c.key)) for c in CHOICES},
    }


OUTPUTS: tuple[tuple[str, str, str], ...] = (
    # (key in control_outputs or special, component id, property)
    ("store", ids.VIEW_STORE, "data"),
    ("search", ids.URL, "search"),
    ("banner", ids.CATALOG_BANNER, "children"),
    ("u_options", ids.UNDERLYING, "options"),
    ("u", ids.UNDERLYING, "value"),
    ("snap_options", ids.SNAPSHOT, "options"),
    ("snap", ids.SNAPSHOT, "value"),
    ("preset", ids.EXPIRY_PRESET, "value"),
    ("exp_options", ids.EXPIRIES, "options"),
    ("exp", ids.EXPIRIES, "value"),
    ("exp_placeholder", ids.EXPIRIES, "placeholder"),
    ("conv_options", ids.CONVENTION, "options"),
    ("conv", ids.CONVENTION, "value"),
    ("shock", ids.SHOCK_RANGE, "value"),
    ("h", ids.HORIZON, "value"),
    ("vol", ids.VOL_MODE, "value"),
    ("volv", ids.VOL_VALUE, "value"),
    ("volv_disabled", ids.VOL_VALUE, "disabled"),
    ("stack", ids.STACK, "value"),
    ("follow", ids.FOLLOW, "value"),
    ("units", ids.UNITS, "value"),
    ("fwd", ids.FORWARD, "value"),
    ("iv", ids.IV_POLICY, "value"),
    *((c.key, c.control_id, "value") for c in CHOICES),
    # the gate (dashboard.web.callbacks.work.gate): the view goes on to the main update, or to a background job
    ("ready", ids.READY_VIEW_STORE, "data"),
    ("pending", ids.PENDING_VIEW_STORE, "data"),
    # export file names (dashboard.web.callbacks.export), sent before the figures
    *((f"config:{gid}", gid, "config") for gid, _ in export.GRAPHS),
)


def _banner_only(banner: list, **values: Any) -> list[Any]:
    """Outputs that change nothing but the catalog banner (and any ``values`` given by key)."""
    values["banner"] = banner
    if "store" in values:
        values["ready"] = values["store"]  # the main update says what is wrong
    return [values.get(key, no_update) for key, _, _ in OUTPUTS]


def _error_banner(title: str, message: str) -> list:
    return [html.Div(className="banner banner-error", children=[html.Strong(title + ": "), html.Span(message)])]


def _named_snapshot(trigger: str | None, inputs: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str | None:
    """The snapshot id this transition names (the link's, the snapshot control's or the previous state's):
    one another worker may have just stored (an upload), so the catalog is rescanned when it lacks it."""
    if trigger == f"{ids.SNAPSHOT}.value":
        value = inputs.get(trigger)
        return value if isinstance(value, str) else None
    if trigger is None or trigger in NAVIGATION or not previous:
        return from_query(inputs.get(f"{ids.URL}.search")).get("snap")
    snap = previous.get("snap")
    return snap if isinstance(snap, str) else None


def update(trigger: str | None, inputs: Mapping[str, Any], previous: dict[str, Any] | None,
           data_dir: str | None, refused: tuple[str, ...] = ()) -> list[Any]:
    """The callback body as a plain function: every output in ``OUTPUTS`` order.

    ``refused`` are the notes of inputs :func:`dashboard.web.inputs.checked` refused (shown in the banner).
    On the watchlist's path (``url.pathname`` in ``inputs``) nothing is computed: the positioning view is
    hidden there, and is made when the page comes back to it (the path changes: a navigation).

    Raises
    ------
    PreventUpdate
        On ``/watchlist``, or when the transition changes nothing the views show.
    """
    if is_watchlist(inputs.get(f"{ids.URL}.pathname")):
        raise PreventUpdate
    try:
        catalog = service.get_catalog(data_dir, naming=_named_snapshot(trigger, inputs, previous))
    except ChainDataError as err:  # e.g. the data folder does not exist
        name = Path(service.resolve_data_dir(data_dir)).name  # never the absolute path
        return _banner_only(_error_banner("The data folder cannot be read", f"{name}: {err.reason}"),
                            store=default_state())
    resolved = next_state(trigger, inputs, previous, catalog)
    if trigger not in (None, f"{ids.URL}.search") and previous and resolved.state == previous:
        # e.g. a cleared box-selection, or back from /watchlist to the view it left
        raise PreventUpdate  # nothing the views show has changed
    values = control_outputs(resolved)
    values["store"] = values["ready"] = resolved.state  # on to the main update (the gate may hand it to a job)
    values["pending"] = no_update
    for (gid, _), cfg in zip(export.GRAPHS, export.config_outputs(resolved.state, previous, catalog), strict=True):
        values[f"config:{gid}"] = cfg
    search = to_query(resolved.state)
    # Back/forward navigation only reads the URL; writing it back would push a new history entry. The
    # page's first load also arrives as a URL change (the location mounts) but with no store yet: a link
    # that named something no longer valid is then rewritten to the view shown.
    navigating = trigger in NAVIGATION
    repaired = navigating and not previous and bool(resolved.replaced or resolved.notices)
    unchanged = search == (inputs.get(f"{ids.URL}.search") or "")
    values["search"] = no_update if unchanged or (navigating and not repaired) else search
    values["banner"] = (catalog_banner(catalog) + link_banner(resolved.replaced)
                        + scenario_banner(tuple(refused) + resolved.notices))
    return [values[key] for key, _, _ in OUTPUTS]


def gated(outputs: list[Any], route: Callable[[Any, str | None], tuple[Any, Any]], data_dir: str | None) -> list[Any]:
    """``outputs`` (in ``OUTPUTS`` order) with the new view state routed by the gate ``route``
    (:func:`dashboard.web.callbacks.work.gate`): on to the main update, or to a background job.

    The gate runs here, in the request that makes the view state, rather than in a callback of its own
    after it: one round trip and one render pass less before the charts."""
    at = {key: i for i, (key, _, _) in enumerate(OUTPUTS)}
    state = outputs[at["store"]]
    if state is no_update:
        return outputs
    out = list(outputs)
    out[at["ready"]], out[at["pending"]] = route(state, data_dir)
    return out


def register(app: dash.Dash) -> None:
    """Declare this panel's callback on ``app`` (each app gets its own: see dashboard.app)."""
    route = work.gate(config.from_env())

    @app.callback(
        [Output(cid, prop) for _, cid, prop in OUTPUTS],
        [Input(cid, prop) for cid, prop in CONTROL_INPUTS],
        State(ids.VIEW_STORE, "data"),
    )
    def _controls(*args: Any) -> list[Any]:
        *values, previous = args
        raw = {f"{cid}.{prop}": v for (cid, prop), v in zip(CONTROL_INPUTS, values, strict=True)}
        inputs, refused = checked_inputs({**raw, f"{ids.VIEW_STORE}.data": previous})
        previous = inputs.pop(f"{ids.VIEW_STORE}.data")
        trigger = triggered_prop()
        data_dir = current_app.config.get("MMPOS_DATA_DIR")
        try:
            return gated(update(trigger, inputs, previous, data_dir, tuple(refused)), route, data_dir)
        except PreventUpdate:
            raise
        except Exception:  # noqa: BLE001 - deliberately broad: log it, say so briefly, keep the page alive
            return _banner_only(_error_banner("Unexpected error", unexpected("Updating the controls")))
