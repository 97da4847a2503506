"""The history's walls are the page's and the JSON's: analytics.exposure.top_walls, one rule (issue 15);
the Intraday tab's walls by snapshot (analytics.intraday.column_walls) are the same rule over every row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import summary
from analytics.exposure import top_wall_positions, top_walls
from analytics.intraday import column_walls, session_matrix
from analytics.report import analyze
from analytics.sources import load_chain


def test_a_summarys_walls_are_the_analysiss_top_walls(demo_files):
    chain = load_chain(demo_files["spx_quotedata_2026-11-20.csv"])
    got = summary.summarize_chain(chain)
    calls, puts = top_walls(analyze(chain, band=False).by_strike)
    assert (list(got.call_walls), list(got.put_walls)) == (calls, puts)
    assert got.call_walls and all(g > 0 for _, g in got.call_walls) and all(g < 0 for _, g in got.put_walls)


def test_under_a_convention_with_positive_put_gex_the_history_lists_no_put_wall(demo_files, monkeypatch):
    """The history's own ranking listed the smallest positive put GEX as put walls (dealers long every
    option: no put strike pins as a put wall); it now says none, as the page and the JSON do."""
    import analytics.report

    real = analytics.report.analyze
    monkeypatch.setattr(analytics.report, "analyze", lambda chain, **k: real(chain, convention="dealer-long-all", **k))
    chain = load_chain(demo_files["spx_quotedata_2026-11-20.csv"])
    got = summary.summarize_chain(chain)
    assert got.put_walls == () and list(got.call_walls) == top_walls(real(chain, convention="dealer-long-all").by_strike)[0]


def test_top_walls_list_no_call_strike_with_negative_gex_as_a_call_wall():
    """What the history's own ranking did: a negative call GEX filled the list of call walls."""
    by_strike = pd.DataFrame({"strike": [90.0, 100.0, 110.0], "call_gex_usd_per_1pct": [-1.0, 5.0, 0.0],
                              "put_gex_usd_per_1pct": [-3.0, 2.0, 0.0]})
    assert top_walls(by_strike, 3) == ([(100.0, 5.0)], [(90.0, -3.0)])


def _row_walls(strikes: np.ndarray, calls: np.ndarray, puts: np.ndarray) -> tuple[float, float]:
    """One snapshot's walls by the snapshot view's rule (top_walls), NaN for none."""
    c, p = top_walls(pd.DataFrame({"strike": strikes, "call_gex_usd_per_1pct": calls, "put_gex_usd_per_1pct": puts}), 1)
    return (c[0][0] if c else np.nan), (p[0][0] if p else np.nan)


def _reference_wall(strikes: np.ndarray, key: np.ndarray) -> float:
    """The strike of the most negative key < 0 (NaN never), the lower strike on a tie: written out plainly."""
    qualifying = [(v, k) for k, v in zip(strikes.tolist(), key.tolist(), strict=True) if v < 0]
    return min(qualifying)[1] if qualifying else np.nan


@pytest.fixture(scope="module")
def demo_session(demo_data_dir) -> list[tuple[str, summary.Summary]]:
    """Every sixth snapshot (half-hourly) of the intraday demo's SPX session (data/intraday/) and its close,
    summarised: 14 rows, enough for walls that move (a summary costs ~0.1 s)."""
    files = sorted((demo_data_dir / "intraday").glob("spx_intraday_2026-11-20_*.parquet"))
    assert len(files) == 78
    return [(f.name, summary.summarize_chain(load_chain(f))) for f in files[::6] + files[-1:]]


@pytest.mark.parametrize("expiries", ["all", "0dte"])
def test_the_intraday_walls_are_each_snapshots_top_walls_on_the_demo_session(demo_session, expiries):
    m = session_matrix(demo_session, expiries=expiries)
    by_row = [_row_walls(m.strikes, c, p) for c, p in zip(m.call_gex, m.put_gex, strict=True)]
    assert list(zip(m.call_wall.tolist(), m.put_wall.tolist(), strict=True)) == by_row
    assert m.call_wall.tolist() == [_reference_wall(m.strikes, -c) for c in m.call_gex]
    assert m.put_wall.tolist() == [_reference_wall(m.strikes, p) for p in m.put_gex]
    assert not np.isnan(m.call_wall).any() and len(set(m.call_wall.tolist())) > 1  # the walls move in the session
    if expiries == "all":  # the summaries' own walls (summarize_chain -> top_walls of each analysis)
        assert m.call_wall.tolist() == [s.call_walls[0][0] for _, s in demo_session]
        assert m.put_wall.tolist() == [s.put_walls[0][0] for _, s in demo_session]


def test_the_intraday_walls_are_the_snapshot_rule_on_ties_gaps_and_empty_rows():
    rng = np.random.default_rng(15)
    strikes = np.arange(90.0, 130.0, 5.0)
    calls = rng.integers(-2, 4, (200, len(strikes))).astype(float)  # small integers: many ties
    puts = rng.integers(-3, 2, (200, len(strikes))).astype(float)
    calls[rng.random(calls.shape) < 0.2] = np.nan  # strikes a snapshot does not list
    puts[rng.random(puts.shape) < 0.2] = np.nan
    calls[7], puts[8] = 0.0, np.nan  # a row with no call wall, one with no put wall
    call_wall, put_wall = column_walls(strikes, calls, puts)
    expected = [_row_walls(strikes, c, p) for c, p in zip(calls, puts, strict=True)]
    np.testing.assert_array_equal(np.column_stack([call_wall, put_wall]), np.array(expected))
    assert np.isnan(call_wall[7]) and np.isnan(put_wall[8])
    # the wall alone (argmin) is the first of the ranking (stable sort), ties included
    for alone, ranked in zip(top_wall_positions(calls, puts, 1), top_wall_positions(calls, puts, 3), strict=True):
        np.testing.assert_array_equal(alone, ranked[:, :1])


def test_wall_positions_rank_each_row_on_its_own_strongest_first_with_minus_one_for_none():
    calls, puts = top_wall_positions([[1.0, 5.0, 5.0, np.nan], [0.0, -1.0, 2.0, 0.0]],
                                     [[-1.0, -1.0, 0.0, -4.0], [1.0, 1.0, 1.0, 1.0]], 3)
    assert calls.tolist() == [[1, 2, 0], [2, -1, -1]]  # the tie 5, 5: the lower strike first
    assert puts.tolist() == [[3, 0, 1], [-1, -1, -1]]
    one_row = top_wall_positions([1.0, 5.0], [-2.0, -1.0], 5)
    assert one_row[0].tolist() == [1, 0] and one_row[1].tolist() == [0, 1]
