"""Key levels: zero gamma vs spot, walls, absolute-gamma strike, flows, charm flow, changes, text, JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from analytics import exposure
from analytics.levels import MissingAnalysisInput, key_levels
from analytics.report import Analysis, analyze, positions_from_prepared, prepare_chain
from analytics.sources.cboe import load_cboe

NY = "America/New_York"
CLASSIC = {"forward": "spot", "iv_policy": "file"}  # the recipe the real-file reference texts were made with
STRIKES = [4600.0, 4650.0, 4700.0, 4750.0, 4800.0]


def hedge_curve(units: list[float], usd: list[float], shocks=(-2.0, -1.0, 0.0, 1.0, 2.0)) -> pd.DataFrame:
    spot = 4700.5 * (1 + np.asarray(shocks) / 100)
    return pd.DataFrame({"shock_pct": list(shocks), "spot": spot, "dealer_delta_units": np.nan,
                         "hedge_flow_units": units, "hedge_flow_usd": usd})


def synthetic_analysis(*, as_of="2024-01-05 15:59", calls=(0.1e9, 0.5e9, 2.0e9, 1.5e9, 3.25e9),
                       puts=(-2.5e9, -1.0e9, -2.0e9, -0.2e9, 0.0), zeros=(4650.26, 4903.0),
                       flows_units=(-1.5e6, -0.5e6, 0.0, 0.25e6, -1e3),
                       flows_usd=(-6.91e9, -2.33e9, 0.0, 1.19e9, -4.79e6),
                       charm=(12_345.0, 58.03e6), convention="dealer-long-calls", underlying="SPX") -> Analysis:
    by_strike = pd.DataFrame({"strike": STRIKES, "call_gex_usd_per_1pct": calls, "put_gex_usd_per_1pct": puts})
    by_strike["net_gex_usd_per_1pct"] = by_strike["call_gex_usd_per_1pct"] + by_strike["put_gex_usd_per_1pct"]
    call_wall, put_wall = exposure.walls(by_strike)
    now = hedge_curve(list(flows_units), list(flows_usd))
    next_day = hedge_curve([-9.0, charm[0], 9.0], [-9.0, charm[1], 9.0], shocks=(-1.0, 0.0, 1.0))
    return Analysis(
        underlying=underlying, as_of=pd.Timestamp(as_of, tz=NY), spot=4700.5, multiplier=100.0,
        convention=convention, model="bsm", source="synthetic",
        expiries=[dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 3, 15)],
        total_gex_usd_per_1pct=float(by_strike["net_gex_usd_per_1pct"].sum()), call_wall=call_wall,
        put_wall=put_wall, zero_gamma_levels=list(zeros), dealer_delta_units=0.0, net_vega_usd_per_vol_pt=0.0,
        by_strike=by_strike, gamma_profile=pd.DataFrame({"spot": [], "gex_usd_per_1pct": []}),
        hedge_curve=now, hedge_curves={0.0: now, 1.0: next_day},
        scenario={"vol_shift_pts": 0.0, "spot_vol_beta": 0.0, "horizon_days": 0.0, "rate": 0.0, "div_yield": 0.0},
    )


def previous_analysis() -> Analysis:
    return synthetic_analysis(as_of="2024-01-04 15:59", calls=(0.1e9, 0.5e9, 2.5e9, 1.0e9, 3.0e9),
                              puts=(-2.0e9, -1.0e9, -2.2e9, -0.2e9, 0.0), zeros=(4660.0,),
                              flows_units=(-1.0e6, -0.4e6, 0.0, 0.2e6, 5e3),
                              flows_usd=(-4.61e9, -1.86e9, 0.0, 0.95e9, 24e6), charm=(10_000.0, 47.0e6))


EXPECTED_TEXT = """\
SPX key levels, 2024-01-05 15:59 EST
LONG γ · zero γ 4,650 (-1.1%) · walls 4,800 / 4,600 · net $1.65bn (no comparable previous snapshot)
spot 4,700.50 | dealer-long-calls | GEX in USD per 1%, + = dealers long gamma
expiries: 3 (2024-01-05 to 2024-03-15)
scenario: none (sticky strike, the chain's IVs)
changes: no previous snapshot

zero gamma     4,650.3 (-1.07% vs spot)
zero gamma     4,903.0 (+4.31% vs spot)
call wall 1    4,800  $3.25bn
call wall 2    4,700  $2bn
call wall 3    4,750  $1.5bn
put wall 1     4,600  -$2.5bn
put wall 2     4,700  -$2bn
put wall 3     4,650  -$1bn
abs gamma      4,700  $4bn
flow -2%       -$6.91bn (-1.5m units)
flow -1%       -$2.33bn (-500k units)
flow +1%       +$1.19bn (+250k units)
flow +2%       -$4.79m (-1k units)
charm to close +$58m (+12.3k units)
(flows: + = dealers buy; spot shocks now; charm = 0% shock +1 day)"""

EXPECTED_TEXT_WITH_CHANGES = """\
SPX key levels, 2024-01-05 15:59 EST
LONG γ · zero γ 4,650 (-1.1%) · walls 4,800 / 4,600 · net $1.65bn (-$50m d/d)
spot 4,700.50 | dealer-long-calls | GEX in USD per 1%, + = dealers long gamma
expiries: 3 (2024-01-05 to 2024-03-15)
scenario: none (sticky strike, the chain's IVs)
changes vs 2024-01-04 15:59 EST

zero gamma     4,650.3 (-1.07% vs spot), chg -9.7
zero gamma     4,903.0 (+4.31% vs spot), chg +243.0
call wall 1    4,800  $3.25bn, chg +$250m
call wall 2    4,700  $2bn, chg -$500m
call wall 3    4,750  $1.5bn, chg +$500m
put wall 1     4,600  -$2.5bn, chg -$500m (was 4,700)
put wall 2     4,700  -$2bn, chg +$200m (was 4,600)
put wall 3     4,650  -$1bn, chg $0
abs gamma      4,700  $4bn, chg -$700m
flow -2%       -$6.91bn (-1.5m units), chg -$2.3bn
flow -1%       -$2.33bn (-500k units), chg -$470m
flow +1%       +$1.19bn (+250k units), chg +$240m
flow +2%       -$4.79m (-1k units), chg -$28.8m
charm to close +$58m (+12.3k units), chg +$11m
(flows: + = dealers buy; spot shocks now; charm = 0% shock +1 day)"""


def test_the_morning_text_of_a_synthetic_snapshot_is_exactly_as_expected():
    assert key_levels(synthetic_analysis()).to_text() == EXPECTED_TEXT


def test_the_morning_text_with_a_previous_snapshot_adds_every_change():
    assert key_levels(synthetic_analysis(), previous_analysis()).to_text() == EXPECTED_TEXT_WITH_CHANGES


def test_walls_are_the_top_three_strikes_by_call_and_put_gex():
    levels = key_levels(synthetic_analysis())
    assert [(w.strike, w.gex_usd_per_1pct) for w in levels.call_walls] == [(4800, 3.25e9), (4700, 2e9), (4750, 1.5e9)]
    assert [(w.strike, w.gex_usd_per_1pct) for w in levels.put_walls] == [(4600, -2.5e9), (4700, -2e9), (4650, -1e9)]
    assert [w.rank for w in levels.call_walls] == [1, 2, 3]


def test_the_first_walls_are_the_analysis_call_and_put_walls():
    analysis = synthetic_analysis()
    levels = key_levels(analysis)
    assert (levels.call_walls[0].strike, levels.put_walls[0].strike) == (analysis.call_wall, analysis.put_wall)


def test_fewer_walls_are_listed_when_fewer_strikes_qualify():
    # dealer-short-all: every call GEX is negative, so there is no call wall at all
    analysis = synthetic_analysis(calls=(-0.1e9, -0.5e9, -2.0e9, -1.5e9, -3.25e9), puts=(0, 0, -1e9, -2e9, 0),
                                  convention="dealer-short-all")
    levels = key_levels(analysis)
    assert levels.call_walls == ()
    assert [w.strike for w in levels.put_walls] == [4750, 4700]
    text = levels.to_text()
    assert "call wall      none" in text
    assert "put wall 3" not in text


def test_ties_between_walls_go_to_the_lower_strike():
    levels = key_levels(synthetic_analysis(calls=(1e9, 1e9, 2e9, 1e9, 0.0)))
    assert [w.strike for w in levels.call_walls] == [4700, 4600, 4650]


def test_the_absolute_gamma_strike_sums_call_and_put_gex_magnitudes():
    # 4700 has neither the largest call nor the largest put GEX, but the largest |call| + |put|
    levels = key_levels(synthetic_analysis(calls=(0.1e9, 0.5e9, 2.0e9, 1.5e9, 2.5e9),
                                           puts=(-2.4e9, -1.0e9, -2.0e9, -0.2e9, 0.0)))
    assert levels.abs_gamma.strike == 4700
    assert levels.abs_gamma.gex_usd_per_1pct == pytest.approx(4.0e9)


def test_every_zero_gamma_level_has_its_distance_from_spot_in_percent():
    levels = key_levels(synthetic_analysis())
    assert [z.level for z in levels.zero_gamma] == [4650.26, 4903.0]
    assert [z.distance_pct for z in levels.zero_gamma] == pytest.approx(
        [(4650.26 / 4700.5 - 1) * 100, (4903.0 / 4700.5 - 1) * 100])


def test_a_zero_gamma_change_is_measured_from_the_nearest_previous_level():
    previous = synthetic_analysis(as_of="2024-01-04 15:59", zeros=(4600.0, 4890.0))
    changes = [z.change for z in key_levels(synthetic_analysis(), previous).zero_gamma]
    assert changes == pytest.approx([50.26, 13.0])


def test_changes_are_none_without_a_previous_snapshot():
    levels = key_levels(synthetic_analysis())
    assert all(z.change is None for z in levels.zero_gamma)
    assert all(w.previous_strike is None and w.gex_change_usd_per_1pct is None
               for w in (*levels.call_walls, *levels.put_walls, levels.abs_gamma))
    assert all(f.usd_change is None and f.units_change is None for f in (*levels.flows, levels.charm_flow))


def test_flows_read_the_hedge_curve_at_plus_minus_one_and_two_percent():
    levels = key_levels(synthetic_analysis())
    assert [(f.shock_pct, f.units, f.usd) for f in levels.flows] == [
        (-2.0, -1.5e6, -6.91e9), (-1.0, -0.5e6, -2.33e9), (1.0, 0.25e6, 1.19e9), (2.0, -1e3, -4.79e6)]


def test_the_charm_flow_is_the_next_day_curve_at_zero_shock():
    charm = key_levels(synthetic_analysis()).charm_flow
    assert (charm.shock_pct, charm.horizon_days, charm.units, charm.usd) == (0.0, 1.0, 12_345.0, 58.03e6)


def test_a_missing_shock_is_an_error_naming_the_shocks_analyze_must_include():
    analysis = synthetic_analysis()
    curve = analysis.hedge_curve[analysis.hedge_curve["shock_pct"] != 2.0]
    broken = dataclasses.replace(analysis, hedge_curve=curve, hedge_curves={**analysis.hedge_curves, 0.0: curve})
    with pytest.raises(MissingAnalysisInput, match=r"no \+2% shock.*-2, -1, \+0, \+1, \+2"):
        key_levels(broken)


def test_a_missing_next_day_curve_is_an_error_naming_the_horizon_analyze_must_include():
    analysis = synthetic_analysis()
    broken = dataclasses.replace(analysis, hedge_curves={0.0: analysis.hedge_curve})
    with pytest.raises(MissingAnalysisInput, match=r"compare_horizons_days=\(1,\)"):
        key_levels(broken)


def test_a_previous_snapshot_of_another_underlying_or_not_older_is_refused():
    with pytest.raises(ValueError, match="previous snapshot is NDX"):
        key_levels(synthetic_analysis(), synthetic_analysis(as_of="2024-01-04 15:59", underlying="NDX"))
    with pytest.raises(ValueError, match="not older"):
        key_levels(synthetic_analysis(), synthetic_analysis())


def test_a_vol_scenario_is_named_in_the_text():
    analysis = dataclasses.replace(synthetic_analysis(), scenario={"vol_shift_pts": 2.0, "spot_vol_beta": -0.5,
                                                                   "horizon_days": 0.0})
    assert ("scenario: vols +2 pts, spot-vol beta -0.5 (zero gamma and flows; walls at today's IVs)"
            in key_levels(analysis).to_text())


def test_the_dict_is_json_with_iso_times_and_every_item():
    d = json.loads(json.dumps(key_levels(synthetic_analysis(), previous_analysis()).to_dict(), allow_nan=False))
    assert d["as_of"] == "2024-01-05T15:59:00-05:00"
    assert d["previous_as_of"] == "2024-01-04T15:59:00-05:00"
    assert d["expiries"] == ["2024-01-05", "2024-01-08", "2024-03-15"]
    assert d["call_walls"][0] == {"kind": "call wall", "rank": 1, "strike": 4800.0, "gex_usd_per_1pct": 3.25e9,
                                  "previous_strike": 4800.0, "gex_change_usd_per_1pct": 0.25e9}
    assert d["abs_gamma"]["strike"] == 4700.0
    assert [f["shock_pct"] for f in d["flows"]] == [-2.0, -1.0, 1.0, 2.0]
    assert d["charm_flow"]["usd_change"] == pytest.approx(11.03e6)
    assert d["zero_gamma"][1]["change"] == pytest.approx(243.0)


# --- real files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spx_analysis(spx_path):
    return analyze(load_cboe(spx_path), shocks_pct=[-2, -1, 0, 1, 2, 5, -5], compare_horizons_days=(1.0,),
                   **CLASSIC)


@pytest.fixture(scope="module")
def ndx_analysis(ndx_path):
    return analyze(load_cboe(ndx_path), shocks_pct=[-2, -1, 0, 1, 2, 5, -5], compare_horizons_days=(1.0,),
                   **CLASSIC)


def test_spx_key_levels_agree_with_the_analysis_they_read(spx_analysis):
    levels = key_levels(spx_analysis)
    assert levels.call_walls[0].strike == spx_analysis.call_wall == 4800
    assert levels.put_walls[0].strike == spx_analysis.put_wall == 4600
    assert len(levels.call_walls) == len(levels.put_walls) == 3
    curve = spx_analysis.hedge_curves[1.0].set_index("shock_pct")
    assert levels.charm_flow.usd == curve.loc[0.0, "hedge_flow_usd"]
    text = levels.to_text()
    assert text.splitlines()[0] == "SPX key levels, 2024-01-07 10:52 EST"
    assert "zero gamma     4,736.0 (+0.83% vs spot)" in text
    assert "call wall 1    4,800  $9.38bn" in text
    wall_lines = [line for line in text.splitlines() if " wall " in line or line.startswith("abs gamma")]
    assert len(wall_lines) == 7
    assert all(re.match(r"^[a-z ]+\d? +\d,\d{3}  -?\$\d", line) for line in wall_lines), wall_lines


def test_ndx_key_levels_list_all_three_zero_gamma_levels(ndx_analysis):
    text = key_levels(ndx_analysis).to_text()
    zero_lines = [line for line in text.splitlines() if line.startswith("zero gamma")]
    assert len(zero_lines) == 3
    assert zero_lines[0].startswith("zero gamma     14,782.8 (+0.60% vs spot)")


def test_a_previous_real_snapshot_gives_changes_for_every_item(spx_analysis):
    earlier = dataclasses.replace(spx_analysis, as_of=spx_analysis.as_of - pd.Timedelta(days=1))
    levels = key_levels(spx_analysis, earlier)
    assert all(w.gex_change_usd_per_1pct == 0 and w.previous_strike == w.strike
               for w in (*levels.call_walls, *levels.put_walls, levels.abs_gamma))
    assert all(z.change == 0 for z in levels.zero_gamma)
    assert all(f.usd_change == 0 for f in (*levels.flows, levels.charm_flow))


def test_the_spx_charm_flow_is_close_to_minus_one_day_of_charm_exposure(spx_path, spx_analysis):
    # two engines, one quantity: the +1 day full revaluation at 0% vs the charm greek summed over
    # strikes (they differ by delta's curvature over the day, about 1% here)
    pos = positions_from_prepared(prepare_chain(load_cboe(spx_path), **CLASSIC), spx_analysis.convention)
    charm_usd_per_day = exposure.vanna_charm_by_strike(pos)["net_charm_usd_per_day"].sum()
    assert key_levels(spx_analysis).charm_flow.usd == pytest.approx(-charm_usd_per_day, rel=0.03)
