"""Intraday: one session's summaries shaped into net GEX by strike x time, with spot, zero gamma and walls;
the 0DTE columns and the session each summary keeps in the history store."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from analytics import history as hist
from analytics.history import HistoryStore
from analytics.intraday import column_walls, nearest_levels, session_matrix
from analytics.report import analyze
from analytics.scenario import Scenario
from analytics.sources import load_chain
from analytics.summary import Summary, summarize_chain
from tests.intraday_files import write_session

NAN = np.nan


def summary(hhmm: str, spot: float, strikes: list[float], all_cpn: list[tuple[float, float]],
            zero_cp: list[tuple[float, float]], zero_gamma: tuple[float, ...] = ()) -> Summary:
    """A hand-made summary at ``hhmm`` New York on 2026-11-20: (call, put) GEX of every expiry and of 0DTE."""
    a, z = np.array(all_cpn, float), np.array(zero_cp, float)
    gex = np.column_stack([a, a.sum(axis=1), z, z.sum(axis=1)])
    return Summary(underlying="SPX", as_of=pd.Timestamp(f"2026-11-20 {hhmm}", tz="America/New_York"), spot=spot,
                   convention="dealer-long-calls", total_gex_usd_per_1pct=float(gex[:, 2].sum()),
                   dealer_delta_units=0.0, net_vega_usd_per_vol_pt=0.0, zero_gamma_levels=zero_gamma,
                   call_walls=(), put_walls=(), hedge_flows=(), term=(), strikes=np.array(strikes, float),
                   strike_gex=gex, session="2026-11-20", zero_dte_expiries=("2026-11-20",))


@pytest.fixture()
def three() -> list[tuple[str, Summary]]:
    return [
        ("a.csv", summary("09:35", 101.0, [100, 110], [(5, -1), (2, 0)], [(1, -1), (0, 0)], (95.0, 104.0))),
        ("b.csv", summary("09:40", 108.0, [100, 110, 120], [(3, -4), (6, -2), (6, 0)], [(0, -3), (2, 0), (1, 0)],
                          (95.0, 104.0))),
        ("c.csv", summary("09:45", 95.0, [90, 100], [(0, -7), (1, -7)], [(0, 0), (0, 0)])),
    ]


def test_strikes_are_aligned_by_their_union_with_nan_where_a_snapshot_lists_none(three):
    m = session_matrix(three)
    assert m.strikes.tolist() == [90.0, 100.0, 110.0, 120.0]
    np.testing.assert_array_equal(m.net_gex, [[NAN, 4, 2, NAN], [NAN, -1, 4, 6], [-7, -6, NAN, NAN]])
    np.testing.assert_array_equal(m.call_gex, [[NAN, 5, 2, NAN], [NAN, 3, 6, 6], [0, 1, NAN, NAN]])
    assert m.files == ("a.csv", "b.csv", "c.csv") and m.session == "2026-11-20" and m.underlying == "SPX"
    assert [t.strftime("%H:%M %Z") for t in m.times] == ["09:35 EST", "09:40 EST", "09:45 EST"]
    assert m.spot.tolist() == [101.0, 108.0, 95.0]


def test_zero_gamma_is_the_crossing_nearest_spot_and_the_walls_follow_each_time(three):
    m = session_matrix(three)
    np.testing.assert_array_equal(m.zero_gamma, [104.0, 104.0, NAN])
    np.testing.assert_array_equal(m.call_wall, [100.0, 110.0, 100.0])  # 6 at 110 and 120: the lower strike
    np.testing.assert_array_equal(m.put_wall, [100.0, 100.0, 90.0])  # -7 at 90 and 100: the lower strike


def test_the_0dte_set_reads_the_0dte_columns_and_its_own_walls(three):
    m = session_matrix(three, expiries="0dte")
    np.testing.assert_array_equal(m.net_gex, [[NAN, 0, 0, NAN], [NAN, -3, 2, 1], [0, 0, NAN, NAN]])
    np.testing.assert_array_equal(m.call_wall, [100.0, 110.0, NAN])  # no 0DTE call GEX at 09:45
    np.testing.assert_array_equal(m.put_wall, [100.0, 100.0, NAN])
    np.testing.assert_array_equal(m.zero_gamma, [104.0, 104.0, NAN])  # every expiry's, as the summaries keep it
    with pytest.raises(ValueError, match="expiries must be one of all, 0dte"):
        session_matrix(three, expiries="7d")


def test_helpers_on_edges():
    assert nearest_levels([(), ()], np.array([1.0, 2.0])).tolist() == [pytest.approx(NAN, nan_ok=True)] * 2
    call, put = column_walls(np.zeros(0), np.zeros((2, 0)), np.zeros((2, 0)))
    assert np.isnan(call).all() and np.isnan(put).all()


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory, demo_dir):
    out = tmp_path_factory.mktemp("intraday")
    write_session(demo_dir, out, [dt.time(10, 0), dt.time(12, 30)])
    shutil.copy2(demo_dir / "spx_quotedata_2026-11-19.csv", out)  # the previous session's close
    return out


def test_the_0dte_columns_equal_an_analysis_of_the_0dte_expiry_alone(session_dir):
    chain = load_chain(session_dir / "spx_quotedata_2026-11-20_1000.csv")
    s = summarize_chain(chain)
    assert s.session == "2026-11-20" and s.zero_dte_expiries == ("2026-11-20",)
    alone = analyze(chain, Scenario(expiries=[dt.date(2026, 11, 20)]), band=False).by_strike.set_index("strike")
    zero = pd.DataFrame(s.strike_gex[:, 3:], index=s.strikes, columns=["call", "put", "net"])
    np.testing.assert_allclose(zero.loc[alone.index, "net"], alone["net_gex_usd_per_1pct"], rtol=1e-12)
    np.testing.assert_allclose(zero.loc[alone.index, "call"], alone["call_gex_usd_per_1pct"], rtol=1e-12)
    assert (zero.drop(index=alone.index) == 0).all().all()  # strikes listed by later expiries only
    assert 0 < np.abs(zero["net"]).sum() < np.abs(s.strike_gex[:, 2]).sum()


def test_a_store_keeps_each_summary_s_session_and_serves_one_session(session_dir):
    with HistoryStore(session_dir) as store:
        store.sync()
        items = store.session_summaries("spx", "2026-11-20")
        assert store.session_of("spx_quotedata_2026-11-19.csv") == "2026-11-19"
        assert store.session_summaries("SPX", "2026-11-21") == []
    assert [rel for rel, _ in items] == ["spx_quotedata_2026-11-20_1000.csv", "spx_quotedata_2026-11-20_1230.csv"]
    m = session_matrix(items)
    walls = [(s.call_walls[0][0], s.put_walls[0][0]) for _, s in items]
    assert list(zip(m.call_wall, m.put_wall, strict=True)) == walls  # the summaries' own walls, every expiry
    # open interest x1.1 at 12:30: the same strikes' GEX grows (the gamma of the later time differs too)
    assert np.nansum(np.abs(m.net_gex[1])) > np.nansum(np.abs(m.net_gex[0]))


def test_a_store_of_the_previous_layout_is_dropped_and_rebuilt_with_sessions(tmp_path, demo_dir):
    write_session(demo_dir, tmp_path, [dt.time(11, 0)])
    store_dir = tmp_path / ".mmpos"
    store_dir.mkdir()
    with sqlite3.connect(store_dir / hist.DB_NAME) as conn:  # schema 3: no session, no 0DTE columns
        conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                           "INSERT INTO meta VALUES ('schema_version', '3');"
                           "CREATE TABLE files (rel_path TEXT PRIMARY KEY, version TEXT NOT NULL, status TEXT NOT NULL,"
                           " strikes_file TEXT);")
    with HistoryStore(tmp_path) as store:
        store.sync()
        (rel, s), = store.session_summaries("SPX", "2026-11-20")
    assert rel == "spx_quotedata_2026-11-20_1100.csv" and s.strike_gex.shape[1] == 6
