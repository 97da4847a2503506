"""The helper the URL-writing callbacks share (dashboard.web.callbacks.navigation): the History tab's
clicks and the Intraday tab's slider, column click and expiry toggle write the URL through it."""

from __future__ import annotations

import contextvars

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard.web import ids
from dashboard.web.callbacks import history, intraday
from dashboard.web.callbacks.navigation import triggered_prop, url_of, view_with
from dashboard.web.state import default_state, from_query, to_query


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
        expected = view_with(state, snap="spx-b", tab="main", strike=None)
    else:
        url = intraday.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 1, ["spx-a", "spx-b"], state, search)
        expected = view_with(state, snap="spx-b", strike=None, xzoom=None)
    assert url == url_of(expected, search) == to_query(expected)
