"""Callbacks called as plain functions on a demo data folder: state transitions, banners, panels.

The registered Dash callbacks are one-line wrappers around these functions (see
dashboard/web/callbacks/*.py), so what is tested here is what the page runs.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from pathlib import Path

import dash_ag_grid as dag
import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from dash import no_update
from dash._callback import NoUpdate
from dash.exceptions import PreventUpdate

from dashboard import service
from dashboard.app import PLOTLY_BUNDLE, CompressedStatic, create_app, serve
from dashboard.runtime.config import Settings, UnsafeConfigError, from_env, is_loopback
from dashboard.web import ids, layout, panels
from dashboard.web.callbacks import controls, export, table, views
from dashboard.web.figures import encode_arrays
from dashboard.web.state import default_state
from tests.conftest import copy_demo_files

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


def _pick(outputs: dict, *keys: str) -> tuple:
    """Outputs of a dictionary-output callback by key."""
    return tuple(outputs[k] for k in keys)



@pytest.fixture(scope="module")
def demo(demo_dir) -> str:
    """The committed demo folder (tests/conftest.py), as the string the Flask config holds."""
    return str(demo_dir)


@pytest.fixture(scope="module")
def demo_with_junk(tmp_path_factory, demo) -> str:
    out = tmp_path_factory.mktemp("junk")
    copy_demo_files(Path(demo), out, only=("spx_quotedata_*.csv", "btc_book_summary_*.json", "spx_book_demo.csv"))
    (out / "ndx_quotedata_truncated.csv").write_text("NDX (Nasdaq 100),15000.0\nnot a date line\n")
    return str(out)


def test_a_copy_of_a_served_data_folder_takes_its_data_files_not_its_history_store(demo, tmp_path):
    """Any ``mmpos serve`` on data/ makes data/.mmpos (a folder): the copies above must not trip on it."""
    served = tmp_path / "served"
    copy_demo_files(Path(demo), served)
    (served / ".mmpos" / "history").mkdir(parents=True)
    (served / "README.md").write_text("not data\n")
    copied = copy_demo_files(served, tmp_path / "copy")
    assert sorted(p.name for p in copied) == sorted(p.name for p in (tmp_path / "copy").iterdir())
    assert {p.name for p in copied} == {p.name for p in served.iterdir()} - {".mmpos", "README.md"}
    assert "adv.toml" in {p.name for p in copied} and any(p.suffix == ".parquet" for p in copied)


def load(data_dir: str, search: str = "") -> list:
    """The controls callback on first page load with this query string."""
    return controls.update(None, {URL: search}, None, data_dir)


def change(data_dir: str, state: dict, trigger: str, value) -> list:
    return controls.update(trigger, {URL: "", trigger: value}, state, data_dir)


# --------------------------------------------------------------------------- controls <-> store <-> URL


def test_first_load_without_a_query_opens_the_newest_snapshot_of_the_default_underlying(demo, monkeypatch):
    monkeypatch.delenv("MMPOS_DEFAULT_UNDERLYING", raising=False)
    out = load(demo)
    state = out[OUT["store"]]
    assert state["u"] == "SPX"
    assert state["snap"] == "spx-20261120-1615"
    assert state["preset"] == "all" and len(state["exp"]) > 5
    assert out[OUT["search"]] == "?u=SPX&snap=spx-20261120-1615"
    assert [o["value"] for o in out[OUT["u_options"]]] == ["BTC", "SPX"]


def test_snapshots_are_listed_newest_first(demo):
    out = load(demo, "?u=SPX")
    values = [o["value"] for o in out[OUT["snap_options"]]]
    assert values == sorted(values, reverse=True) and len(values) == 20  # the demo month
    assert "spot" in out[OUT["snap_options"]][0]["label"]


def test_a_url_sets_the_store_and_every_control(demo):
    q = "?u=SPX&snap=spx-20261118-1615&exp=7d&conv=dealer-short-all&shock=10&h=1&vol=shift:2&stack=1&units=units"
    out = load(demo, q)
    state = out[OUT["store"]]
    assert (state["u"], state["snap"], state["preset"], state["conv"]) == ("SPX", "spx-20261118-1615", "7d", "dealer-short-all")
    assert out[OUT["u"]] == "SPX" and out[OUT["snap"]] == "spx-20261118-1615" and out[OUT["preset"]] == "7d"
    assert out[OUT["conv"]] == "dealer-short-all" and out[OUT["shock"]] == 10 and out[OUT["h"]] == 1
    assert out[OUT["vol"]] == "shift" and out[OUT["volv"]] == 2.0 and out[OUT["volv_disabled"]] is False
    assert out[OUT["stack"]] == ["stack"] and out[OUT["units"]] == "units"
    assert isinstance(out[OUT["search"]], NoUpdate)  # the URL already says it: no history entry


def test_presets_select_the_right_expiries_on_the_spx_demo(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]  # snapshot Friday 2026-11-20 16:15 New York
    for preset, check in [
        ("0dte", lambda e: e == ["2026-11-23"]),  # the 11-20 expiries settled at 16:00: next is Monday
        ("7d", lambda e: e and all(d <= "2026-11-27" for d in e) and "2026-11-27" in e),
        ("30d", lambda e: all(d <= "2026-12-20" for d in e) and "2026-12-18" in e),
        ("monthly", lambda e: "2026-12-18" in e and "2027-01-15" in e and "2026-11-27" not in e),
    ]:
        out = change(demo, state, f"{ids.EXPIRY_PRESET}.value", preset)
        exp = out[OUT["store"]]["exp"]
        assert check(exp), (preset, exp)
        assert out[OUT["exp"]] == []  # a preset shows in the placeholder, not as chips
        assert f"{len(exp)} of" in out[OUT["exp_placeholder"]]
        assert f"exp={preset}" in out[OUT["search"]]


def test_deribit_monthlies_are_last_fridays(demo):
    state = load(demo, "?u=BTC&exp=monthly")[OUT["store"]]
    assert state["exp"] and all(d in {"2026-11-27", "2026-12-25", "2027-01-29", "2027-02-26", "2027-03-26",
                                      "2027-06-25", "2027-09-24", "2027-12-31"} for d in state["exp"])


def test_the_convention_list_has_book_only_when_a_positions_file_exists(demo):
    spx = [o["value"] for o in load(demo, "?u=SPX")[OUT["conv_options"]]]
    btc = [o["value"] for o in load(demo, "?u=BTC")[OUT["conv_options"]]]
    assert "book" in spx and "book" not in btc
    # BTC's demo snapshots have Deribit trades beside them (issue 19); SPX has none
    assert btc == ["dealer-long-calls", "dealer-short-all", "dealer-long-all", "flow-inferred"]
    assert "flow-inferred" not in spx
    # a link asking for the book on an underlying without one falls back to the default
    assert load(demo, "?u=BTC&conv=book")[OUT["store"]]["conv"] == "dealer-long-calls"


def test_the_book_convention_draws_the_desk_positions(demo):
    state = load(demo, "?u=SPX&conv=book")[OUT["store"]]
    out = views.main_update(state, None, demo)
    assert "book" in out["convention"]
    assert out["gamma"]["data"]


def test_clicking_a_term_structure_bar_sets_a_custom_expiry_set_and_the_controls_follow(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    click = {"points": [{"curveNumber": 0, "x": 28.0, "customdata": ["2026-12-18", 28.0]}]}
    out = change(demo, state, f"{ids.TERM_GRAPH}.clickData", click)
    assert out[OUT["store"]]["preset"] == "custom" and out[OUT["store"]]["exp"] == ["2026-12-18"]
    assert out[OUT["preset"]] == "custom" and out[OUT["exp"]] == ["2026-12-18"]
    assert "exp=2026-12-18" in out[OUT["search"]]


def test_box_selecting_term_structure_bars_sets_several_expiries(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    selected = {"points": [{"customdata": ["2026-12-18", 28.0]}, {"customdata": ["2026-11-27", 7.0]}]}
    out = change(demo, state, f"{ids.TERM_GRAPH}.selectedData", selected)
    assert out[OUT["store"]]["exp"] == ["2026-11-27", "2026-12-18"]
    assert "exp=2026-11-27,2026-12-18" in out[OUT["search"]]


def test_a_cleared_selection_changes_nothing(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    with pytest.raises(PreventUpdate):
        change(demo, state, f"{ids.TERM_GRAPH}.selectedData", None)


def test_changing_underlying_resets_snapshot_strike_and_custom_dates(demo):
    state = load(demo, "?u=SPX&exp=2026-12-18")[OUT["store"]]
    state["strike"] = 6800.0
    out = change(demo, state, f"{ids.UNDERLYING}.value", "BTC")
    new = out[OUT["store"]]
    assert new["u"] == "BTC" and new["snap"].startswith("btc-") and new["strike"] is None
    assert new["preset"] == "all"


def test_custom_dates_not_live_in_another_snapshot_fall_back_to_all(demo):
    state = load(demo, "?u=SPX&snap=spx-20261116-1615&exp=2026-11-17")[OUT["store"]]
    assert state["exp"] == ["2026-11-17"]
    out = change(demo, state, f"{ids.SNAPSHOT}.value", "spx-20261120-1615")
    assert out[OUT["store"]]["preset"] == "all"


def test_clicking_a_gamma_bar_selects_the_strike_and_clicking_it_again_clears_it(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    click = {"points": [{"x": 6800.0, "customdata": [6800.0]}]}
    state = change(demo, state, f"{ids.GAMMA_GRAPH}.clickData", click)[OUT["store"]]
    assert state["strike"] == 6800.0
    assert change(demo, state, f"{ids.GAMMA_GRAPH}.clickData", click)[OUT["store"]]["strike"] is None


def test_the_vol_value_is_disabled_without_a_vol_scenario(demo):
    out = load(demo, "?u=SPX")
    assert out[OUT["volv_disabled"]] is True
    out = change(demo, out[OUT["store"]], f"{ids.VOL_MODE}.value", "beta")
    assert out[OUT["volv_disabled"]] is False and "vol=beta:0" in out[OUT["search"]]


# --------------------------------------------------------------------------- banners and errors


def test_a_broken_file_produces_the_banner_text_and_the_rest_works(demo_with_junk):
    out = load(demo_with_junk, "?u=SPX")
    banner = json.dumps(out[OUT["banner"]], default=lambda c: c.to_plotly_json())
    assert "ndx_quotedata_truncated.csv" in banner and "could not be read" in banner
    assert out[OUT["store"]]["snap"] == "spx-20261120-1615"
    views_out = views.main_update(out[OUT["store"]], None, demo_with_junk)
    assert views_out["gamma"]["data"]


def test_no_banner_when_every_file_reads(demo):
    assert load(demo)[OUT["banner"]] == []


def test_a_chain_data_error_shows_an_error_banner_and_empty_figures(demo):
    state = default_state(u="SPX", snap="spx-20261120-1615", preset="custom", exp=["2031-01-17"])
    out = views.main_update(state, None, demo)
    banner = json.dumps(out["banner"].to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert "banner-error" in banner and "2031-01-17" in banner and "not in the live chain" in banner
    assert not out["gamma"]["data"]
    assert out["table"] == []


def test_an_unexpected_error_becomes_a_short_banner_and_the_exception_goes_to_the_log(demo, monkeypatch, caplog):
    def boom(*_args, **_kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(views, "render", boom)
    out = views.main_update(default_state(u="SPX"), None, demo)
    banner = json.dumps(out["banner"].to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert "Drawing this view failed" in banner and "request id" in banner
    assert "engine exploded" not in banner and "RuntimeError" not in banner
    assert "Drawing this view failed" in caplog.text and "engine exploded" in caplog.text


def test_an_empty_data_folder_says_so_by_its_name_not_its_absolute_path(tmp_path):
    out = views.main_update(load(str(tmp_path))[OUT["store"]], None, str(tmp_path))
    banner = json.dumps(out["banner"].to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert tmp_path.name in banner and str(tmp_path) not in banner


# --------------------------------------------------------------------------- main update


def test_the_main_update_fills_every_panel_with_units(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    out = views.main_update(state, None, demo)
    gamma, hedge, term = out["gamma"], out["hedge"], out["term"]
    assert "USD" in gamma["layout"]["yaxis"]["title"]["text"]
    assert "USD" in json.dumps(hedge["layout"], default=str)
    assert "vega" in json.dumps(term["layout"], default=str).lower()
    assert out["title"].startswith("SPX") and "2026-11-20 16:15" in out["snapshot"]
    assert "dealer-long-calls" in out["convention"]
    assert out["result"]["drawn"] == [*(p.name for p in panels.PANELS), views.SUMMARY]  # what the comparison completes
    assert isinstance(out["table"], NoUpdate)  # the table's rows come after the charts ...
    rows, page = _pick(views.comparison(state, out["result"], demo), "table", "table_page")  # ... with the comparison
    assert rows and set(rows[0]) == {"strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"}
    assert page == views.spot_page(rows, out["result"]["spot"]) > 0  # opened at spot
    assert out["result"]["spot"] > 0


def _html(components) -> str:
    return json.dumps([c.to_plotly_json() for c in components], default=lambda c: c.to_plotly_json())


def _apply_patch(figure: dict, patch) -> dict:
    """Apply a Dash ``Patch`` to a figure dict the way dash-renderer does (the operations used here)."""
    figure = json.loads(json.dumps(figure))
    for op in patch.to_plotly_json()["operations"]:
        *path, last = op["location"]
        target = figure
        for key in path:
            target = target.setdefault(key, {})
        if op["operation"] == "Append":
            target[last].append(op["params"]["value"])
        elif op["operation"] == "Assign":
            target[last] = op["params"]["value"]
        else:
            raise AssertionError(f"unexpected patch operation {op['operation']}")
    return json.loads(pio.to_json(figure, validate=False))


def test_the_main_update_leaves_the_previous_snapshot_to_the_comparison_callback(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    out = views.main_update(state, None, demo)
    assert "Changes vs the previous" not in _html(out["kpis"])
    assert "previous snapshot" not in json.dumps(out["gamma"]["data"], default=str)

    kpis, patch = _pick(views.comparison(state, out["result"], demo), "kpis", "gamma")
    assert "Changes vs the previous SPX snapshot of an earlier session (day over day), 2026-11-19" in _html(kpis)
    assert "kpi-delta up" in _html(kpis) or "kpi-delta down" in _html(kpis)
    # the patched chart is the chart the builder draws with the previous snapshot (and the export
    # subtitle), to the byte
    catalog = service.get_catalog(demo)
    entry = catalog.get(state["snap"])
    current = views.compute(state, catalog, entry, demo).current
    previous = views.compute_previous(state, catalog, entry, demo).analysis
    subtitle = export.export_labels(state, entry.as_of)[0]
    expected = pio.to_json(views.titled("gamma", encode_arrays(views.gamma_figure(state, current, previous)), subtitle),
                           validate=False)
    patched = _apply_patch(json.loads(pio.to_json(out["gamma"], validate=False)), patch)
    assert patched == json.loads(expected)


def test_the_comparison_completes_only_the_panels_the_main_update_drew(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    first = views.main_update(state, None, demo)
    clicked = views.main_update({**state, "units": "units"}, first["result"], demo)
    kpis, patch = _pick(views.comparison({**state, "units": "units"}, clicked["result"], demo), "kpis", "gamma")
    assert not isinstance(kpis, NoUpdate) and isinstance(patch, NoUpdate)  # units: the KPI strip, not view 1
    strike = views.main_update({**state, "strike": 6800.0}, first["result"], demo)
    kpis, patch = _pick(views.comparison({**state, "strike": 6800.0}, strike["result"], demo), "kpis", "gamma")
    assert isinstance(kpis, NoUpdate) and not isinstance(patch, NoUpdate)


def test_the_oldest_snapshot_says_there_is_nothing_to_compare(demo):
    oldest = min(service.get_catalog(demo).snapshots(), key=lambda e: e.as_of if e.underlying == "SPX" else
                 pd.Timestamp.max.tz_localize("UTC"))
    state = load(demo, f"?u=SPX&snap={oldest.id}")[OUT["store"]]
    out = views.main_update(state, None, demo)
    kpis, patch = _pick(views.comparison(state, out["result"], demo), "kpis", "gamma")
    assert "No earlier snapshot of this underlying" in _html(kpis) and isinstance(patch, NoUpdate)


def test_a_strike_click_redraws_only_view_1_and_its_breakdown(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    first = views.main_update(state, None, demo)
    clicked = {**state, "strike": 6800.0}
    second = views.main_update(clicked, first["result"], demo)
    for name in ("hedge", "term", "kpis", "table", "title", "banner"):
        assert isinstance(second[name], NoUpdate), name
    assert "Strike 6,800" in json.dumps(second["breakdown"]["layout"]["title"], default=str)
    assert second["gamma"] is not first["gamma"]


def test_the_units_toggle_redraws_only_the_hedging_view_and_the_kpi_strip(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    first = views.main_update(state, None, demo)
    second = views.main_update({**state, "units": "units"}, first["result"], demo)
    changed = [n for n in ("gamma", "breakdown", "hedge", "term", "kpis") if not isinstance(second[n], NoUpdate)]
    assert changed == ["hedge", "kpis"]


def test_the_figures_of_the_spx_demo_weigh_less_than_500_kb(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    out = views.main_update({**state, "strike": 6800.0}, None, demo)
    size = sum(len(pio.to_json(out[n], validate=False)) for n in ("gamma", "breakdown", "hedge", "term"))
    assert size < 500_000, size


def test_the_term_structure_always_shows_every_expiry(demo):
    state = load(demo, "?u=SPX&exp=7d")[OUT["store"]]
    term = views.main_update(state, None, demo)["term"]
    all_state = load(demo, "?u=SPX")[OUT["store"]]
    assert len(term["data"][0]["customdata"]) == len(all_state["exp"])


def test_the_csv_download_holds_the_per_strike_exposure(demo):
    state = load(demo, "?u=SPX&exp=7d")[OUT["store"]]
    payload = table.strike_csv(state, demo)
    assert payload["filename"] == "mmpos_SPX_2026-11-20T1615_dealer-long-calls_exp-7d_by-strike.csv"
    assert payload["content"].splitlines()[0] == ("strike,call_gex_usd_per_1pct,put_gex_usd_per_1pct,net_gex_usd_per_1pct,"
                                                  "underlying,spot,snapshot,convention,expiries,scenario")
    with pytest.raises(PreventUpdate):
        table.strike_csv(None, demo)


def test_the_strike_grid_columns_are_the_rows_fields_with_strike_pinned_and_units_in_the_titles(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    result = views.main_update(state, None, demo)["result"]
    (rows,) = _pick(views.comparison(state, result, demo), "table")
    defs = layout.strike_column_defs()
    assert [d["field"] for d in defs] == list(rows[0])  # one column per row field, in the rows' order
    assert defs[0]["field"] == "strike" and defs[0]["pinned"] == "left"
    assert [d["headerName"] for d in defs[1:]] == ["Call GEX (USD per 1%)", "Put GEX (USD per 1%)", "Net GEX (USD per 1%)"]
    assert all(d["type"] == "rightAligned" and "function" in d["valueFormatter"] for d in defs)  # beside its title
    assert all(d["getQuickFilterText"] == {"function": "''"} for d in defs[1:])  # the finder looks at strikes only
    assert "getQuickFilterText" not in defs[0]
    assert all(r[k] == round(r[k]) for r in rows for k in list(r)[1:])  # whole dollars, as the format shows


def test_every_property_a_callback_sets_on_the_strike_grid_is_one_ag_grid_has(demo):
    app = create_app(demo)
    outputs = [o for cb in app.callback_map.values() for o in (cb["output"] if isinstance(cb["output"], list) else [cb["output"]])]
    targets = {o.component_property for o in outputs if o.component_id == ids.STRIKE_TABLE}
    assert {"rowData", "paginationGoTo", "dashGridOptions"} <= targets
    assert targets <= set(dag.AgGrid().available_properties)


def test_the_page_builds_without_a_deprecated_component(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # dash_table.DataTable warned on every start
        create_app(demo)


def test_previous_expiries_keep_the_dates_shown_that_were_live_then(demo):
    catalog = service.get_catalog(demo)
    prev = service.expiry_facts(service.load_chain(catalog.get("spx-20261119-1615")))
    assert views.previous_expiries({"preset": "all"}, prev) is None
    assert views.previous_expiries({"preset": "7d"}, prev) is None  # no dates resolved: every expiry, as now
    assert views.previous_expiries({"preset": "7d", "exp": ["2026-11-23", "2026-11-27", "2031-01-01"]},
                                   prev) == ["2026-11-23", "2026-11-27"]  # the dates shown, not 11-20 (settled)
    assert views.previous_expiries({"preset": "custom", "exp": ["2026-12-18", "2031-01-01"]}, prev) == ["2026-12-18"]


# --------------------------------------------------------------------------- app, config, serve


def test_create_app_builds_without_reading_data(tmp_path):
    app = create_app(tmp_path / "does-not-exist-yet")
    assert app.server.config["MMPOS_DATA_DIR"].endswith("does-not-exist-yet")
    assert app.server.test_client().get("/").status_code == 200


def _main_update_body(app, state: dict) -> dict:
    """The JSON the browser posts for the main update, outputs read from the app's own dependencies."""
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    main = next(d for d in deps if [i["id"] for i in d["inputs"]] == [ids.READY_VIEW_STORE])
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
               for part in main["output"].strip(".").split("...")]
    return {"output": main["output"], "outputs": outputs,
            "inputs": [{"id": ids.READY_VIEW_STORE, "property": "data", "value": state}],
            # the result store, then the display choices (strike measure, term spacing) at their defaults
            "state": [{"id": d["id"], "property": d["property"], "value": None} for d in main["state"]],
            "changedPropIds": [f"{ids.READY_VIEW_STORE}.data"]}


def test_the_controls_callback_sends_each_new_view_on_through_the_gate(demo):
    out = load(demo, "?u=SPX")
    assert out[OUT["ready"]] == out[OUT["store"]] and isinstance(out[OUT["pending"]], NoUpdate)
    assert controls.gated(out, lambda state, _dir: (state, no_update), demo) == out  # cheap or cached: drawn
    handed = controls.gated(out, lambda state, _dir: (no_update, state), demo)  # cold: a background job
    assert handed[OUT["pending"]] == out[OUT["store"]] and isinstance(handed[OUT["ready"]], NoUpdate)
    unchanged = [no_update] * len(controls.OUTPUTS)
    assert controls.gated(unchanged, lambda *_: pytest.fail("routed a state never made"), demo) == unchanged


def test_two_apps_in_one_process_each_serve_every_callback(demo):
    first, second = create_app(demo), create_app(demo)
    declared = set(first.callback_map)
    # the panels' own choices are the controls callback's since they travel in the URL (two callbacks fewer)
    # + report download, upload (2), grid (2), alerts, watchlist (3: page switch, rows, row click),
    # the new-snapshot poll, the Intraday tab (3: fill, draw, slider and toggle -> URL), the flow-inferred
    # block and the header's collector line
    assert len(declared) == 26 and set(second.callback_map) == declared
    state = load(demo, "?u=SPX")[OUT["store"]]
    for app in (second, first, second):  # the second app first: nothing left for it to take from the first
        response = app.server.test_client().post("/_dash-update-component", json=_main_update_body(app, state))
        assert response.status_code == 200, response.data[:300]
        assert ids.GAMMA_GRAPH in response.get_json()["response"]


def test_static_files_go_out_compressed_and_versioned_assets_are_cached_for_a_year(demo):
    client = create_app(demo).server.test_client()
    page = client.get("/").get_data(as_text=True)
    renderer = re.search(r'src="(/_dash-component-suites/dash/dash-renderer/[^"]+)"', page).group(1)
    plain = len(client.get(renderer).get_data())
    packed = client.get(renderer, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "br" and len(packed.get_data()) < plain / 2
    assert packed.cache_control.max_age == 365 * 24 * 3600  # fingerprinted by Dash
    css = client.get(re.search(r'href="(/assets/style\.css\?m=[^"]+)"', page).group(1))
    css.get_data()
    assert css.cache_control.max_age == 365 * 24 * 3600 and not css.cache_control.no_cache


def test_the_page_draws_with_the_plotly_basic_bundle_of_the_version_plotly_validates_against(demo):
    import plotly

    page = create_app(demo).server.test_client().get("/").get_data(as_text=True)
    assert f"/assets/{PLOTLY_BUNDLE.name}?m=" in page
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    version = re.compile(r"plotly\.js (?:\(basic - minified\) )?v(\S+)")
    assert version.search(PLOTLY_BUNDLE.read_text()[:300]).group(1) == version.search(full.read_text()[:300]).group(1)


def test_only_static_files_are_kept_compressed_and_at_most_the_stated_number():
    cache = CompressedStatic(max_entries=2)
    cache.set("br;POST /_dash-update-component?", b"a response")
    assert cache.get("br;POST /_dash-update-component?") is None
    for name in ("a.js", "b.js", "c.js"):
        cache.set(f"br;GET /_dash-component-suites/dash/{name}?", name.encode())
    assert cache.get("br;GET /_dash-component-suites/dash/a.js?") is None
    assert cache.get("br;GET /_dash-component-suites/dash/c.js?") == b"c.js"


def test_serve_refuses_debug_on_a_public_interface():
    with pytest.raises(SystemExit, match="refusing to run with debug on host '0.0.0.0'"):
        serve(None, host="0.0.0.0", port=8050, debug=True)


def test_settings_default_to_loopback_with_debug_off():
    s = from_env({})
    assert (s.host, s.port, s.debug, s.data_dir) == ("127.0.0.1", 8050, False, None)
    assert from_env({"MMPOS_DEBUG": "1", "MMPOS_PORT": "9000", "MMPOS_DATA_DIR": "/x"}).debug is True
    assert is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    with pytest.raises(UnsafeConfigError):
        Settings(host="10.1.2.3", debug=True).checked()
    assert Settings(host="10.1.2.3", debug=False).checked().host == "10.1.2.3"


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_every_id_in_ids_is_in_the_layout_once_and_every_chart_exports_png():
    from dashboard.web import ids as ids_module
    from dashboard.web.layout import build_layout

    components = list(_walk(build_layout()))
    found = [c.id for c in components if getattr(c, "id", None)]
    declared = {v for k, v in vars(ids_module).items() if k.isupper() and isinstance(v, str)}
    assert sorted(found) == sorted(set(found)), "duplicate ids"
    assert set(found) == declared
    graphs = [c for c in components if type(c).__name__ == "Graph"]
    assert len(graphs) == len(panels.PANELS) + 4  # the registered views + the History tab's three + Intraday
    for g in graphs:
        assert g.config["toImageButtonOptions"]["format"] == "png"
        assert g.config["toImageButtonOptions"]["filename"].startswith("mmpos-")


def test_a_missing_data_folder_is_named_in_a_banner_and_the_views_say_nothing_to_show(tmp_path):
    missing = str(tmp_path / "not-here")
    out = load(missing)
    banner = json.dumps([c.to_plotly_json() for c in out[OUT["banner"]]], default=lambda c: c.to_plotly_json())
    assert "not-here" in banner and "data directory not found" in banner
    assert out[OUT["store"]]["u"] is None
    views_out = views.main_update(out[OUT["store"]], None, missing)
    assert "Nothing to show" in json.dumps(views_out["banner"].to_plotly_json(), default=lambda c: c.to_plotly_json())


def test_back_and_forward_navigation_never_writes_the_url(demo, monkeypatch):
    monkeypatch.delenv("MMPOS_DEFAULT_UNDERLYING", raising=False)
    state = load(demo, "?u=BTC")[OUT["store"]]
    out = controls.update(URL, {URL: ""}, state, demo)
    assert isinstance(out[OUT["search"]], NoUpdate)
    assert out[OUT["store"]]["u"] == "SPX"  # the bare URL means the default view


def test_changing_the_shock_range_redraws_only_the_hedging_view_and_the_numbers(demo):
    state = load(demo, "?u=SPX")[OUT["store"]]
    first = views.main_update(state, None, demo)
    second = views.main_update({**state, "shock": 10.0}, first["result"], demo)
    redrawn = [n for n in ("gamma", "breakdown", "hedge", "term", "kpis") if not isinstance(second[n], NoUpdate)]
    assert redrawn == ["hedge", "kpis"]
    x = second["hedge"]["data"][0]["x"]
    if isinstance(x, dict):  # plotly ships numpy arrays base64-encoded
        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
    assert max(x) == 10


def test_a_cached_figure_is_reused_for_the_same_view_with_another_shock(demo):
    state = load(demo, "?u=SPX&exp=30d")[OUT["store"]]
    a = views.main_update(state, None, demo)["gamma"]
    b = views.main_update({**state, "shock": 5.0}, None, demo)["gamma"]
    assert a is b


# --------------------------------------------------------------------------- the Scenario in the page


def _text(component) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json())


def test_a_refused_scenario_in_the_url_shows_a_banner_and_the_page_uses_the_nearest_valid_value(demo):
    out = load(demo, "?u=SPX&vol=beta:500")
    assert out[OUT["store"]]["volv"] == 10.0 and out[OUT["volv"]] == 10.0
    banner = _text(out[OUT["banner"]])
    assert "spot-vol beta 500 is out of range: allowed -10 to 10" in banner and "banner-warn" in banner
    views_out = views.main_update(out[OUT["store"]], None, demo)
    assert views_out["gamma"]["data"]


def test_a_hostile_vol_value_from_a_control_is_refused_the_same_way(demo):
    state = load(demo, "?u=SPX&vol=shift:1")[OUT["store"]]
    out = change(demo, state, f"{ids.VOL_VALUE}.value", 1e308)
    assert out[OUT["store"]]["volv"] == 500.0
    assert "vol shift 1e+308 is out of range" in _text(out[OUT["banner"]])


def test_a_vol_shift_below_the_chains_lowest_iv_is_noted_and_the_views_still_draw(demo):
    made = load(demo, "?u=SPX&vol=shift:-400")
    assert "out of range for this chain" in _text(made[OUT["banner"]])  # the controls clamp it (and say so)
    state = {**made[OUT["store"]], "volv": -400.0, "volasked": None}  # a state posted without the controls
    out = views.main_update(state, None, demo)
    assert "out of range for this chain" in _text(out["banner"])
    assert out["gamma"]["data"] and out["hedge"]["data"]


def test_the_convention_labels_come_from_the_registry(demo):
    from analytics import conventions

    options = load(demo, "?u=SPX")[OUT["conv_options"]]
    assert options == [{"label": conventions.get(o["value"]).label, "value": o["value"]} for o in options]
    # the demo has an SPX positions file (book); trades (flow-inferred) only for BTC
    assert [o["value"] for o in options] == [n for n in conventions.NAMES if n != conventions.FLOW_INFERRED]


def test_analyses_are_cached_by_the_whole_scenario(demo):
    from analytics.scenario import Scenario

    entry = service.get_catalog(demo).get("spx-20261120-1615")
    base = Scenario(shocks_pct=(0.0,), grid_points=11, forward="spot")  # on spot, the rate moves every price
    first = service.analysis_for(demo, entry, base)
    assert service.analysis_for(demo, entry, Scenario(shocks_pct=(0.0,), grid_points=11, forward="spot")) is first
    other = service.analysis_for(demo, entry, base.replace(rate=0.05))
    assert other is not first and other.scenario.rate == 0.05
    assert other.total_gex_usd_per_1pct != first.total_gex_usd_per_1pct


def test_the_previous_snapshot_is_found_by_the_service(demo):
    catalog = service.get_catalog(demo)
    previous = service.previous_entry(catalog, catalog.get("spx-20261120-1615"))
    assert previous is not None and str(previous.id) == "spx-20261119-1615"
