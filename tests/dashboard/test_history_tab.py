"""The History tab as functions: figure builders on plain data, the callbacks' bodies on a demo folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from analytics.history import BACKFILL_STALE_SECONDS, BackfillProgress, HistoryStore
from dashboard.web import ids
from dashboard.web.callbacks import history as cb
from dashboard.web.figures import history as hfig
from dashboard.web.state import default_state, from_query, to_query

DAYS = pd.to_datetime(["2026-11-16 16:15", "2026-11-17 16:15", "2026-11-18 16:15"]).tz_localize("America/New_York")


def _levels() -> pd.DataFrame:
    return pd.DataFrame({
        "snapshot_id": ["s1", "s2", "s3"], "as_of": DAYS, "spot": [6700.0, 6650.0, 6720.0],
        "zero_gamma_levels": [(6750.0,), (), (6600.0, 6800.0)], "call_wall": [6800.0, 6800.0, 6900.0],
        "put_wall": [6600.0, np.nan, 6600.0], "total_gex_usd_per_1pct": [-2e9, 1e9, -3e9],
        "net_vega_usd_per_vol_pt": [-1e6, -2e6, -1.5e6],
    })


# ----------------------------------------------------------------------------- builders


def test_levels_chart_draws_every_zero_gamma_level_and_gaps_where_a_wall_is_missing():
    fig = hfig.levels_history_figure(_levels())
    go.Figure(fig)
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["Zero gamma"]["x"] == ["s1", "s3", "s3"] and traces["Zero gamma"]["y"].tolist() == [6750, 6600, 6800]
    assert np.isnan(traces["Put wall"]["y"][1]) and traces["Put wall"]["connectgaps"] is False
    assert traces["Total GEX"]["yaxis"] == "y2" and traces["Spot"]["yaxis"] == "y"
    assert fig["layout"]["xaxis"]["categoryarray"] == ["s1", "s2", "s3"]
    assert fig["layout"]["xaxis"]["ticktext"] == ["Nov 16<br>2026", "Nov 17", "Nov 18"]  # the year (issue 18)


def test_heatmap_is_centred_on_zero_with_spot_drawn_over_it():
    strikes = np.arange(6500.0, 6901.0, 25.0)
    net = np.outer([1.0, -2.0, 0.5], np.sin(strikes / 50.0)) * 1e9
    fig = hfig.strike_heatmap_figure(["s1", "s2", "s3"], DAYS, strikes, net, np.array([6700.0, 6650.0, 6720.0]),
                                     band_pct=3)
    go.Figure(fig)
    cells, spot = fig["data"]
    assert cells["marker"]["cmid"] == 0 and cells["marker"]["cmin"] == -cells["marker"]["cmax"]
    assert cells["marker"]["cmax"] == pytest.approx(np.abs(net[:, (strikes >= 6450) & (strikes <= 6925)]).max())
    assert spot["name"] == "Spot" and spot["y"].tolist() == [6700.0, 6650.0, 6720.0]
    assert set(cells["x"]) == {"s1", "s2", "s3"}  # a click on a cell hands back its snapshot


def test_heatmap_buckets_are_no_finer_than_the_strikes_that_carry_gex():
    strikes = np.concatenate([np.arange(6000.0, 7001.0, 25.0), [6702.0, 6707.0]])
    net = np.zeros((1, len(strikes)))
    net[0, :-2] = 1e9
    centres, summed, step = hfig.bucket_strikes(strikes, net, 6500.0, 6900.0)
    assert step == 25.0 and summed.sum() == pytest.approx(net[0, (strikes >= 6487.5) & (strikes < 6912.5)].sum())


def test_heatmap_band_follows_realised_moves():
    calm = 6700 * np.exp(np.cumsum(np.r_[0, np.full(10, 0.002) * (-1) ** np.arange(10)]))
    wild = 95000 * np.exp(np.cumsum(np.r_[0, np.full(10, 0.06) * (-1) ** np.arange(10)]))
    assert hfig.heatmap_band_pct(calm) == hfig.HEATMAP_BAND_PCT_BOUNDS[0]
    assert hfig.heatmap_band_pct(wild) == hfig.HEATMAP_BAND_PCT_BOUNDS[1]


def test_term_chart_reads_atm_iv_at_constant_maturities():
    term = pd.DataFrame({"snapshot_id": ["s1", "s1", "s2", "s2", "s3"], "days_to_expiry": [5.0, 60.0, 3.0, 100.0, 40.0],
                         "atm_iv": [0.10, 0.21, 0.12, 0.22, 0.15]})
    fig = hfig.term_history_figure(_levels(), term)
    go.Figure(fig)
    iv7 = fig["data"][1]["y"]
    assert iv7[0] == pytest.approx(100 * (0.10 + 0.11 * 2 / 55)) and np.isnan(iv7[2])  # s3 lists only 40d


def test_empty_history_draws_a_message_not_an_error():
    empty = _levels().iloc[:0]
    for fig in (hfig.levels_history_figure(empty), hfig.term_history_figure(empty, pd.DataFrame(
            columns=list(hfig.TERM_COLUMNS))), hfig.strike_heatmap_figure([], [], np.zeros(0), np.zeros((0, 0)),
                                                                           np.zeros(0))):
        assert fig["layout"]["annotations"][0]["text"] == "No snapshot summarised yet"


# ----------------------------------------------------------------------------- state and navigation


def test_tab_and_depth_travel_in_the_url_and_default_out_of_it():
    state = from_query("?u=SPX&tab=history&hn=60")
    assert (state["tab"], state["hn"]) == ("history", 60)
    assert to_query(state) == "?u=SPX&tab=history&hn=60"
    assert to_query(default_state(u="SPX")) == "?u=SPX"
    assert from_query("?hn=7&tab=nope")["hn"] == 20 and from_query("?tab=nope")["tab"] == "main"


def test_the_url_sets_the_tab_and_depth_controls():
    assert cb.navigate(f"{ids.URL}.search", "?u=BTC&tab=history&hn=all", "main", 20, None, None) == (
        "history", "all", no_update)


def test_choosing_the_history_tab_writes_it_into_the_url():
    store = default_state(u="SPX", snap="spx-1")
    tab, depth, search = cb.navigate(f"{ids.TABS}.value", "?u=SPX&snap=spx-1", "history", 20, None, store)
    assert (tab, depth, search) == ("history", 20, "?u=SPX&snap=spx-1&tab=history")


def test_clicking_a_date_opens_that_snapshot_on_the_main_tab():
    store = default_state(u="SPX", snap="spx-3", tab="history", hn=5)
    click = {"points": [{"x": "spx-1", "y": 6700.0, "curveNumber": 1}]}
    tab, depth, search = cb.navigate(f"{ids.HISTORY_LEVELS_GRAPH}.clickData", "?u=SPX&snap=spx-3&tab=history&hn=5",
                                     "history", 5, click, store)
    assert (tab, depth, search) == ("main", 5, "?u=SPX&snap=spx-1&hn=5")
    with pytest.raises(PreventUpdate):
        cb.navigate(f"{ids.HISTORY_LEVELS_GRAPH}.clickData", "", "history", 5, {"points": []}, store)


# ----------------------------------------------------------------------------- lazy fill and drawing


@pytest.fixture
def small_dir(tmp_path, demo_dir) -> Path:
    for name in ("spx_table_2026-11-13.parquet", "spx_quotedata_2026-11-20.csv", "btc_book_summary_2026-11-20.json",
                 "spx_book_demo.csv"):
        shutil.copy2(demo_dir / name, tmp_path / name)
    return tmp_path


def test_the_store_fills_a_few_files_per_step_and_the_charts_draw_what_is_there(small_dir):
    state = default_state(u="SPX", tab="history")
    first = cb.fill_step(str(small_dir), max_files=2)
    assert first == {"done": 2, "total": 4}
    assert cb.progress_text(first).startswith("2 of 4 data files summarised")
    second = cb.fill_step(str(small_dir), max_files=2)
    assert second == {"done": 4, "total": 4} and cb.progress_text(second) == ""
    levels, heatmap, term = cb.history_figures(state, str(small_dir))
    for fig in (levels, heatmap, term):
        go.Figure(fig)
    assert levels["layout"]["xaxis"]["categoryarray"] == ["spx-20261113-1615", "spx-20261120-1615"]
    assert cb.fill_step(str(small_dir)) == {"done": 4, "total": 4}  # nothing left: nothing recomputed


def test_the_depth_limits_the_charts_to_the_newest_snapshots(small_dir):
    cb.fill_step(str(small_dir), max_files=10)
    levels, _, _ = cb.history_figures(default_state(u="SPX", tab="history", hn=5), str(small_dir))
    assert len(levels["layout"]["xaxis"]["categoryarray"]) == 2
    assert cb.depth_limit("all") is None and cb.depth_limit(5) == 5


def test_the_charts_say_they_show_every_expiry_in_the_stored_convention_whatever_the_view(small_dir):
    cb.fill_step(str(small_dir), max_files=10)
    plain = cb.history_figures(default_state(u="SPX", tab="history"), str(small_dir))
    assert {f["layout"]["title"]["subtitle"]["text"] for f in plain} == {
        "SPX · last 2 snapshots · all expiries · Dealers long calls, short puts"}
    view = default_state(u="SPX", tab="history", conv="dealer-short-all", preset="7d", exp=["2026-11-23", "2026-11-27"])
    for fig in cb.history_figures(view, str(small_dir)):
        assert fig["layout"]["title"]["subtitle"]["text"].endswith(
            "all expiries · Dealers long calls, short puts (snapshot view: Dealers short calls and puts, "
            "expiries 7d (2))")


def test_while_a_backfill_runs_the_tab_shows_its_progress_and_computes_nothing(small_dir):
    with HistoryStore(small_dir) as store:  # an mmpos backfill (this process stands in for it) 1 file in
        store.record_backfill(replace(BackfillProgress.start(total=4, now=1000.0), done=1))
    fill = cb.fill_step(str(small_dir), now=1010.0)
    assert fill == {"done": 1, "total": 4, "backfill_pid": os.getpid()} and not cb.fill_complete(fill)
    assert cb.progress_text(fill).startswith("backfill running: 1 of 4 data files summarised")
    with HistoryStore(small_dir) as store:
        assert len(store.stale()) == 4  # the page left the work to the backfill
    later = 1000.0 + BACKFILL_STALE_SECONDS + 1  # the backfill fell silent (killed): the page fills again
    assert cb.fill_step(str(small_dir), max_files=2, now=later) == {"done": 2, "total": 4}


def test_the_history_axis_names_the_year_at_its_start_and_where_it_changes():
    as_of = pd.to_datetime(["2025-12-30 16:15", "2025-12-31 16:15", "2026-01-02 16:15"])
    axis = hfig._category_axis(["a", "b", "c"], hfig.date_labels(as_of), as_of)
    assert axis["ticktext"] == ["Dec 30<br>2025", "Dec 31", "Jan 02<br>2026"]


def test_a_file_summarised_before_this_process_rescanned_is_named_by_its_catalog_id(tmp_path):
    """The fill step can store a file the catalog's timer has not listed yet; the charts then drew it under
    its path and were never redrawn (the browser test of a file landing with the tab open failed 2 in 3)."""
    from analytics.catalog import holder_for
    from dashboard import service

    demo = Path(__file__).resolve().parents[2] / "data"
    for name in ("spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv"):
        shutil.copy2(demo / name, tmp_path / name)
    holder_for(tmp_path, interval_s=3600.0).get()  # scanned now; the timer would wait an hour
    shutil.copy2(demo / "spx_quotedata_2026-11-18.csv", tmp_path)
    with HistoryStore(tmp_path) as store:
        for fv in store.stale():
            store.put(fv, store.summarize(fv))
    window = service.history_window(str(tmp_path), "SPX")
    assert list(window.levels["snapshot_id"]) == ["spx-20261118-1615", "spx-20261119-1615", "spx-20261120-1615"]
