"""The view-state codecs and expiry presets, as plain functions (no Dash, no browser)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.scenario import Scenario
from dashboard.web.state import (
    checked_state,
    default_state,
    expiries_from_selection,
    from_query,
    monthly_expiries,
    preset_expiries,
    scenario_from_state,
    strike_from_click,
    to_query,
)

D = dt.date


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"u": "SPX", "snap": "spx-20261120-1615"},
        {"u": "SPX", "snap": "spx-20261120-1615", "preset": "7d"},
        {"u": "BTC", "preset": "custom", "exp": ["2026-11-27", "2026-12-25"], "conv": "dealer-short-all"},
        {"u": "SPX", "shock": 10.0, "h": 1, "vol": "shift", "volv": 2.5, "stack": True, "units": "units"},
        {"u": "SPX", "vol": "beta", "volv": -1.5, "conv": "book", "preset": "monthly"},
    ],
)
def test_a_state_survives_the_url_round_trip(overrides):
    state = default_state(**overrides)
    back = from_query(to_query(state))
    for key in ("u", "snap", "preset", "conv", "shock", "h", "vol", "volv", "stack", "units"):
        assert back[key] == state[key], key
    if state["preset"] == "custom":
        assert back["exp"] == state["exp"]


def test_defaults_are_left_out_of_the_url():
    assert to_query(default_state()) == ""
    assert to_query(default_state(u="SPX", snap="spx-1")) == "?u=SPX&snap=spx-1"


def test_a_named_preset_travels_as_its_name_not_its_dates():
    q = to_query(default_state(u="SPX", preset="30d", exp=["2026-11-23", "2026-11-24"]))
    assert "exp=30d" in q and "2026" not in q


def test_malformed_query_values_fall_back_to_defaults():
    s = from_query("?u=SPX&exp=not-a-date&shock=abc&h=7&vol=shift:nan&units=furlongs&stack=yes")
    assert s["u"] == "SPX"
    assert s["preset"] == "all" and s["exp"] == []
    assert s["shock"] == 20 and s["h"] == 1  # a horizon out of range: the nearest offered
    assert s["vol"] == "shift" and s["volv"] == 0.0
    assert s["units"] == "usd" and s["stack"] is False


def test_custom_dates_in_the_url_are_deduplicated_and_sorted():
    s = from_query("?exp=2026-12-25,2026-11-27,2026-12-25,bogus")
    assert s["preset"] == "custom"
    assert s["exp"] == ["2026-11-27", "2026-12-25"]


def test_shock_range_from_the_url_is_clamped():
    assert from_query("?shock=500")["shock"] == 30.0  # the widest offered: the gamma profile's range
    assert from_query("?shock=-10")["shock"] == 10.0
    assert from_query("?shock=12")["shock"] == 10.0 and from_query("?shock=25")["shock"] == 30.0  # nearest offered


def test_monthlies_are_third_fridays_or_am_settled_dates():
    expiries = [D(2024, 3, 14), D(2024, 3, 15), D(2024, 3, 22), D(2024, 3, 28)]
    # 2024-03-28 (Thursday before Good Friday) carries the AM-settled root: still a monthly
    assert monthly_expiries(expiries, am_settled=[D(2024, 3, 28)]) == [D(2024, 3, 15), D(2024, 3, 28)]


def test_deribit_monthlies_are_last_fridays_and_ignore_am_roots():
    expiries = [D(2026, 11, 20), D(2026, 11, 27), D(2026, 12, 18), D(2026, 12, 25)]
    assert monthly_expiries(expiries, am_settled=[D(2026, 11, 20)], deribit=True) == [D(2026, 11, 27), D(2026, 12, 25)]


EXPIRIES = [D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 27), D(2026, 12, 18), D(2026, 12, 31), D(2027, 1, 15)]


@pytest.mark.parametrize(
    "preset, as_of, expected",
    [
        ("0dte", D(2026, 11, 20), [D(2026, 11, 20)]),
        ("0dte", D(2026, 11, 21), [D(2026, 11, 23)]),  # Saturday snapshot: the next expiry
        ("7d", D(2026, 11, 20), [D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 27)]),
        ("30d", D(2026, 11, 20), [D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 27), D(2026, 12, 18)]),
        ("all", D(2026, 11, 20), EXPIRIES),
    ],
)
def test_presets_select_the_right_expiries(preset, as_of, expected):
    assert preset_expiries(preset, EXPIRIES, as_of) == expected


def test_monthly_preset_uses_the_monthlies_given():
    got = preset_expiries("monthly", EXPIRIES, D(2026, 11, 20), monthlies=[D(2026, 11, 20), D(2026, 12, 18)])
    assert got == [D(2026, 11, 20), D(2026, 12, 18)]


def test_a_preset_that_selects_nothing_falls_back_to_the_first_expiry():
    assert preset_expiries("7d", [D(2027, 1, 15), D(2027, 2, 19)], D(2026, 11, 20)) == [D(2027, 1, 15)]
    assert preset_expiries("monthly", EXPIRIES, D(2026, 11, 20), monthlies=[]) == [D(2026, 11, 20)]
    assert preset_expiries("7d", [], D(2026, 11, 20)) == []


def test_expiries_from_a_term_structure_click():
    click = {"points": [{"curveNumber": 0, "x": 7.0, "customdata": ["2026-11-27", 7.0]}]}
    assert expiries_from_selection(click) == ["2026-11-27"]


def test_expiries_from_a_box_selection_on_bars_and_line():
    selected = {
        "points": [
            {"customdata": ["2026-12-18", 28.0]},
            {"customdata": ["2026-11-27", 7.0]},
            {"customdata": ["2026-11-27", 7.0]},  # the IV line's point for the same expiry
            {"customdata": "2026-12-31"},
        ],
        "range": {"x": [5, 45]},
    }
    assert expiries_from_selection(selected) == ["2026-11-27", "2026-12-18", "2026-12-31"]


@pytest.mark.parametrize("payload", [None, {}, {"points": []}, {"points": [{"x": 3}]}, {"points": [{"customdata": [None]}]}])
def test_empty_or_foreign_selections_give_no_expiries(payload):
    assert expiries_from_selection(payload) == []


def test_strike_from_a_gamma_click():
    assert strike_from_click({"points": [{"x": 6800, "customdata": [6800.0]}]}) == 6800.0
    assert strike_from_click({"points": [{"x": 6750.0}]}) == 6750.0
    assert strike_from_click({"points": [{"customdata": ["6700", "2026-11-27"]}]}) == 6700.0
    assert strike_from_click(None) is None
    assert strike_from_click({"points": [{"x": "n/a"}]}) is None


def test_the_docstring_examples_of_the_state_and_config_modules_hold():
    import doctest

    import dashboard.cli
    import dashboard.runtime.config
    import dashboard.web.state

    for module in (dashboard.web.state, dashboard.runtime.config, dashboard.cli):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__


# --------------------------------------------------------------------------- state <-> Scenario


def test_a_state_becomes_the_scenario_the_views_analyse():
    s = scenario_from_state(default_state(conv="dealer-short-all", shock=5, h=1, vol="shift", volv=2.5,
                                          preset="custom", exp=["2026-12-18", "2026-11-27"]))
    assert s == Scenario(convention="dealer-short-all", shocks_pct=tuple(float(x) for x in range(-5, 6)),
                         horizon_days=1.0, compare_horizons_days=(0.0,), vol_shift_pts=2.5,
                         expiries=("2026-11-27", "2026-12-18"))


def test_the_all_preset_analyses_every_expiry_and_no_vol_mode_ignores_the_value():
    s = scenario_from_state(default_state(preset="all", exp=["2026-11-27"], vol="none", volv=400.0))
    assert s.expiries is None and s.vol_shift_pts == 0.0 and s.spot_vol_beta == 0.0


def test_a_refused_vol_value_from_the_url_moves_to_the_nearest_valid_one_and_says_why():
    state, notes = checked_state(from_query("?u=SPX&vol=beta:500"))
    assert state["vol"] == "beta" and state["volv"] == 10.0
    assert notes == ["spot-vol beta 500 is out of range: allowed -10 to 10 (vol points per 1% spot shock); using 10"]
    state, notes = checked_state(from_query("?u=SPX&vol=shift:-1e308"))
    assert state["volv"] == -500.0 and "vol shift -1e+308 is out of range" in notes[0]


def test_hostile_state_values_fall_back_with_a_reason_each():
    state, notes = checked_state(default_state(u="SPX", h="soon", conv="nope", preset="custom", exp=["2024-13-01"]))
    assert scenario_from_state(state) == Scenario()
    assert len(notes) == 3 and any("2024-13-01" in n for n in notes) and any("'nope'" in n for n in notes)


def test_a_valid_state_passes_unchanged_and_silently():
    state = default_state(u="SPX", vol="shift", volv=-2.0, shock=10, h=1)
    assert checked_state(state) == (state, [])


# --------------------------------------------------------------------------- model choices (issue 8)


def test_the_model_choices_default_to_the_scenarios_and_stay_out_of_the_url():
    from analytics.prepare import DEFAULT_FORWARD, DEFAULT_IV_POLICY

    state = default_state()
    assert (state["fwd"], state["iv"]) == (DEFAULT_FORWARD, DEFAULT_IV_POLICY)
    scenario = scenario_from_state(state)
    assert (scenario.forward, scenario.iv_policy) == (Scenario().forward, Scenario().iv_policy)
    assert to_query(state) == ""


def test_the_forward_and_iv_policy_travel_in_the_url_into_the_scenario():
    state = from_query("?u=SPX&fwd=spot&iv=file")
    assert to_query(state) == "?u=SPX&fwd=spot&iv=file"
    scenario = scenario_from_state(state)
    assert (scenario.forward, scenario.iv_policy) == ("spot", "file")


def test_an_unknown_model_choice_in_a_link_is_refused_with_a_reason():
    state, notes = checked_state(from_query("?u=SPX&fwd=magic&iv=file"))
    assert state["fwd"] == Scenario().forward and state["iv"] == "file"
    assert notes == [f"unknown forward 'magic'; choose one of spot, parity; using {Scenario().forward}"]


# --------------------------------------------------------------------------- links through the controls


@pytest.fixture(scope="module")
def catalog(demo_dir):
    from dashboard import service

    return service.get_catalog(str(demo_dir))


def _open(link: str, catalog):
    from dashboard.web import ids
    from dashboard.web.callbacks.controls import next_state

    return next_state(None, {f"{ids.URL}.search": link}, None, catalog)


def test_a_link_naming_an_unknown_underlying_opens_the_default_one_and_says_so(catalog, monkeypatch):
    monkeypatch.delenv("MMPOS_DEFAULT_UNDERLYING", raising=False)
    resolved = _open("?u=NOPE&snap=nope-1&conv=dealer-short-all", catalog)
    assert resolved.state["u"] == "SPX" and resolved.state["snap"].startswith("spx-")
    assert resolved.state["conv"] == "dealer-short-all"
    assert resolved.replaced == ("underlying 'NOPE' is not in the data folder; showing SPX",)


def test_a_link_naming_a_missing_snapshot_opens_the_newest_and_says_so(catalog):
    resolved = _open("?u=BTC&snap=btc-20200101-0000", catalog)
    newest = next(iter(catalog.snapshots("BTC")))
    assert resolved.state["snap"] == str(newest.id)
    assert resolved.replaced == (f"snapshot 'btc-20200101-0000' is not in the data folder for BTC; "
                                 f"showing the newest, {newest.id}",)


def test_a_link_naming_an_unknown_or_unavailable_convention_says_what_replaced_it(catalog):
    assert _open("?u=SPX&conv=dealer-sideways", catalog).replaced == (
        "convention 'dealer-sideways' does not exist; showing dealer-long-calls",)
    assert _open("?u=BTC&conv=book", catalog).replaced == (
        "convention 'book' is not available for BTC; showing dealer-long-calls",)


def test_a_valid_link_replaces_nothing(catalog):
    assert _open("?u=BTC&conv=dealer-short-all", catalog).replaced == ()


def test_the_page_opens_on_spx_or_on_the_configured_underlying(catalog, monkeypatch):
    monkeypatch.delenv("MMPOS_DEFAULT_UNDERLYING", raising=False)
    assert _open("", catalog).state["u"] == "SPX" and _open("", catalog).replaced == ()
    monkeypatch.setenv("MMPOS_DEFAULT_UNDERLYING", "btc")
    assert _open("", catalog).state["u"] == "BTC"
    monkeypatch.setenv("MMPOS_DEFAULT_UNDERLYING", "ES")  # not in the folder: the first one
    assert _open("", catalog).state["u"] == "BTC"


def test_switching_between_shift_and_beta_starts_the_number_again():
    from dashboard.web import ids
    from dashboard.web.callbacks.controls import apply_input

    state = default_state(u="SPX", vol="shift", volv=3.0)
    assert apply_input(state, f"{ids.VOL_MODE}.value", "beta")["volv"] == 0.0
    assert apply_input(state, f"{ids.VOL_MODE}.value", "shift")["volv"] == 3.0  # the same mode keeps it
    assert apply_input(state, f"{ids.FORWARD}.value", "spot")["fwd"] == "spot"
    assert apply_input(state, f"{ids.IV_POLICY}.value", "file")["iv"] == "file"


# --------------------------------------------------------------------------- one declaration per key (issue 15)


@pytest.mark.parametrize("overrides, query", [
    ({"smode": "charm"}, "smode=charm"),
    ({"tspace": True}, "tspace=1"),
    ({"strike": 6812.5}, "strike=6812.5"),
    ({"tab": "history", "hn": 60}, "tab=history&hn=60"),
    ({"hn": "all"}, "hn=all"),
    ({"smx": "strike"}, "smx=strike"),
    ({"mprr": False}, "mprr=0"),
])
def test_every_view_parameter_survives_the_url_round_trip(overrides, query):
    state = default_state(u="SPX", **overrides)
    assert to_query(state) == f"?u=SPX&{query}"
    assert from_query(to_query(state)) == state


def test_every_declared_key_has_a_rule_its_default_passes_and_url_parameters_are_distinct():
    from dashboard.web.state import DEFAULT_STATE, FIELDS, typed_state

    assert typed_state(DEFAULT_STATE) == (DEFAULT_STATE, [])
    params = [key.url for key in FIELDS.values() if key.url]
    assert len(params) == len(set(params))
    assert set(DEFAULT_STATE) == set(FIELDS)


@pytest.mark.parametrize("key, value, note", [
    ("tab", 5, "tab must be one of main, history, intraday, got 5; using the default"),
    ("hn", 7, "history depth must be one of 5, 20, 60, all, got 7; using the default"),
    ("smode", "delta", "strike measure must be one of gamma, vanna, charm, change, got 'delta'; using the default"),
    ("tspace", "yes", "term spacing must be true or false, got 'yes'; using the default"),
    ("strike", -5, "strike -5 is not a strike; using the default"),
    ("fwd", ["x"], "forward must be text of at most 256 characters, got a list; using the default"),
])
def test_a_refused_view_parameter_falls_back_and_is_named(key, value, note):
    state, notes = checked_state(default_state(u="SPX", **{key: value}))
    assert state[key] == default_state()[key] and notes == [note]


def test_malformed_view_parameters_in_a_link_fall_back_to_defaults():
    s = from_query("?u=SPX&smode=delta&tspace=2&strike=-1&smx=log&mprr=maybe&tab=nope&hn=7")
    assert s == default_state(u="SPX")
