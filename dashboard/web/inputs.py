"""Every value a server callback receives, checked in one place before the callback reads it.

The browser is not trusted: any client can post any JSON to ``/_dash-update-component``. Each
callback's first line hands its inputs to :func:`checked`, keyed ``"<component id>.<property>"``;
every key has one rule in ``RULES`` (a test checks that every server callback's inputs and states
do). A rule returns the value with its type, a finite value and a bounded size, or refuses it:
a refused value becomes ``None`` (what a control sends when it is empty) and a one-line note the
page shows in a banner. The view state goes through :func:`dashboard.web.state.checked_state` (types,
sizes, then the one validated :class:`~analytics.scenario.Scenario`).

An unexpected exception inside a callback is :func:`unexpected`'s: the traceback goes to the log
with the request id (:mod:`dashboard.http.edge`), the user sees one short line naming that id.

Examples
--------
>>> values, notes = checked({"vol-value.value": "NaN", "shock-range.value": 10})
>>> values, notes
({'vol-value.value': None, 'shock-range.value': 10.0}, ["vol value must be a finite number, got 'NaN'; ignored"])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from dashboard.http.edge import request_id
from dashboard.web import ids
from dashboard.web.panels import CHOICES, PANELS
from dashboard.web.state import (
    FIELDS,
    MAX_ID_CHARS,
    Refused,
    checked_state,
    expiry_texts,
    finite_number,
    history_depth,
    text_or_none,
)

log = logging.getLogger(__name__)

MAX_SEARCH_CHARS = 2_048  # a URL query the page writes is < 200 characters; 10x the longest custom set
MAX_POINTS = 2_000  # points of a click or box-selection payload (one per expiry at most)
MAX_POINT_ITEMS = 8  # elements of one point's customdata
MAX_RESULT_TEXT = 8_192  # one panel key in the result store (a small JSON of the state)
MAX_RESULT_ITEMS = 32  # entries of a dict or list in the result store


def _search(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SEARCH_CHARS:
        raise Refused(f"must be a query of at most {MAX_SEARCH_CHARS:,} characters")
    return value


def _number_or_none(value: Any) -> float | None:
    return None if value is None or value == "" else finite_number(value)


def _labels(value: Any) -> list[str]:
    """A checklist's value: a short list of short texts."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_POINT_ITEMS or not all(
            isinstance(x, str) and len(x) <= MAX_ID_CHARS for x in value):
        raise Refused("must be a short list of names")
    return value


def _scalar(value: Any) -> Any:
    """A JSON scalar a graph point carries: short text, finite number, bool or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_ID_CHARS:
            raise Refused("has a text value that is too long")
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Refused("has a number that is not finite")
        return value
    raise Refused("has a value that is not a scalar")


def _points(value: Any) -> dict[str, Any] | None:
    """A graph's clickData/selectedData: only each point's ``customdata`` and ``x`` are kept."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("points", []), list):
        raise Refused("must be an object with a list of points")
    points = value.get("points", [])
    if len(points) > MAX_POINTS:
        raise Refused(f"at most {MAX_POINTS:,} points allowed, got {len(points):,}")
    kept = []
    for point in points:
        if not isinstance(point, dict):
            raise Refused("must hold objects as points")
        clean = {}
        if "x" in point:
            clean["x"] = _scalar(point["x"])
        if "customdata" in point:
            cd = point["customdata"]
            if isinstance(cd, list):
                if len(cd) > MAX_POINT_ITEMS:
                    raise Refused("has a point with too much custom data")
                clean["customdata"] = [_scalar(x) for x in cd]
            else:
                clean["customdata"] = _scalar(cd)
        kept.append(clean)
    return {"points": kept}


def _clicks(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise Refused("must be a click count")
    return value


def _result(value: Any) -> dict[str, Any]:
    """The result store (what the main update drew): short scalars, small dicts of text, short lists."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS:
        raise Refused("must be a small object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            if len(item) > MAX_RESULT_ITEMS or not all(
                    isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_RESULT_TEXT for k, v in item.items()):
                raise Refused(f"field {key[:24]!r} must map names to short texts")
            out[key] = item
        elif isinstance(item, list):
            if len(item) > MAX_RESULT_ITEMS:
                raise Refused(f"field {key[:24]!r} is too long")
            out[key] = [_scalar(x) for x in item]
        else:
            out[key] = _scalar(item)
    return out


def _position(value: Any) -> int | None:
    """A slider's position: a whole number from 0."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise Refused("must be a position (a whole number from 0)")
    return value


def _snapshot_ids(value: Any) -> list[str]:
    """A list of snapshot ids the page holds (one per snapshot of a session)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_POINTS or not all(
            isinstance(x, str) and len(x) <= MAX_ID_CHARS for x in value):
        raise Refused(f"must be a list of at most {MAX_POINTS:,} snapshot ids")
    return value


def _view_state(value: Any) -> tuple[dict[str, Any] | None, list[str]]:
    if value is None:  # before the first update: no state yet
        return None, []
    return checked_state(value)  # types, sizes, then the Scenario's ranges (dashboard.web.state)


# "<id>.<property>" -> (label in notes, rule). Every input and state of a server callback has one.
def _upload_reply(value: Any) -> dict[str, Any] | None:
    """The upload route's answer as the page passes it on: ``{status, size, body}``, body the route's
    small JSON (short texts and a flag kept, anything else dropped)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refused("must be an object")
    status, size, body = value.get("status"), value.get("size"), value.get("body")
    if not isinstance(status, int) or isinstance(status, bool) or not 0 <= status <= 599:
        raise Refused("must carry an HTTP status")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 2**40:
        raise Refused("must carry a size")
    kept: dict[str, Any] | None = None
    if isinstance(body, dict):
        kept = {k: v for k, v in body.items() if k in ("ok", "message", "name", "entry_id", "underlying", "error", "already")
                and (isinstance(v, bool) or (isinstance(v, str) and len(v) <= MAX_RESULT_TEXT))}
    return {"status": status, "size": size, "body": kept}


def _graph_config(value: Any) -> dict[str, Any] | None:
    """A graph's config as the page sends it back: only the export file name is read, as short text."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS:
        raise Refused("must be a small object")
    options = value.get("toImageButtonOptions")
    name = options.get("filename") if isinstance(options, dict) else None
    if name is not None and (not isinstance(name, str) or len(name) > MAX_ID_CHARS):
        raise Refused("export file name must be short text")
    return {"toImageButtonOptions": {"filename": name}} if name is not None else {}


def _zoom(value: Any) -> dict[str, Any] | None:
    """The strike view's zoom store: the snapshot revision it belongs to and two finite x bounds."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS:
        raise Refused("must be a small object")
    rev, x = value.get("rev"), value.get("x")
    if rev is not None and (not isinstance(rev, str) or len(rev) > MAX_RESULT_TEXT):
        raise Refused("revision must be short text")
    if x is not None:
        if not isinstance(x, list) or len(x) != 2:
            raise Refused("x range must be two numbers")
        x = [finite_number(v) for v in x]
    return {"rev": rev, "x": x}


def _relayout(value: Any) -> dict[str, Any] | None:
    """A graph's relayoutData: only the x-range keys the strike view reads, as finite numbers."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS:
        raise Refused("must be a small object")
    out: dict[str, Any] = {}
    for key in ("xaxis.range[0]", "xaxis.range[1]"):
        if key in value:
            out[key] = finite_number(value[key])
    if isinstance(value.get("xaxis.range"), list) and len(value["xaxis.range"]) == 2:
        out["xaxis.range"] = [finite_number(v) for v in value["xaxis.range"]]
    if value.get("xaxis.autorange") is True:
        out["xaxis.autorange"] = True
    return out


def _cell_click(value: Any) -> dict[str, Any] | None:
    """A grid's cellClicked: only the clicked row's id (an underlying) is read, as short text."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS:
        raise Refused("must be a small object")
    return {"rowId": text_or_none(value.get("rowId"))}


def _known_newest(value: Any) -> dict[str, str] | None:
    """The newest snapshot per underlying the page has seen: a small map of short texts."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RESULT_ITEMS or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= MAX_ID_CHARS and len(v) <= MAX_ID_CHARS
            for k, v in value.items()):
        raise Refused("must map underlyings to snapshot ids")
    return value


RULES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    f"{ids.URL}.search": ("address", _search),
    f"{ids.URL}.pathname": ("page path", text_or_none),
    f"{ids.WATCHLIST_GRID}.cellClicked": ("watchlist click", _cell_click),
    f"{ids.UNDERLYING}.value": ("underlying", text_or_none),
    f"{ids.SNAPSHOT}.value": ("snapshot", text_or_none),
    f"{ids.EXPIRY_PRESET}.value": ("expiry preset", text_or_none),
    f"{ids.EXPIRIES}.value": ("expiries", expiry_texts),
    f"{ids.CONVENTION}.value": ("convention", text_or_none),
    f"{ids.SHOCK_RANGE}.value": ("shock range", _number_or_none),
    f"{ids.HORIZON}.value": ("horizon", _number_or_none),
    f"{ids.VOL_MODE}.value": ("vol mode", text_or_none),
    f"{ids.VOL_VALUE}.value": ("vol value", _number_or_none),
    f"{ids.STACK}.value": ("stacking", _labels),
    f"{ids.FOLLOW}.value": ("follow newest", _labels),
    f"{ids.CATALOG_POLL}.n_intervals": ("snapshot poll", _clicks),
    f"{ids.KNOWN_NEWEST_STORE}.data": ("newest snapshots seen", _known_newest),
    f"{ids.UNITS}.value": ("hedge units", text_or_none),
    f"{ids.FORWARD}.value": ("forward", text_or_none),
    f"{ids.TABS}.value": ("tab", text_or_none),
    f"{ids.HISTORY_DEPTH}.value": ("history depth", lambda v: None if v is None else history_depth(
        v if isinstance(v, int | str) and not isinstance(v, bool) and len(str(v)) <= 8 else None)),
    f"{ids.HISTORY_FILL_TICK}.n_intervals": ("history fill tick", _clicks),
    f"{ids.HISTORY_FILL_STORE}.data": ("history fill", _result),
    **{f"{gid}.clickData": ("history click", _points) for gid in
       (ids.HISTORY_LEVELS_GRAPH, ids.HISTORY_HEATMAP_GRAPH, ids.HISTORY_TERM_GRAPH)},
    f"{ids.INTRADAY_EXPIRIES}.value": ("intraday expiries", text_or_none),
    f"{ids.INTRADAY_SLIDER}.value": ("replay position", _position),
    f"{ids.INTRADAY_TICK}.n_intervals": ("intraday tick", _clicks),
    f"{ids.INTRADAY_FILL_STORE}.data": ("intraday fill", _result),
    f"{ids.INTRADAY_IDS_STORE}.data": ("session snapshots", _snapshot_ids),
    f"{ids.INTRADAY_GRAPH}.clickData": ("intraday click", _points),
    # the panels' own choices: a radio's value is short text, a tick box's a short list (dashboard.web.panels)
    **{f"{c.control_id}.value": (FIELDS[c.key].label, _labels if c.kind == "check" else text_or_none)
       for c in CHOICES},
    f"{ids.STRIKE_ZOOM_STORE}.data": ("strike zoom", _zoom),
    f"{ids.GAMMA_GRAPH}.relayoutData": ("strike view zoom", _relayout),
    f"{ids.EXPIRY_GRAPH}.clickData": ("gamma-by-expiry click", _points),
    f"{ids.EXPIRY_GRAPH}.selectedData": ("gamma-by-expiry selection", _points),
    f"{ids.IV_POLICY}.value": ("IV policy", text_or_none),
    **{f"{p.graph_id}.config": ("chart settings", _graph_config) for p in PANELS},
    f"{ids.TERM_GRAPH}.clickData": ("term-structure click", _points),
    f"{ids.TERM_GRAPH}.selectedData": ("term-structure selection", _points),
    f"{ids.GAMMA_GRAPH}.clickData": ("gamma click", _points),
    f"{ids.CSV_BUTTON}.n_clicks": ("download clicks", _clicks),
    f"{ids.RESULT_STORE}.data": ("view result", _result),
    f"{ids.VIEW_STORE}.data": ("view state", _view_state),
    f"{ids.READY_VIEW_STORE}.data": ("view state", _view_state),
    f"{ids.PENDING_VIEW_STORE}.data": ("view state", _view_state),
    f"{ids.DONE_VIEW_STORE}.data": ("view state", _view_state),
    f"{ids.WORK_CANCEL}.n_clicks": ("cancel clicks", _clicks),
    f"{ids.REPORT_BUTTON}.n_clicks": ("report clicks", _clicks),
    f"{ids.UPLOAD_REPLY_STORE}.data": ("upload answer", _upload_reply),
}


def checked(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each callback input through its rule: the clean values (same keys) and one note per refusal.

    A refused input becomes ``None``; the view state becomes its checked state (its own notes
    are included). A key without a rule is a programming error (KeyError).
    """
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in values.items():
        label, rule = RULES[key]
        try:
            clean = rule(value)
        except Refused as err:
            notes.append(f"{label} {err}; ignored")
            clean = None
        if rule is _view_state and isinstance(clean, tuple):  # a view state and its own notes
            clean, state_notes = clean
            notes.extend(state_notes)
        out[key] = clean
    if notes:
        log.info("request %s: refused callback input: %s", request_id(), "; ".join(notes))
    return out, notes


def unexpected(what: str) -> str:
    """Log the exception being handled with the request id; the short line the user sees instead.

    Call it from an ``except`` block.
    """
    rid = request_id()
    log.exception("request %s: %s failed", rid, what)
    return f"{what} failed; the server log has the details under request id {rid}."
