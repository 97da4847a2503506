"""Adjusted-deliverable roots (AMD1, SPY1): left out by default with a counted note, or priced at a
multiplier the user gives (issue 8)."""

from __future__ import annotations

import pytest

from analytics.report import analyze
from analytics.scenario import Scenario
from analytics.sources import load_chain

CLASSIC = {"forward": "spot", "iv_policy": "file", "shocks_pct": (0.0,), "grid_points": 3}


@pytest.fixture(scope="module")
def spx_with_adjusted(spx_path):
    chain = load_chain(spx_path)
    rows = chain.rows.copy()
    picked = rows.index[(rows["strike"] == 4700.0) & (rows["open_interest"] > 0)]
    rows.loc[picked, "root"] = "SPX1"
    rows.loc[picked, "adjusted"] = True
    return chain, chain.with_rows(rows), len(picked), float(chain.rows.loc[picked, "open_interest"].sum())


def test_adjusted_roots_are_left_out_by_default_with_a_counted_warning(spx_with_adjusted):
    plain, adjusted, n, contracts = spx_with_adjusted
    a = analyze(adjusted, Scenario(**CLASSIC))
    note = next(x for x in a.notes if x.code == "adjusted-roots")
    assert note.rows == n and note.contracts == pytest.approx(contracts)
    assert "SPX1" in note.message and "left out" in note.message
    assert 4700.0 not in set(a.by_strike["strike"]) or a.by_strike.set_index("strike").loc[
        4700.0, "call_gex_usd_per_1pct"] != analyze(plain, Scenario(**CLASSIC)).by_strike.set_index("strike").loc[
        4700.0, "call_gex_usd_per_1pct"]


def test_include_adjusted_prices_them_at_the_given_multiplier(spx_with_adjusted):
    plain, adjusted, _n, _c = spx_with_adjusted
    base = analyze(plain, Scenario(**CLASSIC)).total_gex_usd_per_1pct
    same = analyze(adjusted, Scenario(**CLASSIC, adjusted_multiplier=100.0))
    assert same.total_gex_usd_per_1pct == pytest.approx(base, rel=1e-12)
    assert any("priced at multiplier 100" in w for w in same.warnings)
    half = analyze(adjusted, Scenario(**CLASSIC, adjusted_multiplier=50.0)).total_gex_usd_per_1pct
    left_out = analyze(adjusted, Scenario(**CLASSIC)).total_gex_usd_per_1pct
    assert half == pytest.approx(0.5 * (base + left_out), rel=1e-9)  # GEX is linear in the multiplier


def test_the_cli_takes_include_adjusted_and_refuses_an_absurd_multiplier(capsys, spx_path):
    from dashboard import cli

    assert cli.main(["analyze", str(spx_path), "--include-adjusted", "100", "--grid-points", "3",
                     "--shocks", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["analyze", str(spx_path), "--include-adjusted", "1e308"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "adjusted-root multiplier" in err
