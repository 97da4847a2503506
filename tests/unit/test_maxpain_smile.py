"""Max pain and the smile per expiry (analytics/maxpain.py, analytics/smile.py) checked against plain
calculations written out here: a loop over strikes for max pain, and scipy's norm and brentq on an
interpolated smile for the 25-delta points."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from analytics import maxpain, smile
from analytics.report import analyze, prepare_for
from analytics.scenario import Scenario
from analytics.sources.cboe import load_cboe
from analytics.sources.deribit import load_deribit
from dashboard.cli import main
from tests.unit import synthetic


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


def first_four(chain) -> list[str]:
    return [d.isoformat() for d in chain.expiries[:4]]


def max_pain_by_loop(rows: pd.DataFrame) -> tuple[float, float]:
    """(strike, payout) minimising the holders' payout, by a loop over strikes and rows (lowest on ties)."""
    best_strike, best_payout = math.nan, math.inf
    records = rows[["strike", "side", "open_interest", "multiplier"]].to_dict("records")
    for x in sorted(set(rows["strike"])):
        payout = 0.0
        for r in records:
            intrinsic = max(x - r["strike"], 0.0) if r["side"] == "C" else max(r["strike"] - x, 0.0)
            payout += r["open_interest"] * r["multiplier"] * intrinsic
        if payout < best_payout:
            best_strike, best_payout = x, payout
    return best_strike, best_payout


# --------------------------------------------------------------------------- max pain


def test_max_pain_of_a_hand_made_chain_is_the_strike_worked_out_by_hand():
    # Expiry A, multiplier 100: calls 1 @ 90 and 4 @ 100, puts 3 @ 100 and 2 @ 110.
    #   settle 90:  puts pay 3 x 10 + 2 x 20 = 70 points
    #   settle 100: calls pay 1 x 10, puts pay 2 x 10         = 30 points  <- max pain, 3,000 USD
    #   settle 110: calls pay 1 x 20 + 4 x 10                 = 60 points
    # Expiry B, multiplier 100: 5 calls @ 90, 1 put @ 110 -> settle 90 pays 20, 100 pays 50+10, 110 pays 100
    a, b = "2024-01-19", "2024-02-16"
    expiry = [a, a, a, a, b, b, b]
    strike = [90.0, 100.0, 100.0, 110.0, 90.0, 110.0, 100.0]
    side = [1, 1, -1, -1, 1, -1, 1]
    units = 100.0 * np.array([1, 4, 3, 2, 5, 1, 0])
    payout = maxpain.payout_by_strike(expiry, strike, side, units)
    assert payout.loc[payout["expiry"] == dt.date(2024, 1, 19), "payout_usd"].tolist() == [7000.0, 3000.0, 6000.0]
    assert payout.loc[payout["expiry"] == dt.date(2024, 2, 16), "payout_usd"].tolist() == [2000.0, 6000.0, 10000.0]
    got = maxpain.max_pain(payout)
    assert got["max_pain"].tolist() == [100.0, 90.0]
    assert got["max_pain_payout_usd"].tolist() == [3000.0, 2000.0]
    assert got["max_pain_note"].tolist() == [None, None]


def test_max_pain_takes_the_lowest_of_tied_strikes_and_is_null_without_open_interest():
    # 10 calls @ 100, 10 puts @ 110: settling anywhere in [100, 110] pays 100 -> the lowest, 100
    tied = maxpain.max_pain(maxpain.payout_by_strike(["2024-01-19"] * 3, [100.0, 105.0, 110.0], [1, 1, -1],
                                                     [10.0, 0.0, 10.0]))
    assert tied["max_pain"].tolist() == [100.0]
    # calls only, at the top strike: nothing is paid anywhere, yet there is open interest -> lowest strike
    top = maxpain.max_pain(maxpain.payout_by_strike(["2024-01-19"] * 2, [100.0, 110.0], [-1, 1], [0.0, 5.0]))
    assert top["max_pain"].tolist() == [100.0] and top["max_pain_note"].tolist() == [None]
    empty = maxpain.max_pain(maxpain.payout_by_strike(["2024-01-19"] * 2, [100.0, 110.0], [1, -1], [0.0, 0.0]))
    assert np.isnan(empty["max_pain"][0]) and empty["max_pain_note"][0] == maxpain.NO_OPEN_INTEREST


def test_max_pain_through_analyze_on_a_hand_made_chain():
    frame = synthetic.quotes_frame(days=(7,), strikes=[90.0, 100.0, 110.0], open_interest=0.0)
    oi = {(90.0, "C"): 1, (100.0, "C"): 4, (100.0, "P"): 3, (110.0, "P"): 2}
    frame["open_interest"] = [float(oi.get((k, s), 0)) for k, s in zip(frame["strike"], frame["side"], strict=True)]
    a = analyze(synthetic.chain_from(frame))
    row = a.by_expiry.iloc[0]
    assert row["max_pain"] == 100.0 and row["max_pain_payout_usd"] == 3000.0


def test_max_pain_matches_a_loop_over_strikes_on_the_spx_files_first_four_expiries(spx):
    expiries = first_four(spx)
    a = analyze(spx, expiries=expiries)
    got = a.by_expiry.set_index("expiry")
    for day in expiries:
        rows = spx.rows[spx.rows["expiry"].dt.strftime("%Y-%m-%d") == day]
        strike, payout = max_pain_by_loop(rows)
        assert got.loc[dt.date.fromisoformat(day), "max_pain"] == strike, day
        assert got.loc[dt.date.fromisoformat(day), "max_pain_payout_usd"] == pytest.approx(payout, rel=1e-12), day


def test_max_pain_matches_a_loop_on_the_deribit_ticker_file(deribit_ticker_path):
    chain = load_deribit(deribit_ticker_path)
    a = analyze(chain)
    got = a.by_expiry.set_index("expiry")
    prepared = prepare_for(chain, a.scenario).chain.rows  # the analysed rows (OI in coins, multiplier 1)
    for day in a.expiries[:6]:
        strike, payout = max_pain_by_loop(prepared[prepared["expiry"].dt.date == day])
        assert got.loc[day, "max_pain"] == strike, day
        assert got.loc[day, "max_pain_payout_usd"] == pytest.approx(payout, rel=1e-12), day
        # the smile is on the file's own forward (Deribit's underlying_price for that expiry)
        mine = a.smile[a.smile["expiry"] == day]
        f = prepared.loc[prepared["expiry"].dt.date == day, "forward"].median()
        np.testing.assert_allclose(mine["log_moneyness"], np.log(mine["strike"] / f), atol=1e-12)
    # this sample's longer expiries list no strike far enough out for a 25-delta call: null, with why
    quoted = got["rr25_vol_pts"].notna()
    assert quoted.iloc[0] and not quoted.all()
    assert got.loc[~quoted, "rr25_note"].str.contains("25-delta call lies above the highest quoted strike").all()


# --------------------------------------------------------------------------- smile and 25-delta wings


def plain_smiles(chain, scenario: Scenario, forwards: dict, years: dict) -> dict:
    """Per expiry: sorted strikes and the OTM side's IV (calls at K >= F, puts below; mean over roots),
    from the IVs of the policy in force, by plain loops."""
    prep = prepare_for(chain, scenario)
    rows = prep.chain.rows.assign(iv=prep.iv)
    out = {}
    for day in forwards:
        f = forwards[day]
        points: dict[float, list[float]] = {}
        for r in rows[rows["expiry"].dt.date == day].to_dict("records"):
            if (r["strike"] >= f) == (r["side"] == "C"):
                points.setdefault(r["strike"], []).append(r["iv"])
        k = np.array(sorted(points))
        out[day] = (k, np.array([sum(points[x]) / len(points[x]) for x in k]), f, years[day])
    return out


def iv_at_call_delta_by_loop(k, v, f, t, target) -> float:
    """Walk the pairs of adjacent strikes outward from the forward; between the first pair whose Black-76
    call deltas (scipy norm) straddle ``target``, interpolate the IV linearly in delta."""
    from scipy.stats import norm  # the oracles import scipy's stats (~0.3 s) when they run, not at collection

    delta = [norm.cdf((math.log(f / x) + 0.5 * s * s * t) / (s * math.sqrt(t))) for x, s in zip(k, v, strict=True)]
    for j in sorted(range(len(k) - 1), key=lambda j: abs(math.log(k[j] / f) + math.log(k[j + 1] / f))):
        if (delta[j] - target) * (delta[j + 1] - target) <= 0:
            return v[j] + (target - delta[j]) / (delta[j + 1] - delta[j]) * (v[j + 1] - v[j])
    return math.nan


@pytest.mark.parametrize("iv_policy", ["otm", "file"])
def test_smile_and_25_delta_risk_reversal_match_scipy_on_the_spx_files_first_four_expiries(spx, iv_policy):
    from scipy.interpolate import interp1d
    from scipy.optimize import brentq
    from scipy.stats import norm

    scenario = Scenario(expiries=tuple(first_four(spx)), iv_policy=iv_policy)
    a = analyze(spx, scenario)
    # the expiry's forward from the parity table, T the earliest settlement of its rows
    prep = prepare_for(spx, scenario)
    forwards = dict(zip(a.forwards["expiry"], a.forwards["forward"], strict=True))
    years = pd.Series(prep.years).groupby(prep.chain.rows["expiry"].dt.date.to_numpy()).min().to_dict()
    reference = plain_smiles(spx, scenario, forwards, years)
    got = a.by_expiry.set_index("expiry")
    for day, (k, v, f, t) in reference.items():
        mine = a.smile[a.smile["expiry"] == day]
        np.testing.assert_array_equal(mine["strike"], k)
        np.testing.assert_allclose(mine["iv"], v, rtol=1e-12)
        np.testing.assert_allclose(mine["log_moneyness"], np.log(k / f), rtol=0, atol=1e-12)
        # the same definition, by a loop: IVs linear in delta between the quoted strikes
        call, put = (iv_at_call_delta_by_loop(k, v, f, t, d) for d in (0.25, 0.75))
        assert got.loc[day, "rr25_vol_pts"] == pytest.approx(100 * (call - put), abs=1e-9), day
        atm = a.term_structure.set_index("expiry").loc[day, "atm_iv"]
        assert got.loc[day, "bf25_vol_pts"] == pytest.approx(100 * (0.5 * (call + put) - atm), abs=1e-9), day
        # brentq for the 25-delta strikes on the smile interpolated linearly in strike: a different
        # interpolation of the same quotes, which differs by a second-order term (measured <= 0.002 vol pts)
        smile_k = interp1d(k, v)

        def call_delta(x, smile_k=smile_k, f=f, t=t):
            s = float(smile_k(x))
            return norm.cdf((math.log(f / x) + 0.5 * s * s * t) / (s * math.sqrt(t)))

        k_call = brentq(lambda x: call_delta(x) - 0.25, f, k[-1], xtol=1e-10)
        k_put = brentq(lambda x: call_delta(x) - 0.75, k[0], f, xtol=1e-10)
        assert got.loc[day, "rr25_vol_pts"] == pytest.approx(100 * float(smile_k(k_call) - smile_k(k_put)), abs=0.01)
        assert got.loc[day, "strike_25d_call"] == pytest.approx(k_call, abs=0.5)
        assert got.loc[day, "strike_25d_put"] == pytest.approx(k_put, abs=0.5)
        assert pd.isna(got.loc[day, "rr25_note"]) and pd.isna(got.loc[day, "bf25_note"])


def test_25_delta_ivs_recover_a_known_smile_on_a_synthetic_chain():
    from scipy.optimize import brentq
    from scipy.stats import norm

    # quotes priced from synthetic.smile on 1-point strikes: solving N(d1) = 0.25 on the true smile
    # gives the 25-delta IVs the analysis must find from the quotes (OTM mids re-solved, then
    # interpolated in delta between strikes 1 apart)
    frame = synthetic.quotes_frame(days=(30, 91), strikes=np.arange(60.0, 141.0, 1.0))
    a = analyze(synthetic.chain_from(frame))
    got = a.by_expiry.set_index("expiry")
    for day, g in frame.groupby(frame["expiry"].dt.date):
        f, t = g["forward"].iloc[0], g["years"].iloc[0]

        def true_delta(x, f=f, t=t):
            s = float(synthetic.smile(np.array(x), f))
            return norm.cdf((math.log(f / x) + 0.5 * s * s * t) / (s * math.sqrt(t)))

        iv = {d: float(synthetic.smile(np.array(brentq(lambda x, d=d: true_delta(x) - d, 60.0, 140.0)), f))
              for d in (0.25, 0.75)}
        assert got.loc[day, "iv_25d_call"] == pytest.approx(iv[0.25], abs=2e-4), day
        assert got.loc[day, "iv_25d_put"] == pytest.approx(iv[0.75], abs=2e-4), day
        assert got.loc[day, "rr25_vol_pts"] == pytest.approx(100 * (iv[0.25] - iv[0.75]), abs=0.03), day


def test_a_25_delta_point_beyond_the_quoted_strikes_is_null_with_its_reason_not_extrapolated():
    day = dt.date(2025, 1, 17)
    # strikes 95..105 only, one year out at 20%: the 25-delta call sits near 117, the put near 88
    k = [95.0, 100.0, 105.0]
    points = smile.smile([day] * 3, k, [-1, 1, 1], [0.21, 0.20, 0.19], {day: 100.0}, {day: 1.0})
    wings = smile.wings_25d(points, {day: 0.20}).iloc[0]
    assert np.isnan(wings["iv_25d_call"]) and np.isnan(wings["rr25_vol_pts"]) and np.isnan(wings["bf25_vol_pts"])
    assert "25-delta call lies above the highest quoted strike" in wings["rr25_note"]
    assert "25-delta put lies below the lowest quoted strike" in wings["rr25_note"]
    assert "not extrapolated" in wings["rr25_note"] and wings["bf25_note"] == wings["rr25_note"]
    # the put side alone quoted far enough: the call is still missing, the put is found
    wide = smile.smile([day] * 5, [70.0, 85.0, 95.0, 100.0, 105.0], [-1, -1, -1, 1, 1], [.25, .22, .21, .20, .19],
                       {day: 100.0}, {day: 1.0})
    half = smile.wings_25d(wide, {day: 0.20}).iloc[0]
    assert np.isfinite(half["iv_25d_put"]) and np.isnan(half["rr25_vol_pts"])
    # no ATM IV: the wings are there, the butterfly is not
    full = smile.smile([day] * 5, [70.0, 85.0, 100.0, 120.0, 140.0], [-1, -1, 1, 1, 1], [.25, .22, .2, .19, .19],
                       {day: 100.0}, {day: 1.0})
    no_atm = smile.wings_25d(full, {day: float("nan")}).iloc[0]
    assert np.isfinite(no_atm["rr25_vol_pts"]) and no_atm["rr25_note"] is None
    assert np.isnan(no_atm["bf25_vol_pts"]) and "no ATM IV" in no_atm["bf25_note"]


def test_smile_delta_is_the_pricing_engines_black_76_forward_delta():
    from analytics import pricing

    day = dt.date(2025, 1, 17)
    points = smile.smile([day] * 3, [90.0, 100.0, 110.0], [-1, 1, 1], [0.25, 0.2, 0.18], {day: 101.0}, {day: 0.5})
    engine = pricing.greeks(101.0, points["strike"], 0.5, points["iv"], 1.0).delta  # r = q = 0: N(d1)
    np.testing.assert_allclose(points["call_delta"], engine, rtol=1e-14)


# --------------------------------------------------------------------------- JSON


def test_analyze_json_by_expiry_has_max_pain_wings_and_a_smile(capsys, spx_path):
    assert main(["analyze", str(spx_path), "--expiry", "2024-01-19", "--expiry", "2024-01-08"]) == 0
    d = json.loads(capsys.readouterr().out)
    forwards = {f["expiry"]: f["forward"] for f in d["forwards"]}
    for e in d["by_expiry"]:
        assert {"max_pain", "max_pain_payout_usd", "max_pain_note", "rr25_vol_pts", "bf25_vol_pts", "iv_25d_call",
                "iv_25d_put", "rr25_note", "bf25_note", "smile"} <= set(e)
        assert isinstance(e["max_pain"], float) and isinstance(e["rr25_vol_pts"], float)
        assert e["rr25_vol_pts"] < 0  # SPX: puts over calls
        smile = e["smile"]
        assert set(smile) == {"strike", "log_moneyness", "iv"}
        assert len(smile["strike"]) == len(smile["log_moneyness"]) == len(smile["iv"]) > 0
        strikes = smile["strike"]
        assert strikes == sorted(strikes) and e["max_pain"] in strikes
        for k, x in list(zip(strikes, smile["log_moneyness"], strict=True))[::25]:
            assert x == pytest.approx(math.log(k / forwards[e["expiry"]]), abs=1e-6)  # 6 decimals in the JSON
    assert "max_pain" in d["units"]["units"] and "smile" in d["units"]["units"]
