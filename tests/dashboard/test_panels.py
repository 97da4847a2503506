"""The panel registry and its two new charts (the IV smile and max pain per expiry), as plain functions.

The figure builders are called on small hand-made frames shaped like ``Analysis.smile`` and
``Analysis.by_expiry`` (expiry, strike, log_moneyness, iv; max_pain, rr25_vol_pts) and validated once
with ``go.Figure``; the registry is checked against the layout, the export names and the callbacks.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._callback import NoUpdate

from dashboard.web import ids, panels
from dashboard.web.callbacks import controls, export, views
from dashboard.web.figures.smile import MAX_SMILE_LINES, max_pain_figure, smile_figure
from dashboard.web.layout import build_layout
from dashboard.web.state import FIELDS, MAX_PAIN_RR_KEY, SMILE_X_KEY, ViewState, default_state, to_query

D = dt.date
URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


def smile_frame(n_expiries: int = 2) -> pd.DataFrame:
    """Three strikes per expiry around a forward of 100, a put skew, IV in decimals."""
    rows = []
    for i in range(n_expiries):
        day = D(2026, 11, 27) + dt.timedelta(days=7 * i)
        for k, iv in ((90.0, 0.30 - 0.01 * i), (100.0, 0.20), (110.0, 0.22)):
            rows.append({"expiry": day, "strike": k, "log_moneyness": float(np.log(k / 100.0)), "iv": iv,
                         "call_delta": 0.5})
    return pd.DataFrame(rows)


def atm_frame(n_expiries: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"expiry": [D(2026, 11, 27) + dt.timedelta(days=7 * i) for i in range(n_expiries)],
                         "forward": [100.5] * n_expiries, "atm_iv": [0.2] * n_expiries})


def by_expiry_frame() -> pd.DataFrame:
    return pd.DataFrame({"expiry": [D(2026, 11, 27), D(2026, 12, 4), D(2026, 12, 18)],
                         "net_gex_usd_per_1pct": [1e9, -2e9, 3e8],
                         "max_pain": [6700.0, np.nan, 6650.0], "rr25_vol_pts": [-3.1, np.nan, -4.2]})


# --------------------------------------------------------------------------- the smile


def test_the_smile_draws_one_line_per_expiry_in_vol_percent_against_log_moneyness_with_atm_marked():
    figure = smile_figure(smile_frame(), atm_frame())
    go.Figure(figure)
    lines = [t for t in figure["data"] if t["mode"] == "lines+markers"]
    assert [t["name"] for t in lines] == ["2026-11-27", "2026-12-04"]
    assert lines[0]["x"].tolist() == pytest.approx([np.log(0.9), 0.0, np.log(1.1)])
    assert lines[0]["y"].tolist() == pytest.approx([30.0, 20.0, 22.0])  # percent, not decimals
    atm = next(t for t in figure["data"] if t["name"] == "ATM (forward)")
    assert atm["x"].tolist() == [0.0, 0.0] and atm["y"].tolist() == pytest.approx([20.0, 20.0])
    assert figure["layout"]["xaxis"]["title"]["text"] == "Log-moneyness ln(K/F)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Implied vol (%)"


def test_the_smile_on_a_strike_axis_marks_atm_at_each_forward_and_draws_spot():
    figure = smile_figure(smile_frame(), atm_frame(), x="strike", spot=101.0)
    go.Figure(figure)
    assert figure["data"][0]["x"].tolist() == [90.0, 100.0, 110.0]
    atm = next(t for t in figure["data"] if t["name"] == "ATM (forward)")
    assert atm["x"].tolist() == [100.5, 100.5]
    assert [s["x0"] for s in figure["layout"]["shapes"] if s["name"] == "spot"] == [101.0]


def test_the_smile_draws_the_nearest_expiries_only_and_says_how_many_were_left_out():
    figure = smile_figure(smile_frame(9), atm_frame(9))
    lines = [t for t in figure["data"] if t["mode"] == "lines+markers"]
    assert len(lines) == MAX_SMILE_LINES and lines[0]["name"] == "2026-11-27"  # the nearest first
    assert figure["layout"]["title"]["text"] == f"IV smile by expiry (nearest {MAX_SMILE_LINES} of 9 expiries)"


def test_the_smile_draws_the_selected_expiries_only():
    figure = smile_figure(smile_frame(3), atm_frame(3), selected_expiries=["2026-12-11"])
    assert [t["name"] for t in figure["data"] if t["mode"] == "lines+markers"] == ["2026-12-11"]
    assert "nearest" not in figure["layout"]["title"]["text"]


@pytest.mark.parametrize("frame", [None, pd.DataFrame({"expiry": [D(2026, 11, 27)], "strike": [100.0]})])
def test_an_analysis_without_a_smile_draws_an_empty_figure_that_says_what_is_missing(frame):
    figure = smile_figure(frame)
    go.Figure(figure)
    assert figure["data"] == [] and "missing" in figure["layout"]["annotations"][0]["text"]
    assert "iv" in figure["layout"]["annotations"][0]["text"]


# --------------------------------------------------------------------------- max pain


def test_max_pain_draws_each_expirys_strike_against_spot_and_the_risk_reversal_on_a_second_axis():
    figure = max_pain_figure(by_expiry_frame(), spot=6680.0, as_of=D(2026, 11, 20))
    go.Figure(figure)
    pain, rr = figure["data"]
    assert pain["x"].tolist() == ["2026-11-27", "2026-12-18"] and pain["y"].tolist() == [6700.0, 6650.0]
    assert pain["customdata"][:, 1].astype(float) == pytest.approx([100 * (6700 / 6680 - 1), 100 * (6650 / 6680 - 1)])
    assert rr["yaxis"] == "y2" and rr["y"].tolist() == [-3.1, -4.2] and rr["type"] == "scatter"  # a line
    assert figure["layout"]["yaxis2"]["title"]["text"] == "25Δ risk reversal (vol pts)"
    spot = [s for s in figure["layout"]["shapes"] if s["name"] == "spot"]
    assert spot and spot[0]["y0"] == 6680.0
    assert "(1 expiry without open interest left out)" in figure["layout"]["title"]["text"]


def test_max_pain_without_the_risk_reversal_has_one_axis():
    figure = max_pain_figure(by_expiry_frame(), spot=6680.0, rr25=False)
    assert [t["name"] for t in figure["data"]] == ["Max pain"] and "yaxis2" not in figure["layout"]


def test_max_pain_fades_expiries_outside_the_selection():
    figure = max_pain_figure(by_expiry_frame(), spot=6680.0, selected_expiries=["2026-12-18"])
    assert figure["data"][0]["selectedpoints"] == [1] and figure["data"][1]["selectedpoints"] == [1]


def test_an_analysis_without_max_pain_draws_an_empty_figure_that_says_what_is_missing():
    figure = max_pain_figure(by_expiry_frame().drop(columns=["max_pain"]), spot=6680.0)
    go.Figure(figure)
    assert figure["data"] == [] and "missing max_pain" in figure["layout"]["annotations"][0]["text"]


# --------------------------------------------------------------------------- through the registry


def fake_analyses(*, smile: pd.DataFrame | None) -> SimpleNamespace:
    """What the smile and max-pain builders read of the computed analyses."""
    a = SimpleNamespace(spot=6680.0, expiries=[D(2026, 11, 27), D(2026, 12, 4)], as_of=pd.Timestamp("2026-11-20 16:15"),
                        term_structure=atm_frame(), by_expiry=by_expiry_frame())
    if smile is not None:
        a.smile = smile
    return SimpleNamespace(current=a, full=a, previous=None)


def test_the_smile_panel_reads_its_axis_from_the_view_state():
    got = fake_analyses(smile=smile_frame())
    by_moneyness = panels.build("smile", ViewState.of(default_state(u="SPX")), got)
    by_strike = panels.build("smile", ViewState.of(default_state(u="SPX", **{SMILE_X_KEY: "strike"})), got)
    assert by_moneyness["layout"]["xaxis"]["title"]["text"] == "Log-moneyness ln(K/F)"
    assert by_strike["layout"]["xaxis"]["title"]["text"] == "Strike"
    assert by_strike["layout"]["height"] == panels.BY_NAME["smile"].height


def test_the_smile_panel_on_an_analysis_without_a_smile_says_so():
    figure = panels.build("smile", ViewState.of(default_state(u="SPX")), fake_analyses(smile=None))
    assert figure["data"] == [] and "No smile in this analysis" in figure["layout"]["annotations"][0]["text"]


def test_the_max_pain_panel_reads_its_overlay_choice_from_the_view_state():
    got = fake_analyses(smile=None)
    on = panels.build("max_pain", ViewState.of(default_state(u="SPX", preset="7d")), got)
    off = panels.build("max_pain", ViewState.of(default_state(u="SPX", **{MAX_PAIN_RR_KEY: False})), got)
    assert len(on["data"]) == 2 and len(off["data"]) == 1
    assert on["data"][0]["selectedpoints"] == [0]  # the selection (7d: the analysis's expiries) full strength


def test_every_panel_reads_declared_view_state_keys_and_has_a_distinct_id_export_and_choice():
    assert all(set(p.reads) <= set(FIELDS) for p in panels.PANELS)
    for attr in ("name", "graph_id", "export"):
        values = [getattr(p, attr) for p in panels.PANELS]
        assert len(values) == len(set(values)), attr
    assert all(c.key in FIELDS and FIELDS[c.key].url for c in panels.CHOICES)  # every choice is in the URL


def test_the_layout_export_names_and_outputs_come_from_the_registry():
    graphs = {c.id: c for c in _walk(build_layout()) if type(c).__name__ == "Graph"}
    for p in panels.PANELS:
        g = graphs[p.graph_id]
        assert g.style["height"] == f"{p.height}px"
        assert g.config["toImageButtonOptions"]["filename"] == f"mmpos-{p.export}"
        assert views.OUTPUTS[p.name].component_id == p.graph_id
    assert dict(export.GRAPHS) == {p.graph_id: p.export for p in panels.PANELS}


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


# --------------------------------------------------------------------------- on the demo folder


@pytest.fixture(scope="module")
def demo(demo_dir) -> str:
    return str(demo_dir)


def test_the_smile_axis_control_goes_into_the_url_and_redraws_the_smile_only(demo):
    state = controls.update(None, {URL: "?u=SPX"}, None, demo)[OUT["store"]]
    out = controls.update(f"{ids.SMILE_X}.value", {f"{ids.SMILE_X}.value": "strike"}, state, demo)
    chosen = out[OUT["store"]]
    assert chosen[SMILE_X_KEY] == "strike" and "smx=strike" in out[OUT["search"]]
    first = views.main_update(state, None, demo)
    second = views.main_update(chosen, first["result"], demo)
    assert [p.name for p in panels.PANELS if not isinstance(second[p.name], NoUpdate)] == ["smile"]
    go.Figure(second["smile"])
    assert "SPX" in json.dumps(second["smile"]["layout"]["title"], default=str)  # the export subtitle


def test_a_link_with_panel_choices_sets_their_controls(demo):
    out = controls.update(None, {URL: "?u=SPX&smode=vanna&tspace=1&smx=strike&mprr=0&strike=6800"}, None, demo)
    state = out[OUT["store"]]
    assert (state["smode"], state["tspace"], state[SMILE_X_KEY], state[MAX_PAIN_RR_KEY], state["strike"]) == (
        "vanna", True, "strike", False, 6800.0)
    assert out[OUT[SMILE_X_KEY]] == "strike" and out[OUT[MAX_PAIN_RR_KEY]] == []
    assert out[OUT["smode"]] == "vanna" and out[OUT["tspace"]] == ["equal"]
    assert to_query(state).endswith("strike=6800&smode=vanna&tspace=1&smx=strike&mprr=0")


@pytest.mark.parametrize(("call_wall", "put_wall", "expected"), [
    (430.0, 370.0, (370.0, 430.0)),  # TSLA: both walls 7.5% out, inside the 10% reach: the window shows them
    (460.0, None, (380.0, 420.0)),  # 15% out: too far to widen the opening view for
    (410.0, 395.0, (380.0, 420.0)),  # inside the +/- 5% already
])
def test_the_strike_window_widens_to_a_wall_just_outside_it(monkeypatch, call_wall, put_wall, expected):
    monkeypatch.delenv("MMPOS_STRIKE_WINDOW_PCT", raising=False)
    a = SimpleNamespace(spot=400.0, call_wall=call_wall, put_wall=put_wall)
    lo, hi = panels.strike_window(a, ViewState.of({}))
    pad = 0.005 * (expected[1] - expected[0])  # the edge padding of fig.default_strike_window
    assert (lo, hi) == pytest.approx((expected[0] - pad, expected[1] + pad))
