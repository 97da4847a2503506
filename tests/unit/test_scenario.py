"""The one Scenario: built from values or text, refused with one line naming the range, checked
against a chain, and what analyze() runs on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import itertools
import warnings

import numpy as np
import pytest

import analytics.scenario
from analytics import scenario as sc
from analytics.errors import ChainDataError, ScenarioError
from analytics.report import analyze
from analytics.scenario import Scenario
from analytics.sources.cboe import load_cboe


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


def test_every_scenario_field_has_exactly_one_rule():
    assert [f.name for f in dataclasses.fields(Scenario)] == list(sc._RULES)


def test_defaults_are_the_documented_ones():
    s = Scenario()
    assert s.expiries is None and s.max_dte is None and s.convention == "dealer-long-calls"
    assert s.shocks_pct == tuple(float(x) for x in range(-20, 21))
    assert s.spot_range == (0.7, 1.3) and s.grid_points == 601
    assert (s.rate, s.div_yield, s.multiplier, s.horizon_days) == (0.0, 0.0, None, 0.0)


def test_text_and_values_build_the_same_scenario():
    from_text = Scenario.from_mapping({"expiries": ["2024-01-19", "2024-01-12", "2024-01-19"], "rate": "0.05",
                                       "shocks_pct": "-5,-1,1,5", "spot_range": "0.8,1.2", "grid_points": "301",
                                       "multiplier": "100", "vol_shift_pts": "-2.5", "max_dte": None})
    from_values = Scenario(expiries=(dt.date(2024, 1, 12), dt.date(2024, 1, 19)), rate=0.05,
                           shocks_pct=(-5.0, -1.0, 1.0, 5.0), spot_range=(0.8, 1.2), grid_points=301,
                           multiplier=100.0, vol_shift_pts=-2.5)
    assert from_text == from_values and hash(from_text) == hash(from_values)
    assert from_text.expiries == (dt.date(2024, 1, 12), dt.date(2024, 1, 19))


def test_a_scenario_is_a_cache_key_and_a_replace_is_checked_again():
    s = Scenario(convention="dealer-short-all")
    assert {s: 1}[Scenario(convention="dealer-short-all")] == 1
    with pytest.raises(ScenarioError, match="spot-vol beta 11 is out of range"):
        s.replace(spot_vol_beta=11)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rate = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("expiries", ["2024-13-01"], "expiry '2024-13-01' is not a date (YYYY-MM-DD)"),
        ("expiries", "garbage", "expiry 'garbage' is not a date"),
        ("rate", "1e308", "rate 1e+308 is out of range: allowed -1 to 1"),
        ("rate", "nan", "rate must be a finite number"),
        ("div_yield", -2, "dividend yield -2 is out of range: allowed -1 to 1"),
        ("multiplier", 1e308, "multiplier 1e+308 is out of range: allowed 1e-06 to 1e+06"),
        ("multiplier", 0, "multiplier 0 is out of range"),
        ("shocks_pct", "1e308", "shock 1e+308 is out of range: allowed -100 (excluded) to 100"),
        ("shocks_pct", [-100], "shock -100 is out of range"),
        ("shocks_pct", [], "shock: give at least 1 value"),
        ("shocks_pct", "0," * 5000, "at most 2,001 values"),
        ("horizon_days", -1, "horizon -1 is out of range: allowed 0 to 3650"),
        ("compare_horizons_days", [1e9], "compared horizon 1e+09 is out of range"),
        ("vol_shift_pts", 1e308, "vol shift 1e+308 is out of range: allowed -500 to 500"),
        ("vol_shift_pts", float("-inf"), "vol shift must be a finite number"),
        ("spot_vol_beta", 500, "spot-vol beta 500 is out of range: allowed -10 to 10"),
        ("spot_vol_beta", 1e300, "spot-vol beta 1e+300 is out of range"),
        ("spot_range", "0.5,1e308", "spot range 0.5,1e+308 is out of range: allowed LO 0.01 to 0.99"),
        ("spot_range", "1.2,1.4", "spot range 1.2,1.4 is out of range"),
        ("spot_range", "0.7", "spot range must be two fractions of spot"),
        ("grid_points", 2, "grid points 2 is out of range: allowed 3 to 20001"),
        ("grid_points", 10.5, "grid points must be a whole number"),
        ("max_dte", "abc", "max DTE must be a number, got 'abc'"),
        ("convention", "nope", "unknown convention 'nope'; choose one of dealer-long-calls"),
        ("rate", [0.1], "rate must be a number, got list"),
        ("rate", True, "rate must be a number, got bool"),
    ],
)
def test_an_out_of_range_value_is_refused_with_one_line_naming_the_range(field, value, message):
    with pytest.raises(ScenarioError) as info:
        Scenario.from_mapping({field: value})
    assert message in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    assert info.value.name == field
    assert isinstance(info.value, ChainDataError)  # every entry point already reports this type


def test_a_hostile_shock_list_is_refused_before_it_is_parsed():
    with pytest.raises(ScenarioError, match="at most"):
        Scenario(shocks_pct=",".join(["1"] * 10_000_000))
    # an endless sequence is refused once it passes the limit: it is never read to its end
    with pytest.raises(ScenarioError, match="at most"):
        Scenario(shocks_pct=itertools.repeat(1.0))


def test_unknown_parameters_are_refused():
    with pytest.raises(ScenarioError, match="unknown scenario parameter 'gamma'"):
        Scenario.from_mapping({"gamma": 1})


FILE_IVS = {"forward": "spot", "iv_policy": "file"}  # the lowest IV below is the file's own


def test_a_vol_shift_below_minus_the_lowest_iv_is_refused_with_the_chains_range(spx):
    lowest = float(np.nanmin(np.where(spx.rows["iv"] > 0, spx.rows["iv"], np.nan)))
    with pytest.raises(ScenarioError) as info:
        analyze(spx, Scenario(vol_shift_pts=-(lowest * 100 + 1), shocks_pct=(0.0,), **FILE_IVS))
    text = str(info.value)
    assert "vol shift" in text and "out of range for this chain" in text and f"{lowest:.2%}" in text
    nearest = info.value.nearest
    assert isinstance(nearest, Scenario) and -lowest * 100 < nearest.vol_shift_pts < -lowest * 100 + 0.02
    assert nearest.asked_vol_shift_pts == -(lowest * 100 + 1)  # the nearest scenario says what was asked
    assert nearest.replace(vol_shift_pts=0.0, asked_vol_shift_pts=None) == Scenario(shocks_pct=(0.0,), **FILE_IVS)
    assert nearest.words() == (f"vols {nearest.vol_shift_pts:+g} pts (asked {-(lowest * 100 + 1):+g}, clamped: "
                               f"the lowest IV of this chain is {lowest:.2%})",)


def test_a_vol_shift_the_chain_can_take_is_accepted(spx):
    a = analyze(spx, Scenario(vol_shift_pts=-1.0, shocks_pct=(0.0,), grid_points=3))
    assert a.scenario.vol_shift_pts == -1.0


def test_the_book_convention_without_positions_is_refused(spx):
    with pytest.raises(ScenarioError, match="convention 'book' needs a positions file for SPX"):
        analyze(spx, Scenario(convention="book"))


def test_keyword_shorthand_and_scenario_give_the_same_analysis(spx):
    a = analyze(spx, expiries=["2024-01-19"], shocks_pct=[-1.0, 1.0], grid_points=11)
    b = analyze(spx, Scenario(expiries=("2024-01-19",), shocks_pct=(-1.0, 1.0), grid_points=11))
    assert a.scenario == b.scenario
    assert a.total_gex_usd_per_1pct == b.total_gex_usd_per_1pct
    assert a.hedge_curve.equals(b.hedge_curve)


def test_the_json_states_the_whole_scenario(spx):
    d = analyze(spx, Scenario(expiries=["2024-01-19"], shocks_pct=(0.0,), grid_points=3, rate=0.04)).to_dict()
    assert d["scenario"]["expiries"] == ["2024-01-19"] and d["scenario"]["rate"] == 0.04
    assert d["scenario"]["shocks_pct"] == [0.0] and d["scenario"]["convention"] == "dealer-long-calls"


def test_results_that_overflow_are_refused_with_the_reason(spx):
    rows = spx.rows.copy()
    rows["open_interest"] = 1e306  # x multiplier x gamma x S^2 overflows per row, in any summation order
    with warnings.catch_warnings(), pytest.raises(ChainDataError, match="is not a finite number"):
        warnings.simplefilter("error")  # the refusal alone: no numpy overflow warning printed beside it
        analyze(spx.with_rows(rows), Scenario(shocks_pct=(0.0,), grid_points=3))


def test_the_docstring_examples_of_the_scenario_modules_hold():
    result = doctest.testmod(analytics.scenario)
    assert result.failed == 0 and result.attempted > 10
