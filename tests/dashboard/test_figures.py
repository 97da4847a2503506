"""Figure builders called as plain functions on hand-made frames: what is drawn, where, in what units."""

from __future__ import annotations

import datetime as dt
import doctest
import json
import math
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.web.figures import common, gamma, hedge, kpi, term
from dashboard.web.figures.common import (
    CUSTOMDATA_EXPIRY,
    CUSTOMDATA_IMPLIED_SPOT,
    CUSTOMDATA_SHOCK_PCT,
    CUSTOMDATA_STRIKE,
    CUSTOMDATA_TERM_EXPIRY,
    format_number,
    format_usd,
    graph_config,
)
from dashboard.web.figures.kpi import hedge_flow_key, kpi_cards, kpi_values


def validated(builder):
    """The builder, its plain figure dict validated by Plotly: ``go.Figure(fig)`` raises on any
    property plotly.js does not know (the page skips this check; the tests make it once)."""

    def build(*args, **kwargs) -> go.Figure:
        figure = builder(*args, **kwargs)
        assert isinstance(figure, dict) and set(figure) == {"data", "layout"}
        return go.Figure(figure)

    return build


empty_figure = validated(common.empty_figure)
gamma_by_strike_figure = validated(gamma.gamma_by_strike_figure)
strike_breakdown_figure = validated(gamma.strike_breakdown_figure)
hedge_curve_figure = validated(hedge.hedge_curve_figure)
term_structure_figure = validated(term.term_structure_figure)

SPOT = 4783.0
JAN, FEB, MAR = dt.date(2024, 1, 19), dt.date(2024, 2, 16), dt.date(2024, 3, 15)


# --- hand-made inputs ---------------------------------------------------------------------------
@pytest.fixture
def by_strike_expiry() -> pd.DataFrame:
    strikes = np.arange(4500.0, 5101.0, 50.0)  # 13 strikes
    rows = []
    for k, expiry in enumerate((JAN, FEB, MAR)):
        call = 1e8 * (k + 1) * np.exp(-(((strikes - 4900) / 150) ** 2))
        put = -1.2e8 * (k + 1) * np.exp(-(((strikes - 4650) / 150) ** 2))
        rows.append(
            pd.DataFrame(
                {
                    "strike": strikes,
                    "expiry": expiry,
                    "call_gex_usd_per_1pct": call,
                    "put_gex_usd_per_1pct": put,
                    "net_gex_usd_per_1pct": call + put,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def by_strike(by_strike_expiry: pd.DataFrame) -> pd.DataFrame:
    cols = ["call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"]
    return by_strike_expiry.groupby("strike", as_index=False)[cols].sum()


def hedge_frame(spot: float = SPOT, slope: float = 2e8) -> pd.DataFrame:
    shock = np.arange(-20.0, 20.5, 1.0)
    shocked = spot * (1 + shock / 100)
    units = -slope / spot * shock  # short gamma: sell as it falls, buy as it rises? sign irrelevant here
    return pd.DataFrame(
        {
            "shock_pct": shock,
            "spot": shocked,
            "dealer_delta_units": -units,
            "hedge_flow_units": units,
            "hedge_flow_usd": units * shocked,
        }
    )


@pytest.fixture
def gamma_profile() -> pd.DataFrame:
    levels = np.linspace(0.7 * SPOT, 1.3 * SPOT, 601)
    return pd.DataFrame({"spot": levels, "gex_usd_per_1pct": 1e9 * np.tanh((levels - 4700.0) / 200.0)})


@pytest.fixture
def term_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "expiry": [JAN, FEB, MAR],
            "days_to_expiry": [12.3, 40.3, 68.3],
            "atm_iv": [0.121, 0.134, 0.142],
            "net_vega_usd_per_vol_pt": [2.5e6, -1.2e7, 4.0e6],
        }
    )


def gamma_kwargs(**overrides):
    base = dict(spot=SPOT, zero_gamma_levels=[4700.0], call_wall=4900.0, put_wall=4650.0)
    base.update(overrides)
    return base


def shapes_named(fig: go.Figure, name: str) -> list:
    return [s for s in fig.layout.shapes if s.name == name]


def trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


# --- formatting ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.234e9, "$1.23bn"),
        (-4.5e8, "-$450m"),
        (12_345, "$12.3k"),
        (1.2e9, "$1.2bn"),
        (999_999, "$1m"),
        (999.4, "$999"),
        (-0.0, "$0"),
        (3.21e12, "$3.21tn"),
        (float("nan"), "n/a"),
        (None, "n/a"),
    ],
)
def test_format_usd_gives_three_significant_digits_with_desk_suffixes(value, expected):
    assert format_usd(value) == expected


def test_format_usd_signed_marks_gains_with_plus_and_losses_with_minus():
    assert format_usd(2.5e8, signed=True) == "+$250m"
    assert format_usd(-2.5e8, signed=True) == "-$250m"
    assert format_usd(0, signed=True) == "$0"


def test_format_usd_array_matches_the_scalar_formatter():
    values = np.array([1.234e9, -4.5e8, 12_345.0, np.nan, 0.0, 7.0])
    assert common.format_usd_array(values).tolist() == [format_usd(v) for v in values]


def test_format_number_compact_and_fixed():
    assert format_number(-1_234_567) == "-1.23m"
    assert format_number(4783.456, compact=False) == "4,783.46"
    assert format_number(-0.001, compact=False) == "0.00"
    assert format_number(12.0, signed=True) == "+12"


@pytest.mark.parametrize("module", [common, gamma, hedge, kpi, term])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# --- common layout ------------------------------------------------------------------------------
def test_graph_config_exports_png_with_a_filename_and_no_logo():
    cfg = graph_config("spx-gamma")
    assert cfg["displaylogo"] is False
    assert cfg["toImageButtonOptions"] == {"format": "png", "filename": "spx-gamma", "scale": 2}
    json.dumps(cfg)  # dcc.Graph gets it as JSON


def test_empty_figure_shows_the_message_and_no_axes():
    fig = empty_figure("No open interest in the selected expiries", title="Dealer gamma")
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "No open interest in the selected expiries"
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert fig.layout.title.text == "Dealer gamma"


def test_house_template_is_light_with_subtle_grid():
    template = common.house_template()
    assert template.layout.plot_bgcolor == "white"
    assert template.layout.xaxis.gridcolor == common.PALETTE.grid
    assert common.house_template() is not template  # no shared mutable template


# --- view 1: gamma by strike --------------------------------------------------------------------
def test_gamma_bars_are_the_input_columns_with_strikes_in_customdata(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs())
    assert [t.name for t in fig.data] == ["Call GEX", "Put GEX", "Net GEX"]
    assert all(t.type == "bar" for t in fig.data)
    for name, column in [
        ("Call GEX", "call_gex_usd_per_1pct"),
        ("Put GEX", "put_gex_usd_per_1pct"),
        ("Net GEX", "net_gex_usd_per_1pct"),
    ]:
        bars = trace(fig, name)
        np.testing.assert_array_equal(bars.x, by_strike["strike"])
        np.testing.assert_array_equal(bars.y, by_strike[column])
        np.testing.assert_array_equal(np.asarray(bars.customdata)[:, CUSTOMDATA_STRIKE], by_strike["strike"])
    assert fig.layout.barmode == "overlay"


def test_gamma_bars_follow_strike_order_even_when_input_is_shuffled(by_strike):
    shuffled = by_strike.sample(frac=1.0, random_state=3)
    fig = gamma_by_strike_figure(shuffled, **gamma_kwargs())
    net = trace(fig, "Net GEX")
    assert np.all(np.diff(net.x) > 0)
    lookup = by_strike.set_index("strike")["net_gex_usd_per_1pct"]
    np.testing.assert_allclose(net.y, lookup.loc[net.x].to_numpy())


def test_gamma_hover_reads_in_usd_with_bn_and_m(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs())
    call = trace(fig, "Call GEX")
    assert list(call.text) == common.format_usd_array(by_strike["call_gex_usd_per_1pct"]).tolist()
    assert "%{text}" in call.hovertemplate
    assert any(label.endswith("m") for label in call.text)


def test_gamma_axes_carry_units(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs())
    assert fig.layout.yaxis.title.text == "Dealer GEX (USD per 1% move)"
    assert fig.layout.xaxis.title.text == "Strike"


def test_gamma_reference_lines_sit_at_spot_zero_gamma_and_walls(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs(zero_gamma_levels=[4700.0, 5010.5]))
    assert [s.x0 for s in shapes_named(fig, "spot")] == [SPOT]
    assert sorted(s.x0 for s in shapes_named(fig, "zero gamma")) == [4700.0, 5010.5]
    assert [s.x0 for s in shapes_named(fig, "call wall")] == [4900.0]
    assert [s.x0 for s in shapes_named(fig, "put wall")] == [4650.0]
    assert shapes_named(fig, "implied spot") == []
    assert all(s.x0 == s.x1 and s.yref == "y domain" for s in fig.layout.shapes)
    labels = {a.name: a.text for a in fig.layout.annotations if a.name == "call wall"}
    assert labels == {"call wall": "call wall 4,900"}


def test_gamma_without_walls_or_zero_crossings_draws_spot_only(by_strike):
    fig = gamma_by_strike_figure(
        by_strike, **gamma_kwargs(zero_gamma_levels=[], call_wall=None, put_wall=None)
    )
    assert [s.name for s in fig.layout.shapes] == ["spot"]


def test_gamma_marker_spot_is_a_distinct_dashed_line(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs(marker_spot=4600.0))
    (marker,) = shapes_named(fig, "implied spot")
    (spot,) = shapes_named(fig, "spot")
    assert marker.x0 == 4600.0
    assert marker.line.dash == "dash"
    assert marker.line.color != spot.line.color


def test_highlight_outlines_exactly_the_clicked_strike(by_strike):
    plain = gamma_by_strike_figure(by_strike, **gamma_kwargs())
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs(highlight_strike=4800.0))
    for bars in fig.data:
        widths = np.asarray(bars.marker.line.width)
        assert np.flatnonzero(widths > 0).tolist() == [int(np.flatnonzero(bars.x == 4800.0)[0])]
    assert all(t.marker.line.width is None for t in plain.data)


def test_previous_snapshot_is_a_tick_per_strike_with_nothing_drawn_between_strikes(by_strike):
    previous = by_strike[["strike", "net_gex_usd_per_1pct"]].assign(
        net_gex_usd_per_1pct=lambda f: f["net_gex_usd_per_1pct"] * 0.5
    )
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs(previous_net=previous))
    line = trace(fig, "Net GEX (previous snapshot)")
    assert line.type == "scatter" and line.mode == "markers"  # a line overshot between strikes (issue #18)
    assert line.marker.symbol == "line-ew"
    np.testing.assert_array_equal(line.y, previous["net_gex_usd_per_1pct"])
    np.testing.assert_array_equal(np.asarray(line.customdata)[:, CUSTOMDATA_STRIKE], previous["strike"])


def test_stacked_mode_has_one_trace_per_expiry_summing_to_net(by_strike, by_strike_expiry):
    fig = gamma_by_strike_figure(
        by_strike, **gamma_kwargs(), by_strike_expiry=by_strike_expiry, stack_by_expiry=True
    )
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["2024-01-19", "2024-02-16", "2024-03-15"]
    assert fig.layout.barmode == "relative"
    stacked = pd.concat([pd.Series(t.y, index=t.x) for t in bars]).groupby(level=0).sum()
    expected = by_strike.set_index("strike")["net_gex_usd_per_1pct"]
    np.testing.assert_allclose(stacked.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-12)
    for t in bars:
        data = np.asarray(t.customdata, dtype=object)
        assert set(data[:, CUSTOMDATA_EXPIRY]) == {t.name}
        np.testing.assert_array_equal(data[:, CUSTOMDATA_STRIKE].astype(float), t.x)
    total = trace(fig, "Net GEX (all shown expiries)")
    np.testing.assert_allclose(total.y, expected.to_numpy())


def test_stacked_mode_sums_duplicate_strike_expiry_rows(by_strike_expiry):
    doubled = pd.concat([by_strike_expiry, by_strike_expiry.iloc[:1]], ignore_index=True)
    fig = gamma_by_strike_figure(
        doubled.groupby("strike", as_index=False).sum(numeric_only=True),
        **gamma_kwargs(),
        by_strike_expiry=doubled,
        stack_by_expiry=True,
    )
    jan = trace(fig, "2024-01-19")
    assert jan.y[0] == pytest.approx(2 * by_strike_expiry["net_gex_usd_per_1pct"].iloc[0])


def test_stacked_mode_needs_the_expiry_frame(by_strike):
    with pytest.raises(ValueError, match="by_strike_expiry"):
        gamma_by_strike_figure(by_strike, **gamma_kwargs(), stack_by_expiry=True)


def test_default_window_is_about_15pct_around_spot_and_keeps_the_data():
    strikes = np.arange(2000.0, 8001.0, 25.0)
    frame = pd.DataFrame(
        {
            "strike": strikes,
            "call_gex_usd_per_1pct": 1.0,
            "put_gex_usd_per_1pct": -1.0,
            "net_gex_usd_per_1pct": 0.0,
        }
    )
    fig = gamma_by_strike_figure(frame, **gamma_kwargs(zero_gamma_levels=[], call_wall=None, put_wall=None))
    lo, hi = fig.layout.xaxis.range
    assert lo == pytest.approx(SPOT * 0.85 - 25) and hi == pytest.approx(SPOT * 1.15 + 25)
    assert len(trace(fig, "Net GEX").x) == strikes.size  # zooming out shows the wings


def test_default_window_widens_to_show_a_wall_but_not_a_far_one(by_strike):
    near = gamma_by_strike_figure(by_strike, **gamma_kwargs(put_wall=3900.0))
    far = gamma_by_strike_figure(by_strike, **gamma_kwargs(put_wall=2000.0))
    assert near.layout.xaxis.range[0] < 3900.0
    assert far.layout.xaxis.range[0] > SPOT * 0.8


def test_y_range_fits_the_window_not_the_far_wings(by_strike):
    wing = pd.DataFrame(
        {
            "strike": [1000.0],
            "call_gex_usd_per_1pct": [0.0],
            "put_gex_usd_per_1pct": [-5e10],
            "net_gex_usd_per_1pct": [-5e10],
        }
    )
    fig = gamma_by_strike_figure(pd.concat([by_strike, wing]), **gamma_kwargs())
    low, high = fig.layout.yaxis.range
    assert low > -1e9 and high > 0


def test_explicit_strike_window_wins(by_strike):
    fig = gamma_by_strike_figure(by_strike, **gamma_kwargs(), strike_window=(4600.0, 4800.0))
    assert tuple(fig.layout.xaxis.range) == (4600.0, 4800.0)


def test_gamma_empty_frame_gives_a_readable_empty_figure(by_strike):
    fig = gamma_by_strike_figure(by_strike.iloc[:0], **gamma_kwargs())
    assert len(fig.data) == 0
    assert "No open interest" in fig.layout.annotations[0].text


def test_gamma_missing_column_is_a_clear_error(by_strike):
    with pytest.raises(ValueError, match="net_gex_usd_per_1pct"):
        gamma_by_strike_figure(by_strike.drop(columns="net_gex_usd_per_1pct"), **gamma_kwargs())


def test_gamma_figure_serialises_to_json(by_strike, by_strike_expiry):
    fig = gamma_by_strike_figure(
        by_strike,
        **gamma_kwargs(highlight_strike=4800.0),
        by_strike_expiry=by_strike_expiry,
        stack_by_expiry=True,
    )
    json.loads(fig.to_json())  # what Dash sends to the browser


# --- view 1b: breakdown of one strike -------------------------------------------------------------
def test_breakdown_shows_call_put_net_per_expiry_of_the_clicked_strike(by_strike_expiry):
    fig = strike_breakdown_figure(by_strike_expiry, 4900.0)
    assert [t.name for t in fig.data] == ["Call GEX", "Put GEX", "Net GEX"]
    rows = by_strike_expiry[by_strike_expiry["strike"] == 4900.0].sort_values("expiry")
    for t, column in zip(
        fig.data, ["call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"], strict=True
    ):
        assert list(t.x) == ["2024-01-19", "2024-02-16", "2024-03-15"]
        np.testing.assert_allclose(t.y, rows[column].to_numpy())
        data = np.asarray(t.customdata, dtype=object)
        assert set(data[:, CUSTOMDATA_STRIKE]) == {4900.0}
        assert list(data[:, CUSTOMDATA_EXPIRY]) == list(t.x)
    assert fig.layout.xaxis.type == "category"
    assert fig.layout.yaxis.title.text == "Dealer GEX (USD per 1% move)"
    assert "4,900" in fig.layout.title.text


def test_breakdown_without_a_click_or_data_explains_itself(by_strike_expiry):
    assert "Click a strike" in strike_breakdown_figure(by_strike_expiry, None).layout.annotations[0].text
    assert "No open interest" in strike_breakdown_figure(by_strike_expiry, 1234.0).layout.annotations[0].text


# --- view 2: hedge curves -------------------------------------------------------------------------
def test_hedge_has_one_trace_per_horizon_with_shocks_preserved(gamma_profile):
    curves = {1.0: hedge_frame(slope=1e8), 0.0: hedge_frame()}
    fig = hedge_curve_figure(curves, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=[4700.0])
    flows = [t for t in fig.data if t.yaxis == "y"]
    assert [t.name for t in flows] == ["now", "+1 day"]
    for t, horizon in zip(flows, [0.0, 1.0], strict=True):
        np.testing.assert_array_equal(t.x, curves[horizon]["shock_pct"])
        np.testing.assert_array_equal(t.y, curves[horizon]["hedge_flow_usd"])
        data = np.asarray(t.customdata, dtype=float)
        np.testing.assert_array_equal(data[:, CUSTOMDATA_SHOCK_PCT], curves[horizon]["shock_pct"])
        np.testing.assert_allclose(data[:, CUSTOMDATA_IMPLIED_SPOT], curves[horizon]["spot"])
        assert set(data[:, 2]) == {horizon}


def test_hedge_in_units_plots_units_and_says_so():
    curve = hedge_frame()
    fig = hedge_curve_figure(
        {0.0: curve}, gamma_profile=None, spot=SPOT, zero_gamma_levels=[], units="units", underlying="BTC"
    )
    np.testing.assert_array_equal(fig.data[0].y, curve["hedge_flow_units"])
    assert fig.layout.yaxis.title.text == "Dealer hedge flow (BTC units; + = dealers buy)"


def test_hedge_axes_carry_units(gamma_profile):
    fig = hedge_curve_figure(
        {0.0: hedge_frame()}, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=[4700.0]
    )
    assert fig.layout.yaxis.title.text == "Dealer hedge flow (USD; + = dealers buy)"
    assert fig.layout.yaxis2.title.text == "Total GEX (USD per 1%)"
    assert fig.layout.xaxis2.title.text == "Spot shock (%)"
    assert fig.layout.xaxis.matches == "x2"  # one shock axis for both rows


def test_hedge_hover_says_who_buys(gamma_profile):
    fig = hedge_curve_figure(
        {0.0: hedge_frame()}, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=[]
    )
    text = list(fig.data[0].text)
    flow = hedge_frame()["hedge_flow_usd"].to_numpy()
    assert text[0].startswith("dealers buy" if flow[0] > 0 else "dealers sell")
    assert text[20] == "no flow"


def test_gamma_profile_is_drawn_against_the_same_shock_axis(gamma_profile):
    fig = hedge_curve_figure(
        {0.0: hedge_frame()}, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=[4700.0]
    )
    profile = trace(fig, "Total GEX")
    assert profile.yaxis == "y2"
    np.testing.assert_allclose(profile.x, (gamma_profile["spot"] / SPOT - 1) * 100)
    np.testing.assert_array_equal(profile.y, gamma_profile["gex_usd_per_1pct"])
    np.testing.assert_allclose(
        np.asarray(profile.customdata)[:, CUSTOMDATA_IMPLIED_SPOT], gamma_profile["spot"]
    )


def test_every_zero_crossing_is_marked_on_the_profile_and_as_a_line(gamma_profile):
    levels = [4500.0, 4700.0, 5100.0]
    fig = hedge_curve_figure(
        {0.0: hedge_frame()}, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=levels
    )
    marks = trace(fig, "Zero gamma")
    expected = (np.array(levels) / SPOT - 1) * 100
    np.testing.assert_allclose(marks.x, expected)
    np.testing.assert_array_equal(marks.y, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(np.asarray(marks.customdata)[:, CUSTOMDATA_IMPLIED_SPOT], levels)
    line_x = sorted({s.x0 for s in shapes_named(fig, "zero gamma")})
    np.testing.assert_allclose(line_x, expected)
    assert [s.x0 for s in shapes_named(fig, "spot")] and all(s.x0 == 0.0 for s in shapes_named(fig, "spot"))


def test_hedge_x_range_follows_the_curves_not_the_wider_profile(gamma_profile):
    fig = hedge_curve_figure(
        {0.0: hedge_frame()}, gamma_profile=gamma_profile, spot=SPOT, zero_gamma_levels=[]
    )
    assert tuple(fig.layout.xaxis.range) == (-20.0, 20.0)


def test_hedge_shock_given_as_a_fraction_is_read_as_percent():
    curve = hedge_frame()
    as_fraction = curve.assign(shock_pct=curve["shock_pct"] / 100)
    fig = hedge_curve_figure({0.0: as_fraction}, gamma_profile=None, spot=SPOT, zero_gamma_levels=[])
    np.testing.assert_allclose(fig.data[0].x, curve["shock_pct"])


def test_hedge_without_data_gives_empty_figure():
    fig = hedge_curve_figure({}, gamma_profile=None, spot=SPOT, zero_gamma_levels=[])
    assert len(fig.data) == 0 and fig.layout.annotations


def test_hedge_rejects_unknown_units():
    with pytest.raises(ValueError, match="units"):
        hedge_curve_figure(
            {0.0: hedge_frame()}, gamma_profile=None, spot=SPOT, zero_gamma_levels=[], units="eur"
        )


def test_horizon_labels():
    assert [common.horizon_label(h) for h in (0.0, 1.0, 2.0, 0.5)] == [
        "now",
        "+1 day",
        "+2 days",
        "+0.5 days",
    ]


# --- view 3: term structure -----------------------------------------------------------------------
def test_term_bars_are_vega_by_days_with_iv_in_percent_on_a_second_axis(term_frame):
    fig = term_structure_figure(term_frame)
    bars, iv = fig.data
    assert bars.type == "bar" and iv.type == "scatter"
    np.testing.assert_array_equal(bars.x, term_frame["days_to_expiry"])
    np.testing.assert_array_equal(bars.y, term_frame["net_vega_usd_per_vol_pt"])
    np.testing.assert_allclose(iv.y, term_frame["atm_iv"] * 100)
    assert iv.yaxis == "y2" and bars.yaxis == "y"
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.side == "right"
    assert fig.layout.yaxis2.title.text == "ATM implied vol (%)"
    assert fig.layout.yaxis2.ticksuffix == "%"
    assert fig.layout.yaxis.title.text == "Net dealer vega (USD per vol point)"
    assert fig.layout.xaxis.title.text == "Days to expiry"


def test_term_customdata_carries_iso_expiries(term_frame):
    fig = term_structure_figure(term_frame.iloc[::-1])
    for t in fig.data:
        assert list(np.asarray(t.customdata, dtype=object)[:, CUSTOMDATA_TERM_EXPIRY]) == [
            "2024-01-19",
            "2024-02-16",
            "2024-03-15",
        ]


def test_term_selection_highlights_the_chosen_expiries(term_frame):
    fig = term_structure_figure(term_frame, selected_expiries=[FEB, "2024-03-15", "2030-01-01"])
    for t in fig.data:
        assert list(t.selectedpoints) == [1, 2]
        assert t.unselected.marker.opacity < 1
    assert term_structure_figure(term_frame).data[0].selectedpoints is None
    assert term_structure_figure(term_frame, selected_expiries=[]).data[0].selectedpoints is None


def test_term_is_ready_for_click_and_box_select(term_frame):
    fig = term_structure_figure(term_frame)
    assert fig.layout.clickmode == "event+select"
    assert fig.layout.dragmode == "select"


def test_term_bars_do_not_overlap_on_uneven_spacing():
    frame = pd.DataFrame(
        {
            "expiry": [JAN, dt.date(2024, 1, 22), FEB, MAR],
            "days_to_expiry": [1.0, 4.0, 30.0, 365.0],
            "atm_iv": 0.15,
            "net_vega_usd_per_vol_pt": 1e6,
        }
    )
    bars = term_structure_figure(frame).data[0]
    left = np.asarray(bars.x) - np.asarray(bars.width) / 2
    right = np.asarray(bars.x) + np.asarray(bars.width) / 2
    assert np.all(right[:-1] <= left[1:])


def test_term_empty_frame_gives_empty_figure(term_frame):
    assert len(term_structure_figure(term_frame.iloc[:0]).data) == 0


# --- KPIs ---------------------------------------------------------------------------------------
def snapshot(**overrides):
    curve = hedge_frame()
    values = dict(
        spot=SPOT,
        total_gex_usd_per_1pct=1.5e9,
        zero_gamma_levels=[4700.0],
        call_wall=4900.0,
        put_wall=4650.0,
        dealer_delta_units=-2.5e5,
        net_vega_usd_per_vol_pt=-3e7,
        hedge_curve=curve,
    )
    values.update(overrides)
    return kpi_values(**values)


def cards_by_key(cards):
    return {c["key"]: c for c in cards}


def test_kpi_cards_cover_every_headline_number():
    cards = kpi_cards(snapshot(), underlying="SPX")
    assert [c["label"] for c in cards] == [
        "Spot",
        "Total GEX",
        "Zero gamma",
        "Call wall",
        "Put wall",
        "Dealer delta",
        "Net vega",
        "Hedge flow at -5%",
        "Hedge flow at -1%",
        "Hedge flow at +1%",
        "Hedge flow at +5%",
    ]
    for card in cards:
        assert set(card) >= {"label", "value_text", "delta_text", "delta_sign", "unit", "help"}
        assert card["delta_sign"] is None and card["delta_text"] == ""
    json.dumps(cards)  # plain data for a dcc.Store or children


def test_kpi_values_and_units_read_well():
    cards = cards_by_key(kpi_cards(snapshot(), underlying="SPX"))
    assert cards["total_gex_usd_per_1pct"]["value_text"] == "$1.5bn"
    assert cards["total_gex_usd_per_1pct"]["unit"] == "USD per 1% move"
    assert cards["net_vega_usd_per_vol_pt"]["unit"] == "USD per vol point"
    assert cards["call_wall"]["value_text"] == "4,900"
    assert cards["spot"]["value_text"] == "4,783.00"


def test_kpi_deltas_are_value_minus_previous():
    now = snapshot()
    before = snapshot(
        spot=4750.0,
        total_gex_usd_per_1pct=2.0e9,
        call_wall=4850.0,
        put_wall=4650.0,
        dealer_delta_units=-1.0e5,
        net_vega_usd_per_vol_pt=-1e7,
        zero_gamma_levels=[4725.0],
    )
    cards = cards_by_key(kpi_cards(now, before))
    assert cards["spot"]["delta"] == pytest.approx(33.0)
    assert cards["spot"]["delta_text"] == "+33.00 (+0.69%)"
    assert cards["total_gex_usd_per_1pct"]["delta"] == pytest.approx(-5e8)
    assert cards["total_gex_usd_per_1pct"]["delta_text"] == "-$500m"
    assert cards["total_gex_usd_per_1pct"]["delta_sign"] == -1
    assert cards["call_wall"]["delta_text"] == "+50" and cards["call_wall"]["delta_sign"] == 1
    assert cards["put_wall"]["delta_text"] == "unchanged" and cards["put_wall"]["delta_sign"] == 0
    assert cards["dealer_delta_usd_per_1pct"]["delta"] == pytest.approx((-2.5e5 * SPOT - -1.0e5 * 4750.0) * 0.01)
    assert cards["net_vega_usd_per_vol_pt"]["delta_text"] == "-$20m"
    assert cards["zero_gamma_levels"]["delta"] == pytest.approx(-25.0)
    for shock in kpi.HEDGE_SHOCKS_PCT:
        key = hedge_flow_key(shock)
        assert cards[key]["delta"] == pytest.approx(now[key] - before[key], abs=1e-6)


def test_kpi_hedge_flows_are_read_off_the_curve():
    curve = hedge_frame()
    values = snapshot(hedge_curve=curve)
    at = curve.set_index("shock_pct")["hedge_flow_usd"]
    for shock in (-5.0, -1.0, 1.0, 5.0):
        assert values[hedge_flow_key(shock)] == pytest.approx(at[shock])
    card = cards_by_key(kpi_cards(values))[hedge_flow_key(5.0)]
    assert card["value_text"] == ("dealers buy " if at[5.0] > 0 else "dealers sell ") + format_usd(
        abs(at[5.0])
    )
    assert card["unit"] == "USD; + = dealers buy"


def test_kpi_several_zero_gamma_levels_compare_the_one_nearest_spot():
    now = snapshot(zero_gamma_levels=[4200.0, 4790.0, 5300.0])
    before = snapshot(zero_gamma_levels=[4770.0])
    card = cards_by_key(kpi_cards(now, before))["zero_gamma_levels"]
    assert card["label"] == "Zero-gamma levels"
    assert card["value_text"] == "4,200 · 4,790 · 5,300"
    assert card["delta"] == pytest.approx(20.0)


def test_kpi_missing_values_say_so_without_failing():
    now = snapshot(call_wall=None, zero_gamma_levels=[], hedge_curve=None)
    cards = cards_by_key(kpi_cards(now, {"spot": float("nan")}))
    assert cards["call_wall"]["value_text"] == "n/a"
    assert cards["zero_gamma_levels"]["value_text"] == "none in range"
    assert cards[hedge_flow_key(-5.0)]["value_text"] == "n/a"
    assert cards["spot"]["delta_sign"] is None


# --- KPI strip: units, scenario honesty, dealer delta in USD (issue 9) ---------------------------
def test_the_dealer_delta_kpi_is_in_usd_per_1pct_and_says_it_is_the_conventions_delta_not_a_position():
    # issue 18: a desk quotes dollar delta per 1% move (delta x spot x 1%), not delta x spot
    card = cards_by_key(kpi_cards(snapshot(dealer_delta_units=-2.5e5), underlying="SPX"))["dealer_delta_usd_per_1pct"]
    assert card["value"] == pytest.approx(-2.5e5 * SPOT * 0.01)
    assert card["value_text"] == format_usd(-2.5e5 * SPOT * 0.01)
    assert card["unit"].startswith("USD per 1% move") and "not a position" in card["unit"]
    assert "not a position" in card["help"] and "book" in card["help"]


def test_the_units_toggle_puts_total_gex_delta_and_flows_of_the_kpi_strip_in_units():
    curve = hedge_frame()
    values = snapshot(hedge_curve=curve)
    cards = cards_by_key(kpi_cards(values, underlying="SPX", units="units"))
    assert cards["total_gex_units_per_1pct"]["value"] == pytest.approx(1.5e9 / SPOT)
    assert cards["total_gex_units_per_1pct"]["unit"] == "SPX units per 1% move"
    assert cards["dealer_delta_units"]["value"] == pytest.approx(-2.5e5)
    flow = cards[hedge_flow_key(5.0, "units")]
    assert flow["value"] == pytest.approx(curve.set_index("shock_pct")["hedge_flow_units"][5.0])
    assert "$" not in flow["value_text"] and flow["unit"].startswith("SPX units")
    assert cards["net_vega_usd_per_vol_pt"]["unit"] == "USD per vol point"  # vega has no unit form
    usd = cards_by_key(kpi_cards(values, underlying="SPX"))
    assert "$" in usd[hedge_flow_key(5.0)]["value_text"] and "total_gex_usd_per_1pct" in usd


def test_every_kpi_says_whether_the_scenario_moved_it():
    cards = kpi_cards(snapshot(zero_gamma_levels=[4700.0, 5100.0]), underlying="SPX")
    strip = _strip_html(kpi.kpi_strip(cards, horizon_days=1, vol_mode="shift", vol_value=2.0))
    tags = re.findall(r'"children": "([^"]*)", "className": "kpi-basis[^"]*"', strip)
    assert len(tags) == len([c for c in cards if not c["key"].startswith("hedge_flow")]) + 1  # + the flows card
    assert tags.count("scenario: vols +2 pts") == 2  # total GEX and zero gamma
    assert "scenario: vols +2 pts, horizon +1 day" in tags  # the hedge flows
    assert tags.count("not scenario-adjusted") == 5  # spot, walls, dealer delta, vega
    assert "kpi-basis" not in _strip_html(kpi.kpi_strip(cards))  # no scenario: no tags


def test_the_zero_gamma_kpi_lists_every_other_level_in_full():
    cards = kpi_cards(snapshot(spot=16_100.0, zero_gamma_levels=[14_782.4, 16_167.3, 16_357.9]))
    strip = _strip_html(kpi.kpi_strip(cards))
    assert '"also 14,782.4, 16,357.9"' in strip and "kpi-also" in strip


def test_the_total_gex_under_a_vol_scenario_is_the_profile_at_spot():
    profile = pd.DataFrame({"spot": [4700.0, 4800.0], "gex_usd_per_1pct": [-2e9, 2e9]})
    assert kpi.profile_at_spot(profile, 4783.0) == pytest.approx(-2e9 + 4e9 * 0.83)
    assert math.isnan(kpi.profile_at_spot(profile, 5000.0)) and math.isnan(kpi.profile_at_spot(None, 4783.0))


def _strip_html(children) -> str:
    return json.dumps(children, default=lambda c: c.to_plotly_json())


# --- exports and sharing (issue 9) ---------------------------------------------------------------
def test_no_chart_offers_to_send_a_positions_view_to_the_cloud():
    from dashboard.web.figures.common import graph_config

    cfg = graph_config("x")
    assert cfg["showSendToCloud"] is False and cfg["showEditInChartStudio"] is False
    assert {"sendDataToCloud", "editInChartStudio"} <= set(cfg["modeBarButtonsToRemove"])
    assert "select2d" not in cfg["modeBarButtonsToRemove"]  # the term view's box-select stays


def test_export_names_carry_underlying_snapshot_convention_and_expiry_set():
    from dashboard.web.figures.common import expiry_set_label, export_filename

    stamp = pd.Timestamp("2026-11-20 16:15", tz="America/New_York")
    name = export_filename("gamma-by-strike", "SPX", stamp, "dealer-short-all", "custom", ["2026-12-18", "2026-11-27"])
    assert name == "mmpos_SPX_2026-11-20T1615_dealer-short-all_exp-2026-11-27-to-2026-12-18-2_gamma-by-strike"
    assert export_filename("term", "BTC", stamp, "book", "all", []) == "mmpos_BTC_2026-11-20T1615_book_exp-all_term"
    assert expiry_set_label("30d", ["a", "b"]) == "expiries 30d (2)"
    assert "/" not in export_filename("x", "../etc", None, "c", "all", [])


# --- reference-line labels (issue 9 small things) ------------------------------------------------
def _labels(fig):
    return {a["name"]: a for a in fig["layout"]["annotations"]}


def test_a_zero_gamma_label_near_spot_takes_another_row_than_the_spot_label():
    from dashboard.web.figures.common import LINE_SPOT, LINE_ZERO_GAMMA, add_reference_lines, new_figure

    fig = add_reference_lines(new_figure(), [
        (LINE_SPOT, 0.0, "spot 6,850", "#222", "solid"),
        (LINE_ZERO_GAMMA, 3.6, "zero γ 7,096.6 (+3.6%)", "#c7a", "dot"),
    ], x_range=(-20.0, 20.0))  # "spot 6,850" is ~73 px: 5.6% of a ±20% axis on a 520 px plot
    labels = _labels(fig)
    assert labels[LINE_SPOT]["y"] != labels[LINE_ZERO_GAMMA]["y"]


def test_a_label_at_the_right_edge_is_drawn_left_of_its_line_not_clipped():
    from dashboard.web.figures.common import LINE_SPOT, LINE_ZERO_GAMMA, add_reference_lines, new_figure

    fig = add_reference_lines(new_figure(), [
        (LINE_SPOT, 0.0, "spot 6,850", "#222", "solid"),
        (LINE_ZERO_GAMMA, 19.0, "zero γ 8,150.0 (+19.0%)", "#c7a", "dot"),
    ], x_range=(-20.0, 20.0))
    zero = _labels(fig)[LINE_ZERO_GAMMA]
    assert zero["xanchor"] == "right" and zero["xshift"] < 0
    assert _labels(fig)[LINE_SPOT]["xanchor"] == "left"


def test_a_level_that_barely_moved_never_shows_a_negative_zero_change():
    card = cards_by_key(kpi_cards(snapshot(zero_gamma_levels=[4700.001]),
                                  snapshot(zero_gamma_levels=[4700.004])))["zero_gamma_levels"]
    assert card["delta_text"] == "0"


def test_a_parquet_and_a_cboe_snapshot_of_the_same_time_read_the_same_everywhere():
    """Issue 18: the CBOE file's stamp read "EST", the same time from a parquet file "UTC-05:00"."""
    from dashboard.web.callbacks.controls import _snapshot_label
    from dashboard.web.figures import snapshot_subtitle

    cboe = pd.Timestamp("2026-11-20 16:15", tz="America/New_York")
    parquet = pd.Timestamp("2026-11-20 16:15-05:00")  # how a parquet file's fixed offset reads back
    for stamp in (cboe, parquet):
        assert snapshot_subtitle("SPX", stamp, "book") == "SPX · 2026-11-20 16:15 EST · convention: book"
        entry = types.SimpleNamespace(as_of=stamp, spot=6753.87, path=Path("spx_quotedata_2026-11-20.csv"))
        assert _snapshot_label(entry).startswith("2026-11-20 16:15 EST")
