"""Adjusted-deliverable roots (AMD1, SPY1): left out by default with a counted note, or priced on the
deliverable the user gives (issue 8; issue 16: the strike is rescaled with the multiplier)."""

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


def test_include_adjusted_prices_a_root_on_its_deliverable_like_that_many_standard_contracts(spx_with_adjusted):
    # a contract delivering 172 units against the strike amount 100 K pays max(172 S - 100 K, 0): 1.72
    # standard contracts struck at K x 100/172 (premiums likewise per unit). It used to be priced at
    # strike K with multiplier M, the strike left unscaled.
    plain, adjusted, n, _c = spx_with_adjusted
    units = 172.0
    scale = 100.0 / units
    rows = plain.rows.copy()
    picked = adjusted.rows["adjusted"].to_numpy(bool)
    for col in ("strike", "bid", "ask", "mark"):
        rows.loc[picked, col] = rows.loc[picked, col] * scale
    rows.loc[picked, "open_interest"] = rows.loc[picked, "open_interest"] * units / 100.0
    standard = plain.with_rows(rows)
    want = analyze(standard, Scenario(**CLASSIC))
    got = analyze(adjusted, Scenario(**CLASSIC, adjusted_deliverables="SPX1=172"))
    assert got.total_gex_usd_per_1pct == pytest.approx(want.total_gex_usd_per_1pct, rel=1e-12)
    assert got.net_vega_usd_per_vol_pt == pytest.approx(want.net_vega_usd_per_vol_pt, rel=1e-12)
    assert got.total_gex_usd_per_1pct != analyze(adjusted, Scenario(**CLASSIC)).total_gex_usd_per_1pct
    note = next(x for x in got.notes if x.code == "adjusted-roots")
    assert note.rows == n and note.share_of_gross is not None and note.share_of_gross > 0
    assert "SPX1 priced on a deliverable of 172 units" in note.message
    assert "K x 100/172" in note.message and "multiplier 172" in note.message and "1.72 standard" in note.message


def test_an_adjusted_root_without_its_deliverable_is_still_left_out(spx_with_adjusted):
    _plain, adjusted, n, _c = spx_with_adjusted
    a = analyze(adjusted, Scenario(**CLASSIC, adjusted_deliverables={"AMD1": 172}))
    note = next(x for x in a.notes if x.code == "adjusted-roots")
    assert note.rows == n and "SPX1" in note.message and "left out" in note.message


@pytest.mark.parametrize("value", [100, "100", "SPX=172", "SPX1"])
def test_a_bare_multiplier_or_a_standard_root_is_refused_as_a_deliverable(value):
    from analytics.errors import ScenarioError

    with pytest.raises(ScenarioError, match="adjusted deliverable"):
        Scenario(adjusted_deliverables=value)


def test_deliverables_are_normalised_into_one_sorted_hashable_value():
    a = Scenario(adjusted_deliverables="spy1=105, AMD1=172")
    b = Scenario(adjusted_deliverables={"AMD1": 172.0, "SPY1": 105})
    assert a.adjusted_deliverables == b.adjusted_deliverables == (("AMD1", 172.0), ("SPY1", 105.0))
    assert hash(a) == hash(b)


def test_the_cli_takes_include_adjusted_root_units_and_refuses_a_bare_multiplier(capsys, spx_path):
    from dashboard import cli

    assert cli.main(["analyze", str(spx_path), "--include-adjusted", "SPX1=172", "--grid-points", "3",
                     "--shocks", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["analyze", str(spx_path), "--include-adjusted", "100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ROOT=UNITS" in err and "strike unscaled" in err
    assert cli.main(["analyze", str(spx_path), "--include-adjusted", "SPX1=1e308"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deliverable of SPX1" in err
