"""A value the page cannot use as asked (from a control or the URL) is replaced by the nearest valid one,
and says so: the banner names it, the URL is rewritten to what is drawn, the control shows it, and the
cards say what was computed (issue #18, "labels only say what was computed")."""

from __future__ import annotations

import re

import pytest

from analytics.scenario import DEFAULT_SPOT_RANGE, PROFILE_RANGE_PCT
from dashboard import service
from dashboard.web import ids, layout
from dashboard.web.callbacks import controls, views
from dashboard.web.state import MAX_SHOCK_RANGE_PCT, SHOCK_CHOICES, scenario_from_state

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


@pytest.fixture(scope="module")
def demo(demo_dir) -> str:
    return str(demo_dir)


def load(data_dir: str, search: str) -> list:
    """The controls callback on the page's first load (the location mounts with the link's query)."""
    return controls.update(URL, {URL: search}, None, data_dir)


def banner_text(outputs: list) -> str:
    return " ".join(str(part) for part in outputs[OUT["banner"]])


def kpi_text(rendered: dict) -> str:
    return str(rendered["kpis"])


def test_a_vol_shift_the_chain_cannot_take_is_clamped_and_the_banner_url_control_and_cards_say_so(demo):
    out = load(demo, "?u=SPX&vol=shift:-50")
    state = out[OUT["store"]]
    entry = service.get_catalog(demo).get(state["snap"])
    lowest = float(service.applied_scenario(demo, entry, scenario_from_state({**state, "volv": -50.0}))[0]
                   .vol_shift_pts)
    assert -8 < lowest < -7  # the demo SPX's lowest IV is ~7.25%
    assert state["volv"] == lowest and state["volasked"] == -50.0
    assert out[OUT["volv"]] == lowest  # the vol value control shows what is drawn
    assert out[OUT["search"]] == f"?u=SPX&snap={state['snap']}&vol=shift:{lowest:g}"  # rewritten to what is drawn
    banner = banner_text(out)
    assert f"vol shift -50 is out of range for this chain: allowed {lowest:g} to 500" in banner
    assert f"using {lowest:g}" in banner and "banner-warn" in banner
    rendered = views.main_update(state, None, demo)
    kpi = kpi_text(rendered)
    assert f"vols {lowest:+g} pts (asked -50, clamped: the lowest IV of this chain is 7.25%)" in kpi
    assert "vols -50" not in kpi and "-50 pts" not in kpi


def test_a_vol_shift_typed_in_the_control_is_clamped_the_same_way(demo):
    first = load(demo, "?u=SPX&vol=shift:-1")
    assert first[OUT["store"]]["volv"] == -1.0 and "vol shift" not in banner_text(first)  # applies as asked
    out = controls.update(f"{ids.VOL_VALUE}.value", {URL: first[OUT["search"]] or "", f"{ids.VOL_VALUE}.value": -20},
                          first[OUT["store"]], demo)
    state = out[OUT["store"]]
    assert -8 < state["volv"] < -7 and state["volasked"] == -20.0
    assert "vol shift -20 is out of range for this chain" in banner_text(out)
    assert out[OUT["search"]].endswith(f"vol=shift:{state['volv']:g}")
    assert "(asked -20, clamped" in kpi_text(views.main_update(state, None, demo))
    # the next change keeps the value drawn; the ask was said by the transition that clamped it
    after = controls.update(f"{ids.HORIZON}.value", {URL: "", f"{ids.HORIZON}.value": 1}, state, demo)
    assert after[OUT["store"]]["volv"] == state["volv"] and after[OUT["store"]]["volasked"] is None


@pytest.mark.parametrize(("search", "shock", "h", "notes"), [
    ("?u=SPX&shock=1000&h=2", 30, 1, ["shock range 1000 is out of range: allowed 5 to 30 (percent); using 30",
                                       "horizon 2 is out of range: allowed 0 to 1 (days); using 1"]),
    ("?u=SPX&shock=25", 30, 0, ["shock range 25 is not offered: one of 5, 10, 15, 20, 30 (percent); using 30"]),
    ("?u=SPX&shock=-10", 10, 0, ["shock range -10 is out of range: allowed 5 to 30 (percent); using 10"]),
])
def test_a_shock_or_horizon_from_the_link_that_is_not_offered_is_replaced_with_a_banner_and_a_new_url(
        demo, search, shock, h, notes):
    out = load(demo, search)
    state = out[OUT["store"]]
    assert (state["shock"], state["h"]) == (shock, h)
    assert out[OUT["shock"]] == shock and out[OUT["shock"]] in SHOCK_CHOICES  # the dropdown is never blank
    assert out[OUT["h"]] == h
    banner = banner_text(out)
    for note in notes:
        assert note in banner
    search_out = out[OUT["search"]]
    assert isinstance(search_out, str) and (f"shock={shock}" in search_out if shock != 20 else "shock" not in search_out)
    assert ("h=1" in search_out) == (h == 1)


def test_an_expiry_in_the_link_that_the_snapshot_does_not_have_is_named_and_the_url_rewritten(demo):
    out = load(demo, "?u=SPX&exp=2026-11-21")  # a Saturday: no expiry
    banner = banner_text(out)
    assert "2026-11-21 is not an expiry of this snapshot; showing every expiry" in banner
    assert "exp=" not in out[OUT["search"]] and out[OUT["store"]]["preset"] == "all"
    state = out[OUT["store"]]
    live = state["exp"][0]
    mixed = load(demo, f"?u=SPX&snap={state['snap']}&exp=2026-11-21,{live}")
    assert "2026-11-21 is not an expiry of this snapshot; left out" in banner_text(mixed)
    assert mixed[OUT["search"]].endswith(f"exp={live}")


def test_a_link_that_asks_only_valid_values_gets_no_banner_and_keeps_its_url(demo):
    out = load(demo, "?u=SPX&shock=10&h=1&vol=shift:-1")
    assert out[OUT["banner"]] == []
    assert out[OUT["search"]] is controls.no_update


def test_the_hedge_shocks_and_the_gamma_profile_share_one_range(demo):
    assert PROFILE_RANGE_PCT == round((DEFAULT_SPOT_RANGE[1] - 1) * 100) == 30
    assert MAX_SHOCK_RANGE_PCT == max(SHOCK_CHOICES) == PROFILE_RANGE_PCT
    offered = [o["value"] for o in _dropdown_options(layout.build_layout(), ids.SHOCK_RANGE)]
    assert offered == list(SHOCK_CHOICES)
    state = load(demo, f"?u=SPX&shock={max(SHOCK_CHOICES)}")[OUT["store"]]
    entry = service.get_catalog(demo).get(state["snap"])
    got = service.view_analyses(demo, entry, scenario_from_state(state)).current
    spot = got.spot
    profile = got.gamma_profile["spot"]
    shocks = got.hedge_curve["shock_pct"]
    assert shocks.max() == PROFILE_RANGE_PCT and shocks.min() == -PROFILE_RANGE_PCT
    assert profile.min() == pytest.approx(spot * (1 - PROFILE_RANGE_PCT / 100))
    assert profile.max() == pytest.approx(spot * (1 + PROFILE_RANGE_PCT / 100))


def _dropdown_options(root, component_id: str) -> list:
    found = []

    def walk(node):
        if getattr(node, "id", None) == component_id:
            found.append(node)
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list | tuple) else [children] if children is not None else []:
            walk(child)

    walk(root)
    assert found, component_id
    return found[0].options


def test_the_words_a_clamped_vol_shift_shows_name_the_value_drawn_and_the_ask():
    from analytics.scenario import VolScenario, describe_scenario

    words = describe_scenario(VolScenario(-7.24, asked_shift_pts=-20.0))
    assert words == ("vols -7.24 pts (asked -20, clamped: the lowest IV of this chain is 7.25%)",)
    assert re.search(r"vols -7\.24 pts", words[0])
