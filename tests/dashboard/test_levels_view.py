"""The 8 a.m. view (issue 9): key levels, strike measures, change by strike, gamma by expiry, defaults.

Figure builders are called as pure functions and validated once with ``go.Figure``; callbacks are
called as plain functions on the demo folder (and copies of it).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._callback import NoUpdate
from dash.exceptions import PreventUpdate

from analytics.levels import key_levels
from dashboard import service
from dashboard.runtime import config
from dashboard.runtime.config import UnsafeConfigError
from dashboard.web import figures as fig
from dashboard.web import ids, panels
from dashboard.web.callbacks import controls, display, views
from dashboard.web.callbacks.controls import apply_input
from dashboard.web.state import STRIKE_MODE_KEY, TERM_SPACING_KEY, to_query
from tests.conftest import clear_caches_but_file_loads

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


def _pick(outputs: dict, *keys: str) -> tuple:
    """Outputs of a dictionary-output callback by key."""
    return tuple(outputs[k] for k in keys)


@pytest.fixture(scope="module")
def demo(demo_dir) -> str:
    return str(demo_dir)


def spx_state(data_dir: str, search: str = "?u=SPX") -> dict:
    return controls.update(None, {URL: search}, None, data_dir)[OUT["store"]]


def _texts(component) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json())


# --------------------------------------------------------------------------- figure builders


def test_vanna_and_charm_views_state_their_units_on_the_axis():
    frame = pd.DataFrame({"strike": [95.0, 100.0, 105.0],
                          "call_charm_usd_per_day": [1e6, 2e6, 3e6], "put_charm_usd_per_day": [-1e6, 0.0, -2e6],
                          "net_charm_usd_per_day": [0.0, 2e6, 1e6]})
    figure = fig.exposure_by_strike_figure(frame, "charm", spot=100.0, zero_gamma_levels=[98.0],
                                           strike_window=(90.0, 110.0))
    go.Figure(figure)
    assert figure["layout"]["yaxis"]["title"]["text"] == "Charm (USD delta change per day)"
    assert [t["name"] for t in figure["data"]] == ["Call charm", "Put charm", "Net charm"]
    assert fig.STRIKE_MEASURES["vanna"][2] == "Vanna (USD delta change per 1 vol point)"
    with pytest.raises(ValueError, match="unknown measure"):
        fig.exposure_by_strike_figure(frame, "gamma", spot=100.0)


def test_the_change_view_draws_today_minus_the_previous_snapshot_per_strike():
    now = pd.DataFrame({"strike": [100.0, 105.0], "net_gex_usd_per_1pct": [5e9, 2e9]})
    then = pd.DataFrame({"strike": [95.0, 100.0], "net_gex_usd_per_1pct": [1e9, 7e9]})
    change = fig.gex_change_by_strike(now, then)
    figure = fig.gex_change_figure(change, spot=101.0, strike_window=(90.0, 110.0))
    go.Figure(figure)
    bars = figure["data"][0]
    assert bars["x"].tolist() == [95.0, 100.0, 105.0] and bars["y"].tolist() == [-1e9, -2e9, 2e9]
    assert figure["layout"]["yaxis"]["title"]["text"] == "Net GEX change (USD per 1% move)"
    empty = fig.gex_change_figure(None, spot=101.0, note="No change shown: no recent previous snapshot")
    assert "no recent previous snapshot" in empty["layout"]["annotations"][0]["text"]


def test_gamma_by_expiry_gives_every_expiry_an_equal_slot_on_a_date_axis():
    frame = pd.DataFrame({"expiry": [dt.date(2024, 1, 8), dt.date(2024, 1, 9), dt.date(2028, 12, 15)],
                          "call_gex_usd_per_1pct": [2e9, 1e9, 3e8], "put_gex_usd_per_1pct": [-3e9, -5e8, -1e8],
                          "net_gex_usd_per_1pct": [-1e9, 5e8, 2e8]})
    figure = fig.gamma_by_expiry_figure(frame, selected_expiries=["2024-01-09"], as_of=dt.date(2024, 1, 7))
    go.Figure(figure)
    axis = figure["layout"]["xaxis"]
    assert axis["type"] == "category" and axis["ticktext"] == ["Jan 08<br>1d", "Jan 09<br>2d", "Dec 15 '28<br>1804d"]
    many = frame.iloc[[0] * 13].assign(expiry=pd.date_range("2024-01-08", periods=13).date)
    crowded = fig.gamma_by_expiry_figure(many, as_of=dt.date(2024, 1, 7))["layout"]["xaxis"]["ticktext"]
    assert crowded[:2] == ["Jan 08", "Jan 09"]  # one line each: Plotly tilts them; days are in the hover
    assert [t["name"] for t in figure["data"]] == ["Call GEX", "Put GEX", "Net GEX"]
    assert all(t["selectedpoints"] == [1] for t in figure["data"])
    assert figure["data"][0]["customdata"][:, 0].tolist() == ["2024-01-08", "2024-01-09", "2028-12-15"]
    # every expiry selected is "all": nothing faded
    everything = fig.gamma_by_expiry_figure(frame, selected_expiries=["2024-01-08", "2024-01-09", "2028-12-15"])
    assert "selectedpoints" not in everything["data"][0]


def test_the_term_view_in_equal_spacing_puts_a_weekly_as_wide_as_a_2028_expiry():
    frame = pd.DataFrame({"expiry": [dt.date(2024, 1, 10), dt.date(2024, 1, 12), dt.date(2028, 12, 15)],
                          "days_to_expiry": [3.0, 5.0, 1804.0], "atm_iv": [0.12, 0.13, 0.2],
                          "net_vega_usd_per_vol_pt": [1e6, 2e6, -3e6]})
    by_days = fig.term_structure_figure(frame)
    equal = fig.term_structure_figure(frame, equal_spacing=True, as_of=dt.date(2024, 1, 7))
    go.Figure(equal)
    assert np.ptp(by_days["data"][0]["x"]) > 1000
    assert equal["layout"]["xaxis"]["type"] == "category" and equal["data"][0]["width"] == 0.8
    assert equal["data"][0]["x"].tolist() == ["2024-01-10", "2024-01-12", "2028-12-15"]
    assert equal["data"][0]["customdata"][:, 0].tolist() == ["2024-01-10", "2024-01-12", "2028-12-15"]


def test_the_gamma_view_scales_to_todays_bars_not_the_previous_line():
    frame = pd.DataFrame({"strike": [95.0, 100.0, 105.0], "call_gex_usd_per_1pct": [1e6, 3e6, 2e6],
                          "put_gex_usd_per_1pct": [-4e6, -2e6, -0.5e6], "net_gex_usd_per_1pct": [-3e6, 1e6, 1.5e6]})
    huge_yesterday = pd.DataFrame({"strike": [100.0], "net_gex_usd_per_1pct": [1e9]})
    figure = fig.gamma_by_strike_figure(frame, spot=100.0, zero_gamma_levels=[], call_wall=100.0, put_wall=95.0,
                                        previous_net=huge_yesterday, strike_window=(90.0, 110.0))
    lo, hi = figure["layout"]["yaxis"]["range"]
    assert hi < 5e6 and lo > -5e6


def test_key_levels_rows_show_distance_walls_flows_and_changes(demo):
    state = spx_state(demo)
    catalog = service.get_catalog(demo)
    entry = catalog.get(state["snap"])
    current = views.compute(state, catalog, entry, demo).current
    previous = views.compute_previous(state, catalog, entry, demo).analysis
    rows = fig.key_levels_rows(key_levels(current, previous))
    items = [r["item"] for r in rows]
    assert items[0] == "Zero gamma" and "vs spot" in rows[0]["detail"]
    assert {"Call wall 1", "Call wall 2", "Call wall 3", "Put wall 1", "Put wall 2", "Put wall 3", "Abs gamma",
            "Flow -1%", "Flow +1%", "Flow -2%", "Flow +2%", "Charm to close"} <= set(items)
    assert all(r["change"] != "—" for r in rows if r["item"] != "Zero gamma")
    assert all(r["change"] == "—" for r in fig.key_levels_rows(key_levels(current)))


# --------------------------------------------------------------------------- the previous-snapshot rule


def test_the_previous_snapshot_is_the_next_older_one_of_the_same_underlying(demo):
    catalog = service.get_catalog(demo)
    assert service.find_previous(catalog, catalog.get("spx-20261120-1615")).entry.id == "spx-20261119-1615"
    assert service.find_previous(catalog, catalog.get("btc-20261120-1400")).entry.id == "btc-20261119-1400"
    oldest = catalog.snapshots("SPX")[-1]
    assert service.find_previous(catalog, oldest) == service.PreviousSnapshot(None)  # nothing older, nothing to say


def test_a_testnet_file_is_never_the_previous_snapshot_of_a_production_file(demo, tmp_path):
    # the newest BTC days, vendor JSON and canonical tables alike (the 20 days of the month: ~1.5 s of loads)
    for path in [*Path(demo).glob("btc_table_2026-11-1[78].parquet"), *Path(demo).glob("btc_book_summary_*.json")]:
        name = path.name.replace("2026-11-19", "2026-11-19_TESTNET")
        shutil.copy2(path, tmp_path / name)
    catalog = service.get_catalog(tmp_path)
    newest = catalog.latest("BTC")
    assert service.source_kind(newest) == "production"
    previous = service.find_previous(catalog, newest).entry
    assert previous is not None and previous.as_of.date() == dt.date(2026, 11, 18)
    testnet = next(e for e in catalog.snapshots("BTC") if service.source_kind(e) == "testnet")
    assert service.find_previous(catalog, testnet).entry is None


def test_the_real_testnet_book_summary_is_a_testnet_source(shared_data, tmp_path):
    shutil.copy2(shared_data / "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv", tmp_path)
    shutil.copy2(shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv", tmp_path)
    catalog = service.get_catalog(tmp_path)
    kinds = {service.source_kind(e) for e in catalog.snapshots("BTC")}
    assert kinds == {"testnet", "production"}
    assert service.previous_entry(catalog, catalog.latest("BTC")) is None


def test_a_previous_snapshot_older_than_seven_days_shows_no_change(demo, tmp_path):
    for name in ("spx_quotedata_2026-11-20.csv", "spx_table_2026-11-10.parquet"):
        shutil.copy2(Path(demo) / name, tmp_path / name)
    catalog = service.get_catalog(tmp_path)
    found = service.find_previous(catalog, catalog.latest("SPX"))
    assert found.entry is None and found.note.startswith("no recent previous snapshot")
    state = {**spx_state(str(tmp_path)), STRIKE_MODE_KEY: "change"}
    gamma = views.main_update(state, None, str(tmp_path))["gamma"]
    assert "no recent previous snapshot" in gamma["layout"]["annotations"][0]["text"]
    out = views.main_update(spx_state(str(tmp_path)), None, str(tmp_path))
    (kpis,) = _pick(views.comparison(spx_state(str(tmp_path)), out["result"], str(tmp_path)), "kpis")
    assert "no recent previous snapshot" in _texts(kpis)


def test_all_and_a_custom_set_naming_every_expiry_give_identical_changes(demo):
    everything = spx_state(demo)
    custom = {**everything, "preset": "custom", "exp": list(everything["exp"])}
    catalog = service.get_catalog(demo)
    entry = catalog.get(everything["snap"])
    changes = []
    for state in (everything, custom):
        got = views.compute(state, catalog, entry, demo)
        previous = views.compute_previous(state, catalog, entry, demo).analysis
        changes.append(fig.gex_change_by_strike(got.current.by_strike, previous.by_strike))
    pd.testing.assert_frame_equal(changes[0], changes[1])
    # the previous snapshot's 0DTE (settled since) is part of both: a custom subset still drops it
    assert views.previous_expiries(custom, service.facts_for(service.previous_entry(catalog, entry)),
                                   service.facts_for(entry).expiries) is None


@pytest.mark.parametrize("preset", ["monthly", "7d"])
def test_a_preset_and_a_custom_set_of_the_same_dates_give_identical_changes(demo, preset):
    """Issue 18: Monthlies re-resolved on the previous snapshot's date took in the monthly settled
    since, so "Monthlies" and "Custom" with the same dates showed different changes."""
    named = spx_state(demo, f"?u=SPX&exp={preset}")
    assert named["preset"] == preset and named["exp"]
    custom = {**named, "preset": "custom", "exp": list(named["exp"])}
    catalog = service.get_catalog(demo)
    entry = catalog.get(named["snap"])
    changes = []
    for state in (named, custom):
        got = views.compute(state, catalog, entry, demo)
        previous = views.compute_previous(state, catalog, entry, demo).analysis
        changes.append(fig.gex_change_by_strike(got.current.by_strike, previous.by_strike))
    pd.testing.assert_frame_equal(changes[0], changes[1])


# --------------------------------------------------------------------------- callbacks as functions


def test_the_main_update_fills_the_key_levels_and_the_comparison_adds_their_changes(demo):
    state = spx_state(demo)
    out = views.main_update(state, None, demo)
    text = out["levels_text"]
    assert text.startswith("SPX key levels, 2026-11-20") and "changes: no previous snapshot" in text
    assert "zero gamma" in text and "charm to close" in text and "flow +2%" in text
    kpis, patch, panel, text2, note = _pick(views.comparison(state, out["result"], demo), "kpis", "gamma", "levels", "levels_text", "levels_note")
    assert "changes vs 2026-11-19 16:15" in text2 and ", chg " in text2
    assert note.startswith("Changes vs the previous SPX snapshot")
    assert "Change" in _texts(panel)


def test_the_hedging_view_draws_only_the_horizons_asked_for_while_the_levels_get_the_charm_curve(demo):
    state = spx_state(demo)
    out = views.main_update(state, None, demo)
    hedge = out["hedge"]
    assert sum(1 for t in hedge["data"] if "now" in str(t.get("name"))) == 1
    assert not any("+1 day" in str(t.get("name")) for t in hedge["data"])
    catalog = service.get_catalog(demo)
    current = views.compute(state, catalog, catalog.get(state["snap"]), demo).current
    assert set(current.hedge_curves) == {0.0, 1.0}


def test_the_strike_view_opens_at_five_percent_around_spot_and_the_table_at_spot(demo, monkeypatch):
    state = spx_state(demo)
    out = views.main_update(state, None, demo)
    spot = out["result"]["spot"]
    lo, hi = out["gamma"]["layout"]["xaxis"]["range"]
    assert spot * 0.94 < lo < spot * 0.951 and spot * 1.049 < hi < spot * 1.06
    rows, page = _pick(views.comparison(state, out["result"], demo), "table", "table_page")  # the table follows the charts
    shown = [r["strike"] for r in rows[page * 15:(page + 1) * 15]]
    nearest = min((r["strike"] for r in rows), key=lambda k: abs(k - spot))
    assert nearest in shown and page > 0
    with monkeypatch.context() as m:
        m.setenv(config.STRIKE_WINDOW_ENV, "10")
        clear_caches_but_file_loads()  # the figures and analyses drawn with the old window
        lo10, hi10 = views.main_update(state, None, demo)["gamma"]["layout"]["xaxis"]["range"]
    clear_caches_but_file_loads()  # and those drawn with 10%: a later test in this process draws with 5%
    assert lo10 < spot * 0.91 and hi10 > spot * 1.09


def test_the_strike_window_setting_refuses_nonsense():
    assert config.strike_window_pct({}) == config.DEFAULT_STRIKE_WINDOW_PCT == 5.0
    with pytest.raises(UnsafeConfigError, match="MMPOS_STRIKE_WINDOW_PCT"):
        config.strike_window_pct({"MMPOS_STRIKE_WINDOW_PCT": "0"})
    with pytest.raises(UnsafeConfigError):
        config.strike_window_pct({"MMPOS_STRIKE_WINDOW_PCT": "wide"})
    with pytest.raises(UnsafeConfigError, match="MMPOS_STRIKE_WINDOW_PCT"):  # mmpos serve stops at start
        config.from_env({"MMPOS_STRIKE_WINDOW_PCT": "500"})


@pytest.mark.parametrize("mode,title", [("vanna", "Vanna (USD delta change per 1 vol point)"),
                                        ("charm", "Charm (USD delta change per day)"),
                                        ("change", "Net GEX change (USD per 1% move)")])
def test_the_strike_mode_selector_redraws_the_strike_view_in_its_measure_and_nothing_else(demo, mode, title):
    state = spx_state(demo)
    chosen = apply_input(state, f"{ids.STRIKE_MODE}.value", mode)  # the control -> the view state (and URL)
    assert chosen[STRIKE_MODE_KEY] == mode and f"smode={mode}" in to_query(chosen)
    first = views.main_update(state, None, demo)
    second = views.main_update(chosen, first["result"], demo)
    go.Figure(second["gamma"])
    assert second["gamma"]["layout"]["yaxis"]["title"]["text"] == title
    assert [p.name for p in panels.PANELS if not isinstance(second[p.name], NoUpdate)] == ["gamma"]


def test_the_strike_view_in_gamma_mode_gets_the_previous_line_and_the_change_mode_has_none(demo):
    state = spx_state(demo)
    out = views.main_update(state, None, demo)
    (patch,) = _pick(views.comparison(state, out["result"], demo), "gamma")
    assert not isinstance(patch, NoUpdate)  # the previous snapshot's net line, added to the drawn chart
    out = views.main_update({**state, STRIKE_MODE_KEY: "change"}, None, demo)
    kpis, patch = _pick(views.comparison({**state, STRIKE_MODE_KEY: "change"}, out["result"], demo), "kpis", "gamma")
    assert isinstance(patch, NoUpdate) and not isinstance(kpis, NoUpdate)


def test_the_equal_spacing_toggle_redraws_the_term_view_on_a_category_axis(demo):
    state = spx_state(demo)
    spaced = apply_input(state, f"{ids.TERM_SPACING}.value", ["equal"])
    assert spaced[TERM_SPACING_KEY] is True and "tspace=1" in to_query(spaced)
    first = views.main_update(state, None, demo)
    assert first["term"]["layout"]["xaxis"].get("type") != "category"
    second = views.main_update(spaced, first["result"], demo)
    assert second["term"]["layout"]["xaxis"]["type"] == "category"
    assert [p.name for p in panels.PANELS if not isinstance(second[p.name], NoUpdate)] == ["term"]


def test_clicking_an_expiry_bar_sets_the_expiry_set_like_the_term_view(demo):
    payload = {"points": [{"customdata": ["2026-12-18"]}, {"customdata": ["2026-11-27"]}]}
    chosen = display.expiries_from_expiry_view(payload, [])
    assert chosen == ["2026-11-27", "2026-12-18"]
    state = spx_state(demo)
    out = controls.update(f"{ids.EXPIRIES}.value", {URL: "", f"{ids.EXPIRIES}.value": chosen}, state, demo)
    assert out[OUT["store"]]["preset"] == "custom" and out[OUT["store"]]["exp"] == chosen
    with pytest.raises(PreventUpdate):
        display.expiries_from_expiry_view({"points": []}, chosen)
    with pytest.raises(PreventUpdate):
        display.expiries_from_expiry_view(payload, chosen)


def test_the_gamma_by_expiry_view_shows_every_expiry_and_marks_the_selection(demo):
    state = spx_state(demo, "?u=SPX&exp=7d")
    figure = views.main_update(state, None, demo)["expiry"]
    go.Figure(figure)
    iso = figure["data"][0]["customdata"][:, 0].tolist()
    assert len(iso) == 29 and figure["data"][0]["selectedpoints"] == [iso.index(d) for d in state["exp"]]


def test_the_analysis_gives_vanna_and_charm_by_strike_for_its_expiry_set(demo):
    state = spx_state(demo, "?u=SPX&exp=30d")
    catalog = service.get_catalog(demo)
    analysis = views.compute(state, catalog, catalog.get(state["snap"]), demo).current
    frame = analysis.vanna_charm_by_strike
    assert set(frame["strike"]) <= set(analysis.by_strike["strike"])
    for stem in ("vanna_usd_per_vol_pt", "charm_usd_per_day"):
        np.testing.assert_allclose(frame[f"net_{stem}"], frame[f"call_{stem}"] + frame[f"put_{stem}"])
    assert frame["net_charm_usd_per_day"].abs().sum() > 0
