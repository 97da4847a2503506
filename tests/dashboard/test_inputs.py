"""Every server callback's inputs go through dashboard.web.inputs: one rule per input, refusals as notes."""

from __future__ import annotations

import doctest
import logging
import math

import pytest

import dashboard.web.inputs
from dashboard.app import create_app
from dashboard.web import ids
from dashboard.web.inputs import RULES, checked, unexpected
from dashboard.web.state import MAX_SHOCK_RANGE_PCT, default_state, typed_state


def test_every_input_and_state_of_every_server_callback_has_a_rule(tmp_path):
    app = create_app(tmp_path)
    server_side = [cb for cb in app.callback_map.values() if cb.get("callback") is not None]
    assert len(server_side) >= 4
    needed = {f"{dep['id']}.{dep['property']}" for cb in server_side for dep in (*cb["inputs"], *cb["state"])}
    assert needed - set(RULES) == set()


def test_the_module_examples_run():
    assert doctest.testmod(dashboard.web.inputs).failed == 0


def test_good_control_values_pass_unchanged_and_silently():
    values = {f"{ids.UNDERLYING}.value": "SPX", f"{ids.EXPIRIES}.value": ["2026-11-27"],
              f"{ids.STACK}.value": ["stack"], f"{ids.GAMMA_GRAPH}.clickData": {"points": [{"x": 6800, "customdata": [6800]}]},
              f"{ids.URL}.search": "?u=SPX&exp=7d", f"{ids.CSV_BUTTON}.n_clicks": 3}
    assert checked(values) == (values, [])


@pytest.mark.parametrize(("key", "value", "note"), [
    (f"{ids.VOL_VALUE}.value", float("inf"), "vol value must be a finite number"),
    (f"{ids.SHOCK_RANGE}.value", [1], "shock range must be a number"),
    (f"{ids.UNDERLYING}.value", "X" * 10_000, "underlying must be text of at most 256 characters"),
    (f"{ids.EXPIRIES}.value", ["2026-11-27"] * 2_001, "at most 2,000 dates"),
    (f"{ids.STACK}.value", 5, "stacking must be a short list"),
    (f"{ids.TERM_GRAPH}.selectedData", {"points": [{"customdata": {"a": 1}}]}, "not a scalar"),
    (f"{ids.GAMMA_GRAPH}.clickData", {"points": [{"x": math.nan}]}, "not finite"),
    (f"{ids.CSV_BUTTON}.n_clicks", "1e308", "must be a click count"),
    (f"{ids.RESULT_STORE}.data", {"keys": {"gamma": 5}}, "must map names to short texts"),
])
def test_a_hostile_control_value_becomes_none_with_one_note(key, value, note):
    values, notes = checked({key: value})
    assert values == {key: None}
    assert len(notes) == 1 and note in notes[0] and notes[0].endswith("; ignored")


def test_the_view_state_is_typed_then_checked_against_the_scenario():
    values, notes = checked({f"{ids.VIEW_STORE}.data": default_state(u="SPX", shock="1e7", vol="shift", volv=1e308)})
    state = values[f"{ids.VIEW_STORE}.data"]
    assert state["shock"] == MAX_SHOCK_RANGE_PCT and state["volv"] == 500.0
    assert notes == ["shock range 1e+07 is out of range: allowed 5 to 30 (percent); using 30",
                     "vol shift 1e+308 is out of range: allowed -500 to 500 (vol points; the chain's lowest IV "
                     "sets the low end); using 500"]
    assert checked({f"{ids.VIEW_STORE}.data": None}) == ({f"{ids.VIEW_STORE}.data": None}, [])


def test_a_view_state_keeps_short_extra_keys_and_drops_large_ones():
    state, notes = typed_state({**default_state(), "theme": "dark", "blob": ["x"] * 10})
    assert state["theme"] == "dark" and "blob" not in state
    assert notes == ["view state field 'blob' refused: not a short scalar"]


def test_an_unexpected_error_is_logged_and_the_user_gets_one_line_without_its_text(caplog):
    with caplog.at_level(logging.ERROR, logger="dashboard.web.inputs"):
        try:
            raise KeyError("/secret/path/spx.csv")
        except KeyError:
            line = unexpected("Drawing this view")
    assert line == "Drawing this view failed; the server log has the details under request id None."
    assert "/secret/path/spx.csv" in caplog.text and "KeyError" in caplog.text
