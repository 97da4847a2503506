"""The headline with its band (issue 16): the regime rule, each treatment equal to `mmpos analyze` with
its flags, walls with their runners-up, the band holding every treatment, the ill-conditioned note from
the band, and the screened zero-gamma search equal to the whole grid's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics import headline as hl
from analytics import scenarios
from analytics.catalog_files import load_path_cached
from analytics.errors import ScenarioError
from analytics.headline import Treatment, headline_of, regime
from analytics.report import analyze, positions_from_prepared, prepare_for
from analytics.scenario import Scenario
from analytics.sources import load_chain
from dashboard.cli import format_table, main

FAST = ("--shocks", "-1,0,1")


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_chain(spx_path)


@pytest.fixture(scope="module")
def ndx(ndx_path):
    return load_chain(ndx_path)


@pytest.fixture(scope="module")
def spx_at_spot(spx):
    """``analyze(spx, shocks_pct=(0.0,))`` once for the module (two tests read it; none changes it)."""
    return analyze(spx, shocks_pct=(0.0,))


def run_json(capsys, *args: str) -> dict:
    code = main(["analyze", *args, *FAST])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def treatment(name: str, total: float, zeros=(), call=None, put=None) -> Treatment:
    return Treatment(name, (), total, tuple(zeros), call, put)


# --------------------------------------------------------------------------- the rule, on synthetic inputs


def test_totals_of_both_signs_make_the_regime_uncertain_whatever_the_zero_gamma():
    h = headline_of(100.0, [treatment("a", -5e9, [130.0]), treatment("b", 1e9, [131.0])])
    assert h.regime == "uncertain" and "sign differs" in h.reason
    assert h.total_gex_band_usd_per_1pct == (-5e9, 1e9) and h.zero_gamma_band == (130.0, 131.0)


def test_spot_inside_the_zero_gamma_band_widened_by_the_margin_is_uncertain():
    margin = hl.ZERO_GAMMA_MARGIN * 100.0  # in points of a spot of 100
    inside = [treatment("a", -5e9, [100.0 + 0.99 * margin]), treatment("b", -4e9, [103.0])]
    assert regime(100.0, [-5e9, -4e9], hl.zero_gamma_band(inside, 100.0)) == (
        "uncertain", "spot lies within the zero-gamma band widened by 0.5% of spot")
    below = [treatment("a", 5e9, [97.0]), treatment("b", 4e9, [100.0 - 0.99 * margin])]
    assert headline_of(100.0, below).regime == "uncertain"
    # spot strictly between two treatments' levels (their signs would differ at spot without the totals)
    assert regime(100.0, [-1.0, -2.0], (98.0, 102.0))[0] == "uncertain"


def test_clear_cases_take_the_sign_of_every_total():
    margin = hl.ZERO_GAMMA_MARGIN * 100.0
    short = [treatment("a", -5e9, [100.0 + 1.01 * margin]), treatment("b", -4e9, [104.0])]
    assert headline_of(100.0, short).regime == "short-gamma" and headline_of(100.0, short).reason == ""
    long = [treatment("a", 2e9, [90.0, 100.0 - 1.01 * margin]), treatment("b", 3e9)]
    h = headline_of(100.0, long)
    assert h.regime == "long-gamma" and h.zero_gamma_band == (100.0 - 1.01 * margin,) * 2
    # no zero crossing under any treatment: the band is null and the sign decides
    none = headline_of(100.0, [treatment("a", 2e9), treatment("b", 3e9)])
    assert none.regime == "long-gamma" and none.zero_gamma_band is None
    assert none.to_dict()["zero_gamma_band"] is None


def test_the_zero_gamma_band_takes_each_treatments_level_nearest_spot():
    t = [treatment("a", -1.0, [80.0, 104.0, 130.0]), treatment("b", -1.0, [96.0, 125.0]), treatment("c", -1.0)]
    assert hl.zero_gamma_band(t, 100.0) == (96.0, 104.0)


def test_only_material_repairs_get_a_without_treatment():
    from analytics.notes import Note

    twin = Note("iv-from-twin", "", 10, 1.0, share_of_gross=hl.MATERIAL_SHARE)
    assert hl.is_material_repair(twin, "file")
    assert not hl.is_material_repair(Note("iv-from-twin", "", 10, 1.0, share_of_gross=0.5 * hl.MATERIAL_SHARE), "file")
    assert not hl.is_material_repair(Note("forward-basis", "", 10, 1.0, share_of_gross=0.9), "file")  # a model choice
    assert hl.is_material_repair(Note("iv-placeholder", "", 10, 1.0, share_of_gross=0.2), "file")
    assert not hl.is_material_repair(Note("iv-placeholder", "", 10, 1.0, share_of_gross=0.2), "otm")


# --------------------------------------------------------------------------- on the real files


def cli_numbers(capsys, path, flags) -> dict:
    d = run_json(capsys, str(path), *flags)
    return {k: d[k] for k in ("total_gex_usd_per_1pct", "zero_gamma_levels", "call_wall", "put_wall")}


def assert_same_numbers(t: dict, printed: dict) -> None:
    assert t["total_gex_usd_per_1pct"] == pytest.approx(printed["total_gex_usd_per_1pct"], rel=1e-9)
    assert t["zero_gamma_levels"] == pytest.approx(printed["zero_gamma_levels"], rel=1e-9)
    assert (t["call_wall"], t["put_wall"]) == (printed["call_wall"], printed["put_wall"])


@pytest.mark.slow  # many seconds of a core: make test runs it, make test-fast leaves it out
def test_each_spx_treatment_is_what_analyze_prints_with_its_flags(capsys, spx_path):
    d = run_json(capsys, str(spx_path))
    treatments = d["headline"]["treatments"]
    assert [t["name"] for t in treatments] == ["parity/otm", "spot/file", "spot/otm", "parity/file"]
    for t in treatments:
        assert_same_numbers(t, cli_numbers(capsys, spx_path, t["flags"]))
    # the audit's finding: spot/otm moves the put wall to its runner-up
    assert {t["name"]: t["put_wall"] for t in treatments}["spot/otm"] == 4600.0


@pytest.mark.parametrize("name", ["deribit_btc_ticker_greeks_2026-02-28_tessicin.csv",
                                  "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv"])
def test_each_deribit_treatment_is_what_analyze_prints_with_its_flags(capsys, shared_data, name):
    d = run_json(capsys, str(shared_data / name))
    treatments = d["headline"]["treatments"]
    # Black-76 on the exchange's forwards under either --forward: only the IV choice is a treatment
    assert [t["name"] for t in treatments] == ["exchange/otm", "exchange/file"]
    for t in treatments:
        assert "--forward" not in t["flags"]
        assert_same_numbers(t, cli_numbers(capsys, shared_data / name, t["flags"]))


def test_a_without_treatment_is_what_analyze_prints_with_without_note(capsys, monkeypatch, ndx_path):
    monkeypatch.setattr(hl, "MATERIAL_SHARE", 0.0)  # every repair with rows gets its treatment
    d = run_json(capsys, str(ndx_path), "--forward", "spot", "--iv", "file")
    without = [t for t in d["headline"]["treatments"] if " without " in t["name"]]
    assert {t["name"] for t in without} == {"spot/file without iv-placeholder", "spot/file without iv-from-twin"}
    for t in without:
        assert t["flags"][-2] == "--without-note"
        assert_same_numbers(t, cli_numbers(capsys, ndx_path, t["flags"]))


def test_the_band_holds_every_treatment_on_every_real_chain(shared_data, spx_at_spot, ndx):
    # the CBOE files' chains are the module's (SPX's analysis too); the Deribit files are read here
    analyses = (spx_at_spot, analyze(ndx, shocks_pct=(0.0,)),
                *(analyze(load_chain(shared_data / name), shocks_pct=(0.0,))
                  for name in ("deribit_btc_ticker_greeks_2026-02-28_tessicin.csv",
                               "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv")))
    for a in analyses:
        h = a.headline
        lo, hi = h.total_gex_band_usd_per_1pct
        assert h.treatments[0].total_gex_usd_per_1pct == a.total_gex_usd_per_1pct
        assert len(h.treatments) == (4 if a.model == "bsm" else 2) and not h.skipped
        for t in h.treatments:
            assert lo <= t.total_gex_usd_per_1pct <= hi
            near = hl.nearest_zero(t.zero_gamma_levels, a.spot)
            assert near is None or h.zero_gamma_band[0] <= near <= h.zero_gamma_band[1]
        assert {lo, hi} <= {t.total_gex_usd_per_1pct for t in h.treatments}


def test_spx_walls_carry_their_runners_up_as_by_strike_ranks_them(spx_at_spot):
    a = spx_at_spot
    bs = a.by_strike
    calls = bs.loc[bs["call_gex_usd_per_1pct"] > 0].sort_values("call_gex_usd_per_1pct", ascending=False).head(3)
    puts = bs.loc[bs["put_gex_usd_per_1pct"] < 0].sort_values("put_gex_usd_per_1pct").head(3)
    d = a.to_dict()
    for got, frame, col in ((d["call_walls"], calls, "call_gex_usd_per_1pct"),
                            (d["put_walls"], puts, "put_gex_usd_per_1pct")):
        assert [w["strike"] for w in got] == frame["strike"].tolist()
        assert [w["gex_usd_per_1pct"] for w in got] == frame[col].tolist()
        assert [w["share_of_top"] for w in got] == pytest.approx((frame[col] / frame[col].iloc[0]).tolist())
    assert d["call_walls"][0]["strike"] == d["call_wall"] == 4800.0
    assert d["put_walls"][0]["strike"] == d["put_wall"] == 4700.0
    assert d["put_walls"][1]["strike"] == 4600.0 and d["put_walls"][1]["share_of_top"] > 0.99  # within 1%


def test_spx_is_flagged_ill_conditioned_under_either_forward(spx):
    for forward in ("parity", "spot"):
        a = analyze(spx, forward=forward, iv_policy="file", shocks_pct=(0.0,))
        assert a.headline.regime == "uncertain"
        flag = next(n for n in a.notes if n.code == "ill-conditioned")
        lo, hi = a.headline.zero_gamma_band
        assert f"{lo:,.1f}" in flag.message and f"{hi:,.1f}" in flag.message
    # the total nearly halves under parity: the band says so
    lo, hi = a.headline.total_gex_band_usd_per_1pct
    assert hi / lo < 0.6


def test_a_clear_demo_chain_has_a_regime_and_no_ill_conditioned_note(demo_dir):
    a = analyze(load_chain(demo_dir / "spx_quotedata_2026-11-20.csv"), shocks_pct=(0.0,))
    assert a.headline.regime == "short-gamma"
    assert not any(n.code == "ill-conditioned" for n in a.notes)


def test_without_band_analyze_has_no_headline_and_no_ill_conditioned_note(spx):
    a = analyze(spx, band=False, shocks_pct=(0.0,))
    assert a.headline is None and a.to_dict()["headline"] is None
    assert not any(n.code == "ill-conditioned" for n in a.notes)


def test_the_table_prints_the_regime_band_and_wall_margins(capsys, spx_path):
    text = format_table(run_json(capsys, str(spx_path)))
    assert "regime           uncertain  (total -$20.8bn .. -$11.2bn per 1%, zero gamma 4,717.7 .. 4,736.0; " \
           "4 treatments)" in text
    assert "put wall         4,700  -$7.71bn  (runner-up 4,600 at 99%)" in text


def test_the_json_units_state_the_regime_rule(capsys, spx_path):
    d = run_json(capsys, str(spx_path))
    assert d["units"]["headline"] == hl.RULE_TEXT and "0.5% of spot" in hl.RULE_TEXT
    assert d["headline"]["zero_gamma_margin_pct_of_spot"] == 100 * hl.ZERO_GAMMA_MARGIN


# --------------------------------------------------------------------------- leaving a repair's rows out


def test_without_note_leaves_out_the_rows_and_says_how_many(ndx):
    base = prepare_for(ndx, Scenario(forward="spot", iv_policy="file"))
    twin = next(n for n in base.notes if n.code == "iv-from-twin")
    out = prepare_for(ndx, Scenario(forward="spot", iv_policy="file", without_notes=["iv-from-twin"]))
    assert len(out.iv) == len(base.iv) - twin.rows
    assert np.array_equal(out.iv, base.iv[~twin.mask])
    assert not any(n.code == "iv-from-twin" for n in out.notes)
    note = next(n for n in out.notes if n.code == "without-notes")
    assert note.rows == twin.rows and f"left out {twin.rows:,} row(s) of iv-from-twin" in note.message


def test_an_unknown_note_to_leave_out_is_refused_naming_the_choices():
    with pytest.raises(ScenarioError, match="unknown note 'forward-basis' to leave out; choose among iv-placeholder"):
        Scenario(without_notes=["forward-basis"])
    assert Scenario(without_notes="iv-solved,iv-from-twin").without_notes == ("iv-from-twin", "iv-solved")


# --------------------------------------------------------------------------- the screened zero-gamma search


@pytest.mark.parametrize("forward,iv_policy", [("spot", "file"), ("parity", "file"), ("parity", "otm")])
def test_screened_zero_gamma_levels_equal_the_whole_grids_on_ndx(ndx, forward, iv_policy):
    s = Scenario(forward=forward, iv_policy=iv_policy)
    pos = positions_from_prepared(prepare_for(ndx, s), s.convention)
    pos = pos.take(pos.weight != 0)
    f = np.linspace(0.7, 1.3, 601)
    full = scenarios.zero_crossings(pos, f, scenarios.revalue_grid(pos, f, want_delta=False)[0])
    assert scenarios.zero_gamma_levels(pos, f) == pytest.approx(full, rel=1e-12)
    assert len(full) == (3 if iv_policy == "file" else 1)  # NDX's three crossings (file IVs)


def test_screened_search_finds_two_crossings_inside_one_coarse_interval():
    # a short, narrow-vol strike of the other sign between two long ones: the profile dips below zero
    # between grid points 101 and 105, inside the coarse interval 100-110 (its bounds cannot settle it)
    one = np.ones(3)
    pos = scenarios.Positions(spot=100.0, level=100 * one, strike=np.array([99.5, 100.12, 100.5]),
                              years=np.full(3, 0.5 / 365), iv=np.array([0.1, 0.03, 0.1]), side=one,
                              rate=0 * one, carry=0 * one, weight=np.array([100.0, -40.0, 100.0]))
    f = np.linspace(0.95, 1.05, 201)
    full = scenarios.zero_crossings(pos, f, scenarios.revalue_grid(pos, f, want_delta=False)[0])
    assert len(full) == 2 and 100.0 < full[0] < full[1] < 100.5  # both inside one interval of 10 points
    assert scenarios.zero_gamma_levels(pos, f) == pytest.approx(full, rel=1e-12)
    assert scenarios.zero_gamma_levels(pos, f, step=50) == pytest.approx(full, rel=1e-12)


def test_exposure_top_walls_rank_ties_to_the_lower_strike():
    from analytics.exposure import top_walls

    df = pd.DataFrame({"strike": [90.0, 100.0, 110.0, 120.0], "call_gex_usd_per_1pct": [5.0, 5.0, 0.0, -1.0],
                       "put_gex_usd_per_1pct": [0.0, -2.0, -2.0, 0.0]})
    assert top_walls(df) == ([(90.0, 5.0), (100.0, 5.0)], [(100.0, -2.0), (110.0, -2.0)])


@pytest.mark.parametrize("seed", range(8))
def test_screened_zero_gamma_levels_equal_the_whole_grids_on_random_books(seed):
    rng = np.random.default_rng(seed)
    n = 300
    one = np.ones(n)
    pos = scenarios.Positions(spot=100.0, level=100 * one, strike=rng.uniform(80, 120, n),
                              years=rng.choice([0.5 / 365, 2 / 365, 0.05, 0.5], n), iv=rng.uniform(0.05, 0.6, n),
                              side=rng.choice([-1.0, 1.0], n), rate=0.03 * one, carry=0.01 * one,
                              weight=rng.normal(0.0, 100.0, n))
    f = np.linspace(0.7, 1.3, 601)
    full = scenarios.zero_crossings(pos, f, scenarios.revalue_grid(pos, f, want_delta=False)[0])
    assert full  # books of both signs cross zero somewhere
    assert scenarios.zero_gamma_levels(pos, f) == pytest.approx(full, rel=1e-12)


def band_positions(chain):
    """The non-zero positions of every headline treatment of ``chain`` (the forwards x IV choices)."""
    forwards = ("spot", "parity") if chain.model == "bsm" else ("parity",)
    for forward in forwards:
        for iv_policy in ("file", "otm"):
            s = Scenario(forward=forward, iv_policy=iv_policy)
            pos = positions_from_prepared(prepare_for(chain, s), s.convention)
            yield f"{forward}/{iv_policy}", pos.take(pos.weight != 0)


def assert_screen_is_the_whole_grid(chain) -> int:
    """Each treatment's screened zero-gamma levels are the whole profile's (the band's fast path against
    the exhaustive one); returns how many levels were compared."""
    f = np.linspace(0.7, 1.3, 601)
    compared = 0
    for name, pos in band_positions(chain):
        full = scenarios.zero_crossings(pos, f, scenarios.revalue_grid(pos, f, want_delta=False)[0])
        # the same brackets root-solved by the same function: the very same floats
        assert scenarios.zero_gamma_levels(pos, f) == full, name
        compared += len(full)
    return compared


def test_screened_zero_gamma_levels_equal_the_whole_grids_on_the_real_spx_file(spx):
    assert assert_screen_is_the_whole_grid(spx) == 4  # one crossing under each of the four treatments


def test_screened_zero_gamma_levels_equal_the_whole_grids_on_the_demo_chains(demo_dir, demo_files):
    compared = 0
    for name in sorted(demo_files):
        if name.startswith(("spx_quotedata_", "btc_book_summary_")):
            # through the process's cache of loaded files (read-only), which other tests fill with the demo month
            compared += assert_screen_is_the_whole_grid(load_path_cached(demo_files[name], root=demo_dir))
    assert compared >= 10  # the demo month's chains cross zero: the comparison compared levels
