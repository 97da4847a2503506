"""The watchlist's rows (issue 18), built on a copy of the demo folder: one row per underlying, from the
newest snapshot's opening view, with the history store's totals for the sparkline."""

from __future__ import annotations

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from analytics.history import HistoryStore
from analytics.watchlist import STALE_AFTER_HOURS
from dashboard import service
from dashboard.web import ids
from dashboard.web.callbacks import controls
from dashboard.web.callbacks.watchlist import is_watchlist, watchlist_records
from tests.conftest import clear_caches_but_file_loads, copy_demo_files

KEEP = ("spx_quotedata_2026-11-18.csv", "spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv",
        "btc_book_summary_2026-11-19.json", "btc_book_summary_2026-11-20.json", "btc_table_2026-11-18.parquet")
SPX_AS_OF = pd.Timestamp("2026-11-20 16:15", tz="America/New_York")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, demo_dir):
    out = tmp_path_factory.mktemp("watchlist")
    for path in copy_demo_files(demo_dir, out):
        if path.name not in KEEP and path.suffix != ".toml":
            path.unlink()
    with HistoryStore(out) as store:
        store.sync()
    clear_caches_but_file_loads()
    return out


def rows_by_underlying(folder, now):
    rows, notes = watchlist_records(folder, now)
    assert notes == []
    return {r["underlying"]: r for r in rows}


def test_the_watchlist_has_one_row_per_underlying_in_the_catalogs_order(folder):
    rows, _ = watchlist_records(folder, SPX_AS_OF + pd.Timedelta(hours=1))
    assert [r["underlying"] for r in rows] == ["BTC", "SPX"]
    assert [r["snapshot"] for r in rows] == ["btc-20261120-1400", "spx-20261120-1615"]


def test_the_spx_row_reads_like_the_issues_regime_line(folder):
    spx = rows_by_underlying(folder, SPX_AS_OF + pd.Timedelta(hours=1))["SPX"]
    # the demo's Friday close: short gamma, zero gamma 2.8% above spot, walls 6,800 / 6,600, d/d vs Thursday
    assert spx["regime_text"] == "SHORT γ · zero γ 6,943 (+2.8%) · walls 6,800 / 6,600 · net -$86.7bn (-$33.2bn d/d)"
    assert spx["regime"] == "short-gamma" and not spx["uncertain"]
    assert spx["spot"] == pytest.approx(6753.8728)
    assert (spx["call_wall"], spx["put_wall"]) == (6800.0, 6600.0)
    assert spx["zero_gamma_distance_pct"] == pytest.approx(100 * (spx["zero_gamma"] / spx["spot"] - 1))
    assert (spx["total_text"], spx["change_text"]) == ("-$86.7bn", "-$33.2bn")
    assert spx["flow_m1pct_usd"] < 0 < spx["flow_p1pct_usd"]  # short gamma: dealers sell the dip, buy the rally
    assert spx["href"] == "?u=SPX"


def test_the_day_over_day_change_is_against_the_comparable_previous_snapshot(folder):
    catalog = service.get_catalog(folder)
    newest = catalog.latest("SPX")
    previous = service.find_previous(catalog, newest).entry
    assert previous is not None and previous.path.name == "spx_quotedata_2026-11-19.csv"
    spx = rows_by_underlying(folder, SPX_AS_OF)["SPX"]
    prev_total = service.analysis_for(folder, previous, service.levels_scenario(
        service.Scenario())).total_gex_usd_per_1pct
    assert spx["total_gex_change_usd_per_1pct"] == pytest.approx(spx["total_gex_usd_per_1pct"] - prev_total, rel=1e-6)


def test_the_sparkline_holds_every_stored_snapshot_oldest_first(folder):
    spx = rows_by_underlying(folder, SPX_AS_OF)["SPX"]
    history = spx["history_total_gex_usd_per_1pct"]
    assert len(history) == 3
    with HistoryStore(folder) as store:
        stored = [s.total_gex_usd_per_1pct for _, s in store.summaries("SPX", refresh=False)]
    assert history == pytest.approx(stored)
    assert spx["spark"].startswith("data:image/svg+xml,")


def test_a_row_is_stale_past_the_threshold_and_says_its_age(folder):
    fresh = rows_by_underlying(folder, SPX_AS_OF + pd.Timedelta(hours=2))["SPX"]
    old = rows_by_underlying(folder, SPX_AS_OF + pd.Timedelta(hours=STALE_AFTER_HOURS + 1))["SPX"]
    assert (fresh["stale"], fresh["age_text"]) == (False, "2.0 h")
    assert old["stale"] and old["age_hours"] == pytest.approx(STALE_AFTER_HOURS + 1)


def test_the_watchlist_path_is_recognised_under_any_prefix():
    assert is_watchlist("/watchlist") and is_watchlist("/desk/watchlist") and not is_watchlist("/")


# --------------------------------------------------------------------------- the hidden positioning view

SEARCH, PATH = f"{ids.URL}.search", f"{ids.URL}.pathname"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


def test_loading_the_watchlist_computes_no_positioning_view(folder, monkeypatch):
    """/watchlist hides the positioning view: the controls callback, which makes its view state (and so
    every chart, the KPI strip, the alerts and the history), stops there, whatever the query names."""
    def no_catalog(*_a, **_k):
        raise AssertionError("the controls callback read the catalog on /watchlist")

    monkeypatch.setattr(service, "get_catalog", no_catalog)
    for trigger in (None, SEARCH, PATH):
        with pytest.raises(PreventUpdate):
            controls.update(trigger, {SEARCH: "?u=SPX", PATH: "/watchlist"}, None, str(folder))
        with pytest.raises(PreventUpdate):
            controls.update(trigger, {SEARCH: "", PATH: "/desk/watchlist/"}, {"u": "SPX"}, str(folder))


def test_leaving_the_watchlist_makes_the_view_its_link_names_and_coming_back_redraws_nothing(folder):
    # first load on /watchlist?u=SPX (nothing made), then the header's Positioning link: only the path changes
    opened = controls.update(PATH, {SEARCH: "?u=SPX", PATH: "/"}, None, str(folder))
    state = opened[OUT["store"]]
    assert state["u"] == "SPX" and state["snap"] == "spx-20261120-1615"
    assert opened[OUT["ready"]] == state  # on to the main update
    # to /watchlist and back to the same view: the charts drawn are still right, nothing is redrawn
    with pytest.raises(PreventUpdate):
        controls.update(PATH, {SEARCH: "?u=SPX", PATH: "/"}, state, str(folder))
    # a watchlist row (path and query change): that underlying's view
    row = controls.update(PATH, {SEARCH: "?u=BTC", PATH: "/"}, state, str(folder))
    assert row[OUT["store"]]["u"] == "BTC"
