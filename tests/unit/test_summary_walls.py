"""The history's walls are the page's and the JSON's: analytics.exposure.top_walls, one rule (issue 15)."""

from __future__ import annotations

import pandas as pd

from analytics import summary
from analytics.exposure import top_walls
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
