"""The page's honesty and sharing fixes (issues 8 and 9), called as plain functions on the demo folder:
model choices in the header, scenario-adjusted KPIs, bad links, export names, the CSV's context."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from dash._callback import NoUpdate

from analytics.notes import Note
from dashboard import service
from dashboard.web import ids, panels
from dashboard.web.callbacks import controls, export, table, views
from dashboard.web.state import STRIKE_MODE_KEY

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


@pytest.fixture(scope="module")
def demo(demo_dir) -> str:
    return str(demo_dir)


def load(data_dir: str, search: str = "") -> list:
    return controls.update(None, {URL: search}, None, data_dir)


def _text(component) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json())


def test_a_bad_link_opens_the_nearest_valid_view_rewrites_the_url_and_says_what_was_replaced(demo):
    out = load(demo, "?u=SPX&snap=spx-20200101-0000&conv=dealer-sideways&exp=30d")
    state = out[OUT["store"]]
    assert state["snap"] == "spx-20261120-1615" and state["conv"] == "dealer-long-calls" and state["preset"] == "30d"
    assert out[OUT["search"]] == "?u=SPX&snap=spx-20261120-1615&exp=30d"
    banner = _text(out[OUT["banner"]])
    assert "link-banner" in banner and "'spx-20200101-0000' is not in the data folder" in banner
    assert "convention 'dealer-sideways' does not exist; showing dealer-long-calls" in banner


def test_the_first_load_of_a_bad_link_in_the_browser_rewrites_it(demo):
    # in the browser the first call comes from the location mounting, with no store yet
    out = controls.update(URL, {URL: "?u=NOPE&exp=7d"}, None, demo)
    assert out[OUT["search"]] == "?u=SPX&snap=spx-20261120-1615&exp=7d"
    assert isinstance(controls.update(URL, {URL: "?u=SPX&exp=7d"}, None, demo)[OUT["search"]], NoUpdate)


def test_back_to_a_bad_link_shows_the_banner_but_never_writes_the_url(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    out = controls.update(URL, {URL: "?u=NOPE"}, state, demo)
    assert isinstance(out[OUT["search"]], NoUpdate)
    assert "underlying 'NOPE' is not in the data folder" in _text(out[OUT["banner"]])


def test_the_header_states_the_model_and_follows_the_forward_and_iv_controls(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    parity = views.main_update(state, None, demo)["convention"]
    spot = views.main_update({**state, "fwd": "spot", "iv": "file"}, None, demo)["convention"]
    assert "put-call-parity" in parity and "iv=otm" in parity
    assert "on spot" in spot and "iv=file" in spot
    assert parity.startswith("Convention: dealer-long-calls (Dealers long calls, short puts) · Model: ")


def test_the_book_header_names_the_positions_file_once(demo):
    state = load(demo, "?u=SPX&conv=book")[OUT["store"]]
    header = views.main_update(state, None, demo)["convention"]
    assert header.startswith("Convention: book (positions file spx_book_demo.csv) · Model: ")
    assert "Book (" not in header


def test_under_a_vol_shift_the_kpi_total_is_the_scenario_profiles_and_says_so(demo):
    state = load(demo, "?u=SPX&vol=shift:5")[OUT["store"]]
    catalog = service.get_catalog(demo)
    analysis = views.compute(state, catalog, catalog.get(state["snap"]), demo).current
    at_spot = views.fig.profile_at_spot(analysis.gamma_profile, analysis.spot)
    assert abs(at_spot - analysis.total_gex_usd_per_1pct) > 1e9  # the headline keeps chain IVs
    regime, *cards = views.main_update(state, None, demo)["kpis"]
    strip = _text(cards)
    assert views.fig.format_usd(at_spot) in strip
    assert views.fig.format_usd(analysis.total_gex_usd_per_1pct) not in strip
    assert strip.count("scenario: vols +5 pts") >= 2
    # the regime line (issue 18) is the snapshot's own headline and band, and says so
    line = _text(regime)
    assert views.fig.format_usd(analysis.total_gex_usd_per_1pct) in line and "not scenario-adjusted" in line


def test_the_units_toggle_reaches_the_kpi_strip(demo):
    state = load(demo, "?u=SPX&units=units")[OUT["store"]]
    strip = _text(views.main_update(state, None, demo)["kpis"])
    assert "SPX units per 1% move" in strip and "USD; + = dealers buy" not in strip


def test_each_data_note_leads_with_its_share_of_gross_gex():
    note = Note("iv-from-twin", "602 IVs taken from the other side", 602, 1e5, share_of_gross=0.14, share_of_flow=0.48)
    banner = _text(views.notes_banner([note.message, "a load note"], [note]))
    assert "14.0% of gross GEX" in banner and "602 IVs taken from the other side (48% of the +5% flow)" in banner
    assert "a load note" in banner and "the largest touches 14.0% of gross GEX" in banner


def test_every_chart_export_is_named_after_the_view_and_titled_with_it(demo):
    out = load(demo, "?u=SPX&exp=7d&conv=dealer-short-all")  # the controls callback: names before the figures
    configs = [out[OUT[f"config:{gid}"]] for gid, _ in export.GRAPHS]
    names = [c["toImageButtonOptions"]["filename"] for c in configs]
    assert names[0] == "mmpos_SPX_2026-11-20T1615_dealer-short-all_exp-7d_gamma-by-strike"
    assert all(c["showSendToCloud"] is False for c in configs)
    state = out[OUT["store"]]
    drawn = views.main_update(state, None, demo)
    for panel in panels.PANELS:  # the subtitle is in each figure as sent, with room for it
        layout = drawn[panel.name]["layout"]
        assert "SPX · 2026-11-20 16:15 EST · convention: dealer-short-all · expiries 7d (" in (
            layout["title"]["subtitle"]["text"])
        assert layout["margin"]["t"] == export.SUBTITLED_TOP_MARGIN_PX
    again = controls.update(f"{ids.UNITS}.value", {f"{ids.UNITS}.value": "units"}, state, demo)
    assert all(isinstance(again[OUT[f"config:{gid}"]], NoUpdate) for gid, _ in export.GRAPHS)  # same names
    other = controls.update(f"{ids.CONVENTION}.value", {f"{ids.CONVENTION}.value": "dealer-long-calls"}, state, demo)
    assert "dealer-long-calls" in other[OUT[f"config:{ids.GAMMA_GRAPH}"]]["toImageButtonOptions"]["filename"]


def test_the_csv_carries_spot_snapshot_convention_expiries_and_scenario(demo):
    state = load(demo, "?u=SPX&exp=7d&vol=shift:2&h=1")[OUT["store"]]
    frame = pd.read_csv(io.StringIO(table.strike_csv(state, demo)["content"]))
    row = frame.iloc[0]
    assert row["underlying"] == "SPX" and row["snapshot"] == "2026-11-20T16:15:00-05:00"
    assert row["spot"] > 0 and row["convention"] == "dealer-long-calls"
    assert row["expiries"].startswith("expiries 7d (")
    assert row["scenario"].startswith("vols +2 pts; horizon +1 day; model: black-76")
    assert frame[["underlying", "spot", "snapshot", "scenario"]].nunique().max() == 1


def test_a_model_choice_redraws_every_view_and_never_reuses_a_cached_figure_of_the_other_model(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    first = views.main_update(state, None, demo)
    second = views.main_update({**state, "fwd": "spot"}, first["result"], demo)
    for panel in ("gamma", "breakdown", "hedge", "term", "kpis", "convention"):
        assert not isinstance(second[panel], NoUpdate), panel
    assert second["gamma"] is not first["gamma"]
    assert _text(second["kpis"]) != _text(first["kpis"])


def test_a_note_that_carries_no_gex_does_not_headline_the_notes():
    note = Note("dropped-settled", "dropped 208 row(s) settled before the snapshot", 208, 5e3, share_of_gross=0.0)
    banner = _text(views.notes_banner([note.message], [note]))
    assert "largest" not in banner and "0.0% of gross GEX" in banner


def test_a_redrawn_strike_view_keeps_its_export_title(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    last = views.main_update(state, None, demo)["result"]
    for mode in ("vanna", "gamma"):
        out = views.main_update({**state, STRIKE_MODE_KEY: mode}, last, demo)
        figure, last = out["gamma"], out["result"]
        assert "SPX · 2026-11-20 16:15 EST" in figure["layout"]["title"]["subtitle"]["text"], mode
