"""The helper the URL-writing callbacks share (dashboard.web.callbacks.navigation): the History tab's
clicks and the Intraday tab's slider, column click and expiry toggle write the URL through it."""

from __future__ import annotations

import contextvars
import datetime as dt
from types import SimpleNamespace

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard.uploads import UploadResult
from dashboard.web import ids
from dashboard.web.callbacks import controls, follow, history, intraday, upload
from dashboard.web.callbacks.navigation import triggered_prop, url_of, view_with
from dashboard.web.state import SNAPSHOT_BOUND, default_state, from_query, opening_snapshot, to_query


def test_a_view_with_changes_keeps_the_state_and_fills_what_it_lacks_with_defaults():
    s = view_with({"u": "SPX", "snap": "spx-a", "strike": 6800.0}, snap="spx-b", strike=None)
    assert s == {**default_state(), "u": "SPX", "snap": "spx-b", "strike": None}
    assert view_with(None) == default_state()


def test_the_url_of_a_view_is_written_only_when_it_names_another_view():
    s = view_with({"u": "SPX"}, snap="spx-b")
    assert url_of(s, "?u=SPX&snap=spx-a") == "?u=SPX&snap=spx-b" == to_query(s)
    assert from_query(url_of(s, None))["snap"] == "spx-b"
    assert url_of(s, "?u=SPX&snap=spx-b") is no_update  # the same view: no second history entry
    assert url_of(default_state(), None) is no_update and url_of(default_state(), "") is no_update


def _in_callback(triggered: list[dict]) -> str | None:
    def run() -> str | None:
        context_value.set(AttributeDict(triggered_inputs=triggered))
        return triggered_prop()

    return contextvars.copy_context().run(run)


def test_the_triggering_input_is_named_as_the_callbacks_key_it_and_none_on_a_first_call():
    assert _in_callback([{"prop_id": f"{ids.INTRADAY_SLIDER}.value", "value": 3}]) == f"{ids.INTRADAY_SLIDER}.value"
    assert _in_callback([]) is None


@pytest.mark.parametrize("tab", ["history", "intraday"])
def test_both_tabs_open_a_snapshot_by_the_one_url_rule(tab):
    state = {**default_state(), "u": "SPX", "snap": "spx-a", "strike": 6800.0}
    search = to_query(state)
    if tab == "history":
        *_, url = history.navigate(f"{ids.HISTORY_LEVELS_GRAPH}.clickData", search, "history", 20,
                                   {"points": [{"x": "spx-b"}]}, state)
        expected = view_with(state, **opening_snapshot("spx-b"), tab="main")
    else:
        url = intraday.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 1, ["spx-a", "spx-b"], state, search)
        expected = view_with(state, **opening_snapshot("spx-b"))
    assert url == url_of(expected, search) == to_query(expected)


SHOWN = {**default_state(), "u": "SPX", "snap": "spx-a", "strike": 6800.0, "xzoom": [6700.0, 6900.0],
         "volasked": -30.0, "follow": True, "smode": "vanna"}


def _opened(way: str) -> tuple[dict, bool]:
    """The state (or the URL's state) after opening snapshot spx-b of SPX (NDX's newest for the underlying
    control) from SHOWN ``way``; whether it is a whole state (False: read back from a URL, which carries
    neither the zoom nor the asked vol shift)."""
    search = to_query(SHOWN)
    if way == "snapshot control":
        return controls.apply_input(SHOWN, f"{ids.SNAPSHOT}.value", "spx-b"), True
    if way == "underlying control":
        return controls.apply_input(SHOWN, f"{ids.UNDERLYING}.value", "NDX"), True
    if way == "history click":
        *_, url = history.navigate(f"{ids.HISTORY_LEVELS_GRAPH}.clickData", search, "history", 20,
                                   {"points": [{"x": "spx-b"}]}, SHOWN)
    elif way == "intraday slider":
        url = intraday.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 1, ["spx-a", "spx-b"], SHOWN, search)
    elif way == "dropped file":
        url = upload.view_of(UploadResult(ok=True, message="File added", name="x.csv", entry_id="spx-b",
                                          underlying="SPX"), SHOWN)
    else:  # follow newest, against a catalog whose newest SPX snapshot is spx-b
        entry = {"spx-a": SimpleNamespace(id="spx-a", as_of=dt.datetime(2026, 11, 19, 21)),
                 "spx-b": SimpleNamespace(id="spx-b", as_of=dt.datetime(2026, 11, 20, 21))}
        catalog = SimpleNamespace(latest=lambda u: entry["spx-b"], get=entry.get)
        _, _, url = follow.poll(SHOWN, {"SPX": "spx-a"}, catalog)
    return from_query(url), False


@pytest.mark.parametrize("way", ["snapshot control", "underlying control", "history click", "intraday slider",
                                 "dropped file", "follow newest"])
def test_every_way_of_opening_a_snapshot_drops_what_belonged_to_the_one_shown_by_one_rule(way):
    state, whole = _opened(way)
    assert state["snap"] != "spx-a"
    for key in SNAPSHOT_BOUND if whole else ("strike",):
        assert state[key] == default_state()[key], key
    assert state["smode"] == "vanna" and state["follow"] is True  # the rest of the view stays
