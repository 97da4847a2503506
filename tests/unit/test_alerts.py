"""The alert rules (analytics/alerts.py): each rule, its thresholds, nothing without a previous snapshot."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analytics.alerts import AlertConfigError, Levels, evaluate, parse_rules

YESTERDAY = pd.Timestamp("2026-11-19 16:15", tz="America/New_York")
TODAY = pd.Timestamp("2026-11-20 16:15", tz="America/New_York")


def levels(as_of=TODAY, spot=6770.0, zero_gamma=(6891.5,), total=-6.0e10, call_wall=6800.0, put_wall=6700.0,
           flow_m1=-1.0e11, flow_p1=2.8e10) -> Levels:
    return Levels("SPX", as_of, spot, total, tuple(zero_gamma), ((call_wall, 3e10), (6900.0, 1e10)),
                  ((put_wall, -3e10), (6600.0, -1e10)),
                  ((-2.0, 0.0, 2 * flow_m1), (-1.0, 0.0, flow_m1), (1.0, 0.0, flow_p1), (2.0, 0.0, 2 * flow_p1)))


ALL = {"zero_gamma_cross": {}, "wall_move": {}, "total_sign": {}, "flow_1pct": {"threshold_usd": 1.5e11}}


def fired(current, previous, table=ALL):
    return [a.rule for a in evaluate(current, previous, parse_rules(table, "alerts.toml"), "spx-20261120-1615")]


def test_an_unchanged_snapshot_fires_no_rule():
    assert fired(levels(), levels(as_of=YESTERDAY)) == []


def test_no_alert_without_a_comparable_previous_snapshot():
    assert fired(levels(spot=7100.0, total=1e10, call_wall=7000.0), None) == []


def test_spot_crossing_zero_gamma_fires_once_with_both_sides_named():
    rules = parse_rules({"zero_gamma_cross": {}}, "alerts.toml")
    [alert] = evaluate(levels(spot=7100.0, zero_gamma=(7032.5,)), levels(as_of=YESTERDAY), rules, "spx-1",
                       previous_id="spx-0")
    assert (alert.rule, alert.snapshot_id, alert.previous_id) == ("zero_gamma_cross", "spx-1", "spx-0")
    assert "now above zero gamma 7,032.5" in alert.message and "was below zero gamma 6,891.5" in alert.message
    assert alert.values["side"] == "above" and alert.values["distance_pct"] == pytest.approx((7100 / 7032.5 - 1) * 100)


def test_zero_gamma_moving_across_a_still_spot_is_a_crossing_too():
    assert fired(levels(zero_gamma=(6700.0,)), levels(as_of=YESTERDAY), {"zero_gamma_cross": {}}) == \
        ["zero_gamma_cross"]


def test_zero_gamma_cross_reads_the_level_nearest_spot_and_needs_one_in_each_snapshot():
    far_level_added = levels(zero_gamma=(5000.0, 6891.5))  # a far wing crossing below spot: spot did not cross
    assert fired(far_level_added, levels(as_of=YESTERDAY), {"zero_gamma_cross": {}}) == []
    assert fired(levels(spot=7100.0, zero_gamma=()), levels(as_of=YESTERDAY), {"zero_gamma_cross": {}}) == []


def test_zero_gamma_cross_minimum_distance():
    just_over = levels(spot=6900.0, zero_gamma=(6891.5,))  # +0.12% above
    assert fired(just_over, levels(as_of=YESTERDAY), {"zero_gamma_cross": {}}) == ["zero_gamma_cross"]
    assert fired(just_over, levels(as_of=YESTERDAY), {"zero_gamma_cross": {"min_distance_pct": 0.25}}) == []


def test_wall_move_names_each_wall_that_moved_in_one_alert():
    rules = parse_rules({"wall_move": {}}, "alerts.toml")
    [alert] = evaluate(levels(call_wall=7000.0, put_wall=6600.0), levels(as_of=YESTERDAY), rules, "spx-1")
    assert alert.message.startswith("SPX: call wall 6,800 -> 7,000, put wall 6,700 -> 6,600")
    assert alert.values == {"call_wall": 7000.0, "previous_call_wall": 6800.0, "put_wall": 6600.0,
                            "previous_put_wall": 6700.0}


def test_wall_move_threshold_in_percent_of_spot_and_wall_choice():
    moved_25 = levels(call_wall=6825.0)  # 25 points = 0.37% of 6,770
    assert fired(moved_25, levels(as_of=YESTERDAY), {"wall_move": {"min_move_pct": 0.3}}) == ["wall_move"]
    assert fired(moved_25, levels(as_of=YESTERDAY), {"wall_move": {"min_move_pct": 0.5}}) == []
    assert fired(moved_25, levels(as_of=YESTERDAY), {"wall_move": {"walls": ["put"]}}) == []


def test_total_changing_sign_either_way_and_its_minimum():
    assert fired(levels(total=2e9), levels(as_of=YESTERDAY), {"total_sign": {}}) == ["total_sign"]
    assert fired(levels(total=-2e9), levels(as_of=YESTERDAY, total=5e9), {"total_sign": {}}) == ["total_sign"]
    assert fired(levels(total=2e9), levels(as_of=YESTERDAY), {"total_sign": {"min_abs_usd": 5e9}}) == []
    assert fired(levels(total=-1e9), levels(as_of=YESTERDAY), {"total_sign": {}}) == []  # same sign


def test_flow_fires_the_day_it_goes_beyond_the_threshold_not_while_it_stays():
    table = {"flow_1pct": {"threshold_usd": 1.5e11}}
    rules = parse_rules(table, "alerts.toml")
    [alert] = evaluate(levels(flow_m1=-1.6e11), levels(as_of=YESTERDAY), rules, "spx-1")
    assert "-1% move -$160bn (was -$100bn)" in alert.message and "+1%" not in alert.message
    assert alert.values["hedge_flow_usd_-1pct"] == -1.6e11
    assert fired(levels(flow_m1=-1.6e11), levels(as_of=YESTERDAY, flow_m1=-1.55e11), table) == []  # still beyond
    assert fired(levels(flow_p1=1.5e11), levels(as_of=YESTERDAY), table) == ["flow_1pct"]  # at the threshold
    assert fired(levels(flow_p1=1.4e11), levels(as_of=YESTERDAY), table) == []


def test_several_rules_fire_one_alert_each_in_rule_order():
    crossed = levels(spot=7100.0, zero_gamma=(7032.5,), total=1e10, call_wall=7000.0, flow_p1=2e11)
    assert fired(crossed, levels(as_of=YESTERDAY)) == ["zero_gamma_cross", "wall_move", "total_sign", "flow_1pct"]


def test_a_disabled_rule_does_not_fire():
    assert fired(levels(total=2e9), levels(as_of=YESTERDAY), {"total_sign": {"enabled": False}}) == []


@pytest.mark.parametrize(("table", "message"), [
    ({"zero_gama_cross": {}}, "alerts.toml: field 'rules.zero_gama_cross': unknown rule"),
    ({"wall_move": {"min_move": 1}}, "alerts.toml: field 'rules.wall_move.min_move': unknown option"),
    ({"wall_move": {"min_move_pct": -1}}, "alerts.toml: field 'rules.wall_move.min_move_pct': must be a number >= 0"),
    ({"wall_move": {"walls": ["call", "side"]}}, "field 'rules.wall_move.walls': must be a non-empty list"),
    ({"flow_1pct": {}}, "alerts.toml: field 'rules.flow_1pct.threshold_usd': required"),
    ({"flow_1pct": {"threshold_usd": "1bn"}}, "field 'rules.flow_1pct.threshold_usd': must be a number > 0"),
    ({"total_sign": {"enabled": "yes"}}, "field 'rules.total_sign.enabled': must be true or false"),
    ({"total_sign": 1}, "field 'rules.total_sign': expected a table of options"),
])
def test_a_bad_rule_is_refused_in_one_line_naming_file_and_key(table, message):
    with pytest.raises(AlertConfigError) as err:
        parse_rules(table, "alerts.toml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_alert_to_dict_is_json_ready():
    import json

    [alert] = evaluate(levels(total=2e9), levels(as_of=YESTERDAY), parse_rules({"total_sign": {}}, "a"), "spx-1")
    d = json.loads(json.dumps(alert.to_dict(), allow_nan=False))
    assert d["as_of"] == "2026-11-20T16:15:00-05:00" and d["previous_as_of"].startswith("2026-11-19")
    assert dataclasses.asdict(alert)["rule"] == "total_sign"
